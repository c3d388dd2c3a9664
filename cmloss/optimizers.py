"""Optimizers with a separate learning rate for the ASTra slope.

The ASTra paper trains the network weights with Adam at ``eta = 0.001`` and the slope
``b`` with Adam at its own rate ``eta_b`` that follows the e-ratio rule (Eq. 10). These
classes are Keras' own optimizers with one addition: variables created by
:class:`cmloss.layers.ASTra` for its slope are updated with ``slope_learning_rate``
instead of ``learning_rate``. Per-variable state (Adam's moments) is already separate, so
this is exactly "one Adam for the weights, one for b". Everything else, and models
without an ASTra layer, behave as the Keras optimizer of the same name.

:class:`cmloss.callbacks.AdaptiveSlopeRate` changes ``slope_learning_rate`` once per
epoch.

``slope_optimizer="sgd"`` updates the slope by plain gradient descent at
``slope_learning_rate`` instead of by the optimizer's own rule (``"same"``, the default):
Keras' ``SGD`` step without momentum, ``beta -= slope_learning_rate * gradient``.
"""

from __future__ import annotations

import keras

from cmloss.core.astra import check_slope_optimizer
from cmloss.core.validation import check_positive
from cmloss.layers import SLOPE_VARIABLE_TAG

__all__ = ["Adam", "SGD", "RMSprop", "has_slope_learning_rate"]


class _SlopeRateMixin:
    def _init_slope(self, slope_learning_rate, slope_optimizer):
        check_positive(slope_learning_rate, "slope_learning_rate")
        self._slope_lr_value = float(slope_learning_rate)
        self.slope_optimizer = check_slope_optimizer(slope_optimizer)
        self._slope_indices = set()

    def build(self, variables):
        super().build(variables)
        with keras.name_scope(self.name, caller=self):
            self._slope_learning_rate = self.add_variable(
                shape=(), initializer=keras.initializers.Constant(self._slope_lr_value),
                dtype="float32", name="slope_learning_rate")
        self._slope_indices = {self._get_variable_index(v) for v in variables
                               if getattr(v, SLOPE_VARIABLE_TAG, False)}

    @property
    def slope_learning_rate(self) -> float:
        """The learning rate applied to ASTra slope variables."""
        if not self.built:
            return self._slope_lr_value
        return float(keras.ops.convert_to_numpy(self._slope_learning_rate))

    @slope_learning_rate.setter
    def slope_learning_rate(self, value: float) -> None:
        self._slope_lr_value = check_positive(value, "slope_learning_rate")
        if self.built:
            self._slope_learning_rate.assign(self._slope_lr_value)

    def update_step(self, gradient, variable, learning_rate):
        if self._slope_indices and self._get_variable_index(variable) in self._slope_indices:
            learning_rate = self._slope_learning_rate
            if self.slope_optimizer == "sgd":
                self.assign_sub(variable, keras.ops.multiply(
                    keras.ops.cast(gradient, variable.dtype),
                    keras.ops.cast(learning_rate, variable.dtype)))
                return
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self) -> dict:
        return {**super().get_config(), "slope_learning_rate": self._slope_lr_value,
                "slope_optimizer": self.slope_optimizer}


@keras.saving.register_keras_serializable(package="cmloss")
class Adam(_SlopeRateMixin, keras.optimizers.Adam):
    """``keras.optimizers.Adam`` with ``slope_learning_rate`` (default 0.01, the paper's
    ``eta_b`` start) for ASTra slopes, updated by Adam (``slope_optimizer="same"``) or
    by plain gradient descent (``"sgd"``).

    Example:

    >>> opt = Adam(learning_rate=1e-3, slope_learning_rate=0.01)
    >>> opt.slope_learning_rate
    0.01
    """

    def __init__(self, learning_rate=0.001, slope_learning_rate: float = 0.01,
                 slope_optimizer: str = "same", **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self._init_slope(slope_learning_rate, slope_optimizer)


@keras.saving.register_keras_serializable(package="cmloss")
class SGD(_SlopeRateMixin, keras.optimizers.SGD):
    """``keras.optimizers.SGD`` with ``slope_learning_rate`` for ASTra slopes."""

    def __init__(self, learning_rate=0.01, slope_learning_rate: float = 0.01,
                 slope_optimizer: str = "same", **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self._init_slope(slope_learning_rate, slope_optimizer)


@keras.saving.register_keras_serializable(package="cmloss")
class RMSprop(_SlopeRateMixin, keras.optimizers.RMSprop):
    """``keras.optimizers.RMSprop`` with ``slope_learning_rate`` for ASTra slopes."""

    def __init__(self, learning_rate=0.001, slope_learning_rate: float = 0.01,
                 slope_optimizer: str = "same", **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self._init_slope(slope_learning_rate, slope_optimizer)


def has_slope_learning_rate(optimizer) -> bool:
    """Whether ``optimizer`` has a separate ASTra slope learning rate."""
    return isinstance(optimizer, _SlopeRateMixin)
