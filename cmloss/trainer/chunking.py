"""Memory budget: how many views (and their member slots) one compiled stack may hold.

The compiled loop's memory is dominated by per-(member, row) tensors: the hidden layer
``(V, M, N, h)``, the output and its derivatives ``(V, M, N)`` (``N`` rows per view, or
per mini-batch plus the validation rows), and the stacked views. XLA keeps a bounded
number of such buffers alive; :data:`LIVE_BUFFERS` is that number, measured on the
optimized programs of :mod:`cmloss.trainer.engine` (peak resident memory of a run
divided by the size of one buffer, rounded up with a safety margin). A stack's estimate
is therefore ``LIVE_BUFFERS * V * M * N * (h + 2) * 4`` bytes plus its data, curves and
state, and :func:`views_per_stack` splits the views of a group so that each stack stays
under the budget.
"""

from __future__ import annotations

import math

__all__ = ["LIVE_BUFFERS", "DEFAULT_BUDGET_BYTES", "stack_bytes", "views_per_stack"]

LIVE_BUFFERS = 16
"""Simultaneously live ``(V, M, N)``-sized float32 buffers (per hidden unit + 2)."""

DEFAULT_BUDGET_BYTES = 2 * 1024**3
"""Default memory budget of one stack: 2 GiB."""


def stack_bytes(
    *,
    n_views: int,
    n_slots: int,
    n_rows: int,
    n_features: int,
    hidden: int,
    batch_size: int | None = None,
    block: int = 1000,
    n_curves: int = 6,
    n_test: int = 0,
) -> int:
    """Estimated peak bytes of one stack.

    Args:
        n_views: views ``V``.
        n_slots: member slots per view ``M``.
        n_rows: rows per view ``R`` (training plus validation, padded).
        n_features: input width ``d``.
        hidden: hidden width ``h`` (0 for a single-layer perceptron).
        batch_size: mini-batch rows (``None``: full batch).
        block: iterations per compiled call (curve buffers).
        n_curves: curves recorded per iteration.
        n_test: test rows per view.

    Returns:
        Bytes.
    """
    V, M, R, d, h = n_views, n_slots, n_rows, n_features, max(hidden, 1)
    per_row = (h + 2) * 4
    rows = R if batch_size is None else R + batch_size
    work = LIVE_BUFFERS * V * M * rows * per_row
    if batch_size is not None:
        work += 4 * V * M * batch_size * (d + 1) * 4 + 2 * V * M * R * 4  # gathers, permutation
    data = V * (R + n_test) * (d + 4) * 4
    curves = 2 * block * V * M * n_curves * 4
    params = 16 * V * M * (d * h + 3 * h + 4) * 4
    return int(work + data + curves + params)


def views_per_stack(budget_bytes: int, n_views: int, **kwargs) -> int:
    """The most views per stack within ``budget_bytes`` (at least 1), given the other
    arguments of :func:`stack_bytes` for one view; views are then spread evenly."""
    one = stack_bytes(n_views=1, **kwargs)
    fit = max(1, int(budget_bytes // max(one, 1)))
    n_stacks = math.ceil(n_views / min(fit, n_views))
    return math.ceil(n_views / n_stacks)
