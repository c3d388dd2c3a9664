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
# # Beyond the papers: 40 imbalanced datasets, and ASTra with AnyLoss
#
# **What this chapter does**
#
# - runs five methods on all 40 available datasets of the HD-Ensemble collection
#   {cite}`chen2021hdensemble` (imbalance ratios from 9 to 971), with the protocol of
#   chapter 6 {cite}`twomey2022astra`: BCE, GMN, GMN-ASTra, the AnyLoss G-mean loss
#   {cite}`han2024anyloss` (the variant that did better in chapter 6: a sigmoid output)
#   and RUSBoost {cite}`seiffert2010rusboost`;
# - checks, with a criterion stated before the runs, whether 2,000 epochs instead of
#   chapter 6's 10,000 would change the results (they would, so this chapter trains for
#   10,000);
# - compares every method with BCE and with RUSBoost by Bayesian sign tests across the
#   datasets {cite}`benavoli2017bayesian`, and plots the per-dataset decisions against
#   the imbalance ratio;
# - asks whether ASTra helps an AnyLoss loss, as it helps BCE and GMN in the ASTra paper;
# - ends with a written conclusion: which loss wins on G-mean and on MCC, whether ASTra
#   helps, and how both depend on the imbalance ratio.
#
# Every number here is computed from `results/hd40/` (written by
# `python -m cmloss.experiments run hd40 --full`) and, for the epoch check and the
# AnyLoss-ASTra combination, `results/astra/` and `results/astra-2000-epochs/` (the
# commands are in their provenance, printed below).

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
# commit it read). `True` reruns a quick version (two datasets, two folds, 30 epochs;
# about a minute) into a temporary folder: the tables then show the pipeline, not the
# methods' quality, and the epoch check and the comparisons with chapter 6 are skipped.

# %%
RERUN_QUICK = False

# %% [markdown]
# ## Setup

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from cmloss.data import get_dataset_info, list_datasets
from cmloss.experiments.definitions import ASTRA_PROBLEMS
from cmloss.experiments.methods import METHODS
from cmloss.experiments.results import load_or_rerun, load_run_or_none
from cmloss.plotting import method_color, use_book_style
from cmloss.stats import (
    compact_wtl,
    compare_pairs,
    decision_table,
    glue,
    reports,
    show,
    sign_test,
    win_tie_loss,
)
from cmloss.stats.figures import plot_decisions_by_dataset, plot_reliability, plot_simplex
from cmloss.trainer import Architecture

use_book_style()

# %%
def try_load(name):
    loaded = load_run_or_none(name)
    return None if loaded is None else reports.with_labels(loaded.rows)


run = load_or_rerun("hd40", rerun_quick=RERUN_QUICK)
rows = reports.with_labels(run.rows)
all_labels = {name: method.label for name, method in METHODS.items()}
QUICK_RERUN = run.config["epochs"] is not None and run.config["epochs"] < 100
print(f"read with cmloss {cmloss.__version__}")
print(run.summary())

# %% [markdown]
# ## The datasets
#
# The 40 files of the HD-Ensemble repository that can be downloaded (chapter 6's
# skin-588, cod-763 and ijcnn-971 are three of them: `skin_nonskin`, `cod-rna`,
# `ijcnn1`), sorted by imbalance ratio IR = negatives / positives. The network has
# $\lceil (n_x + 1)/2 \rceil$ hidden units, as in chapter 6. (The table of 40 rows is
# collapsed: click to show it.)

# %% tags=["hide-output"]
planned = list(run.config["datasets"])
IR = {d: get_dataset_info(d).imbalance_ratio for d in planned}
labels = [m for m in reports.ASTRA_LABELS.values() if m in set(rows["method"])]
FOLDS = (run.config["max_folds"] or run.config["folds"]) * run.config["repeats"]
folds_done = rows.groupby("dataset").size() / max(len(labels), 1)
info = pd.DataFrame([
    {"dataset": i.name, "rows": i.n_rows, "features": i.n_features,
     "positives": i.n_positives, "IR": round(i.imbalance_ratio, 2),
     "hidden units": Architecture.astra_paper(i.n_features).hidden,
     "folds in the results": int(folds_done.get(i.name, 0))}
    for i in map(get_dataset_info, sorted(planned, key=IR.get))])
show(info, index=False)

# %% [markdown]
# Which (dataset, method) cells the results hold: 50 test folds (10 repeats of 5 folds)
# each when the run is complete. Everything below is computed from the datasets that
# are there, and says how many.

# %%
datasets = sorted(rows["dataset"].unique(), key=IR.get)
coverage = (rows.groupby(["dataset", "method"]).size().unstack("method")
            .reindex(index=planned, columns=labels).fillna(0).astype(int))
done = coverage[(coverage >= FOLDS).all(axis=1)].index
print(f"{len(done)} of {len(planned)} datasets complete ({len(labels)} methods x {FOLDS} "
      f"folds); cells with all folds: {int((coverage >= FOLDS).values.sum())} of "
      f"{coverage.size}")
missing = [d for d in planned if d not in done]
if missing:
    display(Markdown("**Not complete yet** (the run is resumable; the analyses below use "
                     f"the {len(datasets)} datasets with results): " + ", ".join(missing)))

# %% [markdown]
# Three of the datasets are chapter 6's problems with all their rows (skin-588, cod-763,
# ijcnn-971). Both experiments draw the folds and the networks' seeds the same way, so
# each of their folds must end with the same test confusion matrix here as in chapter 6,
# although the two runs were separate invocations, on different commits, with different
# methods trained together in each compiled stack:

# %%
same_rows = [(a.name, c.name) for a in list_datasets("astra") for c in list_datasets("hd-ensemble")
             if a.file == c.file and a.n_rows == c.n_rows and c.name in set(rows["dataset"])]
astra_rows = None if QUICK_RERUN else try_load("astra")
if astra_rows is None or not same_rows:
    display(Markdown("*This comparison needs the committed results; it is skipped here.*"))
else:
    pairs = []
    for astra_name, hd_name in same_rows:
        paired = reports.pair_folds(astra_rows[astra_rows["dataset"] == astra_name]
                                    .assign(dataset=hd_name), rows, ("_ch6", "_here"))
        pairs.append(paired.assign(chapter_6=astra_name))
    pairs = pd.concat(pairs)
    show(pairs.groupby(["dataset", "chapter_6"]).agg(
        folds_paired=("fold", "size"), identical=("same_confusion_matrix", "mean")))

# %% [markdown]
# ## Is 2,000 epochs enough?
#
# Chapter 6 trained for 10,000 epochs. Over 40 datasets and four network methods that is
# 80 million network-epochs, hours on a 2-core laptop, five times what 2,000 epochs
# would cost. Before running the 40 datasets we checked whether 2,000 epochs would give
# the same results. Two facts make the check exact rather than statistical:
#
# - training is deterministic, and a run of 2,000 epochs is the first 2,000 epochs of the
#   run of 10,000 with the same seed; best-on-validation keeps the epoch with the lowest
#   validation $\mathrm{FNR}_{apx}$, so a fold whose 10,000-epoch run selected an epoch
#   below 2,000 selects **the same network** when trained for 2,000 (and a different
#   confusion matrix there would be a bug);
# - only the folds whose 10,000-epoch run selected a later epoch can differ.
#
# The check trains the folds of repeats 0-4 of chapter 6's five problems for 2,000
# epochs (`results/astra-2000-epochs`) and pairs them with the same folds of
# `results/astra`, for the network methods of this chapter.
#
# **Criterion, fixed before the runs**: 2,000 epochs are accepted if, for every network
# method and both metrics (G-mean, MCC), (a) the Bayesian sign test (rope 0.01) over the
# problems' mean results does not find 10,000 epochs better with probability 0.95, and
# (b) the mean of the per-problem differences (10,000 minus 2,000) is below 0.02.
# Otherwise the 40 datasets are trained for 10,000 epochs, as in chapter 6.


# %%
short_rows = None if QUICK_RERUN else try_load("astra-2000-epochs")
check = None
if astra_rows is not None and short_rows is not None:
    check = reports.epoch_check(astra_rows, short_rows)
if check is None:
    display(Markdown("*The epoch check needs the committed results; it is skipped here.*"))
else:
    check = check[check["method"].isin(labels) & check["selected_epoch_long"].notna()]
    show(reports.epoch_check_summary(check).set_index("method").T.round(3))

# %% [markdown]
# `selected_within_short` is the share of folds whose 10,000-epoch run kept a network
# from the first 2,000 epochs, and `identical_if_within` the share of those whose
# 2,000-epoch run gave the same confusion matrix (the determinism check).
# Per dataset, the mean over the paired folds at both lengths, and the criterion:

# %%
if check is not None:
    per_dataset = (check.groupby(["method", "dataset"])[
        ["g_mean_long", "g_mean_short", "mcc_long", "mcc_short"]].mean())
    verdicts = []
    for method, part in per_dataset.groupby(level="method", sort=False):
        for metric in ("g_mean", "mcc"):
            long_means, short_means = part[f"{metric}_long"], part[f"{metric}_short"]
            test = sign_test(long_means, short_means, rope=0.01,
                             names=("10,000 epochs", "2,000 epochs"))
            diff = float((long_means - short_means).mean())
            verdicts.append({
                "method": method, "metric": metric, "problems": len(part),
                "10k - 2k": diff, "P(10k better)": test.p_a_better,
                "P(rope)": test.p_rope, "P(2k better)": test.p_b_better,
                "accepted": test.p_a_better < 0.95 and diff < 0.02})
    verdicts = pd.DataFrame(verdicts)
    show(verdicts.round(3), index=False)
    EPOCHS_ACCEPTED = bool(verdicts["accepted"].all())
    failed = verdicts.loc[~verdicts["accepted"], ["method", "metric"]]
    display(Markdown(
        f"**Criterion {'met' if EPOCHS_ACCEPTED else 'not met'}**: "
        f"{int(verdicts['accepted'].sum())} of {len(verdicts)} (method, metric) pairs pass"
        + ("" if EPOCHS_ACCEPTED else "; failing: " + ", ".join(
            f"{m} ({k})" for m, k in failed.itertuples(index=False)))
        + f". The 40-dataset results below were trained for {run.config['epochs'] or 10000:,}"
        " epochs."))

# %% [markdown]
# Each point below is one fold: on the diagonal, 2,000 epochs gave the same test G-mean
# as 10,000; grey points are folds where both lengths kept the same network. The
# coloured points off the diagonal are networks that were still improving their
# validation $\mathrm{FNR}_{apx}$ after epoch 2,000, and mostly improved on test data too.

# %%
if check is not None:
    methods_checked = [m for m in labels if m in set(check["method"])]
    ncols = 2
    nrows = -(-len(methods_checked) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(7.5, 3.6 * nrows), sharex=True,
                             sharey=True, squeeze=False)
    for ax in axes.flat[len(methods_checked):]:
        ax.axis("off")
    for ax, method in zip(axes.flat, methods_checked):
        part = check[check["method"] == method]
        same = part["same_confusion_matrix"]
        ax.scatter(part.loc[same, "g_mean_long"], part.loc[same, "g_mean_short"], s=8,
                   color="lightgrey", label="same network")
        ax.scatter(part.loc[~same, "g_mean_long"], part.loc[~same, "g_mean_short"], s=10,
                   color=method_color(method), label="different network")
        ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
        ax.set_title(f"{method} ({len(part)} folds)")
    for ax in axes[-1]:
        ax.set_xlabel("test G-mean, 10,000 epochs")
    for ax in axes[:, 0]:
        ax.set_ylabel("test G-mean, 2,000 epochs")
    axes[0, 0].legend(fontsize=8, loc="lower right")
    fig.suptitle("The same folds trained for 10,000 and for 2,000 epochs")
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## Results on the 40 datasets
#
# Mean test G-mean and MCC over the 50 folds, datasets in order of IR (top: least
# imbalanced; the IR in brackets).

# %%
means = {m: rows.groupby(["dataset", "method"])[m].mean().unstack("method")
         .reindex(index=datasets, columns=labels) for m in ("g_mean", "mcc")}
fig, axes = plt.subplots(1, 2, figsize=(8, 0.26 * len(datasets) + 2.2), sharey=True)
for ax, metric in zip(axes, ("g_mean", "mcc")):
    table = means[metric].rename(index=lambda d: f"{d} ({IR[d]:.0f})")
    sns.heatmap(table, annot=True, fmt=".2f", cmap="viridis", vmin=0, vmax=1, ax=ax,
                cbar=False, annot_kws={"fontsize": 8})
    ax.grid(False)
    ax.set_title(f"Mean test {metric}")
    ax.set_xlabel("")
    ax.set_ylabel("dataset (IR)" if metric == "g_mean" else "")
    ax.tick_params(axis="x", labelrotation=45)
    ax.tick_params(axis="y", labelsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Averaged over the datasets, and how often each method has the best mean:

# %%
overall = pd.DataFrame({
    f"mean {metric}": means[metric].mean() for metric in ("g_mean", "mcc")})
for metric in ("g_mean", "mcc"):
    best = means[metric].idxmax(axis=1).value_counts()
    overall[f"best {metric} on"] = best.reindex(overall.index).fillna(0).astype(int)
show(overall.round(3))

# %% [markdown]
# ## Bayesian sign tests across the datasets
#
# As in chapter 5: each method's results are averaged over the 50 folds of a dataset, and
# the sign test (rope 0.01, prior on the rope) runs over the datasets: every method
# against BCE, and every method against RUSBoost.

# %%
PAIRS = ([(m, "BCE") for m in labels if m != "BCE"]
         + [(m, "RUSBoost") for m in labels if m not in ("RUSBoost", "BCE")])
PAIRS = [(a, b) for a, b in PAIRS if a in labels and b in labels]
ACROSS = len(datasets) >= 2  # a test across datasets needs at least two
if ACROSS:
    signs = compare_pairs(rows, PAIRS, ["g_mean", "mcc"], test="sign", rope=0.01,
                          missing="drop")
    show(decision_table(signs), index=False)
else:
    display(Markdown("*Only one dataset has results so far: no test across datasets.*"))

# %% [markdown]
# The posteriors for G-mean of every method against BCE (each point: one draw of the
# probabilities of "first method better", "equivalent", "second method better"; the
# appendix [How to read the Bayesian tests](09_bayesian_tests.ipynb) builds this picture
# step by step):

# %%
if ACROSS:
    shown_pairs = [(a, b) for a, b in PAIRS if b == "BCE"]
    ncols = 2
    nrows = -(-len(shown_pairs) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(8, 4 * nrows), squeeze=False)
    for ax, (a, b) in zip(axes.flat, shown_pairs):
        pair = means["g_mean"][[a, b]].dropna()
        result = sign_test(pair[a], pair[b], rope=0.01, names=(a, b), keep_samples=True)
        plot_simplex(result, ax=ax, title=f"{a} vs {b}\n(G-mean, {len(pair)} datasets)")
    for ax in axes.flat[len(shown_pairs):]:
        ax.axis("off")
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## Per dataset, against the imbalance ratio
#
# Within each dataset, the correlated Bayesian t-test over the 50 paired folds (as in
# chapter 6: `test_train_ratio=1/3`, `runs` = 10 repeats, rope 0.01) decides win, tie
# (rope) at probability 0.95, or leaves the pair undecided. The table counts the
# outcomes (W / T / L / U) of each pair over the datasets.

# %%
ttests = compare_pairs(rows, PAIRS, ["g_mean", "mcc"], test="correlated_t",
                       test_train_ratio=1 / 3, rope=0.01, missing="drop")
show(compact_wtl(win_tie_loss(ttests, by=("metric", "method_a", "method_b"))))

# %% [markdown]
# The figures show every decision: one row per dataset, from the least imbalanced at the
# top to the most imbalanced at the bottom (IR in brackets), one column per pair.

# %%
for metric in ("g_mean", "mcc"):
    plot_decisions_by_dataset(ttests[ttests["metric"] == metric], IR,
                              title=f"Per-dataset decisions on test {metric}")
    plt.show()

# %% [markdown]
# ## ASTra with an AnyLoss loss
#
# The ASTra paper pairs its output activation with BCE and GMN. Does it help an AnyLoss
# loss too? Chapter 6 trained AnyLoss G-mean ($L = 73$) with a sigmoid and with an ASTra
# output on its five problems (10,000 epochs, 50 folds each); the table sets them beside
# GMN with and without ASTra on the same folds, and the correlated t-tests count, per
# problem, where ASTra helps (win), changes nothing (tie) or hurts (loss).

# %%
COMBO_PAIRS = [("AnyLoss-GMean-ASTra", "AnyLoss-GMean"), ("GMN-ASTra", "GMN")]
if astra_rows is None:
    display(Markdown("*This section needs the committed results; it is skipped here.*"))
else:
    combo_means = astra_rows.groupby(["dataset", "method"])[["g_mean", "mcc"]].mean()
    for metric in ("g_mean", "mcc"):
        display(Markdown(f"**mean test {metric}**"))
        show(combo_means[metric].unstack("method")
             .reindex(columns=[m for p in COMBO_PAIRS for m in p]).round(3))
    combo_t = compare_pairs(astra_rows, COMBO_PAIRS, ["g_mean", "mcc"], test="correlated_t",
                            test_train_ratio=1 / 3, rope=0.01, missing="drop")
    show(compact_wtl(win_tie_loss(combo_t, by=("metric", "method_a", "method_b"))))

# %% [markdown]
# Over the 40 datasets of this chapter, GMN with and without ASTra (sign test over the
# datasets' means, and the per-dataset correlated t-tests):

# %%
astra_pair = [("GMN-ASTra", "GMN")]
if ACROSS and all(m in labels for m in astra_pair[0]):
    gmn_signs = compare_pairs(rows, astra_pair, ["g_mean", "mcc"], test="sign", rope=0.01,
                              missing="drop")
    show(decision_table(gmn_signs), index=False)
    gmn_t = compare_pairs(rows, astra_pair, ["g_mean", "mcc"], test="correlated_t",
                          test_train_ratio=1 / 3, rope=0.01, missing="drop")
    show(compact_wtl(win_tie_loss(gmn_t, by=("metric", "method_a", "method_b"))))

# %% [markdown]
# ## How the differences depend on the imbalance ratio
#
# The datasets are split into three groups of (nearly) equal size by IR. For each group,
# the mean over its datasets of the difference in mean test metric between two methods,
# and the per-dataset decisions (correlated t-tests above) as W / T / L / U. The last
# column is the rank correlation between the IR and that difference over all datasets.

# %%
n_bands = min(3, len(datasets))
band_of = pd.qcut(pd.Series({d: IR[d] for d in datasets}).rank(method="first"), n_bands,
                  labels=False)
band_names = {}
for band in range(n_bands):
    members = band_of.index[band_of == band]
    low, high = min(IR[d] for d in members), max(IR[d] for d in members)
    band_names[band] = f"IR {low:.0f} to {high:.0f} ({len(members)})"
IR_PAIRS = [(a, b) for a, b in (("GMN", "BCE"), ("GMN-ASTra", "GMN"), ("RUSBoost", "BCE"),
                                ("AnyLoss-GMean", "BCE")) if a in labels and b in labels]
decisions = pd.concat([ttests, gmn_t]) if ACROSS and "gmn_t" in globals() else ttests
by_ir, trend = [], {}
for metric in ("g_mean", "mcc"):
    for a, b in IR_PAIRS:
        diff = (means[metric][a] - means[metric][b]).dropna()
        ranks = np.argsort(np.argsort([IR[d] for d in diff.index]))
        rho = float(np.corrcoef(ranks, np.argsort(np.argsort(diff.to_numpy())))[0, 1]) \
            if len(diff) > 2 else float("nan")
        trend[(metric, a, b)] = rho
        row = {"metric": metric, "pair": f"{a} vs {b}"}
        part = decisions[(decisions["metric"] == metric) & (decisions["method_a"] == a)
                         & (decisions["method_b"] == b)].set_index("dataset")["decision"]
        for band, name in band_names.items():
            members = [d for d in band_of.index[band_of == band] if d in diff.index]
            counts = part.reindex(members).value_counts()
            row[name] = (f"{diff[members].mean():+.3f} (" + "/".join(
                str(int(counts.get(k, 0))) for k in ("a", "rope", "b", "undecided")) + ")")
        row["rank corr. with IR"] = round(rho, 2)
        by_ir.append(row)
by_ir = pd.DataFrame(by_ir)
show(by_ir, index=False)

# %% [markdown]
# Each cell: mean difference (first minus second method) over the group's datasets, then
# W/T/L/U of the per-dataset tests. A positive rank correlation means the first method
# gains on the second as the imbalance grows.

# %% [markdown]
# ## Simple baselines: a first look on chapter 6's five problems
#
# The comparisons above pit the confusion-matrix losses against BCE at the 0.5
# threshold and against RUSBoost. An experienced reader asks first whether a plain BCE
# network with its **decision threshold tuned on the validation fold** does as well:
# learning that threshold is ASTra's whole point, and threshold moving is the standard
# remedy for imbalance. The baselines (registry family `baseline`, experiment
# `baselines`), all trained with chapter 6's protocol on the same folds and seeds:
#
# - **BCE-tuned**, **BCE-tuned-MCC**: the BCE network of chapter 6 (the same network,
#   trained once), with the threshold that maximises G-mean (MCC) on the validation
#   fold's scores (`cmloss.thresholds.tune`), applied to the test fold;
# - **GMN-tuned**: the same for the GMN network;
# - **Focal**: Keras' binary focal cross-entropy with class balancing on (Keras' defaults
#   $\gamma = 2$, $\alpha = 0.25$, which weigh the rare positives *less*; the focusing
#   term does the rebalancing);
# - **BCE-weighted**: BCE with scikit-learn's balanced class weights;
# - **LogReg-tuned**: scikit-learn's logistic regression with a G-mean-tuned threshold,
#   the no-network floor.
#
# **The question and its criterion, written before the run.** Does threshold moving
# match the confusion-matrix losses on G-mean? On this first look (repeats 0-1 of the
# five problems, 10 folds each; the 45-problem run with the sign test across datasets
# comes later), for each problem a correlated Bayesian t-test (rope 0.01, as chapter 6)
# compares BCE-tuned with GMN and with GMN-ASTra on G-mean; BCE-tuned *matches* a method
# if no problem's test decides for that method.

# %%
base = None if QUICK_RERUN else load_run_or_none("baselines-first-look")
if base is None:
    display(Markdown("*The baselines need `results/baselines-first-look`; skipped here.*"))
else:
    b_rows = reports.with_labels(base.rows, all_labels)
    problems = [p for p in ASTRA_PROBLEMS if p in set(b_rows["dataset"])]
    first_look = sorted(set(b_rows.loc[b_rows["dataset"].isin(problems), "repeat"]))
    chapter6 = astra_rows[astra_rows["method"].isin(["BCE", "GMN", "GMN-ASTra", "RUSBoost"])
                          & astra_rows["repeat"].isin(first_look)]
    both = pd.concat([chapter6, b_rows[b_rows["dataset"].isin(problems)
                                       & b_rows["repeat"].isin(first_look)]])
    show(both.pivot_table(index="method", columns="dataset", values="g_mean")
         [problems].assign(mean=lambda t: t.mean(axis=1)).sort_values("mean",
                                                                     ascending=False)
         .round(3))
    show(both.pivot_table(index="method", columns="dataset", values="mcc")
         [problems].assign(mean=lambda t: t.mean(axis=1)).sort_values("mean",
                                                                     ascending=False)
         .round(3))
    BASELINE_PAIRS = [("BCE-tuned", "GMN"), ("BCE-tuned", "GMN-ASTra"),
                      ("BCE-tuned", "BCE"), ("GMN-tuned", "GMN-ASTra"),
                      ("BCE-tuned-MCC", "BCE"), ("Focal", "GMN"), ("BCE-weighted", "GMN"),
                      ("LogReg-tuned", "GMN")]
    baseline_t = compare_pairs(both, BASELINE_PAIRS, ["g_mean", "mcc"], test="correlated_t",
                               test_train_ratio=1 / 3, rope=0.01, missing="drop")
    show(compact_wtl(win_tie_loss(baseline_t, by=("metric", "method_a", "method_b"))))
    baseline_wtl = win_tie_loss(baseline_t, by=("metric", "method_a", "method_b")).set_index(
        ["metric", "method_a", "method_b"])
    tuned_matches = {}
    for other in ("GMN", "GMN-ASTra"):
        r = baseline_wtl.loc[("g_mean", "BCE-tuned", other)]
        tuned_matches[other] = "matches" if r.losses == 0 else "does not match"
        key = other.replace("-", "_").lower()
        glue(f"tuned_vs_{key}_wtl", Markdown(
            f"{r.wins} / {r.ties} / {r.losses} / {r.undecided}"))
        glue(f"tuned_matches_{key}", Markdown(tuned_matches[other]))
    glue("baseline_problems", len(problems))
    glue("baseline_repeats", Markdown(", ".join(str(r) for r in first_look)))
    # validation folds are as large as test folds (stratified): their positives per fold
    positives = b_rows.groupby("dataset")["n_test_positive"].mean()[problems]
    means_g = both.pivot_table(index="method", columns="dataset", values="g_mean")
    glue("tuned_mean_g", float(means_g.loc["BCE-tuned"].mean()))
    glue("bce_mean_g", float(means_g.loc["BCE"].mean()))
    glue("gmn_mean_g", float(means_g.loc["GMN"].mean()))
    # the prose says threshold moving lowers BCE's mean here; a rerun that changes it must
    # change the prose
    assert means_g.loc["BCE-tuned"].mean() < means_g.loc["BCE"].mean()
    glue("fewest_positives", Markdown(", ".join(
        f"{d} {positives[d]:.1f}" for d in positives.sort_values().index[:2])))

# %% [markdown]
# Each cell of the last table counts the problems where the first method of the pair is
# better (W), practically equivalent (T), worse (L), or undecided (U). By the criterion
# above, on the {glue:text}`baseline_problems` problems (repeats
# {glue:md}`baseline_repeats`), BCE with a tuned threshold {glue:md}`tuned_matches_gmn`
# GMN on G-mean (W / T / L / U {glue:md}`tuned_vs_gmn_wtl`) and
# {glue:md}`tuned_matches_gmn_astra` GMN-ASTra ({glue:md}`tuned_vs_gmn_astra_wtl`).
# Threshold moving even lowers BCE's mean G-mean over the five problems
# ({glue:text}`tuned_mean_g:.3f` against {glue:text}`bce_mean_g:.3f` at 0.5; GMN
# {glue:text}`gmn_mean_g:.3f`): the threshold is fitted to the validation fold, and the
# folds of the most imbalanced problems hold few positives (on average per fold:
# {glue:md}`fewest_positives`), so the best threshold there is mostly the noise of one or
# two scores. A tuned threshold needs a validation set with enough positives; the
# confusion-matrix losses need none.
#
# Five problems are too few for a verdict across datasets; the next section's 45-problem
# run gives the sign test. This first look is `run baselines --full --datasets
# skin-588 skin-4000 cod-763 cod-3500 ijcnn-971 --repeats 2 --out
# results/baselines-first-look`.

# %% [markdown]
# ## The baselines on all 45 problems
#
# **The question and its criterion, written before the run.** Does threshold moving
# match the confusion-matrix losses across datasets? The 45-problem run trains the
# baselines on chapter 6's five problems and the 40 HD-Ensemble datasets with the same
# protocol, folds and seeds as `results/astra` and `results/hd40`, whose BCE, GMN,
# GMN-ASTra and RUSBoost rows it is compared with. Each method's results are averaged over
# the 50 folds of a dataset, and a Bayesian sign test (rope 0.01, as above) runs over the
# 40 HD-Ensemble datasets for BCE-tuned against GMN, GMN-ASTra and RUSBoost, GMN-tuned
# against GMN-ASTra, and Focal, BCE-weighted and LogReg-tuned against GMN, on G-mean and
# MCC. BCE-tuned *beats* a method on a metric if the sign test decides for BCE-tuned
# (probability at least 0.95), *matches* it if it decides for practical equivalence, *falls
# short of* it if it decides for the other method, and is *undecided against* it
# otherwise. Per problem, the correlated t-tests of chapter 6 (rope 0.01) count wins, ties,
# losses and undecided pairs over all 45 problems. The run: `python -m
# cmloss.experiments run baselines --full --workers 2` into `results/baselines`
# (resumable; `--plan` projects its wall time for your machine, and the run's
# `provenance.json` records the time it took).

# %%
BASELINE_45_PAIRS = [("BCE-tuned", "GMN"), ("BCE-tuned", "GMN-ASTra"),
                     ("BCE-tuned", "RUSBoost"), ("GMN-tuned", "GMN-ASTra"),
                     ("Focal", "GMN"), ("BCE-weighted", "GMN"), ("LogReg-tuned", "GMN")]
full_base = None if QUICK_RERUN else load_run_or_none("baselines")
base45_verdicts = {}
base45_signs = pd.DataFrame()
if full_base is None or full_base.rows.empty:
    glue("baselines45_verdict", Markdown(
        "*`results/baselines` holds no results in this build yet, so the criterion above has "
        "not been applied; until then the first look above is the evidence.*"))
else:
    b45 = reports.with_labels(full_base.rows, all_labels)
    reference = pd.concat([rows, astra_rows])
    reference = reference[reference["method"].isin(labels)]  # the five methods of hd40
    folds45 = b45[["dataset", "repeat", "fold"]].drop_duplicates()  # the same folds only
    both45 = pd.concat([reference.merge(folds45, on=["dataset", "repeat", "fold"]), b45])
    t45 = compare_pairs(both45, BASELINE_45_PAIRS, ["g_mean", "mcc"], test="correlated_t",
                        test_train_ratio=1 / 3, rope=0.01, missing="drop")
    show(compact_wtl(win_tie_loss(t45, by=("metric", "method_a", "method_b"))))
    plot_decisions_by_dataset(t45[t45["metric"] == "g_mean"], {
        d: get_dataset_info(d).imbalance_ratio for d in set(both45["dataset"])},
        title="Per-problem decisions on test G-mean, baselines")
    plt.show()
    hd_only = both45[both45["dataset"].isin(run.config["datasets"])]
    n45 = hd_only["dataset"].nunique()
    coverage = (f"the run is {full_base.status}; {b45['dataset'].nunique()} of its "
                f"{len(full_base.config['datasets'])} problems have results")
    if n45 >= 2:
        # the headline table: every method over the HD-Ensemble datasets all of them have
        hd_means = {m: hd_only.groupby(["dataset", "method"])[m].mean().unstack("method")
                    for m in ("g_mean", "mcc")}
        complete45 = hd_means["g_mean"].dropna().index
        headline = pd.DataFrame({
            "mean G-mean": hd_means["g_mean"].loc[complete45].mean(),
            "mean MCC": hd_means["mcc"].loc[complete45].mean(),
            "fit minutes": hd_only[hd_only["dataset"].isin(complete45)]
            .groupby("method")["fit_seconds"].sum() / 60,
        }).sort_values("mean G-mean", ascending=False)
        show(headline.round(3))
        signs45 = compare_pairs(hd_only, BASELINE_45_PAIRS, ["g_mean", "mcc"], test="sign",
                                rope=0.01, missing="drop")
        show(decision_table(signs45), index=False)
        base45_signs = signs45.set_index(["metric", "method_a", "method_b"], drop=False)
        for metric in ("g_mean", "mcc"):
            for other in ("GMN", "GMN-ASTra", "RUSBoost"):
                decision = base45_signs.loc[(metric, "BCE-tuned", other), "decision"]
                base45_verdicts[metric, other] = {
                    "a": "beats", "rope": "matches", "b": "falls short of"
                }.get(decision, "is undecided against")
        glue("baselines45_verdict", Markdown(
            f"The first table averages each method over the {len(complete45)} HD-Ensemble "
            "datasets that every method has results on; *fit minutes* adds up the training "
            "time of its networks over their folds, where the networks trained together in "
            "one stack share its time equally (the `hd40` run trained in one process with "
            "two threads, the baselines on two one-thread workers, so the times compare "
            "only roughly). By the criterion above, over the "
            f"{n45} HD-Ensemble datasets with results, BCE with a G-mean-tuned threshold "
            + "; on MCC it ".join(
                f"{base45_verdicts[metric, 'GMN']} GMN, {base45_verdicts[metric, 'GMN-ASTra']} "
                f"GMN-ASTra and {base45_verdicts[metric, 'RUSBoost']} RUSBoost"
                + (" on G-mean" if metric == "g_mean" else "") for metric in ("g_mean", "mcc"))
            + f" ({coverage})."))
    else:
        glue("baselines45_verdict", Markdown(
            f"*Only {n45} HD-Ensemble dataset(s) have results so far ({coverage}): no sign "
            "test across datasets yet, so the criterion above has not been applied.*"))

# %% [markdown]
# {glue:md}`baselines45_verdict`

# %% [markdown]
# ## Calibration: what the losses do to the scores
#
# A soft-confusion-matrix loss is not a proper scoring rule: nothing in it asks a score of
# 0.7 to mean "positive seven times in ten", and ASTra moves the threshold on purpose. A
# reader who deploys such a network and reads its outputs as probabilities needs to know
# how far off they are. For every network's test fold the runner records the Brier score
# and the expected calibration error (ECE, 15 equal-width bins; `cmloss.core.evaluation`)
# of the scores the method decides on (the sigmoid output; for ASTra its z output, which
# pivots at 0.5 like a sigmoid), and the same after a post-hoc map fitted on the
# validation fold: Platt scaling (a logistic regression of the label on the score) and
# isotonic regression.
#
# **The questions and their criteria, written before the run.** On chapter 6's five
# problems, repeats 0-1 (10 folds each), for BCE, GMN, BCE-ASTra, GMN-ASTra, Focal and
# BCE-weighted:
#
# - *Worse calibrated*: a method is worse calibrated than BCE on a problem if its mean
#   test ECE over the folds exceeds BCE's by more than 0.02; we count the problems.
# - *Restored*: a post-hoc map restores a method's calibration if, on every problem where
#   the method is worse calibrated than BCE, its mean ECE after the map is at most BCE's
#   mean ECE (without a map) plus 0.02.
#
# Platt's map is strictly increasing, so deciding on the calibrated score at the mapped
# threshold (`Calibrator.map_threshold`) makes exactly the decisions of the raw score:
# Platt calibration changes no G-mean or MCC. Isotonic regression ties scores into
# plateaus, so decisions on its output can change; it is reported for calibration only.
# The run: `run astra --full --repeats 2 --methods bce gmn bce-astra gmn-astra focal
# bce-weighted --out results/calibration` (its BCE, GMN and ASTra networks are trained on
# chapter 6's folds with chapter 6's seeds).

# %%
CALIBRATION_MARGIN = 0.02
MAP_NAMES = {"platt": "Platt scaling", "isotonic": "isotonic regression"}
calib = None if QUICK_RERUN else load_run_or_none("calibration")
if calib is None or "ece" not in calib.rows:
    display(Markdown("*The calibration section needs `results/calibration`; skipped here.*"))
else:
    c_rows = reports.with_labels(calib.rows, all_labels)
    KEYS = ["brier", "ece", "brier_platt", "ece_platt", "brier_isotonic", "ece_isotonic"]
    per_problem = c_rows.groupby(["method", "dataset"])[KEYS].mean()
    # reference: each test fold's share of positives predicted for every row (ECE 0)
    prevalence = c_rows["n_test_positive"] / c_rows["n_test"]
    base_rate = (prevalence * (1 - prevalence)).groupby(c_rows["dataset"]).mean().mean()
    show(pd.concat([per_problem.groupby("method").mean().sort_values("ece"),
                    pd.DataFrame({"brier": [base_rate], "ece": [0.0]},
                                 index=["base rate (constant)"])]).round(3)
         .rename(columns=lambda k: k.replace("_", " ").replace("brier", "Brier")
                 .replace("ece", "ECE").replace("isotonic", "iso.")))
    ece = per_problem["ece"].unstack("dataset")
    bce_ece = ece.loc["BCE"]
    worse = ece.gt(bce_ece + CALIBRATION_MARGIN, axis=1)
    verdicts = []
    for method in worse.index.drop("BCE"):
        bad = worse.columns[worse.loc[method]]
        text = f"- {method} is worse calibrated than BCE on {len(bad)} of {len(bce_ece)} problems"
        for m in ("platt", "isotonic") if len(bad) else ():
            after = per_problem.loc[method, f"ece_{m}"].loc[bad]
            restores = (after <= bce_ece[bad] + CALIBRATION_MARGIN).all()
            text += f"; {MAP_NAMES[m]} {'restores' if restores else 'does not restore'} it"
        verdicts.append(text + ".")
    glue("calibration_verdicts", Markdown("\n".join(verdicts)))
    mean_ece = per_problem.groupby("method")["ece"].mean()
    glue("calibration_bce_ece", float(mean_ece["BCE"]))
    glue("calibration_gmn_ece", float(mean_ece["GMN"]))
    glue("calibration_gmn_astra_ece", float(mean_ece["GMN-ASTra"]))
    glue("calibration_gmn_platt_ece",
         float(per_problem.groupby("method")["ece_platt"].mean()["GMN"]))
    glue("calibration_bce_epoch0",
         float((c_rows.loc[c_rows["method"] == "BCE", "selected_epoch"] == 0).mean()))
    glue("calibration_prevalence", Markdown(f"{prevalence.min():.2%} to {prevalence.max():.2%}"))
    shared = c_rows.merge(astra_rows, on=["dataset", "method", "repeat", "fold"],
                          suffixes=("", "_6"))
    cells = ["tn", "fp", "fn", "tp"]
    glue("calibration_same_cells", int((shared[cells].to_numpy()
                                        == shared[[c + "_6" for c in cells]].to_numpy())
                                       .all(axis=1).sum()))
    glue("calibration_shared_folds", len(shared))
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 4.0))
    calib_repeats = sorted(set(c_rows["repeat"]))
    for ax, dataset in zip(axes, ["skin-588", "cod-763"]):
        plot_reliability({all_labels[name]: sum(
            calib.curves(dataset, name, r)["reliability"].sum(axis=0) for r in calib_repeats)
            for name in calib.config["methods"]}, ax=ax, title=f"{dataset}, test folds")
    fig.tight_layout()
    plt.show()

# %% [markdown]
# The table gives each method's mean over the problems of its mean over the folds. By the
# criteria above:
#
# {glue:md}`calibration_verdicts`
#
# On average BCE's test ECE is {glue:text}`calibration_bce_ece:.3f`, GMN's
# {glue:text}`calibration_gmn_ece:.3f` and GMN-ASTra's
# {glue:text}`calibration_gmn_astra_ece:.3f`; a Platt map fitted on the validation fold
# brings GMN's to {glue:text}`calibration_gmn_platt_ece:.3f` without changing a single
# decision. The reliability diagrams pool the test folds of two problems (bins with fewer
# than 10 rows are not drawn): a curve below the diagonal means scores higher than the
# share of positives they stand for.
#
# Two things the numbers show that the criteria did not ask about, noted after the run.
# First, BCE is not the well-calibrated reference it is usually taken to be: under
# chapter 6's protocol, best-on-validation by $\mathrm{FNR}_{apx}$ kept the initial network
# (epoch 0) on {glue:text}`calibration_bce_epoch0:.0%` of BCE's folds (chapter 6 discusses
# why), and an untrained network's scores sit near 0.5 whatever the input. Second, these
# problems are so imbalanced (positives make up {glue:md}`calibration_prevalence` of a
# test fold) that predicting the base rate for every row already has an ECE of 0 and a
# Brier score of about $p(1-p)$ (the last row of the table); the post-hoc maps reach that
# floor, which says they learned the base rate, not that the scores rank better. Of the
# {glue:text}`calibration_shared_folds` folds of BCE, GMN, BCE-ASTra and GMN-ASTra,
# {glue:text}`calibration_same_cells` give exactly chapter 6's test confusion matrix. The
# others moved their selected epoch; the likely cause (not tested here) is that this run
# trained them in one stack with other networks (Focal, BCE-weighted), which changes the
# order of float operations, and 10,000 epochs amplify the difference.

# %% [markdown]
# ## Conclusion
#
# The numbers and verdicts in this section are computed by the (collapsed) cell below
# from the tables above, so rerunning the experiments updates them.

# %% tags=["hide-input"]
def verdict(result):
    """'GMN better (P = 0.99)', 'undecided (...)' for one sign-test or t-test row."""
    words = {"a": f"{result.method_a} better", "b": f"{result.method_b} better",
             "rope": "practically equivalent"}.get(result.decision, "undecided")
    p = max(result.p_a_better, result.p_rope, result.p_b_better)
    return f"{words} (P = {p:.2f})"


def listing(names):
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


glue("n_datasets", len(datasets))
winner_text = {}
for metric in ("g_mean", "mcc"):
    average = means[metric].mean()
    winner = average.idxmax()
    best_counts = means[metric].idxmax(axis=1).value_counts()
    others = compare_pairs(rows, [(winner, o) for o in labels if o != winner], metric,
                           test="sign", rope=0.01, missing="drop")
    beaten = others[others["decision"] == "a"]
    open_ = others[others["decision"] != "a"]
    parts = []
    if len(beaten):
        parts.append(f"the sign test finds it better than {listing(beaten['method_b'])} "
                     f"(each with P ≥ {beaten['p_a_better'].min():.2f})")
    if len(open_):
        parts.append("it is not decisively better than " + listing(
            f"{r.method_b} (P = {r.p_a_better:.2f} that it is)" for r in open_.itertuples()))
    glue(f"{metric}_winner", Markdown(f"**{winner}**"))
    glue(f"{metric}_winner_mean", float(average[winner]))
    glue(f"{metric}_winner_best_on", int(best_counts.get(winner, 0)))
    glue(f"{metric}_winner_tests", Markdown("; ".join(parts)))
    winner_text[metric] = (f"best mean {metric}: {winner} ({average[winner]:.3f}; "
                           f"BCE {average['BCE']:.3f}); " + "; ".join(parts))
    glue(f"{metric}_bce_mean", float(average["BCE"]))
    glue(f"{metric}_means", Markdown(", ".join(
        f"{m} {average[m]:.3f}" for m in average.sort_values(ascending=False).index)))

astra_sign = gmn_signs.set_index("metric")
astra_wtl = win_tie_loss(gmn_t, by=("metric",)).set_index("metric")
direction = {metric: astra_sign.loc[metric, "decision"] for metric in ("g_mean", "mcc")}
if all(d == "b" for d in direction.values()):
    answer = f"**No**: over the {len(datasets)} datasets GMN is better without ASTra, on both."
elif all(d == "a" for d in direction.values()):
    answer = f"**Yes**: over the {len(datasets)} datasets GMN is better with ASTra, on both."
else:
    answer = "**Not clearly**: the sign test does not favour ASTra on both metrics."
glue("astra_answer", Markdown(answer))
for metric in ("g_mean", "mcc"):
    row = astra_sign.loc[metric]
    glue(f"astra_{metric}_verdict", Markdown(verdict(row)))
    glue(f"astra_{metric}_means", Markdown(
        f"{row.mean_a:.3f} with ASTra, {row.mean_b:.3f} without"))
    counts = astra_wtl.loc[metric]
    glue(f"astra_{metric}_wtl", Markdown(
        f"{counts.wins} / {counts.ties} / {counts.losses} / {counts.undecided}"))
if astra_rows is not None:
    combo = win_tie_loss(combo_t, by=("metric", "method_a", "method_b"))
    combo = combo[combo["method_a"] == "AnyLoss-GMean-ASTra"].set_index("metric")
    glue("anyloss_astra_wtl", Markdown("; ".join(
        f"{metric}: {r.wins} / {r.ties} / {r.losses} / {r.undecided}"
        for metric, r in combo.iterrows())))
else:
    glue("anyloss_astra_wtl", Markdown("(not computed: needs chapter 6's results)"))

for metric in ("g_mean", "mcc"):
    for a, b in IR_PAIRS:
        key = f"{metric}_{a}_{b}".replace("-", "_").lower()
        row = by_ir[(by_ir["metric"] == metric) & (by_ir["pair"] == f"{a} vs {b}")].iloc[0]
        glue(f"ir_{key}_low", Markdown(row[band_names[0]].split(" ")[0]))
        glue(f"ir_{key}_high", Markdown(row[band_names[n_bands - 1]].split(" ")[0]))
        glue(f"ir_{key}_rho", trend[(metric, a, b)])
def band_words(band):
    members = band_of.index[band_of == band]
    return f"IR {min(IR[d] for d in members):.0f} to {max(IR[d] for d in members):.0f}, " \
           f"{len(members)} datasets"


# What we recommend: the rule stated in the text below, written before the 45-problem run
tuned_vs_gmn = base45_verdicts.get(("g_mean", "GMN"))
if tuned_vs_gmn is None:
    recommendation = ("`results/baselines` has no results across the HD-Ensemble datasets in "
                      "this build, so the rule has not been applied.")
elif tuned_vs_gmn in ("beats", "matches"):
    recommendation = ("for G-mean, start with a BCE network and a decision threshold tuned on "
                      f"the validation fold: across the datasets it {tuned_vs_gmn} GMN. GMN "
                      "remains the choice when the validation set holds too few positives to "
                      "tune a threshold on.")
elif tuned_vs_gmn == "falls short of":
    recommendation = ("for G-mean, start with GMN: across the datasets BCE with a tuned "
                      "threshold falls short of it, so the confusion-matrix loss earns its "
                      "place.")
else:
    recommendation = ("these datasets do not choose between GMN and BCE with a tuned "
                      "threshold on G-mean (the sign test is undecided); either is a "
                      "defensible start, and the cheaper one to try is BCE with a tuned "
                      "threshold, which any trained model allows.")
recommendation += (" Add ASTra's output to GMN: across the datasets GMN-ASTra is better on "
                   "G-mean." if direction["g_mean"] == "a" else
                   " Leave ASTra's output out: across the datasets it does not improve GMN's "
                   f"G-mean ({verdict(astra_sign.loc['g_mean'])}).")
if len(base45_signs):  # what the rule did not ask about, noted after the run
    recommendation += " Noted after the run, outside the rule (sign tests against GMN): " + \
        "; ".join(f"{name}: on G-mean {verdict(base45_signs.loc[('g_mean', name, 'GMN')])}, "
                  f"on MCC {verdict(base45_signs.loc[('mcc', name, 'GMN')])}"
                  for name in ("BCE-weighted", "LogReg-tuned")) + "."
    if base45_signs.loc[("mcc", "BCE-weighted", "GMN"), "decision"] == "a":
        recommendation += (" So where MCC decides, a BCE network with balanced class weights "
                           "is the better start.")
glue("recommendation", Markdown(recommendation[0].upper() + recommendation[1:]))
glue("ir_band_low", Markdown(band_words(0)))
glue("ir_band_high", Markdown(band_words(n_bands - 1)))
glue("n_extreme", int(sum(IR[d] >= 500 for d in datasets)))
# The prose below says so; a rerun that changes it must change the prose.
assert "AnyLoss-GMean" not in (means["g_mean"].mean().idxmax(), means["mcc"].mean().idxmax())

# %% [markdown]
# **Which loss wins.** On the G-mean, the metric that GMN, GMN-ASTra and AnyLoss-GMean
# optimise, {glue:md}`g_mean_winner` has the best mean over the
# {glue:text}`n_datasets` datasets ({glue:text}`g_mean_winner_mean:.3f`; it has the best
# mean on {glue:text}`g_mean_winner_best_on` of them), and
# {glue:md}`g_mean_winner_tests`. The means: {glue:md}`g_mean_means`. On MCC, which
# also charges for the false positives that a G-mean loss accepts in exchange for recall
# (chapter 4), {glue:md}`mcc_winner` has the best mean
# ({glue:text}`mcc_winner_mean:.3f`, best on {glue:text}`mcc_winner_best_on` datasets),
# and {glue:md}`mcc_winner_tests`. The means: {glue:md}`mcc_means`. The AnyLoss G-mean
# loss, trained with the ASTra paper's protocol, wins on neither metric.
#
# **Does ASTra help?** {glue:md}`astra_answer` GMN-ASTra against GMN, sign test over the
# datasets: on G-mean {glue:md}`astra_g_mean_verdict`, means {glue:md}`astra_g_mean_means`;
# on MCC {glue:md}`astra_mcc_verdict`, means {glue:md}`astra_mcc_means`. Dataset by
# dataset (correlated t-tests, W / T / L / U for ASTra): {glue:md}`astra_g_mean_wtl` on
# G-mean and {glue:md}`astra_mcc_wtl` on MCC. With the AnyLoss G-mean loss on chapter 6's
# five problems, ASTra against a sigmoid output gives W / T / L / U
# {glue:md}`anyloss_astra_wtl`. The ASTra paper recommends the combination of GMN and
# ASTra "for the most severely imbalanced cases" (its abstract); the next paragraph looks
# at whether the difference changes with the imbalance.
#
# **How it depends on the imbalance ratio.** From the least imbalanced third of the
# datasets ({glue:md}`ir_band_low`) to the most imbalanced ({glue:md}`ir_band_high`),
# the mean difference GMN minus BCE goes from
# {glue:md}`ir_g_mean_gmn_bce_low` to {glue:md}`ir_g_mean_gmn_bce_high` on G-mean and
# from {glue:md}`ir_mcc_gmn_bce_low` to {glue:md}`ir_mcc_gmn_bce_high` on MCC (rank
# correlations with the IR {glue:text}`ir_g_mean_gmn_bce_rho:.2f` and
# {glue:text}`ir_mcc_gmn_bce_rho:.2f`); GMN-ASTra minus GMN goes from
# {glue:md}`ir_g_mean_gmn_astra_gmn_low` to {glue:md}`ir_g_mean_gmn_astra_gmn_high` on
# G-mean and from {glue:md}`ir_mcc_gmn_astra_gmn_low` to
# {glue:md}`ir_mcc_gmn_astra_gmn_high` on MCC (rank correlations
# {glue:text}`ir_g_mean_gmn_astra_gmn_rho:.2f` and {glue:text}`ir_mcc_gmn_astra_gmn_rho:.2f`).
# The table of the previous section has every pair and group. Only
# {glue:text}`n_extreme` of the datasets have an IR of 500 or more, the range of the ASTra
# paper, so the most imbalanced third starts far below it: this chapter says how the
# methods compare across common imbalance ratios, and leaves the extreme ones to chapter
# 6's five problems.
#
# (recommendation)=
# ## What we recommend
#
# The rule, written before the 45-problem baselines run: if BCE with a G-mean-tuned
# threshold beats or matches GMN on G-mean in the sign test across the HD-Ensemble
# datasets (the section on the baselines), the first thing to try for G-mean is a BCE
# network with its threshold tuned on validation data, and GMN is the alternative when the
# validation set holds too few positives; if it falls short of GMN, start with GMN; if the
# test is undecided, say that the data do not choose. ASTra's output is recommended on top
# of GMN only if the sign test above finds GMN-ASTra better than GMN on G-mean. Applied to
# this build's numbers:
#
# {glue:md}`recommendation`
#
# ## In short
#
# The same findings as bullets, computed from the tables above.

# %% tags=["hide-input"]
lines = []
if check is not None:
    lines.append(f"- Epoch check: criterion {'met' if EPOCHS_ACCEPTED else 'not met'}; "
                 f"{check['selected_within_short'].mean():.0%} of "
                 f"{len(check)} paired folds kept a network from the first 2,000 epochs, "
                 f"and {check['same_confusion_matrix'].mean():.0%} gave the same test "
                 "confusion matrix at both lengths.")
lines += [f"- Over the {len(datasets)} datasets, {text}." for text in winner_text.values()]
lines.append("- Does ASTra help GMN? " + answer.replace("**", "") + " " + "; ".join(
    f"{metric}: {verdict(astra_sign.loc[metric])}" for metric in ("g_mean", "mcc")) + ".")
for metric in ("g_mean", "mcc"):
    for pair in ("GMN vs BCE", "GMN-ASTra vs GMN"):
        row = by_ir[(by_ir["metric"] == metric) & (by_ir["pair"] == pair)]
        if len(row):
            lines.append(f"- {metric}, {pair.replace(' vs ', ' minus ')}, by IR group: "
                         + "; ".join(f"{band_words(band)}: {row.iloc[0][name].split(' ')[0]}"
                                     for band, name in band_names.items()) + ".")
if base is not None:
    lines.append("- First look at the baselines (chapter 6's five problems, repeats 0-1): BCE "
                 "with a G-mean-tuned threshold " + " and ".join(
                     f"{verdict} {other}" for other, verdict in tuned_matches.items())
                 + " on G-mean (correlated t-tests per problem).")
if base45_verdicts:
    lines.append("- Baselines across the HD-Ensemble datasets (sign test, G-mean): BCE with a "
                 "G-mean-tuned threshold " + ", ".join(
                     f"{base45_verdicts['g_mean', other]} {other}"
                     for other in ("GMN", "GMN-ASTra", "RUSBoost")) + ".")
lines.append("- What we recommend: " + recommendation)
if calib is not None and "ece" in calib.rows:
    lines.append("- Calibration (chapter 6's five problems, repeats 0-1): " + " ".join(
        v[2:] for v in verdicts))
if astra_rows is not None:
    wtl = win_tie_loss(combo_t, by=("metric", "method_a", "method_b"))
    for r in wtl.itertuples():
        lines.append(f"- Chapter 6's problems ({r.metric}), {r.method_a} vs {r.method_b}: "
                     f"{r.wins} wins, {r.ties} ties, {r.losses} losses, {r.undecided} "
                     "undecided.")
display(Markdown("\n".join(lines)))
