"""Bayesian comparison of two methods with a fixed sign convention and a fixed seed.

Thin wrappers around :mod:`baycomp` (Benavoli, Corani, Demšar, Zaffalon, "Time for a
change: a tutorial for comparing multiple classifiers through Bayesian analysis", JMLR 18,
2017) so that the book never has to think about which side is which.

Sign convention
---------------
Every test takes the results of method ``a`` and of method ``b`` (larger is better) and
returns a :class:`BayesResult` with

- ``p_a_better``: posterior probability that ``a`` scores **higher** than ``b`` by more
  than the rope, ``P(a - b > rope)``;
- ``p_rope``: posterior probability that the difference lies within ``[-rope, rope]``
  (practically equivalent);
- ``p_b_better``: posterior probability that ``b`` scores higher than ``a`` by more than
  the rope, ``P(a - b < -rope)``.

baycomp computes ``diff = y - x`` and calls ``P(diff < -rope)`` "left"; with ``x = a`` and
``y = b`` its "left" is therefore ``a`` better. The wrappers pass ``x = a, y = b`` and
rename left/rope/right to a/rope/b. Swapping ``a`` and ``b`` swaps ``p_a_better`` and
``p_b_better``. For a metric where smaller is better (FNR, e-ratio) negate it first.

Tests
-----
- :func:`correlated_t_test`: one problem, the fold results of repeated k-fold CV (ASTra:
  10 repeats x 5 folds = 50 paired results, ``runs=10``). Student posterior of the mean
  difference with the Nadeau-Bengio corrected variance
  ``s^2 (1/n + rho/(1 - rho))``, ``rho = 1/k`` (so ``rho/(1-rho) = 1/(k-1)``), ``n - 1``
  degrees of freedom (Corani and Benavoli, Machine Learning 100, 2015). Probabilities are
  exact (Student CDF), not sampled.
- :func:`sign_test`: paired results over several datasets (AnyLoss: per-dataset means).
  Dirichlet posterior over (a better, rope, b better) with a prior of strength ``prior``
  on the rope (Benavoli et al., ICML 2014); probabilities are the share of the
  ``nsamples`` Dirichlet draws in which each region has the largest weight. Reproducible:
  the draws use ``numpy.random.RandomState(seed)`` and the default ``seed=0``.

Degenerate-input policy
-----------------------
- Inputs must be 1-D, of equal length, finite (a NaN or inf raises ``ValueError`` naming
  the argument and the positions), with at least 2 pairs; ``rope >= 0``.
- Identical inputs (every difference exactly 0) put all mass on the rope, for any rope,
  including ``rope = 0`` (baycomp would answer 0.5/0.5 for the t-test, and NaN for the
  sign test's two-way probabilities). ``note`` says so.
- Correlated t-test with zero variance of the differences (every fold differs by the same
  amount; a corrected variance ``<= BOUNDARY_ATOL**2`` counts as zero, so float noise in a
  constant difference does not matter): the posterior is the limit of the Student
  posterior as its scale goes to 0, a point mass at the observed mean difference, so the
  probabilities are 0 or 1 according to where that difference lies (in the rope when
  ``|mean| <= rope``, boundary snapped as below). ``note`` says so.
- Correlated t-test with fewer than 2 folds per run (baycomp divides by ``k - 1 = 0``) or
  ``n`` not divisible by ``runs`` raises ``ValueError``.
- Boundary: a difference within :data:`BOUNDARY_ATOL` of ``±rope`` counts as *in* the rope
  (baycomp uses strict inequalities; without the snap, ``0.93 - 0.92 = 0.010000000000000009``
  would count as a win at ``rope = 0.01``). Applies to the sign test's counts and to the
  t-test's point-mass case; the Student probabilities are continuous and need no snap.
- With ``rope = 0`` the sign test's "rope" region is the exact ties (``diff == 0``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import baycomp
import numpy as np
import pandas as pd
from baycomp.single import Posterior as _StudentPosterior

__all__ = [
    "BOUNDARY_ATOL",
    "BayesResult",
    "Decision",
    "compare_pairs",
    "correlated_t_test",
    "sign_test",
]

BOUNDARY_ATOL: float = 1e-9
"""Differences this close to ``±rope`` count as in the rope (see the module docstring)."""

Decision = Literal["a", "b", "rope", "undecided"]
"""Outcome of :meth:`BayesResult.decision`."""

_PRIOR_PLACES = {"a": baycomp.SignTest.LEFT, "rope": baycomp.SignTest.ROPE,
                 "b": baycomp.SignTest.RIGHT}


@dataclass(frozen=True)
class BayesResult:
    """Posterior probabilities of a two-method comparison (see the module's sign convention).

    Attributes:
        method_a: Name of method ``a``.
        method_b: Name of method ``b``.
        p_a_better: ``P(a - b > rope)``: ``a``'s metric is larger by more than the rope.
        p_rope: ``P(|a - b| <= rope)``: practically equivalent.
        p_b_better: ``P(a - b < -rope)``: ``b``'s metric is larger by more than the rope.
        n: Number of paired results (folds for the t-test, datasets for the sign test).
        rope: Half-width of the region of practical equivalence.
        test: ``"correlated_t"`` or ``"sign"``.
        mean_a: Mean of ``a``'s results.
        mean_b: Mean of ``b``'s results.
        counts: Sign test only: how many pairs had ``a`` better, in the rope, ``b`` better.
        note: Empty, or which degenerate-input rule applied.
        samples: Optional posterior draws, kept only on request. Sign test: shape
            ``(nsamples, 3)``, Dirichlet weights of the columns (a better, rope, b better),
            the input of a simplex plot. Correlated t-test: shape ``(nsamples,)``, draws of
            the mean difference ``a - b``.
    """

    method_a: str
    method_b: str
    p_a_better: float
    p_rope: float
    p_b_better: float
    n: int
    rope: float
    test: str
    mean_a: float = float("nan")
    mean_b: float = float("nan")
    counts: tuple[int, int, int] | None = None
    note: str = ""
    samples: np.ndarray | None = field(default=None, repr=False, compare=False)

    def decision(self, threshold: float = 0.95) -> Decision:
        """``"a"``, ``"b"`` or ``"rope"`` when that probability is ``>= threshold``, else
        ``"undecided"``.

        Args:
            threshold: Posterior probability needed for a decision, in ``(0.5, 1]`` (so at
                most one outcome can reach it).
        """
        _check_threshold(threshold)
        for label, p in (("a", self.p_a_better), ("b", self.p_b_better),
                         ("rope", self.p_rope)):
            if p >= threshold:
                return label  # type: ignore[return-value]
        return "undecided"

    def winner(self, threshold: float = 0.95) -> str:
        """Like :meth:`decision`, but the winning method's name (or ``"rope"``,
        ``"undecided"``)."""
        d = self.decision(threshold)
        return {"a": self.method_a, "b": self.method_b}.get(d, d)

    def swapped(self) -> BayesResult:
        """The same comparison seen from the other side (``b`` vs ``a``)."""
        samples = self.samples
        if samples is not None:
            samples = samples[:, ::-1] if samples.ndim == 2 else -samples
        counts = None if self.counts is None else self.counts[::-1]
        return BayesResult(self.method_b, self.method_a, self.p_b_better, self.p_rope,
                           self.p_a_better, self.n, self.rope, self.test, self.mean_b,
                           self.mean_a, counts, self.note, samples)

    def as_dict(self, threshold: float = 0.95) -> dict[str, Any]:
        """A flat record for a table row (no samples), with the decision and winner.

        Args:
            threshold: Posterior probability for ``decision`` and ``winner``.
        """
        return {
            "method_a": self.method_a, "method_b": self.method_b, "test": self.test,
            "n": self.n, "rope": self.rope, "mean_a": self.mean_a, "mean_b": self.mean_b,
            "p_a_better": self.p_a_better, "p_rope": self.p_rope,
            "p_b_better": self.p_b_better, "decision": self.decision(threshold),
            "winner": self.winner(threshold), "counts": self.counts, "note": self.note,
        }


# --------------------------------------------------------------------------- checks
def _check_threshold(threshold: float) -> None:
    if not 0.5 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0.5, 1], got {threshold!r}")


def _as_pair(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate two paired result vectors (1-D, same length >= 2, finite)."""
    out = []
    for name, v in (("a", a), ("b", b)):
        arr = np.asarray(v, dtype=np.float64)
        if arr.ndim != 1:
            raise ValueError(f"{name!r} must be 1-dimensional, got shape {arr.shape}")
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise ValueError(
                f"{name!r} has {bad.size} non-finite value(s) (NaN or inf) at positions "
                f"{bad[:10].tolist()}; drop or fill them explicitly before testing")
        out.append(arr)
    if out[0].shape != out[1].shape:
        raise ValueError(f"'a' and 'b' must have the same length, got {out[0].size} and "
                         f"{out[1].size}")
    if out[0].size < 2:
        raise ValueError(f"need at least 2 paired results, got {out[0].size}")
    return out[0], out[1]


def _check_rope(rope: float) -> float:
    rope = float(rope)
    if not (np.isfinite(rope) and rope >= 0):
        raise ValueError(f"rope must be a finite number >= 0, got {rope!r}")
    return rope


def _names(names: Sequence[str]) -> tuple[str, str]:
    if isinstance(names, str) or len(names) != 2:
        raise ValueError(f"names must be a pair (name_a, name_b), got {names!r}")
    return str(names[0]), str(names[1])


# --------------------------------------------------------------------------- tests
def correlated_t_test(
    a: Any,
    b: Any,
    rope: float = 0.01,
    runs: int = 10,
    *,
    names: Sequence[str] = ("a", "b"),
    test_train_ratio: float | None = None,
    nsamples: int = 50_000,
    seed: int | None = 0,
    keep_samples: bool = False,
) -> BayesResult:
    """Bayesian correlated t-test of ``a`` vs ``b`` on one problem (repeated k-fold CV).

    ``p_a_better = P(mean(a - b) > rope)`` under the Student posterior with mean
    ``mean(a - b)``, scale ``sqrt(s^2 (1/n + 1/(k - 1)))`` (``s^2`` the sample variance of
    the differences, ddof 1; ``k = n / runs`` folds per run) and ``n - 1`` degrees of freedom,
    as :class:`baycomp.CorrelatedTTest`.

    Args:
        a: Fold results of method ``a``, in the same (repeat, fold) order as ``b``.
        b: Fold results of method ``b``.
        rope: Half-width of the region of practical equivalence (metric units).
        runs: Number of repetitions of the cross-validation (ASTra: 10).
        names: Method names stored in the result.
        test_train_ratio: The Nadeau-Bengio factor ``n_test / n_train`` replacing
            ``1 / (k - 1)``. ``None`` keeps baycomp's ``1 / (k - 1)`` (k-fold CV where the
            other ``k - 1`` folds train). In the ASTra split (3 folds train, 1 validates,
            1 tests) the literal ratio is ``1/3``, a slightly wider posterior.
        nsamples: Number of posterior draws kept when ``keep_samples``.
        seed: Seed of those draws (the probabilities themselves are exact).
        keep_samples: Store ``nsamples`` draws of the mean difference ``a - b``.

    Returns:
        A :class:`BayesResult` with ``test="correlated_t"``.

    Raises:
        ValueError: Invalid inputs (see the module's degenerate-input policy).

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> b = rng.uniform(0.6, 0.8, 50)
    >>> r = correlated_t_test(b + 0.1, b, runs=10, names=("GMN", "BCE"))
    >>> r.decision(), r.winner()
    ('a', 'GMN')
    """
    x, y = _as_pair(a, b)
    rope = _check_rope(rope)
    name_a, name_b = _names(names)
    n = x.size
    if not (int(runs) == runs and runs > 0):
        raise ValueError(f"runs must be a positive integer, got {runs!r}")
    runs = int(runs)
    if n % runs:
        raise ValueError(f"the number of results ({n}) is not divisible by runs={runs}")
    k = n // runs
    if k < 2:
        raise ValueError(f"need at least 2 folds per run, got n={n}, runs={runs} (k={k})")
    if test_train_ratio is not None and not test_train_ratio > 0:
        raise ValueError(f"test_train_ratio must be > 0, got {test_train_ratio!r}")

    # baycomp: diff = y - x = b - a.
    mean_ba, var, df = baycomp.CorrelatedTTest.compute_statistics(x, y, runs)
    if test_train_ratio is not None:
        var = var / (1 / n + 1 / (k - 1)) * (1 / n + test_train_ratio)
    diff = x - y
    note = ""
    if np.all(diff == 0):
        p_a, p_rope, p_b = 0.0, 1.0, 0.0
        note = "identical results: all mass on the rope"
    elif var <= BOUNDARY_ATOL**2:
        d = -float(mean_ba)
        p_a = float(d > rope + BOUNDARY_ATOL)
        p_b = float(d < -rope - BOUNDARY_ATOL)
        p_rope = 1.0 - p_a - p_b
        note = "zero variance of the differences: point-mass posterior at the mean difference"
    else:
        post = _StudentPosterior(mean_ba, var, df, rope)
        probs = post.probs()
        if rope > 0:
            p_a, p_rope, p_b = (float(p) for p in probs)
        else:  # baycomp returns (left, right) without a rope
            p_a, p_b = (float(p) for p in probs)
            p_rope = 0.0
    samples = None
    if keep_samples:
        rng = np.random.default_rng(seed)
        samples = -float(mean_ba) + np.sqrt(var) * rng.standard_t(df, nsamples)
    return BayesResult(name_a, name_b, p_a, p_rope, p_b, n, rope, "correlated_t",
                       float(x.mean()), float(y.mean()), None, note, samples)


def sign_test(
    a: Any,
    b: Any,
    rope: float = 0.01,
    prior: float = 1.0,
    prior_place: Literal["a", "rope", "b"] = "rope",
    nsamples: int = 50_000,
    seed: int | None = 0,
    *,
    names: Sequence[str] = ("a", "b"),
    keep_samples: bool = False,
) -> BayesResult:
    """Bayesian sign test of ``a`` vs ``b`` over paired results (e.g. per-dataset means).

    Each pair falls in "a better" (``a - b > rope``), "rope" or "b better"; the posterior
    of the three probabilities is ``Dirichlet(counts + 0.0001 + prior at prior_place)``
    (:class:`baycomp.SignTest`), and ``p_a_better`` is the share of the ``nsamples``
    draws in which "a better" has the largest weight. The AnyLoss protocol is the default:
    rope 0.01, prior 1 on the rope, 50,000 draws.

    Args:
        a: Results of method ``a``, one per dataset (or per paired result).
        b: Results of method ``b``, paired with ``a``.
        rope: Half-width of the region of practical equivalence (metric units).
        prior: Strength of the Dirichlet prior pseudo-observation.
        prior_place: Where the prior sits: ``"rope"``, ``"a"`` (a better) or ``"b"``.
        nsamples: Number of Dirichlet draws.
        seed: Seed of ``numpy.random.RandomState`` for the draws; ``None`` is not
            reproducible.
        names: Method names stored in the result.
        keep_samples: Store the ``(nsamples, 3)`` draws (for a simplex plot).

    Returns:
        A :class:`BayesResult` with ``test="sign"`` and ``counts``.

    Raises:
        ValueError: Invalid inputs (see the module's degenerate-input policy).

    Example:

    >>> r = sign_test([0.9, 0.8, 0.95, 0.7, 0.85], [0.8, 0.7, 0.8, 0.6, 0.7],
    ...               names=("AnyLoss-F1", "BCE"))
    >>> r.counts, r.p_a_better > 0.95
    ((5, 0, 0), True)
    """
    x, y = _as_pair(a, b)
    rope = _check_rope(rope)
    name_a, name_b = _names(names)
    if prior_place not in _PRIOR_PLACES:
        raise ValueError(f"prior_place must be one of {sorted(_PRIOR_PLACES)}, got "
                         f"{prior_place!r}")
    if not (np.isfinite(prior) and prior >= 0):
        raise ValueError(f"prior must be a finite number >= 0, got {prior!r}")
    if not (int(nsamples) == nsamples and nsamples > 0):
        raise ValueError(f"nsamples must be a positive integer, got {nsamples!r}")

    d = x - y
    # Snap differences at +-rope (within BOUNDARY_ATOL) onto the rope's edge, so that
    # float rounding does not decide a boundary case; baycomp then counts them in the rope.
    d = np.where(np.abs(np.abs(d) - rope) <= BOUNDARY_ATOL, np.sign(d) * rope, d)
    counts = (int(np.sum(d > rope)), int(np.sum(np.abs(d) <= rope)), int(np.sum(d < -rope)))
    # baycomp's diff is y - x; pass x = d, y = 0 so that its "left" (diff < -rope) is a better.
    posterior = baycomp.SignTest(d, np.zeros_like(d), rope, prior=(prior, _PRIOR_PLACES[
        prior_place]), nsamples=int(nsamples), random_state=seed)
    p_a, p_rope, p_b = (float(p) for p in posterior.probs(with_rope=True))
    note = "identical results: all pairs in the rope" if np.all(d == 0) else ""
    samples = np.asarray(posterior.sample) if keep_samples else None
    return BayesResult(name_a, name_b, p_a, p_rope, p_b, x.size, rope, "sign",
                       float(x.mean()), float(y.mean()), counts, note, samples)


# --------------------------------------------------------------------------- tables
_TESTS = ("sign", "correlated_t")


def _metric_frame(table: pd.DataFrame, metric: str, keys: list[str],
                  method_col: str) -> pd.DataFrame:
    """``keys + [method_col, "value"]`` rows of one metric, from a wide table (a column per
    metric) or a long one (``metric`` and ``value`` columns)."""
    if metric in table.columns:
        frame = table[[*keys, method_col, metric]].rename(columns={metric: "value"})
    elif {"metric", "value"} <= set(table.columns):
        frame = table.loc[table["metric"] == metric, [*keys, method_col, "value"]]
        if frame.empty:
            raise ValueError(f"metric {metric!r} not found; the table has "
                             f"{sorted(table['metric'].unique())}")
    else:
        raise ValueError(f"metric {metric!r} is neither a column of the table nor a value "
                         f"of a 'metric' column; columns: {list(table.columns)}")
    return frame


def _paired(frame: pd.DataFrame, index: list[str], method_col: str, a: str, b: str,
            missing: str, what: str) -> pd.DataFrame:
    """Two columns ``a``, ``b`` aligned on ``index``; missing pairs raise or are dropped."""
    sub = frame[frame[method_col].isin([a, b])]
    dup = sub.duplicated([*index, method_col])
    if dup.any():
        raise ValueError(f"{what}: duplicate rows for keys {index + [method_col]}, e.g. "
                         f"{sub.loc[dup, [*index, method_col]].iloc[0].tolist()}")
    wide = sub.pivot(index=index, columns=method_col, values="value")
    wide = wide.reindex(columns=[a, b])
    nan_value = sub["value"].isna()
    if nan_value.any():
        raise ValueError(f"{what}: NaN metric values for keys "
                         f"{sub.loc[nan_value, [*index, method_col]].iloc[0].tolist()} "
                         "(and maybe more); fill or drop them explicitly")
    incomplete = wide.isna().any(axis=1)
    if incomplete.any():
        if missing == "raise":
            first = wide.index[incomplete][0]
            lacking = [m for m in (a, b) if pd.isna(wide.loc[first, m])]
            raise ValueError(
                f"{what}: {int(incomplete.sum())} unpaired result(s), e.g. {index}={first!r} "
                f"has no result for {lacking}; pass missing='drop' to keep only pairs")
        wide = wide[~incomplete]
    return wide


def compare_pairs(
    table: pd.DataFrame,
    pairs: Iterable[tuple[str, str]],
    metric: str | Sequence[str],
    test: Literal["sign", "correlated_t"] = "sign",
    by: str | Sequence[str] | None = None,
    *,
    rope: float = 0.01,
    threshold: float = 0.95,
    dataset_col: str = "dataset",
    method_col: str = "method",
    fold_cols: Sequence[str] = ("repeat", "fold"),
    runs: int | None = None,
    missing: Literal["raise", "drop"] = "raise",
    **test_kwargs: Any,
) -> pd.DataFrame:
    """Run a Bayesian test for each pair of methods over a long-format results table.

    - ``test="sign"`` (AnyLoss protocol): the results of each (dataset, method) are first
      averaged over folds and repeats; the test then runs across datasets, one row per
      (``by`` group, metric, pair).
    - ``test="correlated_t"`` (ASTra experiment): per dataset, the fold results of the two
      methods are paired on ``fold_cols`` and tested; one row per (``by`` group, dataset,
      metric, pair). ``runs`` defaults to the number of distinct values of the first
      fold column (``repeat``) when two or more fold columns are present, else 1.

    Args:
        table: One row per (dataset, method, repeat, fold) with a column per metric, or a
            long table with ``metric`` and ``value`` columns.
        pairs: ``(method_a, method_b)`` pairs; probabilities follow the module's convention
            (``p_a_better``: ``method_a``'s metric is larger by more than the rope).
        metric: One metric name or several.
        test: ``"sign"`` or ``"correlated_t"``.
        by: Extra grouping columns (e.g. ``"model"`` for SLP vs MLP); a separate
            comparison per group.
        rope: Region of practical equivalence.
        threshold: Posterior probability for the ``decision``/``winner`` columns.
        dataset_col: Name of the dataset column.
        method_col: Name of the method column.
        fold_cols: Columns identifying a fold result within a dataset.
        runs: Repetitions of the CV for the correlated t-test (see above).
        missing: ``"raise"`` (default) when a dataset or fold lacks one method's result;
            ``"drop"`` keeps only complete pairs: for the sign test the datasets where both
            methods have results, for the t-test the fold pairs of the repeats that are
            complete (so that every run keeps its k folds), and no row for a dataset
            where fewer than two pairs remain; ``n`` says how many were used.
        **test_kwargs: Passed on to :func:`sign_test` or :func:`correlated_t_test`
            (``prior``, ``seed``, ``test_train_ratio``, ...).

    Returns:
        A DataFrame with the ``by`` columns, ``dataset`` (t-test only), ``metric``, then
        the fields of :meth:`BayesResult.as_dict`; groups and datasets in the order they
        first appear in ``table``, then metrics, then pairs, as given.

    Raises:
        ValueError: Unknown test/method/metric/column, duplicate or unpaired results (with
            ``missing="raise"``), NaN values.
    """
    if test not in _TESTS:
        raise ValueError(f"test must be one of {_TESTS}, got {test!r}")
    if missing not in ("raise", "drop"):
        raise ValueError(f"missing must be 'raise' or 'drop', got {missing!r}")
    _check_threshold(threshold)
    metrics = [metric] if isinstance(metric, str) else list(metric)
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    pairs = [tuple(p) for p in pairs]
    if not pairs or any(len(p) != 2 for p in pairs):
        raise ValueError(f"pairs must be a non-empty list of (method_a, method_b), got {pairs}")
    fold_cols = [c for c in fold_cols if c in table.columns]
    if test == "correlated_t" and not fold_cols:
        raise ValueError("the correlated t-test pairs fold results, but the table has none "
                         f"of the fold columns; columns: {list(table.columns)}")
    needed = [*by_cols, dataset_col, method_col] + (fold_cols if test == "correlated_t"
                                                      else [])
    absent = [c for c in needed if c not in table.columns]
    if absent:
        raise ValueError(f"the table lacks column(s) {absent}; it has {list(table.columns)}")
    known = set(table[method_col].unique())
    unknown = sorted({m for p in pairs for m in p} - known)
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; the table has {sorted(known)}")

    rows: list[dict[str, Any]] = []
    groups = table.groupby(by_cols, sort=False) if by_cols else [((), table)]
    for gkey, gtable in groups:
        gvals = dict(zip(by_cols, gkey if isinstance(gkey, tuple) else (gkey,)))
        for m in metrics:
            frame = _metric_frame(gtable, m, [dataset_col, *fold_cols], method_col)
            for a, b in pairs:
                what = f"{gvals or ''} metric {m!r}, pair ({a}, {b})".strip()
                if test == "sign":
                    if frame["value"].isna().any():
                        bad = frame.loc[frame["value"].isna(), [dataset_col, method_col]]
                        raise ValueError(f"{what}: NaN metric values, e.g. "
                                         f"{bad.iloc[0].tolist()}; fill or drop them")
                    means = (frame.groupby([dataset_col, method_col], as_index=False)
                             ["value"].mean())
                    wide = _paired(means, [dataset_col], method_col, a, b, missing, what)
                    res = sign_test(wide[a].to_numpy(), wide[b].to_numpy(), rope=rope,
                                    names=(a, b), **test_kwargs)
                    rows.append({**gvals, "metric": m, **res.as_dict(threshold)})
                    continue
                for ds, dframe in frame.groupby(dataset_col, sort=False):
                    wide = _paired(dframe, fold_cols, method_col, a, b,
                                   missing, f"{what}, dataset {ds!r}")
                    wide = wide.sort_index()
                    if missing == "drop" and len(wide) < 2:
                        continue  # a dataset where one of the methods did not run
                    if len(fold_cols) > 1:
                        repeats = wide.index.get_level_values(fold_cols[0])
                        if missing == "drop":  # keep only complete repeats
                            size = pd.Series(repeats).map(pd.Series(repeats).value_counts())
                            wide = wide[(size == size.max()).to_numpy()]
                            repeats = wide.index.get_level_values(fold_cols[0])
                        r = runs if runs is not None else repeats.nunique()
                    else:
                        r = runs if runs is not None else 1
                    res = correlated_t_test(wide[a].to_numpy(), wide[b].to_numpy(),
                                            rope=rope, runs=r, names=(a, b), **test_kwargs)
                    rows.append({**gvals, dataset_col: ds, "metric": m,
                                 **res.as_dict(threshold)})
    return pd.DataFrame(rows)
