"""Benchmark: an ``hd40`` subset on one and on two Dask workers, against the ``--plan``
projection.

Run from the repository root (``CMLOSS_DATA`` pointing at the data folder)::

    python benchmarks/distributed_benchmark.py            # ~10 minutes on 2 CPU cores

The subset is fixed: four small HD-Ensemble datasets (below), two repeats of
the 5-fold ASTra protocol, the ``hd40`` methods (BCE, GMN, GMN with ASTra, AnyLoss
G-mean, RUSBoost) at their own 10,000 epochs: 8 units. In one process, one after the
other, it

1. prints the ``--plan`` of the subset (calibration on one single-threaded worker,
   projected wall time for 1, 2, 4, 8, 16 and 64 workers);
2. runs it with ``workers=1`` and with ``workers=2`` (each a fresh ``LocalCluster``; the
   wall time includes starting the cluster, measuring a worker and, as every run with
   more units than workers does, calibrating the submission order);
3. runs it in the default single process (TensorFlow's own thread count), for reference;

checks that the three give the same confusion matrices fold by fold (the two worker runs
all columns but the fit times), and prints the measured times and ratios side by side
with the projection. Figures go to ``benchmarks/results/distributed_benchmark.json``
(``--out`` to change) with provenance.

The machine this was written on has two cores shared with other work: the measured
two-worker speed-up is bounded by 2 and noisy (the load average is recorded at the start
and the end).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, str(Path(__file__).parent))

from trainer_benchmark import provenance_header  # noqa: E402

from cmloss.experiments.definitions import get_experiment  # noqa: E402
from cmloss.experiments.planning import PROJECTED_WORKERS, print_plan  # noqa: E402
from cmloss.experiments.runner import run_experiment  # noqa: E402
from cmloss.experiments.storage import atomic_write_json  # noqa: E402

DATASETS = ("yeast6", "ecoli4", "glass5", "shuttle-c2-vs-c4")
REPEATS = 2
CELLS = ("tn", "fp", "fn", "tp")


def _subset():
    return get_experiment("hd40", "full").with_options(datasets=DATASETS, repeats=REPEATS)


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return sorted(rows, key=lambda r: (r["dataset"], r["method"], int(r["repeat"]), int(r["fold"])))


def _run(experiment, out: Path, **kwargs) -> dict:
    t0 = time.perf_counter()
    record = run_experiment(experiment, out, show_progress=False, **kwargs)
    wall = time.perf_counter() - t0
    assert record["status"] == "complete", record.get("error")
    execution = record["execution"]
    started = execution.get("seconds_to_start", 0.0)
    units = record["units"]
    return {
        "wall_seconds": wall,
        "cluster_start_seconds": started,
        "units_phase_seconds": wall - started,
        "unit_seconds_sum": sum(u["wall_seconds"] for u in units),
        "unit_cpu_seconds_sum": sum(u.get("cpu_seconds", 0.0) for u in units),
        "worker_peak_rss_bytes": max(
            [u.get("peak_rss_bytes", 0) for u in units]
            + [execution.get("worker_probe", {}).get("peak_rss_bytes", 0)]
        ),
        "order": execution.get("order"),
        "units": units,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "results" / "distributed_benchmark.json",
    )
    args = parser.parse_args(argv)
    t_start = time.perf_counter()
    report = provenance_header()
    experiment = _subset()
    report["workload"] = {
        "experiment": "hd40 (full settings)",
        "datasets": list(DATASETS),
        "repeats": REPEATS,
        "methods": list(experiment.methods),
        "units": len(DATASETS) * REPEATS,
        "note": "each run is a fresh LocalCluster (workers) or this process (single)",
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print("plan ...", flush=True)
        plan = print_plan(experiment, tmp / "plan", budget_bytes=2 * 1024**3, size="full")
        report["plan"] = {
            "projected_seconds": {str(w): plan["projection"][w] for w in PROJECTED_WORKERS},
            "calibration": plan["calibration"],
            "unit_estimates": [
                {"dataset": c.dataset, "repeat": c.repeat, "seconds": s, "compile": cs}
                for c, s, cs in plan["units"]
            ],
        }
        runs, rows = {}, {}
        for name, kwargs in (
            ("1 worker", {"workers": 1}),
            ("2 workers", {"workers": 2}),
            ("single process", {}),  # TensorFlow's default threads
        ):
            print(f"{name} ...", flush=True)
            out = tmp / name.replace(" ", "-")
            runs[name] = _run(experiment, out, **kwargs)
            rows[name] = _rows(out / "results.csv")
    drop = ("fit_seconds",)
    same_workers = [{k: v for k, v in r.items() if k not in drop} for r in rows["1 worker"]] == [
        {k: v for k, v in r.items() if k not in drop} for r in rows["2 workers"]
    ]
    cells = {n: [tuple(r[k] for k in ("dataset", "method", "fold", *CELLS)) for r in rs]
             for n, rs in rows.items()}  # fmt: skip
    same_cells = cells["1 worker"] == cells["2 workers"] == cells["single process"]
    report["runs"] = runs
    report["identical"] = {
        "1 vs 2 workers, every column but fit_seconds": same_workers,
        "confusion matrices of all three, fold by fold": same_cells,
        "rows": len(rows["1 worker"]),
    }
    one, two = runs["1 worker"], runs["2 workers"]
    projected = report["plan"]["projected_seconds"]
    report["ratios"] = {
        "measured speed-up 2 vs 1 worker (wall)": one["wall_seconds"] / two["wall_seconds"],
        "measured speed-up 2 vs 1 worker (units phase)": one["units_phase_seconds"]
        / two["units_phase_seconds"],
        "projected speed-up 2 vs 1 worker": projected["1"] / projected["2"],
        "projected speed-up 16 vs 1 worker": projected["1"] / projected["16"],
        "measured 1 worker / projected 1 worker (units phase)": one["units_phase_seconds"]
        / projected["1"],
        "measured 2 workers / projected 2 workers (units phase)": two["units_phase_seconds"]
        / projected["2"],
        "single process / 1 worker (wall)": runs["single process"]["wall_seconds"]
        / one["wall_seconds"],
    }
    try:
        report["load_average_end"] = list(os.getloadavg())
    except OSError:
        report["load_average_end"] = None
    report["wall_seconds"] = time.perf_counter() - t_start
    atomic_write_json(args.out, report)

    print()
    print(f"{'':28s} {'1 worker':>10s} {'2 workers':>10s} {'16 workers':>11s} {'single':>9s}")
    print(
        f"{'projected (plan), s':28s} {projected['1']:10.1f} {projected['2']:10.1f} "
        f"{projected['16']:11.1f} {'':>9s}"
    )
    print(
        f"{'measured wall, s':28s} {one['wall_seconds']:10.1f} {two['wall_seconds']:10.1f} "
        f"{'':>11s} {runs['single process']['wall_seconds']:9.1f}"
    )
    print(
        f"{'  of which cluster start, s':28s} {one['cluster_start_seconds']:10.1f} "
        f"{two['cluster_start_seconds']:10.1f}"
    )
    print(
        f"{'measured units phase, s':28s} {one['units_phase_seconds']:10.1f} "
        f"{two['units_phase_seconds']:10.1f}"
    )
    for key, value in report["ratios"].items():
        print(f"{key}: {value:.2f}")
    for key, value in report["identical"].items():
        print(f"{key}: {value}")
    print(
        f"load average at start {report['machine']['load_average']}, end "
        f"{report['load_average_end']} (2 shared cores: speed-ups are noisy)"
    )
    print(f"written to {args.out} ({report['wall_seconds'] / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
