"""Tests of the book: notebook pairs, install cells, table of contents, build settings, and
(marked ``browser``) the built HTML site opened in headless Chromium.

The browser test needs a built book (``jupyter-book build . -W -n --keep-going``, or
``bash .ci/build_book.sh``), the ``playwright`` package and a Chromium binary
(``/usr/bin/chromium``; override with ``CMLOSS_CHROMIUM``). It is skipped with the reason
when one is missing, unless ``CMLOSS_REQUIRE_BROWSER=1`` (set by ``.ci/build_book.sh``),
which turns the skip into a failure. Every page is opened at 1280 px (a laptop) and at
390 px (a phone) and fails on what a reader should never see: a traceback, stderr text, a
table cut off (or, at 1280 px, one that needs sideways scrolling), a figure shrunk below
readable size, a page that scrolls sideways. Screenshots go to ``$CMLOSS_SCREENSHOTS``
(default ``_build/screenshots``): the top of every page at each width, and whole pages
(``<page>-<width>-full.png``) with ``CMLOSS_FULL_SCREENSHOTS=1``.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
HTML = ROOT / "_build" / "html"


def _load_sync_tool():
    path = ROOT / "book" / "_tools" / "sync_install_cells.py"
    spec = importlib.util.spec_from_file_location("sync_install_cells", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sync_tool = _load_sync_tool()


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def _toc() -> dict:
    return yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))


def _toc_files(node=None) -> list[str]:
    """Every ``root``/``file`` entry of ``_toc.yml``, in reading order."""
    if node is None:
        toc = _toc()
        return [toc["root"], *_toc_files(toc)]
    found: list[str] = []
    if isinstance(node, dict):
        if "file" in node:
            found.append(node["file"])
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                found.extend(_toc_files(child))
    return found


def _resolve_toc_file(entry: str) -> Path | None:
    path = ROOT / entry
    if path.suffix in {".md", ".ipynb"}:
        return path if path.is_file() else None
    for suffix in (".md", ".ipynb"):
        if path.with_suffix(suffix).is_file():
            return path.with_suffix(suffix)
    return None


def _stems(suffix: str) -> set[str]:
    return {p.stem for p in NOTEBOOKS.glob(f"*{suffix}")}


def _cells(path: Path) -> list[tuple[str, str]]:
    fmt = "ipynb" if path.suffix == ".ipynb" else "py:percent"
    nb = jupytext.read(path, fmt=fmt)
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


PAIRS = sorted(_stems(".py") | _stems(".ipynb"))
NOTEBOOK_FILES = sync_tool.notebook_files(ROOT)


# --------------------------------------------------------------------------------------
# Configuration


def test_config_declares_repository_and_strict_execution():
    config = _config()
    url = sync_tool.repository_url(ROOT)
    assert re.fullmatch(r"https://[\w.-]+/[\w.-]+/[\w.-]+", url), url
    assert config["repository"]["branch"]
    assert config["repository"]["path_to_book"] == ""
    execute = config["execute"]
    assert execute["execute_notebooks"] == "cache"
    assert str(execute["cache"]).startswith("_build/")
    assert execute["allow_errors"] is False
    assert execute["timeout"] >= 600
    assert config["launch_buttons"]["binderhub_url"]
    assert config["launch_buttons"]["colab_url"]
    assert config["html"]["use_repository_button"] is True
    assert "book/references.bib" in config["bibtex_bibfiles"]
    excluded = set(config["exclude_patterns"])
    for pattern in ("notebooks/*.py", "README.md", "tests/**", "cmloss/**", "book/_tools/**"):
        assert pattern in excluded, f"{pattern!r} missing from exclude_patterns"


def test_math_is_rendered_offline():
    """MathJax is served from the build (sphinx-mathjax-offline), never from a CDN."""
    sphinx = _config()["sphinx"]
    assert "sphinx-mathjax-offline" in sphinx["extra_extensions"]
    assert not str(sphinx["config"].get("mathjax_path", "")).startswith("http")


# --------------------------------------------------------------------------------------
# Notebook pairs


def test_every_notebook_has_a_jupytext_twin():
    py, ipynb = _stems(".py"), _stems(".ipynb")
    assert not py - ipynb, f"notebooks/*.py without .ipynb: {sorted(py - ipynb)}"
    assert not ipynb - py, f"notebooks/*.ipynb without .py: {sorted(ipynb - py)}"


@pytest.mark.parametrize("stem", PAIRS)
def test_jupytext_pair_cells_are_identical(stem):
    py, ipynb = NOTEBOOKS / f"{stem}.py", NOTEBOOKS / f"{stem}.ipynb"
    if not (py.is_file() and ipynb.is_file()):
        pytest.fail(f"{stem}: incomplete pair (see test_every_notebook_has_a_jupytext_twin)")
    py_cells, nb_cells = _cells(py), _cells(ipynb)
    hint = f"run `jupytext --sync notebooks/{stem}.py` (or .ipynb, whichever you edited)"
    assert len(py_cells) == len(nb_cells), f"{stem}: cell counts differ; {hint}"
    for i, (a, b) in enumerate(zip(py_cells, nb_cells, strict=True)):
        assert a == b, f"{stem}: cell {i} differs between .py and .ipynb; {hint}"


@pytest.mark.parametrize("stem", PAIRS)
def test_jupytext_pair_declares_its_formats(stem):
    py = NOTEBOOKS / f"{stem}.py"
    if not py.is_file():
        pytest.skip("no .py twin")
    formats = jupytext.read(py).metadata.get("jupytext", {}).get("formats", "")
    assert set(formats.split(",")) == {"ipynb", "py:percent"}, formats


@pytest.mark.parametrize("stem", sorted(_stems(".ipynb")))
def test_ipynb_is_committed_without_outputs(stem):
    nb = jupytext.read(NOTEBOOKS / f"{stem}.ipynb")
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{stem}.ipynb has outputs in cells {dirty}; clear them "
        f"(`jupyter nbconvert --clear-output --inplace notebooks/{stem}.ipynb`)"
    )


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_install_cell_agrees_with_config(path):
    url = sync_tool.repository_url(ROOT)
    _, cell = sync_tool.first_code_cell(jupytext.read(path, fmt=sync_tool._format(path)))
    assert cell is not None, f"{path.name} has no code cell"
    assert sync_tool.cell_agrees(cell, url), (
        f"{path.name}: the first code cell must install cmloss from repository.url = {url} "
        f"(tags {sync_tool.INSTALL_CELL_TAGS}); run `python book/_tools/sync_install_cells.py`"
    )


def _library_formula_names() -> set[str]:
    """Public functions of the modules that define formulas (read with ast, no import)."""
    names = {
        "accuracy", "precision", "recall", "specificity", "fnr", "fpr", "f_beta", "f1",
        "g_mean", "balanced_accuracy", "mcc", "informedness", "jaccard", "e_ratio",
        "confusion_matrix", "soft_confusion_matrix",
    }  # fmt: skip
    for module in ("cm_metrics.py", "confusion.py"):
        path = ROOT / "cmloss" / "core" / module
        if path.is_file():
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names |= {
                node.name
                for node in tree.body
                if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
            }
    return names


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.py")), ids=lambda p: p.name)
def test_notebooks_do_not_redefine_library_formulas(path):
    """Formulas live in cmloss; notebooks import them (a notebook may *derive* one with
    sympy, but must not define a function with a library formula's name)."""
    names = "|".join(sorted(_library_formula_names()))
    pattern = re.compile(rf"^\s*(?:def\s+({names})\s*\(|({names})\s*=\s*lambda\b)", re.M)
    hits = [m.group(0).strip() for m in pattern.finditer(path.read_text(encoding="utf-8"))]
    assert not hits, f"{path.name} redefines library formulas: {hits}; import them from cmloss"


# --------------------------------------------------------------------------------------
# Table of contents


def test_toc_entries_exist():
    toc = _toc()
    assert toc["format"] == "jb-book"
    missing = [entry for entry in _toc_files() if _resolve_toc_file(entry) is None]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"
    entries = _toc_files()
    assert len(entries) == len(set(entries)), "a file is listed twice in _toc.yml"


def test_every_notebook_is_in_the_toc():
    listed = {str(Path(e).with_suffix("")) for e in _toc_files()}
    notebooks = [f"notebooks/{stem}" for stem in sorted(_stems(".ipynb"))]
    unlisted = [nb for nb in notebooks if nb not in listed]
    assert not unlisted, f"add to _toc.yml: {['- file: ' + u for u in unlisted]}"


# --------------------------------------------------------------------------------------
# The appendix of readings, and a self-contained repository

READINGS = ROOT / "book" / "readings.md"
TEST_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def test_every_test_the_readings_cite_exists():
    """Each "Checked by" of the appendix names a test that is there, so the page cannot
    point at a renamed or deleted test."""
    text = READINGS.read_text(encoding="utf-8")
    cited = TEST_REFERENCE.findall(text)
    assert len(cited) >= 20, "the appendix should cite the tests of its readings"
    missing = []
    for path, name in cited:
        source = (ROOT / path).read_text(encoding="utf-8") if (ROOT / path).is_file() else ""
        if not re.search(rf"^\s*def {name}\(", source, re.M):
            missing.append(f"{path}::{name}")
    assert not missing, f"book/readings.md cites tests that do not exist: {missing}"


def test_every_reading_has_the_three_parts():
    blocks = re.split(r"^\(reading-[\w-]+\)=\n", READINGS.read_text(encoding="utf-8"),
                      flags=re.M)[1:]
    assert blocks
    for block in blocks:
        title = block.splitlines()[0]
        for part in ("The source says\n:", "We chose\n:", "Checked by\n:"):
            assert part in block, f"{title}: no '{part.splitlines()[0]}'"


# Files outside the repository must not be cited: facts from the papers are stated in the
# book with their source (book/readings.md). Two library docstrings still cite the
# project's notes file and are being rewritten on other branches; this list must shrink,
# never grow (the test fails when a listed file no longer needs its entry).
_OUTSIDE_REFERENCE = re.compile(r"PAPERS\.md|shared/source[s]|\.\./shared/(?!data)")
_KNOWN_OUTSIDE_REFERENCES: dict[str, str] = {}


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    suffixes = {".py", ".md", ".yml", ".yaml", ".toml", ".txt", ".cfg", ".sh", ""}
    return [ROOT / name for name in listed.stdout.splitlines()
            if not name.startswith("results/") and Path(name).suffix in suffixes
            and (ROOT / name).is_file()]


def test_nothing_cites_files_outside_the_repository():
    offenders = {}
    for path in _tracked_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        hits = sorted(set(_OUTSIDE_REFERENCE.findall(text)))
        if hits:
            offenders[path.relative_to(ROOT).as_posix()] = hits
    new = {k: v for k, v in offenders.items() if k not in _KNOWN_OUTSIDE_REFERENCES}
    assert not new, f"cite book/readings.md or a paper's section instead: {new}"
    fixed = sorted(set(_KNOWN_OUTSIDE_REFERENCES) - set(offenders))
    assert not fixed, f"remove {fixed} from _KNOWN_OUTSIDE_REFERENCES: they are clean now"


# --------------------------------------------------------------------------------------
# Colab and Binder


def _requirement_names(lines) -> dict[str, str]:
    """``{normalised name: specifier}`` of requirement lines (comments, options and
    editable installs skipped)."""
    out = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.match(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)", line)
        out[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(3).replace(" ", "")
    return out


def _book_extra_requirements() -> dict[str, str]:
    """Every requirement that ``pip install cmloss[book]`` brings, extras expanded."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    wanted, seen, todo = dict(_requirement_names(project["dependencies"])), set(), ["book"]
    while todo:
        extra = todo.pop()
        seen.add(extra)
        for req in extras[extra]:
            inner = re.fullmatch(r"cmloss\[([\w,]+)\]", req.replace(" ", ""))
            if inner:
                todo += [e for e in inner.group(1).split(",") if e not in seen]
            else:
                wanted.update(_requirement_names([req]))
    return wanted


def test_install_cells_bring_the_book_extra():
    assert sync_tool.PACKAGE_SPEC == "cmloss[book]"
    needed = _book_extra_requirements()
    for module in ("seaborn", "sympy", "pooch", "baycomp", "pandas", "matplotlib"):
        assert module in needed, f"cmloss[book] does not bring {module}"


def test_binder_is_cpu_only_pinned_and_complete():
    binder = ROOT / "binder"
    runtime = (binder / "runtime.txt").read_text(encoding="utf-8").strip()
    assert re.fullmatch(r"python-3\.\d+", runtime), runtime
    requires = re.search(r"requires-python = \">=3\.(\d+)\"",
                         (ROOT / "pyproject.toml").read_text(encoding="utf-8")).group(1)
    assert int(runtime.split(".")[1]) >= int(requires)
    binder_reqs = _requirement_names(
        (binder / "requirements.txt").read_text(encoding="utf-8").splitlines())
    assert "tensorflow-cpu" in binder_reqs and "tensorflow" not in binder_reqs
    tools = {"jupyter-book", "jupytext", "sphinx", "playwright", "sphinx-mathjax-offline",
             "pytest"}
    assert not tools & set(binder_reqs), f"book tools in Binder: {tools & set(binder_reqs)}"
    needed = _book_extra_requirements()
    needed["tensorflow-cpu"] = needed.pop("tensorflow")
    assert not set(needed) - set(binder_reqs), (
        f"binder/requirements.txt lacks {sorted(set(needed) - set(binder_reqs))}")
    pinned = _requirement_names((ROOT / "requirements.txt").read_text().splitlines())
    pinned["tensorflow-cpu"] = pinned.pop("tensorflow")
    differ = {k: (v, pinned[k]) for k, v in binder_reqs.items() if k in pinned and v != pinned[k]}
    assert not differ, f"Binder pins differ from requirements.txt: {differ}"
    post = (binder / "postBuild").read_text(encoding="utf-8")
    assert "pip install --no-deps -e ." in post and os.access(binder / "postBuild", os.X_OK)


def test_publishing_workflow_uses_the_ci_build_script_and_deploys_pages():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads "on" as True
    assert triggers["push"]["branches"] == ["main"]
    steps = workflow["jobs"]["build"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    assert "bash .ci/build_book.sh" in runs and "--no-tests" not in runs
    uses = [step.get("uses", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert any(u.startswith("actions/deploy-pages") for u in uses)
    upload = next(step for step in steps
                  if step.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"


# --------------------------------------------------------------------------------------
# The build fails on a notebook error (slow: builds a two-page book in a temporary folder)


def _jupyter_book() -> str | None:
    beside = Path(sys.executable).with_name("jupyter-book")
    return str(beside) if beside.is_file() else shutil.which("jupyter-book")


@pytest.mark.slow
def test_notebook_error_fails_the_build(tmp_path):
    exe = _jupyter_book()
    if exe is None:
        pytest.skip("jupyter-book is not installed")
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    (tmp_path / "book").mkdir()
    shutil.copy(ROOT / "book" / "references.bib", tmp_path / "book" / "references.bib")
    shutil.copytree(ROOT / "book" / "_ext", tmp_path / "book" / "_ext")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n- file: bad\n")
    (tmp_path / "intro.md").write_text("# Intro\n\nA page.\n")
    bad = jupytext.reads(
        "# %% [markdown]\n# # Bad\n\n# %%\nraise RuntimeError('deliberate notebook error')\n",
        fmt="py:percent",
    )
    bad.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    jupytext.write(bad, tmp_path / "bad.ipynb")
    run = subprocess.run(
        [exe, "build", str(tmp_path), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0, f"the build passed despite a failing notebook:\n{output[-3000:]}"
    assert "Executing notebook failed" in output, output[-3000:]
    assert "deliberate notebook error" in output, "show_tb should print the traceback"
    # It failed because of the notebook, not because the page or the configuration broke.
    assert (tmp_path / "_build" / "html" / "intro.html").is_file(), output[-3000:]


# --------------------------------------------------------------------------------------
# Browser test of the built site


CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
RAW_MATH = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\$\\[A-Za-z]")
# A markdown table printed as text: its header rule, "|---|" ("---" may have become an
# em dash on the way), outside code.
RAW_TABLE = re.compile(r"\|\s*(?:-{3,}|\u2014|\u2013)[-:\u2014\u2013\s]*\|")

# JavaScript helpers run in the page.
_JS_WAIT_MATH = """async () => {
  const math = document.querySelectorAll('.math');
  if (math.length === 0) return {math: 0, typeset: 0, errors: 0};
  for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
    await new Promise(r => setTimeout(r, 50));
  if (!(window.MathJax && MathJax.startup && MathJax.startup.promise))
    return {math: math.length, typeset: 0, errors: 0, loaded: false};
  await MathJax.startup.promise;
  const typeset = Array.from(math).filter(e => e.querySelector('mjx-container')).length;
  return {math: math.length, typeset, errors: document.querySelectorAll('mjx-merror').length,
          loaded: true};
}"""
_JS_IMAGES = """async () => {
  const imgs = Array.from(document.querySelectorAll('img'));
  await Promise.all(imgs.map(img => {
    img.loading = 'eager';
    if (img.complete) return null;
    return new Promise(r => { img.onload = img.onerror = r; setTimeout(r, 10000); });
  }));
  return imgs.map(i => ({src: i.currentSrc || i.src, width: i.naturalWidth}));
}"""
# What a reader must not see in the article (checked at every width). A figure (a cell's
# image) shown at less than MIN_FIGURE_SCALE of its size has labels too small to read
# (the book's figures are drawn at 110 dpi, so a 9-point label falls below about 10
# pixels); a table is "clipped" when it reaches past the article's edge with no
# scrolling box around it, and at desktop width it should not need scrolling at all.
MIN_FIGURE_SCALE = 0.75
_JS_READABILITY = r"""async (minScale) => {
  const article = document.querySelector('article.bd-article') || document.body;
  const edge = article.getBoundingClientRect().right + 1;
  const scrolls = (el) => {
    for (let e = el.parentElement; e && e !== article.parentElement; e = e.parentElement) {
      const o = getComputedStyle(e).overflowX;
      if ((o === 'auto' || o === 'scroll') && e.scrollWidth > e.clientWidth + 1) return e;
    }
    return null;
  };
  const name = (el) => {
    const h = el.closest('section') && el.closest('section').querySelector('h1, h2, h3');
    return h ? h.textContent.replace(/[#\s]+$/, '').trim() : '(top)';
  };
  // A collapsed cell (closed <details>) is checked as the reader sees it once opened (it
  // may scroll at any width); the theme animates the opening, so measure after it.
  const collapsed = new Set(article.querySelectorAll('details:not([open]) table'));
  article.querySelectorAll('details').forEach(d => { d.open = true; });
  await new Promise(r => setTimeout(r, 300));
  const out = {tracebacks: [], stderr: [], clipped: [], scrolling: [], small: [],
               pageWidth: document.documentElement.scrollWidth, viewport: innerWidth};
  article.querySelectorAll('.cell_output .traceback, .cell_output .output.error')
    .forEach(e => out.tracebacks.push(name(e)));
  article.querySelectorAll('.cell_output').forEach(e => {
    if (e.textContent.includes('Traceback (most recent call last)')) out.tracebacks.push(name(e));
  });
  article.querySelectorAll('.cell_output .stderr').forEach(e =>
    out.stderr.push(name(e) + ': ' + e.textContent.trim().slice(0, 80)));
  article.querySelectorAll('table').forEach(t => {
    const box = scrolls(t);
    const heads = Array.from(t.querySelectorAll('th')).slice(0, 4)
      .map(h => h.textContent.trim()).join(' | ');
    const label = name(t) + ' (' + Math.round(t.getBoundingClientRect().width) + ' px; '
      + heads + ')';
    if (box) { if (!collapsed.has(t)) out.scrolling.push(label); }
    else if (t.getBoundingClientRect().right > edge) out.clipped.push(label);
  });
  article.querySelectorAll('.cell_output img').forEach(i => {
    const shown = i.getBoundingClientRect().width;
    if (i.naturalWidth && shown / i.naturalWidth < minScale)
      out.small.push(name(i) + ': ' + i.naturalWidth + ' px shown at ' + Math.round(shown));
  });
  return out;
}"""
WIDTHS = {"desktop": 1280, "phone": 390}
# Figures of a section that another branch is rewriting: their size is fixed there. At
# desktop width the test fails when one of them becomes readable, so that its entry is
# removed with the fix; this list must shrink, never grow.
KNOWN_SMALL_FIGURES = {
    ("notebooks/02_anyloss", "Upper bound: floating-point saturation"),
    ("notebooks/02_anyloss", "The window for L"),
}
_JS_MAIN_TEXT = """() => {
  const main = document.querySelector('article.bd-article') || document.querySelector('main')
               || document.body;
  const copy = main.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, mjx-container, .math')
      .forEach(e => e.remove());
  return {text: copy.innerText, full: main.innerText.length};
}"""


def _chromium() -> str | None:
    for candidate in (
        os.environ.get("CMLOSS_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def _missing_browser_prerequisite() -> str | None:
    if not (HTML / "index.html").is_file():
        return f"no built book at {HTML} (run: jupyter-book build . -W -n --keep-going)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install playwright)"
    if _chromium() is None:
        return "no Chromium binary (apt-get install chromium, or set CMLOSS_CHROMIUM)"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serve(directory: Path):
    """``python -m http.server`` on 127.0.0.1 only, stopped (by its pid) afterwards."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
         "--directory", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(base, timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("http.server did not start")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def _page_url(base: str, entry: str) -> str:
    return urljoin(base, str(Path(entry).with_suffix("")) + ".html")


def _readability_problems(entry: str, width: int, seen: dict, known: set) -> list[str]:
    """The reader-facing checks of one page at one width (see _JS_READABILITY); small
    figures of KNOWN_SMALL_FIGURES are moved from ``seen`` to ``known``."""
    for section, title in [(s, t) for s in seen["small"] for e, t in KNOWN_SMALL_FIGURES
                           if e == entry and t in s]:
        seen["small"].remove(section)
        known.add((entry, title))
    problems = [f"{entry} at {width} px: a traceback in {where}" for where in seen["tracebacks"]]
    problems += [f"{entry} at {width} px: stderr shown in {what}" for what in seen["stderr"]]
    problems += [f"{entry} at {width} px: table cut off at the page edge in {what}"
                 for what in seen["clipped"]]
    if width >= WIDTHS["desktop"]:
        problems += [f"{entry} at {width} px: table wider than the column (scrolls) in {what}"
                     for what in seen["scrolling"]]
    problems += [f"{entry} at {width} px: figure too small to read in {what}"
                 for what in seen["small"]]
    if seen["pageWidth"] > seen["viewport"] + 1:
        problems.append(f"{entry} at {width} px: the page scrolls sideways "
                        f"({seen['pageWidth']} px wide)")
    return problems


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_built_site_renders_in_chromium(tmp_path, width):
    reason = _missing_browser_prerequisite()
    if reason:
        if os.environ.get("CMLOSS_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("CMLOSS_SCREENSHOTS", ROOT / "_build" / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    full_pages = os.environ.get("CMLOSS_FULL_SCREENSHOTS") == "1"
    entries = _toc_files()
    problems: list[str] = []
    external: list[str] = []
    links: dict[str, str] = {}  # link target -> page it was found on
    known: set[tuple[str, str]] = set()  # KNOWN_SMALL_FIGURES found small
    math_pages = 0
    figures = 0  # images produced by notebook cells, over all chapters

    def offline(route):
        url = route.request.url
        if urlparse(url).hostname == "127.0.0.1" or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            external.append(f"{route.request.resource_type} {url}")
            route.abort()

    with _serve(HTML) as base, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),
            executable_path=_chromium(),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": width, "height": 900},
        )
        try:
            context.set_default_timeout(30_000)
            context.route("**/*", offline)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            for entry in entries:
                url = _page_url(base, entry)
                errors.clear()
                response = page.goto(url, wait_until="load")
                status = response.status if response else None
                if status != 200:
                    problems.append(f"{entry}: HTTP {status}")
                    continue
                math = page.evaluate(_JS_WAIT_MATH)
                if math["math"]:
                    math_pages += 1
                    if math["typeset"] != math["math"]:
                        problems.append(f"{entry}: {math['typeset']}/{math['math']} math typeset")
                    if math["errors"]:
                        problems.append(f"{entry}: {math['errors']} MathJax errors")
                text = page.evaluate(_JS_MAIN_TEXT)
                if text["full"] < 200:
                    problems.append(f"{entry}: main content nearly empty ({text['full']} chars)")
                raw = RAW_MATH.findall(text["text"])
                if raw:
                    problems.append(f"{entry}: raw TeX left in the text: {sorted(set(raw))}")
                if RAW_TABLE.search(text["text"]):
                    problems.append(f"{entry}: a markdown table was printed as text")
                images = page.evaluate(_JS_IMAGES)
                broken = [img["src"] for img in images if not img["width"]]
                if broken:
                    problems.append(f"{entry}: images not loaded: {broken}")
                if entry.startswith("notebooks/"):
                    figures += page.locator("article.bd-article .cell_output img").count()
                if errors:
                    problems.append(f"{entry}: JavaScript errors: {errors}")
                problems += _readability_problems(
                    entry, width, page.evaluate(_JS_READABILITY, MIN_FIGURE_SCALE), known)
                for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
                    if href.startswith(base):
                        links.setdefault(href, entry)
                stem = str(Path(entry).with_suffix("")).replace("/", "__") + f"-{width}"
                page.screenshot(path=str(shots / f"{stem}.png"))
                if full_pages:
                    page.screenshot(path=str(shots / f"{stem}-full.png"), full_page=True)

            # Internal navigation (once, at desktop width): every same-site link resolves,
            # anchors included.
            pages: dict[str, tuple[int, str]] = {}
            for href, found_on in sorted(links.items() if width == WIDTHS["desktop"] else []):
                target, fragment = urldefrag(href)
                if target not in pages:
                    reply = context.request.get(target)
                    body = reply.text() if reply.ok and target.endswith((".html", "/")) else ""
                    pages[target] = (reply.status, body)
                status, body = pages[target]
                if status != 200:
                    problems.append(f"{found_on}: link {href} -> HTTP {status}")
                elif fragment and body and f'id="{fragment}"' not in body:
                    problems.append(f"{found_on}: link {href} -> no element #{fragment}")
        finally:
            context.close()

    if math_pages == 0:
        problems.append("no page contains typeset math")
    if width == WIDTHS["desktop"] and KNOWN_SMALL_FIGURES - known:
        problems.append(f"readable now, remove from KNOWN_SMALL_FIGURES: "
                        f"{sorted(KNOWN_SMALL_FIGURES - known)}")
    if any(e.startswith("notebooks/") for e in entries) and figures == 0:
        problems.append("no notebook chapter shows a figure: are cell outputs rendered?")
    needed = [e for e in external if e.split()[0] in {"script", "stylesheet", "font", "image"}]
    if needed:
        problems.append(f"pages need resources from outside the site: {needed}")
    assert not problems, "\n".join(problems)
    print(
        f"checked {len(entries)} pages at {width} px"
        + (f" and {len(links)} internal links" if width == WIDTHS["desktop"] else "") + "; "
        f"blocked {len(external)} requests to other hosts; screenshots in {shots}"
    )
    for request in sorted(set(external)):
        print(f"  blocked (not needed to render): {request}")
