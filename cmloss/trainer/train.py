"""Train many members at once: :func:`train_members`."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from cmloss.core.astra import astra_threshold
from cmloss.trainer import networks
from cmloss.trainer.chunking import DEFAULT_BUDGET_BYTES, stack_bytes, views_per_stack
from cmloss.trainer.engine import CURVES, Program
from cmloss.trainer.results import MemberResult, strided_epochs
from cmloss.trainer.spec import MemberSpec
from cmloss.trainer.stacking import Stack, build_stack, group_members, views_of
from cmloss.trainer.views import round_rows

__all__ = ["train_members", "plan_stacks", "DEFAULT_BLOCK"]

DEFAULT_BLOCK = 500
"""Iterations per compiled call (progress is reported between calls)."""

_PROGRAMS: dict = {}


def _program(layout, block: int) -> Program:
    """The compiled program of a layout (cached; the number of epochs is a run-time
    input, so stacks that differ only in it share one program)."""
    key = (dataclasses.replace(layout, epochs=0), block)
    if key not in _PROGRAMS:
        _PROGRAMS[key] = Program(key[0], block)
    return _PROGRAMS[key]


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
        slots: dict = {}
        for view in views:
            counts: dict = {}
            for i in view:
                key = (members[i].loss, members[i].output)
                counts[key] = counts.get(key, 0) + 1
            for k, c in counts.items():
                slots[k] = max(slots.get(k, 0), c)
        kwargs = dict(
            n_slots=sum(slots.values()),
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


def _tensors(tree):
    if isinstance(tree, dict):
        return {k: _tensors(v) for k, v in tree.items()}
    return tf.constant(tree)


def _data(stack: Stack) -> dict:
    v = stack.views
    c = stack.consts
    return _tensors(
        {
            "train_X": v.train_X,
            "train_y": v.train_y,
            "train_weight": v.train_weight,
            "val_X": v.val_X,
            "val_y": v.val_y,
            "val_weight": v.val_weight,
            "n_train": v.train_weight.sum(axis=1).astype(np.float32),
            "n_train_rows": v.n_train.astype(np.int64),
            "epochs": np.int32(stack.layout.epochs),
            **{
                k: c[k]
                for k in (
                    "active",
                    "astra",
                    "class_weight_0",
                    "class_weight_1",
                    "shuffle_seed",
                    "batch_size",
                    "steps",
                    "unit_mask",
                    "hyper",
                    "slope_schedule",
                )
            },
        }
    )


def _initial_state(stack: Stack, program: Program) -> dict:
    lay = stack.layout
    V, M = lay.n_views, len(lay.slots)
    params = _tensors(stack.params)
    opt = {n: {s: tf.zeros_like(params[n]) for s in lay.optimizer.slots} for n in program.trainable}
    state = {
        "params": params,
        "opt": opt,
        "iterations": tf.zeros((V, M), tf.int64),
        "slope_rate": tf.constant(stack.consts["slope_rate"]),
    }
    if lay.selection is not None:
        worst = np.inf if lay.selection.mode == "min" else -np.inf
        state.update(
            {
                "best_params": dict(params),
                "best_value": tf.fill((V, M), tf.constant(worst, tf.float32)),
                "best_epoch": -tf.ones((V, M), tf.int32),
                "has_best": tf.zeros((V, M), tf.bool),
            }
        )
    return state


def _keras_weights(params: dict, stack: Stack, v: int, m: int, member: MemberSpec) -> list:
    kind = stack.layout.arch.kind
    d = stack.layout.n_features
    shapes = networks.weight_shapes(kind, d, max(member.architecture.width, 1))
    out = []
    for name in networks.weight_names(kind, member.output == "astra"):
        full = np.asarray(params[name][v, m])
        out.append(np.array(full[tuple(slice(0, s) for s in shapes[name])], np.float32))
    return out


def _run_stack(
    stack: Stack, *, block: int, stride: int, progress: Callable[[int], None] | None
) -> list[tuple[int, MemberResult]]:
    t0 = time.perf_counter()
    lay = stack.layout
    program = _program(lay, block)
    data = _data(stack)
    state = _initial_state(stack, program)
    n_iter = lay.epochs + 1
    active = int((stack.grid >= 0).sum())
    chunks: dict[str, list] = {}
    for start in range(0, n_iter, block):
        stop = min(start + block, n_iter)
        state, curves = program.run(
            state, data, tf.constant(start, tf.int32), tf.constant(stop, tf.int32)
        )
        for k, arr in curves.items():
            chunks.setdefault(k, []).append(arr.numpy()[: stop - start])
        if progress is not None:
            progress(active * (min(stop, lay.epochs) - min(start, lay.epochs)))
    series = {k: np.concatenate(v, axis=0) for k, v in chunks.items()}
    final = {k: t.numpy() for k, t in state["params"].items()}
    if lay.selection is not None:
        best = {k: t.numpy() for k, t in state["best_params"].items()}
        best_epoch = state["best_epoch"].numpy()
        best_value = state["best_value"].numpy()
    else:
        best, best_epoch = final, np.full(stack.grid.shape, lay.epochs - 1)
        best_value = np.full(stack.grid.shape, np.nan, np.float32)
    scores = program.predict(_tensors(best), tf.constant(stack.views.test_X)).numpy()
    seconds = time.perf_counter() - t0
    epochs = strided_epochs(lay.epochs, stride)
    out = []
    for (v, m), i in np.ndenumerate(stack.grid):
        if i < 0:
            continue
        member = stack.members[i]
        astra = member.output == "astra"
        curves = {"epoch": epochs}
        for k in CURVES:
            values = series[k][: lay.epochs, v, m]
            if k.startswith("slope") and not astra:
                values = np.full_like(values, np.nan)
            curves[k] = values[epochs]
        for k in series:
            if k.startswith("val_"):
                curves[k] = series[k][1 : lay.epochs + 1, v, m][epochs]
        b = float(networks.slope(best[networks.SLOPE][v, m]).numpy()) if astra else None
        rows = stack.views.test_rows[v]
        out.append(
            (
                int(i),
                MemberResult(
                    member=member,
                    test_rows=rows,
                    test_scores=scores[v, m, : rows.size].copy(),
                    threshold=0.5,
                    selected_epoch=int(best_epoch[v, m]),
                    final_b=b,
                    weights=_keras_weights(best, stack, v, m, member),
                    last_weights=_keras_weights(final, stack, v, m, member),
                    curves=curves,
                    train_loss=series["train_loss"][: lay.epochs, v, m].copy(),
                    best_value=float(best_value[v, m]),
                    fit_seconds=seconds / max(active, 1),
                    stack_seconds=seconds,
                    stack_members=active,
                ),
            )
        )
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
) -> list[MemberResult]:
    """Train every member; return one :class:`MemberResult` per member, in order.

    Members are grouped into compiled stacks (:func:`plan_stacks`): each stack runs
    ``block`` epochs per call of one XLA program in which every member has its own rows,
    loss, output, optimizer state, learning rate, seed and best-on-validation snapshot.

    Args:
        X: shared features ``(n, d)`` (unscaled; each member z-scores on its training rows
            when ``standardize``).
        y: labels ``(n,)`` in {0, 1} (1 = minority).
        members: the members.
        budget_bytes: memory budget of one stack.
        curve_stride: keep learning-curve points every ``curve_stride`` epochs (and the
            last epoch).
        deduplicate: merge identical rows in full-batch stacks (same sums, fewer rows).
        block: epochs per compiled call.
        progress: called with the number of network-epochs just completed.

    Returns:
        The results, in the order of ``members``.

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
    results: list[MemberResult | None] = [None] * len(members)
    for plan in plan_stacks(members, budget_bytes=budget_bytes, block=block, n_features=X.shape[1]):
        stack = build_stack(X, y, members, plan, deduplicate=deduplicate)
        for i, result in _run_stack(stack, block=block, stride=curve_stride, progress=progress):
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


def astra_tau(b: float | None) -> float | None:
    """The raw-output threshold ``tau(b)`` of a member's slope (``None`` without ASTra)."""
    return None if b is None else float(astra_threshold(b))
