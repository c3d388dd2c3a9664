"""The three network families, stacked: parameters of a ``(V, M)`` grid of members.

A stack holds ``V`` data views (row sets) and ``M`` member slots per view. Every parameter
is a tensor of shape ``(V, M) + keras_shape``, where ``keras_shape`` is the shape of the
same weight in the member's Keras model, listed in Keras ``get_weights()`` order:

============  ===========================================================================
family        weights (Keras order)
============  ===========================================================================
``slp``       ``kernel (d, 1)``, ``bias (1,)``
``mlp``       ``hidden_kernel (d, h)``, ``hidden_bias (h,)``, ``output_kernel (h, 1)``,
              ``output_bias (1,)``
``bn_mlp``    ``hidden_kernel``, ``hidden_bias``, ``gamma (h,)``, ``beta (h,)``,
              ``moving_mean (h,)``, ``moving_variance (h,)``, ``output_kernel``,
              ``output_bias``
ASTra output  ``+ slope_beta ()`` (the :class:`cmloss.layers.ASTra` weight)
============  ===========================================================================

Members narrower than the stack's ``h`` are padded with hidden units whose weights are
zero and whose gradients are masked: a padded unit outputs ``leaky_relu(0) = 0`` into an
output weight of 0, so it is exactly inert.

The forward pass uses the same primitives as the Keras layers (``matmul`` + bias,
``keras.ops.leaky_relu``, ``tf.nn.batch_normalization``, ``keras.ops.sigmoid``, and
:func:`cmloss.core.astra.astra_z_logit` / :func:`~cmloss.core.astra.slope_from_beta` as in
:class:`cmloss.layers.ASTra`). It runs in two parts: :func:`output_preactivations` (every
layer up to the output unit's pre-activation) and :func:`model_outputs` (the output
activation of each slot: sigmoid, linear or ASTra).

On rows shared by the ``M`` members of a view, the pre-activations of the ``slp`` and
``mlp`` families come from a *formulation*, a function ``(params, x, arch) -> list of M
tensors (V, N)``: :func:`merged_slots` (all slots' hidden layers as one matmul) unless a
caller passes another to :func:`cmloss.trainer.train_members` (``formulation=``, for
``benchmarks/formulation_benchmark.py``, which times the layouts it was chosen over).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from cmloss.core import astra as astra_math
from cmloss.core.astra import astra_z_logit, beta_from_slope, slope_from_beta, slope_from_threshold
from cmloss.trainer.spec import Architecture, MemberSpec

__all__ = [
    "SLOPE",
    "ASTRA_RAW",
    "weight_names",
    "weight_shapes",
    "trainable_names",
    "initial_weights",
    "build_keras_model",
    "merged_dense",
    "merged_output_unit",
    "merged_slots",
    "output_preactivations",
    "output_head",
    "monitored_kind",
    "model_outputs",
    "slope",
    "mask_padding_gradients",
    "with_moving_statistics",
]

SLOPE = "slope_beta"
#: The output kind of ASTra's raw Eq. 4 value (see :func:`output_head`).
ASTRA_RAW = "astra_raw"
_NON_TRAINABLE = ("moving_mean", "moving_variance")


def weight_names(kind: str, astra: bool) -> tuple[str, ...]:
    """Names of a member's weights in Keras ``get_weights()`` order."""
    names = {
        "slp": ("kernel", "bias"),
        "mlp": ("hidden_kernel", "hidden_bias", "output_kernel", "output_bias"),
        "bn_mlp": (
            "hidden_kernel",
            "hidden_bias",
            "gamma",
            "beta",
            "moving_mean",
            "moving_variance",
            "output_kernel",
            "output_bias",
        ),
    }[kind]
    return names + ((SLOPE,) if astra else ())


def trainable_names(kind: str) -> tuple[str, ...]:
    """Weights updated by the optimizer (all but BatchNormalization's moving statistics),
    the slope included."""
    return tuple(n for n in weight_names(kind, True) if n not in _NON_TRAINABLE)


def weight_shapes(kind: str, n_features: int, hidden: int) -> dict[str, tuple[int, ...]]:
    """Keras shapes of every weight (the slope included) for ``hidden`` units."""
    d, h = int(n_features), int(hidden)
    if kind == "slp":
        shapes = {"kernel": (d, 1), "bias": (1,)}
    else:
        shapes = {"hidden_kernel": (d, h), "hidden_bias": (h,)}
        if kind == "bn_mlp":
            shapes.update({n: (h,) for n in ("gamma", "beta", "moving_mean", "moving_variance")})
        shapes.update({"output_kernel": (h, 1), "output_bias": (1,)})
    shapes[SLOPE] = ()
    return shapes


def _initializer(name: str, seed: int):
    cls = type(keras.initializers.get(name))
    try:
        return cls(seed=int(seed))
    except TypeError:  # Zeros, Ones, Constant: no seed
        return cls()


def initial_beta(tau_init: float) -> float:
    """The ASTra layer's initial ``slope_beta`` for threshold ``tau_init`` (Eq. 7)."""
    return beta_from_slope(slope_from_threshold(tau_init))


def initial_weights(member: MemberSpec, n_features: int) -> list[np.ndarray]:
    """A member's initial weights as a Keras ``get_weights()`` list.

    ``member.initial_weights`` if given; otherwise the Keras initializers of the
    architecture seeded with ``member.seed`` (hidden kernel) and ``member.seed + 1``
    (output kernel), zero biases, BatchNormalization's ``(1, 0, 0, 1)`` and the ASTra
    slope of ``tau_init``: exactly what a Keras model with these seeded initializers
    starts from.
    """
    arch = member.architecture
    astra = member.output == "astra"
    if member.initial_weights is not None:
        weights = [np.asarray(w, np.float32) for w in member.initial_weights]
        shapes = weight_shapes(arch.kind, n_features, arch.width or 1)
        names = weight_names(arch.kind, astra)
        if len(weights) != len(names) or any(w.shape != shapes[n] for n, w in zip(names, weights)):
            raise ValueError(
                f"initial_weights must be a get_weights() list of shapes "
                f"{[shapes[n] for n in names]}; got {[w.shape for w in weights]}."
            )
        return weights
    shapes = weight_shapes(arch.kind, n_features, arch.width or 1)
    out = {}
    for name in weight_names(arch.kind, astra):
        shape = shapes[name]
        if name in ("kernel", "output_kernel"):
            init = _initializer(arch.output_initializer, member.seed + 1)
        elif name == "hidden_kernel":
            init = _initializer(arch.hidden_initializer, member.seed)
        elif name in ("gamma", "moving_variance"):
            init = keras.initializers.Ones()
        elif name == SLOPE:
            init = keras.initializers.Constant(initial_beta(member.tau_init))
        else:
            init = keras.initializers.Zeros()
        out[name] = np.asarray(keras.ops.convert_to_numpy(init(shape, dtype="float32")), np.float32)
    return [out[n] for n in weight_names(arch.kind, astra)]


def build_keras_model(member: MemberSpec, n_features: int, weights: Sequence | None = None):
    """The member as a plain Keras model (functional API) with cmloss layers.

    Args:
        member: the member's spec.
        n_features: input width.
        weights: optional ``get_weights()`` list to load (default: the member's initial
            weights, :func:`initial_weights`).

    Returns:
        An uncompiled ``keras.Model`` whose ``get_weights()`` order is the trainer's.
    """
    from cmloss.layers import ASTra

    arch = member.architecture
    inputs = keras.Input((int(n_features),))
    x = inputs
    if arch.kind == "mlp":
        x = keras.layers.Dense(arch.hidden, name="hidden")(x)
        x = keras.layers.LeakyReLU(negative_slope=arch.negative_slope)(x)
    elif arch.kind == "bn_mlp":
        x = keras.layers.Dense(arch.hidden, name="hidden")(x)
        x = keras.layers.BatchNormalization(momentum=arch.bn_momentum, epsilon=arch.bn_epsilon)(x)
        x = keras.layers.Activation("sigmoid")(x)
    if member.output == "sigmoid":
        x = keras.layers.Dense(1, activation="sigmoid", name="output")(x)
    else:
        x = keras.layers.Dense(1, name="output")(x)
        if member.output == "astra":
            x = ASTra(threshold=member.tau_init, min_threshold=member.tau_min)(x)
    model = keras.Model(inputs, x)
    model.set_weights(list(weights) if weights is not None else initial_weights(member, n_features))
    return model


def _dense(x, kernel, bias, shared: bool):
    """``x @ kernel + bias`` per member; ``x`` is ``(V, N, d)`` when shared by the ``M``
    members of a view, else ``(V, M, N, d)``; result ``(V, M, N, units)``."""
    spec = "vnd,vmdu->vmnu" if shared else "vmnd,vmdu->vmnu"
    return tf.einsum(spec, x, kernel) + bias[:, :, None, :]


def _batch_norm(z, params, arch: Architecture, training: bool, weights):
    """Keras BatchNormalization; training mode uses (weighted) batch moments over rows.

    Returns ``(normalized, new_moving_mean, new_moving_variance)``.
    """
    gamma, beta = params["gamma"][:, :, None, :], params["beta"][:, :, None, :]
    if training:
        mean, variance = tf.nn.weighted_moments(
            z, axes=[2], frequency_weights=weights[..., None], keepdims=True
        )
        momentum = arch.bn_momentum
        new_mean = params["moving_mean"] * momentum + mean[:, :, 0, :] * (1.0 - momentum)
        new_var = params["moving_variance"] * momentum + variance[:, :, 0, :] * (1.0 - momentum)
    else:
        mean = params["moving_mean"][:, :, None, :]
        variance = params["moving_variance"][:, :, None, :]
        new_mean, new_var = params["moving_mean"], params["moving_variance"]
    out = tf.nn.batch_normalization(
        z, mean, variance, offset=beta, scale=gamma, variance_epsilon=arch.bn_epsilon
    )
    return out, new_mean, new_var


def merged_dense(x, kernel, bias):
    """All slots' ``x @ kernel[:, m] + bias[:, m]`` as one matmul per view.

    ``x``: ``(V, N, d)``; ``kernel``: ``(V, M, d, u)``; returns ``(V, N, M * u)`` with slot
    ``m`` in columns ``m*u .. (m+1)*u - 1``. One dot with ``M * u`` columns instead of
    ``M`` dots with ``u`` columns: for these thin shapes XLA:CPU runs it faster, gradient
    included (``benchmarks/formulation_benchmark.py`` measures it against the other
    layouts tried; its results are in ``benchmarks/results/``).
    """
    V, M, d, u = kernel.shape
    flat = tf.reshape(tf.transpose(kernel, [0, 2, 1, 3]), (V, d, M * u))
    return tf.einsum("vnd,vdk->vnk", x, flat) + tf.reshape(bias, (V, 1, M * u))


def merged_slots(params: dict, x, arch: Architecture) -> list:
    """The library's formulation: output pre-activations ``(V, N)`` of every slot, on rows
    ``x`` ``(V, N, d)`` shared by the view (``slp`` and ``mlp`` families).

    The whole network runs on ``(V, N, M, ...)`` tensors (:func:`merged_dense`) and only
    the output is sliced per slot, so the backward pass joins the slots' gradients on the
    ``(V, N, M)`` output rather than on the ``M``-times wider hidden layer."""
    if arch.kind == "slp":
        o = merged_dense(x, params["kernel"], params["bias"])
        return [o[:, :, m] for m in range(o.shape[-1])]
    z = merged_dense(x, params["hidden_kernel"], params["hidden_bias"])
    return merged_output_unit(keras.ops.leaky_relu(z, negative_slope=arch.negative_slope), params)


def merged_output_unit(a, params) -> list:
    """The output unit of every slot on merged hidden activations ``a`` ``(V, N, M * h)``
    (slot ``m`` in columns ``m*h .. (m+1)*h - 1``): a list of ``M`` pre-activations
    ``(V, N)``."""
    V, M, _, h = params["hidden_kernel"].shape
    a = tf.reshape(a, (V, -1, M, h))
    o = tf.reduce_sum(a * params["output_kernel"][:, None, :, :, 0], axis=-1)
    o = o + params["output_bias"][:, None, :, 0]
    return [o[:, :, m] for m in range(M)]


def output_preactivations(
    params: dict,
    x,
    arch: Architecture,
    *,
    shared: bool,
    training: bool = False,
    weights=None,
    formulation=merged_slots,
):
    """Pre-activation of the output unit of every member, slot by slot.

    Args:
        params: ``name -> (V, M) + keras_shape`` tensors.
        x: features, ``(V, N, d)`` if ``shared`` else ``(V, M, N, d)``.
        arch: the family (``arch.kind``, Leaky ReLU slope, BatchNormalization settings).
        shared: whether the ``M`` members of a view see the same rows.
        training: BatchNormalization in training mode (batch statistics).
        weights: row weights ``(V, M, N)`` (or broadcastable) for the batch moments.
        formulation: computes the ``slp``/``mlp`` pre-activations on shared rows
            (default :func:`merged_slots`).

    Returns:
        ``(pre, updates)``: a list of ``M`` tensors ``(V, N)``, one per slot, and a dict of
        new non-trainable weights (BatchNormalization's moving statistics, in training
        mode). Everything after the pre-activations is computed slot by slot, so that XLA
        fuses each slot's output, loss and metrics separately.
    """
    M = params["output_bias" if arch.kind != "slp" else "bias"].shape[1]
    if arch.kind == "bn_mlp" or not shared:
        o, updates = _preactivations_per_member(
            params, x, arch, shared=shared, training=training, weights=weights
        )
        return [o[:, m] for m in range(M)], updates
    return formulation(params, x, arch), {}


def _preactivations_per_member(params, x, arch, *, shared, training, weights):
    updates = {}
    if arch.kind == "slp":
        o = _dense(x, params["kernel"], params["bias"], shared)
        return o[..., 0], updates
    z = _dense(x, params["hidden_kernel"], params["hidden_bias"], shared)
    if arch.kind == "mlp":
        a = keras.ops.leaky_relu(z, negative_slope=arch.negative_slope)
    else:
        z, new_mean, new_var = _batch_norm(z, params, arch, training, weights)
        if training:
            updates = {"moving_mean": new_mean, "moving_variance": new_var}
        a = keras.ops.sigmoid(z)
    o = tf.einsum("vmnu,vmu->vmn", a, params["output_kernel"][..., 0])
    return o + params["output_bias"], updates


def slope(beta):
    """The ASTra slope ``b`` of Eq. 7 (:func:`cmloss.core.astra.slope_from_beta`)."""
    return slope_from_beta(beta)


def model_outputs(pre, params: dict, outputs) -> list:
    """Model outputs of every slot from their pre-activations ``pre`` (a list of ``M``
    tensors ``(V, N)``), for the slots' output kinds ``outputs`` (``M`` names)."""
    beta = params[SLOPE]
    return [output_head(o, kind, beta[:, m, None]) for m, (o, kind) in enumerate(zip(pre, outputs))]


def mask_padding_gradients(grads: dict, unit_mask, astra) -> dict:
    """Gradients with padding zeroed: the hidden units a member does not have
    (``unit_mask`` ``(V, M, h)``) and the slope of members without an ASTra output
    (``astra`` ``(V, M)`` bool), so that padding stays exactly inert."""
    out = dict(grads)
    for name in ("hidden_kernel",):
        if name in out:
            out[name] = out[name] * unit_mask[:, :, None, :]
    for name in ("hidden_bias", "gamma", "beta"):
        if name in out:
            out[name] = out[name] * unit_mask
    if "output_kernel" in out:
        out["output_kernel"] = out["output_kernel"] * unit_mask[..., None]
    out[SLOPE] = out[SLOPE] * tf.cast(astra, tf.float32)
    return out


def with_moving_statistics(params: dict, updates: dict, valid) -> dict:
    """``params`` with BatchNormalization's new moving statistics ``updates`` taken for the
    members where ``valid`` ``(V, M)`` (Keras assigns them in every training step)."""
    out = dict(params)
    for name, value in updates.items():
        out[name] = tf.where(valid[..., None], value, params[name])
    return out


def monitored_kind(output: str, raw: bool) -> str:
    """The output kind a monitor reads: :data:`ASTRA_RAW` for an ASTra output read raw
    (``Selection(output="raw")``, ``AdaptiveSlope(output="raw")``), else ``output``."""
    return ASTRA_RAW if raw and output == "astra" else output


def output_head(o, output: str, beta=None):
    """The model output from the output unit's pre-activation ``o`` (any shape).

    ``"sigmoid"``: ``sigmoid(o)``; ``"linear"``: ``o``; ``"astra"``: the z output of
    :class:`cmloss.layers.ASTra`, ``sigmoid(astra_z_logit(o, b))`` with ``b`` from
    ``beta``, whose shape must broadcast against ``o`` (e.g. ``beta[:, None]``);
    :data:`ASTRA_RAW`: the Eq. 4 value ``ASTra(o, b)`` (the layer's ``output="astra"``),
    which only the monitors read (``Selection(output="raw")`` and
    ``AdaptiveSlope(output="raw")``), never a loss.
    """
    if output == "sigmoid":
        return keras.ops.sigmoid(o)
    if output == "linear":
        return o
    b = tf.cast(slope(beta), o.dtype)
    if output == ASTRA_RAW:
        return astra_math.astra(o, b)
    return keras.ops.sigmoid(astra_z_logit(o, b))
