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
# # AnyLoss: a differentiable confusion matrix
#
# **What you will learn**
#
# - how AnyLoss {cite}`han2024anyloss` replaces the hard step $\mathbb{1}[p > 0.5]$ by the
#   *amplification* $A(p) = 1/(1 + e^{-L(p - 0.5)})$, and why that is the expected prediction
#   under a random, logistic threshold;
# - how the three soft steps of `cmloss` (identity, amplification, SOL's cosine) compare;
# - which values of the slope $L$ make sense: a lower bound from a criterion we state and
#   derive, and an upper bound from floating-point saturation, in float32 and float64;
# - how a soft confusion matrix is counted, and how accuracy, $F_\beta$, G-mean and balanced
#   accuracy become losses, with their gradients derived by hand (sympy) and checked against
#   `cmloss` and finite differences;
# - what the loss surfaces look like next to binary cross-entropy, and what happens in a
#   batch without positives.
#
# As in the rest of the book, the notebook defines no formula of the library. It derives
# formulas with sympy and then shows that `cmloss` computes the same numbers.

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
# We use sympy for derivations, NumPy for numbers, Keras with the TensorFlow backend for
# tensors and automatic differentiation, and matplotlib with the book's style and fixed
# colours from `cmloss.plotting`.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import sympy as sp
import tensorflow as tf
from IPython.display import display
from keras import ops
from sympy.stats import Logistic, cdf

from cmloss import losses
from cmloss.plotting import METHOD_COLORS, SOFT_STEP_COLORS, method_color, use_book_style
from cmloss.stats.tables import glue

use_book_style()
rng = np.random.default_rng(seed=2)
to_numpy = ops.convert_to_numpy

# %% [markdown]
# ## From a hard step to a soft one
#
# The previous chapter ended with a dead end: a confusion-matrix metric depends on the
# scores $p_i$ only through the hard predictions $\mathbb{1}[p_i > 0.5]$, so its gradient is
# zero almost everywhere. AnyLoss keeps the sigmoid output $p$ of the network and passes it
# through a steep but smooth step, the *amplification*
#
# $$
# A(p) = \frac{1}{1 + e^{-L (p - 0.5)}}, \qquad L > 0 .
# $$
#
# In `cmloss` it is the soft step `cmloss.Amplify(L)`; the paper's default is $L = 73$.

# %%
amplify = cmloss.Amplify(L=73)
scores = np.array([0.3, 0.45, 0.5, 0.55, 0.6, 0.9])
pd.DataFrame({"p": scores, "A(p), L = 73": to_numpy(amplify(scores))}).round(4)

# %% [markdown]
# ### A random threshold
#
# $A$ has a probabilistic reading. Suppose the decision threshold is not fixed at 0.5 but
# drawn at random, $t \sim \mathrm{Logistic}(\mu = 0.5, s = 1/L)$. The *expected* prediction
# of a score $p$ is then $\Pr(t < p) = F_t(p)$, the cumulative distribution function of
# $t$. Sympy confirms that this CDF is exactly $A$.

# %%
L, p = sp.symbols("L p", positive=True)
A_expr = 1 / (1 + sp.exp(-L * (p - sp.Rational(1, 2))))
threshold = Logistic("t", sp.Rational(1, 2), 1 / L)
logistic_cdf = cdf(threshold)(p)
display(sp.Eq(sp.Function("F_t")(p), logistic_cdf))
print("F_t(p) - A(p) simplifies to", sp.simplify(logistic_cdf - A_expr))

# %% [markdown]
# The same statement checked by simulation: we draw 200,000 logistic thresholds and count
# how often each score beats them. The frequencies agree with `cmloss.Amplify` to within the
# Monte Carlo error (about $10^{-3}$).

# %%
draws = rng.logistic(loc=0.5, scale=1 / 73, size=200_000)
near = np.array([0.46, 0.48, 0.5, 0.52, 0.54, 0.56])
pd.DataFrame(
    {
        "p": near,
        "share of thresholds below p": [(draws < q).mean() for q in near],
        "cmloss.Amplify(73)(p)": to_numpy(amplify(near)),
    }
).round(4)

# %% [markdown]
# ### Three soft steps
#
# `cmloss` has three soft steps, three choices of threshold distribution:
#
# | soft step | $F(p)$ | threshold distribution | used by |
# |---|---|---|---|
# | `Identity()` | $p$ | uniform on $[0, 1]$ | GMN, ASTra |
# | `Amplify(L)` | $1/(1 + e^{-L(p - 0.5)})$ | logistic, mean 0.5, scale $1/L$ | AnyLoss |
# | `CosineThreshold(mu, delta)` | raised-cosine CDF | raised cosine on $[\mu \pm \delta]$ | SOL |
#
# The identity is the approximated confusion matrix of GMN {cite}`twomey2017gmn` and ASTra
# {cite}`twomey2022astra`; the cosine step is the Score-Oriented Loss (SOL)
# {cite}`marchetti2022sol`, the baseline of the AnyLoss paper.
#
# The figure below draws each soft step (top) next to the hard step it replaces, and the
# density of its random threshold (bottom; the derivative $F'(p)$, computed by automatic
# differentiation of the `cmloss` objects). The identity is far from the hard step: a score
# of 0.3 still counts as 0.3 of a positive prediction. The amplification and the cosine step
# hug the hard step and differ only within about $\pm 0.1$ of 0.5, where their threshold
# densities live; the logistic density has tails, the cosine one does not.

# %%
grid = np.linspace(0.0, 1.0, 1001)
soft_steps = {
    "identity": ("Identity()", cmloss.Identity()),
    "amplify": ("Amplify(L=73)", cmloss.Amplify(73)),
    "cosine": ("CosineThreshold(0.5, 0.1)", cmloss.CosineThreshold(0.5, 0.1)),
}
fig, (left, right) = plt.subplots(2, 1, figsize=(7, 6.6))
left.step(grid, (grid > 0.5).astype(float), where="post", color=SOFT_STEP_COLORS["hard"],
          linestyle="--", label="hard step 1[p > 0.5]")
for key, (label, step) in soft_steps.items():
    x = tf.Variable(grid)
    with tf.GradientTape() as tape:
        value = step(x)
    density = tape.gradient(value, x)
    density = np.ones_like(grid) if density is None else to_numpy(density)
    left.plot(grid, to_numpy(value), color=SOFT_STEP_COLORS[key], linewidth=2, label=label)
    right.plot(grid, density, color=SOFT_STEP_COLORS[key], linewidth=2, label=label)
left.set(title="Soft steps F(p) against the hard step", xlabel="score p",
         ylabel="soft prediction F(p)")
right.set(title="Threshold densities F'(p)", xlabel="threshold t",
          ylabel="density of the random threshold")
left.legend(loc="upper left")
right.legend(loc="upper left")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## How large should L be?
#
# $L$ sets the trade-off. A small $L$ keeps the soft matrix far from the hard one (the loss
# optimises something other than the metric); a large $L$ brings them together but makes
# $A$ so flat away from 0.5 that its derivative $A'(p) = L\,A(p)(1 - A(p))$ vanishes.
#
# :::{admonition} The paper says
# :class: paper-says
# The authors' code sets `L = 73` ("Hyper Parameter, positive real number but integer used
# for convenience", the README of their repository), and the README's table compares
# $L$ = 30, 50, 73, 90 and 110 on the four imbalanced datasets; their later code states
# $[2, 70]$ as the usable range.
# :::
#
# :::{admonition} Our reading
# :class: our-reading
# We keep $L = 73$ as the default and do not take a bound from the papers: this section
# states two explicit criteria, derives a lower and an upper bound from them, and checks
# the numbers with `cmloss` ({ref}`reading-anyloss-L`).
# :::
#
# ### Three facts about $A$
#
# Sympy gives the derivative of $A$, its slope at the threshold, and its symmetry about
# $(0.5, 0.5)$.

# %%
d = sp.symbols("delta", positive=True)
dA_dp = sp.diff(A_expr, p)
half = sp.Rational(1, 2)
print("A'(p) - L A (1 - A) =", sp.simplify(dA_dp - L * A_expr * (1 - A_expr)))
print("A'(0.5) =", dA_dp.subs(p, half))
print("A(0.5 + d) + A(0.5 - d) =", sp.simplify(A_expr.subs(p, half + d) + A_expr.subs(p, half - d)))

# %% [markdown]
# So $A$ is increasing ($A' = L A (1 - A) > 0$), it is steeper than the identity at the
# threshold only when $L/4 > 1$, that is $L > 4$ (below that it *compresses* scores toward
# 0.5 instead of amplifying them), and whatever it does above 0.5 it mirrors below.
#
# ### Lower bound: confident scores must count as (almost) hard predictions
#
# The criterion used in this book is: *a score at least a margin $m$ past the threshold
# must count as at least $1 - \varepsilon$ of a prediction*,
#
# $$
# A(p) \ge 1 - \varepsilon \quad \text{for all } p \ge 0.5 + m ,
# $$
#
# and, by the symmetry above, $A(p) \le \varepsilon$ for all $p \le 0.5 - m$. Because $A$ is
# increasing it suffices to impose it at $p = 0.5 + m$. Sympy solves the boundary case for
# $L$:

# %%
m, eps = sp.symbols("m epsilon", positive=True)
(L_lower,) = sp.solve(sp.Eq(A_expr.subs(p, half + m), 1 - eps), L)
display(sp.Eq(sp.Symbol("L_min"), L_lower))

# %% [markdown]
# $$
# L \;\ge\; L_{\min}(m, \varepsilon) = \frac{1}{m} \ln\frac{1 - \varepsilon}{\varepsilon}
# = \frac{\operatorname{logit}(1 - \varepsilon)}{m}.
# $$
#
# We take $m = 0.1$ (a score of 0.6 is a confident positive, 0.4 a confident negative) and
# $\varepsilon = 0.01$. Then $L_{\min} = 10 \ln 99 \approx$ {glue:text}`L_min_margin:.2f`, and
# `cmloss.Amplify` at that slope gives exactly $A(0.6) = 0.99$ and $A(0.4) = 0.01$.

# %%
L_min = float(L_lower.subs({m: 0.1, eps: 0.01}))
at_bound = to_numpy(cmloss.Amplify(L_min)(np.array([0.4, 0.6], dtype="float64")))
print(f"L_min = {L_min:.4f};  A(0.4) = {at_bound[0]:.6f},  A(0.6) = {at_bound[1]:.6f}")
at_73 = float(to_numpy(cmloss.Amplify(73)(np.array([0.6], dtype="float64")))[0])
at_2 = to_numpy(cmloss.Amplify(2)(np.array([0.0, 1.0], dtype="float64")))
print(f"L = 73: A(0.6) = {at_73:.4f};  L = 2: A(0) = {at_2[0]:.2f}, A(1) = {at_2[1]:.2f}")
glue("L_min_margin", L_min)
glue("A73_at_06", at_73)
glue("eps_at_73", 1 - at_73)
glue("A2_at_0", float(at_2[0]))
glue("A2_at_1", float(at_2[1]))

# %% [markdown]
# The authors' $L = 73$ passes with room to spare: it gives $A(0.6) =$
# {glue:text}`A73_at_06:.4f`, i.e. $\varepsilon \approx$ {glue:text}`eps_at_73:.0e` at
# $m = 0.1$. The lower end of their usable range, $L = 2$, does not even pass the slope test
# $L > 4$: it maps $[0, 1]$ into [{glue:text}`A2_at_0:.2f`, {glue:text}`A2_at_1:.2f`], so
# the soft matrix it builds is closer to that of the identity soft step than to the hard
# confusion matrix.
#
# ### Upper bound: floating-point saturation
#
# In exact arithmetic $A(1) = 1/(1 + e^{-L/2})$ is below 1 for every $L$. In floating point,
# $1 + e^{-L/2}$ rounds to exactly 1 once $e^{-L/2}$ is below the unit roundoff $u$ of the
# format ($2^{-24}$ in float32, $2^{-53}$ in float64), that is for $L > 2 \ln(1/u)$:

# %%
for dtype, bits in (("float32", 24), ("float64", 53)):
    print(f"{dtype}: 2 ln(2^{bits}) = {2 * bits * np.log(2):.2f}")

# %% [markdown]
# What matters is what the backend computes, so `cmloss.max_unsaturated_L` searches
# `cmloss.Amplify` itself for the first slope at which $A(1)$ rounds to 1. (A dense grid
# comes first, then bisection: TensorFlow's float64 sigmoid rounds to 1, then back to
# $1 - 2^{-53}$, over a short range of arguments, so a plain bisection could land on a later
# crossing.) It reproduces both estimates. **$L = 73$, the authors' default, is the largest
# integer slope that does not saturate in float64**; in float32, Keras' default, the limit
# is {glue:text}`L_max_f32:.1f`. The assertion guards the first statement when the book is
# rebuilt.

# %%
L_max = {dtype: cmloss.max_unsaturated_L(dtype) for dtype in ("float32", "float64")}
print({dtype: round(value, 2) for dtype, value in L_max.items()})
assert 73 < L_max["float64"] < 74
glue("L_max_f32", L_max["float32"])
glue("L_max_f64", L_max["float64"])

# %% [markdown]
# `cmloss.amplification_saturation` reports, for one slope and dtype, $A(1)$, $A(0)$ and the
# smallest score $p_{\text{one}}$ from which $A(p)$ is exactly 1. Saturation is one-sided:
# floating-point numbers are dense near 0, so $A(0) = 1/(1 + e^{L/2}) \approx e^{-L/2}$
# stays representable, while
# near 1 the spacing is $2^{-24}$ or $2^{-53}$. At $L = 73$ in float32 every score above
# {glue:text}`p_one_73_f32:.3f` is counted as exactly one positive prediction.

# %%
rows = []
for L_value in (10, 33, 34, 46, 73, 74, 100):
    for dtype in ("float32", "float64"):
        sat = cmloss.amplification_saturation(L_value, dtype)
        rows.append({"L": L_value, "dtype": dtype, "A(1)": sat.a_at_one, "A(0)": sat.a_at_zero,
                     "p_one": sat.p_one, "saturated": sat.saturated})
glue("p_one_73_f32", float(cmloss.amplification_saturation(73, "float32").p_one))
pd.DataFrame(rows).set_index(["L", "dtype"])

# %% [markdown]
# Saturation matters because the gradient of $A$ is computed from $A$ itself,
# $A' = L\,A(1 - A)$: once $A$ rounds to 1, the gradient is exactly 0. The left panel below
# shows the gradient at $p = 1$ as $L$ grows, computed by automatic differentiation of
# `cmloss.Amplify` in float32 and float64, and in exact arithmetic (sympy, 30 digits). The
# floating-point curves follow the exact one and then stop, at $L \approx$
# {glue:text}`L_max_f32:.1f` (float32) and {glue:text}`L_max_f64:.1f` (float64), where the
# gradient becomes exactly zero. The right panel shows the same gradient along $p$ for
# $L = 73$: float32 cuts it off for every $p >$ {glue:text}`p_one_73_f32:.3f`. Note the
# vertical scale, though: the exact gradient there is already below $10^{-5}$, against
# $L/4 = 18$ at the threshold. Saturation turns a tiny gradient into none; the exponential
# decay away from 0.5 is the real price of a large $L$.

# %%
def amplify_gradient(L_value, points, dtype):
    """dA/dp by automatic differentiation of cmloss.Amplify in the given dtype."""
    x = tf.Variable(np.asarray(points, dtype=dtype))
    with tf.GradientTape() as tape:
        value = cmloss.Amplify(L_value)(x)
    return to_numpy(tape.gradient(value, x))


L_grid = np.linspace(1.0, 100.0, 199)
exact_at_one = [float(sp.N(dA_dp.subs({L: sp.Float(v), p: 1}), 30)) for v in L_grid]
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
left.plot(L_grid, exact_at_one, color=SOFT_STEP_COLORS["hard"], linewidth=3, alpha=0.4,
          label="exact (sympy)")
p_grid = np.linspace(0.5, 1.0, 501)
for dtype in ("float32", "float64"):
    at_one = np.array([amplify_gradient(v, [1.0], dtype)[0] for v in L_grid])
    along_p = amplify_gradient(73.0, p_grid, dtype)
    colour = method_color(dtype)
    style = {"linewidth": 3} if dtype == "float32" else {"linewidth": 1.5, "linestyle": "--"}
    left.plot(L_grid[at_one > 0], at_one[at_one > 0], color=colour, label=f"autodiff, {dtype}",
              **style)
    left.axvline(L_max[dtype], color=colour, linestyle=":",
                 label=f"max_unsaturated_L({dtype!r}) = {L_max[dtype]:.2f}")
    right.plot(p_grid[along_p > 0], along_p[along_p > 0], color=colour,
               label=f"autodiff, {dtype}", **style)
p_one = cmloss.amplification_saturation(73, "float32").p_one
right.axvline(p_one, color=method_color("float32"), linestyle=":",
              label=f"float32: exactly 0 for p > {p_one:.3f}")
for ax in (left, right):
    ax.set_yscale("log")
left.set(title="Gradient of A at p = 1", xlabel="slope L", ylabel="dA/dp at p = 1")
right.set(title="Gradient of A along p, L = 73", xlabel="score p", ylabel="dA/dp")
left.legend(loc="lower left")
right.legend(loc="lower left")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### The window for L
#
# Putting both bounds together: the next figure draws the lower bound $L_{\min}(m,
# \varepsilon)$ as a function of the margin $m$ for three tolerances, against the two
# saturation limits (shaded above them) and the authors' $L = 73$ at $m = 0.1$. Any $L$
# above a curve meets the criterion for that $\varepsilon$; any $L$ below a shaded band stays
# unsaturated in that dtype. With our choice ($m = 0.1$, $\varepsilon = 0.01$, the black dot)
# the window in float64 is [{glue:text}`L_min_margin:.2f`, {glue:text}`L_max_f64:.2f`], and
# $L = 73$ sits at its top. In float32 the window is empty: one must either widen the margin
# (beyond $m \approx$ {glue:text}`m_min_f32:.2f` for $\varepsilon = 0.01$) or accept that
# confident scores saturate, which, as we just saw,
# costs only gradients that were already negligible.

# %%
margins = np.linspace(0.03, 0.5, 200)
fig, ax = plt.subplots(figsize=(8, 4.5))
for tolerance in (0.05, 0.01, 0.001):
    bound = sp.lambdify(m, L_lower.subs(eps, tolerance), "numpy")(margins)
    ax.plot(margins, bound, color=method_color(f"epsilon = {tolerance}"), linewidth=2,
            label=f"L_min(m, epsilon = {tolerance})")
ax.axhspan(L_max["float32"], L_max["float64"], color=method_color("float32"), alpha=0.15,
           label=f"saturates in float32 (L > {L_max['float32']:.2f})")
ax.axhspan(L_max["float64"], 500, color=method_color("float64"), alpha=0.2,
           label=f"saturates in float32 and float64 (L > {L_max['float64']:.2f})")
ax.axhline(4, color=SOFT_STEP_COLORS["hard"], linestyle=":", label="slope test L > 4")
ax.plot([0.1], [73], "*", color=METHOD_COLORS["AnyLoss-F1"], markersize=13,
        label="authors' L = 73 (at m = 0.1)")
ax.plot([0.1], [L_min], "o", color=SOFT_STEP_COLORS["hard"],
        label=f"our choice: L_min = {L_min:.2f}")
ax.set_yscale("log")
ax.set(title="Admissible slopes L: lower bound against saturation",
       xlabel="margin m (score distance from 0.5 that must count as confident)",
       ylabel="slope L (log scale)", ylim=(2, 500))
ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
plt.show()
# the smallest margin whose lower bound (epsilon = 0.01) float32 can still meet
(m_min_f32,) = sp.solve(sp.Eq(L_lower.subs(eps, 0.01), L_max["float32"]), m)
glue("m_min_f32", float(m_min_f32))

# %% [markdown]
# ### The library's default L, and the warning
#
# Saturation costs most where it hurts: at a *confident mistake*. A negative example scored
# 0.8 is a false positive the loss should push down, but once $A(0.8)$ rounds to 1 its
# gradient is exactly zero and nothing corrects it. The next cell takes the gradient of the
# AnyLoss accuracy loss with respect to that one score, in a batch of four, for three set-ups.

# %%
from cmloss.core import soft_steps


def confident_mistake_gradient(L_value, dtype):
    """d(accuracy loss)/dp for a negative scored 0.8, in a batch of four."""
    p_batch = tf.Variable(np.array([0.8, 0.3, 0.9, 0.6], dtype=dtype))
    y_batch = np.array([0, 0, 1, 1], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cmloss.SaturationWarning)  # shown below
        loss = losses.AccuracyLoss(soft_step=cmloss.Amplify(L_value), dtype=dtype)
    with tf.GradientTape() as tape:
        value = loss(y_batch, p_batch)
    return float(tape.gradient(value, p_batch)[0])


setups = [(73.0, "float64"), (73.0, "float32"), (soft_steps.DEFAULT_L["float32"], "float32")]
grads = pd.DataFrame([{"L": L_value, "dtype": dtype,
                       "gradient at the false positive": confident_mistake_gradient(L_value,
                                                                                    dtype)}
                      for L_value, dtype in setups])
display(grads)
glue("grad_fp_73_f64", float(grads.iloc[0, 2]), display=False)
glue("grad_fp_73_f32", float(grads.iloc[1, 2]), display=False)
glue("grad_fp_default_f32", float(grads.iloc[2, 2]), display=False)
glue("default_L_f32", soft_steps.DEFAULT_L["float32"], display=False)
glue("default_L_f64", soft_steps.DEFAULT_L["float64"], display=False)
assert grads.iloc[1, 2] == 0.0 and grads.iloc[0, 2] > 0 and grads.iloc[2, 2] > 0

# %% [markdown]
# In float64, $L = 73$ still gives the false positive a gradient
# ({glue:text}`grad_fp_73_f64:.2e`), tiny but not zero; in float32 it gives exactly
# {glue:text}`grad_fp_73_f32:.1f`. So the AnyLoss default trains in both precisions (every
# score starts near 0.5, where nothing saturates), but in float32 a score that has run off
# to the wrong side past the saturation point is frozen there, however long one trains.
#
# Our reading, and the library's choice: **`cmloss.Amplify()` (the default of every AnyLoss
# loss) uses the paper's $L = 73$ where it does not saturate and the largest integer slope
# that does not otherwise**, read off `cmloss.max_unsaturated_L` for the compute dtype:
# {glue:text}`default_L_f64:.0f` in float64 and {glue:text}`default_L_f32:.0f` in float32,
# Keras' default (the float32 gradient at the false positive is then
# {glue:text}`grad_fp_default_f32:.2e`). The price is a softer matrix in float32: at the
# margin $m = 0.1$ the lower bound above asks for $L \ge$ {glue:text}`L_min_margin:.2f`, which
# no unsaturated float32 slope meets. The authors' own sweep, run in float32, is the
# evidence for the other side: their win counts over 102 data sets (table below, from the
# AnyLoss README) favour $L = 73$ over $L = 30$, so a user reproducing the paper should pass
# `Amplify(73)` explicitly, as this book's experiment chapters do. An explicit slope that
# saturates in the loss's dtype warns once per loss object (`cmloss.SaturationWarning`,
# shown below), naming `max_unsaturated_L` and the slope that would not saturate.

# %%
from cmloss.stats import published

display(published.anyloss_l_sweep_wins().pivot(index="method", columns="L", values="wins"))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", cmloss.SaturationWarning)
    losses.AccuracyLoss(soft_step=cmloss.Amplify(73))  # float32, Keras' default
print(caught[0].message)

# %% [markdown]
# ## The soft confusion matrix
#
# With soft predictions $a_i = A(p_i) \in [0, 1]$ in place of the 0/1 predictions, the four
# cells become sums (`cmloss.soft_confusion_matrix`):
#
# $$
# TP = \sum_i y_i a_i,\quad FN = \sum_i y_i (1 - a_i),\quad
# FP = \sum_i (1 - y_i) a_i,\quad TN = \sum_i (1 - y_i)(1 - a_i).
# $$
#
# Each example contributes one unit in total, split between its row's two cells, so
# $TN + FP + FN + TP = n$ exactly. A worked example with six examples, three of each class:

# %%
y_small = np.array([0, 0, 0, 1, 1, 1])
p_small = np.array([0.05, 0.48, 0.62, 0.45, 0.55, 0.90])
a_small = to_numpy(cmloss.Amplify(73)(p_small))
pd.DataFrame({"y": y_small, "p": p_small, "a = A(p), L = 73": a_small.round(4)})

# %% [markdown]
# We count the same six examples three ways: hard predictions at 0.5
# (`cmloss.confusion_matrix`), the identity soft step, and the amplification. The amplified
# matrix is close to the hard one; the identity matrix is far from it (every score leaks
# into both cells of its row). The one visible difference between the amplified and the
# hard matrix comes from the negative scored 0.48: it lies within the band around 0.5 where
# $A$ is not yet close to 0, and adds 0.19 of a false positive. All three matrices sum to
# $n = 6$.

# %%
matrices = {
    "hard, p > 0.5": cmloss.confusion_matrix(y_small, (p_small > 0.5).astype("int32")),
    "soft, identity": cmloss.soft_confusion_matrix(y_small, p_small),
    "soft, Amplify(73)": cmloss.soft_confusion_matrix(y_small, a_small),
}
table = pd.DataFrame({name: [float(c) for c in cm] for name, cm in matrices.items()},
                     index=["TN", "FP", "FN", "TP"])
table.loc["TN + FP + FN + TP"] = table.sum()
table.round(4)

# %% [markdown]
# ## Each metric as a loss
#
# ### Four sums are enough
#
# Write $n$ for the batch size, $P = \sum_i y_i$ for the number of positives,
# $S = \sum_i a_i$ for the total soft prediction and $T = \sum_i y_i a_i$ for the soft true
# positives. Every cell is a function of these four numbers. Sympy checks it on a symbolic
# batch of four examples.

# %%
ys = sp.symbols("y1:5")
as_ = sp.symbols("a1:5")
n, P, S, T = sp.symbols("n P S T", positive=True)
sums = {n: 4, P: sum(ys), S: sum(as_), T: sum(yi * ai for yi, ai in zip(ys, as_))}
cells_by_definition = {
    "TP": sum(yi * ai for yi, ai in zip(ys, as_)),
    "FN": sum(yi * (1 - ai) for yi, ai in zip(ys, as_)),
    "FP": sum((1 - yi) * ai for yi, ai in zip(ys, as_)),
    "TN": sum((1 - yi) * (1 - ai) for yi, ai in zip(ys, as_)),
}
cells = {"TP": T, "FN": P - T, "FP": S - T, "TN": n - P - S + T}
for name, by_definition in cells_by_definition.items():
    residual = sp.expand(by_definition - cells[name].subs(sums))
    print(f"{name} = {cells[name]}   (residual on a symbolic batch of 4: {residual})")

# %% [markdown]
# ### The four losses in closed form
#
# Substituting the cells into each metric's definition and simplifying gives the closed
# forms of the AnyLoss paper. For each metric we print the simplified expression and the
# difference to the paper's formula (0 means identical; for the G-mean we compare squares to
# avoid sympy's branch bookkeeping for square roots).

# %%
beta = sp.symbols("beta", positive=True)
TP, FN, FP, TN = cells["TP"], cells["FN"], cells["FP"], cells["TN"]
recall_expr, specificity_expr = TP / (TP + FN), TN / (TN + FP)
derived = {
    "accuracy": (TP + TN) / n,
    "F-beta": (1 + beta**2) * TP / ((1 + beta**2) * TP + beta**2 * FN + FP),
    "G-mean": sp.sqrt(recall_expr * specificity_expr),
    "balanced accuracy": (recall_expr + specificity_expr) / 2,
}
paper = {
    "accuracy": (n - P - S + 2 * T) / n,
    "F-beta": (1 + beta**2) * T / (beta**2 * P + S),
    "G-mean": sp.sqrt(T * (n - S - P + T) / (P * (n - P))),
    "balanced accuracy": (n * (T + P) - P * (S + P)) / (2 * P * (n - P)),
}
for name in derived:
    difference = sp.simplify(derived[name] ** 2 - paper[name] ** 2) if name == "G-mean" else \
        sp.simplify(derived[name] - paper[name])
    print(f"{name:18s} {sp.simplify(derived[name])}    difference to the paper: {difference}")

# %% [markdown]
# ### Their gradients
#
# The loss is $1 - M(n, P, S, T)$. Moving one amplified prediction $a_k$ (with label $y_k$)
# changes $S$ by $\mathrm{d}a_k$ and $T$ by $y_k\,\mathrm{d}a_k$, so
# $\partial M / \partial a_k = \partial M/\partial S + y_k\,\partial M/\partial T$. Sympy does
# the algebra: we write $S = S_{-k} + a_k$ and $T = T_{-k} + y_k a_k$, differentiate with
# respect to $a_k$ and substitute back.

# %%
a_k, y_k, S_rest, T_rest = sp.symbols("a_k y_k S_rest T_rest")
split = {S: S_rest + a_k, T: T_rest + y_k * a_k}
merge = {S_rest: S - a_k, T_rest: T - y_k * a_k}
gradient = {name: sp.simplify(expr.subs(split).diff(a_k).subs(merge))
            for name, expr in paper.items()}

# %% [markdown]
# The results are easier to read in the forms below; sympy confirms each one (difference 0).
# Accuracy and balanced accuracy are *linear* in the soft predictions: their gradient is a
# constant per class, $\pm 1/n$ for accuracy and $+1/(2P)$ for a positive, $-1/(2(n-P))$ for
# a negative for balanced accuracy, which makes balanced accuracy a class-weighted accuracy.
# $F_\beta$ and the G-mean couple the examples through $S$ and $T$.

# %%
G = sp.Symbol("G")  # the G-mean itself
readable = {
    "accuracy": (2 * y_k - 1) / n,
    "F-beta": (1 + beta**2) * (y_k * (beta**2 * P + S) - T) / (beta**2 * P + S) ** 2,
    "G-mean": (y_k * (n - S - P + T) - (1 - y_k) * T) / (2 * P * (n - P) * G),
    "balanced accuracy": (n * y_k - P) / (2 * P * (n - P)),
}
for name, form in readable.items():
    difference = sp.simplify((gradient[name] - form).subs(G, paper["G-mean"]))
    print(f"dM/da_k for {name} (difference to sympy's derivative: {difference}):")
    display(form)

# %% [markdown]
# ### Checking the gradients against cmloss
#
# The network's output is the score $p_k$, not $a_k$, so the gradient of the loss with
# respect to $p_k$ is $-\,\partial M/\partial a_k \cdot L\,a_k(1 - a_k)$. We evaluate this
# sympy formula on a random batch of 16 examples (5 positives, scores drawn near the
# threshold where the gradients are not negligible, $L = 73$), and compare it with two
# independent computations: automatic differentiation of the `cmloss.losses` classes, and
# central finite differences of the same losses ($h = 10^{-6}$). Everything runs in float64.

# %%
L_check, h = 73.0, 1e-6
y_check = rng.permutation(np.repeat([1.0, 0.0], [5, 11]))
p_check = rng.uniform(0.4, 0.6, size=16)
a_check = to_numpy(cmloss.Amplify(L_check)(p_check))
values = {n: 16, P: y_check.sum(), S: a_check.sum(), T: (y_check * a_check).sum(), beta: 1.0}
dA_numeric = sp.lambdify(p, dA_dp.subs(L, L_check), "numpy")(p_check)

anyloss = {
    "accuracy": losses.AccuracyLoss,
    "F-beta": lambda **kw: losses.FBetaLoss(beta=1.0, **kw),
    "G-mean": losses.GMeanLoss,
    "balanced accuracy": losses.BalancedAccuracyLoss,
}
rows = []
for name, make in anyloss.items():
    loss = make(soft_step=cmloss.Amplify(L_check), dtype="float64")
    per_example = sp.lambdify(y_k, gradient[name].subs(values), "numpy")(y_check)
    by_sympy = -np.broadcast_to(per_example, p_check.shape) * dA_numeric
    x = tf.Variable(p_check)
    with tf.GradientTape() as tape:
        value = loss(y_check, x)
    by_autodiff = to_numpy(tape.gradient(value, x))
    steps = np.eye(16) * h
    by_differences = np.array([
        (float(loss(y_check, p_check + e)) - float(loss(y_check, p_check - e))) / (2 * h)
        for e in steps
    ])
    rows.append({
        "loss": type(loss).__name__,
        "loss value": float(value),
        "max |gradient|": np.abs(by_sympy).max(),
        "max |sympy - autodiff|": np.abs(by_sympy - by_autodiff).max(),
        "max |sympy - finite diff.|": np.abs(by_sympy - by_differences).max(),
    })
pd.DataFrame(rows).set_index("loss")

# %% [markdown]
# The three computations agree to about $10^{-15}$ (automatic differentiation: rounding
# error only) and $10^{-9}$ (finite differences: the truncation and rounding errors of the
# difference quotient), against gradients of order 1.
#
# ## Loss landscapes
#
# How does an AnyLoss feel to an optimiser, compared with binary cross-entropy (BCE)? We fix
# a batch of 20 examples, 16 negatives and 4 positives, and move the score $s$ of one
# positive from 0 to 1 while the others stay put. `cmloss.losses.confusion_matrix_loss` with
# `axis=-1` evaluates a whole stack of batches at once (one batch per value of $s$), and
# `cmloss.losses.binary_crossentropy` gives the batch-mean BCE.

# %%
y_land = np.repeat([0.0, 1.0], [16, 4])
p_land = np.concatenate([np.sort(rng.beta(2.0, 8.0, size=16)), [0.85, 0.7, 0.3, 0.0]])
moving = 19
s_grid = np.linspace(0.001, 0.999, 999)
stack = np.tile(p_land, (s_grid.size, 1))
stack[:, moving] = s_grid
labels = np.tile(y_land, (s_grid.size, 1))
step73 = cmloss.Amplify(73)
curves = {
    "BCE": lambda x: losses.binary_crossentropy(labels, x),
    "AnyLoss-F1": lambda x: losses.confusion_matrix_loss(labels, x, "f1", step73, axis=-1),
    "AnyLoss-GMean": lambda x: losses.confusion_matrix_loss(labels, x, "g_mean", step73, axis=-1),
}
values_s, slopes_s = {}, {}
for name, curve in curves.items():
    x = tf.Variable(stack)
    with tf.GradientTape() as tape:
        total = ops.sum(curve(x))
    values_s[name] = to_numpy(curve(stack))
    slopes_s[name] = to_numpy(tape.gradient(total, x))[:, moving]

# %% [markdown]
# The stacked evaluation is the same number as the loss classes give on one batch:

# %%
one = np.argmin(np.abs(s_grid - 0.6))
print(float(losses.FBetaLoss(soft_step=step73, dtype="float64")(y_land, stack[one])),
      values_s["AnyLoss-F1"][one])

# %% [markdown]
# The top panel shows the three losses as functions of $s$. BCE decreases smoothly all the
# way to $s = 1$ and is steepest where the example is most wrong. The two AnyLosses are
# smoothed steps: flat while the example is a clear false negative, a drop as $s$ crosses
# 0.5 and the example turns into a true positive, flat again after that. The
# bottom panel shows the magnitude of the gradient on a log scale: BCE's gradient never falls
# much below $1/n$, while the AnyLoss gradients peak at the threshold and decay like
# $e^{-L|s - 0.5|}$. AnyLoss learns from the examples near the decision boundary and
# ignores the rest, which is what a metric computed from hard predictions would do too.

# %%
fig, (left, right) = plt.subplots(2, 1, figsize=(7, 6.6), sharex=True)
for name in curves:
    left.plot(s_grid, values_s[name], color=METHOD_COLORS[name], linewidth=2, label=name)
    right.plot(s_grid, np.abs(slopes_s[name]), color=METHOD_COLORS[name], linewidth=2, label=name)
for ax in (left, right):
    ax.axvline(0.5, color=SOFT_STEP_COLORS["hard"], linestyle="--", linewidth=1,
               label="threshold 0.5")
right.set_xlabel("score s of one positive example (the others fixed)")
right.set_yscale("log")
left.set(title="Loss of the batch as one score moves", ylabel="loss (dimensionless)")
right.set(title="Magnitude of its gradient", ylabel="|d loss / d s| (log scale)")
left.legend()
right.legend(loc="lower center")
plt.tight_layout()
plt.show()

# %% [markdown]
# Now two scores move: the positive $s_+$ of before and one negative $s_-$ (the negative
# with the highest fixed score). The contour plots show AnyLoss-F1 (left) and BCE (right)
# over the square of both scores (from 0.01 to 0.99, where BCE stays finite). AnyLoss-F1
# is nearly piecewise constant: four plateaus separated by steep walls along
# $s_\pm = 0.5$, the lowest plateau being the quadrant where the positive is predicted
# positive and the negative negative. BCE is a smooth bowl whose minimum is the corner
# $(s_+, s_-) = (1, 0)$: it keeps pushing confident, already correct predictions further,
# which AnyLoss does not.

# %%
other = 15  # the negative with the highest fixed score
two = np.linspace(0.01, 0.99, 197)
pos_mesh, neg_mesh = np.meshgrid(two, two)
stack2 = np.tile(p_land, (two.size**2, 1))
stack2[:, moving], stack2[:, other] = pos_mesh.ravel(), neg_mesh.ravel()
labels2 = np.tile(y_land, (two.size**2, 1))
surfaces = {
    "AnyLoss-F1": losses.confusion_matrix_loss(labels2, stack2, "f1", step73, axis=-1),
    "BCE": losses.binary_crossentropy(labels2, stack2),
}
fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
for ax, (name, surface) in zip(axes, surfaces.items()):
    surface = to_numpy(surface).reshape(pos_mesh.shape)
    filled = ax.contourf(pos_mesh, neg_mesh, surface, levels=20, cmap="viridis")
    fig.colorbar(filled, ax=ax, label=f"{name} loss")
    ax.axvline(0.5, color="white", linestyle="--", linewidth=1, label="threshold 0.5")
    ax.axhline(0.5, color="white", linestyle="--", linewidth=1)
    ax.set(title=f"{name} over two scores", xlabel="score s+ of a positive",
           ylabel="score s- of a negative")
    ax.set_aspect("equal")
axes[0].legend(loc="upper right", frameon=True, facecolor="0.35", labelcolor="white")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## A batch without positives
#
# Mini-batches of rare-positive data often contain no positive at all. Then $P = T = 0$ and
# recall is $0/0$; the paper's G-mean and balanced-accuracy formulas divide by zero (sympy
# prints `zoo`, complex infinity):

# %%
for name in ("G-mean", "balanced accuracy"):
    print(f"{name}: {paper[name].subs({P: 0, T: 0})}")

# %% [markdown]
# `cmloss` resolves this with one explicit policy, `zero_division` (default 0): an undefined
# ratio takes that value, with zero gradient through it, and nothing returns NaN. The table
# shows every AnyLoss on an all-negative batch of 8 for both settings of the policy. With the
# default, the G-mean loss is 1 with zero gradient (this batch teaches nothing, as in the
# authors' code); $F_1$ is 0 there anyway ($T = 0$) with a zero gradient. Balanced accuracy
# keeps a gradient from its specificity half, so it still pushes the negatives down.
# Accuracy is always defined. With `zero_division=1` the G-mean becomes the square root of
# specificity and learns from the negatives as well.

# %%
y_none = np.zeros(8)
p_none = rng.uniform(0.3, 0.7, size=8)
rows = []
for zero_division in (0.0, 1.0):
    for make in anyloss.values():
        loss = make(soft_step=cmloss.Amplify(73), zero_division=zero_division, dtype="float64")
        x = tf.Variable(p_none)
        with tf.GradientTape() as tape:
            value = loss(y_none, x)
        grad = to_numpy(tape.gradient(value, x))
        rows.append({"zero_division": zero_division, "loss": type(loss).__name__,
                     "value": float(value), "|gradient|": float(np.linalg.norm(grad)),
                     "finite": bool(np.isfinite(float(value)) and np.isfinite(grad).all())})
pd.DataFrame(rows).set_index(["zero_division", "loss"]).round(4)

# %% [markdown]
# Which setting is right depends on the batch size and prevalence: with small batches of
# very rare positives, most batches are positive-free, and the default turns them into no-ops
# for the G-mean and $F_\beta$ losses. Larger batches (the AnyLoss authors use half the
# training set for the G-mean loss) or stratified batches avoid the question.
#
# ## Summary and next chapter
#
# - The amplification $A(p) = 1/(1 + e^{-L(p - 0.5)})$ is the expected hard prediction under
#   a logistic random threshold; `cmloss.Amplify`, `Identity` and `CosineThreshold` are three
#   threshold distributions.
# - Lower bound (this book's criterion): scores at least $m$ from 0.5 must count as at least
#   $1 - \varepsilon$ of a prediction, giving $L \ge \ln((1-\varepsilon)/\varepsilon)/m$,
#   about {glue:text}`L_min_margin:.0f` for $m = 0.1$, $\varepsilon = 0.01$; amplification at
#   all needs $L > 4$.
# - Upper bound: $A(1)$ rounds to 1 beyond $L \approx$ {glue:text}`L_max_f32:.1f` in float32
#   and $L \approx$ {glue:text}`L_max_f64:.1f` in float64 (`cmloss.max_unsaturated_L`),
#   where the gradient $L A(1-A)$ becomes exactly 0; $L = 73$ is the largest unsaturated
#   integer in float64.
# - The soft confusion matrix depends on $n$, $P = \sum y$, $S = \sum A$ and $T = \sum yA$,
#   and sums to $n$; each metric becomes a closed-form loss whose gradient sympy, `cmloss`
#   and finite differences agree on.
# - AnyLoss surfaces are smoothed versions of the metric: plateaus and walls, with gradient
#   concentrated near the threshold, unlike BCE.
# - Batches without positives follow the `zero_division` policy: finite values, zero
#   gradient through the undefined part.
#
# The next chapter turns from the loss to the output layer: ASTra {cite}`twomey2022astra`
# moves the decision threshold itself below 0.5. The experiment chapter
# [AnyLoss on imbalanced data](05_experiment_anyloss.ipynb) then trains these losses on
# the paper's imbalanced datasets.
#
# ## Exercises
#
# Each solution is a hidden cell below its exercise (click to show it); it runs when the
# book is built, and its assertions check the claims of the solution.
#
# **Exercise 2.1.** What slope does this chapter's lower-bound criterion require for a
# margin of $m = 0.05$ (scores of 0.55 already confident) at $\varepsilon = 0.01$? Can that
# slope be used without saturation in float64?

# %% tags=["hide-cell"]
# Solution to exercise 2.1: L_min is inversely proportional to the margin, so halving m
# doubles it, and the result lies beyond the float64 saturation limit: the criterion and
# floating point cannot both be met at this margin.
L_half_margin = float(L_lower.subs({m: 0.05, eps: 0.01}))
print(f"L_min(m = 0.05) = {L_half_margin:.2f} (twice {L_min:.2f}); "
      f"float64 saturates above {L_max['float64']:.2f}")
assert np.isclose(L_half_margin, 2 * L_min) and L_half_margin > L_max["float64"]

# %% [markdown]
# **Exercise 2.2.** `cmloss.losses.MCCLoss` is the AnyLoss loss for MCC. Evaluate it, with
# its gradient, on the all-negative batch `y_none, p_none` above for both settings of
# `zero_division`. Why is MCC undefined there?

# %% tags=["hide-cell"]
# Solution to exercise 2.2: MCC's denominator contains TP + FN = P, the number of
# positives, so without positives it is 0/0; the policy sets the metric to zero_division
# with a zero gradient, so the loss is 1 - zero_division and the batch teaches nothing.
for zero_division in (0.0, 1.0):
    mcc_loss = losses.MCCLoss(soft_step=cmloss.Amplify(73), zero_division=zero_division,
                              dtype="float64")
    x = tf.Variable(p_none)
    with tf.GradientTape() as tape:
        value = mcc_loss(y_none, x)
    grad = to_numpy(tape.gradient(value, x))
    print(f"zero_division = {zero_division}: loss {float(value)}, |gradient| "
          f"{np.linalg.norm(grad)}")
    assert float(value) == 1.0 - zero_division and not grad.any()

# %% [markdown]
# **Exercise 2.3.** The amplified predictions tend to the hard ones as $L$ grows. For the
# six-example batch `y_small, p_small`, compute the mean distance
# $\frac{1}{n}\sum_i |A(p_i) - \mathbb{1}[p_i > 0.5]|$ for $L$ = 10, 30 and 73 (in float64),
# and see how it splits between the cells of the confusion matrix at $L = 73$.

# %% tags=["hide-cell"]
# Solution to exercise 2.3: each |A(p) - 1[p > 0.5]| shrinks as L grows (for p != 0.5), so
# the mean does; at L = 73 what is left comes almost entirely from the negative scored
# 0.48, within the band around 0.5 where A is not yet close to 0 (it lands in FP).
hard_small = (p_small > 0.5).astype("float64")
distance = {L_value: float(np.abs(to_numpy(cmloss.Amplify(L_value)(p_small)) - hard_small)
                           .mean()) for L_value in (10, 30, 73)}
print({L_value: round(d, 4) for L_value, d in distance.items()})
assert distance[10] > distance[30] > distance[73]
print(table["soft, Amplify(73)"] - table["hard, p > 0.5"])
