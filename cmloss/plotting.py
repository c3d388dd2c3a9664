"""One look for every figure in the book: a fixed colour per method and a plot style.

Colours are fixed hex codes (from seaborn's ``colorblind`` and ``dark`` palettes) so the
same method has the same colour on every page, whatever else is plotted beside it.
Matplotlib is imported only by :func:`use_book_style`.
"""

from __future__ import annotations

__all__ = ["METHOD_COLORS", "SOFT_STEP_COLORS", "method_color", "use_book_style"]

METHOD_COLORS: dict[str, str] = {
    # plain losses
    "BCE": "#0173b2",
    "MSE": "#56b4e9",
    "BCE-weighted": "#029e73",
    "Dice": "#949494",
    # ASTra / GMN family
    "GMN": "#d55e00",
    "BCE-ASTra": "#cc78bc",
    "GMN-ASTra": "#de8f05",
    "AnyLoss-GMean-ASTra": "#8c0800",
    # AnyLoss family
    "AnyLoss-Acc": "#ece133",
    "AnyLoss-F1": "#ca9161",
    "AnyLoss-F0.5": "#a23582",
    "AnyLoss-F2": "#591e71",
    "AnyLoss-GMean": "#b1400d",
    "AnyLoss-BAcc": "#3c3c3c",
    # SOL
    "SOL-Acc": "#fbafe4",
    "SOL-F1": "#8ab2d6",
    "SOL-BAcc": "#12711c",
    # data-level and ensemble baselines
    "BCE+SMOTE": "#006374",
    "BCE+RUS": "#b8850a",
    "RUSBoost": "#001c7f",
}
"""Colour of each method name used in the book and in ``results/``."""

SOFT_STEP_COLORS: dict[str, str] = {
    "identity": "#0173b2", "amplify": "#de8f05", "cosine": "#029e73", "hard": "#3c3c3c",
}
"""Colour of each soft step (and of the hard step) in the derivation chapters."""

_FALLBACK = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3"]


def method_color(method: str) -> str:
    """The colour of ``method``; unknown names get a stable colour from a fallback cycle."""
    if method in METHOD_COLORS:
        return METHOD_COLORS[method]
    return _FALLBACK[sum(map(ord, method)) % len(_FALLBACK)]


def use_book_style() -> None:
    """Matplotlib settings shared by every figure of the book (readable at page width)."""
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.figsize": (7.0, 4.0), "figure.dpi": 110, "axes.grid": True,
        "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
        "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 9,
        "legend.frameon": False,
    })
