"""Arrange members into compiled stacks: a ``(V, M)`` grid of views and member slots.

Members whose static settings agree (:func:`stack_key`) can share one compiled program.
Their distinct row sets become the ``V`` views; within a view, members are placed in
*slots*, one slot per (loss, output) pair and multiplicity, so that slot ``m`` runs the
same loss and output for every view (e.g. the four ASTra methods of a fold are the four
slots of that fold's view). A view lacking a member for some slot gets an inactive
padding member: its rows carry weight, but it is never updated and never reported.
Hidden layers narrower than the widest member are zero-padded and masked
(:mod:`cmloss.trainer.networks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from cmloss.core.astra import beta_cap
from cmloss.trainer import networks, optim
from cmloss.trainer.epoch_rules import AdaptiveSlope, SlopeRateConstants
from cmloss.trainer.spec import Architecture, LossSpec, MemberSpec, Selection
from cmloss.trainer.state import MemberConstants
from cmloss.trainer.views import ViewSet, build_views, view_key

__all__ = [
    "Slot",
    "Layout",
    "Stack",
    "stack_key",
    "group_members",
    "views_of",
    "slot_counts",
    "build_stack",
]


@dataclass(frozen=True)
class Slot:
    """The static part of a member slot: its loss, its output, and the output whose
    training confusion cells give the e-ratio (``"raw"`` only for an ASTra output whose
    :class:`~cmloss.trainer.AdaptiveSlope` asks for it)."""

    loss: LossSpec
    output: str
    e_ratio_output: str = "z"

    @classmethod
    def of(cls, member: MemberSpec) -> Slot:
        """The slot a member occupies."""
        adaptive = member.optimizer.adaptive_slope
        raw = member.output == "astra" and adaptive is not None and adaptive.output == "raw"
        return cls(member.loss, member.output, "raw" if raw else "z")


@dataclass(frozen=True)
class Layout:
    """Everything static about a stack (the compiled program depends on it only).

    Attributes:
        arch: the family, with ``hidden`` the widest member's width.
        n_features: input width ``d``.
        optimizer: the update rule (:class:`cmloss.trainer.optim.OptimizerKind`).
        full_batch: one step per epoch over all training rows.
        epochs: number of epochs.
        selection: best-on-validation rule, or ``None``.
        slots: the ``M`` slots.
        n_views: ``V``.
        n_rows: padded training rows per view.
        n_val_rows: padded validation rows per view.
        n_test: padded test rows per view.
        batch_size: largest mini-batch (mini-batch stacks; 0 for full batch).
        steps: most steps per epoch (1 for full batch).
    """

    arch: Architecture
    n_features: int
    optimizer: optim.OptimizerKind
    full_batch: bool
    epochs: int
    selection: Selection | None
    slots: tuple[Slot, ...]
    n_views: int
    n_rows: int
    n_val_rows: int
    n_test: int
    batch_size: int
    steps: int

    @property
    def astra(self) -> bool:
        """Whether some slot has an ASTra output."""
        return any(s.output == "astra" for s in self.slots)

    @property
    def monitors(self) -> tuple[str, ...]:
        """Validation metrics recorded every epoch (FNR_apx and the selection monitor)."""
        names = ["fnr"]
        if self.selection is not None and self.selection.monitor not in names:
            names.append(self.selection.monitor)
        return tuple(names)


def stack_key(member: MemberSpec) -> tuple:
    """Members with equal keys can be trained in one stack."""
    arch = member.architecture
    return (
        arch.kind,
        arch.negative_slope,
        arch.bn_momentum,
        arch.bn_epsilon,
        optim.OptimizerKind.of(member.optimizer).kind,
        member.optimizer.slope_optimizer,
        member.full_batch,
        None if member.full_batch else member.batch_fraction,
        member.epochs,
        member.selection,
    )


def group_members(members: Sequence[MemberSpec]) -> list[list[int]]:
    """Indices of members grouped by :func:`stack_key`, in first-seen order."""
    groups: dict[tuple, list[int]] = {}
    for i, member in enumerate(members):
        groups.setdefault(stack_key(member), []).append(i)
    return list(groups.values())


def views_of(members: Sequence[MemberSpec], indices: Sequence[int]) -> dict[tuple, list[int]]:
    """Member indices grouped by view, in first-seen order."""
    views: dict[tuple, list[int]] = {}
    for i in indices:
        views.setdefault(view_key(members[i]), []).append(i)
    return views


def slot_counts(
    members: Sequence[MemberSpec], view_groups: Sequence[Sequence[int]]
) -> dict[Slot, int]:
    """How many slots of each (loss, output) a stack of these views needs: the most
    members with that loss and output in one view (first-seen order)."""
    need: dict[Slot, int] = {}
    for group in view_groups:
        counts: dict[Slot, int] = {}
        for i in group:
            s = Slot.of(members[i])
            counts[s] = counts.get(s, 0) + 1
        for s, c in counts.items():
            need[s] = max(need.get(s, 0), c)
    return need


def _slots(members, view_groups) -> tuple[list[Slot], np.ndarray]:
    """Slot list and the ``(V, M)`` grid of member indices (-1: padding)."""
    slots = [s for s, c in slot_counts(members, view_groups).items() for _ in range(c)]
    grid = -np.ones((len(view_groups), len(slots)), np.int64)
    for v, group in enumerate(view_groups):
        for i in group:
            s = Slot.of(members[i])
            m = next(j for j, t in enumerate(slots) if t == s and grid[v, j] < 0)
            grid[v, m] = i
    return slots, grid


@dataclass(frozen=True, eq=False)
class Stack:
    """A compiled unit: layout, stacked data, member grid and initial state.

    Attributes:
        layout: static settings.
        views: the stacked views.
        grid: ``(V, M)`` member indices into ``members`` (-1: padding).
        members: the members of the whole call (indexed by ``grid``).
        constants: per-member constants (:class:`cmloss.trainer.state.MemberConstants`).
        params: initial parameters by weight name, ``(V, M) + shape``.
    """

    layout: Layout
    views: ViewSet
    grid: np.ndarray
    members: Sequence[MemberSpec]
    constants: MemberConstants
    params: dict


def _slope_schedule(schedules: np.ndarray) -> tuple[SlopeRateConstants, np.ndarray]:
    """Eq. 10's float64 constants of each member from a ``(V, M)`` object array of
    :class:`AdaptiveSlope` or ``None`` (fixed rate), and which members adapt."""
    fields = SlopeRateConstants._fields
    out = {k: np.ones(schedules.shape, np.float64) for k in fields}
    adaptive = np.zeros(schedules.shape, bool)
    for idx, sched in np.ndenumerate(schedules):
        if isinstance(sched, AdaptiveSlope):
            for k in fields:
                out[k][idx] = getattr(sched, k)
            adaptive[idx] = True
    return SlopeRateConstants(**out), adaptive


def _constants(members, grid, layout: Layout) -> MemberConstants:
    V, M = grid.shape
    spec = np.empty((V, M), object)
    for idx, i in np.ndenumerate(grid):
        spec[idx] = members[i] if i >= 0 else None
    h = max(layout.arch.width, 1)

    def grid_of(fn, dtype, fill=0):
        out = np.full((V, M), fill, dtype)
        for idx, s in np.ndenumerate(spec):
            if s is not None:
                out[idx] = fn(s)
        return out

    unit_mask = np.zeros((V, M, h), np.float32)
    for idx, s in np.ndenumerate(spec):
        if s is not None:
            unit_mask[idx][: max(s.architecture.width, 1)] = 1.0
    schedules = grid_of(
        lambda s: s.optimizer.adaptive_slope if s.output == "astra" else None, object, None
    )
    schedule, adaptive = _slope_schedule(schedules)
    return MemberConstants(
        active=grid >= 0,
        astra=grid_of(lambda s: s.output == "astra", bool, False),
        class_weight_0=grid_of(lambda s: (s.class_weight or (1.0, 1.0))[0], np.float32, 1.0),
        class_weight_1=grid_of(lambda s: (s.class_weight or (1.0, 1.0))[1], np.float32, 1.0),
        slope_rate=grid_of(lambda s: s.optimizer.initial_slope_rate, np.float32, 0.01),
        adaptive_slope=adaptive,
        slope_cap=grid_of(lambda s: beta_cap(s.tau_min), np.float32, np.inf),
        slope_schedule=schedule,
        shuffle_seed=grid_of(lambda s: s.shuffle_seed, np.int64),
        batch_size=grid_of(lambda s: s.batch_size(), np.int32, 1),
        steps=grid_of(lambda s: s.steps_per_epoch(), np.int32, 0),
        unit_mask=unit_mask,
        hyper=optim.hyperparameters(grid_of(lambda s: s.optimizer, object, None)),
    )


def _params(members, grid, layout: Layout) -> dict:
    V, M = grid.shape
    kind, d, h = layout.arch.kind, layout.n_features, max(layout.arch.width, 1)
    shapes = networks.weight_shapes(kind, d, h)
    params = {
        n: np.zeros((V, M) + shapes[n], np.float32) for n in networks.weight_names(kind, True)
    }
    if "moving_variance" in params:
        params["moving_variance"][:] = 1.0
        params["gamma"][:] = 1.0
    for (v, m), i in np.ndenumerate(grid):
        if i < 0:
            continue
        member = members[i]
        names = networks.weight_names(kind, member.output == "astra")
        for name, w in zip(names, networks.initial_weights(member, d)):
            params[name][(v, m) + tuple(slice(0, s) for s in w.shape)] = w
    return params


def build_stack(
    X: np.ndarray,
    y: np.ndarray,
    members: Sequence[MemberSpec],
    view_groups: Sequence[Sequence[int]],
    *,
    deduplicate: bool,
) -> Stack:
    """Build one stack from members grouped by view (all with one :func:`stack_key`).

    Args:
        X: shared features ``(n, d)``.
        y: labels ``(n,)``.
        members: all members of the call.
        view_groups: member indices per view.
        deduplicate: merge duplicate rows (ignored unless full batch).

    Returns:
        The :class:`Stack`.
    """
    first = members[view_groups[0][0]]
    full_batch = first.full_batch
    views = build_views(
        X, y, [members[g[0]] for g in view_groups], deduplicate=deduplicate and full_batch
    )
    slots, grid = _slots(members, view_groups)
    group = [members[i] for g in view_groups for i in g]
    width = max(m.architecture.width for m in group)
    layout = Layout(
        arch=replace(first.architecture, hidden=max(width, 1)),
        n_features=int(np.asarray(X).shape[1]),
        optimizer=optim.OptimizerKind.of(first.optimizer),
        full_batch=full_batch,
        epochs=first.epochs,
        selection=first.selection,
        slots=tuple(slots),
        n_views=views.n_views,
        n_rows=views.n_rows,
        n_val_rows=views.n_val_rows,
        n_test=views.test_X.shape[1],
        batch_size=0 if full_batch else max(m.batch_size() for m in group),
        steps=1 if full_batch else max(m.steps_per_epoch() for m in group),
    )
    return Stack(
        layout=layout,
        views=views,
        grid=grid,
        members=members,
        constants=_constants(members, grid, layout),
        params=_params(members, grid, layout),
    )
