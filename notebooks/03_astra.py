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
# # ASTra: an output layer with its own threshold
#
# **What you will learn**
#
# - what the ASTra activation {cite}`twomey2022astra`,
#   $\mathrm{ASTra}(x, b) = 1 - (1 + b e^{bx})^{-1/b}$, is, and how it comes from
#   Richards' growth curve;
# - why its threshold is $\tau(b) = 1 - (1 + b)^{-1/b}$, derived as the point of steepest
#   slope, and how `cmloss` turns a threshold into a slope and back;
# - how the slope is learned through an unconstrained parameter $\beta$, and why training
#   should start in the linear branch of that map;
# - why plain binary cross-entropy on an ASTra output ranks some predictions the wrong way,
#   and how the z-transform, a shift in logit space, repairs it;
# - how the `cmloss.layers.ASTra` layer packages all of this, and that it stays finite for
#   inputs as large as $|x| = 10^4$.
#
# We recreate the three figures of the paper from `cmloss` functions, derive every formula
# with sympy, and check that `cmloss` computes the same numbers.

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
# Sympy for derivations, NumPy and pandas for numbers and tables, TensorFlow for automatic
# differentiation, and the book's plotting style. Curves for different thresholds get fixed
# colours from `cmloss.plotting.method_color`, the same on every figure of this chapter.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import sympy as sp
import tensorflow as tf
from IPython.display import Markdown, display
from keras import ops

from cmloss import losses
from cmloss.plotting import SOFT_STEP_COLORS, method_color, use_book_style

use_book_style()
to_numpy = ops.convert_to_numpy
TAUS = (0.5, 0.25, 0.05)
tau_colour = {tau: method_color(f"tau = {tau}") for tau in TAUS}

# %% [markdown]
# ## From Richards' growth curve to ASTra
#
# Richards proposed a flexible growth curve {cite}`richards1959growth`; in one common
# parameterisation (lower asymptote 0, upper asymptote 1) it reads
#
# $$
# Y(t) = \left(1 + Q e^{-B t}\right)^{-1/\nu}.
# $$
#
# Its shape parameter $\nu$ makes the curve asymmetric: for $\nu = Q = B = 1$ it is the
# logistic sigmoid. ASTra sets all three parameters to one slope $b$ and reflects the curve,
# $\mathrm{ASTra}(x, b) = 1 - Y(-x)$. Sympy checks both statements.

# %%
x, t = sp.symbols("x t", real=True)
b, Q, B, nu = sp.symbols("b Q B nu", positive=True)
richards = (1 + Q * sp.exp(-B * t)) ** (-1 / nu)
astra_expr = 1 - (1 + b * sp.exp(b * x)) ** (-1 / b)
reflected = 1 - richards.subs({Q: b, B: b, nu: b}).subs(t, -x)
print("ASTra(x, b) - (1 - Y(-x)) with Q = B = nu = b:", sp.simplify(astra_expr - reflected))
print("ASTra(x, 1) - sigmoid(x):", sp.simplify(astra_expr.subs(b, 1) - 1 / (1 + sp.exp(-x))))

# %% [markdown]
# `cmloss.astra` evaluates the same function with a numerically stable recipe (more on that
# at the end of the chapter). On a grid of inputs and slopes it agrees with the sympy
# expression to rounding error:

# %%
astra_numpy = sp.lambdify((x, b), astra_expr, "numpy")  # the formula as written, no care
x_grid = np.linspace(-6.0, 6.0, 601)
for b_value in (1.0, 2.0, 7.39635, 50.0):
    gap = np.abs(to_numpy(cmloss.astra(x_grid, b_value)) - astra_numpy(x_grid, b_value)).max()
    print(f"b = {b_value:8.5f}: max |cmloss.astra - sympy| = {gap:.1e}")

# %% [markdown]
# ## The threshold: where the slope is steepest
#
# The paper defines the threshold as the output at the point of steepest slope. Sympy
# differentiates twice. The second derivative factorises with a factor $1 - e^{bx}$, so it
# vanishes at $x = 0$ (and only there), whatever the slope $b$:

# %%
first = sp.diff(astra_expr, x)
second = sp.factor(sp.simplify(sp.diff(astra_expr, x, 2)))
display(second)
print("solutions of d2/dx2 ASTra = 0:", sp.solve(sp.Eq(second, 0), x))

# %% [markdown]
# The second derivative is positive for $x < 0$ and negative for $x > 0$, so $x = 0$ is the
# maximum of the slope, and the threshold is the output there:
#
# $$
# \tau(b) = \mathrm{ASTra}(0, b) = 1 - (1 + b)^{-1/b}.
# $$
#
# Its limits: $\tau(1) = 1/2$ (the sigmoid), $\tau \to 0$ as $b \to \infty$, and
# $\tau \to 1 - 1/e$ as $b \to 0$. So $b > 1$ moves the threshold below 0.5, the useful
# direction when the positives are the minority.

# %%
tau_expr = astra_expr.subs(x, 0)
display(sp.Eq(sp.Function("tau")(b), tau_expr))
print("tau(1) =", tau_expr.subs(b, 1), "| b -> oo:", sp.limit(tau_expr, b, sp.oo),
      "| b -> 0+:", sp.limit(tau_expr, b, 0, "+"))

# %% [markdown]
# `cmloss.astra_threshold(b)` is Eq. 5 and `cmloss.slope_from_threshold(tau)` its inverse
# (bisection in float64). The paper's starting point, $\tau = 0.25$, corresponds to
# $b = 7.39635$:

# %%
b_quarter = cmloss.slope_from_threshold(0.25)
tau_numpy = sp.lambdify(b, tau_expr, "numpy")
print(f"slope_from_threshold(0.25) = {b_quarter:.5f}")
print(f"astra_threshold(7.39635)   = {float(cmloss.astra_threshold(7.39635)):.6f}")
print(f"sympy tau(7.39635)         = {tau_numpy(7.39635):.6f}")
slopes = {tau: cmloss.slope_from_threshold(tau) for tau in TAUS}
print({tau: round(slope, 5) for tau, slope in slopes.items()})

# %% [markdown]
# The next figure shows $\tau(b)$ over three decades of slopes, computed by
# `cmloss.astra_threshold`, with the three thresholds used in the paper's figures marked.
# The threshold falls quickly at first and then slowly: going from $\tau = 0.25$ to
# $\tau = 0.05$ takes the slope from about 7.4 to about 87.

# %%
b_grid = np.geomspace(1.0, 1000.0, 400)
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(b_grid, to_numpy(cmloss.astra_threshold(b_grid)), color=SOFT_STEP_COLORS["hard"],
        linewidth=2, label="tau(b) = astra_threshold(b)")
for tau, slope in slopes.items():
    ax.plot([slope], [tau], "o", color=tau_colour[tau], markersize=8,
            label=f"tau = {tau}: b = {slope:.5g}")
ax.set_xscale("log")
ax.set(title="ASTra threshold as a function of the slope (Eq. 5)", xlabel="slope b (log scale)",
       ylabel="threshold tau(b)")
ax.legend()
plt.show()

# %% [markdown]
# ## Figure 1 of the paper: the activation and its slope
#
# We now draw ASTra and its derivative for the three thresholds of the paper's Figure 1. The
# derivative comes from automatic differentiation of `cmloss.astra`; the printed numbers
# check it against the sympy derivative at a few points.

# %%
x_plot = np.linspace(-5.0, 5.0, 1001)
first_numpy = sp.lambdify((x, b), first, "numpy")
activation, slope_of = {}, {}
for tau, slope in slopes.items():
    xv = tf.Variable(x_plot)
    with tf.GradientTape() as tape:
        y = cmloss.astra(xv, slope)
    activation[tau], slope_of[tau] = to_numpy(y), to_numpy(tape.gradient(y, xv))
    probe = np.array([200, 500, 800])
    gap = np.abs(slope_of[tau][probe] - first_numpy(x_plot[probe], slope)).max()
    print(f"tau = {tau}: b = {slope:.5f}, max |autodiff - sympy| at 3 points = {gap:.1e}")

# %% [markdown]
# Top: each curve passes through its threshold $\tau$ at $x = 0$ (dots). As $\tau$
# decreases, the negative side ($x < 0$) is squeezed into $[0, \tau)$ and the positive side
# gets the rest of the output range. Bottom: the derivative peaks at $x = 0$ for every slope,
# as derived above, and becomes strongly asymmetric: it collapses at rate $b$ to the left and
# decays like $e^{-x}$ to the right.

# %%
fig, (left, right) = plt.subplots(2, 1, figsize=(7, 6.6), sharex=True)
for tau in TAUS:
    label = f"tau = {tau} (b = {slopes[tau]:.4g})"
    left.plot(x_plot, activation[tau], color=tau_colour[tau], linewidth=2, label=label)
    left.plot([0.0], [tau], "o", color=tau_colour[tau])
    right.plot(x_plot, slope_of[tau], color=tau_colour[tau], linewidth=2, label=label)
left.set(title="(a) ASTra(x, b)", ylabel="output ASTra(x, b)")
right.set(title="(b) its derivative", xlabel="pre-activation x", ylabel="d ASTra / dx")
left.legend(loc="upper left")
right.legend(loc="upper right")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Learning the slope: Eq. 7
#
# The paper learns $b$ alongside the weights, through an unconstrained parameter $\beta$:
#
# $$
# b(\beta) = \begin{cases} 2 + \beta & \beta > 0, \\ 1 + e^{\beta} & \text{otherwise,}
# \end{cases}
# $$
#
# which keeps $b > 1$ (threshold below 0.5). `cmloss.slope_from_beta` implements it and
# `cmloss.beta_from_slope` inverts it; the paper's $\tau = 0.25$ starts at
# $\beta = 5.39635$. Sympy confirms that the two branches meet with equal value and equal
# first derivative at $\beta = 0$ (the second derivatives differ, 0 against 1):

# %%
beta_sym = sp.symbols("beta", real=True)
linear, exponential = 2 + beta_sym, 1 + sp.exp(beta_sym)
for order in (0, 1, 2):
    at_zero = [sp.diff(f, beta_sym, order).subs(beta_sym, 0) for f in (linear, exponential)]
    print(f"derivative {order} at beta = 0: linear {at_zero[0]}, exponential {at_zero[1]}")
print("beta_from_slope(7.39635) =", round(cmloss.beta_from_slope(7.39635), 5),
      "| slope_from_beta(5.39635) =", round(float(cmloss.slope_from_beta(5.39635)), 5))

# %% [markdown]
# Why start in the linear branch? A gradient step moves $\beta$; what moves the threshold is
# $\mathrm{d}\tau/\mathrm{d}\beta = \tau'(b)\,\mathrm{d}b/\mathrm{d}\beta$, with
# $\mathrm{d}b/\mathrm{d}\beta = 1$ in the linear branch but $e^{\beta} = b - 1$ in the
# exponential one. Near $b = 1$ the exponential branch freezes the threshold: a step in
# $\beta$ barely changes $b$. The figure computes $\tau(b(\beta))$ (top) and
# $|\mathrm{d}\tau/\mathrm{d}\beta|$ (bottom, log scale) by automatic differentiation of
# `cmloss.slope_from_beta` followed by `cmloss.astra_threshold`. To the left of $\beta = 0$
# the sensitivity falls off exponentially; to the right it decays only slowly. Starting at
# $\beta = 5.4$ ($\tau = 0.25$) leaves the threshold free to move in both directions at a
# useful rate, which is the paper's advice.

# %%
beta_grid = np.linspace(-8.0, 12.0, 801)
bv = tf.Variable(beta_grid)
with tf.GradientTape() as tape:
    tau_of_beta = cmloss.astra_threshold(cmloss.slope_from_beta(bv))
dtau_dbeta = to_numpy(tape.gradient(tau_of_beta, bv))
beta_start = cmloss.beta_from_slope(slopes[0.25])
fig, (left, right) = plt.subplots(2, 1, figsize=(7, 6.6), sharex=True)
left.plot(beta_grid, to_numpy(tau_of_beta), color=SOFT_STEP_COLORS["hard"], linewidth=2,
          label="tau(b(beta))")
right.plot(beta_grid, np.abs(dtau_dbeta), color=SOFT_STEP_COLORS["hard"], linewidth=2,
           label="|d tau / d beta|")
for ax in (left, right):
    ax.axvspan(beta_grid[0], 0.0, color=SOFT_STEP_COLORS["amplify"], alpha=0.12,
               label="exponential branch, b = 1 + e^beta")
    ax.axvline(beta_start, color=tau_colour[0.25], linestyle="--",
               label=f"start for tau = 0.25 (beta = {beta_start:.3f})")
right.set_xlabel("unconstrained slope parameter beta")
right.set_yscale("log")
left.set(title="Threshold as a function of beta", ylabel="threshold tau")
right.set(title="Sensitivity of the threshold to beta", ylabel="|d tau / d beta| (log scale)")
left.legend(loc="lower left")
right.legend(loc="lower right")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Figure 2 of the paper: BCE on an ASTra output
#
# Plugging $\hat y = \mathrm{ASTra}(x, b)$ into binary cross-entropy gives the losses
# $-\log \hat y$ (target 1) and $-\log(1 - \hat y)$ (target 0). They are equal where
# $\hat y = 1/2$. For the sigmoid that is $x = 0$, the decision threshold; for $b > 1$ it is
# not. Sympy solves $\mathrm{ASTra}(x, b) = 1/2$:

# %%
(x_half,) = sp.solve(sp.Eq(astra_expr, sp.Rational(1, 2)), x)
display(sp.Eq(sp.Symbol("x_1/2"), sp.simplify(x_half)))
x_half_numpy = sp.lambdify(b, x_half, "numpy")
print(f"b = 7.39635: sympy {x_half_numpy(7.39635):.6f}, "
      f"cmloss.wrong_ordering_band -> {cmloss.wrong_ordering_band(7.39635)}")

# %% [markdown]
# $$
# x_{1/2}(b) = \frac{1}{b} \log\frac{2^b - 1}{b}.
# $$
#
# For $0 < x < x_{1/2}$ the output lies between $\tau$ and $1/2$: the example is predicted
# positive ($x > 0$), yet BCE finds it closer to target 0 than to target 1. The figure
# recreates the paper's Figure 2 with `cmloss.losses.binary_crossentropy`: for $\tau = 0.5$
# (top) the two losses cross at $x = 0$; for $\tau = 0.25$ (bottom) they cross at
# $x_{1/2} = 0.42$, and the shaded band, from `cmloss.wrong_ordering_band`, is where the
# ordering is wrong.

# %%
x_bce = np.linspace(-3.0, 3.0, 601)
ones, zeros = np.ones((x_bce.size, 1)), np.zeros((x_bce.size, 1))
fig, axes = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
for ax, tau, panel in zip(axes, (0.5, 0.25), "ab"):
    y_hat = to_numpy(cmloss.astra(x_bce, slopes[tau]))[:, None]
    ax.plot(x_bce, to_numpy(losses.binary_crossentropy(ones, y_hat)), color=tau_colour[tau],
            linewidth=2, label="BCE, target 1")
    ax.plot(x_bce, to_numpy(losses.binary_crossentropy(zeros, y_hat)), color=tau_colour[tau],
            linewidth=2, linestyle="--", label="BCE, target 0")
    low, high = cmloss.wrong_ordering_band(slopes[tau])
    if high > low:
        ax.axvspan(low, high, color=SOFT_STEP_COLORS["hard"], alpha=0.2,
                   label=f"wrong ordering, 0 < x < {high:.3f}")
    ax.axvline(0.0, color=SOFT_STEP_COLORS["hard"], linewidth=1, linestyle=":",
               label="threshold (x = 0)")
    ax.set(title=f"({panel}) tau = {tau} (b = {slopes[tau]:.4g})",
           ylabel="BCE of y_hat = ASTra(x, b)", ylim=(0, 4))
    ax.legend(loc="upper center", frameon=True, framealpha=0.95)
axes[1].set_xlabel("pre-activation x")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The z-transform
#
# The repair (Eq. 6) is to feed the loss not $\hat y$ but
#
# $$
# z(\hat y, \tau) = \frac{\hat y (1 - \tau)}{\hat y (1 - \tau) + (1 - \hat y)\tau},
# $$
#
# a monotone map of $[0, 1]$ onto itself with $z(\tau, \tau) = 1/2$. Its meaning is
# clearest in odds. Sympy shows that the odds of $z$ are the odds of $\hat y$ divided by the
# odds of $\tau$; taking logarithms, the z-transform is a shift in logit space,
# $\operatorname{logit} z = \operatorname{logit} \hat y - \operatorname{logit} \tau$.

# %%
y_hat_sym, tau_sym = sp.symbols("yhat tau", positive=True)
z_expr = y_hat_sym * (1 - tau_sym) / (y_hat_sym * (1 - tau_sym) + (1 - y_hat_sym) * tau_sym)
odds_z = sp.simplify(z_expr / (1 - z_expr))
odds_ratio = (y_hat_sym / (1 - y_hat_sym)) / (tau_sym / (1 - tau_sym))
print("z(tau, tau) =", sp.simplify(z_expr.subs(y_hat_sym, tau_sym)))
print("odds of z:", odds_z, "| minus odds(yhat) / odds(tau):", sp.simplify(odds_z - odds_ratio))

# %% [markdown]
# `cmloss.z_transform` agrees with the sympy expression:

# %%
z_numpy = sp.lambdify((y_hat_sym, tau_sym), z_expr, "numpy")
y_grid = np.linspace(0.0, 1.0, 501)
for tau in TAUS:
    gap = np.abs(to_numpy(cmloss.z_transform(y_grid, tau)) - z_numpy(y_grid, tau)).max()
    print(f"tau = {tau}: max |cmloss.z_transform - sympy| = {gap:.1e}")

# %% [markdown]
# The figure recreates the paper's Figure 3: $z$ (solid) and $1 - z$ (dashed) against
# $\hat y$ for the three thresholds. Each pair crosses at $\hat y = \tau$ (dots), so any loss
# that pivots at 0.5, computed on $z$, pivots at $\tau$ on $\hat y$.

# %%
fig, ax = plt.subplots(figsize=(7, 4.5))
for tau in TAUS:
    z = to_numpy(cmloss.z_transform(y_grid, tau))
    ax.plot(y_grid, z, color=tau_colour[tau], linewidth=2, label=f"z, tau = {tau}")
    ax.plot(y_grid, 1 - z, color=tau_colour[tau], linewidth=2, linestyle="--",
            label=f"1 - z, tau = {tau}")
    ax.plot([tau], [0.5], "o", color=tau_colour[tau])
ax.set(title="z-transforms (Eq. 6) cross at the threshold", xlabel="ASTra output y_hat",
       ylabel="z(y_hat, tau) and 1 - z")
ax.legend(loc="center right")
plt.show()

# %% [markdown]
# Composed with ASTra, the z-transform crosses at $x = 0$ for every slope, because
# $z(\mathrm{ASTra}(0, b), \tau(b)) = z(\tau, \tau) = 1/2$. The wrong-ordering band is
# gone. The figure repeats panel (b) of Figure 2 with the z-transformed BCE,
# `cmloss.losses.binary_crossentropy(..., threshold=tau)`, for $\tau = 0.25$ and
# $\tau = 0.05$: target-1 and target-0 losses now cross exactly at the threshold $x = 0$,
# at the value $\log 2$ for both slopes.

# %%
fig, ax = plt.subplots(figsize=(7, 4.5))
for tau in (0.25, 0.05):
    y_hat = to_numpy(cmloss.astra(x_bce, slopes[tau]))[:, None]
    for target, style in ((ones, "-"), (zeros, "--")):
        bce = losses.binary_crossentropy(target, y_hat, threshold=tau)
        ax.plot(x_bce, to_numpy(bce), color=tau_colour[tau], linewidth=2, linestyle=style,
                label=f"BCE on z, target {int(target[0, 0])}, tau = {tau}")
ax.axvline(0.0, color=SOFT_STEP_COLORS["hard"], linewidth=1, linestyle=":",
           label="threshold (x = 0)")
ax.set(title="BCE on the z-transformed output crosses at x = 0", xlabel="pre-activation x",
       ylabel="BCE of z(ASTra(x, b), tau)", ylim=(0, 4))
ax.legend(loc="upper center", ncol=2, frameon=True, framealpha=0.95)
plt.show()

# %% [markdown]
# ## The cmloss ASTra layer
#
# `cmloss.layers.ASTra` is a single-unit output activation: put it after `Dense(1)` with
# no activation. It holds $\beta$ as a trainable weight (initialised from `threshold`) and
# applies the z-transform itself, where $b$ is known, so that its default output has
# decision threshold 0.5 and every 0.5-pivot loss or metric works on it unchanged. It has
# three output modes:
#
# - `output="z"` (default): $z(\mathrm{ASTra}(x, b), \tau(b))$, decision threshold 0.5;
# - `output="astra"`: the raw Eq. 4 value, decision threshold $\tau(b)$;
# - `output="logit"`: $\operatorname{logit} z$, decision threshold 0 (for losses with
#   `from_logits=True`, the best numerics).
#
# The table shows, for each mode, the properties `slope`, `threshold` (always $\tau(b)$ of
# the raw activation) and `decision_threshold` (what to compare *this* output with), and
# checks on 2,000 inputs that "output > decision threshold" is the same decision as
# $x > 0$. (The grid leaves out $x = 0$ itself: there the output equals the decision
# threshold up to the last bit of float32, and rounding, not the model, breaks the tie.)

# %%
x_layer = np.linspace(-5.0, 5.0, 2000, dtype="float32")[:, None]
layers, rows = {}, []
for mode in ("z", "astra", "logit"):
    layer = cmloss.layers.ASTra(threshold=0.25, output=mode)
    out = to_numpy(layer(x_layer))
    layers[mode] = out
    rows.append({"output": mode, "slope": layer.slope, "threshold": layer.threshold,
                 "decision_threshold": layer.decision_threshold,
                 "decisions agree with x > 0": bool(((out > layer.decision_threshold)
                                                     == (x_layer > 0)).all())})
pd.DataFrame(rows).set_index("output")

# %% [markdown]
# The three outputs are one quantity in three coordinates: the z output is the z-transform
# of the raw output and the sigmoid of the logit output.

# %%
via_z = to_numpy(cmloss.z_transform(layers["astra"], cmloss.astra_threshold(rows[1]["slope"])))
print("max |z - z_transform(astra)| =", np.abs(layers["z"] - via_z).max())
via_logit = to_numpy(ops.sigmoid(layers["logit"]))
print("max |z - sigmoid(logit)|     =", np.abs(layers["z"] - via_logit).max())

# %% [markdown]
# ## Numerical stability
#
# A pre-activation of a few hundred is not unusual early in training or on outliers, and
# $e^{bx}$ overflows float32 as soon as $bx > 88$. Evaluating the formulas as written (the
# sympy expressions above, turned into NumPy functions) breaks down: the derivative becomes
# `nan` (an $\infty \cdot 0$), and the logit of $z$ becomes infinite once the output rounds
# to 0 or 1. `cmloss` works in log space (see the docstring of `cmloss.core.astra`). The
# table compares both in float32 at $\tau = 0.25$ and $\tau = 0.05$ for inputs up to
# $|x| = 10^4$; the `cmloss` columns come from the layer and its gradient by automatic
# differentiation.

# %%
x_big = np.array([-1e4, -100.0, -10.0, 0.0, 10.0, 100.0, 1e4], dtype="float32")
logit_z_numpy = sp.lambdify((y_hat_sym, tau_sym), sp.log(z_expr / (1 - z_expr)), "numpy")
rows = []
for tau in (0.25, 0.05):
    slope = np.float32(slopes[tau])
    z_layer = cmloss.layers.ASTra(threshold=tau, trainable_slope=False)
    logit_layer = cmloss.layers.ASTra(threshold=tau, trainable_slope=False, output="logit")
    xv = tf.Variable(x_big[:, None])
    with tf.GradientTape(persistent=True) as tape:
        y_raw = cmloss.astra(xv, slope)
        z_out = z_layer(xv)
    grad_raw, grad_z = tape.gradient(y_raw, xv), tape.gradient(z_out, xv)
    with np.errstate(all="ignore"):
        naive_y = astra_numpy(x_big, slope)
        naive_slope = first_numpy(x_big, slope)
        naive_logit = logit_z_numpy(naive_y, np.float32(tau))
    rows.append(pd.DataFrame({
        "tau": tau, "x": x_big,
        "naive ASTra": naive_y, "naive dASTra/dx": naive_slope, "naive logit z": naive_logit,
        "cmloss astra": to_numpy(y_raw).ravel(), "cmloss dastra/dx": to_numpy(grad_raw).ravel(),
        "layer z": to_numpy(z_out).ravel(), "layer dz/dx": to_numpy(grad_z).ravel(),
        "layer logit z": to_numpy(logit_layer(x_big[:, None])).ravel(),
    }))
stability = pd.concat(rows).set_index(["tau", "x"])
display(Markdown("**The formulas as written (sympy, lambdified to NumPy)**"))
display(stability.filter(like="naive").map("{:.4g}".format))
display(Markdown("**`cmloss`**"))
display(stability.drop(columns=stability.filter(like="naive").columns).map("{:.4g}".format))

# %% [markdown]
# Every `cmloss` column is finite; the naive columns are not. The naive values also go
# wrong without warning before they turn into `nan`: at $\tau = 0.05$ and $x = 10$ the naive
# ASTra is exactly 1 (because $e^{bx}$ overflowed to infinity) while the true value is
# $0.99996$, and the naive logit of $z$ is $-\infty$ at $x = -10$ where `cmloss` returns a
# finite, exact logit.

# %%
cmloss_columns = [c for c in stability.columns if not c.startswith("naive")]
print("all cmloss values finite:", bool(np.isfinite(stability[cmloss_columns].to_numpy()).all()))
print("non-finite naive values:", int((~np.isfinite(stability.filter(like="naive"))).sum().sum()))

# %% [markdown]
# ## Summary
#
# - $\mathrm{ASTra}(x, b) = 1 - (1 + b e^{bx})^{-1/b}$ is a reflected Richards curve; $b = 1$
#   is the sigmoid.
# - Its slope is steepest at $x = 0$ for every $b$ (the second derivative has the factor
#   $1 - e^{bx}$), which defines the threshold $\tau(b) = 1 - (1 + b)^{-1/b}$;
#   `cmloss.astra_threshold` and `cmloss.slope_from_threshold` convert between the two
#   ($\tau = 0.25 \leftrightarrow b = 7.39635$).
# - The slope is learned through $\beta$ (Eq. 7, `cmloss.slope_from_beta`); in the
#   exponential branch the threshold barely responds to $\beta$, so training starts in the
#   linear branch ($\beta = 5.4$ for $\tau = 0.25$).
# - BCE on the raw output ranks predictions wrongly for $0 < x < \log((2^b - 1)/b)/b$
#   (`cmloss.wrong_ordering_band`); the z-transform, a logit shift by
#   $\operatorname{logit}\tau$, moves the crossing back to $x = 0$.
# - `cmloss.layers.ASTra` outputs $z$ by default, so its decision threshold is 0.5, and it
#   stays finite, with finite gradients, at $|x| = 10^4$.
#
# The paper pairs ASTra with the GMN loss {cite}`twomey2017gmn`, the G-mean of the
# approximated confusion matrix (`cmloss.losses.GMN`, the identity soft step of the
# previous chapter); the next chapter covers it, and the experiment chapter
# [ASTra on the HD-Ensemble problems](06_experiment_astra.ipynb) trains both on highly
# imbalanced data.
#
# ## Exercises
#
# Each solution is a hidden cell below its exercise (click to show it); it runs when the
# book is built, and its assertions check the claims of the solution.
#
# **Exercise 3.1.** Which slope $b$ puts the threshold at $\tau = 0.1$, and which value of
# the unconstrained parameter $\beta$ (Eq. 7) starts training there? Is it in the linear
# branch?

# %% tags=["hide-cell"]
# Solution to exercise 3.1: b > 2, so beta = b - 2 > 0, the linear branch.
b_tenth = cmloss.slope_from_threshold(0.1)
beta_tenth = cmloss.beta_from_slope(b_tenth)
print(f"tau = 0.1: b = {b_tenth:.5f}, beta = {beta_tenth:.5f}")
assert np.isclose(float(cmloss.astra_threshold(b_tenth)), 0.1)
assert beta_tenth > 0 and np.isclose(beta_tenth, b_tenth - 2)

# %% [markdown]
# **Exercise 3.2.** How wide is the band of wrongly ordered BCE losses for $\tau = 0.05$,
# the paper's smallest workable threshold, compared with $\tau = 0.25$? Which output
# values does the band cover?

# %% tags=["hide-cell"]
# Solution to exercise 3.2: the band is 0 < x < x_1/2 for both; it widens as tau falls,
# and always covers the outputs between tau (at x = 0) and 1/2 (at x_1/2).
for tau in (0.25, 0.05):
    low, high = cmloss.wrong_ordering_band(slopes[tau])
    ends = to_numpy(cmloss.astra(np.array([low, high]), slopes[tau]))
    print(f"tau = {tau}: band 0 < x < {high:.3f}, outputs from {ends[0]:.3f} to {ends[1]:.3f}")
    assert np.allclose(ends, [tau, 0.5], atol=1e-6)
assert cmloss.wrong_ordering_band(slopes[0.05])[1] > cmloss.wrong_ordering_band(slopes[0.25])[1]

# %% [markdown]
# **Exercise 3.3.** Applying the z-transform twice, with thresholds $\tau_1$ then
# $\tau_2$, is one z-transform. Show with sympy that
# $z(z(\hat y, \tau_1), \tau_2) = z(\hat y, \tau)$ for the $\tau$ whose logit is
# $\operatorname{logit}\tau_1 + \operatorname{logit}\tau_2$.

# %% tags=["hide-cell"]
# Solution to exercise 3.3: z shifts the logit by -logit(tau), and shifts add up.
tau_1, tau_2 = sp.symbols("tau_1 tau_2", positive=True)
once = z_expr.subs(tau_sym, tau_1)
twice = z_expr.subs(tau_sym, tau_2).subs(y_hat_sym, once)
logit_sum = sp.log(tau_1 / (1 - tau_1)) + sp.log(tau_2 / (1 - tau_2))
combined = 1 / (1 + sp.exp(-logit_sum))
difference = sp.simplify(twice - z_expr.subs(tau_sym, combined))
print("z(z(yhat, tau_1), tau_2) - z(yhat, tau):", difference)
assert difference == 0
