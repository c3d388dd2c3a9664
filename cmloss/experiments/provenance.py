"""Provenance of a run: command, configuration, versions, git commit, machine, wall time."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["machine_info", "package_versions", "git_commit", "provenance", "earlier_invocations"]

_INVOCATION_KEYS = ("command", "started_utc", "wall_seconds", "status", "git", "config")

_PACKAGES = (
    "cmloss",
    "tensorflow",
    "tensorflow-cpu",
    "keras",
    "numpy",
    "scikit-learn",
    "tqdm",
    "imbalanced-learn",
    "pandas",
    "dask",
    "distributed",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _accelerators() -> list[str]:
    try:
        import tensorflow as tf

        return [d.name for d in tf.config.list_physical_devices() if d.device_type != "CPU"]
    except Exception:  # TensorFlow missing or broken: report none
        return []


def machine_info() -> dict:
    """CPU model, logical cores (and those usable by this process), memory, OS,
    load average, accelerators."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        load = list(os.getloadavg())
    except OSError:
        load = None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_bytes": _memory_bytes(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "hostname": platform.node(),
        "load_average": load,
        "accelerators": _accelerators(),
    }


def package_versions() -> dict:
    """Installed versions of the packages the results depend on."""
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def git_commit(path: str | os.PathLike | None = None) -> dict:
    """``{"commit": sha, "dirty": bool}`` of the repository holding this package, or
    ``{"commit": None}`` outside a git checkout.

    ``dirty`` says whether tracked files other than the result folders (``results/``)
    differ from the commit: a run that resumes a committed result folder rewrites its
    ``provenance.json``, which says nothing about the code that ran.
    """
    where = Path(path) if path else Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=where,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"]
            + ["--", ":(top)", ":(top,exclude)results"],
            cwd=where,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
        return {"commit": sha, "dirty": bool(status.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def provenance(
    *,
    command: list[str],
    config: dict,
    started: _dt.datetime,
    wall_seconds: float | None,
    status: str,
    extra: dict | None = None,
    git: dict | None = None,
    earlier: list[dict] | None = None,
) -> dict:
    """The provenance record of a run.

    Args:
        command: the command line (``sys.argv``).
        config: the full experiment configuration.
        started: start time (UTC).
        wall_seconds: elapsed wall time (``None`` while running).
        status: ``"running"``, ``"complete"``, ``"interrupted"`` (a signal or Ctrl-C) or
            ``"failed"`` (an exception, whose type and message ``extra["error"]`` holds).
        extra: additional fields (e.g. chunk counts).
        git: the commit the run started from (:func:`git_commit` at its start; default:
            now). A run records it at its start, so commits made while it runs do not
            change its record.
        earlier: earlier invocations that wrote into the same folder
            (:func:`earlier_invocations`); the record's ``invocations`` lists them and
            then this one, so a folder filled by several resumed runs says how each part
            was made.
    """
    record = {
        "status": status,
        "command": list(command),
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_seconds": wall_seconds,
        "config": json.loads(json.dumps(config)),  # as saved: tuples become lists
        "versions": package_versions(),
        "git": git if git is not None else git_commit(),
        "machine": machine_info(),
        "environment": {
            k: os.environ[k]
            for k in ("CMLOSS_DATA", "KERAS_BACKEND", "XLA_FLAGS")
            if k in os.environ
        },
    }
    record.update(extra or {})
    this = {k: record[k] for k in (*_INVOCATION_KEYS, *(extra or {}))}
    record["invocations"] = [*(earlier or []), this]
    return record


def earlier_invocations(path: str | os.PathLike) -> list[dict]:
    """The invocations recorded in an existing ``provenance.json`` (``[]`` if there is
    none), to be carried into the record of a run that resumes the same folder.

    A record written before invocations were listed becomes one entry (its
    ``provenance_note``, if any, kept as ``note``); an invocation whose status is still
    ``"running"`` ended without writing its final record (killed) and is marked so.
    """
    path = Path(path)
    if not path.is_file():
        return []
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"cannot read the provenance of the run being resumed, {path}: {exc}; "
            "move it away to start a new record."
        ) from exc
    history = old.get("invocations")
    if history is None:
        entry = {k: old[k] for k in _INVOCATION_KEYS if k in old}
        entry.update({k: old[k] for k in ("chunks_total", "chunks_pending_at_start") if k in old})
        if "provenance_note" in old:
            entry["note"] = old["provenance_note"]
        history = [entry]
    out = [dict(h) for h in history]
    for h in out:
        if h.get("status") == "running":
            h["status"] = "killed (ended without a final record)"
    return out
