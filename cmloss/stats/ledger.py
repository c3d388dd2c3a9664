"""The reproduction ledger: which gaps to a paper's table each candidate reading explains.

A *candidate* is a run that differs from our reading in one setting, on a subset of the
folds (repeats 0-1). Its rows are paired fold by fold with our reading's rows
(:func:`cmloss.stats.reports.pair_folds`), and two criteria, fixed before the runs (the
book's chapter 6 states them), are evaluated:

* **C1** (:func:`explained_gaps`): for a cell whose mean is more than one of the paper's
  standard deviations from ours, the candidate moves our mean, on the paired folds, at
  least half-way towards the paper's mean;
* **C2** (:func:`adoption`): the candidate raises the mean test G-mean of the methods it
  changes on at least ``min_problems_up`` problems and lowers none by more than
  ``max_drop`` (the paper's numbers play no part).

:func:`nonfinite_folds` counts, from a run's stored training curves, the folds that could
have kept a diverged network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cmloss.stats import reports

__all__ = ["Candidate", "paired_candidate", "explained_gaps", "adoption", "ledger_table",
           "nonfinite_folds"]


@dataclass(frozen=True)
class Candidate:
    """A candidate reading: its name, its rows, and the suffix its grid file appended to
    the method names it changed (``"-eta-fixed"``: ``bce-astra-eta-fixed`` is
    ``bce-astra`` under the candidate); ``""`` when the names are ours."""

    name: str
    rows: pd.DataFrame
    method_suffix: str = ""

    def base_rows(self) -> pd.DataFrame:
        """The rows with method names mapped back to ours."""
        if not self.method_suffix:
            return self.rows
        method = self.rows["method"].str.removesuffix(self.method_suffix)
        return self.rows.assign(method=method)


def paired_candidate(ours: pd.DataFrame, candidate: Candidate) -> pd.DataFrame:
    """Our rows and the candidate's on the same (dataset, method, repeat, fold), labelled
    like Table 2 (``BCE-ASTra`` ...), with ``_ours`` and ``_cand`` columns."""
    paired = reports.pair_folds(ours, candidate.base_rows(), ("_ours", "_cand"))
    return reports.with_labels(paired).assign(candidate=candidate.name)


def _cell_means(paired: pd.DataFrame, metrics) -> pd.DataFrame:
    parts = []
    for metric in metrics:
        means = paired.groupby(["candidate", "dataset", "method"])[
            [f"{metric}_ours", f"{metric}_cand"]].mean()
        means.columns = ["ours_subset", "candidate_mean"]
        parts.append(means.assign(metric=metric, folds=paired.groupby(
            ["candidate", "dataset", "method"]).size()))
    return pd.concat(parts).reset_index()


def explained_gaps(comparison: pd.DataFrame, paired: pd.DataFrame,
                   metrics=("g_mean", "mcc")) -> pd.DataFrame:
    """Criterion C1 for every (gap cell, candidate that changed it).

    Args:
        comparison: :func:`cmloss.stats.reports.astra_comparison` of our full rows
            (``flag`` marks the cells beyond one paper standard deviation).
        paired: :func:`paired_candidate` tables of one or more candidates, concatenated.
        metrics: the metrics of the comparison.

    Returns:
        One row per gap cell and candidate: ``ours_subset`` (our mean on the paired
        folds), ``candidate_mean``, ``paper_mean``, ``moved_fraction`` (the share of the
        gap ``paper - ours_subset`` the candidate closed; negative: it moved away) and
        ``explains`` (``moved_fraction >= 0.5``).
    """
    gaps = comparison[comparison["flag"]][["dataset", "method", "metric", "paper_mean"]]
    effects = _cell_means(paired, metrics).merge(gaps, on=["dataset", "method", "metric"])
    gap = effects["paper_mean"] - effects["ours_subset"]
    moved = effects["candidate_mean"] - effects["ours_subset"]
    effects["moved_fraction"] = np.where(gap != 0, moved / gap.where(gap != 0, 1.0), np.nan)
    effects["explains"] = effects["moved_fraction"] >= 0.5
    return effects


def adoption(paired: pd.DataFrame, *, min_problems_up: int = 3,
             max_drop: float = 0.02) -> pd.DataFrame:
    """Criterion C2 per candidate, from the test G-mean alone.

    Returns:
        One row per candidate: ``problems_up`` (problems on which the mean G-mean over the
        methods it changed rose), ``worst_drop`` (the largest fall of one method's mean on
        one problem, 0 if none fell), ``problems`` and ``adopt``.
    """
    unchanged = paired.groupby(["candidate", "method"])["same_confusion_matrix"].transform("all")
    changed = paired[~unchanged]  # the methods whose networks the candidate changed
    per_cell = changed.groupby(["candidate", "dataset", "method"])[
        ["g_mean_ours", "g_mean_cand"]].mean()
    per_cell["change"] = per_cell["g_mean_cand"] - per_cell["g_mean_ours"]
    per_problem = per_cell.groupby(["candidate", "dataset"])["change"].mean()
    out = pd.DataFrame({
        "problems": per_problem.groupby("candidate").size(),
        "problems_up": (per_problem > 0).groupby("candidate").sum(),
        "worst_drop": (-per_cell["change"]).clip(lower=0).groupby("candidate").max(),
    })
    out["adopt"] = (out["problems_up"] >= min_problems_up) & (out["worst_drop"] <= max_drop)
    return out.reset_index()


def ledger_table(comparison: pd.DataFrame, effects: pd.DataFrame,
                 tried: list[str]) -> pd.DataFrame:
    """Every cell beyond one paper std with the candidates that explain it (C1), or
    ``"not explained"`` with how many candidates changed it and the one that came closest.

    Args:
        comparison: :func:`cmloss.stats.reports.astra_comparison` of our full rows.
        effects: :func:`explained_gaps`.
        tried: the candidates' names.
    """
    gaps = comparison[comparison["flag"]]
    rows = []
    for gap in gaps.itertuples():
        mine = effects[(effects["dataset"] == gap.dataset) & (effects["method"] == gap.method)
                       & (effects["metric"] == gap.metric)]
        explaining = mine[mine["explains"]]
        if len(explaining):
            cause = "; ".join(f"{e.candidate} (closes {_percent(e.moved_fraction)})"
                              for e in explaining.itertuples())
        elif len(mine):  # every candidate's share is in ``effects``; name the closest
            best = mine.loc[mine["moved_fraction"].idxmax()]
            cause = (f"not explained ({len(mine)} tried; closest: {best.candidate}, "
                     f"{_percent(best.moved_fraction)})")
        else:
            cause = f"not explained (no candidate changes this method; tried: {', '.join(tried)})"
        rows.append({"dataset": gap.dataset, "method": gap.method, "metric": gap.metric,
                     "ours": gap.ours_mean, "paper": gap.paper_mean,
                     "diff in paper std": gap.diff_in_std, "cause found": cause})
    return pd.DataFrame(rows)


def _percent(fraction: float) -> str:
    """``fraction`` as a whole percentage, without "-0%" for a tiny negative one."""
    return f"{round(fraction, 2) + 0.0:.0%}"


def nonfinite_folds(run_path: str | Path, rows: pd.DataFrame) -> dict:
    """How many folds of a run could have kept a diverged network, from its stored curves.

    A NaN network shows as a non-finite training loss (cross-entropy) or, under the
    zero-division policy of earlier versions, a loss of exactly 1 at the selected epoch
    (confusion-matrix losses), and it predicts no positive (``NaN > t`` is false).

    Returns:
        ``folds`` with curves, ``nonfinite_curve`` (folds whose stored training loss is
        ever non-finite), ``all_negative`` (network folds predicting no positive) and
        ``all_negative_suspect`` (of those, the ones whose loss at the selected epoch is
        non-finite or exactly 1, where the full curve is stored).
    """
    run_path = Path(run_path)
    counts = dict.fromkeys(("folds", "nonfinite_curve", "all_negative",
                            "all_negative_suspect"), 0)
    index = rows.set_index(["dataset", "method", "repeat", "fold"])
    for chunk in sorted(run_path.glob("chunks/*/*/repeat-*.npz")):
        dataset, method = chunk.parts[-3], chunk.parts[-2]
        repeat = int(chunk.stem.split("-")[1])
        with np.load(chunk) as data:
            if "train_loss" not in data.files:
                continue  # an estimator method: no curves
            full = data["train_loss_full"] if "train_loss_full" in data.files else None
            curves = full if full is not None else data["train_loss"]
            for i, fold in enumerate(data["fold"]):
                counts["folds"] += 1
                counts["nonfinite_curve"] += int(not np.isfinite(curves[i]).all())
                row = index.loc[(dataset, method, repeat, int(fold))]
                if row["tp"] + row["fp"] > 0:
                    continue
                counts["all_negative"] += 1
                if full is not None and not pd.isna(row["selected_epoch"]):
                    at = full[i][min(int(row["selected_epoch"]), full.shape[1] - 1)]
                    counts["all_negative_suspect"] += int(not np.isfinite(at) or at == 1.0)
    return counts
