"""Small synthetic problems with planted structure, written by the tests themselves."""

from __future__ import annotations

import numpy as np


def planted_problem(n_drugs=12, n_mirnas=20, n_clusters=3, density=0.6, seed=0):
    """Block-structured associations with matching similarity matrices.

    Drugs and miRNAs fall into ``n_clusters`` clusters; pairs in matching clusters are
    associated with probability ``density``; similarities are high within clusters.
    """
    rng = np.random.default_rng(seed)
    drug_cluster = np.arange(n_drugs) % n_clusters
    mirna_cluster = np.arange(n_mirnas) % n_clusters
    same = drug_cluster[:, None] == mirna_cluster[None, :]
    A = (same & (rng.random((n_drugs, n_mirnas)) < density)).astype(float)

    def similarity(cluster):
        base = np.where(cluster[:, None] == cluster[None, :], 0.8, 0.1)
        noise = rng.uniform(0, 0.1, base.shape)
        s = np.clip(base + (noise + noise.T) / 2, 0, 1)
        np.fill_diagonal(s, 1.0)
        return s

    return A, similarity(drug_cluster), similarity(mirna_cluster)


def heterogeneous_problem(seed, n_drugs=12, n_mirnas=20):
    """BNNRSMMA's T = [[Sd, A], [A^T, Sm]] of a planted problem, and its observed set (nonzero entries)."""
    A, Sd, Sm = planted_problem(n_drugs, n_mirnas, seed=seed)
    T = np.block([[Sd, A], [A.T, Sm]])
    return T, (T != 0).astype(float)
