"""Package attributes imported from their submodules on first use (PEP 562).

The command line builds its parser from name lists (methods, criteria, encoders) that live in
packages whose other modules import JAX; with lazy package attributes, ``sesl-jax --help`` and a
usage error answer without starting JAX (about 3 s of imports on the 2-core machines).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose attribute ``name`` is ``exports[name]``'s.

    Use as ``__getattr__, __dir__ = lazy_exports(__name__, {...})`` in the package's ``__init__``.
    The first access imports the submodule and stores the value on the package, so later ones are
    plain lookups. A name the mapping does not know is an ``AttributeError``, as usual.
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
