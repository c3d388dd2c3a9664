"""Train many members at once: :func:`train_members` (plan the stacks, build each, run
its compiled loop, collect one :class:`~cmloss.trainer.results.MemberResult` per
member)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from cmloss.trainer import engine, epoch_rules, networks
from cmloss.trainer.chunking import DEFAULT_BUDGET_BYTES, stack_bytes, views_per_stack
from cmloss.trainer.results import MemberResult, strided_epochs
from cmloss.trainer.spec import MemberSpec
from cmloss.trainer.stacking import Stack, build_stack, group_members, slot_counts, views_of
from cmloss.trainer.views import round_rows

__all__ = ["train_members", "plan_stacks", "estimate_stack_bytes", "DEFAULT_BLOCK"]

DEFAULT_BLOCK = 500
"""Iterations per compiled call (progress is reported between calls)."""


def _view_rows(member: MemberSpec) -> int:
    """Padded training plus validation rows of a member's view (before merging)."""
    return round_rows(member.train.size) + round_rows(member.validation.size)


def plan_stacks(
    members: Sequence[MemberSpec],
    *,
    budget_bytes: int = DEFAULT_BUDGET_BYTES,
    block: int = DEFAULT_BLOCK,
    n_features: int | None = None,
) -> list[list[list[int]]]:
    """Split members into stacks under the memory budget.

    Members are grouped by their static settings
    (``cmloss.trainer.stacking.stack_key``), each group's views are split evenly so
    that every stack's ``stack_bytes`` estimate (rows
    before deduplication, an upper bound) stays within ``budget_bytes``.

    Returns:
        For each stack, its member indices grouped by view.
    """
    plans = []
    for group in group_members(members):
        views = list(views_of(members, group).values())
        first = members[group[0]]
        d = n_features if n_features is not None else 1
        kwargs = dict(
            n_slots=sum(slot_counts(members, views).values()),
            n_rows=max(_view_rows(members[v[0]]) for v in views),
            n_features=d,
            hidden=max(members[i].architecture.width for i in group),
            batch_size=None if first.full_batch else max(members[i].batch_size() for i in group),
            block=block,
            n_test=round_rows(max(members[v[0]].test.size for v in views)),
        )
        per = views_per_stack(budget_bytes, len(views), **kwargs)
        for s in range(0, len(views), per):
            plans.append(views[s : s + per])
    return plans


def _keras_weights(params: dict, stack: Stack, v: int, m: int, member: MemberSpec) -> list:
    kind = stack.layout.arch.kind
    d = stack.layout.n_features
    shapes = networks.weight_shapes(kind, d, max(member.architecture.width, 1))
    out = []
    for name in networks.weight_names(kind, member.output == "astra"):
        full = np.asarray(params[name][v, m])
        out.append(np.array(full[tuple(slice(0, s) for s in shapes[name])], np.float32))
    return out


class _Run(NamedTuple):
    """What a stack's compiled loop produced, as NumPy arrays."""

    series: dict  # curve name -> (iterations, V, M)
    last: dict  # parameters after the last epoch, by weight name
    kept: dict  # the selected parameters (the last ones where nothing was selected)
    selected: np.ndarray  # (V, M) epoch of the kept parameters
    found: np.ndarray  # (V, M) whether best-on-validation selected an epoch
    best_value: np.ndarray  # (V, M) monitored value there (NaN where nothing selected)


def _run_loop(stack: Stack, program, progress, active: int) -> _Run:
    lay = stack.layout
    data = engine.stack_data(stack)
    state = engine.initial_state(stack)
    n_iter = lay.epochs + 1
    chunks: dict[str, list] = {}
    for start in range(0, n_iter, program.block):
        stop = min(start + program.block, n_iter)
        state, curves = program.run(
            state, data, tf.constant(start, tf.int32), tf.constant(stop, tf.int32)
        )
        for k, arr in curves.items():
            chunks.setdefault(k, []).append(arr.numpy()[: stop - start])
        if progress is not None:
            progress(active * (min(stop, lay.epochs) - min(start, lay.epochs)))
    last = {k: t.numpy() for k, t in state.params.items()}
    if lay.selection is None:
        found = np.zeros(stack.grid.shape, bool)
        kept, best_value = last, np.full(stack.grid.shape, np.nan, np.float32)
        selected = np.full(stack.grid.shape, lay.epochs - 1)
    else:
        found = state.best.found.numpy()
        kept = {  # nothing selected (NaN at every epoch): the last parameters, as Keras
            k: np.where(found.reshape(found.shape + (1,) * (v.ndim - 2)), v, last[k])
            for k, v in ((k, t.numpy()) for k, t in state.best.params.items())
        }
        selected = np.where(found, state.best.epoch.numpy(), lay.epochs - 1)
        best_value = np.where(found, state.best.value.numpy(), np.float32(np.nan))
    series = {k: np.concatenate(v, axis=0) for k, v in chunks.items()}
    return _Run(series, last, kept, selected, found, best_value)


def _member_curves(run: _Run, lay, v: int, m: int, astra: bool, epochs: np.ndarray) -> dict:
    curves = {"epoch": epochs}
    for k in engine.CURVES:
        values = run.series[k][: lay.epochs, v, m]
        if k.startswith("slope") and not astra:
            values = np.full_like(values, np.nan)
        curves[k] = values[epochs]
    for k in run.series:
        if k.startswith("val_"):
            curves[k] = run.series[k][1 : lay.epochs + 1, v, m][epochs]
    return curves


def _warn_about_selection(stack: Stack, run: _Run) -> None:
    sel = stack.layout.selection
    if sel is None:
        return
    real = stack.grid >= 0
    epoch_rules.warn_about_selection(
        run.selected[real], run.found[real], stack.layout.epochs,
        monitor=sel.log_key, start_from_epoch=sel.start_from_epoch,
        who="train_members (best-on-validation)", stacklevel=5,
    )


def _run_stack(
    stack: Stack, *, block: int, stride: int, progress: Callable[[int], None] | None,
    formulation=networks.merged_slots,
) -> list[tuple[int, MemberResult]]:
    t0 = time.perf_counter()
    lay = stack.layout
    program = engine.program(lay, block, formulation)
    active = int((stack.grid >= 0).sum())
    run = _run_loop(stack, program, progress, active)
    kept = {k: tf.constant(v) for k, v in run.kept.items()}
    scores = program.predict(kept, tf.constant(stack.views.test_X)).numpy()
    val_scores = program.predict(kept, tf.constant(stack.views.val_X)).numpy()
    seconds = time.perf_counter() - t0
    _warn_about_selection(stack, run)
    epochs = strided_epochs(lay.epochs, stride)
    out = []
    for (v, m), i in np.ndenumerate(stack.grid):
        if i < 0:
            continue
        member = stack.members[i]
        astra = member.output == "astra"
        b = float(networks.slope(run.kept[networks.SLOPE][v, m]).numpy()) if astra else None
        rows = stack.views.test_rows[v]
        real = stack.views.val_weight[v] > 0  # padding rows weigh 0
        result = MemberResult(
            member=member,
            test_rows=rows,
            test_scores=scores[v, m, : rows.size].copy(),
            threshold=0.5,
            selected_epoch=int(run.selected[v, m]),
            final_b=b,
            weights=_keras_weights(run.kept, stack, v, m, member),
            last_weights=_keras_weights(run.last, stack, v, m, member),
            curves=_member_curves(run, lay, v, m, astra, epochs),
            train_loss=run.series["train_loss"][: lay.epochs, v, m].copy(),
            best_value=float(run.best_value[v, m]),
            validation_scores=val_scores[v, m, real].copy(),
            validation_labels=stack.views.val_y[v, real].copy(),
            validation_weights=stack.views.val_weight[v, real].copy(),
            fit_seconds=seconds / max(active, 1),
            stack_seconds=seconds,
            stack_members=active,
        )
        out.append((int(i), result))
    return out


def train_members(
    X,
    y,
    members: Sequence[MemberSpec],
    *,
    budget_bytes: int = DEFAULT_BUDGET_BYTES,
    curve_stride: int = 1,
    deduplicate: bool = True,
    block: int = DEFAULT_BLOCK,
    progress: Callable[[int], None] | None = None,
    formulation: Callable | None = None,
) -> list[MemberResult]:
    """Train every member; return one :class:`MemberResult` per member, in order.

    Members are grouped into compiled stacks (:func:`plan_stacks`): each stack runs
    ``block`` epochs per call of one XLA program in which every member has its own rows,
    loss, output, optimizer state, learning rate, seed and best-on-validation snapshot.

    Args:
        X: shared features ``(n, d)`` (unscaled; each member scales them on its training
            rows as its ``standardize`` says).
        y: labels ``(n,)`` in {0, 1} (1 = minority).
        members: the members.
        budget_bytes: memory budget of one stack.
        curve_stride: keep learning-curve points every ``curve_stride`` epochs (and the
            last epoch).
        deduplicate: merge identical rows in full-batch stacks (same sums, fewer rows).
        block: epochs per compiled call.
        progress: called with the number of network-epochs just completed.
        formulation: the forward pass of a view's members on their shared rows, a function
            ``(params, x, arch) -> list of M pre-activations (V, N)`` (default
            ``cmloss.trainer.networks.merged_slots``). It must compute the same function:
            it exists so that ``benchmarks/formulation_benchmark.py`` can time the
            layouts the default was chosen over. Used by full-batch ``slp``/``mlp``
            stacks only.

    Returns:
        The results, in the order of ``members``.

    Warns:
        ``cmloss.trainer.epoch_rules.SelectionWarning``, once per stack, where
        best-on-validation selected nothing (the monitored value was NaN at every epoch:
        those members keep their last parameters, ``selected_epoch`` is the last epoch
        and ``best_value`` NaN) or an epoch within the first 1% of training (or epoch 0).

    Example:

    >>> import numpy as np
    >>> from cmloss.trainer import MemberSpec, Architecture, LossSpec
    >>> X = np.random.default_rng(0).normal(size=(200, 3)); y = (X[:, 0] > 1).astype(int)
    >>> m = MemberSpec(train=np.arange(120), validation=np.arange(120, 160),
    ...                test=np.arange(160, 200), architecture=Architecture("mlp", 2),
    ...                loss=LossSpec.gmn(), output="astra", epochs=5)
    >>> [r.selected_epoch >= 0 for r in train_members(X, y, [m])]
    [True]
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (n, d) and y (n,); got X.shape={X.shape}, y.shape={y.shape}.")
    if not members:
        return []
    for i, member in enumerate(members):
        top = max(
            member.train.max(), member.validation.max(initial=-1), member.test.max(initial=-1)
        )
        if top >= X.shape[0]:
            raise ValueError(f"members[{i}] refers to row {top}, but X has {X.shape[0]} rows.")
    formulation = formulation or networks.merged_slots
    results: list[MemberResult | None] = [None] * len(members)
    for plan in plan_stacks(members, budget_bytes=budget_bytes, block=block, n_features=X.shape[1]):
        stack = build_stack(X, y, members, plan, deduplicate=deduplicate)
        for i, result in _run_stack(
            stack, block=block, stride=curve_stride, progress=progress, formulation=formulation
        ):
            results[i] = result
    return results


def estimate_stack_bytes(stack: Stack, block: int = DEFAULT_BLOCK) -> int:
    """:func:`~cmloss.trainer.chunking.stack_bytes` of a built stack."""
    lay = stack.layout
    return stack_bytes(
        n_views=lay.n_views,
        n_slots=len(lay.slots),
        n_rows=lay.n_rows + lay.n_val_rows,
        n_features=lay.n_features,
        hidden=lay.arch.width,
        batch_size=None if lay.full_batch else lay.batch_size,
        block=block,
        n_test=lay.n_test,
    )

