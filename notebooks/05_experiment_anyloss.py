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
# # Experiment: AnyLoss on imbalanced data
#
# **What this chapter does**
#
# - reruns the imbalanced-data experiment of the AnyLoss paper {cite}`han2024anyloss`
#   (its Section 4.2) with the losses of chapter 2, for a single-layer perceptron (SLP) and
#   a small multi-layer perceptron (MLP);
# - adds the baselines a Keras user would try first: Keras' own Dice loss and
#   class-weighted binary cross-entropy (BCE), next to the paper's SOL
#   {cite}`marchetti2022sol`, BCE after SMOTE {cite}`chawla2002smote` and BCE after
#   random undersampling (imbalanced-learn {cite}`lemaitre2017imblearn`);
# - sets our numbers beside the published ones, runs the paper's Bayesian sign tests
#   {cite}`benavoli2017bayesian` and looks at how fast each loss learns.
#
# Every number on this page is computed here from the per-fold results in
# `results/anyloss/`, written by the experiment command line of `cmloss`.

# %% tags=["remove-stderr"]
try:
    import cmloss
except ImportError:  # Colab, Binder: install cmloss from its repository
    # %pip install -q "cmloss[book] @ git+https://github.com/cmloss/cmloss"
    import cmloss
__import__("keras")  # loads TensorFlow in this cell, which hides its start-up log lines

# %% [markdown]
# `RERUN_QUICK = False` reads the committed full results: from `results/` in a clone of the
# repository, or, in Colab, from the repository at the commit cmloss was installed from
# (fetched once, checked against the run's `SHA256SUMS`, cached; the cell says which
# commit it read). `True` reruns a quick version of the same pipeline (two datasets, two
# folds, 20 epochs; about a minute) into a temporary folder and reports on that instead:
# the tables then show how the pipeline works, not what the losses achieve.

# %%
RERUN_QUICK = False

# %% [markdown]
# ## Setup

# %%
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from cmloss.experiments.results import load_or_rerun, load_run_or_none
from cmloss.plotting import method_color, use_book_style
from cmloss.stats import compare_pairs, decision_table, reports, show, sign_test
from cmloss.stats.figures import plot_simplex
from cmloss.stats.tables import glue

use_book_style()

# %%
run = load_or_rerun("anyloss", rerun_quick=RERUN_QUICK)
rows = reports.anyloss_labels(run.rows)
print(f"read with cmloss {cmloss.__version__}")
print(run.summary())

# %% [markdown]
# ## The protocol
#
# :::{admonition} The paper says
# :class: paper-says
# Section 4.2 of the paper and the authors' notebooks for it (4-10 to 4-22 in their
# repository):
#
# - **Data**: *random* (a synthetic problem with 10% positives), *breast cancer*,
#   *diabetes* and credit card fraud, built by the authors' recipes (`cmloss.data`).
# - **Splits**: one `StratifiedKFold(10, shuffle=True, random_state=2)`; the test fold is
#   also the validation data; no early stopping; threshold 0.5.
# - **SLP**: zero initial weights, full-batch gradient descent, 1,000 steps; learning
#   rate 0.005 for AnyLoss (0.01 for F1), BCE's rate per dataset.
# - **MLP**: `Dense(2) -> BatchNorm -> sigmoid -> Dense(1, sigmoid)`, Adam, 100 epochs,
#   mini-batches of 5% (G-mean: 50%, balanced accuracy: full batch).
# - **Baselines**: SOL with a cosine threshold distribution; BCE after SMOTE and after
#   random undersampling to a minority share of "0.1-0.2".
# :::
#
# :::{admonition} Our reading
# :class: our-reading
# - Credit card fraud is a Kaggle file we may not redistribute: it is run only when a
#   user supplies it, and **it is not in these results**.
# - Features are z-scored with statistics of the training folds (the authors z-scored
#   whole files; {ref}`reading-anyloss-scaling`).
# - Every network is **re-initialised for every fold and loss**: the authors' MLP code
#   built one model outside the loops and kept training it ({ref}`reading-anyloss-mlp`).
# - Where the sources are silent: SOL takes the learning rate and batch size of the
#   AnyLoss loss of its metric; SMOTE (5 neighbours) and undersampling use the ratio 0.2,
#   seeded per fold; Dice (Keras' `Dice`) takes the F1 settings and class-weighted BCE
#   the BCE settings ({ref}`reading-anyloss-slp`, {ref}`reading-anyloss-baselines`).
#
# All of it is in `cmloss.experiments.methods`.
# :::

# %% [markdown]
# ## Results
#
# Mean over the 10 test folds, for each loss (rows) and dataset, for the four metrics the
# AnyLoss losses target (blocks of columns), one figure per model. The colour scale runs
# from 0 to 1 in every block.

# %%
METRICS = {"accuracy": "Accuracy", "f1": "F1", "balanced_accuracy": "Balanced accuracy",
           "g_mean": "G-mean"}
means = rows.groupby(["model", "method", "dataset"])[list(METRICS)].mean().reset_index()
order = [reports.ANYLOSS_LABELS[k] for k in reports.ANYLOSS_LABELS]
datasets = sorted(rows["dataset"].unique())

for model in ("SLP", "MLP"):
    part = means[means["model"] == model]
    grid = pd.concat(
        {title: part.pivot(index="method", columns="dataset", values=metric)
         .reindex(columns=datasets) for metric, title in METRICS.items()}, axis=1)
    grid = grid.reindex(index=[m for m in order if m in set(part["method"])])
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(grid) + 2.2))
    sns.heatmap(grid, ax=ax, vmin=0, vmax=1, cmap="viridis", annot=True, fmt=".2f",
                cbar_kws={"label": "mean test metric", "shrink": 0.6},
                annot_kws={"fontsize": 8},
                xticklabels=[d for _ in METRICS for d in datasets])
    for k in range(1, len(METRICS)):  # separate the metrics
        ax.axvline(k * len(datasets), color="white", linewidth=3)
    for k, title in enumerate(METRICS.values()):
        ax.text((k + 0.5) * len(datasets), -0.4, title, ha="center", va="bottom",
                fontweight="bold")
    ax.set(xlabel="dataset", ylabel="loss")
    ax.set_title(f"{model}: mean test metric over 10 folds, for each metric", pad=24)
    ax.tick_params(axis="x", labelrotation=45)
    plt.show()

# %% [markdown]
# The pattern to look for: every loss that counts the minority class (AnyLoss F-beta,
# G-mean and balanced accuracy, SOL, Dice, weighted BCE, resampling) trades a little
# accuracy for a large gain in F1, G-mean or balanced accuracy over plain BCE and MSE,
# whose predictions lean on the majority class. Which of them wins depends on the metric,
# which is the paper's point: optimise the metric you will be judged by.

# %% [markdown]
# ## Beside the published numbers
#
# The paper reports one metric per loss (the accuracy of the accuracy loss, and so on),
# means over the 10 folds. For the AnyLoss row it does not say whether the SLP or the MLP
# produced it, so both of ours are shown. `diff` is ours minus published.

# %%
cmp = reports.anyloss_comparison(run.rows)
ran = cmp[cmp["n"] > 0].copy()
ran["ours"] = [f"{m:.3f} ({s:.3f})" for m, s in zip(ran["ours_mean"], ran["ours_std"])]
ran["loss (model)"] = ran["method"] + " (" + ran["model"] + ")"
COMPARED = ["dataset", "loss (model)", "metric", "paper", "ours", "diff"]
show(ran[COMPARED].round({"diff": 3}), index=False)
print(f"credit card (not run here): {int((cmp['n'] == 0).sum())} published cells without "
      "a result of ours")

# %%
fig, ax = plt.subplots(figsize=(7, 4.5))
for method, part in ran.groupby("method"):
    ax.scatter(part["paper"], part["ours_mean"], label=method, color=method_color(method),
               marker="o", s=28, alpha=0.85)
ax.plot([0.4, 1.0], [0.4, 1.0], color="grey", lw=1, ls="--")
ax.set_xlabel("published mean")
ax.set_ylabel("our mean (10 folds)")
ax.set_title("Our results against the AnyLoss paper's")
ax.legend(ncol=2, fontsize=8, loc="upper left")
plt.show()

# %% [markdown]
# The five largest gaps:

# %%
gaps = ran.reindex(ran["diff"].abs().sort_values(ascending=False).index)
show(gaps[COMPARED].head(5).round({"diff": 3}), index=False)

# %% [markdown]
# ## Bayesian sign tests
#
# The paper compares each AnyLoss loss with BCE and with MSE by the Bayesian sign test
# over the per-dataset means, with a region of practical equivalence (rope) of 0.01 and
# the prior's unit weight on the rope. `p_a_better` is the posterior probability that the
# AnyLoss loss is better by more than the rope, `p_rope` that the two are equivalent;
# the decision needs 0.95.
#
# With three datasets (four in the paper) the posterior cannot become confident: even
# three wins out of three leave room for the prior. The paper's test had the same limit.
# The appendix [How to read the Bayesian tests](09_bayesian_tests.ipynb) builds this test
# and its simplex plot step by step on one of the book's comparisons.

# %%
TARGET = {"AnyLoss-Acc": "accuracy", "AnyLoss-F1": "f1", "AnyLoss-F0.5": "f0.5",
          "AnyLoss-F2": "f2", "AnyLoss-GMean": "g_mean", "AnyLoss-BAcc": "balanced_accuracy"}
tests = []
for model, part in rows.groupby("model"):
    ran_here = set(part["method"])
    for method, metric in TARGET.items():
        for baseline in ("BCE", "MSE"):
            if {method, baseline} <= ran_here:
                res = compare_pairs(part, [(method, baseline)], metric, test="sign",
                                    rope=0.01, missing="drop")
                tests.append(res.assign(model=model))
tests = pd.concat(tests, ignore_index=True)
for model, part in tests.groupby("model", sort=False):
    display(Markdown(f"**{model}**"))
    readable = part.assign(metric=part["metric"].str.replace("_", " "))  # wraps in a cell
    show(decision_table(readable, keys=("metric",)), index=False)

# %% [markdown]
# The fold results give a second, more sensitive view: the same sign test over the 30
# paired test folds (3 datasets x 10 folds). Folds of one dataset are not independent,
# so read this as descriptive, not as the paper's test. The simplex plots show the
# posterior of (AnyLoss better, equivalent, baseline better) for four pairs.

# %%
folds = rows.pivot_table(index=["model", "dataset", "fold"], columns="method",
                         values=list(TARGET.values()))
pairs = [("SLP", "AnyLoss-F1", "BCE", "f1"), ("MLP", "AnyLoss-F1", "BCE", "f1"),
         ("SLP", "AnyLoss-GMean", "BCE", "g_mean"), ("MLP", "AnyLoss-BAcc", "MSE",
                                                       "balanced_accuracy")]
fig, axes = plt.subplots(2, 2, figsize=(8, 8))
for ax, (model, a, b, metric) in zip(axes.flat, pairs):
    sub = folds[metric].reindex(columns=[a, b]).loc[model].dropna()
    if len(sub) < 2:
        ax.set_axis_off()
        ax.set_title(f"{model}: {a} vs {b}\nnot in these results")
        continue
    result = sign_test(sub[a], sub[b], rope=0.01, names=(a, b), keep_samples=True)
    plot_simplex(result, ax=ax, title=f"{model}: {a} vs {b}\n({metric}, {len(sub)} folds)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Learning speed
#
# The paper's claim: after 100 of its 1,000 SLP iterations AnyLoss had made 95-97% of its
# total loss reduction, BCE 79-93%. Our runs record the training loss of every epoch;
# the share reached after 10% of the epochs is below, then the curves themselves
# (normalised to start at 1 and end at 0).

# %%
conv = reports.convergence(rows.assign(method=rows["model"] + " " + rows["method"]))
conv = conv[conv["method"].str.contains("AnyLoss|BCE$|MSE|SOL")]
show(conv.pivot(index="method", columns="dataset", values="mean").round(3))

# %%
fig, axes = plt.subplots(len(datasets), 1, figsize=(7, 2.4 * len(datasets) + 0.6),
                         sharex=True, squeeze=False)
axes = axes[:, 0]
for ax, dataset in zip(axes, datasets):
    for loss in ("bce", "mse", "anyloss-f1", "anyloss-accuracy", "anyloss-balanced_accuracy"):
        if f"slp-{loss}" not in set(run.rows["method"]):
            continue
        curves = run.curves(dataset, f"slp-{loss}", 0)["train_loss_full"]
        norm = (curves - curves[:, -1:]) / (curves[:, :1] - curves[:, -1:])
        label = reports.ANYLOSS_LABELS[loss]
        ax.plot(norm.mean(axis=0), color=method_color(label), label=label)
    ax.set_title(f"SLP, {dataset}")
    ax.set_ylabel("remaining share")
axes[-1].set_xlabel("epoch")
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Wall time per loss is not reported here: the trainer of `cmloss` trains all losses of a
# dataset together in one compiled program (chapter 8 and the benchmark in
# `benchmarks/`), so a per-loss time is not measured. The amplification adds one sigmoid
# per example, so the per-step cost of AnyLoss is that of BCE up to a constant.

# %% [markdown]
# ## Where we differ from the paper, and why

# %%
slp = ran[ran["model"] == "SLP"]
stated = slp[slp["paper_model"] == "SLP"]  # SOL, SMOTE, undersampling
glue("slp_stated_cells", len(stated))
glue("slp_stated_within_01", int((stated["diff"].abs() <= 0.01).sum()))
glue("slp_stated_within_02", int((stated["diff"].abs() <= 0.02).sum()))
sol_diabetes = stated[(stated["dataset"] == "diabetes") & stated["method"].str.startswith("SOL")]
glue("slp_sol_diabetes_gap", float(sol_diabetes["diff"].max()))
anyloss_slp = slp[slp["family"] == "AnyLoss"]
anyloss_bc = anyloss_slp[anyloss_slp["dataset"] == "breast_cancer"]
other = anyloss_slp[anyloss_slp["dataset"] != "breast_cancer"]
glue("slp_anyloss_other_cells", len(other))
glue("slp_anyloss_other_within_02", int((other["diff"].abs() <= 0.02).sum()))
glue("bc_paper_min", float(anyloss_bc["paper"].min()))
glue("bc_ours_min", float(anyloss_bc["ours_mean"].min()))
glue("bc_ours_max", float(anyloss_bc["ours_mean"].max()))

# %% [markdown]
# Where the paper states the model (SOL, SMOTE and undersampling are SLPs), our SLP
# numbers are within 0.01 of the paper's in {glue:text}`slp_stated_within_01` of
# {glue:text}`slp_stated_cells` cells and within 0.02 in
# {glue:text}`slp_stated_within_02`; the largest gaps are SOL on diabetes, ours higher by
# up to {glue:text}`slp_sol_diabetes_gap:.3f`. The AnyLoss row (model not stated) matches
# our SLP within 0.02 in {glue:text}`slp_anyloss_other_within_02` of
# {glue:text}`slp_anyloss_other_cells` cells on *random* and *diabetes*, but not on breast
# cancer, where the paper reports {glue:text}`bc_paper_min:.3f` or more and our SLP
# {glue:text}`bc_ours_min:.3f` to {glue:text}`bc_ours_max:.3f`.
#
# The MLP is where we differ most, and worst for the losses trained on the full batch
# (balanced accuracy: AnyLoss and SOL). The protocol gives them 100 epochs, i.e. only 100
# Adam steps at a learning rate of 0.001, which is not enough to leave the starting point.
# The authors' code never re-initialised its MLP: each fold and each loss continued
# training the same network, so later folds had seen hundreds of earlier epochs (and, in
# 10-fold cross-validation, the current test fold among the earlier training folds).
# We test the first half of that explanation with a supplementary run: the same two
# full-batch MLP losses trained for 1,000 epochs (`--epochs 1000`, results in
# `results/anyloss-mlp-1000-epochs/`), everything else unchanged.

# %%
longer = None if RERUN_QUICK else load_run_or_none("anyloss-mlp-1000-epochs")
if longer is None:
    print("the supplementary 1,000-epoch run is not available here")
else:
    long_rows = reports.anyloss_labels(longer.rows)
    both = pd.concat([rows.assign(epochs_run="100 (protocol)"),
                      long_rows.assign(epochs_run="1,000")])
    both = both[both["model"].eq("MLP") & both["method"].isin(set(long_rows["method"]))]
    table = (both.groupby(["method", "dataset", "epochs_run"])["balanced_accuracy"].mean()
             .unstack("epochs_run"))
    paper = cmp[(cmp["metric"] == "balanced_accuracy") & (cmp["model"] == "MLP")]
    table = table.join(paper.set_index(["method", "dataset"])["paper"])
    show(table.round(3))

# %% [markdown]
# ## The reproduction ledger
#
# The paper gives no standard deviations for these tables, so a cell counts as reproduced
# when our mean is within 0.02 of the published one. Every MLP cell further away is listed
# below with what was tried. The 1,000-epoch run above predates the ledger's criteria, so
# it can explain a gap (it moves our mean at least half-way towards the paper's, the
# chapter 6 criterion C1) but not change our reading. Two more candidates were written
# here, with this criterion, before they were run; both copy something the authors' code
# did that lets test rows inform training, so neither can become our reading, whatever
# they show (and there is no held-out check to make: the protocol has one run of 10
# folds, and every fold is used):
#
# - **carry-over**: the authors built their MLP once and never re-initialised it; we
#   train each method's folds in order, each fold starting from the weights the previous
#   fold ended with (`--carry-over`, `results/ledger/anyloss-carry-over`; each loss keeps
#   its own chain, since the order of the authors' losses is not fixed by their code);
# - **whole-file z-scoring**: the authors' recipes z-score each file before splitting; we
#   fit the scaling on every row (`--zscore-rows whole_file`,
#   `results/ledger/anyloss-whole-file`).
#
# Both runs train the six MLP methods the paper's tables compare (AnyLoss and SOL for
# accuracy, F1 and balanced accuracy) on the three datasets, 100 epochs as the protocol.

# %%
MLP_CANDIDATES = {  # candidate -> its results folder (each changes one thing)
    "1,000 epochs": "anyloss-mlp-1000-epochs",
    "carry-over": "ledger/anyloss-carry-over",
    "whole-file z-scoring": "ledger/anyloss-whole-file",
}
mlp = ran[ran["model"] == "MLP"].copy()
mlp["within 0.02"] = mlp["diff"].abs() <= 0.02
keys = ["dataset", "method", "metric"]
tried = []
for name, folder in MLP_CANDIDATES.items():
    found = longer if name == "1,000 epochs" else (
        None if RERUN_QUICK else load_run_or_none(folder))
    if found is None:
        continue
    tried.append(name)
    cand = reports.anyloss_comparison(found.rows)
    cand = cand[(cand["model"] == "MLP") & (cand["n"] > 0)]
    mlp = mlp.merge(cand[[*keys, "ours_mean"]].rename(columns={"ours_mean": name}),
                    on=keys, how="left")
    # C1: the share of the gap to the paper the candidate closes (negative: moved away)
    mlp[f"{name} closes"] = (mlp[name] - mlp["ours_mean"]) / (mlp["paper"] - mlp["ours_mean"])
gaps = mlp[~mlp["within 0.02"]].copy()


def cause(row):
    """The first candidate that closes at least half the gap (C1), or what was tried."""
    ran_here = [name for name in tried if pd.notna(row[name])]
    for name in ran_here:
        if row[f"{name} closes"] >= 0.5:
            return name
    return f"not explained (tried: {', '.join(ran_here)})" if ran_here else \
        "not explained (nothing tried yet)"


gaps["cause found"] = gaps.apply(cause, axis=1) if len(gaps) else []
SHORT = {"1,000 epochs": "1,000 ep.", "carry-over": "carry", "whole-file z-scoring": "whole file"}
shown = gaps[["dataset", "method", "paper", "ours_mean"]].rename(columns={"ours_mean": "ours"})
for name in tried:  # the share of the gap each candidate closes (blank: not retrained)
    shown[SHORT[name]] = gaps[f"{name} closes"].map(lambda v: "" if pd.isna(v) else f"{v:.0%}")
shown["explained by"] = gaps["cause found"].map(lambda c: SHORT.get(c, "-"))
show(shown.round(3), index=False)
for family in ("AnyLoss", "SOL"):
    part = mlp[mlp["family"] == family]
    glue(f"mlp_within_{family}", int(part["within 0.02"].sum()), display=False)
    glue(f"mlp_cells_{family}", len(part), display=False)
glue("mlp_gaps", len(gaps), display=False)
explained = ~gaps["cause found"].str.startswith("not explained")
glue("mlp_explained", int(explained.sum()), display=False)
glue("mlp_candidates_run", len(tried), display=False)
# each candidate on its own: the gap cells it closes at least half-way (C1), and how many
# of the cells it retrained land within 0.02 of the paper
for name in tried:
    key = name.replace(",", "").replace(" ", "_").replace("-", "_")
    retrained = mlp[name].notna()
    glue(f"mlp_{key}_closes", int((gaps[f"{name} closes"] >= 0.5).sum()), display=False)
    glue(f"mlp_{key}_gaps", int(gaps[name].notna().sum()), display=False)
    glue(f"mlp_{key}_within", int(((mlp[name] - mlp["paper"]).abs() <= 0.02)[retrained].sum()),
         display=False)
    glue(f"mlp_{key}_cells", int(retrained.sum()), display=False)
    glue(f"mlp_{key}_ours_within", int(mlp.loc[retrained, "within 0.02"].sum()), display=False)
    glue(f"mlp_{key}_max_move", float((mlp[name] - mlp["ours_mean"]).abs().max()),
         display=False)

# %% [markdown]
# **What the ledger says.** {glue:text}`mlp_within_AnyLoss` of the
# {glue:text}`mlp_cells_AnyLoss` AnyLoss MLP cells and {glue:text}`mlp_within_SOL` of the
# {glue:text}`mlp_cells_SOL` SOL MLP cells are within 0.02 of the paper. Of the
# {glue:text}`mlp_gaps` MLP cells further away, {glue:text}`mlp_explained` are explained
# under C1 by at least one of the {glue:text}`mlp_candidates_run` candidates, and each
# candidate on its own:
#
# - **carry-over** closes at least half of {glue:text}`mlp_carry_over_closes` of the
#   {glue:text}`mlp_carry_over_gaps` gaps it retrained, and puts
#   {glue:text}`mlp_carry_over_within` of its {glue:text}`mlp_carry_over_cells` cells
#   within 0.02 of the paper (under our reading: {glue:text}`mlp_carry_over_ours_within`);
# - **1,000 epochs** (the two full-batch losses only) closes
#   {glue:text}`mlp_1000_epochs_closes` of {glue:text}`mlp_1000_epochs_gaps`;
# - **whole-file z-scoring** closes {glue:text}`mlp_whole_file_z_scoring_closes` of
#   {glue:text}`mlp_whole_file_z_scoring_gaps`: it moves no mean by more than
#   {glue:text}`mlp_whole_file_z_scoring_max_move:.3f`.
#
# So the published MLP numbers are what networks that were never re-initialised give:
# by the last fold such a network has trained for hundreds of epochs, and from the second
# fold on it has been trained on rows that are now in its test fold. That accounts for
# both halves of our MLP gap: too few epochs for a freshly initialised network (which the
# 1,000-epoch run shows on its own for the full-batch losses), and test rows seen in
# training. We keep our reading (a fresh network per fold and loss): the paper's MLP rows
# measure the carry-over, not the losses, and its SLP rows, which re-initialise, agree
# with ours. The cells carry-over leaves open are in the table above.
