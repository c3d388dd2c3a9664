"""Tests of the ASTra mathematics (Twomey and Gorse, ICANN 2022, Eqs. 4-7) and the layer.

Independent references: the paper's formulas evaluated in 60-digit arithmetic (mpmath),
the paper's own numbers (tau_init = 0.25 <-> b = 7.39635, the wrong-ordering band of
plain BCE), and central finite differences in float64.
"""

from __future__ import annotations

import math

import keras
import mpmath
import numpy as np
import pytest
from conftest import gradients
from keras import ops

import cmloss
from cmloss.core.astra import (
    astra,
    astra_logit,
    astra_threshold,
    astra_threshold_logit,
    astra_z_logit,
    beta_from_slope,
    slope_from_beta,
    slope_from_threshold,
    wrong_ordering_band,
    z_transform,
)
from cmloss.layers import ASTra, find_astra_layers
from cmloss.losses import binary_crossentropy

mpmath.mp.dps = 60
B_PAPER = 7.39635  # tau_init = 0.25 (ASTra Section 3.1)
STABILITY_B = [1.0, 2.0, 7.4, 20.0, 50.0, 100.0]
STABILITY_X = [-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4]


def np64(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


def mp_v(x, b):
    """``v = -log(1 - ASTra) = log(1 + b e^{bx}) / b`` in high precision."""
    x, b = mpmath.mpf(x), mpmath.mpf(b)
    return mpmath.log1p(b * mpmath.exp(b * x)) / b


def mp_astra(x, b) -> float:
    return float(-mpmath.expm1(-mp_v(x, b)))


def mp_astra_logit(x, b) -> float:
    v = mp_v(x, b)
    return float(mpmath.log(-mpmath.expm1(-v)) + v)


def mp_tau(b):
    b = mpmath.mpf(b)
    return -mpmath.expm1(-mpmath.log1p(b) / b)


def mp_z_logit(x, b) -> float:
    tau = mp_tau(b)
    return mp_astra_logit(x, b) - float(mpmath.log(tau / (1 - tau)))


def central(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


def grad(f, *args, wrt=0):
    _, grads = gradients(f, [np.asarray(a, dtype=np.float64) for a in args])
    return grads[wrt]


# ------------------------------------------------------------- Eq. 4 against mpmath


@pytest.mark.parametrize("b", [1.0, 1.3, 2.0, B_PAPER, 20.0, 100.0])
def test_astra_equals_eq_4_in_high_precision(b):
    xs = np.r_[-np.logspace(-3, 2.5, 25), 0.0, np.logspace(-3, 2.5, 25)]
    got = np64(astra(xs, b))
    expected = np.array([mp_astra(x, b) for x in xs])
    ok = expected > 1e-300  # below that, float64 underflows
    np.testing.assert_allclose(got[ok], expected[ok], rtol=1e-13)
    logit = np64(astra_logit(xs, b))
    expected_logit = np.array([mp_astra_logit(x, b) for x in xs])
    np.testing.assert_allclose(logit, expected_logit, rtol=1e-12, atol=1e-13)


def test_astra_is_the_naive_formula_where_that_is_safe():
    x = np.linspace(-3, 3, 61)
    for b in (1.5, 3.0, B_PAPER):
        naive = 1.0 - (1.0 + b * np.exp(b * x)) ** (-1.0 / b)
        np.testing.assert_allclose(np64(astra(x, b)), naive, rtol=1e-12, atol=1e-15)


def test_astra_with_b_1_is_the_sigmoid():
    x = np.linspace(-40, 40, 801)
    sigmoid = np64(ops.sigmoid(x))  # the backend's own sigmoid
    np.testing.assert_array_equal(np64(astra(x, 1.0)), sigmoid)
    np.testing.assert_array_equal(np64(astra_logit(x, 1.0)), x)
    # and the general branch agrees as b -> 1
    np.testing.assert_allclose(np64(astra(x, 1.0 + 1e-9)), sigmoid, rtol=1e-7, atol=1e-300)
    assert float(np64(astra_threshold(1.0))) == pytest.approx(0.5, abs=1e-16)
    assert float(np64(astra_threshold_logit(np.float64(1.0)))) == pytest.approx(0.0, abs=1e-15)


# ------------------------------------------------------------------ Eq. 5: threshold


def test_paper_threshold_quarter():
    assert float(np64(astra_threshold(B_PAPER))) == pytest.approx(0.25, abs=1e-5)
    assert float(np64(astra_threshold(np.float64(B_PAPER)))) == pytest.approx(0.25, abs=1e-5)
    assert slope_from_threshold(0.25) == pytest.approx(B_PAPER, abs=1e-5)
    assert float(mp_tau(slope_from_threshold(0.25))) == pytest.approx(0.25, abs=1e-14)


def test_slope_from_threshold_round_trip():
    taus = np.r_[np.linspace(0.05, 0.5, 46)[:-1], 0.4999]
    slopes = np.array([slope_from_threshold(t) for t in taus])
    assert np.all(slopes > 1.0) and np.all(np.diff(slopes) < 0)  # tau decreases as b grows
    back = np64(astra_threshold(slopes))
    np.testing.assert_allclose(back, taus, rtol=0, atol=1e-12)
    assert slope_from_threshold(0.5) == 1.0
    for b in (1.01, 2.0, B_PAPER, 40.0):
        assert slope_from_threshold(float(mp_tau(b))) == pytest.approx(b, rel=1e-10)


def test_threshold_is_the_point_of_steepest_slope():
    # Eq. 5 defines tau as ASTra at the x of maximum gradient, which is x = 0
    x = np.linspace(-1, 1, 2001)
    for b in (1.0, 2.0, B_PAPER, 30.0):
        slope = grad(lambda xx, b=b: astra(xx, b), x)
        assert abs(x[np.argmax(slope)]) < 1e-3
        np.testing.assert_allclose(np64(astra(0.0 * x[:1], b)), np64(astra_threshold(b)))


@pytest.mark.parametrize("b", [1.0, 1.5, 2.0, B_PAPER, 20.0, 100.0])
def test_astra_at_zero_is_the_threshold(b):
    assert float(np64(astra(np.float64(0.0), b))) == pytest.approx(
        float(np64(astra_threshold(np.float64(b)))), rel=1e-14
    )
    assert float(np64(astra_z_logit(np.float64(0.0), b))) == pytest.approx(0.0, abs=1e-14)


@pytest.mark.parametrize("threshold", [0.0, -0.1, 0.6, 1.0, math.nan, math.inf])
def test_slope_from_threshold_rejects_bad_thresholds(threshold):
    with pytest.raises(ValueError, match=r"threshold must be a number in \(0.0, 0.5\]; got "):
        slope_from_threshold(threshold)


def test_bad_slopes_are_rejected():
    for b in (0.0, -1.0):
        with pytest.raises(ValueError, match=r"b \(the ASTra slope\) must be > 0; got b="):
            astra(1.0, b)
    with pytest.raises(ValueError, match=r"b must be > 1 to have an unconstrained beta"):
        beta_from_slope(1.0)
    with pytest.raises(ValueError, match=r"b must be a finite number > 0"):
        beta_from_slope(math.nan)
    with pytest.raises(ValueError, match=r"b must be a finite number > 0"):
        wrong_ordering_band(0.0)


# -------------------------------------------------------------- Eq. 6: z-transform


def test_z_transform_maps_tau_to_half_and_keeps_the_ends():
    taus = np.linspace(0.01, 0.99, 50)
    np.testing.assert_allclose(np64(z_transform(taus, taus)), 0.5, rtol=1e-15)
    for tau in (0.05, 0.25, 0.5, 0.8):
        assert float(np64(z_transform(np.float64(0.0), tau))) == 0.0
        assert float(np64(z_transform(np.float64(1.0), tau))) == 1.0
        y = np.linspace(0.0, 1.0, 1001)
        z = np64(z_transform(y, tau))
        assert np.all(np.diff(z) > 0)  # strictly increasing in y
        logit_z = np.log(z[1:-1] / (1 - z[1:-1]))
        expected = np.log(y[1:-1] / (1 - y[1:-1])) - math.log(tau / (1 - tau))
        np.testing.assert_allclose(logit_z, expected, rtol=1e-9, atol=1e-12)
    y = np.linspace(0, 1, 11)
    np.testing.assert_allclose(np64(z_transform(y, 0.5)), y, atol=1e-16)


def test_z_transform_uses_a_python_threshold_exactly_in_float64():
    assert float(np64(z_transform(np.float64(0.3), 0.3))) == 0.5


# ------------------------------------------------------------------- Eq. 7: slope


def test_eq7_is_continuous_and_smooth_at_zero():
    assert float(np64(slope_from_beta(np.float64(0.0)))) == 2.0
    for eps in (1e-6, 1e-9):
        assert float(np64(slope_from_beta(np.float64(eps)))) == pytest.approx(2 + eps, abs=1e-15)
        assert float(np64(slope_from_beta(np.float64(-eps)))) == pytest.approx(
            1 + math.exp(-eps), abs=1e-15
        )
    for beta in (-1e-7, 1e-7):  # derivative 1 from both sides
        assert float(grad(slope_from_beta, beta)) == pytest.approx(1.0, abs=1e-6)
    betas = np.linspace(-30, 30, 601)
    b = np64(slope_from_beta(betas))
    assert np.all(b > 1.0) and np.all(np.diff(b) > 0)
    np.testing.assert_allclose(b[betas > 0], 2 + betas[betas > 0])
    np.testing.assert_allclose(b[betas <= 0], 1 + np.exp(betas[betas <= 0]))


def test_beta_from_slope_inverts_eq7():
    for b in (1.001, 1.5, 2.0, 2.5, B_PAPER, 100.0):
        assert float(np64(slope_from_beta(np.float64(beta_from_slope(b))))) == pytest.approx(
            b, rel=1e-14
        )


# ------------------------------------------------- the wrong-ordering band of plain BCE


def bce(target, y_hat, threshold=0.5):
    y_hat = np.atleast_1d(np.asarray(y_hat, dtype=np.float64))
    return float(np64(binary_crossentropy(np.full(y_hat.shape, float(target)), y_hat, threshold)))


def test_plain_bce_has_the_wrong_ordering_band():
    b = 7.396
    lo, hi = wrong_ordering_band(b)
    assert lo == 0.0 and hi == pytest.approx(math.log((2**b - 1) / b) / b, rel=1e-15)
    assert float(np64(astra(np.float64(hi), b))) == pytest.approx(0.5, abs=1e-12)
    inside = np.linspace(hi / 50, hi * 49 / 50, 25)
    for x in inside:  # predicted positive (x > 0) yet BCE says the target-0 loss is smaller
        y_hat = float(np64(astra(np.float64(x), b)))
        assert y_hat > float(np64(astra_threshold(np.float64(b))))
        assert bce(0, y_hat) < bce(1, y_hat)
    for x in np.linspace(hi * 1.02, 5.0, 25):  # beyond the band the ordering is right again
        y_hat = float(np64(astra(np.float64(x), b)))
        assert bce(0, y_hat) > bce(1, y_hat)


def test_the_z_transform_removes_the_band():
    b = 7.396
    tau = float(np64(astra_threshold(np.float64(b))))
    for x in np.r_[np.linspace(1e-3, 0.5, 40), np.linspace(0.5, 2.0, 10)]:
        y_hat = float(np64(astra(np.float64(x), b)))
        z = float(np64(z_transform(np.float64(y_hat), tau)))
        assert bce(0, z) > bce(1, z)  # plain BCE on z
        assert bce(0, y_hat, tau) > bce(1, y_hat, tau)  # the library's threshold argument
    for x in np.linspace(-2.0, -1e-3, 20):
        y_hat = float(np64(astra(np.float64(x), b)))
        assert bce(0, y_hat, tau) < bce(1, y_hat, tau)


def test_sigmoid_has_no_band():
    assert wrong_ordering_band(1.0) == (0.0, 0.0)


# ------------------------------------------------------------- logits and z-logits


@pytest.mark.parametrize("b", [1.0, 2.0, B_PAPER, 50.0])
def test_astra_logit_is_the_logit_of_astra_where_unsaturated(b):
    x = np.arange(-80, 81) / 10.0
    y = np64(astra(x, b))
    ok = (y > 1e-12) & (y < 1 - 1e-12)
    assert ok.sum() > 50
    np.testing.assert_allclose(
        np64(astra_logit(x, b))[ok], np.log(y[ok] / (1 - y[ok])), rtol=1e-9, atol=1e-9
    )
    tau = float(np64(astra_threshold(np.float64(b))))
    z = np64(z_transform(y, tau))
    np.testing.assert_allclose(
        np64(astra_z_logit(x, b))[ok], np.log(z[ok] / (1 - z[ok])), rtol=1e-9, atol=1e-9
    )
    z_logit = np64(astra_z_logit(x, b))
    assert np.all(np.sign(z_logit[x != 0]) == np.sign(x[x != 0]))
    assert abs(z_logit[x == 0][0]) < 1e-15  # exactly 0 for a scalar x = 0 (see above)


# ------------------------------------------------------------------ stability grid


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("b", STABILITY_B)
def test_stable_values_and_gradients(b, dtype):
    x = np.array(STABILITY_X, dtype=dtype)
    bv = np.asarray(b, dtype=dtype)
    for name, f in {"astra": astra, "astra_logit": astra_logit, "z_logit": astra_z_logit}.items():
        value, (gx, gb) = gradients(f, [x, bv])
        assert np.all(np.isfinite(value)), (name, value)
        assert np.all(np.isfinite(np64(gx))) and np.isfinite(float(np64(gb))), name
        if name == "astra":
            assert np.all((value >= 0) & (value <= 1)) and np.all(np.diff(value) >= 0)
            assert value[0] == 0.0 and value[-1] == 1.0  # legitimate saturation at +-1e4
        else:
            assert np.all(np.diff(value) > 0), (name, value)
            expected = np.array(
                [
                    (mp_astra_logit if name == "astra_logit" else mp_z_logit)(xx, b)
                    for xx in STABILITY_X
                ]
            )
            rtol = 1e-5 if dtype == "float32" else 1e-12
            np.testing.assert_allclose(value, expected, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stable_threshold_and_slope(dtype):
    b = np.array(STABILITY_B + [1e3], dtype=dtype)
    taus, (g_tau,) = gradients(astra_threshold, [b])
    tau_logit, (g_tau_logit,) = gradients(astra_threshold_logit, [b])
    assert np.all(np.isfinite(taus)) and np.all((taus > 0) & (taus <= 0.5))
    assert np.all(np.diff(taus) < 0)
    assert np.all(np.isfinite(tau_logit))
    for g in (g_tau, g_tau_logit):
        assert np.all(np.isfinite(g))
    beta = np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=dtype)
    slopes, (g_slopes,) = gradients(slope_from_beta, [beta])
    assert np.all(np.isfinite(slopes)) and np.all(np.isfinite(g_slopes))


# ------------------------------------------------------------- finite differences


@pytest.mark.parametrize("b", [1.0, 1.5, 2.0, B_PAPER, 20.0])
def test_astra_derivatives_match_central_differences(b):
    x = np.linspace(-3, 3, 13)
    for name, f in {"astra": astra, "astra_logit": astra_logit, "z_logit": astra_z_logit}.items():
        dx = grad(f, x, b, wrt=0)
        np.testing.assert_allclose(
            dx, central(lambda xx, f=f: np64(f(xx, b)), x), rtol=1e-7, atol=1e-9, err_msg=name
        )
        # d/db, one x at a time (b is a scalar)
        db = np.array([grad(f, xx, b, wrt=1) for xx in x]).ravel()
        numeric = np.array(
            [central(lambda bb, f=f, xx=xx: float(np64(f(np.float64(xx), bb))), b) for xx in x]
        )
        np.testing.assert_allclose(db, numeric, rtol=1e-6, atol=1e-8, err_msg=name)


def test_other_derivatives_match_central_differences():
    b = np.array([1.0, 1.5, B_PAPER, 30.0])
    np.testing.assert_allclose(
        grad(astra_threshold, b), central(lambda bb: np64(astra_threshold(bb)), b), rtol=1e-7
    )
    beta = np.array([-3.0, -0.5, -1e-3, 1e-3, 0.5, 4.0])
    np.testing.assert_allclose(
        grad(slope_from_beta, beta), central(lambda t: np64(slope_from_beta(t)), beta), rtol=1e-7
    )
    y = np.linspace(0.05, 0.95, 10)
    tau = np.full_like(y, 0.2)
    np.testing.assert_allclose(
        grad(z_transform, y, tau, wrt=0),
        central(lambda t: np64(z_transform(t, tau)), y),
        rtol=1e-7,
    )
    np.testing.assert_allclose(
        grad(z_transform, y, tau, wrt=1),
        central(lambda t: np64(z_transform(y, t)), tau),
        rtol=1e-7,
    )


# ------------------------------------------------------------------------- the layer


def test_layer_defaults_to_the_paper_threshold():
    layer = ASTra()
    out = layer(np.zeros((2, 1), dtype="float32"))
    assert layer.slope == pytest.approx(B_PAPER, abs=1e-4)
    assert layer.threshold == pytest.approx(0.25, abs=1e-6)
    np.testing.assert_allclose(np64(out), 0.5, atol=1e-6)
    assert layer.decision_threshold == 0.5
    assert layer.beta.trainable


@pytest.mark.parametrize("output", ["z", "astra", "logit"])
def test_layer_outputs(output):
    x = np.linspace(-4, 4, 17).reshape(-1, 1)
    layer = ASTra(threshold=0.1, output=output, dtype="float64")
    got = np64(layer(x))
    b = slope_from_threshold(0.1)
    expected = {
        "z": np64(ops.sigmoid(astra_z_logit(x, b))),
        "astra": np64(astra(x, b)),
        "logit": np64(astra_z_logit(x, b)),
    }[output]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert layer.slope == pytest.approx(b, rel=1e-12)
    # the decision ``output > decision_threshold`` is the ASTra decision x > 0
    np.testing.assert_array_equal(got[x != 0] > layer.decision_threshold, x[x != 0] > 0)
    assert layer.decision_threshold == pytest.approx({"z": 0.5, "astra": 0.1, "logit": 0.0}[output])


def test_frozen_and_sigmoid_layers():
    frozen = ASTra(threshold=0.2, trainable_slope=False)
    frozen.build((None, 1))
    assert not frozen.beta.trainable and not frozen.trainable_weights
    sigmoid = ASTra(threshold=0.5, trainable_slope=False, output="astra", dtype="float64")
    x = np.linspace(-5, 5, 11).reshape(-1, 1)
    np.testing.assert_allclose(np64(sigmoid(x)), np64(ops.sigmoid(x)), rtol=1e-15)
    assert sigmoid.slope == 1.0 and sigmoid.threshold == 0.5


def test_layer_slope_gradient_is_finite_for_huge_inputs():
    for dtype in ("float32", "float64"):
        for output in ("z", "astra", "logit"):
            layer = ASTra(threshold=0.05, output=output, dtype=dtype)
            x = np.array([[-1e4], [-1.0], [0.0], [1.0], [1e4]], dtype=dtype)
            layer.build(x.shape)
            out, (gx, gbeta) = gradients(layer, [x], [layer.beta])
            assert np.all(np.isfinite(np64(out))) and np.all(np.isfinite(np64(gx)))
            assert np.isfinite(float(np64(gbeta))), (dtype, output)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold": 0.6}, r"threshold must be a number in \(0.0, 0.5\]; got threshold=0.6"),
        ({"threshold": 0.0}, r"threshold must be a number in \(0.0, 0.5\]; got threshold=0.0"),
        ({"threshold": math.nan}, r"threshold must be a number in \(0.0, 0.5\]"),
        (
            {"threshold": 0.5},
            r"threshold must be in \(0, 0.5\) when trainable_slope=True.*"
            r"got threshold=0.5",
        ),
        (
            {"output": "sigmoid"},
            r"output must be one of \('z', 'astra', 'logit'\); got "
            r"output='sigmoid'",
        ),
    ],
)
def test_layer_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ASTra(**kwargs)


def test_layer_needs_a_single_unit_input():
    with pytest.raises(ValueError, match=r"input must have last dimension 1 .*got input shape"):
        ASTra()(np.zeros((3, 2), dtype="float32"))


def test_layer_config_round_trip_and_discovery():
    layer = ASTra(threshold=0.15, trainable_slope=False, output="logit", name="out")
    restored = ASTra.from_config(layer.get_config())
    assert restored.get_config() == layer.get_config()
    inputs = keras.Input((3,))
    inner = keras.Sequential([keras.layers.Dense(1), ASTra(name="inner_astra")])
    model = keras.Model(inputs, inner(inputs))
    assert [lay.name for lay in find_astra_layers(model)] == ["inner_astra"]


def test_public_names():
    assert cmloss.astra is astra and cmloss.z_transform is z_transform
    assert cmloss.slope_from_threshold(0.5) == 1.0
