"""Checks at the public boundary, in the style of scikit-learn's metrics.

Every check raises ``ValueError`` with a message that names the argument, the value
received and what is allowed. Value checks (labels in {0, 1}) run whenever the values
are concrete (NumPy arrays, eager tensors); inside a compiled graph (``model.fit`` with
``jit_compile``/``tf.function``) values are symbolic and only shapes can be checked.
"""

from __future__ import annotations

import math
from numbers import Real

import keras
import numpy as np

__all__ = [
    "check_int",
    "check_L",
    "check_positive",
    "check_probability",
    "check_threshold",
    "check_binary_labels",
    "check_same_size",
    "concrete_value",
]


def _describe(value) -> str:
    return f"{value!r} ({type(value).__name__})"


def check_positive(value, name: str, *, what: str = "") -> float:
    """Return ``value`` as a float if it is a finite number > 0, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(
            f"{name} must be a finite number > 0{what}; got {name}={_describe(value)}.")
    if value <= 0:
        raise ValueError(f"{name} must be a finite number > 0{what}; got {name}={value!r}.")
    return float(value)


def check_int(value, name: str, *, minimum: int = 0) -> int:
    """Return ``value`` as an int if it is an integer >= ``minimum``, else raise
    ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {name}={_describe(value)}.")
    return int(value)


def check_L(L) -> float:
    """Validate the AnyLoss amplification slope ``L`` (finite, > 0)."""
    return check_positive(L, "L", what=" (the slope of the AnyLoss amplification)")


def check_probability(value, name: str, *, low: float = 0.0, high: float = 1.0,
                      low_open: bool = False, high_open: bool = False) -> float:
    """Validate a number in an interval such as ``(0, 0.5]``; return it as float."""
    lo_br, hi_br = ("(" if low_open else "["), (")" if high_open else "]")
    allowed = f"a number in {lo_br}{low}, {high}{hi_br}"
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be {allowed}; got {name}={_describe(value)}.")
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        raise ValueError(f"{name} must be {allowed}; got {name}={value!r}.")
    return float(value)


def check_threshold(threshold, name: str = "threshold") -> float:
    """Validate a decision threshold of a probability output: a number in (0, 1)."""
    return check_probability(threshold, name, low=0.0, high=1.0, low_open=True, high_open=True)


def concrete_value(x):
    """Return ``x`` as a NumPy array if its values are known now, else ``None``.

    Symbolic tensors (inside ``tf.function``/XLA or a JAX trace) have no values yet.
    """
    if isinstance(x, (np.ndarray, np.generic, list, tuple, int, float)):
        return np.asarray(x)
    try:
        return np.asarray(keras.ops.convert_to_numpy(x))
    except Exception:  # symbolic tensor: no values to check
        return None


def check_binary_labels(y_true, name: str = "y_true") -> None:
    """Raise ``ValueError`` if concrete labels hold values other than 0 and 1."""
    values = concrete_value(y_true)
    if values is None or values.size == 0:
        return
    bad = ~((values == 0) | (values == 1))
    if np.any(bad):
        found = np.unique(values[bad])[:5]
        raise ValueError(
            f"{name} must contain only the labels 0 and 1 (1 = the minority/positive class); "
            f"got values {found.tolist()}. Encode the positive class as 1 and the rest as 0."
        )


def _static_shape(x):
    shape = getattr(x, "shape", None)
    if shape is None:
        shape = np.shape(x)
    return tuple(shape)


def check_same_size(y_true, y_pred, names: tuple[str, str] = ("y_true", "y_pred")) -> None:
    """Require one prediction per label.

    Shapes may differ only by axes of length 1 (Keras' ``(n,)`` against ``(n, 1)``).
    Unknown (``None``) dimensions are not compared.
    """
    a, b = _static_shape(y_true), _static_shape(y_pred)
    sa = [d for d in a if d != 1]
    sb = [d for d in b if d != 1]
    if len(sa) != len(sb) or any(x is not None and y is not None and x != y
                                 for x, y in zip(sa, sb)):
        raise ValueError(
            f"{names[0]} and {names[1]} must hold one prediction per label (shapes equal up to "
            f"axes of length 1); got {names[0]}.shape={a} and {names[1]}.shape={b}."
        )
