"""Checks at the public boundary, in the style of scikit-learn's metrics.

Every check raises ``ValueError`` with a message that names the argument, the value
received and what is allowed. Value checks (labels in {0, 1}, non-negative finite sample
weights) run whenever the values are concrete (NumPy arrays, eager tensors).

Inside a compiled step (``model.fit``: ``tf.function``, XLA, a JAX trace) values are
symbolic. There :func:`guard_inputs` checks them in the graph: the loss becomes NaN when
labels or weights are invalid (on every backend, so ``TerminateOnNaN`` stops training and
Keras reports it), on TensorFlow without XLA an in-graph assertion stops ``fit`` with the
message of :func:`check_labels`, and on JAX a one-time warning names the problem.
"""

from __future__ import annotations

import math
from numbers import Real

import keras
import numpy as np

__all__ = [
    "check_int",
    "check_L",
    "check_positive",
    "check_probability",
    "check_threshold",
    "check_binary_labels",
    "check_labels",
    "check_sample_weight",
    "check_one_label_per_example",
    "check_same_size",
    "check_average",
    "AVERAGES",
    "label_count",
    "check_class_indices",
    "check_weight_shape",
    "concrete_value",
    "guard_inputs",
]


def _describe(value) -> str:
    return f"{value!r} ({type(value).__name__})"


def check_positive(value, name: str, *, what: str = "") -> float:
    """Return ``value`` as a float if it is a finite number > 0, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(
            f"{name} must be a finite number > 0{what}; got {name}={_describe(value)}.")
    if value <= 0:
        raise ValueError(f"{name} must be a finite number > 0{what}; got {name}={value!r}.")
    return float(value)


def check_int(value, name: str, *, minimum: int = 0) -> int:
    """Return ``value`` as an int if it is an integer >= ``minimum``, else raise
    ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {name}={_describe(value)}.")
    return int(value)


def check_L(L) -> float:
    """Validate the AnyLoss amplification slope ``L`` (finite, > 0)."""
    return check_positive(L, "L", what=" (the slope of the AnyLoss amplification)")


def check_probability(value, name: str, *, low: float = 0.0, high: float = 1.0,
                      low_open: bool = False, high_open: bool = False) -> float:
    """Validate a number in an interval such as ``(0, 0.5]``; return it as float."""
    lo_br, hi_br = ("(" if low_open else "["), (")" if high_open else "]")
    allowed = f"a number in {lo_br}{low}, {high}{hi_br}"
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be {allowed}; got {name}={_describe(value)}.")
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        raise ValueError(f"{name} must be {allowed}; got {name}={value!r}.")
    return float(value)


def check_threshold(threshold, name: str = "threshold") -> float:
    """Validate a decision threshold of a probability output: a number in (0, 1)."""
    return check_probability(threshold, name, low=0.0, high=1.0, low_open=True, high_open=True)


def _is_symbolic(x) -> bool:
    """A tensor of a graph being traced (TensorFlow ``tf.function``, a JAX trace)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.is_symbolic_tensor(x)
    if backend == "jax":
        import jax

        return isinstance(x, jax.core.Tracer)
    return False


def concrete_value(x):
    """Return ``x`` as a NumPy array if its values are known now, else ``None``.

    Symbolic tensors (inside ``tf.function``/XLA or a JAX trace) have no values yet.
    """
    if isinstance(x, (np.ndarray, np.generic, list, tuple, int, float)):
        return np.asarray(x)
    if _is_symbolic(x):
        return None
    try:
        return np.asarray(keras.ops.convert_to_numpy(x))
    except Exception:  # symbolic tensor: no values to check
        return None


_LABELS = "must contain only the labels 0 and 1 (1 = the minority/positive class)"
_LIBSVM_HINT = "Labels in {-1, +1} (the LIBSVM convention): pass (y > 0) instead."


def _label_advice(found: np.ndarray) -> str:
    values = set(np.unique(found).tolist())
    if values <= {-1.0, 1.0} or values <= {-1.0, 0.0, 1.0}:
        return _LIBSVM_HINT
    if np.all(np.isfinite(found)) and np.all(found == np.round(found)):
        return ("Encode the positive class as 1 and the rest as 0, e.g. "
                "(y == positive_label).astype('float32').")
    return ("Fractional or non-finite labels are not class labels: encode the positive "
            "class as 1 and the rest as 0.")


def check_binary_labels(y_true, name: str = "y_true") -> None:
    """Raise ``ValueError`` if concrete labels hold values other than 0 and 1 (symbolic
    tensors pass; :func:`guard_inputs` checks them in the graph)."""
    values = concrete_value(y_true)
    if values is None or values.size == 0:
        return
    bad = ~((values == 0) | (values == 1))
    if np.any(bad):
        found = np.unique(values[bad])[:5]
        raise ValueError(
            f"{name} {_LABELS}; got values {found.tolist()} ({int(np.sum(bad))} of "
            f"{values.size} entries). {_label_advice(values[bad])}"
        )


def check_labels(y, name: str = "y") -> np.ndarray:
    """Check binary labels before training; return them as a float32 array of shape (n,).

    One call before ``fit`` catches what a compiled training step can only turn into a
    NaN loss: values other than 0 and 1 (``-1/+1`` gets the advice ``(y > 0)``), more than
    one label per example, and an empty or single-class label set.

    Example:

    >>> check_labels([0, 1, 1, 0]).tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    values = concrete_value(y)
    if values is None:
        raise ValueError(f"{name} must be concrete labels (an array), not a symbolic tensor.")
    check_one_label_per_example(values, name)
    values = values.reshape(-1)
    if values.size == 0:
        raise ValueError(f"{name} must hold at least one label; got an empty array.")
    if values.dtype.kind not in "biuf":
        raise ValueError(f"{name} {_LABELS}; got an array of dtype {values.dtype}.")
    check_binary_labels(values, name)
    n_pos = int(np.sum(values == 1))
    if n_pos in (0, values.size):
        which = "positives (1)" if n_pos == 0 else "negatives (0)"
        raise ValueError(
            f"{name} must hold both classes; got {values.size} labels and no {which}.")
    return values.astype(np.float32)


def check_sample_weight(sample_weight, name: str = "sample_weight") -> None:
    """Raise ``ValueError`` if concrete weights are negative, NaN or infinite."""
    if sample_weight is None:
        return
    values = concrete_value(sample_weight)
    if values is None or values.size == 0:
        return
    values = values.astype(np.float64)
    bad = ~(np.isfinite(values) & (values >= 0))
    if np.any(bad):
        found = np.unique(values[bad])[:5]
        raise ValueError(
            f"{name} must hold finite weights >= 0 (a weight scales an example's share of "
            f"the confusion matrix); got values {found.tolist()} ({int(np.sum(bad))} of "
            f"{values.size} entries)."
        )


def check_one_label_per_example(y, name: str = "y_true") -> None:
    """Refuse several labels per example (shape ``(n, k)`` with ``k > 1``) where only
    binary targets are meaningful (:func:`check_labels`, :func:`cmloss.evaluate`): pooling
    k labels into one matrix would silently give a micro-averaged score."""
    shape = _static_shape(y)
    extra = [d for d in shape[1:] if d != 1]
    if extra:
        raise ValueError(
            f"{name} must hold one binary label per example (shape (n,) or (n, 1)); got "
            f"{name}.shape={shape}. For multi-label and multi-class targets use the losses "
            f"of cmloss.losses and the metrics of cmloss.metrics with average='micro', "
            f"'macro' or 'weighted' (one confusion matrix per label), or evaluate one "
            f"column at a time."
        )


AVERAGES = ("micro", "macro", "weighted", None)
"""How per-label confusion matrices are combined (scikit-learn's and Keras' names)."""


def check_average(average, name: str = "average", *, allow_none: bool = True):
    """Return ``average`` if it is one of :data:`AVERAGES` (``None`` only when
    ``allow_none``), else raise ``ValueError``."""
    allowed = AVERAGES if allow_none else AVERAGES[:-1]
    if isinstance(average, str) or average is None:
        if average in allowed:
            return average
    if average is None:
        raise ValueError(
            f"{name}=None (one value per label) is for metrics; a loss must be a single "
            f"number: use {name}='macro', 'micro' or 'weighted'.")
    raise ValueError(f"{name} must be one of {allowed}; got {name}={average!r}.")


def label_count(y_pred, name: str = "y_pred") -> int:
    """The number of labels ``k`` of predictions of shape ``(n,)``, ``(n, 1)`` (``k = 1``,
    binary) or ``(n, k)``; ``ValueError`` for other shapes or an unknown ``k``."""
    shape = _static_shape(y_pred)
    if len(shape) <= 1 or all(d == 1 for d in shape[1:]):
        return 1
    if len(shape) == 2 and shape[1] is not None:
        return int(shape[1])
    raise ValueError(
        f"{name} must have shape (n,), (n, 1) (one binary label per example) or (n, k) "
        f"(k labels, or k classes, per example, k known); got {name}.shape={shape}.")


def check_class_indices(y_true, num_classes: int, name: str = "y_true") -> None:
    """Raise ``ValueError`` unless ``y_true`` holds one integer class index in
    ``[0, num_classes)`` per example (shape ``(n,)`` or ``(n, 1)``); values are checked
    when concrete."""
    shape = _static_shape(y_true)
    if [d for d in shape[1:] if d != 1]:
        raise ValueError(
            f"{name} must hold one class index per example (shape (n,) or (n, 1)) with "
            f"sparse_labels=True; got {name}.shape={shape}.")
    values = concrete_value(y_true)
    if values is None or values.size == 0:
        return
    bad = ~((values == np.round(values)) & (values >= 0) & (values < num_classes))
    if np.any(bad):
        found = np.unique(values[bad])[:5]
        raise ValueError(
            f"{name} must hold integer class indices in [0, {num_classes}) (the columns of "
            f"y_pred) with sparse_labels=True; got values {found.tolist()} "
            f"({int(np.sum(bad))} of {values.size} entries).")


def check_weight_shape(sample_weight, y_pred, name: str = "sample_weight") -> None:
    """Require one weight per example (shape ``(n,)`` or ``(n, 1)``) or one per entry of
    ``y_pred`` (its shape, e.g. ``(n, k)``); unknown dimensions are not compared."""
    if sample_weight is None:
        return
    w, p = _static_shape(sample_weight), _static_shape(y_pred)
    if _shapes_match(w, p) or _shapes_match(w, p[:1]):
        return
    raise ValueError(
        f"{name} must hold one weight per example (shape {p[:1]}) or one per entry of "
        f"y_pred (shape {p}); got {name}.shape={w}.")


def _guard_warning(ok_labels, ok_weights):  # host callback (JAX): values are concrete
    import warnings

    for ok, what in ((ok_labels, f"y_true {_LABELS}; {_LIBSVM_HINT}"),
                     (ok_weights, "sample_weight must hold finite weights >= 0")):
        if not bool(ok) and what not in _WARNED:
            _WARNED.add(what)
            warnings.warn(f"invalid input inside a compiled step, the loss is NaN: {what}",
                          stacklevel=2)


_WARNED: set = set()


def guard_inputs(loss, y_true, sample_weight=None):
    """Return ``loss``, NaN where the labels or weights of a compiled step are invalid.

    Only for symbolic inputs (concrete ones are refused by :func:`check_binary_labels`
    and :func:`check_sample_weight`). On TensorFlow an in-graph assertion also stops
    ``fit`` with a message (XLA ignores assertions: there the NaN loss remains); on JAX a
    host callback warns once per problem.
    """
    ops = keras.ops
    y = ops.convert_to_tensor(y_true)
    ok_labels = ops.all(ops.logical_or(ops.equal(y, 0), ops.equal(y, 1)))
    ok_weights = ops.convert_to_tensor(True)
    if sample_weight is not None:
        w = ops.convert_to_tensor(sample_weight)
        ok_weights = ops.all(ops.logical_and(ops.isfinite(w), w >= 0))
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        bad_y = tf.boolean_mask(y, tf.logical_not(tf.logical_or(tf.equal(y, 0),
                                                                tf.equal(y, 1))))
        tf.debugging.Assert(ok_labels, [f"y_true {_LABELS}; found values (first 5):",
                                        bad_y[:5], _LIBSVM_HINT], summarize=5)
        if sample_weight is not None:
            tf.debugging.Assert(ok_weights, ["sample_weight must hold finite weights >= 0; "
                                             "found values:", w], summarize=5)
    elif backend == "jax":
        import jax

        jax.debug.callback(_guard_warning, ok_labels, ok_weights)
    ok = ops.logical_and(ok_labels, ok_weights)
    return ops.where(ok, loss, ops.full_like(loss, float("nan")))


def _static_shape(x):
    shape = getattr(x, "shape", None)
    if shape is None:
        shape = np.shape(x)
    return tuple(shape)


def _shapes_match(a: tuple, b: tuple) -> bool:
    """Equal up to axes of length 1; unknown (``None``) dimensions match anything."""
    sa = [d for d in a if d != 1]
    sb = [d for d in b if d != 1]
    return len(sa) == len(sb) and all(x is None or y is None or x == y
                                      for x, y in zip(sa, sb))


def check_same_size(y_true, y_pred, names: tuple[str, str] = ("y_true", "y_pred")) -> None:
    """Require one prediction per label.

    Shapes may differ only by axes of length 1 (Keras' ``(n,)`` against ``(n, 1)``).
    Unknown (``None``) dimensions are not compared.
    """
    a, b = _static_shape(y_true), _static_shape(y_pred)
    if not _shapes_match(a, b):
        raise ValueError(
            f"{names[0]} and {names[1]} must hold one prediction per label (shapes equal up to "
            f"axes of length 1); got {names[0]}.shape={a} and {names[1]}.shape={b}."
        )
