"""Soft steps: how scores in [0, 1] become soft predictions for a confusion matrix.

A hard classifier predicts ``1[p > t]``. If the threshold ``t`` is instead a random
variable with cumulative distribution function ``F``, the *expected* prediction is
``P(t < p) = F(p)``: a smooth, differentiable step. The three papers behind cmloss are
three choices of ``F``:

- :class:`Identity`, ``F(p) = p``: a uniform threshold on [0, 1]; the approximated
  confusion matrix of the ASTra and GMN papers.
- :class:`Amplify`, ``F(p) = 1 / (1 + exp(-L (p - 0.5)))``: a logistic threshold with
  mean 0.5 and scale ``1/L``; the AnyLoss amplification.
- :class:`CosineThreshold`, ``F(p) = 1/2 + s/2 + sin(pi s) / (2 pi)`` with
  ``s = clip((p - mu) / delta, -1, 1)``: a raised-cosine threshold on
  ``[mu - delta, mu + delta]``; the Score-Oriented Loss (SOL).

Only ``keras.ops`` is used, so every Keras backend works. Each soft step is a
serializable Keras object (``get_config``/``from_config``).
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from cmloss.core.backend_ops import sin_pi
from cmloss.core.validation import check_L, check_positive, check_probability

__all__ = [
    "SoftStep", "Identity", "Amplify", "CosineThreshold", "get", "serialize", "Saturation",
    "amplification_saturation", "max_unsaturated_L", "PAPER_L", "DEFAULT_L",
    "SaturationWarning", "warn_if_saturated",
]

PAPER_L = 73.0
"""The slope of the AnyLoss authors, the largest integer ``L`` that does not saturate in
float64."""

DEFAULT_L = {"bfloat16": 11.0, "float16": 15.0, "float32": 33.0, "float64": 73.0}
"""``Amplify()``'s slope per compute dtype: the paper's ``L = 73`` capped at the largest
integer slope for which ``A(1) < 1`` in that dtype (``floor(max_unsaturated_L(dtype))``,
checked by the test suite), so the default never cuts off a gradient by rounding.
A dtype not listed uses float32's value."""


class SaturationWarning(UserWarning):
    """An amplification slope ``L`` at which ``A(p)`` rounds to exactly 1 for confident
    scores in the compute dtype, so those scores get exactly zero gradient."""


class SoftStep:
    """Base class: a monotone map from scores in [0, 1] to soft predictions in [0, 1]."""

    name = "soft_step"

    def __call__(self, p):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> SoftStep:
        return cls(**config)

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.get_config().items()))))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@keras.saving.register_keras_serializable(package="cmloss")
class Identity(SoftStep):
    """``F(p) = p``: the approximated confusion matrix of the ASTra/GMN papers.

    Example:

    >>> float(Identity()(0.25))
    0.25
    """

    name = "identity"

    def __call__(self, p):
        return ops.convert_to_tensor(p)


def _amplify(p, L):
    """``1 / (1 + exp(-L (p - 0.5)))`` for tensors ``p`` and ``L`` of one dtype (they
    broadcast). ``L`` is converted with ``convert_to_tensor(..., dtype)``, never
    ``ops.cast`` of a Python float, which would round it through float32."""
    return ops.sigmoid(L * (p - ops.convert_to_tensor(0.5, dtype=p.dtype)))


@keras.saving.register_keras_serializable(package="cmloss")
class Amplify(SoftStep):
    """AnyLoss amplification ``A(p) = 1 / (1 + exp(-L (p - 0.5)))``.

    Args:
        L: slope, a finite number > 0, or ``None`` (default) for the largest slope up to
            the paper's 73 that does not saturate in the compute dtype (:data:`DEFAULT_L`:
            73 in float64, 33 in float32). Larger L brings the soft confusion matrix closer
            to the hard one but saturates sooner in floating point; see
            :func:`~cmloss.core.soft_steps.amplification_saturation`.

    Example:

    >>> round(float(Amplify(L=73)(0.6)), 4)
    0.9993
    >>> Amplify().slope("float32"), Amplify().slope("float64")
    (33.0, 73.0)
    """

    name = "amplify"

    def __init__(self, L: float | None = None):
        self.L = None if L is None else check_L(L)

    def slope(self, dtype) -> float:
        """The slope used for inputs of ``dtype``: ``L``, or :data:`DEFAULT_L` for it."""
        if self.L is not None:
            return self.L
        return DEFAULT_L.get(keras.backend.standardize_dtype(dtype), DEFAULT_L["float32"])

    def __call__(self, p):
        p = ops.convert_to_tensor(p)
        return _amplify(p, ops.convert_to_tensor(self.slope(p.dtype), dtype=p.dtype))

    def get_config(self) -> dict:
        return {"L": self.L}


@keras.saving.register_keras_serializable(package="cmloss")
class CosineThreshold(SoftStep):
    """SOL's expected prediction under a raised-cosine threshold distribution.

    ``F(p) = 1/2 + s/2 + sin(pi s) / (2 pi)`` with ``s = clip((p - mu) / delta, -1, 1)``:
    the CDF of the density ``(1 + cos(pi (t - mu) / delta)) / (2 delta)`` on
    ``[mu - delta, mu + delta]`` (Marchetti et al., Score-Oriented Loss).

    Args:
        mu: centre of the threshold distribution, in [0, 1] (default 0.5).
        delta: half-width, > 0 (default 0.1).

    Example:

    >>> float(CosineThreshold(mu=0.5, delta=0.1)(0.5))
    0.5
    """

    name = "cosine"

    def __init__(self, mu: float = 0.5, delta: float = 0.1):
        self.mu = check_probability(mu, "mu")
        self.delta = check_positive(delta, "delta", what=" (half-width of the threshold range)")

    def __call__(self, p):
        p = ops.convert_to_tensor(p)
        mu = ops.convert_to_tensor(self.mu, dtype=p.dtype)
        delta = ops.convert_to_tensor(self.delta, dtype=p.dtype)
        s = ops.clip((p - mu) / delta, -1.0, 1.0)
        # sin(+-pi) is not exactly 0 in floating point: clip so F stays in [0, 1]. sin_pi,
        # not ops.sin: Keras' ops.sin computes float64 in float32 except on TensorFlow.
        return ops.clip(0.5 + 0.5 * s + sin_pi(s) / (2.0 * math.pi), 0.0, 1.0)

    def get_config(self) -> dict:
        return {"mu": self.mu, "delta": self.delta}


_BY_NAME = {cls.name: cls for cls in (Identity, Amplify, CosineThreshold)}


def get(identifier) -> SoftStep:
    """Return a soft step from an instance, a name (``"identity"``, ``"amplify"``,
    ``"cosine"``), a Keras config dict, or ``None`` (identity)."""
    if identifier is None:
        return Identity()
    if isinstance(identifier, SoftStep):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(
                f"soft_step must be one of {sorted(_BY_NAME)} or a SoftStep instance; "
                f"got soft_step={identifier!r}."
            )
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict):
        obj = keras.saving.deserialize_keras_object(identifier)
        if isinstance(obj, SoftStep):
            return obj
    raise ValueError(
        f"soft_step must be a SoftStep, one of {sorted(_BY_NAME)}, a serialized SoftStep or "
        f"None; got soft_step={identifier!r}."
    )


def serialize(step: SoftStep) -> dict:
    """Keras serialization of a soft step (the inverse of :func:`get` on dicts)."""
    return keras.saving.serialize_keras_object(step)


@dataclass(frozen=True)
class Saturation:
    """Where the amplification ``A(p)`` rounds to exactly 0 or 1 in a float dtype.

    Attributes:
        L: the slope examined.
        dtype: the float dtype, e.g. ``"float32"``.
        a_at_one: ``A(1)`` as computed in ``dtype``.
        a_at_zero: ``A(0)`` as computed in ``dtype``.
        p_one: the smallest score ``p`` in [0.5, 1] with ``A(p) == 1``, or ``None`` if
            ``A(1) < 1``. Above it the gradient ``L A (1 - A)`` is exactly zero.
        p_zero: the largest ``p`` in [0, 0.5] with ``A(p) == 0``, or ``None``.
        saturated: ``A(1) == 1`` or ``A(0) == 0`` (the loss stops learning from confident
            correct or wrong predictions).
    """

    L: float
    dtype: str
    a_at_one: float
    a_at_zero: float
    p_one: float | None
    p_zero: float | None

    @property
    def saturated(self) -> bool:
        return self.p_one is not None or self.p_zero is not None


def _amplified(L: float, p: float, dtype: str) -> float:
    return float(keras.ops.convert_to_numpy(Amplify(L)(np.asarray(p, dtype=dtype))))


def _first_true(pred, lo: float, hi: float, iters: int = 80) -> float:
    """Smallest x in [lo, hi] with pred(x) true, given pred(hi) true and monotone."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if pred(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _first_true_on_grid(flags, grid, pred) -> float | None:
    """Smallest x with ``pred(x)``: the first flagged point of a dense grid, refined by
    bisection inside its grid cell; ``None`` if no point is flagged.

    Rounding to exactly 1 need not be monotone (TensorFlow's float64 sigmoid returns 1,
    then ``1 - 2**-53`` again, for arguments between about 36.7 and 37.4), so a bisection
    over the whole range could stop at any of the crossings, not the first one.
    """
    flags = np.asarray(flags, dtype=bool)
    if not flags.any():
        return None
    i = int(np.argmax(flags))
    if i == 0:
        return float(grid[0])
    return _first_true(pred, float(grid[i - 1]), float(grid[i]))


def amplification_saturation(L: float, dtype: str = "float32") -> Saturation:
    """Report where ``A(p) = 1 / (1 + exp(-L (p - 0.5)))`` saturates in ``dtype``.

    Computed with this library's own :class:`Amplify` on the active Keras backend, so the
    figures are those your training run sees.

    Example:

    >>> amplification_saturation(10.0, "float64").saturated
    False
    """
    L = check_L(L)
    a1, a0 = _amplified(L, 1.0, dtype), _amplified(L, 0.0, dtype)
    p_one = None
    if a1 == 1.0:
        grid = np.linspace(0.5, 1.0, 100_001)
        flags = keras.ops.convert_to_numpy(Amplify(L)(grid.astype(dtype))) == 1.0
        p_one = _first_true_on_grid(flags, grid, lambda p: _amplified(L, p, dtype) == 1.0)
    p_zero = None
    if a0 == 0.0:
        p_zero = -_first_true(lambda q: _amplified(L, -q, dtype) == 0.0, -0.5, 0.0)
    return Saturation(L=L, dtype=str(dtype), a_at_one=a1, a_at_zero=a0, p_one=p_one,
                      p_zero=p_zero)


@functools.cache
def max_unsaturated_L(dtype: str = "float32", upper: float = 1e4) -> float:
    """The largest ``L`` for which ``A(1) < 1`` in ``dtype`` for every slope up to ``L``
    (the book's upper bound on L): the first ``L`` at which a perfectly confident correct
    positive stops contributing gradient. Found on a dense geometric grid of slopes in
    ``[1e-3, upper]``, then by bisection; ``upper`` if nothing saturates.
    """
    grid = np.geomspace(1e-3, upper, 200_001)
    slopes = keras.ops.convert_to_tensor(grid, dtype=dtype)
    ones = keras.ops.ones_like(slopes)
    flags = keras.ops.convert_to_numpy(_amplify(ones, slopes)) == 1.0
    first = _first_true_on_grid(flags, grid, lambda L: _amplified(L, 1.0, dtype) == 1.0)
    return float(upper) if first is None else first


def warn_if_saturated(step: SoftStep, dtype, owner: str = "the loss") -> bool:
    """Warn (:class:`SaturationWarning`) if ``step`` is an :class:`Amplify` whose slope
    saturates in ``dtype``; return whether it does. Call it once per object, outside a
    compiled function (it evaluates the amplification eagerly)."""
    if not isinstance(step, Amplify) or step.L is None:
        return False
    dtype = keras.backend.standardize_dtype(dtype)
    if dtype not in DEFAULT_L or dtype == "bfloat16":  # NumPy cannot read bfloat16
        return False
    limit = max_unsaturated_L(dtype)
    if step.L <= limit:
        return False
    sat = amplification_saturation(step.L, dtype)
    where = f"A(p) is exactly 1 for p >= {sat.p_one:.3f}" if sat.p_one is not None else \
        "A(p) is exactly 0 or 1 away from 0.5"
    warnings.warn(
        f"{owner}: the amplification slope L={step.L:g} saturates in {dtype}: {where}, so "
        f"those outputs get exactly zero gradient. max_unsaturated_L({dtype!r}) = "
        f"{limit:.2f}; L={math.floor(limit)} (or Amplify(), which picks it) does not "
        f"saturate. The AnyLoss paper's L=73 saturates in float32 but not in float64. "
        f"Silence with warnings.filterwarnings('ignore', category=cmloss.SaturationWarning).",
        SaturationWarning,
        stacklevel=3,
    )
    return True
