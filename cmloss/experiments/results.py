"""Reading a run directory written by :func:`cmloss.experiments.run_experiment`.

The book and the tests read results only through this module::

    from cmloss.experiments.results import load_run
    run = load_run("astra")            # results/astra, found from the working directory
    run.rows                           # per-fold DataFrame (numbers parsed)
    run.complete, run.missing_cells()  # whether every cell of the grid is there
    run.curves("skin-588", "gmn-astra", 0)   # learning curves of one chunk

Rows are read from the chunk files, not from ``results.csv``, so an interrupted run
(``provenance.json`` status ``"interrupted"``) can be inspected with what it finished.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from cmloss.experiments import storage

__all__ = ["Run", "load_run", "load_run_or_none", "load_or_rerun", "find_run", "RESULTS_ENV"]

RESULTS_ENV = "CMLOSS_RESULTS"
"""Environment variable naming the folder that holds the run directories."""


def _candidates(name: str) -> list[Path]:
    roots = []
    if os.environ.get(RESULTS_ENV):
        roots.append(Path(os.environ[RESULTS_ENV]))
    cwd = Path.cwd()
    roots += [cwd / "results", cwd.parent / "results"]
    roots.append(Path(__file__).resolve().parents[2] / "results")  # a source checkout
    return [root / name for root in roots]


def find_run(name: str | os.PathLike) -> Path:
    """The run directory of ``name``: a path to a folder with ``provenance.json``, or a
    run name looked up in ``$CMLOSS_RESULTS``, ``./results``, ``../results`` and the
    source checkout's ``results/``.

    Raises:
        FileNotFoundError: naming every place searched.
    """
    path = Path(name)
    if (path / "provenance.json").is_file():
        return path
    tried = _candidates(str(name))
    for candidate in tried:
        if (candidate / "provenance.json").is_file():
            return candidate
    raise FileNotFoundError(
        f"no run directory {str(name)!r} (a folder with provenance.json); searched "
        f"{[str(t) for t in tried]}. Set {RESULTS_ENV} or rerun it with "
        f"`python -m cmloss.experiments run {Path(name).name}`."
    )


@dataclass(frozen=True)
class Run:
    """A run directory: its provenance and its per-fold rows."""

    path: Path
    provenance: dict

    @property
    def config(self) -> dict:
        """The experiment grid the run was asked for."""
        return self.provenance["config"]

    @property
    def status(self) -> str:
        """``"complete"``, ``"interrupted"``, ``"failed"`` or ``"running"``."""
        return self.provenance["status"]

    @cached_property
    def rows(self):
        """Every finished chunk's rows as a pandas DataFrame (numbers parsed)."""
        import pandas as pd

        frames = [
            pd.read_csv(p, keep_default_na=True)
            for p in sorted((self.path / "chunks").glob("*/*/repeat-*.csv"))
        ]
        if not frames:
            return pd.DataFrame(columns=list(storage.COLUMNS))
        return pd.concat(frames, ignore_index=True)

    def expected_cells(self) -> set[tuple[str, str, int, int]]:
        """``(dataset, method, repeat, fold)`` of the grid: the configured datasets (and
        the optional ones the run found), methods, repeats and folds."""
        cfg = self.config
        datasets = list(cfg["datasets"])
        found = set(self.rows["dataset"])
        datasets += [d for d in cfg.get("optional_datasets", ()) if d in found]
        folds = cfg["max_folds"] or cfg["folds"]
        return {
            (d, m, r, f)
            for d in datasets
            for m in cfg["methods"]
            for r in range(cfg["repeats"])
            for f in range(folds)
        }

    def missing_cells(self) -> set[tuple[str, str, int, int]]:
        """Cells of the grid with no row."""
        have = set(
            zip(
                self.rows["dataset"],
                self.rows["method"],
                self.rows["repeat"].astype(int),
                self.rows["fold"].astype(int),
                strict=True,
            )
        )
        return self.expected_cells() - have

    @property
    def complete(self) -> bool:
        """Status complete and no missing cell."""
        return self.status == "complete" and not self.missing_cells()

    def summary(self) -> str:
        """A few lines on how the results were made (status, command, commit, wall time,
        machine, package versions)."""
        p = self.provenance
        wall = f"{p['wall_seconds'] / 60:.1f} min" if p.get("wall_seconds") else "(running)"
        return "\n".join(
            [
                f"status: {self.status}; rows: {len(self.rows)}; "
                f"missing cells: {len(self.missing_cells())}",
                f"command: {' '.join(p['command'][1:])}",
                f"commit {p['git']['commit'][:10]} (dirty: {p['git']['dirty']}); wall time of "
                f"the last invocation {wall} on {p['machine']['cores']} cores"
                + _earlier(p.get("invocations", [])[:-1]),
                "versions: " + ", ".join(f"{k} {v}" for k, v in p["versions"].items()),
            ]
        )

    def curves(self, dataset: str, method: str, repeat: int) -> dict[str, np.ndarray]:
        """The learning curves of one chunk (``fold``, ``epoch``, then one array of shape
        ``(folds, points)`` per curve, and ``train_loss_full``)."""
        path = storage.chunk_paths(self.path, dataset, method, repeat)[1]
        with np.load(path) as f:
            return {k: f[k] for k in f.files}


def _earlier(invocations: list[dict]) -> str:
    if not invocations:
        return ""
    minutes = sum(h.get("wall_seconds") or 0 for h in invocations) / 60
    return f"; {len(invocations)} earlier invocation(s) in this folder ({minutes:.1f} min)"


def load_or_rerun(name: str, rerun_quick: bool = False) -> Run:
    """The committed results of experiment ``name``, or a quick rerun of it.

    With ``rerun_quick=True``, or when :func:`find_run` cannot find the results (a bare
    Colab session), runs the experiment's ``quick`` size into a temporary folder (about a
    minute) and loads that; the latter case is announced on standard output.
    """
    if not rerun_quick:
        run = load_run_or_none(name)
        if run is not None:
            return run
        print("-> running the quick version instead.")
    import tempfile

    from cmloss.experiments.definitions import get_experiment
    from cmloss.experiments.runner import run_experiment

    out = tempfile.mkdtemp(prefix=f"cmloss-{name}-")
    run_experiment(get_experiment(name, "quick"), out, show_progress=False)
    return load_run(out)


def load_run(name: str | os.PathLike) -> Run:
    """Load a run directory (see :func:`find_run` for how ``name`` is resolved)."""
    path = find_run(name)
    return Run(path, json.loads((path / "provenance.json").read_text()))


def load_run_or_none(name: str | os.PathLike) -> Run | None:
    """:func:`load_run`, or ``None`` when the run directory cannot be found.

    For optional comparisons in the book: the reason (every place searched, and the
    command that makes the run) is printed, so a reader sees why a section is skipped.
    """
    try:
        return load_run(name)
    except FileNotFoundError as err:
        print(err)
        return None
