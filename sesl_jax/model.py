"""The SESL prediction as one pure JAX function (SPEC steps 3-4).

``sesl_scores`` maps a training association matrix and two similarity matrices to a full
score matrix. It is what the estimator fits and what the evaluation engine vmaps over folds;
everything that depends on the associations (sparse learning, T, Omega) happens inside it.
"""

from __future__ import annotations

import dataclasses
from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp

from sesl_jax._values import check_boolean, check_integer
from sesl_jax.solvers import BNNR_SVT_METHODS, BNNRParams, BNNRState, LRRParams, SolverStats, bnnr_complete, lrr_ialm

Observed = Literal["nonzero", "known"]


@dataclasses.dataclass(frozen=True)
class SESLOptions:
    """Static switches (hashable; changing one recompiles).

    Attributes:
        sparse_learning: denoise A by LRR before completion (False gives "SE"/BNNR alone).
        lrr_side: ``"mirnas"`` (X over miRNAs, as SPEC writes it) or ``"drugs"``.
        lrr_svt: ``"gram"`` or ``"svd"``.
        lrr_reduce: exact reduction of LRR to the span of A's right singular vectors.
        lrr_rank_bound: a true upper bound on the rank of every training matrix (see
            ``lrr_ialm``); ``sesl_family_method`` sets it from the full matrix.
        lrr_max_iterations: IALM cap.
        bnnr_svt: ``"eigh"`` (symmetric SVT, exact), ``"svd"``, ``"subspace"`` (warm-started
            Rayleigh-Ritz with an ``eigh`` fallback, block of ``default_subspace_rank(n)``
            columns; see ``sesl_jax.solvers.svt_subspace``) or ``"sign"`` (matrix products
            only, for accelerators; ``sesl_jax.solvers.svt_sign``).
        bnnr_max_iterations: ADMM cap (300 in the public BNNR code).
        observed: Omega of BNNR. ``"nonzero"`` (default, as the public BNNR code): every
            nonzero entry of T, so the dense denoised scores are observations.
            ``"known"`` (the paper's wording): similarity entries that are nonzero plus the
            known pairs (training A == 1) only.
    """

    sparse_learning: bool = True
    lrr_side: Literal["mirnas", "drugs"] = "mirnas"
    lrr_svt: Literal["gram", "svd"] = "gram"
    lrr_reduce: bool = True
    lrr_rank_bound: int | None = None
    lrr_max_iterations: int = 1000
    bnnr_svt: Literal["eigh", "svd", "subspace", "sign"] = "eigh"
    bnnr_max_iterations: int = 300
    observed: Observed = "nonzero"

    def __post_init__(self) -> None:
        _check_choice("lrr_side", self.lrr_side, ("mirnas", "drugs"))
        _check_choice("lrr_svt", self.lrr_svt, ("gram", "svd"))
        _check_choice("bnnr_svt", self.bnnr_svt, BNNR_SVT_METHODS)
        _check_choice("observed", self.observed, ("nonzero", "known"))
        for name in ("lrr_max_iterations", "bnnr_max_iterations"):
            check_integer(name, getattr(self, name), 1)
        for name in ("sparse_learning", "lrr_reduce"):
            check_boolean(name, getattr(self, name))
        check_integer("lrr_rank_bound", self.lrr_rank_bound, 1, optional=True)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


class SESLParams(NamedTuple):
    """Traced numbers of both solvers."""

    lrr: LRRParams = LRRParams()
    bnnr: BNNRParams = BNNRParams()


def default_params(dtype: str | jnp.dtype = "float64") -> SESLParams:
    """Defaults per precision: float32 cannot reach LRR's 1e-6 residual (it plateaus near
    7e-7, PERF.md), so its tolerance is 1e-5."""
    is_double = jnp.dtype(dtype) == jnp.float64
    return SESLParams(LRRParams(tol=1e-6 if is_double else 1e-5), BNNRParams())


class SESLOutput(NamedTuple):
    scores: jax.Array  # (n_drugs, n_mirnas), the association block of BNNR's W, in [0, 1]
    denoised: jax.Array  # (n_drugs, n_mirnas), A1 = A X* (A itself without sparse learning)
    lrr: SolverStats
    bnnr: SolverStats
    bnnr_state: BNNRState | None = None  # BNNR's final iterate, a start for a solve with more known pairs


def heterogeneous_matrix(drug_similarity: jax.Array, block: jax.Array, mirna_similarity: jax.Array) -> jax.Array:
    """``T = [[Sd, A1], [A1^T, Sm]]``, (n_drugs + n_mirnas) square."""
    return jnp.block([[drug_similarity, block], [block.T, mirna_similarity]])


def observed_mask(target: jax.Array, associations: jax.Array, observed: Observed) -> jax.Array:
    """Omega as a boolean matrix the shape of ``target`` (see ``SESLOptions.observed``)."""
    mask = target != 0
    if observed == "known":
        n_drugs = associations.shape[0]
        known = associations != 0
        mask = mask.at[:n_drugs, n_drugs:].set(known).at[n_drugs:, :n_drugs].set(known.T)
    return mask


def sesl_scores(
    associations: jax.Array,
    drug_similarity: jax.Array,
    mirna_similarity: jax.Array,
    params: SESLParams,
    options: SESLOptions = SESLOptions(),
    coefficients: jax.Array | None = None,
    support: tuple[jax.Array, jax.Array] | None = None,
    bnnr_start: BNNRState | None = None,
) -> SESLOutput:
    """Score every drug-miRNA pair.

    Args:
        associations: training A, (n_drugs, n_mirnas), 0/1 floats.
        drug_similarity: (n_drugs, n_drugs) symmetric, in [0, 1].
        mirna_similarity: (n_mirnas, n_mirnas) symmetric, in [0, 1].
        params: traced solver constants.
        options: static switches.
        coefficients: a precomputed ``X*`` (on ``options.lrr_side``) to apply to ``associations``
            instead of solving the LRR on them: ``A1 = A X*``. Only for the labelled "transductive"
            reproduction protocol, where ``X*`` is fitted on the full matrix and so leaks.
        support: ``(rows, columns)`` outside which ``associations`` is zero; sparse learning runs
            on that submatrix (exact; see ``lrr_ialm``).
        bnnr_start: start BNNR from this state (``SESLOutput.bnnr_state`` of a solve on fewer
            known pairs) instead of cold; see ``bnnr_complete``.

    Returns:
        ``SESLOutput``; ``lrr`` stats are zero iterations / converged when LRR did not run.
    """
    dtype = associations.dtype
    not_run = SolverStats(jnp.asarray(0, jnp.int32), jnp.asarray(0, jnp.int32))
    if coefficients is not None:
        coefficients = coefficients.astype(dtype)
        block = coefficients.T @ associations if options.lrr_side == "drugs" else associations @ coefficients
        lrr_stats = not_run
    elif options.sparse_learning:
        result = lrr_ialm(
            associations,
            params.lrr,
            side=options.lrr_side,
            svt_method=options.lrr_svt,
            reduce=options.lrr_reduce,
            rank_bound=options.lrr_rank_bound,
            max_iterations=options.lrr_max_iterations,
            support=support,
        )
        block, lrr_stats = result.denoised, result.stats
    else:
        block, lrr_stats = associations, not_run
    target = heterogeneous_matrix(drug_similarity.astype(dtype), block, mirna_similarity.astype(dtype))
    mask = observed_mask(target, associations, options.observed)
    completion = bnnr_complete(
        target, mask, params.bnnr, svt_method=options.bnnr_svt, max_iterations=options.bnnr_max_iterations,
        start=bnnr_start,
    )
    n_drugs = associations.shape[0]
    return SESLOutput(completion.completed[:n_drugs, n_drugs:], block, lrr_stats, completion.stats, completion.state)
