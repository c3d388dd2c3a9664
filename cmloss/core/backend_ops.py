"""Small ``keras.ops`` helpers that compute in the input's dtype on every backend.

Keras' type promotion maps float64 to float32 on every backend but TensorFlow
(``keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE``), so a few unary ops (``sin``,
``cos``, ``tanh``, ...) silently return float32 for a float64 input under JAX and PyTorch,
even with JAX's x64 mode on. The helpers here use those ops only where they keep the dtype
and otherwise compute the same function from ops that do. Only ``keras.ops`` is used.
"""

from __future__ import annotations

import math

import keras
from keras import ops

__all__ = ["mean", "sin_pi"]

# Taylor coefficients of sin(x) = x - x^3/3! + x^5/5! - ..., up to x^25: for |x| <= pi/2
# the first omitted term is below 2e-23, far under float64's rounding.
_SIN_COEFFS = [(-1.0) ** k / math.factorial(2 * k + 1) for k in range(13)]


def _keeps_dtype(x) -> bool:
    dtype = keras.backend.standardize_dtype(x.dtype)
    return keras.backend.result_type(dtype, float) == dtype


def _float64_demoted(x) -> bool:
    """``x`` is float64 and Keras' promotion maps float64 to float32 on this backend."""
    return (
        keras.backend.standardize_dtype(x.dtype) == "float64"
        and keras.backend.result_type("float64") != "float64"
    )


def mean(x, axis=None):
    """``ops.mean``, but a float64 mean is accumulated in float64 on every backend.

    Keras' JAX ``mean`` accumulates in ``result_type(dtype, "float32")``, which is float32
    for float64 input (then casts back), so a float64 loss would carry float32 rounding.
    There ``sum / count`` is used instead; elsewhere ``ops.mean`` itself.
    """
    x = ops.convert_to_tensor(x)
    if not _float64_demoted(x):
        return ops.mean(x, axis=axis)
    if axis is None:
        count = math.prod(x.shape)
    else:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        count = math.prod(x.shape[a] for a in axes)
    return ops.sum(x, axis=axis) / ops.convert_to_tensor(count, dtype=x.dtype)


def sin_pi(s):
    """``sin(pi * s)`` for ``s`` in [-1, 1], in the dtype of ``s`` on every backend.

    Where ``ops.sin`` keeps the dtype (every float dtype on TensorFlow; float32 and below
    elsewhere) this is ``ops.sin(pi * s)``. Otherwise (float64 under JAX or PyTorch) the
    argument is reduced to ``r`` in [-1/2, 1/2] with ``sin(pi s) = sin(pi r)``
    (``r = 1 - s`` above 1/2, ``-1 - s`` below -1/2: exact subtractions in floating
    point) and ``sin(pi r)`` is the odd Taylor polynomial up to degree 25, accurate to a
    few ulp; its derivative is the derivative of that polynomial (``pi cos(pi s)`` to the
    same accuracy).
    """
    s = ops.convert_to_tensor(s)
    if _keeps_dtype(s):
        return ops.sin(math.pi * s)
    one = ops.ones_like(s)
    half = 0.5 * one
    r = ops.where(s > half, one - s, ops.where(s < -half, -one - s, s))
    x = r * ops.convert_to_tensor(math.pi, dtype=s.dtype)
    x2 = x * x
    acc = ops.full_like(x, _SIN_COEFFS[-1])
    for c in reversed(_SIN_COEFFS[:-1]):
        acc = acc * x2 + ops.convert_to_tensor(c, dtype=s.dtype)
    return x * acc
