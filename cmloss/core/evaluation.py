"""Evaluate scores at a threshold: every registered metric as a Python float."""

from __future__ import annotations

import numpy as np
from keras import ops

from cmloss.core.cm_metrics import METRICS
from cmloss.core.confusion import confusion_matrix
from cmloss.core.validation import (
    check_one_label_per_example,
    check_probability,
    check_same_size,
    check_sample_weight,
    check_threshold,
)

__all__ = ["evaluate"]


def evaluate(y_true, y_score, threshold: float = 0.5, sample_weight=None,
             zero_division: float = 0.0) -> dict[str, float]:
    """Count ``y_score > threshold`` against ``y_true`` and compute every metric.

    Args:
        y_true: labels in {0, 1}.
        y_score: scores, one per label (probabilities, or an ASTra layer's z output).
        threshold: decision threshold, in (0, 1).
        sample_weight: optional weight per example.
        zero_division: value of an undefined ratio, in [0, 1].

    Returns:
        ``{"tn", "fp", "fn", "tp"}`` counts and every metric of
        :data:`cmloss.core.cm_metrics.METRICS`, as floats.

    Raises:
        ValueError: if a score is NaN or infinite (a diverged network: ``NaN > t`` would
            count it as a negative), or the labels or weights are invalid.

    Example:

    >>> r = evaluate([0, 0, 1, 1], [0.1, 0.6, 0.8, 0.3])
    >>> r["tp"], r["fp"], r["recall"], r["mcc"]
    (1.0, 1.0, 0.5, 0.0)
    """
    check_threshold(threshold)
    check_probability(zero_division, "zero_division")
    check_same_size(y_true, y_score, ("y_true", "y_score"))
    check_one_label_per_example(y_score, "y_score")
    scores = np.asarray(ops.convert_to_numpy(ops.convert_to_tensor(y_score)), dtype=np.float64)
    bad = ~np.isfinite(scores)
    if bad.any():
        raise ValueError(
            f"y_score must be finite; got {int(bad.sum())} non-finite of {scores.size} scores "
            f"({int(np.isnan(scores).sum())} NaN): the model diverged or its input held NaN. "
            f"A NaN score is not a prediction, so no metric is computed."
        )
    labels = (scores > threshold).astype(np.float64)
    y = np.asarray(ops.convert_to_numpy(ops.convert_to_tensor(y_true)), dtype=np.float64)
    check_sample_weight(sample_weight)
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    cm = confusion_matrix(y, labels, sample_weight=w)
    out = {name: float(ops.convert_to_numpy(v)) for name, v in zip(cm._fields, cm)}
    for name, spec in METRICS.items():
        out[name] = float(ops.convert_to_numpy(spec.fn(*cm, zero_division=zero_division)))
    return out
