"""One look for every figure in the book: a fixed colour per method and a plot style.

A method's colour is part of its record in the method registry
(:mod:`cmloss.experiments.methods`): the same method has the same colour on every page,
whatever else is plotted beside it, and the methods shown together (the ASTra protocol's,
the AnyLoss protocol's) are far apart in colour (``tests/test_plotting.py`` checks their
CIEDE2000 differences). Other names (a dtype, a threshold) get a stable colour from a
fallback cycle. Matplotlib is imported only by :func:`use_book_style`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from cmloss.experiments.methods import METHODS

__all__ = [
    "METHOD_COLORS",
    "SOFT_STEP_COLORS",
    "method_color",
    "fallback_color",
    "use_book_style",
]

SOFT_STEP_COLORS: dict[str, str] = {
    "identity": "#0173b2", "amplify": "#de8f05", "cosine": "#029e73", "hard": "#3c3c3c",
}
"""Colour of each soft step (and of the hard step) in the derivation chapters."""

_FALLBACK = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3"]


def fallback_color(text: str) -> str:
    """A stable colour for a name without a record: the same text, the same colour."""
    return _FALLBACK[sum(map(ord, text)) % len(_FALLBACK)]


class _LabelColors(Mapping):
    """Label -> colour of every registered method, read from the registry on each access
    (so methods registered later, from a grid file or user code, are included)."""

    def _colors(self) -> dict[str, str]:
        return {m.label: m.colour for m in METHODS.values()}

    def __getitem__(self, label: str) -> str:
        return self._colors()[label]

    def __iter__(self) -> Iterator[str]:
        return iter(self._colors())

    def __len__(self) -> int:
        return len(self._colors())

    def __repr__(self) -> str:
        return repr(self._colors())


METHOD_COLORS: Mapping[str, str] = _LabelColors()
"""Colour of each method label used in the book and in ``results/`` (``"GMN"``,
``"GMN-ASTra"``, ...), from the method registry."""


def method_color(method: str) -> str:
    """The colour of a method, by its label (``"GMN-ASTra"``) or its registry name
    (``"gmn-astra"``); other names get :func:`fallback_color`."""
    if method in METHOD_COLORS:
        return METHOD_COLORS[method]
    if method in METHODS:
        return METHODS[method].colour
    return fallback_color(method)


def use_book_style() -> None:
    """Matplotlib settings shared by every figure of the book (readable at page width)."""
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.figsize": (7.0, 4.0), "figure.dpi": 110, "axes.grid": True,
        "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
        "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 9,
        "legend.frameon": False,
    })
