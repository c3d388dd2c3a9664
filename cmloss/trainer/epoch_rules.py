"""The rules applied once per epoch, shared by the Keras callbacks and the trainer.

Each rule is a pure function of the epoch's values and the state carried between epochs,
written once for an array namespace ``xp`` (NumPy by default, on Python floats: how
:mod:`cmloss.callbacks` applies it after each Keras epoch; TensorFlow in the trainer's
compiled loop, on ``(V, M)`` tensors of many members at once):

* Eq. 10 of the ASTra paper, the adaptive slope learning rate (:class:`AdaptiveSlope`,
  :func:`next_slope_rate`; ``cmloss.callbacks.AdaptiveSlopeRate``);
* best-on-validation (:func:`check_selection`, :func:`improves`,
  :func:`warn_about_selection`; ``cmloss.callbacks.BestOnValidation``).

This module depends on :mod:`cmloss.core` only: it is the part of the trainer that the
Keras side imports.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from cmloss.core.validation import check_int, check_positive

__all__ = [
    "SlopeRateConstants",
    "AdaptiveSlope",
    "next_slope_rate",
    "MODES",
    "DEFAULT_MODE",
    "DEFAULT_START",
    "check_selection",
    "MONITOR_OUTPUTS",
    "worst_value",
    "improves",
    "EARLY_FRACTION",
    "SelectionWarning",
    "warn_about_selection",
]


#: The ASTra outputs a monitor can read (``AdaptiveSlope.output``, ``Selection.output``):
#: the model's z output, or the raw Eq. 4 value.
MONITOR_OUTPUTS = ("z", "raw")


# ----------------------------------------------------------------------------- Eq. 10
class SlopeRateConstants(NamedTuple):
    """Eq. 10's constants: Python floats (one network) or ``(V, M)`` tensors (a stack)."""

    minimum: Any
    maximum: Any
    k_mult: Any
    k_dec: Any


@dataclass(frozen=True)
class AdaptiveSlope:
    """The ASTra paper's adaptive slope learning rate (Eq. 10): its constants, defaults
    and checks (those of ``cmloss.callbacks.AdaptiveSlopeRate`` too).

    At the end of each epoch the slope rate becomes ``min(k_mult * rate, maximum)`` if the
    epoch's training e-ratio is above 1, ``max(k_dec * rate, minimum)`` if below 1, and
    stays as it is at exactly 1 (``cmloss.trainer.epoch_rules.next_slope_rate``).

    Args:
        initial: the rate of the first epoch (0.01, the paper's ``eta_b_min``).
        minimum, maximum: the clipping range (0.01, 0.5).
        k_mult, k_dec: the factors up and down (1.1, 0.99).
        output: the ASTra output whose approximated training confusion matrix gives the
            e-ratio: ``"z"`` (default: the model output, the z-transformed value, which
            the loss sees) or ``"raw"`` (the Eq. 4 value itself). ``"raw"`` is a setting
            of the many-networks trainer only (Keras logs metrics of the model output).
    """

    initial: float = 0.01
    minimum: float = 0.01
    maximum: float = 0.5
    k_mult: float = 1.1
    k_dec: float = 0.99
    output: str = "z"

    def __post_init__(self):
        for name in ("initial", "minimum", "maximum", "k_mult", "k_dec"):
            object.__setattr__(self, name, check_positive(getattr(self, name), name))
        if self.output not in MONITOR_OUTPUTS:
            raise ValueError(
                f"output must be one of {MONITOR_OUTPUTS}; got output={self.output!r}."
            )
        if not self.minimum <= self.initial <= self.maximum:
            raise ValueError(
                f"initial must lie in [minimum, maximum] = [{self.minimum}, {self.maximum}]; "
                f"got initial={self.initial}."
            )

    @property
    def constants(self):
        """The constants of ``next_slope_rate``."""
        return SlopeRateConstants(self.minimum, self.maximum, self.k_mult, self.k_dec)

    def keras_callback(self):
        """The equivalent ``cmloss.callbacks.AdaptiveSlopeRate`` (``output="z"`` only)."""
        from cmloss.callbacks import AdaptiveSlopeRate

        if self.output != "z":
            raise ValueError(
                "keras_callback() needs output='z' (Keras logs metrics of the model "
                f"output); got output={self.output!r}."
            )
        return AdaptiveSlopeRate(
            initial=self.initial,
            minimum=self.minimum,
            maximum=self.maximum,
            k_mult=self.k_mult,
            k_dec=self.k_dec,
        )


def next_slope_rate(rate, e_ratio, constants: SlopeRateConstants, xp=np):
    """Eq. 10: the slope learning rate of the next epoch.

    Args:
        rate: the rate used in the epoch just finished.
        e_ratio: that epoch's training e-ratio (``inf`` counts as above 1; NaN, a diverged
            epoch, leaves the rate unchanged, as an e-ratio of exactly 1 does).
        constants: :class:`SlopeRateConstants` (``AdaptiveSlope.constants``, or per-member
            tensors).
        xp: the array namespace (``numpy`` or ``tensorflow``), for ``minimum``,
            ``maximum`` and ``where``. All arithmetic is in the dtype of ``rate``: the
            callback and the trainer both pass double precision.

    Returns:
        The new rate (a NumPy 0-d array for scalar NumPy input).
    """
    up = xp.minimum(constants.k_mult * rate, constants.maximum)
    down = xp.maximum(constants.k_dec * rate, constants.minimum)
    return xp.where(e_ratio > 1.0, up, xp.where(e_ratio < 1.0, down, rate))


# ----------------------------------------------------------------------------- selection
MODES = ("min", "max")
"""Best-on-validation modes: the lowest or the highest monitored value wins."""

DEFAULT_MODE = "min"
"""The ASTra paper's mode: the lowest validation FNR_apx wins."""

DEFAULT_START = 0
"""By default every epoch may be selected (``start_from_epoch``)."""


def check_selection(mode: str, start_from_epoch) -> int:
    """Check a best-on-validation setting; return ``start_from_epoch`` as an int.

    ``mode`` must be one of :data:`MODES`; ``start_from_epoch`` (the first epoch, 0-based,
    that may be selected, as Keras' ``EarlyStopping(start_from_epoch=...)``) an int >= 0.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'min' or 'max'; got mode={mode!r}.")
    return check_int(start_from_epoch, "start_from_epoch")


def worst_value(mode: str) -> float:
    """The value every real one improves on: ``inf`` for ``"min"``, ``-inf`` for ``"max"``."""
    return math.inf if mode == "min" else -math.inf


def improves(value, best, found, epoch, *, mode: str, start_from_epoch: int, xp=np):
    """Whether ``epoch`` (0-based) replaces the best epoch so far.

    An epoch improves when it is eligible (``epoch >= start_from_epoch``), its monitored
    ``value`` is not NaN, and it is strictly better than ``best`` or no epoch was
    selected yet (``found`` false): ties keep the earliest epoch, as Keras'
    ``EarlyStopping``. A NaN value (a diverged network) never improves, so a NaN at the
    first epoch does not lock the selection there.

    Args:
        value: the epoch's monitored value.
        best: the best value so far (:func:`worst_value` before any).
        found: whether an epoch was selected so far.
        epoch: the epoch.
        mode: ``"min"`` or ``"max"``.
        start_from_epoch: the first eligible epoch.
        xp: the array namespace (``numpy`` or ``tensorflow``) for ``logical_not``.
    """
    better = value < best if mode == "min" else value > best
    eligible = epoch >= start_from_epoch
    is_number = value == value  # False for NaN only
    return eligible & is_number & (better | xp.logical_not(found))


EARLY_FRACTION = 0.01
"""A restored epoch within this fraction of the epochs (or epoch 0) draws a warning."""


class SelectionWarning(UserWarning):
    """Best-on-validation selected nothing, or an epoch so early the network barely
    trained."""


def warn_about_selection(
    selected,
    found,
    epochs: int,
    *,
    monitor: str,
    start_from_epoch: int = 0,
    who: str = "BestOnValidation",
    stacklevel: int = 2,
) -> None:
    """Warn about the outcome of best-on-validation over one or many networks.

    * No epoch selected (``found`` false): training ended before ``start_from_epoch``, or
      the monitored value was NaN at every eligible epoch; the last weights are kept.
    * An epoch within the first :data:`EARLY_FRACTION` of training (or epoch 0) restored:
      the network barely trained (learning rate, validation set, ``start_from_epoch``?).

    Args:
        selected: the selected epochs (0-based), one per network.
        found: whether each network selected an epoch.
        epochs: epochs trained.
        monitor: the monitored quantity (for the message).
        start_from_epoch: the first eligible epoch.
        who: the rule's name in the message.
        stacklevel: passed to :func:`warnings.warn`.
    """
    selected = np.asarray(selected).reshape(-1)
    found = np.asarray(found, bool).reshape(-1)
    n = found.size
    of = "" if n == 1 else f" in {{k}} of {n} networks"
    missing = int((~found).sum())
    if missing and epochs <= start_from_epoch:
        warnings.warn(
            f"{who}(start_from_epoch={start_from_epoch}): fit ended before that epoch, so no "
            "epoch was selected and the last weights are kept.",
            SelectionWarning,
            stacklevel=stacklevel,
        )
    elif missing:
        warnings.warn(
            f"{who}: {monitor} was NaN at every epoch from {start_from_epoch} on"
            f"{of.format(k=missing)} (the network diverged), so no epoch was selected and "
            "the last weights are kept.",
            SelectionWarning,
            stacklevel=stacklevel,
        )
    early = found & (selected < max(1.0, EARLY_FRACTION * epochs))
    if early.any():
        first = int(selected[early].min())
        warnings.warn(
            f"{who}: restored epoch {first} (0-based) of {epochs}{of.format(k=int(early.sum()))}"
            f", within the first {EARLY_FRACTION:.0%} of training (epoch 0 included): the "
            f"network barely trained by {monitor}. Check the learning rate and the "
            "validation set, or select from a later epoch (start_from_epoch).",
            SelectionWarning,
            stacklevel=stacklevel,
        )
