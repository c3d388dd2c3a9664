"""Rewrite the Colab install cell of every notebook pair from ``_config.yml``.

The public address of the repository lives in one place, ``repository.url`` in
``_config.yml``. The first code cell of every notebook installs cmloss from that address
when it is not importable (Colab, Binder)::

    try:
        import cmloss
    except ImportError:  # Colab, Binder: install cmloss from its repository
        %pip install -q "cmloss[book] @ git+<repository.url>"
        import cmloss
    __import__("keras")  # loads TensorFlow in this cell, which hides its start-up log lines

After changing the address, run (from anywhere)::

    python book/_tools/sync_install_cells.py          # rewrite notebooks/*.py and *.ipynb
    python book/_tools/sync_install_cells.py --check  # exit 1 if a notebook disagrees

A notebook whose first code cell is not an install cell gets one inserted before it.
Both files of each jupytext pair (``.py`` percent script and ``.ipynb``) are rewritten;
the ``.ipynb`` install cell is left without outputs. ``tests/test_book.py`` imports
:func:`install_cell_source` from here, so the test and the tool cannot disagree.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = "notebooks"
# The book extra: what the notebooks import (datasets, experiments, seaborn, sympy). pip
# records the commit it installed, from which chapters 5-7 fetch the committed results of
# the same commit (cmloss.experiments.results.remote_results).
PACKAGE_SPEC = "cmloss[book]"
# The install cell's stderr (pip's progress, TensorFlow's start-up log on first import) is
# noise in the book; myst-nb drops it for cells with this tag. Colab still shows it.
INSTALL_CELL_TAGS = ["remove-stderr"]
# TensorFlow 2.21 prints C++ start-up lines (absl) on its first import whatever
# TF_CPP_MIN_LOG_LEVEL says; importing Keras in the tagged install cell keeps them there.
KERAS_IMPORT = (
    '__import__("keras")  # loads TensorFlow in this cell, which hides its start-up log lines'
)

__all__ = [
    "ROOT",
    "repository_url",
    "install_cell_source",
    "is_install_cell",
    "cell_agrees",
    "notebook_files",
    "first_code_cell",
    "sync_file",
    "main",
]


def repository_url(root: Path = ROOT) -> str:
    """``repository.url`` from ``root/_config.yml`` (trailing slash and ``.git`` removed)."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    try:
        url = str(config["repository"]["url"]).strip()
    except (KeyError, TypeError) as err:
        raise ValueError(f"{root / '_config.yml'} has no repository.url") from err
    url = url.rstrip("/")
    return url[: -len(".git")] if url.endswith(".git") else url


def install_cell_source(url: str) -> str:
    """The exact source of the install cell for repository address ``url``."""
    return (
        "try:\n"
        "    import cmloss\n"
        "except ImportError:  # Colab, Binder: install cmloss from its repository\n"
        f'    %pip install -q "{PACKAGE_SPEC} @ git+{url}"\n'
        "    import cmloss\n"
        f"{KERAS_IMPORT}"
    )


def is_install_cell(source: str) -> bool:
    """Whether a code cell is (some version of) the cmloss install cell."""
    return "pip install" in source and "cmloss" in source and "import cmloss" in source


def cell_agrees(cell, url: str) -> bool:
    """Whether ``cell`` is exactly the install cell for ``url``, tags included."""
    tags = cell.metadata.get("tags", [])
    return cell.source == install_cell_source(url) and all(t in tags for t in INSTALL_CELL_TAGS)


def notebook_files(root: Path = ROOT) -> list[Path]:
    """All notebook files (``.ipynb`` and jupytext ``.py``) under ``root/notebooks``."""
    folder = root / NOTEBOOK_DIR
    return sorted([*folder.glob("*.ipynb"), *folder.glob("*.py")])


def _format(path: Path) -> str:
    return "ipynb" if path.suffix == ".ipynb" else "py:percent"


def first_code_cell(nb) -> tuple[int, object | None]:
    """Index and cell of the first code cell of a notebook (``(-1, None)`` if none)."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            return i, cell
    return -1, None


def sync_file(path: Path, url: str, *, check: bool = False) -> bool:
    """Make the install cell of ``path`` match ``url``. Returns whether it had to change.

    With ``check=True`` nothing is written.
    """
    nb = jupytext.read(path, fmt=_format(path))
    wanted = install_cell_source(url)
    index, cell = first_code_cell(nb)
    if cell is not None and cell_agrees(cell, url):
        return False
    if check:
        return True
    if cell is None or not is_install_cell(cell.source):
        cell = nbformat.v4.new_code_cell()
        nb.cells.insert(index if index >= 0 else len(nb.cells), cell)
    cell.source = wanted
    tags = cell.metadata.get("tags", [])
    cell.metadata["tags"] = [*tags, *(t for t in INSTALL_CELL_TAGS if t not in tags)]
    if path.suffix == ".ipynb":
        cell.outputs = []
        cell.execution_count = None
    jupytext.write(nb, path, fmt=_format(path))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="only report notebooks that disagree; exit 1 if any"
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    args = parser.parse_args(argv)

    url = repository_url(args.root)
    changed = [p for p in notebook_files(args.root) if sync_file(p, url, check=args.check)]
    for path in changed:
        verb = "disagrees with" if args.check else "rewritten from"
        print(f"{path.relative_to(args.root)}: install cell {verb} repository.url = {url}")
    if not changed:
        print(f"all install cells agree with repository.url = {url}")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
