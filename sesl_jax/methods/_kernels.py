"""Similarity kernels computed from a training association matrix, and their closed-form users.

Everything here is a pure JAX function of the *training* associations, so rival methods call
it inside ``predict`` and each fold recomputes it from its own data (no label leakage). The one
exception is labelled: ``transductive_gip_variant`` gives a method GIP kernels computed once from
the full matrix, the published protocol of the GIP-based rivals, for reproduction only.

- ``gip_kernel``: the Gaussian interaction profile kernel of van Laarhoven et al. (2011,
  Bioinformatics 27(21)), used by most SM-miRNA rivals to augment biological similarity.
- ``integrate_similarity``: how a biological similarity and a GIP kernel are merged.
- ``heterogeneous_matrix`` is shared with SESL (``sesl_jax.model``).
- ``kronecker_rls``: Kronecker regularised least squares (van Laarhoven et al. 2011).
"""

from __future__ import annotations

from typing import Literal

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

Integration = Literal["mean_where_nonzero", "mean", "fill_zeros", "biological", "gip"]
INTEGRATIONS: tuple[str, ...] = ("mean_where_nonzero", "mean", "fill_zeros", "biological", "gip")


def gip_kernel(profiles: jax.Array, bandwidth: jax.Array | float = 1.0) -> jax.Array:
    """Gaussian interaction profile kernel between the rows of ``profiles``.

    .. math:: K_{ij} = \\exp(-\\gamma \\|p_i - p_j\\|^2), \\quad
              \\gamma = \\gamma' / (\\tfrac{1}{n} \\sum_i \\|p_i\\|^2)

    Args:
        profiles: (n, m) interaction profiles (rows of A for drugs, rows of A^T for miRNAs).
        bandwidth: ``gamma'`` (1 in the original paper); traced.

    Returns:
        (n, n) symmetric kernel in (0, 1] with a unit diagonal. An all-zero matrix (no
        profile carries information) gives the all-ones kernel instead of dividing by zero.
    """
    squared_norms = jnp.sum(profiles * profiles, axis=-1)
    mean_norm = jnp.mean(squared_norms)
    gamma = bandwidth / jnp.where(mean_norm > 0, mean_norm, 1.0)
    squared_distances = squared_norms[:, None] + squared_norms[None, :] - 2.0 * profiles @ profiles.T
    squared_distances = jnp.maximum(squared_distances, 0.0)
    # Exact zeros on the diagonal and exact symmetry despite rounding in the Gram expansion.
    squared_distances = 0.5 * (squared_distances + squared_distances.T)
    squared_distances = squared_distances * (1.0 - jnp.eye(profiles.shape[0], dtype=profiles.dtype))
    return jnp.exp(-gamma * squared_distances)


def gip_kernels(
    associations: jax.Array, bandwidth: jax.Array | float, full: tuple[jax.Array, jax.Array] | None = None
) -> tuple[jax.Array, jax.Array]:
    """The (drug, miRNA) GIP kernels a method uses: those of the fold's training ``associations``,
    or ``full``, the pair a transductive variant computed once from the full matrix."""
    if full is not None:
        return full
    return gip_kernel(associations, bandwidth), gip_kernel(associations.T, bandwidth)


def transductive_gip_variant(method, associations: np.ndarray, bandwidth: float, transductive: bool):
    """``method`` itself, or with ``transductive`` its labelled published-protocol variant: the GIP
    kernels come from the FULL association matrix (``inputs["full_gip"]``), so a hidden pair shapes
    the kernels that score it. Every predict reads ``inputs.get("full_gip")`` through ``gip_kernels``."""
    if not transductive:
        return method
    dtype = method.inputs["drug_similarity"].dtype
    full = jnp.asarray(associations, dtype)
    full_gip = (gip_kernel(full, bandwidth), gip_kernel(full.T, bandwidth))
    return dataclasses.replace(
        method,
        name=method.name + "-transductive",
        inputs={**method.inputs, "full_gip": full_gip},
        config={**method.config, "transductive_fit": "GIP kernels fitted on the full matrix (leaks)"},
        leaks=True,
    )


def integrate_similarity(similarity: jax.Array, gip: jax.Array, rule: Integration = "mean_where_nonzero") -> jax.Array:
    """Merge a biological similarity with a GIP kernel (static ``rule``).

    - ``"mean_where_nonzero"`` (default of every rival here): ``(S + K) / 2`` where ``S != 0``,
      ``K`` where ``S == 0`` (the integration of Chen et al.'s SM-miRNA models);
    - ``"mean"``: ``(S + K) / 2`` everywhere;
    - ``"fill_zeros"``: ``S`` where ``S != 0``, ``K`` elsewhere;
    - ``"biological"``: ``S`` alone (no GIP); ``"gip"``: ``K`` alone.
    """
    if rule == "mean_where_nonzero":
        return jnp.where(similarity != 0, 0.5 * (similarity + gip), gip)
    if rule == "mean":
        return 0.5 * (similarity + gip)
    if rule == "fill_zeros":
        return jnp.where(similarity != 0, similarity, gip)
    if rule == "biological":
        return similarity
    if rule == "gip":
        return gip
    raise ValueError(f"unknown integration rule {rule!r}; choose one of {INTEGRATIONS}")


def check_integration(rule: str) -> None:
    if rule not in INTEGRATIONS:
        raise ValueError(f"unknown integration rule {rule!r}; choose one of {INTEGRATIONS}")


def integrated_similarities(
    associations: jax.Array,
    drug_similarity: jax.Array,
    mirna_similarity: jax.Array,
    bandwidth: jax.Array | float = 1.0,
    rule: Integration = "mean_where_nonzero",
    full_gip: tuple[jax.Array, jax.Array] | None = None,
) -> tuple[jax.Array, jax.Array]:
    """Drug and miRNA similarities augmented with GIP kernels (see ``gip_kernels``).

    Returns:
        ``(drug, mirna)``, shapes (n_drugs, n_drugs) and (n_mirnas, n_mirnas).
    """
    drug_gip, mirna_gip = gip_kernels(associations, bandwidth, full_gip)
    return integrate_similarity(drug_similarity, drug_gip, rule), integrate_similarity(mirna_similarity, mirna_gip, rule)


def kronecker_rls(drug_kernel: jax.Array, mirna_kernel: jax.Array, associations: jax.Array, regularisation: jax.Array) -> jax.Array:
    """Kronecker regularised least squares, closed form through two eigendecompositions.

    .. math:: F = Q_d \\big[C \\odot (Q_d^T A Q_m)\\big] Q_m^T, \\quad
              C_{ij} = \\frac{\\lambda_i \\mu_j}{\\lambda_i \\mu_j + \\sigma}

    which is ``vec(F) = K (K + sigma I)^{-1} vec(A)`` with ``K = K_m (x) K_d``.

    Args:
        drug_kernel: (n_d, n_d) symmetric positive semi-definite.
        mirna_kernel: (n_m, n_m) symmetric positive semi-definite.
        associations: (n_d, n_m) training A.
        regularisation: ``sigma`` > 0.
    """
    drug_values, drug_vectors = jnp.linalg.eigh(0.5 * (drug_kernel + drug_kernel.T))
    mirna_values, mirna_vectors = jnp.linalg.eigh(0.5 * (mirna_kernel + mirna_kernel.T))
    products = drug_values[:, None] * mirna_values[None, :]
    filtered = products / (products + regularisation) * (drug_vectors.T @ associations @ mirna_vectors)
    return drug_vectors @ filtered @ mirna_vectors.T


def completion_predict(solve, integration: Integration):
    """``predict`` of a method that completes the heterogeneous matrix built on GIP-augmented
    similarities: ``solve(target, params) -> (completed, SolverStats)``; the prediction is the
    drugs x miRNAs block. Kernels come from the fold's training associations (leakage-free)
    unless a transductive variant carries full-matrix ones."""
    from sesl_jax.methods._base import MethodOutput
    from sesl_jax.model import heterogeneous_matrix

    def predict(train_associations: jax.Array, inputs) -> MethodOutput:
        params = inputs["params"]
        associations = train_associations.astype(inputs["drug_similarity"].dtype)
        drug, mirna = integrated_similarities(
            associations, inputs["drug_similarity"], inputs["mirna_similarity"], params.gip_bandwidth, integration,
            inputs.get("full_gip"),
        )
        completed, stats = solve(heterogeneous_matrix(drug, associations, mirna), params)
        n_drugs = associations.shape[0]
        return MethodOutput(completed[:n_drugs, n_drugs:], stats.iterations[None], stats.status[None])

    return predict
