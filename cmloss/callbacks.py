"""Training control for ASTra: the adaptive slope learning rate and best-on-validation.

Both log what they do in ``History`` (Keras' convention, as ``ReduceLROnPlateau`` logs
``learning_rate``).
"""

from __future__ import annotations

import math
import warnings

import keras

from cmloss.core.validation import check_int, check_positive
from cmloss.layers import find_astra_layers
from cmloss.optimizers import has_slope_learning_rate

__all__ = ["AdaptiveSlopeRate", "BestOnValidation", "next_slope_learning_rate"]


def next_slope_learning_rate(rate: float, e_ratio: float, *, minimum: float = 0.01,
                             maximum: float = 0.5, k_mult: float = 1.1,
                             k_dec: float = 0.99) -> float:
    """One step of the ASTra paper's Eq. 10.

    ``min(k_mult * rate, maximum)`` if ``e_ratio > 1``, ``max(k_dec * rate, minimum)`` if
    ``e_ratio < 1``, else ``rate``.

    Example:

    >>> next_slope_learning_rate(0.01, 3.0)
    0.011000000000000001
    >>> next_slope_learning_rate(0.01, 0.5)
    0.01
    """
    if math.isnan(e_ratio):
        raise ValueError(f"e_ratio must be a number (inf allowed); got e_ratio={e_ratio!r}.")
    if e_ratio > 1.0:
        return min(k_mult * rate, maximum)
    if e_ratio < 1.0:
        return max(k_dec * rate, minimum)
    return rate


@keras.saving.register_keras_serializable(package="cmloss")
class AdaptiveSlopeRate(keras.callbacks.Callback):
    """Adapt the ASTra slope learning rate once per epoch from the training e-ratio (Eq. 10).

    Needs a slope-aware optimizer (:mod:`cmloss.optimizers`) and the training metric
    :class:`cmloss.metrics.ERatioApx` in ``compile(metrics=...)``. At the end of epoch
    ``e`` it logs ``slope_learning_rate`` (the rate used during epoch ``e``), and for the
    model's ASTra layer ``astra_slope`` (b) and ``astra_threshold`` (tau), then sets the
    rate for epoch ``e + 1`` from that epoch's training e-ratio.

    Args:
        monitor: the training log key of the e-ratio (default ``"e_ratio_apx"``).
        initial: the starting rate (default 0.01, the paper's ``eta_b_min``).
        minimum, maximum, k_mult, k_dec: Eq. 10's constants (0.01, 0.5, 1.1, 0.99).
    """

    def __init__(self, monitor: str = "e_ratio_apx", initial: float = 0.01,
                 minimum: float = 0.01, maximum: float = 0.5, k_mult: float = 1.1,
                 k_dec: float = 0.99):
        super().__init__()
        self.monitor = monitor
        self.initial = check_positive(initial, "initial")
        self.minimum = check_positive(minimum, "minimum")
        self.maximum = check_positive(maximum, "maximum")
        self.k_mult = check_positive(k_mult, "k_mult")
        self.k_dec = check_positive(k_dec, "k_dec")
        if not self.minimum <= self.initial <= self.maximum:
            raise ValueError(
                f"initial must lie in [minimum, maximum] = [{self.minimum}, {self.maximum}]; "
                f"got initial={self.initial}."
            )
        self._started = False

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
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
        optimizer = self.model.optimizer
        rate = optimizer.slope_learning_rate
        layer = find_astra_layers(self.model)[0]
        logs["slope_learning_rate"] = rate
        logs["astra_slope"] = layer.slope
        logs["astra_threshold"] = layer.threshold
        optimizer.slope_learning_rate = next_slope_learning_rate(
            rate, float(logs[self.monitor]), minimum=self.minimum, maximum=self.maximum,
            k_mult=self.k_mult, k_dec=self.k_dec)

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
    epoch with the lowest validation ``FNR_apx`` (ties: the earliest). After ``fit``,
    ``best_epoch`` (0-based) and ``best`` hold the selected epoch and its value.

    Args:
        monitor: log key (default ``"val_fnr_apx"``: add :class:`cmloss.metrics.FNRApx`).
        mode: ``"min"`` (default) or ``"max"``.
        verbose: 1 prints the restored epoch.
        start_from_epoch: epochs before this one (0-based) are never selected, as in
            ``EarlyStopping`` (default 0). If ``fit`` ends before it, nothing is restored,
            the last weights stay and a warning says so.
    """

    def __init__(self, monitor: str = "val_fnr_apx", mode: str = "min", verbose: int = 0,
                 start_from_epoch: int = 0):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max'; got mode={mode!r}.")
        start_from_epoch = check_int(start_from_epoch, "start_from_epoch")
        super().__init__(monitor=monitor, mode=mode, patience=2**62, verbose=verbose,
                         restore_best_weights=True, start_from_epoch=start_from_epoch)

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        if self.best_weights is None:
            warnings.warn(
                f"BestOnValidation(start_from_epoch={self.start_from_epoch}): fit ended "
                "before that epoch, so no epoch was selected and the last weights are kept.",
                stacklevel=2,
            )

    def get_monitor_value(self, logs):
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(
                f"BestOnValidation monitors {self.monitor!r}, which is not in the logs "
                f"{sorted(logs)}. Pass validation_data to fit and add the metric (e.g. "
                "cmloss.metrics.FNRApx()) to compile(metrics=...)."
            )
        return logs[self.monitor]

    def get_config(self) -> dict:
        return {"monitor": self.monitor, "mode": self.mode, "verbose": self.verbose,
                "start_from_epoch": self.start_from_epoch}

    @classmethod
    def from_config(cls, config: dict) -> BestOnValidation:
        return cls(**config)
