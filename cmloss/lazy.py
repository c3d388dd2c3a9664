"""Packages whose public names load on first use (PEP 562), as ``lazy_loader.attach``.

cmloss's packages re-export names defined in their submodules; loading those eagerly
would import Keras and TensorFlow for anything, even ``python -m cmloss.experiments
list``. :func:`attach` gives a package a module ``__getattr__`` that imports the defining
submodule when a name is first used (then caches it), and a ``__dir__`` that lists it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence

__all__ = ["attach"]


def attach(
    package: str,
    homes: Mapping[str, str],
    *,
    submodules: Sequence[str] = (),
    load_first: Sequence[str] = (),
) -> tuple[Callable, Callable]:
    """Module ``__getattr__`` and ``__dir__`` for ``package``.

    Args:
        package: the package's ``__name__``.
        homes: public name -> the module that defines it (absolute, or relative to the
            package with a leading dot).
        submodules: public submodules of the package (``package.name``), loaded alike.
        load_first: modules imported at the first use of any name (e.g. all modules that
            register Keras objects, so that using one registers them all).

    Returns:
        ``(__getattr__, __dir__)``, to assign in the package's ``__init__``.
    """
    namespace = importlib.import_module(package).__dict__

    def _module(home: str):
        return importlib.import_module(home, package) if home.startswith(".") else \
            importlib.import_module(home)

    def __getattr__(name: str):
        if name not in homes and name not in submodules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        for home in load_first:
            _module(home)
        if name in submodules:
            value = _module(f".{name}")
        else:
            value = getattr(_module(homes[name]), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(homes) | set(submodules))

    return __getattr__, __dir__
