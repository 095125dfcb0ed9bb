"""sesl_jax: SESL drug-miRNA association prediction in JAX, with batched leakage-free evaluation.

Pipeline, one module or package per step: ``data`` -> ``encoders`` -> ``similarity`` ->
``solvers`` (sparse learning, completion) -> ``model`` / ``methods`` -> ``pipeline`` (the one
method builder) -> ``evaluation``, plus ``estimator`` (the ``SESL`` class) and ``cli``.

The top-level names are imported lazily so that ``sesl-jax --help`` (and the command line's
process settings, which must precede JAX's start) do not wait for JAX.
"""

from __future__ import annotations

from sesl_jax._lazy import lazy_exports

__version__ = "0.1.0"

__getattr__, __dir__ = lazy_exports(__name__, {
    "SESL": "sesl_jax.estimator",
    **dict.fromkeys(("DataError", "Dataset", "load_dataset", "load_pairs", "load_sm2mir"), "sesl_jax.data"),
})

__all__ = ["SESL", "DataError", "Dataset", "load_dataset", "load_pairs", "load_sm2mir", "__version__"]
