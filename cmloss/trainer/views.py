"""Data views: the rows a group of members trains and validates on, scaled and stacked.

Members that share their training, validation and test rows (and scaling) share a
*view*: for the ASTra protocol one view per fold serves the four methods. A view holds
three blocks, its training, validation and test rows, z-scored with statistics of its
training rows (:func:`cmloss.protocols.fit_zscore`, float64, then cast to float32 as a
Keras user would feed them), each row with a weight (its multiplicity).

**Duplicate rows (full batch only).** With ``deduplicate=True``, identical rows (same
features and label) of a block are stored once with their multiplicity as weight. A full-batch
loss, its gradient and every approximated confusion-matrix entry are sums over rows, so
the weighted sum over distinct rows is the same quantity (only the floating-point
summation order differs). Skin segmentation data have 3.3 times fewer distinct rows than
rows. Mini-batches always keep every row.

Views of different sizes are padded to a common length with rows of weight 0, rounded up
to a multiple of :data:`ROW_QUANTUM` so that stacks of similar data (the repeats of an
experiment) share one compiled program.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cmloss.protocols import MinMax, fit_zscore
from cmloss.trainer.spec import MemberSpec

__all__ = ["ViewSet", "view_key", "build_views", "round_rows", "ROW_QUANTUM"]

ROW_QUANTUM = 256
"""Padded row counts are multiples of this (a compiled program serves every stack whose
views round to the same size)."""


def round_rows(n: int) -> int:
    """``n`` rounded up to a multiple of :data:`ROW_QUANTUM` (at least one quantum)."""
    return -(-max(int(n), 1) // ROW_QUANTUM) * ROW_QUANTUM


def view_key(member: MemberSpec) -> tuple:
    """Members with equal keys share a view."""
    return (
        member.train.tobytes(),
        member.validation.tobytes(),
        member.test.tobytes(),
        member.standardize,
        None if member.scale_rows is None else member.scale_rows.tobytes(),
    )


@dataclass(frozen=True, eq=False)
class ViewSet:
    """Stacked views: three blocks of rows per view (training, validation, test).

    Attributes:
        train_X: training features ``(V, Rt, d)`` float32; without deduplication rows
            ``0..n_train-1`` are the member's training rows in its order.
        train_y: their labels ``(V, Rt)`` float32.
        train_weight: their multiplicity ``(V, Rt)`` (1, or the count of a merged row;
            0 for padding).
        val_X, val_y, val_weight: the validation block ``(V, Rv, ...)``, likewise.
        test_X: test features ``(V, T, d)`` (padded, never merged).
        n_train: training rows per view ``(V,)`` (before merging).
        test_rows: the test row indices of each view, in ``test_X`` order.
    """

    train_X: np.ndarray
    train_y: np.ndarray
    train_weight: np.ndarray
    val_X: np.ndarray
    val_y: np.ndarray
    val_weight: np.ndarray
    test_X: np.ndarray
    n_train: np.ndarray
    test_rows: tuple[np.ndarray, ...]

    @property
    def n_views(self) -> int:
        """Number of views ``V``."""
        return self.train_X.shape[0]

    @property
    def n_rows(self) -> int:
        """Padded training rows per view ``Rt``."""
        return self.train_X.shape[1]

    @property
    def n_val_rows(self) -> int:
        """Padded validation rows per view ``Rv``."""
        return self.val_X.shape[1]


def _scaled(X: np.ndarray, member: MemberSpec):
    if member.standardize is False:
        return lambda rows: np.asarray(X[rows], np.float64)
    fit_rows = member.train if member.scale_rows is None else member.scale_rows
    if member.standardize == "minmax":
        scaler = MinMax.fit(np.asarray(X)[fit_rows])
    else:
        scaler = fit_zscore(X, fit_rows)
    return lambda rows: scaler.transform(X[rows])


def _distinct(X: np.ndarray, y: np.ndarray, rows: np.ndarray):
    """Distinct (features, label) rows among ``rows``, with their counts."""
    if rows.size == 0:
        return rows, np.zeros(0)
    table = np.concatenate([X[rows], y[rows, None].astype(np.float64)], axis=1)
    _, first, counts = np.unique(table, axis=0, return_index=True, return_counts=True)
    return rows[first], counts.astype(np.float64)


def _block(parts, V: int, d: int, key: int):
    """Stack one block (list over views of ``(X, y, weight)``) with padding."""
    R = round_rows(max(p[key][0].shape[0] for p in parts))
    X = np.zeros((V, R, d), np.float32)
    y = np.zeros((V, R), np.float32)
    w = np.zeros((V, R), np.float32)
    for v, p in enumerate(parts):
        xs, ys, ws = p[key]
        X[v, : xs.shape[0]], y[v, : ys.shape[0]], w[v, : ws.shape[0]] = xs, ys, ws
    return X, y, w


def build_views(
    X: np.ndarray, y: np.ndarray, members: Sequence[MemberSpec], *, deduplicate: bool
) -> ViewSet:
    """Stack one view per distinct row set among ``members`` (in first-seen order).

    Args:
        X: the shared feature matrix ``(n, d)``.
        y: labels ``(n,)`` in {0, 1}.
        members: one representative member per view.
        deduplicate: merge identical rows of the training and of the validation block
            (full-batch stacks only).

    Returns:
        The :class:`ViewSet`.
    """
    X = np.asarray(X, np.float64)
    y = np.asarray(y)
    parts = []
    for member in members:
        scale = _scaled(X, member)
        blocks = []
        for block, rows in enumerate((member.train, member.validation, member.test)):
            if deduplicate and block < 2:  # never merge test rows: each gets a score
                rows, weight = _distinct(X, y, rows)
            else:
                weight = np.ones(rows.size)
            blocks.append((scale(rows).astype(np.float32), y[rows], weight))
        parts.append(blocks)
    V, d = len(parts), X.shape[1]
    train_X, train_y, train_w = _block(parts, V, d, 0)
    val_X, val_y, val_w = _block(parts, V, d, 1)
    test_X, _, _ = _block(parts, V, d, 2)
    return ViewSet(
        train_X=train_X,
        train_y=train_y,
        train_weight=train_w,
        val_X=val_X,
        val_y=val_y,
        val_weight=val_w,
        test_X=test_X,
        n_train=np.array([m.train.size for m in members], np.int64),
        test_rows=tuple(m.test for m in members),
    )
