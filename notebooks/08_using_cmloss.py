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
# # Using cmloss in your own work
#
# **What you will learn**
#
# - how to install cmloss, with or without the dataset and experiment extras;
# - Keras recipes, each a short cell you can copy: a confusion-matrix loss in `compile`,
#   your own metric as a loss, an ASTra output and how to turn its output into labels,
#   monitoring metrics, the adaptive slope learning rate, best-on-validation, sample and
#   class weights, saving and loading, other Keras backends, and what happens in a batch
#   without positives;
# - how to choose a loss for your problem.
#
# Every recipe runs in seconds on small synthetic data; the earlier chapters explain the
# ideas behind them. The complete reference of every class and function is the
# [API reference](../book/api.md).

# %% tags=["remove-stderr"]
try:
    import cmloss
except ImportError:  # Colab, Binder: install cmloss from its repository
    # %pip install -q "cmloss[book] @ git+https://github.com/cmloss/cmloss"
    import cmloss
__import__("keras")  # loads TensorFlow in this cell, which hides its start-up log lines

# %%
import warnings

# Chapter 2 shows the SaturationWarning of the paper's L = 73 in float32; this chapter uses
# that slope on purpose and does not repeat it.
warnings.filterwarnings("ignore", category=cmloss.SaturationWarning)

# %% [markdown]
# ## Installation
#
# cmloss is installed from its repository with pip. The core (losses, layers, metrics,
# optimizers, callbacks) needs only Keras 3, NumPy and TensorFlow:
#
# ```bash
# pip install "cmloss @ git+https://github.com/cmloss/cmloss"
# ```
#
# Three extras add optional parts:
#
# | extra | adds | for |
# |---|---|---|
# | `[data]` | pooch, liac-arff, scikit-learn | `cmloss.data`: the papers' datasets |
# | `[experiments]` | `[data]`, imblearn, baycomp, tqdm, pandas, matplotlib | protocols, stats |
# | `[book]` | `[experiments]`, seaborn, sympy, IPython | running this book's notebooks |
#
# The datasets are downloaded once from their original addresses, checked by SHA-256 and
# cached; the experiment extra adds the cross-validation protocols, the fast trainer and the
# Bayesian tests used in the experiment chapters.
#
# ```bash
# pip install "cmloss[data] @ git+https://github.com/cmloss/cmloss"
# pip install "cmloss[experiments] @ git+https://github.com/cmloss/cmloss"
# ```
#
# To work on cmloss itself, clone the repository and `pip install -e ".[test]"`.

# %%
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from IPython.display import display
from keras import ops

from cmloss.core import cm_metrics

print(f"cmloss {cmloss.__version__}, Keras {keras.__version__}, backend {keras.backend.backend()}")

# %% [markdown]
# ## Data for the recipes
#
# Eight thousand examples with four features, about 2% positive (label 1), split into 6,000
# for training and 2,000 for validation. The positive class is always labelled 1: the
# minority class is the positive one throughout cmloss.

# %%
rng = np.random.default_rng(seed=8)
x = rng.normal(size=(8000, 4)).astype("float32")
y = (x[:, 0] + 0.5 * x[:, 1] + 0.3 * rng.normal(size=8000) > 2.4).astype("float32")
x_train, y_train, x_val, y_val = x[:6000], y[:6000], x[6000:], y[6000:]
print(f"positives: {int(y_train.sum())} of {len(y_train)} (train), "
      f"{int(y_val.sum())} of {len(y_val)} (validation)")


def small_network(output_layer):
    """Four inputs, three Leaky ReLU units, one output unit followed by `output_layer`."""
    return keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(3, activation=keras.layers.LeakyReLU(negative_slope=0.3)),
        keras.layers.Dense(1),
        output_layer,
    ])


# %% [markdown]
# ## A cmloss loss in `compile`
#
# Every cmloss loss is a `keras.losses.Loss`: pass it to `compile` like any other. AnyLoss
# {cite}`han2024anyloss` for F1 on a sigmoid output is `FBetaLoss` (beta = 1) with the
# amplification soft step `cmloss.Amplify(L)`; `L = 73` is the paper's default, and the
# AnyLoss chapter discusses its range. `ConfusionMatrixLoss("f1", ...)` is the same loss
# spelled generically, and works for any metric name of `cmloss.METRICS`.

# %%
anyloss_f1 = cmloss.losses.FBetaLoss(beta=1.0, soft_step=cmloss.Amplify(L=73))
generic_f1 = cmloss.losses.ConfusionMatrixLoss("f1", soft_step=cmloss.Amplify(L=73))
y_demo, p_demo = np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.2, 0.9, 0.45, 0.6])
print(f"FBetaLoss: {float(anyloss_f1(y_demo, p_demo)):.4f}, "
      f"ConfusionMatrixLoss('f1'): {float(generic_f1(y_demo, p_demo)):.4f}")

keras.utils.set_random_seed(0)
model = small_network(keras.layers.Activation("sigmoid"))
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=anyloss_f1)
model.fit(x_train, y_train, batch_size=1024, epochs=20, verbose=0)
report = cmloss.evaluate(y_val, model.predict(x_val, verbose=0), threshold=0.5)
print({k: round(report[k], 3) for k in ("tp", "fn", "fp", "f1", "recall", "precision")})

# %% [markdown]
# Confusion-matrix losses are *batch-level*: the loss of a batch is one number computed from
# the whole batch's soft confusion matrix. The batch size therefore matters more than with
# BCE: a batch needs positives to say anything about recall (see the section on empty
# batches below). Here a batch of 1,024 examples holds about 17 positives.
#
# ## Your own metric as a loss
#
# `ConfusionMatrixLoss` also takes a callable `(tn, fp, fn, tp) -> score` written with
# `keras.ops`, so that it runs on every backend. Register it with
# `keras.saving.register_keras_serializable` so that a saved model can find it again. Here
# is the Fowlkes-Mallows index $\sqrt{\text{precision} \cdot \text{recall}}$, built from the
# library's precision and recall (which bring the zero-division policy with them).

# %%
@keras.saving.register_keras_serializable(package="my_project")
def fowlkes_mallows(tn, fp, fn, tp):
    """sqrt(precision * recall), the geometric mean of the two."""
    product = cm_metrics.precision(tn, fp, fn, tp) * cm_metrics.recall(tn, fp, fn, tp)
    return ops.sqrt(ops.maximum(product, 1e-12))  # finite gradient at 0


fm_loss = cmloss.losses.ConfusionMatrixLoss(fowlkes_mallows, soft_step=cmloss.Amplify(L=30))
soft = cmloss.soft_confusion_matrix(y_demo, cmloss.Amplify(L=30)(p_demo))
print(f"loss = {float(fm_loss(y_demo, p_demo)):.4f}, "
      f"1 - FM(soft CM) = {1 - float(fowlkes_mallows(*soft)):.4f}")

keras.utils.set_random_seed(0)
fm_model = small_network(keras.layers.Activation("sigmoid"))
fm_model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=fm_loss)
fm_model.fit(x_train, y_train, batch_size=1024, epochs=10, verbose=0)
report = cmloss.evaluate(y_val, fm_model.predict(x_val, verbose=0))
print(f"validation: recall {report['recall']:.3f}, precision {report['precision']:.3f}")

# %% [markdown]
# ## An ASTra output, and how to predict labels
#
# `cmloss.layers.ASTra` {cite}`twomey2022astra` goes after a `Dense(1)` without activation.
# By default it outputs the **z-transformed** value, whose decision threshold is **0.5**
# whatever the learned slope: predict positive when `model.predict(x) > 0.5`. Any loss that
# pivots at 0.5 is then correct as it is: here `cmloss.losses.BinaryCrossentropy()` (Keras'
# BCE with the same defaults), which makes BCE-ASTra.

# %%
keras.utils.set_random_seed(0)
astra_model = small_network(cmloss.layers.ASTra(threshold=0.25))
astra_model.compile(optimizer=cmloss.optimizers.Adam(learning_rate=0.02),
                    loss=cmloss.losses.BinaryCrossentropy())
astra_model.fit(x_train, y_train, batch_size=1024, epochs=20, verbose=0)
z = astra_model.predict(x_val, verbose=0)
labels_z = (z > 0.5).astype("int32")
print(f"z output: {labels_z.sum()} predicted positives, "
      f"{int((labels_z.ravel() * y_val).sum())} of {int(y_val.sum())} positives found; "
      f"slope b = {astra_model.layers[-1].slope:.3f}, tau = {astra_model.layers[-1].threshold:.4f}")

# %% [markdown]
# With `output="astra"` the layer returns the raw ASTra value of Eq. 4 instead, whose
# threshold is the learned $\tau(b)$, available as `layer.threshold` (and as
# `layer.decision_threshold`, which is 0.5 for the z output and 0 for `output="logit"`). A
# twin model with the same weights gives the same labels:

# %%
raw_model = small_network(cmloss.layers.ASTra(threshold=0.25, output="astra"))
raw_model.set_weights(astra_model.get_weights())
raw_layer = raw_model.layers[-1]
labels_raw = (raw_model.predict(x_val, verbose=0) > raw_layer.threshold).astype("int32")
print(f"decision threshold of the raw output: {raw_layer.decision_threshold:.4f}; "
      f"same labels as z > 0.5: {bool(np.array_equal(labels_z, labels_raw))}")

# %% [markdown]
# ## Monitoring metrics
#
# `cmloss.metrics` holds stateful Keras metrics that accumulate the confusion matrix over an
# epoch. Names ending in `Apx` use the approximated matrix (the outputs themselves, pivoting
# at 0.5 of the z output, that is at the learned threshold); `GMean` and `MCC` count
# predictions above 0.5; `ConfusionMatrixMetric` makes any registered metric, either kind.

# %%
monitoring = [
    cmloss.metrics.ERatioApx(),  # e_ratio_apx: needed by AdaptiveSlopeRate
    cmloss.metrics.FNRApx(),  # fnr_apx: monitored on validation by BestOnValidation
    cmloss.metrics.FPRApx(),
    cmloss.metrics.GMeanApx(),
    cmloss.metrics.MCCApx(),
    cmloss.metrics.GMean(),
    cmloss.metrics.ConfusionMatrixMetric("f1", approximate=False),
]
print([m.name for m in monitoring])

# %% [markdown]
# ## The adaptive slope learning rate
#
# The ASTra paper learns the slope with its own learning rate $\eta_b$, adapted each epoch
# from the training e-ratio (Eq. 10). Two pieces do this: an optimizer from
# `cmloss.optimizers` (Keras' `Adam`, `SGD` or `RMSprop` with an extra
# `slope_learning_rate` for the ASTra slope only), and the callback `AdaptiveSlopeRate`,
# which reads `e_ratio_apx` from the training logs, so `ERatioApx` must be among the
# metrics. With a plain Keras optimizer the callback stops with an error that says so.

# %%
keras.utils.set_random_seed(0)
gmn_model = small_network(cmloss.layers.ASTra())
gmn_model.compile(
    optimizer=cmloss.optimizers.Adam(learning_rate=0.02, slope_learning_rate=0.01),
    loss=cmloss.losses.GMN(),
    metrics=monitoring,
)
slope_rate = cmloss.callbacks.AdaptiveSlopeRate()  # eta_b: 0.01 to 0.5, x1.1 or x0.99

# %% [markdown]
# ## Best on validation
#
# `BestOnValidation` is Keras' `EarlyStopping` that never stops: it trains for all the
# epochs and restores the weights (slope included) of the epoch with the lowest validation
# $\mathrm{FNR}_{apx}$ (`monitor=` and `mode=` change the criterion). It needs
# `validation_data` and `FNRApx` among the metrics. `start_from_epoch=N`, as in
# `EarlyStopping`, keeps the first N epochs out of the competition: on a validation set
# with a handful of positives a barely trained network can otherwise win (chapter 6
# counts how often that happened in our rerun of the ASTra experiment).

# %%
best = cmloss.callbacks.BestOnValidation()
history = gmn_model.fit(
    x_train, y_train, batch_size=len(x_train), epochs=40, verbose=0,
    validation_data=(x_val, y_val), callbacks=[slope_rate, best],
)
print(f"restored epoch {best.best_epoch + 1} of 40 (val_fnr_apx = {best.best:.4f})")
logged = pd.DataFrame(history.history)[
    ["loss", "e_ratio_apx", "slope_learning_rate", "astra_slope", "astra_threshold",
     "val_fnr_apx", "val_g_mean"]
]
logged.index = pd.Index(logged.index + 1, name="epoch")
display(logged.loc[[1, 10, 20, 30, 40]].round(4).T)  # one column per epoch: fits the page

# %% [markdown]
# The history holds every metric for the training set and, prefixed `val_`, the validation
# set, plus `slope_learning_rate`, `astra_slope` and `astra_threshold` logged by the
# callback.
#
# ## Sample and class weights
#
# `sample_weight` and `class_weight` work as in Keras, but since the loss is computed from
# the batch's confusion matrix, a weight scales an example's contribution to the four cells
# (a weight of 2 counts the example twice), not a per-example loss term:

# %%
gmn = cmloss.losses.GMN()
y4, p4 = np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.1, 0.3, 0.8, 0.6])
weighted = float(gmn(y4, p4, sample_weight=np.array([1.0, 2.0, 1.0, 1.0])))
duplicated = float(gmn(np.r_[y4, 0.0], np.r_[p4, 0.3]))
print(f"weight 2 on the second example: {weighted:.6f}; the example twice: {duplicated:.6f}")

# %% [markdown]
# A consequence worth knowing: **class weights do not change losses built from rates within
# a class** (G-mean/GMN, balanced accuracy, recall, specificity). Weighting every positive
# by $c$ multiplies $TP$ and $FN$ by $c$, and the recall $TP / (TP + FN)$ is unchanged. They
# do change F1, accuracy and MCC, which mix the classes. Below, a batch with one false
# positive (0.6) and one false negative (0.4), with and without a weight of 10 on the
# positives:

# %%
p_errors = np.array([0.1, 0.6, 0.8, 0.4])
class_w = np.where(y4 == 1, 10.0, 1.0)
for name, loss in [("GMN", gmn), ("AnyLoss F1", anyloss_f1)]:
    print(f"{name:>10}: unweighted {float(loss(y4, p_errors)):.4f}, positives x10 "
          f"{float(loss(y4, p_errors, sample_weight=class_w)):.4f}")

# %% [markdown]
# In `fit` it is the usual argument, e.g.
# `model.fit(x, y, class_weight={0: 1.0, 1: 10.0})` or `sample_weight=` an array with one
# weight per training example.
#
# ## Saving and loading a model
#
# Every cmloss object (losses, soft steps, the ASTra layer, metrics, optimizers, callbacks)
# is registered with Keras, so `model.save` and `keras.saving.load_model` work without
# `custom_objects`; a registered custom metric (like `fowlkes_mallows` above) is found too,
# as long as the code that registers it has run before loading.

# %%
with tempfile.TemporaryDirectory() as folder:
    for name, trained in [("gmn_astra", gmn_model), ("fowlkes_mallows", fm_model)]:
        path = Path(folder) / f"{name}.keras"
        trained.save(path)
        loaded = keras.saving.load_model(path)
        same = np.allclose(trained.predict(x_val, verbose=0), loaded.predict(x_val, verbose=0))
        print(f"{name}: loss {type(loaded.loss).__name__}, optimizer "
              f"{type(loaded.optimizer).__name__}, same predictions: {same}")
        if name == "gmn_astra":
            print(f"  slope b: saved {trained.layers[-1].slope:.4f}, "
                  f"reloaded {loaded.layers[-1].slope:.4f}; slope learning rate "
                  f"{loaded.optimizer.slope_learning_rate:.4f}")

# %% [markdown]
# The reloaded model can be trained further: its optimizer state, slope learning rate
# included, is restored with it.
#
# ## Other Keras backends
#
# The mathematics of cmloss uses only `keras.ops`, so the losses, the ASTra layer, the
# metrics and the callbacks work under any Keras 3 backend. Choose the backend with the
# `KERAS_BACKEND` environment variable **before Keras is first imported** (it cannot be
# changed afterwards in a running process):
#
# ```python
# import os
# os.environ["KERAS_BACKEND"] = "jax"   # or "torch", "tensorflow" (the default)
# import keras
# import cmloss
# ```
#
# The test suite runs on the TensorFlow backend (its `conftest.py` sets
# `KERAS_BACKEND=tensorflow`); other backends are not covered by the tests, so check yours
# with a short run. The cell below computes a GMN loss under JAX in a separate process, when
# JAX is installed.

# %%
if importlib.util.find_spec("jax") is None:
    print("jax is not installed here: skipped (pip install jax to try it)")
else:
    code = (
        "import keras, cmloss; "
        "print(keras.backend.backend(), "
        "float(cmloss.losses.GMN()([0., 0., 1., 1.], [0.1, 0.3, 0.8, 0.6])))"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    print(run.stdout.strip() or run.stderr[-500:])
print("tensorflow", float(gmn([0.0, 0.0, 1.0, 1.0], [0.1, 0.3, 0.8, 0.6])))

# %% [markdown]
# ## Batches without positives: the zero-division policy
#
# With rare positives some mini-batches contain none. Recall is then $0/0$, and so is every
# metric built on it. cmloss follows one policy everywhere, as scikit-learn does: an
# undefined ratio takes the value `zero_division` (default 0) **with a zero gradient**. No
# loss or metric returns NaN. What such a batch teaches depends on the loss: the table
# gives each loss's value and the size of its gradient on a batch of four negatives.

# %%
no_positives = np.zeros(4, dtype="float32")
outputs = tf.Variable([0.1, 0.3, 0.8, 0.6])
empty_batch = {}
for name, loss in [
    ("GMN", gmn),
    ("AnyLoss G-mean", cmloss.losses.GMeanLoss()),
    ("AnyLoss F1", anyloss_f1),
    ("AnyLoss balanced accuracy", cmloss.losses.BalancedAccuracyLoss()),
    ("AnyLoss accuracy", cmloss.losses.AccuracyLoss()),
]:
    with tf.GradientTape() as tape:
        value = loss(no_positives, outputs)
    norm = float(np.linalg.norm(tape.gradient(value, outputs).numpy()))
    empty_batch[name] = {"loss": float(value), "|gradient|": norm, "learns": norm > 0}
empty_batch = pd.DataFrame(empty_batch).T
assert not empty_batch.loc[["GMN", "AnyLoss G-mean", "AnyLoss F1"], "learns"].any()
assert empty_batch.loc[["AnyLoss balanced accuracy", "AnyLoss accuracy"], "learns"].all()
display(empty_batch)

# %% [markdown]
# The G-mean losses (GMN and AnyLoss) and $F_\beta$ get no gradient from a batch without
# positives: for them the batch is a no-op. Accuracy and balanced accuracy are still
# defined on the negatives (balanced accuracy through its specificity half), so they keep
# pushing the negatives' outputs down, as chapter 2 showed. The policy itself, on the
# metric functions:

# %%
print("recall of an empty class:", float(cm_metrics.recall(4, 0, 0, 0)),
      "| with zero_division=1:", float(cm_metrics.recall(4, 0, 0, 0, zero_division=1.0)),
      "| e-ratio when FPR = 0 < FNR:", float(cm_metrics.e_ratio(5, 0, 1, 1)))

# %% [markdown]
# Losses accept the policy as an argument too, e.g. `cmloss.losses.GMN(zero_division=0.0)`,
# and so do `cmloss.evaluate` and the metrics. How often does a batch hold no positive? With
# a fraction $\pi$ of positives and batches of $B$ examples drawn at random, a fraction
# $(1 - \pi)^B$ of the batches have none:

# %%
batch_sizes = [32, 64, 128, 512, 2048]
prevalences = [0.05, 0.01, 0.002]
empty = pd.DataFrame(
    {f"{p:.1%} positives": [100 * (1 - p) ** b for b in batch_sizes] for p in prevalences},
    index=pd.Index(batch_sizes, name="batch size"),
)
empty.round(1)  # percentage of batches without a positive

# %% [markdown]
# The table gives percentages. At 1% positives, half of all batches of 64 examples hold no
# positive, and a batch of 128 holds 1.3 on average: the batch's recall then jumps between a
# few values from one step to the next.
# With confusion-matrix losses, use large batches, or the full training set as one batch,
# when positives are rare.
#
# :::{admonition} Our reading
# :class: our-reading
# Chapter 6 trains the ASTra paper's networks full batch: the paper gives no batch size
# for its 10,000 epochs ({ref}`reading-full-batch`). The AnyLoss paper's MLP uses 5% of
# the training set per batch, and half of it for the G-mean loss.
# :::
#
# ## Choosing a loss
#
# | your situation | start with | then try |
# |---|---|---|
# | mild imbalance, no single metric | BCE on a sigmoid output | AnyLoss for your metric |
# | one metric decides (F1, MCC, ...) | AnyLoss for that metric | SOL for the same metric |
# | extreme imbalance, few positives | GMN on a sigmoid output | class-weighted BCE, GMN-ASTra |
# | rare positives in mini-batches | batches with several positives, or full batch | BCE-ASTra |
#
# In cmloss: AnyLoss is `FBetaLoss`, `GMeanLoss`, `BalancedAccuracyLoss`, `MCCLoss`,
# `AccuracyLoss` or `ConfusionMatrixLoss(metric)`; SOL is `cmloss.losses.SOL(metric)`; GMN
# is `cmloss.losses.GMN()`; "-ASTra" means an `ASTra()` output layer with
# `cmloss.optimizers.Adam`, `AdaptiveSlopeRate` and `BestOnValidation`, and BCE-ASTra uses
# `cmloss.losses.BinaryCrossentropy()` (or Keras' BCE) on it.
#
# The table reads the two papers. Chapter 7 puts its G-mean advice to the test against
# the simple baselines (a BCE network with a threshold tuned on validation data, focal
# loss, class weights) across the HD-Ensemble datasets; its answer, computed from the
# results, is in {ref}`recommendation`; where the two disagree, follow chapter 7.
#
# The same advice as a sequence of questions:
#
# 1. **Is the imbalance mild?** BCE is hard to beat and needs no tuning; evaluate with the
#    metric you care about, at a threshold chosen on validation data.
# 2. **Do you care about one specific metric?** Train on it with AnyLoss
#    {cite}`han2024anyloss`: `ConfusionMatrixLoss(metric, soft_step=cmloss.Amplify(L))`.
# 3. **Are the positives extremely rare?** The ASTra paper {cite}`twomey2022astra`
#    recommends a progressive exploration: first the GMN loss alone, then the ASTra output
#    as needed. GMN-ASTra attacks false negatives at the price of more false positives; when
#    BCE-ASTra avoids that, prefer it. Select the epoch on validation
#    $\mathrm{FNR}_{apx}$ (`BestOnValidation`) and watch the training e-ratio.
# 4. **Do your batches contain positives?** The G-mean and $F_\beta$ losses (AnyLoss,
#    GMN, SOL) learn nothing from a batch without positives, and the others learn only
#    about the negatives from it; use larger batches or full-batch training.
#
# Before any of these, the ASTra paper's closing caution applies: even at a high imbalance
# the main difficulty may be an insufficient model, so explore the architecture as well.
#
#
# ## Exercises
#
# Each solution is a hidden cell below its exercise (click to show it); it runs when the
# book is built, and its assertions check the claims of the solution.
#
# **Exercise 8.1.** For this chapter's training set, shuffle once and cut it into batches
# of 64, then of 1,024. What share of the batches holds no positive? Compare with
# $(1 - \pi)^B$ from the table above.

# %% tags=["hide-cell"]
# Solution to exercise 8.1: the formula treats the examples of a batch as independent
# draws; an actual shuffle agrees with it up to sampling noise, and batches of 1,024 all
# hold positives.
shuffled = y_train[np.random.default_rng(1).permutation(len(y_train))]
pi_train = float(y_train.mean())
for batch in (64, 1024):
    parts = [shuffled[i:i + batch] for i in range(0, len(shuffled) - batch + 1, batch)]
    share = np.mean([part.sum() == 0 for part in parts])
    print(f"batch {batch}: {share:.1%} of {len(parts)} batches without a positive; "
          f"(1 - pi)^B = {(1 - pi_train) ** batch:.1%}")
    assert abs(share - (1 - pi_train) ** batch) < 0.15
assert (1 - pi_train) ** 1024 < 1e-6

# %% [markdown]
# **Exercise 8.2.** Write your own $F_2$ as a callable `(tn, fp, fn, tp) -> score` (with
# `cm_metrics.f_beta`) and check that `ConfusionMatrixLoss(your_f2, soft_step=...)` gives the
# same loss and gradient as `FBetaLoss(beta=2.0, soft_step=...)`.

# %% tags=["hide-cell"]
# Solution to exercise 8.2: the same metric through either door gives the same loss.
def my_f2(tn, fp, fn, tp):
    return cm_metrics.f_beta(tn, fp, fn, tp, beta=2.0)


step = cmloss.Amplify(L=73)
for loss in (cmloss.losses.ConfusionMatrixLoss(my_f2, soft_step=step),
             cmloss.losses.FBetaLoss(beta=2.0, soft_step=step)):
    scores_demo = tf.Variable(p_demo.astype("float32"))
    with tf.GradientTape() as tape:
        value = loss(y_demo, scores_demo)
    print(type(loss).__name__, float(value), tape.gradient(value, scores_demo).numpy())
custom = cmloss.losses.ConfusionMatrixLoss(my_f2, soft_step=step)(y_demo, p_demo)
library = cmloss.losses.FBetaLoss(beta=2.0, soft_step=step)(y_demo, p_demo)
assert np.isclose(float(custom), float(library))

# %% [markdown]
# **Exercise 8.3.** `BestOnValidation` can follow any logged metric. Train the GMN-ASTra
# model of this chapter again, restoring the epoch with the highest validation
# $\text{G-mean}_{apx}$ (`monitor="val_g_mean_apx", mode="max"`), and compare the restored
# epoch with the one chosen by validation $\mathrm{FNR}_{apx}$.

# %% tags=["hide-cell"]
# Solution to exercise 8.3: the two criteria can pick different epochs; each restores the
# best epoch of its own curve.
keras.utils.set_random_seed(0)
again = small_network(cmloss.layers.ASTra())
again.compile(optimizer=cmloss.optimizers.Adam(learning_rate=0.02, slope_learning_rate=0.01),
              loss=cmloss.losses.GMN(), metrics=monitoring)
by_g_mean = cmloss.callbacks.BestOnValidation(monitor="val_g_mean_apx", mode="max")
history_g = again.fit(x_train, y_train, batch_size=len(x_train), epochs=40, verbose=0,
                      validation_data=(x_val, y_val),
                      callbacks=[cmloss.callbacks.AdaptiveSlopeRate(), by_g_mean])
curve_g = np.array(history_g.history["val_g_mean_apx"])
print(f"highest val G-mean_apx: epoch {by_g_mean.best_epoch + 1}; lowest val FNR_apx "
      f"(earlier run): epoch {best.best_epoch + 1}")
assert by_g_mean.best_epoch == int(np.argmax(curve_g))
