"""Command line: ``python -m cmloss.experiments {run,list}``.

Examples::

    python -m cmloss.experiments list
    python -m cmloss.experiments run astra --quick --out results/_quick/astra
    python -m cmloss.experiments run astra --full --datasets skin-588 --out results/astra
    python -m cmloss.experiments run anyloss --full --data-home ../shared/data
    python -m cmloss.experiments run my_grid.toml --out results/my_grid
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "build_parser"]


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
        "--budget-gb",
        type=float,
        default=2.0,
        help="memory budget of one compiled stack, GB (default 2)",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "list":
        _list()
        return 0
    from cmloss.experiments.definitions import get_experiment

    experiment = get_experiment(args.name, "quick" if args.quick else "full")
    experiment = experiment.with_options(
        datasets=tuple(args.datasets) if args.datasets else None,
        methods=tuple(args.methods) if args.methods else None,
        epochs=args.epochs,
        repeats=args.repeats,
        max_folds=args.folds,
        selection_start=args.select_from_epoch,
    )
    out = args.out or (Path("results") / ("_quick" if args.quick else "") / experiment.name)
    previous = _interrupt_on_signals()
    try:
        record = _run(args, experiment, out, argv)
    except KeyboardInterrupt as err:
        print(f"interrupted ({err or 'Ctrl-C'}): finished chunks are kept in {out}; run the "
              "same command again to resume.")
        return 130
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    print(f"{record['status']}: {out} ({record['wall_seconds']:.1f} s)")
    return 0 if record["status"] == "complete" else 1


def _run(args, experiment, out, argv):
    from cmloss.experiments.runner import run_experiment

    return run_experiment(
        experiment,
        out,
        data_home=args.data_home,
        budget_bytes=int(args.budget_gb * 1024**3),
        show_progress=not args.no_progress,
        small_first=args.small_first,
        command=[
            sys.executable,
            "-m",
            "cmloss.experiments",
            *(argv if argv is not None else sys.argv[1:]),
        ],
    )
