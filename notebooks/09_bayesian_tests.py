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
# # How to read the Bayesian tests
#
# **What you will learn**
#
# Chapters 5 to 7 compare methods with two Bayesian tests {cite}`benavoli2017bayesian`
# and report three probabilities per comparison. This appendix builds both tests by hand
# on two real comparisons of the book, and checks each step against `cmloss.stats`:
#
# - the **rope**, the region of practical equivalence, and what it does to a difference;
# - the **Bayesian sign test** across datasets: its Dirichlet posterior, its prior on the
#   rope, its posterior samples, and the simplex picture, built point by point;
# - the **Bayesian correlated t-test** on the folds of one problem
#   {cite}`corani2015bayesian`: why the folds of a cross-validation are correlated, the
#   Nadeau-Bengio correction {cite}`nadeau2003inference` and what its $\rho$ is in the
#   ASTra experiment;
# - why so many comparisons on the ASTra problems end as "ties" or "undecided".

# %% tags=["remove-stderr"]
try:
    import cmloss
except ImportError:  # Colab, Binder: install cmloss from its repository
    # %pip install -q "cmloss[book] @ git+https://github.com/cmloss/cmloss"
    import cmloss
__import__("keras")  # loads TensorFlow in this cell, which hides its start-up log lines

# %% [markdown]
# The examples use the committed results of chapters 6 and 7 (read as in those chapters:
# from `results/`, or in Colab from the repository at the commit cmloss was installed
# from). `RERUN_QUICK = True` reruns quick versions instead (a few minutes): the steps
# are the same, the numbers are not the book's.

# %%
RERUN_QUICK = False

# %% [markdown]
# ## Setup

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from cmloss.experiments.results import load_or_rerun
from cmloss.plotting import method_color, use_book_style
from cmloss.stats import correlated_t_test, glue, reports, show, sign_test
from cmloss.stats.figures import ROPE_COLOR, plot_simplex

use_book_style()
ROPE = 0.01  # the rope of every comparison in the book

hd40 = reports.with_labels(load_or_rerun("hd40", rerun_quick=RERUN_QUICK).rows)
astra = reports.with_labels(load_or_rerun("astra", rerun_quick=RERUN_QUICK).rows)
print(f"read with cmloss {cmloss.__version__}")

# %% [markdown]
# ## The question, and the rope
#
# Chapter 7 asks whether an ASTra output helps the GMN loss. Each of its datasets gives
# one pair of numbers, the mean test G-mean of GMN-ASTra and of GMN over the dataset's 50
# folds, and so one difference $d_i$ = GMN-ASTra minus GMN.

# %%
A, B = "GMN-ASTra", "GMN"
means = hd40.groupby(["dataset", "method"])["g_mean"].mean().unstack("method")[[A, B]]
d = (means[A] - means[B]).sort_values()
glue("n_datasets", len(d))
print(f"{len(d)} datasets; differences from {d.min():+.3f} to {d.max():+.3f}")

# %% [markdown]
# A difference of 0.001 in G-mean is no reason to prefer one method. The **rope** (region
# of practical equivalence) makes that explicit: differences within $\pm$0.01 count as
# "practically equivalent". Every difference falls in one of three regions: the first
# method better ($d > 0.01$), the rope ($|d| \le 0.01$), the second method better
# ($d < -0.01$). The figure shows the differences of the
# {glue:text}`n_datasets` datasets, the rope shaded.

# %%
colours = {"a": method_color(A), "rope": ROPE_COLOR, "b": method_color(B)}
region = np.where(d > ROPE, "a", np.where(d < -ROPE, "b", "rope"))
fig, ax = plt.subplots(figsize=(7.5, 2.6))
ax.axvspan(-ROPE, ROPE, color=ROPE_COLOR, alpha=0.3, label=f"rope, |d| <= {ROPE}")
for key, label in (("a", f"{A} better"), ("rope", "in the rope"), ("b", f"{B} better")):
    sel = region == key
    ax.scatter(d[sel], np.random.default_rng(0).uniform(-1, 1, sel.sum()), s=30,
               color=colours[key], label=f"{label} ({sel.sum()})")
ax.axvline(0, color="black", linewidth=0.8)
ax.set(xlabel=f"difference of mean test G-mean, {A} minus {B}", yticks=[], ylim=(-1.6, 1.6),
       title="One point per dataset (vertical position: random, for legibility)")
ax.legend(loc="upper left", fontsize=8, ncol=2)
plt.show()
counts = {key: int((region == key).sum()) for key in ("a", "rope", "b")}
glue("count_a", counts["a"])
glue("count_rope", counts["rope"])
glue("count_b", counts["b"])

# %% [markdown]
# ## The sign test: a posterior over three probabilities
#
# The sign test asks: if we drew one more dataset like these, in which region would its
# difference fall? Call the three probabilities $\theta = (\theta_a, \theta_{rope},
# \theta_b)$, which sum to 1. Before the data, the test puts a Dirichlet prior on
# $\theta$; each dataset then adds one count to its region, and the posterior is
#
# $$
# \theta \mid \text{data} \sim \mathrm{Dirichlet}(n_a + \alpha_a,\; n_{rope} +
# \alpha_{rope},\; n_b + \alpha_b).
# $$
#
# Here $n_a$ = {glue:text}`count_a`, $n_{rope}$ = {glue:text}`count_rope` and $n_b$ =
# {glue:text}`count_b`. The prior of the AnyLoss paper, used throughout the book
# ({ref}`reading-sign-test`), is one pseudo-observation placed on the rope,
# $\alpha = (0, 1, 0)$ (baycomp adds $10^{-4}$ to every region so that no parameter is 0).
#
# The test reports, for each region, the posterior probability that it is the **most
# probable** region: $P(\text{first better}) = P(\theta_a > \theta_{rope}, \theta_a >
# \theta_b)$. There is no closed form for it; it is estimated by drawing many $\theta$
# from the posterior and counting. Here are 50,000 draws with NumPy:

# %%
alpha = np.array([counts["a"], counts["rope"] + 1.0, counts["b"]]) + 1e-4
draws = np.random.default_rng(1).dirichlet(alpha, size=50_000)
by_hand = np.bincount(draws.argmax(axis=1), minlength=3) / len(draws)
library = sign_test(means[A], means[B], rope=ROPE, names=(A, B), keep_samples=True)
table = pd.DataFrame({"by hand (NumPy draws)": by_hand,
                      "cmloss.stats.sign_test": [library.p_a_better, library.p_rope,
                                                 library.p_b_better]},
                     index=[f"P({A} better)", "P(practically equivalent)", f"P({B} better)"])
show(table.round(3))
assert np.allclose(by_hand, table.iloc[:, 1], atol=0.01)  # Monte Carlo error only
glue("p_b", library.p_b_better)

# %% [markdown]
# The two columns agree up to the Monte Carlo error of the draws (they use different
# random numbers). With probability {glue:text}`p_b:.3f`, "GMN better" is the most
# probable region for a new dataset: the test decides for GMN, since the book requires
# 0.95.
#
# ## The simplex, built step by step
#
# Each draw $\theta$ is three non-negative numbers that sum to 1: a point of a triangle
# (a *simplex*) whose corners are the certainties $(1, 0, 0)$ ("first method better" every
# time), $(0, 1, 0)$ (always equivalent) and $(0, 0, 1)$. A point's distance from each
# edge is proportional to one coordinate. The figure builds the picture of
# `cmloss.stats.figures.plot_simplex` in four steps:
#
# 1. one draw, with its three coordinates;
# 2. one hundred draws: the posterior is a cloud;
# 3. the three lines from the centre to the midpoints of the edges split the triangle
#    where each coordinate is the largest; each draw takes the colour of its region;
# 4. all draws: the share of the cloud in each region is the reported probability.

# %%
SQ3 = np.sqrt(3.0)


def to_plane(theta):
    """Barycentric (a, rope, b) -> plane: a at (0, 0), b at (1, 0), rope at the top."""
    theta = np.atleast_2d(theta)
    return theta[:, 2] + theta[:, 1] / 2, theta[:, 1] * SQ3 / 2


def triangle(ax, title, regions=False):
    ax.plot([0, 1, 0.5, 0], [0, 0, SQ3 / 2, 0], color="black", linewidth=1)
    for (x, y), text in (((0, 0), f"{A}\nbetter"), ((1, 0), f"{B}\nbetter"),
                         ((0.5, SQ3 / 2), "rope")):
        ax.annotate(text, (x, y), textcoords="offset points", fontsize=9, ha="center",
                    xytext=(0, 8 if y else -22))
    if regions:
        for mx, my in ((0.25, SQ3 / 4), (0.75, SQ3 / 4), (0.5, 0)):
            ax.plot([0.5, mx], [SQ3 / 6, my], color="black", linestyle="--", linewidth=0.8)
    ax.set(title=title, xlim=(-0.15, 1.15), ylim=(-0.2, 1.0), aspect="equal")
    ax.axis("off")


region_colour = [colours["a"], colours["rope"], colours["b"]]
fig, axes = plt.subplots(2, 2, figsize=(8, 7.6))
first = draws[0]
triangle(axes[0, 0], "1. One draw")
x, y = to_plane(first)
axes[0, 0].scatter(x, y, s=40, color="black", zorder=3)
axes[0, 0].annotate(f"theta = ({first[0]:.2f}, {first[1]:.2f}, {first[2]:.2f})", (x[0], y[0]),
                    textcoords="offset points", xytext=(10, 10), fontsize=9)
triangle(axes[0, 1], "2. One hundred draws")
axes[0, 1].scatter(*to_plane(draws[:100]), s=8, color="black", alpha=0.6)
triangle(axes[1, 0], "3. Coloured by their largest coordinate", regions=True)
largest = draws[:100].argmax(axis=1)
axes[1, 0].scatter(*to_plane(draws[:100]), s=8,
                   color=[region_colour[k] for k in largest], alpha=0.8)
plot_simplex(library, ax=axes[1, 1], title="4. All draws (plot_simplex)")
fig.tight_layout()
plt.show()
assert np.quantile(draws[:, 1], 0.99) < 1 / 3  # the text below: theta_rope stays small

# %% [markdown]
# The cloud sits near the edge opposite the rope corner: $\theta_{rope}$ is small in
# almost every draw, because few datasets fell in the rope. Where the cloud straddles the
# line between two regions, the test is unsure which of the two is the most probable; a
# cloud entirely inside one region is a decision.
#
# ## What the prior does
#
# The prior counts like one extra dataset in the rope. With
# {glue:text}`n_datasets` datasets it hardly matters. With the three datasets of
# chapter 5 it decides the outcome: even when one method wins on every dataset, one
# pseudo-observation in the rope leaves the posterior unsure. The table gives
# $P(\text{first better})$ when the first method wins on all of $n$ datasets, with the
# book's prior and without one.

# %%
rows = []
for n in (2, 3, 4, 6, 10):
    wins = np.full(n, 0.9)
    rows.append({"datasets, all won": n,
                 "prior 1 on the rope": sign_test(wins, wins - 0.1, rope=ROPE).p_a_better,
                 "no prior": sign_test(wins, wins - 0.1, rope=ROPE, prior=0).p_a_better})
prior_table = pd.DataFrame(rows).set_index("datasets, all won")
show(prior_table.round(3))
few = prior_table["prior 1 on the rope"]
glue("fewest_decisive", int(few[few >= 0.95].index.min()))
glue("p_three_wins", float(few.loc[3]))

# %% [markdown]
# With the prior on the rope, three wins out of three give
# $P(\text{first better})$ = {glue:text}`p_three_wins:.3f`, below the 0.95 needed for a
# decision; it takes {glue:text}`fewest_decisive` wins out of as many datasets. This is
# why chapter 5's sign tests, over three datasets, cannot decide: the prior makes the test
# conservative when the evidence is thin.
#
# ## Why so many folds "tie"
#
# The second test compares two methods on **one** problem, from the 50 paired test folds
# of its 10 × 5 cross-validation. Take chapter 6's skin-4000 (IR 4000), GMN against BCE
# on test G-mean. Each test fold holds a single positive, so a network's G-mean on a
# fold is either 0 (the positive is missed) or $\sqrt{\mathrm{TNR}}$, close to 1. The
# difference of two methods on a fold is then close to 0 (both find the positive, or
# both miss it) or close to $\pm 1$:

# %%
PROBLEM, A2, B2 = "skin-4000", "GMN", "BCE"
folds = (astra[astra["dataset"] == PROBLEM]
         .pivot_table(index=["repeat", "fold"], columns="method", values="g_mean")[[A2, B2]])
fold_d = folds[A2] - folds[B2]
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.hist(fold_d, bins=np.linspace(-1.05, 1.05, 43), color=method_color(A2))
ax.axvspan(-ROPE, ROPE, color=ROPE_COLOR, alpha=0.4, label=f"rope, |d| <= {ROPE}")
ax.set(xlabel=f"test G-mean on one fold, {A2} minus {B2}", ylabel="folds",
       title=f"{PROBLEM}: the {len(fold_d)} paired test folds")
ax.legend()
plt.show()
glue("fold_share_rope", float((fold_d.abs() <= ROPE).mean()))
glue("fold_share_zero", float((fold_d == 0).mean()))
glue("n_folds", len(fold_d))

# %% [markdown]
# {glue:text}`fold_share_rope:.0%` of the folds fall in the rope, most of them
# ({glue:text}`fold_share_zero:.0%` of all folds) with a difference of exactly 0: the two
# networks made the same decision on the fold's one positive and nearly the same on its
# negatives. A sign test over folds counts each of them as a tie, which is why chapter 6's
# sign tests over pooled folds count so many pairs in the rope: those counts say how often
# the methods agree on a fold, not that they are equally good. The remaining folds are wins
# or losses of size about 1, so the folds' mean difference is driven by a handful of
# folds, and its uncertainty is large. How large is what the second test is about.
#
# ## The correlated t-test, and the Nadeau-Bengio correction
#
# The Bayesian correlated t-test {cite}`corani2015bayesian` puts a Student posterior on
# the mean difference $\mu$ of the two methods on this problem: centred on the mean of the
# $n$ fold differences $\bar d$, with $n - 1$ degrees of freedom and scale
# $\hat\sigma \sqrt{1/n + \rho/(1 - \rho)}$, $\hat\sigma$ the standard deviation of the fold
# differences. Without the term $\rho/(1 - \rho)$ it would be the usual posterior for
# independent observations, scale $\hat\sigma/\sqrt{n}$.
#
# The folds are not independent. Two folds of one repeat share most of their training
# data, so the two networks they train are alike, and their errors correlate;
# $\rho$ is that correlation. Nadeau and Bengio {cite}`nadeau2003inference` showed that
# ignoring it makes the variance of $\bar d$ far too small, and proposed the heuristic
# $\rho = n_{test} / (n_{test} + n_{train})$, i.e. $\rho/(1 - \rho) = n_{test}/n_{train}$.
# In plain $k$-fold cross-validation $n_{test}/n_{train} = 1/(k - 1)$, baycomp's default.
# In the ASTra protocol three folds train, one validates and one tests
# ({ref}`reading-astra-splits`), so $n_{test}/n_{train} = 1/3$ and $\rho = 1/4$: this is
# the `test_train_ratio=1/3` of chapters 6 and 7. The correction does not shrink with
# more repeats: however many folds, the scale never falls below
# $\hat\sigma\sqrt{\rho/(1-\rho)}$, here $\hat\sigma/\sqrt 3$.
#
# The figure shows both posteriors for skin-4000, GMN against BCE, with the rope shaded.

# %%
n, mean_d, sd_d = len(fold_d), float(fold_d.mean()), float(fold_d.std(ddof=1))
ratio = 1 / 3
scales = {"independent folds (wrong)": sd_d * np.sqrt(1 / n),
          "Nadeau-Bengio, test/train = 1/3": sd_d * np.sqrt(1 / n + ratio)}
grid = np.linspace(mean_d - 4 * scales["Nadeau-Bengio, test/train = 1/3"],
                   mean_d + 4 * scales["Nadeau-Bengio, test/train = 1/3"], 801)
fig, ax = plt.subplots(figsize=(7.5, 3.6))
probabilities = {}
for (label, scale), style in zip(scales.items(), ("--", "-")):
    posterior = stats.t(df=n - 1, loc=mean_d, scale=scale)
    ax.plot(grid, posterior.pdf(grid), style, color="black", label=label)
    probabilities[label] = {
        f"P({A2} better)": 1 - posterior.cdf(ROPE),
        "P(practically equivalent)": posterior.cdf(ROPE) - posterior.cdf(-ROPE),
        f"P({B2} better)": posterior.cdf(-ROPE)}
ax.axvspan(-ROPE, ROPE, color=ROPE_COLOR, alpha=0.5, label="rope")
ax.set(xlabel=f"mean difference of test G-mean, {A2} minus {B2}", ylabel="posterior density",
       title=f"{PROBLEM}: posterior of the mean difference over {n} folds")
ax.legend(fontsize=8)
plt.show()
library_t = correlated_t_test(folds[A2], folds[B2], rope=ROPE, runs=10, names=(A2, B2),
                              test_train_ratio=ratio)
probabilities["cmloss.stats.correlated_t_test"] = {
    f"P({A2} better)": library_t.p_a_better, "P(practically equivalent)": library_t.p_rope,
    f"P({B2} better)": library_t.p_b_better}
t_table = pd.DataFrame(probabilities).T
show(t_table.round(3))
assert np.allclose(t_table.iloc[1], t_table.iloc[2], atol=1e-9)
glue("t_mean", mean_d)
glue("t_sd", sd_d)
glue("t_scale", float(scales["Nadeau-Bengio, test/train = 1/3"]))
glue("t_p_naive", float(t_table.iloc[0, 0]))
glue("t_p_nb", library_t.p_a_better)
glue("t_needed", float(ROPE + stats.t(df=n - 1).ppf(0.95)
                        * scales["Nadeau-Bengio, test/train = 1/3"]))

# %% [markdown]
# The fold differences have mean {glue:text}`t_mean:.3f` and standard deviation
# {glue:text}`t_sd:.3f`. Treated as independent, they would make GMN better with
# probability {glue:text}`t_p_naive:.3f`; with the correction the posterior's scale is
# {glue:text}`t_scale:.3f` and the probability {glue:text}`t_p_nb:.3f`, which the book
# reports as undecided. (`cmloss.stats.correlated_t_test` computes the same
# probabilities from the Student distribution, the last two rows.)
#
# The same arithmetic explains the many "undecided" and the rare "tie" outcomes of the
# per-dataset tests in chapters 6 and 7:
#
# - **a win** needs the posterior mass above the rope to reach 0.95: with this spread,
#   a mean difference of at least {glue:text}`t_needed:.2f`;
# - **a tie** needs 95% of the mass inside $\pm 0.01$, a posterior scale of a few
#   thousandths: with fold results that jump between 0 and 1 it happens only when the
#   two methods give (almost) the same result on every fold, as when both keep the same
#   network.
#
# With a handful of positives per fold, most comparisons of two good methods on one
# problem stay undecided; the sign test across datasets, which compares one mean per
# dataset, is where the book draws its conclusions.
#
# ## Summary
#
# - A rope of $\pm 0.01$ turns each difference into a win, a tie or a loss.
# - The sign test's posterior is a Dirichlet over the three regions' probabilities; its
#   prior, one pseudo-observation in the rope, makes it conservative with few datasets;
#   the reported probabilities are the shares of posterior draws in which each region is
#   the most probable, which the simplex plot shows as the share of the cloud in each
#   third of the triangle.
# - The correlated t-test's posterior scale is $\hat\sigma\sqrt{1/n + \rho/(1 - \rho)}$
#   with the Nadeau-Bengio $\rho/(1 - \rho) = n_{test}/n_{train}$, here 1/3; it does not
#   shrink below $\hat\sigma/\sqrt 3$ however many folds there are.
# - On problems with one positive per test fold, folds mostly tie exactly or differ by
#   about 1, so per-problem tests rarely decide.
