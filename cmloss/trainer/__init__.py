"""The fast trainer: many small networks trained at once, each exactly a Keras ``fit``.

The ASTra protocol alone is 10 million network-epochs of networks with 2-12 hidden units;
trained one ``model.fit`` at a time, the cost is per-call overhead. This package stacks
many members (each with its own rows, loss, output, optimizer state, learning rate, seed,
batch order and best-on-validation snapshot) into one XLA program that runs hundreds of
epochs per call.

Layout:

- :mod:`~cmloss.trainer.spec`: what to train (:class:`MemberSpec` and its parts);
- :mod:`~cmloss.trainer.views`: members' rows, scaled and stacked (with merged duplicates);
- :mod:`~cmloss.trainer.stacking`: members arranged in a ``(views, slots)`` grid;
- :mod:`~cmloss.trainer.networks`: the three families, batched, and their Keras twins;
- :mod:`~cmloss.trainer.objectives`: losses and metrics through the library's functions;
- :mod:`~cmloss.trainer.optim`: Keras' Adam, SGD and RMSprop, batched; Eq. 10 in-graph;
- :mod:`~cmloss.trainer.shuffling`: per-member batch order, also for Keras;
- :mod:`~cmloss.trainer.engine`: the compiled loop; :mod:`~cmloss.trainer.chunking`:
  the memory budget; :mod:`~cmloss.trainer.train`: :func:`train_members`.

Equivalence with Keras is tested in ``tests/test_trainer_equivalence.py``.
"""

from __future__ import annotations

from cmloss.trainer.networks import build_keras_model, initial_weights
from cmloss.trainer.results import MemberResult
from cmloss.trainer.shuffling import batch_order
from cmloss.trainer.spec import (
    AdaptiveSlope,
    Architecture,
    LossSpec,
    MemberSpec,
    OptimizerSpec,
    Selection,
)
from cmloss.trainer.train import astra_tau, plan_stacks, train_members

__all__ = [
    "AdaptiveSlope",
    "Architecture",
    "LossSpec",
    "MemberSpec",
    "MemberResult",
    "OptimizerSpec",
    "Selection",
    "astra_tau",
    "batch_order",
    "build_keras_model",
    "initial_weights",
    "plan_stacks",
    "train_members",
]
