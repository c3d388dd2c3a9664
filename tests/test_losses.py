"""Tests of cmloss.losses: gradients, the AnyLoss authors' formulas, the undefined-batch
policy, numerical safety, input checks and serialization.

Independent references: central finite differences in float64 (evaluated through a traced
graph for speed; the autodiff side is eager), the AnyLoss authors' own TensorFlow code
(transcribed below from their README, github.com/doheonhan/AnyLoss) and NumPy formulas.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf  # the AnyLoss authors' reference code, on any backend
from conftest import BACKEND, gradients
from keras import ops

from cmloss import losses as L
from cmloss.core import cm_metrics
from cmloss.core.astra import z_transform
from cmloss.core.soft_steps import Amplify, CosineThreshold, Identity
from cmloss.layers import ASTra


def np64(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


@keras.saving.register_keras_serializable(package="cmloss_tests")
def fowlkes_mallows(tn, fp, fn, tp):
    """A custom metric, not in the registry: ``TP / sqrt((TP + FP)(TP + FN))``."""
    return tp / ops.sqrt((tp + fp) * (tp + fn))


@keras.saving.register_keras_serializable(package="cmloss_tests")
def safe_fowlkes_mallows(tn, fp, fn, tp):
    """The same from the library's zero-division-safe parts: ``sqrt(precision * recall)``."""
    return ops.sqrt(
        cm_metrics.precision(tn, fp, fn, tp) * cm_metrics.recall(tn, fp, fn, tp) + 1e-12
    )


# --------------------------------------------------------------------------- helpers


def autodiff(loss_fn, y, p, w=None):
    """The loss and its gradient in ``p`` on the active Keras backend."""
    value, (grad,) = gradients(
        lambda var: loss_fn(y, var) if w is None else loss_fn(y, var, sample_weight=w), [p]
    )
    return value, grad


def tf_autodiff(loss_fn, y, p):
    """The same with TensorFlow's tape, whatever the Keras backend (the authors' code)."""
    var = tf.Variable(p)
    with tf.GradientTape() as tape:
        value = loss_fn(y, var)
    return np.float64(value.numpy()), tape.gradient(value, var).numpy().astype(np.float64)


def central_differences(loss_fn, y, p, w=None, h=1e-6):
    """``(f(p + h e_i) - f(p - h e_i)) / 2h`` for every i (on TensorFlow in one traced
    graph; eagerly on the other backends)."""
    n = p.size
    stack = np.concatenate([p + h * np.eye(n), p - h * np.eye(n)])

    def one(row):
        return loss_fn(y, row) if w is None else loss_fn(y, row, w)

    if BACKEND == "tensorflow":

        @tf.function
        def values(rows):
            return tf.map_fn(one, rows)

        v = np64(values(stack))
    else:
        v = np.array([float(np64(one(row))) for row in stack])
    return (v[:n] - v[n:]) / (2 * h)


def batch(seed, n=12, low=0.0, high=1.0, logits=False):
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    y[rng.choice(n, size=max(2, n // 3), replace=False)] = 1.0
    if logits:
        return y, rng.normal(0.0, high, n)
    return y, rng.uniform(low, high, n)


def loss_classes():
    return [
        L.AccuracyLoss,
        L.FBetaLoss,
        L.GMeanLoss,
        L.BalancedAccuracyLoss,
        L.MCCLoss,
        L.GMN,
        L.SOL,
        L.ConfusionMatrixLoss,
        L.BinaryCrossentropy,
        L.MeanSquaredError,
    ]


CM_LOSS_CLASSES = loss_classes()[:8]

# ------------------------------------------------------------- finite differences

# (id, constructor, input: "near" = probabilities near 0.5, "unit" = in (0, 1), "logits")
GRADIENT_CASES = [
    ("accuracy", lambda: L.AccuracyLoss(dtype="float64"), "near"),
    ("f_beta_0.5", lambda: L.FBetaLoss(0.5, dtype="float64"), "near"),
    ("f_beta_1", lambda: L.FBetaLoss(1.0, dtype="float64"), "near"),
    ("f_beta_2", lambda: L.FBetaLoss(2.0, dtype="float64"), "near"),
    ("g_mean", lambda: L.GMeanLoss(dtype="float64"), "near"),
    ("balanced_accuracy", lambda: L.BalancedAccuracyLoss(dtype="float64"), "near"),
    ("mcc", lambda: L.MCCLoss(dtype="float64"), "near"),
    ("accuracy_L5", lambda: L.AccuracyLoss(Amplify(5.0), dtype="float64"), "unit"),
    ("mcc_L5", lambda: L.MCCLoss(Amplify(5.0), dtype="float64"), "unit"),
    ("gmn", lambda: L.GMN(dtype="float64"), "unit"),
    ("gmn_threshold", lambda: L.GMN(threshold=0.3, dtype="float64"), "unit"),
    ("gmn_logits", lambda: L.GMN(from_logits=True, dtype="float64"), "logits"),
    ("sol_f1", lambda: L.SOL(dtype="float64"), "near"),
    ("sol_g_mean", lambda: L.SOL("g_mean", mu=0.4, delta=0.2, dtype="float64"), "unit"),
    (
        "custom_callable",
        lambda: L.ConfusionMatrixLoss(fowlkes_mallows, "identity", dtype="float64"),
        "unit",
    ),
    (
        "custom_lambda_amplified",
        lambda: L.ConfusionMatrixLoss(
            lambda tn, fp, fn, tp: (tp * tn) / ((tp + fn) * (tn + fp)),
            Amplify(8.0),
            dtype="float64",
        ),
        "unit",
    ),
    (
        "informedness_threshold_logits",
        lambda: L.ConfusionMatrixLoss(
            "informedness", Amplify(10.0), threshold=0.2, from_logits=True, dtype="float64"
        ),
        "logits",
    ),
    (
        "jaccard_threshold",
        lambda: L.ConfusionMatrixLoss("jaccard", "identity", threshold=0.3, dtype="float64"),
        "unit",
    ),
    ("bce", lambda: L.BinaryCrossentropy(dtype="float64"), "unit"),
    ("bce_threshold", lambda: L.BinaryCrossentropy(threshold=0.3, dtype="float64"), "unit"),
    (
        "bce_threshold_logits",
        lambda: L.BinaryCrossentropy(threshold=0.3, from_logits=True, dtype="float64"),
        "logits",
    ),
    ("bce_logits", lambda: L.BinaryCrossentropy(from_logits=True, dtype="float64"), "logits"),
    ("mse_threshold", lambda: L.MeanSquaredError(threshold=0.3, dtype="float64"), "unit"),
    (
        "mse_threshold_logits",
        lambda: L.MeanSquaredError(threshold=0.7, from_logits=True, dtype="float64"),
        "logits",
    ),
]


def gradient_input(kind, seed):
    if kind == "near":  # L = 73 amplification only has slope near 0.5
        return batch(seed, low=0.45, high=0.55)
    if kind == "logits":
        return batch(seed, high=1.5, logits=True)
    return batch(seed, low=0.02, high=0.98)


@pytest.mark.parametrize(
    ("case", "make", "kind"), GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES]
)
def test_autodiff_matches_central_differences(case, make, kind):
    loss = make()
    for seed in (0, 1):
        y, p = gradient_input(kind, seed)
        value, grad = autodiff(loss, y, p)
        assert value.dtype == np.float64 and np.isfinite(value)
        numeric = central_differences(loss, y, p)
        scale = max(1.0, np.max(np.abs(numeric)))
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7 * scale, err_msg=case)
        assert np.max(np.abs(grad)) > 1e-6, "a vacuous check: the gradient is zero"


@pytest.mark.parametrize(
    "make",
    [
        lambda: L.GMN(dtype="float64"),
        lambda: L.FBetaLoss(2.0, Amplify(6.0), dtype="float64"),
        lambda: L.BinaryCrossentropy(threshold=0.3, dtype="float64"),
    ],
    ids=["gmn", "f2", "bce"],
)
def test_weighted_gradients_match_central_differences(make):
    loss = make()
    y, p = batch(7, low=0.05, high=0.95)
    w = np.random.default_rng(7).uniform(0.2, 3.0, p.size)
    _, grad = autodiff(loss, y, p, w)
    np.testing.assert_allclose(grad, central_differences(loss, y, p, w), rtol=1e-6, atol=1e-8)


# ---------------------------------------------------- the AnyLoss authors' own formulas
# Transcribed from their README (github.com/doheonhan/AnyLoss) with one change, the book's
# reading "The n of the soft confusion matrix" (book/readings.md): ``yl`` is the batch's
# own n, not ``y_train.shape[0]``.


def ours_accu(y_true, y_pred, L):
    y_pred = 1 / (1 + tf.math.exp(-L * (y_pred - 0.5)))
    yl = y_true.shape[0]
    accu = (
        yl - tf.reduce_sum(y_true) - tf.reduce_sum(y_pred) + 2 * tf.reduce_sum(y_true * y_pred)
    ) / yl
    return 1 - accu


def ours_fbeta(y_true, y_pred, L, beta):
    y_pred = 1 / (1 + tf.math.exp(-L * (y_pred - 0.5)))
    numerator = (1 + beta**2) * tf.reduce_sum(y_true * y_pred)
    denominator = (beta**2) * tf.reduce_sum(y_true) + tf.reduce_sum(y_pred)
    return 1 - (numerator / denominator)


def ours_gmean(y_true, y_pred, L):
    y_pred = 1 / (1 + tf.math.exp(-L * (y_pred - 0.5)))
    syhy = tf.reduce_sum(y_true * y_pred)
    sy = tf.reduce_sum(y_true)
    yl = y_true.shape[0]
    gmean = tf.sqrt(syhy * (yl - tf.reduce_sum(y_pred) - sy + syhy) / (sy * (yl - sy)))
    return 1 - gmean


def ours_baccu(y_true, y_pred, L):
    y_pred = 1 / (1 + tf.math.exp(-L * (y_pred - 0.5)))
    syhy = tf.reduce_sum(y_true * y_pred)
    sy = tf.reduce_sum(y_true)
    yl = y_true.shape[0]
    baccu = (yl * (syhy + sy) - sy * (tf.reduce_sum(y_pred) + sy)) / (2 * sy * (yl - sy))
    return 1 - baccu


AUTHORS = [
    ("accuracy", L.AccuracyLoss, {}, ours_accu, {}),
    ("f_beta_0.5", L.FBetaLoss, {"beta": 0.5}, ours_fbeta, {"beta": 0.5}),
    ("f_beta_1", L.FBetaLoss, {"beta": 1.0}, ours_fbeta, {"beta": 1.0}),
    ("f_beta_2", L.FBetaLoss, {"beta": 2.0}, ours_fbeta, {"beta": 2.0}),
    ("g_mean", L.GMeanLoss, {}, ours_gmean, {}),
    ("balanced_accuracy", L.BalancedAccuracyLoss, {}, ours_baccu, {}),
]


@pytest.mark.parametrize(
    ("name", "cls", "kwargs", "reference", "ref_kwargs"), AUTHORS, ids=[a[0] for a in AUTHORS]
)
@pytest.mark.parametrize("L_value", [73.0, 10.0])
def test_anyloss_equals_the_authors_tensorflow_code(
    name, cls, kwargs, reference, ref_kwargs, L_value
):
    loss = cls(soft_step=Amplify(L_value), dtype="float64", **kwargs)
    for seed in range(5):
        rng = np.random.default_rng(100 + seed)
        n = int(rng.integers(5, 40))
        y = np.zeros(n)
        y[rng.choice(n, size=int(rng.integers(1, n)), replace=False)] = 1.0
        low, high = (0.45, 0.55) if seed % 2 else (0.0, 1.0)
        p = rng.uniform(low, high, n)
        ours, our_grad = autodiff(loss, y, p)
        theirs, their_grad = tf_autodiff(
            lambda yt, yp: reference(tf.constant(yt), yp, L_value, **ref_kwargs), y, p
        )
        assert ours == pytest.approx(theirs, rel=1e-10, abs=1e-10), (name, seed)
        np.testing.assert_allclose(our_grad, their_grad, rtol=1e-8, atol=1e-10)


def test_gmn_is_eq_9_of_the_astra_paper():
    y, p = batch(3, n=20)
    m1, m0 = y.sum(), (1 - y).sum()
    tn_apx, tp_apx = ((1 - p) * (1 - y)).sum(), (p * y).sum()
    expected = 1 - math.sqrt(tn_apx * tp_apx / (m0 * m1))
    assert float(np64(L.GMN(dtype="float64")(y, p))) == pytest.approx(expected, rel=1e-14)
    same = L.ConfusionMatrixLoss("g_mean", "identity", dtype="float64")
    assert float(np64(same(y, p))) == pytest.approx(expected, rel=1e-14)


def test_confusion_matrix_loss_by_hand():
    # docstring example, worked by hand: y = [0, 1, 1, 0], p = [0.2, 0.9, 0.7, 0.4]
    # TP = 1.6, FN = 0.4, FP = 0.6, TN = 1.4: F1 = 3.2 / (3.2 + 0.4 + 0.6) = 0.7619...
    y, p = np.array([0, 1, 1, 0.0]), np.array([0.2, 0.9, 0.7, 0.4])
    loss = L.confusion_matrix_loss(y, p, "f1")
    assert float(np64(loss)) == pytest.approx(1 - 3.2 / 4.2, rel=1e-14)
    # balanced accuracy: (1.6/2 + 1.4/2) / 2 = 0.75
    bal = L.ConfusionMatrixLoss("balanced_accuracy", "identity", dtype="float64")
    assert float(np64(bal(y, p))) == pytest.approx(0.25, rel=1e-14)


def test_sol_is_the_expected_confusion_matrix_under_the_cosine_distribution():
    y, p = batch(4, n=16, low=0.3, high=0.7)
    s = np64(CosineThreshold(0.5, 0.1)(p))
    tp, fp = (y * s).sum(), ((1 - y) * s).sum()
    fn = (y * (1 - s)).sum()
    expected = 1 - 2 * tp / (2 * tp + fp + fn)
    assert float(np64(L.SOL(dtype="float64")(y, p))) == pytest.approx(expected, rel=1e-13)


def test_axis_gives_one_loss_per_model():
    rng = np.random.default_rng(9)
    y = (rng.uniform(size=25) < 0.4).astype(np.float64)
    stack = rng.uniform(size=(4, 25))
    losses = np64(
        L.confusion_matrix_loss(
            np.broadcast_to(y, stack.shape), stack, "mcc", Amplify(9.0), axis=-1
        )
    )
    for k in range(4):
        single = np64(L.confusion_matrix_loss(y, stack[k], "mcc", Amplify(9.0)))
        assert losses[k] == pytest.approx(float(single), rel=1e-13)


@pytest.mark.parametrize("cls", CM_LOSS_CLASSES)
def test_integer_weights_are_repeated_examples(cls):
    loss = cls(dtype="float64")
    y, p = batch(11, n=10, low=0.3, high=0.7)
    w = np.array([1, 2, 0, 3, 1, 1, 2, 0, 1, 4], dtype=np.float64)
    weighted = float(np64(loss(y, p, sample_weight=w)))
    repeated = float(np64(loss(np.repeat(y, w.astype(int)), np.repeat(p, w.astype(int)))))
    assert weighted == pytest.approx(repeated, rel=1e-12, abs=1e-14)


# ------------------------------------------------------------------------ thresholds


@pytest.mark.parametrize("tau", [0.05, 0.25, 0.7])
def test_threshold_is_the_z_transform(tau):
    y, p = batch(5, n=15)
    z = np64(z_transform(p, tau))
    logits = np.log(p / (1 - p))
    for metric in ("f1", "g_mean", "mcc"):
        shifted = L.ConfusionMatrixLoss(metric, Amplify(7.0), threshold=tau, dtype="float64")
        plain = L.ConfusionMatrixLoss(metric, Amplify(7.0), dtype="float64")
        from_logits = L.ConfusionMatrixLoss(
            metric, Amplify(7.0), threshold=tau, from_logits=True, dtype="float64"
        )
        assert float(np64(shifted(y, p))) == pytest.approx(float(np64(plain(y, z))), rel=1e-12)
        assert float(np64(from_logits(y, logits))) == pytest.approx(
            float(np64(plain(y, z))), rel=1e-10
        )
    # per-sample losses: NumPy references
    bce = -np.mean(y * np.log(z) + (1 - y) * np.log(1 - z))
    mse = np.mean((z - y) ** 2)
    assert float(np64(L.BinaryCrossentropy(tau, dtype="float64")(y, p))) == pytest.approx(
        bce,
        rel=1e-6,  # Keras clips at epsilon = 1e-7
    )
    assert float(
        np64(L.BinaryCrossentropy(tau, from_logits=True, dtype="float64")(y, logits))
    ) == pytest.approx(bce, rel=1e-10)
    assert float(np64(L.MeanSquaredError(tau, dtype="float64")(y, p))) == pytest.approx(
        mse, rel=1e-12
    )
    assert float(
        np64(L.MeanSquaredError(tau, from_logits=True, dtype="float64")(y, logits))
    ) == pytest.approx(mse, rel=1e-10)


def test_threshold_half_is_keras():
    y, p = batch(6, n=15)
    for ours, theirs in [
        (L.BinaryCrossentropy(), keras.losses.BinaryCrossentropy()),
        (L.BinaryCrossentropy(from_logits=True), keras.losses.BinaryCrossentropy(True)),
        (L.MeanSquaredError(), keras.losses.MeanSquaredError()),
    ]:
        assert float(np64(ours(y, p))) == pytest.approx(float(np64(theirs(y, p))), rel=1e-6)


def test_bce_pivots_at_the_threshold():
    tau = 0.25
    bce = L.BinaryCrossentropy(threshold=tau, dtype="float64")
    for p in (0.1, 0.2, 0.3, 0.6):
        to_zero = float(np64(bce(np.array([0.0]), np.array([p]))))
        to_one = float(np64(bce(np.array([1.0]), np.array([p]))))
        assert (to_zero > to_one) == (p > tau)
    assert float(np64(bce(np.array([0.0]), np.array([tau])))) == pytest.approx(math.log(2))


def test_dtype_follows_the_loss():
    y, p = batch(0)
    for cls in loss_classes():
        assert keras.backend.standardize_dtype(cls()(y, p).dtype) == "float32"
        assert keras.backend.standardize_dtype(cls(dtype="float64")(y, p).dtype) == "float64"


# -------------------------------------------------------------- undefined batches

UNDEFINED_BATCHES = {
    "no_positives": (np.zeros(5), np.array([0.1, 0.4, 0.6, 0.9, 0.5])),
    "no_negatives": (np.ones(5), np.array([0.1, 0.4, 0.6, 0.9, 0.5])),
    "empty": (np.zeros(0), np.zeros(0)),
    "single_positive": (np.ones(1), np.array([0.7])),
    "single_negative": (np.zeros(1), np.array([0.7])),
}


def all_loss_instances(dtype):
    return {
        "accuracy": L.AccuracyLoss(dtype=dtype),
        "f_beta": L.FBetaLoss(2.0, dtype=dtype),
        "g_mean": L.GMeanLoss(dtype=dtype),
        "balanced_accuracy": L.BalancedAccuracyLoss(dtype=dtype),
        "mcc": L.MCCLoss(dtype=dtype),
        "gmn": L.GMN(dtype=dtype),
        "sol": L.SOL(dtype=dtype),
        "generic_jaccard": L.ConfusionMatrixLoss("jaccard", dtype=dtype),
        "generic_callable": L.ConfusionMatrixLoss(safe_fowlkes_mallows, "identity", dtype=dtype),
        "bce": L.BinaryCrossentropy(dtype=dtype),
        "bce_threshold": L.BinaryCrossentropy(0.2, dtype=dtype),
        "mse": L.MeanSquaredError(dtype=dtype),
        "mse_threshold": L.MeanSquaredError(0.2, dtype=dtype),
    }


def logit_loss_instances(dtype):
    return {
        "accuracy": L.AccuracyLoss(from_logits=True, dtype=dtype),
        "f_beta": L.FBetaLoss(0.5, from_logits=True, dtype=dtype),
        "g_mean": L.GMeanLoss(from_logits=True, dtype=dtype),
        "balanced_accuracy": L.BalancedAccuracyLoss(from_logits=True, dtype=dtype),
        "mcc": L.MCCLoss(from_logits=True, dtype=dtype),
        "gmn": L.GMN(from_logits=True, threshold=0.2, dtype=dtype),
        "sol": L.SOL(from_logits=True, dtype=dtype),
        "bce": L.BinaryCrossentropy(from_logits=True, dtype=dtype),
        "bce_threshold": L.BinaryCrossentropy(0.2, from_logits=True, dtype=dtype),
        "mse": L.MeanSquaredError(from_logits=True, dtype=dtype),
        "mse_threshold": L.MeanSquaredError(0.2, from_logits=True, dtype=dtype),
    }


def assert_finite_value_and_gradient(loss, y, p, label):
    value, grad = autodiff(loss, y, p)
    assert np.all(np.isfinite(value)), (label, value)
    assert np.all(np.isfinite(grad)), (label, grad)
    return value, grad


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", sorted(UNDEFINED_BATCHES))
def test_confusion_matrix_losses_are_finite_on_undefined_batches(kind, dtype):
    y, p = UNDEFINED_BATCHES[kind]
    y, p = y.astype(dtype), p.astype(dtype)
    for name, loss in all_loss_instances(dtype).items():
        if kind == "empty" and name.startswith(("bce", "mse")):
            continue  # per-sample Keras losses: the mean of nothing (see the next test)
        value, _ = assert_finite_value_and_gradient(loss, y, p, (kind, name))
        if kind == "empty" and name != "generic_callable":
            assert float(value) == 1.0, name  # every ratio takes zero_division = 0


def test_per_sample_losses_on_an_empty_batch_behave_as_keras():
    y, p = np.zeros(0), np.zeros(0)
    for ours, theirs in [
        (L.BinaryCrossentropy(), keras.losses.BinaryCrossentropy()),
        (L.MeanSquaredError(), keras.losses.MeanSquaredError()),
    ]:
        np.testing.assert_array_equal(np64(ours(y, p)), np64(theirs(y, p)))


@pytest.mark.parametrize("zd", [0.0, 1.0])
def test_documented_values_without_positives(zd):
    y, p = UNDEFINED_BATCHES["no_positives"]
    spec = float(np.mean(1 - p))  # TN / (TN + FP) with the identity step
    gmn = L.GMN(zero_division=zd, dtype="float64")
    value, grad = autodiff(gmn, y, p)
    assert float(value) == pytest.approx(1 - math.sqrt(zd * spec), rel=1e-14)
    if zd == 0.0:  # "GMeanLoss is 1 with zero gradient on a batch with no positive"
        np.testing.assert_array_equal(grad, 0.0)
        value, grad = autodiff(L.GMeanLoss(dtype="float64"), y, p)
        assert float(value) == 1.0
        np.testing.assert_array_equal(grad, 0.0)
    # balanced accuracy: (zd + specificity) / 2
    bal = L.ConfusionMatrixLoss("balanced_accuracy", "identity", zero_division=zd, dtype="float64")
    assert float(np64(bal(y, p))) == pytest.approx(1 - (zd + spec) / 2, rel=1e-14)
    # MCC is undefined (a row of the matrix is empty)
    mcc = L.MCCLoss(zero_division=zd, dtype="float64")
    value, grad = autodiff(mcc, y, p)
    assert float(value) == pytest.approx(1 - zd)
    np.testing.assert_array_equal(grad, 0.0)


def test_documented_values_without_negatives():
    y, p = UNDEFINED_BATCHES["no_negatives"]
    value, grad = autodiff(L.GMN(dtype="float64"), y, p)
    assert float(value) == 1.0  # specificity undefined -> 0 -> G-mean 0
    np.testing.assert_array_equal(grad, 0.0)
    # F-beta and accuracy stay defined and keep learning
    value, grad = autodiff(L.FBetaLoss(1.0, Identity(), dtype="float64"), y, p)
    assert float(value) == pytest.approx(1 - 2 * p.sum() / (p.sum() + 5), rel=1e-14)
    assert np.all(grad < 0)


# --------------------------------------------------------------- no NaN, no inf


def extreme_batches(dtype):
    rng = np.random.default_rng(12)
    mixed_y = np.array([0, 1, 0, 0, 1, 0, 0, 0], dtype=dtype)
    return {
        "all_negative": (np.zeros(6, dtype), rng.uniform(0, 1, 6).astype(dtype)),
        "all_positive": (np.ones(6, dtype), rng.uniform(0, 1, 6).astype(dtype)),
        "single_positive": (np.ones(1, dtype), np.array([0.3], dtype)),
        "single_negative": (np.zeros(1, dtype), np.array([0.3], dtype)),
        "hard_0_1": (mixed_y, np.array([0, 1, 1, 0, 0, 1, 0, 1], dtype)),
        "exact_half": (mixed_y, np.full(8, 0.5, dtype)),
        "all_zero": (mixed_y, np.zeros(8, dtype)),
        "all_one": (mixed_y, np.ones(8, dtype)),
    }


def extreme_logit_batches(dtype):
    mixed_y = np.array([0, 1, 0, 0, 1, 0, 0, 0], dtype=dtype)
    big = np.array([-1e4, 1e4, 1e4, -1e4, -1e4, 1e4, -100, 100], dtype=dtype)
    return {
        "all_negative": (np.zeros(8, dtype), big),
        "all_positive": (np.ones(8, dtype), big),
        "single_positive": (np.ones(1, dtype), np.array([-1e4], dtype)),
        "single_negative": (np.zeros(1, dtype), np.array([1e4], dtype)),
        "mixed": (mixed_y, big),
        "all_plus": (mixed_y, np.full(8, 1e4, dtype)),
        "all_minus": (mixed_y, np.full(8, -1e4, dtype)),
    }


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_no_nan_or_inf_for_probabilities(dtype):
    for kind, (y, p) in extreme_batches(dtype).items():
        for name, loss in all_loss_instances(dtype).items():
            assert_finite_value_and_gradient(loss, y, p, (kind, name))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_no_nan_or_inf_for_huge_logits(dtype):
    for kind, (y, x) in extreme_logit_batches(dtype).items():
        for name, loss in logit_loss_instances(dtype).items():
            assert_finite_value_and_gradient(loss, y, x, (kind, name))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output", ["z", "logit"])
def test_no_nan_or_inf_through_the_astra_layer(output, dtype):
    layer = ASTra(threshold=0.1, output=output, dtype=dtype)
    layer.build((None, 1))
    x = np.array([[-1e4], [1e4], [1e4], [-1e4], [-100.0], [100.0], [0.0], [1.0]], dtype=dtype)
    y = np.array([[0], [1], [0], [1], [0], [1], [1], [0]], dtype=dtype)
    instances = logit_loss_instances(dtype) if output == "logit" else all_loss_instances(dtype)
    batches = {
        "mixed": (y, x),
        "all_neg": (0 * y, x),
        "single": (y[:1], x[:1]),
        "all_pos": (0 * y + 1, x),
    }
    for label, (yy, xx) in batches.items():
        assert np.all(np.isfinite(np64(layer(xx)))), label
        for name, loss in instances.items():
            value, grads = gradients(
                lambda net_input, loss=loss, yy=yy: loss(yy, layer(net_input)), [xx], [layer.beta]
            )
            assert np.all(np.isfinite(value)), (name, label)
            for g in grads:
                assert np.all(np.isfinite(g)), (name, label)


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize("cls", loss_classes())
@pytest.mark.parametrize("bad", [2.0, -1.0, 0.5])
def test_labels_outside_0_1_are_rejected(cls, bad):
    y = np.array([0.0, 1.0, bad, 0.0])
    with pytest.raises(
        ValueError, match=r"y_true must contain only the labels 0 and 1.*got values"
    ):
        cls()(y, np.full(4, 0.4))


@pytest.mark.parametrize("cls", loss_classes())
def test_shape_mismatch_is_rejected(cls):
    with pytest.raises(ValueError, match=r"y_true and y_pred must hold one prediction per label"):
        cls()(np.array([0.0, 1.0, 1.0]), np.full(4, 0.4))
    with pytest.raises(ValueError, match=r"y_true.shape=\(6,\) and y_pred.shape=\(2, 3\)"):
        cls()(np.zeros(6), np.full((2, 3), 0.4))


@pytest.mark.parametrize("cls", CM_LOSS_CLASSES)
def test_sample_weight_shape_mismatch_is_rejected(cls):
    with pytest.raises(ValueError, match=r"y_true and sample_weight must hold one prediction"):
        cls()(np.array([0.0, 1.0, 1.0]), np.full(3, 0.4), sample_weight=np.ones(2))


@pytest.mark.parametrize("cls", loss_classes())
@pytest.mark.parametrize("threshold", [1.0, 0.0, -0.2, 1.5, math.nan, math.inf])
def test_bad_thresholds_are_rejected(cls, threshold):
    with pytest.raises(
        ValueError, match=r"threshold must be a number in \(0.0, 1.0\); got threshold="
    ):
        cls(threshold=threshold)


@pytest.mark.parametrize("cls", CM_LOSS_CLASSES)
@pytest.mark.parametrize("zd", [-0.5, 1.5, math.nan])
def test_bad_zero_division_is_rejected(cls, zd):
    with pytest.raises(ValueError, match=r"zero_division must be a number in \[0.0, 1.0\]"):
        cls(zero_division=zd)


@pytest.mark.parametrize("L_value", [0.0, -3.0, math.nan, math.inf])
def test_bad_L_is_rejected(L_value):
    with pytest.raises(ValueError, match=r"L must be a finite number > 0 .*got L="):
        L.AccuracyLoss(soft_step=Amplify(L_value))


@pytest.mark.parametrize("beta", [0.0, -1.0, math.nan, math.inf, None])
def test_bad_beta_is_rejected(beta):
    with pytest.raises(ValueError, match=r"beta must be a finite number > 0; got beta="):
        L.FBetaLoss(beta)


@pytest.mark.parametrize("name", ["auc", "F1", "gmeans", ""])
def test_unknown_metric_names_are_rejected(name):
    with pytest.raises(
        ValueError, match=r"metric must be one of \['accuracy', 'balanced_accuracy'"
    ):
        L.ConfusionMatrixLoss(name)
    with pytest.raises(ValueError, match=r"metric must be one of .*got metric="):
        L.SOL(name)


@pytest.mark.parametrize("name", ["fnr", "fpr", "e_ratio"])
def test_smaller_is_better_metrics_are_rejected(name):
    pattern = (
        rf"metric must be a larger-is-better metric, one of \['accuracy', .*'recall', "
        rf".*\].*got metric='{name}'"
    )
    with pytest.raises(ValueError, match=pattern):
        L.ConfusionMatrixLoss(name)
    with pytest.raises(ValueError, match=pattern):
        L.confusion_matrix_loss([0, 1], [0.2, 0.8], name)


def test_bad_soft_steps_are_rejected():
    with pytest.raises(ValueError, match=r"soft_step must be one of \['amplify', 'cosine', "):
        L.ConfusionMatrixLoss("f1", "logistic")
    with pytest.raises(ValueError, match=r"delta must be a finite number > 0"):
        L.SOL(delta=0.0)
    with pytest.raises(ValueError, match=r"mu must be a number in \[0.0, 1.0\]"):
        L.SOL(mu=-0.1)


# --------------------------------------------------------------------- serialization


def config_cases():
    return [
        L.AccuracyLoss(),
        L.FBetaLoss(2.0, soft_step=Amplify(20.0), threshold=0.3),
        L.GMeanLoss(zero_division=1.0),
        L.BalancedAccuracyLoss(from_logits=True),
        L.MCCLoss(soft_step="identity"),
        L.GMN(threshold=0.2, name="my_gmn"),
        L.SOL("g_mean", mu=0.4, delta=0.05),
        L.ConfusionMatrixLoss("informedness", CosineThreshold(0.3, 0.2)),
        L.ConfusionMatrixLoss(fowlkes_mallows, "identity"),
        L.BinaryCrossentropy(0.25, from_logits=True),
        L.MeanSquaredError(0.4),
    ]


@pytest.mark.parametrize("loss", config_cases(), ids=lambda loss: loss.name)
def test_config_round_trips(loss):
    y, p = batch(13, n=10, low=0.1, high=0.9)
    config = loss.get_config()
    restored = type(loss).from_config(config)
    assert restored.get_config() == config
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(again) is type(loss) and again.get_config() == config
    for other in (restored, again):
        assert float(np64(other(y, p))) == pytest.approx(float(np64(loss(y, p))), rel=1e-7)
