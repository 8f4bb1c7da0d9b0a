"""Lazy re-exports for a package's ``__init__``: the names its callers use, listed in ``__all__`` and by ``dir()``,
each module imported on first use, so that importing a light module of the package (its options, its label parsing)
does not import torch with the rest."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose attribute NAME is ``exports[NAME]``'s (a module of the package);
    a name is imported once, then kept in the package's namespace."""

    def __getattr__(name: str) -> object:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{exports[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(exports) | set(vars(sys.modules[package])))

    return __getattr__, __dir__
