"""ASTra: the asymmetric sigmoid output of Twomey and Gorse (ICANN 2022).

Equations (numbers as in the paper):

* Eq. 4, the activation: ``ASTra(x, b) = 1 - (1 + b e^{b x})^{-1/b}``; ``b = 1`` is the
  logistic sigmoid.
* Eq. 5, its threshold (the point of steepest slope, reached at ``x = 0``):
  ``tau(b) = 1 - (1 + b)^{-1/b}``; ``tau(1) = 0.5`` and ``tau`` decreases as ``b`` grows.
* Eq. 6, the z-transform that moves the 0.5 pivot of a loss to ``tau``:
  ``z(y, tau) = y (1 - tau) / (y (1 - tau) + (1 - y) tau)``. In logit space it is a shift,
  ``logit z = logit y - logit tau``, which is how it is computed here when stability matters.
* Eq. 7, the slope from an unconstrained parameter: ``b = 2 + beta`` if ``beta > 0`` else
  ``1 + e^beta`` (so ``b > 1``, continuous and continuously differentiable at 0).

Stable evaluation. With ``t = b x + log b`` and ``v = softplus(t) / b``,
``ASTra = 1 - e^{-v} = -expm1(-v)``, ``log(1 - ASTra) = -v`` exactly, and
``log ASTra = log(1 - e^{-v})`` is evaluated with the ``log1mexp`` split and, where ``v``
underflows (very negative ``x``), from ``log v = log softplus(t) - log b ~ t - log b``.
Nothing overflows for ``|x|`` up to 1e4 and ``b`` up to 100 in float32, and every branch
of every ``where`` is fed a safe input, so gradients are finite as well.

Half precision. ``float16`` and ``bfloat16`` inputs (a model under
``keras.mixed_precision``) are computed in float32 and the result is cast back to the
input's dtype. In float16 itself ``softplus(t)`` underflows to 0 for ``t`` in about
``[-20, -16.6]`` (float16's smallest subnormal is 6e-8), so ``log softplus(t)`` would be
``-inf`` there, with a NaN gradient: for ``b = 7.4`` that is every pre-activation
``x`` in about ``[-3, -1.8]``, and Keras' ``LossScaleOptimizer`` would skip every step
of a batch that holds one.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from cmloss.core import backend_ops
from cmloss.core.validation import check_positive, check_probability, concrete_value

__all__ = [
    "astra", "astra_logit", "astra_threshold", "astra_threshold_logit", "astra_z_logit",
    "z_transform", "slope_from_beta", "beta_from_slope", "slope_from_threshold",
    "wrong_ordering_band", "SLOPE_OPTIMIZERS", "check_slope_optimizer",
    "beta_cap",
]

_LN2 = math.log(2.0)

#: How the slope parameter ``beta`` is updated: ``"same"``, by the rule of the optimizer
#: that trains the weights (Adam in the paper's setting), at the slope's own rate
#: ``eta_b``; ``"sgd"``, by plain gradient descent ``beta -= eta_b * grad`` (the paper
#: speaks of a "training rate" for b, capped at 0.5, without naming its optimizer).
SLOPE_OPTIMIZERS = ("same", "sgd")


def check_slope_optimizer(value, name: str = "slope_optimizer") -> str:
    """``value`` if it is one of :data:`SLOPE_OPTIMIZERS`, else a ``ValueError``."""
    if value not in SLOPE_OPTIMIZERS:
        raise ValueError(f"{name} must be one of {SLOPE_OPTIMIZERS}; got {name}={value!r}.")
    return value


_HALF = ("float16", "bfloat16")


def _float(x):
    """``(x, dtype)``: ``x`` as a float tensor of at least float32 (integers and half
    precision become float32), and the dtype the result is returned in (float32 for
    integers, the input's own dtype otherwise)."""
    x = backend_ops.to_tensor(x)  # a NumPy float64 scalar stays float64 (PyTorch)
    if "float" not in str(x.dtype):
        return ops.cast(x, "float32"), "float32"
    dtype = keras.backend.standardize_dtype(x.dtype)
    if dtype in _HALF:
        return ops.cast(x, "float32"), dtype
    return x, dtype


def _returned(y, dtype):
    """``y`` cast back to ``dtype`` (a half-precision input's), unchanged otherwise."""
    return y if keras.backend.standardize_dtype(y.dtype) == dtype else ops.cast(y, dtype)


def _as_pair(x, b):
    """``(x, b, dtype)``: both as tensors of ``x``'s computation dtype (at least float32),
    and the dtype to return (see :func:`_float`)."""
    x, dtype = _float(x)
    values = concrete_value(b)
    if values is not None and values.size and (not (values > 0).all()):
        raise ValueError(f"b (the ASTra slope) must be > 0; got b={values.ravel()[:5].tolist()}.")
    b = ops.convert_to_tensor(b, dtype=x.dtype)  # a Python float must not pass via float32
    return x, b, dtype


def _log1mexp(v):
    """``log(1 - exp(-v))`` for ``v > 0`` (Maechler's split at log 2)."""
    near = v < _LN2
    a = ops.log(-ops.expm1(-ops.where(near, v, ops.full_like(v, _LN2))))
    c = ops.log1p(-ops.exp(-ops.where(near, ops.full_like(v, _LN2), v)))
    return ops.where(near, a, c)


def _log_parts(x, b):
    """Return ``(log ASTra(x, b), v)`` with ``v = -log(1 - ASTra(x, b))``."""
    t = b * x + ops.log(b)
    v = backend_ops.softplus(t) / b  # not ops.softplus: PyTorch's is x itself above 20
    tiny = t < -20.0  # softplus(t) = e^t (1 - e^t / 2 + ...): log softplus(t) = t to 1e-9
    log_u = ops.where(tiny, t, ops.log(backend_ops.softplus(ops.where(tiny, ops.zeros_like(t), t))))
    log_v = log_u - ops.log(b)
    small = v < 1e-3  # log(1 - e^-v) = log v - v/2 + v^2/24 - ...
    series = log_v - v / 2.0 + v * v / 24.0
    return ops.where(small, series, _log1mexp(ops.where(small, ops.ones_like(v), v))), v


def _sigmoid_case(b, exact, general):
    """``exact`` where ``b == 1`` (the sigmoid, bit for bit), else ``general``; the gradient
    is ``general``'s everywhere (a plain ``where`` would make d/db vanish at b = 1)."""
    keep = ops.stop_gradient(exact) + (general - ops.stop_gradient(general))
    return ops.where(ops.equal(b, 1.0), keep, general)


def astra(x, b):
    """``ASTra(x, b) = 1 - (1 + b e^{b x})^{-1/b}`` (Eq. 4), stable for large ``|x|``.

    Args:
        x: pre-activation (the output unit's net input).
        b: slope, > 0 (``b = 1`` gives the sigmoid, ``b > 1`` a threshold below 0.5).

    Example:

    >>> round(float(astra(0.0, 7.39635)), 5)
    0.25
    """
    x, b, dtype = _as_pair(x, b)
    _, v = _log_parts(x, b)
    return _returned(_sigmoid_case(b, ops.sigmoid(x), -ops.expm1(-v)), dtype)


def astra_logit(x, b):
    """``logit(ASTra(x, b))``, finite even where ASTra rounds to 0 or 1."""
    x, b, dtype = _as_pair(x, b)
    log_y, v = _log_parts(x, b)
    return _returned(_sigmoid_case(b, x, log_y + v), dtype)


def astra_threshold(b):
    """``tau(b) = 1 - (1 + b)^{-1/b}`` (Eq. 5).

    Example:

    >>> round(float(astra_threshold(7.39635)), 5)
    0.25
    """
    b, dtype = _float(b)
    return _returned(-ops.expm1(-ops.log1p(b) / b), dtype)


def astra_threshold_logit(b):
    """``logit(tau(b))``, computed without forming ``tau``."""
    b, dtype = _float(b)
    w = ops.log1p(b) / b  # -log(1 - tau)
    return _returned(_log1mexp(w) + w, dtype)


def astra_z_logit(x, b):
    """``logit z(ASTra(x, b), tau(b))``: the z-transformed output in logit space.

    Zero exactly at ``x = 0`` (the threshold), so ``sigmoid`` of it is 0.5 there.
    """
    x, b, dtype = _as_pair(x, b)
    log_y, v = _log_parts(x, b)
    # tau(b) = ASTra(0, b): evaluate it through the same code path so that x = 0 gives
    # exactly 0 (a separate closed form for logit tau differs in the last bits).
    log_tau, w = _log_parts(ops.zeros_like(x), b)
    return _returned(_sigmoid_case(b, x, (log_y + v) - (log_tau + w)), dtype)


def z_transform(y_hat, tau):
    """``z(y, tau) = y (1 - tau) / (y (1 - tau) + (1 - y) tau)`` (Eq. 6).

    Maps ``tau`` to 0.5, 0 to 0 and 1 to 1, monotonically, so that any loss or metric that
    pivots at 0.5 pivots at ``tau`` instead.

    Example:

    >>> float(z_transform(0.25, 0.25))
    0.5
    """
    y = backend_ops.to_tensor(y_hat)
    if "float" not in str(y.dtype):
        y = ops.cast(y, "float32")
    tau = ops.convert_to_tensor(tau, dtype=y.dtype)
    a = y * (1.0 - tau)
    return a / (a + (1.0 - y) * tau)


def slope_from_beta(beta):
    """``b = 2 + beta`` if ``beta > 0`` else ``1 + e^beta`` (Eq. 7)."""
    beta, dtype = _float(beta)
    pos = beta > 0
    b = ops.where(pos, 2.0 + beta, 1.0 + ops.exp(ops.where(pos, ops.zeros_like(beta), beta)))
    return _returned(b, dtype)


def beta_from_slope(b: float) -> float:
    """Inverse of Eq. 7 for a slope ``b > 1`` (Python float)."""
    b = check_positive(b, "b")
    if b <= 1.0:
        raise ValueError(f"b must be > 1 to have an unconstrained beta (Eq. 7); got b={b!r}.")
    return b - 2.0 if b >= 2.0 else math.log(b - 1.0)


def _tau(b: float) -> float:
    return -math.expm1(-math.log1p(b) / b)


def slope_from_threshold(threshold: float) -> float:
    """The slope ``b >= 1`` whose ASTra threshold (Eq. 5) is ``threshold``.

    Solved by bisection on ``log b`` in float64 (``tau`` is strictly decreasing in ``b``).

    Args:
        threshold: a number in (0, 0.5]; 0.5 gives ``b = 1`` (the sigmoid).

    Example:

    >>> round(slope_from_threshold(0.25), 5)
    7.39635
    """
    tau = check_probability(threshold, "threshold", low=0.0, high=0.5, low_open=True)
    if tau == 0.5:
        return 1.0
    lo, hi = 0.0, 1.0  # log b
    while _tau(math.exp(hi)) > tau:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _tau(math.exp(mid)) > tau:
            lo = mid
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi))


def wrong_ordering_band(b: float) -> tuple[float, float]:
    """The inputs ``0 < x < log((2^b - 1) / b) / b`` where plain BCE on ASTra(x, b) is
    wrongly ordered: ``x > 0`` is predicted positive (``ASTra > tau``) yet
    ``BCE(y_hat, 0) < BCE(y_hat, 1)`` because ``y_hat < 0.5`` (ASTra paper, Fig. 2b).

    Example:

    >>> lo, hi = wrong_ordering_band(7.39635)
    >>> round(hi, 4)
    0.4218
    """
    b = check_positive(b, "b")
    return 0.0, math.log((2.0**b - 1.0) / b) / b


def beta_cap(min_threshold: float | None, name: str = "min_threshold") -> float:
    """The largest slope parameter ``beta`` whose threshold ``tau(b)`` is at least
    ``min_threshold`` (``tau`` decreases as ``b`` grows, Eq. 5): ``beta`` kept at or below
    it keeps ``tau >= min_threshold``. ``None``: no floor, ``inf``.

    The ASTra paper calls ``tau = 0.05`` the lowest workable threshold; a floor there is
    ``beta_cap(0.05)``.

    >>> round(beta_cap(0.05), 4) == round(beta_from_slope(slope_from_threshold(0.05)), 4)
    True
    >>> beta_cap(None)
    inf
    """
    if min_threshold is None:
        return math.inf
    check_probability(min_threshold, name, low=0.0, high=0.5, low_open=True,
                      high_open=True)
    return beta_from_slope(slope_from_threshold(min_threshold))
