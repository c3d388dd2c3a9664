"""Keras integration: training with cmloss losses, the ASTra layer, the slope-aware
optimizers and callbacks, stateful metrics, saving and loading, and the JAX backend.

Trainings are tiny (a 4-3-1 network, full batch) so the file runs in well under a minute
of training on two CPU cores; the end-to-end ones are marked ``slow``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from conftest import gradients
from keras import ops

import cmloss
from cmloss import callbacks, layers, losses, metrics, optimizers
from cmloss.core import cm_metrics
from cmloss.core.confusion import soft_confusion_matrix


def np64(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


def imbalanced(n: int, n_pos: int, seed: int, shift=(2.0, 2.0, 1.0, 0.0)):
    """``n`` rows, 4 standard-normal features; ``n_pos`` positives shifted by ``shift``."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype="float32")
    y[rng.choice(n, n_pos, replace=False)] = 1.0
    x = rng.normal(size=(n, 4)).astype("float32")
    x[y == 1] += np.asarray(shift, dtype="float32")
    return x, y


def network(head: str, seed: int = 0, n_in: int = 4) -> keras.Model:
    """The ASTra paper's architecture: Dense(3, LeakyReLU 0.3) -> Dense(1) -> output."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((n_in,))
    hidden = keras.layers.Dense(3, kernel_initializer="he_normal")(inputs)
    hidden = keras.layers.LeakyReLU(negative_slope=0.3)(hidden)
    if head == "astra":
        out = layers.ASTra()(keras.layers.Dense(1, kernel_initializer="glorot_uniform")(hidden))
    else:
        out = keras.layers.Dense(1, activation="sigmoid", kernel_initializer="glorot_uniform")(
            hidden
        )
    return keras.Model(inputs, out)


# ------------------------------------------------------------------- end to end


def _initial_e_ratio(model, x, y) -> float:
    e_ratio = metrics.ERatioApx()
    e_ratio.update_state(y, model(x))
    return float(np64(e_ratio.result()))


@pytest.fixture(scope="module")
def gmn_astra_run():
    """GMN-ASTra, full batch, with the adaptive slope rate and best-on-validation; and
    BCE with a sigmoid output on the same data and seed."""
    x, y = imbalanced(2000, 20, seed=0)  # 1% positives
    x_val, y_val = imbalanced(1000, 10, seed=1)
    epochs, lr = 60, 5e-2

    # The first network seed whose initial training e-ratio exceeds 1, so that Eq. 10 is
    # exercised both ways (test_slope_learning_rate_follows_eq_10). Initial weights come
    # from the backend's random stream: seed 0 on TensorFlow, another seed on JAX.
    seed = next(s for s in range(10) if _initial_e_ratio(network("astra", seed=s), x, y) > 1)
    model = network("astra", seed=seed)
    initial_slope = find_slope(model)
    model.compile(
        loss=losses.GMN(),
        optimizer=optimizers.Adam(learning_rate=lr),
        metrics=[metrics.ERatioApx(), metrics.FNRApx()],
        jit_compile=False,
    )
    best = callbacks.BestOnValidation()
    history = model.fit(
        x,
        y,
        batch_size=len(x),
        epochs=epochs,
        validation_data=(x_val, y_val),
        verbose=0,
        callbacks=[callbacks.AdaptiveSlopeRate(), best],
    ).history

    baseline = network("sigmoid", seed=seed)
    baseline.compile(
        loss="binary_crossentropy", optimizer=keras.optimizers.Adam(lr), jit_compile=False
    )
    baseline.fit(x, y, batch_size=len(x), epochs=epochs, verbose=0)
    return {
        "model": model,
        "history": history,
        "best": best,
        "initial_slope": initial_slope,
        "baseline": baseline,
        "data": (x, y, x_val, y_val),
    }


def find_slope(model) -> float:
    return layers.find_astra_layers(model)[0].slope


@pytest.mark.slow
def test_slope_moves_and_threshold_decreases(gmn_astra_run):
    history = gmn_astra_run["history"]
    slopes, taus = np.array(history["astra_slope"]), np.array(history["astra_threshold"])
    assert gmn_astra_run["initial_slope"] == pytest.approx(7.39635, abs=1e-4)
    assert np.ptp(slopes) > 0.1  # b is learned
    assert taus[-1] < 0.25 and slopes[-1] > gmn_astra_run["initial_slope"]
    np.testing.assert_allclose(taus, np64(cmloss.astra_threshold(slopes)), rtol=1e-6)


@pytest.mark.slow
def test_minority_recall_beats_plain_bce(gmn_astra_run):
    x, y, x_val, y_val = gmn_astra_run["data"]
    model, baseline = gmn_astra_run["model"], gmn_astra_run["baseline"]
    ours = cmloss.evaluate(y, model.predict(x, verbose=0).ravel())
    theirs = cmloss.evaluate(y, baseline.predict(x, verbose=0).ravel())
    assert ours["recall"] > theirs["recall"]
    assert ours["g_mean"] > theirs["g_mean"]
    ours_val = cmloss.evaluate(y_val, model.predict(x_val, verbose=0).ravel())
    theirs_val = cmloss.evaluate(y_val, baseline.predict(x_val, verbose=0).ravel())
    assert ours_val["recall"] >= theirs_val["recall"]


@pytest.mark.slow
def test_slope_learning_rate_follows_eq_10(gmn_astra_run):
    history = gmn_astra_run["history"]
    rates, e_ratios = history["slope_learning_rate"], history["e_ratio_apx"]
    assert len(rates) == len(e_ratios) == len(history["loss"])
    assert rates[0] == pytest.approx(0.01)
    for epoch in range(len(rates) - 1):
        expected = callbacks.next_slope_learning_rate(rates[epoch], e_ratios[epoch])
        assert rates[epoch + 1] == pytest.approx(expected, rel=1e-6), epoch
    assert len(set(np.round(rates, 8))) > 2  # the rule was exercised both ways
    assert any(e > 1 for e in e_ratios) and any(e < 1 for e in e_ratios)
    assert all(0.01 - 1e-9 <= r <= 0.5 + 1e-9 for r in rates)
    optimizer = gmn_astra_run["model"].optimizer
    last = callbacks.next_slope_learning_rate(rates[-1], e_ratios[-1])
    assert optimizer.slope_learning_rate == pytest.approx(last, rel=1e-6)


@pytest.mark.slow
def test_best_on_validation_restores_the_best_epoch(gmn_astra_run):
    history, best = gmn_astra_run["history"], gmn_astra_run["best"]
    val_fnr = np.array(history["val_fnr_apx"])
    assert best.best_epoch == int(np.argmin(val_fnr))
    _, _, x_val, y_val = gmn_astra_run["data"]
    result = gmn_astra_run["model"].evaluate(
        x_val, y_val, batch_size=len(x_val), verbose=0, return_dict=True
    )
    assert result["fnr_apx"] == pytest.approx(val_fnr[best.best_epoch], rel=1e-5, abs=1e-7)
    # and the restored slope is that epoch's slope
    assert find_slope(gmn_astra_run["model"]) == pytest.approx(
        history["astra_slope"][best.best_epoch], rel=1e-6
    )


def test_best_on_validation_restores_an_early_epoch():
    # BCE on 1% positives pushes every output down, so the validation FNR_apx rises from
    # the first epoch: the best epoch is 0 and the final weights must be replaced.
    x, y = imbalanced(400, 8, seed=2, shift=(0.5, 0.0, 0.0, 0.0))
    x_val, y_val = imbalanced(200, 4, seed=3, shift=(0.5, 0.0, 0.0, 0.0))
    model = network("astra", seed=1)
    model.compile(
        loss=losses.BinaryCrossentropy(),
        optimizer=optimizers.Adam(5e-2),
        metrics=[metrics.FNRApx()],
        jit_compile=False,
    )
    best = callbacks.BestOnValidation()
    history = model.fit(
        x,
        y,
        batch_size=len(x),
        epochs=8,
        validation_data=(x_val, y_val),
        verbose=0,
        callbacks=[best],
    ).history
    val_fnr = np.array(history["val_fnr_apx"])
    assert best.best_epoch == int(np.argmin(val_fnr))
    assert best.best_epoch < len(val_fnr) - 1 and val_fnr[-1] > val_fnr.min()
    result = model.evaluate(x_val, y_val, batch_size=len(x_val), verbose=0, return_dict=True)
    assert result["fnr_apx"] == pytest.approx(val_fnr.min(), rel=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize(
    "loss",
    [
        losses.AccuracyLoss(),
        losses.FBetaLoss(2.0),
        losses.GMeanLoss(),
        losses.BalancedAccuracyLoss(),
        losses.MCCLoss(),
        losses.GMN(),
        losses.SOL(),
        losses.ConfusionMatrixLoss("jaccard", "identity"),
        losses.BinaryCrossentropy(threshold=0.3),
        losses.MeanSquaredError(),
    ],
    ids=lambda loss: loss.name,
)
def test_every_loss_trains_a_sigmoid_model(loss):
    x, y = imbalanced(256, 32, seed=4)
    model = network("sigmoid", seed=2)
    model.compile(
        loss=loss,
        optimizer=keras.optimizers.Adam(1e-2),
        metrics=[metrics.GMeanApx(), metrics.MCC()],
    )
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, batch_size=64, epochs=2, verbose=0).history
    assert all(np.isfinite(history["loss"]))
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def test_keras_sample_and_class_weights_weight_the_matrix():
    # a batch-level loss: Keras must hand the weights to the matrix, not rescale the loss
    x, y = imbalanced(60, 15, seed=12, shift=(0.5, 0.5, 0.0, 0.0))
    w = np.random.default_rng(12).uniform(0.5, 3.0, len(y)).astype("float32")
    model = network("astra")
    loss = losses.MCCLoss()
    model.compile(loss=loss, optimizer=optimizers.Adam(), jit_compile=False)
    pred = model.predict(x, verbose=0)
    evaluated = model.evaluate(x, y, sample_weight=w, batch_size=len(y), verbose=0)
    assert evaluated == pytest.approx(float(np64(loss(y, pred, sample_weight=w))), rel=1e-5)
    # class_weight: the first (full-batch) step's loss is that of the weighted matrix
    trained = model.fit(
        x, y, class_weight={0: 1.0, 1: 5.0}, batch_size=len(y), epochs=1, verbose=0
    ).history["loss"][0]
    weights = np.where(y == 1, 5.0, 1.0).astype("float32")
    assert trained == pytest.approx(float(np64(loss(y, pred, sample_weight=weights))), rel=1e-5)


# -------------------------------------------------------------- optimizers


def test_slope_learning_rate_applies_to_the_slope_only():
    model = network("astra")
    x, y = imbalanced(64, 8, seed=5)
    optimizer = optimizers.SGD(learning_rate=0.1, slope_learning_rate=0.5)
    loss = losses.GMN()
    variables = model.trainable_variables
    _, grads = gradients(lambda: loss(y, model(x)), [], variables)
    grads = [g.astype(keras.backend.standardize_dtype(v.dtype)) for g, v in zip(grads, variables)]
    before = [np64(v) for v in variables]
    optimizer.apply_gradients(zip(grads, variables))
    slope_var = layers.find_astra_layers(model)[0].beta
    for var, old, g in zip(variables, before, grads):
        rate = 0.5 if var is slope_var else 0.1
        np.testing.assert_allclose(np64(var), old - rate * np64(g), rtol=1e-6, atol=1e-7)
    assert optimizer.slope_learning_rate == 0.5
    optimizer.slope_learning_rate = 0.2
    assert optimizer.slope_learning_rate == pytest.approx(0.2)


@pytest.mark.parametrize("cls", [optimizers.Adam, optimizers.SGD, optimizers.RMSprop])
def test_slope_optimizers_round_trip_and_validate(cls):
    opt = cls(learning_rate=0.003, slope_learning_rate=0.04)
    assert optimizers.has_slope_learning_rate(opt)
    assert not optimizers.has_slope_learning_rate(keras.optimizers.Adam())
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert type(restored) is cls and restored.slope_learning_rate == pytest.approx(0.04)
    for bad in (0.0, -0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"slope_learning_rate must be a finite number > 0"):
            cls(slope_learning_rate=bad)
        with pytest.raises(ValueError, match=r"slope_learning_rate must be a finite number > 0"):
            opt.slope_learning_rate = bad


def test_models_without_astra_train_as_with_keras_adam():
    x, y = imbalanced(128, 16, seed=6)
    weights = []
    for opt in (optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2)):
        model = network("sigmoid", seed=3)
        model.compile(loss="binary_crossentropy", optimizer=opt, jit_compile=False)
        model.fit(x, y, batch_size=128, epochs=3, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------- callbacks


def test_eq_10_rule():
    step = callbacks.next_slope_learning_rate
    assert step(0.01, 3.0) == pytest.approx(0.011)
    assert step(0.01, float("inf")) == pytest.approx(0.011)
    assert step(0.49, 2.0) == 0.5  # capped at eta_b_max
    assert step(0.2, 0.5) == pytest.approx(0.198)
    assert step(0.01, 0.0) == 0.01  # floored at eta_b_min
    assert step(0.3, 1.0) == 0.3  # unchanged
    with pytest.raises(ValueError, match=r"e_ratio must be a number \(inf allowed\); got"):
        step(0.01, float("nan"))


def compiled_astra_model(optimizer=None, metric_list=None):
    model = network("astra")
    model.compile(
        loss=losses.GMN(),
        optimizer=optimizer or optimizers.Adam(),
        metrics=metric_list if metric_list is not None else [metrics.ERatioApx()],
    )
    return model


def test_adaptive_slope_rate_checks_its_setting():
    x, y = imbalanced(64, 8, seed=7)
    cb = [callbacks.AdaptiveSlopeRate()]
    with pytest.raises(
        ValueError,
        match=r"needs an optimizer with a separate slope learning "
        r"rate; got optimizer=Adam",
    ):
        compiled_astra_model(keras.optimizers.Adam()).fit(x, y, epochs=1, verbose=0, callbacks=cb)
    plain = network("sigmoid")
    plain.compile(loss="binary_crossentropy", optimizer=optimizers.Adam())
    with pytest.raises(ValueError, match=r"needs a model with a cmloss.layers.ASTra layer"):
        plain.fit(x, y, epochs=1, verbose=0, callbacks=cb)
    with pytest.raises(
        ValueError,
        match=r"monitors 'e_ratio_apx', which is not in the training "
        r"logs",
    ):
        compiled_astra_model(metric_list=[]).fit(x, y, epochs=1, verbose=0, callbacks=cb)
    with pytest.raises(ValueError, match=r"initial must lie in \[minimum, maximum\]"):
        callbacks.AdaptiveSlopeRate(initial=0.9)
    with pytest.raises(ValueError, match=r"k_mult must be a finite number > 0"):
        callbacks.AdaptiveSlopeRate(k_mult=0.0)


def test_best_on_validation_checks_its_setting():
    with pytest.raises(ValueError, match=r"mode must be 'min' or 'max'; got mode='auto'"):
        callbacks.BestOnValidation(mode="auto")
    with pytest.raises(ValueError, match=r"mode must be 'min' or 'max'; got mode='minimum'"):
        callbacks.BestOnValidation(mode="minimum")
    x, y = imbalanced(64, 8, seed=8)
    model = compiled_astra_model()
    with pytest.raises(ValueError, match=r"monitors 'val_fnr_apx', which is not in the logs"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.BestOnValidation()])


# ------------------------------------------------------------------ metrics


METRIC_CLASSES = [
    metrics.FNRApx,
    metrics.FPRApx,
    metrics.ERatioApx,
    metrics.GMeanApx,
    metrics.MCCApx,
    metrics.GMean,
    metrics.MCC,
]


def test_metrics_accumulate_over_batches():
    rng = np.random.default_rng(9)
    y = (rng.uniform(size=90) < 0.2).astype("float32")
    p = rng.uniform(size=90).astype("float32")
    for cls in METRIC_CLASSES:
        metric = cls()
        for part in np.array_split(np.arange(90), 3):
            metric.update_state(y[part], p[part])
        spec = cm_metrics.get_metric(metric.metric)
        scores = p if metric.approximate else (p > 0.5).astype("float32")
        expected = float(np64(spec.fn(*soft_confusion_matrix(y, scores))))
        assert float(np64(metric.result())) == pytest.approx(expected, rel=1e-5, abs=1e-6), (
            metric.name
        )
        metric.reset_state()
        assert all(float(np64(v)) == 0.0 for v in metric.variables)


def test_metric_names_weights_and_thresholds():
    assert [cls().name for cls in METRIC_CLASSES] == [
        "fnr_apx",
        "fpr_apx",
        "e_ratio_apx",
        "g_mean_apx",
        "mcc_apx",
        "g_mean",
        "mcc",
    ]
    metric = metrics.ConfusionMatrixMetric("recall", approximate=False, threshold=0.3)
    metric.update_state([0, 1, 1, 1], [0.2, 0.35, 0.25, 0.9], sample_weight=[1, 1, 2, 1])
    assert float(np64(metric.result())) == pytest.approx(2 / 4)  # TP = 2, FN = 2 (weighted)
    evaluate = cmloss.evaluate(
        [0, 1, 1, 1], [0.2, 0.35, 0.25, 0.9], threshold=0.3, sample_weight=[1, 1, 2, 1]
    )
    assert evaluate["recall"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"metric must be one of \["):
        metrics.ConfusionMatrixMetric("auc")
    with pytest.raises(ValueError, match=r"threshold must be a number in \(0.0, 1.0\)"):
        metrics.GMean(threshold=1.0)
    with pytest.raises(ValueError, match=r"zero_division must be a number in \[0.0, 1.0\]"):
        metrics.FNRApx(zero_division=2.0)


def test_metric_undefined_values_follow_the_policy():
    e_ratio = metrics.ERatioApx()
    e_ratio.update_state([1, 1, 0], [0.2, 0.3, 0.0])  # FPR_apx = 0 < FNR_apx
    assert float(np64(e_ratio.result())) == float("inf")
    fnr = metrics.FNRApx(zero_division=1.0)
    fnr.update_state([0, 0], [0.2, 0.3])  # no positives
    assert float(np64(fnr.result())) == 1.0


# --------------------------------------------------------------- save and load


SAVE_CASES = [
    losses.AccuracyLoss(),
    losses.FBetaLoss(0.5, soft_step=cmloss.Amplify(30.0)),
    losses.GMeanLoss(),
    losses.BalancedAccuracyLoss(),
    losses.MCCLoss(),
    losses.GMN(),
    losses.SOL("g_mean", mu=0.45, delta=0.2),
    losses.ConfusionMatrixLoss("informedness", "identity", zero_division=0.5),
    losses.BinaryCrossentropy(),
    losses.MeanSquaredError(threshold=0.4),
]


# Keras warns that an unbuilt optimizer's saved state is skipped (keras.optimizers.Adam too).
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
@pytest.mark.parametrize("loss", SAVE_CASES, ids=lambda loss: loss.name)
def test_save_and_load_with_each_loss(loss, tmp_path):
    x, _ = imbalanced(32, 4, seed=10)
    model = network("astra")
    model.compile(
        loss=loss,
        optimizer=optimizers.Adam(1e-2, slope_learning_rate=0.03),
        metrics=[metrics.GMeanApx()],
    )
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(np64(loaded(x)), np64(model(x)))
    assert type(loaded.loss) is type(loss)
    assert loaded.loss.get_config() == loss.get_config()
    assert isinstance(loaded.optimizer, optimizers.Adam)
    assert loaded.optimizer.slope_learning_rate == pytest.approx(0.03)


@pytest.mark.slow
def test_save_and_load_a_trained_model_with_every_metric(tmp_path):
    x, y = imbalanced(64, 8, seed=11)
    model = network("astra")
    metric_list = [cls() for cls in METRIC_CLASSES] + [
        metrics.ConfusionMatrixMetric("balanced_accuracy", approximate=False, threshold=0.4)
    ]
    model.compile(
        loss=losses.GMN(),
        metrics=metric_list,
        optimizer=optimizers.Adam(1e-2, slope_learning_rate=0.03),
    )
    model.fit(
        x,
        y,
        batch_size=32,
        epochs=2,
        verbose=0,
        callbacks=[callbacks.AdaptiveSlopeRate(initial=0.03)],
    )
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.optimizer.slope_learning_rate == pytest.approx(
        model.optimizer.slope_learning_rate
    )
    assert model.optimizer.slope_learning_rate != pytest.approx(0.03)  # Eq. 10 moved it
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(np64(a), np64(b))
    assert layers.find_astra_layers(loaded)[0].slope == pytest.approx(find_slope(model))
    ours = loaded.evaluate(x, y, verbose=0, return_dict=True)
    theirs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(ours) == {"loss"} | {m.name for m in metric_list}
    assert ours == pytest.approx(theirs, rel=1e-6)
    assert [m.get_config() for m in loaded.metrics[1].metrics] == [
        m.get_config() for m in metric_list
    ]
    # the loaded model keeps training with the slope-aware optimizer and its callback
    history = loaded.fit(
        x, y, batch_size=32, epochs=1, verbose=0, callbacks=[callbacks.AdaptiveSlopeRate()]
    ).history
    assert np.isfinite(history["loss"][0]) and "slope_learning_rate" in history


# ----------------------------------------------------------------------- JAX

JAX_SCRIPT = textwrap.dedent(
    """
    import json, os
    os.environ["KERAS_BACKEND"] = "jax"
    import jax
    jax.config.update("jax_enable_x64", True)
    import keras
    import numpy as np
    assert keras.backend.backend() == "jax"
    import cmloss
    from cmloss import losses, metrics

    rng = np.random.default_rng(0)
    y = (rng.uniform(size=40) < 0.3).astype("float64")
    p = rng.uniform(size=40)
    x = np.array([-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4])
    out = {
        "gmn": float(losses.GMN(dtype="float64")(y, p)),
        "f2": float(losses.FBetaLoss(2.0, dtype="float64")(y, 0.45 + 0.1 * p)),
        "mcc": float(losses.MCCLoss(cmloss.Amplify(9.0), dtype="float64")(y, p)),
        "sol": float(losses.SOL(dtype="float64")(y, p)),
        "bce": float(losses.BinaryCrossentropy(0.3, dtype="float64")(y, p)),
        "metrics": {k: v for k, v in cmloss.evaluate(y, p, threshold=0.4).items()
                    if np.isfinite(v)},
        "astra": np.asarray(cmloss.astra(x, 7.39635)).tolist(),
        "z_logit": np.asarray(cmloss.core.astra.astra_z_logit(x, 20.0)).tolist(),
        "tau": float(cmloss.astra_threshold(np.float64(7.39635))),
        "max_L": cmloss.max_unsaturated_L("float32"),
    }
    m = metrics.GMeanApx(dtype="float64")
    m.update_state(y, p)
    out["g_mean_apx"] = float(m.result())
    print("RESULT" + json.dumps(out))
    """
)


@pytest.mark.tensorflow_only(reason="compares this TensorFlow process with a JAX subprocess")
def test_jax_backend_agrees_with_tensorflow():
    try:
        import jax  # noqa: F401
    except ImportError:
        pytest.skip("JAX is not installed (pip install jax to run the cross-backend check)")
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    proc = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(s for s in proc.stdout.splitlines() if s.startswith("RESULT"))
    jax_values = json.loads(line[len("RESULT") :])

    rng = np.random.default_rng(0)
    y = (rng.uniform(size=40) < 0.3).astype("float64")
    p = rng.uniform(size=40)
    x = np.array([-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4])
    tf_values = {
        "gmn": float(np64(losses.GMN(dtype="float64")(y, p))),
        "f2": float(np64(losses.FBetaLoss(2.0, dtype="float64")(y, 0.45 + 0.1 * p))),
        "mcc": float(np64(losses.MCCLoss(cmloss.Amplify(9.0), dtype="float64")(y, p))),
        "sol": float(np64(losses.SOL(dtype="float64")(y, p))),
        "bce": float(np64(losses.BinaryCrossentropy(0.3, dtype="float64")(y, p))),
        "astra": np64(cmloss.astra(x, 7.39635)).tolist(),
        "z_logit": np64(cmloss.core.astra.astra_z_logit(x, 20.0)).tolist(),
        "tau": float(np64(cmloss.astra_threshold(np.float64(7.39635)))),
        "max_L": cmloss.max_unsaturated_L("float32"),
    }
    for key, value in tf_values.items():
        np.testing.assert_allclose(jax_values[key], value, rtol=1e-6, err_msg=key)
    tf_metrics = cmloss.evaluate(y, p, threshold=0.4)
    for key, value in jax_values["metrics"].items():
        assert value == pytest.approx(tf_metrics[key], rel=1e-12), key
    g_mean = metrics.GMeanApx(dtype="float64")
    g_mean.update_state(y, p)
    assert jax_values["g_mean_apx"] == pytest.approx(float(np64(g_mean.result())), rel=1e-10)


def test_best_on_validation_start_from_epoch_and_callback_serialization():
    message = r"start_from_epoch must be an int >= 0; got start_from_epoch="
    with pytest.raises(ValueError, match=message + "-2 "):
        callbacks.BestOnValidation(start_from_epoch=-2)
    with pytest.raises(ValueError, match=message + "True "):
        callbacks.BestOnValidation(start_from_epoch=True)
    best = callbacks.BestOnValidation(mode="max", start_from_epoch=3)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(best))
    assert (again.monitor, again.mode, again.start_from_epoch) == ("val_fnr_apx", "max", 3)
    rate = callbacks.AdaptiveSlopeRate(initial=0.02, k_mult=1.5)
    rate_again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(rate))
    assert rate_again.get_config() == rate.get_config()
    # fit ends before the start epoch: nothing selected, last weights kept, a warning says so
    x, y = imbalanced(64, 8, seed=8)
    model = compiled_astra_model(metric_list=[metrics.FNRApx()])
    with pytest.warns(UserWarning, match=r"fit ended before that epoch"):
        model.fit(x, y, epochs=2, verbose=0, validation_data=(x, y), callbacks=[again])
