"""The fast trainer: many small networks trained at once, each exactly a Keras ``fit``.

The ASTra protocol alone is 10 million network-epochs of networks with 2-12 hidden units;
trained one ``model.fit`` at a time, the cost is per-call overhead. This package stacks
many members (each with its own rows, loss, output, optimizer state, learning rate, seed,
batch order and best-on-validation snapshot) into one XLA program that runs hundreds of
epochs per call.

Each Keras concept has one twin here, named alike:

=====================================  ===================================================
Keras side                             trainer
=====================================  ===================================================
:mod:`cmloss.layers` (and Keras')      ``networks``: the three families, batched
:mod:`cmloss.optimizers`               ``optim``: Adam, SGD and RMSprop, batched
:mod:`cmloss.callbacks`                ``epoch_rules``: Eq. 10 and best-on-validation,
                                       the same functions the callbacks call
:mod:`cmloss.losses`, metrics          ``objectives``: through the library's functions
``Model.train_step``                   ``step``: one training step
``Model.fit``                          ``engine``: the compiled loop
=====================================  ===================================================

and around them: ``spec`` (what to train: :class:`MemberSpec` and its parts), ``views``
(members' rows, scaled and stacked), ``stacking`` (members in a ``(views, slots)`` grid),
``state`` (the typed structures handed to the loop), ``shuffling`` (per-member batch
order, also for Keras), ``chunking`` (the memory budget), ``results`` and ``train``
(:func:`train_members`). Equivalence with Keras is tested in
``tests/test_trainer_equivalence.py``.

Names are imported on first use (PEP 562), so that ``import cmloss.trainer`` and its
settings need no TensorFlow until something is trained.
"""

from __future__ import annotations

from cmloss.lazy import attach

__all__ = [
    "AdaptiveSlope",
    "Architecture",
    "LossSpec",
    "MemberSpec",
    "MemberResult",
    "OptimizerSpec",
    "Selection",
    "batch_order",
    "build_keras_model",
    "initial_weights",
    "plan_stacks",
    "train_members",
]

_HOME = {
    "AdaptiveSlope": "spec",
    "Architecture": "spec",
    "LossSpec": "spec",
    "MemberSpec": "spec",
    "OptimizerSpec": "spec",
    "Selection": "spec",
    "MemberResult": "results",
    "batch_order": "shuffling",
    "build_keras_model": "networks",
    "initial_weights": "networks",
    "plan_stacks": "train",
    "train_members": "train",
}

__getattr__, __dir__ = attach(__name__, {k: f".{v}" for k, v in _HOME.items()})
