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

**Many labels, many classes.** With ``num_labels=k`` a metric accumulates ``k``
matrices, one per column of ``(n, k)`` targets and predictions, and ``average`` combines
them at ``result()`` (:func:`cmloss.core.cm_metrics.average_over_labels`): ``"macro"``
(default), ``"micro"``, ``"weighted"`` or ``None`` (the ``k`` per-label values). A
softmax output is the one-vs-rest case (one-hot ``y_true``, or integer classes with
``sparse_labels=True``); thresholded metrics then count ``p > threshold`` per class.
``num_labels`` is given at construction, so the metric's state has a fixed shape before
the first batch (a compiled step and a saved model see the same variables); ``(n, k)``
inputs with another ``k`` are refused with a message. The state is accumulated in the
metric's dtype (``floatx()``, float32, by default, also under mixed precision).

Undefined values follow :mod:`cmloss.core.cm_metrics` (``zero_division``; e-ratio
``inf``/``1``). NaN predictions make the cells, and so the metric, NaN (thresholded
metrics too: a NaN score is not counted as a negative). Invalid labels or weights raise on
concrete inputs and make the cells NaN inside a compiled step.
"""

from __future__ import annotations

import keras
from keras import ops

from cmloss.core import cm_metrics
from cmloss.core.confusion import label_confusion_matrices, one_hot_labels, soft_confusion_matrix
from cmloss.core.validation import (
    check_average,
    check_binary_labels,
    check_class_indices,
    check_int,
    check_probability,
    check_sample_weight,
    check_threshold,
    check_weight_shape,
    concrete_value,
    guard_inputs,
    label_count,
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
        zero_division: value of an undefined ratio, in [0, 1] (per label).
        name: defaults to the metric name, with ``_apx`` when approximate.
        average: ``"macro"`` (default), ``"micro"``, ``"weighted"`` or ``None`` (one value
            per label), for ``num_labels > 1``; with one label all give the binary metric.
        num_labels: the number of labels (columns of ``y_pred``), default 1 (binary).
        sparse_labels: ``y_true`` holds one integer class in ``[0, num_labels)`` per
            example (a softmax output with ``num_labels`` classes).

    Example:

    >>> m = ConfusionMatrixMetric("fnr", approximate=True)
    >>> m.update_state([0, 1, 1], [0.2, 0.7, 0.9])
    >>> round(float(m.result()), 4)
    0.2
    >>> f1 = ConfusionMatrixMetric("f1", approximate=False, num_labels=2, average=None)
    >>> f1.update_state([[0, 1], [1, 1], [0, 0]], [[0.2, 0.9], [0.6, 0.4], [0.1, 0.3]])
    >>> [round(float(v), 4) for v in keras.ops.convert_to_numpy(f1.result())]
    [1.0, 0.6667]
    """

    def __init__(self, metric: str = "g_mean", approximate: bool = True,
                 threshold: float = 0.5, zero_division: float = 0.0, name=None, dtype=None,
                 *, average: str | None = "macro", num_labels: int = 1,
                 sparse_labels: bool = False):
        spec = cm_metrics.get_metric(metric)
        name = name or (spec.name + ("_apx" if approximate else ""))
        super().__init__(name=name, dtype=dtype)
        self.metric = spec.name
        self._fn = spec.fn
        self.approximate = bool(approximate)
        self.threshold = check_threshold(threshold)
        self.zero_division = check_probability(zero_division, "zero_division")
        self.average = check_average(average)
        self.num_labels = check_int(num_labels, "num_labels", minimum=1)
        self.sparse_labels = bool(sparse_labels)
        if self.sparse_labels and self.num_labels < 2:
            raise ValueError(
                "sparse_labels=True needs num_labels >= 2 (the number of classes, the "
                f"columns of y_pred); got num_labels={self.num_labels}.")
        shape = () if self.num_labels == 1 else (self.num_labels,)
        self._cells = [self.add_variable(shape=shape, initializer="zeros", name=c,
                                         dtype=self.dtype)
                       for c in ("tn", "fp", "fn", "tp")]

    def _check(self, y_true, y_pred, sample_weight) -> bool:
        """Check shapes (and values when concrete); return whether the inputs are symbolic."""
        k = label_count(y_pred)
        if k != self.num_labels:
            raise ValueError(
                f"{self.name} was built for num_labels={self.num_labels}; got y_pred with "
                f"{k} label(s) per example. Pass num_labels={k} "
                f"to {type(self).__name__}(...).")
        if self.sparse_labels:
            check_class_indices(y_true, k)
        if k > 1:
            check_weight_shape(sample_weight, y_pred)
        symbolic = concrete_value(y_true) is None
        if not symbolic:
            if not self.sparse_labels:
                check_binary_labels(y_true)
            check_sample_weight(sample_weight)
        return symbolic

    def update_state(self, y_true, y_pred, sample_weight=None):
        symbolic = self._check(y_true, y_pred, sample_weight)
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        if not self.approximate:
            # NaN > t is False: keep NaN scores NaN instead of counting them as negatives
            y_pred = ops.cast(y_pred > self.threshold, self.dtype) + y_pred * 0.0
        if self.num_labels == 1:
            cm = soft_confusion_matrix(y_true, y_pred, sample_weight=sample_weight)
        else:
            if self.sparse_labels:  # rows of an out-of-range index hold 2: invalid labels
                y_true = one_hot_labels(y_true, self.num_labels, dtype=self.dtype)
                ok = ops.sum(y_true, axis=-1, keepdims=True) == 1
                y_true = ops.where(ok, y_true, ops.full_like(y_true, 2.0))
            cm = label_confusion_matrices(y_true, y_pred, sample_weight=sample_weight)
        # invalid labels or weights inside a compiled step make the cells NaN
        valid = guard_inputs(ops.ones((), self.dtype), y_true, sample_weight) if symbolic \
            else 1.0
        for var, value in zip(self._cells, cm):
            var.assign_add(ops.cast(value, self.dtype) * valid)

    def _score(self, tn, fp, fn, tp):
        return self._fn(tn, fp, fn, tp, zero_division=self.zero_division)

    def result(self):
        if self.num_labels == 1:
            return self._score(*self._cells)
        return cm_metrics.average_over_labels(self._score, *self._cells, average=self.average,
                                              zero_division=self.zero_division)

    def reset_state(self):
        for var in self._cells:
            var.assign(ops.zeros(var.shape, dtype=self.dtype))

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "metric": self.metric,
                "approximate": self.approximate, "threshold": self.threshold,
                "zero_division": self.zero_division, "average": self.average,
                "num_labels": self.num_labels, "sparse_labels": self.sparse_labels}


class _Fixed(ConfusionMatrixMetric):
    metric_name = ""
    approximate_default = True

    def __init__(self, name=None, dtype=None, threshold: float = 0.5, zero_division: float = 0.0,
                 *, average: str | None = "macro", num_labels: int = 1,
                 sparse_labels: bool = False):
        super().__init__(self.metric_name, self.approximate_default, threshold=threshold,
                         zero_division=zero_division, name=name, dtype=dtype, average=average,
                         num_labels=num_labels, sparse_labels=sparse_labels)

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
