"""Figures of Bayesian comparisons and of calibration, in the book's colours
(:mod:`cmloss.plotting`).

Matplotlib is imported inside each function, so importing this module is cheap.

- :func:`plot_simplex`: the sign test's posterior draws in a triangle (like baycomp's own
  ``plot_simplex``), each draw coloured by the region that wins in it (method ``a``'s
  colour, grey for the rope, method ``b``'s colour), vertices labelled with the method
  names and probabilities.
- :func:`plot_wtl_vs_imbalance`: per-dataset decisions (win, tie, loss, undecided) of
  each pair against the dataset's imbalance ratio (for a handful of datasets).
- :func:`plot_decisions_by_dataset`: the same decisions as a grid, one row per dataset in
  order of imbalance ratio and one column per pair (readable for dozens of datasets).
- :func:`plot_reliability`: reliability diagrams of several methods' test scores from
  pooled reliability bins (:func:`cmloss.core.evaluation.reliability_bins`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from cmloss.plotting import method_color
from cmloss.stats.bayesian import BayesResult

__all__ = [
    "ROPE_COLOR",
    "plot_decisions_by_dataset",
    "plot_reliability",
    "plot_simplex",
    "plot_wtl_vs_imbalance",
]

ROPE_COLOR: str = "#949494"
"""Colour of the rope (practical equivalence) in every comparison figure."""

_SQ3 = math.sqrt(3.0)


def _project(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Barycentric (a, rope, b) -> plane: a at (0, 0), b at (1, 0), rope at the top."""
    pa, pr, pb = weights.T
    total = pa + pr + pb
    return (pb + pr / 2) / total, (pr * _SQ3 / 2) / total


def plot_simplex(
    result: BayesResult | np.ndarray,
    names: tuple[str, str] | None = None,
    *,
    ax: Any = None,
    max_points: int = 5_000,
    seed: int = 0,
    title: str | None = None,
) -> Any:
    """Plot sign-test posterior draws in a simplex (ternary) diagram.

    Args:
        result: A sign-test :class:`~cmloss.stats.BayesResult` computed with
            ``keep_samples=True``, or an ``(nsamples, 3)`` array of (a better, rope,
            b better) weights.
        names: Method names (default: the result's).
        ax: Matplotlib axes to draw in (default: a new figure).
        max_points: Draws plotted at most (a seeded random subset, for speed).
        seed: Seed of that subset.
        title: Axes title (default: "``a`` vs ``b``").

    Returns:
        The matplotlib figure.

    Raises:
        ValueError: A result without samples, or samples of the wrong shape.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    if isinstance(result, BayesResult):
        if result.samples is None or result.samples.ndim != 2:
            raise ValueError("plot_simplex needs a sign-test result computed with "
                             "keep_samples=True")
        samples = result.samples
        names = names or (result.method_a, result.method_b)
        probs = (result.p_a_better, result.p_rope, result.p_b_better)
    else:
        samples = np.asarray(result, dtype=float)
        if samples.ndim != 2 or samples.shape[1] != 3:
            raise ValueError(f"samples must have shape (nsamples, 3), got {samples.shape}")
        names = names or ("a", "b")
        winners = np.argmax(samples, axis=1)
        probs = tuple(np.bincount(winners, minlength=3) / len(winners))
    if len(samples) > max_points:
        keep = np.random.default_rng(seed).choice(len(samples), max_points, replace=False)
        samples = samples[keep]
    colors = [method_color(names[0]), ROPE_COLOR, method_color(names[1])]

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 5.0))
    else:
        fig = ax.figure
    ax.set_aspect("equal")
    ax.add_line(Line2D([0, 0.5, 1, 0], [0, _SQ3 / 2, 0, 0], color="black", linewidth=1))
    cx, cy = 0.5, _SQ3 / 6  # centroid; lines to the edge midpoints split the regions
    for mx, my in ((0.25, _SQ3 / 4), (0.75, _SQ3 / 4), (0.5, 0.0)):
        ax.add_line(Line2D([cx, mx], [cy, my], color="black", linewidth=0.8,
                           linestyle="--"))
    x, y = _project(samples)
    region = np.argmax(samples, axis=1)
    for k in range(3):
        sel = region == k
        if sel.any():
            ax.scatter(x[sel], y[sel], s=6, alpha=0.4, color=colors[k], linewidths=0,
                       rasterized=True)
    labels = [f"{names[0]} better\np = {probs[0]:.3f}", f"rope\np = {probs[1]:.3f}",
              f"{names[1]} better\np = {probs[2]:.3f}"]
    ax.text(0, -0.04, labels[0], ha="center", va="top", color=colors[0], fontweight="bold")
    ax.text(0.5, _SQ3 / 2 + 0.03, labels[1], ha="center", va="bottom", color="dimgray",
            fontweight="bold")
    ax.text(1, -0.04, labels[2], ha="center", va="top", color=colors[2], fontweight="bold")
    ax.set_xlim(-0.2, 1.2)
    ax.set_ylim(-0.25, 1.12)
    ax.axis("off")
    ax.set_title(title or f"{names[0]} vs {names[1]}: sign-test posterior")
    return fig


_MAX_NAMED_DATASETS = 12
""":func:`plot_wtl_vs_imbalance` names the datasets on its top axis up to this many."""


def _decisions(comparisons: pd.DataFrame, imbalance: Mapping[str, float] | None,
               threshold: float | None, dataset_col: str):
    """Checked copy of per-dataset comparisons with ``decision`` (recomputed at
    ``threshold`` if given) and ``ir``; the pairs in order; their W/T/L/U counts."""
    from cmloss.stats.tables import win_tie_loss

    frame = comparisons.copy()
    if dataset_col not in frame.columns:
        raise ValueError(f"the comparisons have no {dataset_col!r} column (use the "
                         "per-dataset correlated t-test)")
    if "metric" in frame.columns and frame["metric"].nunique() > 1:
        raise ValueError(f"one metric at a time, got {sorted(frame['metric'].unique())}")
    if threshold is not None:
        dec = np.full(len(frame), "undecided", dtype=object)
        for label, col in (("rope", "p_rope"), ("b", "p_b_better"), ("a", "p_a_better")):
            dec[(frame[col] >= threshold).to_numpy()] = label
        frame["decision"] = dec
    if imbalance is None:
        from cmloss.data import get_dataset_info

        imbalance = {ds: get_dataset_info(ds).imbalance_ratio
                     for ds in frame[dataset_col].unique()}
    lacking = sorted(set(frame[dataset_col]) - set(imbalance))
    if lacking:
        raise ValueError(f"no imbalance ratio for dataset(s) {lacking}")
    frame["ir"] = frame[dataset_col].map(imbalance).astype(float)
    pairs = list(dict.fromkeys(zip(frame["method_a"], frame["method_b"])))
    counts = win_tie_loss(frame).set_index(["method_a", "method_b"])
    return frame, pairs, counts


def _draw_decisions(ax: Any, frame: pd.DataFrame, pairs: list, where, size: float) -> None:
    """One marker per decision of each pair (k-th pair: ``where(rows, k)`` gives x, y):
    win in ``a``'s colour, loss in ``b``'s, the rope grey, undecided black."""
    for k, (a, b) in enumerate(pairs):
        sub = frame[(frame["method_a"] == a) & (frame["method_b"] == b)]
        colours = {"a": method_color(a), "b": method_color(b), "rope": ROPE_COLOR,
                   "undecided": "black"}
        for label, (marker, _) in _MARKERS.items():
            pts = sub[sub["decision"] == label]
            if not pts.empty:
                ax.scatter(*where(pts, k), marker=marker, s=size, color=colours[label],
                           zorder=3)


_MARKERS = {"a": ("^", "win"), "rope": ("o", "tie (rope)"), "b": ("v", "loss"),
            "undecided": ("x", "undecided")}


def plot_wtl_vs_imbalance(
    comparisons: pd.DataFrame,
    imbalance: Mapping[str, float] | None = None,
    *,
    threshold: float | None = None,
    dataset_col: str = "dataset",
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Per-dataset decisions of each pair against the imbalance ratio (log scale).

    One row per pair (``method_a`` vs ``method_b``); at each dataset's IR a marker: a
    triangle up in ``method_a``'s colour (``a`` better), down in ``method_b``'s colour
    (``b`` better), a grey circle (rope) or a black cross (undecided). The row label ends
    with the W/T/L/U counts.

    Args:
        comparisons: Per-dataset comparisons (:func:`cmloss.stats.compare_pairs` with
            ``test="correlated_t"``), one metric.
        imbalance: IR per dataset; default: ``imbalance_ratio`` of
            :func:`cmloss.data.get_dataset_info`.
        threshold: Recompute decisions at this posterior probability (default: the
            ``decision`` column).
        dataset_col: Name of the dataset column.
        ax: Matplotlib axes (default: a new figure).
        title: Axes title.

    Returns:
        The matplotlib figure.

    Raises:
        ValueError: Several metrics mixed, or a dataset without an IR.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    frame, pairs, counts = _decisions(comparisons, imbalance, threshold, dataset_col)

    if ax is None:
        fig, ax = plt.subplots(figsize=(7.0, 0.7 * len(pairs) + 1.6))
    else:
        fig = ax.figure
    _draw_decisions(ax, frame, pairs, lambda pts, row: (pts["ir"], np.full(len(pts), row)),
                    size=70)
    ax.set_xscale("log")
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    irs = frame.drop_duplicates(dataset_col).sort_values("ir")
    if len(irs) <= _MAX_NAMED_DATASETS:  # more names would overlap on the axis
        top = ax.secondary_xaxis("top")
        top.set_xticks(irs["ir"].tolist(), labels=irs[dataset_col].tolist(), rotation=35,
                       ha="left", fontsize=8)
        top.xaxis.set_minor_formatter(NullFormatter())
    c = counts
    ax.set_yticks(range(len(pairs)))
    ax.set_yticklabels([
        f"{a} vs {b}\nW/T/L/U {c.loc[(a, b), 'wins']}/{c.loc[(a, b), 'ties']}/"
        f"{c.loc[(a, b), 'losses']}/{c.loc[(a, b), 'undecided']}" for a, b in pairs])
    ax.set_ylim(-0.6, len(pairs) - 0.4)
    ax.invert_yaxis()
    ax.set_xlabel("imbalance ratio (negatives per positive, log scale)")
    handles = [Line2D([], [], marker=m, linestyle="", color="dimgray", label=lab)
               for m, lab in _MARKERS.values()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    metric = frame["metric"].iloc[0] if "metric" in frame.columns else "metric"
    ax.set_title(title or f"Bayesian decisions on {metric} vs imbalance ratio")
    fig.tight_layout()
    return fig


def plot_decisions_by_dataset(
    comparisons: pd.DataFrame,
    imbalance: Mapping[str, float] | None = None,
    *,
    threshold: float | None = None,
    dataset_col: str = "dataset",
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Per-dataset decisions of each pair as a grid, datasets in order of imbalance ratio.

    One row per dataset (least imbalanced at the top, labelled ``name (IR)``), one column
    per pair (``method_a`` vs ``method_b``, with its W/T/L/U counts); in each cell a
    triangle up in ``method_a``'s colour (``a`` better), down in ``method_b``'s colour
    (``b`` better), a grey circle (rope) or a black cross (undecided). Unlike
    :func:`plot_wtl_vs_imbalance`, every dataset keeps a readable label however many
    there are.

    Args:
        comparisons: Per-dataset comparisons (:func:`cmloss.stats.compare_pairs` with
            ``test="correlated_t"``), one metric.
        imbalance: IR per dataset; default: ``imbalance_ratio`` of
            :func:`cmloss.data.get_dataset_info`.
        threshold: Recompute decisions at this posterior probability (default: the
            ``decision`` column).
        dataset_col: Name of the dataset column.
        ax: Matplotlib axes (default: a new figure sized to the grid, 7.5 inches wide).
        title: Axes title.

    Returns:
        The matplotlib figure.

    Raises:
        ValueError: Several metrics mixed, or a dataset without an IR.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    frame, pairs, counts = _decisions(comparisons, imbalance, threshold, dataset_col)
    datasets = (frame.drop_duplicates(dataset_col).sort_values(["ir", dataset_col])
                [[dataset_col, "ir"]])
    row_of = {ds: k for k, ds in enumerate(datasets[dataset_col])}
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 0.24 * len(datasets) + 1.9))
    else:
        fig = ax.figure
    _draw_decisions(
        ax, frame, pairs,
        lambda pts, col: (np.full(len(pts), col), pts[dataset_col].map(row_of)), size=42)
    ax.set_xticks(range(len(pairs)))
    ax.set_xticklabels(  # upright, so that long method names never run into each other
        [f"{a} vs {b}\n{counts.loc[(a, b), 'wins']}/{counts.loc[(a, b), 'ties']}/"
         f"{counts.loc[(a, b), 'losses']}/{counts.loc[(a, b), 'undecided']}"
         for a, b in pairs], fontsize=8, rotation=90, ha="center", va="bottom")
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(datasets)))
    ax.set_yticklabels([f"{ds} ({ir:.0f})" for ds, ir in datasets.itertuples(index=False)],
                       fontsize=8)
    ax.set_xlim(-0.6, len(pairs) - 0.4)
    ax.set_ylim(len(datasets) - 0.5, -0.5)
    ax.grid(True, axis="y", alpha=0.25)
    ax.grid(False, axis="x")
    ax.set_ylabel("dataset (imbalance ratio), least imbalanced first")
    handles = [Line2D([], [], marker=m, linestyle="", color="dimgray", label=lab)
               for m, lab in _MARKERS.values()]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=4,
              title="W/T/L/U under each pair: wins / ties / losses / undecided")
    metric = frame["metric"].iloc[0] if "metric" in frame.columns else "metric"
    ax.set_title(title or f"Bayesian decisions on {metric}, dataset by dataset", pad=12)
    fig.tight_layout()
    return fig


def plot_reliability(
    bins: Mapping[str, np.ndarray],
    *,
    min_weight: float = 10.0,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Reliability diagram: observed share of positives against mean score, per bin.

    Args:
        bins: method label -> ``(n_bins, 3)`` array of ``(weight, sum_y, sum_p)`` per bin
            (:func:`cmloss.core.evaluation.reliability_bins`; the bins of several folds
            add up, so pass their sum).
        min_weight: bins holding less weight (rows) than this are not drawn (their share
            of positives is mostly noise), and the line breaks there; the legend gives
            each method's ECE over all bins.
        ax: Matplotlib axes (default: a new 4.2 x 4 inch figure).
        title: Axes title.

    Returns:
        The matplotlib figure. The dashed diagonal is perfect calibration.

    Raises:
        ValueError: a bins array that is not ``(n_bins, 3)`` or holds no weight.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 4.0))
    else:
        fig = ax.figure
    ax.plot([0, 1], [0, 1], ls="--", color=ROPE_COLOR, lw=1)
    for label, b in bins.items():
        b = np.asarray(b, np.float64)
        if b.ndim != 2 or b.shape[1] != 3 or not b[:, 0].sum() > 0:
            raise ValueError(f"bins[{label!r}] must be an (n_bins, 3) array with weight; got "
                             f"shape {b.shape}.")
        weight, sum_y, sum_p = b.T
        ece = np.abs(sum_y - sum_p).sum() / weight.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            # bins left out are NaN, so that the line breaks there instead of jumping
            x = np.where(weight >= min_weight, sum_p / weight, np.nan)
            y = np.where(weight >= min_weight, sum_y / weight, np.nan)
        ax.plot(x, y, marker="o", ms=3.5, lw=1.3, color=method_color(label),
                label=f"{label} (ECE {ece:.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean score in bin")
    ax.set_ylabel("share of positives in bin")
    ax.legend(fontsize=7, loc="upper left")
    if title:
        ax.set_title(title)
    return fig
