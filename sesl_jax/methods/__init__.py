"""Prediction methods that the evaluation engine runs on the same folds.

``METHODS`` maps a method name to its builder and its default similarity source. A builder is
``builder(associations, similarities, *, dtype, transductive=False) -> Method`` where
``associations`` is the full matrix (used only for shapes, bounds and the labelled transductive
variants). ``MethodSpec.transductive_option`` is the ``sesl-jax cv`` option that selects a method's
transductive variant, named after what it fits on the full matrix (``None``: the method has none).
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

from sesl_jax.methods._base import Method, MethodOutput, SharedStart, with_shared_starts
from sesl_jax.methods._sesl import sesl_family_method
from sesl_jax.similarity import Similarities


# SESL's default similarity configuration, chosen by nested cross-validation on FCD (`sesl-jax
# select --dataset fcd`: 10 x 5-fold outer, 5-fold inner; docs/results.md): drugs by the mean of
# RDKit Morgan/Tanimoto and the SMILES encoder's codes (inverse map 1/(1+d)), miRNAs by the
# biological similarity. Both drug terms come from a SMILES alone, so a new molecule is placed
# without a fallback; a new miRNA falls back to its sequence codes, with a warning.
SESL_DEFAULT_SIMILARITY = "drug=0.5*chemical+0.5*sequence,mirna=biological,map=inverse"


class MethodSpec(NamedTuple):
    builder: Callable[..., Method]
    default_similarity: str
    description: str
    transductive_option: str | None = None


METHODS: dict[str, MethodSpec] = {
    "sesl": MethodSpec(
        functools.partial(sesl_family_method, "sesl"),
        SESL_DEFAULT_SIMILARITY,
        "SESL: sparse learning (LRR, IALM) + BNNR completion",
        "--sparse-learning",
    ),
    "se": MethodSpec(
        functools.partial(sesl_family_method, "se"),
        SESL_DEFAULT_SIMILARITY,
        "SESL without sparse learning: BNNR on SESL's similarities",
    ),
    "bnnr": MethodSpec(
        functools.partial(sesl_family_method, "bnnr"),
        "biological",
        "BNNRSMMA (Chen et al. 2021): BNNR on biological similarities",
    ),
}

# Rival methods (defined after MethodSpec, which they import).
from sesl_jax.methods._rivals import RIVAL_METHODS  # noqa: E402

METHODS.update(RIVAL_METHODS)

__all__ = ["METHODS", "SESL_DEFAULT_SIMILARITY", "Method", "MethodOutput", "MethodSpec", "SharedStart", "Similarities",
           "sesl_family_method", "with_shared_starts"]
