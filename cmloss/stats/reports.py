"""Table builders for the experiment chapters: our per-fold results (the rows of
:func:`cmloss.experiments.results.load_run`) beside the papers' published numbers.

- :func:`astra_comparison`: ASTra Table 2 (G-mean, MCC; mean and std over 50 folds)
  against ours, with the difference in units of the paper's std;
- :func:`anyloss_comparison`: the AnyLoss paper's Section 4.2 numbers (one metric per
  loss: the accuracy of the accuracy loss, ...) against our SLP and MLP;
- :func:`convergence`: the AnyLoss paper's learning-speed measure, the share of the total
  training-loss reduction reached after 10% of the epochs;
- :func:`epoch_check` / :func:`epoch_check_summary`: the same folds trained for fewer
  epochs against the full count (the learning-curve check behind experiment C's epochs).
"""

from __future__ import annotations

import pandas as pd

from cmloss.experiments.definitions import EXPERIMENTS
from cmloss.experiments.methods import ANYLOSS_LOSS_NAMES, METHODS
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
    "epoch_check",
    "epoch_check_summary",
    "pair_folds",
    "with_labels",
]

ASTRA_LABELS = {name: METHODS[name].label for name in EXPERIMENTS["astra"]["full"].methods}
"""Our ASTra-protocol method names -> the labels used in the book (the paper's for its
four methods), in the experiment's order; from the method registry."""

ANYLOSS_LABELS = {loss: METHODS[f"slp-{loss}"].label for loss in ANYLOSS_LOSS_NAMES}
"""Our AnyLoss-protocol loss names (method = ``"<slp|mlp>-<loss>"``) -> the book's labels
(the paper's where it has one; the keys of :data:`cmloss.plotting.METHOD_COLORS`); from
the method registry."""

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


_FOLD_KEYS = ["dataset", "method", "repeat", "fold"]
_CELLS = ["tn", "fp", "fn", "tp"]


def pair_folds(
    rows_a: pd.DataFrame,
    rows_b: pd.DataFrame,
    suffixes: tuple[str, str] = ("_a", "_b"),
    metrics=("g_mean", "mcc"),
) -> pd.DataFrame:
    """Pair the same (dataset, method, repeat, fold) of two runs of one protocol that
    differ in one setting (the number of epochs, the selection rule, ...).

    Args:
        rows_a, rows_b: per-fold rows (:func:`cmloss.experiments.results.load_run`); only
            folds present in both are paired.
        suffixes: appended to the columns of ``rows_a`` and ``rows_b``.
        metrics: metric columns to keep.

    Returns:
        One row per paired fold with the keys, each metric, the confusion cells,
        ``selected_epoch`` and ``epochs`` with both suffixes, and
        ``same_confusion_matrix``.

    Raises:
        ValueError: no fold in common, or duplicate folds.
    """
    cols = [*_FOLD_KEYS, *metrics, *_CELLS, "selected_epoch", "epochs"]
    merged = rows_a[cols].merge(
        rows_b[cols], on=_FOLD_KEYS, suffixes=suffixes, validate="one_to_one"
    )
    if merged.empty:
        raise ValueError("the two runs have no (dataset, method, repeat, fold) in common")
    cells_a = merged[[f"{c}{suffixes[0]}" for c in _CELLS]].to_numpy()
    cells_b = merged[[f"{c}{suffixes[1]}" for c in _CELLS]].to_numpy()
    merged["same_confusion_matrix"] = (cells_a == cells_b).all(axis=1)
    return merged


def epoch_check(
    long_rows: pd.DataFrame, short_rows: pd.DataFrame, metrics=("g_mean", "mcc")
) -> pd.DataFrame:
    """Pair each fold trained for the full number of epochs (``long_rows``) with the same
    fold, method and seed trained for fewer (``short_rows``).

    Training is deterministic and the shorter run is the first part of the longer one, so
    a fold whose long run selected an epoch before the short run's end must select the
    same network in both: ``selected_within_short`` folds with a different confusion
    matrix would reveal nondeterminism (a check of the trainer as much as of the epochs).

    Args:
        long_rows, short_rows: per-fold rows (:func:`cmloss.experiments.results.load_run`)
            of the same protocol; only folds present in both are paired.
        metrics: metric columns to compare.

    Returns:
        One row per paired fold with the keys, ``<metric>_long`` and ``<metric>_short``,
        ``selected_epoch_long/_short``, ``epochs_long/_short``, ``same_confusion_matrix``
        and ``selected_within_short``.

    Raises:
        ValueError: no fold in common, or duplicate folds.
    """
    merged = pair_folds(long_rows, short_rows, ("_long", "_short"), metrics)
    merged["selected_within_short"] = merged["selected_epoch_long"] < merged["epochs_short"]
    keep = [*_FOLD_KEYS]
    for m in metrics:
        keep += [f"{m}_long", f"{m}_short"]
    keep += ["selected_epoch_long", "selected_epoch_short", "epochs_long", "epochs_short",
             "same_confusion_matrix", "selected_within_short"]
    return merged[keep]


def epoch_check_summary(check: pd.DataFrame, by=("method",), metrics=("g_mean", "mcc")):
    """Aggregate :func:`epoch_check` per group: folds, the share whose long run selected
    an epoch within the short run (and of those, the share with an identical confusion
    matrix, which must be 1), the share identical overall, and per metric the mean at
    both lengths and the mean difference ``long - short``.
    """
    g = check.groupby(list(by), sort=False)
    out = pd.DataFrame({"folds": g.size()})
    out["selected_within_short"] = g["selected_within_short"].mean()
    within = check[check["selected_within_short"]].groupby(list(by), sort=False)
    out["identical_if_within"] = within["same_confusion_matrix"].mean()
    out["identical"] = g["same_confusion_matrix"].mean()
    for m in metrics:
        out[f"{m}_long"] = g[f"{m}_long"].mean()
        out[f"{m}_short"] = g[f"{m}_short"].mean()
        out[f"{m}_diff"] = out[f"{m}_long"] - out[f"{m}_short"]
    return out.reset_index()
