"""Nothing silent: NaN is never a score, invalid labels and weights are refused (also inside
a compiled ``fit``), saturated amplification and multi-label targets are named.

One test (or group) per numbered point of the reliability issue; each failed before the
fix (NaN read as a perfect score, labels in {-1, +1} trained at a constant loss of 1.0,
negative weights gave an F1 loss of 41.9, ...).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import cmloss
from cmloss.core import cm_metrics, soft_steps
from cmloss.core.validation import check_labels, guard_inputs

ROOT = Path(__file__).resolve().parents[1]
NAN = float("nan")


def _problem(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] > 1.0).astype("float32")
    return x, y


def _mlp(output_activation="sigmoid"):
    return keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1, activation=output_activation),
    ])


# 1. NaN propagates ------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(cm_metrics.METRICS))
def test_every_metric_of_a_nan_cell_it_depends_on_is_nan(name):
    fn = cm_metrics.METRICS[name].fn

    def value(cells):
        return float(fn(*np.asarray(cells, "float32")))

    assert math.isnan(value([NAN] * 4))
    for i in range(4):
        base = [3.0, 2.0, 1.0, 4.0]
        other = list(base)
        other[i] = 7.0
        if value(other) != value(base):  # the metric depends on cell i
            base[i] = NAN
            assert math.isnan(value(base)), (name, i)


def test_zero_division_policy_still_applies_to_exact_zeros():
    # no positives at all: recall and g_mean take zero_division, no NaN
    assert float(cm_metrics.recall(5.0, 1.0, 0.0, 0.0, zero_division=0.25)) == 0.25
    assert float(cm_metrics.g_mean(5.0, 1.0, 0.0, 0.0)) == 0.0
    assert float(cm_metrics.e_ratio(5.0, 0.0, 0.0, 0.0)) == 1.0
    assert math.isinf(float(cm_metrics.e_ratio(5.0, 0.0, 1.0, 1.0)))


@pytest.mark.parametrize("loss", [cmloss.losses.GMN(), cmloss.losses.GMeanLoss(),
                                  cmloss.losses.AccuracyLoss(), cmloss.losses.MCCLoss(),
                                  cmloss.losses.FBetaLoss(2.0), cmloss.losses.SOL()],
                         ids=lambda loss: type(loss).__name__)
def test_losses_of_nan_predictions_are_nan(loss):
    value = loss(np.array([0, 1, 1, 0], "float32"), np.array([0.2, NAN, 0.7, 0.1], "float32"))
    assert math.isnan(float(value))


def test_metrics_of_nan_predictions_are_nan():
    for metric in (cmloss.metrics.FNRApx(), cmloss.metrics.ERatioApx(), cmloss.metrics.GMean(),
                   cmloss.metrics.MCC()):
        metric.update_state(np.array([0, 1, 1, 0], "float32"),
                            np.array([0.2, NAN, 0.7, 0.1], "float32"))
        assert math.isnan(float(metric.result())), metric.name


def test_evaluate_refuses_nan_scores_and_says_how_many():
    with pytest.raises(ValueError, match=r"y_score must be finite; got 2 non-finite of 4 "
                                         r"scores \(1 NaN\)"):
        cmloss.evaluate([0, 1, 1, 0], [0.2, NAN, np.inf, 0.1])


def test_a_diverged_network_is_reported_not_scored():
    """A huge learning rate drives the network to NaN: TerminateOnNaN fires and the
    validation FNR_apx is NaN (before: loss 1.0 every epoch and val FNR_apx 0)."""
    x, y = _problem()
    keras.utils.set_random_seed(0)
    model = _mlp()
    model.compile(optimizer=keras.optimizers.SGD(1e30), loss=cmloss.losses.GMN(),
                  metrics=[cmloss.metrics.FNRApx()])
    history = model.fit(x, y, epochs=6, batch_size=len(x), verbose=0,
                        validation_data=(x, y), callbacks=[keras.callbacks.TerminateOnNaN()])
    assert len(history.history["loss"]) < 6  # stopped
    assert math.isnan(history.history["loss"][-1])
    assert math.isnan(history.history["val_fnr_apx"][-1])
    with pytest.raises(ValueError, match="non-finite"):
        cmloss.evaluate(y, model.predict(x, verbose=0))


# 2. Labels inside fit ----------------------------------------------------------------------

def test_check_labels_suggests_y_gt_0_for_libsvm_labels():
    with pytest.raises(ValueError, match=re.escape("(y > 0)")):
        check_labels(np.array([-1, 1, 1, -1]))
    with pytest.raises(ValueError, match=r"got values \[2\].*positive_label"):
        check_labels([0, 2, 0])
    with pytest.raises(ValueError, match=r"got values \[0\.3\].*Fractional"):
        check_labels([0, 0.3, 1])
    with pytest.raises(ValueError, match=r"no positives"):
        check_labels([0, 0, 0])
    with pytest.raises(ValueError, match=r"one binary label per example"):
        check_labels(np.zeros((5, 3)))
    assert cmloss.check_labels(np.array([[0], [1]])).tolist() == [0.0, 1.0]


@pytest.mark.parametrize("labels", [[-1.0, 1.0], [0.0, 2.0], [0.0, 0.3]],
                         ids=["libsvm", "zero-two", "fraction"])
def test_fit_stops_on_invalid_labels_with_the_message(labels):
    """Inside the compiled train step (tf.function, no XLA on CPU) the in-graph assertion
    stops fit; before, fit trained silently at a loss of 1.0."""
    x, y01 = _problem(200)
    y = np.where(y01 == 1, labels[1], labels[0]).astype("float32")
    keras.utils.set_random_seed(0)
    model = _mlp()
    model.compile(optimizer="adam", loss=cmloss.losses.GMeanLoss())
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"must contain only the labels "
                                                             r"0 and 1"):
        model.fit(x, y, epochs=2, batch_size=100, verbose=0)


def test_guard_makes_the_loss_nan_where_assertions_do_not_run():
    """XLA drops assertions: the loss itself turns NaN (every backend), so TerminateOnNaN
    stops a jit-compiled fit."""
    x, y01 = _problem(200)
    y = np.where(y01 == 1, 1.0, -1.0).astype("float32")
    keras.utils.set_random_seed(0)
    model = _mlp()
    model.compile(optimizer="adam", loss=cmloss.losses.GMN(), jit_compile=True)
    history = model.fit(x, y, epochs=3, batch_size=200, verbose=0,
                        callbacks=[keras.callbacks.TerminateOnNaN()])
    assert math.isnan(history.history["loss"][0]) and len(history.history["loss"]) == 1


def test_guard_passes_valid_inputs_unchanged():
    @tf.function
    def guarded(y, w):
        return guard_inputs(tf.constant(0.5), y, w)

    assert float(guarded(tf.constant([0.0, 1.0]), tf.constant([1.0, 2.0]))) == 0.5


def test_jax_compiled_loss_is_nan_with_a_warning_on_invalid_labels(tmp_path):
    pytest.importorskip("jax")
    script = textwrap.dedent("""
        import os, warnings
        os.environ["KERAS_BACKEND"] = "jax"
        import jax, jax.numpy as jnp
        import cmloss
        loss = cmloss.losses.GMN()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            bad = jax.jit(lambda y, p: loss(y, p))(jnp.array([-1.0, 1.0]), jnp.array([.2, .8]))
            good = jax.jit(lambda y, p: loss(y, p))(jnp.array([0.0, 1.0]), jnp.array([.2, .8]))
            jax.effects_barrier()
        print(float(bad), float(good), [str(w.message) for w in caught])
    """)
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    bad, good, messages = out.stdout.strip().split(" ", 2)
    assert bad == "nan" and abs(float(good) - 0.2) < 1e-6
    assert "(y > 0)" in messages


# 3. Sample weights --------------------------------------------------------------------------

@pytest.mark.parametrize("weight", [-1.0, NAN, np.inf])
def test_invalid_sample_weight_is_a_value_error(weight):
    y, p = np.array([0, 1, 1, 0], "float32"), np.array([0.2, 0.9, 0.7, 0.1], "float32")
    w = np.array([1.0, weight, 1.0, 1.0], "float32")
    pattern = r"sample_weight must hold finite weights >= 0"
    with pytest.raises(ValueError, match=pattern):
        cmloss.losses.FBetaLoss()(y, p, sample_weight=w)
    with pytest.raises(ValueError, match=pattern):
        cmloss.losses.BinaryCrossentropy()(y, p, sample_weight=w)
    with pytest.raises(ValueError, match=pattern):
        cmloss.evaluate(y, p, sample_weight=w)
    with pytest.raises(ValueError, match=pattern):
        cmloss.metrics.GMean().update_state(y, p, sample_weight=w)


def test_fit_stops_on_negative_sample_weight():
    x, y = _problem(200)
    w = np.ones(len(y), "float32")
    w[3] = -5.0
    keras.utils.set_random_seed(0)
    model = _mlp()
    model.compile(optimizer="adam", loss=cmloss.losses.FBetaLoss())
    with pytest.raises(tf.errors.InvalidArgumentError, match="sample_weight must hold"):
        model.fit(x, y, sample_weight=w, epochs=1, batch_size=200, verbose=0)


# 4. Saturated amplification -----------------------------------------------------------------

def test_default_slopes_are_the_largest_unsaturated_integers_up_to_the_papers():
    for dtype in ("float16", "float32", "float64"):
        expected = min(soft_steps.PAPER_L, math.floor(cmloss.max_unsaturated_L(dtype)))
        assert soft_steps.DEFAULT_L[dtype] == expected, dtype
        assert not cmloss.amplification_saturation(expected, dtype).saturated
    assert cmloss.Amplify().slope("float32") == 33.0
    assert cmloss.Amplify().slope("float64") == 73.0
    assert float(cmloss.Amplify()(np.float64(1.0))) < 1.0
    assert float(cmloss.Amplify()(np.float32(1.0))) < 1.0


def test_a_saturated_slope_warns_once_per_loss_object_naming_the_limit():
    with pytest.warns(soft_steps.SaturationWarning,
                      match=r"L=73 saturates in float32.*max_unsaturated_L\('float32'\) = "
                            r"33\.27; L=33") as record:
        loss = cmloss.losses.GMeanLoss(soft_step=cmloss.Amplify(73))
    assert len(record) == 1
    y, p = np.array([0, 1], "float32"), np.array([0.1, 0.9], "float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error", soft_steps.SaturationWarning)
        loss(y, p)  # no second warning from the same object
        cmloss.losses.GMeanLoss()  # the default does not saturate
        cmloss.losses.GMeanLoss(soft_step=cmloss.Amplify(73), dtype="float64")
    with pytest.warns(soft_steps.SaturationWarning, match="L=10000"):
        cmloss.losses.AccuracyLoss(soft_step=cmloss.Amplify(1e4))


# 5. Multi-label targets ---------------------------------------------------------------------

def test_multi_label_targets_are_averaged_per_label_not_pooled():
    y = np.zeros((6, 3), "float32")
    y[::2, 1] = 1
    p = np.full((6, 3), 0.4, "float32")
    # (n, k) gives k matrices and the macro average, never one pooled matrix
    per_label = [float(cmloss.losses.GMN()(y[:, j], p[:, j])) for j in range(3)]
    assert float(cmloss.losses.GMN()(y, p)) == pytest.approx(np.mean(per_label), rel=1e-6)
    with pytest.raises(ValueError, match=r"num_labels=1;.*Pass num_labels=3"):
        cmloss.metrics.FNRApx().update_state(y, p)
    with pytest.raises(ValueError, match=r"one binary label per example"):
        cmloss.evaluate(y, p)
    # (n,) against (n, 1) stays allowed
    assert np.isfinite(float(cmloss.losses.GMN()(y[:, 1], p[:, 1:2])))


# 6. The README quickstart -------------------------------------------------------------------

def _readme_quickstart_blocks() -> list[str]:
    """The ```python blocks of the README's Quickstart section, in order."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return [block.split("```", 1)[0] for block in section.split("```python")[1:]]


def _readme_quickstart() -> str:
    return _readme_quickstart_blocks()[0]


def _run_readme_block(code: str) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=600, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.mark.slow
def test_readme_quickstart_runs_as_written_and_gives_a_sensible_result():
    out = _run_readme_block(_readme_quickstart())
    result = eval(out.stdout.strip().splitlines()[-1], {"nan": NAN})  # the evaluate dict
    assert result["g_mean"] > 0.95 and result["fn"] == 0, result
    assert result["fp"] < 0.05 * (result["tn"] + result["fp"]), result


@pytest.mark.slow
def test_readme_multi_label_example_runs_as_written_with_a_high_macro_f1():
    blocks = _readme_quickstart_blocks()
    assert len(blocks) == 2 and "average=\"macro\"" in blocks[1], blocks
    out = _run_readme_block(blocks[1])
    result = eval(out.stdout.strip().splitlines()[-1], {"nan": NAN})  # model.evaluate's dict
    assert math.isfinite(result["loss"]) and result["macro_f1"] > 0.9, result
