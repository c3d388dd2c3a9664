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
# # Experiment: ASTra on the HD-Ensemble problems
#
# **What this chapter does**
#
# - reruns Table 2 of the ASTra paper {cite}`twomey2022astra`: BCE, GMN, BCE-ASTra and
#   GMN-ASTra on five highly imbalanced problems from the HD-Ensemble collection
#   {cite}`chen2021hdensemble`, 10 x 5 rotating cross-validation, 10,000 epochs,
#   best-on-validation selection by $\mathrm{FNR}_{apx}$ (chapter 4);
# - runs three more methods on the same folds: RUSBoost {cite}`seiffert2010rusboost`, and
#   an AnyLoss G-mean loss {cite}`han2024anyloss` with and without ASTra, a combination
#   neither paper tried;
# - compares methods with Bayesian tests {cite}`benavoli2017bayesian` and redraws the
#   paper's e-ratio curves (its Fig. 4) from the stored learning curves.
#
# Every number here is computed from `results/astra/`, written by
# `python -m cmloss.experiments run astra --full`.

# %% tags=["remove-stderr"]
try:
    import cmloss
except ImportError:  # Colab, Binder: install cmloss from its repository
    # %pip install -q "cmloss[book] @ git+https://github.com/cmloss/cmloss"
    import cmloss
__import__("keras")  # loads TensorFlow in this cell, which hides its start-up log lines

# %% [markdown]
# `RERUN_QUICK = False` reads the committed results: from `results/` in a clone of the
# repository, or, in Colab, from the repository at the commit cmloss was installed from
# (fetched once, checked against each run's `SHA256SUMS`, cached; the cell says which
# commit it read). `True` reruns a quick version (two problems, two folds, 30 epochs;
# about a minute) into a temporary folder: the tables then show the pipeline, not the
# methods' quality.

# %%
RERUN_QUICK = False

# %% [markdown]
# ## Setup

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from cmloss.experiments.results import load_or_rerun, load_run_or_none
from cmloss.plotting import method_color, use_book_style
from cmloss.stats import (
    compact_wtl,
    compare_pairs,
    decision_table,
    published,
    reports,
    show,
    sign_test,
    wide_layout,
    win_tie_loss,
)
from cmloss.stats.figures import plot_simplex
from cmloss.stats.tables import glue

use_book_style()

# %%
run = load_or_rerun("astra", rerun_quick=RERUN_QUICK)
rows = reports.with_labels(run.rows)
print(f"read with cmloss {cmloss.__version__}")
print(run.summary())

# %% [markdown]
# Which (problem, method) cells these results hold, as numbers of test folds (50 = the
# full protocol). A cell below 50, or missing, means the run has not finished it yet:
# the tables below use what is there and say so.

# %%
labels = list(reports.ASTRA_LABELS.values())
coverage = (rows.groupby(["dataset", "method"]).size().unstack("method")
            .reindex(columns=[m for m in labels if m in set(rows["method"])]))
show(coverage.fillna(0).astype(int))
FOLDS = (run.config["max_folds"] or run.config["folds"]) * run.config["repeats"]
full = coverage.fillna(0) >= FOLDS
print("complete:", "all cells" if full.all().all() else
      f"{int(full.values.sum())} of {full.size} (problem, method) cells")

# %% [markdown]
# ## The protocol
#
# :::{admonition} The paper says
# :class: paper-says
# - **Network** (Section 4.2): one hidden layer of $\lceil (n_x + n_y)/2 \rceil$ Leaky
#   ReLU (0.3) units, He initialisation in the hidden layer and Glorot in the output
#   layer, Adam with learning rate 0.001; ASTra starts at $\tau = 0.25$ ($b = 7.396$,
#   Section 3.1), its slope's rate follows the e-ratio rule (Eq. 10); 10,000 epochs.
# - **Selection** (Section 4.2): the weights (and $b$) of the epoch with the best
#   validation $\mathrm{FNR}_{apx}$.
# - **Splits** (Section 4.1): 10 × 5 cross-validation, three folds train, one validates,
#   one tests; skin-4000 and cod-3500 draw five positives "randomly at each run".
# - **Outputs** (Section 3.1): losses that pivot at 0.5, GMN included, are computed on
#   the z-transformed output.
# :::
#
# :::{admonition} Our reading
# :class: our-reading
# - Full-batch training, one step per epoch ({ref}`reading-full-batch`); Eq. 10 applied
#   once per epoch to the slope's own Adam ({ref}`reading-eta-b`).
# - The roles rotate: fold $k$ tests, fold $k + 1$ validates ({ref}`reading-astra-splits`);
#   "each run" is each repeat ({ref}`reading-undersampled`).
# - Features z-scored with the training folds' statistics; the paper does not say
#   ({ref}`reading-astra-scaling`).
# - The monitored $\mathrm{FNR}_{apx}$ of ASTra networks is computed on the z output, as
#   their losses are ({ref}`reading-z-output`); every epoch may be selected
#   ({ref}`reading-best-on-val`).
# - **Added methods**: RUSBoost with imbalanced-learn's defaults on the training folds
#   (it needs no validation fold; {ref}`reading-hd-ensemble`); AnyLoss G-mean ($L = 73$)
#   in the paper's network and protocol, with a sigmoid or an ASTra output.
# :::

# %% [markdown]
# ## Table 2, side by side
#
# Mean (std) of test G-mean and MCC over the 50 test folds: for each problem, our row and
# the paper's. Our cells more than one of the paper's standard deviations away are in
# bold.

# %%
side = reports.astra_comparison(rows.assign(method=run.rows["method"]), how="inner")
for metric in ("g_mean", "mcc"):
    part = side[side["metric"] == metric]
    cells = {source: wide_layout(part, source, index=("dataset",), columns="method")
             for source in ("ours", "paper", "flag")}
    rows_in_order = [(d, source) for d in cells["ours"].index for source in ("ours", "paper")]
    index = pd.MultiIndex.from_tuples(rows_in_order, names=["dataset", "source"])
    table = pd.DataFrame([cells[src].loc[d] for d, src in rows_in_order], index=index)
    bold = pd.DataFrame([cells["flag"].loc[d] & (src == "ours") for d, src in rows_in_order],
                        index=index)
    display(Markdown(f"**{metric}**"))
    show(table, bold=bold)

# %% [markdown]
# The differences in units of the paper's standard deviation:

# %%
show(wide_layout(side, "diff_in_std", index=("dataset", "metric"), columns="method")
     .astype(float).round(2))

# %% [markdown]
# ## Every method
#
# Mean (std) over the test folds, including RUSBoost and the two AnyLoss G-mean networks.

# %%
summary = (rows.groupby(["dataset", "method"])[["g_mean", "mcc"]]
           .agg(["mean", "std"]))
for metric in ("g_mean", "mcc"):
    cell = (summary[(metric, "mean")].map("{:.3f}".format) + " ("
            + summary[(metric, "std")].map("{:.3f}".format) + ")")
    display(Markdown(f"**{metric}**"))
    show(cell.unstack("method").reindex(columns=[m for m in labels if m in coverage]))

# %%
fig, axes = plt.subplots(2, 1, figsize=(8, 7.4), sharex=True)
present = [m for m in labels if m in coverage]
for ax, metric in zip(axes, ("g_mean", "mcc")):
    means = rows.groupby(["dataset", "method"])[metric].mean().unstack("method")
    x = np.arange(len(means.index))
    width = 0.8 / len(present)
    for k, method in enumerate(present):
        ax.bar(x + k * width, means[method], width, label=method, color=method_color(method))
    ax.set_xticks(x + 0.4 - width / 2, means.index)
    ax.set_ylabel(f"mean test {metric}")
    ax.set_title(f"Test {metric} by problem and method")
axes[0].legend(fontsize=8, ncol=4, loc="lower center", bbox_to_anchor=(0.5, 1.12))
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Bayesian correlated t-tests, one problem at a time
#
# For each problem, the 50 fold results of two methods are paired and tested with the
# correlated Bayesian t-test, which accounts for the overlap of training sets between
# folds of one repeat. We set its correlation from the actual split (test fold : training
# folds = 1 : 3, `test_train_ratio=1/3`) rather than baycomp's default for k-fold
# cross-validation, because the validation fold here is neither training nor test data;
# `runs` = the number of repeats (10); rope 0.01. A decision needs posterior probability 0.95.

# %%
PAIRS = [("GMN", "BCE"), ("BCE-ASTra", "BCE"), ("GMN-ASTra", "GMN"), ("GMN-ASTra", "BCE"),
         ("AnyLoss-GMean", "GMN"), ("AnyLoss-GMean-ASTra", "AnyLoss-GMean"),
         ("GMN-ASTra", "RUSBoost")]
PAIRS = [(a, b) for a, b in PAIRS if a in present and b in present]
ttests = compare_pairs(rows, PAIRS, ["g_mean", "mcc"], test="correlated_t",
                       test_train_ratio=1 / 3, rope=0.01, missing="drop")
show(compact_wtl(win_tie_loss(ttests, by=("metric", "method_a", "method_b"))))

# %% [markdown]
# Each cell counts the problems where the first method of the pair is better (W), the
# two are practically equivalent (T), the second is better (L), or no outcome reaches
# 0.95 (U). The test of every (problem, metric, pair), each over its 50 paired folds, is
# in the collapsed cell below. The appendix
# [How to read the Bayesian tests](09_bayesian_tests.ipynb) explains the correlated
# t-test, its correlation correction, and why tests on one problem rarely decide.

# %% tags=["hide-output"]
show(decision_table(ttests, keys=("dataset", "metric")).drop(columns="n"), index=False)

# %% [markdown]
# ## Bayesian sign test across problems
#
# The folds of one problem are not independent of each other (their training sets
# overlap), and folds of different problems are not exchangeable, so the sign test runs
# on one paired result per problem: each method's mean G-mean over its folds. That leaves
# five pairs, and five pairs can rarely decide much: even five wins out of five give the
# "better" region a posterior probability of at most {glue:text}`sign_best_case:.3f` under
# the rope prior (computed below). The
# per-problem correlated t-tests above are the evidence for single problems; this test
# only says whether the direction is consistent across them.
#
# Why can a pair come out "rope" while most folds favour one side? The decision is about
# differences *larger than the rope* (0.01 G-mean). A method can win most folds by a
# hair, or lose a few folds badly and win many by little: the mean difference then sits
# inside the rope, and "equivalent in practice" is the honest summary even though the
# win count leans one way.

# %%
sign_best_case = sign_test(np.ones(5), np.zeros(5), rope=0.01).p_a_better
glue("sign_best_case", sign_best_case, display=False)
per_problem = rows.pivot_table(index="dataset", columns="method", values="g_mean",
                               aggfunc="mean")
signs = []
shown_pairs = min(4, len(PAIRS))
fig, axes = plt.subplots(-(-shown_pairs // 2), 2, figsize=(8, 4 * -(-shown_pairs // 2)),
                         squeeze=False)
for k, (a, b) in enumerate(PAIRS):
    pair = per_problem[[a, b]].dropna()
    result = sign_test(pair[a], pair[b], rope=0.01, names=(a, b), keep_samples=k < 4)
    signs.append(result.as_dict())
    if k < 4:
        plot_simplex(result, ax=axes.flat[k],
                     title=f"{a} vs {b}\n(mean G-mean, {len(pair)} problems)")
for ax in axes.flat[shown_pairs:]:
    ax.axis("off")
fig.tight_layout()
plt.show()
show(decision_table(pd.DataFrame(signs).assign(metric="g_mean")), index=False)

# %% [markdown]
# ## The e-ratio over training (the paper's Fig. 4)
#
# The e-ratio $\mathrm{FNR}_{apx} / \mathrm{FPR}_{apx}$ of the training set, every 50
# epochs, median over the folds of the first repeat (the band: interquartile range).
# Above 1 the network errs more, in the approximated sense, on the positives than on the
# negatives. As in the paper's Fig. 4 (skin-4000), the GMN variants stay orders of
# magnitude below BCE on four of the five problems, and ASTra raises the ratio of both
# losses; skin-588 is the exception, where every method's ratio grows late in training.

# %%
problems = sorted(rows["dataset"].unique())
ncols = min(3, len(problems))
nrows = -(-len(problems) // ncols)
fig, axes = plt.subplots(nrows, ncols, figsize=(8, 3 * nrows + 0.4), sharey=True,
                         sharex=True, squeeze=False)
for ax, dataset in zip(axes.flat, problems):
    for method in ("bce", "gmn", "bce-astra", "gmn-astra"):
        label = reports.ASTRA_LABELS[method]
        if (dataset, label) not in set(zip(rows["dataset"], rows["method"])):
            continue
        c = run.curves(dataset, method, 0)
        e = np.clip(c["train_e_ratio"], 1e-8, 1e8)  # inf (FPR_apx = 0) drawn at the top
        q1, med, q3 = np.nanpercentile(e, [25, 50, 75], axis=0)
        ax.plot(c["epoch"], med, color=method_color(label), label=label)
        ax.fill_between(c["epoch"], q1, q3, color=method_color(label), alpha=0.15)
    ax.axhline(1.0, color="grey", lw=1, ls="--")
    ax.set_yscale("log")
    ax.set_title(dataset)
for ax in axes[-1]:
    ax.set_xlabel("epoch")
for ax in axes[:, 0]:
    ax.set_ylabel("training e-ratio")
spare = list(axes.flat[len(problems):])
handles, names = axes.flat[0].get_legend_handles_labels()
if spare:
    spare[0].legend(handles, names, loc="center", fontsize=9)
    for ax in spare:
        ax.axis("off")
else:
    axes.flat[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Where the selected networks come from
#
# Best-on-validation picks one epoch per fold; ASTra's slope moves from its start
# $b = 7.396$. Distributions over the folds:

# %%
nets = rows[rows["selected_epoch"].notna()]
fig, axes = plt.subplots(2, 1, figsize=(7.5, 6.6))
for method, part in nets.groupby("method"):
    axes[0].hist(part["selected_epoch"], bins=40, range=(0, part["epochs"].max()),
                 histtype="step", color=method_color(method), label=method)
axes[0].set_xlabel("selected epoch")
axes[0].set_ylabel("folds")
axes[0].set_title("Selected epoch (all problems)")
axes[0].legend(fontsize=8)
astra_rows = nets[nets["final_b"].notna()]
for method, part in astra_rows.groupby("method"):
    axes[1].hist(part["final_b"], bins=40, histtype="step", color=method_color(method),
                 label=method)
axes[1].axvline(7.39635, color="grey", ls="--", lw=1)
axes[1].set_xlabel("ASTra slope b of the selected network")
axes[1].set_title("Final b (start: 7.396)")
axes[1].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Where we differ from the paper
#
# The bold cells of the Table 2 comparison are the ones more than one of the paper's
# standard deviations away. A first hypothesis, tested in the next section and weighed in
# the ledger at the end of the chapter: part of our shortfall comes from folds with a
# G-mean near 0 where best-on-validation kept a network from the first few epochs. The
# validation fold of these problems holds only a handful of positives (7 for skin-588, 1
# for skin-4000); when the validation $\mathrm{FNR}_{apx}$ of the first epochs, with every
# output still near 0.5, is never beaten later, the rule keeps a barely trained network.
# The table counts, per method, the folds selected in the first ten epochs and compares
# their mean G-mean with the other folds':

# %%
early = nets.assign(when=np.where(nets["selected_epoch"] < 10, "epoch < 10", "later"))
table = early.groupby(["method", "when"])["g_mean"].agg(["count", "mean"]).unstack("when")
table.columns = [f"{'folds' if stat == 'count' else 'mean G-mean'}, {when}"
                 for stat, when in table.columns]
show(table.round(3))

# %% [markdown]
# The paper does not say on which output its $\mathrm{FNR}_{apx}$ is monitored for ASTra
# networks (we use the z-transformed output, whose threshold is 0.5, chapter 3), nor
# whether the first epochs are excluded from the selection; both change which network
# this rule keeps. The slope $b$ also travels far from its start under Eq. (10): its
# learning rate grows by 10% per epoch while the training e-ratio exceeds 1 and reaches
# its cap of 0.5 within 40 epochs, so over 10,000 epochs $b$ reaches the hundreds
# ($\tau$ a few percent) on many folds. Both are open questions for the authors; the second
# can be tested.

# %% [markdown]
# ## Testing the explanation: no selection in the first epochs
#
# If the early selections explain our shortfall, keeping the first epochs out of the
# competition should close much of it. The folds of repeats 0 and 1 (10 per problem)
# were trained again for the paper's four methods, identical in every respect (seeds,
# folds, 10,000 epochs) except that best-on-validation ignores the epochs before 100
# (1% of training), and in a second run before 1,000:
#
# ```
# python -m cmloss.experiments run astra --full --repeats 2 \
#     --methods bce gmn bce-astra gmn-astra --select-from-epoch 100 \
#     --out results/astra-select-from-100
# ```
#
# (`Selection(start_from_epoch=...)` in the trainer, `BestOnValidation(start_from_epoch=...)`
# in Keras.) Each fold is paired with its row above; folds whose original selection was
# already past the start epoch must give the same network, which the last column checks.

# %%
def late_selection(start):
    """Chapter 6's folds paired with the same folds selected from epoch ``start`` on."""
    late = load_run_or_none(f"astra-select-from-{start}")
    if late is None:
        return None
    paired = reports.pair_folds(rows, reports.with_labels(late.rows), ("_free", "_late"))
    return paired.assign(start=start)


paired = None
if run.config["epochs"] is None:  # the committed full-protocol results, not a quick rerun
    parts = [p for p in (late_selection(100), late_selection(1000)) if p is not None]
    paired = pd.concat(parts) if parts else None
if paired is None:
    display(Markdown("*This test needs the committed results; it is skipped here.*"))
else:
    paired["was_early"] = paired["selected_epoch_free"] < paired["start"]
    summary = paired.groupby(["start", "method"], sort=False).agg(
        folds=("fold", "size"),
        moved=("was_early", "mean"),
        g_mean_free=("g_mean_free", "mean"),
        g_mean_late=("g_mean_late", "mean"),
        mcc_free=("mcc_free", "mean"),
        mcc_late=("mcc_late", "mean"),
    )
    kept = paired[~paired["was_early"]].groupby(["start", "method"], sort=False)
    summary["same_network_if_kept"] = kept["same_confusion_matrix"].mean()
    show(summary.round(3).rename(columns=lambda c: c.replace("g_mean", "G-mean")
                                 .replace("mcc", "MCC").replace("_", " ")))

# %% [markdown]
# `moved` is the share of folds whose original selection fell before the start epoch
# (only those can change). Per problem, the means with free selection, with selection
# from epoch 100 and from epoch 1,000, beside the paper's:

# %%
if paired is not None:
    table2 = published.astra_table2().set_index(["metric", "dataset", "method"])["mean"]
    distances = {}
    for metric in ("g_mean", "mcc"):
        per_problem = (paired.pivot_table(index=["dataset", "method"], columns="start",
                                          values=f"{metric}_late", aggfunc="mean")
                       .rename(columns=lambda start: f"from epoch {start}"))
        first = paired[paired["start"] == paired["start"].min()]
        per_problem.insert(0, "free", first.groupby(["dataset", "method"])[f"{metric}_free"]
                           .mean())
        per_problem["paper (50 folds)"] = table2.loc[metric].reindex(per_problem.index)
        display(Markdown(f"**{metric}**"))
        show(per_problem.round(3))
        distances[metric] = (per_problem.drop(columns="paper (50 folds)")
                             .sub(per_problem["paper (50 folds)"], axis=0).abs().mean())
    distances = pd.DataFrame(distances)
    display(Markdown(
        "**In short**: mean absolute distance to the paper's means over the "
        f"{len(per_problem)} (problem, method) cells, G-mean / MCC: "
        + "; ".join(f"{rule} {row.g_mean:.3f} / {row.mcc:.3f}"
                    for rule, row in distances.iterrows())
        + ". (The paper's means are over 50 folds, ours over the 10 of repeats 0-1.)"))

# %% [markdown]
# ## The reproduction ledger
#
# Every choice the paper leaves open that could move the numbers above becomes a named
# setting of the experiment, and each is tested by a run on **repeats 0 and 1 only** (10
# folds per problem), paired fold by fold with the same folds under our reading. The
# criteria below were written into this chapter, and committed, before any of the runs
# was started.
#
# **C1, a candidate explains a gap.** For a cell of Table 2 whose mean is more than one of
# the paper's standard deviations from ours, a candidate explains the gap if, on the folds
# of repeats 0-1, it moves our mean at least half-way towards the paper's mean (the
# baseline is our reading's mean on the same 10 folds, not on all 50).
#
# **C2, a candidate becomes our reading.** The paper's numbers play no part here: a
# candidate replaces our reading only if (a) the paper's text supports it at least as well
# as ours (argued per candidate below), and (b) on repeats 0-1 it raises the mean test
# G-mean of the methods it changes on at least 3 of the 5 problems and lowers none by more
# than 0.02. An adopted reading is then run on all 10 repeats; repeats 2-9 are the held-out
# check of the choice, and we say how far they moved.
#
# The candidates (run commands in the README; each grid file under `ledger/` is a method
# definition that differs from ours in one setting only, and a control grid written the
# same way reproduces our rows bit for bit):
#
# - **selection start**: the paper selects on the best validation $\mathrm{FNR}_{apx}$ and
#   names no first epoch; our reading lets every epoch from 0 compete; the alternatives
#   start from epoch 100 and from epoch 1,000 (`results/astra-select-from-*`);
# - **slope learning rate**: the paper's Eq. 10 lets $\eta_b$ grow by $k_{mult}$ while the
#   training e-ratio exceeds 1, capped at 0.5; our reading applies it once per epoch as
#   written; the alternative holds $\eta_b$ at its initial 0.01
#   (`results/ledger/astra-eta-fixed`, from `ledger/astra/eta-fixed-*.json`).
# - **optimiser of the slope**: the paper speaks of a "training rate" for $b$, capped at 0.5
#   (a size that suits plain gradient steps better than Adam's normalised ones); our reading
#   updates $b$ with Adam at rate $\eta_b$; the alternative takes plain gradient steps of
#   rate $\eta_b$ (`slope_optimizer="sgd"`, `results/ledger/astra-slope-sgd`). This
#   candidate was added after the criteria above were committed, and judged by them.
# - **a floor on the threshold**: the paper calls $\tau = 0.05$ the lowest workable
#   threshold but does not say that training keeps $\tau(b)$ above it; our reading lets $b$
#   grow freely; the alternative clips $b$ after every step so that $\tau \ge 0.05$
#   (`tau_min=0.05`, `results/ledger/astra-tau-floor`). Added after the criteria.
# - **input scaling**: the paper does not say whether its files were scaled (skin's
#   features are colour values 0-255); our reading z-scores every feature on the training
#   rows of each fold; the alternative trains on the files' own units (`standardize=false`,
#   all four methods, `results/ledger/astra-raw-input`). Added after the criteria. The
#   third reading scales each feature to [0, 1] by the minimum and maximum of the training
#   rows (`standardize="minmax"`, all four methods, `results/ledger/astra-minmax-input`).
# - **the output the monitor reads**: the paper computes the validation
#   $\mathrm{FNR}_{apx}$ on "the approximated matrix" without saying whether of the raw
#   ASTra output (Eq. 4) or of its z-transform (Eq. 6, stated for losses); our reading
#   monitors the z output, which pivots at 0.5 like every loss; the alternative monitors
#   the raw output, whose positives near $\tau$ count as mostly missed
#   (`Selection(output="raw")`, `results/ledger/astra-raw-monitor`). Added after the
#   criteria; training itself is unchanged, only the kept epoch can move.
# - **the output the e-ratio reads**: Eq. 10 adapts $\eta_b$ by the training e-ratio of
#   "the approximated matrix", again without naming the output; our reading takes the z
#   output, the alternative the raw output (`AdaptiveSlope(output="raw")`,
#   `results/ledger/astra-e-ratio-raw`). Added after the criteria.
# - **batch size**: the paper does not say whether a step sees every training row or a
#   mini-batch; with 10,000 epochs, our reading takes full batches (one step per epoch);
#   the alternative takes mini-batches of 10% of the training rows, ten steps per epoch in
#   a fresh order each epoch, each step's soft confusion matrix that of its batch, the
#   e-ratio of Eq. 10 read from the epoch's summed training cells (`batch_fraction=0.1`,
#   all four methods, `results/ledger/astra-minibatch`). Added after the criteria.
#
# Diverged networks come first: under the old zero-division policy a network whose
# outputs were NaN read as a loss of 1 (confusion-matrix losses) and a validation
# FNR_apx of 0, so best-on-validation could have kept one, and `evaluate` would have
# counted its NaN scores as negatives. The stored training curves of every committed run
# answer whether that happened:

# %%
from cmloss.stats import ledger

if run.config["epochs"] is None:  # committed results: count in every committed run
    diverged = {}
    for name in ("astra", "anyloss", "hd40"):
        committed = load_run_or_none(name)
        if committed is not None:
            diverged[name] = ledger.nonfinite_folds(committed.path, committed.rows)
    diverged = pd.DataFrame(diverged).T
    show(diverged)
    glue("diverged_folds", int(diverged["folds"].sum()), display=False)
    glue("diverged_nonfinite", int(diverged["nonfinite_curve"].sum()), display=False)
    glue("diverged_all_negative", int(diverged["all_negative"].sum()), display=False)
    glue("diverged_suspect", int(diverged["all_negative_suspect"].sum()), display=False)
else:
    display(Markdown("*The count needs the committed results; it is skipped here.*"))

# %% [markdown]
# Of the {glue:text}`diverged_folds` network folds committed, {glue:text}`diverged_nonfinite`
# has a non-finite training loss anywhere in its stored curve, and of the
# {glue:text}`diverged_all_negative` folds whose network predicts no positive at all (what a
# NaN network would do), {glue:text}`diverged_suspect` shows the signature of a NaN network
# at its selected epoch where the full loss curve is stored (`astra`, `anyloss`; `hd40`
# stores every 50th epoch, and none of its stored points is non-finite). The zero-division
# bug did not touch these results; since cmloss 0.1 it cannot (chapter 8).
#
# ### The candidates against the gaps
#
# Each candidate's folds paired with ours (criterion C1 per gap cell: `moved_fraction` is the
# share of the gap to the paper the candidate closed on the same folds; negative means it
# moved away):

# %%
CANDIDATES = {  # results folder -> (candidate, suffix its grid file gave the methods)
    "astra-select-from-100": ("selection from epoch 100", ""),
    "astra-select-from-1000": ("selection from epoch 1000", ""),
    "ledger/astra-eta-fixed": ("eta_b held at 0.01", "-eta-fixed"),
    "ledger/astra-slope-sgd": ("plain gradient descent on b", "-slope-sgd"),
    "ledger/astra-tau-floor": ("tau floor 0.05", "-tau-floor"),
    "ledger/astra-raw-input": ("raw input (no z-scoring)", "-raw-input"),
    "ledger/astra-minmax-input": ("min-max scaled input", "-minmax-input"),
    "ledger/astra-raw-monitor": ("FNR_apx of the raw output", "-raw-monitor"),
    "ledger/astra-e-ratio-raw": ("e-ratio of the raw output", "-e-ratio-raw"),
    "ledger/astra-minibatch": ("mini-batches of 10%", "-minibatch"),
}
candidates = []
if run.config["epochs"] is None:
    for folder, (name, suffix) in CANDIDATES.items():
        found = load_run_or_none(folder)
        if found is not None:
            candidates.append(ledger.Candidate(name, found.rows, suffix))
if candidates:
    comparison = reports.astra_comparison(run.rows)
    paired_all = pd.concat([ledger.paired_candidate(run.rows, c) for c in candidates])
    effects = ledger.explained_gaps(comparison, paired_all)
    show(effects[["metric", "dataset", "method", "candidate", "moved_fraction"]]
         .sort_values(["metric", "dataset", "method"]).round(2), index=False)
else:
    display(Markdown("*The candidates need the committed results; skipped here.*"))

# %% [markdown]
# Criterion C2 per candidate (test G-mean only, methods the candidate changed):

# %%
if candidates:
    adopted = ledger.adoption(paired_all)
    show(adopted, index=False)
    glue("n_adopted", int(adopted["adopt"].sum()), display=False)
    glue("n_candidates", len(adopted), display=False)

# %% [markdown]
# ### The ledger
#
# Every cell of Table 2 more than one of the paper's standard deviations from our mean, with
# the candidates that explain it under C1, or how many candidates changed it and which
# came closest (every candidate's share is in the table before):

# %%
if candidates:
    table = ledger.ledger_table(comparison, effects, [c.name for c in candidates])
    show(table.round(3), index=False)
    within1 = int((comparison["diff_in_std"].abs() <= 1).sum())
    within2 = int((comparison["diff_in_std"].abs() <= 2).sum())
    glue("cells_total", len(comparison), display=False)
    glue("cells_within1", within1, display=False)
    glue("cells_within2", within2, display=False)
    glue("cells_gap", len(table), display=False)
    glue("cells_explained", int((~table["cause found"].str.startswith("not")).sum()),
         display=False)
    best = effects.groupby("candidate", sort=False).agg(
        best=("moved_fraction", "max"), explained=("explains", "sum"), cells=("explains", "size"))
    glue("candidate_summary", "; ".join(
        f"{name} closes at most {row.best:.0%} of a gap it touches and explains "
        f"{int(row.explained)} of the {int(row.cells)} gap cells it changes"
        for name, row in best.iterrows()), display=False)
    names = adopted.loc[adopted["adopt"], "candidate"].tolist()
    glue("c2_sentence", "none meets C2, so every result in this book stays under our reading"
         if not names else f"{', '.join(names)} meet(s) C2 and must be rerun on all 10 "
         "repeats before it replaces our reading", display=False)

# %% [markdown]
# **What the ledger says.** Of the {glue:text}`cells_total` numbers of Table 2,
# {glue:text}`cells_within1` lie within one of the paper's standard deviations of ours and
# {glue:text}`cells_within2` within two; {glue:text}`cells_gap` lie further than one, and
# {glue:text}`cells_explained` of those are explained by a candidate tested so far. Per
# candidate: {glue:text}`candidate_summary`. Of the {glue:text}`n_candidates` candidates,
# {glue:text}`c2_sentence`. The early-selection explanation of the previous section is
# therefore at best partly supported: C1 asks for half of a gap, and the table above shows
# how much each start epoch closes. What remains open is listed as "not explained", with
# the candidate that came closest.
