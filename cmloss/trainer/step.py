"""One training step of every member of a stack: the twin of Keras' ``train_step``.

Forward pass in training mode (:mod:`~cmloss.trainer.networks`), the members' losses
(:mod:`~cmloss.trainer.objectives`), their gradients with padding masked, one optimizer
update (:mod:`~cmloss.trainer.optim`) and BatchNormalization's moving statistics, for the
members that take the step. The sum of the members' losses is differentiated once: the
members share no parameter, so each gets its own gradient.
"""

from __future__ import annotations

import tensorflow as tf

from cmloss.trainer import networks, objectives, optim
from cmloss.trainer.stacking import Layout
from cmloss.trainer.state import MemberConstants, TrainState

__all__ = ["train_step"]


def _losses_and_gradients(layout, formulation, params, members, x, y, base, n_rows, shared,
                          bn_weights):
    trainable = networks.trainable_names(layout.arch.kind)
    watched = {n: params[n] for n in trainable}
    with tf.GradientTape() as tape:
        tape.watch(watched)
        full = {**params, **watched}
        pre, updates = networks.output_preactivations(
            full, x, layout.arch, shared=shared, training=True, weights=bn_weights,
            formulation=formulation,
        )
        outputs = networks.model_outputs(pre, full, [slot.output for slot in layout.slots])
        cell_outputs = outputs
        if any(slot.e_ratio_output == "raw" for slot in layout.slots):
            cell_outputs = networks.model_outputs(pre, full, [
                networks.monitored_kind(slot.output, slot.e_ratio_output == "raw")
                for slot in layout.slots
            ])
        losses, cells = objectives.slot_losses(
            layout.slots, members, y, outputs, base, n_rows, cell_outputs
        )
        total = tf.reduce_sum(tf.where(members.active, losses, tf.zeros_like(losses)))
    grads = tape.gradient(total, watched, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    grads = networks.mask_padding_gradients(grads, members.unit_mask, members.astra)
    return losses, cells, grads, updates


def train_step(
    layout: Layout,
    formulation,
    state: TrainState,
    members: MemberConstants,
    x,
    y,
    base,
    n_rows,
    *,
    shared: bool,
    bn_weights,
    valid,
) -> tuple[TrainState, tf.Tensor, tuple]:
    """One step on one batch per member.

    Args:
        layout: the stack's static settings.
        formulation: the forward pass on shared rows (:func:`networks.merged_slots`).
        state: the state before the step.
        members: the per-member constants.
        x: features, ``(V, N, d)`` if ``shared`` else ``(V, M, N, d)``.
        y: labels, ``(V, N)`` or ``(V, M, N)``.
        base: row multiplicities or batch masks, shaped as ``y``.
        n_rows: rows per member (Keras' batch size, for BCE/MSE).
        shared: whether the slots of a view see the same rows (full batch).
        bn_weights: row weights of BatchNormalization's batch moments.
        valid: the members that take the step ``(V, M)``; the others keep their state.

    Returns:
        ``(state, losses, cells)``: the state after the step, each member's loss and its
        class-weighted training confusion cells (outputs before the update, as Keras logs).
    """
    losses, cells, grads, updates = _losses_and_gradients(
        layout, formulation, state.params, members, x, y, base, n_rows, shared, bn_weights
    )
    params, opt, iterations = optim.apply_updates(
        layout.optimizer,
        networks.trainable_names(layout.arch.kind),
        state.params,
        state.opt,
        state.iterations,
        grads,
        valid,
        state.slope_rate,
        members.hyper,
    )
    if networks.SLOPE in params:  # the tau floor, Keras' constraint on the ASTra slope
        params[networks.SLOPE] = tf.minimum(params[networks.SLOPE], members.slope_cap)
    params = networks.with_moving_statistics(params, updates, valid)
    return state._replace(params=params, opt=opt, iterations=iterations), losses, cells
