"""The method registry: what a named method trains on one fold.

Two kinds of method:

* :class:`NetworkMethod`: a small network trained by :func:`cmloss.trainer.train_members`;
  its ``settings(context)`` returns the :class:`~cmloss.trainer.MemberSpec` fields other
  than the rows and seed, so all folds and network methods of a unit train together;
* :class:`EstimatorMethod`: anything else (RUSBoost, SMOTE + a classifier, ...): a
  function from the fold's z-scored rows to test scores and a threshold, run fold by
  fold.

Register new methods with :func:`register_method`; experiments refer to them by name::

    from cmloss.experiments.methods import EstimatorMethod, Prediction, register_method

    def rusboost(fold):
        from imblearn.ensemble import RUSBoostClassifier
        model = RUSBoostClassifier(random_state=fold.seed).fit(fold.X_train, fold.y_train)
        return Prediction(scores=model.predict_proba(fold.X_test)[:, 1], threshold=0.5)

    register_method(EstimatorMethod("rusboost", rusboost))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from cmloss.trainer import AdaptiveSlope, Architecture, LossSpec, OptimizerSpec, Selection

__all__ = [
    "Context",
    "FoldData",
    "Prediction",
    "NetworkMethod",
    "EstimatorMethod",
    "METHODS",
    "register_method",
    "get_method",
    "ANYLOSS_LOSSES",
]


@dataclass(frozen=True)
class Context:
    """What a method may depend on.

    Attributes:
        dataset: dataset name.
        n_features: input width.
        epochs: epoch override (``None``: the method's own).
    """

    dataset: str
    n_features: int
    epochs: int | None = None


@dataclass(frozen=True, eq=False)
class FoldData:
    """One fold for an :class:`EstimatorMethod` (features z-scored on training rows)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_validation: np.ndarray
    y_validation: np.ndarray
    X_test: np.ndarray
    seed: int


@dataclass(frozen=True, eq=False)
class Prediction:
    """Test scores and the threshold to apply (``score > threshold`` is positive)."""

    scores: np.ndarray
    threshold: float = 0.5


@dataclass(frozen=True)
class NetworkMethod:
    """A network method.

    Attributes:
        name: registry name.
        settings: ``context -> dict`` of :class:`~cmloss.trainer.MemberSpec` fields
            (``architecture``, ``loss``, ``output``, ``optimizer``, ``epochs``,
            ``batch_fraction``, ``selection``, ...).
        description: one line for ``list``.
    """

    name: str
    settings: Callable[[Context], dict]
    description: str = ""
    kind: str = field(default="network", init=False)


@dataclass(frozen=True)
class EstimatorMethod:
    """A non-network method: ``fit_predict(FoldData) -> Prediction``."""

    name: str
    fit_predict: Callable[[FoldData], Prediction]
    description: str = ""
    kind: str = field(default="estimator", init=False)


METHODS: dict[str, NetworkMethod | EstimatorMethod] = {}
"""Registered methods by name."""


def register_method(method: NetworkMethod | EstimatorMethod, *, replace: bool = False):
    """Add a method to :data:`METHODS` (``replace=True`` to overwrite a name)."""
    if method.name in METHODS and not replace:
        raise ValueError(f"method {method.name!r} is already registered; pass replace=True.")
    METHODS[method.name] = method
    return method


def get_method(name: str) -> NetworkMethod | EstimatorMethod:
    """A registered method; ``ValueError`` lists the names."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; registered: {sorted(METHODS)}.")
    return METHODS[name]


# ----------------------------------------------------------------------- ASTra paper
def _astra(loss: LossSpec, output: str) -> Callable[[Context], dict]:
    def settings(ctx: Context) -> dict:
        return {
            "architecture": Architecture.astra_paper(ctx.n_features),
            "loss": loss,
            "output": output,
            "tau_init": 0.25,
            "optimizer": OptimizerSpec("adam", 0.001, adaptive_slope=AdaptiveSlope()),
            "epochs": ctx.epochs or 10_000,
            "batch_fraction": None,
            "selection": Selection("fnr", "min"),
        }

    return settings


for _name, _loss, _out in (
    ("bce", LossSpec.bce(), "sigmoid"),
    ("gmn", LossSpec.gmn(), "sigmoid"),
    ("bce-astra", LossSpec.bce(), "astra"),
    ("gmn-astra", LossSpec.gmn(), "astra"),
):
    register_method(
        NetworkMethod(
            _name,
            _astra(_loss, _out),
            f"ASTra paper: {_loss.label.upper()} loss, {_out} output, Adam 0.001, adaptive slope "
            "rate, best-on-validation FNR_apx",
        )
    )


# ----------------------------------------------------------------------- AnyLoss paper
ANYLOSS_LOSSES: dict[str, LossSpec] = {
    "mse": LossSpec.mse(),
    "bce": LossSpec.bce(),
    "anyloss-accuracy": LossSpec.anyloss("accuracy"),
    "anyloss-f1": LossSpec.anyloss("f1"),
    "anyloss-f0.5": LossSpec.anyloss("f_beta", beta=0.5),
    "anyloss-f2": LossSpec.anyloss("f_beta", beta=2.0),
    "anyloss-g_mean": LossSpec.anyloss("g_mean"),
    "anyloss-balanced_accuracy": LossSpec.anyloss("balanced_accuracy"),
    "sol": LossSpec.sol("f1"),
}
"""The losses of the AnyLoss paper's Section 4.2 (L = 73; SOL: F1, mu 0.5, delta 0.1)."""

_SLP_BCE_RATE = {"random": 0.2, "credit_card": 0.05, "breast_cancer": 0.05, "diabetes": 0.5}


def _slp_rate(loss_name: str, dataset: str) -> float:
    """PAPERS.md: BCE per dataset; AnyLoss 0.005 (F1: 0.01). MSE takes the BCE rate and
    SOL (an F1 loss) the AnyLoss F1 rate: the paper does not state them."""
    if loss_name in ("bce", "mse"):
        return _SLP_BCE_RATE.get(dataset, 0.2)
    return 0.01 if loss_name in ("anyloss-f1", "sol") else 0.005


def _anyloss_slp(loss_name: str) -> Callable[[Context], dict]:
    def settings(ctx: Context) -> dict:
        return {
            "architecture": Architecture.slp("zeros"),
            "loss": ANYLOSS_LOSSES[loss_name],
            "output": "sigmoid",
            "optimizer": OptimizerSpec("sgd", _slp_rate(loss_name, ctx.dataset)),
            "epochs": ctx.epochs or 1000,
            "batch_fraction": None,
            "selection": None,
        }

    return settings


def _mlp_batch(loss_name: str) -> float | None:
    if loss_name == "anyloss-balanced_accuracy":
        return None
    return 0.5 if loss_name == "anyloss-g_mean" else 0.05


def _anyloss_mlp(loss_name: str) -> Callable[[Context], dict]:
    def settings(ctx: Context) -> dict:
        return {
            "architecture": Architecture.anyloss_mlp(),
            "loss": ANYLOSS_LOSSES[loss_name],
            "output": "linear" if loss_name == "mse" else "sigmoid",
            "optimizer": OptimizerSpec("adam", 0.005 if loss_name in ("bce", "mse") else 0.001),
            "epochs": ctx.epochs or 100,
            "batch_fraction": _mlp_batch(loss_name),
            "selection": None,
        }

    return settings


for _loss_name in ANYLOSS_LOSSES:
    register_method(
        NetworkMethod(
            f"slp-{_loss_name}",
            _anyloss_slp(_loss_name),
            f"AnyLoss paper SLP: {_loss_name}, zero init, full-batch gradient descent, 1000 steps",
        )
    )
    register_method(
        NetworkMethod(
            f"mlp-{_loss_name}",
            _anyloss_mlp(_loss_name),
            f"AnyLoss paper MLP: {_loss_name}, Dense(2)-BN-sigmoid-Dense(1), Adam, 100 epochs",
        )
    )
