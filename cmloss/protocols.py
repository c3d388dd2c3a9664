"""Evaluation protocols of the two papers: cross-validation splits and training-only scaling.

ASTra scheme (Twomey and Gorse, 2022)
-------------------------------------
10 repeats of stratified 5-fold cross-validation. In each repeat the folds rotate so that
every fold is the test fold once: for ``k = 0..4`` the test fold is ``k``, the validation
fold is ``(k + 1) mod 5`` and the other three folds train. That gives 50
``(train, validation, test)`` triples per dataset (:func:`astra_splits`). With
``validation=False`` the four non-test folds all train, i.e. the plain 10 x 5-fold CV of
the HD-Ensemble study.

Folds are stratified by dealing each class's rows, shuffled, round-robin over the folds
(classes in sorted order, continuing where the previous class stopped), so every fold gets
``floor`` or ``ceil`` of each class's share and fold sizes differ by at most one. With
5 positives and 5 folds each fold holds exactly one positive.

For ``skin-4000`` and ``cod-3500`` the data themselves are redrawn in every repeat (5 fresh
positives); :func:`astra_repeats` yields, per repeat, the dataset draw and its 5 splits.

Seeds: ``numpy.random.SeedSequence(random_state)`` is spawned into one child per repeat,
and each child into two: the first seeds the repeat's data draw, the second its fold
assignment (``numpy.random.default_rng``). So repeats are independent, everything is
reproducible from one integer, and :func:`astra_splits` on a fixed dataset gives exactly
the splits :func:`astra_repeats` yields for it.

AnyLoss scheme (Han, Moniz and Chawla, 2024)
--------------------------------------------
One run of ``StratifiedKFold(n_splits=10, shuffle=True, random_state=2)``; the test fold
is also the validation data (:func:`anyloss_splits`). With the row order of
:func:`cmloss.data.load_dataset` these are the authors' folds.

Scaling
-------
z-scoring is fitted on the training rows only (:func:`fit_zscore`, :func:`scale_split`)
and then applied to validation and test rows. Standard deviations use ``ddof=0`` (like
scikit-learn's ``StandardScaler``); a column that is constant on the training rows gets
scale 1 (it maps to exactly 0 there), so no NaN or inf appears. The AnyLoss authors
instead z-scored each whole file (pandas ``std``, ``ddof=1``) before splitting.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from cmloss.data import Dataset, get_dataset_info, load_dataset

__all__ = [
    "Repeat",
    "Split",
    "ZScore",
    "MinMax",
    "anyloss_splits",
    "astra_repeats",
    "astra_splits",
    "fit_zscore",
    "scale_split",
    "stratified_fold_ids",
]

SeedLike = int | np.integer | np.random.SeedSequence


@dataclass(frozen=True, eq=False)
class Split:
    """One train / validation / test split, as sorted int64 row-index arrays (read-only).

    Attributes:
        repeat: Repeat number, from 0.
        fold: Number of the test fold within the repeat, from 0.
        train: Training rows.
        validation: Validation rows (for the AnyLoss scheme: the test rows; empty when a
            scheme has no validation fold).
        test: Test rows.
    """

    repeat: int
    fold: int
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


@dataclass(frozen=True, eq=False)
class Repeat:
    """One repeat of the ASTra scheme: the dataset draw and its splits.

    Attributes:
        repeat: Repeat number, from 0.
        dataset: The data of this repeat (a fresh draw for skin-4000 / cod-3500).
        splits: The ``n_folds`` splits of ``dataset`` (test fold 0, 1, ...).
    """

    repeat: int
    dataset: Dataset
    splits: tuple[Split, ...]


def _index(rows: np.ndarray) -> np.ndarray:
    out = np.sort(np.asarray(rows, dtype=np.int64))
    out.setflags(write=False)
    return out


def _labels(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    if y.size == 0:
        raise ValueError("y is empty")
    return y


def _seed_sequence(random_state: SeedLike) -> np.random.SeedSequence:
    if isinstance(random_state, np.random.SeedSequence):
        # A fresh copy, so that spawning never depends on earlier use of the caller's object.
        return np.random.SeedSequence(
            entropy=random_state.entropy,
            spawn_key=random_state.spawn_key,
            pool_size=random_state.pool_size,
        )
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        raise ValueError(
            f"random_state must be an int or a numpy SeedSequence, got {random_state!r}"
        )
    return np.random.SeedSequence(int(random_state))


def _repeat_seeds(
    random_state: SeedLike, n_repeats: int
) -> list[tuple[np.random.SeedSequence, np.random.SeedSequence]]:
    """(data seed, fold seed) for each repeat; see the module docstring."""
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, (int, np.integer)):
        raise ValueError(f"n_repeats must be a positive int, got {n_repeats!r}")
    if n_repeats < 1:
        raise ValueError(f"n_repeats must be a positive int, got {n_repeats!r}")
    children = _seed_sequence(random_state).spawn(int(n_repeats))
    return [tuple(child.spawn(2)) for child in children]


def stratified_fold_ids(
    y: np.ndarray, n_folds: int, rng: np.random.Generator | SeedLike
) -> np.ndarray:
    """Assign every row to one of ``n_folds`` stratified folds.

    Each class's rows are shuffled and dealt round-robin over the folds, continuing from
    where the previous class (in sorted order) stopped.

    Args:
        y: Class labels, 1-D.
        n_folds: Number of folds, at least 2.
        rng: A numpy ``Generator`` or a seed for ``numpy.random.default_rng``.

    Returns:
        int64 array of fold numbers ``0..n_folds-1``, one per row.

    Raises:
        ValueError: ``y`` is not 1-D or is empty, ``n_folds < 2``, or a class has fewer
            rows than ``n_folds`` (some fold would miss that class).
    """
    y = _labels(y)
    if isinstance(n_folds, bool) or not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise ValueError(f"n_folds must be an int >= 2, got {n_folds!r}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    classes, counts = np.unique(y, return_counts=True)
    if counts.min() < n_folds:
        small = {str(c): int(n) for c, n in zip(classes, counts, strict=True) if n < n_folds}
        raise ValueError(
            f"cannot stratify into {n_folds} folds: class(es) {small} have fewer rows than folds"
        )
    folds = np.empty(y.size, dtype=np.int64)
    offset = 0
    for cls in classes:
        members = rng.permutation(np.flatnonzero(y == cls))
        folds[members] = (offset + np.arange(members.size)) % n_folds
        offset += members.size
    return folds


def _rotating_splits(
    y: np.ndarray,
    *,
    repeat: int,
    n_folds: int,
    rng: np.random.Generator,
    validation: bool,
) -> list[Split]:
    folds = stratified_fold_ids(y, n_folds, rng)
    splits = []
    for k in range(n_folds):
        test = folds == k
        val = folds == (k + 1) % n_folds if validation else np.zeros_like(test)
        train = ~(test | val)
        splits.append(
            Split(
                repeat=repeat,
                fold=k,
                train=_index(np.flatnonzero(train)),
                validation=_index(np.flatnonzero(val)),
                test=_index(np.flatnonzero(test)),
            )
        )
    return splits


def astra_splits(
    y: np.ndarray,
    *,
    n_repeats: int = 10,
    n_folds: int = 5,
    random_state: SeedLike = 0,
    validation: bool = True,
) -> list[Split]:
    """Splits of the ASTra scheme for one fixed dataset.

    Args:
        y: Class labels, 1-D.
        n_repeats: Number of repeats (the paper: 10).
        n_folds: Folds per repeat (the paper: 5).
        random_state: Root seed (int or ``SeedSequence``); see the module docstring.
        validation: If true, fold ``(k + 1) mod n_folds`` validates while fold ``k`` tests
            and the rest train; if false, every non-test fold trains and ``validation``
            is empty (plain repeated stratified k-fold).

    Returns:
        ``n_repeats * n_folds`` :class:`Split` objects, repeat-major.

    Raises:
        ValueError: Bad arguments, or a class with fewer rows than ``n_folds``.
    """
    y = _labels(y)
    out: list[Split] = []
    for r, (_, fold_seed) in enumerate(_repeat_seeds(random_state, n_repeats)):
        rng = np.random.default_rng(fold_seed)
        out += _rotating_splits(y, repeat=r, n_folds=n_folds, rng=rng, validation=validation)
    return out


def astra_repeats(
    name: str,
    *,
    n_repeats: int = 10,
    n_folds: int = 5,
    random_state: SeedLike = 0,
    validation: bool = True,
    redraw: bool | None = None,
    data_home: str | os.PathLike | None = None,
    download: bool | None = None,
) -> Iterator[Repeat]:
    """Yield, per repeat, the dataset (redrawn if it is a random draw) and its splits.

    For a fixed dataset (e.g. ``skin-588``) the data are loaded once and the splits equal
    those of :func:`astra_splits` with the same arguments. For ``skin-4000`` and
    ``cod-3500`` every repeat draws 5 new positives (and, for cod-3500, 17,500 new
    negatives) from the repeat's own seed.

    Args:
        name: Dataset name for :func:`cmloss.data.load_dataset`.
        n_repeats: Number of repeats (the paper: 10).
        n_folds: Folds per repeat (the paper: 5).
        random_state: Root seed (int or ``SeedSequence``).
        validation: See :func:`astra_splits`.
        redraw: Draw the data afresh in every repeat; default: exactly for datasets whose
            rows depend on a seed (``info.default_random_state`` is not ``None``).
        data_home: Passed to :func:`cmloss.data.load_dataset`.
        download: Passed to :func:`cmloss.data.load_dataset`.

    Yields:
        One :class:`Repeat` per repeat, in order.

    Raises:
        ValueError: Unknown dataset or bad arguments.
        DataFileNotFoundError: The data file is missing and cannot be downloaded.
    """
    info = get_dataset_info(name)
    if redraw is None:
        redraw = info.default_random_state is not None
    seeds = _repeat_seeds(random_state, n_repeats)
    fixed: Dataset | None = None
    for r, (data_seed, fold_seed) in enumerate(seeds):
        if redraw:
            dataset = load_dataset(
                name,
                data_home=data_home,
                random_state=np.random.default_rng(data_seed),
                download=download,
            )
        else:
            if fixed is None:
                fixed = load_dataset(name, data_home=data_home, download=download)
            dataset = fixed
        splits = _rotating_splits(
            dataset.y,
            repeat=r,
            n_folds=n_folds,
            rng=np.random.default_rng(fold_seed),
            validation=validation,
        )
        yield Repeat(repeat=r, dataset=dataset, splits=tuple(splits))


def anyloss_splits(y: np.ndarray, *, n_splits: int = 10, random_state: int = 2) -> list[Split]:
    """Splits of the AnyLoss scheme: one run of shuffled stratified k-fold.

    Uses ``sklearn.model_selection.StratifiedKFold(n_splits, shuffle=True,
    random_state)``, so with the authors' row order the folds are theirs. The test fold
    also serves as validation data (``validation`` is a copy of ``test``).

    Args:
        y: Class labels, 1-D.
        n_splits: Number of folds (the paper: 10).
        random_state: Seed of the shuffle (the paper: 2).

    Returns:
        ``n_splits`` :class:`Split` objects with ``repeat=0``.

    Raises:
        ValueError: From scikit-learn, e.g. ``n_splits`` larger than every class.
    """
    from sklearn.model_selection import StratifiedKFold

    y = _labels(y)
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    out = []
    for k, (train, test) in enumerate(cv.split(np.zeros((y.size, 1)), y)):
        out.append(
            Split(repeat=0, fold=k, train=_index(train), validation=_index(test), test=_index(test))
        )
    return out


@dataclass(frozen=True, eq=False)
class ZScore:
    """Per-column z-scoring ``(X - mean) / scale`` with fixed statistics.

    Attributes:
        mean: Column means of the fitting rows.
        scale: Column standard deviations (``ddof=0``) of the fitting rows; 1 where a
            column is constant there.
    """

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> ZScore:
        """Estimate the statistics from ``X`` (the training rows only).

        Args:
            X: 2-D array of training rows.

        Returns:
            The fitted :class:`ZScore`.

        Raises:
            ValueError: ``X`` is not 2-D or has no rows.
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D, got shape {X.shape}")
        if X.shape[0] == 0:
            raise ValueError(f"cannot fit {cls._WHAT} on zero rows")
        mean, scale = cls._statistics(X)
        mean.setflags(write=False)
        scale.setflags(write=False)
        return cls(mean=mean, scale=scale)

    _WHAT = "z-scoring"

    @staticmethod
    def _statistics(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Column means and standard deviations (a constant column: its value and 1)."""
        mean = X.mean(axis=0)
        std = X.std(axis=0)
        constant = (np.ptp(X, axis=0) == 0) | (std == 0)
        return np.where(constant, X[0], mean), np.where(constant, 1.0, std)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Apply the fitted statistics.

        Args:
            X: 2-D array with the same columns.

        Returns:
            A new float64 array ``(X - mean) / scale``.

        Raises:
            ValueError: Wrong number of columns.
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"X must be 2-D with {self.mean.shape[0]} columns, got shape {X.shape}"
            )
        return (X - self.mean) / self.scale


@dataclass(frozen=True, eq=False)
class MinMax(ZScore):
    """Per-column min-max scaling ``(X - min) / (max - min)`` to [0, 1] on the fitting rows
    (rows outside them may fall outside [0, 1]); ``mean`` holds the column minima and
    ``scale`` the ranges, 1 where a column is constant there."""

    _WHAT = "min-max scaling"

    @staticmethod
    def _statistics(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Column minima and ranges (a constant column: range 1)."""
        span = np.ptp(X, axis=0)
        return X.min(axis=0), np.where(span == 0, 1.0, span)


def fit_zscore(X: np.ndarray, rows: np.ndarray | None = None) -> ZScore:
    """Fit z-scoring on the given rows of ``X`` (pass the training rows).

    Args:
        X: 2-D feature array.
        rows: Row indices to fit on; ``None`` for all rows.

    Returns:
        A :class:`ZScore`.

    Raises:
        ValueError: ``X`` is not 2-D or the selection is empty.
    """
    X = np.asarray(X)
    return ZScore.fit(X if rows is None else X[np.asarray(rows)])


def scale_split(
    X: np.ndarray, split: Split, fit_rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """z-score a split's rows with statistics of its training rows only.

    Args:
        X: 2-D feature array of the whole dataset.
        split: The split.
        fit_rows: the rows to fit the statistics on instead of the training rows (e.g.
            every row, the AnyLoss authors' whole-file scaling; ``None``: the training
            rows).

    Returns:
        ``(X_train, X_validation, X_test)``, new float64 arrays.

    Raises:
        ValueError: ``X`` is not 2-D or the split has no training rows.
    """
    zscore = fit_zscore(X, split.train if fit_rows is None else fit_rows)
    X = np.asarray(X)
    return (
        zscore.transform(X[split.train]),
        zscore.transform(X[split.validation]),
        zscore.transform(X[split.test]),
    )
