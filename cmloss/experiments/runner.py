"""Run an :class:`~cmloss.experiments.definitions.Experiment`: resumable, with progress.

Work is done in *units* of one (dataset, repeat): all network members of the unit's
pending methods and folds are trained together by :func:`cmloss.trainer.train_members`
(so one compiled stack serves many folds and methods), estimator methods run fold by
fold, and each (dataset, method, repeat) *chunk* is then written atomically
(:mod:`cmloss.experiments.storage`). On a rerun, finished chunks are skipped; an
interrupted run loses at most the unit in progress.

A unit's chunks are computed by :func:`unit_chunks` and written by the process that runs
the experiment: here one unit after another, or, with ``workers``/``scheduler``, units on
Dask workers that send their chunks back (``cmloss.experiments.distributed``).

Expected failures (an unknown dataset, data that cannot be read, a folder holding another
configuration, a cluster that cannot be used) raise :class:`ExperimentError`, which the
command line prints as one line.

Every row's metrics come from :func:`cmloss.evaluate` (counts of ``score > threshold``)
and :func:`cmloss.core.cm_metrics.f_beta` for F0.5 and F2.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import resource
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cmloss.core import cm_metrics
from cmloss.core.evaluation import (
    ECE_BINS,
    are_probabilities,
    calibration_summary,
    evaluate,
    reliability_bins,
)
from cmloss.experiments import storage
from cmloss.experiments.definitions import Experiment
from cmloss.experiments.methods import Context, EstimatorMethod, FoldData, get_method
from cmloss.experiments.provenance import earlier_invocations, git_commit, provenance
from cmloss.trainer import MemberSpec, train_members
from cmloss.trainer.chunking import DEFAULT_BUDGET_BYTES

__all__ = [
    "Unit",
    "Chunk",
    "ExperimentError",
    "plan_units",
    "run_experiment",
    "member_seed",
    "network_members",
    "unit_chunks",
    "check_resumable",
    "RESULT_KEYS",
    "train_carried_over",
]


class ExperimentError(ValueError):
    """An expected failure of a run, in one sentence: an unknown dataset, data that cannot
    be read, a results folder of another configuration, a cluster that cannot be used or
    that the requested workers do not fit. ``python -m cmloss.experiments`` prints it on
    one line of stderr and exits with status 2 (a ``ValueError``, so callers that catch
    those keep working)."""


@dataclass(frozen=True)
class Unit:
    """One (dataset, repeat) and the methods still to run there."""

    dataset: str
    repeat: int
    methods: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Chunk:
    """The rows and learning curves of one (dataset, method, repeat), ready to write."""

    dataset: str
    method: str
    repeat: int
    rows: list[dict]
    curves: dict[str, np.ndarray]

    def write(self, root: str | Path) -> None:
        """Write it atomically into the run folder ``root`` (:func:`storage.write_chunk`)."""
        storage.write_chunk(root, self.dataset, self.method, self.repeat, self.rows, self.curves)


def member_seed(experiment: Experiment, repeat: int, fold: int) -> int:
    """Seed of the initial weights and batch order of every method on one fold (the
    methods of a fold share it, so their comparison is paired)."""
    return int(experiment.random_state) * 1_000_003 + int(repeat) * 1009 + int(fold)


def _datasets(experiment: Experiment, data_home) -> tuple[str, ...]:
    names = list(experiment.datasets)
    if experiment.optional_datasets:
        from cmloss.data import get_data_home, get_dataset_info

        home = Path(get_data_home(data_home))
        for name in experiment.optional_datasets:
            file = get_dataset_info(name).file
            if file is None or (home / file).exists():
                names.append(name)
    return tuple(names)


def check_datasets(experiment: Experiment) -> None:
    """Raise :class:`ExperimentError` for a dataset name the registry does not know (from
    metadata: no file is read)."""
    from cmloss.data import get_dataset_info

    for name in (*experiment.datasets, *experiment.optional_datasets):
        try:
            get_dataset_info(name)
        except ValueError as err:
            raise ExperimentError(f"experiment {experiment.name!r}: {err}") from err


def _size(dataset: str) -> int:
    """Rows x features of a dataset, from its metadata (no file is read)."""
    from cmloss.data import get_dataset_info

    info = get_dataset_info(dataset)
    return info.n_rows * info.n_features


def plan_units(
    experiment: Experiment, root: str | Path, data_home=None, *, small_first: bool = False
) -> list[Unit]:
    """Units with at least one unfinished chunk, dataset by dataset in the grid's order,
    or with ``small_first`` from the smallest dataset (rows x features) to the largest,
    so that an interrupted run has finished as many datasets as possible. The order
    changes no result: every chunk is seeded by its own (dataset, repeat, fold)."""
    datasets = _datasets(experiment, data_home)
    if small_first:
        datasets = sorted(datasets, key=_size)
    units = []
    for dataset in datasets:
        for repeat in range(experiment.repeats):
            todo = tuple(
                m for m in experiment.methods if not storage.chunk_done(root, dataset, m, repeat)
            )
            if todo:
                units.append(Unit(dataset, repeat, todo))
    return units


class _Splits:
    """Datasets and splits of an experiment, loaded once per dataset."""

    def __init__(self, experiment: Experiment, data_home):
        self.experiment = experiment
        self.data_home = data_home
        self._cache: dict[str, list] = {}

    def __call__(self, dataset: str, repeat: int):
        if dataset not in self._cache:
            try:
                self._cache[dataset] = self._load(dataset)
            except (OSError, ValueError) as err:  # missing, corrupt or unusable data
                raise ExperimentError(
                    f"cannot load dataset {dataset!r}: {type(err).__name__}: {err}"
                ) from err
        data, splits = self._cache[dataset][repeat]
        return data, splits[: self.experiment.max_folds]

    def _load(self, dataset: str):
        from cmloss import protocols
        from cmloss.data import load_dataset

        exp = self.experiment
        if exp.protocol == "anyloss":
            data = load_dataset(dataset, data_home=self.data_home)
            splits = protocols.anyloss_splits(data.y, n_splits=exp.folds)
            return [(data, splits)] * exp.repeats
        return [
            (r.dataset, list(r.splits))
            for r in protocols.astra_repeats(
                dataset,
                n_repeats=exp.repeats,
                n_folds=exp.folds,
                random_state=exp.random_state,
                data_home=self.data_home,
            )
        ]


def _row(experiment, dataset, method, split, y, scores, threshold, extra) -> dict:
    counts = evaluate(y[split.test], scores, threshold=threshold)
    cells = [np.float64(counts[k]) for k in ("tn", "fp", "fn", "tp")]
    row = {
        "experiment": experiment.name,
        "dataset": dataset,
        "method": method,
        "repeat": split.repeat,
        "fold": split.fold,
        "n_train": split.train.size,
        "n_test": split.test.size,
        "n_test_positive": int(y[split.test].sum()),
        "threshold": threshold,
        **{k: counts[k] for k in storage.COLUMNS if k in counts},
        "f0.5": float(cm_metrics.f_beta(*cells, beta=0.5)),
        "f2": float(cm_metrics.f_beta(*cells, beta=2.0)),
    }
    row.update(extra)
    return row


def _separate_validation(split) -> bool:
    """Whether the split has validation rows apart from its test rows (the astra
    protocol; the anyloss protocol validates on the test fold)."""
    return split.validation.size > 0 and not np.array_equal(split.validation, split.test)


def _calibration(result, split, y) -> dict:
    """:func:`~cmloss.core.evaluation.calibration_summary` of a network's test scores,
    the post-hoc maps fitted on its validation scores where the split has a separate
    validation fold."""
    if not _separate_validation(split):
        return calibration_summary(y[split.test], result.test_scores)
    return calibration_summary(
        y[split.test], result.test_scores, result.validation_labels,
        result.validation_scores, result.validation_weights,
    )


def _reliability(result, split, y) -> np.ndarray:
    """:func:`~cmloss.core.evaluation.reliability_bins` of the test scores (NaN where they
    are not probabilities, as in :func:`_calibration`)."""
    if not are_probabilities(result.test_scores):
        return np.full((ECE_BINS, 3), np.nan)
    return reliability_bins(y[split.test], result.test_scores)


def _network_methods(experiment, unit, n_features):
    """``(name, method, settings)`` of the unit's network methods."""
    ctx = Context(unit.dataset, n_features, experiment.epochs)
    for name in unit.methods:
        method = get_method(name)
        if method.kind == "network":
            settings = method.settings(ctx)
            selection = settings.get("selection")
            if experiment.selection_start is not None and selection is not None:
                settings["selection"] = dataclasses.replace(
                    selection, start_from_epoch=experiment.selection_start
                )
            yield name, method, settings


def _zscore_fit_rows(experiment: Experiment, n_rows: int) -> np.ndarray | None:
    """The rows z-scoring is fitted on: ``None`` (each fold's training rows) or, with
    ``zscore_rows="whole_file"``, every row of the dataset."""
    return np.arange(n_rows) if experiment.zscore_rows == "whole_file" else None


def network_members(experiment: Experiment, unit: Unit, data, splits):
    """The networks the runner trains for one unit.

    Args:
        experiment: the grid (its seeds, epochs override and ``selection_start``).
        unit: the (dataset, repeat) and the methods to build (estimator methods are
            skipped).
        data: the unit's :class:`cmloss.data.Dataset` (``X``, ``y``).
        splits: the unit's folds (:class:`cmloss.protocols.Split`).

    Returns:
        ``(X, y, members)``: the feature matrix and labels the members' row indices refer
        to (the dataset's, with the synthetic rows of resampling methods appended) and one
        :class:`~cmloss.trainer.MemberSpec` per (network method, fold), tagged
        ``{"method": name, "fold": fold}``, ready for :func:`cmloss.trainer.train_members`.
    """
    members, extra_X, extra_y = [], [], []
    n_rows = data.y.size
    whole_file = _zscore_fit_rows(experiment, n_rows)
    for name, method, settings in _network_methods(experiment, unit, data.X.shape[1]):
        for split in splits:
            if method.tune_threshold and not _separate_validation(split):
                raise ExperimentError(
                    f"method {name!r} tunes its threshold on the validation fold, but the "
                    f"{experiment.protocol} protocol has no validation fold apart from the "
                    "test fold; run it on the astra protocol (or hd40)."
                )
            seed = member_seed(experiment, unit.repeat, split.fold)
            fold = {"train": split.train, "scale_rows": whole_file}
            if method.prepare is not None:
                prepared = method.prepare(data.X, data.y, split.train, seed)
                train = prepared.train
                if prepared.extra_X is not None and len(prepared.extra_X):
                    start = n_rows + sum(len(e) for e in extra_y)
                    extra_X.append(np.asarray(prepared.extra_X, np.float64))
                    extra_y.append(np.asarray(prepared.extra_y, data.y.dtype))
                    train = np.concatenate([train, np.arange(start, start + len(extra_y[-1]))])
                fold = {
                    "train": train,
                    "scale_rows": split.train if whole_file is None else whole_file,
                    "class_weight": prepared.class_weight,
                }
            members.append(
                MemberSpec(
                    validation=split.validation,
                    test=split.test,
                    seed=seed,
                    tag={"method": name, "fold": split.fold},
                    **fold,
                    **settings,
                )
            )
    if not extra_X:
        return data.X, data.y, members
    return np.vstack([data.X, *extra_X]), np.concatenate([data.y, *extra_y]), members


def _curves(results, full_loss_curve: bool) -> dict:
    out = {"fold": np.array([r.member.tag["fold"] for r in results])}
    keys = [k for k in results[0].curves if k != "epoch"]
    out["epoch"] = results[0].curves["epoch"]
    for k in keys:
        out[k] = np.stack([r.curves[k] for r in results])
    if full_loss_curve:
        out["train_loss_full"] = np.stack([r.train_loss for r in results])
    return out


def _estimator_chunks(experiment, unit, data, splits) -> Iterator[Chunk]:
    from cmloss.protocols import scale_split

    whole_file = _zscore_fit_rows(experiment, data.y.size)
    for name in unit.methods:
        method = get_method(name)
        if not isinstance(method, EstimatorMethod):
            continue
        rows = []
        for split in splits:
            x_train, x_val, x_test = scale_split(data.X, split, whole_file)
            fold = FoldData(
                x_train,
                data.y[split.train],
                x_val,
                data.y[split.validation],
                x_test,
                member_seed(experiment, unit.repeat, split.fold),
            )
            t0 = time.perf_counter()
            pred = method.fit_predict(fold)
            seconds = time.perf_counter() - t0
            rows.append(
                _row(
                    experiment,
                    unit.dataset,
                    name,
                    split,
                    data.y,
                    np.asarray(pred.scores),
                    float(pred.threshold),
                    {"fit_seconds": seconds},
                )
            )
        yield Chunk(unit.dataset, name, unit.repeat, rows, {})


def _spec_key(member: MemberSpec) -> tuple:
    """Everything that determines a member's network (its fields but the tag)."""

    def plain(value):
        if isinstance(value, np.ndarray):
            return (value.dtype.str, value.shape, value.tobytes())
        if isinstance(value, tuple):
            return tuple(plain(v) for v in value)
        return value

    return tuple(
        (f.name, plain(getattr(member, f.name)))
        for f in dataclasses.fields(member) if f.name != "tag"
    )


def _distinct_networks(members: Sequence[MemberSpec]):
    """The members to train, and ``(member, index)`` pairs of members whose network is
    that of ``distinct[index]`` (identical specs and seeds: e.g. ``bce`` and
    ``bce-tuned`` on one fold), which are not trained twice."""
    distinct, copies, seen = [], [], {}
    for member in members:
        key = _spec_key(member)
        if key in seen:
            copies.append((member, seen[key]))
        else:
            seen[key] = len(distinct)
            distinct.append(member)
    return distinct, copies


def _tag_key(member: MemberSpec) -> tuple:
    return member.tag["method"], member.tag["fold"]


def _tuned_threshold(result, metric: str) -> float:
    """Threshold moving: the threshold maximising ``metric`` on the validation scores of
    the selected network. A network whose validation scores are not all finite (it
    diverged) keeps its output's own threshold: its test scores are then not finite either,
    and evaluation treats them by the library's NaN policy."""
    from cmloss.thresholds import tune

    scores = result.validation_scores
    if not np.isfinite(scores).all():
        return result.threshold
    return tune(
        result.validation_labels, scores, metric, sample_weight=result.validation_weights
    ).threshold


def train_carried_over(X, y, members: Sequence[MemberSpec], **kwargs) -> list:
    """:func:`cmloss.trainer.train_members` fold after fold (``Experiment.carry_over``):
    the members of the first fold start from their own initial weights, and every later
    fold's member of a method starts from the last weights (not the selected ones) of that
    method's member on the previous fold. Members are tagged ``method`` and ``fold``, as
    :func:`network_members` builds them; ``kwargs`` go to ``train_members``. Returns the
    results in fold order."""
    results, last = [], {}
    for fold in sorted({m.tag["fold"] for m in members}):
        batch = [
            m if m.tag["method"] not in last
            else dataclasses.replace(m, initial_weights=last[m.tag["method"]])
            for m in members if m.tag["fold"] == fold
        ]
        for result in train_members(X, y, batch, **kwargs):
            last[result.member.tag["method"]] = result.last_weights
            results.append(result)
    return results


def unit_chunks(
    experiment: Experiment,
    unit: Unit,
    data,
    splits,
    *,
    budget_bytes: int = DEFAULT_BUDGET_BYTES,
    progress: _Progress | None = None,
) -> Iterator[Chunk]:
    """Compute one unit: its network methods trained together, then its estimator
    methods fold by fold; yields each method's :class:`Chunk` as soon as it is ready
    (nothing is written here).

    Args:
        experiment: the grid.
        unit: the (dataset, repeat) and its methods.
        data, splits: the unit's dataset and folds.
        budget_bytes: memory budget of one compiled stack.
        progress: told the unit's network-epochs as they are trained.
    """
    X, y, members = network_members(experiment, unit, data, splits)
    distinct, copies = _distinct_networks(members)
    if progress is not None:
        progress.start_unit(unit, sum(int(m.epochs) for m in distinct))
    if members:
        train = train_carried_over if experiment.carry_over else train_members
        results = train(
            X,
            y,
            distinct,
            budget_bytes=budget_bytes,
            curve_stride=experiment.curve_stride,
            progress=progress.epochs_done if progress is not None else None,
        )
        trained = {_tag_key(r.member): r for r in results}
        results += [
            dataclasses.replace(trained[_tag_key(distinct[i])], member=m) for m, i in copies
        ]
        by_method: dict[str, list] = {}
        for result in results:
            by_method.setdefault(result.member.tag["method"], []).append(result)
        split_of = {s.fold: s for s in splits}
        for name, group in by_method.items():
            rows = []
            tune_for = get_method(name).tune_threshold
            for r in group:
                split = split_of[r.member.tag["fold"]]
                threshold = r.threshold if tune_for is None else _tuned_threshold(r, tune_for)
                rows.append(
                    _row(
                        experiment,
                        unit.dataset,
                        name,
                        split,
                        data.y,
                        r.test_scores,
                        threshold,
                        {
                            "n_train_used": r.member.train.size,
                            "epochs": r.member.epochs,
                            "selected_epoch": r.selected_epoch,
                            "final_b": r.final_b,
                            "best_val_value": r.best_value,
                            "loss_reduction_10pct": r.loss_reduction_by(0.1),
                            "fit_seconds": r.fit_seconds,
                            **_calibration(r, split, data.y),
                        },
                    )
                )
            curves = _curves(group, experiment.full_loss_curve)
            curves["reliability"] = np.stack(
                [_reliability(r, split_of[r.member.tag["fold"]], data.y) for r in group]
            )
            yield Chunk(unit.dataset, name, unit.repeat, rows, curves)
    yield from _estimator_chunks(experiment, unit, data, splits)


class _Progress:
    """The progress bar of a run: it counts *written* chunks (what an interruption keeps);
    the postfix shows the unit in progress and its network-epochs so far."""

    def __init__(self, total: int, desc: str, enabled: bool, unit: str = "chunk"):
        self.bar = None
        self._unit = self._done = self._total = 0
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit=unit, desc=desc, dynamic_ncols=True)

    def start_unit(self, unit: Unit, network_epochs: int) -> None:
        self._unit, self._done, self._total = unit, 0, network_epochs
        self._show()

    def epochs_done(self, n: int) -> None:
        self._done += int(n)
        self._show()

    def _show(self) -> None:
        if self.bar is not None and self._unit:
            text = f"{self._unit.dataset} repeat {self._unit.repeat}"
            if self._total:
                text += f": {self._done:,}/{self._total:,} net-epochs"
            self.bar.set_postfix_str(text)

    def written(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far (``ru_maxrss``), bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _run_unit(experiment, unit, splits_of, root, budget_bytes, progress) -> dict:
    """Run one unit in this process, writing each chunk as soon as it is computed;
    returns its record for the provenance."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    data, splits = splits_of(unit.dataset, unit.repeat)
    for chunk in unit_chunks(
        experiment, unit, data, splits, budget_bytes=budget_bytes, progress=progress
    ):
        chunk.write(root)
        if progress is not None:
            progress.written()
    return unit_record(
        unit,
        worker="this process",
        wall_seconds=time.perf_counter() - t0,
        cpu_seconds=time.process_time() - cpu0,
        attempts=1,
        status="done",
    )


def unit_record(unit: Unit, **fields) -> dict:
    """A unit's entry in the provenance's ``units``: dataset, repeat, methods, and how
    it ran (``worker``, ``wall_seconds``, ``cpu_seconds``, ``attempts``, ``status``,
    ``error``, ``peak_rss_bytes``)."""
    return {"dataset": unit.dataset, "repeat": unit.repeat, "methods": list(unit.methods), **fields}


RESULT_KEYS = (
    "name",
    "protocol",
    "folds",
    "max_folds",
    "epochs",
    "random_state",
    "curve_stride",
    "full_loss_curve",
    "selection_start",
    "carry_over",
    "zscore_rows",
)
"""Configuration fields that shape a chunk's contents: a run may only resume a folder
whose earlier invocations agree on all of them (datasets, methods and repeats may differ:
that is how a grid is filled in pieces)."""


def check_resumable(experiment: Experiment, earlier: Sequence[dict], out) -> None:
    """Refuse to mix results of different configurations in one folder.

    Raises ``ExperimentError`` naming the field, both values and the folder if an earlier
    invocation recorded in ``out``'s provenance used another value of a
    :data:`RESULT_KEYS` field. Fields absent from an earlier configuration (added to
    :class:`Experiment` since) count as their default; an invocation recorded without
    any configuration (a hand-written record) is not compared.
    """
    defaults = {f.name: f.default for f in dataclasses.fields(Experiment)}
    mine = experiment.to_dict()
    for invocation in earlier:
        theirs = invocation.get("config")
        if not theirs:
            continue
        for key in RESULT_KEYS:
            old = theirs.get(key, defaults[key])
            if old != mine[key]:
                raise ExperimentError(
                    f"{out} holds results of another configuration: {key}={old!r} there "
                    f"(invocation started {invocation.get('started_utc', '?')}), "
                    f"{key}={mine[key]!r} now. Resume with the same settings, or pass "
                    "another --out folder."
                )


def run_experiment(
    experiment: Experiment,
    out: str | Path,
    *,
    data_home=None,
    budget_bytes: int = DEFAULT_BUDGET_BYTES,
    show_progress: bool = True,
    command: Sequence[str] | None = None,
    on_unit_done: Callable[[Unit], None] | None = None,
    small_first: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
) -> dict:
    """Run (or resume) an experiment into ``out``.

    Args:
        experiment: the grid.
        out: the run directory (created).
        data_home: data folder (default ``$CMLOSS_DATA``; with ``scheduler``, the
            workers' own ``$CMLOSS_DATA`` unless given).
        budget_bytes: memory budget of one compiled stack (with ``workers``: of all the
            workers' stacks together; see ``cmloss.experiments.distributed``).
        show_progress: show a tqdm bar of written chunks (with ``workers`` or
            ``scheduler``: of written units).
        command: the command line recorded in the provenance (default ``sys.argv``).
        on_unit_done: called after each unit's chunks are written (tests use it to
            interrupt a run).
        small_first: run the smallest datasets first (see ``plan_units``); refused with
            ``workers`` or ``scheduler``: a distributed run submits the largest units first.
        workers: run the units on a Dask ``LocalCluster`` of this many single-threaded
            worker processes (``None``: in this process, one unit after another).
        scheduler: address of an existing Dask scheduler to run the units on instead.

    Returns:
        The provenance record (also written to ``out/provenance.json``): ``status`` is
        ``"complete"``, ``"interrupted"`` (Ctrl-C or a signal) or ``"failed"`` (with
        ``error``; a distributed run records a unit that failed twice and goes on with
        the others); ``units`` lists how each unit of this invocation ran.

    Raises:
        ValueError: (an ``ExperimentError``) an unknown dataset, unreadable data or
            provenance, a folder of another configuration, a cluster that cannot be used.
    """
    distributed = workers is not None or scheduler is not None
    if workers is not None and scheduler is not None:
        raise ExperimentError("pass either workers (a local cluster) or scheduler, not both.")
    if small_first and distributed:
        raise ExperimentError(
            "--small-first cannot be combined with --workers or --scheduler: a distributed "
            "run submits the largest units first (to balance the workers); drop one of them."
        )
    check_datasets(experiment)
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    try:
        earlier = earlier_invocations(root / "provenance.json")
    except ValueError as err:
        raise ExperimentError(str(err)) from err
    check_resumable(experiment, earlier, root)
    started = _dt.datetime.now(_dt.timezone.utc)
    git = git_commit()
    t0 = time.perf_counter()
    config = {
        **experiment.to_dict(),
        "budget_bytes": int(budget_bytes),
        "data_home": str(data_home) if data_home else None,
    }
    command = list(command if command is not None else sys.argv)
    units = plan_units(experiment, root, data_home, small_first=small_first)
    all_chunks = [
        (d, m, r)
        for d in _datasets(experiment, data_home)
        for r in range(experiment.repeats)
        for m in experiment.methods
    ]
    extra = {
        "chunks_total": len(all_chunks),
        "chunks_pending_at_start": sum(len(u.methods) for u in units),
        "execution": {"workers": workers, "scheduler": scheduler}
        if distributed
        else {"workers": None, "scheduler": None, "in": "this process"},
    }
    records: list[dict] = []

    def write_record(status, wall_seconds, error=None):
        fields = {**extra, "units": records}
        if error is not None:
            fields["error"] = error
        record = provenance(
            command=command,
            config=config,
            started=started,
            wall_seconds=wall_seconds,
            status=status,
            extra=fields,
            git=git,
            earlier=earlier,
        )
        storage.atomic_write_json(root / "provenance.json", record)
        return record

    write_record("running", None)
    status, error, progress = "interrupted", None, None
    try:
        splits_of = _Splits(experiment, data_home)
        if scheduler is None:  # the data is here: check it all before any training
            for dataset in dict.fromkeys(u.dataset for u in units):
                splits_of(dataset, 0)
        if distributed:
            from cmloss.experiments.distributed import run_units

            run_units(
                experiment,
                units,
                root,
                workers=workers,
                scheduler=scheduler,
                data_home=data_home,
                budget_bytes=budget_bytes,
                show_progress=show_progress,
                on_unit_done=on_unit_done,
                records=records,
                execution=extra["execution"],
            )
        else:
            progress = _Progress(extra["chunks_pending_at_start"], experiment.name, show_progress)
            for unit in units:
                records.append(_run_unit(experiment, unit, splits_of, root, budget_bytes, progress))
                if on_unit_done is not None:
                    on_unit_done(unit)
        failed = [r for r in records if r["status"] != "done"]
        if failed:
            status = "failed"
            error = f"{len(failed)} of {len(records)} units failed twice: " + "; ".join(
                f"{r['dataset']} repeat {r['repeat']}: {r.get('error')}" for r in failed
            )
        else:
            storage.merge_results(root, all_chunks)
            status = "complete"
    except KeyboardInterrupt as err:  # Ctrl-C or a signal: "interrupted", resumable
        error = f"interrupted ({err or 'Ctrl-C'})"
        raise
    except Exception as err:  # recorded, then raised
        status, error = "failed", f"{type(err).__name__}: {err}"
        raise
    finally:
        if progress is not None:
            progress.close()
        record = write_record(status, time.perf_counter() - t0, error)
    return record
