"""DCMF: dual-network collaborative matrix factorisation (Wang, Wang, Huang, Miao & Chen 2022,
"Dual-Network Collaborative Matrix Factorization for predicting small molecule-miRNA
associations", Briefings in Bioinformatics 23(1), bbab500).

1. WKNKN pre-processing (Ezzat et al. 2017) of the *training* associations: for each drug the
   ``K`` most similar other drugs that have a known pair, weighted ``eta^(k-1) S(i, d_k)``,
   give ``A_d = W_d A / Z_d``; likewise ``A_m`` over miRNAs; ``Y = max(A, (A_d + A_m) / 2)``.
2. Collaborative matrix factorisation with two similarity networks per side (the biological
   similarity and the GIP kernel of the training associations):

   .. math:: \\min_{U,V} \\|Y - U V^T\\|_F^2 + \\lambda_l (\\|U\\|_F^2 + \\|V\\|_F^2)
             + \\lambda_d \\sum_{k=1}^2 \\|S_d^k - U U^T\\|_F^2
             + \\lambda_m \\sum_{k=1}^2 \\|S_m^k - V V^T\\|_F^2

   by the alternating least squares of CMF (Zheng et al. 2013, KDD), in matrix form with the
   quadratic similarity terms linearised at the previous factor:

   .. code-block:: text

       U = (Y V + lambda_d (S_d^1 + S_d^2) U) (V^T V + lambda_l I + 2 lambda_d U^T U)^{-1}
       V = (Y^T U + lambda_m (S_m^1 + S_m^2) V) (U^T U + lambda_l I + 2 lambda_m V^T V)^{-1}

   started from the SVD of ``Y`` (``U = P_k sqrt(Sigma_k)``, ``V = Q_k sqrt(Sigma_k)``) and
   stopped when ``||U V^T - previous||_F / ||previous||_F < tol`` or at the cap.
3. Scores ``U V^T``.

Choices (the paper's constants were not available to us; all are parameters):
``K = 5``, ``eta = 0.7`` (WKNKN's usual values), rank ``k = min(n_drugs, n_mirnas, 30)``
(static), ``lambda_l = 0.5``, ``lambda_d = lambda_m = 0.25``, ``tol = 1e-5``, 300 iterations at
most; WKNKN neighbours ranked by the mean of the two networks of each side.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sesl_jax.methods._base import Method, MethodOutput
from sesl_jax.methods._kernels import transductive_gip_variant
from sesl_jax.similarity import Similarities, gip_kernels
from sesl_jax.solvers import SolverStats, iterate


class DCMFParams(NamedTuple):
    """Traced constants (``neighbours`` and ``rank`` are static, see ``dcmf_method``)."""

    decay: float = 0.7  # eta of WKNKN
    l2: float = 0.5  # lambda_l
    drug_weight: float = 0.25  # lambda_d
    mirna_weight: float = 0.25  # lambda_m
    tol: float = 1e-5
    gip_bandwidth: float = 1.0


class DCMFState(NamedTuple):
    drug_factor: jax.Array  # U, (n_drugs, k)
    mirna_factor: jax.Array  # V, (n_mirnas, k)
    previous: jax.Array  # U V^T of the previous iteration


def wknkn_side(associations: jax.Array, similarity: jax.Array, neighbours: int, decay: jax.Array) -> jax.Array:
    """WKNKN along the rows: each row is the weighted mean of its ``neighbours`` most similar
    other rows that have at least one known pair (rows without any are never neighbours)."""
    n = associations.shape[0]
    has_known = jnp.sum(associations, axis=1) > 0
    candidate = (~jnp.eye(n, dtype=bool)) & has_known[None, :]
    masked = jnp.where(candidate, similarity, -jnp.inf)
    values, indices = jax.lax.top_k(masked, neighbours)  # (n, K), descending
    valid = jnp.isfinite(values)
    weights = jnp.where(valid, decay ** jnp.arange(neighbours, dtype=similarity.dtype)[None, :] * values, 0.0)
    normaliser = jnp.sum(jnp.where(valid, values, 0.0), axis=1, keepdims=True)
    smoothed = jnp.einsum("nk,nkm->nm", weights, associations[indices])
    return jnp.where(normaliser > 0, smoothed / jnp.where(normaliser > 0, normaliser, 1.0), 0.0)


def wknkn(associations: jax.Array, drug_similarity: jax.Array, mirna_similarity: jax.Array, neighbours: int, decay: jax.Array) -> jax.Array:
    """``max(A, (A_d + A_m) / 2)`` of Ezzat et al. (2017)."""
    drug_side = wknkn_side(associations, drug_similarity, neighbours, decay)
    mirna_side = wknkn_side(associations.T, mirna_similarity, neighbours, decay).T
    return jnp.maximum(associations, 0.5 * (drug_side + mirna_side))


def _solve_right_spd(gram: jax.Array, left: jax.Array) -> jax.Array:
    """``left @ gram^{-1}`` for a symmetric positive definite ``gram`` (k x k), through ``eigh``.

    (``jnp.linalg.solve`` on fold-dependent matrices intermittently deadlocked XLA:CPU when folds
    were sharded over two host devices with jax 0.10.2; ``eigh`` does not.)
    """
    values, vectors = jnp.linalg.eigh(0.5 * (gram + gram.T))
    return ((left @ vectors) / values[None, :]) @ vectors.T


def dcmf_step(
    state: DCMFState, target: jax.Array, drug_network: jax.Array, mirna_network: jax.Array, params: DCMFParams
) -> tuple[DCMFState, jax.Array]:
    """One ALS sweep (U then V). ``drug_network`` / ``mirna_network`` are the summed networks."""
    U, V, previous = state
    k = U.shape[1]
    identity = jnp.eye(k, dtype=U.dtype)
    left = target @ V + params.drug_weight * drug_network @ U
    gram = V.T @ V + params.l2 * identity + 2.0 * params.drug_weight * U.T @ U
    U = _solve_right_spd(gram, left)
    left = target.T @ U + params.mirna_weight * mirna_network @ V
    gram = U.T @ U + params.l2 * identity + 2.0 * params.mirna_weight * V.T @ V
    V = _solve_right_spd(gram, left)
    product = U @ V.T
    change = jnp.linalg.norm(product - previous) / jnp.maximum(jnp.linalg.norm(previous), 1e-12)
    return DCMFState(U, V, product), change < params.tol


def dcmf_scores(
    associations: jax.Array,
    drug_similarity: jax.Array,
    mirna_similarity: jax.Array,
    params: DCMFParams,
    *,
    rank: int,
    neighbours: int = 5,
    max_iterations: int = 300,
    full_gip: tuple[jax.Array, jax.Array] | None = None,
) -> tuple[jax.Array, SolverStats]:
    drug_gip, mirna_gip = gip_kernels(associations, params.gip_bandwidth, full_gip)
    drug_network = drug_similarity + drug_gip
    mirna_network = mirna_similarity + mirna_gip
    target = wknkn(associations, 0.5 * drug_network, 0.5 * mirna_network, neighbours, params.decay)
    left, singular, right_t = jnp.linalg.svd(target, full_matrices=False)
    root = jnp.sqrt(singular[:rank])
    U0, V0 = left[:, :rank] * root[None, :], right_t[:rank].T * root[None, :]
    state, stats = iterate(
        lambda current: dcmf_step(current, target, drug_network, mirna_network, params),
        DCMFState(U0, V0, U0 @ V0.T),
        max_iterations,
    )
    return state.drug_factor @ state.mirna_factor.T, stats


def _predict(rank: int, neighbours: int, max_iterations: int):
    def predict(train_associations: jax.Array, inputs: dict[str, Any]) -> MethodOutput:
        associations = train_associations.astype(inputs["drug_similarity"].dtype)
        scores, stats = dcmf_scores(
            associations,
            inputs["drug_similarity"],
            inputs["mirna_similarity"],
            inputs["params"],
            rank=rank,
            neighbours=neighbours,
            max_iterations=max_iterations,
            full_gip=inputs.get("full_gip"),
        )
        return MethodOutput(scores, stats.iterations[None], stats.status[None])

    return predict


def dcmf_method(
    associations: np.ndarray,
    similarities: Similarities,
    *,
    dtype: str = "float64",
    transductive: bool = False,
    params: DCMFParams | None = None,
    rank: int | None = None,
    neighbours: int = 5,
    max_iterations: int = 300,
) -> Method:
    """Build DCMF (``"dcmf"``).

    Args:
        associations: the full matrix; its shape, and the GIP kernels of ``transductive=True``
            (the labelled published protocol; see ``transductive_gip_variant``).
        similarities: biological drug / miRNA similarities (the first network of each side).
        params: traced constants (defaults: ``DCMFParams()``).
        rank: latent dimension ``k`` (static; default ``min(n_drugs, n_mirnas, 30)``).
        neighbours: ``K`` of WKNKN (static).
        max_iterations: ALS cap (static).
    """
    n_drugs, n_mirnas = np.shape(associations)
    rank = min(n_drugs, n_mirnas, 30) if rank is None else int(rank)
    if not 1 <= rank <= min(n_drugs, n_mirnas):
        raise ValueError(f"rank must be in [1, {min(n_drugs, n_mirnas)}], got {rank}")
    if int(neighbours) < 1:
        raise ValueError(f"neighbours must be >= 1, got {neighbours}")
    # top_k needs K <= n on both sides; candidates that do not exist get weight 0.
    neighbours = min(int(neighbours), n_drugs, n_mirnas)
    params = DCMFParams() if params is None else params
    inputs = {
        "drug_similarity": jnp.asarray(similarities.drug, dtype),
        "mirna_similarity": jnp.asarray(similarities.mirna, dtype),
        "params": DCMFParams(*(jnp.asarray(value, dtype) for value in params)),
    }
    config = {
        "method": "dcmf",
        "similarity": similarities.source,
        "dtype": dtype,
        "params": params._asdict(),
        "rank": rank,
        "neighbours": neighbours,
        "max_iterations": max_iterations,
    }
    method = Method("dcmf", ("cmf",), _predict(rank, neighbours, max_iterations), inputs, config)
    return transductive_gip_variant(method, associations, params.gip_bandwidth, transductive)
