"""Table builders for the experiment chapters: our per-fold results (the rows of
:func:`cmloss.experiments.results.load_run`) beside the papers' published numbers.

- :func:`astra_comparison`: ASTra Table 2 (G-mean, MCC; mean and std over 50 folds)
  against ours, with the difference in units of the paper's std;
- :func:`anyloss_comparison`: the AnyLoss paper's Section 4.2 numbers (one metric per
  loss: the accuracy of the accuracy loss, ...) against our SLP and MLP;
- :func:`convergence`: the AnyLoss paper's learning-speed measure, the share of the total
  training-loss reduction reached after 10% of the epochs.
"""

from __future__ import annotations

import pandas as pd

from cmloss.stats import published
from cmloss.stats.tables import side_by_side, summarise_folds

__all__ = [
    "ASTRA_LABELS",
    "ANYLOSS_LABELS",
    "ANYLOSS_LOSS_OF",
    "anyloss_labels",
    "astra_comparison",
    "anyloss_comparison",
    "convergence",
    "with_labels",
]

ASTRA_LABELS = {
    "bce": "BCE",
    "gmn": "GMN",
    "bce-astra": "BCE-ASTra",
    "gmn-astra": "GMN-ASTra",
    "anyloss-gmean": "AnyLoss-GMean",
    "anyloss-gmean-astra": "AnyLoss-GMean-ASTra",
    "rusboost": "RUSBoost",
}
"""Our ASTra-protocol method names -> the labels used in the book (the paper's for its
four methods)."""

ANYLOSS_LABELS = {
    "mse": "MSE",
    "bce": "BCE",
    "anyloss-accuracy": "AnyLoss-Acc",
    "anyloss-f1": "AnyLoss-F1",
    "anyloss-f0.5": "AnyLoss-F0.5",
    "anyloss-f2": "AnyLoss-F2",
    "anyloss-g_mean": "AnyLoss-GMean",
    "anyloss-balanced_accuracy": "AnyLoss-BAcc",
    "sol-accuracy": "SOL-Acc",
    "sol-f1": "SOL-F1",
    "sol-balanced_accuracy": "SOL-BAcc",
    "dice": "Dice",
    "bce-weighted": "BCE-weighted",
    "bce-smote": "BCE+SMOTE",
    "bce-undersampling": "BCE+RUS",
}
"""Our AnyLoss-protocol loss names (method = ``"<slp|mlp>-<loss>"``) -> the book's labels
(the paper's where it has one; the keys of :data:`cmloss.plotting.METHOD_COLORS`)."""

ANYLOSS_LOSS_OF = {label: loss for loss, label in ANYLOSS_LABELS.items()}
"""The inverse of :data:`ANYLOSS_LABELS`."""


def anyloss_labels(rows: pd.DataFrame) -> pd.DataFrame:
    """AnyLoss-protocol rows with ``model`` (``"SLP"``/``"MLP"``), ``loss`` (our name) and
    ``method`` replaced by the loss's label."""
    parts = rows["method"].str.split("-", n=1)
    arch, loss = parts.str[0], parts.str[1]
    return rows.assign(model=arch.str.upper(), loss=loss, method=loss.map(ANYLOSS_LABELS))


def with_labels(rows: pd.DataFrame, labels: dict[str, str] = ASTRA_LABELS) -> pd.DataFrame:
    """``rows`` with ``method`` replaced by its label (methods without one are kept)."""
    return rows.assign(method=rows["method"].map(lambda m: labels.get(m, m)))


def astra_comparison(rows: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """ASTra Table 2 beside our results for its four methods (G-mean and MCC).

    Args:
        rows: per-fold rows of the ``astra`` experiment.
        **kwargs: passed to :func:`cmloss.stats.side_by_side` (``tolerance``, ...).

    Returns:
        :func:`~cmloss.stats.side_by_side`'s table, keys ``dataset, method, metric``.
    """
    ours = summarise_folds(with_labels(rows), ["g_mean", "mcc"])
    return side_by_side(ours, published.astra_table2(), ["g_mean", "mcc"], **kwargs)


def anyloss_comparison(rows: pd.DataFrame) -> pd.DataFrame:
    """The AnyLoss paper's published means beside ours, for our SLP and our MLP.

    Each published cell (dataset, method, model, metric) is matched with our method
    ``<arch>-<loss>`` for ``arch`` in SLP and MLP: the paper's own model where it states
    one, both where it does not (the AnyLoss row). Datasets we did not run (credit card
    without its file) keep the paper's value with no result of ours.

    Returns:
        ``dataset, family, method, paper_model, model, metric, paper, ours_mean, ours_std,
        n, diff`` (``diff = ours_mean - paper``).
    """
    pub = published.anyloss_comparison().rename(columns={"model": "paper_model",
                                                         "value": "paper"})
    pub["model"] = pub["paper_model"].map(lambda m: ["SLP", "MLP"] if m == "unspecified" else [m])
    pub = pub.explode("model", ignore_index=True)
    pub["ours_method"] = pub["model"].str.lower() + "-" + pub["method"].map(ANYLOSS_LOSS_OF)
    ours = summarise_folds(rows, sorted(pub["metric"].unique())).rename(
        columns={"method": "ours_method", "mean": "ours_mean", "std": "ours_std"}
    )
    out = pub.merge(ours, on=["dataset", "ours_method", "metric"], how="left")
    out["n"] = out["n"].fillna(0).astype(int)
    out["diff"] = out["ours_mean"] - out["paper"]
    columns = ["dataset", "family", "method", "paper_model", "model", "metric", "paper",
               "ours_mean", "ours_std", "n", "diff"]
    return out[columns]


def convergence(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean share of the total training-loss reduction reached after 10% of the epochs
    (``loss_reduction_10pct``), per dataset and method, with its fold minimum and maximum.

    Returns:
        ``dataset, method, mean, min, max``.
    """
    col = "loss_reduction_10pct"
    g = rows.dropna(subset=[col]).groupby(["dataset", "method"])[col]
    return g.agg(["mean", "min", "max"]).reset_index()
