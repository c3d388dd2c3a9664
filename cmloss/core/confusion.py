"""The confusion matrix, hard and soft, from one reduction.

``TN = sum w (1-y)(1-s)``, ``FP = sum w (1-y) s``, ``FN = sum w y (1-s)``,
``TP = sum w y s`` where ``s`` are soft predictions (for hard counts, ``s`` are 0/1
labels). Each entry is a sum of non-negative terms, so no entry can turn negative by
cancellation, and ``TN + FP + FN + TP`` equals the (weighted) number of examples, the
batch's own ``n`` (the book's appendix "What the papers leave open": the AnyLoss
authors' first code used ``n = y_train.shape[0]``, which is not copied).

**Labels.** :func:`label_confusion_matrices` takes ``(n, k)`` labels and predictions and
gives ``k`` matrices, one per label (column), each summed over the examples only; the
averages over labels (micro, macro, weighted) are in :mod:`cmloss.core.cm_metrics`.

**Precision.** Cells are accumulated in at least float32: half-precision inputs
(``float16``, ``bfloat16``, e.g. a model under ``keras.mixed_precision``) are cast to
float32 before the products are summed, so a batch of 100,000 rows cannot overflow
float16's largest value (65,504) nor lose its integer resolution above 2,048.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
from keras import ops

from cmloss.core.validation import (
    check_binary_labels,
    check_class_indices,
    check_same_size,
    label_count,
)

__all__ = [
    "ConfusionMatrix", "soft_confusion_matrix", "confusion_matrix",
    "label_confusion_matrices", "one_hot_labels",
]

_HALF = ("float16", "bfloat16")


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


def _standard(dtype) -> str:
    return keras.backend.standardize_dtype(dtype)


def _align(y_true, y_pred, sample_weight, axis):
    y_pred = ops.convert_to_tensor(y_pred)
    if "float" not in str(y_pred.dtype) or _standard(y_pred.dtype) in _HALF:
        y_pred = ops.cast(y_pred, "float32")  # accumulate half precision in float32
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


def one_hot_labels(y_true, num_classes: int, dtype="float32"):
    """Integer class indices of shape ``(n,)`` or ``(n, 1)`` as a one-hot ``(n, k)``
    tensor (the one-vs-rest labels of a multi-class problem).

    Concrete indices outside ``[0, num_classes)`` raise ``ValueError``; inside a compiled
    step such an index gives a row of zeros, which ``cmloss.core.validation.guard_inputs``
    cannot see, so a caller that guards its inputs should also check the row sums.

    Example:

    >>> keras.ops.convert_to_numpy(one_hot_labels([2, 0], 3)).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    check_class_indices(y_true, num_classes)
    y = ops.reshape(ops.convert_to_tensor(y_true), (-1,))
    return ops.one_hot(ops.cast(y, "int32"), num_classes, dtype=dtype)


def label_confusion_matrices(y_true, y_soft, sample_weight=None, *,
                             sparse_labels: bool = False) -> ConfusionMatrix:
    """One soft confusion matrix per label: cells of shape ``(k,)`` from ``(n, k)`` inputs.

    Column ``j`` of ``y_true`` and ``y_soft`` gives matrix ``j``, summed over the ``n``
    examples only (never over labels): ``tp[j] = sum_i w_i y_ij s_ij`` and so on. A
    multi-class problem is the one-vs-rest case: ``y_soft`` holds the (soft-stepped) class
    probabilities and ``y_true`` the one-hot classes, or, with ``sparse_labels=True``, the
    integer class of each example (shape ``(n,)``).

    Args:
        y_true: labels in {0, 1} of shape ``(n, k)``, or class indices in ``[0, k)`` of
            shape ``(n,)`` with ``sparse_labels=True``.
        y_soft: soft predictions in [0, 1] of shape ``(n, k)``.
        sample_weight: optional weight per example, shape ``(n,)`` or ``(n, 1)``, or per
            entry, shape ``(n, k)``.
        sparse_labels: whether ``y_true`` holds class indices.

    Returns:
        ConfusionMatrix ``(tn, fp, fn, tp)``, each a tensor of shape ``(k,)`` (float32 or
        wider, see the module docstring).

    Example:

    >>> cm = label_confusion_matrices([[0, 1], [1, 1]], [[0.2, 0.9], [0.6, 0.4]])
    >>> [[round(float(c), 2) for c in keras.ops.convert_to_numpy(v)] for v in cm]
    [[0.8, 0.0], [0.2, 0.0], [0.4, 0.7], [0.6, 1.3]]
    """
    k = label_count(y_soft, "y_soft")
    if sparse_labels:
        y_true = one_hot_labels(y_true, k)
    else:
        check_same_size(y_true, y_soft, ("y_true", "y_soft"))
        check_binary_labels(y_true)
    y, s, w = _align(y_true, y_soft, sample_weight, axis=0)
    if len(s.shape) == 1:
        y, s = ops.reshape(y, (-1, 1)), ops.reshape(s, (-1, 1))
        if w is not None and len(w.shape) == 1:
            w = ops.reshape(w, (-1, 1))
    pos, neg = y, 1.0 - y
    if w is not None:
        pos, neg = pos * w, neg * w
    return ConfusionMatrix(
        tn=ops.sum(neg * (1.0 - s), axis=0),
        fp=ops.sum(neg * s, axis=0),
        fn=ops.sum(pos * (1.0 - s), axis=0),
        tp=ops.sum(pos * s, axis=0),
    )
