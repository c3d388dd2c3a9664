"""Label axis and averaging: (n, k) targets give k confusion matrices, combined by
``average``; checked against scikit-learn on 0/1 predictions and against k binary
one-vs-rest computations."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import gradients
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from imblearn.metrics import geometric_mean_score
from sklearn import metrics as skm

import cmloss
from cmloss.core import cm_metrics
from cmloss.core.confusion import label_confusion_matrices


def np64(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


def _averaged(name, y, p, average, zd=0.0):
    cm = label_confusion_matrices(y.astype("float64"), p.astype("float64"))
    return _averaged_cells(name, cm, average, zd)


def _averaged_cells(name, cm, average, zd=0.0):
    fn = cm_metrics.METRICS[name].fn
    return np64(cm_metrics.average_over_labels(lambda *c: fn(*c, zero_division=zd), *cm,
                                               average=average, zero_division=zd))


_labels = st.integers(2, 5).flatmap(
    lambda k: st.tuples(arrays(np.int8, (12, k), elements=st.integers(0, 1)),
                        arrays(np.int8, (12, k), elements=st.integers(0, 1))))


@settings(max_examples=40, deadline=None)
@given(_labels)
def test_f1_precision_recall_jaccard_equal_sklearn_for_every_average(yp):
    y, p = yp
    pairs = {"f1": skm.f1_score, "precision": skm.precision_score,
             "recall": skm.recall_score, "jaccard": skm.jaccard_score}
    for name, sk in pairs.items():
        for average in ("micro", "macro", None):
            ours = _averaged(name, y, p, average)
            theirs = sk(y, p, average=average, zero_division=0)
            np.testing.assert_allclose(ours, theirs, atol=1e-12, err_msg=f"{name} {average}")
        if y.sum() > 0:  # sklearn's weighted average with no positive at all differs
            np.testing.assert_allclose(_averaged(name, y, p, "weighted"),
                                       sk(y, p, average="weighted", zero_division=0),
                                       atol=1e-12, err_msg=f"{name} weighted")


@settings(max_examples=30, deadline=None)
@given(_labels)
def test_mcc_and_accuracy_per_label_and_micro_equal_sklearn(yp):
    y, p = yp
    per_label = [skm.matthews_corrcoef(y[:, j], p[:, j]) for j in range(y.shape[1])]
    np.testing.assert_allclose(_averaged("mcc", y, p, None), per_label, atol=1e-12)
    np.testing.assert_allclose(_averaged("mcc", y, p, "macro"), np.mean(per_label), atol=1e-12)
    np.testing.assert_allclose(_averaged("mcc", y, p, "micro"),
                               skm.matthews_corrcoef(y.ravel(), p.ravel()), atol=1e-12)
    np.testing.assert_allclose(_averaged("accuracy", y, p, "micro"),
                               1.0 - skm.hamming_loss(y, p), atol=1e-12)


def test_macro_is_finite_when_a_label_has_no_positives_and_losses_refuse_none():
    y = np.array([[0, 1], [0, 0], [0, 1]], "float32")
    p = np.array([[0.2, 0.9], [0.1, 0.3], [0.4, 0.6]], "float32")
    for name in ("f1", "g_mean", "mcc", "balanced_accuracy"):
        assert np.isfinite(float(cmloss.losses.ConfusionMatrixLoss(name)(y, p)))
    with pytest.raises(ValueError, match="average=None"):
        cmloss.losses.ConfusionMatrixLoss("f1", average=None)


def test_binary_column_is_unchanged_and_multiclass_is_the_mean_of_one_vs_rest():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 4))
    probs = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype("float32")
    classes = rng.integers(0, 4, size=50)
    onehot = np.eye(4, dtype="float32")[classes]
    loss = cmloss.losses.FBetaLoss
    binary = [float(loss()(onehot[:, j], probs[:, j])) for j in range(4)]
    assert float(loss()(onehot, probs)) == pytest.approx(np.mean(binary), rel=1e-6)
    assert float(loss(sparse_labels=True)(classes, probs)) == pytest.approx(np.mean(binary),
                                                                            rel=1e-6)
    for average in ("micro", "macro", "weighted"):
        one = float(loss(average=average)(onehot[:, :1], probs[:, :1]))
        assert one == float(loss()(onehot[:, 0], probs[:, 0]))


def test_get_config_round_trip_with_the_new_arguments():
    loss = cmloss.losses.GMeanLoss(average="weighted")
    again = cmloss.losses.GMeanLoss.from_config(loss.get_config())
    assert again.get_config() == loss.get_config() and again.average == "weighted"
    metric = cmloss.metrics.ConfusionMatrixMetric("f1", num_labels=3, average=None,
                                                  sparse_labels=True)
    back = cmloss.metrics.ConfusionMatrixMetric.from_config(metric.get_config())
    assert back.get_config() == metric.get_config()


class TestLabelAxisGradients:
    """The gradients of the label-axis losses, on the active backend, against central
    finite differences in float64: ``(n, k)`` targets under every ``average``, and the
    softmax multi-class form (one-vs-rest over the classes, ``sparse_labels=True`` or
    one-hot targets) differentiated through the softmax to its logits."""

    H = 1e-6

    @staticmethod
    def central(f, x, h=H):
        """``(f(x + h e_i) - f(x - h e_i)) / 2h`` for every element of ``x``."""
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            step = np.zeros_like(x)
            step[i] = h
            grad[i] = (float(np64(f(x + step))) - float(np64(f(x - step)))) / (2 * h)
        return grad

    def check(self, f, x):
        value, (grad,) = gradients(f, [x])
        assert np.isfinite(value).all() and value.shape == ()
        np.testing.assert_allclose(grad, self.central(f, x), rtol=1e-6, atol=1e-8)

    @staticmethod
    def multilabel_batch(seed=3, n=10, k=3):
        rng = np.random.default_rng(seed)
        y = (rng.uniform(size=(n, k)) < 0.4).astype("float64")
        y[0], y[1] = 1.0, 0.0  # every label has a positive and a negative
        return y, rng.uniform(0.05, 0.95, (n, k))

    @pytest.mark.parametrize("average", ["micro", "macro", "weighted"])
    @pytest.mark.parametrize("metric", ["f1", "g_mean", "mcc", "balanced_accuracy"])
    def test_label_axis_gradients_match_central_differences(self, metric, average):
        y, p = self.multilabel_batch()
        w = np.random.default_rng(5).uniform(0.2, 3.0, len(y))
        loss = cmloss.losses.ConfusionMatrixLoss(metric, average=average, dtype="float64")
        self.check(lambda q: loss(y, q), p)
        self.check(lambda q: loss(y, q, sample_weight=w), p)

    @pytest.mark.parametrize("average", ["micro", "macro", "weighted"])
    def test_label_axis_logit_gradients_match_central_differences(self, average):
        y, p = self.multilabel_batch(seed=4)
        loss = cmloss.losses.GMeanLoss(average=average, from_logits=True, dtype="float64")
        self.check(lambda z: loss(y, z), np.log(p / (1 - p)))

    @pytest.mark.parametrize("metric", ["f1", "g_mean", "mcc"])
    def test_softmax_one_vs_rest_gradients_match_central_differences(self, metric):
        rng = np.random.default_rng(6)
        logits = rng.normal(size=(12, 4))
        classes = np.arange(12) % 4  # every class present, and absent from some rows
        sparse = cmloss.losses.ConfusionMatrixLoss(metric, sparse_labels=True,
                                                   dtype="float64")
        onehot = cmloss.losses.ConfusionMatrixLoss(metric, dtype="float64")
        y = np.eye(4)[classes]
        self.check(lambda z: sparse(classes, keras.ops.softmax(z, axis=-1)), logits)
        self.check(lambda z: onehot(y, keras.ops.softmax(z, axis=-1)), logits)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
class TestGMeanAgainstImbalancedLearn:
    """Per-label G-mean against imbalanced-learn's ``geometric_mean_score`` (0/1
    predictions, where the soft confusion matrix is the ordinary one).

    imbalanced-learn takes binary and multi-class targets, not multi-label ones ("imblearn
    does not support multilabel"), so a multi-label target is compared one column at a
    time. Its averages are not ours (imbalanced-learn issue #1096): with ``average="macro"``
    or ``"weighted"`` it averages the sensitivities and the specificities over the labels
    first and returns ``sqrt(mean TPR * mean TNR)``, while cmloss averages the per-label
    G-means ``sqrt(TPR_j * TNR_j)`` (sklearn's convention for every other metric). Both
    agree label by label (``average=None``) and for ``"micro"`` (one matrix summed over the
    labels); for ``"macro"``/``"weighted"`` ours is checked against the mean of
    imbalanced-learn's per-label values and theirs against their definition on our cells.
    Its default ``average="multiclass"`` (the geometric mean of the k per-class recalls,
    Kubat's multi-class G-mean) has no counterpart here; on a binary target it is
    ``sqrt(TPR * TNR)``, the binary G-mean.

    No sample weights: imbalanced-learn 0.14 counts the true negatives as
    ``y_true.size - (pred_sum + true_sum - tp_sum)``, the number of examples less weighted
    sums, so a weighted specificity is wrong (negative when the weights sum above ``n``).
    """

    @staticmethod
    def gmean(cm, average):
        return _averaged_cells("g_mean", cm, average)

    @settings(max_examples=40, deadline=None)
    @given(_labels)
    def test_multilabel_per_label_is_the_binary_gmean_of_each_column(self, yp):
        y, p = yp
        cm = label_confusion_matrices(y.astype("float64"), p.astype("float64"))
        theirs = [geometric_mean_score(y[:, j], p[:, j], average="binary")
                  for j in range(y.shape[1])]
        np.testing.assert_allclose(self.gmean(cm, None), theirs, atol=1e-12)
        np.testing.assert_allclose(self.gmean(cm, "macro"), np.mean(theirs), atol=1e-12)

    @settings(max_examples=40, deadline=None)
    @given(st.integers(2, 5).flatmap(
        lambda k: st.tuples(st.just(k), arrays(np.int8, 15, elements=st.integers(0, k - 1)),
                            arrays(np.int8, 15, elements=st.integers(0, k - 1)))))
    def test_multiclass_one_vs_rest_matches_per_label_and_micro(self, kyp):
        k, y, p = kyp
        cm = label_confusion_matrices(y, np.eye(k)[p], sparse_labels=True)
        labels = list(range(k))

        def theirs(average):
            return geometric_mean_score(y, p, labels=labels, average=average)

        per_label = theirs(None)
        np.testing.assert_allclose(self.gmean(cm, None), per_label, atol=1e-12)
        np.testing.assert_allclose(self.gmean(cm, "micro"), theirs("micro"), atol=1e-12)
        # macro: ours is the mean of the per-label G-means; imbalanced-learn's is the G-mean
        # of the mean sensitivity and the mean specificity (#1096)
        np.testing.assert_allclose(self.gmean(cm, "macro"), np.mean(per_label), atol=1e-12)
        np.testing.assert_allclose(
            theirs("macro"),
            np.sqrt(_averaged_cells("recall", cm, "macro")
                    * _averaged_cells("specificity", cm, "macro")), atol=1e-12)
        support = np.bincount(y, minlength=k)
        if support.sum() > 0:
            np.testing.assert_allclose(self.gmean(cm, "weighted"),
                                       np.average(per_label, weights=support), atol=1e-12)
            np.testing.assert_allclose(
                theirs("weighted"),
                np.sqrt(_averaged_cells("recall", cm, "weighted")
                        * _averaged_cells("specificity", cm, "weighted")), atol=1e-12)
