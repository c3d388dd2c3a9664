"""Command line: ``python -m cmloss.experiments {run,list}``.

Examples::

    python -m cmloss.experiments list
    python -m cmloss.experiments run astra --quick --out results/_quick/astra
    python -m cmloss.experiments run astra --full --datasets skin-588 --out results/astra
    python -m cmloss.experiments run anyloss --full --data-home /data/cmloss
    python -m cmloss.experiments run my_grid.toml --out results/my_grid
    python -m cmloss.experiments run hd40 --plan              # projected wall times
    python -m cmloss.experiments run hd40 --workers 16        # a local Dask cluster
    python -m cmloss.experiments run hd40 --scheduler tcp://10.0.0.5:8786

An expected failure (an unknown experiment, method or dataset, a bad grid file, missing
data, a results folder of another configuration, workers that do not fit) is one line on
stderr and exit status 2; a finished run prints the mean G-mean and MCC of each dataset
and method and where its files are.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "build_parser", "summary_table"]

EXPECTED_FAILURE = 2
"""Exit status of an expected failure (printed as one line on stderr)."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m cmloss.experiments",
        description="Run the cmloss experiments (ASTra and AnyLoss protocols) with the fast "
        "trainer. Results are resumable: finished chunks are skipped on rerun.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run (or resume) an experiment")
    run.add_argument("name", help="a named experiment (see `list`) or a .json/.toml grid file")
    size = run.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="CI size: a minute or less")
    size.add_argument("--full", action="store_true", help="the papers' protocol (default)")
    run.add_argument("--datasets", nargs="+", help="only these datasets")
    run.add_argument("--methods", nargs="+", help="only these methods")
    run.add_argument(
        "--out", type=Path, help="run directory (default results/<name>, results/_quick/<name>)"
    )
    run.add_argument("--data-home", type=Path, help="data folder (default $CMLOSS_DATA)")
    run.add_argument("--epochs", type=int, help="override every method's epochs")
    run.add_argument("--repeats", type=int, help="number of repeats (ASTra protocol)")
    run.add_argument("--folds", type=int, help="run only the first N folds of each repeat")
    run.add_argument(
        "--select-from-epoch",
        type=int,
        metavar="N",
        help="best-on-validation selection ignores epochs before N (0-based) in every "
        "network method that selects (default: the methods' own, 0)",
    )
    run.add_argument(
        "--carry-over",
        action="store_true",
        default=None,
        help="train each network method's folds in order, each starting from the weights the "
        "previous fold ended with (how the AnyLoss authors' code ran; never the default)",
    )
    run.add_argument(
        "--zscore-rows",
        choices=("train", "whole_file"),
        help="rows that z-scoring is fitted on: each fold's training rows (default) or the "
        "whole file before splitting (the AnyLoss authors' recipes)",
    )
    run.add_argument(
        "--budget-gb",
        type=float,
        default=2.0,
        help="memory budget of one compiled stack, GB (default 2; with --workers, shared by "
        "the workers)",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    where = run.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run units on a Dask LocalCluster of N single-threaded worker processes "
        "(needs dask[distributed]; default: this process alone)",
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run units on an existing Dask cluster (e.g. tcp://host:8786) whose workers "
        "have this package and the data ($CMLOSS_DATA or --data-home)",
    )
    run.add_argument(
        "--plan",
        action="store_true",
        help="print the pending units, their estimated cost and the projected wall time "
        "for 1-64 workers (calibrated on this machine), and exit without training",
    )
    run.add_argument(
        "--small-first",
        action="store_true",
        help="run the smallest datasets first (same results; an interrupted run has "
        "finished more datasets)",
    )
    sub.add_parser("list", help="list experiments and methods")
    return parser


def _list() -> None:
    from cmloss.experiments.definitions import EXPERIMENTS
    from cmloss.experiments.methods import METHODS

    print("Experiments:")
    for name, sizes in EXPERIMENTS.items():
        full, quick = sizes["full"], sizes["quick"]
        print(
            f"  {name:10s} protocol={full.protocol}, datasets={', '.join(full.datasets)}; "
            f"{len(full.methods)} methods, {full.repeats} repeat(s) x {full.folds} folds "
            f"(--quick: {', '.join(quick.datasets)}, {quick.epochs} epochs)"
        )
    print("Methods:")
    for name, method in METHODS.items():
        print(f"  {name:30s} [{method.kind}] {method.description}")


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _interrupt_on_signals() -> dict:
    """Ctrl-C, ``kill`` (SIGTERM) and a closed terminal (SIGHUP) stop a run the same way:
    the unit in progress is dropped, finished chunks stay, and the provenance says
    ``"interrupted"``. (A shell starts background jobs with SIGINT ignored; this restores
    it.) Only in the main thread, where Python allows handlers; returns the previous
    handlers."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            number = getattr(signal, name)
            previous[number] = signal.signal(number, _raise_interrupt)
    return previous


class _Refused(Exception):
    """An expected failure, said in one line."""


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _experiment(args):
    """The experiment the arguments ask for; a bad name, grid file or option is
    :class:`_Refused`."""
    from cmloss.experiments.definitions import EXPERIMENTS, get_experiment

    grid = Path(args.name)
    if args.name not in EXPERIMENTS and grid.suffix in (".json", ".toml") and not grid.is_file():
        raise _Refused(f"grid file {args.name} not found.")
    is_grid = args.name not in EXPERIMENTS and grid.suffix in (".json", ".toml")
    try:
        experiment = get_experiment(args.name, "quick" if args.quick else "full")
        return experiment.with_options(
            datasets=tuple(args.datasets) if args.datasets else None,
            methods=tuple(args.methods) if args.methods else None,
            epochs=args.epochs,
            repeats=args.repeats,
            max_folds=args.folds,
            selection_start=args.select_from_epoch,
            carry_over=args.carry_over,
            zscore_rows=args.zscore_rows,
        )
    except (ValueError, TypeError, KeyError, OSError) as err:  # JSON/TOML errors are ValueErrors
        detail = _one_line(err) if not isinstance(err, KeyError) else f"missing key {err}"
        if is_grid:
            raise _Refused(f"grid file {args.name}: {type(err).__name__}: {detail}") from err
        raise _Refused(detail) from err


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 done, 1 a run that failed, 2 an expected
    failure printed as one line on stderr, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    if args.command == "list":
        _list()
        return 0
    from cmloss.experiments.runner import ExperimentError

    try:
        return _command(args, argv)
    except (_Refused, ExperimentError) as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return EXPECTED_FAILURE


def _command(args, argv) -> int:
    if args.workers is not None and args.workers < 1:
        raise _Refused(f"--workers must be an integer >= 1; got {args.workers}.")
    if args.budget_gb <= 0 or not math.isfinite(args.budget_gb):
        raise _Refused(f"--budget-gb must be a positive number; got {args.budget_gb}.")
    experiment = _experiment(args)
    out = args.out or (Path("results") / ("_quick" if args.quick else "") / experiment.name)
    if args.plan:
        from cmloss.experiments.planning import print_plan

        print_plan(
            experiment,
            out,
            data_home=args.data_home,
            budget_bytes=int(args.budget_gb * 1024**3),
            size="quick" if args.quick else "full",
        )
        return 0
    previous = _interrupt_on_signals()
    try:
        record = _run(args, experiment, out, argv)
    except KeyboardInterrupt as err:
        print(
            f"interrupted ({err or 'Ctrl-C'}): finished chunks are kept in {out}; run the "
            "same command again to resume."
        )
        return 130
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    wall = f"{record['wall_seconds']:.1f} s"
    if record["status"] != "complete":
        print(
            f"{record['status']} after {wall}: {record.get('error', '')} (finished chunks are "
            f"kept in {out}; run the same command again to retry the rest)",
            file=sys.stderr,
        )
        return 1
    from cmloss.experiments import storage

    print(f"complete: {out} ({wall})")
    print(summary_table(storage.read_rows(out / "results.csv")))
    print(
        f"files: {out / 'results.csv'} (one row per fold), {out / 'chunks'}/ (rows and "
        f"learning curves per dataset, method and repeat), {out / 'provenance.json'}"
    )
    return 0


def summary_table(rows: Sequence[dict]) -> str:
    """Mean G-mean and MCC over the folds of each dataset and method (rows as read from
    ``results.csv``), one line each, in the order first seen. A metric undefined on a
    fold (an empty cell) is left out of that mean, and the line says on how many folds."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["method"]), []).append(row)
    wd = max([len("dataset"), *(len(d) for d, _ in groups)])
    wm = max([len("method"), *(len(m) for _, m in groups)])
    lines = [f"{'dataset':{wd}s}  {'method':{wm}s}  folds   G-mean      MCC"]
    for (dataset, method), group in groups.items():
        cells, notes = [], []
        for key, label in (("g_mean", "G-mean"), ("mcc", "MCC")):
            values = [float(r[key]) for r in group if r[key] != ""]
            cells.append(f"{sum(values) / len(values):8.3f}" if values else "     n/a")
            if len(values) < len(group):
                notes.append(f"{label} undefined on {len(group) - len(values)} fold(s)")
        note = f"  ({'; '.join(notes)})" if notes else ""
        lines.append(
            f"{dataset:{wd}s}  {method:{wm}s}  {len(group):5d} {cells[0]} {cells[1]}{note}"
        )
    return "\n".join(lines)


def _run(args, experiment, out, argv):
    from cmloss.experiments.runner import run_experiment

    return run_experiment(
        experiment,
        out,
        data_home=args.data_home,
        budget_bytes=int(args.budget_gb * 1024**3),
        show_progress=not args.no_progress,
        small_first=args.small_first,
        workers=args.workers,
        scheduler=args.scheduler,
        command=[
            sys.executable,
            "-m",
            "cmloss.experiments",
            *(argv if argv is not None else sys.argv[1:]),
        ],
    )
