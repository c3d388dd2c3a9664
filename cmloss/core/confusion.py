"""The confusion matrix, hard and soft, from one reduction.

``TN = sum w (1-y)(1-s)``, ``FP = sum w (1-y) s``, ``FN = sum w y (1-s)``,
``TP = sum w y s`` where ``s`` are soft predictions (for hard counts, ``s`` are 0/1
labels). Each entry is a sum of non-negative terms, so no entry can turn negative by
cancellation, and ``TN + FP + FN + TP`` equals the (weighted) number of examples, the
batch's own ``n`` (the book's appendix "What the papers leave open": the AnyLoss
authors' first code used ``n = y_train.shape[0]``, which is not copied).
"""

from __future__ import annotations

from typing import NamedTuple

from keras import ops

from cmloss.core.validation import check_binary_labels, check_same_size

__all__ = ["ConfusionMatrix", "soft_confusion_matrix", "confusion_matrix"]


class ConfusionMatrix(NamedTuple):
    """The four cells ``(tn, fp, fn, tp)``, tensors or floats (rows: actual, columns:
    predicted, as in the ASTra paper's Eq. 1)."""

    tn: object
    fp: object
    fn: object
    tp: object

    @property
    def n(self):
        """Total (weighted) number of examples."""
        return self.tn + self.fp + self.fn + self.tp


def _align(y_true, y_pred, sample_weight, axis):
    y_pred = ops.convert_to_tensor(y_pred)
    if "float" not in str(y_pred.dtype):
        y_pred = ops.cast(y_pred, "float32")
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    if axis is None:
        y_true, y_pred = ops.reshape(y_true, (-1,)), ops.reshape(y_pred, (-1,))
    elif len(y_true.shape) != len(y_pred.shape):
        y_true = ops.reshape(y_true, ops.shape(y_pred))
    if sample_weight is None:
        return y_true, y_pred, None
    w = ops.convert_to_tensor(sample_weight, dtype=y_pred.dtype)
    if axis is None:
        w = ops.reshape(w, (-1,))
    elif len(w.shape) < len(y_pred.shape) and len(w.shape) > 0:
        w = ops.reshape(w, ops.shape(w) + (1,) * (len(y_pred.shape) - len(w.shape)))
    return y_true, y_pred, w


def soft_confusion_matrix(y_true, y_soft, sample_weight=None, axis=None) -> ConfusionMatrix:
    """Soft confusion matrix of soft predictions ``y_soft`` in [0, 1].

    Args:
        y_true: labels in {0, 1}.
        y_soft: soft predictions in [0, 1], one per label (e.g. a soft step of scores).
        sample_weight: optional non-negative weight per example (broadcast against labels).
        axis: axis to reduce over; ``None`` (default) flattens and reduces everything, and
            ``-1`` keeps leading axes (a stack of K models' predictions of shape ``(K, n)``
            gives K matrices).

    Returns:
        ConfusionMatrix ``(tn, fp, fn, tp)`` of tensors.

    Example:

    >>> cm = soft_confusion_matrix([0, 0, 1, 1], [0.1, 0.6, 0.8, 0.3])
    >>> [round(float(v), 2) for v in cm]
    [1.3, 0.7, 0.9, 1.1]
    """
    check_same_size(y_true, y_soft, ("y_true", "y_soft"))
    check_binary_labels(y_true)
    y, s, w = _align(y_true, y_soft, sample_weight, axis)
    pos, neg = y, 1.0 - y
    if w is not None:
        pos, neg = pos * w, neg * w
    red = -1 if axis is None else axis
    return ConfusionMatrix(
        tn=ops.sum(neg * (1.0 - s), axis=red),
        fp=ops.sum(neg * s, axis=red),
        fn=ops.sum(pos * (1.0 - s), axis=red),
        tp=ops.sum(pos * s, axis=red),
    )


def confusion_matrix(y_true, y_pred, sample_weight=None, axis=None) -> ConfusionMatrix:
    """Hard confusion matrix from predicted labels ``y_pred`` in {0, 1}.

    The same reduction as :func:`soft_confusion_matrix`; predicted labels are checked.

    Example:

    >>> cm = confusion_matrix([0, 0, 1, 1], [0, 1, 1, 0])
    >>> [float(v) for v in cm]
    [1.0, 1.0, 1.0, 1.0]
    """
    check_binary_labels(y_pred, "y_pred")
    return soft_confusion_matrix(y_true, y_pred, sample_weight=sample_weight, axis=axis)
