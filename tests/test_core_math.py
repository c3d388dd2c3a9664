"""Tests of the mathematics in cmloss.core: soft steps, the confusion matrix, its metrics.

Independent references: scikit-learn's metrics (hard predictions), hand-worked confusion
matrices (exact fractions), NumPy re-implementations and central finite differences.
The docstring examples of every public module are run at the end.
"""

from __future__ import annotations

import doctest
import importlib
import math
from fractions import Fraction

import keras
import numpy as np
import pytest
from conftest import BACKEND, gradients
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn import metrics as skm

import cmloss
from cmloss.core import backend_ops, cm_metrics
from cmloss.core.confusion import ConfusionMatrix, confusion_matrix, soft_confusion_matrix
from cmloss.core.evaluation import evaluate
from cmloss.core.soft_steps import (
    Amplify,
    CosineThreshold,
    Identity,
    amplification_saturation,
    max_unsaturated_L,
)
from cmloss.core.soft_steps import get as get_soft_step

HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RATE_METRICS = ("recall", "specificity", "fnr", "fpr")


def np64(x) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


def metric_values(cm, zero_division=0.0) -> dict[str, float]:
    """Every registered metric of ``cm``, eagerly."""
    return {
        name: float(np64(spec.fn(*cm, zero_division=zero_division)))
        for name, spec in cm_metrics.METRICS.items()
    }


def _all_metrics(tn, fp, fn, tp, zero_division):
    return {
        name: spec.fn(tn, fp, fn, tp, zero_division=zero_division)
        for name, spec in cm_metrics.METRICS.items()
    }


if BACKEND == "tensorflow":
    import tensorflow as tf

    _all_metrics_graph = tf.function(_all_metrics, reduce_retracing=True)

    def metric_values_fast(cm, zero_division=0.0) -> dict[str, float]:
        """The same, as one traced graph (eager TF is slow on 2 cores; property tests)."""
        cells = [tf.convert_to_tensor(np.float64(np64(c))) for c in cm]
        out = _all_metrics_graph(*cells, tf.constant(zero_division, tf.float64))
        return {name: float(v.numpy()) for name, v in out.items()}

else:

    def metric_values_fast(cm, zero_division=0.0) -> dict[str, float]:
        """The same, eagerly (only TensorFlow needs tracing to be fast)."""
        cells = [np.float64(np64(c)) for c in cm]
        out = _all_metrics(*cells, np.float64(zero_division))
        return {name: float(np64(v)) for name, v in out.items()}


def cm64(tn, fp, fn, tp) -> ConfusionMatrix:
    """A confusion matrix of float64 scalars (Python floats would be float32 tensors)."""
    return ConfusionMatrix(*np.array([tn, fp, fn, tp], dtype=np.float64))


# --------------------------------------------------------------------------- soft steps


def test_identity_soft_step_returns_its_input():
    p = np.linspace(0.0, 1.0, 11)
    np.testing.assert_array_equal(np64(Identity()(p)), p)


@pytest.mark.parametrize("L", [1.0, 10.0, 12.3, 73.0])
def test_amplify_is_the_anyloss_formula(L):
    p = np.linspace(0.0, 1.0, 101)
    expected = 1.0 / (1.0 + np.exp(-L * (p - 0.5)))
    np.testing.assert_allclose(np64(Amplify(L)(p)), expected, rtol=1e-13, atol=1e-300)


def test_amplify_tends_to_the_hard_step_as_L_grows():
    p = np.r_[np.linspace(0.0, 0.45, 10), np.linspace(0.55, 1.0, 10)]
    hard = (p > 0.5).astype(np.float64)
    errors = [np.max(np.abs(np64(Amplify(L)(p)) - hard)) for L in (1, 10, 100, 1000)]
    assert all(a > b for a, b in zip(errors, errors[1:]))
    assert errors[-1] < 1e-20
    # and so does the soft confusion matrix
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 50).astype(np.float64)
    scores = rng.uniform(0, 1, 50)
    scores = scores[np.abs(scores - 0.5) > 0.02][:40]
    y = y[: scores.size]
    hard_cm = np64(list(confusion_matrix(y, (scores > 0.5).astype(np.float64))))
    soft_cm = np64(list(soft_confusion_matrix(y, Amplify(5000.0)(scores))))
    np.testing.assert_allclose(soft_cm, hard_cm, atol=1e-12)


def test_amplify_at_half_is_half_for_every_L():
    for L in (0.1, 1.0, 73.0, 1e4):
        assert float(np64(Amplify(L)(np.float64(0.5)))) == 0.5


def test_cosine_threshold_is_the_raised_cosine_cdf():
    mu, delta = 0.4, 0.15
    step = CosineThreshold(mu=mu, delta=delta)
    p = np.linspace(0.0, 1.0, 201)
    s = np.clip((p - mu) / delta, -1, 1)
    expected = 0.5 + 0.5 * s + np.sin(np.pi * s) / (2 * np.pi)
    got = np64(step(p))
    np.testing.assert_allclose(got, expected, atol=1e-15)
    assert np.all(got[p <= mu - delta] == 0.0) and np.all(got[p >= mu + delta] == 1.0)
    assert float(np64(step(np.float64(mu)))) == pytest.approx(0.5, abs=1e-15)
    assert np.all(np.diff(got) >= 0)
    # its derivative is the density (1 + cos(pi (t - mu) / delta)) / (2 delta)
    t = np.linspace(mu - 0.9 * delta, mu + 0.9 * delta, 7)
    h = 1e-6
    numeric = (np64(step(t + h)) - np64(step(t - h))) / (2 * h)
    density = (1 + np.cos(np.pi * (t - mu) / delta)) / (2 * delta)
    np.testing.assert_allclose(numeric, density, rtol=1e-7)


def test_backend_ops_keep_float64_on_every_backend():
    # Keras computes ops.sin and ops.mean of float64 in float32 except on TensorFlow
    s = np.linspace(-1.0, 1.0, 4001)
    got = keras.ops.convert_to_numpy(backend_ops.sin_pi(s))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, np.sin(np.pi * s), rtol=0, atol=1e-15)
    assert keras.ops.convert_to_numpy(backend_ops.sin_pi(s.astype("float32"))).dtype == np.float32
    x = np.random.default_rng(0).uniform(size=(3, 1000)) + 1e4
    m = keras.ops.convert_to_numpy(backend_ops.mean(x, axis=-1))
    assert m.dtype == np.float64
    np.testing.assert_allclose(m, x.mean(axis=-1), rtol=1e-15)
    assert float(keras.ops.convert_to_numpy(backend_ops.mean(x))) == pytest.approx(
        x.mean(), rel=1e-15
    )


def test_softplus_divide_no_nan_and_numpy_scalars_keep_float64_on_every_backend():
    # PyTorch: softplus(x) is x itself above 20, divide_no_nan casts float64 to float32,
    # np.float64 scalars become float32 tensors
    x = np.linspace(-60.0, 60.0, 1201)  # rtol: a few ulp (JAX has its own softplus)
    value, (grad,) = gradients(backend_ops.softplus, [x])
    np.testing.assert_allclose(value, np.logaddexp(0.0, x), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(grad, 1 / (1 + np.exp(-x)), rtol=1e-14, atol=1e-300)
    q = keras.ops.convert_to_numpy(backend_ops.divide_no_nan(np.array([1.0, 2.0, 3.0]),
                                                             np.array([3.0, 0.0, 7.0])))
    assert q.dtype == np.float64
    np.testing.assert_array_equal(q, [1 / 3, 0.0, 3 / 7])
    assert keras.ops.convert_to_numpy(backend_ops.to_tensor(np.float64(0.1))).dtype == np.float64


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean_with_sample_weight", "sum"])
def test_per_sample_losses_reduce_in_float64_on_every_backend(reduction):
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    p = np.array([[0.2], [0.6], [0.9], [0.45]])
    w = np.array([1.0, 2.5, 0.5, 3.0])
    loss = cmloss.losses.BinaryCrossentropy(reduction=reduction, dtype="float64")
    per_sample = -(y * np.log(p) + (1 - y) * np.log(1 - p))[:, 0] * w
    expected = {"sum": per_sample.sum(), "sum_over_batch_size": per_sample.mean(),
                "mean_with_sample_weight": per_sample.sum() / w.sum()}[reduction]
    got = keras.ops.convert_to_numpy(loss(y, p, sample_weight=w))
    assert got.dtype == np.float64
    assert float(got) == pytest.approx(expected, rel=1e-14)


def test_soft_step_lookup_and_config_round_trip():
    assert isinstance(get_soft_step(None), Identity)
    assert get_soft_step("amplify") == Amplify()  # the slope follows the dtype (DEFAULT_L)
    assert get_soft_step("cosine") == CosineThreshold(0.5, 0.1)
    for step in (Identity(), Amplify(), Amplify(12.5), CosineThreshold(0.3, 0.05)):
        config = keras.saving.serialize_keras_object(step)
        assert get_soft_step(config) == step
        assert type(step).from_config(step.get_config()) == step
    with pytest.raises(ValueError, match=r"soft_step must be one of \['amplify', 'cosine'"):
        get_soft_step("sigmoid")


BAD_L = [0, 0.0, -1.0, math.nan, math.inf, -math.inf, True, "73"]


@pytest.mark.parametrize("L", BAD_L)
def test_bad_L_is_rejected(L):
    with pytest.raises(ValueError, match=r"L must be a finite number > 0 .*got L="):
        Amplify(L)
    with pytest.raises(ValueError, match=r"L must be a finite number > 0"):
        amplification_saturation(L)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mu": 1.5}, r"mu must be a number in \[0.0, 1.0\]; got mu=1.5"),
        ({"mu": math.nan}, r"mu must be a number in \[0.0, 1.0\]"),
        ({"delta": 0.0}, r"delta must be a finite number > 0 .*got delta=0.0"),
        ({"delta": -0.1}, r"delta must be a finite number > 0"),
    ],
)
def test_bad_cosine_threshold_parameters_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CosineThreshold(**kwargs)


# ------------------------------------------------------------ amplification saturation


def test_authors_L73_is_the_largest_integer_not_saturated_in_float64():
    L_max = max_unsaturated_L("float64")
    assert 73.0 < L_max < 74.0
    assert not amplification_saturation(73, "float64").saturated
    assert amplification_saturation(73, "float64").a_at_one < 1.0
    assert amplification_saturation(74, "float64").saturated
    assert amplification_saturation(74, "float64").a_at_one == 1.0


def test_float32_saturates_much_earlier():
    sat = amplification_saturation(73, "float32")
    assert sat.saturated and sat.a_at_one == 1.0
    assert 0.5 < sat.p_one < 1.0
    # p_one is the first score that rounds to exactly 1 (bisection to float resolution)
    assert float(np64(Amplify(73)(np.float32(sat.p_one)))) == 1.0
    assert float(np64(Amplify(73)(np.float32(sat.p_one - 1e-3)))) < 1.0
    L32 = max_unsaturated_L("float32")
    assert 30.0 < L32 < 40.0  # chapter 2: float32 saturates near L = 33
    assert not amplification_saturation(L32 * 0.99, "float32").saturated
    assert amplification_saturation(L32 * 1.01, "float32").saturated


def test_saturation_at_zero_is_reported():
    sat = amplification_saturation(2000.0, "float64")
    assert sat.a_at_zero == 0.0 and sat.p_zero is not None and 0.0 <= sat.p_zero < 0.5
    assert float(np64(Amplify(2000.0)(np.float64(sat.p_zero)))) == 0.0


# --------------------------------------------------------------------- confusion matrix


def test_soft_confusion_matrix_by_hand():
    # y = [0, 0, 1, 1], s = [0.1, 0.6, 0.8, 0.3]
    # TN = 0.9 + 0.4, FP = 0.1 + 0.6, FN = 0.2 + 0.7, TP = 0.8 + 0.3
    cm = soft_confusion_matrix(np.array([0, 0, 1, 1.0]), np.array([0.1, 0.6, 0.8, 0.3]))
    np.testing.assert_allclose(np64(list(cm)), [1.3, 0.7, 0.9, 1.1], rtol=1e-15)
    assert float(np64(cm.n)) == pytest.approx(4.0, abs=1e-15)


def test_weighted_confusion_matrix_by_hand():
    y = np.array([0, 0, 1, 1.0])
    s = np.array([0.1, 0.6, 0.8, 0.3])
    w = np.array([2.0, 0.0, 1.0, 3.0])
    cm = soft_confusion_matrix(y, s, sample_weight=w)
    np.testing.assert_allclose(np64(list(cm)), [1.8, 0.2, 0.2 + 2.1, 0.8 + 0.9], rtol=1e-15)
    # weights given as a Python list keep the predictions' float64 precision
    listed = soft_confusion_matrix(y, s, sample_weight=[0.1, 0.3, 0.7, 1.1])
    np.testing.assert_allclose(
        np64(list(listed)), [0.09 + 0.12, 0.01 + 0.18, 0.14 + 0.77, 0.56 + 0.33], rtol=1e-15
    )


def test_hard_confusion_matrix_matches_sklearn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    p = rng.integers(0, 2, 200)
    tn, fp, fn, tp = skm.confusion_matrix(y, p, labels=[0, 1]).ravel()
    np.testing.assert_array_equal(np64(list(confusion_matrix(y, p))), [tn, fp, fn, tp])


def test_axis_keeps_leading_axes():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 30).astype(np.float64)
    stack = rng.uniform(0, 1, (3, 30))
    cms = soft_confusion_matrix(np.broadcast_to(y, stack.shape), stack, axis=-1)
    for k in range(3):
        np.testing.assert_allclose(
            np64(list(cms))[:, k], np64(list(soft_confusion_matrix(y, stack[k]))), rtol=1e-14
        )


def test_shapes_n_and_n1_are_the_same_batch():
    y = np.array([0, 1, 1, 0.0])
    s = np.array([0.2, 0.9, 0.7, 0.4])
    a = np64(list(soft_confusion_matrix(y, s)))
    b = np64(list(soft_confusion_matrix(y[:, None], s)))
    c = np64(list(soft_confusion_matrix(y, s[:, None])))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


@st.composite
def soft_batches(draw, weighted=False, min_size=0):
    n = draw(st.integers(min_size, 60))
    y = draw(hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, 1.0])))
    unit = st.floats(0.0, 1.0, allow_nan=False)
    s = draw(hnp.arrays(np.float64, n, elements=unit))
    w = draw(hnp.arrays(np.float64, n, elements=st.floats(0.0, 10.0))) if weighted else None
    return y, s, w


@HYPOTHESIS
@given(soft_batches())
def test_cells_sum_to_n(batch):
    y, s, _ = batch
    cm = np64(list(soft_confusion_matrix(y, s)))
    assert np.all(cm >= 0.0)
    assert cm.sum() == pytest.approx(y.size, rel=1e-12, abs=1e-12)
    assert cm[2] + cm[3] == pytest.approx(y.sum(), rel=1e-12, abs=1e-12)  # FN + TP = P
    assert cm[1] + cm[3] == pytest.approx(s.sum(), rel=1e-12, abs=1e-12)  # FP + TP = S


@HYPOTHESIS
@given(soft_batches(weighted=True))
def test_weighted_cells_sum_to_the_total_weight(batch):
    y, s, w = batch
    cm = np64(list(soft_confusion_matrix(y, s, sample_weight=w)))
    assert np.all(cm >= 0.0)
    assert cm.sum() == pytest.approx(w.sum(), rel=1e-12, abs=1e-12)
    assert cm[2] + cm[3] == pytest.approx((w * y).sum(), rel=1e-12, abs=1e-12)


def test_integer_weights_are_repeated_examples():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 20).astype(np.float64)
    s = rng.uniform(0, 1, 20)
    w = rng.integers(0, 4, 20)
    weighted = np64(list(soft_confusion_matrix(y, s, sample_weight=w.astype(np.float64))))
    repeated = np64(list(soft_confusion_matrix(np.repeat(y, w), np.repeat(s, w))))
    np.testing.assert_allclose(weighted, repeated, rtol=1e-13)


@pytest.mark.parametrize("bad", [2, -1, 0.5])
def test_labels_outside_0_1_are_rejected(bad):
    y = np.array([0.0, 1.0, bad])
    with pytest.raises(ValueError, match=r"y_true must contain only the labels 0 and 1"):
        soft_confusion_matrix(y, np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match=r"y_pred must contain only the labels 0 and 1"):
        confusion_matrix(np.array([0, 1, 1]), y)


def test_shape_mismatch_is_rejected():
    with pytest.raises(ValueError, match=r"y_true and y_soft must hold one prediction per label"):
        soft_confusion_matrix(np.array([0, 1, 1.0]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match=r"y_true.shape=\(4,\) and y_soft.shape=\(2, 2\)"):
        soft_confusion_matrix(np.array([0, 1, 1, 0.0]), np.full((2, 2), 0.5))


# ------------------------------------------------------------------- metrics: by hand

HAND = cm64(tn=5, fp=2, fn=1, tp=3)
F = Fraction
HAND_EXPECTED = {
    "accuracy": F(8, 11),
    "precision": F(3, 5),
    "recall": F(3, 4),
    "specificity": F(5, 7),
    "fnr": F(1, 4),
    "fpr": F(2, 7),
    "f1": F(2 * 3, 2 * 3 + 1 + 2),
    "g_mean": math.sqrt(F(3, 4) * F(5, 7)),
    "balanced_accuracy": (F(3, 4) + F(5, 7)) / 2,
    "mcc": (3 * 5 - 2 * 1) / math.sqrt(5 * 4 * 7 * 6),
    "informedness": F(3, 4) + F(5, 7) - 1,
    "jaccard": F(3, 6),
    "e_ratio": F(1, 4) / F(2, 7),
}


def test_every_registered_metric_has_a_hand_worked_value():
    assert set(HAND_EXPECTED) == set(cm_metrics.METRICS)


@pytest.mark.parametrize("name", sorted(HAND_EXPECTED))
def test_metric_by_hand(name):
    got = float(np64(cm_metrics.METRICS[name].fn(*HAND)))
    assert got == pytest.approx(float(HAND_EXPECTED[name]), rel=1e-15)


@pytest.mark.parametrize(
    ("beta", "expected"), [(0.5, F(15, 4) / 6), (1.0, F(2, 3)), (2.0, F(5, 7))]
)
def test_f_beta_by_hand(beta, expected):
    # (1 + b^2) TP / ((1 + b^2) TP + b^2 FN + FP) with TP=3, FN=1, FP=2
    assert float(np64(cm_metrics.f_beta(*HAND, beta=beta))) == pytest.approx(
        float(expected), rel=1e-15
    )


def test_anyloss_closed_forms_equal_the_cell_forms():
    # the AnyLoss closed forms (README code), with P = sum y, S = sum A, T = sum y A
    n, P, S, T = 11.0, 4.0, 5.0, 3.0  # HAND: TP = T, FN = P - T, FP = S - T
    vals = metric_values(HAND)
    assert vals["accuracy"] == pytest.approx((n - P - S + 2 * T) / n, rel=1e-15)
    assert vals["f1"] == pytest.approx(2 * T / (P + S), rel=1e-15)
    assert vals["g_mean"] == pytest.approx(
        math.sqrt(T * (n - S - P + T) / (P * (n - P))), rel=1e-15
    )
    assert vals["balanced_accuracy"] == pytest.approx(
        (n * (T + P) - P * (S + P)) / (2 * P * (n - P)), rel=1e-15
    )


def test_metric_aliases_and_unknown_names():
    for alias, name in cm_metrics.ALIASES.items():
        assert cm_metrics.get_metric(alias) is cm_metrics.METRICS[name]
    assert cmloss.get_metric("tss").name == "informedness"
    with pytest.raises(ValueError, match=r"metric must be one of \['accuracy', .*got metric='auc'"):
        cm_metrics.get_metric("auc")


# ------------------------------------------------------------- metrics: scikit-learn


@st.composite
def hard_batches(draw):
    n = draw(st.integers(2, 60))
    y = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 1)))
    y[0], y[1] = 0, 1  # both classes present
    p = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 1)))
    perm = draw(st.permutations(range(n)))
    return y[list(perm)], p


def sklearn_values(y, p) -> dict[str, float]:
    rec = skm.recall_score(y, p, zero_division=0)
    spec = skm.recall_score(y, p, pos_label=0, zero_division=0)
    bacc = skm.balanced_accuracy_score(y, p)
    values = {
        "accuracy": skm.accuracy_score(y, p),
        "precision": skm.precision_score(y, p, zero_division=0),
        "recall": rec,
        "specificity": spec,
        "fnr": 1.0 - rec,
        "fpr": 1.0 - spec,
        "f1": skm.f1_score(y, p, zero_division=0),
        "g_mean": math.sqrt(rec * spec),
        "balanced_accuracy": bacc,
        "mcc": skm.matthews_corrcoef(y, p),
        "informedness": 2.0 * bacc - 1.0,
        "jaccard": skm.jaccard_score(y, p, zero_division=0),
    }
    fpr = 1.0 - spec
    values["e_ratio"] = (1.0 - rec) / fpr if fpr > 0 else (math.inf if rec < 1 else 1.0)
    return values


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hard_batches())
def test_soft_metrics_on_hard_predictions_equal_sklearn(batch):
    y, p = batch
    y64, p64 = y.astype(np.float64), p.astype(np.float64)
    expected = sklearn_values(y, p)
    paths = {
        "soft (identity step)": metric_values_fast(soft_confusion_matrix(y64, Identity()(p64))),
        "hard": metric_values_fast(confusion_matrix(y64, p64)),
        "evaluate": evaluate(y, np.where(p == 1, 0.7, 0.2), threshold=0.5),
    }
    for path, got in paths.items():
        for name, value in expected.items():
            assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-12), (path, name)
    for beta in (0.5, 2.0):
        fb = float(np64(cm_metrics.f_beta(*confusion_matrix(y64, p64), beta=beta)))
        assert fb == pytest.approx(skm.fbeta_score(y, p, beta=beta, zero_division=0), abs=1e-12)


def test_integer_inputs_give_float32_metrics():
    y, p = np.array([0, 1, 1, 0, 1]), np.array([0, 1, 0, 1, 1])
    cm = confusion_matrix(y, p)
    assert all(keras.backend.standardize_dtype(c.dtype) == "float32" for c in cm)
    assert float(np64(cm_metrics.mcc(*cm))) == pytest.approx(skm.matthews_corrcoef(y, p), rel=1e-6)


def test_evaluate_by_hand():
    r = evaluate([0, 0, 1, 1], [0.1, 0.6, 0.8, 0.3], threshold=0.5)
    assert (r["tn"], r["fp"], r["fn"], r["tp"]) == (1.0, 1.0, 1.0, 1.0)
    r = evaluate([0, 0, 1, 1], [0.1, 0.6, 0.8, 0.3], threshold=0.25)
    assert (r["tn"], r["fp"], r["fn"], r["tp"]) == (1.0, 1.0, 0.0, 2.0)
    assert r["recall"] == 1.0 and r["e_ratio"] == 0.0


@pytest.mark.parametrize("threshold", [0.0, 1.0, -0.1, 1.5, math.nan])
def test_evaluate_rejects_bad_thresholds(threshold):
    with pytest.raises(ValueError, match=r"threshold must be a number in \(0.0, 1.0\)"):
        evaluate([0, 1], [0.2, 0.8], threshold=threshold)


def test_evaluate_rejects_bad_zero_division_and_shapes():
    with pytest.raises(ValueError, match=r"zero_division must be a number in \[0.0, 1.0\]"):
        evaluate([0, 1], [0.2, 0.8], zero_division=2.0)
    with pytest.raises(ValueError, match=r"y_true and y_score must hold one prediction"):
        evaluate([0, 1, 1], [0.2, 0.8])
    with pytest.raises(ValueError, match=r"y_true must contain only the labels 0 and 1"):
        evaluate([0, 2], [0.2, 0.8])


# ------------------------------------------------------------------- metrics: ranges


@HYPOTHESIS
@given(soft_batches(weighted=True, min_size=0), st.sampled_from([0.0, 0.5, 1.0]))
def test_metrics_stay_in_their_registered_ranges(batch, zero_division):
    y, s, w = batch
    for cm in (soft_confusion_matrix(y, s), soft_confusion_matrix(y, s, sample_weight=w)):
        for name, value in metric_values_fast(cm, zero_division).items():
            spec = cm_metrics.METRICS[name]
            assert not math.isnan(value), name
            assert spec.low <= value <= spec.high, (name, value)
            if name != "e_ratio":
                assert math.isfinite(value), name


def test_mcc_and_f1_reach_their_ends_exactly():
    y = np.array([0, 0, 1, 1, 1, 0], dtype=np.float64)
    perfect = metric_values(soft_confusion_matrix(y, y))
    inverted = metric_values(soft_confusion_matrix(y, 1 - y))
    assert perfect["mcc"] == pytest.approx(1.0, abs=1e-15)
    assert inverted["mcc"] == pytest.approx(-1.0, abs=1e-15)
    assert perfect["f1"] == 1.0 and inverted["f1"] == 0.0
    assert inverted["informedness"] == -1.0


# ----------------------------------------------------------- zero-division policy

NO_POSITIVES = cm64(3, 1, 0, 0)
NO_NEGATIVES = cm64(0, 0, 1, 3)
EMPTY = cm64(0, 0, 0, 0)
NO_PREDICTED_POSITIVES = cm64(4, 0, 2, 0)


def expected_under_policy(cm: ConfusionMatrix, zd: float) -> dict[str, float]:
    """The documented policy written out: an undefined ratio is ``zd``; composites are
    built from their (policy-applied) parts; e-ratio inf/1."""

    def ratio(num, den):
        return num / den if den > 0 else zd

    tn, fp, fn, tp = cm
    rec, spec = ratio(tp, tp + fn), ratio(tn, tn + fp)
    fnr_, fpr_ = ratio(fn, tp + fn), ratio(fp, tn + fp)
    mcc_den = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return {
        "accuracy": ratio(tp + tn, tn + fp + fn + tp),
        "precision": ratio(tp, tp + fp),
        "recall": rec,
        "specificity": spec,
        "fnr": fnr_,
        "fpr": fpr_,
        "f1": ratio(2 * tp, 2 * tp + fn + fp),
        "g_mean": math.sqrt(rec * spec),
        "balanced_accuracy": (rec + spec) / 2,
        "mcc": ratio(tp * tn - fp * fn, mcc_den),
        "informedness": rec + spec - 1,
        "jaccard": ratio(tp, tp + fp + fn),
        "e_ratio": fnr_ / fpr_ if fpr_ > 0 else (math.inf if fnr_ > 0 else 1.0),
    }


@pytest.mark.parametrize("zd", [0.0, 0.5, 1.0])
@pytest.mark.parametrize(
    "cm",
    [NO_POSITIVES, NO_NEGATIVES, EMPTY, NO_PREDICTED_POSITIVES],
    ids=["no_positives", "no_negatives", "empty", "no_predicted_positives"],
)
def test_zero_division_policy(cm, zd):
    got = metric_values(cm, zero_division=zd)
    for name, value in expected_under_policy(cm, zd).items():
        assert got[name] == pytest.approx(value, abs=1e-15), name
        if name != "e_ratio":
            assert math.isfinite(got[name]), name


def test_undefined_rates_take_zero_division_exactly():
    # exactly, in float64 (a Python float must not be rounded through float32)
    assert metric_values(NO_POSITIVES, 0.3)["recall"] == 0.3
    assert metric_values(NO_NEGATIVES, 0.3)["specificity"] == 0.3
    assert metric_values(NO_PREDICTED_POSITIVES, 0.3)["precision"] == 0.3
    for name in ("accuracy", "precision", "recall", "specificity", "f1", "mcc", "jaccard"):
        assert metric_values(EMPTY, 0.3)[name] == 0.3, name


def test_e_ratio_rules():
    def e(*cells, zero_division=0.0):
        return float(np64(cm_metrics.e_ratio(*cm64(*cells), zero_division=zero_division)))

    assert e(8, 2, 1, 3) == pytest.approx((1 / 4) / (2 / 10), rel=1e-15)
    assert e(10, 0, 1, 3) == math.inf  # FPR = 0 < FNR
    assert e(10, 0, 0, 3) == 1.0  # both rates 0
    assert e(8, 2, 0, 0) == 0.0  # no positives: FNR = zero_division = 0
    assert e(8, 2, 0, 0, zero_division=1.0) == pytest.approx(5.0, rel=1e-15)
    assert e(0, 0, 0, 0) == 1.0


@pytest.mark.parametrize("name", sorted(cm_metrics.METRICS))
@pytest.mark.parametrize(
    "cm", [NO_POSITIVES, NO_NEGATIVES, EMPTY, NO_PREDICTED_POSITIVES, HAND], ids=str
)
def test_metric_gradients_are_finite_everywhere(name, cm):
    _, grads = gradients(cm_metrics.METRICS[name].fn, [np.float64(c) for c in cm])
    for g in grads:
        assert g is None or np.all(np.isfinite(np64(g))), (name, cm, grads)


def test_undefined_ratio_has_zero_gradient():
    _, grads = gradients(
        lambda *cells: cm_metrics.recall(*cells, zero_division=0.5),
        [np.float64(c) for c in NO_POSITIVES],
    )
    assert all(g is None or float(np64(g)) == 0.0 for g in grads)


# ---------------------------------------------------------------------------- doctests

DOCTEST_MODULES = [
    "cmloss.core.soft_steps",
    "cmloss.core.confusion",
    "cmloss.core.cm_metrics",
    "cmloss.core.astra",
    "cmloss.core.evaluation",
    "cmloss.core.validation",
    "cmloss.losses",
    "cmloss.layers",
    "cmloss.metrics",
    "cmloss.optimizers",
    "cmloss.callbacks",
]


@pytest.mark.parametrize("module_name", DOCTEST_MODULES)
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module_name}"


def test_docstring_examples_exist():
    finder = doctest.DocTestFinder()
    total = sum(
        len(t.examples)
        for name in DOCTEST_MODULES
        for t in finder.find(importlib.import_module(name))
    )
    assert total >= 30
