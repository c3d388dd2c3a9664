"""Stateful Keras metrics from the (approximated or thresholded) confusion matrix.

The four cells are accumulated over the batches of an epoch (or an evaluation) and the
metric is computed once from the totals, so a validation metric is the metric of the
whole validation set, not an average over batches.

* *Approximated* metrics (``approximate=True``, names ending in ``_apx``) use the soft
  predictions themselves (the identity soft step): the ASTra paper's ``CM_apx`` (Eq. 8),
  which re-introduces the "by how much?" that counting metrics lose. With an
  :class:`cmloss.layers.ASTra` output they are computed on its z output, i.e. they pivot
  at the learned threshold ``tau``.
* *Thresholded* metrics count ``y_pred > threshold`` (default 0.5, Keras' convention).

Undefined values follow :mod:`cmloss.core.cm_metrics` (``zero_division``; e-ratio
``inf``/``1``). NaN predictions make the cells, and so the metric, NaN (thresholded
metrics too: a NaN score is not counted as a negative). Invalid labels or weights raise on
concrete inputs and make the cells NaN inside a compiled step.
"""

from __future__ import annotations

import keras
from keras import ops

from cmloss.core import cm_metrics
from cmloss.core.confusion import soft_confusion_matrix
from cmloss.core.validation import (
    check_binary_labels,
    check_one_label_per_example,
    check_probability,
    check_sample_weight,
    check_threshold,
    concrete_value,
    guard_inputs,
)

__all__ = [
    "ConfusionMatrixMetric", "FNRApx", "FPRApx", "ERatioApx", "GMeanApx", "MCCApx", "GMean",
    "MCC",
]


@keras.saving.register_keras_serializable(package="cmloss")
class ConfusionMatrixMetric(keras.metrics.Metric):
    """Any registered confusion-matrix metric, accumulated over batches.

    Args:
        metric: a name from :data:`cmloss.core.cm_metrics.METRICS` (or an alias).
        approximate: ``True`` for the approximated matrix of soft predictions,
            ``False`` to count thresholded predictions.
        threshold: decision threshold for ``approximate=False`` (default 0.5).
        zero_division: value of an undefined ratio, in [0, 1].
        name: defaults to the metric name, with ``_apx`` when approximate.

    Example:

    >>> m = ConfusionMatrixMetric("fnr", approximate=True)
    >>> m.update_state([0, 1, 1], [0.2, 0.7, 0.9])
    >>> round(float(m.result()), 4)
    0.2
    """

    def __init__(self, metric: str = "g_mean", approximate: bool = True,
                 threshold: float = 0.5, zero_division: float = 0.0, name=None, dtype=None):
        spec = cm_metrics.get_metric(metric)
        name = name or (spec.name + ("_apx" if approximate else ""))
        super().__init__(name=name, dtype=dtype)
        self.metric = spec.name
        self._fn = spec.fn
        self.approximate = bool(approximate)
        self.threshold = check_threshold(threshold)
        self.zero_division = check_probability(zero_division, "zero_division")
        self._cells = [self.add_variable(shape=(), initializer="zeros", name=c, dtype=self.dtype)
                       for c in ("tn", "fp", "fn", "tp")]

    def update_state(self, y_true, y_pred, sample_weight=None):
        check_one_label_per_example(y_pred, "y_pred")
        symbolic = concrete_value(y_true) is None
        if not symbolic:
            check_binary_labels(y_true)
            check_sample_weight(sample_weight)
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        if not self.approximate:
            # NaN > t is False: keep NaN scores NaN instead of counting them as negatives
            y_pred = ops.cast(y_pred > self.threshold, self.dtype) + y_pred * 0.0
        cm = soft_confusion_matrix(y_true, y_pred, sample_weight=sample_weight)
        # invalid labels or weights inside a compiled step make the cells NaN
        valid = guard_inputs(ops.ones((), self.dtype), y_true, sample_weight) if symbolic \
            else 1.0
        for var, value in zip(self._cells, cm):
            var.assign_add(ops.cast(value, self.dtype) * valid)

    def result(self):
        return self._fn(*self._cells, zero_division=self.zero_division)

    def reset_state(self):
        for var in self._cells:
            var.assign(ops.zeros((), dtype=self.dtype))

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "metric": self.metric,
                "approximate": self.approximate, "threshold": self.threshold,
                "zero_division": self.zero_division}


class _Fixed(ConfusionMatrixMetric):
    metric_name = ""
    approximate_default = True

    def __init__(self, name=None, dtype=None, threshold: float = 0.5, zero_division: float = 0.0):
        super().__init__(self.metric_name, self.approximate_default, threshold=threshold,
                         zero_division=zero_division, name=name, dtype=dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        for key in ("metric", "approximate"):
            config.pop(key)
        return config


@keras.saving.register_keras_serializable(package="cmloss")
class FNRApx(_Fixed):
    """Approximated false negative rate ``FN_apx / (TP_apx + FN_apx)`` (``fnr_apx``): the
    ASTra paper's validation monitor for best-on-validation selection."""

    metric_name = "fnr"


@keras.saving.register_keras_serializable(package="cmloss")
class FPRApx(_Fixed):
    """Approximated false positive rate (``fpr_apx``)."""

    metric_name = "fpr"


@keras.saving.register_keras_serializable(package="cmloss")
class ERatioApx(_Fixed):
    """Approximated e-ratio ``FNR_apx / FPR_apx`` (``e_ratio_apx``, ASTra Eq. 11), read on
    the training set by :class:`cmloss.callbacks.AdaptiveSlopeRate`."""

    metric_name = "e_ratio"


@keras.saving.register_keras_serializable(package="cmloss")
class GMeanApx(_Fixed):
    """Approximated G-mean (``g_mean_apx``): ``1 - GMN loss``."""

    metric_name = "g_mean"


@keras.saving.register_keras_serializable(package="cmloss")
class MCCApx(_Fixed):
    """Approximated Matthews correlation (``mcc_apx``)."""

    metric_name = "mcc"


@keras.saving.register_keras_serializable(package="cmloss")
class GMean(_Fixed):
    """G-mean of thresholded predictions (``g_mean``), for evaluation."""

    metric_name = "g_mean"
    approximate_default = False


@keras.saving.register_keras_serializable(package="cmloss")
class MCC(_Fixed):
    """Matthews correlation of thresholded predictions (``mcc``), for evaluation."""

    metric_name = "mcc"
    approximate_default = False
