"""Keras' Adam, SGD and RMSprop for a stack of members, and the in-graph slope-rate rule.

Each update repeats, operation for operation, the ``update_step`` of the Keras 3
optimizer of the same name (``keras/src/optimizers/{adam,sgd,rmsprop}.py``) on tensors
whose two leading axes index the members; every hyper-parameter is a per-member
``(V, M)`` tensor. As in Keras, the iteration count is one per optimizer (per member),
Python-float constants such as ``1 - beta_1`` are formed in double precision and then
cast to float32, and the ASTra slope is updated with its own learning rate
(:mod:`cmloss.optimizers`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from cmloss.trainer.spec import AdaptiveSlope, OptimizerSpec

__all__ = ["OptimizerKind", "hyperparameters", "next_slope_rate", "slope_rate_constants"]

_SLOTS = {"adam": ("m", "v"), "sgd": (), "sgd_momentum": ("momentum",), "rmsprop": ("velocity",)}


def _kind(spec: OptimizerSpec) -> str:
    return "sgd_momentum" if spec.name == "sgd" and spec.momentum else spec.name


def hyperparameters(specs: np.ndarray) -> dict[str, np.ndarray]:
    """Per-member float32 constants from a ``(V, M)`` object array of
    :class:`OptimizerSpec` (``None`` for padding members)."""

    def grid(fn):
        out = np.ones(specs.shape, np.float32)
        for idx, spec in np.ndenumerate(specs):
            if spec is not None:
                out[idx] = np.float32(fn(spec))
        return out

    return {
        "learning_rate": grid(lambda s: s.learning_rate),
        "beta_1": grid(lambda s: s.beta_1),
        "beta_2": grid(lambda s: s.beta_2),
        "one_minus_beta_1": grid(lambda s: 1 - s.beta_1),
        "one_minus_beta_2": grid(lambda s: 1 - s.beta_2),
        "epsilon": grid(lambda s: s.epsilon),
        "rho": grid(lambda s: s.rho),
        "one_minus_rho": grid(lambda s: 1 - s.rho),
        "momentum": grid(lambda s: s.momentum),
    }


def _expand(h, like):
    """Reshape a ``(V, M)`` tensor to broadcast against ``like`` of shape ``(V, M, ...)``."""
    return tf.reshape(h, tf.concat([tf.shape(h), tf.ones([tf.rank(like) - 2], tf.int32)], 0))


@dataclass(frozen=True)
class OptimizerKind:
    """The update rule shared by the members of a stack.

    Attributes:
        kind: ``"adam"``, ``"sgd"``, ``"sgd_momentum"`` or ``"rmsprop"``.
    """

    kind: str

    @classmethod
    def of(cls, spec: OptimizerSpec) -> OptimizerKind:
        """The rule of an :class:`OptimizerSpec`."""
        return cls(_kind(spec))

    @property
    def slots(self) -> tuple[str, ...]:
        """Names of the per-variable state tensors (Keras' optimizer variables)."""
        return _SLOTS[self.kind]

    def update(self, var, grad, slots: dict, lr, iterations, hyper: dict):
        """One Keras ``update_step`` for every member.

        Args:
            var: the variable, ``(V, M, ...)``.
            grad: its gradient.
            slots: the state tensors of this variable, by name.
            lr: per-member learning rate ``(V, M)`` (float32).
            iterations: per-member iteration count before this step, ``(V, M)`` int64.
            hyper: per-member constants (:func:`hyperparameters`), ``(V, M)`` tensors.

        Returns:
            ``(new_var, new_slots)``.
        """
        lr = _expand(tf.cast(lr, var.dtype), var)
        grad = tf.cast(grad, var.dtype)
        h = {k: _expand(v, var) for k, v in hyper.items()}
        if self.kind == "adam":
            local_step = _expand(tf.cast(iterations + 1, var.dtype), var)
            beta_1_power = tf.pow(h["beta_1"], local_step)
            beta_2_power = tf.pow(h["beta_2"], local_step)
            m, v = slots["m"], slots["v"]
            alpha = lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)
            m = m + (grad - m) * h["one_minus_beta_1"]
            v = v + (tf.square(grad) - v) * h["one_minus_beta_2"]
            var = var - (m * alpha) / (tf.sqrt(v) + h["epsilon"])
            return var, {"m": m, "v": v}
        if self.kind == "sgd":
            return var - grad * lr, {}
        if self.kind == "sgd_momentum":
            momentum = slots["momentum"] * h["momentum"] - grad * lr
            return var + momentum, {"momentum": momentum}
        velocity = h["rho"] * slots["velocity"] + h["one_minus_rho"] * tf.square(grad)
        increment = (lr * grad) / tf.sqrt(velocity + h["epsilon"])
        return var - increment, {"velocity": velocity}


def slope_rate_constants(schedules: np.ndarray) -> dict[str, np.ndarray]:
    """Per-member float64 constants of Eq. 10 from a ``(V, M)`` object array of
    :class:`AdaptiveSlope` or ``None`` (fixed rate: ``adaptive`` is 0)."""
    keys = ("minimum", "maximum", "k_mult", "k_dec")
    out = {k: np.ones(schedules.shape, np.float64) for k in keys}
    out["adaptive"] = np.zeros(schedules.shape, bool)
    for idx, sched in np.ndenumerate(schedules):
        if isinstance(sched, AdaptiveSlope):
            for k in keys:
                out[k][idx] = getattr(sched, k)
            out["adaptive"][idx] = True
    return out


def next_slope_rate(rate, e_ratio, constants: dict):
    """Eq. 10 in-graph, with the arithmetic of
    :func:`cmloss.callbacks.next_slope_learning_rate` as called by
    :class:`cmloss.callbacks.AdaptiveSlopeRate`: the float32 rate is read as a double,
    multiplied by ``k_mult`` or ``k_dec`` and clipped in double precision, and stored
    back as float32. An e-ratio of exactly 1 (or NaN) leaves the rate unchanged.

    Args:
        rate: the rate used in the epoch just finished, float32 ``(V, M)``.
        e_ratio: that epoch's training e-ratio, ``(V, M)``.
        constants: :func:`slope_rate_constants` as float64 tensors (``adaptive`` bool).
    """
    r = tf.cast(rate, tf.float64)
    e = tf.cast(e_ratio, tf.float64)
    up = tf.minimum(constants["k_mult"] * r, constants["maximum"])
    down = tf.maximum(constants["k_dec"] * r, constants["minimum"])
    new = tf.where(e > 1.0, up, tf.where(e < 1.0, down, r))
    return tf.where(constants["adaptive"], tf.cast(new, tf.float32), rate)
