"""Rival SM-miRNA association methods the SESL paper compares against, as evaluation methods.

``RIVAL_BUILDERS`` maps a name to its builder; ``sesl_jax.methods.METHODS`` pairs each with its
catalogue entry (``_catalogue.py``: description, default similarity, transductive option).

Every builder has the contract of ``sesl_jax.methods``. All five augment the similarities with
GIP kernels of the associations; their published protocols compute those once on the full
matrix, which ``transductive=True`` reproduces (labelled, leaky; see ``transductive_gip_variant``).
"""

from __future__ import annotations

from typing import Callable

from sesl_jax.methods._base import Method
from sesl_jax.methods._dcmf import dcmf_method
from sesl_jax.methods._ekrr import ekrr_method
from sesl_jax.methods._rpca_gamma import rpca_gamma_method
from sesl_jax.methods._snmf import snmf_method
from sesl_jax.methods._tspn import tspn_method

RIVAL_BUILDERS: dict[str, Callable[..., Method]] = {
    "rpca-gamma": rpca_gamma_method,
    "tspn": tspn_method,
    "snmf": snmf_method,
    "ekrr": ekrr_method,
    "dcmf": dcmf_method,
}
