"""Tests of cmloss.protocols: the ASTra and AnyLoss splits and training-only z-scoring."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmloss.data import load_dataset
from cmloss.protocols import (
    Split,
    ZScore,
    anyloss_splits,
    astra_repeats,
    astra_splits,
    fit_zscore,
    scale_split,
    stratified_fold_ids,
)

DATA_HOME = Path(os.environ.get("CMLOSS_DATA", "/work/shared/data")).expanduser().absolute()
needs_data = pytest.mark.skipif(
    not (DATA_HOME / "hd-ensemble").is_dir(),
    reason=f"data home {DATA_HOME} (CMLOSS_DATA) has no hd-ensemble/ folder",
)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("CMLOSS_OFFLINE", "1")


def _y(n_neg: int, n_pos: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).permutation(np.r_[np.zeros(n_neg), np.ones(n_pos)])


def _check_repeat(splits: list[Split], y: np.ndarray, n_folds: int = 5) -> None:
    """Rotating scheme invariants for the splits of one repeat."""
    n = y.size
    assert [s.fold for s in splits] == list(range(n_folds))
    tests = [s.test for s in splits]
    assert np.array_equal(np.sort(np.concatenate(tests)), np.arange(n))  # partition
    for k, s in enumerate(splits):
        assert s.train.dtype == np.int64 and not s.train.flags.writeable
        for part in (s.train, s.validation, s.test):
            assert np.all(np.diff(part) > 0)  # sorted, no duplicates
        assert not set(s.train) & set(s.test)
        assert not set(s.train) & set(s.validation)
        assert not set(s.validation) & set(s.test)
        assert s.train.size + s.validation.size + s.test.size == n
        np.testing.assert_array_equal(s.validation, tests[(k + 1) % n_folds])
    sizes = [t.size for t in tests]
    assert max(sizes) - min(sizes) <= 1
    for cls in np.unique(y):
        per_fold = [int((y[t] == cls).sum()) for t in tests]
        assert max(per_fold) - min(per_fold) <= 1  # stratified


# ------------------------------------------------------------------------ ASTra scheme


def test_astra_splits_shape_and_invariants():
    y = _y(995, 5)
    splits = astra_splits(y, random_state=3)
    assert len(splits) == 50
    for r in range(10):
        repeat = [s for s in splits if s.repeat == r]
        _check_repeat(repeat, y)
        for s in repeat:  # 5 positives: exactly one per fold
            assert int(y[s.test].sum()) == 1 and int(y[s.validation].sum()) == 1
            assert int(y[s.train].sum()) == 3


def test_astra_splits_reproducible_and_different_across_repeats_and_seeds():
    y = _y(500, 40)
    a = astra_splits(y, random_state=11)
    b = astra_splits(y, random_state=11)
    c = astra_splits(y, random_state=12)
    for s, t in zip(a, b, strict=True):
        np.testing.assert_array_equal(s.test, t.test)
        np.testing.assert_array_equal(s.train, t.train)
    assert any(not np.array_equal(s.test, t.test) for s, t in zip(a, c, strict=True))
    first_tests = {tuple(s.test) for s in a if s.fold == 0}
    assert len(first_tests) == 10  # every repeat has its own folds
    seq = np.random.SeedSequence(11)
    for s, t in zip(
        astra_splits(y, random_state=seq), astra_splits(y, random_state=seq), strict=True
    ):
        np.testing.assert_array_equal(s.test, t.test)


def test_astra_splits_without_validation():
    y = _y(90, 10)
    splits = astra_splits(y, n_repeats=2, validation=False)
    assert len(splits) == 10
    for s in splits:
        assert s.validation.size == 0 and s.train.size + s.test.size == 100


@pytest.mark.parametrize(
    ("y", "kwargs", "match"),
    [
        (np.r_[np.zeros(50), np.ones(4)], {}, "fewer rows than folds"),
        (np.zeros((4, 2)), {}, "1-D"),
        (np.r_[np.zeros(50), np.ones(5)], {"n_folds": 1}, "n_folds"),
        (np.r_[np.zeros(50), np.ones(5)], {"n_repeats": 0}, "n_repeats"),
        (np.r_[np.zeros(50), np.ones(5)], {"random_state": None}, "random_state"),
    ],
)
def test_astra_splits_errors(y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        astra_splits(y, **kwargs)


@settings(max_examples=40, deadline=None)
@given(
    n_neg=st.integers(5, 300),
    n_pos=st.integers(5, 60),
    n_folds=st.integers(2, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_fold_ids_are_stratified(n_neg, n_pos, n_folds, seed):
    y = _y(n_neg, n_pos, seed)
    folds = stratified_fold_ids(y, n_folds, seed)
    sizes = np.bincount(folds, minlength=n_folds)
    assert sizes.max() - sizes.min() <= 1
    for cls in (0, 1):
        counts = np.bincount(folds[y == cls], minlength=n_folds)
        assert counts.max() - counts.min() <= 1


@needs_data
@pytest.mark.parametrize(("name", "rows"), [("skin-4000", 20005), ("cod-3500", 17505)])
def test_astra_repeats_redraw_positives(name, rows):
    repeats = list(astra_repeats(name, data_home=DATA_HOME, random_state=5))
    again = list(astra_repeats(name, data_home=DATA_HOME, random_state=5, n_repeats=2))
    assert [r.repeat for r in repeats] == list(range(10))
    positives = []
    for rep in repeats:
        y = rep.dataset.y
        assert y.size == rows and int(y.sum()) == 5
        assert len(rep.splits) == 5
        _check_repeat(list(rep.splits), y)
        for s in rep.splits:
            assert int(y[s.test].sum()) == 1 and int(y[s.validation].sum()) == 1
        positives.append(frozenset(rep.dataset.source_index[y == 1]))
    assert len(set(positives)) == 10  # fresh positives every repeat
    for r in range(2):  # deterministic under the seed
        np.testing.assert_array_equal(
            repeats[r].dataset.source_index, again[r].dataset.source_index
        )
        for s, t in zip(repeats[r].splits, again[r].splits, strict=True):
            np.testing.assert_array_equal(s.test, t.test)


@needs_data
def test_astra_repeats_fixed_dataset_matches_astra_splits():
    repeats = list(astra_repeats("ijcnn-971", data_home=DATA_HOME, random_state=9))
    y = repeats[0].dataset.y
    assert all(r.dataset is repeats[0].dataset for r in repeats)  # loaded once
    flat = [s for r in repeats for s in r.splits]
    for s, t in zip(flat, astra_splits(y, random_state=9), strict=True):
        assert (s.repeat, s.fold) == (t.repeat, t.fold)
        np.testing.assert_array_equal(s.train, t.train)
        np.testing.assert_array_equal(s.validation, t.validation)
        np.testing.assert_array_equal(s.test, t.test)


@needs_data
def test_skin_588_folds_are_stratified():
    y = load_dataset("skin-588", data_home=DATA_HOME).y
    splits = astra_splits(y, n_repeats=2)
    for r in range(2):
        _check_repeat([s for s in splits if s.repeat == r], y)
    assert {int(y[s.test].sum()) for s in splits} <= {6, 7}


# ---------------------------------------------------------------------- AnyLoss scheme


def test_anyloss_splits_match_sklearn():
    from sklearn.model_selection import StratifiedKFold

    y = load_dataset("breast_cancer").y
    splits = anyloss_splits(y)
    assert len(splits) == 10
    expected = StratifiedKFold(n_splits=10, shuffle=True, random_state=2).split(
        np.zeros((y.size, 1)), y
    )
    for s, (train, test) in zip(splits, expected, strict=True):
        assert s.repeat == 0
        np.testing.assert_array_equal(s.train, np.sort(train))
        np.testing.assert_array_equal(s.test, np.sort(test))
        np.testing.assert_array_equal(s.validation, s.test)
        assert s.train.size + s.test.size == y.size and not set(s.train) & set(s.test)
    tests = np.concatenate([s.test for s in splits])
    np.testing.assert_array_equal(np.sort(tests), np.arange(y.size))
    assert {int(y[s.test].sum()) for s in splits} <= {3, 4}
    again = anyloss_splits(y)
    assert all(np.array_equal(s.test, t.test) for s, t in zip(splits, again, strict=True))


# --------------------------------------------------------------------------- scaling


def test_zscore_uses_training_rows_only():
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, size=(100, 3))
    X[:, 2] = 7.5  # constant column
    split = astra_splits(_y(90, 10), n_repeats=1)[0]
    X_poisoned = X.copy()
    X_poisoned[split.test] += 1e6  # test rows must not influence the statistics
    X_poisoned[split.validation] -= 1e6
    tr, va, te = scale_split(X_poisoned, split)
    ref = fit_zscore(X, split.train)
    np.testing.assert_allclose(tr, ref.transform(X[split.train]))
    np.testing.assert_allclose(tr[:, :2].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(tr[:, :2].std(axis=0), 1.0)
    np.testing.assert_allclose(ref.mean[:2], X[split.train, :2].mean(axis=0))
    np.testing.assert_array_equal(tr[:, 2], 0.0)  # constant column: exactly 0, no NaN
    assert ref.scale[2] == 1.0
    assert np.isfinite(va).all() and np.isfinite(te).all()
    assert va.shape == (split.validation.size, 3) and te.shape == (split.test.size, 3)
    assert te[:, 0].mean() > 1e5  # test rows are transformed, not refitted


def test_zscore_edge_cases():
    z = ZScore.fit(np.array([[0.1, 1.0], [0.1, 3.0], [0.1, 5.0]]))
    np.testing.assert_array_equal(z.transform(np.array([[0.1, 3.0]])), [[0.0, 0.0]])
    with pytest.raises(ValueError, match="zero rows"):
        fit_zscore(np.zeros((5, 2)), np.array([], dtype=int))
    with pytest.raises(ValueError, match="columns"):
        z.transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="2-D"):
        ZScore.fit(np.zeros(4))
