"""Tests of the book: notebook pairs, install cells, table of contents, build settings, and
(marked ``browser``) the built HTML site opened in headless Chromium.

The browser test needs a built book (``jupyter-book build . -W -n --keep-going``, or
``bash .ci/build_book.sh``), the ``playwright`` package and a Chromium binary
(``/usr/bin/chromium``; override with ``CMLOSS_CHROMIUM``). It is skipped with the reason
when one is missing, unless ``CMLOSS_REQUIRE_BROWSER=1`` (set by ``.ci/build_book.sh``),
which turns the skip into a failure. Screenshots go to ``$CMLOSS_SCREENSHOTS`` (default
``_build/screenshots``): the top of every page, and whole pages (``<page>-full.png``)
with ``CMLOSS_FULL_SCREENSHOTS=1``.
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


@pytest.mark.browser
def test_built_site_renders_in_chromium(tmp_path):
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
            viewport={"width": 1280, "height": 900},
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
                for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
                    if href.startswith(base):
                        links.setdefault(href, entry)
                stem = str(Path(entry).with_suffix("")).replace("/", "__")
                page.screenshot(path=str(shots / f"{stem}.png"))
                if full_pages:
                    page.screenshot(path=str(shots / f"{stem}-full.png"), full_page=True)

            # Internal navigation: every same-site link resolves, anchors included.
            pages: dict[str, tuple[int, str]] = {}
            for href, found_on in sorted(links.items()):
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
    if any(e.startswith("notebooks/") for e in entries) and figures == 0:
        problems.append("no notebook chapter shows a figure: are cell outputs rendered?")
    needed = [e for e in external if e.split()[0] in {"script", "stylesheet", "font", "image"}]
    if needed:
        problems.append(f"pages need resources from outside the site: {needed}")
    assert not problems, "\n".join(problems)
    print(
        f"checked {len(entries)} pages and {len(links)} internal links; "
        f"blocked {len(external)} requests to other hosts; screenshots in {shots}"
    )
    for request in sorted(set(external)):
        print(f"  blocked (not needed to render): {request}")
