"""The fast trainer's machinery: stacking, padding, duplicates, batch order, Eq. 10,
memory chunking and input checks."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from cmloss.callbacks import next_slope_learning_rate
from cmloss.trainer import (
    Architecture,
    LossSpec,
    MemberSpec,
    OptimizerSpec,
    Selection,
    batch_order,
    epoch_rules,
    plan_stacks,
    train_members,
)
from cmloss.trainer.chunking import stack_bytes
from cmloss.trainer.shuffling import epoch_permutation
from cmloss.trainer.spec import AdaptiveSlope
from cmloss.trainer.stacking import build_stack
from cmloss.trainer.train import estimate_stack_bytes
from cmloss.trainer.views import round_rows


def _problem(n=240, seed=0, duplicates=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    if duplicates:
        X = np.round(X, 0)
    y = (X[:, 0] + rng.normal(size=n) > 1.0).astype(np.int64)
    idx = rng.permutation(n)
    return (
        X,
        y,
        np.sort(idx[: n // 2]),
        np.sort(idx[n // 2 : 3 * n // 4]),
        np.sort(idx[3 * n // 4 :]),
    )


def _member(train, val, test, **kw):
    base = dict(
        train=train,
        validation=val,
        test=test,
        architecture=Architecture("mlp", 2),
        loss=LossSpec.gmn(),
        output="astra",
        epochs=25,
        seed=1,
        optimizer=OptimizerSpec(learning_rate=0.01),
    )
    base.update(kw)
    return MemberSpec(**base)


def _close(a, b, atol=1e-6):
    assert a.selected_epoch == b.selected_epoch
    for x, z in zip(a.weights, b.weights):
        np.testing.assert_allclose(x, z, rtol=0, atol=atol)
    np.testing.assert_allclose(a.train_loss, b.train_loss, rtol=1e-5)
    np.testing.assert_allclose(a.test_scores, b.test_scores, rtol=0, atol=atol)


def test_member_alone_equals_member_in_a_padded_stack():
    """Other members (other losses, outputs, rows, a wider hidden layer, so padded units
    and padding members) do not change a member's training."""
    X, y, tr, va, te = _problem()
    target = _member(tr, va, te)
    (alone,) = train_members(X, y, [target])
    _, _, tr2, va2, te2 = _problem(seed=1)
    others = [
        _member(tr, va, te, loss=LossSpec.bce(), output="sigmoid", seed=7),
        _member(tr2, va2, te2, architecture=Architecture("mlp", 5), seed=3),
        _member(tr2, va2, te2, loss=LossSpec.anyloss("f1"), output="sigmoid"),
    ]
    stacked = train_members(X, y, [others[0], target, *others[1:]])
    _close(alone, stacked[1])
    assert [r.member for r in stacked] == [others[0], target, *others[1:]]


def test_padded_hidden_units_stay_exactly_zero():
    X, y, tr, va, te = _problem()
    narrow = _member(tr, va, te, architecture=Architecture("mlp", 1))
    wide = _member(tr, va, te, architecture=Architecture("mlp", 4), seed=2)
    stack = build_stack(X, y, [narrow, wide], [[0, 1]], deduplicate=True)
    assert stack.layout.arch.hidden == 4
    results = train_members(X, y, [narrow, wide])
    assert results[0].weights[0].shape == (3, 1)
    (alone,) = train_members(X, y, [narrow])
    _close(alone, results[0])


def test_merged_duplicate_rows_give_the_same_training():
    X, y, tr, va, te = _problem(duplicates=True)
    member = _member(tr, va, te, loss=LossSpec.bce())
    stack = build_stack(X, y, [member], [[0]], deduplicate=True)
    distinct = int((stack.views.train_weight > 0).sum() + (stack.views.val_weight > 0).sum())
    assert distinct < tr.size + va.size  # duplicates were merged
    (merged,) = train_members(X, y, [member], deduplicate=True)
    (plain,) = train_members(X, y, [member], deduplicate=False)
    _close(merged, plain, atol=1e-5)


def test_no_selection_keeps_last_epoch_and_curves_align():
    X, y, tr, va, te = _problem()
    member = _member(tr, va, te, selection=None, epochs=12)
    (r,) = train_members(X, y, [member], curve_stride=5)
    assert r.selected_epoch == 11
    for a, b in zip(r.weights, r.last_weights):
        np.testing.assert_array_equal(a, b)
    assert list(r.curves["epoch"]) == [0, 5, 10, 11]
    assert r.curves["train_loss"].shape == (4,) and r.train_loss.shape == (12,)
    np.testing.assert_array_equal(r.curves["train_loss"], r.train_loss[[0, 5, 10, 11]])


def test_selection_max_mode_and_other_monitor():
    X, y, tr, va, te = _problem()
    member = _member(tr, va, te, selection=Selection("g_mean", "max"), epochs=15)
    (r,) = train_members(X, y, [member])
    values = r.curves["val_g_mean_apx"]
    assert r.selected_epoch == int(np.argmax(values))  # argmax: the earliest maximum
    assert r.best_value == pytest.approx(values.max())


def test_batch_order_is_identical_in_xla_and_eager():
    seeds = tf.constant([[3, 4], [5, 6]], tf.int64)
    n = tf.constant([[7, 9], [9, 2]], tf.int64)
    eager = epoch_permutation(seeds, tf.constant(11, tf.int64), n, 9).numpy()
    compiled = tf.function(lambda s, e, k: epoch_permutation(s, e, k, 9), jit_compile=True)
    np.testing.assert_array_equal(eager, compiled(seeds, tf.constant(11, tf.int64), n).numpy())
    for (i, j), k in np.ndenumerate(n.numpy()):
        assert sorted(eager[i, j, :k]) == list(range(k))
    batches = batch_order(np.arange(10, 19), 3, 11, 4)
    assert [b.size for b in batches] == [4, 4, 1]
    order = epoch_permutation(
        tf.constant(3, tf.int64), tf.constant(11, tf.int64), tf.constant(9, tf.int64), 9
    ).numpy()
    np.testing.assert_array_equal(np.concatenate(batches), 10 + order)
    assert not np.array_equal(
        batch_order(np.arange(9), 3, 0, 9)[0], batch_order(np.arange(9), 3, 1, 9)[0]
    )


@settings(max_examples=60, deadline=None)
@given(
    rate=st.floats(0.01, 0.5), e_ratio=st.one_of(st.floats(0, 1e6), st.just(1.0), st.just(math.inf))
)
def test_in_graph_slope_rate_rule_matches_the_callback(rate, e_ratio):
    """Eq. 10 as the compiled loop applies it (float32 rate read as a double, TensorFlow
    ops, stored back as float32) gives the callback's rate bit for bit."""
    rate32 = float(np.float32(rate))
    constants = epoch_rules.SlopeRateConstants(
        *(tf.constant([[c]], tf.float64) for c in AdaptiveSlope().constants)
    )
    got = epoch_rules.next_slope_rate(
        tf.cast(tf.constant([[rate32]], tf.float32), tf.float64),
        tf.cast(tf.constant([[e_ratio]], tf.float32), tf.float64),
        constants,
        xp=tf,
    )
    want = np.float32(next_slope_learning_rate(rate32, float(np.float32(e_ratio))))
    assert tf.cast(got, tf.float32).numpy()[0, 0] == want


def test_chunking_respects_the_budget_and_not_the_results():
    X, y, *_ = _problem(n=300)
    rng = np.random.default_rng(5)
    members = []
    for f in range(6):
        idx = rng.permutation(300)
        members.append(
            _member(np.sort(idx[:150]), np.sort(idx[150:225]), np.sort(idx[225:]), seed=f, epochs=8)
        )
    one = stack_bytes(
        n_views=1,
        n_slots=1,
        n_rows=round_rows(150) + round_rows(75),
        n_features=3,
        hidden=2,
        n_test=round_rows(75),
        block=500,
    )
    budget = int(2.5 * one)
    plans = plan_stacks(members, budget_bytes=budget, n_features=3)
    assert len(plans) == 3 and sorted(i for p in plans for v in p for i in v) == list(range(6))
    for plan in plans:
        stack = build_stack(X, y, members, plan, deduplicate=True)
        assert estimate_stack_bytes(stack) <= budget
    assert len(plan_stacks(members, n_features=3)) == 1
    small = train_members(X, y, members, budget_bytes=budget)
    large = train_members(X, y, members)
    for a, b in zip(small, large):
        _close(a, b)
        assert a.stack_members == 2 and b.stack_members == 6


def test_member_checks():
    X, y, tr, va, te = _problem()
    with pytest.raises(ValueError, match="output"):
        _member(tr, va, te, output="tanh")
    with pytest.raises(ValueError, match="rows"):
        train_members(X[:50], y[:50], [_member(tr, va, te)])
    with pytest.raises(ValueError, match="smaller-is-better|larger-is-better"):
        LossSpec.confusion_matrix("fnr")
    no_val = _member(tr, np.array([], np.int64), te)
    assert no_val.selection is None
    assert dataclasses.replace(_member(tr, va, te), batch_fraction=0.1).batch_size() == 12


def test_minmax_scaling_is_the_unscaled_member_on_minmax_scaled_features():
    """``standardize="minmax"`` (ledger candidate 1) trains the network that
    ``standardize=False`` trains on features scaled by hand to [0, 1] with the minima and
    ranges of the training rows (scikit-learn's ``MinMaxScaler``); a z-scored member
    trained beside it leaves it unchanged, and a wrong value is refused."""
    from sklearn.preprocessing import MinMaxScaler

    X, y, tr, va, te = _problem()
    X = X * [1.0, 50.0, 0.01] + [0.0, 200.0, -3.0]
    member = _member(tr, va, te, standardize="minmax")
    by_hand = MinMaxScaler().fit(X[tr]).transform(X)
    assert by_hand[tr].min() == 0.0 and by_hand[tr].max() == 1.0
    (mine,) = train_members(X, y, [member])
    (theirs,) = train_members(by_hand, y, [dataclasses.replace(member, standardize=False)])
    _close(mine, theirs, atol=1e-5)
    zscored, both = train_members(X, y, [dataclasses.replace(member, standardize=True), member])
    np.testing.assert_allclose(both.test_scores, mine.test_scores, rtol=0, atol=1e-6)
    assert not np.allclose(zscored.test_scores, mine.test_scores, atol=1e-3)
    message = r"standardize must be True \(z-scoring\), 'minmax' or False"
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(member, standardize="robust")
