"""Mixed precision: under ``mixed_float16`` and ``mixed_bfloat16`` the confusion-matrix
losses and metrics compute in float32 and agree with float32, the ASTra layer computes in
float32 (its float16 evaluation has non-finite gradients, and Keras' LossScaleOptimizer
then skips every step), and ``fit`` trains: no step skipped beyond the loss scale's
start, every weight and the slope move.

Each test restores the global policy to float32.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import gradients
from keras import ops

import cmloss
from cmloss import callbacks, layers, losses, metrics, optimizers
from cmloss.core.astra import astra, astra_z_logit

POLICIES = ("mixed_float16", "mixed_bfloat16")
HALF = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


@pytest.fixture(autouse=True)
def _restore_float32_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


def np64(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(ops.cast(x, "float32")), dtype=np.float64)


# --------------------------------------------------------------- losses and metrics

def _big_batch(n: int = 100_000, seed: int = 0):
    """``n`` rows, about 5% positives, scores that mostly separate them."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.05).astype("float32")
    logit = rng.normal(size=n) + 3.0 * (2.0 * y - 1.0)
    return y, (1.0 / (1.0 + np.exp(-logit))).astype("float32")


def _cm_losses():
    """Every confusion-matrix loss class of ``cmloss.losses`` (and the generic one with
    each kind of metric), built under the current global policy."""
    return {
        "accuracy": losses.AccuracyLoss(), "f1": losses.FBetaLoss(),
        "f2": losses.FBetaLoss(beta=2.0), "g_mean": losses.GMeanLoss(),
        "balanced_accuracy": losses.BalancedAccuracyLoss(), "mcc": losses.MCCLoss(),
        "gmn": losses.GMN(), "sol": losses.SOL(), "jaccard": losses.ConfusionMatrixLoss(
            "jaccard"), "informedness_identity": losses.ConfusionMatrixLoss(
            "informedness", soft_step="identity"),
    }


@pytest.mark.parametrize("policy", POLICIES)
def test_every_cm_loss_on_100k_rows_is_float32_and_equals_float32(policy):
    y, p = _big_batch()
    half = ops.cast(p, HALF[policy])  # what a mixed model's sigmoid output gives the loss
    rounded = np64(half).astype("float32")  # the same values, in float32
    expected = {name: np64(loss(y, p)) for name, loss in _cm_losses().items()}
    exact = {name: np64(loss(y, rounded)) for name, loss in _cm_losses().items()}
    keras.mixed_precision.set_global_policy(policy)
    for name, loss in _cm_losses().items():
        assert loss.dtype == "float32", name
        got = loss(y, half)
        assert keras.backend.standardize_dtype(got.dtype) == "float32", name
        value = np64(got)
        assert np.isfinite(value), name
        np.testing.assert_allclose(value, exact[name], rtol=1e-5, err_msg=name)
        # and that rounding, unbiased and averaged over 100,000 rows, moves the loss by
        # less than 1e-3 relative (measured: 1e-5 in float16; 8e-4 in bfloat16, whose 8
        # significant bits put each score off by up to 0.2%)
        np.testing.assert_allclose(value, expected[name], rtol=1e-3, err_msg=name)
    # the functional form too (its amplified soft step was evaluated in half precision)
    for metric in ("f1", "g_mean", "mcc"):
        for step in (None, "amplify"):
            got = losses.confusion_matrix_loss(y, half, metric, soft_step=step)
            assert keras.backend.standardize_dtype(got.dtype) == "float32"
            keras.mixed_precision.set_global_policy("float32")
            ref = losses.confusion_matrix_loss(y, rounded, metric, soft_step=step)
            keras.mixed_precision.set_global_policy(policy)
            np.testing.assert_allclose(np64(got), np64(ref), rtol=1e-5,
                                       err_msg=f"{metric} {step}")


def _metric_objects():
    return [metrics.FNRApx(), metrics.FPRApx(), metrics.ERatioApx(), metrics.GMeanApx(),
            metrics.MCCApx(), metrics.GMean(), metrics.MCC(),
            metrics.ConfusionMatrixMetric("f1", approximate=False, threshold=0.3)]


@pytest.mark.parametrize("policy", POLICIES)
def test_metrics_accumulate_in_float32_and_equal_float32(policy):
    y, p = _big_batch(seed=1)
    keras.mixed_precision.set_global_policy(policy)
    half = ops.cast(p, HALF[policy])
    rounded = np64(half).astype("float32")
    built = _metric_objects()
    for m in built:  # ten batches of 10,000: cells up to 95,000, past float16's 65,504
        assert m.dtype == "float32", m.name
        assert all(v.dtype == "float32" for v in m.variables), m.name
        for i in range(0, len(y), 10_000):
            m.update_state(y[i:i + 10_000], half[i:i + 10_000])
    keras.mixed_precision.set_global_policy("float32")
    for m, ref in zip(built, _metric_objects()):
        ref.update_state(y, rounded)
        got = np64(m.result())
        assert np.isfinite(got) and keras.backend.standardize_dtype(m.result().dtype) == \
            "float32", m.name
        np.testing.assert_allclose(got, np64(ref.result()), rtol=1e-5, err_msg=m.name)
    multi = metrics.ConfusionMatrixMetric("f1", num_labels=2, average="macro")
    keras.mixed_precision.set_global_policy(policy)
    multi_half = metrics.ConfusionMatrixMetric("f1", num_labels=2, average="macro")
    yy, pp = np.stack([y, y[::-1]], 1), np.stack([p, p[::-1]], 1)
    multi_half.update_state(yy, ops.cast(pp, HALF[policy]))
    multi.update_state(yy, np64(ops.cast(pp, HALF[policy])).astype("float32"))
    np.testing.assert_allclose(np64(multi_half.result()), np64(multi.result()), rtol=1e-5)


# ------------------------------------------------------------------------- ASTra

def test_astra_math_of_half_inputs_is_computed_in_float32():
    x32 = np.linspace(-30.0, 30.0, 6001).astype("float32")
    for dtype in ("float16", "bfloat16"):
        x, b = ops.cast(x32, dtype), ops.cast([7.39635], dtype)
        zl = astra_z_logit(x, b)
        _, (gx, gb) = gradients(
            lambda x, b: ops.cast(ops.sigmoid(astra_z_logit(x, b)), "float32"),
            (ops.convert_to_numpy(x), ops.convert_to_numpy(b)),
        )
        assert keras.backend.standardize_dtype(zl.dtype) == dtype
        assert keras.backend.standardize_dtype(astra(x, b).dtype) == dtype
        # float16 itself: softplus(b x + log b) underflows to 0 for x in about
        # [-3, -1.8], where the logit is -inf and the gradient NaN
        assert np.isfinite(np64(zl)).all() and np.isfinite(np64(gx)).all(), dtype
        assert np.isfinite(np64(gb)), dtype
        ref = np64(astra_z_logit(np64(x).astype("float32"), np64(b).astype("float32")))
        np.testing.assert_allclose(np64(zl), ref, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("policy", POLICIES)
def test_astra_layer_computes_and_returns_float32_under_a_mixed_policy(policy):
    keras.mixed_precision.set_global_policy(policy)
    layer = layers.ASTra(threshold=0.25)
    assert layer.compute_dtype == "float32" and layer.variable_dtype == "float32"
    x = ops.cast(np.linspace(-30.0, 30.0, 601).reshape(-1, 1), HALF[policy])
    out = layer(x)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    assert np.isfinite(np64(out)).all()
    keras.mixed_precision.set_global_policy("float32")
    ref = layers.ASTra(threshold=0.25)(np64(x).astype("float32"))
    np.testing.assert_array_equal(np64(out), np64(ref))
    # an explicit mixed policy is honoured for the output dtype, the math stays float32
    explicit = layers.ASTra(threshold=0.25, dtype=policy)
    half_out = explicit(x)
    assert keras.backend.standardize_dtype(half_out.dtype) == HALF[policy]
    np.testing.assert_allclose(np64(half_out), np64(ref), rtol=1e-2, atol=1e-3)


def _data(seed: int = 0):
    """2 features, about 13% positives; the pre-activations reach float16's bad band."""
    rng = np.random.default_rng(seed)
    x = (3.0 * rng.normal(size=(512, 2))).astype("float32")
    return x, (x[:, 0] + 0.5 * x[:, 1] > 3.0).astype("float32")


def _fit(head, loss, policy, epochs=8):
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    x, y = _data()
    out = [keras.layers.Dense(1), layers.ASTra(threshold=0.25)] if head == "astra" else \
        [keras.layers.Dense(1, activation="sigmoid")]  # half output: the loss casts
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, activation="relu"),
                              *out])
    model.compile(optimizer=optimizers.Adam(learning_rate=1e-2), loss=loss,
                  metrics=[metrics.ERatioApx()])
    before = [w.copy() for w in model.get_weights()]
    cbs = [callbacks.AdaptiveSlopeRate()] if head == "astra" else []
    history = model.fit(x, y, batch_size=128, epochs=epochs, verbose=0, callbacks=cbs)
    return model, before, history, x


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("loss", ["gmn", "bce"])
def test_fit_with_astra_and_adaptive_slope_rate_trains(policy, loss):
    steps, epochs = 4, 8
    model, before, history, x = _fit(
        "astra", losses.GMN() if loss == "gmn" else losses.BinaryCrossentropy(), policy,
        epochs)
    optimizer = model.optimizer
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    if policy == "mixed_float16":
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    # a skipped step does not count: at most the loss scale's first halvings are skipped
    assert int(inner.iterations.numpy()) >= steps * epochs - 2
    assert np.isfinite(history.history["loss"]).all()
    assert history.history["loss"][-1] < history.history["loss"][0]
    after = model.get_weights()
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))
    astra_layer = layers.find_astra_layers(model)[0]
    slopes = history.history["astra_slope"]
    assert slopes[-1] != pytest.approx(7.39635, abs=1e-4) and astra_layer.slope == slopes[-1]
    assert len(set(history.history["slope_learning_rate"])) > 1  # Eq. 10 ran on the e-ratio
    out = model.predict(x, verbose=0)
    assert out.dtype == np.float32 and np.isfinite(out).all()


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES)
def test_fit_with_a_sigmoid_output_and_a_cm_loss_trains(policy):
    model, before, history, x = _fit("sigmoid", losses.GMeanLoss(), policy)
    inner = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    assert int(inner.iterations.numpy()) >= 4 * 8 - 2
    assert np.isfinite(history.history["loss"]).all()
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert np.isfinite(model.predict(x, verbose=0)).all()
    assert cmloss.evaluate(_data()[1], model.predict(x, verbose=0))["g_mean"] > 0.5
