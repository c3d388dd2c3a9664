"""Experiments of the two papers with the fast trainer, resumable, from the command line.

- :mod:`~cmloss.experiments.methods`: the method registry (network methods for the
  trainer, and estimator methods for non-network baselines);
- :mod:`~cmloss.experiments.definitions`: the named experiments (``astra``, ``anyloss``)
  and custom grids from JSON/TOML files;
- :mod:`~cmloss.experiments.runner`: :func:`run_experiment` (units, chunks, progress);
- :mod:`~cmloss.experiments.storage`: atomic result files and the CSV schema;
- :mod:`~cmloss.experiments.provenance`: how a result was produced;
- :mod:`~cmloss.experiments.cli`: ``python -m cmloss.experiments run NAME [--quick]``.

Names are imported on first use (PEP 562): the registry and the experiments'
definitions need no TensorFlow (``python -m cmloss.experiments list`` does not load it).
"""

from __future__ import annotations

from cmloss.lazy import attach

_HOME = {
    "COLUMNS": "storage",
    "EXPERIMENTS": "definitions",
    "METHODS": "methods",
    "Context": "methods",
    "EstimatorMethod": "methods",
    "Experiment": "definitions",
    "FoldData": "methods",
    "Method": "methods",
    "NetworkMethod": "methods",
    "Prediction": "methods",
    "TrainingSet": "methods",
    "Unit": "runner",
    "get_experiment": "definitions",
    "get_method": "methods",
    "load_config": "definitions",
    "register_method": "methods",
    "run_experiment": "runner",
}

__all__ = sorted(_HOME)

__getattr__, __dir__ = attach(__name__, {k: f".{v}" for k, v in _HOME.items()})
