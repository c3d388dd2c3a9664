"""How long a run will take: the units' estimated cost, calibrated on this machine, and
the projected wall time on 1 to 64 workers (``python -m cmloss.experiments run NAME
--plan``).

The cost model
--------------
A unit's network members are trained in compiled stacks, one per *class* of settings
(architecture kind and mini-batch fraction; the trainer's ``stack_key``). One epoch of a
stack costs ``e0 + a * R + b * W`` seconds, where ``R`` is the sum over its members of
their training plus validation rows and ``W`` the same sum weighted by ``features x
hidden units`` (the dense layer's work): ``e0`` is a per-epoch overhead, ``a`` the cost of
a row and ``b`` of a multiply-add. Member rows come from the datasets' metadata and the
protocol's fold sizes (resampling methods' changes to the training rows are ignored).
An estimator method (RUSBoost) costs ``g x training rows x features`` per fold, and every
(worker, dataset, class) pays one compilation.

The coefficients are measured by :func:`calibrate` on one single-threaded Dask worker:
synthetic stacks built by the runner's own member construction with the experiment's
methods, at 256 and 2,048 rows with 2 features and at 2,048 rows with the widest dataset's
features (up to 64), timed warm at two epoch counts (their difference is the time per
epoch, the first call's excess the compilation); classes after the first are measured at
one point and share ``e0`` and ``b``. It reports the worker's peak resident memory too.

The projection is a list-scheduling simulation: units in the run's order (largest
estimated cost first), each to the worker that is free first, every worker starting after
the measured start-up time (imports). It assumes one core per worker: on this machine,
projections beyond its cores say what a machine or cluster with that many cores would do.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

__all__ = [
    "PROJECTED_WORKERS",
    "Group",
    "UnitCost",
    "unit_cost",
    "unit_work",
    "calibrate",
    "estimate_seconds",
    "simulate",
    "print_plan",
]

PROJECTED_WORKERS = (1, 2, 4, 8, 16, 64)
"""Worker counts of the projection."""

_CAL_ROWS = (256, 2048)
_CAL_MAX_FEATURES = 64
_CAL_LONG_SECONDS = 0.5
_GB = 1024**3


@dataclass(frozen=True)
class Group:
    """The network members of one unit that share a stack class."""

    key: tuple
    members: int
    epochs: int
    rows: float
    weighted_rows: float


@dataclass(frozen=True)
class UnitCost:
    """What a unit trains: ``work`` is rows x features x members x epochs (the ordering
    before calibration); ``groups`` and ``estimator_rows`` feed :func:`estimate_seconds`."""

    dataset: str
    repeat: int
    methods: tuple[str, ...]
    n_rows: int
    n_features: int
    groups: tuple[Group, ...]
    estimator_folds: int
    estimator_rows: float
    work: float

    @property
    def networks(self) -> int:
        return sum(g.members for g in self.groups)

    @property
    def network_epochs(self) -> int:
        return sum(g.members * g.epochs for g in self.groups)


def _class_key(settings: dict) -> tuple:
    return (settings["architecture"].kind, settings.get("batch_fraction"))


def _hidden(settings: dict) -> int:
    return max(settings["architecture"].width, 1)


def unit_cost(experiment, unit) -> UnitCost:
    """A unit's size from the datasets' metadata (no file is read)."""
    from cmloss.data import get_dataset_info
    from cmloss.experiments.methods import Context, get_method

    info = get_dataset_info(unit.dataset)
    n, d = info.n_rows, info.n_features
    folds = min(experiment.max_folds or experiment.folds, experiment.folds)
    k = experiment.folds
    if experiment.protocol == "anyloss":  # validation = test fold
        member_rows, train_rows = n, n * (k - 1) / k
    else:  # train k - 2 folds, validation 1, test 1
        member_rows, train_rows = n * (k - 1) / k, n * (k - 2) / k
    groups: dict[tuple, list] = {}
    estimators = 0
    work = 0.0
    ctx = Context(unit.dataset, d, experiment.epochs)
    for name in unit.methods:
        method = get_method(name)
        if method.kind != "network":
            estimators += 1
            continue
        settings = method.settings(ctx)
        epochs = int(settings["epochs"])
        g = groups.setdefault(_class_key(settings), [0, 0, 0.0, 0.0])
        g[0] += folds
        g[1] = max(g[1], epochs)
        g[2] += folds * member_rows
        g[3] += folds * member_rows * d * _hidden(settings)
        work += member_rows * d * folds * epochs
    return UnitCost(
        unit.dataset,
        unit.repeat,
        tuple(unit.methods),
        n,
        d,
        tuple(Group(key, *v) for key, v in groups.items()),
        estimators * folds,
        estimators * folds * train_rows * d,
        work,
    )


def unit_work(experiment, unit) -> float:
    """rows x features x members x epochs of a unit's networks."""
    return unit_cost(experiment, unit).work


# ----------------------------------------------------------------------------- calibration
def _synthetic(n: int, d: int, folds: int, protocol: str):
    from cmloss.protocols import Split

    rng = np.random.default_rng(n * 1000 + d)
    X = rng.normal(size=(n, d))
    y = (rng.random(n) < 0.2).astype(np.int64)
    y[:4] = 1  # enough positives for any resampling method
    splits = []
    for f in range(folds):
        order = rng.permutation(n)
        if protocol == "anyloss":
            train, test = np.sort(order[: n * 9 // 10]), np.sort(order[n * 9 // 10 :])
            val = test
        else:
            train, val, test = (np.sort(p) for p in np.split(order, [n * 3 // 5, n * 4 // 5]))
        splits.append(Split(0, f, train, val, test))
    return SimpleNamespace(X=X, y=y), splits


def _time_stack(experiment, methods, n, d, budget_bytes) -> dict:
    """Per-epoch seconds and compilation of one synthetic stack of ``methods``."""
    import dataclasses

    from cmloss.experiments.runner import Unit, network_members
    from cmloss.trainer import train_members

    data, splits = _synthetic(n, d, 2, experiment.protocol)
    unit = Unit("calibration", 0, tuple(methods))

    def run(epochs):
        exp = dataclasses.replace(experiment, epochs=epochs)
        X, y, members = network_members(exp, unit, data, splits)
        t0 = time.perf_counter()
        train_members(
            X, y, members, budget_bytes=budget_bytes, curve_stride=experiment.curve_stride
        )
        return time.perf_counter() - t0, members

    first, members = run(10)
    short, _ = run(10)
    mid, _ = run(110)
    guess = max((mid - short) / 100, 1e-6)
    extra = int(min(20_000, max(100, math.ceil(_CAL_LONG_SECONDS / guess))))
    long, _ = run(10 + extra)
    per_epoch = max((long - short) / extra, 1e-9)
    rows = float(sum(m.train.size + m.validation.size for m in members))
    weighted = float(
        sum((m.train.size + m.validation.size) * d * max(m.architecture.width, 1) for m in members)
    )
    return {
        "rows": n,
        "features": d,
        "members": len(members),
        "seconds_per_epoch": per_epoch,
        "compile_seconds": max(first - short, 0.0),
        "R": rows,
        "W": weighted,
    }


def _fit(points: list[dict]) -> dict:
    """``e0, a, b`` from three points: two row counts at the same width, one wider."""
    p1, p2, p3 = points
    slope = (p2["seconds_per_epoch"] - p1["seconds_per_epoch"]) / (p2["R"] - p1["R"])
    slope = max(slope, 0.0)
    e0 = max(p1["seconds_per_epoch"] - slope * p1["R"], 0.0)
    w_narrow, w_wide = p2["W"] / p2["R"], p3["W"] / p3["R"]
    if w_wide > w_narrow:
        per_row_wide = max((p3["seconds_per_epoch"] - e0) / p3["R"], 0.0)
        b = max((per_row_wide - slope) / (w_wide - w_narrow), 0.0)
    else:
        b = 0.0
    return {"e0": e0, "a": max(slope - b * w_narrow, 0.0), "b": b}


def calibrate(
    experiment,
    *,
    max_features: int | None = None,
    budget_bytes: int = 2 * _GB,
) -> dict:
    """Measure the cost model's coefficients in this process (run it on a fresh
    single-threaded worker: see :func:`calibrate_on_worker`).

    Args:
        experiment: whose network methods (grouped by stack class) and estimator methods
            are timed.
        max_features: the widest dataset's features (capped at 64; default 64).
        budget_bytes: stack budget of the timed stacks.

    Returns:
        ``{"classes": {repr(key): {"e0", "a", "b", "compile_seconds", "points"}},
        "estimator_seconds_per_row_feature", "seconds"}``.
    """
    from cmloss.experiments.methods import Context, get_method

    t0 = time.perf_counter()
    wide = min(max(int(max_features or _CAL_MAX_FEATURES), 3), _CAL_MAX_FEATURES)
    classes: dict[tuple, list[str]] = {}
    estimators = []
    for name in experiment.methods:
        method = get_method(name)
        if method.kind == "network":
            key = _class_key(method.settings(Context("calibration", 2, 10)))
            classes.setdefault(key, []).append(name)
        else:
            estimators.append(name)
    out: dict = {"classes": {}}
    shared = None
    for key, methods in classes.items():
        if shared is None:
            points = [
                _time_stack(experiment, methods, n, d, budget_bytes)
                for n, d in ((_CAL_ROWS[0], 2), (_CAL_ROWS[1], 2), (_CAL_ROWS[1], wide))
            ]
            coef = _fit(points)
            shared = coef
        else:
            points = [_time_stack(experiment, methods, _CAL_ROWS[1], 2, budget_bytes)]
            p = points[0]
            a = (p["seconds_per_epoch"] - shared["e0"] - shared["b"] * p["W"]) / p["R"]
            coef = {"e0": shared["e0"], "a": max(a, 0.0), "b": shared["b"]}
        coef["compile_seconds"] = float(np.mean([p["compile_seconds"] for p in points]))
        coef["points"] = points
        out["classes"][repr(key)] = coef
    if estimators:
        from cmloss.experiments.runner import Unit, _estimator_chunks

        n, d = _CAL_ROWS[1], 8
        data, splits = _synthetic(n, d, 1, experiment.protocol)
        t = time.perf_counter()
        for _ in _estimator_chunks(
            experiment, Unit("calibration", 0, tuple(estimators)), data, splits
        ):
            pass
        seconds = (time.perf_counter() - t) / len(estimators)
        out["estimator_seconds_per_row_feature"] = seconds / (splits[0].train.size * d)
    else:
        out["estimator_seconds_per_row_feature"] = 0.0
    out["seconds"] = time.perf_counter() - t0
    return out


def calibrate_on_worker(payload: bytes) -> dict:
    """The Dask task of :func:`calibrate`: ``payload`` is ``cloudpickle.dumps((experiment,
    methods, max_features, budget_bytes))``; the result adds :func:`probe_worker`'s
    measurement of the worker (memory, import time)."""
    import cloudpickle

    from cmloss.experiments.distributed import _register, probe_worker

    probe = probe_worker()
    experiment, methods, max_features, budget_bytes = cloudpickle.loads(payload)
    _register(methods)
    result = calibrate(experiment, max_features=max_features, budget_bytes=budget_bytes)
    from cmloss.experiments.runner import peak_rss_bytes

    result["probe"] = probe
    result["peak_rss_bytes"] = peak_rss_bytes()
    return result


# ----------------------------------------------------------------------------- estimates
def estimate_seconds(cost: UnitCost, calibration: dict) -> tuple[float, dict[str, float]]:
    """A unit's estimated seconds without compilation, and the compilation seconds of
    each of its classes."""
    seconds = cost.estimator_rows * calibration["estimator_seconds_per_row_feature"]
    compile_seconds = {}
    for g in cost.groups:
        coef = calibration["classes"][repr(g.key)]
        seconds += g.epochs * (coef["e0"] + coef["a"] * g.rows + coef["b"] * g.weighted_rows)
        compile_seconds[repr(g.key)] = coef["compile_seconds"]
    return seconds, compile_seconds


def simulate(
    units: Sequence[tuple[str, float, dict[str, float]]], workers: int, startup: float = 0.0
) -> float:
    """Wall time of list scheduling: ``units`` (dataset, seconds, compilation seconds per
    class) taken in order, each by the worker free first (ties: the lowest number), which
    pays a class's compilation once per dataset."""
    free = [(startup, w) for w in range(workers)]
    heapq.heapify(free)
    compiled: set = set()
    end = startup
    for dataset, seconds, compile_seconds in units:
        t, w = heapq.heappop(free)
        for key, c in compile_seconds.items():
            if (w, dataset, key) not in compiled:
                compiled.add((w, dataset, key))
                seconds += c
        t += seconds
        end = max(end, t)
        heapq.heappush(free, (t, w))
    return end


def order(costs: Sequence[UnitCost], calibration: dict | None) -> list[UnitCost]:
    """The run's submission order: largest estimated seconds first (or largest ``work``
    without a calibration)."""
    if calibration is None:
        return sorted(costs, key=lambda c: c.work, reverse=True)

    def key(c):
        seconds, compile_seconds = estimate_seconds(c, calibration)
        return seconds + sum(compile_seconds.values())

    return sorted(costs, key=key, reverse=True)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def print_plan(experiment, out, *, data_home=None, budget_bytes: int, size: str, say=print):
    """Print the pending units of ``experiment`` in ``out`` with their estimated cost,
    and the projected wall time for :data:`PROJECTED_WORKERS` workers (no training)."""
    import os

    from cmloss.experiments.distributed import available_memory_bytes, calibration_worker
    from cmloss.experiments.runner import check_datasets, plan_units

    check_datasets(experiment)
    units = plan_units(experiment, Path(out), data_home)
    if not units:
        say(f"nothing to do: every chunk of {experiment.name} is in {out}.")
        return None
    costs = [unit_cost(experiment, u) for u in units]
    say("calibrating the cost model on one single-threaded Dask worker ...")
    cal = calibration_worker(experiment, budget_bytes)
    ordered = order(costs, cal)
    total = 0.0
    rows = []
    for c in ordered:
        seconds, compile_seconds = estimate_seconds(c, cal)
        total += seconds
        rows.append((c, seconds, compile_seconds))
    say(
        f"plan of {experiment.name} ({size}) in {out}: {len(units)} pending unit(s), "
        f"{sum(len(u.methods) for u in units)} chunk(s), in submission order"
    )
    say(f"{'dataset':28s} {'rep':>3s} {'nets':>5s} {'net-epochs':>11s} {'cost':>9s} {'est.':>9s}")
    for c, seconds, compile_seconds in rows:
        say(
            f"{c.dataset:28s} {c.repeat:3d} {c.networks:5d} {c.network_epochs:11,d} "
            f"{c.work:9.2e} {_duration(seconds + sum(compile_seconds.values())):>9s}"
        )
    say(
        "cost = rows x features x networks x epochs; est. = the unit's seconds on one "
        "worker (calibrated below, compilation included)"
    )
    for key, coef in cal["classes"].items():
        say(
            f"calibration {key}: {coef['e0'] * 1e6:.1f} us per stack-epoch + "
            f"{coef['a'] * 1e9:.2f} ns per row-epoch + {coef['b'] * 1e12:.2f} ps per "
            f"row x feature x hidden unit per epoch; compilation {coef['compile_seconds']:.1f} s"
        )
    if cal["estimator_seconds_per_row_feature"]:
        say(
            f"calibration of estimator methods: "
            f"{cal['estimator_seconds_per_row_feature'] * 1e9:.1f} ns per training row x "
            "feature per fold"
        )
    probe = cal["probe"]
    startup = cal["startup_seconds"]
    say(
        f"a worker: {probe['peak_rss_bytes'] / _GB:.2f} GB peak resident memory (TensorFlow "
        f"and one compiled stack; {cal['peak_rss_bytes'] / _GB:.2f} GB after calibrating), "
        f"{startup:.0f} s to start; intra-op threads {probe['intra_op_threads']}; "
        f"calibration took {cal['seconds']:.0f} s"
    )
    available = available_memory_bytes()
    cores = os.cpu_count() or 1
    units_for_sim = [(c.dataset, s, cs) for c, s, cs in rows]
    say(f"projected wall time (list scheduling, largest first; this machine has {cores} cores):")
    projection = {}
    for w in PROJECTED_WORKERS:
        wall = simulate(units_for_sim, w, startup)
        projection[w] = wall
        need = w * probe["peak_rss_bytes"] + budget_bytes
        fits = "" if available is None or need <= available else "  (does not fit in memory here)"
        beyond = "" if w <= cores else "  (needs more cores than this machine's)"
        speedup = projection[1] / wall
        say(f"  {w:3d} worker(s): {_duration(wall):>9s}  speed-up {speedup:5.1f}{fits or beyond}")
    return {"units": rows, "calibration": cal, "projection": projection}
