"""The compiled training loop of a stack: many epochs per call, everything in-graph.

One call of the compiled program runs a block of *iterations* inside an XLA
``while_loop``. Iteration ``i`` (``0 <= i <= E`` for ``E`` epochs):

1. evaluates the model on the validation rows with the current parameters, i.e. the
   parameters at the end of epoch ``i - 1`` (inference mode): the Keras ``val_*``
   metrics of epoch ``i - 1``, and updates the best-on-validation snapshot (strict
   improvement, so ties keep the earliest epoch, as Keras' ``EarlyStopping``; epochs
   before the selection's ``start_from_epoch`` are not eligible);
2. if ``i < E``, trains epoch ``i`` on the training rows: one full-batch step, or the
   member's mini-batches in its own shuffled order, with the Keras optimizer's update;
   the training loss and the training confusion cells are those Keras logs (outputs
   before each update);
3. sets the ASTra slope learning rate of epoch ``i + 1`` from epoch ``i``'s training
   e-ratio (Eq. 10, :class:`cmloss.callbacks.AdaptiveSlopeRate`).

The extra iteration ``E`` only validates. Training and validation rows are separate
blocks (:mod:`cmloss.trainer.views`), so the backward pass runs on training rows only.
"""

from __future__ import annotations

import logging
import os

import tensorflow as tf

from cmloss.trainer import networks, objectives, optim
from cmloss.trainer.shuffling import epoch_permutation
from cmloss.trainer.stacking import Layout

__all__ = ["Program", "CURVES"]

_XLA_FLAG = "--xla_cpu_experimental_ynn_fusion_type="
"""Turns off XLA:CPU's YNNPACK fusions, which turn the per-member sums over rows of this
loop (bias gradients) into library calls several times slower than XLA's own fused loops
(measured: 33 -> 19 ns per member-row and epoch for a BCE stack on this project's 2-core
machine). CPU only; numerics unchanged up to summation order."""


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


def _stack(values):
    return tf.stack(values, axis=1)


def _cells(per_slot):
    """List over slots of 4-tuples of ``(V,)`` -> 4-tuple of ``(V, M)``."""
    return tuple(_stack([c[j] for c in per_slot]) for j in range(4))


class Program:
    """The compiled functions of one :class:`~cmloss.trainer.stacking.Layout`.

    Args:
        layout: the stack's static settings.
        block: iterations per call (the size of the per-call curve buffers).
    """

    def __init__(self, layout: Layout, block: int):
        self.layout = layout
        self.block = int(block)
        self.names = networks.weight_names(layout.arch.kind, True)
        self.trainable = networks.trainable_names(layout.arch.kind)
        self.run = tf.function(self._run, jit_compile=True, autograph=False)
        self.predict = tf.function(self._predict, jit_compile=True, autograph=False)

    # ----------------------------------------------------------------- model pieces
    def _slot_outputs(self, pre, params):
        """Model outputs of every slot from the per-slot pre-activations."""
        beta = params[networks.SLOPE]
        return [
            networks.output_head(o, slot.output, beta[:, m, None])
            for m, (o, slot) in enumerate(zip(pre, self.layout.slots))
        ]

    def _weights(self, data, y, base, m):
        """Training row weights of slot ``m``: multiplicity times class weight."""
        cw0 = data["class_weight_0"][:, m, None]
        cw1 = data["class_weight_1"][:, m, None]
        return base * (y * cw1 + (1.0 - y) * cw0)

    def _losses(self, data, y, outputs, base, n_rows):
        """Per-member losses ``(V, M)`` and class-weighted training cells."""
        losses, cells = [], []
        for m, (slot, p) in enumerate(zip(self.layout.slots, outputs)):
            yy = y if len(y.shape) == 2 else y[:, m]
            bb = base if len(base.shape) == 2 else base[:, m]
            nn = n_rows if len(n_rows.shape) == 1 else n_rows[:, m]
            w = self._weights(data, yy, bb, m)
            losses.append(objectives.member_losses(slot.loss, yy, p, w, nn))
            cells.append(objectives.approx_cells(yy, p, w))
        return _stack(losses), _cells(cells)

    def _val_cells(self, data, outputs):
        y, w = data["val_y"], data["val_weight"]
        return _cells([objectives.approx_cells(y, p, w) for p in outputs])

    def _mask_gradients(self, grads, data):
        unit = data["unit_mask"]
        out = dict(grads)
        for name in ("hidden_kernel",):
            if name in out:
                out[name] = out[name] * unit[:, :, None, :]
        for name in ("hidden_bias", "gamma", "beta"):
            if name in out:
                out[name] = out[name] * unit
        if "output_kernel" in out:
            out["output_kernel"] = out["output_kernel"] * unit[..., None]
        out[networks.SLOPE] = out[networks.SLOPE] * tf.cast(data["astra"], tf.float32)
        return out

    def _apply(self, params, opt, iterations, grads, valid, slope_rate, data):
        """One optimizer step for members where ``valid``; others keep their state."""
        kind = self.layout.optimizer
        lr = data["hyper"]["learning_rate"]
        new_params, new_opt = dict(params), {}
        for name in self.trainable:
            rate = slope_rate if name == networks.SLOPE else lr
            var, slots = kind.update(
                params[name], grads[name], opt[name], rate, iterations, data["hyper"]
            )
            keep = tf.reshape(
                valid, tf.concat([tf.shape(valid), tf.ones([tf.rank(var) - 2], tf.int32)], 0)
            )
            new_params[name] = tf.where(keep, var, params[name])
            new_opt[name] = {k: tf.where(keep, s, opt[name][k]) for k, s in slots.items()}
        return new_params, new_opt, iterations + tf.cast(valid, tf.int64)

    @staticmethod
    def _bn_update(params, updates, valid):
        out = dict(params)
        for name, value in updates.items():
            out[name] = tf.where(valid[..., None], value, params[name])
        return out

    # ----------------------------------------------------------------- epochs
    def _forward_train(self, params, data, x, y, base, n_rows, shared, training_weights):
        watched = {n: params[n] for n in self.trainable}
        with tf.GradientTape() as tape:
            tape.watch(watched)
            full = {**params, **watched}
            o, updates = networks.hidden_output(
                full, x, self.layout.arch, shared=shared, training=True, weights=training_weights
            )
            outputs = self._slot_outputs(o, full)
            losses, cells = self._losses(data, y, outputs, base, n_rows)
            total = tf.reduce_sum(tf.where(data["active"], losses, tf.zeros_like(losses)))
        grads = tape.gradient(total, watched, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return losses, cells, self._mask_gradients(grads, data), updates, outputs

    def _full_batch_epoch(self, state, data, do_train):
        """One full-batch step; returns (state, losses, training cells)."""
        params = state["params"]
        weights = data["train_weight"]
        losses, cells, grads, updates, _ = self._forward_train(
            params,
            data,
            data["train_X"],
            data["train_y"],
            weights,
            data["n_train"],
            True,
            weights[:, None, :],
        )
        valid = data["active"] & do_train
        new_params, new_opt, iterations = self._apply(
            params, state["opt"], state["iterations"], grads, valid, state["slope_rate"], data
        )
        new_params = self._bn_update(new_params, updates, valid)
        state = {**state, "params": new_params, "opt": new_opt, "iterations": iterations}
        return state, losses, cells

    def _minibatch_epoch(self, state, data, epoch, do_train):
        """All mini-batch steps of one epoch, each member in its own order."""
        lay = self.layout
        V, M, B = lay.n_views, len(lay.slots), lay.batch_size
        bs = data["batch_size"]
        n_train = tf.broadcast_to(data["n_train_rows"][:, None], (V, M))
        perm = epoch_permutation(data["shuffle_seed"], epoch, n_train, lay.n_rows)
        j = tf.range(B, dtype=tf.int32)
        zero = tf.zeros((V, M), tf.float32)

        def step(s, st, loss_sum, n_sum, cells):
            start = s * bs
            pos = start[..., None] + j
            real = (j < bs[..., None]) & (pos < tf.cast(n_train, tf.int32)[..., None])
            rows = tf.gather(perm, tf.minimum(pos, lay.n_rows - 1), batch_dims=2)
            flat = tf.reshape(rows, (V, M * B))
            x = tf.reshape(
                tf.gather(data["train_X"], flat, batch_dims=1), (V, M, B, lay.n_features)
            )
            y = tf.reshape(tf.gather(data["train_y"], flat, batch_dims=1), (V, M, B))
            w = tf.cast(real, tf.float32)
            n_b = tf.reduce_sum(w, axis=-1)
            losses, c, grads, updates, _ = self._forward_train(
                st["params"], data, x, y, w, n_b, False, w
            )
            valid = data["active"] & (s < data["steps"])
            params, opt, iterations = self._apply(
                st["params"], st["opt"], st["iterations"], grads, valid, st["slope_rate"], data
            )
            params = self._bn_update(params, updates, valid)
            st = {**st, "params": params, "opt": opt, "iterations": iterations}
            vf = tf.cast(valid, tf.float32)
            cells = tuple(a + b * vf for a, b in zip(cells, c))
            return s + 1, st, loss_sum + losses * n_b * vf, n_sum + n_b * vf, cells

        n_steps = tf.where(do_train, lay.steps, 0)
        _, state, loss_sum, n_sum, cells = tf.while_loop(
            lambda s, *_: s < n_steps, step, (0, state, zero, zero, (zero,) * 4)
        )
        return state, loss_sum / tf.maximum(n_sum, 1.0), cells

    def _validate(self, params, data):
        """Approximated confusion cells of the validation rows (inference mode)."""
        o, _ = networks.hidden_output(
            params, data["val_X"], self.layout.arch, shared=True, training=False
        )
        return self._val_cells(data, self._slot_outputs(o, params))

    # ----------------------------------------------------------------- the loop
    def _iteration(self, i, state, data):
        lay = self.layout
        do_train = i < data["epochs"]
        params = state["params"]
        val = self._validate(params, data)
        if lay.full_batch:
            state, losses, cells = self._full_batch_epoch(state, data, do_train)
        else:
            state, losses, cells = self._minibatch_epoch(
                state, data, tf.cast(i, tf.int64), do_train
            )
        val_metrics = {name: objectives.metric_of_cells(name, val) for name in lay.monitors}
        # best-on-validation for epoch i - 1 (the parameters before this iteration's step)
        if lay.selection is not None:
            value = val_metrics[lay.selection.monitor]
            better = (
                value < state["best_value"]
                if lay.selection.mode == "min"
                else value > state["best_value"]
            )
            eligible = i - 1 >= lay.selection.start_from_epoch
            improved = data["active"] & (i >= 1) & eligible & (better | ~state["has_best"])
            best_params = {}
            for name in self.names:
                keep = tf.reshape(
                    improved,
                    tf.concat(
                        [tf.shape(improved), tf.ones([tf.rank(params[name]) - 2], tf.int32)], 0
                    ),
                )
                best_params[name] = tf.where(keep, params[name], state["best_params"][name])
            state = {
                **state,
                "best_params": best_params,
                "best_value": tf.where(improved, value, state["best_value"]),
                "best_epoch": tf.where(improved, tf.cast(i - 1, tf.int32), state["best_epoch"]),
                "has_best": state["has_best"] | improved,
            }
        e_ratio = objectives.metric_of_cells("e_ratio", cells)
        rate_used = state["slope_rate"]
        if lay.astra:
            new_rate = optim.next_slope_rate(rate_used, e_ratio, data["slope_schedule"])
            state = {**state, "slope_rate": tf.where(do_train & data["astra"], new_rate, rate_used)}
        curves = {
            "train_loss": losses,
            "train_e_ratio": e_ratio,
            "slope": networks.slope(state["params"][networks.SLOPE]),
            "slope_learning_rate": rate_used,
        }
        curves.update({f"val_{k}_apx": v for k, v in val_metrics.items()})
        return state, curves

    def _run(self, state, data, start, stop):
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
        o, _ = networks.hidden_output(params, x, self.layout.arch, shared=True, training=False)
        return tf.stack(self._slot_outputs(o, params), axis=1)
