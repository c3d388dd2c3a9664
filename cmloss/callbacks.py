"""Training control for ASTra: the adaptive slope learning rate and best-on-validation.

Both log what they do in ``History`` (Keras' convention, as ``ReduceLROnPlateau`` logs
``learning_rate``).
"""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np

from cmloss.layers import find_astra_layers
from cmloss.optimizers import has_slope_learning_rate
from cmloss.trainer import epoch_rules

__all__ = ["AdaptiveSlopeRate", "BestOnValidation", "next_slope_learning_rate"]

_EQ10 = epoch_rules.AdaptiveSlope()  # the defaults, defined once in the shared rule


def next_slope_learning_rate(rate: float, e_ratio: float, *, minimum: float = _EQ10.minimum,
                             maximum: float = _EQ10.maximum, k_mult: float = _EQ10.k_mult,
                             k_dec: float = _EQ10.k_dec) -> float:
    """One step of the ASTra paper's Eq. 10.

    ``min(k_mult * rate, maximum)`` if ``e_ratio > 1``, ``max(k_dec * rate, minimum)`` if
    ``e_ratio < 1``, else ``rate``. This is the rule :class:`AdaptiveSlopeRate` and the
    fast trainer apply (``cmloss.trainer.epoch_rules.next_slope_rate``); called directly,
    a NaN ``e_ratio`` is refused.

    Example:

    >>> next_slope_learning_rate(0.01, 3.0)
    0.011000000000000001
    >>> next_slope_learning_rate(0.01, 0.5)
    0.01
    """
    if math.isnan(e_ratio):
        raise ValueError(f"e_ratio must be a number (inf allowed); got e_ratio={e_ratio!r}.")
    constants = epoch_rules.SlopeRateConstants(minimum, maximum, k_mult, k_dec)
    return float(epoch_rules.next_slope_rate(float(rate), float(e_ratio), constants))


@keras.saving.register_keras_serializable(package="cmloss")
class AdaptiveSlopeRate(keras.callbacks.Callback):
    """Adapt the ASTra slope learning rate once per epoch from the training e-ratio (Eq. 10).

    Needs a slope-aware optimizer (:mod:`cmloss.optimizers`) and the training metric
    :class:`cmloss.metrics.ERatioApx` in ``compile(metrics=...)``. At the end of epoch
    ``e`` it logs ``slope_learning_rate`` (the rate used during epoch ``e``), and for the
    model's ASTra layer ``astra_slope`` (b) and ``astra_threshold`` (tau), then sets the
    rate for epoch ``e + 1`` from that epoch's training e-ratio (:func:`next_slope_learning_rate`,
    the fast trainer's rule too). A NaN e-ratio (a diverged epoch: the loss is NaN as
    well) leaves the rate unchanged, with a warning.

    Args:
        monitor: the training log key of the e-ratio (default ``"e_ratio_apx"``).
        initial: the starting rate (default 0.01, the paper's ``eta_b_min``).
        minimum, maximum, k_mult, k_dec: Eq. 10's constants (0.01, 0.5, 1.1, 0.99).
    """

    def __init__(self, monitor: str = "e_ratio_apx", initial: float = _EQ10.initial,
                 minimum: float = _EQ10.minimum, maximum: float = _EQ10.maximum,
                 k_mult: float = _EQ10.k_mult, k_dec: float = _EQ10.k_dec):
        super().__init__()
        self.monitor = monitor
        rule = epoch_rules.AdaptiveSlope(initial, minimum, maximum, k_mult, k_dec)  # checks
        self.initial, self.minimum, self.maximum = rule.initial, rule.minimum, rule.maximum
        self.k_mult, self.k_dec = rule.k_mult, rule.k_dec
        self._started = False

    def _optimizer(self):
        """The model's optimizer, unwrapped from Keras' ``LossScaleOptimizer`` (mixed
        precision), which holds the slope-aware optimizer as ``inner_optimizer``."""
        optimizer = self.model.optimizer
        return getattr(optimizer, "inner_optimizer", optimizer)

    def on_train_begin(self, logs=None):
        optimizer = self._optimizer()
        if not has_slope_learning_rate(optimizer):
            raise ValueError(
                "AdaptiveSlopeRate needs an optimizer with a separate slope learning rate; got "
                f"optimizer={type(optimizer).__name__}. Compile with e.g. "
                "cmloss.optimizers.Adam(learning_rate=1e-3)."
            )
        if not find_astra_layers(self.model):
            raise ValueError("AdaptiveSlopeRate needs a model with a cmloss.layers.ASTra layer.")
        if not self._started:
            optimizer.slope_learning_rate = self.initial
            self._started = True

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        if self.monitor not in logs:
            raise ValueError(
                f"AdaptiveSlopeRate monitors {self.monitor!r}, which is not in the training "
                f"logs {sorted(logs)}. Add cmloss.metrics.ERatioApx() to compile(metrics=...)."
            )
        optimizer = self._optimizer()
        rate = optimizer.slope_learning_rate
        layer = find_astra_layers(self.model)[0]
        logs["slope_learning_rate"] = rate
        logs["astra_slope"] = layer.slope
        logs["astra_threshold"] = layer.threshold
        e_ratio = float(logs[self.monitor])
        if math.isnan(e_ratio):
            warnings.warn(
                f"AdaptiveSlopeRate: {self.monitor} is NaN at epoch {epoch} (the network "
                f"diverged?); the slope learning rate stays {rate}.",
                stacklevel=2,
            )
        optimizer.slope_learning_rate = float(
            epoch_rules.next_slope_rate(rate, e_ratio, epoch_rules.SlopeRateConstants(
                self.minimum, self.maximum, self.k_mult, self.k_dec))
        )

    def get_config(self) -> dict:
        return {"monitor": self.monitor, "initial": self.initial, "minimum": self.minimum,
                "maximum": self.maximum, "k_mult": self.k_mult, "k_dec": self.k_dec}

    @classmethod
    def from_config(cls, config: dict) -> AdaptiveSlopeRate:
        return cls(**config)


@keras.saving.register_keras_serializable(package="cmloss")
class BestOnValidation(keras.callbacks.EarlyStopping):
    """Keep the parameters (weights and ASTra slope) of the best epoch on validation.

    Keras' ``EarlyStopping`` with ``restore_best_weights=True`` and a patience that never
    stops training: the ASTra paper trains for a fixed number of epochs and restores the
    epoch with the lowest validation ``FNR_apx`` (ties: the earliest). The rule is the
    fast trainer's (``cmloss.trainer.epoch_rules.improves``): an epoch whose monitored
    value is NaN (a diverged network) is never selected, so a NaN first epoch does not lock
    the selection there. After ``fit``, ``best_epoch`` (0-based) and ``best`` hold the
    selected epoch and its value; both are ``None`` when no epoch was selected.

    Warnings (``cmloss.trainer.epoch_rules.SelectionWarning``): when no epoch was
    selected (``fit`` ended before ``start_from_epoch``, or the monitored value was NaN at
    every eligible epoch: the last weights are then kept), and when the restored epoch
    lies within the first 1% of training or is epoch 0 (the network barely trained).

    Args:
        monitor: log key (default ``"val_fnr_apx"``: add :class:`cmloss.metrics.FNRApx`).
        mode: ``"min"`` (default) or ``"max"``.
        verbose: 1 prints the restored epoch.
        start_from_epoch: epochs before this one (0-based) are never selected, as in
            ``EarlyStopping`` (default 0).
    """

    def __init__(self, monitor: str = "val_fnr_apx", mode: str = epoch_rules.DEFAULT_MODE,
                 verbose: int = 0, start_from_epoch: int = epoch_rules.DEFAULT_START):
        start_from_epoch = epoch_rules.check_selection(mode, start_from_epoch)
        super().__init__(monitor=monitor, mode=mode, patience=2**62, verbose=verbose,
                         restore_best_weights=True, start_from_epoch=start_from_epoch)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.best_epoch = None
        self._epochs_seen = 0

    def on_epoch_end(self, epoch, logs=None):
        value = self.get_monitor_value(logs)
        self._epochs_seen = epoch + 1
        found = self.best_weights is not None
        best = self.best if found else epoch_rules.worst_value(self.mode)
        if epoch_rules.improves(value, best, found, epoch, mode=self.mode,
                                start_from_epoch=self.start_from_epoch):
            self.best, self.best_epoch = value, epoch
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        found = self.best_weights is not None
        if found:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)
        epoch_rules.warn_about_selection(
            np.array([self.best_epoch if found else -1]), np.array([found]),
            self._epochs_seen, monitor=self.monitor, start_from_epoch=self.start_from_epoch,
            who="BestOnValidation", stacklevel=3,
        )

    def get_monitor_value(self, logs):
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(
                f"BestOnValidation monitors {self.monitor!r}, which is not in the logs "
                f"{sorted(logs)}. Pass validation_data to fit and add the metric (e.g. "
                "cmloss.metrics.FNRApx()) to compile(metrics=...)."
            )
        return float(logs[self.monitor])

    def get_config(self) -> dict:
        return {"monitor": self.monitor, "mode": self.mode, "verbose": self.verbose,
                "start_from_epoch": self.start_from_epoch}

    @classmethod
    def from_config(cls, config: dict) -> BestOnValidation:
        return cls(**config)
