"""The once-per-epoch rules shared by the Keras callbacks and the trainer
(``cmloss.trainer.epoch_rules``): best-on-validation never selects a NaN epoch, says so
when nothing could be selected or when it restores an epoch from the very start of
training, and Eq. 10 keeps the slope rate through a NaN e-ratio."""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from cmloss import callbacks, layers, losses, metrics, optimizers
from cmloss.trainer import Architecture, LossSpec, MemberSpec, OptimizerSpec, train_members
from cmloss.trainer.epoch_rules import SelectionWarning, improves, worst_value

NAN = math.nan



def _select(values, mode="min", start=0, xp=np):
    """Run the selection rule over a sequence; return the selected epoch or None."""
    best, found, epoch = worst_value(mode), False, None
    for e, v in enumerate(values):
        if xp is tf:
            v, b, f = tf.constant(v, tf.float32), tf.constant(best, tf.float32), tf.constant(found)
            take = bool(improves(v, b, f, tf.constant(e), mode=mode, start_from_epoch=start, xp=tf))
        else:
            take = bool(improves(v, best, found, e, mode=mode, start_from_epoch=start))
        if take:
            best, found, epoch = v if xp is np else float(v), True, e
    return epoch


@pytest.mark.parametrize("xp", [np, tf], ids=["numpy", "tensorflow"])
def test_selection_rule_skips_nan_in_both_namespaces(xp):
    assert _select([NAN, 0.5, 0.3, NAN, 0.3, 0.1, NAN], xp=xp) == 5
    assert _select([NAN, 0.5, 0.3, 0.3], xp=xp) == 2  # ties keep the earliest
    assert _select([NAN, 0.2, 0.9, NAN, 0.9], mode="max", xp=xp) == 2
    assert _select([0.1, NAN, 0.3, 0.2], start=1, xp=xp) == 3
    assert _select([NAN, NAN, NAN], xp=xp) is None
    assert _select([math.inf, NAN], xp=xp) == 0  # inf is a value, NaN is not


# ----------------------------------------------------------------------- Keras callbacks
def _model(lr=1e-2, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    hidden = keras.layers.LeakyReLU(negative_slope=0.3)(keras.layers.Dense(3)(inputs))
    out = layers.ASTra()(keras.layers.Dense(1)(hidden))
    model = keras.Model(inputs, out)
    model.compile(loss=losses.BinaryCrossentropy(), optimizer=optimizers.Adam(lr),
                  metrics=[metrics.FNRApx(), metrics.ERatioApx()], jit_compile=False)
    return model


def _replay(best, model, values, monitor="val_fnr_apx"):
    """Feed ``values`` as the monitored log of successive epochs; epoch ``e``'s weights
    are all ``e``. Returns the warnings raised at the end."""
    best.set_model(model)
    best.on_train_begin()
    for epoch, value in enumerate(values):
        model.set_weights([np.full_like(w, epoch) for w in model.get_weights()])
        best.on_epoch_end(epoch, {monitor: value})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        best.on_train_end()
    return [w for w in caught if issubclass(w.category, SelectionWarning)]


def _weights_epoch(model) -> float:
    return float(model.get_weights()[0].flat[0])


@pytest.mark.parametrize("mode, values, expected", [
    ("min", [NAN, 0.4, 0.2, NAN, 0.3], 2),
    ("max", [NAN, 0.4, 0.6, NAN, 0.5], 2),
])
def test_best_on_validation_never_selects_a_nan_epoch(mode, values, expected):
    """A NaN at epoch 0 does not lock the selection there (Keras' EarlyStopping takes the
    first epoch as best whatever its value, and nothing compares better than NaN)."""
    model = _model()
    best = callbacks.BestOnValidation(mode=mode)
    assert _replay(best, model, values) == []
    assert best.best_epoch == expected and best.best == values[expected]
    assert _weights_epoch(model) == expected


def test_best_on_validation_all_nan_keeps_the_last_weights_and_warns():
    model = _model()
    best = callbacks.BestOnValidation()
    caught = _replay(best, model, [NAN] * 5)
    assert best.best_epoch is None and best.best is None
    assert _weights_epoch(model) == 4
    assert len(caught) == 1
    assert "val_fnr_apx was NaN at every epoch from 0 on" in str(caught[0].message)
    assert "last weights are kept" in str(caught[0].message)


def test_best_on_validation_warns_when_it_restores_the_first_epochs():
    """Within the first 1% of training (epoch 0 included): a warning; later: none."""
    model = _model()
    caught = _replay(callbacks.BestOnValidation(), model, [0.5] + [0.6] * 299)
    assert len(caught) == 1 and "restored epoch 0 (0-based) of 300" in str(caught[0].message)
    caught = _replay(callbacks.BestOnValidation(), model, [0.6, 0.6, 0.5] + [0.6] * 297)
    assert len(caught) == 1 and "restored epoch 2 (0-based) of 300" in str(caught[0].message)
    assert _replay(callbacks.BestOnValidation(), model, [0.6] * 3 + [0.5] + [0.6] * 296) == []


def _diverging(scale: float, n=200, seed=4):
    """Features times ``scale``: with Adam at 1e38, the outputs are NaN after one update
    (``scale=100``) or after two (``scale=1``)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] + rng.normal(size=n) > 1.5).astype("float32")
    return x * np.float32(scale), y


def _fit(model, x, y, best, epochs=4):
    return model.fit(x, y, batch_size=len(x), epochs=epochs, validation_data=(x, y),
                     verbose=0, callbacks=[best]).history


def test_best_on_validation_on_diverged_keras_networks():
    """Networks driven to divergence (Adam at 1e38), monitored by the validation loss
    (NaN once the outputs are): NaN from the first epoch on selects nothing and keeps the
    last weights, with a warning; NaN from the second epoch on restores the first, with a
    warning that it barely trained."""
    x, y = _diverging(100.0)
    best = callbacks.BestOnValidation(monitor="val_loss")
    with pytest.warns(SelectionWarning, match=r"val_loss was NaN at every epoch from 0 on"):
        history = _fit(_model(lr=1e38), x, y, best)
    assert np.isnan(history["val_loss"]).all() and best.best_epoch is None
    x, y = _diverging(1.0)
    best = callbacks.BestOnValidation(monitor="val_loss")
    with pytest.warns(SelectionWarning, match=r"restored epoch 0 \(0-based\) of 4"):
        history = _fit(_model(lr=1e38), x, y, best)
    assert np.isfinite(history["val_loss"][0]) and np.isnan(history["val_loss"][1:]).all()
    assert best.best_epoch == 0 and best.best == history["val_loss"][0]


def test_fnr_selection_on_diverged_networks_keras_and_trainer():
    """The ASTra selection (lowest validation FNR_apx) on networks driven to divergence,
    in Keras and in the trainer: no NaN epoch is selected, both warn. (Before issue 22's
    core change, FNR_apx reads 0, a perfect score, at every diverged epoch.)"""
    x, y = _diverging(100.0)
    best = callbacks.BestOnValidation()
    with pytest.warns(SelectionWarning, match=r"NaN at every epoch"):
        _fit(_model(lr=1e38), x, y, best)
    assert best.best_epoch is None
    member = MemberSpec(train=np.arange(120), validation=np.arange(120, 160),
                        test=np.arange(160, 200), architecture=Architecture("mlp", 2),
                        loss=LossSpec.bce(), optimizer=OptimizerSpec("adam", 1e38), epochs=4)
    with pytest.warns(SelectionWarning, match=r"NaN at every epoch"):
        (result,) = train_members(x, y.astype(int), [member])
    assert np.isnan(result.curves["val_fnr_apx"]).all()
    assert result.selected_epoch == 3 and math.isnan(result.best_value)


def test_trainer_warns_when_it_restores_the_first_epoch():
    """BCE on 1% positives pushes every output down: the validation FNR_apx is lowest at
    epoch 0, and the trainer says that the restored network barely trained."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(600, 4))
    y = np.zeros(600, int)
    y[rng.choice(600, 12, replace=False)] = 1
    x[y == 1, 0] += 0.5
    member = MemberSpec(train=np.arange(400), validation=np.arange(400, 500),
                        test=np.arange(500, 600), architecture=Architecture("mlp", 3),
                        loss=LossSpec.bce(), optimizer=OptimizerSpec("adam", 5e-2), epochs=8)
    with pytest.warns(SelectionWarning, match=r"restored epoch 0 \(0-based\) of 8"):
        (result,) = train_members(x, y, [member])
    assert result.selected_epoch == 0


def test_adaptive_slope_rate_keeps_the_rate_through_a_nan_e_ratio():
    """A diverged epoch's e-ratio is NaN: the rate stays (as in the trainer), with a
    warning, instead of the rule raising in the middle of fit."""
    model = _model()
    rate = callbacks.AdaptiveSlopeRate()
    rate.set_model(model)
    rate.on_train_begin()
    rate.on_epoch_end(0, {"e_ratio_apx": 3.0})
    assert model.optimizer.slope_learning_rate == pytest.approx(0.011)
    with pytest.warns(UserWarning, match=r"e_ratio_apx is NaN at epoch 1"):
        rate.on_epoch_end(1, {"e_ratio_apx": NAN})
    assert model.optimizer.slope_learning_rate == pytest.approx(0.011)
