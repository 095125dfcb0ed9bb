"""Low-rank representation with a column-sparse error, solved by inexact ALM (SPEC step 3).

.. math:: \\min_{X,P} \\|X\\|_* + \\alpha \\|P\\|_{2,1} \\quad \\text{s.t.} \\quad A = AX + P

The denoised association matrix is ``A1 = A X*``.

Exact reduction: started from zero, every iterate ``X``, ``J``, ``Y2`` has its column space
inside the span of A's right singular vectors ``Q`` (m x r, r = min(n, m)): ``A^T``, SVT and
``(A^T A + I)^{-1}`` all map that span into itself. So the solver runs on ``X = Q Xq`` with
r x m blocks; for FCD (39 x 286, X over miRNAs) the SVT works on 39 x 39 Gram matrices instead
of 286 x 286. The iterates are the same as the plain algorithm's up to rounding.

Second exact reduction (``support``): rows and columns of A that are zero stay zero in ``P``,
``Y1``, ``A X`` and (columns) in ``X``, ``J``, ``Y2``, and they add nothing to any column norm or
residual maximum; so the solver can run on the submatrix of rows and columns that may hold a
pair and scatter the result back. PCD (831 x 541) has pairs in only 39 rows and 286 columns.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sesl_jax._values import check_integer
from sesl_jax.solvers._checks import check_choice, check_params, check_params_type, float_array, is_concrete
from sesl_jax.solvers._driver import SolverStats, iterate
from sesl_jax.solvers._prox import column_shrink, svt, svt_gram

LRRSide = Literal["mirnas", "drugs"]
LRRSvt = Literal["gram", "svd"]
LRR_SIDES = ("mirnas", "drugs")
LRR_SVT_METHODS = ("gram", "svd")


class LRRParams(NamedTuple):
    """Traced hyper-parameters of the IALM (vmappable without recompiling).

    ``mu`` is the initial penalty; it grows by ``rho`` per iteration up to ``mu_max``. The
    solve stops when the largest absolute entry of both constraint residuals is below ``tol``.
    """

    alpha: float = 0.3
    mu: float = 1e-4
    rho: float = 1.1
    mu_max: float = 1e10
    tol: float = 1e-6


class LRRState(NamedTuple):
    """IALM iterate in the coordinates of the basis ``Q`` (``Q = I`` without reduction)."""

    coefficients: jax.Array  # Xq, (r, m); X = Q Xq
    auxiliary: jax.Array  # Jq, (r, m), the split copy of X that carries the nuclear norm
    noise: jax.Array  # P, (n, m)
    multiplier_data: jax.Array  # Y1, (n, m)
    multiplier_split: jax.Array  # Y2q, (r, m)
    mu: jax.Array


class LRRProblem(NamedTuple):
    """Per-problem constants, computed once before the loop."""

    data: jax.Array  # A, (n, m)
    projected_t: jax.Array  # B = Q^T A^T, (r, n)
    gram_inverse: jax.Array  # (B B^T + I)^{-1} = Q^T (A^T A + I)^{-1} Q, (r, r)
    basis: jax.Array | None  # Q, (m, r); None means the identity (no reduction)


class LRRResult(NamedTuple):
    """What ``lrr_ialm`` returns. With ``side="drugs"`` the solve ran on ``A^T``: ``noise`` keeps
    that orientation (n_mirnas, n_drugs) while ``denoised`` is transposed back."""

    coefficients: jax.Array  # X*, (m, m) on the chosen side
    noise: jax.Array  # P*, same shape as the (possibly transposed) input
    denoised: jax.Array  # A X*, same shape and orientation as the input associations
    stats: SolverStats


def lrr_problem(data: jax.Array, reduce: bool, rank_bound: int | None = None) -> LRRProblem:
    """The constants of the IALM on ``data`` (A, or A^T for the drug side), for ``lrr_init`` and
    ``lrr_step``; ``reduce`` and ``rank_bound`` as in ``lrr_ialm``."""
    n, m = data.shape
    keep = min(n, m) if rank_bound is None else min(n, m, rank_bound)
    if reduce and keep < m:
        # Right singular vectors span a superset of range(A^T) and are eigenvectors of A^T A;
        # the leading ``keep`` of them already span it when rank(A) <= keep.
        # LAPACK's SVD may never return on inf: the basis comes from the finite entries, and the
        # iterate, built from ``data`` itself, turns non-finite and stops with Status.NONFINITE.
        _, _, right_t = jnp.linalg.svd(jnp.where(jnp.isfinite(data), data, 0.0), full_matrices=False)
        right_t = right_t[:keep]
        basis = right_t.T
        projected_t = right_t @ data.T
    else:
        basis, projected_t = None, data.T
    r = projected_t.shape[0]
    gram_inverse = jnp.linalg.inv(projected_t @ projected_t.T + jnp.eye(r, dtype=data.dtype))
    return LRRProblem(data, projected_t, gram_inverse, basis)


def lrr_init(problem: LRRProblem, params: LRRParams) -> LRRState:
    """The IALM's start: every iterate zero, the penalty at ``params.mu``."""
    n, m = problem.data.shape
    r = problem.projected_t.shape[0]
    dtype = problem.data.dtype
    zeros_rm = jnp.zeros((r, m), dtype)
    zeros_nm = jnp.zeros((n, m), dtype)
    return LRRState(zeros_rm, zeros_rm, zeros_nm, zeros_nm, zeros_rm, jnp.asarray(params.mu, dtype))


def lrr_step(state: LRRState, problem: LRRProblem, params: LRRParams, svt_method: LRRSvt) -> tuple[LRRState, jax.Array]:
    """One IALM iteration, in the order of SPEC step 3, in the coordinates of ``Q``."""
    X, J, P, Y1, Y2, mu = state
    A, B = problem.data, problem.projected_t
    threshold = svt_gram if svt_method == "gram" else svt
    J = threshold(X + Y2 / mu, 1.0 / mu)
    X = problem.gram_inverse @ (B @ (A - P) + J + (B @ Y1 - Y2) / mu)
    data_x = B.T @ X  # = A Q Xq = A X
    P = column_shrink(A - data_x + Y1 / mu, params.alpha / mu)
    residual_data = A - data_x - P
    residual_split = X - J
    full_split = residual_split if problem.basis is None else problem.basis @ residual_split
    converged = (jnp.max(jnp.abs(residual_data)) < params.tol) & (jnp.max(jnp.abs(full_split)) < params.tol)
    Y1 = Y1 + mu * residual_data
    Y2 = Y2 + mu * residual_split
    mu = jnp.minimum(params.rho * mu, params.mu_max)
    return LRRState(X, J, P, Y1, Y2, mu), converged


def check_lrr_params(params: LRRParams) -> jax.Array:
    """Concrete values out of range raise a ValueError naming the field; returns whether (traced)
    values are in range."""
    check_params_type(params, LRRParams)
    valid = check_params(params, at_least={"rho": 1.0, "tol": 0.0}, above={"alpha": 0.0, "mu": 0.0, "mu_max": 0.0})
    if is_concrete(params.mu) and is_concrete(params.mu_max):
        if np.any(np.asarray(params.mu_max) < np.asarray(params.mu)):  # the penalty only grows, up to mu_max
            raise ValueError(f"LRRParams.mu_max ({params.mu_max}) must be at least mu ({params.mu})")
        return valid
    return valid & jnp.all(jnp.asarray(params.mu_max) >= jnp.asarray(params.mu))


def lrr_ialm(
    associations: jax.Array,
    params: LRRParams = LRRParams(),
    *,
    side: LRRSide = "mirnas",
    svt_method: LRRSvt = "gram",
    reduce: bool = True,
    rank_bound: int | None = None,
    max_iterations: int = 1000,
    support: tuple[jax.Array, jax.Array] | None = None,
) -> LRRResult:
    """Solve the LRR problem by inexact ALM and return ``A1 = A X*``.

    Args:
        associations: A, (n_drugs, n_mirnas) float array.
        params: traced constants (alpha, mu, rho, mu_max, tol).
        side: ``"mirnas"`` (X is n_mirnas x n_mirnas, as the SPEC writes it) or ``"drugs"``
            (the problem on ``A^T``; X is n_drugs x n_drugs; the result is transposed back).
        svt_method: ``"gram"`` (eigh of the smaller Gram matrix, default) or ``"svd"``.
        reduce: run in the span of A's right singular vectors (exact; see module docstring).
        rank_bound: static upper bound on rank(A) (e.g. the number of rows with a known pair in
            the full matrix, which no fold can exceed); with ``reduce`` the basis keeps only that
            many singular vectors, so PCD's 831 x 541 problem runs in 39 dimensions. A bound
            below the true rank changes the result, so only pass a true bound.
        max_iterations: static cap.
        support: ``(rows, columns)``, integer index arrays of the drugs and miRNAs of
            ``associations`` outside which every entry is zero (e.g. those with a known pair in
            the full matrix, which hiding pairs cannot extend); the solve runs on that submatrix
            (exact, see module docstring) and ``rank_bound`` applies to it. Entries outside the
            support must be zero: they are ignored.

    Returns:
        ``LRRResult``; ``denoised`` has the orientation of ``associations``.

    Raises:
        ValueError: ``associations`` is not a matrix, an unknown ``side`` or ``svt_method``, a
            ``rank_bound`` below 1, or (given concrete values) a parameter out of its range.
    """
    associations = float_array(associations, "associations")
    check_choice(side, "side", LRR_SIDES)
    check_choice(svt_method, "svt_method", LRR_SVT_METHODS)
    if rank_bound is not None:
        check_integer("rank_bound (a true upper bound on rank(A))", rank_bound, 1)
    check_integer("max_iterations", max_iterations, 0)
    valid = check_lrr_params(params)
    if support is not None:
        return _lrr_on_support(
            associations, params, support, side=side, svt_method=svt_method, reduce=reduce,
            rank_bound=rank_bound, max_iterations=max_iterations,
        )
    data = associations.T if side == "drugs" else associations
    params = LRRParams(*(jnp.asarray(value, data.dtype) for value in params))
    problem = lrr_problem(data, reduce, rank_bound)
    state, stats = iterate(lambda current: lrr_step(current, problem, params, svt_method), lrr_init(problem, params),
                           max_iterations, valid)
    coefficients = state.coefficients if problem.basis is None else problem.basis @ state.coefficients
    noise = state.noise
    denoised = problem.projected_t.T @ state.coefficients
    if side == "drugs":
        denoised = denoised.T
    return LRRResult(coefficients, noise, denoised, stats)


def _lrr_on_support(associations: jax.Array, params: LRRParams, support, *, side: LRRSide, **options) -> LRRResult:
    """``lrr_ialm`` on ``associations[rows][:, columns]``, scattered back to the full shape."""
    rows, columns = (jnp.asarray(index) for index in support)
    _check_support(associations, rows, columns)
    inner = lrr_ialm(associations[rows][:, columns], params, side=side, **options)
    n, m = associations.shape
    dtype = associations.dtype
    # X* acts on one side; P* has the orientation the solver worked in (A or A^T).
    side_index, side_size = (rows, n) if side == "drugs" else (columns, m)
    noise_index = (columns[:, None], rows) if side == "drugs" else (rows[:, None], columns)
    noise_shape = (m, n) if side == "drugs" else (n, m)
    coefficients = jnp.zeros((side_size, side_size), dtype).at[side_index[:, None], side_index].set(inner.coefficients)
    noise = jnp.zeros(noise_shape, dtype).at[noise_index].set(inner.noise)
    denoised = jnp.zeros((n, m), dtype).at[rows[:, None], columns].set(inner.denoised)
    return LRRResult(coefficients, noise, denoised, inner.stats)


def _check_support(associations: jax.Array, rows: jax.Array, columns: jax.Array) -> None:
    """Concrete support indices: integers in range, each once, with every nonzero entry inside
    (JAX would clamp an index out of range, and a known pair outside would be dropped)."""
    for name, index, size in (("rows", rows, associations.shape[0]), ("columns", columns, associations.shape[1])):
        if not jnp.issubdtype(index.dtype, jnp.integer) or index.ndim != 1:
            raise ValueError(f"support {name} must be a 1-D integer index array, got dtype {index.dtype}, "
                             f"shape {tuple(index.shape)}")
        if is_concrete(index):
            values = np.asarray(index)
            if values.size and (values.min() < 0 or values.max() >= size):
                raise ValueError(f"support {name}: indices must be in [0, {size}), got {values.min()}..{values.max()}")
            if len(np.unique(values)) != len(values):
                raise ValueError(f"support {name}: an index appears more than once")
    if is_concrete(associations) and is_concrete(rows) and is_concrete(columns):
        outside = np.asarray(associations) != 0
        outside[np.ix_(np.asarray(rows), np.asarray(columns))] = False
        if outside.any():
            row, column = (int(i) for i in np.argwhere(outside)[0])
            raise ValueError(f"associations has a nonzero entry outside the support, at row {row}, column {column}: "
                             "the support must hold every row and column with a nonzero entry")
