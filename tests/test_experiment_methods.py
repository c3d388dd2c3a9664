"""The experiments' baselines, each against an independent computation: resampling
(imbalanced-learn's own samplers, SMOTE's geometry), class weights (scikit-learn),
Keras' Dice (its own function; ``model.fit`` in test_trainer_equivalence), RUSBoost,
and how the runner feeds a resampled training set to the trainer (scaling fitted before
resampling)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from cmloss.experiments import Experiment, get_method
from cmloss.experiments.methods import (
    RESAMPLING_RATIO,
    RUSBOOST_TRIES,
    FoldData,
    balanced_class_weight,
    random_undersampling,
    rusboost,
    smote,
)
from cmloss.experiments.runner import Unit, network_members
from cmloss.protocols import fit_zscore
from cmloss.trainer import LossSpec
from cmloss.trainer.views import build_views


def _imbalanced(n=400, positives=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * [1.0, 5.0, 0.1, 2.0] + [0.0, 10.0, -3.0, 1.0]
    X[:, 3] = 7.0  # a constant column
    y = np.zeros(n, np.int64)
    y[rng.choice(n, positives, replace=False)] = 1
    X[y == 1, 0] += 2.0
    train = np.sort(rng.choice(n, 300, replace=False))
    return X, y, train


def test_undersampling_keeps_every_positive_and_reaches_the_ratio():
    X, y, train = _imbalanced()
    kept = random_undersampling(X, y, train, seed=3).train
    assert set(kept) <= set(train) and np.all(np.diff(kept) > 0)
    pos = train[y[train] == 1]
    assert set(pos) <= set(kept)
    n_neg = int(np.sum(y[kept] == 0))
    assert n_neg == int(pos.size / RESAMPLING_RATIO)
    again = random_undersampling(X, y, train, seed=3).train
    other = random_undersampling(X, y, train, seed=4).train
    assert np.array_equal(kept, again) and not np.array_equal(kept, other)


def test_smote_rows_lie_between_a_positive_and_a_positive_neighbour():
    X, y, train = _imbalanced()
    out = smote(X, y, train, seed=0)
    assert np.array_equal(out.train, train) and out.class_weight is None
    pos = int(np.sum(y[train] == 1))
    neg = train.size - pos
    assert out.extra_y.size == int(RESAMPLING_RATIO * neg) - pos and np.all(out.extra_y == 1)
    # in the z-scored space of the training rows, each new row is a + t (b - a) for two
    # positive training rows a, b (b among a's 5 nearest positives) and 0 <= t <= 1
    z = fit_zscore(X, train)
    P = z.transform(X[train][y[train] == 1])
    new = z.transform(out.extra_X)
    assert np.allclose(out.extra_X[:, 3], 7.0)  # the constant column stays constant
    for row in new:
        found = False
        for a in P:
            d = np.linalg.norm(P - a, axis=1)
            for j in np.argsort(d)[1:6]:
                v = P[j] - a
                t = float(np.dot(row - a, v) / np.dot(v, v))
                if -1e-9 <= t <= 1 + 1e-9 and np.allclose(a + t * v, row, atol=1e-8):
                    found = True
                    break
            if found:
                break
        assert found


def test_resampling_leaves_balanced_enough_training_sets_alone():
    X, y, train = _imbalanced(positives=150)
    assert np.array_equal(random_undersampling(X, y, train, 0).train, train)
    assert smote(X, y, train, 0).extra_X is None


def test_balanced_class_weight_is_sklearns():
    X, y, train = _imbalanced()
    w = balanced_class_weight(X, y, train, 0).class_weight
    expected = compute_class_weight("balanced", classes=np.array([0, 1]), y=y[train])
    assert np.allclose(w, expected)


def test_rusboost_is_imblearns_classifier_with_the_fold_seed():
    from imblearn.ensemble import RUSBoostClassifier

    X, y, train = _imbalanced()
    test = np.setdiff1d(np.arange(y.size), train)
    fold = FoldData(X[train], y[train], X[:0], y[:0], X[test], seed=11)
    pred = rusboost(fold)
    direct = RUSBoostClassifier(random_state=11).fit(X[train], y[train])
    assert np.array_equal(pred.scores, direct.predict_proba(X[test])[:, 1])
    assert np.array_equal(pred.scores > pred.threshold, direct.predict(X[test]) == 1)


def test_dice_loss_is_keras_dice():
    rng = np.random.default_rng(1)
    y = (rng.random(64) < 0.2).astype("float64")
    p = rng.random(64)
    from cmloss.trainer.objectives import member_losses

    ours = float(member_losses(LossSpec.dice(), y, p, np.ones_like(p), 64.0))
    theirs = float(keras.losses.Dice()(y, p))
    assert ours == pytest.approx(theirs, abs=1e-6)
    assert isinstance(LossSpec.dice().keras_loss(), keras.losses.Dice)


def test_runner_appends_smote_rows_and_scales_with_the_original_training_rows():
    X, y, train = _imbalanced()
    rest = np.setdiff1d(np.arange(y.size), train)

    class Data:
        pass

    data = Data()
    data.X, data.y = X, y

    class Split:
        repeat, fold = 0, 0

    split = Split()
    split.train, split.validation, split.test = train, rest[:50], rest[50:]
    exp = Experiment("t", "anyloss", ("random",), ("slp-bce-smote", "slp-bce"), epochs=2)
    X_aug, y_aug, members = network_members(exp, Unit("random", 0, exp.methods), data, [split])
    smoted, plain = members
    expected = smote(X, y, train, smoted.seed)
    assert np.array_equal(X_aug[: y.size], X) and X_aug.shape[0] == y.size + expected.extra_y.size
    assert np.array_equal(smoted.scale_rows, train) and plain.scale_rows is None
    assert np.array_equal(smoted.train[: train.size], train)
    views = build_views(X_aug, y_aug, [smoted, plain], deduplicate=False)
    z = fit_zscore(X, train)
    n_all = smoted.train.size
    assert np.allclose(views.train_X[0, :n_all], z.transform(X_aug[smoted.train]), atol=1e-5)
    assert np.allclose(views.train_X[1, : train.size], z.transform(X[train]), atol=1e-5)
    assert get_method("slp-bce-smote").prepare is smote


def test_rusboost_draws_the_next_undersample_when_adaboost_refuses(monkeypatch):
    from imblearn.ensemble import RUSBoostClassifier

    X, y, train = _imbalanced()
    test = np.setdiff1d(np.arange(y.size), train)
    fold = FoldData(X[train], y[train], X[:0], y[:0], X[test], seed=11)
    real_fit = RUSBoostClassifier.fit
    seeds = []

    def fit(self, X, y, sample_weight=None):
        seeds.append(self.random_state)
        if len(seeds) < 3:
            raise ValueError("BaseClassifier in AdaBoostClassifier ensemble is worse than random")
        return real_fit(self, X, y, sample_weight)

    monkeypatch.setattr(RUSBoostClassifier, "fit", fit)
    pred = rusboost(fold)
    assert seeds == [11, 12, 13]
    monkeypatch.setattr(RUSBoostClassifier, "fit", real_fit)
    direct = RUSBoostClassifier(random_state=13).fit(X[train], y[train])
    assert np.array_equal(pred.scores, direct.predict_proba(X[test])[:, 1])

    def refuse_uniform(self, X, y, sample_weight=None):
        seeds.append((self.random_state, sample_weight is not None))
        if sample_weight is None:
            raise ValueError("BaseClassifier in AdaBoostClassifier ensemble is worse than random")
        return real_fit(self, X, y, sample_weight)

    seeds.clear()
    monkeypatch.setattr(RUSBoostClassifier, "fit", refuse_uniform)
    pred = rusboost(fold)
    assert seeds == [(11 + k, False) for k in range(RUSBOOST_TRIES)] + [(11, True)]
    monkeypatch.setattr(RUSBoostClassifier, "fit", real_fit)
    y_train = y[train]
    weights = np.where(y_train == 1, 0.5 / y_train.sum(), 0.5 / (y_train == 0).sum())
    direct = RUSBoostClassifier(random_state=11).fit(X[train], y_train, sample_weight=weights)
    assert np.array_equal(pred.scores, direct.predict_proba(X[test])[:, 1])

    def other_error(self, X, y, sample_weight=None):
        raise ValueError("something else")

    monkeypatch.setattr(RUSBoostClassifier, "fit", other_error)
    with pytest.raises(ValueError, match="something else"):
        rusboost(fold)
