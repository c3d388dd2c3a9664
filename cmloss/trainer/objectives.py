"""Losses and monitored metrics of many members at once, by the library's own functions.

Each member's rows are the last axis, so one call of a functional loss of
:mod:`cmloss.losses` (``axis=-1``) gives one loss per member. Row weights carry the row
multiplicity (padding and validation rows weigh 0, merged duplicates their count) times
the member's class weight, exactly as Keras passes ``sample_weight``:

* confusion-matrix losses take them as ``sample_weight`` (they enter the soft matrix);
  Keras' Dice is ``1 - F1`` of the soft matrix (identity step), without its epsilon;
* BCE and MSE are per-row losses of :func:`cmloss.losses.binary_crossentropy` /
  :func:`cmloss.losses.mean_squared_error`, and the focal loss Keras' own
  ``keras.losses.binary_focal_crossentropy`` (class balancing on), reduced as Keras'
  ``"sum_over_batch_size"``: ``sum(weight * loss) / number of rows``.

Monitored metrics are those of :class:`cmloss.metrics.ConfusionMatrixMetric` with
``approximate=True``: a metric of :mod:`cmloss.core.cm_metrics` on
:func:`cmloss.core.confusion.soft_confusion_matrix` of the model output.

:func:`slot_losses` and :func:`validation_cells` apply these to every slot of a stack
(one slot, one loss; results stacked to ``(V, M)``).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from cmloss.core import cm_metrics
from cmloss.core.confusion import ConfusionMatrix, soft_confusion_matrix
from cmloss.losses import binary_crossentropy, confusion_matrix_loss, mean_squared_error
from cmloss.trainer.spec import LossSpec
from cmloss.trainer.state import MemberConstants

__all__ = [
    "member_losses",
    "approx_cells",
    "metric_of_cells",
    "row_weights",
    "slot_losses",
    "validation_cells",
]


def member_losses(loss: LossSpec, y, p, weight, n_rows):
    """One loss per member.

    Args:
        loss: the loss.
        y: labels ``(..., N)``.
        p: model outputs ``(..., N)``.
        weight: row weights ``(..., N)`` (multiplicity times class weight).
        n_rows: number of real rows per member ``(...)`` (Keras' batch size).

    Returns:
        Losses of shape ``(...)``.
    """
    if loss.kind in ("confusion_matrix", "dice"):
        return confusion_matrix_loss(
            y,
            p,
            loss.metric_fn(),
            loss.soft_step,
            sample_weight=weight,
            zero_division=loss.zero_division,
            axis=-1,
        )
    if loss.kind == "focal":
        per_row = keras.losses.binary_focal_crossentropy(
            y[..., None], p[..., None], apply_class_balancing=True, alpha=loss.alpha,
            gamma=loss.gamma,
        )
    else:
        fn = binary_crossentropy if loss.kind == "bce" else mean_squared_error
        per_row = fn(y[..., None], p[..., None])
    return tf.reduce_sum(per_row * weight, axis=-1) / tf.maximum(n_rows, 1.0)


def approx_cells(y, p, weight) -> ConfusionMatrix:
    """The approximated confusion matrix of every member (sums over the last axis)."""
    return soft_confusion_matrix(y, p, sample_weight=weight, axis=-1)


def metric_of_cells(name: str, cells) -> tf.Tensor:
    """A registered metric of accumulated cells, with the metrics' ``zero_division=0``."""
    return cm_metrics.get_metric(name).fn(*cells, zero_division=0.0)


def _stack(values):
    return tf.stack(values, axis=1)


def _cells(per_slot):
    """List over slots of 4-tuples of ``(V,)`` -> 4-tuple of ``(V, M)``."""
    return tuple(_stack([c[j] for c in per_slot]) for j in range(4))


def row_weights(members: MemberConstants, y, base, m: int):
    """Training row weights of slot ``m``: multiplicity (or batch mask) ``base`` times the
    class weight of each row's label ``y`` (Keras' ``class_weight``)."""
    cw0 = members.class_weight_0[:, m, None]
    cw1 = members.class_weight_1[:, m, None]
    return base * (y * cw1 + (1.0 - y) * cw0)


def slot_losses(slots, members: MemberConstants, y, outputs, base, n_rows, cell_outputs=None):
    """Per-member losses ``(V, M)`` and class-weighted training cells of every slot.

    Args:
        slots: the stack's slots (each with its ``loss``).
        members: the per-member constants (class weights).
        y: labels ``(V, N)`` shared by a view's slots, or ``(V, M, N)``.
        outputs: model outputs, a list of ``M`` tensors ``(V, N)``.
        base: row multiplicities (or batch masks), shaped as ``y``.
        n_rows: real rows per member, ``(V,)`` or ``(V, M)``.
        cell_outputs: the outputs whose cells are returned (the e-ratio's; default
            ``outputs``).
    """
    losses, cells = [], []
    cell_outputs = outputs if cell_outputs is None else cell_outputs
    for m, (slot, p, q) in enumerate(zip(slots, outputs, cell_outputs)):
        yy = y if len(y.shape) == 2 else y[:, m]
        bb = base if len(base.shape) == 2 else base[:, m]
        nn = n_rows if len(n_rows.shape) == 1 else n_rows[:, m]
        w = row_weights(members, yy, bb, m)
        losses.append(member_losses(slot.loss, yy, p, w, nn))
        cells.append(approx_cells(yy, q, w))
    return _stack(losses), _cells(cells)


def validation_cells(y, weight, outputs):
    """Approximated confusion cells ``(V, M)`` of the validation rows (labels ``y`` and
    multiplicities ``weight`` ``(V, N)``) for every slot's outputs."""
    return _cells([approx_cells(y, p, weight) for p in outputs])
