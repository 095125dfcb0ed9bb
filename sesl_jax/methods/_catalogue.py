"""What the methods are, without building them: names, one-line descriptions, default similarity
sources and the option of each transductive variant.

Free of JAX so that the command line can list the methods (``--method`` choices and help) without
starting it; ``sesl_jax.methods.METHODS`` pairs each entry with its builder.
"""

from __future__ import annotations

from typing import NamedTuple

# SESL's default similarity configuration, chosen by nested cross-validation on FCD (`sesl-jax
# select --dataset fcd`: 10 x 5-fold outer, 5-fold inner; docs/results.md): drugs by the mean of
# RDKit Morgan/Tanimoto and the SMILES encoder's codes (inverse map 1/(1+d)), miRNAs by the
# biological similarity. Both drug terms come from a SMILES alone, so a new molecule is placed
# without a fallback; a new miRNA falls back to its sequence codes, with a warning.
SESL_DEFAULT_SIMILARITY = "drug=0.5*chemical+0.5*sequence,mirna=biological,map=inverse"

# The option that selects a rival's transductive variant: their published protocols compute the
# GIP kernels once on the full matrix.
GIP_OPTION = "--gip-kernels"


class MethodInfo(NamedTuple):
    default_similarity: str
    description: str
    transductive_option: str | None = None  # the ``sesl-jax cv`` option of its transductive variant


CATALOGUE: dict[str, MethodInfo] = {
    "sesl": MethodInfo(
        SESL_DEFAULT_SIMILARITY, "SESL: sparse learning (LRR, IALM) + BNNR completion", "--sparse-learning",
    ),
    "se": MethodInfo(SESL_DEFAULT_SIMILARITY, "SESL without sparse learning: BNNR on SESL's similarities"),
    "bnnr": MethodInfo("biological", "BNNRSMMA (Chen et al. 2021): BNNR on biological similarities"),
    "rpca-gamma": MethodInfo(
        "biological",
        "RPCAΓNR (Wang et al. 2023): robust PCA of the GIP-augmented heterogeneous matrix, gamma-norm + L2,1, inexact ALM",
        GIP_OPTION,
    ),
    "tspn": MethodInfo(
        "biological",
        "TSPN (Wang et al. 2023): truncated Schatten p-norm completion of the heterogeneous matrix, BNNR-style ADMM",
        GIP_OPTION,
    ),
    "snmf": MethodInfo(
        "biological",
        "SNMFSMMA (Zhao et al. 2020): symmetric NMF of GIP-augmented similarities + Kronecker RLS",
        GIP_OPTION,
    ),
    "ekrr": MethodInfo(
        "biological",
        "EKRRSMMA: ensemble of kernel ridge regressions on random feature subsets of similarity + GIP",
        GIP_OPTION,
    ),
    "dcmf": MethodInfo(
        "biological",
        "DCMF (Wang et al. 2022): WKNKN + collaborative matrix factorisation with two networks per side (similarity, GIP)",
        GIP_OPTION,
    ),
}
