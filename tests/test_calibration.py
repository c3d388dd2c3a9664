"""Calibration summaries of cmloss.core.evaluation: reliability bins against a loop and
scikit-learn, the ECE built on them, weighted post-hoc maps, and the one policy for what
is undefined (NaN, never a number that looks like a score)."""

from __future__ import annotations

import numpy as np
import pytest

from cmloss.core.evaluation import (
    CALIBRATION_KEYS,
    ECE_BINS,
    brier_score,
    calibration_summary,
    expected_calibration_error,
    fit_calibrator,
    reliability_bins,
)


def _sample(seed=0, n=600):
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=n)
    y = (rng.uniform(size=n) < p ** 2).astype(np.float64)  # over-confident scores
    return y, p


@pytest.mark.parametrize("n_bins", [1, 4, 15])
def test_reliability_bins_count_right_closed_bins_like_a_loop(n_bins):
    y, p = _sample()
    p[:3] = (0.0, 1.0, 1 / n_bins)  # the edges: 0 in the first bin, 1/n_bins too
    w = np.random.default_rng(1).uniform(0.5, 2.0, size=p.size)
    bins = reliability_bins(y, p, n_bins, sample_weight=w)
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        inside = (p > lo) & (p <= hi) | ((b == 0) & (p == 0))
        expected = [w[inside].sum(), (w * y)[inside].sum(), (w * p)[inside].sum()]
        np.testing.assert_allclose(bins[b], expected, rtol=1e-12, atol=1e-12)
    assert bins[:, 0].sum() == pytest.approx(w.sum())


def test_reliability_bins_give_scikit_learns_calibration_curve_away_from_edges():
    from sklearn.calibration import calibration_curve

    y, p = _sample(2)
    p = np.floor(p * 1000) / 1000 + 5e-4  # no score on a bin edge, where the two conventions differ
    bins = reliability_bins(y, p, 10)
    full = bins[:, 0] > 0
    frac_pos, mean_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    np.testing.assert_allclose(bins[full, 1] / bins[full, 0], frac_pos, rtol=1e-12)
    np.testing.assert_allclose(bins[full, 2] / bins[full, 0], mean_pred, rtol=1e-12)


def test_bins_of_folds_add_up_to_the_bins_of_the_pooled_rows():
    y, p = _sample(3)
    pooled = reliability_bins(y, p)
    parts = reliability_bins(y[:250], p[:250]) + reliability_bins(y[250:], p[250:])
    np.testing.assert_allclose(parts, pooled, rtol=1e-12)
    weight, sum_y, sum_p = pooled.T
    assert expected_calibration_error(y, p) == pytest.approx(
        np.abs(sum_y - sum_p).sum() / weight.sum(), abs=1e-15)


def test_weighted_calibration_map_equals_the_map_of_repeated_rows():
    y, s = _sample(4, n=200)
    counts = np.random.default_rng(5).integers(1, 4, size=s.size)
    for method in ("platt", "isotonic"):
        weighted = fit_calibrator(y, s, method, sample_weight=counts)
        repeated = fit_calibrator(np.repeat(y, counts), np.repeat(s, counts), method)
        grid = np.linspace(0, 1, 101)
        np.testing.assert_allclose(weighted(grid), repeated(grid), atol=1e-5)
    with pytest.raises(ValueError, match="one weight per score"):
        fit_calibrator(y, s, "platt", sample_weight=counts[:-1])


def test_calibration_summary_fits_the_maps_on_validation_and_scores_the_test_rows():
    y, p = _sample(6, n=1200)
    val, test = slice(0, 600), slice(600, None)
    out = calibration_summary(y[test], p[test], y[val], p[val])
    assert set(out) == set(CALIBRATION_KEYS)
    assert out["brier"] == brier_score(y[test], p[test])
    assert out["ece"] == expected_calibration_error(y[test], p[test])
    platt = fit_calibrator(y[val], p[val], "platt")(p[test])
    assert out["brier_platt"] == brier_score(y[test], platt)
    assert out["ece_platt"] == expected_calibration_error(y[test], platt)
    # the scores are over-confident (P(y=1 | p) = p^2): both maps repair most of it
    assert out["ece_isotonic"] < out["ece"] / 2 and out["ece_platt"] < out["ece"]


def test_calibration_summary_is_nan_where_it_is_undefined():
    y, p = _sample(7, n=100)
    linear = calibration_summary(y, p * 3 - 1)  # a linear (MSE) output: not probabilities
    assert all(np.isnan(v) for v in linear.values())
    diverged = calibration_summary(y, np.where(np.arange(100) == 3, np.nan, p))
    assert all(np.isnan(v) for v in diverged.values())
    one_class = calibration_summary(y, p, np.zeros(50), p[:50])
    assert np.isfinite(one_class["brier"]) and np.isnan(one_class["brier_platt"])
    no_validation = calibration_summary(y, p)
    assert np.isfinite(no_validation["ece"]) and np.isnan(no_validation["ece_isotonic"])
    bad_val = calibration_summary(y, p, y[:50], np.full(50, np.inf))
    assert np.isnan(bad_val["brier_isotonic"])


def test_runner_reliability_bins_are_nan_only_for_scores_that_are_not_probabilities():
    from types import SimpleNamespace

    from cmloss.experiments.runner import _reliability

    y, split = np.array([0, 1, 0, 1]), SimpleNamespace(test=np.arange(4))
    linear = _reliability(SimpleNamespace(test_scores=np.array([0.1, 1.5, 0.2, 0.9])), split, y)
    assert linear.shape == (ECE_BINS, 3) and np.isnan(linear).all()
    bins = _reliability(SimpleNamespace(test_scores=np.array([0.1, 0.8, 0.2, 1.0])), split, y)
    assert bins[:, 0].sum() == 4 and bins[:, 1].sum() == 2
    with pytest.raises(ValueError, match="y_true"):  # bad labels are an error, not NaN
        _reliability(SimpleNamespace(test_scores=np.full(4, 0.5)), split, np.array([0, 2, 0, 1]))
