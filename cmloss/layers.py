"""Keras layers: the ASTra output activation with a learnable slope."""

from __future__ import annotations

import keras
from keras import ops

from cmloss.core.astra import (
    astra,
    astra_threshold,
    astra_z_logit,
    beta_cap,
    beta_from_slope,
    slope_from_beta,
    slope_from_threshold,
)
from cmloss.core.validation import check_probability

__all__ = ["ASTra", "find_astra_layers", "SLOPE_VARIABLE_TAG"]

SLOPE_VARIABLE_TAG = "_cmloss_astra_slope"
"""Attribute set on the slope variable so slope-aware optimizers can find it."""

_OUTPUTS = ("z", "astra", "logit")
_HALF = ("float16", "bfloat16")


def _default_dtype():
    """The global policy's variable dtype (float32) when that policy is mixed, else
    ``None`` (the global policy itself)."""
    policy = keras.mixed_precision.global_policy()
    return policy.variable_dtype if policy.compute_dtype != policy.variable_dtype else None


@keras.saving.register_keras_serializable(package="cmloss")
class ASTra(keras.layers.Layer):
    """ASTra output activation ``1 - (1 + b e^{b x})^{-1/b}`` with a learnable slope b.

    Put it after a ``Dense(1)`` with no activation. The slope is ``b = 2 + beta`` for
    ``beta > 0`` and ``1 + e^beta`` otherwise (Eq. 7), with ``beta`` a trainable weight
    initialised so that the threshold ``tau(b)`` equals ``threshold``.

    **Predicting labels.** By default the layer outputs ``z = z(ASTra(x, b), tau(b))``
    (Eq. 6): the ASTra output re-expressed so that its decision threshold is **0.5**.
    ``model.predict(x) > 0.5`` is then the ASTra decision ``ASTra(x, b) > tau(b)``
    (equivalently ``x > 0``), and every 0.5-pivot tool (Keras' BCE, ``BinaryAccuracy``,
    cmloss losses with their default ``threshold=0.5``, cmloss metrics) is correct without
    further arguments: the z-transform is applied once, here, where ``b`` is known.
    ``output="astra"`` returns the raw Eq. 4 value (decision threshold
    ``layer.decision_threshold == tau(b)``); ``output="logit"`` returns ``logit z``
    (decision threshold 0; use with ``from_logits=True`` losses for the best numerics).

    Args:
        threshold: initial threshold ``tau``, in (0, 0.5] (default 0.25, i.e. b = 7.39635;
            the paper found 0.05 the lowest workable value). 0.5 (``b = 1``, the sigmoid)
            is allowed only with ``trainable_slope=False``: Eq. 7 reaches ``b = 1`` only as
            ``beta -> -inf``, where its gradient vanishes.
        trainable_slope: learn ``b`` with the network (default ``True``); ``False`` freezes it.
        output: ``"z"`` (default), ``"astra"`` or ``"logit"``.
        min_threshold: a floor on ``tau`` (``None``, the default: none): after each
            optimizer step ``beta`` is clipped to :func:`cmloss.core.astra.beta_cap`, so
            ``tau(b) >= min_threshold``. Must not exceed ``threshold``.
        dtype: the layer's dtype policy. Default: the global policy, except under a mixed
            one (``"mixed_float16"``, ``"mixed_bfloat16"``), where the layer takes the
            policy's variable dtype (float32): as Keras recommends for a model's output
            activation, it computes in float32 and returns float32.

    **Mixed precision.** The ASTra math is never evaluated in half precision: half
    inputs are cast to float32 (Keras does it for the default float32 policy; the layer
    does it itself under an explicit mixed policy, then returns the policy's compute
    dtype), and ``b`` is read from the float32 ``beta`` without autocasting. In float16
    the output and its gradient are not finite for pre-activations in about ``[-3, -1.8]``
    (``b = 7.4``), and Keras' ``LossScaleOptimizer`` skips every such step.

    Example:

    >>> layer = ASTra(threshold=0.25)
    >>> round(float(layer(keras.ops.zeros((1, 1)))[0, 0]), 4)  # x = 0 is the threshold
    0.5
    >>> round(layer.slope, 5), round(layer.threshold, 5)
    (7.39635, 0.25)
    """

    def __init__(self, threshold: float = 0.25, trainable_slope: bool = True,
                 output: str = "z", min_threshold: float | None = None, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = _default_dtype()
        super().__init__(**kwargs)
        tau = check_probability(threshold, "threshold", low=0.0, high=0.5, low_open=True)
        self._beta_cap = beta_cap(min_threshold)
        if min_threshold is not None and tau < min_threshold:
            raise ValueError(
                f"threshold must be >= min_threshold; got threshold={tau!r}, "
                f"min_threshold={min_threshold!r}."
            )
        self.min_threshold = min_threshold
        if tau == 0.5 and trainable_slope:
            raise ValueError(
                "threshold must be in (0, 0.5) when trainable_slope=True (b = 1 has no finite "
                "beta in Eq. 7); got threshold=0.5. Use trainable_slope=False for a fixed sigmoid."
            )
        if output not in _OUTPUTS:
            raise ValueError(f"output must be one of {_OUTPUTS}; got output={output!r}.")
        self.initial_threshold = tau
        self.trainable_slope = bool(trainable_slope)
        self.output_kind = output
        self._initial_slope = slope_from_threshold(tau)

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != 1:
            raise ValueError(
                "ASTra is a single-unit output activation: its input must have last dimension 1 "
                f"(put Dense(1) before it); got input shape {tuple(input_shape)}."
            )
        if self._initial_slope == 1.0:
            self.beta = None
        else:
            beta0 = beta_from_slope(self._initial_slope)
            self.beta = self.add_weight(
                name="slope_beta", shape=(),
                # not keras.initializers.Constant: it casts the Python float via float32
                initializer=lambda shape, dtype=None: ops.full(shape, beta0, dtype=dtype),
                trainable=self.trainable_slope,
                # the tau floor: the optimizer clips beta after each update
                constraint=(None if self.min_threshold is None
                            else lambda w: ops.minimum(w, ops.cast(self._beta_cap, w.dtype))),
                autocast=False,  # b is computed from the float32 beta, also under a mixed policy
            )
            setattr(self.beta, SLOPE_VARIABLE_TAG, True)

    def _b(self, dtype):
        if self.beta is None:
            return ops.ones((), dtype=dtype)
        return ops.cast(slope_from_beta(self.beta), dtype)

    def call(self, inputs):
        x = inputs
        if keras.backend.standardize_dtype(x.dtype) in _HALF:  # an explicit mixed policy
            x = ops.cast(x, "float32")
        b = self._b(x.dtype)
        if self.output_kind == "astra":
            y = astra(x, b)
        else:
            zl = astra_z_logit(x, b)
            y = zl if self.output_kind == "logit" else ops.sigmoid(zl)
        if keras.backend.standardize_dtype(y.dtype) != self.compute_dtype:
            y = ops.cast(y, self.compute_dtype)
        return y

    def compute_output_shape(self, input_shape):
        return input_shape

    @property
    def slope(self) -> float:
        """The current slope ``b``."""
        if not self.built or self.beta is None:
            return float(self._initial_slope)
        return float(ops.convert_to_numpy(slope_from_beta(self.beta)))

    @property
    def threshold(self) -> float:
        """The current threshold ``tau(b)`` on the raw ASTra output (Eq. 5)."""
        return float(ops.convert_to_numpy(astra_threshold(self.slope)))

    @property
    def decision_threshold(self) -> float:
        """The threshold to apply to this layer's output (0.5 for ``"z"``, ``tau(b)`` for
        ``"astra"``, 0 for ``"logit"``).

        With ``output="astra"`` an input of exactly ``x = 0`` is a tie decided by rounding;
        prefer the default z output, whose threshold 0.5 is exact."""
        return {"z": 0.5, "astra": self.threshold, "logit": 0.0}[self.output_kind]

    def get_config(self) -> dict:
        return {**super().get_config(), "threshold": self.initial_threshold,
                "trainable_slope": self.trainable_slope, "output": self.output_kind,
                "min_threshold": self.min_threshold}


def find_astra_layers(model) -> list[ASTra]:
    """All :class:`ASTra` layers of a model, nested models included."""
    found = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, ASTra):
            found.append(layer)
    return found
