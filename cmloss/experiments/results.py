"""Reading a run directory written by :func:`cmloss.experiments.run_experiment`.

The book and the tests read results only through this module::

    from cmloss.experiments.results import load_run
    run = load_run("astra")            # results/astra, found from the working directory
    run.rows                           # per-fold DataFrame (numbers parsed)
    run.complete, run.missing_cells()  # whether every cell of the grid is there
    run.curves("skin-588", "gmn-astra", 0)   # learning curves of one chunk

Rows are read from the chunk files, not from ``results.csv``, so an interrupted run
(``provenance.json`` status ``"interrupted"``) can be inspected with what it finished.

Results that are not on disk (a notebook opened in Colab, with cmloss pip-installed from
its repository) are fetched from the repository at the commit cmloss was installed from
(:func:`remote_results`): every committed run directory holds a ``SHA256SUMS`` manifest
(:func:`write_manifest`), each downloaded file is checked against it and cached with
pooch, and only the files a notebook reads are fetched (``provenance.json``, the merged
``results.csv`` of a complete run, and the learning curves asked for). After rerunning an
experiment, refresh its manifest::

    python -m cmloss.experiments.results manifest results/astra
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import quote, unquote, urlparse
from urllib.request import url2pathname

import numpy as np

from cmloss.experiments import storage

__all__ = [
    "MANIFEST",
    "RESULTS_CACHE_ENV",
    "RESULTS_ENV",
    "RESULTS_URL_ENV",
    "RemoteResults",
    "RemoteRun",
    "Run",
    "fetch_run",
    "find_run",
    "load_or_rerun",
    "load_run",
    "load_run_or_none",
    "read_manifest",
    "remote_results",
    "write_manifest",
]

RESULTS_ENV = "CMLOSS_RESULTS"
"""Environment variable naming the folder that holds the run directories."""

RESULTS_URL_ENV = "CMLOSS_RESULTS_URL"
"""Environment variable holding the URL of a repository tree (``https://``, ``http://`` or
``file://``) whose ``results/`` folder is read when a run is not on disk. It takes
precedence over the repository cmloss was installed from."""

RESULTS_CACHE_ENV = "CMLOSS_RESULTS_CACHE"
"""Environment variable naming the folder where fetched results are cached, by default
``pooch.os_cache("cmloss") / "results"`` in the user cache folder."""

MANIFEST = "SHA256SUMS"
"""File name of a run directory's manifest, whose lines ``<sha256>  <path relative to the
run>`` follow the format of ``sha256sum``."""


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
    source: RemoteRun | None = field(default=None, repr=False, compare=False)
    """Where the files of a fetched run come from (``None``: a run directory on disk)."""

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

        files = sorted((self.path / "chunks").glob("*/*/repeat-*.csv"))
        if self.source is not None:
            files = self.source.row_files()
        frames = [pd.read_csv(p, keep_default_na=True) for p in files]
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
                *([f"read from {self.source.remote.label}"] if self.source else []),
            ]
        )

    def curves(self, dataset: str, method: str, repeat: int) -> dict[str, np.ndarray]:
        """The learning curves of one chunk (``fold``, ``epoch``, then one array of shape
        ``(folds, points)`` per curve, and ``train_loss_full``)."""
        path = storage.chunk_paths(self.path, dataset, method, repeat)[1]
        if self.source is not None:
            path = self.source.fetch(path.relative_to(self.path).as_posix())
        with np.load(path) as f:
            return {k: f[k] for k in f.files}


def _earlier(invocations: list[dict]) -> str:
    if not invocations:
        return ""
    minutes = sum(h.get("wall_seconds") or 0 for h in invocations) / 60
    return f"; {len(invocations)} earlier invocation(s) in this folder ({minutes:.1f} min)"


def load_or_rerun(name: str, rerun_quick: bool = False) -> Run:
    """The committed results of experiment ``name``, or, when asked, a quick rerun of it.

    Without ``rerun_quick``: the run directory on disk (:func:`find_run`), else the same
    run fetched from the repository cmloss was installed from (:func:`fetch_run`; the
    notebook says which commit it read). With ``rerun_quick=True``: the experiment's
    ``quick`` size, run into a temporary folder (about a minute), which shows how the
    pipeline works, not what the methods achieve.

    Raises:
        FileNotFoundError: Neither on disk nor fetchable; the message says where it
            looked and how to get the results (or to ask for the quick rerun).
    """
    if not rerun_quick:
        return _load_anywhere(name)
    import tempfile

    from cmloss.experiments.definitions import get_experiment
    from cmloss.experiments.runner import run_experiment

    out = tempfile.mkdtemp(prefix=f"cmloss-{name}-")
    run_experiment(get_experiment(name, "quick"), out, show_progress=False)
    return load_run(out)


def load_run(name: str | os.PathLike) -> Run:
    """Load a run directory from disk (see :func:`find_run` for how ``name`` is resolved;
    :func:`load_or_rerun` and :func:`load_run_or_none` also fetch it when it is not on
    disk)."""
    path = find_run(name)
    return Run(path, json.loads((path / "provenance.json").read_text()))


def load_run_or_none(name: str | os.PathLike) -> Run | None:
    """The run on disk or fetched from the repository (as :func:`load_or_rerun`), or
    ``None`` when neither works.

    For optional comparisons in the book: the reason (every place searched, and the
    command that makes the run) is printed, so a reader sees why a section is skipped.
    """
    try:
        return _load_anywhere(name)
    except FileNotFoundError as err:
        print(err)
        return None


def _load_anywhere(name: str | os.PathLike) -> Run:
    try:
        return load_run(name)
    except FileNotFoundError as not_on_disk:
        remote = remote_results()
        if remote is None or Path(name).name != str(name):
            raise FileNotFoundError(
                f"{not_on_disk} Nor can it be fetched: {_why_no_remote()}. In a notebook, "
                "set RERUN_QUICK = True to rerun a quick version instead."
            ) from None
        try:
            return fetch_run(str(name), remote)
        except (OSError, ValueError) as err:
            raise FileNotFoundError(
                f"{not_on_disk} Fetching results/{name} from {remote.label} failed: {err}"
            ) from err


# --------------------------------------------------------------------------- manifests
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(run_dir: str | os.PathLike) -> Path:
    """Write ``run_dir/SHA256SUMS``: the SHA-256 of every file of the run directory
    (sorted, paths relative to it, ``/``-separated), written atomically.

    Raises:
        FileNotFoundError: ``run_dir`` has no ``provenance.json``.
    """
    root = Path(run_dir)
    if not (root / "provenance.json").is_file():
        raise FileNotFoundError(f"{root} is not a run directory (no provenance.json)")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)
    lines = [f"{_sha256(p)}  {p.relative_to(root).as_posix()}" for p in files]
    out = root / MANIFEST
    storage.atomic_write_text(out, "\n".join(lines) + "\n")
    return out


def read_manifest(text: str) -> dict[str, str]:
    """``{relative path: sha256}`` from a manifest's text.

    Raises:
        ValueError: A line that is not ``<64 hex digits>  <path>``, or a path that leaves
            the run directory.
    """
    entries = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"manifest line {number} is not '<sha256>  <path>': {line!r}")
        if rel.startswith("/") or ".." in rel.split("/"):
            raise ValueError(f"manifest line {number} names a path outside the run: {rel!r}")
        entries[rel] = digest
    return entries


# --------------------------------------------------------------------------- fetching
@dataclass(frozen=True)
class RemoteResults:
    """A repository tree at one commit from which ``results/<name>/`` files are read.

    Attributes:
        base_url: URL of the tree's root, ending in ``/`` (``results/...`` is appended).
        label: What the notebook tells the reader it read (repository and commit).
        cache_key: Folder name of this tree in the cache (the commit, when known).
        pinned: Whether the tree is one commit's (its files never change, so a cached
            manifest is reused); a ``$CMLOSS_RESULTS_URL`` tree is read again each time.
    """

    base_url: str
    label: str
    cache_key: str
    pinned: bool = False


def _installed_from() -> tuple[str, str] | None:
    """(repository URL, commit) that pip recorded when it installed cmloss from git
    (PEP 610 ``direct_url.json``), or ``None`` (an editable or index install)."""
    from importlib import metadata

    try:
        text = metadata.distribution("cmloss").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    info = json.loads(text)
    vcs = info.get("vcs_info") or {}
    if vcs.get("vcs") != "git" or not vcs.get("commit_id"):
        return None
    return info["url"], vcs["commit_id"]


def remote_results() -> RemoteResults | None:
    """Where results not on disk are fetched from: ``$CMLOSS_RESULTS_URL`` if set, else
    the GitHub repository and commit cmloss was pip-installed from; ``None`` when neither
    applies."""
    url = os.environ.get(RESULTS_URL_ENV, "").strip()
    if url:
        base = url.rstrip("/") + "/"
        key = "url-" + hashlib.sha256(base.encode()).hexdigest()[:16]
        return RemoteResults(base, f"{base} (${RESULTS_URL_ENV})", key)
    installed = _installed_from()
    if installed is None:
        return None
    repo, commit = installed
    parsed = urlparse(repo.removeprefix("git+"))
    parts = parsed.path.strip("/").removesuffix(".git").split("/")
    if parsed.hostname != "github.com" or len(parts) != 2:
        return None
    owner, name = parts
    base = f"https://raw.githubusercontent.com/{owner}/{name}/{commit}/"
    return RemoteResults(base, f"github.com/{owner}/{name} at commit {commit[:10]}", commit,
                         pinned=True)


def _why_no_remote() -> str:
    if _installed_from() is None:
        return (f"cmloss was not pip-installed from a git repository and ${RESULTS_URL_ENV} "
                "is not set")
    return f"cmloss was installed from {_installed_from()[0]}, not a GitHub repository"


def _cache_root() -> Path:
    env = os.environ.get(RESULTS_CACHE_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("cmloss")) / "results"


def _retrieve(url: str, known_hash: str | None, target: Path) -> None:
    """``pooch.retrieve`` into ``target`` (kept if it has ``known_hash``), without pooch's
    per-file log lines; ``file://`` URLs are copied."""
    import logging

    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        pooch.retrieve(url, known_hash=known_hash, fname=target.name, path=target.parent,
                       downloader=_copy_file_url if url.startswith("file:") else None,
                       progressbar=False)
    finally:
        logger.setLevel(level)


def _copy_file_url(url: str, output_file, pooch_instance=None, check_only=False):
    """A pooch downloader for ``file://`` URLs (a local clone, and the offline tests)."""
    source = Path(url2pathname(unquote(urlparse(url).path)))
    if check_only:
        return source.is_file()
    if not source.is_file():
        raise FileNotFoundError(f"no file {source} (from {url})")
    shutil.copyfile(source, output_file)
    return None


@dataclass(frozen=True)
class RemoteRun:
    """The files of one fetched run: fetched on demand, hash-checked, cached."""

    remote: RemoteResults
    name: str
    folder: Path
    manifest: dict[str, str]

    def url(self, rel: str) -> str:
        """The URL of ``rel`` (a path relative to the run directory)."""
        return f"{self.remote.base_url}results/{quote(self.name)}/{quote(rel)}"

    def fetch(self, rel: str) -> Path:
        """The cached copy of ``rel`` (relative to the run directory), fetched if needed.

        Raises:
            FileNotFoundError: ``rel`` is not in the run's manifest.
            ValueError: The downloaded file does not have the manifest's SHA-256.
        """
        if rel not in self.manifest:
            raise FileNotFoundError(f"results/{self.name}/{rel} is not in its {MANIFEST}")
        target = self.folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        _retrieve(self.url(rel), f"sha256:{self.manifest[rel]}", target)
        return target

    def row_files(self) -> list[Path]:
        """The files holding the run's rows: ``results.csv`` of a complete run, else every
        chunk CSV (an interrupted run's merged file may be out of date)."""
        provenance = json.loads((self.folder / "provenance.json").read_text())
        if provenance["status"] == "complete" and "results.csv" in self.manifest:
            return [self.fetch("results.csv")]
        chunks = sorted(r for r in self.manifest
                        if r.startswith("chunks/") and r.endswith(".csv"))
        return [self.fetch(r) for r in chunks]


def fetch_run(name: str, remote: RemoteResults | None = None) -> Run:
    """``results/<name>`` of a repository tree (default: :func:`remote_results`), read
    through a cache: its manifest first, then ``provenance.json``; rows and learning
    curves when they are first used. Prints where the results come from.

    Raises:
        FileNotFoundError: No remote is known, or the run is not in the tree.
        ValueError: A file whose SHA-256 differs from the manifest's.
    """
    remote = remote or remote_results()
    if remote is None:
        raise FileNotFoundError(f"cannot fetch results/{name}: {_why_no_remote()}")
    folder = _cache_root() / remote.cache_key / name
    folder.mkdir(parents=True, exist_ok=True)
    manifest_url = f"{remote.base_url}results/{quote(name)}/{MANIFEST}"
    # The manifest's own hash cannot be known in advance: it is read again unless the tree
    # is one commit's (immutable), and every other file is checked against it.
    manifest_path = folder / MANIFEST
    if not (manifest_path.is_file() and remote.pinned):
        if manifest_path.exists():
            manifest_path.unlink()
        _retrieve(manifest_url, None, manifest_path)
    run = RemoteRun(remote, name, folder, read_manifest(manifest_path.read_text()))
    run.fetch("provenance.json")
    print(f"results/{name} is not on disk: read from {remote.label}, every file checked "
          f"against its {MANIFEST} (cache: {folder})", file=sys.stdout)
    return Run(folder, json.loads((folder / "provenance.json").read_text()), run)


def _main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m cmloss.experiments.results",
        description="Write the SHA256SUMS manifest of run directories (after a rerun).")
    sub = parser.add_subparsers(dest="command", required=True)
    manifest = sub.add_parser("manifest", help="(re)write RUN_DIR/SHA256SUMS")
    manifest.add_argument("run_dirs", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for run_dir in args.run_dirs:
        try:
            print(write_manifest(run_dir))
        except FileNotFoundError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main())
