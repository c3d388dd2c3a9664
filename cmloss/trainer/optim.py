"""Keras' Adam, SGD and RMSprop for a stack of members (the twin of :mod:`cmloss.optimizers`).

Each update repeats, operation for operation, the ``update_step`` of the Keras 3
optimizer of the same name (``keras/src/optimizers/{adam,sgd,rmsprop}.py``) on tensors
whose two leading axes index the members; every hyper-parameter is a per-member
``(V, M)`` tensor. As in Keras, the iteration count is one per optimizer (per member),
Python-float constants such as ``1 - beta_1`` are formed in double precision and then
cast to float32, and the ASTra slope is updated with its own learning rate
(:mod:`cmloss.optimizers`), whose once-per-epoch schedule (Eq. 10) is in
``cmloss.trainer.epoch_rules``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from cmloss.trainer.networks import SLOPE
from cmloss.trainer.spec import OptimizerSpec

__all__ = ["Hyperparameters", "OptimizerKind", "hyperparameters", "apply_updates"]

_SLOTS = {"adam": ("m", "v"), "sgd": (), "sgd_momentum": ("momentum",), "rmsprop": ("velocity",)}


def _kind(spec: OptimizerSpec) -> str:
    return "sgd_momentum" if spec.name == "sgd" and spec.momentum else spec.name


class Hyperparameters(NamedTuple):
    """Per-member float32 constants of the optimizers, each ``(V, M)``."""

    learning_rate: np.ndarray
    beta_1: np.ndarray
    beta_2: np.ndarray
    one_minus_beta_1: np.ndarray
    one_minus_beta_2: np.ndarray
    epsilon: np.ndarray
    rho: np.ndarray
    one_minus_rho: np.ndarray
    momentum: np.ndarray


def hyperparameters(specs: np.ndarray) -> Hyperparameters:
    """Per-member float32 constants from a ``(V, M)`` object array of
    :class:`OptimizerSpec` (``None`` for padding members)."""

    def grid(fn):
        out = np.ones(specs.shape, np.float32)
        for idx, spec in np.ndenumerate(specs):
            if spec is not None:
                out[idx] = np.float32(fn(spec))
        return out

    return Hyperparameters(
        learning_rate=grid(lambda s: s.learning_rate),
        beta_1=grid(lambda s: s.beta_1),
        beta_2=grid(lambda s: s.beta_2),
        one_minus_beta_1=grid(lambda s: 1 - s.beta_1),
        one_minus_beta_2=grid(lambda s: 1 - s.beta_2),
        epsilon=grid(lambda s: s.epsilon),
        rho=grid(lambda s: s.rho),
        one_minus_rho=grid(lambda s: 1 - s.rho),
        momentum=grid(lambda s: s.momentum),
    )


def _expand(h, like):
    """Reshape a ``(V, M)`` tensor to broadcast against ``like`` of shape ``(V, M, ...)``."""
    return tf.reshape(h, tf.concat([tf.shape(h), tf.ones([tf.rank(like) - 2], tf.int32)], 0))


@dataclass(frozen=True)
class OptimizerKind:
    """The update rule shared by the members of a stack.

    Attributes:
        kind: ``"adam"``, ``"sgd"``, ``"sgd_momentum"`` or ``"rmsprop"``.
        slope: the rule of the ASTra slope, ``"same"`` (``kind``) or ``"sgd"``
            (:attr:`OptimizerSpec.slope_optimizer`).
    """

    kind: str
    slope: str = "same"

    @classmethod
    def of(cls, spec: OptimizerSpec) -> OptimizerKind:
        """The rule of an :class:`OptimizerSpec`."""
        return cls(_kind(spec), spec.slope_optimizer)

    @property
    def slope_rule(self) -> OptimizerKind:
        """The rule that updates the ASTra slope (its slots are still ``slots``)."""
        return self if self.slope == "same" else OptimizerKind("sgd")

    @property
    def slots(self) -> tuple[str, ...]:
        """Names of the per-variable state tensors (Keras' optimizer variables)."""
        return _SLOTS[self.kind]

    def update(self, var, grad, slots: dict, lr, iterations, hyper: Hyperparameters):
        """One Keras ``update_step`` for every member.

        Args:
            var: the variable, ``(V, M, ...)``.
            grad: its gradient.
            slots: the state tensors of this variable, by name.
            lr: per-member learning rate ``(V, M)`` (float32).
            iterations: per-member iteration count before this step, ``(V, M)`` int64.
            hyper: per-member constants (:class:`Hyperparameters` of ``(V, M)`` tensors).

        Returns:
            ``(new_var, new_slots)``.
        """
        lr = _expand(tf.cast(lr, var.dtype), var)
        grad = tf.cast(grad, var.dtype)
        h = {k: _expand(v, var) for k, v in hyper._asdict().items()}
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


def apply_updates(
    kind: OptimizerKind,
    trainable: tuple[str, ...],
    params: dict,
    opt: dict,
    iterations,
    grads: dict,
    valid,
    slope_rate,
    hyper: Hyperparameters,
):
    """One optimizer step (Keras' ``apply_gradients``) for the members where ``valid``
    ``(V, M)``; the others keep their variables, state and iteration count.

    Args:
        kind: the update rule.
        trainable: the names of the variables to update.
        params: variables by weight name, ``(V, M) + shape``.
        opt: the optimizer state of each trainable variable, by slot name.
        iterations: per-member iteration counts ``(V, M)`` int64.
        grads: gradients by weight name.
        valid: which members take the step.
        slope_rate: the ASTra slope's learning rate ``(V, M)``.
        hyper: the per-member constants.

    Returns:
        ``(params, opt, iterations)`` after the step.
    """
    new_params, new_opt = dict(params), {}
    for name in trainable:
        rule, rate = (kind.slope_rule, slope_rate) if name == SLOPE else (kind, hyper.learning_rate)
        var, slots = rule.update(params[name], grads[name], opt[name], rate, iterations, hyper)
        keep = tf.reshape(
            valid, tf.concat([tf.shape(valid), tf.ones([tf.rank(var) - 2], tf.int32)], 0)
        )
        new_params[name] = tf.where(keep, var, params[name])
        # A slope under plain gradient descent leaves its (unused) slots as they were.
        new_opt[name] = {
            k: tf.where(keep, slots[k], s) if k in slots else s for k, s in opt[name].items()
        }
    return new_params, new_opt, iterations + tf.cast(valid, tf.int64)
