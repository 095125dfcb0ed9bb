"""Prediction methods that the evaluation engine runs on the same folds.

``METHODS`` maps a method name to its builder and its default similarity source. A builder is
``builder(associations, similarities, *, dtype, transductive=False) -> Method`` where
``associations`` is the full matrix (used only for shapes, bounds and the labelled transductive
variants). ``MethodSpec.transductive_option`` is the ``sesl-jax cv`` option that selects a method's
transductive variant, named after what it fits on the full matrix (``None``: the method has none).

``CATALOGUE`` (names, descriptions, defaults) is importable without JAX; everything else is
imported on first use (``sesl_jax._lazy``).
"""

from __future__ import annotations

from sesl_jax._lazy import lazy_exports
from sesl_jax.methods._catalogue import CATALOGUE, SESL_DEFAULT_SIMILARITY, MethodInfo

__getattr__, __dir__ = lazy_exports(__name__, {
    "METHODS": "sesl_jax.methods._registry",
    "MethodSpec": "sesl_jax.methods._registry",
    "Method": "sesl_jax.methods._base",
    "MethodOutput": "sesl_jax.methods._base",
    "SharedStart": "sesl_jax.methods._base",
    "with_shared_starts": "sesl_jax.methods._base",
    "sesl_family_method": "sesl_jax.methods._sesl",
    "Similarities": "sesl_jax.similarity._base",
})

__all__ = ["CATALOGUE", "METHODS", "SESL_DEFAULT_SIMILARITY", "Method", "MethodInfo", "MethodOutput", "MethodSpec",
           "SharedStart", "Similarities", "sesl_family_method", "with_shared_starts"]
