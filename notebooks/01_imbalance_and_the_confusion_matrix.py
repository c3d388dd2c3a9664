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
# # Imbalance and the confusion matrix
#
# **What you will learn**
#
# - why accuracy is a misleading score when one class is rare, using a classifier that does
#   nothing at all;
# - what the confusion matrix is, and the metrics built from it that `cmloss` implements:
#   accuracy, precision, recall, specificity, the two error rates, F-beta, G-mean, balanced
#   accuracy, MCC, informedness, Jaccard and the e-ratio;
# - how these metrics pull in different directions as the decision threshold moves;
# - why none of them can be minimised directly by gradient descent.
#
# The notebook defines no metric itself: every number comes from `cmloss`, the single
# source of truth for the formulas, so what you read here is what the losses of the later
# chapters are built on.

# %% tags=["remove-stderr"]
try:
    import cmloss
except ImportError:  # Colab, Binder: install cmloss from its repository
    # %pip install -q "cmloss[book] @ git+https://github.com/cmloss/cmloss"
    import cmloss
__import__("keras")  # loads TensorFlow in this cell, which hides its start-up log lines

# %% [markdown]
# ## Setup
#
# We use NumPy for data, Keras (TensorFlow backend) for tensors and gradients, and
# matplotlib with seaborn for figures, in the book's plot style (`cmloss.plotting`) and
# seaborn's colour-blind-safe palette.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import tensorflow as tf
from keras import ops
from matplotlib.colors import LogNorm

from cmloss.core import cm_metrics
from cmloss.plotting import SOFT_STEP_COLORS, use_book_style

use_book_style()
palette = sns.color_palette("colorblind")
step_colour = SOFT_STEP_COLORS["hard"]  # the hard threshold, as in later chapters
rng = np.random.default_rng(seed=1)

# %% [markdown]
# ## A rare positive class
#
# We draw 20,000 labels of which about 1% are positive: a fraud, a fault, a rare disease.
# By convention in this book the minority class is labelled **1** (positive) and the
# majority **0** (negative).

# %%
n_examples, prevalence = 20_000, 0.01
y_true = (rng.random(n_examples) < prevalence).astype("int32")
n_pos = int(y_true.sum())
print(f"{n_pos} positives out of {n_examples} examples ({n_pos / n_examples:.2%})")

# %% [markdown]
# The simplest "classifier" predicts *negative* for everyone. It has learned nothing: it
# never finds a single positive. `cmloss.evaluate` scores it at the usual threshold of 0.5
# (its scores are all 0, so every prediction is negative).

# %%
do_nothing = cmloss.evaluate(y_true, np.zeros(n_examples), threshold=0.5)
print(f"accuracy of the do-nothing classifier: {do_nothing['accuracy']:.3f}")

# %% [markdown]
# An accuracy of 99% looks excellent and means nothing: it is the proportion of negatives.
# On imbalanced data accuracy rewards a model for ignoring the class we care about. We need
# a finer description of the predictions, and that is the confusion matrix.

# %% [markdown]
# ## The confusion matrix
#
# Take a model that outputs a *score* $p \in [0, 1]$ per example and predicts positive when
# $p$ exceeds a threshold $t$. Counting the four combinations of actual and predicted class
# gives the confusion matrix (rows: actual class, columns: predicted class):
#
# $$
# \mathrm{CM} = \begin{pmatrix} TN & FP \\ FN & TP \end{pmatrix},
# \qquad TN + FP + FN + TP = n .
# $$
#
# - $TP$, true positives: positives predicted positive;
# - $FN$, false negatives: positives predicted negative (the misses);
# - $FP$, false positives: negatives predicted positive (the false alarms);
# - $TN$, true negatives: negatives predicted negative.
#
# To have something to count, we simulate the scores of a reasonable but imperfect model:
# negatives score low, following a Beta(2, 12) distribution (mean 0.14), positives score
# higher but spread out, following a Beta(4, 3) distribution (mean 0.57).

# %%
y_score = np.where(
    y_true == 1,
    rng.beta(4.0, 3.0, size=n_examples),
    rng.beta(2.0, 12.0, size=n_examples),
)

# %% [markdown]
# The figure below shows the two score distributions. The y-axis is logarithmic: there are
# 99 negatives for every positive, so on a linear axis the positives would be invisible.
# The two classes overlap, so any threshold misses some positives or raises some false
# alarms.

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
bins = np.linspace(0.0, 1.0, 41)
negatives, positives = y_score[y_true == 0], y_score[y_true == 1]
ax.hist(negatives, bins=bins, color=palette[0], alpha=0.7, label="negatives (0)")
ax.hist(positives, bins=bins, color=palette[1], alpha=0.8, label="positives (1)")
ax.axvline(0.5, color=step_colour, linestyle="--", linewidth=1, label="threshold t = 0.5")
ax.set_yscale("log")
ax.set(
    title="Scores of a simulated model on 1%-positive data",
    xlabel="score p (probability of the positive class)",
    ylabel="number of examples (log scale)",
)
ax.legend()
plt.show()

# %% [markdown]
# We threshold the scores at $t = 0.5$ and let `cmloss.confusion_matrix` count. It returns
# a named tuple `(tn, fp, fn, tp)`.

# %%
threshold = 0.5
y_pred = (y_score > threshold).astype("int32")
cm = cmloss.confusion_matrix(y_true, y_pred)
print({name: int(count) for name, count in cm._asdict().items()})

# %% [markdown]
# The heat map below lays the four counts out as the matrix above. Its colour scale is
# logarithmic because the counts span three orders of magnitude: the true negatives dwarf
# everything else, which is exactly why a metric dominated by them (accuracy) says little
# about the positives.

# %%
counts = np.array([[float(cm.tn), float(cm.fp)], [float(cm.fn), float(cm.tp)]])
fig, ax = plt.subplots(figsize=(4.5, 3.8))
sns.heatmap(
    counts,
    annot=True,
    fmt=".0f",
    cmap="Blues",
    norm=LogNorm(vmin=1, vmax=counts.max()),
    cbar_kws={"label": "number of examples (log scale)"},
    xticklabels=["predicted 0", "predicted 1"],
    yticklabels=["actual 0", "actual 1"],
    ax=ax,
)
ax.set(title=f"Confusion matrix at threshold t = {threshold}", xlabel="", ylabel="")
ax.grid(False)
plt.show()

# %% [markdown]
# ## Metrics of the confusion matrix
#
# Each metric below is a function of the four counts only. The first column is the name of
# the function in `cmloss.core.cm_metrics` (and its key in the registry
# `cm_metrics.METRICS`).
#
# | `cmloss` name | also called | formula |
# |---|---|---|
# | `accuracy` | | $\frac{TP + TN}{n}$ |
# | `precision` | PPV | $\frac{TP}{TP + FP}$ |
# | `recall` | sensitivity, TPR | $\frac{TP}{TP + FN}$ |
# | `specificity` | TNR | $\frac{TN}{TN + FP}$ |
# | `fnr` | miss rate | $\frac{FN}{TP + FN} = 1 - \mathrm{TPR}$ |
# | `fpr` | fall-out | $\frac{FP}{TN + FP} = 1 - \mathrm{TNR}$ |
# | `f_beta` | $F_\beta$; `f1` | $\frac{(1 + \beta^2)\,TP}{(1 + \beta^2)\,TP + \beta^2 FN + FP}$ |
# | `g_mean` | G-mean | $\sqrt{\mathrm{TPR} \cdot \mathrm{TNR}}$ |
# | `balanced_accuracy` | | $\frac{1}{2}(\mathrm{TPR} + \mathrm{TNR})$ |
# | `mcc` | Matthews | $\frac{TP \cdot TN - FP \cdot FN}{\sqrt{(TP+FP)(TP+FN)(TN+FP)(TN+FN)}}$ |
# | `informedness` | Youden's J | $\mathrm{TPR} + \mathrm{TNR} - 1$ |
# | `jaccard` | CSI | $\frac{TP}{TP + FP + FN}$ |
# | `e_ratio` | | $\mathrm{FNR} / \mathrm{FPR}$ |
#
# Larger is better for all of them except the two error rates and the e-ratio. All lie in
# $[0, 1]$ except MCC and informedness, in $[-1, 1]$, and the e-ratio, in $[0, \infty)$.
#
# MCC, the Matthews correlation coefficient {cite}`matthews1975mcc`, is high only when all
# four cells are good, and is often recommended for imbalanced data
# {cite}`chicco2021mcc`. The G-mean multiplies the two class-wise rates, so it falls to 0
# as soon as either class is entirely missed; it is the basis of the GMN loss
# {cite}`twomey2017gmn`. The e-ratio of the ASTra paper {cite}`twomey2022astra` measures how
# much harder the positives are to get right than the negatives.
#
# Several ratios can have a zero denominator (precision when nothing is predicted positive,
# recall in a batch without positives). `cmloss` handles every such case by one policy,
# `zero_division=` (default 0.0), instead of returning NaN.

# %% [markdown]
# We compute every registered metric for the matrix above, by looping over the registry,
# and add F2 (F-beta with $\beta = 2$, which weighs recall more than precision).

# %%
registry = cm_metrics.METRICS
model_scores = {name: float(spec.fn(*cm)) for name, spec in registry.items()}
model_scores["f2"] = float(cm_metrics.f_beta(*cm, beta=2.0))

# %% [markdown]
# `cmloss.evaluate` does the thresholding and counting in one call; it agrees with the
# registry loop.

# %%
at_half = cmloss.evaluate(y_true, y_score, threshold=threshold)
assert all(np.isclose(at_half[name], model_scores[name]) for name in registry)

# %% [markdown]
# `evaluate` also returns the four counts, so F2 of the do-nothing classifier is one more
# call to the same function.

# %%
counts_nothing = [do_nothing[cell] for cell in ("tn", "fp", "fn", "tp")]
do_nothing["f2"] = float(cm_metrics.f_beta(*counts_nothing, beta=2.0))

# %% [markdown]
# The table puts the do-nothing classifier next to the simulated model. Accuracy barely
# separates them. Every metric that looks at the positives does: the do-nothing classifier
# has recall, G-mean, F1, MCC and informedness of 0 (its precision and MCC are 0/0, set to 0
# by the `zero_division` policy), and an infinite e-ratio (it misses every positive,
# $\mathrm{FNR} = 1$, and never raises a false alarm, $\mathrm{FPR} = 0$).

# %%
table = pd.DataFrame(
    {
        "do nothing": pd.Series(do_nothing),
        f"simulated model, t = {threshold}": pd.Series(model_scores),
    }
).loc[[*registry, "f2"]]
table.round(3)

# %% [markdown]
# ## Sweeping the threshold
#
# The threshold 0.5 is a convention, not a law. Moving it trades false negatives for false
# positives, and each metric values that trade differently. We evaluate the simulated model
# at 99 thresholds between 0.01 and 0.99.

# %%
thresholds = np.round(np.linspace(0.01, 0.99, 99), 2)
sweep = pd.DataFrame(
    [cmloss.evaluate(y_true, y_score, threshold=float(t)) for t in thresholds],
    index=pd.Index(thresholds, name="threshold"),
)

# %% [markdown]
# The figure shows seven metrics against the threshold, each in its own colour, with a dot
# at each metric's best threshold. Two things stand out.
#
# - Accuracy (dashed black) lies almost exactly on specificity (blue): with 99 negatives
#   for every positive, accuracy *is* essentially the score on the negatives. It climbs as
#   the threshold rises and then stays flat near its maximum all the way to the right,
#   where the model predicts almost no positives and recall (orange) has collapsed: it can
#   hardly tell a good operating point from doing nothing.
# - The metrics that look at the positives disagree about where to cut. The G-mean and
#   balanced accuracy, which weigh the two classes' rates equally, peak at lower
#   thresholds; F1 and MCC, which also penalise false alarms through precision, peak
#   further right.

# %%
shown = {
    "specificity": palette[0],
    "recall": palette[1],
    "f1": palette[2],
    "g_mean": palette[3],
    "balanced_accuracy": palette[5],
    "mcc": palette[6],
    "accuracy": "black",
}
fig, ax = plt.subplots(figsize=(6.4, 4.2))
for name, colour in shown.items():
    style = "--" if name == "accuracy" else "-"
    ax.plot(sweep.index, sweep[name], style, color=colour, linewidth=2, label=name)
    best = sweep[name].idxmax()
    ax.plot([best], [sweep.loc[best, name]], "o", color=colour, markersize=6)
ax.set(
    title="Metrics of one model as the decision threshold moves",
    xlabel="decision threshold t (predict positive when score > t)",
    ylabel="metric value (dimensionless)",
    xlim=(0, 1),
    ylim=(0, 1.02),
)
ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), title="metric")
plt.show()

# %% [markdown]
# The best threshold differs from metric to metric, and so does the model you would pick.
# This is the reason to *train* for the metric you will report.

# %%
best = pd.DataFrame(
    {
        "best threshold": {name: sweep[name].idxmax() for name in shown},
        "best value": {name: sweep[name].max() for name in shown},
        "value at t = 0.5": {name: sweep.loc[0.5, name] for name in shown},
    }
)
best.round(3)

# %% [markdown]
# ## Why these metrics cannot be losses
#
# Gradient descent needs the derivative of the loss with respect to the model's outputs.
# A confusion-matrix metric depends on the scores only through the predictions
# $\mathbb{1}[p_i > t]$: a score can move freely without changing any count, until it
# crosses the threshold and a count jumps by one. The metric is therefore *piecewise
# constant* in the scores.
#
# To see it, we take one positive example that the model misses (score below 0.5), move its
# score from 0 to 1 while keeping all other scores fixed, and recompute the G-mean and F1
# each time.

# %%
missed = int(np.flatnonzero((y_true == 1) & (y_score <= threshold))[0])
grid = np.linspace(0.0, 1.0, 401)
curve = []
for s in grid:
    moved = y_score.copy()
    moved[missed] = s
    cm_s = cmloss.confusion_matrix(y_true, (moved > threshold).astype("int32"))
    curve.append((float(cm_metrics.g_mean(*cm_s)), float(cm_metrics.f1(*cm_s))))
curve = np.array(curve)

# %% [markdown]
# Both metrics are step functions of that one score (top panel): flat on each side of the
# threshold and jumping at it. Their numerical derivative (bottom panel, a centred finite
# difference on the grid) is exactly zero everywhere except on the one grid step that
# straddles the threshold. There it spikes, and the spike grows without bound as the grid
# is refined: the derivative does not exist at the jump. A gradient step on this example
# would not move it.

# %%
slope = np.gradient(curve, grid, axis=0)
fig, (left, right) = plt.subplots(2, 1, figsize=(7, 6.4), sharex=True, layout="constrained")
for k, (name, colour) in enumerate([("g_mean", palette[3]), ("f1", palette[2])]):
    left.plot(grid, curve[:, k], color=colour, linewidth=2, label=name)
    right.plot(grid, slope[:, k], color=colour, linewidth=2, label=name)
for ax in (left, right):
    ax.axvline(threshold, color=step_colour, linestyle="--", lw=1, label="threshold")
right.set_xlabel("score of the moved example")
left.set(title="Metric as one score moves", ylabel="metric value (dimensionless)")
right.set(title="Its derivative (finite differences)", ylabel="d metric / d score")
left.legend()
right.legend()
fig.suptitle(f"Only the score of example {missed} (a missed positive) changes")
plt.show()

# %% [markdown]
# Automatic differentiation reaches the same verdict. We ask TensorFlow for the gradient of
# $1 - \text{G-mean}$ with respect to all 20,000 scores. The comparison $p > t$ has no
# derivative, so there is no path from the loss back to the scores and the gradient is
# `None`: an optimiser would receive nothing to follow.

# %%
scores = tf.Variable(y_score.astype("float32"))
with tf.GradientTape() as tape:
    hard = ops.cast(ops.greater(scores, threshold), "float32")
    loss = 1.0 - cm_metrics.g_mean(*cmloss.confusion_matrix(y_true, hard))
gradient = tape.gradient(loss, scores)
print(f"loss = {float(loss):.4f}; gradient with respect to the scores: {gradient}")

# %% [markdown]
# ## Summary and next chapter
#
# - On imbalanced data accuracy is dominated by the true negatives; a model that ignores the
#   positives scores 99% on 1%-positive data.
# - The confusion matrix separates the four outcomes. Metrics built on it (recall,
#   G-mean, F1, MCC, balanced accuracy, ...) describe how the positives fare, and each
#   prefers a different threshold.
# - All of them are step functions of the scores: their gradient is zero almost everywhere,
#   so they cannot be minimised by gradient descent as they stand.
#
# The next chapter, **AnyLoss** {cite}`han2024anyloss`, replaces the hard step
# $\mathbb{1}[p > 0.5]$ by a steep but smooth *amplified sigmoid*. Counting the smoothed
# predictions gives a *soft confusion matrix*, and every metric of this chapter, computed on
# it by the same `cmloss` functions, becomes a differentiable loss.
#
#
# ## Exercises
#
# Each solution is a hidden cell below its exercise (click to show it); it runs when the
# book is built, and its assertions check the claims of the solution.
#
# **Exercise 1.1.** Whatever the prevalence $\pi$ of the positive class, the do-nothing
# classifier's accuracy is $1 - \pi$ while its recall, G-mean and MCC are 0. Check it with
# `cmloss.evaluate` for $\pi = 0.001$, $0.05$ and $0.3$.

# %% tags=["hide-cell"]
# Solution to exercise 1.1: accuracy is the share of negatives, every positive-aware
# metric is 0 (MCC is 0/0 there, set to 0 by zero_division).
for pi in (0.001, 0.05, 0.3):
    labels = (rng.random(100_000) < pi).astype("int32")
    nothing = cmloss.evaluate(labels, np.zeros(labels.size))
    assert np.isclose(nothing["accuracy"], 1 - labels.mean())
    assert nothing["recall"] == nothing["g_mean"] == nothing["mcc"] == 0.0
    print(f"prevalence {labels.mean():.4f}: accuracy {nothing['accuracy']:.4f}, "
          f"recall {nothing['recall']}, G-mean {nothing['g_mean']}, MCC {nothing['mcc']}")

# %% [markdown]
# **Exercise 1.2.** $F_\beta$ weighs recall $\beta$ times as much as precision. Using the
# counts in `sweep` and `cm_metrics.f_beta`, find the threshold that maximises $F_{0.5}$,
# $F_1$ and $F_2$ for the simulated model. In which order do they come, and why?

# %% tags=["hide-cell"]
# Solution to exercise 1.2: the more a metric values recall, the lower the threshold it
# picks, since lowering the threshold finds more positives at the price of false alarms.
counts_by_threshold = [sweep[cell].to_numpy() for cell in ("tn", "fp", "fn", "tp")]
best_for = {beta: float(sweep.index[np.argmax(cm_metrics.f_beta(*counts_by_threshold,
                                                                 beta=beta))])
            for beta in (0.5, 1.0, 2.0)}
print({f"F{beta:g}": t for beta, t in best_for.items()})
assert best_for[2.0] < best_for[1.0] < best_for[0.5]

# %% [markdown]
# **Exercise 1.3.** MCC treats the two classes alike; F1 does not. Swap the roles of the
# classes (labels $1 - y$, scores $1 - p$) and compare MCC and F1 before and after, at
# threshold 0.5.

# %% tags=["hide-cell"]
# Solution to exercise 1.3: MCC is symmetric in the classes (its formula is unchanged when
# TP <-> TN and FP <-> FN), so it does not move; F1 ignores the true negatives, so the
# swapped problem (where the old negatives are now the positives) scores very differently.
swapped = cmloss.evaluate(1 - y_true, 1.0 - y_score, threshold=0.5)
print(f"MCC {at_half['mcc']:.4f} -> {swapped['mcc']:.4f};  F1 {at_half['f1']:.4f} -> "
      f"{swapped['f1']:.4f}")
assert np.isclose(at_half["mcc"], swapped["mcc"]) and not np.isclose(at_half["f1"], swapped["f1"])
