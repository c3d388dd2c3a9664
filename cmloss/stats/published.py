"""The two papers' published numbers, as data: one source of truth for the book.

Every function returns a new pandas DataFrame in long format (one number per row). Dataset
names are those of :mod:`cmloss.data` (``skin-588``, ``random``, ``credit_card``, ...),
method names those of :data:`cmloss.plotting.METHOD_COLORS` (``BCE``, ``GMN``,
``BCE-ASTra``, ``AnyLoss-F1``, ``SOL-BAcc``, ``BCE+SMOTE``, ``BCE+RUS``, ...) and metric
names those of :data:`cmloss.core.cm_metrics.METRICS` (``g_mean``, ``mcc``, ``accuracy``,
``f1``, ``balanced_accuracy``), so published and reproduced tables join on
``(dataset, method, metric)``.

Sources
-------
- ASTra: D. Twomey and D. Gorse, "ASTra: A Novel Algorithm-Level Approach to Imbalanced
  Classification", ICANN 2022, arXiv 2209.01685; Table 1 and Table 2.
- AnyLoss: D. Han, N. Moniz and N. V. Chawla, "AnyLoss: Transforming Classification
  Metrics into Loss Functions", KDD 2024, arXiv 2405.14745, and the authors' README
  (github.com/doheonhan/AnyLoss): the L sweep and the win counts; the SOL / resampling
  comparison (notebooks 4-10 to 4-22 listed in that README) and the learning-speed figures
  (notebooks 4-51, 4-52, 4-62). The book states each with its source in its appendix
  "What the papers leave open, and what we chose" (``book/readings.md``).

Numbers are as printed (three decimals); the published rounding is part of the data.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "ANYLOSS_DATASETS",
    "ASTRA_DATASETS",
    "ASTRA_METHODS",
    "anyloss_comparison",
    "anyloss_dataset_label",
    "anyloss_l_sweep",
    "anyloss_l_sweep_wins",
    "anyloss_learning_speed",
    "astra_table1",
    "astra_table2",
]

ASTRA_DATASETS: tuple[str, ...] = ("skin-588", "skin-4000", "cod-763", "cod-3500",
                                   "ijcnn-971")
"""The five ASTra problems in the order of the paper's tables."""

ASTRA_METHODS: tuple[str, ...] = ("BCE", "GMN", "BCE-ASTra", "GMN-ASTra")
"""The four ASTra candidates in the order of Table 2's columns."""

ANYLOSS_DATASETS: tuple[str, ...] = ("random", "credit_card", "breast_cancer", "diabetes")
"""The four imbalanced AnyLoss datasets (paper: Random, Card, Cancer, Diabetes)."""

_ANYLOSS_LABELS = {"random": "Random", "credit_card": "Card", "breast_cancer": "Cancer",
                   "diabetes": "Diabetes"}
_ANYLOSS_METRICS = ("accuracy", "f1", "balanced_accuracy")
_ANYLOSS_SUFFIX = {"accuracy": "Acc", "f1": "F1", "balanced_accuracy": "BAcc"}

# ASTra Table 1: dataset, name in the HD-Ensemble study, IR, n_x, m_tot, m_1.
_ASTRA_T1 = [
    ("skin-588", "skinnonskin", 588.24, 3, 20034, 34),
    ("skin-4000", "skinnonskin, undersampled", 4000.0, 3, 20005, 5),
    ("cod-763", "cod-rna", 763.27, 8, 19871, 26),
    ("cod-3500", "cod-rna, undersampled", 3500.0, 8, 17505, 5),
    ("ijcnn-971", "ijcnn1", 970.60, 22, 4858, 5),
]

# ASTra Table 2: {dataset: {metric: [(mean, std) for BCE, GMN, BCE-ASTra, GMN-ASTra]}}.
_ASTRA_T2 = {
    "skin-588": {
        "g_mean": [(0.892, 0.273), (0.966, 0.051), (0.981, 0.041), (0.946, 0.126)],
        "mcc": [(0.892, 0.273), (0.966, 0.051), (0.976, 0.042), (0.763, 0.273)],
    },
    "skin-4000": {
        "g_mean": [(0.760, 0.436), (0.879, 0.331), (0.800, 0.408), (0.840, 0.374)],
        "mcc": [(0.760, 0.436), (0.843, 0.368), (0.800, 0.408), (0.688, 0.382)],
    },
    "cod-763": {
        "g_mean": [(0.449, 0.396), (0.768, 0.206), (0.862, 0.208), (0.843, 0.206)],
        "mcc": [(0.433, 0.391), (0.419, 0.301), (0.760, 0.229), (0.542, 0.291)],
    },
    "cod-3500": {
        "g_mean": [(0.240, 0.436), (0.357, 0.486), (0.640, 0.490), (0.519, 0.509)],
        "mcc": [(0.240, 0.436), (0.255, 0.397), (0.421, 0.369), (0.206, 0.225)],
    },
    "ijcnn-971": {
        "g_mean": [(0.000, 0.000), (0.120, 0.331), (0.478, 0.508), (0.596, 0.497)],
        # printed "-0.000 (0.001)": a mean that rounds to zero from below.
        "mcc": [(-0.000, 0.001), (0.072, 0.208), (0.162, 0.179), (0.179, 0.162)],
    },
}

# AnyLoss comparison (README and Section 4.2 notebooks): row -> {dataset: (accuracy, f1,
# balanced_accuracy)}.
_ANYLOSS_CMP = {
    # (family, model, per-metric method naming)
    ("AnyLoss", "unspecified"): {
        "random": (0.924, 0.637, 0.852), "credit_card": (0.995, 0.945, 0.962),
        "breast_cancer": (1.000, 0.989, 1.000), "diabetes": (0.961, 0.736, 0.882)},
    ("SOL", "SLP"): {
        "random": (0.922, 0.635, 0.875), "credit_card": (0.991, 0.896, 0.957),
        "breast_cancer": (0.980, 0.922, 0.965), "diabetes": (0.898, 0.670, 0.880)},
    ("SOL", "MLP"): {
        "random": (0.923, 0.637, 0.858), "credit_card": (0.992, 0.944, 0.950),
        "breast_cancer": (0.985, 0.955, 0.975), "diabetes": (0.961, 0.736, 0.865)},
    ("BCE+SMOTE", "SLP"): {
        "random": (0.922, 0.624, 0.790), "credit_card": (0.992, 0.902, 0.915),
        "breast_cancer": (0.985, 0.910, 0.943), "diabetes": (0.960, 0.727, 0.810)},
    ("BCE+RUS", "SLP"): {
        "random": (0.922, 0.622, 0.787), "credit_card": (0.992, 0.903, 0.915),
        "breast_cancer": (0.985, 0.901, 0.928), "diabetes": (0.960, 0.727, 0.809)},
}

# AnyLoss README, "Performance with different L on 4 Datasets":
# dataset -> metric -> values at L = 30, 50, 73, 90, 110.
_L_VALUES = (30, 50, 73, 90, 110)
_L_SWEEP = {
    "random": {"accuracy": (0.915, 0.923, 0.924, 0.895, 0.922),
               "f1": (0.636, 0.632, 0.637, 0.634, 0.635),
               "balanced_accuracy": (0.840, 0.834, 0.852, 0.826, 0.825)},
    "credit_card": {"accuracy": (0.952, 0.994, 0.995, 0.994, 0.994),
                    "f1": (0.935, 0.942, 0.945, 0.945, 0.944),
                    "balanced_accuracy": (0.950, 0.915, 0.962, 0.956, 0.871)},
    "breast_cancer": {"accuracy": (0.998, 0.995, 1.000, 0.997, 0.997),
                      "f1": (0.980, 0.980, 0.989, 0.980, 0.969),
                      "balanced_accuracy": (0.949, 0.950, 1.000, 0.989, 0.996)},
    "diabetes": {"accuracy": (0.948, 0.961, 0.961, 0.961, 0.961),
                 "f1": (0.728, 0.733, 0.736, 0.735, 0.734),
                 "balanced_accuracy": (0.837, 0.859, 0.882, 0.832, 0.826)},
}

# AnyLoss README, "Win number with different L on 102 Datasets".
_L_WINS = {
    "AnyLoss-Acc": (21, 18, 31, 21, 24),
    "AnyLoss-F1": (21, 19, 27, 21, 16),
    "AnyLoss-BAcc": (17, 20, 26, 17, 23),
}


def astra_table1() -> pd.DataFrame:
    """ASTra Table 1: the five problems (Twomey and Gorse, ICANN 2022, Table 1).

    Returns:
        One row per dataset: ``dataset``, ``original`` (name in the HD-Ensemble study of
        Chen et al. 2021), ``ir`` (imbalance ratio ``(m_tot - m_1) / m_1``), ``n_x``
        (features), ``m_tot`` (examples), ``m_1`` (positives).

    Example:

    >>> astra_table1().set_index("dataset").loc["skin-588", "ir"]
    np.float64(588.24)
    """
    return pd.DataFrame(_ASTRA_T1, columns=["dataset", "original", "ir", "n_x", "m_tot",
                                            "m_1"])


def astra_table2() -> pd.DataFrame:
    """ASTra Table 2: mean (std) of the test G-mean and MCC over the 50 fold results of
    10 x 5-fold CV (Twomey and Gorse, ICANN 2022, Table 2).

    The paper's Table 2 prints "BCE, GMN" under "Without ASTra" and "BCE, GMN" under
    "With ASTra"; here they are ``BCE``, ``GMN``, ``BCE-ASTra``, ``GMN-ASTra``. The paper's
    bold "winner or tie" marks (p <= 0.05) are not part of this table.

    Returns:
        40 rows (5 datasets x 2 metrics x 4 methods): ``dataset``, ``metric``
        (``g_mean``, ``mcc``), ``method``, ``mean``, ``std``, ``n`` (50).

    Example:

    >>> t = astra_table2().set_index(["dataset", "metric", "method"])
    >>> t.loc[("skin-588", "g_mean", "BCE"), ["mean", "std"]].tolist()
    [0.892, 0.273]
    """
    rows = [
        (ds, metric, method, mean, std, 50)
        for ds, by_metric in _ASTRA_T2.items()
        for metric, cells in by_metric.items()
        for method, (mean, std) in zip(ASTRA_METHODS, cells)
    ]
    return pd.DataFrame(rows, columns=["dataset", "metric", "method", "mean", "std", "n"])


def anyloss_comparison() -> pd.DataFrame:
    """AnyLoss vs SOL and resampling on the four imbalanced datasets: mean over the 10 test
    folds of one 10-fold CV (Han, Moniz and Chawla, KDD 2024, Section 4.2: the README's
    table and notebooks 4-11, 4-13 and 4-22 of the authors' repository).

    Each metric comes from the loss built from that metric: the accuracy of
    ``AnyLoss-Acc``/``SOL-Acc``, the F1 of ``AnyLoss-F1``/``SOL-F1``, the balanced accuracy
    of ``AnyLoss-BAcc``/``SOL-BAcc`` (the README's and paper's reading of a per-metric
    row). ``BCE+SMOTE`` and ``BCE+RUS`` (random undersampling) are single BCE-trained
    SLPs. The AnyLoss row is the README's L = 73 column, whose model (SLP or MLP) the
    README does not state: ``model`` is ``"unspecified"`` there.

    Returns:
        60 rows: ``dataset``, ``family`` (``AnyLoss``, ``SOL``, ``BCE+SMOTE``,
        ``BCE+RUS``), ``method``, ``model`` (``SLP``, ``MLP``, ``unspecified``),
        ``metric``, ``value``.

    Example:

    >>> t = anyloss_comparison()
    >>> t.query("family == 'SOL' and model == 'MLP' and dataset == 'diabetes'")[
    ...     ["method", "value"]].values.tolist()
    [['SOL-Acc', 0.961], ['SOL-F1', 0.736], ['SOL-BAcc', 0.865]]
    """
    rows = []
    for (family, model), by_ds in _ANYLOSS_CMP.items():
        for ds, values in by_ds.items():
            for metric, value in zip(_ANYLOSS_METRICS, values):
                method = (f"{family}-{_ANYLOSS_SUFFIX[metric]}"
                          if family in ("AnyLoss", "SOL") else family)
                rows.append((ds, family, method, model, metric, value))
    return pd.DataFrame(rows, columns=["dataset", "family", "method", "model", "metric",
                                       "value"])


def anyloss_l_sweep() -> pd.DataFrame:
    """AnyLoss performance for L = 30, 50, 73, 90, 110 on the four imbalanced datasets
    (AnyLoss README, "Performance with different L on 4 Datasets").

    Each metric is that of the AnyLoss loss built from it (``AnyLoss-Acc`` etc.); the
    README calls the datasets Random, Credit Card, Breast Cancer, Diabete.

    Returns:
        60 rows: ``dataset``, ``method``, ``metric``, ``L``, ``value``.

    Example:

    >>> t = anyloss_l_sweep()
    >>> float(t.query("dataset == 'random' and metric == 'accuracy' and L == 73").value.iloc[0])
    0.924
    """
    rows = [
        (ds, f"AnyLoss-{_ANYLOSS_SUFFIX[metric]}", metric, L, v)
        for ds, by_metric in _L_SWEEP.items()
        for metric, values in by_metric.items()
        for L, v in zip(_L_VALUES, values)
    ]
    return pd.DataFrame(rows, columns=["dataset", "method", "metric", "L", "value"])


def anyloss_l_sweep_wins() -> pd.DataFrame:
    """How many of the 102 datasets each AnyLoss loss won against MSE and BCE, for each L
    (AnyLoss README, "Win number with different L on 102 Datasets").

    Returns:
        15 rows: ``method``, ``L``, ``wins``.
    """
    rows = [(method, L, w) for method, wins in _L_WINS.items()
            for L, w in zip(_L_VALUES, wins)]
    return pd.DataFrame(rows, columns=["method", "L", "wins"])


def anyloss_learning_speed() -> pd.DataFrame:
    """The AnyLoss paper's learning-speed figures, as published ranges over the four
    datasets (Han, Moniz and Chawla, KDD 2024, learning-speed experiments, notebooks 4-51,
    4-52 and 4-62 of the authors' repository).

    Quantities:

    - ``time_ratio_vs_bce``: time per fold relative to BCE (AnyLoss 0.84-1.10 with the
      NumPy SLP, 0.94-1.06 with the Keras MLP; SOL 1.03-1.18, model not separated);
    - ``loss_reduction_at_100``: share of the total loss reduction of 1,000 full-batch
      iterations already reached at iteration 100 (NumPy SLP): AnyLoss 0.95-0.97,
      BCE 0.79-0.93.

    Returns:
        5 rows: ``quantity``, ``method``, ``model`` (``SLP``, ``MLP``, ``unspecified``),
        ``low``, ``high``.
    """
    rows = [
        ("time_ratio_vs_bce", "AnyLoss", "SLP", 0.84, 1.10),
        ("time_ratio_vs_bce", "AnyLoss", "MLP", 0.94, 1.06),
        ("time_ratio_vs_bce", "SOL", "unspecified", 1.03, 1.18),
        ("loss_reduction_at_100", "AnyLoss", "SLP", 0.95, 0.97),
        ("loss_reduction_at_100", "BCE", "SLP", 0.79, 0.93),
    ]
    return pd.DataFrame(rows, columns=["quantity", "method", "model", "low", "high"])


def anyloss_dataset_label(dataset: str) -> str:
    """The AnyLoss paper's short label of a dataset (``credit_card`` -> ``"Card"``)."""
    try:
        return _ANYLOSS_LABELS[dataset]
    except KeyError:
        raise ValueError(f"unknown AnyLoss dataset {dataset!r}; known: "
                         f"{list(_ANYLOSS_LABELS)}") from None
