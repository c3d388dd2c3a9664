"""Run an experiment's units on Dask workers: ``run NAME --workers N`` or ``--scheduler``.

One TensorFlow process barely uses more than one core on the experiments' small
networks, so the runner's independent *units* (one dataset and repeat each, see
:mod:`cmloss.experiments.runner`) are run side by side instead, with
:mod:`dask.distributed` (the ``experiments`` extra installs it):

* ``workers=N`` starts a ``LocalCluster`` of N worker processes with one thread each,
  TensorFlow's intra- and inter-op thread pools pinned to one thread
  (``TF_NUM_INTRAOP_THREADS=1``, ``TF_NUM_INTEROP_THREADS=1``), so N units use N cores;
  ``scheduler=ADDRESS`` uses an existing cluster instead (same package version on the
  workers, the data through ``CMLOSS_DATA`` or ``data_home`` on each; start its workers
  with ``--nthreads 1``: a unit pins its process's TensorFlow to one thread).
* Units are submitted largest first (longest-processing-time order, by the cost model of
  :mod:`cmloss.experiments.planning`), one per free worker thread, so a unit starts when
  a worker frees: the list scheduling that ``--plan`` simulates.
* A worker computes a unit's chunks (:func:`cmloss.experiments.runner.unit_chunks`) and
  sends them back; only this process writes into the results folder, so resuming, the
  refusal to resume another configuration and the provenance work as in one process, and
  a folder filled by a distributed run resumes in one process and the other way round.
* A unit that raises, or whose worker dies (on a local cluster the scheduler's
  ``allowed-failures`` is 0, so the death is reported at once), is submitted once more;
  if it fails again it is recorded as failed and the other units go on.
* Ctrl-C cancels the units in flight and closes the cluster; finished units are written.
* Memory: a first worker is started and measured (its peak resident memory after
  importing TensorFlow and training a tiny compiled stack); ``N`` workers need ``N``
  times that plus the stack budget (``budget_bytes``, divided among the workers), and a
  ``workers`` that does not fit in the machine's available memory is refused with the
  numbers before the other workers start.
* Results are those of the single process: a unit's networks are trained together in one
  process whatever the number of workers, with the same seeds; tests check that the
  confusion matrices agree fold by fold. (A smaller per-worker budget may split a unit's
  networks into more stacks; the trainer's results do not depend on the stacking.)

Methods registered in this process (a grid file's ``define``, ``register_method`` in a
script) travel to the workers by value (``cloudpickle``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "run_units",
    "local_cluster",
    "connect",
    "available_memory_bytes",
    "check_workers_fit",
    "PINNED_THREADS_ENV",
]

PINNED_THREADS_ENV = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
"""Environment of a local cluster's workers: TensorFlow on one thread each."""

ATTEMPTS = 2
"""Submissions of a unit before it is recorded as failed (one retry)."""

_GB = 1024**3


def _require_dask():
    try:
        import distributed  # noqa: F401
    except ModuleNotFoundError as err:
        from cmloss.experiments.runner import ExperimentError

        raise ExperimentError(
            "--workers and --scheduler need dask.distributed: pip install 'cmloss[experiments]' "
            "(or pip install 'dask[distributed]')."
        ) from err


# ------------------------------------------------------------------------ worker side
def pin_threads() -> int:
    """Pin this process's TensorFlow to one intra-op and one inter-op thread (a no-op once
    TensorFlow's runtime has started); returns the intra-op setting in force (0: all
    cores)."""
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):  # the runtime has started: keep its setting
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    return tf.config.threading.get_intra_op_parallelism_threads()


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):  # not on a Dask worker (a test calling directly)
        return f"pid {os.getpid()}"


def probe_worker() -> dict:
    """Run on a fresh worker: import the trainer and train a tiny network (so that a
    compiled program exists), then report the process's peak resident memory, the
    seconds the imports took and the pinned threads."""
    t0 = time.perf_counter()
    threads = pin_threads()
    import numpy as np

    from cmloss.experiments.runner import peak_rss_bytes
    from cmloss.trainer import Architecture, MemberSpec, train_members

    imported = time.perf_counter() - t0
    X = np.random.default_rng(0).normal(size=(64, 3))
    y = (X[:, 0] > 0.5).astype(np.int64)
    rows = np.arange(64)
    member = MemberSpec(
        train=rows[:32],
        validation=rows[32:48],
        test=rows[48:],
        architecture=Architecture(),
        epochs=2,
    )
    train_members(X, y, [member])
    return {
        "peak_rss_bytes": peak_rss_bytes(),
        "import_seconds": imported,
        "probe_seconds": time.perf_counter() - t0,
        "intra_op_threads": threads,
        "worker": _worker_address(),
    }


_SPLITS: dict = {}
"""This worker's loaded datasets and splits: one experiment's (the last one run)."""


def _register(methods_payload: bytes) -> None:
    import cloudpickle

    from cmloss.experiments.methods import register_method

    for method in cloudpickle.loads(methods_payload).values():
        register_method(method, replace=True)


def run_unit_on_worker(payload: bytes) -> dict:
    """The task of one unit: compute its chunks (nothing is written) and say how it ran.

    ``payload`` is ``cloudpickle.dumps((experiment, unit, methods, data_home,
    budget_bytes))`` with ``methods`` the experiment's method objects by name."""
    import cloudpickle

    t0, cpu0 = time.perf_counter(), time.process_time()
    threads = pin_threads()
    from cmloss.experiments import runner

    experiment, unit, methods, data_home, budget_bytes = cloudpickle.loads(payload)
    _register(methods)
    key = (repr(experiment.to_dict()), str(data_home))
    if key not in _SPLITS:
        _SPLITS.clear()
        _SPLITS[key] = runner._Splits(experiment, data_home)
    data, splits = _SPLITS[key](unit.dataset, unit.repeat)
    chunks = list(runner.unit_chunks(experiment, unit, data, splits, budget_bytes=budget_bytes))
    return {
        "chunks": chunks,
        "worker": _worker_address(),
        "wall_seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - cpu0,
        "peak_rss_bytes": runner.peak_rss_bytes(),
        "intra_op_threads": threads,
    }


# ------------------------------------------------------------------------ clusters
def available_memory_bytes() -> int | None:
    """``MemAvailable`` of ``/proc/meminfo`` (else the physical memory), bytes."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_workers_fit(
    workers: int, worker_bytes: int, budget_bytes: int, available: int | None
) -> None:
    """Raise :class:`~cmloss.experiments.runner.ExperimentError` with the numbers if
    ``workers`` processes of ``worker_bytes`` each plus the stack budget (shared by the
    workers) need more than ``available`` bytes."""
    from cmloss.experiments.runner import ExperimentError

    if available is None:
        return
    need = workers * worker_bytes + budget_bytes
    if need > available:
        fit = max(0, int((available - budget_bytes) // max(worker_bytes, 1)))
        raise ExperimentError(
            f"--workers {workers} does not fit in memory: {workers} x "
            f"{worker_bytes / _GB:.2f} GB (a worker's measured peak: TensorFlow and one "
            f"compiled stack) + {budget_bytes / _GB:.2f} GB (the stack budget, --budget-gb, "
            f"shared by the workers) = {need / _GB:.1f} GB > {available / _GB:.1f} GB "
            f"available on this machine; at most {fit} workers fit (or lower --budget-gb)."
        )


def _dashboard(client) -> str:
    """The dashboard address, or why there is none."""
    try:
        import bokeh  # noqa: F401
    except ModuleNotFoundError:
        return "not served (pip install 'bokeh>=3.1' for Dask's dashboard)"
    return client.dashboard_link or "not served"


def _calibration_payload(experiment, budget_bytes: int) -> bytes:
    import cloudpickle

    from cmloss.data import get_dataset_info
    from cmloss.experiments.methods import get_method

    methods = cloudpickle.dumps({name: get_method(name) for name in experiment.methods})
    widest = max(get_dataset_info(d).n_features for d in experiment.datasets)
    return cloudpickle.dumps((experiment, methods, widest, budget_bytes))


@contextlib.contextmanager
def local_cluster(
    workers: int,
    budget_bytes: int,
    *,
    calibrate_for=None,
    dashboard_address: str | None = ":8787",
    say: Callable[[str], None] = print,
) -> Iterator[tuple]:
    """A ``LocalCluster`` of ``workers`` single-threaded processes and its client.

    A first worker is started and measured (:func:`probe_worker`); ``workers`` that do
    not fit in memory are refused (:func:`check_workers_fit`) before the others start.
    With ``calibrate_for`` (an experiment), the first worker also measures the cost model
    (:func:`cmloss.experiments.planning.calibrate`) before the others start.

    Yields:
        ``(client, info)``; ``info`` holds the scheduler and dashboard addresses, the
        measured worker (``worker_probe``), ``startup_seconds`` (until a worker has
        imported the trainer), ``calibration`` (or ``None``), the memory available at
        the start and ``seconds_to_start`` (until every worker is up, after the probe and
        the calibration).
    """
    _require_dask()
    import cloudpickle  # noqa: F401  (a dependency of dask.distributed)
    import dask
    from distributed import Client, LocalCluster

    from cmloss.experiments.planning import calibrate_on_worker

    available = available_memory_bytes()
    t0 = time.perf_counter()
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), warnings.catch_warnings():
        # a busy port is replaced by a free one, whose address is printed below
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            memory_limit=0,  # check_workers_fit decides what fits; Dask pauses/kills nothing
            dashboard_address=dashboard_address or ":0",  # None: any free port, unused
            silence_logs=logging.ERROR,
            env=PINNED_THREADS_ENV,
        )
    client = Client(cluster)
    try:
        probe = client.submit(probe_worker, pure=False).result()
        # until a worker could train: its process, imports (some when the task arrives)
        startup = time.perf_counter() - t0 - (probe["probe_seconds"] - probe["import_seconds"])
        check_workers_fit(workers, probe["peak_rss_bytes"], budget_bytes, available)
        calibration = None
        if calibrate_for is not None:
            say("measuring the cost model on the first worker (the largest units go first) ...")
            payload = _calibration_payload(calibrate_for, budget_bytes // workers)
            calibration = client.submit(calibrate_on_worker, payload, pure=False).result()
        if workers > 1:
            cluster.scale(workers)
            client.wait_for_workers(workers)
        info = {
            "scheduler": cluster.scheduler_address,
            "dashboard": _dashboard(client) if dashboard_address else "off",
            "worker_probe": probe,
            "startup_seconds": startup,
            "calibration": calibration,
            "memory_available_bytes": available,
            "seconds_to_start": time.perf_counter() - t0,
        }
        say(
            f"Dask LocalCluster: {workers} worker(s) x 1 thread at {info['scheduler']}; "
            f"dashboard: {info['dashboard']}; a worker's measured peak memory "
            f"{probe['peak_rss_bytes'] / _GB:.2f} GB + stack budget "
            f"{budget_bytes / workers / _GB:.2f} GB each"
        )
        yield client, info
    finally:
        quiet = logging.getLogger("distributed")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)  # closing (after Ctrl-C too) is not worth a traceback
        try:
            client.close()
            cluster.close()
        finally:
            quiet.setLevel(level)


def calibration_worker(experiment, budget_bytes: int) -> dict:
    """:func:`cmloss.experiments.planning.calibrate` on a fresh one-worker
    ``LocalCluster`` (single-threaded, as the workers of a run), with the worker's
    measured memory (``probe``) and ``startup_seconds``."""
    with local_cluster(
        1, budget_bytes, calibrate_for=experiment, dashboard_address=None, say=lambda _: None
    ) as (_, info):
        return {
            **info["calibration"],
            "probe": info["worker_probe"],
            "startup_seconds": info["startup_seconds"],
        }


@contextlib.contextmanager
def connect(scheduler: str, *, say: Callable[[str], None] = print) -> Iterator[tuple]:
    """A client of an existing Dask cluster (at least one worker)."""
    _require_dask()
    from distributed import Client

    from cmloss.experiments.runner import ExperimentError

    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as err:
        raise ExperimentError(
            f"cannot connect to the Dask scheduler at {scheduler}: {err}"
        ) from err
    try:
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError as err:
            raise ExperimentError(f"the Dask cluster at {scheduler} has no worker.") from err
        info = {"scheduler": scheduler, "dashboard": _dashboard(client)}
        say(
            f"Dask cluster at {scheduler}: {len(client.nthreads())} worker(s), "
            f"{sum(client.nthreads().values())} thread(s); dashboard: {info['dashboard']}"
        )
        yield client, info
    finally:
        client.close()


# ------------------------------------------------------------------------ the run
def run_units(
    experiment,
    units,
    root: str | Path,
    *,
    workers: int | None,
    scheduler: str | None,
    data_home,
    budget_bytes: int,
    show_progress: bool,
    on_unit_done: Callable | None,
    records: list[dict],
    execution: dict,
    say: Callable[[str], None] = print,
) -> None:
    """Run ``units`` on a Dask cluster and write their chunks into ``root`` as they come
    back; append each unit's record (:func:`cmloss.experiments.runner.unit_record`) to
    ``records`` and the cluster's description to ``execution`` (both as they happen, so
    an interrupted run's provenance has them)."""
    import cloudpickle

    from cmloss.experiments import planning
    from cmloss.experiments.methods import get_method
    from cmloss.experiments.runner import _Progress, unit_record

    costs = {u: planning.unit_cost(experiment, u) for u in units}
    methods = cloudpickle.dumps({name: get_method(name) for name in experiment.methods})
    per_worker_budget = budget_bytes // workers if workers else budget_bytes
    execution["budget_bytes_per_worker"] = per_worker_budget
    if workers:
        # the order matters only when units wait for a worker
        started = local_cluster(
            workers,
            budget_bytes,
            calibrate_for=experiment if len(units) > workers else None,
            say=say,
        )
    else:
        started = connect(scheduler, say=say)
    with started as (client, info):
        calibration = info.get("calibration")
        if scheduler and len(units) > sum(client.nthreads().values()):
            from cmloss.experiments.planning import calibrate_on_worker

            payload = _calibration_payload(experiment, per_worker_budget)
            calibration = client.submit(calibrate_on_worker, payload, pure=False).result()
        execution.update({k: v for k, v in info.items() if k != "calibration"})
        execution["order"] = (
            "largest estimated time first (calibrated on a worker)"
            if calibration
            else "grid order (no unit waits for a worker)"
        )
        order = list(units)
        if calibration:
            unit_of = {(u.dataset, u.repeat): u for u in units}
            ranked = planning.order([costs[u] for u in units], calibration)
            order = [unit_of[c.dataset, c.repeat] for c in ranked]
        from distributed import as_completed

        progress = _Progress(len(order), experiment.name, show_progress, unit="unit")
        queue = deque(order)
        running: dict = {}
        done = as_completed()

        def submit(unit, attempt):
            payload = cloudpickle.dumps((experiment, unit, methods, data_home, per_worker_budget))
            future = client.submit(
                run_unit_on_worker,
                payload,
                key=f"cmloss-unit-{unit.dataset}-{unit.repeat}-{uuid.uuid4().hex[:8]}",
                pure=False,
            )
            running[future] = (unit, attempt, time.perf_counter())
            done.add(future)

        def fill():
            slots = max(1, sum(client.nthreads().values()))
            while queue and len(running) < slots:
                submit(queue.popleft(), 1)

        try:
            fill()
            for future in done:
                unit, attempt, submitted = running.pop(future)
                if future.status == "finished":
                    result = future.result()
                    for chunk in result.pop("chunks"):
                        chunk.write(root)
                    records.append(
                        unit_record(
                            unit,
                            **result,
                            attempts=attempt,
                            status="done",
                            seconds_since_submission=time.perf_counter() - submitted,
                        )
                    )
                    progress.written()
                    if on_unit_done is not None:
                        on_unit_done(unit)
                else:  # "error" (raised, or KilledWorker) or "cancelled" (by the cluster)
                    try:
                        err = future.exception()
                    except Exception as cancelled:  # CancelledError
                        err = cancelled
                    message = f"{type(err).__name__}: {' '.join(str(err).split())}"
                    if attempt < ATTEMPTS:
                        say(f"{unit.dataset} repeat {unit.repeat} failed ({message}); retrying")
                        submit(unit, attempt + 1)
                    else:
                        records.append(
                            unit_record(unit, attempts=attempt, status="failed", error=message)
                        )
                        progress.written()
                future.release()
                fill()
        finally:
            progress.close()
            if running:  # Ctrl-C or an error here: nothing more is computed
                client.cancel(list(running))
