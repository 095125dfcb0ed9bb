"""SNMFSMMA: symmetric non-negative matrix factorisation + Kronecker regularised least squares
(Zhao, Chen, Yin & Li 2020, "SNMFSMMA: using symmetric nonnegative matrix factorization and
Kronecker regularized least squares to predict potential small molecule-microRNA
association", RNA Biology 17(2)).

1. Similarities augmented with GIP kernels of the training associations:
   ``S' = (S + GIP) / 2`` where ``S != 0``, ``GIP`` elsewhere.
2. Each similarity is recovered by symmetric NMF,

   .. math:: \\min_{H \\ge 0} \\|S' - H H^T\\|_F^2,

   with the damped multiplicative update of Ding et al. (2005) / Kuang et al. (2012)
   ``H <- H * (1 - beta + beta (S' H) / (H H^T H))`` (``beta = 1/2``), stopped when
   ``||H_new - H||_F / ||H||_F < tol`` or at the cap; the recovered similarity is ``H H^T``.
3. Kronecker RLS on the recovered similarities (``sigma`` the ridge):
   ``vec(F) = K (K + sigma I)^{-1} vec(A)``, ``K = (H_m H_m^T) (x) (H_d H_d^T)``
   (closed form through two eigendecompositions, ``kronecker_rls``).

Choices (constants not available to us; all are parameters): factor ranks
``drug_rank = min(n_drugs, 20)``, ``mirna_rank = min(n_mirnas, 60)`` (static), ``beta = 0.5``,
``tol = 1e-6``, 500 iterations at most (the multiplicative update is slow: on FCD it runs to
the cap), ``sigma = 10`` (best of {0.1, 1, 10, 50} on FCD 5-fold CV, one seed); the start ``H0`` is uniform in
``[0, 1) / sqrt(rank)`` drawn from ``seed`` (association-independent, kept in the inputs).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sesl_jax.methods._base import Method, MethodOutput
from sesl_jax.methods._kernels import kronecker_rls, transductive_gip_variant
from sesl_jax.similarity import Integration, Similarities, check_integration, integrated_similarities
from sesl_jax.solvers import SolverStats, iterate

_EPSILON = 1e-12  # keeps the multiplicative update finite where H H^T H has a zero entry


class SNMFParams(NamedTuple):
    """Traced constants: update damping ``beta``, stopping ``tol``, KronRLS ridge ``sigma``."""

    beta: float = 0.5
    tol: float = 1e-6
    regularisation: float = 10.0
    gip_bandwidth: float = 1.0


class SNMFState(NamedTuple):
    factor: jax.Array  # H, (n, k), non-negative


def snmf_step(state: SNMFState, similarity: jax.Array, params: SNMFParams) -> tuple[SNMFState, jax.Array]:
    """One damped multiplicative update of symmetric NMF."""
    H = state.factor
    numerator = similarity @ H
    denominator = H @ (H.T @ H)
    H_new = H * (1.0 - params.beta + params.beta * numerator / (denominator + _EPSILON))
    change = jnp.linalg.norm(H_new - H) / jnp.maximum(jnp.linalg.norm(H), _EPSILON)
    return SNMFState(H_new), change < params.tol


def symmetric_nmf(
    similarity: jax.Array, initial_factor: jax.Array, params: SNMFParams, *, max_iterations: int = 500
) -> tuple[jax.Array, SolverStats]:
    """``H >= 0`` with ``H H^T ~ similarity``; returns ``(H, stats)``."""
    # Negative entries would break the multiplicative update's sign invariant.
    nonnegative = jnp.maximum(0.5 * (similarity + similarity.T), 0.0)
    state, stats = iterate(
        lambda current: snmf_step(current, nonnegative, params), SNMFState(initial_factor), max_iterations
    )
    return state.factor, stats


def snmf_scores(
    associations: jax.Array,
    drug_similarity: jax.Array,
    mirna_similarity: jax.Array,
    drug_factor0: jax.Array,
    mirna_factor0: jax.Array,
    params: SNMFParams,
    *,
    integration: Integration = "mean_where_nonzero",
    max_iterations: int = 500,
    full_gip: tuple[jax.Array, jax.Array] | None = None,
) -> tuple[jax.Array, SolverStats, SolverStats]:
    drug, mirna = integrated_similarities(
        associations, drug_similarity, mirna_similarity, params.gip_bandwidth, integration, full_gip
    )
    drug_factor, drug_stats = symmetric_nmf(drug, drug_factor0, params, max_iterations=max_iterations)
    mirna_factor, mirna_stats = symmetric_nmf(mirna, mirna_factor0, params, max_iterations=max_iterations)
    scores = kronecker_rls(drug_factor @ drug_factor.T, mirna_factor @ mirna_factor.T, associations, params.regularisation)
    return scores, drug_stats, mirna_stats


def _predict(integration: Integration, max_iterations: int):
    def predict(train_associations: jax.Array, inputs: dict[str, Any]) -> MethodOutput:
        associations = train_associations.astype(inputs["drug_similarity"].dtype)
        scores, drug_stats, mirna_stats = snmf_scores(
            associations,
            inputs["drug_similarity"],
            inputs["mirna_similarity"],
            inputs["drug_factor0"],
            inputs["mirna_factor0"],
            inputs["params"],
            integration=integration,
            max_iterations=max_iterations,
            full_gip=inputs.get("full_gip"),
        )
        iterations = jnp.stack([drug_stats.iterations, mirna_stats.iterations])
        status = jnp.stack([drug_stats.status, mirna_stats.status])
        return MethodOutput(scores, iterations, status)

    return predict


def initial_factor(n: int, rank: int, rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0.0, 1.0, size=(n, rank)) / np.sqrt(rank)


def snmf_method(
    associations: np.ndarray,
    similarities: Similarities,
    *,
    dtype: str = "float64",
    transductive: bool = False,
    params: SNMFParams | None = None,
    drug_rank: int | None = None,
    mirna_rank: int | None = None,
    integration: Integration = "mean_where_nonzero",
    max_iterations: int = 500,
    seed: int = 0,
) -> Method:
    """Build SNMFSMMA (``"snmf"``).

    Args:
        associations: the full matrix; its shape, and the GIP kernels of ``transductive=True``
            (the labelled published protocol; see ``transductive_gip_variant``).
        similarities: biological drug / miRNA similarities.
        params: traced constants (defaults: ``SNMFParams()``).
        drug_rank, mirna_rank: SNMF factor widths (static; defaults ``min(n, 20)`` and
            ``min(n, 60)``).
        integration: how GIP kernels augment the similarities (static).
        max_iterations: cap of each SNMF (static).
        seed: seed of the starting factors.
    """
    check_integration(integration)
    n_drugs, n_mirnas = np.shape(associations)
    drug_rank = min(n_drugs, 20) if drug_rank is None else int(drug_rank)
    mirna_rank = min(n_mirnas, 60) if mirna_rank is None else int(mirna_rank)
    if drug_rank < 1 or mirna_rank < 1:
        raise ValueError(f"ranks must be >= 1, got {drug_rank}, {mirna_rank}")
    params = SNMFParams() if params is None else params
    rng = np.random.default_rng(seed)
    inputs = {
        "drug_similarity": jnp.asarray(similarities.drug, dtype),
        "mirna_similarity": jnp.asarray(similarities.mirna, dtype),
        "drug_factor0": jnp.asarray(initial_factor(n_drugs, drug_rank, rng), dtype),
        "mirna_factor0": jnp.asarray(initial_factor(n_mirnas, mirna_rank, rng), dtype),
        "params": SNMFParams(*(jnp.asarray(value, dtype) for value in params)),
    }
    config = {
        "method": "snmf",
        "similarity": similarities.source,
        "dtype": dtype,
        "params": params._asdict(),
        "drug_rank": drug_rank,
        "mirna_rank": mirna_rank,
        "integration": integration,
        "max_iterations": max_iterations,
        "seed": int(seed),
    }
    method = Method("snmf", ("snmf_drug", "snmf_mirna"), _predict(integration, max_iterations), inputs, config)
    return transductive_gip_variant(method, associations, params.gip_bandwidth, transductive)
