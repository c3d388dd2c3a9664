"""Result files of an experiment run: atomic writes, the chunk layout, the CSV schema.

A run directory holds::

    provenance.json                        how the results were produced
    chunks/<dataset>/<method>/repeat-<r>.csv   per-fold rows of one chunk
    chunks/<dataset>/<method>/repeat-<r>.npz   its learning curves
    results.csv                            every chunk's rows, merged

A chunk is one (dataset, method, repeat). Its ``.npz`` is written first and its ``.csv``
last, each to a temporary file in the same folder and then moved into place with
:func:`os.replace` (atomic on POSIX), so a chunk whose CSV exists is complete and an
interrupted run leaves no partial file behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from cmloss.core.evaluation import CALIBRATION_KEYS

__all__ = [
    "COLUMNS",
    "LEGACY_COLUMNS",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "chunk_paths",
    "chunk_done",
    "write_chunk",
    "read_rows",
    "merge_results",
]

COLUMNS = (
    "experiment",
    "dataset",
    "method",
    "repeat",
    "fold",
    "n_train",
    "n_train_used",
    "n_test",
    "n_test_positive",
    "epochs",
    "selected_epoch",
    "final_b",
    "threshold",
    "tn",
    "fp",
    "fn",
    "tp",
    "g_mean",
    "mcc",
    "accuracy",
    "f1",
    "f0.5",
    "f2",
    "balanced_accuracy",
    "recall",
    "specificity",
    "precision",
    "best_val_value",
    "loss_reduction_10pct",
    "fit_seconds",
    *CALIBRATION_KEYS,
)
"""Columns of the per-fold CSV rows (empty where a method has no such value; the
calibration columns of :func:`cmloss.core.evaluation.calibration_summary` are filled for
network methods)."""

LEGACY_COLUMNS = COLUMNS[: -len(CALIBRATION_KEYS)]
"""The columns of files written before the calibration columns were added: such files
are read as they are, without the calibration columns."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temporary file in the same folder, fsync,
    then :func:`os.replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 -> what open() would give
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """:func:`atomic_write_bytes` of UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj) -> None:
    """:func:`atomic_write_text` of indented JSON."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def chunk_paths(
    root: str | os.PathLike, dataset: str, method: str, repeat: int
) -> tuple[Path, Path]:
    """``(csv, npz)`` paths of a chunk."""
    folder = Path(root) / "chunks" / dataset / method
    stem = f"repeat-{int(repeat)}"
    return folder / f"{stem}.csv", folder / f"{stem}.npz"


def chunk_done(root, dataset: str, method: str, repeat: int) -> bool:
    """Whether the chunk's CSV (written last) exists."""
    return chunk_paths(root, dataset, method, repeat)[0].exists()


def _csv_text(rows: Iterable[Mapping]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in COLUMNS})
    return buf.getvalue()


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else repr(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_chunk(
    root,
    dataset: str,
    method: str,
    repeat: int,
    rows: Sequence[Mapping],
    curves: Mapping[str, np.ndarray],
) -> None:
    """Write a chunk: curves (``.npz``) first, then the rows (``.csv``), both atomically."""
    csv_path, npz_path = chunk_paths(root, dataset, method, repeat)
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in curves.items()})
    atomic_write_bytes(npz_path, buf.getvalue())
    atomic_write_text(csv_path, _csv_text(rows))


def read_rows(path: str | os.PathLike) -> list[dict]:
    """Rows of a CSV written by this module (values as strings)."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def merge_results(root, chunks: Iterable[tuple[str, str, int]]) -> Path:
    """Concatenate the CSVs of ``chunks`` (those that exist) into ``results.csv``."""
    rows = []
    for dataset, method, repeat in chunks:
        path = chunk_paths(root, dataset, method, repeat)[0]
        if path.exists():
            rows.extend(read_rows(path))
    out = Path(root) / "results.csv"
    atomic_write_text(out, _csv_text(rows))
    return out
