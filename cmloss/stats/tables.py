"""Table builders for the book: fold summaries, ours-vs-paper tables, win/tie/loss counts,
and plain markdown/HTML rendering (no extra dependency beyond pandas).

Input formats
-------------
- *Fold results*: one row per (dataset, method, repeat, fold) with one column per metric
  ("wide"), or with ``metric`` and ``value`` columns ("long").
- *Summaries*: long, ``[*by, metric, mean, std, n]`` (:func:`summarise_folds`); the
  published ASTra Table 2 (:func:`cmloss.stats.published.astra_table2`) has the same shape.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from cmloss.stats.bayesian import BayesResult

__all__ = [
    "compact_wtl",
    "decision_table",
    "format_mean_std",
    "glue",
    "show",
    "side_by_side",
    "summarise_folds",
    "to_html",
    "to_markdown",
    "wide_layout",
    "win_tie_loss",
]

_DASH = "–"


def format_mean_std(mean: float, std: float | None = None, digits: int = 3) -> str:
    """``"0.892 (0.273)"``; ``"0.892"`` without a std; ``"–"`` for a missing mean and
    ``"0.892 (–)"`` for a missing std (e.g. a single result).

    Args:
        mean: The mean.
        std: The standard deviation, or ``None`` to print the mean alone.
        digits: Decimals.

    Example:

    >>> format_mean_std(0.8923, 0.27315), format_mean_std(-0.0, 0.001)
    ('0.892 (0.273)', '-0.000 (0.001)')
    """
    if mean is None or pd.isna(mean):
        return _DASH
    text = f"{mean:.{digits}f}"
    if std is None:
        return text
    return f"{text} ({_DASH if pd.isna(std) else f'{std:.{digits}f}'})"


def _long_values(results: pd.DataFrame, metrics: Sequence[str] | None,
                 keys: Sequence[str]) -> pd.DataFrame:
    """``[*keys, metric, value]`` from a wide or long fold-results table."""
    keys = list(keys)
    missing = [k for k in keys if k not in results.columns]
    if missing:
        raise ValueError(f"the results lack column(s) {missing}; they have "
                         f"{list(results.columns)}")
    if {"metric", "value"} <= set(results.columns):
        frame = results[[*keys, "metric", "value"]]
        if metrics is not None:
            unknown = sorted(set(metrics) - set(frame["metric"]))
            if unknown:
                raise ValueError(f"metric(s) {unknown} not in the results' 'metric' column")
            frame = frame[frame["metric"].isin(list(metrics))]
        return frame
    if metrics is None:
        raise ValueError("pass metrics=[...] for a wide results table")
    unknown = [m for m in metrics if m not in results.columns]
    if unknown:
        raise ValueError(f"metric column(s) {unknown} not in the results; columns: "
                         f"{list(results.columns)}")
    return results.melt(id_vars=keys, value_vars=list(metrics), var_name="metric",
                        value_name="value")


def summarise_folds(
    results: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    by: Sequence[str] = ("dataset", "method"),
    *,
    ddof: int = 1,
) -> pd.DataFrame:
    """Mean, standard deviation and count of fold results per group and metric.

    Args:
        results: Fold results, wide (a column per metric) or long (``metric``, ``value``).
        metrics: Metric columns to summarise (required for a wide table; for a long one,
            ``None`` keeps every metric).
        by: Grouping columns.
        ddof: Delta degrees of freedom of the std (1: sample std; the std of a group with
            a single result is then NaN, printed "–").

    Returns:
        Long DataFrame ``[*by, metric, mean, std, n]``, groups in sorted order.

    Raises:
        ValueError: Missing columns, or NaN metric values (fill or drop them explicitly).

    Example:

    >>> df = pd.DataFrame({"dataset": "d", "method": ["A", "A", "B", "B"],
    ...                    "fold": [0, 1, 0, 1], "g_mean": [0.5, 1.0, 0.0, 0.0]})
    >>> summarise_folds(df, ["g_mean"]).round(3).values.tolist()
    [['d', 'A', 'g_mean', 0.75, 0.354, 2], ['d', 'B', 'g_mean', 0.0, 0.0, 2]]
    """
    by = list(by)
    frame = _long_values(results, metrics, by)
    if frame["value"].isna().any():
        bad = frame.loc[frame["value"].isna(), [*by, "metric"]].iloc[0].tolist()
        raise ValueError(f"NaN metric values, e.g. at {bad}; fill or drop them explicitly")
    out = (frame.groupby([*by, "metric"], sort=True)["value"]
           .agg(mean="mean", std=lambda v: v.std(ddof=ddof), n="count").reset_index())
    out["n"] = out["n"].astype(int)
    return out


def side_by_side(
    ours: pd.DataFrame,
    published: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    keys: Sequence[str] = ("dataset", "method", "metric"),
    *,
    tolerance: float = 1.0,
    std_floor: float = 0.0005,
    digits: int = 3,
    how: Literal["left", "inner"] = "left",
) -> pd.DataFrame:
    """Our mean (std) beside the paper's, with the difference in units of the paper's std.

    ``diff = ours_mean - paper_mean`` and ``diff_in_std = diff / max(paper_std,
    std_floor)``; ``flag`` is ``|diff_in_std| > tolerance`` (by default: more than one
    paper std apart). The floor is half a unit of the paper's last printed decimal: a
    printed std of ``0.000`` means "below 0.0005", so no cell divides by zero.

    Args:
        ours: Our summary ``[*keys, mean, std, n]`` (:func:`summarise_folds`), or raw fold
            results, summarised here over ``keys`` minus ``metric`` (pass ``metrics`` for a
            wide table).
        published: The paper's ``[*keys, mean, std]`` (e.g. ``astra_table2()``); a
            ``value`` column is accepted as the mean. Without ``std``, only ``diff`` is
            given (``diff_in_std`` and ``flag`` need a std).
        metrics: Metrics to keep (and to summarise, for raw results).
        keys: Join columns.
        tolerance: Flag threshold in paper stds.
        std_floor: Smallest paper std used as a denominator.
        digits: Decimals of the formatted ``ours``/``paper`` columns.
        how: ``"left"`` keeps every paper cell (``missing`` marks cells we lack);
            ``"inner"`` keeps only cells present in both.

    Returns:
        ``[*keys, ours_mean, ours_std, ours_n, paper_mean, paper_std, diff, diff_in_std,
        flag, missing, ours, paper]``, in the paper's row order.

    Example:

    >>> paper = pd.DataFrame({"dataset": ["d"], "method": ["BCE"], "metric": ["mcc"],
    ...                       "mean": [0.8], "std": [0.05]})
    >>> mine = paper.assign(mean=0.9, std=0.1, n=50)
    >>> side_by_side(mine, paper)[["diff_in_std", "flag", "ours", "paper"]].round(6
    ...     ).values.tolist()
    [[2.0, True, '0.900 (0.100)', '0.800 (0.050)']]
    """
    keys = list(keys)
    if how not in ("left", "inner"):
        raise ValueError(f"how must be 'left' or 'inner', got {how!r}")
    if not tolerance > 0 or not std_floor > 0:
        raise ValueError(f"tolerance and std_floor must be > 0, got {tolerance}, {std_floor}")
    if "mean" not in ours.columns:
        ours = summarise_folds(ours, metrics, by=[k for k in keys if k != "metric"])
    pub = published.rename(columns={"value": "mean"}) if "mean" not in published.columns \
        else published
    for name, frame in (("ours", ours), ("published", pub)):
        lacking = [c for c in [*keys, "mean"] if c not in frame.columns]
        if lacking:
            raise ValueError(f"{name} lacks column(s) {lacking}; it has {list(frame.columns)}")
    if metrics is not None and "metric" in keys:
        ours = ours[ours["metric"].isin(list(metrics))]
        pub = pub[pub["metric"].isin(list(metrics))]
    for name, frame in (("ours", ours), ("published", pub)):
        dup = frame.duplicated(keys)
        if dup.any():
            raise ValueError(f"{name} has duplicate rows for {keys}, e.g. "
                             f"{frame.loc[dup, keys].iloc[0].tolist()}; filter first or add "
                             "a key column (e.g. 'model')")
    has_std = "std" in pub.columns
    left = pub[[*keys, "mean", *(["std"] if has_std else [])]].rename(
        columns={"mean": "paper_mean", "std": "paper_std"})
    right = ours[[*keys, "mean", *[c for c in ("std", "n") if c in ours.columns]]].rename(
        columns={"mean": "ours_mean", "std": "ours_std", "n": "ours_n"})
    out = left.merge(right, on=keys, how=how, validate="one_to_one")
    for col in ("ours_std", "ours_n"):
        if col not in out.columns:
            out[col] = np.nan
    if not has_std:
        out["paper_std"] = np.nan
    out["missing"] = out["ours_mean"].isna()
    out["diff"] = out["ours_mean"] - out["paper_mean"]
    if has_std:
        out["diff_in_std"] = out["diff"] / np.maximum(out["paper_std"], std_floor)
        out["flag"] = out["diff_in_std"].abs() > tolerance
    else:
        out["diff_in_std"] = np.nan
        out["flag"] = False
    out["ours"] = [format_mean_std(m, s, digits) for m, s in
                   zip(out["ours_mean"], out["ours_std"])]
    out["paper"] = [format_mean_std(m, s if has_std else None, digits) for m, s in
                    zip(out["paper_mean"], out["paper_std"])]
    cols = [*keys, "ours_mean", "ours_std", "ours_n", "paper_mean", "paper_std", "diff",
            "diff_in_std", "flag", "missing", "ours", "paper"]
    return out[cols].reset_index(drop=True)


def win_tie_loss(
    comparisons: pd.DataFrame | Iterable[BayesResult],
    by: Sequence[str] = ("method_a", "method_b"),
    *,
    threshold: float | None = None,
) -> pd.DataFrame:
    """Count decisions of Bayesian comparisons (e.g. per dataset) as wins/ties/losses of
    ``method_a`` against ``method_b``.

    win: ``method_a`` better (``decision == "a"``); tie: rope; loss: ``method_b`` better;
    undecided: no probability reached the threshold.

    Args:
        comparisons: The output of :func:`cmloss.stats.compare_pairs`, or
            :class:`BayesResult` objects.
        by: Grouping columns (e.g. add ``"metric"``).
        threshold: Recompute decisions at this posterior probability; ``None`` uses the
            ``decision`` column (BayesResults: 0.95).

    Returns:
        ``[*by, wins, ties, losses, undecided, total]``.

    Example:

    >>> from cmloss.stats.bayesian import BayesResult
    >>> rs = [BayesResult("GMN", "BCE", p, 1 - p, 0.0, 50, 0.01, "correlated_t")
    ...       for p in (0.99, 0.97, 0.02)]
    >>> win_tie_loss(rs).values.tolist()
    [['GMN', 'BCE', 2, 1, 0, 0, 3]]
    """
    if isinstance(comparisons, pd.DataFrame):
        frame = comparisons.copy()
    else:
        frame = pd.DataFrame([r.as_dict(threshold or 0.95) for r in comparisons])
    by = list(by)
    if frame.empty:
        return pd.DataFrame(columns=[*by, "wins", "ties", "losses", "undecided", "total"])
    if threshold is not None:
        if not 0.5 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0.5, 1], got {threshold!r}")
        decision = np.full(len(frame), "undecided", dtype=object)
        for label, col in (("rope", "p_rope"), ("b", "p_b_better"), ("a", "p_a_better")):
            decision[(frame[col] >= threshold).to_numpy()] = label
        frame["decision"] = decision
    lacking = [c for c in [*by, "decision"] if c not in frame.columns]
    if lacking:
        raise ValueError(f"the comparisons lack column(s) {lacking}")
    counts = pd.crosstab([frame[c] for c in by], frame["decision"])
    for label in ("a", "rope", "b", "undecided"):
        if label not in counts.columns:
            counts[label] = 0
    counts = counts[["a", "rope", "b", "undecided"]].rename(
        columns={"a": "wins", "rope": "ties", "b": "losses"})
    counts["total"] = counts.sum(axis=1)
    counts.columns.name = None
    return counts.reset_index().astype({c: int for c in
                                        ("wins", "ties", "losses", "undecided", "total")})


def wide_layout(
    table: pd.DataFrame,
    values: str = "ours",
    index: Sequence[str] = ("dataset", "metric"),
    columns: str = "method",
    *,
    column_order: Sequence[str] | None = None,
    index_order: dict[str, Sequence[Any]] | None = None,
) -> pd.DataFrame:
    """Pivot a long table into the paper's layout (e.g. rows dataset x metric, a column per
    method), keeping the first-seen order of rows and columns unless told otherwise.

    Args:
        table: Long table (e.g. :func:`side_by_side`'s output).
        values: The column placed in the cells (``"ours"``, ``"paper"``, ``"flag"``, ...).
        index: Row keys.
        columns: Column key.
        column_order: Order of the columns (default: first appearance).
        index_order: Order of each index level's values (default: first appearance).

    Returns:
        The wide DataFrame.
    """
    index = list(index)
    wide = table.pivot(index=index, columns=columns, values=values)
    cols = list(column_order) if column_order is not None else list(
        dict.fromkeys(table[columns]))
    wide = wide.reindex(columns=[c for c in cols if c in wide.columns])
    orders = {lvl: list(dict.fromkeys(table[lvl])) for lvl in index}
    orders.update({k: list(v) for k, v in (index_order or {}).items()})
    rows = list(dict.fromkeys(tuple(r) for r in table[index].itertuples(index=False)))
    rows.sort(key=lambda r: tuple(orders[lvl].index(v) if v in orders[lvl] else len(orders[lvl])
                                  for lvl, v in zip(index, r)))
    wide = wide.reindex(pd.MultiIndex.from_tuples(rows, names=index) if len(index) > 1
                        else pd.Index([r[0] for r in rows], name=index[0]))
    wide.columns.name = columns
    return wide


def compact_wtl(counts: pd.DataFrame, *, metric_col: str = "metric") -> pd.DataFrame:
    """Win/tie/loss counts (:func:`win_tie_loss`) as one row per pair, ``"GMN vs BCE"``,
    and one column per metric, each cell ``"wins / ties / losses / undecided"``.

    Args:
        counts: :func:`win_tie_loss`'s output, grouped by ``method_a``, ``method_b`` and
            optionally ``metric_col``.
        metric_col: The metric column (absent: a single ``"W / T / L / U"`` column).

    Returns:
        The compact table, pairs in their first-seen order, indexed by ``pair``.

    Example:

    >>> counts = pd.DataFrame({"metric": ["g_mean", "mcc"], "method_a": "GMN",
    ...     "method_b": "BCE", "wins": [3, 1], "ties": [1, 0], "losses": [0, 2],
    ...     "undecided": [1, 2], "total": 5})
    >>> compact_wtl(counts).to_dict("index")
    {'GMN vs BCE': {'g_mean W / T / L / U': '3 / 1 / 0 / 1', 'mcc W / T / L / U': '1 / 0 / 2 / 2'}}
    """
    lacking = [c for c in ("method_a", "method_b", "wins", "ties", "losses", "undecided")
               if c not in counts.columns]
    if lacking:
        raise ValueError(f"counts lack column(s) {lacking}; pass win_tie_loss's output")
    frame = counts.assign(
        pair=counts["method_a"] + " vs " + counts["method_b"],
        cell=[f"{w} / {t} / {lo} / {u}" for w, t, lo, u in
              counts[["wins", "ties", "losses", "undecided"]].itertuples(index=False)])
    pairs = list(dict.fromkeys(frame["pair"]))
    if metric_col not in frame.columns:
        return frame.set_index("pair")[["cell"]].rename(columns={"cell": "W / T / L / U"})
    wide = frame.pivot(index="pair", columns=metric_col, values="cell").reindex(pairs)
    wide.columns = [f"{m} W / T / L / U" for m in wide.columns]
    return wide


_DECISION_COLUMNS = {"p_a_better": "P(1st better)", "p_rope": "P(rope)",
                     "p_b_better": "P(2nd better)"}


def decision_table(comparisons: pd.DataFrame, keys: Sequence[str] = ("metric",),
                   digits: int = 3) -> pd.DataFrame:
    """:func:`cmloss.stats.compare_pairs`'s output with plain headers, compact enough to
    read at page width: the ``keys`` columns, ``pair`` ("a vs b"), ``n``, the two means as
    one cell, the three posterior probabilities (first method better, practically
    equivalent, second better) and the verdict in words (a probability of at least 0.95).

    Args:
        comparisons: :func:`cmloss.stats.compare_pairs`'s output (or ``as_dict`` rows).
        keys: Leading columns kept as they are (e.g. ``("dataset", "metric")``).
        digits: Decimals of the means and probabilities.

    Returns:
        A new DataFrame (no index).

    Example:

    >>> rows = pd.DataFrame([{"metric": "g_mean", "method_a": "GMN", "method_b": "BCE",
    ...     "n": 40, "mean_a": 0.79, "mean_b": 0.668, "p_a_better": 1.0, "p_rope": 0.0,
    ...     "p_b_better": 0.0, "decision": "a"}])
    >>> decision_table(rows).loc[0, ["pair", "means", "verdict"]].tolist()
    ['GMN vs BCE', '0.790 vs 0.668', 'GMN better']
    """
    keys = list(keys)
    needed = [*keys, "method_a", "method_b", "n", "mean_a", "mean_b", *_DECISION_COLUMNS,
              "decision"]
    lacking = [c for c in needed if c not in comparisons.columns]
    if lacking:
        raise ValueError(f"comparisons lack column(s) {lacking}; pass compare_pairs's output")
    c = comparisons
    verdict = [{"a": f"{a} better", "b": f"{b} better", "rope": "equivalent"}.get(d, d)
               for a, b, d in zip(c["method_a"], c["method_b"], c["decision"])]
    out = c[keys].copy()
    out["pair"] = c["method_a"] + " vs " + c["method_b"]
    out["n"] = c["n"]
    out["means"] = [f"{x:.{digits}f} vs {y:.{digits}f}" for x, y in zip(c["mean_a"],
                                                                         c["mean_b"])]
    for col, header in _DECISION_COLUMNS.items():
        out[header] = c[col].round(digits)
    out["verdict"] = verdict
    return out.reset_index(drop=True)


def glue(name: str, value: Any, display: bool = False) -> None:
    """Store ``value`` for the book's prose (myst-nb's ``glue``; cite it in a markdown
    cell as ``{glue:text}`name``` or, for a :class:`IPython.display.Markdown` value,
    ``{glue:md}`name```).

    Where myst-nb is not installed (Colab, Binder) nothing reads the stored value, so
    nothing is stored; with ``display=True`` the value is still shown.

    Args:
        name: Key of the value, unique within the notebook.
        value: Anything IPython can display.
        display: Also show the value in the cell's output.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show_value

            show_value(value)
        return
    myst_glue(name, value, display=display)


def _header(label: Any) -> str:
    """A column or index label as plain text: a tuple ``("BCE", "ours")`` reads
    ``"BCE ours"``."""
    if isinstance(label, tuple):
        return " ".join(str(part) for part in label if part not in (None, ""))
    return "" if label is None else str(label)


def _cell_text(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return _DASH if np.isnan(v) else f"{v:.3f}"
    return str(v)


def _bold_mask(df: pd.DataFrame, bold: pd.DataFrame | None) -> np.ndarray:
    if bold is None:
        return np.zeros(df.shape, dtype=bool)
    mask = bold.reindex(index=df.index, columns=df.columns)
    return mask.fillna(False).to_numpy(dtype=bool)


def to_markdown(df: pd.DataFrame, *, bold: pd.DataFrame | None = None,
                index: bool = True) -> str:
    """Render a (small) DataFrame as a GitHub/MyST markdown table.

    Args:
        df: The table; floats print with 3 decimals, NaN as "–".
        bold: Optional boolean frame of the same labels; True cells are wrapped in ``**``
            (e.g. ``wide_layout(side, "flag")`` to mark cells more than one paper std off).
        index: Include the index as leading column(s).

    Returns:
        The markdown text.

    Example:

    >>> print(to_markdown(pd.DataFrame({"BCE": ["0.892 (0.273)"]}, index=["skin-588"])))
    | | BCE |
    |---|---|
    | skin-588 | 0.892 (0.273) |
    """
    mask = _bold_mask(df, bold)
    idx_names = list(df.index.names) if index else []
    header = [_header(n) for n in idx_names] + [_header(c) for c in df.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for i, (label, row) in enumerate(zip(df.index, df.itertuples(index=False))):
        labels = (list(label) if isinstance(label, tuple) else [label]) if index else []
        cells = [_cell_text(v) for v in row]
        cells = [f"**{c}**" if mask[i, j] else c for j, c in enumerate(cells)]
        lines.append("| " + " | ".join([str(x) for x in labels] + cells) + " |")
    return "\n".join(lines).replace("|  |", "| |")


def show(df: pd.DataFrame, **kwargs) -> None:
    """Display ``df`` in a notebook as a markdown table (:func:`to_markdown`'s arguments),
    rendered alike in the book and in Jupyter/Colab."""
    from IPython.display import Markdown, display

    display(Markdown(to_markdown(df, **kwargs)))


def to_html(df: pd.DataFrame, *, bold: pd.DataFrame | None = None,
            index: bool = True) -> str:
    """Render a DataFrame as an HTML table (pandas ``to_html``), text escaped, with
    optional bold cells (same meaning as in :func:`to_markdown`).

    Args:
        df: The table.
        bold: Optional boolean frame; True cells are wrapped in ``<b>``.
        index: Include the index.

    Returns:
        The HTML text (for ``IPython.display.HTML``).
    """
    mask = _bold_mask(df, bold)
    text = df.copy().astype(object)
    for i in range(text.shape[0]):
        for j in range(text.shape[1]):
            cell = html.escape(_cell_text(df.iat[i, j]))
            text.iat[i, j] = f"<b>{cell}</b>" if mask[i, j] else cell
    return text.to_html(escape=False, index=index, na_rep=_DASH)
