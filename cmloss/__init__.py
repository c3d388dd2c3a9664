"""cmloss: loss functions built from the confusion matrix for imbalanced binary
classification, in Keras 3.

- AnyLoss (Han, Moniz, Chawla, KDD 2024): amplify sigmoid outputs, build a soft confusion
  matrix, and turn any of its metrics into a loss (:mod:`cmloss.losses`).
- ASTra (Twomey and Gorse, ICANN 2022): an asymmetric sigmoid output with a learnable
  slope (:class:`cmloss.layers.ASTra`), the GMN loss, approximated-confusion-matrix
  metrics (:mod:`cmloss.metrics`), the adaptive slope learning rate and best-on-validation
  (:mod:`cmloss.callbacks`, :mod:`cmloss.optimizers`).

The mathematics lives in :mod:`cmloss.core` (``keras.ops`` only, every backend).
Datasets (``cmloss.data``), protocols, the fast trainer and statistics are imported on
demand and need the ``[data]``/``[experiments]`` extras.
"""

from __future__ import annotations

from cmloss import callbacks, layers, losses, metrics, optimizers
from cmloss.core.astra import (
    astra,
    astra_threshold,
    beta_from_slope,
    slope_from_beta,
    slope_from_threshold,
    wrong_ordering_band,
    z_transform,
)
from cmloss.core.cm_metrics import METRICS, get_metric
from cmloss.core.confusion import ConfusionMatrix, confusion_matrix, soft_confusion_matrix
from cmloss.core.evaluation import evaluate
from cmloss.core.soft_steps import (
    Amplify,
    CosineThreshold,
    Identity,
    SaturationWarning,
    amplification_saturation,
    max_unsaturated_L,
)
from cmloss.core.validation import check_labels

__version__ = "0.1.0"

__all__ = [
    "callbacks", "layers", "losses", "metrics", "optimizers",
    "astra", "astra_threshold", "beta_from_slope", "slope_from_beta", "slope_from_threshold",
    "wrong_ordering_band", "z_transform", "METRICS", "get_metric", "ConfusionMatrix",
    "confusion_matrix", "soft_confusion_matrix", "evaluate", "Amplify", "CosineThreshold",
    "Identity", "SaturationWarning", "amplification_saturation", "max_unsaturated_L",
    "check_labels", "__version__",
]
