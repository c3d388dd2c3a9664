"""Keras losses built from the confusion matrix, and threshold-aware BCE and MSE.

Each class is a thin, serializable wrapper around a plain function beside it that does the
math with ``keras.ops`` only (the layout of ``keras/src/losses/losses.py``).

Confusion-matrix losses are **batch-level**: the loss of a batch is
``1 - metric(soft confusion matrix of the batch)``, a single number that does not
decompose into per-example terms. Sample weights (and ``class_weight`` in ``fit``) weight
the examples' contributions to the matrix; ``reduction`` does not apply.

**Undefined batches.** A batch without positives (or without negatives) follows the
policy of :mod:`cmloss.core.cm_metrics`: an undefined ratio takes ``zero_division``
(default 0) with zero gradient, so e.g. ``GMeanLoss`` is 1 with zero gradient on a batch
with no positive. NaN predictions give a NaN loss (``TerminateOnNaN`` fires).

**Invalid inputs.** Labels other than 0/1, negative or non-finite ``sample_weight`` and
several labels per example raise ``ValueError`` on concrete inputs; inside a compiled
``fit`` step the loss becomes NaN (and TensorFlow stops with the message), see
``cmloss.core.validation.guard_inputs``. Call ``cmloss.check_labels`` on your
labels before ``fit``.

**Saturation.** An explicit amplification slope ``L`` that saturates in the loss's dtype
(the paper's ``L = 73`` in float32) warns once per loss object
(:class:`~cmloss.core.soft_steps.SaturationWarning`); the default ``Amplify()`` picks the
largest slope up to 73 that does not.

**Many labels, many classes.** ``y_true`` and ``y_pred`` of shape ``(n, k)`` give ``k``
soft confusion matrices, one per label, each summed over the batch only
(:func:`cmloss.core.confusion.label_confusion_matrices`), and the loss is
``1 - average`` of their metrics with ``average="macro"`` (default: the mean of the
per-label metrics, so a rare label weighs as much as a frequent one), ``"micro"`` (the
metric of the summed cells) or ``"weighted"`` (by label support); see
:func:`cmloss.core.cm_metrics.average_over_labels`. ``average=None`` is refused: a loss is
one number. A multi-class softmax output is the one-vs-rest case: one-hot ``y_true`` of
shape ``(n, k)``, or integer classes of shape ``(n,)`` with ``sparse_labels=True``. With one
label (``(n,)`` or ``(n, 1)``) every ``average`` gives the binary loss, unchanged.

**Mixed precision.** The loss classes compute in their own dtype (``floatx()``, float32,
by default, also under a ``mixed_float16``/``mixed_bfloat16`` global policy: Keras'
convention for losses), and the cells of half-precision inputs are accumulated in
float32 (:mod:`cmloss.core.confusion`), so the loss is float32. The functions
(:func:`confusion_matrix_loss`, ...) compute half-precision scores in float32 as well:
an amplified soft step evaluated in half precision moves the loss of 100,000 rows
by a factor of 3 (float16) to 7 (bfloat16).

**Thresholds.** Every loss takes ``threshold`` (default 0.5): when a model's decision
threshold on ``y_pred`` is ``tau != 0.5`` (a raw ASTra output with fixed slope, for
example), ``threshold=tau`` applies the z-transform (ASTra Eq. 6) first so the loss pivots
at ``tau``. The :class:`cmloss.layers.ASTra` layer outputs z already (its default), so use
the default ``threshold=0.5`` with it.
"""

from __future__ import annotations

import copy
import functools
import math

import keras
from keras import ops

from cmloss.core import backend_ops, cm_metrics, soft_steps
from cmloss.core.astra import z_transform
from cmloss.core.confusion import label_confusion_matrices, one_hot_labels, soft_confusion_matrix
from cmloss.core.validation import (
    check_average,
    check_binary_labels,
    check_class_indices,
    check_probability,
    check_same_size,
    check_sample_weight,
    check_threshold,
    check_weight_shape,
    concrete_value,
    guard_inputs,
    label_count,
)

__all__ = [
    "confusion_matrix_loss", "binary_crossentropy", "mean_squared_error",
    "ConfusionMatrixLoss", "AccuracyLoss", "FBetaLoss", "GMeanLoss", "BalancedAccuracyLoss",
    "MCCLoss", "GMN", "SOL", "BinaryCrossentropy", "MeanSquaredError",
]


def _scores(y_pred, threshold: float, from_logits: bool):
    """Probabilities pivoting at 0.5: sigmoid of logits, then the z-transform if needed.
    Half-precision scores are computed in float32 (the soft step that follows too)."""
    y_pred = ops.convert_to_tensor(y_pred)
    if keras.backend.standardize_dtype(y_pred.dtype) in ("float16", "bfloat16"):
        y_pred = ops.cast(y_pred, "float32")
    if from_logits:
        if threshold != 0.5:
            y_pred = y_pred - math.log(threshold / (1.0 - threshold))
        return ops.sigmoid(y_pred)
    if threshold != 0.5:
        y_pred = z_transform(y_pred, threshold)
    return y_pred


def _metric_fn(metric):
    """Return ``(callable, takes_zero_division)`` for a metric name or callable."""
    if callable(metric):
        return metric, False
    spec = cm_metrics.get_metric(metric)
    if not spec.greater_is_better:
        allowed = sorted(n for n, s in cm_metrics.METRICS.items() if s.greater_is_better)
        raise ValueError(
            f"metric must be a larger-is-better metric, one of {allowed}, or a callable; got "
            f"metric={metric!r}, which is smaller-is-better (a loss 1 - metric would maximise "
            f"it). Use its complement (e.g. 'recall' instead of 'fnr', 'specificity' for 'fpr')."
        )
    return spec.fn, True


def _has_label_axis(y_pred) -> bool:
    """``(n, k)`` with ``k > 1`` known: several labels (or classes) per example."""
    shape = tuple(ops.convert_to_tensor(y_pred).shape)
    return len(shape) == 2 and shape[1] is not None and shape[1] > 1


def _check_labels_options(average, sparse_labels, from_logits):
    check_average(average, allow_none=False)
    if sparse_labels and from_logits:
        raise ValueError(
            "from_logits=True is for sigmoid logits, one per label; with sparse_labels=True "
            "(one class per example) pass softmax probabilities (a softmax output layer) "
            "and from_logits=False.")


def _label_loss(score, y_true, s, sample_weight, average, zero_division, sparse_labels):
    """``1 - average`` of the per-label metrics of ``(n, k)`` soft predictions ``s``."""
    cm = label_confusion_matrices(y_true, s, sample_weight, sparse_labels=sparse_labels)
    return 1.0 - cm_metrics.average_over_labels(score, *cm, average=average,
                                                zero_division=zero_division)


def confusion_matrix_loss(y_true, y_pred, metric="f1", soft_step=None, sample_weight=None, *,
                          threshold: float = 0.5, from_logits: bool = False,
                          zero_division: float = 0.0, axis=None, average: str = "macro",
                          sparse_labels: bool = False):
    """``1 - metric(soft confusion matrix)``: any confusion-matrix metric as a loss.

    Args:
        y_true: labels in {0, 1}.
        y_pred: probabilities (or logits with ``from_logits=True``), one per label.
        metric: a name from :data:`cmloss.core.cm_metrics.METRICS` (larger-is-better
            ones) or a callable ``(tn, fp, fn, tp) -> score`` built from ``keras.ops``.
        soft_step: how scores become soft predictions (:mod:`cmloss.core.soft_steps`);
            ``None`` is the identity (the approximated confusion matrix).
        sample_weight: optional weight per example.
        threshold: decision threshold on ``y_pred`` (z-transform when not 0.5).
        from_logits: whether ``y_pred`` are logits.
        zero_division: value of an undefined ratio (see module docstring).
        axis: reduce over this axis (``None``: all); ``-1`` on ``(K, n)`` gives K losses
            (``average`` then does not apply).
        average: with ``axis=None`` and ``(n, k)`` inputs (``k > 1``), how the ``k``
            per-label metrics are combined: ``"macro"`` (default), ``"micro"`` or
            ``"weighted"`` (module docstring). One label: ignored.
        sparse_labels: ``y_true`` holds integer classes of shape ``(n,)`` for the ``k``
            columns of ``y_pred`` (one-vs-rest; softmax probabilities, not logits).

    Returns:
        The loss, a scalar tensor (or one per leading index when ``axis`` is given).

    Example:

    >>> loss = confusion_matrix_loss([0, 1, 1, 0], [0.2, 0.9, 0.7, 0.4], "f1")
    >>> round(float(loss), 4)
    0.2381
    >>> y, p = [[0, 1], [1, 1], [0, 0]], [[0.2, 0.9], [0.6, 0.4], [0.1, 0.3]]
    >>> round(float(confusion_matrix_loss(y, p, "f1", average="macro")), 4)
    0.3231
    """
    fn, takes_zd = _metric_fn(metric)
    step = soft_steps.get(soft_step)
    s = step(_scores(y_pred, threshold, from_logits))
    if axis is None and (sparse_labels or _has_label_axis(s)):
        _check_labels_options(average, sparse_labels, from_logits)
        score = functools.partial(fn, zero_division=zero_division) if takes_zd else fn
        return _label_loss(score, y_true, s, sample_weight, average, zero_division,
                           sparse_labels)
    cm = soft_confusion_matrix(y_true, s, sample_weight=sample_weight, axis=axis)
    score = fn(*cm, zero_division=zero_division) if takes_zd else fn(*cm)
    return 1.0 - score


def _match_rank(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    if len(y_true.shape) != len(y_pred.shape):
        y_true = ops.reshape(y_true, ops.shape(y_pred))
    return y_true, y_pred


def binary_crossentropy(y_true, y_pred, threshold: float = 0.5, from_logits: bool = False):
    """Binary cross-entropy on the z-transformed prediction (ASTra Eq. 6), mean over the
    last axis (Keras' convention). With ``threshold=0.5`` it is Keras' BCE.

    Example:

    >>> round(float(binary_crossentropy([1.0], [0.25], threshold=0.25)), 4)
    0.6931
    """
    y_true, y_pred = _match_rank(y_true, y_pred)
    if from_logits:
        logits = y_pred
        if threshold != 0.5:
            logits = logits - math.log(threshold / (1.0 - threshold))
        return _bce(y_true, logits, from_logits=True)
    eps = keras.config.epsilon()
    y_pred = ops.clip(y_pred, eps, 1.0 - eps)
    return _bce(y_true, _scores(y_pred, threshold, False), from_logits=False)


def _bce(y_true, y_pred, from_logits):
    """``keras.losses.binary_crossentropy`` (the mean over the last axis of
    ``ops.binary_crossentropy``), with a float64 mean accumulated in float64 on every
    backend (:func:`cmloss.core.backend_ops.mean`)."""
    return backend_ops.mean(ops.binary_crossentropy(y_true, y_pred, from_logits), axis=-1)


def mean_squared_error(y_true, y_pred, threshold: float = 0.5, from_logits: bool = False):
    """Squared error of the z-transformed prediction, mean over the last axis."""
    y_true, y_pred = _match_rank(y_true, y_pred)
    return backend_ops.mean(
        ops.square(_scores(y_pred, threshold, from_logits) - y_true), axis=-1
    )


def _check_common(threshold, zero_division):
    check_threshold(threshold)
    check_probability(zero_division, "zero_division")


def _check_inputs(y_true, y_pred, sample_weight=None, sparse_labels: bool = False) -> bool:
    """Check shapes, and values when they are concrete; return whether they are symbolic
    (a compiled step), in which case the loss is passed through :func:`guard_inputs`."""
    k = label_count(y_pred)
    if sparse_labels:
        check_class_indices(y_true, k)
    else:
        check_same_size(y_true, y_pred)
    if sample_weight is not None:
        if k == 1:
            check_same_size(y_true, sample_weight, ("y_true", "sample_weight"))
        else:
            check_weight_shape(sample_weight, y_pred)
    labels = concrete_value(y_true)
    if labels is None:
        return True
    if not sparse_labels:
        check_binary_labels(labels)
    check_sample_weight(sample_weight)
    return False


def _guarded_labels(y_true, num_classes: int, dtype):
    """One-hot labels of class indices, with the value 2 (an invalid label, which
    :func:`guard_inputs` turns into a NaN loss) in rows whose index was out of range."""
    y = one_hot_labels(y_true, num_classes, dtype=dtype)
    ok = ops.sum(y, axis=-1, keepdims=True) == 1
    return ops.where(ok, y, ops.full_like(y, 2.0))


@keras.saving.register_keras_serializable(package="cmloss")
class ConfusionMatrixLoss(keras.losses.Loss):
    """``1 - metric(CM(soft_step(y_pred)))``: the generic AnyLoss/GMN/SOL loss.

    Args:
        metric: a larger-is-better metric name (``"accuracy"``, ``"f1"``, ``"g_mean"``,
            ``"balanced_accuracy"``, ``"mcc"``, ``"jaccard"``, ``"informedness"``,
            ``"precision"``, ``"recall"``, ``"specificity"``; aliases such as ``"tss"``) or
            a callable ``(tn, fp, fn, tp) -> score`` (register it with
            ``keras.saving.register_keras_serializable`` to save models that use it).
        soft_step: a :class:`~cmloss.core.soft_steps.SoftStep`, its name or config
            (default: AnyLoss amplification ``Amplify()``: L = 73 in float64, 33 in
            float32, see :data:`~cmloss.core.soft_steps.DEFAULT_L`).
        threshold: decision threshold on ``y_pred``; not 0.5 applies the z-transform.
        from_logits: whether ``y_pred`` are logits.
        zero_division: value of an undefined ratio (batch without positives), in [0, 1];
            with several labels it applies to each label.
        average: how the per-label metrics of ``(n, k)`` targets are combined:
            ``"macro"`` (default), ``"micro"`` or ``"weighted"`` (module docstring); with
            one label all three give the binary loss.
        sparse_labels: ``y_true`` holds one integer class per example (shape ``(n,)``)
            for the ``k`` softmax columns of ``y_pred`` (one-vs-rest).
        name: loss name. dtype: computation dtype (default ``keras.config.floatx()``).

    Example:

    >>> loss = ConfusionMatrixLoss("balanced_accuracy", soft_step="identity")
    >>> round(float(loss([0, 1, 1, 0], [0.2, 0.9, 0.7, 0.4])), 4)
    0.25
    >>> multi = ConfusionMatrixLoss("f1", soft_step="identity", average="macro")
    >>> round(float(multi([[0, 1], [1, 1], [0, 0]], [[0.2, 0.9], [0.6, 0.4], [0.1, 0.3]])), 4)
    0.3231
    """

    def __init__(self, metric="f1", soft_step="amplify", *, threshold: float = 0.5,
                 from_logits: bool = False, zero_division: float = 0.0, name=None,
                 reduction="sum_over_batch_size", dtype=None, average: str = "macro",
                 sparse_labels: bool = False):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if isinstance(metric, dict):
            metric = keras.saving.deserialize_keras_object(metric)
        self.metric = metric
        self._fn, self._takes_zd = _metric_fn(metric)
        self.soft_step = soft_steps.get(soft_step)
        soft_steps.warn_if_saturated(self.soft_step, self.dtype, type(self).__name__)
        _check_common(threshold, zero_division)
        self.threshold = float(threshold)
        self.from_logits = bool(from_logits)
        self.zero_division = float(zero_division)
        _check_labels_options(average, sparse_labels, from_logits)
        self.average = average
        self.sparse_labels = bool(sparse_labels)

    def _score(self, cm):
        return self._fn(*cm, zero_division=self.zero_division) if self._takes_zd else self._fn(*cm)

    def __call__(self, y_true, y_pred, sample_weight=None):
        symbolic = _check_inputs(y_true, y_pred, sample_weight, self.sparse_labels)
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        y_true = ops.convert_to_tensor(y_true, dtype=self.dtype)
        if sample_weight is not None:
            sample_weight = ops.convert_to_tensor(sample_weight, dtype=self.dtype)
        s = self.soft_step(_scores(y_pred, self.threshold, self.from_logits))
        if self.sparse_labels or _has_label_axis(s):
            if self.sparse_labels:  # one-hot here, so that guard_inputs sees 0/1 labels
                y_true = _guarded_labels(y_true, label_count(s), self.dtype)
            loss = _label_loss(self._score_cells, y_true, s, sample_weight, self.average,
                               self.zero_division, sparse_labels=False)
        else:
            cm = soft_confusion_matrix(y_true, s, sample_weight=sample_weight)
            loss = 1.0 - self._score(cm)
        return guard_inputs(loss, y_true, sample_weight) if symbolic else loss

    def _score_cells(self, tn, fp, fn, tp):
        return self._score((tn, fp, fn, tp))

    def call(self, y_true, y_pred):
        return self(y_true, y_pred)

    def _base_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold,
                "from_logits": self.from_logits, "zero_division": self.zero_division,
                "average": self.average, "sparse_labels": self.sparse_labels}

    def get_config(self) -> dict:
        metric = self.metric if isinstance(self.metric, str) else \
            keras.saving.serialize_keras_object(self.metric)
        return {**self._base_config(), "metric": metric,
                "soft_step": soft_steps.serialize(self.soft_step)}


class _NamedMetricLoss(ConfusionMatrixLoss):
    """A ConfusionMatrixLoss whose metric is fixed by the class."""

    metric_name = ""
    default_soft_step = "amplify"

    def __init__(self, soft_step=None, **kwargs):
        super().__init__(self.metric_name,
                         self.default_soft_step if soft_step is None else soft_step, **kwargs)

    def get_config(self) -> dict:
        return {**self._base_config(), "soft_step": soft_steps.serialize(self.soft_step)}


@keras.saving.register_keras_serializable(package="cmloss")
class AccuracyLoss(_NamedMetricLoss):
    """AnyLoss for accuracy: ``1 - (TP + TN) / n`` on the amplified soft matrix.

    With ``P = sum y``, ``S = sum A``, ``T = sum y A``: ``accuracy = (n - P - S + 2T) / n``.
    """

    metric_name = "accuracy"


@keras.saving.register_keras_serializable(package="cmloss")
class FBetaLoss(ConfusionMatrixLoss):
    """AnyLoss for F-beta: ``1 - (1 + b^2) T / (b^2 P + S)``.

    Args:
        beta: weight of recall relative to precision, > 0 (1 gives F1).
        soft_step: default AnyLoss amplification ``Amplify()`` (L per dtype).
    """

    def __init__(self, beta: float = 1.0, soft_step=None, **kwargs):
        from cmloss.core.validation import check_positive

        self.beta = check_positive(beta, "beta")
        fn = _FBeta(self.beta)
        super().__init__(fn, "amplify" if soft_step is None else soft_step, **kwargs)
        self._takes_zd = True

    def get_config(self) -> dict:
        return {**self._base_config(), "beta": self.beta,
                "soft_step": soft_steps.serialize(self.soft_step)}


class _FBeta:
    def __init__(self, beta: float):
        self.beta = beta

    def __call__(self, tn, fp, fn, tp, zero_division=0.0):
        return cm_metrics.f_beta(tn, fp, fn, tp, beta=self.beta, zero_division=zero_division)


@keras.saving.register_keras_serializable(package="cmloss")
class GMeanLoss(_NamedMetricLoss):
    """AnyLoss for the G-mean: ``1 - sqrt(T (n - S - P + T) / (P (n - P)))``."""

    metric_name = "g_mean"


@keras.saving.register_keras_serializable(package="cmloss")
class BalancedAccuracyLoss(_NamedMetricLoss):
    """AnyLoss for balanced accuracy: ``1 - (n (T + P) - P (S + P)) / (2 P (n - P))``."""

    metric_name = "balanced_accuracy"


@keras.saving.register_keras_serializable(package="cmloss")
class MCCLoss(_NamedMetricLoss):
    """AnyLoss for the Matthews correlation: ``1 - MCC`` (in [0, 2])."""

    metric_name = "mcc"


@keras.saving.register_keras_serializable(package="cmloss")
class GMN(_NamedMetricLoss):
    """GMN loss (Twomey and Gorse; ASTra Eq. 9): ``1 - sqrt(TN_apx TP_apx / (m0 m1))``.

    The G-mean of the approximated confusion matrix (identity soft step, Eq. 8). Use it on
    the z output of :class:`cmloss.layers.ASTra` for GMN-ASTra.

    Example:

    >>> round(float(GMN()([0, 0, 1, 1], [0.1, 0.3, 0.8, 0.6])), 4)
    0.2517
    """

    metric_name = "g_mean"
    default_soft_step = "identity"


@keras.saving.register_keras_serializable(package="cmloss")
class SOL(ConfusionMatrixLoss):
    """Score-Oriented Loss (Marchetti et al.): ``1 - metric`` of the expected confusion
    matrix under a raised-cosine threshold distribution on ``[mu - delta, mu + delta]``.

    Args:
        metric: larger-is-better metric name or callable (default ``"f1"``).
        mu: centre of the threshold distribution (default 0.5).
        delta: its half-width (default 0.1).
    """

    def __init__(self, metric="f1", mu: float = 0.5, delta: float = 0.1, **kwargs):
        kwargs.pop("soft_step", None)
        super().__init__(metric, soft_steps.CosineThreshold(mu=mu, delta=delta), **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("soft_step")
        return {**config, "mu": self.soft_step.mu, "delta": self.soft_step.delta}


# Keras' reductions that end in a division by a count or a weight sum.
_MEAN_REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight")


class _ThresholdedPerSample(keras.losses.Loss):
    fn = None

    def __init__(self, threshold: float = 0.5, from_logits: bool = False, name=None,
                 reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        check_threshold(threshold)
        self.threshold = float(threshold)
        self.from_logits = bool(from_logits)

    def __call__(self, y_true, y_pred, sample_weight=None):
        symbolic = _check_inputs(y_true, y_pred, sample_weight)
        if (self.reduction in _MEAN_REDUCTIONS and backend_ops.float64_demoted(self.dtype)
                and getattr(y_pred, "_keras_mask", None) is None):
            loss = self._mean_keeping_float64(y_true, y_pred, sample_weight)
        else:
            loss = super().__call__(y_true, y_pred, sample_weight)
        return guard_inputs(loss, y_true, sample_weight) if symbolic else loss

    def _mean_keeping_float64(self, y_true, y_pred, sample_weight):
        """Keras' mean reductions with the last division in float64.

        Keras ends them with ``ops.divide_no_nan(sum, count)``, which on PyTorch computes a
        float64 loss in float32 (see :mod:`cmloss.core.backend_ops`). Here Keras weighs the
        per-sample values (reduction ``"none"``, on a copy of this loss) and the same sum
        and division follow, through :func:`cmloss.core.backend_ops.divide_no_nan`. Inputs
        carrying a Keras mask keep Keras' own path (the mask changes the count).
        """
        unreduced = copy.copy(self)
        unreduced.reduction = "none"
        weighted = keras.losses.Loss.__call__(unreduced, y_true, y_pred, sample_weight)
        if len(weighted.shape) == 0:  # Keras returns a scalar unreduced
            return weighted
        if self.reduction == "mean_with_sample_weight" and sample_weight is not None:
            count = ops.sum(ops.convert_to_tensor(sample_weight, dtype=self.dtype))
        else:
            count = ops.convert_to_tensor(math.prod(weighted.shape), dtype=self.dtype)
        return backend_ops.divide_no_nan(ops.sum(weighted), count)

    def call(self, y_true, y_pred):
        return type(self).fn(y_true, y_pred, threshold=self.threshold,
                             from_logits=self.from_logits)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction, "dtype": self.dtype,
                "threshold": self.threshold, "from_logits": self.from_logits}


@keras.saving.register_keras_serializable(package="cmloss")
class BinaryCrossentropy(_ThresholdedPerSample):
    """Binary cross-entropy that pivots at ``threshold`` through the z-transform.

    ``threshold=0.5`` (default) is Keras' ``BinaryCrossentropy``; use it on the z output
    of :class:`cmloss.layers.ASTra` for BCE-ASTra. ``threshold=tau`` is for predictions
    whose decision threshold is ``tau`` (e.g. an ASTra layer with ``output="astra"`` and
    a frozen slope).
    """

    fn = staticmethod(binary_crossentropy)


@keras.saving.register_keras_serializable(package="cmloss")
class MeanSquaredError(_ThresholdedPerSample):
    """Mean squared error of the z-transformed prediction (pivot at ``threshold``)."""

    fn = staticmethod(mean_squared_error)
