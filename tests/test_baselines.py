"""The baselines of chapter 7 (threshold moving, focal loss, class-weighted BCE, logistic
regression): validation scores from the trainer, tuned thresholds, one network per
identical spec, and the checks that refuse what cannot work."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cmloss.core.evaluation import calibration_summary, reliability_bins
from cmloss.experiments import Experiment, run_experiment
from cmloss.experiments.methods import METHODS, FoldData, balanced_class_weight
from cmloss.thresholds import tune


def _data(seed: int = 3, n: int = 400):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + 0.8 * rng.normal(size=n) > 1.2).astype(np.int64)
    idx = rng.permutation(n)
    parts = np.sort(idx[:240]), np.sort(idx[240:320]), np.sort(idx[320:])
    return X, y, parts


def _member(parts, **changes):
    from cmloss.trainer import Architecture, LossSpec, MemberSpec, OptimizerSpec

    train, validation, test = parts
    settings = dict(
        train=train, validation=validation, test=test, architecture=Architecture("mlp", 3),
        loss=LossSpec.bce(), optimizer=OptimizerSpec("adam", 0.01), epochs=40, seed=2,
    )
    return MemberSpec(**{**settings, **changes})


def test_validation_scores_are_the_selected_networks_outputs_on_the_validation_rows():
    """``MemberResult.validation_scores`` (identical rows merged, their counts in
    ``validation_weights``) are the Keras model's outputs with the kept weights on the
    validation rows z-scored by the training rows; tuning on them gives the threshold
    that tuning on every row gives."""
    from cmloss.protocols import fit_zscore
    from cmloss.trainer import build_keras_model, train_members

    X, y, parts = _data()
    X = np.vstack([X, X[parts[1][:5]]])  # five validation rows twice: merged by the trainer
    y = np.concatenate([y, y[parts[1][:5]]])
    validation = np.concatenate([parts[1], np.arange(400, 405)])
    member = _member((parts[0], validation, parts[2]), selection=None)  # the last epoch
    (result,) = train_members(X, y, [member])
    assert result.validation_scores.size == validation.size - 5
    assert result.validation_weights.sum() == validation.size
    model = build_keras_model(member, X.shape[1], result.weights)
    x_val = fit_zscore(X, member.train).transform(X[validation]).astype(np.float32)
    keras_scores = np.asarray(model(x_val)).reshape(-1)
    expanded = np.repeat(result.validation_scores, result.validation_weights.astype(int))
    np.testing.assert_allclose(np.sort(keras_scores), np.sort(expanded), rtol=0, atol=2e-6)
    for metric in ("g_mean", "mcc"):
        mine = tune(result.validation_labels, result.validation_scores, metric,
                    sample_weight=result.validation_weights)
        theirs = tune(y[validation], keras_scores, metric)
        assert mine.value == pytest.approx(theirs.value, abs=1e-9)
        assert mine.threshold == pytest.approx(theirs.threshold, abs=2e-6)


@pytest.fixture(scope="module")
def skin_run(tmp_path_factory, CMLOSS_DATA):
    experiment = Experiment(
        "baselines-test", "astra", ("skin-588",),
        ("bce", "bce-tuned", "bce-tuned-mcc", "gmn-tuned", "focal", "bce-weighted",
         "logreg-tuned"),
        repeats=1, folds=5, max_folds=2, epochs=60, curve_stride=10,
    )
    out = tmp_path_factory.mktemp("baselines")
    run_experiment(experiment, out, data_home=CMLOSS_DATA, show_progress=False)
    return experiment, pd.read_csv(out / "results.csv"), out


def test_tuned_methods_share_the_bce_network_and_move_only_the_threshold(skin_run, CMLOSS_DATA):
    """``bce``, ``bce-tuned`` and ``bce-tuned-mcc`` keep the same network on every fold
    (same selected epoch and validation value); the tuned ones apply the threshold that
    ``tune`` finds on the validation scores of that network, retrained here alone."""
    from cmloss.experiments.runner import _Splits, network_members, plan_units
    from cmloss.trainer import train_members

    experiment, rows, out = skin_run
    rows = rows.set_index(["method", "fold"])
    for fold in (0, 1):
        base = rows.loc[("bce", fold)]
        assert base["threshold"] == 0.5
        for name in ("bce-tuned", "bce-tuned-mcc"):
            tuned = rows.loc[(name, fold)]
            assert tuned["selected_epoch"] == base["selected_epoch"]
            assert tuned["best_val_value"] == base["best_val_value"]
    alone = experiment.with_options(methods=("bce",))
    (unit,) = plan_units(alone, CMLOSS_DATA / "none", CMLOSS_DATA)
    data, splits = _Splits(alone, CMLOSS_DATA)("skin-588", 0)
    X, y, members = network_members(alone, unit, data, splits)
    bins = np.load(out / "chunks" / "skin-588" / "bce" / "repeat-0.npz")["reliability"]
    for result in train_members(X, y, members, curve_stride=10):
        fold = result.member.tag["fold"]
        split = splits[fold]
        calibration = calibration_summary(
            y[split.test], result.test_scores, result.validation_labels,
            result.validation_scores, result.validation_weights)
        for name in ("bce", "bce-tuned"):  # the same network, so the same calibration
            for key, value in calibration.items():
                assert np.isfinite(value), key
                assert rows.loc[(name, fold), key] == pytest.approx(value, abs=1e-6), key
        np.testing.assert_allclose(
            bins[fold], reliability_bins(y[split.test], result.test_scores), atol=1e-5)
        assert bins[fold][:, 0].sum() == split.test.size
        for name, metric in (("bce-tuned", "g_mean"), ("bce-tuned-mcc", "mcc")):
            expected = tune(result.validation_labels, result.validation_scores, metric,
                            sample_weight=result.validation_weights).threshold
            assert rows.loc[(name, fold), "threshold"] == pytest.approx(expected, abs=1e-6)
    assert (rows.loc["gmn-tuned", "threshold"] != 0.5).all()
    assert (rows.loc["focal", "threshold"] == 0.5).all()


def test_a_unit_trains_each_distinct_network_once(monkeypatch, tmp_path, CMLOSS_DATA):
    from cmloss.experiments import runner

    trained = []
    real = runner.train_members

    def counting(X, y, members, **kwargs):
        trained.extend(m.tag["method"] for m in members)
        return real(X, y, members, **kwargs)

    monkeypatch.setattr(runner, "train_members", counting)
    experiment = Experiment("share", "astra", ("skin-588",), ("bce", "bce-tuned", "gmn-tuned"),
                            repeats=1, max_folds=2, epochs=5, curve_stride=5)
    run_experiment(experiment, tmp_path / "run", data_home=CMLOSS_DATA, show_progress=False)
    assert sorted(trained) == ["bce", "bce", "gmn-tuned", "gmn-tuned"]
    rows = pd.read_csv(tmp_path / "run" / "results.csv")
    assert sorted(rows["method"].unique()) == ["bce", "bce-tuned", "gmn-tuned"]


def test_threshold_moving_is_refused_without_a_separate_validation_fold(tmp_path):
    experiment = Experiment("refused", "anyloss", ("breast_cancer",), ("bce-tuned",), folds=10,
                            max_folds=1, epochs=2)
    with pytest.raises(ValueError, match=r"method 'bce-tuned' tunes its threshold on the "
                                         r"validation fold, but the anyloss protocol"):
        run_experiment(experiment, tmp_path / "run", show_progress=False)


def test_logreg_tuned_threshold_maximises_validation_g_mean():
    from sklearn.linear_model import LogisticRegression

    X, y, (train, validation, test) = _data(5)
    fold = FoldData(X[train], y[train], X[validation], y[validation], X[test], seed=0)
    prediction = METHODS["logreg-tuned"].fit_predict(fold)
    model = LogisticRegression(max_iter=1000).fit(X[train], y[train])
    np.testing.assert_allclose(prediction.scores, model.predict_proba(X[test])[:, 1])
    val = model.predict_proba(X[validation])[:, 1]

    def g_mean(t):
        pred = val > t
        tpr = (pred & (y[validation] == 1)).sum() / (y[validation] == 1).sum()
        tnr = (~pred & (y[validation] == 0)).sum() / (y[validation] == 0).sum()
        return np.sqrt(tpr * tnr)

    best = max(g_mean(t) for t in np.unique(val))
    assert g_mean(prediction.threshold) == pytest.approx(best)
    assert prediction.threshold != 0.5


def test_focal_and_weighted_baselines_are_what_they_say(skin_run):
    import keras

    from cmloss.experiments.methods import Context
    from cmloss.trainer import LossSpec

    ctx = Context("skin-588", 3)
    loss = METHODS["focal"].settings(ctx)["loss"]
    assert (loss.kind, loss.gamma, loss.alpha) == ("focal", 2.0, 0.25)
    keras_loss = loss.keras_loss()
    assert isinstance(keras_loss, keras.losses.BinaryFocalCrossentropy)
    assert keras_loss.get_config()["apply_class_balancing"] is True
    assert METHODS["bce-weighted"].prepare is balanced_class_weight
    assert METHODS["bce-weighted"].settings(ctx) == METHODS["bce"].settings(ctx)
    with pytest.raises(ValueError, match=r"gamma must be a finite number > 0 \(or 0\)"):
        LossSpec.focal(gamma=-1.0)
    with pytest.raises(ValueError, match=r"alpha must be"):
        LossSpec.focal(alpha=1.5)
    _, rows, _ = skin_run
    assert set(rows["method"]) >= {"focal", "bce-weighted", "logreg-tuned"}
    networks = rows[rows["method"] != "logreg-tuned"]
    assert networks[["brier", "ece", "brier_platt", "ece_isotonic"]].notna().all().all()
    assert rows.loc[rows["method"] == "logreg-tuned", "brier"].isna().all()
    assert rows[["g_mean", "mcc"]].notna().all().all()
