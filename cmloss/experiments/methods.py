"""The method registry: each named method is one record, read by everything else.

A record holds the method's ``name`` (the registry key, the CSV ``method`` column), its
``label`` and ``colour`` in the book's tables and figures (:mod:`cmloss.stats.reports`,
:mod:`cmloss.plotting`), its ``family`` (:data:`FAMILIES`), what it trains (``settings``
or ``fit_predict``) and a one-line ``description`` (``python -m cmloss.experiments
list``). Records are plain data: the registry imports neither TensorFlow nor Keras (the
trainer's settings are built when a method runs).

Two kinds of method:

* :class:`NetworkMethod`: a small network trained by :func:`cmloss.trainer.train_members`;
  its ``settings(context)`` returns the :class:`~cmloss.trainer.MemberSpec` fields other
  than the rows and seed, so all folds and network methods of a unit train together; an
  optional ``prepare`` hook changes a fold's training set (resampling, class weights, see
  :func:`random_undersampling`, :func:`smote`, :func:`balanced_class_weight`);
* :class:`EstimatorMethod`: anything else (RUSBoost, SMOTE + a classifier, ...): a
  function from the fold's z-scored rows to test scores and a threshold, run fold by
  fold.

Register new methods with :func:`register_method`; experiments refer to them by name::

    from cmloss.experiments.methods import EstimatorMethod, Prediction, register_method

    def rusboost(fold):
        from imblearn.ensemble import RUSBoostClassifier
        model = RUSBoostClassifier(random_state=fold.seed).fit(fold.X_train, fold.y_train)
        return Prediction(scores=model.predict_proba(fold.X_test)[:, 1], threshold=0.5)

    register_method(EstimatorMethod("rusboost", rusboost, label="RUSBoost"))

A method without a ``colour`` takes that of a registered method with the same label, or a
fixed colour derived from its label (:func:`cmloss.plotting.method_color`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Context",
    "FoldData",
    "Prediction",
    "TrainingSet",
    "random_undersampling",
    "smote",
    "balanced_class_weight",
    "rusboost",
    "RESAMPLING_RATIO",
    "Method",
    "NetworkMethod",
    "EstimatorMethod",
    "FAMILIES",
    "METHODS",
    "register_method",
    "get_method",
    "methods_of",
    "ANYLOSS_LOSS_NAMES",
    "ANYLOSS_LOSSES",  # noqa: F822 (module __getattr__: built on first use)
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


@dataclass(frozen=True, eq=False)
class TrainingSet:
    """A fold's training set after a :class:`NetworkMethod`'s ``prepare`` hook.

    Attributes:
        train: rows of the dataset to train on, in order.
        extra_X: synthetic rows (the dataset's original units) trained on after ``train``.
        extra_y: their labels.
        class_weight: ``(w0, w1)`` per-class loss weights, or ``None``.
    """

    train: np.ndarray
    extra_X: np.ndarray | None = None
    extra_y: np.ndarray | None = None
    class_weight: tuple[float, float] | None = None


RESAMPLING_RATIO = 0.2
"""Minority/majority ratio after resampling (imbalanced-learn ``sampling_strategy``).
The AnyLoss paper used "0.1-0.2" without saying which where; we use 0.2 everywhere. A
training set already at or above it is left unchanged."""


def _ratio(y: np.ndarray) -> float:
    pos = int(np.sum(y == 1))
    return pos / max(int(y.size) - pos, 1)


def random_undersampling(X, y, train, seed) -> TrainingSet:
    """imbalanced-learn's ``RandomUnderSampler`` on the training rows (ratio
    :data:`RESAMPLING_RATIO`, ``random_state=seed``); the kept rows in their order."""
    from imblearn.under_sampling import RandomUnderSampler

    if _ratio(y[train]) >= RESAMPLING_RATIO:
        return TrainingSet(train)
    sampler = RandomUnderSampler(sampling_strategy=RESAMPLING_RATIO, random_state=seed)
    sampler.fit_resample(X[train], y[train])
    return TrainingSet(train[np.sort(sampler.sample_indices_)])


def smote(X, y, train, seed) -> TrainingSet:
    """imbalanced-learn's ``SMOTE`` (5 neighbours, ratio :data:`RESAMPLING_RATIO`,
    ``random_state=seed``) on the training rows z-scored with their own statistics; the
    synthetic rows are mapped back to the original units, so the trainer's z-scoring
    (fitted on the original training rows, ``scale_rows``) gives SMOTE's rows back."""
    from imblearn.over_sampling import SMOTE

    from cmloss.protocols import fit_zscore

    if _ratio(y[train]) >= RESAMPLING_RATIO:
        return TrainingSet(train)
    zscore = fit_zscore(X, train)
    k = min(5, int(np.sum(y[train] == 1)) - 1)
    if k < 1:
        raise ValueError(f"SMOTE needs at least 2 positive training rows; got {k + 1}.")
    sampler = SMOTE(sampling_strategy=RESAMPLING_RATIO, k_neighbors=k, random_state=seed)
    Z, labels = sampler.fit_resample(zscore.transform(X[train]), y[train])
    new = Z[train.size :]
    return TrainingSet(train, new * zscore.scale + zscore.mean, labels[train.size :])


def balanced_class_weight(X, y, train, seed) -> TrainingSet:
    """Keras/scikit-learn ``"balanced"`` class weights ``n / (2 n_c)`` of the training rows."""
    n = train.size
    pos = int(np.sum(y[train] == 1))
    if pos == 0 or pos == n:
        return TrainingSet(train)
    return TrainingSet(train, class_weight=(n / (2.0 * (n - pos)), n / (2.0 * pos)))


FAMILIES = ("astra-paper", "anyloss-paper", "extension", "baseline", "custom")
"""Where a method comes from: the ASTra paper's four methods, the AnyLoss paper's losses
and baselines (SLP and MLP), this project's extensions of them (AnyLoss's G-mean under
the ASTra protocol), other baselines (RUSBoost), and methods defined elsewhere (grid
files, user code)."""

_HEX = re.compile(r"#[0-9a-f]{6}")


@dataclass(frozen=True)
class Method:
    """What every method record holds besides its name and what it trains (keyword-only
    fields of :class:`NetworkMethod` and :class:`EstimatorMethod`).

    Attributes:
        label: the name in the book's tables and figures (default: ``name``).
        colour: its colour, ``"#rrggbb"`` (default: see the module docstring).
        family: where the method comes from, one of ``FAMILIES`` (default ``"custom"``).
    """

    label: str = field(default="", kw_only=True)
    colour: str = field(default="", kw_only=True)
    family: str = field(default="custom", kw_only=True)

    def __post_init__(self):
        if not self.label:
            object.__setattr__(self, "label", self.name)
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}; got family={self.family!r}.")
        if self.colour and not _HEX.fullmatch(self.colour):
            raise ValueError(
                f"colour must be a lower-case hex code '#rrggbb'; got colour={self.colour!r}."
            )


@dataclass(frozen=True)
class NetworkMethod(Method):
    """A network method (and the fields of :class:`Method`).

    Attributes:
        name: registry name.
        settings: ``context -> dict`` of :class:`~cmloss.trainer.MemberSpec` fields
            (``architecture``, ``loss``, ``output``, ``optimizer``, ``epochs``,
            ``batch_fraction``, ``selection``, ...).
        description: one line for ``list``.
        prepare: optional ``(X, y, train_rows, seed) -> TrainingSet`` run per fold
            (features in original units; scaling stays fitted on the fold's training rows).
        tune_threshold: threshold moving: a registered metric name (e.g. ``"g_mean"``);
            the decision threshold applied to the test fold is then the one that maximises
            this metric on the validation fold's scores (:func:`cmloss.thresholds.tune`)
            instead of the output's own (0.5). ``None`` (default): no tuning. Needs a
            validation fold apart from the test fold (not the AnyLoss protocol). A unit
            trains a network once for all its methods that ask for the same one (e.g.
            ``bce`` and ``bce-tuned``).
    """

    name: str
    settings: Callable[[Context], dict]
    description: str = ""
    prepare: Callable[..., TrainingSet] | None = None
    tune_threshold: str | None = None
    kind: str = field(default="network", init=False)


@dataclass(frozen=True)
class EstimatorMethod(Method):
    """A non-network method: ``fit_predict(FoldData) -> Prediction`` (and the fields of
    :class:`Method`)."""

    name: str
    fit_predict: Callable[[FoldData], Prediction]
    description: str = ""
    kind: str = field(default="estimator", init=False)


METHODS: dict[str, NetworkMethod | EstimatorMethod] = {}
"""Registered methods by name."""


def register_method(method: NetworkMethod | EstimatorMethod, *, replace: bool = False):
    """Add a method to ``METHODS`` (``replace=True`` to overwrite a name); return the
    stored record.

    A label has one colour: a method without a colour takes that of a registered method
    with the same label, and a colour that differs from it is refused.
    """
    if method.name in METHODS and not replace:
        raise ValueError(f"method {method.name!r} is already registered; pass replace=True.")
    same_label = [m for m in METHODS.values() if m.label == method.label and m.name != method.name]
    if same_label:
        colour = same_label[0].colour
        if not method.colour:
            method = dataclasses.replace(method, colour=colour)
        elif method.colour != colour:
            raise ValueError(
                f"label {method.label!r} already has colour {colour} (method "
                f"{same_label[0].name!r}); got colour={method.colour!r} for {method.name!r}."
            )
    if not method.colour:
        from cmloss.plotting import fallback_color

        method = dataclasses.replace(method, colour=fallback_color(method.label))
    METHODS[method.name] = method
    return method


def get_method(name: str) -> NetworkMethod | EstimatorMethod:
    """A registered method; ``ValueError`` lists the names."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; registered: {sorted(METHODS)}.")
    return METHODS[name]


def methods_of(family: str) -> tuple[str, ...]:
    """Names of the registered methods of a family (:data:`FAMILIES`), in registration
    order."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}; got family={family!r}.")
    return tuple(name for name, m in METHODS.items() if m.family == family)


def _trainer():
    """The trainer's settings classes (imported when a method's settings are built)."""
    from cmloss.trainer import spec

    return spec


# ----------------------------------------------------------------------- ASTra paper
def _astra(loss: Callable, output: str) -> Callable[[Context], dict]:
    def settings(ctx: Context) -> dict:
        t = _trainer()
        return {
            "architecture": t.Architecture.astra_paper(ctx.n_features),
            "loss": loss(t.LossSpec),
            "output": output,
            "tau_init": 0.25,
            "optimizer": t.OptimizerSpec("adam", 0.001, adaptive_slope=t.AdaptiveSlope()),
            "epochs": ctx.epochs or 10_000,
            "batch_fraction": None,
            "selection": t.Selection("fnr", "min"),
        }

    return settings


_ASTRA_PROTOCOL = (
    # name, label, colour, family, loss (label in the description), output
    ("bce", "BCE", "#0173b2", "astra-paper", (lambda L: L.bce(), "bce"), "sigmoid"),
    ("gmn", "GMN", "#d55e00", "astra-paper", (lambda L: L.gmn(), "gmn"), "sigmoid"),
    ("bce-astra", "BCE-ASTra", "#00bbbb", "astra-paper", (lambda L: L.bce(), "bce"), "astra"),
    ("gmn-astra", "GMN-ASTra", "#ffc000", "astra-paper", (lambda L: L.gmn(), "gmn"), "astra"),
    ("anyloss-gmean", "AnyLoss-GMean", "#116600", "extension",
     (lambda L: L.anyloss("g_mean"), "g_mean[Amplify(L=73.0)]"), "sigmoid"),
    ("anyloss-gmean-astra", "AnyLoss-GMean-ASTra", "#22cc00", "extension",
     (lambda L: L.anyloss("g_mean"), "g_mean[Amplify(L=73.0)]"), "astra"),
)  # fmt: skip

for _name, _label, _colour, _family, (_loss, _loss_label), _out in _ASTRA_PROTOCOL:
    _extra = "adaptive slope rate, " if _out == "astra" else ""
    register_method(
        NetworkMethod(
            _name,
            _astra(_loss, _out),
            f"ASTra protocol: {_loss_label} loss, {_out} output, Adam 0.001, {_extra}"
            "best-on-validation FNR_apx, 10,000 full-batch epochs",
            label=_label,
            colour=_colour,
            family=_family,
        )
    )


# ------------------------------------------------------- baselines (threshold moving, ...)
def logistic_regression_tuned(fold: FoldData) -> Prediction:
    """scikit-learn's ``LogisticRegression`` (defaults: L2, C = 1, lbfgs, up to 1,000
    iterations) on the fold's z-scored training rows, with the decision threshold that
    maximises G-mean on the validation rows' scores: the no-network floor."""
    from sklearn.linear_model import LogisticRegression

    from cmloss.thresholds import tune

    model = LogisticRegression(max_iter=1000).fit(fold.X_train, fold.y_train)
    val = model.predict_proba(fold.X_validation)[:, 1]
    threshold = tune(fold.y_validation, val, "g_mean").threshold
    return Prediction(model.predict_proba(fold.X_test)[:, 1], threshold)


_BASELINES = (
    # name, label, colour, loss, tune_threshold, prepare, what
    ("bce-tuned", "BCE-tuned", "#000080", lambda L: L.bce(), "g_mean", None,
     "BCE, threshold tuned for G-mean on the validation fold"),
    ("bce-tuned-mcc", "BCE-tuned-MCC", "#cab2d6", lambda L: L.bce(), "mcc", None,
     "BCE, threshold tuned for MCC on the validation fold"),
    ("gmn-tuned", "GMN-tuned", "#ff00ff", lambda L: L.gmn(), "g_mean", None,
     "GMN, threshold tuned for G-mean on the validation fold"),
    ("focal", "Focal", "#222222", lambda L: L.focal(), None, None,
     "Keras' binary focal cross-entropy, class balancing on (gamma 2, alpha 0.25)"),
    ("bce-weighted", "BCE-weighted", "#ff9988", lambda L: L.bce(), None, "bce-weighted",
     "BCE with scikit-learn's balanced class weights"),
)  # fmt: skip
"""Baselines on the ASTra protocol's network and training (sigmoid output, Adam 0.001,
10,000 full-batch epochs, best-on-validation FNR_apx)."""

RUSBOOST_TRIES = 10
"""Seeds :func:`rusboost` tries before giving up."""


def rusboost(fold: FoldData) -> Prediction:
    """imbalanced-learn's ``RUSBoostClassifier`` with its defaults (50 depth-1 trees,
    learning rate 1, balanced undersampling per round), ``random_state`` = the fold seed;
    scores are ``predict_proba`` (labels = ``predict`` = score > 0.5).

    With very few positives, the first stump fitted on a random undersample can be worse
    than chance on the uniformly weighted training set, and scikit-learn's AdaBoost then
    refuses to fit ("worse than random"). We then draw the next undersample:
    ``random_state`` = seed + 1, + 2, ... (at most :data:`RUSBOOST_TRIES` seeds). If every
    seed is refused (on abalone19 some folds are refused by 80% of seeds), the first seed
    is fitted with class-balanced initial sample weights (each class weighs one half), on
    which a stump from a balanced undersample is better than chance. Both are documented
    deviations from the defaults that affect only such folds.
    """
    from imblearn.ensemble import RUSBoostClassifier

    def fit(seed, sample_weight=None):
        model = RUSBoostClassifier(random_state=seed % 2**32)
        model.fit(fold.X_train, fold.y_train, sample_weight=sample_weight)
        return Prediction(model.predict_proba(fold.X_test)[:, 1], 0.5)

    for attempt in range(RUSBOOST_TRIES):
        try:
            return fit(fold.seed + attempt)
        except ValueError as err:
            if "worse than random" not in str(err):
                raise
    y = np.asarray(fold.y_train)
    n_pos = int(y.sum())
    balanced = np.where(y == 1, 0.5 / max(n_pos, 1), 0.5 / max(y.size - n_pos, 1))
    return fit(fold.seed, sample_weight=balanced)


register_method(
    EstimatorMethod(
        "logreg-tuned",
        logistic_regression_tuned,
        "logistic regression (scikit-learn defaults), threshold tuned for G-mean on the "
        "validation fold",
        label="LogReg-tuned",
        colour="#005f5f",
        family="baseline",
    )
)

register_method(
    EstimatorMethod(
        "rusboost",
        rusboost,
        "RUSBoost (imbalanced-learn defaults), fitted on the training folds",
        label="RUSBoost",
        colour="#aa2244",
        family="baseline",
    )
)


# ----------------------------------------------------------------------- AnyLoss paper
_ANYLOSS_PAPER = (
    # loss name, label, colour, loss (Section 4.2: L = 73; SOL: cosine, mu 0.5, delta 0.1)
    ("mse", "MSE", "#ee9911", lambda L: L.mse()),
    ("bce", "BCE", "", lambda L: L.bce()),
    ("anyloss-accuracy", "AnyLoss-Acc", "#4400ee", lambda L: L.anyloss("accuracy")),
    ("anyloss-f1", "AnyLoss-F1", "#227777", lambda L: L.anyloss("f1")),
    ("anyloss-f0.5", "AnyLoss-F0.5", "#7766aa", lambda L: L.anyloss("f_beta", beta=0.5)),
    ("anyloss-f2", "AnyLoss-F2", "#665522", lambda L: L.anyloss("f_beta", beta=2.0)),
    ("anyloss-g_mean", "AnyLoss-GMean", "", lambda L: L.anyloss("g_mean")),
    ("anyloss-balanced_accuracy", "AnyLoss-BAcc", "#997777",
     lambda L: L.anyloss("balanced_accuracy")),
    ("sol-accuracy", "SOL-Acc", "#dd33bb", lambda L: L.sol("accuracy")),
    ("sol-f1", "SOL-F1", "#998811", lambda L: L.sol("f1")),
    ("sol-balanced_accuracy", "SOL-BAcc", "#44aa77", lambda L: L.sol("balanced_accuracy")),
    ("dice", "Dice", "#00bbff", lambda L: L.dice()),
    ("bce-weighted", "BCE-weighted", "#ff9988", lambda L: L.bce()),
    ("bce-smote", "BCE+SMOTE", "#aaaacc", lambda L: L.bce()),
    ("bce-undersampling", "BCE+RUS", "#882200", lambda L: L.bce()),
)  # fmt: skip
"""The losses of the AnyLoss paper's Section 4.2 and its baselines (Keras' Dice,
class-weighted BCE, BCE after SMOTE and after random undersampling); an empty colour is
that of the ASTra-protocol method with the same label."""

ANYLOSS_LOSS_NAMES: tuple[str, ...] = tuple(row[0] for row in _ANYLOSS_PAPER)
"""Loss names of the AnyLoss protocol; its methods are ``slp-<loss>`` and ``mlp-<loss>``."""

_ANYLOSS_LOSS = {row[0]: row[3] for row in _ANYLOSS_PAPER}


def _anyloss_losses() -> dict:
    L = _trainer().LossSpec
    return {name: make(L) for name, make in _ANYLOSS_LOSS.items()}


def __getattr__(name: str):
    if name == "ANYLOSS_LOSSES":  # built on first use: LossSpec needs Keras
        return _anyloss_losses()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_PREPARE = {
    "bce-weighted": balanced_class_weight,
    "bce-smote": smote,
    "bce-undersampling": random_undersampling,
}

for _name, _label, _colour, _loss, _tune, _prepare, _what in _BASELINES:
    register_method(
        NetworkMethod(
            _name,
            _astra(_loss, "sigmoid"),
            f"ASTra protocol baseline: {_what}",
            prepare=_PREPARE[_prepare] if _prepare else None,
            label=_label,
            colour=_colour,
            family="baseline",
            tune_threshold=_tune,
        )
    )
_BCE_LIKE = ("bce", "mse", *_PREPARE)
_SLP_BCE_RATE = {"random": 0.2, "credit_card": 0.05, "breast_cancer": 0.05, "diabetes": 0.5}


def _slp_rate(loss_name: str, dataset: str) -> float:
    """The AnyLoss paper: BCE per dataset; AnyLoss 0.005 (F1: 0.01). Not stated by the
    paper, our choice: MSE and the BCE baselines take the BCE rate; F1-type losses (SOL-F1,
    Dice) the AnyLoss F1 rate; the other SOL losses the AnyLoss rate."""
    if loss_name in _BCE_LIKE:
        return _SLP_BCE_RATE.get(dataset, 0.2)
    return 0.01 if loss_name in ("anyloss-f1", "sol-f1", "dice") else 0.005


def _anyloss_slp(loss_name: str) -> Callable[[Context], dict]:
    def settings(ctx: Context) -> dict:
        t = _trainer()
        return {
            "architecture": t.Architecture.slp("zeros"),
            "loss": _ANYLOSS_LOSS[loss_name](t.LossSpec),
            "output": "sigmoid",
            "optimizer": t.OptimizerSpec("sgd", _slp_rate(loss_name, ctx.dataset)),
            "epochs": ctx.epochs or 1000,
            "batch_fraction": None,
            "selection": None,
        }

    return settings


def _mlp_batch(loss_name: str) -> float | None:
    """The AnyLoss paper: 5% (G-mean 50%, balanced accuracy full batch); SOL follows its
    metric."""
    if loss_name.endswith("balanced_accuracy"):
        return None
    return 0.5 if loss_name.endswith("g_mean") else 0.05


def _anyloss_mlp(loss_name: str) -> Callable[[Context], dict]:
    def settings(ctx: Context) -> dict:
        t = _trainer()
        return {
            "architecture": t.Architecture.anyloss_mlp(),
            "loss": _ANYLOSS_LOSS[loss_name](t.LossSpec),
            "output": "linear" if loss_name == "mse" else "sigmoid",
            "optimizer": t.OptimizerSpec("adam", 0.005 if loss_name in _BCE_LIKE else 0.001),
            "epochs": ctx.epochs or 100,
            "batch_fraction": _mlp_batch(loss_name),
            "selection": None,
        }

    return settings


for _loss_name, _label, _colour, _ in _ANYLOSS_PAPER:
    _look = {"label": _label, "colour": _colour, "family": "anyloss-paper"}
    _prepare = _PREPARE.get(_loss_name)
    register_method(
        NetworkMethod(
            f"slp-{_loss_name}",
            _anyloss_slp(_loss_name),
            f"AnyLoss paper SLP: {_loss_name}, zero init, full-batch gradient descent, 1000 steps",
            prepare=_prepare,
            **_look,
        )
    )
    register_method(
        NetworkMethod(
            f"mlp-{_loss_name}",
            _anyloss_mlp(_loss_name),
            f"AnyLoss paper MLP: {_loss_name}, Dense(2)-BN-sigmoid-Dense(1), Adam, 100 epochs",
            prepare=_prepare,
            **_look,
        )
    )
