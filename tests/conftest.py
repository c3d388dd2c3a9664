"""Shared test settings: the Keras backend, quiet TensorFlow logs, the data home, and the
``tensorflow_only`` marker for test files that need TensorFlow itself."""

from __future__ import annotations

import os
from pathlib import Path

# Before Keras/TensorFlow/JAX are imported by any test module.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
BACKEND = os.environ["KERAS_BACKEND"]
if BACKEND == "jax":
    # The tests check float64 results against float64 references; without x64 JAX
    # silently computes float64 requests in float32.
    os.environ.setdefault("JAX_ENABLE_X64", "1")

import pytest  # noqa: E402

# Test files that need TensorFlow itself, not just a Keras backend: the many-networks
# trainer (cmloss.trainer, TensorFlow by design), the experiments built on it, and files
# importing TensorFlow directly. Under another backend they are skipped, not run.
TENSORFLOW_ONLY_FILES = frozenset({
    "test_baselines.py",
    "test_book.py",
    "test_cli.py",
    "test_data.py",
    "test_distributed.py",
    "test_epoch_rules.py",
    "test_experiment_methods.py",
    "test_ledger.py",
    "test_method_registry.py",
    "test_protocols.py",
    "test_reliability.py",
    "test_results.py",
    "test_stats.py",
    "test_trainer_engine.py",
    "test_trainer_equivalence.py",
    "test_trainer_experiments.py",
})


SKIP_REASON = (
    "tensorflow_only: needs TensorFlow itself (the trainer, experiments or tf imports), "
    f"not run under KERAS_BACKEND={BACKEND}"
)


class _TensorFlowOnlyModule(pytest.Module):
    """A test file that is skipped as a whole, without importing it (importing would
    import TensorFlow and the trainer)."""

    def collect(self):
        pytest.skip(f"{self.path.name}: {SKIP_REASON}")


def pytest_pycollect_makemodule(module_path: Path, parent):
    if BACKEND != "tensorflow" and module_path.name in TENSORFLOW_ONLY_FILES:
        return _TensorFlowOnlyModule.from_parent(parent, path=module_path)
    return None


def pytest_collection_modifyitems(config, items):
    """Mark the tests of the TensorFlow-only files ``tensorflow_only`` (under TensorFlow,
    where they run; ``-m "not tensorflow_only"`` deselects them), and skip single tests
    marked ``tensorflow_only`` in a backend-neutral file under another backend."""
    for item in items:
        if item.path.name in TENSORFLOW_ONLY_FILES:
            item.add_marker(pytest.mark.tensorflow_only)
        elif BACKEND != "tensorflow" and (mark := item.get_closest_marker("tensorflow_only")):
            why = mark.kwargs.get("reason", "needs TensorFlow itself")
            item.add_marker(pytest.mark.skip(
                reason=f"tensorflow_only: {why}; not run under KERAS_BACKEND={BACKEND}"))


def pytest_report_header(config):
    return f"keras backend: {BACKEND}"


def gradients(fn, inputs=(), variables=()):
    """``fn(*inputs)`` and the gradients of its sum, on the active Keras backend.

    ``inputs`` are NumPy arrays (each becomes a differentiable tensor of its own dtype);
    ``variables`` are Keras variables ``fn`` reads (a layer's weights). Returns
    ``(value, grads)``: the value and one gradient per input, then per variable, all as
    NumPy float64 arrays; a gradient is ``None`` where TensorFlow's tape reports that the
    value does not depend on it (the JAX and PyTorch backends give zeros there).
    Test modules import it: ``from conftest import gradients``.
    """
    import keras
    import numpy as np

    def np64(x):
        return None if x is None else np.asarray(keras.ops.convert_to_numpy(x), np.float64)

    inputs = [np.asarray(x) for x in inputs]
    variables = list(variables)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        watched = [tf.Variable(x) for x in inputs]
        with tf.GradientTape() as tape:
            value = fn(*watched)
            total = keras.ops.sum(value)
        grads = tape.gradient(total, watched + variables)
        return np64(value), [np64(g) for g in grads]
    if BACKEND == "jax":
        import jax
        import jax.numpy as jnp

        def total(xs, vs):
            with keras.StatelessScope(state_mapping=list(zip(variables, vs))):
                value = fn(*xs)
            return jnp.sum(value), value

        state = [v.value for v in variables]
        (_, value), (gx, gv) = jax.value_and_grad(total, argnums=(0, 1), has_aux=True)(
            [jnp.asarray(x) for x in inputs], state
        )
        return np64(value), [np64(g) for g in list(gx) + list(gv)]
    if BACKEND == "torch":
        import torch

        # through Keras: torch.tensor cannot read ml_dtypes' bfloat16 NumPy arrays
        xs = [keras.ops.convert_to_tensor(x, dtype=str(x.dtype)).detach().clone()
              .requires_grad_(True) for x in inputs]
        value = fn(*xs)
        leaves = xs + [v.value for v in variables]
        grads = torch.autograd.grad(torch.sum(value), leaves, allow_unused=True)
        return np64(value.detach()), [
            np64(torch.zeros_like(leaf) if g is None else g) for leaf, g in zip(leaves, grads)
        ]
    raise NotImplementedError(f"gradients: no autodiff helper for backend {BACKEND!r}")


@pytest.fixture(scope="session")
def CMLOSS_DATA() -> Path:
    """The data home: ``$CMLOSS_DATA``, default ``/work/shared/data``."""
    return Path(os.environ.get("CMLOSS_DATA", "/work/shared/data")).expanduser().absolute()
