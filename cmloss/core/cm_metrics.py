"""Metrics of a confusion matrix, each defined once for hard counts and soft matrices.

Every function takes the four cells ``(tn, fp, fn, tp)`` (tensors, arrays or floats, hard
or soft) and returns a tensor. Only ``keras.ops`` is used.

**Undefined cases: one policy.** A ratio whose denominator is exactly zero (recall in a
batch with no positives, specificity with no negatives, MCC when a row or column of the
matrix is empty, ...) takes the value ``zero_division`` (default ``0.0``, as scikit-learn's
``zero_division=0``) with a zero gradient through that ratio. On finite cells no metric
returns NaN, and the gradient is finite everywhere. Composite metrics apply the policy to
their parts:
``g_mean = sqrt(recall * specificity)`` and ``balanced_accuracy = (recall + specificity)/2``
use the policy for each rate. The e-ratio ``FNR / FPR`` is a ratio of rates rather than a
rate: it is ``+inf`` when ``FPR = 0 < FNR`` and ``1`` when both are 0 (the e-ratio rule
of the ASTra paper then leaves the slope learning rate unchanged).

**NaN propagates.** Cells that hold NaN (a diverged network's outputs) give NaN, never a
score: the policy above applies only to a denominator that is exactly zero, so a NaN
denominator is not mistaken for an empty class, and Keras' ``TerminateOnNaN`` and
best-on-validation selection see the divergence.

**Many labels: one policy per label, then an average.** Cells of shape ``(..., k)``
(:func:`cmloss.core.confusion.label_confusion_matrices`) are ``k`` matrices, one per label,
and :func:`average_over_labels` combines them (the definitions of scikit-learn's
``precision_recall_fscore_support`` and Keras' ``F1Score``):

* ``"micro"``: sum each cell over the labels, then the metric of the pooled matrix (for
  every metric: the metric of the flattened ``(n * k,)`` problem);
* ``"macro"``: the metric of each label, then their unweighted mean;
* ``"weighted"``: the metric of each label, then their mean weighted by the label's
  support ``TP + FN`` (its weighted number of positives); when no label has a positive
  the support total is exactly 0 and the value is ``zero_division``;
* ``None``: the ``k`` per-label values.

The zero-division policy applies **per label**: a label without positives in the batch
has recall ``zero_division`` (F1 0 if it has predicted positives, else
``zero_division``, as in scikit-learn), so its value is finite and the macro average is
never NaN because of an empty label. NaN cells still propagate into every average. With
one label (``k = 1``) all averages equal the metric of that label.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from keras import ops

from cmloss.core import backend_ops
from cmloss.core.validation import AVERAGES

__all__ = [
    "accuracy", "precision", "recall", "specificity", "fnr", "fpr", "f_beta", "f1",
    "g_mean", "balanced_accuracy", "mcc", "informedness", "jaccard", "e_ratio",
    "MetricSpec", "METRICS", "ALIASES", "get_metric", "average_over_labels",
]


def _cells(tn, fp, fn, tp):
    # a NumPy scalar keeps its dtype (backend_ops.to_tensor: PyTorch reads np.float64 as a
    # Python float, i.e. floatx)
    cells = [backend_ops.to_tensor(c) for c in (tn, fp, fn, tp)]
    dtype = next((c.dtype for c in cells if "float" in str(c.dtype)), "float32")
    return [ops.cast(c, dtype) for c in cells]


def _divide(num, den, zero_division):
    """``num / den``, and ``zero_division`` (zero gradient) where ``den`` is exactly 0.

    Only an exact zero is undefined: a NaN denominator (or numerator) gives NaN."""
    undefined = den == 0
    safe = ops.where(undefined, ops.ones_like(den), den)
    return ops.where(undefined, ops.convert_to_tensor(zero_division, dtype=num.dtype),
                     num / safe)


def _sqrt(x):
    """``sqrt(max(x, 0))`` with a zero (not infinite) gradient at 0; NaN stays NaN."""
    ok = x > 0
    # x * 0 is 0 for x <= 0 (also a tiny negative product of rounding) and NaN for NaN
    return ops.where(ok, ops.sqrt(ops.where(ok, x, ops.ones_like(x))), x * 0.0)


def accuracy(tn, fp, fn, tp, zero_division=0.0):
    """``(TP + TN) / (TN + FP + FN + TP)``."""
    tn, fp, fn, tp = _cells(tn, fp, fn, tp)
    return _divide(tp + tn, tn + fp + fn + tp, zero_division)


def precision(tn, fp, fn, tp, zero_division=0.0):
    """``TP / (TP + FP)`` (positive predictive value)."""
    tn, fp, fn, tp = _cells(tn, fp, fn, tp)
    return _divide(tp, tp + fp, zero_division)


def recall(tn, fp, fn, tp, zero_division=0.0):
    """``TP / (TP + FN)`` (true positive rate, sensitivity)."""
    tn, fp, fn, tp = _cells(tn, fp, fn, tp)
    return _divide(tp, tp + fn, zero_division)


def specificity(tn, fp, fn, tp, zero_division=0.0):
    """``TN / (TN + FP)`` (true negative rate)."""
    tn, fp, fn, tp = _cells(tn, fp, fn, tp)
    return _divide(tn, tn + fp, zero_division)


def fnr(tn, fp, fn, tp, zero_division=0.0):
    """``FN / (TP + FN)`` (false negative rate, miss rate)."""
    tn, fp, fn, tp = _cells(tn, fp, fn, tp)
    return _divide(fn, tp + fn, zero_division)


def fpr(tn, fp, fn, tp, zero_division=0.0):
    """``FP / (TN + FP)`` (false positive rate, fall-out)."""
    tn, fp, fn, tp = _cells(tn, fp, fn, tp)
    return _divide(fp, tn + fp, zero_division)


def f_beta(tn, fp, fn, tp, beta=1.0, zero_division=0.0):
    """``(1 + beta^2) TP / ((1 + beta^2) TP + beta^2 FN + FP)``."""
    tn, fp, fn, tp = _cells(tn, fp, fn, tp)
    b2 = float(beta) ** 2
    return _divide((1.0 + b2) * tp, (1.0 + b2) * tp + b2 * fn + fp, zero_division)


def f1(tn, fp, fn, tp, zero_division=0.0):
    """``2 TP / (2 TP + FN + FP)``: F-beta with beta = 1."""
    return f_beta(tn, fp, fn, tp, beta=1.0, zero_division=zero_division)


def g_mean(tn, fp, fn, tp, zero_division=0.0):
    """``sqrt(TPR * TNR)``, the geometric mean of recall and specificity (ASTra Eq. 3)."""
    return _sqrt(recall(tn, fp, fn, tp, zero_division) * specificity(tn, fp, fn, tp,
                                                                     zero_division))


def balanced_accuracy(tn, fp, fn, tp, zero_division=0.0):
    """``(TPR + TNR) / 2``."""
    return 0.5 * (recall(tn, fp, fn, tp, zero_division)
                  + specificity(tn, fp, fn, tp, zero_division))


def mcc(tn, fp, fn, tp, zero_division=0.0):
    """Matthews correlation ``(TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))``
    (ASTra Eq. 2), in [-1, 1]."""
    tn, fp, fn, tp = _cells(tn, fp, fn, tp)
    den = _sqrt((tp + fp) * (tp + fn)) * _sqrt((tn + fp) * (tn + fn))
    return _divide(tp * tn - fp * fn, den, zero_division)


def informedness(tn, fp, fn, tp, zero_division=0.0):
    """``TPR + TNR - 1`` (Youden's J, the true skill statistic TSS), in [-1, 1]."""
    return (recall(tn, fp, fn, tp, zero_division)
            + specificity(tn, fp, fn, tp, zero_division) - 1.0)


def jaccard(tn, fp, fn, tp, zero_division=0.0):
    """``TP / (TP + FP + FN)`` (Jaccard index, critical success index CSI)."""
    tn, fp, fn, tp = _cells(tn, fp, fn, tp)
    return _divide(tp, tp + fp + fn, zero_division)


def e_ratio(tn, fp, fn, tp, zero_division=0.0):
    """``FNR / FPR`` (ASTra Eq. 11): how much harder the positives are than the negatives.

    ``+inf`` when ``FPR = 0 < FNR``; ``1`` when both rates are 0; NaN when either is NaN.
    ``zero_division`` applies to the two rates (a batch without positives has
    ``FNR = zero_division``).
    """
    miss = fnr(tn, fp, fn, tp, zero_division)
    fall = fpr(tn, fp, fn, tp, zero_division)
    zero = fall == 0
    ratio = miss / ops.where(zero, ops.ones_like(fall), fall)
    undefined = ops.where(miss > 0, ops.full_like(miss, math.inf), ops.ones_like(miss))
    # miss * 0 keeps a NaN miss rate NaN on the undefined branch
    return ops.where(zero, undefined + miss * 0.0, ratio)


def average_over_labels(score: Callable, tn, fp, fn, tp, average="macro",
                        zero_division: float = 0.0):
    """Combine per-label matrices (labels on the last axis of the cells) with ``average``.

    Args:
        score: ``(tn, fp, fn, tp) -> value``, elementwise (any metric of this module with
            its ``zero_division`` bound, or a user callable built from ``keras.ops``).
        tn, fp, fn, tp: cells of shape ``(..., k)``.
        average: ``"micro"``, ``"macro"``, ``"weighted"`` or ``None`` (see the module
            docstring).
        zero_division: the value of ``"weighted"`` when no label has a positive.

    Returns:
        A tensor of shape ``(...)``, or ``(..., k)`` for ``average=None``.

    Example:

    >>> cells = ([1.0, 2.0], [0.0, 1.0], [1.0, 0.0], [2.0, 1.0])  # tn, fp, fn, tp per label
    >>> [round(float(average_over_labels(recall, *cells, a)), 4)
    ...  for a in ("micro", "macro", "weighted")]
    [0.75, 0.8333, 0.75]
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}; got average={average!r}.")
    tn, fp, fn, tp = _cells(tn, fp, fn, tp)
    if average == "micro":
        return score(*(ops.sum(c, axis=-1) for c in (tn, fp, fn, tp)))
    per_label = score(tn, fp, fn, tp)
    if average is None:
        return per_label
    if average == "macro" or tuple(per_label.shape)[-1:] == (1,):  # one label: its value
        return backend_ops.mean(per_label, axis=-1)  # float64 stays float64 (JAX, torch)
    support = tp + fn  # "weighted"
    # a label without positives has weight 0 (an infinite e-ratio too), NaN stays NaN
    ignored = ops.where(ops.isnan(per_label), per_label, ops.zeros_like(per_label))
    weighted = ops.where(support == 0, ignored, per_label * support)
    return _divide(ops.sum(weighted, axis=-1), ops.sum(support, axis=-1), zero_division)


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric: its function, whether larger is better, and its range."""

    name: str
    fn: Callable
    greater_is_better: bool
    low: float
    high: float


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("accuracy", accuracy, True, 0.0, 1.0),
        MetricSpec("precision", precision, True, 0.0, 1.0),
        MetricSpec("recall", recall, True, 0.0, 1.0),
        MetricSpec("specificity", specificity, True, 0.0, 1.0),
        MetricSpec("fnr", fnr, False, 0.0, 1.0),
        MetricSpec("fpr", fpr, False, 0.0, 1.0),
        MetricSpec("f1", f1, True, 0.0, 1.0),
        MetricSpec("g_mean", g_mean, True, 0.0, 1.0),
        MetricSpec("balanced_accuracy", balanced_accuracy, True, 0.0, 1.0),
        MetricSpec("mcc", mcc, True, -1.0, 1.0),
        MetricSpec("informedness", informedness, True, -1.0, 1.0),
        MetricSpec("jaccard", jaccard, True, 0.0, 1.0),
        MetricSpec("e_ratio", e_ratio, False, 0.0, math.inf),
    )
}
"""Registry of metric names (aliases are in ``ALIASES``)."""

ALIASES = {
    "tpr": "recall", "sensitivity": "recall", "tnr": "specificity", "ppv": "precision",
    "gmean": "g_mean", "g-mean": "g_mean", "bacc": "balanced_accuracy",
    "tss": "informedness", "youden": "informedness", "csi": "jaccard", "f_1": "f1",
}


def get_metric(name: str) -> MetricSpec:
    """Look up a registered metric by name or alias; ``ValueError`` lists what exists."""
    key = ALIASES.get(name, name) if isinstance(name, str) else name
    if key not in METRICS:
        raise ValueError(
            f"metric must be one of {sorted(METRICS)} (aliases {sorted(ALIASES)}) or a "
            f"callable (tn, fp, fn, tp) -> score; got metric={name!r}."
        )
    return METRICS[key]
