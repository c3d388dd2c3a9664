"""Tests of cmloss.stats: the Bayesian wrappers' sign convention, seed and degenerate-input
policy, the correlated t-test against an independent computation, the published tables,
and the table builders."""

from __future__ import annotations

import ast
import doctest
import math
from pathlib import Path

import baycomp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from cmloss.stats import (
    BayesResult,
    compare_pairs,
    correlated_t_test,
    format_mean_std,
    published,
    side_by_side,
    sign_test,
    summarise_folds,
    to_html,
    to_markdown,
    wide_layout,
    win_tie_loss,
)
from cmloss.stats import bayesian as bayesian_module
from cmloss.stats import tables as tables_module

RNG = np.random.default_rng(12345)
BASE = RNG.uniform(0.5, 0.9, 50)
NOISE = RNG.normal(0.0, 0.03, 50)


def _probs(r: BayesResult) -> tuple[float, float, float]:
    return r.p_a_better, r.p_rope, r.p_b_better


# ------------------------------------------------------------------ sign convention
def test_t_test_a_clearly_better():
    r = correlated_t_test(BASE + 0.1 + NOISE, BASE, runs=10, names=("GMN", "BCE"))
    assert r.p_a_better > 0.95
    assert r.decision() == "a" and r.winner() == "GMN"
    assert r.test == "correlated_t" and r.n == 50 and r.rope == 0.01
    assert r.mean_a > r.mean_b
    assert sum(_probs(r)) == pytest.approx(1.0)


def test_sign_test_a_clearly_better():
    b = RNG.uniform(0.5, 0.8, 10)
    r = sign_test(b + 0.05, b, names=("AnyLoss-F1", "BCE"))
    assert r.counts == (10, 0, 0)
    assert r.p_a_better > 0.95
    assert r.decision() == "a" and r.winner() == "AnyLoss-F1"
    assert r.test == "sign" and r.n == 10


def test_swapping_swaps_probabilities():
    a, b = BASE + 0.02 + NOISE, BASE
    r, s = correlated_t_test(a, b), correlated_t_test(b, a)
    assert s.p_a_better == pytest.approx(r.p_b_better, abs=1e-12)
    assert s.p_b_better == pytest.approx(r.p_a_better, abs=1e-12)
    assert s.p_rope == pytest.approx(r.p_rope, abs=1e-12)
    # The sign test is Monte Carlo: reversed Dirichlet parameters draw different numbers.
    x = np.array([0.9, 0.8, 0.7, 0.75, 0.6, 0.82])
    y = np.array([0.85, 0.805, 0.72, 0.70, 0.58, 0.83])
    r, s = sign_test(x, y), sign_test(y, x)
    assert s.counts == r.counts[::-1]
    assert s.p_a_better == pytest.approx(r.p_b_better, abs=0.01)
    assert s.p_b_better == pytest.approx(r.p_a_better, abs=0.01)
    sw = r.swapped()
    assert (sw.method_a, sw.method_b) == (r.method_b, r.method_a)
    assert _probs(sw) == _probs(r)[::-1]


def test_wrappers_match_baycomp_left_is_a():
    """baycomp's 'left' (first argument better) is our p_a_better."""
    a, b = BASE + 0.015 + NOISE, BASE
    assert _probs(correlated_t_test(a, b, runs=10)) == pytest.approx(
        baycomp.two_on_single(a, b, rope=0.01, runs=10), abs=1e-12)
    x = RNG.uniform(0.5, 0.9, 12)
    y = x + RNG.choice([-0.05, 0.0, 0.05], 12)
    ours = sign_test(x, y, seed=7)
    ref = baycomp.SignTest.probs(x, y, rope=0.01, prior=1.0, random_state=7)
    assert _probs(ours) == pytest.approx(ref, abs=1e-12)
    # prior placed on a's side means baycomp's LEFT
    ours = sign_test(x, y, prior=2.0, prior_place="a", seed=3)
    ref = baycomp.SignTest.probs(x, y, rope=0.01, prior=(2.0, baycomp.SignTest.LEFT),
                                 random_state=3)
    assert _probs(ours) == pytest.approx(ref, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=10, max_size=10),
       st.lists(st.floats(-1, 1), min_size=10, max_size=10),
       st.sampled_from([0.0, 0.01, 0.1]))
def test_t_test_probabilities_are_a_distribution_and_antisymmetric(a, b, rope):
    r = correlated_t_test(a, b, rope=rope, runs=2)
    s = correlated_t_test(b, a, rope=rope, runs=2)
    p = np.array(_probs(r))
    assert np.all(np.isfinite(p)) and np.all(p >= 0) and np.all(p <= 1)
    assert p.sum() == pytest.approx(1.0)
    assert _probs(s) == pytest.approx(_probs(r)[::-1], abs=1e-9)


# ------------------------------------------------------------------ seed
def test_sign_test_is_reproducible_with_the_seed():
    x = np.array([0.9, 0.8, 0.7, 0.75, 0.6, 0.82])
    y = np.array([0.85, 0.805, 0.72, 0.70, 0.58, 0.83])
    r1 = sign_test(x, y, keep_samples=True)
    r2 = sign_test(x, y, keep_samples=True)
    assert r1 == r2  # samples are not compared; check them separately
    np.testing.assert_array_equal(r1.samples, r2.samples)
    assert r1.samples.shape == (50_000, 3)
    r3 = sign_test(x, y, seed=1)
    assert _probs(r3) != _probs(r1)
    assert _probs(r3) == pytest.approx(_probs(r1), abs=0.02)


def test_t_test_samples_are_seeded_and_follow_the_posterior():
    a, b = BASE + 0.02 + NOISE, BASE
    r1 = correlated_t_test(a, b, keep_samples=True, seed=5)
    r2 = correlated_t_test(a, b, keep_samples=True, seed=5)
    np.testing.assert_array_equal(r1.samples, r2.samples)
    assert r1.samples.shape == (50_000,)
    assert np.mean(r1.samples > r1.rope) == pytest.approx(r1.p_a_better, abs=0.01)
    assert correlated_t_test(a, b).samples is None


# ------------------------------------------------------------------ correlated t-test
def _posterior_direct(a, b, rope, k, test_train_ratio=None):
    """Student posterior of mean(a - b) with the Nadeau-Bengio corrected variance,
    written from Corani and Benavoli (2015): rho = 1/k, var = s^2 (1/n + rho/(1 - rho))."""
    d = np.asarray(a) - np.asarray(b)
    n = d.size
    rho = 1.0 / k
    factor = rho / (1.0 - rho) if test_train_ratio is None else test_train_ratio
    scale = math.sqrt(np.var(d, ddof=1) * (1.0 / n + factor))
    post = sps.t(df=n - 1, loc=d.mean(), scale=scale)
    p_a, p_b = post.sf(rope), post.cdf(-rope)
    return p_a, 1.0 - p_a - p_b, p_b


@pytest.mark.parametrize("shift", [-0.03, 0.0, 0.004, 0.012, 0.05])
def test_t_test_equals_independent_posterior(shift):
    a, b = BASE + shift + NOISE, BASE
    r = correlated_t_test(a, b, rope=0.01, runs=10)
    assert _probs(r) == pytest.approx(_posterior_direct(a, b, 0.01, k=5), abs=1e-12)
    r = correlated_t_test(a, b, rope=0.01, runs=5)  # 5 runs of 10-fold CV
    assert _probs(r) == pytest.approx(_posterior_direct(a, b, 0.01, k=10), abs=1e-12)
    # ASTra split: 3 folds train, 1 validates, 1 tests -> n_test / n_train = 1/3
    r = correlated_t_test(a, b, rope=0.01, runs=10, test_train_ratio=1 / 3)
    assert _probs(r) == pytest.approx(_posterior_direct(a, b, 0.01, 5, 1 / 3), abs=1e-12)


def test_t_test_without_rope():
    a, b = BASE + 0.005 + NOISE, BASE
    r = correlated_t_test(a, b, rope=0.0)
    assert r.p_rope == 0.0
    assert r.p_a_better == pytest.approx(_posterior_direct(a, b, 0.0, 5)[0], abs=1e-12)


# ------------------------------------------------------------------ rope and degenerate
def test_identical_inputs_put_all_mass_on_the_rope():
    for rope in (0.0, 0.01):
        r = correlated_t_test(BASE, BASE, rope=rope)
        assert _probs(r) == (0.0, 1.0, 0.0)
        assert "identical" in r.note and r.decision() == "rope"
        s = sign_test(BASE[:10], BASE[:10], rope=rope)
        assert s.counts == (0, 10, 0)
        assert s.p_rope > 0.99 and s.decision() == "rope"
        assert "identical" in s.note


def test_small_differences_fall_in_the_rope():
    b = RNG.uniform(0.5, 0.9, 20)
    a = b + RNG.uniform(-0.004, 0.004, 20)
    assert sign_test(a, b).p_rope > 0.95
    a50 = BASE + RNG.uniform(-0.004, 0.004, 50)
    assert correlated_t_test(a50, BASE).p_rope > 0.95


def test_zero_variance_difference_is_a_point_mass():
    r = correlated_t_test(np.full(50, 0.9), np.full(50, 0.0))
    assert _probs(r) == (1.0, 0.0, 0.0) and "zero variance" in r.note
    r = correlated_t_test(np.full(50, 0.0), np.full(50, 0.9))
    assert _probs(r) == (0.0, 0.0, 1.0)
    r = correlated_t_test(BASE + 0.005, BASE)  # constant difference inside the rope
    assert r.p_rope == pytest.approx(1.0)
    r = correlated_t_test(np.full(50, 0.93), np.full(50, 0.92))  # on the rope's edge
    assert _probs(r) == (0.0, 1.0, 0.0)


def test_rope_boundary_is_not_decided_by_float_rounding():
    a, b = np.full(5, 0.93), np.full(5, 0.92)  # 0.93 - 0.92 = 0.010000000000000009
    assert sign_test(a, b).counts == (0, 5, 0)
    assert sign_test(b, a).counts == (0, 5, 0)
    assert sign_test(a + 1e-6, b).counts == (5, 0, 0)


@pytest.mark.parametrize("a, b, kwargs, match", [
    ([0.1, np.nan, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], {}, r"'a' has 1 non-finite.*\[1\]"),
    ([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, np.inf, 0.4], {}, "'b' has 1 non-finite"),
    ([0.1, 0.2, 0.3], [0.1, 0.2], {}, "same length"),
    ([0.1], [0.2], {}, "at least 2"),
    ([[0.1, 0.2]], [[0.1, 0.2]], {}, "1-dimensional"),
    ([0.1, 0.2], [0.1, 0.3], {"rope": -0.1}, "rope"),
])
def test_invalid_inputs_raise(a, b, kwargs, match):
    for test in (correlated_t_test, sign_test):
        extra = {"runs": 1} if test is correlated_t_test else {}
        with pytest.raises(ValueError, match=match):
            test(a, b, **kwargs, **extra)


def test_t_test_run_structure_is_checked():
    with pytest.raises(ValueError, match="divisible"):
        correlated_t_test(BASE[:49], BASE[:49] + 0.1, runs=10)
    with pytest.raises(ValueError, match="at least 2 folds"):
        correlated_t_test(BASE[:10], BASE[:10] + NOISE[:10], runs=10)  # baycomp: 1/0
    with pytest.raises(ValueError, match="positive integer"):
        correlated_t_test(BASE, BASE, runs=0)
    with pytest.raises(ValueError, match="prior_place"):
        sign_test(BASE, BASE, prior_place="left")
    with pytest.raises(ValueError, match="threshold"):
        correlated_t_test(BASE, BASE).decision(0.4)


def test_decision_thresholds():
    r = BayesResult("A", "B", 0.9, 0.08, 0.02, 50, 0.01, "correlated_t")
    assert r.decision() == "undecided" and r.winner() == "undecided"
    assert r.decision(0.9) == "a" and r.winner(0.9) == "A"
    r = BayesResult("A", "B", 0.01, 0.02, 0.97, 50, 0.01, "correlated_t")
    assert r.winner() == "B"
    assert r.as_dict()["decision"] == "b"


# ------------------------------------------------------------------ compare_pairs
def _results_table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for ds, level in (("d1", 0.6), ("d2", 0.7), ("d3", 0.8)):
        base = rng.uniform(level - 0.1, level + 0.1, 50)
        for method, shift in (("BCE", 0.0), ("GMN", 0.08), ("GMN-ASTra", 0.0)):
            vals = base + shift + (rng.normal(0, 0.02, 50) if method != "GMN-ASTra" else 0)
            for i, v in enumerate(vals):
                rows.append({"dataset": ds, "method": method, "repeat": i // 5,
                             "fold": i % 5, "g_mean": v, "mcc": v - 0.1})
    return pd.DataFrame(rows)


def test_compare_pairs_correlated_t_per_dataset():
    table = _results_table()
    out = compare_pairs(table, [("GMN", "BCE"), ("BCE", "GMN-ASTra")], "g_mean",
                        test="correlated_t")
    assert len(out) == 6 and set(out["dataset"]) == {"d1", "d2", "d3"}
    gmn = out[out["method_a"] == "GMN"]
    assert (gmn["decision"] == "a").all() and (gmn["winner"] == "GMN").all()
    assert (gmn["n"] == 50).all()
    # same as a direct call on the aligned fold results (runs inferred = 10 repeats)
    d1 = table[table["dataset"] == "d1"].sort_values(["repeat", "fold"])
    direct = correlated_t_test(d1[d1.method == "GMN"]["g_mean"].to_numpy(),
                               d1[d1.method == "BCE"]["g_mean"].to_numpy(), runs=10)
    row = gmn[gmn["dataset"] == "d1"].iloc[0]
    assert (row.p_a_better, row.p_rope, row.p_b_better) == pytest.approx(_probs(direct))


def test_compare_pairs_sign_over_dataset_means():
    table = _results_table()
    out = compare_pairs(table, [("GMN", "BCE")], ["g_mean", "mcc"], test="sign")
    assert list(out["metric"]) == ["g_mean", "mcc"] and (out["n"] == 3).all()
    means = table.groupby(["dataset", "method"])["g_mean"].mean().unstack()
    direct = sign_test(means["GMN"], means["BCE"])
    assert (out.p_a_better[0], out.p_rope[0], out.p_b_better[0]) == _probs(direct)
    # the long format gives the same answer
    long = table.melt(id_vars=["dataset", "method", "repeat", "fold"], var_name="metric")
    out_long = compare_pairs(long, [("GMN", "BCE")], ["g_mean", "mcc"], test="sign")
    pd.testing.assert_frame_equal(out, out_long)


def test_compare_pairs_by_group_and_missing_results():
    table = pd.concat([_results_table().assign(model="SLP"),
                       _results_table().assign(model="MLP")])
    out = compare_pairs(table, [("GMN", "BCE")], "g_mean", test="sign", by="model")
    assert list(out["model"]) == ["SLP", "MLP"]  # first-seen order
    holed = _results_table()
    holed = holed[~((holed.method == "GMN") & (holed.dataset == "d2") & (holed.repeat == 3)
                    & (holed.fold == 1))]
    with pytest.raises(ValueError, match="unpaired.*GMN"):
        compare_pairs(holed, [("GMN", "BCE")], "g_mean", test="correlated_t")
    out = compare_pairs(holed, [("GMN", "BCE")], "g_mean", test="correlated_t",
                        missing="drop")
    assert out.set_index("dataset")["n"].to_dict() == {"d1": 50, "d2": 45, "d3": 50}
    no_d3 = _results_table()
    no_d3 = no_d3[~((no_d3.method == "BCE") & (no_d3.dataset == "d3"))]
    with pytest.raises(ValueError, match="no result for \\['BCE'\\]"):
        compare_pairs(no_d3, [("GMN", "BCE")], "g_mean")
    assert compare_pairs(no_d3, [("GMN", "BCE")], "g_mean", missing="drop")["n"][0] == 2


def test_compare_pairs_rejects_bad_input():
    table = _results_table()
    with pytest.raises(ValueError, match="unknown method"):
        compare_pairs(table, [("GMN", "MSE")], "g_mean")
    with pytest.raises(ValueError, match="metric 'f1'"):
        compare_pairs(table, [("GMN", "BCE")], "f1")
    with pytest.raises(ValueError, match="test must be"):
        compare_pairs(table, [("GMN", "BCE")], "g_mean", test="wilcoxon")
    nan = table.copy()
    nan.loc[3, "g_mean"] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        compare_pairs(nan, [("BCE", "GMN")], "g_mean")
    with pytest.raises(ValueError, match="NaN"):
        compare_pairs(nan, [("BCE", "GMN")], "g_mean", test="correlated_t")
    with pytest.raises(ValueError, match="duplicate"):
        compare_pairs(pd.concat([table, table]), [("GMN", "BCE")], "g_mean",
                      test="correlated_t")


# ------------------------------------------------------------------ published numbers
def test_astra_table2():
    t = published.astra_table2()
    assert t.shape == (40, 6)
    assert tuple(t["dataset"].unique()) == published.ASTRA_DATASETS
    assert tuple(t["method"].unique()) == published.ASTRA_METHODS
    assert set(t["metric"]) == {"g_mean", "mcc"} and (t["n"] == 50).all()
    t = t.set_index(["dataset", "metric", "method"])
    assert tuple(t.loc[("skin-588", "g_mean", "BCE"), ["mean", "std"]]) == (0.892, 0.273)
    assert tuple(t.loc[("skin-588", "mcc", "GMN-ASTra"), ["mean", "std"]]) == (0.763, 0.273)
    assert tuple(t.loc[("cod-763", "g_mean", "BCE-ASTra"), ["mean", "std"]]) == (0.862, 0.208)
    assert tuple(t.loc[("ijcnn-971", "mcc", "GMN-ASTra"), ["mean", "std"]]) == (0.179, 0.162)
    assert format_mean_std(*t.loc[("ijcnn-971", "mcc", "BCE"), ["mean", "std"]]) == \
        "-0.000 (0.001)"
    assert ((t["mean"] >= -1) & (t["mean"] <= 1) & (t["std"] >= 0)).all()


def test_astra_table1_is_consistent_with_itself_and_the_registry():
    from cmloss.data import get_dataset_info

    t = published.astra_table1()
    assert t.shape == (5, 6) and tuple(t["dataset"]) == published.ASTRA_DATASETS
    ir = (t["m_tot"] - t["m_1"]) / t["m_1"]
    np.testing.assert_allclose(ir, t["ir"], atol=0.006)
    for row in t.itertuples():
        info = get_dataset_info(row.dataset)
        assert (info.n_rows, info.n_positives, info.n_features) == (row.m_tot, row.m_1,
                                                                    row.n_x)


def test_anyloss_tables():
    from cmloss.core.cm_metrics import METRICS
    from cmloss.data import get_dataset_info
    from cmloss.plotting import METHOD_COLORS

    cmp_ = published.anyloss_comparison()
    assert cmp_.shape == (60, 6)
    sel = cmp_.set_index(["family", "model", "dataset", "metric"])["value"]
    assert sel[("SOL", "SLP", "breast_cancer", "f1")] == 0.922
    assert sel[("BCE+RUS", "SLP", "diabetes", "balanced_accuracy")] == 0.809
    assert sel[("AnyLoss", "unspecified", "credit_card", "accuracy")] == 0.995
    sweep = published.anyloss_l_sweep()
    assert sweep.shape == (60, 5)
    assert sorted(sweep["L"].unique()) == [30, 50, 73, 90, 110]
    one = sweep.query("dataset == 'random' and metric == 'accuracy' and L == 73")
    assert one["value"].tolist() == [0.924] and one["method"].tolist() == ["AnyLoss-Acc"]
    # the comparison's AnyLoss row is the sweep's L = 73 column
    l73 = sweep[sweep.L == 73].set_index(["dataset", "method", "metric"])["value"]
    any73 = cmp_[cmp_.family == "AnyLoss"].set_index(["dataset", "method", "metric"])["value"]
    pd.testing.assert_series_equal(l73.sort_index(), any73.sort_index())
    wins = published.anyloss_l_sweep_wins()
    assert wins.shape == (15, 3)
    assert wins.set_index(["method", "L"]).loc[("AnyLoss-Acc", 73), "wins"] == 31
    speed = published.anyloss_learning_speed()
    assert (speed["low"] <= speed["high"]).all() and len(speed) == 5
    # names join with the rest of the project
    for frame in (cmp_, sweep, published.astra_table2()):
        assert set(frame["method"]) <= set(METHOD_COLORS)
        assert set(frame["metric"]) <= set(METRICS)
        for ds in frame["dataset"].unique():
            get_dataset_info(ds)
    assert published.anyloss_dataset_label("credit_card") == "Card"
    with pytest.raises(ValueError, match="unknown AnyLoss dataset"):
        published.anyloss_dataset_label("skin-588")
    # every call returns a fresh frame
    t = published.astra_table2()
    t.loc[0, "mean"] = 9.0
    assert published.astra_table2().loc[0, "mean"] == 0.892


# ------------------------------------------------------------------ tables
def test_summarise_folds_hand_example():
    df = pd.DataFrame({"dataset": "d", "method": ["A"] * 3 + ["B"],
                       "fold": [0, 1, 2, 0], "g_mean": [0.2, 0.4, 0.9, 0.5],
                       "mcc": [0.0, 0.1, 0.2, 0.3]})
    s = summarise_folds(df, ["g_mean", "mcc"]).set_index(["method", "metric"])
    assert s.loc[("A", "g_mean"), "mean"] == pytest.approx(0.5)
    assert s.loc[("A", "g_mean"), "std"] == pytest.approx(np.std([0.2, 0.4, 0.9], ddof=1))
    assert s.loc[("A", "mcc"), "n"] == 3
    assert np.isnan(s.loc[("B", "mcc"), "std"])  # one result: std undefined, printed "–"
    assert format_mean_std(0.3, np.nan) == "0.300 (–)"
    with pytest.raises(ValueError, match="NaN"):
        summarise_folds(df.assign(mcc=[0.0, np.nan, 0.2, 0.3]), ["mcc"])
    with pytest.raises(ValueError, match="metrics="):
        summarise_folds(df)


def test_side_by_side_std_units_hand_example():
    paper = pd.DataFrame({
        "dataset": ["d1", "d1", "d2", "d2"], "method": ["BCE", "GMN", "BCE", "GMN"],
        "metric": "g_mean", "mean": [0.80, 0.50, 0.000, 0.70],
        "std": [0.05, 0.20, 0.000, 0.10]})
    ours = pd.DataFrame({
        "dataset": ["d1", "d1", "d2"], "method": ["BCE", "GMN", "BCE"], "metric": "g_mean",
        "mean": [0.90, 0.42, 0.001], "std": [0.1, 0.2, 0.002], "n": 50})
    s = side_by_side(ours, paper).set_index(["dataset", "method"])
    assert s.loc[("d1", "BCE"), "diff_in_std"] == pytest.approx(2.0)    # (0.9-0.8)/0.05
    assert s.loc[("d1", "GMN"), "diff_in_std"] == pytest.approx(-0.4)   # (0.42-0.5)/0.2
    assert s.loc[("d2", "BCE"), "diff_in_std"] == pytest.approx(2.0)    # 0.001/floor 0.0005
    assert s["flag"].tolist() == [True, False, True, False]
    assert bool(s.loc[("d2", "GMN"), "missing"]) and s.loc[("d2", "GMN"), "ours"] == "–"
    assert s.loc[("d1", "BCE"), "ours"] == "0.900 (0.100)"
    assert s.loc[("d1", "BCE"), "paper"] == "0.800 (0.050)"
    inner = side_by_side(ours, paper, how="inner")
    assert len(inner) == 3
    # raw fold results are summarised first
    raw = pd.DataFrame({"dataset": "d1", "method": "BCE", "fold": range(4),
                        "g_mean": [0.8, 0.9, 1.0, 0.9]})
    r = side_by_side(raw, paper, metrics=["g_mean"], how="inner")
    assert r["ours_mean"].tolist() == [pytest.approx(0.9)] and r["ours_n"].tolist() == [4]


def test_side_by_side_against_astra_table2_layout():
    paper = published.astra_table2()
    ours = paper.assign(mean=paper["mean"] + paper["std"] * 0.5)
    side = side_by_side(ours, paper)
    assert len(side) == 40 and not side["flag"].any()
    np.testing.assert_allclose(side["diff_in_std"][paper["std"].to_numpy() > 0], 0.5)
    wide = wide_layout(side, "ours")
    assert wide.shape == (10, 4) and list(wide.columns) == list(published.ASTRA_METHODS)
    assert wide.index[0] == ("skin-588", "g_mean")
    md = to_markdown(wide, bold=wide_layout(side, "flag"))
    assert md.count("\n") == 11 and "**" not in md
    html_text = to_html(wide, bold=wide_layout(side.assign(flag=True), "flag"))
    assert html_text.count("<b>") == 40


def test_win_tie_loss_counts():
    comps = compare_pairs(_results_table(), [("GMN", "BCE"), ("BCE", "GMN-ASTra")],
                          "g_mean", test="correlated_t")
    wtl = win_tie_loss(comps).set_index(["method_a", "method_b"])
    assert wtl.loc[("GMN", "BCE")].tolist() == [3, 0, 0, 0, 3]
    assert wtl.loc[("GMN", "BCE"), "total"] == 3
    strict = win_tie_loss(comps, threshold=1.0).set_index(["method_a", "method_b"])
    assert strict["total"].tolist() == [3, 3]
    assert win_tie_loss([]).empty


def test_markdown_rendering():
    df = pd.DataFrame({"BCE": ["0.892 (0.273)"], "GMN": [0.5]}, index=["skin-588"])
    bold = pd.DataFrame({"BCE": [True], "GMN": [False]}, index=["skin-588"])
    assert to_markdown(df, bold=bold).splitlines() == [
        "| | BCE | GMN |", "|---|---|---|", "| skin-588 | **0.892 (0.273)** | 0.500 |"]
    assert "&lt;b&gt;" in to_html(pd.DataFrame({"x": ["<b>"]}))


def test_markdown_headers_are_plain_text_not_tuples():
    df = pd.DataFrame([[0.874, 0.892]], index=pd.Index(["skin-588"], name="dataset"),
                      columns=pd.MultiIndex.from_tuples([("BCE", "ours"), ("BCE", "paper")]))
    assert to_markdown(df).splitlines()[0] == "| dataset | BCE ours | BCE paper |"


def test_compact_tables_of_decisions():
    from cmloss.stats import compact_wtl, decision_table

    comps = compare_pairs(_results_table(), [("GMN", "BCE"), ("BCE", "GMN-ASTra")],
                          ["g_mean"], test="correlated_t")
    wtl = compact_wtl(win_tie_loss(comps, by=("metric", "method_a", "method_b")))
    assert sorted(wtl.index) == ["BCE vs GMN-ASTra", "GMN vs BCE"]
    assert wtl.loc["GMN vs BCE", "g_mean W / T / L / U"] == "3 / 0 / 0 / 0"
    assert list(compact_wtl(win_tie_loss(comps)).columns) == ["W / T / L / U"]
    table = decision_table(comps, keys=("dataset", "metric"))
    assert list(table.columns) == ["dataset", "metric", "pair", "n", "means",
                                   "P(1st better)", "P(rope)", "P(2nd better)", "verdict"]
    assert set(table.loc[table["pair"] == "GMN vs BCE", "verdict"]) == {
        "GMN better"}
    with pytest.raises(ValueError, match="compare_pairs"):
        decision_table(comps.drop(columns="decision"))
    with pytest.raises(ValueError, match="win_tie_loss"):
        compact_wtl(comps)


def test_glue_without_myst_nb_stores_nothing(monkeypatch, capsys):
    import builtins

    from cmloss.stats import glue

    real_import = builtins.__import__

    def no_myst_nb(name, *args, **kwargs):
        if name.startswith("myst_nb"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst_nb)
    glue("answer", 42)  # not displayed, no error
    glue("shown", 43, display=True)
    assert capsys.readouterr().out.strip() == "43"


# ------------------------------------------------------------------ figures
def test_figures_smoke():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cmloss.stats import figures

    r = sign_test([0.9, 0.8, 0.7, 0.75], [0.85, 0.81, 0.6, 0.74], names=("GMN", "BCE"),
                  keep_samples=True, nsamples=2000)
    fig = figures.plot_simplex(r)
    assert "GMN vs BCE" in fig.axes[0].get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="keep_samples"):
        figures.plot_simplex(sign_test([0.1, 0.2], [0.1, 0.3]))
    comps = compare_pairs(_results_table(), [("GMN", "BCE")], "g_mean", test="correlated_t")
    fig = figures.plot_wtl_vs_imbalance(comps, {"d1": 10.0, "d2": 100.0, "d3": 1000.0})
    assert fig.axes[0].get_xscale() == "log"
    plt.close(fig)
    with pytest.raises(ValueError, match="no imbalance ratio"):
        figures.plot_wtl_vs_imbalance(comps, {"d1": 10.0})


def _overlapping_labels(fig) -> list[tuple[str, str]]:
    """Pairs of visible tick labels (any axis of ``fig``) whose boxes overlap."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_ticklabels() + axis.get_ticklabels(minor=True):
                if tick.get_visible() and tick.get_text():
                    boxes.append((tick.get_text(), tick.get_window_extent(renderer)))
        for child in ax.get_children():  # secondary axes
            if hasattr(child, "xaxis") and child is not ax:
                for tick in child.xaxis.get_ticklabels():
                    if tick.get_visible() and tick.get_text():
                        boxes.append((tick.get_text(), tick.get_window_extent(renderer)))
    return [(a, b) for i, (a, ba) in enumerate(boxes) for b, bb in boxes[i + 1:]
            if ba.overlaps(bb)]


def test_decision_figures_keep_forty_dataset_labels_apart():
    """Chapter 7 plots decisions on 40 datasets whose imbalance ratios crowd between 9
    and 50: no two labels may overlap."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cmloss.stats import figures

    rng = np.random.default_rng(0)
    irs = {f"dataset-{k:02d}": float(ir) for k, ir in enumerate(
        np.sort(np.r_[rng.uniform(9, 50, 30), rng.uniform(50, 1000, 10)]))}
    rows = [{"dataset": d, "metric": "g_mean", "method_a": a, "method_b": "BCE",
             "p_a_better": p, "p_rope": 0.0, "p_b_better": 1 - p,
             "decision": "a" if p >= 0.95 else ("b" if p <= 0.05 else "undecided")}
            for a in ("GMN", "GMN-ASTra", "AnyLoss-GMean", "RUSBoost", "BCE-ASTra",
                      "AnyLoss-GMean-ASTra", "SOL-BAcc") for d in irs
            for p in [float(rng.choice([0.99, 0.5, 0.01]))]]
    comps = pd.DataFrame(rows)
    fig = figures.plot_decisions_by_dataset(comps, irs)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "dataset-00 (" + f"{irs['dataset-00']:.0f})" and len(labels) == 40
    assert fig.axes[0].get_xticklabels()[0].get_text().startswith("GMN vs BCE")
    assert not _overlapping_labels(fig)
    plt.close(fig)
    fig = figures.plot_wtl_vs_imbalance(comps, irs)
    assert not _overlapping_labels(fig)
    plt.close(fig)


def test_reliability_diagram_draws_bin_means_and_the_ece_of_pooled_bins():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cmloss.core.evaluation import expected_calibration_error, reliability_bins
    from cmloss.stats import figures

    rng = np.random.default_rng(0)
    p = rng.uniform(size=2000)
    y = (rng.uniform(size=2000) < p ** 2).astype(float)
    halves = reliability_bins(y[:1000], p[:1000]) + reliability_bins(y[1000:], p[1000:])
    fig = figures.plot_reliability({"GMN": halves}, title="t")
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() != "_child0"]
    full = halves[:, 0] >= 10
    xs, ys = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    assert np.isnan(xs[~full]).all() and np.isnan(ys[~full]).all()  # the line breaks there
    np.testing.assert_allclose(xs[full], halves[full, 2] / halves[full, 0])
    np.testing.assert_allclose(ys[full], halves[full, 1] / halves[full, 0])
    ece = expected_calibration_error(y, p)
    assert line.get_label() == f"GMN (ECE {ece:.3f})"
    plt.close(fig)
    sparse = halves.copy()
    sparse[3, 0] = 5.0  # too few rows: left out
    fig = figures.plot_reliability({"GMN": sparse})
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() != "_child0"]
    assert np.isnan(line.get_xdata()[3]) and np.isfinite(line.get_xdata()[2])
    plt.close(fig)
    with pytest.raises(ValueError, match=r"bins\['BCE'\] must be an \(n_bins, 3\)"):
        figures.plot_reliability({"BCE": np.zeros((15, 3))})


# ------------------------------------------------------------------ packaging
def test_import_cmloss_does_not_import_stats():
    """No module outside cmloss/stats imports cmloss.stats (pandas/baycomp stay optional)."""
    root = Path(bayesian_module.__file__).parents[1]
    for path in root.rglob("*.py"):
        if "stats" in path.relative_to(root).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            assert not any(n.startswith("cmloss.stats") for n in names), path


@pytest.mark.parametrize("module", [bayesian_module, tables_module, published])
def test_doctests(module):
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, verbose=False, report=True)
    assert result.attempted > 0 and result.failed == 0


# ----------------------------------------------------------------------- reports
def _rows_from(table, method_of, metric_col="metric"):
    """Fold rows that reproduce a published table's means exactly (two folds at
    mean +- std)."""
    rows = []
    for _, cell in table.iterrows():
        std = cell.get("std", 0.0) if "std" in cell else 0.0
        mean = cell["mean"] if "mean" in cell else cell["value"]
        for fold, value in enumerate((mean - std / np.sqrt(2), mean + std / np.sqrt(2))):
            rows.append({"dataset": cell["dataset"], "method": method_of(cell), "repeat": 0,
                         "fold": fold, cell[metric_col]: value})
    frame = pd.DataFrame(rows)
    keys = ["dataset", "method", "repeat", "fold"]
    return frame.groupby(keys, as_index=False).first()


def test_astra_comparison_of_the_papers_own_numbers_is_exact():
    from cmloss.stats import reports

    table2 = published.astra_table2()
    label_to_ours = {v: k for k, v in reports.ASTRA_LABELS.items()}
    rows = _rows_from(table2, lambda c: label_to_ours[c["method"]])
    side = reports.astra_comparison(rows)
    assert len(side) == len(table2) and not side["missing"].any()
    assert np.allclose(side["diff"], 0, atol=1e-12) and not side["flag"].any()
    assert np.allclose(side["ours_std"], side["paper_std"], atol=1e-12)


def test_anyloss_comparison_matches_slp_and_mlp_where_the_paper_does_not_say():
    from cmloss.stats import reports

    pub = published.anyloss_comparison()
    rows = []
    for _, c in pub.iterrows():
        stated = c["model"] != "unspecified"
        for model in (c["model"].lower(),) if stated else ("slp", "mlp"):
            offset = 0.01 if model == "mlp" and not stated else 0.0
            rows.append({"dataset": c["dataset"], "repeat": 0, "fold": 0,
                         "method": f"{model}-{reports.ANYLOSS_LOSS_OF[c['method']]}",
                         c["metric"]: c["value"] + offset})
    frame = pd.DataFrame(rows).groupby(["dataset", "method", "repeat", "fold"],
                                       as_index=False).first().fillna(0.5)
    frame = frame[frame["dataset"] != "credit_card"]
    out = reports.anyloss_comparison(frame)
    unspecified = out[out["paper_model"] == "unspecified"]
    assert set(unspecified["model"]) == {"SLP", "MLP"}
    assert len(out) == len(pub) + len(pub[pub["model"] == "unspecified"])
    ran = out[out["dataset"] != "credit_card"]
    assert (ran["n"] == 1).all() and out.loc[out["dataset"] == "credit_card", "n"].eq(0).all()
    shifted = (ran["model"] == "MLP") & (ran["paper_model"] == "unspecified")
    assert np.allclose(ran.loc[shifted, "diff"], 0.01, atol=1e-12)
    assert np.allclose(ran.loc[~shifted, "diff"], 0.0, atol=1e-12)


def test_convergence_summarises_the_loss_reduction_column():
    from cmloss.stats import reports

    rows = pd.DataFrame({"dataset": "d", "method": ["a", "a", "b"],
                         "loss_reduction_10pct": [0.9, 0.7, np.nan]})
    out = reports.convergence(rows)
    assert out.values.tolist() == [["d", "a", 0.8, 0.7, 0.9]]


def test_anyloss_labels_split_model_and_loss():
    from cmloss.experiments.methods import ANYLOSS_LOSSES
    from cmloss.plotting import METHOD_COLORS
    from cmloss.stats import reports

    assert set(reports.ANYLOSS_LABELS) == set(ANYLOSS_LOSSES)
    assert set(reports.ANYLOSS_LABELS.values()) <= set(METHOD_COLORS)
    assert set(reports.ASTRA_LABELS.values()) <= set(METHOD_COLORS)
    rows = pd.DataFrame({"method": ["slp-anyloss-f0.5", "mlp-bce-smote", "slp-sol-f1"]})
    out = reports.anyloss_labels(rows)
    assert out[["model", "loss", "method"]].values.tolist() == [
        ["SLP", "anyloss-f0.5", "AnyLoss-F0.5"],
        ["MLP", "bce-smote", "BCE+SMOTE"],
        ["SLP", "sol-f1", "SOL-F1"],
    ]


def test_correlated_t_drop_leaves_out_datasets_where_a_method_did_not_run():
    rng = np.random.default_rng(0)
    rows = [{"dataset": d, "method": m, "repeat": r, "fold": f, "g_mean": rng.random()}
            for d in ("d1", "d2") for m in ("A", "B") for r in range(2) for f in range(3)
            if not (d == "d2" and m == "B")]
    out = compare_pairs(pd.DataFrame(rows), [("A", "B")], "g_mean", test="correlated_t",
                        missing="drop")
    assert out["dataset"].tolist() == ["d1"] and out["n"].tolist() == [6]
    with pytest.raises(ValueError, match="unpaired"):
        compare_pairs(pd.DataFrame(rows), [("A", "B")], "g_mean", test="correlated_t")


def _fold_rows(g_mean, cells, selected, epochs):
    n = len(g_mean)
    frame = pd.DataFrame({"dataset": "d", "method": "m", "repeat": 0, "fold": range(n),
                          "g_mean": g_mean, "mcc": np.asarray(g_mean) / 2,
                          "selected_epoch": selected, "epochs": epochs})
    frame[["tn", "fp", "fn", "tp"]] = np.asarray(cells)
    return frame


def test_epoch_check_pairs_folds_and_flags_selections_within_the_short_run():
    from cmloss.stats import reports

    cells = [[90, 5, 1, 4], [80, 15, 2, 3], [95, 0, 5, 0]]
    long = _fold_rows([0.8, 0.7, 0.0], cells, [50, 5000, 9000], 10_000)
    short_cells = [[90, 5, 1, 4], [85, 10, 2, 3], [90, 5, 1, 4]]
    short = _fold_rows([0.8, 0.6, 0.9], short_cells, [50, 1999, 1500], 2_000)
    check = reports.epoch_check(long, short.iloc[::-1])  # row order does not matter
    check = check.sort_values("fold")
    assert check["same_confusion_matrix"].tolist() == [True, False, False]
    assert check["selected_within_short"].tolist() == [True, False, False]
    summary = reports.epoch_check_summary(check).iloc[0]
    assert summary["folds"] == 3 and summary["identical_if_within"] == 1.0
    assert np.isclose(summary["identical"], 1 / 3)
    assert np.isclose(summary["g_mean_diff"], (1.5 - 2.3) / 3)
    assert np.isclose(summary["mcc_short"], 2.3 / 6)
    with pytest.raises(ValueError, match="no .* in common"):
        reports.epoch_check(long, short.assign(dataset="other"))
    with pytest.raises(pd.errors.MergeError):
        reports.epoch_check(pd.concat([long, long]), short)


def test_pair_folds_pairs_only_common_folds_with_the_given_suffixes():
    from cmloss.stats import reports

    a = _fold_rows([0.8, 0.7, 0.0], [[90, 5, 1, 4], [80, 15, 2, 3], [95, 0, 5, 0]],
                   [3, 5, 7], 100)
    b = _fold_rows([0.8, 0.9], [[90, 5, 1, 4], [85, 10, 0, 5]], [150, 120], 100)
    paired = reports.pair_folds(a, b, ("_free", "_late"), metrics=("g_mean",))
    assert paired["fold"].tolist() == [0, 1]
    assert paired["g_mean_free"].tolist() == [0.8, 0.7]
    assert paired["g_mean_late"].tolist() == [0.8, 0.9]
    assert paired["selected_epoch_late"].tolist() == [150, 120]
    assert paired["same_confusion_matrix"].tolist() == [True, False]
    assert "mcc_free" not in paired
