"""Evaluate scores at a threshold: every registered metric as a Python float, and the
calibration of probability scores (Brier score, expected calibration error, post-hoc
Platt / isotonic calibration)."""

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

__all__ = [
    "evaluate",
    "brier_score",
    "expected_calibration_error",
    "reliability_bins",
    "are_probabilities",
    "ECE_BINS",
    "Calibrator",
    "fit_calibrator",
    "CALIBRATION_KEYS",
    "calibration_summary",
]

ECE_BINS = 15
"""Default number of equal-width bins of :func:`expected_calibration_error`."""


def evaluate(y_true, y_score, threshold=0.5, sample_weight=None,
             zero_division: float = 0.0, calibration: bool = False) -> dict[str, float]:
    """Count ``y_score > threshold`` against ``y_true`` and compute every metric.

    Args:
        y_true: labels in {0, 1}.
        y_score: scores, one per label (probabilities, or an ASTra layer's z output).
        threshold: decision threshold, in (0, 1), or a tuned threshold
            (:class:`cmloss.thresholds.TunedThreshold`, e.g. from validation scores).
        sample_weight: optional weight per example.
        zero_division: value of an undefined ratio, in [0, 1].
        calibration: also return ``"brier"`` (:func:`brier_score`) and ``"ece"``
            (:func:`expected_calibration_error`, :data:`ECE_BINS` bins) of the scores,
            which must then be probabilities in [0, 1].

    Returns:
        ``{"tn", "fp", "fn", "tp"}`` counts and every metric of
        :data:`cmloss.core.cm_metrics.METRICS`, as floats (and ``"brier"``, ``"ece"``
        with ``calibration=True``).

    Raises:
        ValueError: if a score is NaN or infinite (a diverged network: ``NaN > t`` would
            count it as a negative), or the labels or weights are invalid.

    Example:

    >>> r = evaluate([0, 0, 1, 1], [0.1, 0.6, 0.8, 0.3])
    >>> r["tp"], r["fp"], r["recall"], r["mcc"]
    (1.0, 1.0, 0.5, 0.0)
    """
    threshold = check_threshold(getattr(threshold, "threshold", threshold))
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
    if calibration:
        out["brier"] = brier_score(y, scores, sample_weight=w)
        out["ece"] = expected_calibration_error(y, scores, sample_weight=w)
    return out


def _float64(x) -> np.ndarray:
    """``x`` as a flat float64 array (a tensor of any backend; lists not via float32)."""
    if not isinstance(x, (list, tuple, np.ndarray, float, int)):
        x = ops.convert_to_numpy(x)
    return np.asarray(x, np.float64).reshape(-1)


def are_probabilities(scores) -> bool:
    """Whether ``scores`` are finite and within [0, 1], as the calibration measures need
    (a linear output, or a diverged network's NaN, is not).

    >>> are_probabilities([0.0, 0.5, 1.0]), are_probabilities([0.2, float("nan")])
    (True, False)
    """
    p = _float64(scores)
    return bool(np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all())


def _probabilities(y_true, y_prob, sample_weight):
    y = np.asarray(y_true, np.float64).reshape(-1)
    p = _float64(y_prob)
    if y.size != p.size:
        raise ValueError(f"y_true and y_prob must have the same size; got {y.size} and {p.size}.")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"y_true must hold labels in {{0, 1}}; got values {np.unique(y)[:5]}.")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError(
            "y_prob must hold probabilities in [0, 1]; got min "
            f"{np.nanmin(p) if p.size else 'none'}, max {np.nanmax(p) if p.size else 'none'}"
            f", {int(np.isnan(p).sum())} NaN."
        )
    w = np.ones_like(p) if sample_weight is None else np.asarray(sample_weight, np.float64)
    check_sample_weight(w)
    if w.shape != p.shape:
        raise ValueError(f"sample_weight must have one weight per score; got {w.shape}.")
    return y, p, w


def brier_score(y_true, y_prob, sample_weight=None) -> float:
    """Brier score ``sum(w (p - y)^2) / sum(w)`` (mean squared error of the probability;
    0 is perfect; scikit-learn's ``brier_score_loss``).

    >>> brier_score([0, 1, 1], [0.1, 0.9, 0.4])
    0.12666666666666668
    """
    y, p, w = _probabilities(y_true, y_prob, sample_weight)
    return float(np.sum(w * (p - y) ** 2) / np.sum(w))


def reliability_bins(y_true, y_prob, n_bins: int = ECE_BINS, sample_weight=None) -> np.ndarray:
    """The reliability diagram's raw material: for each of ``n_bins`` equal-width bins of
    [0, 1], its weight, weighted sum of labels and weighted sum of probabilities.

    Bin ``b`` holds ``b/n_bins < p <= (b+1)/n_bins``, and the first bin also ``p = 0``
    (right-closed bins, as the reliability curve of scikit-learn's
    ``calibration_curve(strategy="uniform")`` up to its left-closed edges). Sums, not
    means, so the bins of several folds add up: the diagram of pooled folds plots
    ``sum_y / weight`` against ``sum_p / weight`` per non-empty bin.

    Returns:
        An ``(n_bins, 3)`` float64 array of ``(weight, sum_y, sum_p)``.

    >>> reliability_bins([0, 1, 1], [0.1, 0.9, 0.4], n_bins=2)
    array([[2. , 1. , 0.5],
           [1. , 1. , 0.9]])
    """
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be an int >= 1; got n_bins={n_bins!r}.")
    y, p, w = _probabilities(y_true, y_prob, sample_weight)
    bins = np.clip(np.ceil(p * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    return np.stack([np.bincount(bins, weights=v, minlength=n_bins)
                     for v in (w, w * y, w * p)], axis=1)


def expected_calibration_error(y_true, y_prob, n_bins: int = ECE_BINS,
                               sample_weight=None) -> float:
    """Expected calibration error of positive-class probabilities.

    ``ECE = sum_b (n_b / n) |mean(y in b) - mean(p in b)|`` over the ``n_bins`` bins of
    :func:`reliability_bins`; empty bins contribute 0. This is the binary
    (positive-class) ECE, not the top-label ECE of multi-class calibration papers.

    >>> round(expected_calibration_error([0, 1, 1, 0], [0.2, 0.7, 0.9, 0.6], n_bins=2), 3)
    0.1
    """
    weight, sum_y, sum_p = reliability_bins(y_true, y_prob, n_bins, sample_weight).T
    return float(np.sum(np.abs(sum_y - sum_p)) / np.sum(weight))


class Calibrator:
    """A fitted post-hoc calibration map ``score -> probability`` (:func:`fit_calibrator`).

    Attributes:
        method: ``"platt"`` or ``"isotonic"``.
        model: the fitted scikit-learn estimator.
    """

    def __init__(self, method: str, model):
        self.method = method
        self.model = model

    def __call__(self, scores) -> np.ndarray:
        """Calibrated probabilities of ``scores``."""
        s = np.asarray(scores, np.float64).reshape(-1)
        if self.method == "platt":
            return self.model.predict_proba(s[:, None])[:, 1]
        return self.model.predict(s)

    def map_threshold(self, threshold) -> float:
        """The threshold on calibrated probabilities that makes the same decisions as
        ``score > threshold`` on raw scores, for a strictly increasing map (Platt with a
        positive slope): ``calibrated(threshold)``. Isotonic regression is a step
        function, which merges scores into plateaus: there is no such threshold in
        general (decisions inside a plateau that holds ``threshold`` change), so
        ``ValueError`` is raised for it; so is a Platt map with a slope <= 0."""
        t = float(getattr(threshold, "threshold", threshold))
        if self.method != "platt":
            raise ValueError(
                "map_threshold needs a strictly increasing calibration map; isotonic "
                "regression is a step function: decide on the raw scores instead."
            )
        if float(self.model.coef_.ravel()[0]) <= 0:
            raise ValueError("the Platt map has a slope <= 0 (decreasing): scores are "
                             "anti-correlated with the labels on the calibration rows.")
        return float(self(np.array([t]))[0])


def fit_calibrator(y_true, scores, method: str = "platt", sample_weight=None) -> Calibrator:
    """Fit a post-hoc calibration map on held-out (validation) scores.

    * ``"platt"``: logistic regression of the label on the score (scikit-learn
      ``LogisticRegression(C=1e12)``, nearly unregularised), ``sigmoid(a s + c)``: strictly
      increasing for ``a > 0``, so decisions are unchanged when the threshold is mapped
      (:meth:`Calibrator.map_threshold`);
    * ``"isotonic"``: ``IsotonicRegression(out_of_bounds="clip")``, non-decreasing and
      piecewise constant: it ties scores, so some decisions can change at any threshold.

    ``sample_weight`` (optional, one weight per score) weights the fit, e.g. the
    multiplicities of merged validation rows
    (``MemberResult.validation_weights`` of the trainer).

    Raises ``ValueError`` for NaN/inf scores, one class only, or another ``method``.
    """
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    if method not in ("platt", "isotonic"):
        raise ValueError(f"method must be 'platt' or 'isotonic'; got method={method!r}.")
    y = np.asarray(y_true, np.float64).reshape(-1)
    s = np.asarray(scores, np.float64).reshape(-1)
    if s.size != y.size or not np.isfinite(s).all():
        raise ValueError(f"scores must be {y.size} finite values; got {s.size} "
                         f"({int((~np.isfinite(s)).sum())} non-finite).")
    if np.unique(y).size != 2:
        raise ValueError("y_true must hold both classes to fit a calibration map.")
    w = None
    if sample_weight is not None:
        check_sample_weight(sample_weight)
        w = np.asarray(sample_weight, np.float64).reshape(-1)
        if w.size != s.size:
            raise ValueError(f"sample_weight must have one weight per score; got {w.size} "
                             f"weights for {s.size} scores.")
    if method == "platt":
        model = LogisticRegression(C=1e12, max_iter=1000).fit(s[:, None], y, sample_weight=w)
    else:
        model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(
            s, y, sample_weight=w)
    return Calibrator(method, model)


CALIBRATION_KEYS = ("brier", "ece", "brier_platt", "ece_platt", "brier_isotonic",
                    "ece_isotonic")
"""Keys of :func:`calibration_summary` (and calibration columns of the experiments' CSVs)."""


def calibration_summary(y_test, test_scores, y_val=None, val_scores=None,
                        val_weights=None) -> dict[str, float]:
    """Brier score and ECE of test scores, as they are and after a post-hoc map fitted on
    validation scores (:func:`fit_calibrator`, Platt and isotonic).

    One policy for what is undefined: every value is NaN when the test scores are not
    probabilities (a linear output outside [0, 1], or non-finite scores of a diverged
    network); the post-hoc values are NaN without validation scores, with non-finite
    ones, or when the validation labels hold one class only (no map can be fitted).

    Args:
        y_test, test_scores: labels in {0, 1} and scores of the test rows.
        y_val, val_scores, val_weights: labels, scores and (optional) row weights of the
            validation rows the maps are fitted on.

    Returns:
        ``{key: float}`` for every key of :data:`CALIBRATION_KEYS`.

    >>> out = calibration_summary([0, 1, 1, 0], [0.2, 0.7, 0.9, 0.6])
    >>> round(out["brier"], 3), bool(np.isnan(out["brier_platt"]))
    (0.125, True)
    """
    out = dict.fromkeys(CALIBRATION_KEYS, float("nan"))
    if not are_probabilities(test_scores):
        return out
    p = _float64(test_scores)
    out["brier"] = brier_score(y_test, p)
    out["ece"] = expected_calibration_error(y_test, p)
    if val_scores is None:
        return out
    s, yv = _float64(val_scores), _float64(y_val)
    if s.size == 0 or not np.isfinite(s).all() or np.unique(yv).size != 2:
        return out
    for method in ("platt", "isotonic"):
        calibrated = fit_calibrator(yv, s, method, sample_weight=val_weights)(p)
        out[f"brier_{method}"] = brier_score(y_test, calibrated)
        out[f"ece_{method}"] = expected_calibration_error(y_test, calibrated)
    return out
