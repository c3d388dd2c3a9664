"""What the trainer returns for each member."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cmloss.trainer.spec import MemberSpec

__all__ = ["MemberResult", "strided_epochs"]


def strided_epochs(epochs: int, stride: int) -> np.ndarray:
    """Epochs ``0, stride, 2 stride, ...`` plus the last epoch."""
    stride = max(1, int(stride))
    out = np.arange(0, epochs, stride)
    if out[-1] != epochs - 1:
        out = np.r_[out, epochs - 1]
    return out


@dataclass(frozen=True, eq=False)
class MemberResult:
    """One trained member.

    Attributes:
        member: its spec.
        test_rows: the test row indices, in the order of ``test_scores``.
        test_scores: model outputs on the test rows with the selected parameters.
        threshold: the decision threshold to apply to ``test_scores`` (0.5: sigmoid and
            the ASTra layer's z output pivot at 0.5; also 0.5 for a linear MSE output).
        selected_epoch: the 0-based epoch whose parameters were kept (the last epoch
            without selection, or when the monitored value was NaN at every epoch).
        final_b: the ASTra slope ``b`` of the kept parameters (``None`` without ASTra).
        weights: the kept parameters as a Keras ``get_weights()`` list.
        last_weights: the parameters after the last epoch, as a ``get_weights()`` list.
        curves: ``{"epoch": epochs, name: values}`` at the requested stride: training
            loss and e-ratio, ``val_fnr_apx`` (and the selection monitor), the slope
            ``b`` at the end of each epoch and the slope learning rate used in it (NaN
            without ASTra).
        train_loss: the training loss of every epoch (full resolution).
        best_value: the monitored validation value at the selected epoch (NaN without
            selection, or when no epoch could be selected).
        validation_scores: model outputs with the selected parameters on the distinct
            validation rows (identical rows are merged, see ``validation_weights``), for
            threshold moving (:func:`cmloss.thresholds.tune`); empty without validation rows.
        validation_labels: their labels.
        validation_weights: how many validation rows each stands for (pass them to
            ``tune(..., sample_weight=)``).
        fit_seconds: this member's share of its stack's wall time (stack time divided by
            the stack's members).
        stack_seconds: wall time of the whole stack (compilation included).
        stack_members: members trained together in that stack.
    """

    member: MemberSpec
    test_rows: np.ndarray
    test_scores: np.ndarray
    threshold: float
    selected_epoch: int
    final_b: float | None
    weights: list
    last_weights: list
    curves: dict = field(repr=False)
    train_loss: np.ndarray = field(repr=False)
    best_value: float = float("nan")
    validation_scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    validation_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    validation_weights: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    fit_seconds: float = 0.0
    stack_seconds: float = 0.0
    stack_members: int = 1

    def loss_reduction_by(self, fraction: float = 0.1) -> float:
        """Share of the total training-loss reduction reached after ``fraction`` of the
        epochs: ``(L[0] - L[k]) / (L[0] - L[-1])`` with ``k = round(fraction * E)`` (the
        loss logged in epoch ``k`` is that after ``k`` updates). NaN if the loss did not
        decrease."""
        loss = self.train_loss
        k = min(len(loss) - 1, int(round(fraction * len(loss))))
        total = loss[0] - loss[-1]
        return float((loss[0] - loss[k]) / total) if total > 0 else float("nan")
