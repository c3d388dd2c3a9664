"""Experiments of the two papers with the fast trainer, resumable, from the command line.

- :mod:`~cmloss.experiments.methods`: the method registry (network methods for the
  trainer, and estimator methods for non-network baselines);
- :mod:`~cmloss.experiments.definitions`: the named experiments (``astra``, ``anyloss``)
  and custom grids from JSON/TOML files;
- :mod:`~cmloss.experiments.runner`: :func:`run_experiment` (units, chunks, progress);
- :mod:`~cmloss.experiments.storage`: atomic result files and the CSV schema;
- :mod:`~cmloss.experiments.provenance`: how a result was produced;
- :mod:`~cmloss.experiments.cli`: ``python -m cmloss.experiments run NAME [--quick]``.
"""

from __future__ import annotations

from cmloss.experiments.definitions import EXPERIMENTS, Experiment, get_experiment, load_config
from cmloss.experiments.methods import (
    METHODS,
    Context,
    EstimatorMethod,
    FoldData,
    NetworkMethod,
    Prediction,
    TrainingSet,
    get_method,
    register_method,
)
from cmloss.experiments.runner import Unit, run_experiment
from cmloss.experiments.storage import COLUMNS

__all__ = [
    "COLUMNS",
    "EXPERIMENTS",
    "METHODS",
    "Context",
    "EstimatorMethod",
    "Experiment",
    "FoldData",
    "NetworkMethod",
    "Prediction",
    "TrainingSet",
    "Unit",
    "get_experiment",
    "get_method",
    "load_config",
    "register_method",
    "run_experiment",
]
