"""Small ``keras.ops`` helpers that compute in the input's dtype on every backend.

Keras' type promotion maps float64 to float32 on every backend but TensorFlow
(``keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE``), so a few unary ops (``sin``,
``cos``, ``tanh``, ...) silently return float32 for a float64 input under JAX and PyTorch,
even with JAX's x64 mode on; PyTorch's ``divide_no_nan`` does the same (it casts both sides
to ``result_type(x1, x2, float)``). That table is fixed when Keras is imported and
``keras.config.set_floatx("float64")`` does not change it (floatx only resolves Python
scalars, before the table is applied), so there is no switch that gives PyTorch float64
the way ``JAX_ENABLE_X64`` does for JAX. Two more PyTorch differences: ``convert_to_tensor``
turns a NumPy float64 *scalar* (``np.float64(0.3)``, a ``float`` subclass) into float32,
and ``ops.softplus`` is ``torch.nn.functional.softplus``, which returns ``x`` itself for
``x > 20`` (an absolute error up to ``e^-20 = 2e-9``, far above float64 rounding).
The helpers here use the Keras ops only where they are exact and otherwise compute the
same function from ops that are. Only ``keras.ops`` is used.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

__all__ = ["divide_no_nan", "float64_demoted", "mean", "sin_pi", "softplus", "to_tensor"]

# Taylor coefficients of sin(x) = x - x^3/3! + x^5/5! - ..., up to x^25: for |x| <= pi/2
# the first omitted term is below 2e-23, far under float64's rounding.
_SIN_COEFFS = [(-1.0) ** k / math.factorial(2 * k + 1) for k in range(13)]


def _keeps_dtype(x) -> bool:
    dtype = keras.backend.standardize_dtype(x.dtype)
    return keras.backend.result_type(dtype, float) == dtype


def float64_demoted(dtype) -> bool:
    """``dtype`` is float64 and Keras' promotion maps float64 to float32 on this backend
    (every backend but TensorFlow)."""
    return (
        dtype is not None
        and keras.backend.standardize_dtype(dtype) == "float64"
        and keras.backend.result_type("float64") != "float64"
    )


def to_tensor(x, dtype=None):
    """``ops.convert_to_tensor``, but a NumPy scalar keeps its dtype on every backend.

    PyTorch's ``convert_to_tensor`` treats ``np.float64(0.3)`` as a Python float and
    returns floatx (float32); a 0-d array keeps float64, so the scalar goes as one.
    """
    if dtype is None and isinstance(x, np.generic):
        x = np.asarray(x)
    return ops.convert_to_tensor(x, dtype=dtype)


def divide_no_nan(x1, x2):
    """``ops.divide_no_nan`` (0 where ``x2 == 0``) that keeps a float64 quotient float64.

    PyTorch's ``divide_no_nan`` casts to ``result_type(x1, x2, float)``, float32 for
    float64 input; there the quotient is formed from ``where`` and ``/``, which keep it.
    """
    x1, x2 = to_tensor(x1), to_tensor(x2)
    if not (float64_demoted(x1.dtype) or float64_demoted(x2.dtype)):
        return ops.divide_no_nan(x1, x2)
    zero = ops.equal(x2, 0)
    q = x1 / ops.where(zero, ops.ones_like(x2), x2)
    return ops.where(zero, ops.zeros_like(q), q)


def softplus(x):
    """``log(1 + e^x)``, to float rounding on every backend.

    ``ops.softplus`` itself except on PyTorch, whose softplus returns ``x`` for ``x > 20``
    (error up to 2e-9); there ``x + log1p(e^-x)`` for ``x > 0`` and ``log1p(e^x)``
    otherwise, each branch fed a safe input so that the gradient (``sigmoid(x)``, 1/2 at
    0) is finite and exact everywhere.
    """
    x = ops.convert_to_tensor(x)
    if keras.backend.backend() != "torch":
        return ops.softplus(x)
    pos = x > 0
    zero = ops.zeros_like(x)
    xp = ops.where(pos, x, zero)
    xn = ops.where(pos, zero, x)
    return ops.where(pos, xp + ops.log1p(ops.exp(-xp)), ops.log1p(ops.exp(xn)))


def mean(x, axis=None):
    """``ops.mean``, but a float64 mean is accumulated in float64 on every backend.

    Keras' JAX ``mean`` accumulates in ``result_type(dtype, "float32")``, which is float32
    for float64 input (then casts back), so a float64 loss would carry float32 rounding.
    There ``sum / count`` is used instead; elsewhere ``ops.mean`` itself.
    """
    x = ops.convert_to_tensor(x)
    if not float64_demoted(x.dtype):
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
