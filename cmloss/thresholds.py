"""Threshold moving: the decision threshold that maximises a metric on held-out scores.

A classifier that outputs scores is turned into decisions by ``score > threshold``. The
0.5 of a sigmoid is one choice; *threshold moving* picks the threshold that maximises a
metric (G-mean, MCC, ...) on validation scores, then applies it to new scores. This module
is the one place that computes it:

* :func:`tune` returns the best threshold and the whole curve (:class:`TunedThreshold`);
* :class:`ThresholdTuning` is a Keras callback that tunes on validation data after every
  epoch and writes the threshold and its value into the logs (so into ``History``);
* :func:`cmloss.core.evaluation.evaluate` accepts a :class:`TunedThreshold` as its ``threshold``.

**Candidates.** The candidate thresholds are the midpoints between consecutive sorted
distinct scores, ``(a + b) / 2`` in float64: every decision ``score > t`` that splits the scores
differently is represented once, and no candidate equals a score away from rounding.
Thresholds below the smallest or above the largest score (everything positive, or
everything negative) are not candidates. Decisions are always ``score > t`` (a score equal
to the threshold is negative), as in :func:`cmloss.core.evaluation.evaluate`.

**Ties.** Among candidates with the best value, the smallest threshold wins (the first in
ascending order, as ``numpy.argmax`` and scikit-learn's ``TunedThresholdClassifierCV``).

**Undefined cases.** NaN or infinite scores raise ``ValueError`` (a diverged network gives
no threshold). ``y_true`` must hold both classes: with one class every metric of the
confusion matrix is constant or undefined in the threshold, so ``ValueError`` is raised.
Scores that take a single value have no midpoint; then the only candidate is that value
(everything negative), and :attr:`TunedThreshold.constant_scores` is ``True`` so that a
caller can see it (the value is what the metric gives to "all negative", e.g. a G-mean of
0). Metric ratios with a zero denominator follow the library's ``zero_division`` policy
(:mod:`cmloss.core.cm_metrics`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["TunedThreshold", "tune", "candidate_thresholds", "ThresholdTuning"]


@dataclass(frozen=True, eq=False)
class TunedThreshold:
    """The result of :func:`tune`.

    Attributes:
        threshold: the best threshold (decide ``score > threshold``).
        value: the metric there.
        metric: the registered metric name.
        thresholds: every candidate, ascending.
        values: the metric at each candidate (the curve).
        constant_scores: whether the scores took a single value (no midpoint: the
            candidate is that value, everything negative).
    """

    threshold: float
    value: float
    metric: str
    thresholds: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    constant_scores: bool = False

    def __float__(self) -> float:
        return float(self.threshold)


def _finite_scores(scores) -> np.ndarray:
    from cmloss.core.evaluation import _float64

    s = _float64(scores)
    bad = ~np.isfinite(s)
    if bad.any():
        raise ValueError(
            f"scores must be finite; got {int(bad.sum())} non-finite of {s.size} "
            f"({int(np.isnan(s).sum())} NaN). A NaN score is not a prediction, so no "
            "threshold is tuned."
        )
    return s


def candidate_thresholds(scores) -> np.ndarray:
    """Midpoints between consecutive sorted distinct scores (float64, ascending); the
    single value itself when the scores are constant. ``ValueError`` on NaN/inf or no
    scores."""
    s = _finite_scores(scores)
    if s.size == 0:
        raise ValueError("scores must hold at least one score; got an empty array.")
    u = np.unique(s)
    if u.size == 1:
        return u
    return (u[:-1] + u[1:]) / 2.0


def _labels(y_true, n: int) -> np.ndarray:
    from cmloss.core.evaluation import _float64

    y = _float64(y_true)
    if y.size != n:
        raise ValueError(f"y_true and scores must have the same size; got {y.size} and {n}.")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"y_true must hold labels in {{0, 1}}; got values {np.unique(y)[:5]}.")
    if y.min() == y.max():
        raise ValueError(
            f"y_true must hold both classes to tune a threshold; got only class {int(y[0])} "
            f"({y.size} labels)."
        )
    return y


def _counts_above(scores, weight, thresholds) -> np.ndarray:
    """Total ``weight`` of the scores ``> t`` for each ``t``."""
    order = np.argsort(scores, kind="stable")
    s, w = scores[order], weight[order]
    cum = np.concatenate([[0.0], np.cumsum(w)])
    below = np.searchsorted(s, thresholds, side="right")  # scores <= t
    return cum[-1] - cum[below]


def tune(y_true, scores, metric: str = "g_mean", *, sample_weight=None,
         zero_division: float = 0.0) -> TunedThreshold:
    """The threshold that maximises ``metric`` of ``score > threshold`` on these scores.

    Args:
        y_true: labels in {0, 1}, both classes present.
        scores: one finite score per label (probabilities, or any real score).
        metric: a registered metric name or alias (:data:`cmloss.core.cm_metrics.METRICS`,
            e.g. ``"g_mean"``, ``"mcc"``, ``"f1"``); smaller-is-better metrics (``"fnr"``,
            ``"fpr"``, ``"e_ratio"``) are minimised.
        sample_weight: optional weight per example (e.g. the multiplicity of a merged
            row): the counts are sums of weights.
        zero_division: value of an undefined ratio, in [0, 1] (library policy).

    Returns:
        A :class:`TunedThreshold` (candidates, ties and undefined cases: module docstring).

    Raises:
        ValueError: NaN/inf scores, labels outside {0, 1} or of one class, sizes that
            differ, an unknown metric, negative weights.

    Example:

    >>> r = tune([0, 0, 1, 1, 0], [0.1, 0.3, 0.35, 0.8, 0.4])
    >>> round(r.threshold, 3), round(r.value, 3), r.thresholds.size
    (0.325, 0.816, 4)
    """
    from keras import ops

    from cmloss.core.cm_metrics import get_metric
    from cmloss.core.validation import check_probability

    spec = get_metric(metric)
    check_probability(zero_division, "zero_division")
    s = _finite_scores(scores)
    y = _labels(y_true, s.size)
    if sample_weight is None:
        w = np.ones_like(s)
    else:
        w = np.asarray(sample_weight, np.float64).reshape(-1)
        if w.shape != s.shape or not np.isfinite(w).all() or (w < 0).any():
            raise ValueError(
                f"sample_weight must hold one finite weight >= 0 per score; got shape "
                f"{w.shape} for {s.size} scores."
            )
    t = candidate_thresholds(s)
    tp = _counts_above(s, w * y, t)
    fp = _counts_above(s, w * (1.0 - y), t)
    fn = float(np.sum(w * y)) - tp
    tn = float(np.sum(w * (1.0 - y))) - fp
    values = np.asarray(
        ops.convert_to_numpy(spec.fn(tn, fp, fn, tp, zero_division=zero_division)), np.float64
    ).reshape(-1)
    best = int(np.argmax(values) if spec.greater_is_better else np.argmin(values))
    return TunedThreshold(
        threshold=float(t[best]),
        value=float(values[best]),
        metric=spec.name,
        thresholds=t,
        values=values,
        constant_scores=bool(t.size == 1 and np.unique(s).size == 1),
    )


def _callback_base():
    import keras

    return keras.callbacks.Callback


class ThresholdTuning(_callback_base()):
    """After every epoch, tune the threshold on validation data and log it.

    Writes ``logs[f"{prefix}threshold"]`` (the best threshold) and
    ``logs[f"{prefix}{metric}_tuned"]`` (the metric there) for every epoch, so that
    ``History.history`` holds them; the attribute ``best`` is the last :class:`TunedThreshold`.

    Args:
        validation_data: ``(x, y)`` (the model's input and labels in {0, 1}).
        metric: a registered metric name (see :func:`tune`).
        prefix: prefix of the log keys (default ``"val_"``).
        batch_size: batch size of the predictions.

    Example::

        tuning = ThresholdTuning((x_val, y_val), metric="g_mean")
        history = model.fit(x, y, epochs=20, callbacks=[tuning])
        history.history["val_threshold"][-1], tuning.best.threshold
    """

    def __init__(self, validation_data, metric: str = "g_mean", prefix: str = "val_",
                 batch_size: int | None = None):
        super().__init__()
        from cmloss.core.cm_metrics import get_metric

        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError(
                "validation_data must be a pair (x, y); got "
                f"{type(validation_data).__name__} of length "
                f"{len(validation_data) if hasattr(validation_data, '__len__') else '?'}."
            )
        self.x, self.y = validation_data
        self.metric = get_metric(metric).name
        self.prefix = prefix
        self.batch_size = batch_size
        self.best: TunedThreshold | None = None

    def on_epoch_end(self, epoch, logs=None):
        scores = self.model.predict(self.x, batch_size=self.batch_size, verbose=0)
        self.best = tune(self.y, np.asarray(scores).reshape(-1), self.metric)
        if logs is not None:
            logs[f"{self.prefix}threshold"] = self.best.threshold
            logs[f"{self.prefix}{self.metric}_tuned"] = self.best.value

    def get_config(self) -> dict:
        return {"metric": self.metric, "prefix": self.prefix, "batch_size": self.batch_size}
