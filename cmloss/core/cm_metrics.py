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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from keras import ops

__all__ = [
    "accuracy", "precision", "recall", "specificity", "fnr", "fpr", "f_beta", "f1",
    "g_mean", "balanced_accuracy", "mcc", "informedness", "jaccard", "e_ratio",
    "MetricSpec", "METRICS", "ALIASES", "get_metric",
]


def _cells(tn, fp, fn, tp):
    cells = [ops.convert_to_tensor(c) for c in (tn, fp, fn, tp)]
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
