"""Losses and monitored metrics of many members at once, by the library's own functions.

Each member's rows are the last axis, so one call of a functional loss of
:mod:`cmloss.losses` (``axis=-1``) gives one loss per member. Row weights carry the row
multiplicity (padding and validation rows weigh 0, merged duplicates their count) times
the member's class weight, exactly as Keras passes ``sample_weight``:

* confusion-matrix losses take them as ``sample_weight`` (they enter the soft matrix);
  Keras' Dice is ``1 - F1`` of the soft matrix (identity step), without its epsilon;
* BCE and MSE are per-row losses of :func:`cmloss.losses.binary_crossentropy` /
  :func:`cmloss.losses.mean_squared_error`, reduced as Keras' ``"sum_over_batch_size"``:
  ``sum(weight * loss) / number of rows``.

Monitored metrics are those of :class:`cmloss.metrics.ConfusionMatrixMetric` with
``approximate=True``: a metric of :mod:`cmloss.core.cm_metrics` on
:func:`cmloss.core.confusion.soft_confusion_matrix` of the model output.
"""

from __future__ import annotations

import tensorflow as tf

from cmloss.core import cm_metrics
from cmloss.core.confusion import ConfusionMatrix, soft_confusion_matrix
from cmloss.losses import binary_crossentropy, confusion_matrix_loss, mean_squared_error
from cmloss.trainer.spec import LossSpec

__all__ = ["member_losses", "approx_cells", "metric_of_cells"]


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
    fn = binary_crossentropy if loss.kind == "bce" else mean_squared_error
    per_row = fn(y[..., None], p[..., None])
    return tf.reduce_sum(per_row * weight, axis=-1) / tf.maximum(n_rows, 1.0)


def approx_cells(y, p, weight) -> ConfusionMatrix:
    """The approximated confusion matrix of every member (sums over the last axis)."""
    return soft_confusion_matrix(y, p, sample_weight=weight, axis=-1)


def metric_of_cells(name: str, cells) -> tf.Tensor:
    """A registered metric of accumulated cells, with the metrics' ``zero_division=0``."""
    return cm_metrics.get_metric(name).fn(*cells, zero_division=0.0)
