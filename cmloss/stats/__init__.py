"""Statistics and reporting for the book: Bayesian comparisons, the papers' published
numbers, and table builders (needs the ``[experiments]`` extra: pandas, baycomp).

Not imported by ``import cmloss``; import it explicitly::

    from cmloss.stats import compare_pairs, published, side_by_side

- :mod:`cmloss.stats.bayesian`: :func:`correlated_t_test` (one problem, repeated k-fold
  fold results), :func:`sign_test` (across datasets), :func:`compare_pairs` over a results
  table, all returning :class:`BayesResult` with ``p_a_better = P(a - b > rope)``.
- :mod:`cmloss.stats.published`: ASTra Tables 1 and 2, the AnyLoss comparison, L sweep
  and learning-speed figures, as long DataFrames.
- :mod:`cmloss.stats.tables`: :func:`summarise_folds`, :func:`side_by_side`,
  :func:`win_tie_loss`, :func:`wide_layout`, markdown/HTML rendering, and the book's
  display helpers :func:`compact_wtl`, :func:`decision_table` and :func:`glue`.
- :mod:`cmloss.stats.reports`: our experiment results beside the papers' tables
  (:func:`~cmloss.stats.reports.astra_comparison`, ``anyloss_comparison``, ``convergence``).
- :mod:`cmloss.stats.figures`: simplex and win/tie/loss-vs-imbalance plots (matplotlib
  imported on use; not imported here).
"""

from __future__ import annotations

from cmloss.stats import published, reports
from cmloss.stats.bayesian import (
    BOUNDARY_ATOL,
    BayesResult,
    Decision,
    compare_pairs,
    correlated_t_test,
    sign_test,
)
from cmloss.stats.tables import (
    compact_wtl,
    decision_table,
    format_mean_std,
    glue,
    show,
    side_by_side,
    summarise_folds,
    to_html,
    to_markdown,
    wide_layout,
    win_tie_loss,
)

__all__ = [
    "BOUNDARY_ATOL",
    "BayesResult",
    "Decision",
    "compact_wtl",
    "compare_pairs",
    "correlated_t_test",
    "decision_table",
    "format_mean_std",
    "glue",
    "published",
    "reports",
    "side_by_side",
    "show",
    "sign_test",
    "summarise_folds",
    "to_html",
    "to_markdown",
    "wide_layout",
    "win_tie_loss",
]
