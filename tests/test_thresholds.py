"""cmloss.thresholds (threshold moving) and the calibration helpers of cmloss.core.evaluation,
against brute force and scikit-learn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmloss.core.cm_metrics import METRICS
from cmloss.core.evaluation import (
    brier_score,
    evaluate,
    expected_calibration_error,
    fit_calibrator,
)
from cmloss.thresholds import ThresholdTuning, candidate_thresholds, tune


def _brute_force(y, s, metric, w=None):
    """Every candidate by an explicit loop: counts of ``s > t`` with NumPy."""
    y, s = np.asarray(y, float), np.asarray(s, float)
    w = np.ones_like(s) if w is None else np.asarray(w, float)
    u = np.unique(s)
    ts = u if u.size == 1 else np.array([(a + b) / 2 for a, b in zip(u[:-1], u[1:])])
    values = []
    for t in ts:
        pred = s > t
        tp = np.sum(w[(y == 1) & pred])
        fp = np.sum(w[(y == 0) & pred])
        fn = np.sum(w[(y == 1) & ~pred])
        tn = np.sum(w[(y == 0) & ~pred])
        values.append(float(METRICS[metric].fn(tn, fp, fn, tp)))
    values = np.array(values)
    best = np.argmax(values) if METRICS[metric].greater_is_better else np.argmin(values)
    return ts, values, ts[best]


labelled_scores = st.integers(2, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda y: 0 < sum(y) < n),
        # few distinct values, so ties between scores are common
        st.lists(st.integers(0, 20).map(lambda k: k / 20), min_size=n, max_size=n),
    )
)


@settings(max_examples=60, deadline=None)
@given(labelled_scores, st.sampled_from(sorted(METRICS)))
def test_tune_equals_brute_force(data, metric):
    y, s = data
    r = tune(y, s, metric)
    ts, values, best = _brute_force(y, s, metric)
    np.testing.assert_array_equal(r.thresholds, ts)
    np.testing.assert_array_equal(r.values, values)
    assert r.threshold == best and r.metric == metric
    assert r.value == values[list(ts).index(best)]


@settings(max_examples=30, deadline=None)
@given(labelled_scores, st.data())
def test_weights_are_repeated_rows(data, draw):
    """Integer weights give the counts of the rows repeated (the trainer's merged rows)."""
    y, s = data
    w = draw.draw(st.lists(st.integers(1, 4), min_size=len(y), max_size=len(y)))
    r = tune(y, s, "g_mean", sample_weight=w)
    rep = tune(np.repeat(y, w), np.repeat(s, w), "g_mean")
    np.testing.assert_array_equal(r.thresholds, rep.thresholds)
    np.testing.assert_allclose(r.values, rep.values, rtol=1e-12)


def test_curve_matches_sklearn_gmean_and_mcc():
    from sklearn.metrics import matthews_corrcoef, recall_score

    rng = np.random.default_rng(3)
    y = (rng.random(400) < 0.15).astype(int)
    s = np.clip(0.3 * y + rng.normal(0.3, 0.15, 400), 0, 1)
    g, m = tune(y, s, "g_mean"), tune(y, s, "mcc")
    for i in range(0, g.thresholds.size, 17):
        pred = (s > g.thresholds[i]).astype(int)
        tpr = recall_score(y, pred)
        tnr = recall_score(1 - y, 1 - pred)
        assert g.values[i] == pytest.approx(np.sqrt(tpr * tnr), abs=1e-12)
        assert m.values[i] == pytest.approx(matthews_corrcoef(y, pred), abs=1e-12)


@pytest.mark.parametrize("scoring, metric", [("matthews_corrcoef", "mcc"),
                                             ("balanced_accuracy", "balanced_accuracy"),
                                             ("f1", "f1")])
def test_same_threshold_as_sklearn_tuned_threshold_classifier(scoring, metric):
    """scikit-learn's TunedThresholdClassifierCV on a prefit model, given our candidates
    (it decides ``score >= t``: no score equals a midpoint, so the decisions agree)."""
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import TunedThresholdClassifierCV

    X, y = make_classification(400, weights=[0.9], flip_y=0.05, random_state=0)
    model = LogisticRegression().fit(X, y)
    s = model.predict_proba(X)[:, 1]
    ours = tune(y, s, metric)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cv="prefit" is deprecated in favour of FrozenEstimator
        theirs = TunedThresholdClassifierCV(
            model, scoring=scoring, thresholds=candidate_thresholds(s), cv="prefit", refit=False
        ).fit(X, y)
    assert ours.threshold == theirs.best_threshold_
    assert ours.value == pytest.approx(theirs.best_score_, abs=1e-12)


def test_ties_keep_the_smallest_threshold_and_policies():
    # scores 0.1 | 0.2 | 0.9 with labels 0, 0, 1: thresholds 0.15 and 0.55 both separate?
    # no: 0.15 -> fp = 1; 0.55 -> perfect. Make two equally perfect splits instead:
    r = tune([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], "recall")
    assert r.threshold == pytest.approx(0.15) and r.value == 1.0  # first of the ties
    r = tune([0, 1, 1], [0.5, 0.5, 0.5], "g_mean")
    assert r.constant_scores and r.threshold == 0.5 and r.value == 0.0
    with pytest.raises(ValueError, match="both classes"):
        tune([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="finite"):
        tune([0, 1], [0.2, np.nan])
    with pytest.raises(ValueError, match="metric must be one of"):
        tune([0, 1], [0.2, 0.3], "nope")
    with pytest.raises(ValueError, match="same size"):
        tune([0, 1, 1], [0.2, 0.3])
    assert tune([0, 1], [0.2, 0.3], "fnr").value == 0.0  # minimised


def test_evaluate_accepts_a_tuned_threshold():
    y, s = [0, 0, 1, 1, 0], [0.1, 0.3, 0.35, 0.8, 0.4]
    r = tune(y, s, "g_mean")
    assert evaluate(y, s, threshold=r) == evaluate(y, s, threshold=r.threshold)
    assert evaluate(y, s, threshold=r)["g_mean"] == pytest.approx(r.value)


def test_callback_logs_the_best_validation_threshold_per_epoch():
    import keras

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)).astype("float32")
    y = (X[:, 0] + 0.5 * rng.normal(size=300) > 1.2).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    cb = ThresholdTuning((X[200:], y[200:]), metric="gmean")
    h = model.fit(X[:200], y[:200], epochs=3, verbose=0, callbacks=[cb])
    assert len(h.history["val_threshold"]) == 3 and len(h.history["val_g_mean_tuned"]) == 3
    expected = tune(y[200:], model.predict(X[200:], verbose=0).ravel(), "g_mean")
    assert h.history["val_threshold"][-1] == pytest.approx(expected.threshold)
    assert cb.best.value == pytest.approx(expected.value)
    with pytest.raises(ValueError, match="validation_data"):
        ThresholdTuning(X, "g_mean")


# ------------------------------------------------------------------ calibration
def _ece_by_loop(y, p, n_bins):
    edges = np.linspace(0, 1, n_bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (p > lo) & (p <= hi) if lo > 0 else (p >= lo) & (p <= hi)
        if inside.any():
            total += inside.sum() / p.size * abs(y[inside].mean() - p[inside].mean())
    return total


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.floats(0, 1)), min_size=1, max_size=80),
       st.integers(1, 20))
def test_brier_and_ece_against_sklearn_and_a_loop(pairs, n_bins):
    from sklearn.metrics import brier_score_loss

    y = np.array([a for a, _ in pairs], float)
    p = np.array([b for _, b in pairs], float)
    if 0 < y.sum() < y.size:
        assert brier_score(y, p) == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert expected_calibration_error(y, p, n_bins) == pytest.approx(
        _ece_by_loop(y, p, n_bins), abs=1e-12)


def test_ece_of_a_calibrated_sample_is_small_and_evaluate_reports_both():
    rng = np.random.default_rng(1)
    p = rng.random(20000)
    y = (rng.random(20000) < p).astype(float)
    assert expected_calibration_error(y, p) < 0.02
    assert expected_calibration_error(y, np.clip(p + 0.2, 0, 1)) > 0.15
    out = evaluate(y, p, calibration=True)
    assert out["brier"] == brier_score(y, p) and out["ece"] == expected_calibration_error(y, p)
    assert "brier" not in evaluate(y, p)
    with pytest.raises(ValueError, match="probabilities"):
        brier_score([0, 1], [0.2, 1.5])


def test_platt_keeps_decisions_when_the_threshold_is_mapped_isotonic_does_not_promise():
    rng = np.random.default_rng(2)
    y_val = (rng.random(500) < 0.2).astype(int)
    s_val = np.clip(0.25 * y_val + rng.normal(0.4, 0.15, 500), 0, 1)
    y_test = (rng.random(500) < 0.2).astype(int)
    s_test = np.clip(0.25 * y_test + rng.normal(0.4, 0.15, 500), 0, 1)
    t = tune(y_val, s_val, "g_mean")
    platt = fit_calibrator(y_val, s_val, "platt")
    mapped = platt.map_threshold(t)
    np.testing.assert_array_equal(platt(s_test) > mapped, s_test > t.threshold)
    assert brier_score(y_test, platt(s_test)) <= brier_score(y_test, s_test) + 1e-3
    iso = fit_calibrator(y_val, s_val, "isotonic")
    assert np.all(np.diff(iso(np.sort(s_test))) >= 0)  # monotone, but a step function
    with pytest.raises(ValueError, match="step function"):
        iso.map_threshold(t)
    with pytest.raises(ValueError, match="method"):
        fit_calibrator(y_val, s_val, "beta")
