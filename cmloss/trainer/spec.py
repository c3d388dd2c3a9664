"""What to train: one :class:`MemberSpec` per small network.

A member names its architecture, loss, output, optimizer, rows and seed. Members whose
*static* settings agree (architecture family, optimizer kind, batch mode, epochs,
selection) are trained together in one compiled stack; within a stack, each member takes
a *slot*, and slot ``m`` runs the same loss and output for every view
(:mod:`cmloss.trainer.stacking`).

Every setting mirrors a Keras object, so that a member is exactly a Keras ``model.fit``
run (:func:`cmloss.trainer.networks.build_keras_model`, :meth:`LossSpec.keras_loss`,
:meth:`OptimizerSpec.keras_optimizer`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from cmloss.core import cm_metrics, soft_steps
from cmloss.core.astra import beta_cap, check_slope_optimizer
from cmloss.core.validation import check_positive, check_probability
from cmloss.trainer import epoch_rules
from cmloss.trainer.epoch_rules import AdaptiveSlope, check_selection

__all__ = [
    "Architecture",
    "LossSpec",
    "AdaptiveSlope",
    "OptimizerSpec",
    "Selection",
    "MemberSpec",
    "OUTPUTS",
]

ARCHITECTURES = ("slp", "mlp", "bn_mlp")
OUTPUTS = ("sigmoid", "astra", "linear")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
LOSS_KINDS = ("bce", "mse", "dice", "focal", "confusion_matrix")


def _choice(value, allowed, name):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}; got {name}={value!r}.")
    return value


@dataclass(frozen=True)
class Architecture:
    """A network family and its width.

    * ``"slp"``: ``Dense(1)`` then the output (single-layer perceptron);
    * ``"mlp"``: ``Dense(hidden)`` -> ``LeakyReLU(negative_slope)`` -> ``Dense(1)`` -> output
      (the ASTra paper's network);
    * ``"bn_mlp"``: ``Dense(hidden)`` -> ``BatchNormalization`` -> sigmoid -> ``Dense(1)`` ->
      output (the AnyLoss MLP, ``hidden=2``).

    Args:
        kind: one of ``"slp"``, ``"mlp"``, ``"bn_mlp"``.
        hidden: hidden units (ignored for ``"slp"``).
        negative_slope: Leaky ReLU slope of ``"mlp"`` (0.3, as the ASTra paper).
        hidden_initializer: Keras initializer name of the hidden kernel.
        output_initializer: Keras initializer name of the output kernel (``"zeros"`` gives
            the AnyLoss NumPy SLP, whose weights and intercept start at 0).
        bn_momentum: BatchNormalization momentum (Keras default 0.99).
        bn_epsilon: BatchNormalization epsilon (Keras default 1e-3).
    """

    kind: str = "mlp"
    hidden: int = 2
    negative_slope: float = 0.3
    hidden_initializer: str = "he_normal"
    output_initializer: str = "glorot_uniform"
    bn_momentum: float = 0.99
    bn_epsilon: float = 1e-3

    def __post_init__(self):
        _choice(self.kind, ARCHITECTURES, "kind")
        if self.kind != "slp" and (not isinstance(self.hidden, int) or self.hidden < 1):
            raise ValueError(f"hidden must be an int >= 1; got hidden={self.hidden!r}.")

    @property
    def width(self) -> int:
        """Hidden units (0 for the single-layer perceptron)."""
        return 0 if self.kind == "slp" else self.hidden

    @classmethod
    def slp(cls, initializer: str = "glorot_uniform") -> Architecture:
        """Single-layer perceptron; ``initializer="zeros"`` for the AnyLoss SLP."""
        return cls(kind="slp", hidden=1, output_initializer=initializer)

    @classmethod
    def astra_paper(cls, n_features: int) -> Architecture:
        """The ASTra paper's network: ``ceil((n_x + 1) / 2)`` Leaky ReLU (0.3) units, He
        normal hidden and Glorot uniform output initialisation."""
        return cls(kind="mlp", hidden=math.ceil((int(n_features) + 1) / 2))

    @classmethod
    def anyloss_mlp(cls) -> Architecture:
        """The AnyLoss MLP: ``Dense(2, he_normal)`` -> BatchNormalization -> sigmoid ->
        ``Dense(1)``."""
        return cls(kind="bn_mlp", hidden=2)


@dataclass(frozen=True)
class LossSpec:
    """A loss from :mod:`cmloss.losses`, applied per member by the library's functional
    forms (``confusion_matrix_loss``, ``binary_crossentropy``, ``mean_squared_error``).

    Use the constructors: :meth:`bce`, :meth:`mse`, :meth:`dice`, :meth:`focal`,
    :meth:`gmn`, :meth:`anyloss`, :meth:`sol`, :meth:`confusion_matrix`.

    Args:
        kind: ``"bce"``, ``"mse"``, ``"dice"``, ``"focal"`` or ``"confusion_matrix"``.
        metric: for ``"confusion_matrix"``: a larger-is-better metric name of
            :data:`cmloss.core.cm_metrics.METRICS`, or ``"f_beta"`` with ``beta``.
        beta: F-beta's beta (only with ``metric="f_beta"``).
        soft_step: the soft step (a :class:`~cmloss.core.soft_steps.SoftStep`).
        zero_division: value of an undefined ratio (library policy).
        label: a short name for reports (default derived).
        gamma: the focusing parameter of ``"focal"``.
        alpha: the class-balancing weight of ``"focal"`` (positives weigh ``alpha``,
            negatives ``1 - alpha``).
    """

    kind: str
    metric: str | None = None
    beta: float | None = None
    soft_step: soft_steps.SoftStep | None = None
    zero_division: float = 0.0
    label: str = ""
    gamma: float | None = None
    alpha: float | None = None

    def __post_init__(self):
        _choice(self.kind, LOSS_KINDS, "kind")
        if self.kind == "confusion_matrix":
            if self.metric == "f_beta":
                check_positive(self.beta, "beta")
            else:
                spec = cm_metrics.get_metric(self.metric)
                if not spec.greater_is_better:
                    raise ValueError(
                        f"metric must be larger-is-better; got metric={self.metric!r}."
                    )
                object.__setattr__(self, "metric", spec.name)
            object.__setattr__(self, "soft_step", soft_steps.get(self.soft_step))
        elif self.kind == "dice":
            object.__setattr__(self, "soft_step", soft_steps.Identity())
        elif self.kind == "focal":
            if self.gamma != 0:
                check_positive(self.gamma, "gamma", what=" (or 0)")
            check_probability(self.alpha, "alpha")
        check_probability(self.zero_division, "zero_division")
        if not self.label:
            object.__setattr__(self, "label", self._default_label())

    def _default_label(self) -> str:
        if self.kind != "confusion_matrix":
            return self.kind
        metric = f"f{self.beta:g}" if self.metric == "f_beta" else self.metric
        return f"{metric}[{self.soft_step!r}]"

    @classmethod
    def bce(cls) -> LossSpec:
        """Binary cross-entropy (:func:`cmloss.losses.binary_crossentropy`)."""
        return cls("bce", label="bce")

    @classmethod
    def mse(cls) -> LossSpec:
        """Mean squared error (:func:`cmloss.losses.mean_squared_error`)."""
        return cls("mse", label="mse")

    @classmethod
    def dice(cls) -> LossSpec:
        """Keras' own Dice loss (:class:`keras.losses.Dice`, whole batch):
        ``1 - 2 sum(y p) / (sum(y) + sum(p) + eps)``.

        Without its ``eps`` (``keras.backend.epsilon()``) this is ``1 - F1`` of the soft
        confusion matrix with the identity step, which is how the trainer computes it
        (weighted rows enter every sum); ``keras_loss()`` returns Keras' class itself.
        """
        return cls("dice", label="dice")

    @classmethod
    def focal(cls, gamma: float = 2.0, alpha: float = 0.25) -> LossSpec:
        """Keras' binary focal cross-entropy with class balancing on
        (:class:`keras.losses.BinaryFocalCrossentropy` with ``apply_class_balancing=True``):
        ``-alpha (1 - p)^gamma log p`` for a positive and ``-(1 - alpha) p^gamma log(1 - p)``
        for a negative, averaged over rows. The defaults are Keras' (and Lin et al.'s):
        ``gamma = 2``, ``alpha = 0.25``, which weighs the (rare) positives *less* than the
        negatives; the focusing term does the rebalancing.
        """
        return cls("focal", gamma=float(gamma), alpha=float(alpha), label="focal")

    @classmethod
    def gmn(cls) -> LossSpec:
        """GMN: ``1 - G-mean`` of the approximated confusion matrix (identity soft step)."""
        return cls("confusion_matrix", "g_mean", soft_step=soft_steps.Identity(), label="gmn")

    @classmethod
    def anyloss(cls, metric: str, L: float = 73.0, beta: float | None = None) -> LossSpec:
        """AnyLoss: ``1 - metric`` of the amplified soft confusion matrix (slope ``L``).

        ``metric="f_beta"`` with ``beta`` gives F-beta (e.g. F0.5, F2).
        """
        return cls("confusion_matrix", metric, beta=beta, soft_step=soft_steps.Amplify(L))

    @classmethod
    def sol(cls, metric: str = "f1", mu: float = 0.5, delta: float = 0.1) -> LossSpec:
        """Score-Oriented Loss with a raised-cosine threshold distribution."""
        return cls(
            "confusion_matrix",
            metric,
            soft_step=soft_steps.CosineThreshold(mu, delta),
            label=f"sol_{metric}",
        )

    @classmethod
    def confusion_matrix(cls, metric: str, soft_step=None, beta: float | None = None) -> LossSpec:
        """Any confusion-matrix loss ``1 - metric(CM(soft_step(p)))``."""
        return cls("confusion_matrix", metric, beta=beta, soft_step=soft_steps.get(soft_step))

    def metric_fn(self):
        """The metric argument to pass to :func:`cmloss.losses.confusion_matrix_loss`."""
        if self.kind == "dice":
            return "f1"
        if self.metric == "f_beta":
            return functools.partial(
                cm_metrics.f_beta, beta=self.beta, zero_division=self.zero_division
            )
        return self.metric

    def keras_loss(self):
        """The equivalent :mod:`cmloss.losses` object, for ``model.compile``."""
        from cmloss import losses

        if self.kind == "bce":
            return losses.BinaryCrossentropy()
        if self.kind == "mse":
            return losses.MeanSquaredError()
        if self.kind == "dice":
            import keras

            return keras.losses.Dice()
        if self.kind == "focal":
            import keras

            return keras.losses.BinaryFocalCrossentropy(
                apply_class_balancing=True, alpha=self.alpha, gamma=self.gamma
            )
        if self.metric == "f_beta":
            return losses.FBetaLoss(
                beta=self.beta, soft_step=self.soft_step, zero_division=self.zero_division
            )
        return losses.ConfusionMatrixLoss(
            self.metric, self.soft_step, zero_division=self.zero_division
        )


@dataclass(frozen=True)
class OptimizerSpec:
    """A Keras optimizer (``cmloss.optimizers.Adam``/``SGD``/``RMSprop``) by its settings.

    Args:
        name: ``"adam"``, ``"sgd"`` or ``"rmsprop"``.
        learning_rate: rate of the network weights.
        beta_1, beta_2, epsilon: Adam's (Keras defaults 0.9, 0.999, 1e-7).
        rho: RMSprop's decay (0.9); ``epsilon`` is shared.
        momentum: SGD momentum (0: plain gradient descent).
        slope_learning_rate: fixed rate of the ASTra slope when ``adaptive_slope`` is
            ``None``.
        adaptive_slope: Eq. 10 schedule of the slope rate (default the paper's).
        slope_optimizer: ``"same"`` (the slope follows ``name``'s rule at its own rate)
            or ``"sgd"`` (plain gradient descent on the slope parameter at that rate),
            :data:`cmloss.core.astra.SLOPE_OPTIMIZERS`.
    """

    name: str = "adam"
    learning_rate: float = 1e-3
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7
    rho: float = 0.9
    momentum: float = 0.0
    slope_learning_rate: float = 0.01
    adaptive_slope: AdaptiveSlope | None = field(default_factory=AdaptiveSlope)
    slope_optimizer: str = "same"

    def __post_init__(self):
        _choice(self.name, OPTIMIZERS, "name")
        check_slope_optimizer(self.slope_optimizer)
        check_positive(self.learning_rate, "learning_rate")
        check_positive(self.slope_learning_rate, "slope_learning_rate")
        if self.momentum and self.name != "sgd":
            raise ValueError("momentum is supported for name='sgd' only.")

    @property
    def initial_slope_rate(self) -> float:
        """The slope learning rate of the first epoch."""
        return self.adaptive_slope.initial if self.adaptive_slope else self.slope_learning_rate

    def keras_optimizer(self):
        """The equivalent :mod:`cmloss.optimizers` object."""
        from cmloss import optimizers

        if self.name == "adam":
            return optimizers.Adam(
                self.learning_rate,
                self.initial_slope_rate,
                self.slope_optimizer,
                beta_1=self.beta_1,
                beta_2=self.beta_2,
                epsilon=self.epsilon,
            )
        if self.name == "sgd":
            return optimizers.SGD(
                self.learning_rate,
                self.initial_slope_rate,
                self.slope_optimizer,
                momentum=self.momentum,
            )
        return optimizers.RMSprop(
            self.learning_rate,
            self.initial_slope_rate,
            self.slope_optimizer,
            rho=self.rho,
            epsilon=self.epsilon,
        )


@dataclass(frozen=True)
class Selection:
    """Best-on-validation: keep the epoch with the best approximated validation metric, as
    :class:`cmloss.callbacks.BestOnValidation`, by the same rule (``mode="min"``: strictly
    lower improves, so ties keep the earliest epoch; a NaN value never improves, and if
    every epoch is NaN the last weights are kept, with a warning).

    Args:
        monitor: a metric name of :data:`cmloss.core.cm_metrics.METRICS` computed on the
            approximated confusion matrix of the validation rows (default ``"fnr"``).
        mode: ``"min"`` or ``"max"``.
        start_from_epoch: epochs before this one (0-based) are never selected, as Keras'
            ``EarlyStopping(start_from_epoch=...)`` (default 0: every epoch competes).
        output: the output of an ASTra member whose approximated confusion matrix is
            monitored: ``"z"`` (default), the model output, i.e. the z-transformed value
            of :class:`cmloss.layers.ASTra`; or ``"raw"``, the Eq. 4 value
            ``ASTra(x, b)`` itself (the layer's ``output="astra"``), read by the ASTra
            paper's "metrics based on the matrix elements" of the ASTra output. Members
            with a sigmoid output are monitored on their output either way. The recorded
            validation curves (``val_fnr_apx``, ...) follow the same choice.
    """

    monitor: str = "fnr"
    mode: str = epoch_rules.DEFAULT_MODE
    start_from_epoch: int = epoch_rules.DEFAULT_START
    output: str = "z"

    def __post_init__(self):
        object.__setattr__(self, "monitor", cm_metrics.get_metric(self.monitor).name)
        start = check_selection(self.mode, self.start_from_epoch)
        object.__setattr__(self, "start_from_epoch", start)
        _choice(self.output, epoch_rules.MONITOR_OUTPUTS, "output")

    @property
    def log_key(self) -> str:
        """The Keras log key, e.g. ``"val_fnr_apx"``."""
        return f"val_{self.monitor}_apx"

    def keras_callback(self):
        """The equivalent :class:`cmloss.callbacks.BestOnValidation` (``output="z"`` only:
        Keras metrics are computed on the model output)."""
        from cmloss.callbacks import BestOnValidation

        if self.output != "z":
            raise ValueError(
                "keras_callback() needs output='z' (Keras metrics are computed on the model "
                f"output); got output={self.output!r}."
            )

        return BestOnValidation(
            monitor=self.log_key, mode=self.mode, start_from_epoch=self.start_from_epoch
        )


def _rows(value, name: str) -> np.ndarray:
    rows = np.asarray(value if value is not None else [], dtype=np.int64).reshape(-1)
    if rows.size and rows.min() < 0:
        raise ValueError(f"{name} must hold row indices >= 0; got min {rows.min()}.")
    rows = rows.copy()
    rows.setflags(write=False)
    return rows


@dataclass(frozen=True, eq=False)
class MemberSpec:
    """One network to train: its rows, architecture, loss, output, optimizer and seed.

    Args:
        train: training row indices into the shared feature matrix.
        validation: validation rows (empty: no selection, the last epoch is kept).
        test: test rows, scored with the selected parameters.
        architecture: the network (:class:`Architecture`).
        loss: the loss (:class:`LossSpec`).
        output: ``"sigmoid"``, ``"astra"`` (z output of :class:`cmloss.layers.ASTra`,
            learnable slope) or ``"linear"``.
        tau_init: initial ASTra threshold (0.25: ``b = 7.39635``).
        tau_min: a floor on the ASTra threshold, ``cmloss.layers.ASTra(min_threshold=)``
            (``None``: none; the paper calls 0.05 the lowest workable ``tau``).
        optimizer: :class:`OptimizerSpec`.
        epochs: number of epochs.
        batch_fraction: mini-batch size as a fraction of the training rows
            (``None``: full batch). The batch size is ``max(1, round(f * n_train))``.
        batch_order_seed: seed of the per-epoch shuffling (default ``seed``).
        seed: seed of the initial weights.
        standardize: how features are scaled, with statistics of the training rows only
            (or ``scale_rows``): ``True`` (z-scoring), ``"minmax"`` (each feature to
            [0, 1] by its minimum and maximum there) or ``False`` (the files' units).
        scale_rows: the rows whose statistics z-score the features (default ``train``;
            a resampled training set passes the original training rows here, so scaling
            is fitted before resampling, as a user would do).
        class_weight: optional ``(w0, w1)`` per-class weights (Keras ``class_weight``).
        selection: best-on-validation rule, or ``None`` for the last epoch.
        initial_weights: optional Keras ``get_weights()`` list to start from.
        tag: free metadata returned with the result (e.g. dataset, method, fold).
    """

    train: np.ndarray
    validation: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    test: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    architecture: Architecture = field(default_factory=Architecture)
    loss: LossSpec = field(default_factory=LossSpec.bce)
    output: str = "sigmoid"
    tau_init: float = 0.25
    tau_min: float | None = None
    optimizer: OptimizerSpec = field(default_factory=OptimizerSpec)
    epochs: int = 100
    batch_fraction: float | None = None
    batch_order_seed: int | None = None
    seed: int = 0
    standardize: bool | str = True
    scale_rows: np.ndarray | None = None
    class_weight: tuple[float, float] | None = None
    selection: Selection | None = field(default_factory=Selection)
    initial_weights: tuple | None = None
    tag: Mapping = field(default_factory=dict)

    def __post_init__(self):
        for name in ("train", "validation", "test"):
            object.__setattr__(self, name, _rows(getattr(self, name), name))
        if self.scale_rows is not None:
            object.__setattr__(self, "scale_rows", _rows(self.scale_rows, "scale_rows"))
            if self.scale_rows.size == 0:
                raise ValueError("scale_rows must hold at least one row (or be None).")
        if self.train.size == 0:
            raise ValueError("train must hold at least one row.")
        _choice(self.output, OUTPUTS, "output")
        if self.output == "astra":
            check_probability(
                self.tau_init, "tau_init", low=0.0, high=0.5, low_open=True, high_open=True
            )
            beta_cap(self.tau_min, "tau_min")  # checks tau_min
            if self.tau_min is not None and self.tau_init < self.tau_min:
                raise ValueError(
                    f"tau_init must be >= tau_min; got tau_init={self.tau_init!r}, "
                    f"tau_min={self.tau_min!r}."
                )
        if self.standardize not in (True, False, "minmax"):
            raise ValueError(
                "standardize must be True (z-scoring), 'minmax' or False; got "
                f"standardize={self.standardize!r}."
            )
        if self.standardize != "minmax":  # 1, 0 and NumPy booleans as bool
            object.__setattr__(self, "standardize", bool(self.standardize))
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs must be an int >= 1; got epochs={self.epochs!r}.")
        if self.batch_fraction is not None:
            check_probability(self.batch_fraction, "batch_fraction", low=0.0, low_open=True)
        if self.selection is not None and self.validation.size == 0:
            object.__setattr__(self, "selection", None)
        if self.selection is not None and self.selection.start_from_epoch >= self.epochs:
            raise ValueError(
                "selection.start_from_epoch must be below epochs (no epoch could be "
                f"selected); got start_from_epoch={self.selection.start_from_epoch}, "
                f"epochs={self.epochs}."
            )
        if self.class_weight is not None:
            w0, w1 = (float(v) for v in self.class_weight)
            object.__setattr__(self, "class_weight", (w0, w1))
        if self.initial_weights is not None:
            object.__setattr__(
                self,
                "initial_weights",
                tuple(np.asarray(w, np.float32) for w in self.initial_weights),
            )
        object.__setattr__(self, "tag", MappingProxyType(dict(self.tag)))

    @property
    def full_batch(self) -> bool:
        """Whether every step uses all training rows."""
        return self.batch_fraction is None or self.batch_size() >= self.train.size

    def batch_size(self) -> int:
        """Rows per mini-batch: ``max(1, round(batch_fraction * n_train))``."""
        n = self.train.size
        if self.batch_fraction is None:
            return n
        return int(min(n, max(1, math.floor(self.batch_fraction * n + 0.5))))

    def steps_per_epoch(self) -> int:
        """``ceil(n_train / batch_size)`` (the last batch may be smaller, as in Keras)."""
        return -(-self.train.size // self.batch_size())

    @property
    def shuffle_seed(self) -> int:
        """Seed of the batch order."""
        return self.seed if self.batch_order_seed is None else self.batch_order_seed
