# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Many labels
#
# **What you will learn**
#
# - how a cmloss loss and metric handle several labels per example: one soft confusion
#   matrix per label, combined by `average="macro"` or `"micro"`;
# - how BCE, macro and micro soft F1 (AnyLoss) and Keras' Dice compare on a multi-label
#   problem with rare labels, label by label;
# - how much per-label threshold tuning on validation data changes the picture;
# - for one binary label: the threshold an ASTra output learns during training against a
#   threshold tuned after training on a BCE model.
#
# Everything runs in about a minute on a CPU, on data made with scikit-learn.

# %% tags=["remove-stderr"]
try:
    import cmloss
except ImportError:  # Colab, Binder: install cmloss from its repository
    # %pip install -q "cmloss[book] @ git+https://github.com/cmloss/cmloss"
    import cmloss
__import__("keras")  # loads TensorFlow in this cell, which hides its start-up log lines

# %% tags=["remove-stderr"]
# TensorFlow looks for a GPU when it first computes something and logs the search on stderr
_ = __import__("keras").ops.zeros(1)

# %%
import warnings

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.metrics import f1_score
from sklearn.model_selection import TunedThresholdClassifierCV, train_test_split
from sklearn.preprocessing import StandardScaler

from cmloss.core.astra import astra
from cmloss.plotting import method_color, use_book_style
from cmloss.stats import glue, show
from cmloss.thresholds import tune

# Chapter 2 discusses the SaturationWarning of large amplification slopes; the defaults
# used here do not saturate, and nothing else is expected to warn.
warnings.filterwarnings("ignore", category=cmloss.SaturationWarning)
use_book_style()

# %% [markdown]
# ## A multi-label problem with rare labels
#
# `make_multilabel_classification` draws documents as bags of words: each example has some
# labels, and each label shifts the word counts of its examples. We draw 20 labels over
# 5,000 examples and keep five of them, chosen by prevalence from the most frequent down to
# two rare ones, so that the five span an order of magnitude. The features are the 20 word
# counts, standardised with the training statistics. The split is 60/20/20 into training,
# validation (for thresholds) and test, with a fixed seed.

# %%
x_all, y_all = make_multilabel_classification(
    n_samples=5000, n_features=20, n_classes=20, n_labels=2, allow_unlabeled=True,
    random_state=0,
)
by_prevalence = np.argsort(-y_all.mean(axis=0), kind="stable")
kept = by_prevalence[[0, 9, 16, 17, 18]]  # frequent, two middling, two rare
y_all = y_all[:, kept].astype("float32")
LABELS = [f"label {j + 1}" for j in range(y_all.shape[1])]
K = len(LABELS)

x_train, x_rest, y_train, y_rest = train_test_split(x_all, y_all, test_size=0.4,
                                                    random_state=0)
x_val, x_test, y_val, y_test = train_test_split(x_rest, y_rest, test_size=0.5, random_state=0)
scaler = StandardScaler().fit(x_train)
x_train, x_val, x_test = (scaler.transform(a).astype("float32") for a in (x_train, x_val, x_test))

prevalence = pd.DataFrame(
    {name: y.mean(axis=0) for name, y in
     [("train", y_train), ("validation", y_val), ("test", y_test)]}, index=LABELS)
prevalence["test positives"] = y_test.sum(axis=0).astype(int)
show(prevalence.round(3))
glue("prev_max", float(prevalence["train"].max()), display=False)
glue("prev_min", float(prevalence["train"].min()), display=False)
glue("test_pos_min", int(prevalence["test positives"].min()), display=False)

# %% [markdown]
# Label 1 is positive in {glue:text}`prev_max:.1%` of the training examples, label 5 in
# {glue:text}`prev_min:.1%`; the rarest label has only {glue:text}`test_pos_min` positives
# in the test set, so its F1 moves by several hundredths with a single example, and any
# comparison on it needs an interval (below).
#
# ## Four losses on the same network
#
# The network is the same for every loss: 20 inputs, 32 ReLU units, and one sigmoid output
# per label. The losses:
#
# - **BCE**: `keras.losses.BinaryCrossentropy()`, the mean over labels and examples;
# - **macro soft F1**: `cmloss.losses.FBetaLoss(average="macro")`: one soft confusion
#   matrix per label (AnyLoss amplification, {cite}`han2024anyloss`), one F1 per label,
#   the loss is one minus their mean, so every label weighs the same;
# - **micro soft F1**: `FBetaLoss(average="micro")`: the five matrices are summed into one
#   before the F1, so frequent labels weigh more;
# - **Dice (per label)**: Keras' `keras.losses.Dice(axis=0)`. Dice is F1 computed on the
#   probabilities themselves; with `axis=0` Keras computes it down each label's column and
#   averages the labels, which is macro soft F1 with the identity soft step instead of
#   amplification. The cell checks that identity on a random batch (Keras' `Dice()` with the
#   default `axis=None` is the micro version).

# %%
rng = np.random.default_rng(0)
p_demo = rng.uniform(size=(64, K)).astype("float32")
y_demo = (rng.uniform(size=(64, K)) < 0.3).astype("float32")
for average, dice in [("macro", keras.losses.Dice(axis=0)), ("micro", keras.losses.Dice())]:
    ours = cmloss.losses.ConfusionMatrixLoss("f1", soft_step="identity", average=average)
    np.testing.assert_allclose(float(dice(y_demo, p_demo)), float(ours(y_demo, p_demo)),
                               rtol=1e-5)
print("Keras Dice(axis=0) == macro soft F1 (identity step); Dice() == micro")

# %% [markdown]
# Every model trains for 60 epochs with Adam (learning rate 0.01) and batches of 500
# examples, from the same seed. A batch of 500 holds about
# {glue:text}`batch_pos_min:.0f` positives of the rarest label on average: the F1 losses are
# computed from the batch's confusion matrix, and a label without positives in a batch
# gives its F1 term no gradient (chapter 8).

# %%
LOSSES = {
    "BCE": keras.losses.BinaryCrossentropy(),
    "macro soft F1": cmloss.losses.FBetaLoss(average="macro"),
    "micro soft F1": cmloss.losses.FBetaLoss(average="micro"),
    "Dice (per label)": keras.losses.Dice(axis=0),
}
COLORS = {name: method_color(key) for name, key in
          zip(LOSSES, ["BCE", "AnyLoss-F1", "SOL-F1", "Dice"])}
BATCH, EPOCHS = 500, 60
glue("batch_pos_min", float(BATCH * prevalence["train"].min()), display=False)


def mlp(n_inputs, n_outputs, output_layer):
    """`n_inputs` inputs, 32 ReLU units, `n_outputs` linear units, then `output_layer`."""
    return keras.Sequential([
        keras.Input((n_inputs,)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(n_outputs),
        output_layer,
    ])


def outputs(model, x):
    """The model's outputs as NumPy (a direct call; `predict` would retrace per model)."""
    return np.asarray(keras.ops.convert_to_numpy(model(x, training=False)))


scores = {}  # method -> {"val": (n, K) scores, "test": (n, K) scores}
for name, loss in LOSSES.items():
    keras.utils.set_random_seed(0)
    model = mlp(x_train.shape[1], K, keras.layers.Activation("sigmoid"))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=loss)
    model.fit(x_train, y_train, batch_size=BATCH, epochs=EPOCHS, verbose=0)
    scores[name] = {"val": outputs(model, x_val), "test": outputs(model, x_test)}
print("trained:", ", ".join(scores))

# %% [markdown]
# ### What we will read, and when a difference counts
#
# We threshold every output at 0.5 and compute F1 per label, macro F1 (the mean of the
# five) and micro F1 (F1 of the pooled counts) with
# `cmloss.metrics.ConfusionMatrixMetric("f1", approximate=False, num_labels=5, average=...)`,
# and assert that scikit-learn's `f1_score(average=None / "macro" / "micro")` gives the same
# numbers on the same 0/1 predictions.
#
# One seed and one test set of {glue:text}`n_test` examples cannot rank losses in general.
# Before looking at the numbers we fix what we will call a difference: a loss is **better
# (worse) than BCE in macro F1 on this test set** when the 95% interval of its macro-F1
# difference from BCE, from a paired bootstrap over test examples (2,000 resamples), lies
# entirely above (below) zero; otherwise the two are not distinguished here.

# %%
glue("n_test", len(x_test), display=False)


def f1_report(y, p, threshold=0.5):
    """Per-label, macro and micro F1 of `p > threshold`, by cmloss, checked by sklearn."""
    out = {}
    for average in (None, "macro", "micro"):
        metric = cmloss.metrics.ConfusionMatrixMetric(
            "f1", approximate=False, num_labels=K, average=average)
        # thresholds may differ per label: decide here, then count 0/1 predictions
        decided = (p > threshold).astype("float32")
        metric.update_state(y, decided)
        ours = np.asarray(keras.ops.convert_to_numpy(metric.result()), np.float64)
        theirs = f1_score(y, decided, average=average, zero_division=0)
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
        out[average or "per label"] = ours
    return out


def table_row(report):
    return {**dict(zip(LABELS, report["per label"])), "macro": float(report["macro"]),
            "micro": float(report["micro"])}


at_half = {name: f1_report(y_test, s["test"]) for name, s in scores.items()}
f1_table = pd.DataFrame({name: table_row(r) for name, r in at_half.items()}).T
show(f1_table.round(3))

# %% [markdown]
# The cmloss metric and scikit-learn agree on every entry (the assertion in the cell). The
# figure shows the per-label F1 of each loss, labels ordered from the most frequent to the
# rarest.

# %%
fig, ax = plt.subplots(figsize=(7, 4))
width = 0.8 / len(LOSSES)
for i, name in enumerate(LOSSES):
    ax.bar(np.arange(K) + (i - 1.5) * width, f1_table.loc[name, LABELS], width,
           label=name, color=COLORS[name])
ax.set_xticks(np.arange(K), [f"{lab}\n({p:.1%})" for lab, p in
                             zip(LABELS, prevalence["train"])])
ax.set_xlabel("label (training prevalence)")
ax.set_ylabel("test F1 at threshold 0.5")
ax.set_ylim(0, 1)
ax.set_title("Per-label F1 by loss")
ax.legend(loc="upper right", ncol=2)
plt.tight_layout()
plt.show()


# %%
def bootstrap_macro_diff(y, decided_a, decided_b, n_boot=2000, seed=0):
    """95% interval of macro F1(a) - macro F1(b) over paired bootstrap resamples of rows."""
    idx = np.random.default_rng(seed).integers(0, len(y), size=(n_boot, len(y)))
    yb = y[idx]

    def macro(decided):
        d = decided[idx]
        tp, fp, fn = (yb * d).sum(1), ((1 - yb) * d).sum(1), (yb * (1 - d)).sum(1)
        denom = 2 * tp + fp + fn
        f1 = np.divide(2 * tp, denom, out=np.zeros_like(denom), where=denom > 0)
        return f1.mean(axis=1)

    return np.percentile(macro(decided_a) - macro(decided_b), [2.5, 97.5])


def verdict(low, high):
    return "better" if low > 0 else "worse" if high < 0 else "not distinguished"


def glue_word(name, word):
    """Glue a word for the prose ({glue:md}: a plain string would be shown with quotes)."""
    glue(name, Markdown(word), display=False)


bce_decided = (scores["BCE"]["test"] > 0.5).astype("float64")
rows = {}
for name in list(LOSSES)[1:]:
    decided = (scores[name]["test"] > 0.5).astype("float64")
    low, high = bootstrap_macro_diff(y_test, decided, bce_decided)
    diff = float(f1_table.loc[name, "macro"] - f1_table.loc["BCE", "macro"])
    rows[name] = {"macro F1 - BCE": diff, "2.5%": low, "97.5%": high,
                  "vs BCE": verdict(low, high)}
vs_bce = pd.DataFrame(rows).T
show(vs_bce.round(3))

glue("bce_macro", float(f1_table.loc["BCE", "macro"]), display=False)
glue("macro_macro", float(f1_table.loc["macro soft F1", "macro"]), display=False)
glue("micro_macro", float(f1_table.loc["micro soft F1", "macro"]), display=False)
glue("dice_macro", float(f1_table.loc["Dice (per label)", "macro"]), display=False)
glue("bce_micro", float(f1_table.loc["BCE", "micro"]), display=False)
glue("macro_micro", float(f1_table.loc["macro soft F1", "micro"]), display=False)
glue("bce_rare", float(f1_table.loc["BCE", LABELS[-1]]), display=False)
glue("macro_rare", float(f1_table.loc["macro soft F1", LABELS[-1]]), display=False)
glue("macro_diff", float(vs_bce.loc["macro soft F1", "macro F1 - BCE"]), display=False)
glue("macro_low", float(vs_bce.loc["macro soft F1", "2.5%"]), display=False)
glue("macro_high", float(vs_bce.loc["macro soft F1", "97.5%"]), display=False)
glue_word("macro_verdict", vs_bce.loc["macro soft F1", "vs BCE"])
glue_word("micro_verdict", vs_bce.loc["micro soft F1", "vs BCE"])
glue_word("dice_verdict", vs_bce.loc["Dice (per label)", "vs BCE"])

# %% [markdown]
# At the default threshold 0.5, BCE reaches a test macro F1 of {glue:text}`bce_macro:.3f`,
# macro soft F1 {glue:text}`macro_macro:.3f`, micro soft F1 {glue:text}`micro_macro:.3f` and
# Dice {glue:text}`dice_macro:.3f`. The difference between macro soft F1 and BCE,
# {glue:text}`macro_diff:+.3f` (95% bootstrap interval {glue:text}`macro_low:+.3f` to
# {glue:text}`macro_high:+.3f`), comes largely from the rarest label: on label 5, BCE has an F1
# of {glue:text}`bce_rare:.3f` and macro soft F1 {glue:text}`macro_rare:.3f`. By the
# criterion fixed above, macro soft F1 is {glue:md}`macro_verdict`, micro soft F1
# {glue:md}`micro_verdict` and Dice {glue:md}`dice_verdict` compared with BCE.
# In micro F1, which pools the labels and so is dominated by the frequent ones, BCE has
# {glue:text}`bce_micro:.3f` and macro soft F1 {glue:text}`macro_micro:.3f`.
#
# BCE is not optimising F1 at all: it estimates probabilities, and 0.5 is a poor place to
# cut a probability when positives are rare. The fair question is what remains of the
# difference once each label gets its own threshold.
#
# ## Per-label threshold tuning
#
# For each label and each model, `cmloss.thresholds.tune(y_val[:, j], scores[:, j], "f1")`
# picks the threshold that maximises F1 on the validation scores (the midpoints between
# sorted distinct scores are the candidates; see the API reference); the five thresholds
# are then applied to the test scores. The criterion is the same as before, now with tuned
# thresholds on both sides.

# %%
thresholds = {
    name: np.array([tune(y_val[:, j], s["val"][:, j], "f1").threshold for j in range(K)])
    for name, s in scores.items()
}
tuned = {name: f1_report(y_test, s["test"], threshold=thresholds[name])
         for name, s in scores.items()}
bce_tuned_decided = (scores["BCE"]["test"] > thresholds["BCE"]).astype("float64")
summary = {}
for name in LOSSES:
    decided = (scores[name]["test"] > thresholds[name]).astype("float64")
    low, high = bootstrap_macro_diff(y_test, decided, bce_tuned_decided)
    summary[name] = {"macro F1 at 0.5": float(at_half[name]["macro"]),
                     "macro F1 tuned": float(tuned[name]["macro"]),
                     f"{LABELS[-1]} at 0.5": at_half[name]["per label"][-1],
                     f"{LABELS[-1]} tuned": tuned[name]["per label"][-1],
                     "vs tuned BCE": "-" if name == "BCE" else verdict(low, high)}
summary = pd.DataFrame(summary).T
show(summary.round(3))
show(pd.DataFrame(thresholds, index=LABELS).T.round(3))  # the tuned thresholds

glue("bce_tuned_macro", float(tuned["BCE"]["macro"]), display=False)
glue("macro_tuned_macro", float(tuned["macro soft F1"]["macro"]), display=False)
glue("bce_tuned_gain", float(tuned["BCE"]["macro"] - at_half["BCE"]["macro"]), display=False)
glue("macro_tuned_gain", float(tuned["macro soft F1"]["macro"] - at_half["macro soft F1"]["macro"]),
     display=False)
glue("bce_t_rare", float(thresholds["BCE"][-1]), display=False)
glue("macro_t_rare", float(thresholds["macro soft F1"][-1]), display=False)
glue_word("tuned_macro_verdict", summary.loc["macro soft F1", "vs tuned BCE"])
glue_word("tuned_micro_verdict", summary.loc["micro soft F1", "vs tuned BCE"])

# %% [markdown]
# Tuning the five thresholds raises BCE's test macro F1 from {glue:text}`bce_macro:.3f` to
# {glue:text}`bce_tuned_macro:.3f` ({glue:text}`bce_tuned_gain:+.3f`), while macro soft F1
# gains only {glue:text}`macro_tuned_gain:+.3f` and reaches
# {glue:text}`macro_tuned_macro:.3f`: compared with tuned BCE it is
# {glue:md}`tuned_macro_verdict` by our criterion, and micro soft F1 is
# {glue:md}`tuned_micro_verdict` (it gave the rare labels so little weight that no threshold
# recovers them). The second table shows why BCE gains most: for the rarest label its best
# threshold is {glue:text}`bce_t_rare:.3f`, far below 0.5, while the macro-F1 model's is
# {glue:text}`macro_t_rare:.3f`. A macro F1 loss moves part of the decision into training;
# BCE plus a tuned threshold moves it after training, at the cost of a validation set large
# enough to hold positives of every label. Some tuned thresholds sit near 0: a threshold is
# itself an estimate, from a validation set with few positives of the rare labels.
#
# ### The same tuning in scikit-learn
#
# scikit-learn's `TunedThresholdClassifierCV` does this for one binary scikit-learn
# classifier: it cross-validates the decision threshold for a scoring function. For a
# network that is already trained, `cv="prefit", refit=False` tunes on the data it is given,
# here the validation set. A thin wrapper presents the BCE network's scores for the rarest
# label as `predict_proba`; with the same candidate thresholds, scikit-learn and
# `cmloss.thresholds.tune` must pick the same threshold and the same F1.


# %%
class FrozenScores(ClassifierMixin, BaseEstimator):
    """A 'classifier' whose probabilities are fixed scores, looked up by row number."""

    def __init__(self, scores=None):
        self.scores = scores

    def fit(self, x, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, x):
        p = np.asarray(self.scores, np.float64)[np.asarray(x).ravel().astype(int)]
        return np.column_stack([1 - p, p])


rare_scores, rare_labels = scores["BCE"]["val"][:, -1], y_val[:, -1].astype(int)
ours = tune(rare_labels, rare_scores, "f1")
sk = TunedThresholdClassifierCV(
    FrozenScores(rare_scores).fit(None), scoring="f1", cv="prefit", refit=False,
    thresholds=ours.thresholds,
).fit(np.arange(len(rare_scores))[:, None], rare_labels)
assert np.isclose(sk.best_threshold_, ours.threshold) and np.isclose(sk.best_score_, ours.value)
print(f"{LABELS[-1]}: cmloss threshold {ours.threshold:.4f} (F1 {ours.value:.3f}); "
      f"scikit-learn {sk.best_threshold_:.4f} (F1 {sk.best_score_:.3f})")

# %% [markdown]
# With its default `cv=5`, `TunedThresholdClassifierCV` would refit the classifier on each
# fold, which for a Keras network means wrapping the training loop in a scikit-learn
# estimator and training five more networks; with a held-out validation set, as here,
# tuning once on it is the cheap equivalent.
#
# ## One binary label: a learned threshold or a tuned one
#
# ASTra {cite}`twomey2022astra` learns its threshold during training: the output layer has
# a trainable slope $b$, and the threshold $\tau(b)$ on its raw output moves with it
# (chapter 3). Threshold tuning instead trains with BCE and picks the threshold afterwards.
# We compare the two on a binary problem from `make_classification` with 5% positives:
#
# - **GMN-ASTra**: `Dense(1)` then `cmloss.layers.ASTra()`, the GMN loss
#   `cmloss.losses.GMN()` {cite}`twomey2017gmn`, the slope-aware `cmloss.optimizers.Adam`,
#   and `cmloss.callbacks.AdaptiveSlopeRate` (which needs `ERatioApx` among the metrics);
#   the decision is the layer's own: z output $> 0.5$, i.e. raw ASTra output $> \tau(b)$;
# - **BCE, tuned**: the same network with a sigmoid, BCE, and the threshold that maximises
#   the G-mean on validation scores, `tune(y_val, scores, "g_mean")`.
#
# Both train for 100 epochs in batches of 500. We report the test G-mean of both (and of BCE
# at 0.5), and compare ASTra's learned threshold with the one `tune` finds on the ASTra
# model's own validation outputs: if training put $\tau$ where the validation G-mean is
# best, the two give the same decisions. As before this is one seed and one test set: the
# G-mean differences describe this run, they do not rank the methods.

# %%
xb, yb = make_classification(n_samples=5000, n_features=10, n_informative=4,
                             weights=[0.95, 0.05], flip_y=0.01, random_state=0)
yb = yb.astype("float32")
xb_train, xb_rest, yb_train, yb_rest = train_test_split(xb, yb, test_size=0.4,
                                                        stratify=yb, random_state=0)
xb_val, xb_test, yb_val, yb_test = train_test_split(xb_rest, yb_rest, test_size=0.5,
                                                    stratify=yb_rest, random_state=0)
scaler_b = StandardScaler().fit(xb_train)
xb_train, xb_val, xb_test = (scaler_b.transform(a).astype("float32")
                             for a in (xb_train, xb_val, xb_test))
glue("b_prev", float(yb_train.mean()), display=False)
glue("b_test_pos", int(yb_test.sum()), display=False)
print(f"positives: {yb_train.mean():.1%} of training, {int(yb_test.sum())} in the test set")

# %%
keras.utils.set_random_seed(0)
astra_model = mlp(xb_train.shape[1], 1, cmloss.layers.ASTra())
astra_model.compile(
    optimizer=cmloss.optimizers.Adam(learning_rate=0.01),
    loss=cmloss.losses.GMN(),
    metrics=[cmloss.metrics.ERatioApx()],
)
history = astra_model.fit(xb_train, yb_train, batch_size=BATCH, epochs=100, verbose=0,
                          callbacks=[cmloss.callbacks.AdaptiveSlopeRate()])

keras.utils.set_random_seed(0)
bce_model = mlp(xb_train.shape[1], 1, keras.layers.Activation("sigmoid"))
bce_model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss=keras.losses.BinaryCrossentropy())
bce_model.fit(xb_train, yb_train, batch_size=BATCH, epochs=100, verbose=0)


def g_mean_of(y, decided):
    return float(cmloss.evaluate(y, decided.astype("float64"), threshold=0.5)["g_mean"])


layer = astra_model.layers[-1]
pre_activation = keras.Model(astra_model.inputs[0], astra_model.layers[-2].output)
pre_val = outputs(pre_activation, xb_val).ravel()
pre_test = outputs(pre_activation, xb_test).ravel()
raw_test = np.asarray(keras.ops.convert_to_numpy(astra(pre_test, layer.slope)))
# the layer's decision three ways: z > 0.5, raw ASTra > tau(b), pre-activation > 0
astra_decided = outputs(astra_model, xb_test).ravel() > layer.decision_threshold
assert np.array_equal(astra_decided, raw_test > layer.threshold)
assert np.array_equal(astra_decided, pre_test > 0)

# tuned on the pre-activation (readable); the same decisions as tuning on the raw output
astra_t = tune(yb_val, pre_val, "g_mean")
tau_tuned = float(keras.ops.convert_to_numpy(astra(astra_t.threshold, layer.slope)))
bce_val, bce_test = outputs(bce_model, xb_val).ravel(), outputs(bce_model, xb_test).ravel()
bce_t = tune(yb_val, bce_val, "g_mean")

decisions = {
    "GMN-ASTra, learned tau": (layer.threshold, 0.0, astra_decided),
    "GMN-ASTra, tuned": (tau_tuned, astra_t.threshold, pre_test > astra_t.threshold),
    "BCE at 0.5": (0.5, np.nan, bce_test > 0.5),
    "BCE, tuned": (bce_t.threshold, np.nan, bce_test > bce_t.threshold),
}
binary = pd.DataFrame({
    name: {"threshold on the output": t, "on the pre-activation": x,
           "test positives predicted": int(d.sum()), "test G-mean": g_mean_of(yb_test, d)}
    for name, (t, x, d) in decisions.items()
}).T.astype({"test positives predicted": int})
# thresholds with 3 significant digits: the tuned one on ASTra's raw output is tiny
show(binary.round(3).assign(**{"threshold on the output": [
    f"{t:.3g}" for t in binary["threshold on the output"]]}))

glue("tau_learned", layer.threshold, display=False)
glue("tau_initial", layer.initial_threshold, display=False)
glue("tau_tuned", tau_tuned, display=False)
glue("x_tuned", astra_t.threshold, display=False)
glue("val_gmean_learned", g_mean_of(yb_val, pre_val > 0), display=False)
glue("val_gmean_tuned", astra_t.value, display=False)
glue("bce_t_gmean", bce_t.threshold, display=False)
for key, name in [("astra", "GMN-ASTra, learned tau"), ("astra_tuned", "GMN-ASTra, tuned"),
                  ("bce_half", "BCE at 0.5"), ("bce_tuned", "BCE, tuned")]:
    glue(f"{key}_gmean", float(binary.loc[name, "test G-mean"]), display=False)
    glue(f"{key}_npos", int(binary.loc[name, "test positives predicted"]), display=False)
glue("astra_vs_bce", float(binary.loc["GMN-ASTra, learned tau", "test G-mean"]
                           - binary.loc["BCE, tuned", "test G-mean"]), display=False)

# %% [markdown]
# On its raw output ASTra squeezes the negatives towards 0, so thresholds there are hard to
# read; the figure therefore shows, on the left, the learned $\tau(b)$ over the epochs (logged
# by `AdaptiveSlopeRate` as `astra_threshold`) and, on the right, the validation G-mean of
# the trained ASTra model as a function of a threshold on its pre-activation, where the
# layer's own decision is at 0.

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.5))
epochs = np.arange(1, len(history.history["astra_threshold"]) + 1)
left.plot(epochs, history.history["astra_threshold"], color=method_color("GMN-ASTra"))
left.set_xlabel("epoch")
left.set_ylabel(r"learned $\tau(b)$ (raw output)")
left.set_title(r"ASTra's threshold during training")
right.plot(astra_t.thresholds, astra_t.values, color=method_color("GMN-ASTra"))
right.axvline(0.0, color="0.3", label=r"learned ($x > 0$)")
right.axvline(astra_t.threshold, color="0.3", linestyle="--", label="tuned on validation")
right.set_xlim(-6, 6)
right.set_xlabel("threshold on the pre-activation $x$")
right.set_ylabel("validation G-mean")
right.set_title("Where the validation G-mean peaks")
right.legend(loc="lower center")
plt.tight_layout()
plt.show()

# %% [markdown]
# Positives are {glue:text}`b_prev:.1%` of the training examples and the test set holds
# {glue:text}`b_test_pos` of them. During training the ASTra threshold moved from its
# initial {glue:text}`tau_initial:.3f` to {glue:text}`tau_learned:.3f`. The G-mean-best
# threshold on the same model's validation outputs is at a pre-activation of
# {glue:text}`x_tuned:.2f` instead of 0, which on the raw output is
# {glue:text}`tau_tuned:.1e`; the validation G-mean there is {glue:text}`val_gmean_tuned:.3f`,
# against {glue:text}`val_gmean_learned:.3f` at the learned threshold. On the test set
# GMN-ASTra at its learned threshold has a G-mean of {glue:text}`astra_gmean:.3f`
# ({glue:text}`astra_npos` predicted positives) and {glue:text}`astra_tuned_gmean:.3f` with
# the tuned one ({glue:text}`astra_tuned_npos`);
# BCE has {glue:text}`bce_half_gmean:.3f` at 0.5 ({glue:text}`bce_half_npos`) and
# {glue:text}`bce_tuned_gmean:.3f` at its validation-tuned threshold
# {glue:text}`bce_t_gmean:.3f` ({glue:text}`bce_tuned_npos`).
#
# ASTra's $\tau$ is not a free decision threshold: the ASTra decision is always
# "pre-activation $> 0$" (the cell asserts it), and $\tau(b)$ is where that point lands on
# the raw output. What training learns is the slope $b$, which shapes the loss's gradients,
# and the network moves its pre-activations accordingly. A tuned threshold is a decision
# made after training on held-out data, and it can be applied to the ASTra model too.
#
# ## Conclusion
#
# - With several labels, cmloss computes one soft confusion matrix per label; `average=`
#   decides whether labels weigh the same (`"macro"`) or by their counts (`"micro"`), in the
#   loss and in the metric alike, and the metric agrees with scikit-learn's `f1_score` on
#   every label and average. Keras' `Dice(axis=0)` is macro soft F1 with the identity soft
#   step.
# - At threshold 0.5, macro soft F1 reached a test macro F1 of {glue:text}`macro_macro:.3f`
#   against BCE's {glue:text}`bce_macro:.3f` ({glue:md}`macro_verdict` by the bootstrap
#   criterion), largely from the rarest label.
# - Per-label thresholds tuned on validation data lifted BCE to
#   {glue:text}`bce_tuned_macro:.3f` and macro soft F1 to {glue:text}`macro_tuned_macro:.3f`
#   ({glue:md}`tuned_macro_verdict` from tuned BCE). Compare losses at tuned thresholds, or
#   you are partly comparing thresholds.
# - On the binary problem GMN-ASTra at its learned threshold reached a test G-mean of
#   {glue:text}`astra_gmean:.3f`, against {glue:text}`bce_tuned_gmean:.3f` for BCE with a
#   tuned threshold (a difference of {glue:text}`astra_vs_bce:+.3f`) and
#   {glue:text}`bce_half_gmean:.3f` for BCE at 0.5. ASTra placed its decision without a
#   validation set; BCE needed one to find its threshold.
# - All of this is one seed and one split of synthetic data; the experiment chapters show
#   how to compare methods properly, over folds and with Bayesian tests.
