"""The typed structures a stack hands from :mod:`~cmloss.trainer.stacking` through
:mod:`~cmloss.trainer.train` to the compiled loop (:mod:`~cmloss.trainer.engine` and
:mod:`~cmloss.trainer.step`).

Every leaf has the member grid ``(V, M)`` as its leading axes (views, then slots), except
the row blocks (``(V, rows, ...)``, shared by a view's slots) and scalars. Parameters and
optimizer state stay keyed by name, as Keras keys its weights and optimizer variables:
``params[weight name]`` (:func:`cmloss.trainer.networks.weight_names`) and
``opt[weight name][slot name]`` (:attr:`cmloss.trainer.optim.OptimizerKind.slots`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["MemberConstants", "StackData", "BestState", "TrainState"]


class MemberConstants(NamedTuple):
    """Per-member constants of a stack (NumPy arrays from
    :func:`cmloss.trainer.stacking.build_stack`, tensors in the compiled loop).

    Attributes:
        active: real members (padding members are never updated nor reported), bool.
        astra: members with an ASTra output, bool.
        class_weight_0, class_weight_1: Keras ``class_weight`` of each class, float32.
        slope_rate: the ASTra slope learning rate of the first epoch, float32.
        adaptive_slope: members whose slope rate follows Eq. 10, bool.
        slope_cap: the largest slope parameter ``beta`` (the tau floor,
            ``cmloss.core.astra.beta_cap``; ``inf``: none), float32.
        slope_schedule: Eq. 10's constants
            (``cmloss.trainer.epoch_rules.SlopeRateConstants``, float64).
        shuffle_seed: seed of the mini-batch order, int64.
        batch_size: rows per mini-batch, int32.
        steps: mini-batch steps per epoch, int32.
        unit_mask: 1 for a member's hidden units, 0 for padding, ``(V, M, h)`` float32.
        hyper: the optimizers' constants (:class:`cmloss.trainer.optim.Hyperparameters`).
    """

    active: Any
    astra: Any
    class_weight_0: Any
    class_weight_1: Any
    slope_rate: Any
    adaptive_slope: Any
    slope_cap: Any
    slope_schedule: Any
    shuffle_seed: Any
    batch_size: Any
    steps: Any
    unit_mask: Any
    hyper: Any


class StackData(NamedTuple):
    """The inputs of a stack's compiled loop (constant over the run).

    Attributes:
        train_X, train_y, train_weight: the training block ``(V, Rt, ...)``
            (:class:`cmloss.trainer.views.ViewSet`).
        val_X, val_y, val_weight: the validation block ``(V, Rv, ...)``.
        n_train: weighted training rows per view ``(V,)`` (Keras' full-batch size).
        n_train_rows: training rows per view ``(V,)`` before merging, int64.
        epochs: number of epochs (a run-time input: one program serves any count).
        members: the :class:`MemberConstants`.
    """

    train_X: Any
    train_y: Any
    train_weight: Any
    val_X: Any
    val_y: Any
    val_weight: Any
    n_train: Any
    n_train_rows: Any
    epochs: Any
    members: MemberConstants


class BestState(NamedTuple):
    """Best-on-validation so far (``cmloss.trainer.epoch_rules.improves``).

    Attributes:
        params: the parameters of the best epoch, by weight name.
        value: its monitored value ``(V, M)``.
        epoch: its epoch (0-based; -1 before any) ``(V, M)`` int32.
        found: whether an epoch was selected ``(V, M)`` bool.
    """

    params: dict
    value: Any
    epoch: Any
    found: Any


class TrainState(NamedTuple):
    """What the compiled loop carries from one iteration to the next.

    Attributes:
        params: the parameters, by weight name.
        opt: the optimizer state, by weight name and slot name.
        iterations: optimizer steps taken by each member ``(V, M)`` int64.
        slope_rate: the ASTra slope learning rate of the current epoch ``(V, M)``.
        best: the :class:`BestState`, or ``()`` for stacks without selection.
    """

    params: dict
    opt: dict
    iterations: Any
    slope_rate: Any
    best: BestState | tuple = ()
