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

``import cmloss`` itself imports neither Keras nor TensorFlow: the names below are loaded
on first use (PEP 562), and the first use of any of them loads all of cmloss's Keras
objects (:mod:`cmloss.losses`, :mod:`cmloss.metrics`, :mod:`cmloss.layers`,
:mod:`cmloss.optimizers`, :mod:`cmloss.callbacks`), which registers them with Keras'
serialization. To load a saved model in a fresh process without having used cmloss yet,
import one of them first (``import cmloss.losses``) so ``keras.saving.load_model`` finds
the classes.
"""

from __future__ import annotations

from cmloss.lazy import attach

__version__ = "0.1.0"

_KERAS_MODULES = ("callbacks", "layers", "losses", "metrics", "optimizers", "thresholds")
"""cmloss's Keras objects: importing these registers them with Keras' serialization."""

_HOME = {
    "astra": "cmloss.core.astra",
    "astra_threshold": "cmloss.core.astra",
    "beta_from_slope": "cmloss.core.astra",
    "slope_from_beta": "cmloss.core.astra",
    "slope_from_threshold": "cmloss.core.astra",
    "wrong_ordering_band": "cmloss.core.astra",
    "z_transform": "cmloss.core.astra",
    "METRICS": "cmloss.core.cm_metrics",
    "get_metric": "cmloss.core.cm_metrics",
    "average_over_labels": "cmloss.core.cm_metrics",
    "ConfusionMatrix": "cmloss.core.confusion",
    "confusion_matrix": "cmloss.core.confusion",
    "soft_confusion_matrix": "cmloss.core.confusion",
    "label_confusion_matrices": "cmloss.core.confusion",
    "one_hot_labels": "cmloss.core.confusion",
    "evaluate": "cmloss.core.evaluation",
    "Amplify": "cmloss.core.soft_steps",
    "CosineThreshold": "cmloss.core.soft_steps",
    "Identity": "cmloss.core.soft_steps",
    "amplification_saturation": "cmloss.core.soft_steps",
    "max_unsaturated_L": "cmloss.core.soft_steps",
    "SaturationWarning": "cmloss.core.soft_steps",
    "check_labels": "cmloss.core.validation",
}
"""Where each public name of the package is defined."""

__all__ = [*_KERAS_MODULES, *_HOME, "__version__"]

__getattr__, __dir__ = attach(
    __name__, _HOME, submodules=_KERAS_MODULES, load_first=[f".{m}" for m in _KERAS_MODULES]
)
