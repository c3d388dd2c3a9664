"""The fast trainer runs the same algorithm as Keras ``model.fit`` with cmloss objects.

Each case trains one member with :func:`cmloss.trainer.train_members` and the same
network with plain Keras (same initial weights, via ``get_weights()`` lists; same
z-scored float32 rows; the trainer's own mini-batch order fed through a
``keras.utils.PyDataset``; the cmloss optimizer, callbacks and metrics), then compares
weights, the logged training loss and e-ratio, validation FNR_apx, the selected epoch
and the ASTra slope. Tolerances are float32 round-off accumulated over the epochs
(different summation orders in XLA and in TensorFlow's kernels).
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from cmloss import metrics
from cmloss import optimizers as keras_optimizers
from cmloss.core.astra import astra_threshold, beta_cap, slope_from_beta
from cmloss.layers import ASTra
from cmloss.protocols import fit_zscore
from cmloss.trainer import (
    AdaptiveSlope,
    Architecture,
    LossSpec,
    MemberSpec,
    OptimizerSpec,
    Selection,
    batch_order,
    build_keras_model,
    train_members,
)


def _data(seed: int, n: int = 300):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [3.0, 1.0, 10.0] + [5.0, 0.0, -2.0]
    y = (X[:, 0] + 2.0 * rng.normal(size=n) > 9).astype(np.int64)
    idx = rng.permutation(n)
    parts = (
        np.sort(idx[: int(0.6 * n)]),
        np.sort(idx[int(0.6 * n) : int(0.8 * n)]),
        np.sort(idx[int(0.8 * n) :]),
    )
    return X, y, parts


class _TrainerBatches(keras.utils.PyDataset):
    """The trainer's batches of each epoch (``on_epoch_begin`` advances the epoch; the
    two shape-probing reads Keras makes before training see epoch 0)."""

    def __init__(self, X, y, member: MemberSpec):
        super().__init__()
        self.X, self.y, self.member = X, y, member
        self.epoch = -1

    def __len__(self):
        return self.member.steps_per_epoch()

    def on_epoch_begin(self):
        self.epoch += 1

    def __getitem__(self, i):
        rows = batch_order(
            np.arange(self.y.size),
            self.member.shuffle_seed,
            max(self.epoch, 0),
            self.member.batch_size(),
        )[i]
        return self.X[rows], self.y[rows]


def _keras_fit(member: MemberSpec, X, y):
    """Train ``member`` with ``model.fit``; return (weights, history, selected epoch)."""
    zscore = fit_zscore(X, member.train)
    x_train = zscore.transform(X[member.train]).astype(np.float32)
    y_train = y[member.train].astype(np.float32)
    model = build_keras_model(member, X.shape[1])
    model.compile(
        optimizer=member.optimizer.keras_optimizer(),
        loss=member.loss.keras_loss(),
        metrics=[metrics.FNRApx(), metrics.ERatioApx()],
    )
    callbacks = []
    if member.output == "astra":
        callbacks.append(member.optimizer.adaptive_slope.keras_callback())
    if member.selection is not None:
        callbacks.append(member.selection.keras_callback())
    kwargs = dict(epochs=member.epochs, shuffle=False, callbacks=callbacks, verbose=0)
    if member.validation.size:
        kwargs["validation_data"] = (
            zscore.transform(X[member.validation]).astype(np.float32),
            y[member.validation].astype(np.float32),
        )
    if member.class_weight is not None:
        kwargs["class_weight"] = dict(enumerate(member.class_weight))
    if member.full_batch:
        history = model.fit(x_train, y_train, batch_size=y_train.size, **kwargs)
    else:
        history = model.fit(_TrainerBatches(x_train, y_train, member), **kwargs)
    selected = callbacks[-1].best_epoch if member.selection is not None else member.epochs - 1
    return model.get_weights(), history.history, selected


def _compare(name, member, X, y, *, weight_atol, loss_rtol, skip_weights=()):
    (result,) = train_members(X, y, [member])
    weights, history, selected = _keras_fit(member, X, y)
    assert result.selected_epoch == selected, name
    for i, (mine, theirs) in enumerate(zip(result.weights, weights)):
        if i in skip_weights:
            continue
        np.testing.assert_allclose(
            mine, theirs, rtol=0, atol=weight_atol, err_msg=f"{name}: weight {i}"
        )
    np.testing.assert_allclose(
        result.train_loss, history["loss"], rtol=loss_rtol, err_msg=f"{name}: training loss"
    )
    np.testing.assert_allclose(
        result.curves["train_e_ratio"],
        history["e_ratio_apx"],
        rtol=10 * loss_rtol,
        err_msg=f"{name}: training e-ratio",
    )
    if "val_fnr_apx" in history:
        np.testing.assert_allclose(
            result.curves["val_fnr_apx"],
            history["val_fnr_apx"],
            rtol=0,
            atol=10 * loss_rtol,
            err_msg=f"{name}: val FNR_apx",
        )
    return result, history, weights


def test_slp_bce_full_batch_sgd():
    """The AnyLoss SLP: zero-initialised, full-batch gradient descent, BCE, 150 epochs."""
    X, y, (train, _, test) = _data(0)
    member = MemberSpec(
        train=train,
        test=test,
        architecture=Architecture.slp("zeros"),
        loss=LossSpec.bce(),
        optimizer=OptimizerSpec("sgd", 0.2),
        epochs=150,
    )
    _compare("slp", member, X, y, weight_atol=2e-6, loss_rtol=2e-6)


@pytest.mark.parametrize(
    ("name", "loss", "batch_fraction", "data_seed", "seed"),
    [
        # AnyLoss F1 (L = 73), mini-batches of 10%
        ("mlp-anyloss", LossSpec.anyloss("f1"), 0.1, 1, 3),
        # Keras' own Dice loss (keras.losses.Dice, with its epsilon) against the trainer's
        # 1 - soft F1 (identity step), mini-batches of 20%
        ("dice", LossSpec.dice(), 0.2, 4, 4),
        # Keras' BinaryFocalCrossentropy (class balancing on, gamma 2, alpha 0.25), the
        # focal baseline, mini-batches of 25%
        ("focal", LossSpec.focal(), 0.25, 5, 5),
    ],
)
def test_mlp_minibatches(name, loss, batch_fraction, data_seed, seed):
    """One hidden layer of 3 units, Adam 0.003, 40 epochs of mini-batches in the trainer's
    shuffled order."""
    X, y, (train, _, test) = _data(data_seed)
    member = MemberSpec(
        train=train,
        test=test,
        architecture=Architecture("mlp", 3),
        loss=loss,
        optimizer=OptimizerSpec("adam", 0.003),
        epochs=40,
        batch_fraction=batch_fraction,
        seed=seed,
    )
    _compare(name, member, X, y, weight_atol=1e-4, loss_rtol=5e-5)


def test_bn_mlp_minibatches():
    """The AnyLoss MLP (Dense(2) -> BatchNormalization -> sigmoid -> Dense(1, sigmoid)),
    AnyLoss accuracy, Adam, batches of 20%, 40 epochs.

    The hidden bias has a mathematically zero gradient (batch normalisation removes it),
    so in both implementations it drifts with round-off-sized gradients that Adam
    normalises to steps of size ``lr``; it, and the moving mean that tracks it, are
    compared through the network's outputs instead.
    """
    X, y, (train, _, test) = _data(2)
    member = MemberSpec(
        train=train,
        test=test,
        architecture=Architecture.anyloss_mlp(),
        loss=LossSpec.anyloss("accuracy"),
        optimizer=OptimizerSpec("adam", 0.005),
        epochs=40,
        batch_fraction=0.2,
        seed=4,
    )
    result, _, weights = _compare(
        "bn-mlp", member, X, y, weight_atol=2e-5, loss_rtol=2e-5, skip_weights=(1, 4)
    )
    model = build_keras_model(member, X.shape[1], weights=weights)
    zscore = fit_zscore(X, member.train)
    keras_scores = model.predict(zscore.transform(X[test]).astype(np.float32), verbose=0)[:, 0]
    np.testing.assert_allclose(result.test_scores, keras_scores, rtol=0, atol=2e-3)


def test_rmsprop_class_weights():
    """RMSprop with Keras ``class_weight`` (weights enter the loss and the metrics)."""
    X, y, (train, _, test) = _data(3)
    member = MemberSpec(
        train=train,
        test=test,
        architecture=Architecture("mlp", 2),
        loss=LossSpec.bce(),
        optimizer=OptimizerSpec("rmsprop", 0.01),
        class_weight=(1.0, 5.0),
        epochs=40,
        seed=6,
    )
    _compare("rmsprop", member, X, y, weight_atol=2e-6, loss_rtol=2e-6)


def _astra_gmn_member():
    """The ASTra paper's setting on small data: GMN on the ASTra z output, Adam with the
    adaptive slope rate, best-on-validation by FNR_apx."""
    X, y, (train, validation, test) = _data(2)
    member = MemberSpec(
        train=train,
        validation=validation,
        test=test,
        architecture=Architecture.astra_paper(3),
        loss=LossSpec.gmn(),
        output="astra",
        optimizer=OptimizerSpec("adam", 0.01),
        epochs=100,
        seed=1,
    )
    return X, y, member


def test_astra_gmn_adaptive_slope_best_on_validation():
    """The ASTra paper's setting: GMN on the ASTra z output, Adam with the adaptive slope
    rate (Eq. 10) and best-on-validation by FNR_apx. Same selected epoch (in the middle
    of training), same slope b, same per-epoch slope rate, loss and e-ratio."""
    X, y, member = _astra_gmn_member()
    result, history, _ = _compare("astra-gmn", member, X, y, weight_atol=2e-5, loss_rtol=2e-5)
    assert 10 < result.selected_epoch < 90
    np.testing.assert_allclose(
        result.curves["slope_learning_rate"], history["slope_learning_rate"], rtol=1e-6
    )
    np.testing.assert_allclose(result.curves["slope"], history["astra_slope"], rtol=2e-5)
    slope_at_selection = history["astra_slope"][result.selected_epoch]
    assert result.final_b == pytest.approx(slope_at_selection, rel=2e-5)
    assert result.final_b != pytest.approx(history["astra_slope"][-1], rel=1e-3)


def test_astra_slope_by_plain_gradient_descent():
    """``slope_optimizer="sgd"`` (ledger candidate 8): the weights follow Adam, the slope
    parameter plain gradient descent at the adaptive rate eta_b, in both the trainer and
    ``model.fit``; the slope's path differs from the one under Adam."""
    X, y, member = _astra_gmn_member()
    sgd = dataclasses.replace(
        member, optimizer=dataclasses.replace(member.optimizer, slope_optimizer="sgd")
    )
    result, history, _ = _compare("slope-sgd", sgd, X, y, weight_atol=2e-5, loss_rtol=2e-5)
    np.testing.assert_allclose(
        result.curves["slope_learning_rate"], history["slope_learning_rate"], rtol=1e-6
    )
    np.testing.assert_allclose(result.curves["slope"], history["astra_slope"], rtol=2e-5)
    (adam,) = train_members(X, y, [member])
    assert not np.allclose(result.curves["slope"], adam.curves["slope"], rtol=1e-3)


def test_slope_optimizer_is_checked():
    message = r"slope_optimizer must be one of \('same', 'sgd'\); got slope_optimizer='momentum'"
    with pytest.raises(ValueError, match=message):
        OptimizerSpec(slope_optimizer="momentum")
    with pytest.raises(ValueError, match=message):
        keras_optimizers.Adam(slope_optimizer="momentum")
    saved = keras.saving.serialize_keras_object(keras_optimizers.RMSprop(slope_optimizer="sgd"))
    assert keras.saving.deserialize_keras_object(saved).slope_optimizer == "sgd"


def test_astra_tau_floor():
    """``tau_min`` (ledger candidate 4) is the ASTra layer's ``min_threshold``: the slope
    parameter is clipped after each step in both the trainer and ``model.fit``, so
    ``tau(b)`` never goes below the floor, and here the floor binds."""
    X, y, member = _astra_gmn_member()
    (free,) = train_members(X, y, [member])
    tau_min = float(0.5 * (0.25 + astra_threshold(np.max(free.curves["slope"]))))
    floored = dataclasses.replace(member, tau_min=tau_min)
    result, history, _ = _compare("tau-floor", floored, X, y, weight_atol=2e-5, loss_rtol=2e-5)
    np.testing.assert_allclose(result.curves["slope"], history["astra_slope"], rtol=2e-5)
    cap = float(slope_from_beta(beta_cap(tau_min)))
    assert np.max(result.curves["slope"]) == pytest.approx(cap, rel=1e-5)
    assert np.max(free.curves["slope"]) > 1.01 * cap
    with pytest.raises(ValueError, match=r"tau_init must be >= tau_min; got tau_init=0.25"):
        dataclasses.replace(member, tau_min=0.3)
    with pytest.raises(ValueError, match=r"tau_min must be a number in \(0.0, 0.5\); got tau_"):
        dataclasses.replace(member, tau_min=0.5)
    layer = ASTra(threshold=0.25, min_threshold=0.05)
    assert ASTra.from_config(layer.get_config()).min_threshold == 0.05


def test_selection_on_the_raw_astra_output():
    """``Selection(output="raw")`` (ledger candidate 2) monitors FNR_apx of the Eq. 4 value
    ``ASTra(x, b)``, not of the z output: the value kept equals FNR_apx recomputed in NumPy
    from the Keras model with the kept weights and the layer's ``output="astra"``;
    training is untouched and the kept epoch differs from the z reading's here."""
    X, y, member = _astra_gmn_member()
    raw = dataclasses.replace(member, selection=Selection(output="raw"))
    (z_result,) = train_members(X, y, [member])
    (raw_result,) = train_members(X, y, [raw])
    np.testing.assert_array_equal(raw_result.train_loss, z_result.train_loss)
    assert raw_result.selected_epoch != z_result.selected_epoch
    zscore = fit_zscore(X, raw.train)
    x_val = zscore.transform(X[raw.validation]).astype(np.float32)
    y_val = y[raw.validation].astype(np.float64)
    for result, output in ((raw_result, "astra"), (z_result, "z")):
        model = build_keras_model(raw, X.shape[1], result.weights)
        o = keras.Model(model.input, model.get_layer("output").output)(x_val)
        layer = ASTra(threshold=0.25, output=output)
        layer.build((None, 1))
        layer.set_weights([result.weights[-1]])
        p = np.asarray(layer(o), np.float64).reshape(-1)
        fnr = np.sum(y_val * (1.0 - p)) / np.sum(y_val)
        assert result.best_value == pytest.approx(fnr, rel=1e-5), output
    with pytest.raises(ValueError, match=r"output must be one of \('z', 'raw'\); got output="):
        Selection(output="astra")
    with pytest.raises(ValueError, match=r"keras_callback\(\) needs output='z'"):
        Selection(output="raw").keras_callback()


def test_e_ratio_on_the_raw_astra_output():
    """``AdaptiveSlope(output="raw")`` (ledger candidate 3) reads Eq. 10's e-ratio from the
    training cells of the raw Eq. 4 output: at the first epoch it equals the e-ratio
    recomputed in NumPy from the initial Keras model with ``ASTra(output="astra")``, and
    the slope then follows another path than under the z reading."""
    X, y, member = _astra_gmn_member()
    raw = dataclasses.replace(member, optimizer=dataclasses.replace(
        member.optimizer, adaptive_slope=AdaptiveSlope(output="raw")))
    (z_result,) = train_members(X, y, [member])
    (raw_result,) = train_members(X, y, [raw])
    assert not np.allclose(raw_result.curves["slope"], z_result.curves["slope"], rtol=1e-3)
    model = build_keras_model(raw, X.shape[1])
    x_train = fit_zscore(X, raw.train).transform(X[raw.train]).astype(np.float32)
    y_train = y[raw.train].astype(np.float64)
    o = keras.Model(model.input, model.get_layer("output").output)(x_train)
    e_ratios = []
    for output in ("astra", "z"):
        layer = ASTra(threshold=raw.tau_init, output=output)
        layer.build((None, 1))
        layer.set_weights([model.get_weights()[-1]])
        p = np.asarray(layer(o), np.float64).reshape(-1)
        fnr = np.sum(y_train * (1 - p)) / np.sum(y_train)
        fpr = np.sum((1 - y_train) * p) / np.sum(1 - y_train)
        e_ratios.append(fnr / fpr)  # Eq. 11: FNR / FPR of the approximated matrix
    assert raw_result.curves["train_e_ratio"][0] == pytest.approx(e_ratios[0], rel=1e-5)
    assert z_result.curves["train_e_ratio"][0] == pytest.approx(e_ratios[1], rel=1e-5)
    with pytest.raises(ValueError, match=r"output must be one of \('z', 'raw'\); got output="):
        AdaptiveSlope(output="astra")
    with pytest.raises(ValueError, match=r"keras_callback\(\) needs output='z'"):
        AdaptiveSlope(output="raw").keras_callback()


def test_selection_start_from_epoch_matches_keras_early_stopping():
    """``Selection(start_from_epoch=S)`` is Keras' ``EarlyStopping(start_from_epoch=S)``:
    with S after the epoch the unrestricted rule keeps, both select the same later epoch
    (the best among epochs >= S) and restore the same weights."""
    X, y, member = _astra_gmn_member()
    (free,) = train_members(X, y, [member])
    start = free.selected_epoch + 1
    late = dataclasses.replace(member, selection=Selection(start_from_epoch=start))
    result, history, _ = _compare("start-from", late, X, y, weight_atol=2e-5, loss_rtol=2e-5)
    val = np.asarray(history["val_fnr_apx"])
    assert result.selected_epoch == start + int(np.argmin(val[start:]))
    assert val[free.selected_epoch] < val[result.selected_epoch]


def test_selection_start_from_epoch_is_checked():
    with pytest.raises(ValueError, match=r"start_from_epoch must be an int >= 0; got .*-1"):
        Selection(start_from_epoch=-1)
    with pytest.raises(ValueError, match=r"start_from_epoch must be an int >= 0; got .*2\.5"):
        Selection(start_from_epoch=2.5)
    with pytest.raises(ValueError, match=r"start_from_epoch=10, epochs=10"):
        MemberSpec(train=[0, 1], validation=[2], epochs=10, selection=Selection("fnr", "min", 10))
