"""The compiled training loop of a stack, many epochs per call: the twin of Keras' ``fit``.

One call of the compiled program runs a block of *iterations* inside an XLA
``while_loop``. Iteration ``i`` (``0 <= i <= E`` for ``E`` epochs):

1. evaluates the model on the validation rows with the current parameters, i.e. the
   parameters at the end of epoch ``i - 1`` (inference mode): the Keras ``val_*``
   metrics of epoch ``i - 1``, and updates the best-on-validation snapshot by the rule of
   :class:`cmloss.callbacks.BestOnValidation` (``cmloss.trainer.epoch_rules.improves``);
2. if ``i < E``, trains epoch ``i`` on the training rows: one full-batch step, or the
   member's mini-batches in its own shuffled order (:mod:`~cmloss.trainer.step`); the
   training loss and the training confusion cells are those Keras logs (outputs before
   each update);
3. sets the ASTra slope learning rate of epoch ``i + 1`` from epoch ``i``'s training
   e-ratio (Eq. 10, the rule of :class:`cmloss.callbacks.AdaptiveSlopeRate`).

The extra iteration ``E`` only validates. Training and validation rows are separate
blocks (:mod:`cmloss.trainer.views`), so the backward pass runs on training rows only.
:func:`program` compiles (once per layout), :func:`stack_data` and :func:`initial_state`
give a built stack's inputs.
"""

from __future__ import annotations

import dataclasses
import logging
import os

import numpy as np
import tensorflow as tf

from cmloss.trainer import epoch_rules, networks, objectives
from cmloss.trainer.shuffling import epoch_permutation
from cmloss.trainer.stacking import Layout, Stack
from cmloss.trainer.state import BestState, StackData, TrainState
from cmloss.trainer.step import train_step

__all__ = ["Program", "CURVES", "program", "stack_data", "initial_state"]

_XLA_FLAG = "--xla_cpu_experimental_ynn_fusion_type="
"""Turns off XLA:CPU's YNNPACK fusions, which turn the per-member sums over rows of this
loop (bias gradients) into library calls slower than XLA's own fused loops
(``benchmarks/trainer_benchmark.py`` measures the trainer's speed). CPU only; numerics
unchanged up to summation order."""


def _configure_xla() -> None:
    """Add :data:`_XLA_FLAG` to ``XLA_FLAGS`` unless the user set that flag. XLA reads
    its flags once, at its first compilation in the process."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_experimental_ynn_fusion_type" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {_XLA_FLAG}".strip()


_configure_xla()


class _QuietRetracing(logging.Filter):
    """Each stack layout is its own program; TensorFlow's retracing warning (meant for
    accidental retracing of one function) does not apply."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


tf.get_logger().addFilter(_QuietRetracing())

CURVES = ("train_loss", "train_e_ratio", "slope", "slope_learning_rate")
"""Per-epoch training curves; validation curves are ``val_<metric>_apx``."""


def _tensors(tree):
    """NumPy leaves (in dicts and named tuples) as constant tensors, in their order."""
    if isinstance(tree, dict):
        return {k: _tensors(v) for k, v in tree.items()}
    if isinstance(tree, tuple):
        return type(tree)(*(_tensors(v) for v in tree))
    return tf.constant(tree)


def stack_data(stack: Stack) -> StackData:
    """The compiled loop's inputs for a built stack."""
    v = stack.views
    return _tensors(
        StackData(
            train_X=v.train_X,
            train_y=v.train_y,
            train_weight=v.train_weight,
            val_X=v.val_X,
            val_y=v.val_y,
            val_weight=v.val_weight,
            n_train=v.train_weight.sum(axis=1).astype(np.float32),
            n_train_rows=v.n_train.astype(np.int64),
            epochs=np.int32(stack.layout.epochs),
            members=stack.constants,
        )
    )


def initial_state(stack: Stack) -> TrainState:
    """The state before the first iteration: initial parameters, zero optimizer state and
    iterations, the first epoch's slope rate, and no best epoch yet."""
    lay = stack.layout
    V, M = lay.n_views, len(lay.slots)
    params = _tensors(stack.params)
    opt = {
        n: {s: tf.zeros_like(params[n]) for s in lay.optimizer.slots}
        for n in networks.trainable_names(lay.arch.kind)
    }
    best = ()
    if lay.selection is not None:
        worst = epoch_rules.worst_value(lay.selection.mode)
        best = BestState(
            params=dict(params),
            value=tf.fill((V, M), tf.constant(worst, tf.float32)),
            epoch=-tf.ones((V, M), tf.int32),
            found=tf.zeros((V, M), tf.bool),
        )
    return TrainState(
        params=params,
        opt=opt,
        iterations=tf.zeros((V, M), tf.int64),
        slope_rate=tf.constant(stack.constants.slope_rate),
        best=best,
    )


def _where_members(mask, new: dict, old: dict) -> dict:
    """``new[name]`` for the members where ``mask`` ``(V, M)``, else ``old[name]``."""
    out = {}
    for name, value in new.items():
        shape = tf.concat([tf.shape(mask), tf.ones([tf.rank(value) - 2], tf.int32)], 0)
        keep = tf.reshape(mask, shape)
        out[name] = tf.where(keep, value, old[name])
    return out


class Program:
    """The compiled functions of one :class:`~cmloss.trainer.stacking.Layout`.

    Args:
        layout: the stack's static settings.
        block: iterations per call (the size of the per-call curve buffers).
        formulation: the forward pass on shared rows (default
            ``cmloss.trainer.networks.merged_slots``).
    """

    def __init__(self, layout: Layout, block: int, formulation=networks.merged_slots):
        self.layout = layout
        self.block = int(block)
        self.formulation = formulation
        self.outputs = [slot.output for slot in layout.slots]
        raw = layout.selection is not None and layout.selection.output == "raw"
        # what best-on-validation reads: the model output, or ASTra's Eq. 4 value
        self.monitored_outputs = [networks.monitored_kind(kind, raw) for kind in self.outputs]
        self.run = tf.function(self._run, jit_compile=True, autograph=False)
        self.predict = tf.function(self._predict, jit_compile=True, autograph=False)

    def _model_outputs(self, params, x, outputs=None):
        """Model outputs of every slot on rows ``x`` shared by the view (inference), of
        the output kinds ``outputs`` (default the slots' own)."""
        pre, _ = networks.output_preactivations(
            params, x, self.layout.arch, shared=True, training=False,
            formulation=self.formulation,
        )
        return networks.model_outputs(pre, params, outputs or self.outputs)

    # ----------------------------------------------------------------- epochs
    def _full_batch_epoch(self, state: TrainState, data: StackData, do_train):
        """One full-batch step; returns (state, losses, training cells)."""
        weights = data.train_weight
        return train_step(
            self.layout, self.formulation, state, data.members,
            data.train_X, data.train_y, weights, data.n_train,
            shared=True, bn_weights=weights[:, None, :], valid=data.members.active & do_train,
        )

    def _minibatch_epoch(self, state: TrainState, data: StackData, epoch, do_train):
        """All mini-batch steps of one epoch, each member in its own order."""
        lay, members = self.layout, data.members
        V, M, B = lay.n_views, len(lay.slots), lay.batch_size
        bs = members.batch_size
        n_train = tf.broadcast_to(data.n_train_rows[:, None], (V, M))
        perm = epoch_permutation(members.shuffle_seed, epoch, n_train, lay.n_rows)
        j = tf.range(B, dtype=tf.int32)
        zero = tf.zeros((V, M), tf.float32)

        def step(s, st, loss_sum, n_sum, cells):
            start = s * bs
            pos = start[..., None] + j
            real = (j < bs[..., None]) & (pos < tf.cast(n_train, tf.int32)[..., None])
            rows = tf.gather(perm, tf.minimum(pos, lay.n_rows - 1), batch_dims=2)
            flat = tf.reshape(rows, (V, M * B))
            x = tf.reshape(tf.gather(data.train_X, flat, batch_dims=1), (V, M, B, lay.n_features))
            y = tf.reshape(tf.gather(data.train_y, flat, batch_dims=1), (V, M, B))
            w = tf.cast(real, tf.float32)
            n_b = tf.reduce_sum(w, axis=-1)
            valid = members.active & (s < members.steps)
            st, losses, c = train_step(
                lay, self.formulation, st, members, x, y, w, n_b,
                shared=False, bn_weights=w, valid=valid,
            )
            vf = tf.cast(valid, tf.float32)
            cells = tuple(a + b * vf for a, b in zip(cells, c))
            return s + 1, st, loss_sum + losses * n_b * vf, n_sum + n_b * vf, cells

        n_steps = tf.where(do_train, lay.steps, 0)
        _, state, loss_sum, n_sum, cells = tf.while_loop(
            lambda s, *_: s < n_steps, step, (0, state, zero, zero, (zero,) * 4)
        )
        return state, loss_sum / tf.maximum(n_sum, 1.0), cells

    # ----------------------------------------------------------------- epoch rules
    def _select(self, state: TrainState, data: StackData, epoch, value, params) -> TrainState:
        """Best-on-validation for ``epoch``, whose parameters ``params`` (those before this
        iteration's step) scored ``value``."""
        sel, best = self.layout.selection, state.best
        improved = data.members.active & epoch_rules.improves(
            value, best.value, best.found, epoch,
            mode=sel.mode, start_from_epoch=sel.start_from_epoch, xp=tf,
        )
        return state._replace(
            best=BestState(
                params=_where_members(improved, params, best.params),
                value=tf.where(improved, value, best.value),
                epoch=tf.where(improved, epoch, best.epoch),
                found=best.found | improved,
            )
        )

    def _adapt_slope_rate(self, state: TrainState, data: StackData, e_ratio, do_train):
        """Eq. 10 in double precision, as the callback computes it on Python floats."""
        members = data.members
        rate = tf.cast(state.slope_rate, tf.float64)
        new = epoch_rules.next_slope_rate(
            rate, tf.cast(e_ratio, tf.float64), members.slope_schedule, xp=tf
        )
        new = tf.where(members.adaptive_slope, tf.cast(new, tf.float32), state.slope_rate)
        return state._replace(slope_rate=tf.where(do_train & members.astra, new, state.slope_rate))

    # ----------------------------------------------------------------- the loop
    def _iteration(self, i, state: TrainState, data: StackData):
        lay = self.layout
        do_train = i < data.epochs
        params = state.params  # the parameters at the end of epoch i - 1
        out = self._model_outputs(params, data.val_X, self.monitored_outputs)
        val = objectives.validation_cells(data.val_y, data.val_weight, out)
        if lay.full_batch:
            state, losses, cells = self._full_batch_epoch(state, data, do_train)
        else:
            state, losses, cells = self._minibatch_epoch(
                state, data, tf.cast(i, tf.int64), do_train
            )
        val_metrics = {name: objectives.metric_of_cells(name, val) for name in lay.monitors}
        if lay.selection is not None:
            state = self._select(state, data, i - 1, val_metrics[lay.selection.monitor], params)
        e_ratio = objectives.metric_of_cells("e_ratio", cells)
        rate_used = state.slope_rate
        if lay.astra:
            state = self._adapt_slope_rate(state, data, e_ratio, do_train)
        curves = {
            "train_loss": losses,
            "train_e_ratio": e_ratio,
            "slope": networks.slope(state.params[networks.SLOPE]),
            "slope_learning_rate": rate_used,
        }
        curves.update({f"val_{k}_apx": v for k, v in val_metrics.items()})
        return state, curves

    def _run(self, state: TrainState, data: StackData, start, stop):
        """Iterations ``start .. stop-1`` (``stop - start <= block``)."""
        keys = list(CURVES) + [f"val_{k}_apx" for k in self.layout.monitors]
        arrays = {
            k: tf.TensorArray(
                tf.float32,
                size=self.block,
                element_shape=(self.layout.n_views, len(self.layout.slots)),
            )
            for k in keys
        }

        def body(i, st, arr):
            st, curves = self._iteration(i, st, data)
            arr = {k: arr[k].write(i - start, tf.cast(curves[k], tf.float32)) for k in keys}
            return i + 1, st, arr

        _, state, arrays = tf.while_loop(lambda i, *_: i < stop, body, (start, state, arrays))
        return state, {k: a.stack() for k, a in arrays.items()}

    def _predict(self, params, x):
        """Model outputs ``(V, M, T)`` on shared rows ``x`` ``(V, T, d)`` (inference)."""
        return tf.stack(self._model_outputs(params, x), axis=1)


_PROGRAMS: dict = {}


def program(layout: Layout, block: int, formulation=networks.merged_slots) -> Program:
    """The compiled program of a layout, built once per (layout, block, formulation) in a
    process. The number of epochs is a run-time input (:class:`StackData`), so stacks
    that differ only in it share one program."""
    key = (dataclasses.replace(layout, epochs=0), int(block), formulation)
    if key not in _PROGRAMS:
        _PROGRAMS[key] = Program(key[0], key[1], formulation)
    return _PROGRAMS[key]
