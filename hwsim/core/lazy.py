"""Lazy exports for package ``__init__`` modules: the one helper of its kind in hwsim.

A package lists its public names and the submodule defining each; a name's submodule is imported on
first use. That keeps ``import rtl`` from loading Amaranth and ``import hwsim`` from loading ONNX, so
the command line starts fast and the cocotb bench (which imports ``rtl._bench``) pays for nothing it
does not use. Each package also imports the same names under ``TYPE_CHECKING``, so type checkers and
the import-linter contract see the real dependencies.

>>> import types
>>> getattr_, dir_ = exports("hwsim.core", {"UserError": "errors"})
>>> getattr_("UserError").__name__
'UserError'
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Mapping

__all__ = ["exports"]


def exports(package: str, names: Mapping[str, str], submodules: tuple[str, ...] = ()
            ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``names`` maps each public name to the submodule
    (relative to ``package``) that defines it; ``submodules`` are public submodules themselves."""

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__() -> list[str]:
        return sorted({*names, *submodules, *vars(sys.modules[package])})

    return __getattr__, __dir__
