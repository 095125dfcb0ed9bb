"""Rival SM-miRNA association methods the SESL paper compares against, as evaluation methods.

``RIVAL_METHODS`` maps a name to a ``MethodSpec(builder, default_similarity, description, option)``;
``sesl_jax.methods`` merges it into ``METHODS``. This module is imported by
``sesl_jax/methods/__init__.py`` after ``MethodSpec`` is defined there, so the import below
finds it even while the package is still initialising (and importing this module directly
first initialises the package, which imports it back in the same order).

Every builder has the contract of ``sesl_jax.methods``. All five augment the similarities with
GIP kernels of the associations; their published protocols compute those once on the full
matrix, which ``transductive=True`` reproduces (labelled, leaky; see ``transductive_gip_variant``).
"""

from __future__ import annotations

from sesl_jax.methods import MethodSpec
from sesl_jax.methods._dcmf import dcmf_method
from sesl_jax.methods._ekrr import ekrr_method
from sesl_jax.methods._rpca_gamma import rpca_gamma_method
from sesl_jax.methods._snmf import snmf_method
from sesl_jax.methods._tspn import tspn_method

GIP_OPTION = "--gip-kernels"  # what their transductive variant fits on the full matrix

RIVAL_METHODS: dict[str, MethodSpec] = {
    "rpca-gamma": MethodSpec(
        rpca_gamma_method,
        "biological",
        "RPCAΓNR (Wang et al. 2023): robust PCA of the GIP-augmented heterogeneous matrix, gamma-norm + L2,1, inexact ALM",
        GIP_OPTION,
    ),
    "tspn": MethodSpec(
        tspn_method,
        "biological",
        "TSPN (Wang et al. 2023): truncated Schatten p-norm completion of the heterogeneous matrix, BNNR-style ADMM",
        GIP_OPTION,
    ),
    "snmf": MethodSpec(
        snmf_method,
        "biological",
        "SNMFSMMA (Zhao et al. 2020): symmetric NMF of GIP-augmented similarities + Kronecker RLS",
        GIP_OPTION,
    ),
    "ekrr": MethodSpec(
        ekrr_method,
        "biological",
        "EKRRSMMA: ensemble of kernel ridge regressions on random feature subsets of similarity + GIP",
        GIP_OPTION,
    ),
    "dcmf": MethodSpec(
        dcmf_method,
        "biological",
        "DCMF (Wang et al. 2022): WKNKN + collaborative matrix factorisation with two networks per side (similarity, GIP)",
        GIP_OPTION,
    ),
}
