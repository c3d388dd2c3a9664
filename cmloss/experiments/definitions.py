"""Named experiments (``astra``, ``anyloss``, ``hd40``) and custom grids from JSON/TOML files.

An :class:`Experiment` is a grid: datasets x methods x repeats x folds under one
protocol (:mod:`cmloss.protocols`):

* ``"astra"``: 10 x stratified 5-fold, rotating train (3 folds) / validation / test, data
  redrawn per repeat for skin-4000 and cod-3500 (:func:`cmloss.protocols.astra_repeats`);
* ``"anyloss"``: one ``StratifiedKFold(10, shuffle=True, random_state=2)``, the test fold
  also used as validation data (:func:`cmloss.protocols.anyloss_splits`).

Features are z-scored with statistics of each split's training rows.

A custom grid file (``.json`` or ``.toml``) holds the :class:`Experiment` fields and may
define network methods inline::

    name = "gmn-width"
    protocol = "astra"
    datasets = ["skin-588"]
    methods = ["gmn", "gmn-h8"]
    repeats = 2
    [[define]]
    name = "gmn-h8"
    architecture = {kind = "mlp", hidden = 8}
    loss = {kind = "confusion_matrix", metric = "g_mean", soft_step = "identity"}
    # soft_step may also be a table: {name = "amplify", L = 50}
    output = "sigmoid"
    optimizer = {name = "adam", learning_rate = 0.001}
    epochs = 2000
    selection = {monitor = "fnr", mode = "min"}
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from cmloss.experiments.methods import (
    ANYLOSS_LOSS_NAMES,
    NetworkMethod,
    get_method,
    methods_of,
    register_method,
)

__all__ = [
    "Experiment",
    "EXPERIMENTS",
    "HD40_METHODS",
    "HD40_DATASETS",
    "get_experiment",
    "load_config",
    "PROTOCOLS",
    "ASTRA_PROBLEMS",
    "BASELINE_METHODS",
    "ZSCORE_ROWS",
]

PROTOCOLS = ("astra", "anyloss")
#: What :attr:`Experiment.zscore_rows` may be.
ZSCORE_ROWS = ("train", "whole_file")


@dataclass(frozen=True)
class Experiment:
    """A grid of datasets x methods x repeats x folds.

    Attributes:
        name: experiment name (also the default output folder name).
        protocol: ``"astra"`` or ``"anyloss"``.
        datasets: dataset names for :func:`cmloss.data.load_dataset`.
        methods: registered method names.
        repeats: repeats (``"astra"``; ``"anyloss"`` has one).
        folds: folds per repeat (5 for ``"astra"``, 10 for ``"anyloss"``).
        max_folds: run only the first folds of each repeat (``None``: all).
        epochs: override every method's epochs (``None``: the methods' own).
        random_state: root seed of the splits and of the networks' initial weights.
        curve_stride: learning-curve points every this many epochs.
        full_loss_curve: also store every epoch's training loss (``train_loss_full``; the
            AnyLoss convergence measure needs it; off for large grids, whose files would
            otherwise not be small enough to commit).
        optional_datasets: datasets used only when their file exists (credit_card).
        selection_start: override the ``start_from_epoch`` of every network method's
            best-on-validation rule (:class:`cmloss.trainer.Selection`; ``None``: the
            methods' own, 0). Methods without selection are unaffected.
        carry_over: train each network method's folds one after the other, each fold
            starting from the weights (batch-normalisation statistics included) the
            previous fold ended with, instead of from fresh initial weights: how the
            AnyLoss authors' code ran, which built its MLP once and never re-initialised
            it. Off by default and never our reading: a later fold then starts from a
            network trained on its own test rows. Each method keeps its own chain (the
            authors also carried weights from one loss to the next, in an order their
            code does not fix), and the optimizer state starts afresh on every fold.
        zscore_rows: the rows whose mean and standard deviation z-score the features:
            ``"train"`` (default, our reading: the training rows of each fold, so no
            statistic of a test fold reaches training) or ``"whole_file"`` (every row of
            the dataset before it is split, as the AnyLoss authors' data recipes did).
    """

    name: str
    protocol: str
    datasets: tuple[str, ...]
    methods: tuple[str, ...]
    repeats: int = 1
    folds: int = 5
    max_folds: int | None = None
    epochs: int | None = None
    random_state: int = 0
    curve_stride: int = 10
    full_loss_curve: bool = True
    optional_datasets: tuple[str, ...] = ()
    selection_start: int | None = None
    carry_over: bool = False
    zscore_rows: str = "train"

    def __post_init__(self):
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}; got {self.protocol!r}.")
        if self.selection_start is not None:
            from cmloss.core.validation import check_int

            check_int(self.selection_start, "selection_start")
        if self.zscore_rows not in ZSCORE_ROWS:
            raise ValueError(
                f"zscore_rows must be one of {ZSCORE_ROWS}; got zscore_rows={self.zscore_rows!r}."
            )
        if not isinstance(self.carry_over, bool):
            raise ValueError(f"carry_over must be true or false; got {self.carry_over!r}.")
        for name in self.methods:
            get_method(name)
        object.__setattr__(self, "datasets", tuple(self.datasets))
        object.__setattr__(self, "methods", tuple(self.methods))

    def with_options(self, **changes) -> Experiment:
        """A copy with fields changed (``None`` values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict:
        """JSON-ready description (for provenance)."""
        return dataclasses.asdict(self)


_ASTRA_METHODS = (*methods_of("astra-paper"), *methods_of("extension"), "rusboost")
HD40_METHODS = ("bce", "gmn", "gmn-astra", "anyloss-gmean", "rusboost")
"""Experiment C: the paper's baseline and GMN methods, the AnyLoss G-mean variant that did
better in experiment A (chapter 6), and RUSBoost."""

HD40_DATASETS = (
    "a1a", "abalone-17_vs_7-8-9-10", "abalone19", "abalone9-18", "australian_scale",
    "breast-cancer_scale", "cod-rna", "diabetes_scale", "ecoli-0-1-3-7_vs_2-6", "ecoli4",
    "german", "glass-0-1-6_vs_2", "glass-0-1-6_vs_5", "glass2", "glass5", "ijcnn1",
    "kddcup-buffer_overflow_vs_back", "kddcup-land_vs_satan", "kddcup-rootkit-imap_vs_back",
    "kr-vs-k-three_vs_eleven", "kr-vs-k-zero_vs_eight", "kr-vs-k-zero_vs_fifteen",
    "mushrooms", "phishing", "poker-8-9_vs_5", "poker-8_vs_6", "shuttle-2_vs_5",
    "shuttle-c0-vs-c4", "shuttle-c2-vs-c4", "skin_nonskin", "svmguide1", "svmguide3",
    "vowel0", "yeast-0-5-6-7-9_vs_4", "yeast-1-2-8-9_vs_7", "yeast-1-4-5-8_vs_7",
    "yeast-1_vs_7", "yeast-2_vs_4", "yeast5", "yeast6",
)  # fmt: skip
"""The 40 HD-Ensemble files (``cmloss.data.list_datasets("hd-ensemble")``)."""

ASTRA_PROBLEMS = ("skin-588", "skin-4000", "cod-763", "cod-3500", "ijcnn-971")
"""The ASTra paper's five problems (experiment B)."""

BASELINE_METHODS = methods_of("baseline")
"""Chapter 7's baselines: threshold moving (BCE for G-mean and for MCC, GMN for G-mean),
focal loss, class-weighted BCE, logistic regression with a tuned threshold, RUSBoost."""

_BASELINE_RUNS = tuple(m for m in BASELINE_METHODS if m != "rusboost")  # astra, hd40 have it

_ANYLOSS_METHODS = tuple(
    f"{arch}-{loss}" for arch in ("slp", "mlp") for loss in ANYLOSS_LOSS_NAMES
)

EXPERIMENTS: dict[str, dict[str, Experiment]] = {
    "astra": {
        "full": Experiment(
            "astra",
            "astra",
            ASTRA_PROBLEMS,
            _ASTRA_METHODS,
            repeats=10,
            folds=5,
            curve_stride=50,
        ),
        "quick": Experiment(
            "astra",
            "astra",
            ("skin-588", "ijcnn-971"),
            _ASTRA_METHODS,
            repeats=1,
            folds=5,
            max_folds=2,
            epochs=30,
            curve_stride=5,
        ),
    },
    "anyloss": {
        "full": Experiment(
            "anyloss",
            "anyloss",
            ("random", "breast_cancer", "diabetes"),
            _ANYLOSS_METHODS,
            repeats=1,
            folds=10,
            curve_stride=1,
            optional_datasets=("credit_card",),
        ),
        "quick": Experiment(
            "anyloss",
            "anyloss",
            ("random", "breast_cancer"),
            (
                "slp-bce",
                "slp-anyloss-f1",
                "slp-bce-smote",
                "slp-bce-weighted",
                "mlp-bce",
                "mlp-anyloss-accuracy",
                "mlp-anyloss-g_mean",
                "mlp-anyloss-balanced_accuracy",
                "mlp-mse",
                "mlp-dice",
                "mlp-bce-undersampling",
                "slp-sol-f1",
            ),
            repeats=1,
            folds=10,
            max_folds=2,
            epochs=20,
            curve_stride=1,
        ),
    },
    "hd40": {
        "full": Experiment(
            "hd40",
            "astra",
            HD40_DATASETS,
            HD40_METHODS,
            repeats=10,
            curve_stride=50,
            full_loss_curve=False,
        ),
        "quick": Experiment(
            "hd40",
            "astra",
            ("glass5", "shuttle-c2-vs-c4"),
            HD40_METHODS,
            repeats=1,
            max_folds=2,
            epochs=30,
            curve_stride=5,
            full_loss_curve=False,
        ),
    },
    "baselines": {
        "full": Experiment(
            "baselines",
            "astra",
            (*ASTRA_PROBLEMS, *HD40_DATASETS),
            _BASELINE_RUNS,
            repeats=10,
            curve_stride=50,
            full_loss_curve=False,
        ),
        "quick": Experiment(
            "baselines",
            "astra",
            ("glass5", "shuttle-c2-vs-c4"),
            _BASELINE_RUNS,
            repeats=1,
            max_folds=2,
            epochs=30,
            curve_stride=5,
            full_loss_curve=False,
        ),
    },
}
"""Named experiments in their ``full`` (the paper's protocol) and ``quick`` (CI) sizes."""


def get_experiment(name: str, size: str = "full") -> Experiment:
    """A named experiment (``size`` ``"full"`` or ``"quick"``), or a grid file's."""
    if name in EXPERIMENTS:
        return EXPERIMENTS[name][size]
    path = Path(name)
    if path.suffix in (".json", ".toml") and path.exists():
        return load_config(path)
    raise ValueError(
        f"unknown experiment {name!r}: use one of {sorted(EXPERIMENTS)} or a .json/.toml grid file."
    )


def _soft_step(value):
    """A soft step from a name or ``{"name": ..., **arguments}`` (the names of
    :func:`cmloss.core.soft_steps.get`)."""
    from cmloss.core import soft_steps

    if value is None or isinstance(value, str):
        return soft_steps.get(value)
    value = dict(value)
    return type(soft_steps.get(value.pop("name")))(**value)  # the named step's class


def _loss(spec: dict):
    from cmloss.trainer.spec import LossSpec

    spec = dict(spec)
    if "soft_step" in spec:
        spec["soft_step"] = _soft_step(spec["soft_step"])
    return LossSpec(**spec)


def _network_method(entry: dict) -> NetworkMethod:
    from cmloss.trainer.spec import AdaptiveSlope, Architecture, OptimizerSpec, Selection

    entry = dict(entry)
    name = entry.pop("name")
    arch = Architecture(**entry.pop("architecture", {}))
    loss = _loss(entry.pop("loss", {"kind": "bce"}))
    opt = dict(entry.pop("optimizer", {}))
    if "adaptive_slope" in opt and opt["adaptive_slope"] is not None:
        opt["adaptive_slope"] = AdaptiveSlope(**opt["adaptive_slope"])
    optimizer = OptimizerSpec(**opt)
    selection = entry.pop("selection", None)
    selection = Selection(**selection) if selection else None
    fixed = dict(entry)

    def settings(ctx):
        out = {
            "architecture": arch,
            "loss": loss,
            "optimizer": optimizer,
            "selection": selection,
            **fixed,
        }
        if ctx.epochs:
            out["epochs"] = ctx.epochs
        return out

    return NetworkMethod(name, settings, "defined in a grid file")


def load_config(path: str | Path) -> Experiment:
    """Read a grid file (JSON or TOML); register its ``define`` methods."""
    path = Path(path)
    if path.suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib

        config = tomllib.loads(path.read_text())
    else:
        config = json.loads(path.read_text())
    for entry in config.pop("define", []):
        register_method(_network_method(entry), replace=True)
    config.setdefault("name", path.stem)
    if "folds" not in config:
        config["folds"] = 10 if config.get("protocol") == "anyloss" else 5
    known = {f.name for f in dataclasses.fields(Experiment)}
    unknown = set(config) - known
    if unknown:
        raise ValueError(f"unknown keys in {path}: {sorted(unknown)}; allowed: {sorted(known)}.")
    return Experiment(**config)
