"""sesl_jax: SESL drug-miRNA association prediction in JAX, with batched leakage-free evaluation.

Pipeline, one module or package per step: ``data`` -> ``encoders`` -> ``similarity`` ->
``solvers`` (sparse learning, completion) -> ``model`` / ``methods`` -> ``pipeline`` (the one
method builder) -> ``evaluation``, plus ``estimator`` (the ``SESL`` class) and ``cli``.

The top-level names are imported lazily so that ``sesl-jax --help`` (and the command line's
process settings, which must precede JAX's start) do not wait for JAX.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "SESL": "sesl_jax.estimator",
    "DataError": "sesl_jax.data",
    "Dataset": "sesl_jax.data",
    "load_dataset": "sesl_jax.data",
    "load_pairs": "sesl_jax.data",
    "load_sm2mir": "sesl_jax.data",
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sesl_jax' has no attribute {name!r}")
