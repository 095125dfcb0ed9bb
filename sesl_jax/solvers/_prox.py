"""Proximal operators: singular value thresholding (exact, and warm-started for ADMM loops) and
column-wise L2,1 shrinkage.

All are pure, jit- and vmap-friendly, and take the threshold as a traced value.
"""

from __future__ import annotations

import functools
import math
from typing import Callable, NamedTuple

import jax
import jax.custom_batching
import jax.numpy as jnp
import jax.scipy.linalg

from sesl_jax.solvers._checks import check_nonnegative, check_symmetric, float_array, is_concrete


def svt(matrix: jax.Array, tau: jax.Array) -> jax.Array:
    """Singular value thresholding, the prox of ``tau * ||.||_*``.

    .. math:: \\mathrm{SVT}_\\tau(M) = U \\max(\\Sigma - \\tau, 0) V^T

    Args:
        matrix: (m, n) array.
        tau: threshold (scalar, >= 0).
    """
    matrix = _checked(matrix, tau)
    left, singular, right_t = jnp.linalg.svd(matrix, full_matrices=False)
    shrunk = jnp.maximum(singular - tau, 0.0)
    return (left * shrunk[..., None, :]) @ right_t


def svt_symmetric(matrix: jax.Array, tau: jax.Array) -> jax.Array:
    """SVT of a symmetric matrix from its eigendecomposition (2-3x cheaper than an SVD).

    Singular values of a symmetric matrix are the absolute eigenvalues, so shrinking
    ``|lambda|`` by ``tau`` and keeping the sign equals ``svt``. The input is symmetrised
    first so that rounding asymmetry cannot leak into the result; a concrete matrix further from
    symmetric than rounding raises.

    Args:
        matrix: (n, n) symmetric array.
        tau: threshold (scalar, >= 0).
    """
    matrix = _checked(matrix, tau, square=True)
    if is_concrete(matrix):  # traced, inside a solve: the solve checked its target once
        check_symmetric(matrix, "matrix", "svt_symmetric is for symmetric matrices; use svt")
    eigenvalues, vectors = jnp.linalg.eigh(_symmetrised(matrix))
    shrunk = _shrink_eigenvalues(eigenvalues, tau)
    return (vectors * shrunk[..., None, :]) @ jnp.swapaxes(vectors, -1, -2)


def _checked(matrix, tau, *, square: bool = False) -> jax.Array:
    """The public operators' arguments: a float matrix (or batch), a threshold >= 0."""
    check_nonnegative(tau, "tau")
    return float_array(matrix, "matrix", square=square, batched=True)


def _symmetrised(matrix: jax.Array) -> jax.Array:
    return 0.5 * (matrix + jnp.swapaxes(matrix, -1, -2))


def _shrink_eigenvalues(eigenvalues: jax.Array, tau: jax.Array) -> jax.Array:
    return jnp.sign(eigenvalues) * jnp.maximum(jnp.abs(eigenvalues) - tau, 0.0)


def _recombine(vectors: jax.Array, values: jax.Array) -> jax.Array:
    """``V diag(values) V^T`` at full precision."""
    return _matmul(vectors * values[..., None, :], jnp.swapaxes(vectors, -1, -2))


def _matmul(a: jax.Array, b: jax.Array) -> jax.Array:
    # Full precision: JAX's default float32 matmul on NVIDIA GPUs is TF32 (about 1e-3 relative),
    # far coarser than the residual test of the subspace SVT. No effect on CPU.
    return jnp.matmul(a, b, precision=jax.lax.Precision.HIGHEST)


def _orthonormalised(block: jax.Array) -> jax.Array:
    """An orthonormal basis of ``span(block)``, (n, p), by Cholesky QR of the column-scaled block.

    Matmul-bound (a Gram matrix, a (p, p) Cholesky, a triangular solve), unlike Householder QR.
    Here the columns are ``M v_i`` for nearly invariant ``v_i``, so once scaled they are nearly
    orthonormal and the Gram matrix is well conditioned. Should it not be, the Cholesky returns
    NaN, the residual test fails and ``svt_subspace`` falls back to ``eigh``.
    """
    norms = jnp.linalg.norm(block, axis=-2, keepdims=True)
    scaled = block / jnp.where(norms > 0, norms, 1.0)
    factor = jnp.linalg.cholesky(_matmul(jnp.swapaxes(scaled, -1, -2), scaled))  # lower L, L L^T = Gram
    return jnp.swapaxes(jax.scipy.linalg.solve_triangular(factor, jnp.swapaxes(scaled, -1, -2), lower=True), -1, -2)


class SubspaceBasis(NamedTuple):
    """What ``svt_subspace`` carries from one call to the next (a loop state, vmappable).

    Attributes:
        vectors: (n, p) orthonormal columns: the Ritz vectors (or eigenvectors) of the previous
            input, by decreasing ``|eigenvalue|``.
        valid: bool scalar; False until a first call has filled ``vectors``.
        kept: int32 scalar, how many eigenvalues the previous call kept (``|lambda| > tau``).
        exact_solves: int32 scalar, how many calls used the full ``eigh``.
        power_steps: int32 scalar, subspace-iteration steps run over all calls.
    """

    vectors: jax.Array
    valid: jax.Array
    kept: jax.Array
    exact_solves: jax.Array
    power_steps: jax.Array


def subspace_basis(size: int, rank: int, dtype: jnp.dtype) -> SubspaceBasis:
    """An empty carry for ``svt_subspace`` on (size, size) inputs with a block of ``rank``
    columns (static); its first call is a full ``eigh``."""
    if not 1 <= rank <= size:
        raise ValueError(f"the subspace rank must be in [1, {size}], got {rank}")
    zero = jnp.asarray(0, jnp.int32)
    return SubspaceBasis(jnp.eye(size, rank, dtype=dtype), jnp.asarray(False), zero, zero, zero)


def default_subspace_rank(size: int) -> int:
    """Block size of ``svt_subspace`` when none is given: 40% of the matrix.

    BNNR keeps about a third of the eigenpairs by iteration 10 and a fifth at its stop (FCD,
    n = 325: 110 and 67; PCD, n = 1372: 504 and 300), so 40% leaves a guard band for most
    iterations; the first ones, which keep more, use ``eigh``."""
    return max(1, -(-2 * size // 5))


def subspace_tolerance(dtype: jnp.dtype) -> float:
    """Default relative residual bound of ``svt_subspace``: ``1e-5``, or ``64 eps`` if larger."""
    return max(1e-5, 64 * float(jnp.finfo(dtype).eps))


class _RitzPairs(NamedTuple):
    values: jax.Array  # (p,), by decreasing magnitude
    vectors: jax.Array  # (n, p)
    image: jax.Array  # M @ vectors, (n, p)
    residual: jax.Array  # ||M u_i - theta_i u_i||_F over the kept pairs (|theta_i| > tau); NaN if any value is
    below: jax.Array  # how many Ritz values are <= tau in magnitude
    steps: jax.Array  # power steps taken in this call


def _rayleigh_ritz(symmetric: jax.Array, vectors: jax.Array, tau: jax.Array, steps: jax.Array) -> _RitzPairs:
    """Ritz pairs of ``symmetric`` on ``span(vectors)`` (orthonormal columns)."""
    image = _matmul(symmetric, vectors)
    projected = _symmetrised(_matmul(jnp.swapaxes(vectors, -1, -2), image))  # V^T M V, (p, p)
    values, rotation = jnp.linalg.eigh(projected)
    order = jnp.argsort(-jnp.abs(values))
    values, rotation = values[order], rotation[:, order]
    ritz_vectors = _matmul(vectors, rotation)
    ritz_image = _matmul(image, rotation)
    kept = jnp.abs(values) > tau
    residual = jnp.linalg.norm(jnp.where(kept, ritz_image - ritz_vectors * values, 0.0))
    # A failed Cholesky QR leaves NaN Ritz values, which are never "kept": flag them, or the
    # empty kept set would pass the residual test. NaN fails both tests, so the call falls back.
    finite = jnp.all(jnp.isfinite(values)) & jnp.all(jnp.isfinite(ritz_vectors))
    residual = jnp.where(finite, residual, jnp.nan)
    return _RitzPairs(values, ritz_vectors, ritz_image, residual, jnp.sum(~kept).astype(jnp.int32), steps)


def _subspace_iteration(symmetric, vectors, tau, bound, *, guard: int, max_power_steps: int) -> _RitzPairs:
    """Power steps ``V <- orth(M V)``, each with Rayleigh-Ritz, until the kept pairs' residual
    is at most ``bound``, the guard band is lost, or ``max_power_steps`` is reached."""

    def step(pairs: _RitzPairs) -> _RitzPairs:
        # the Rayleigh-Ritz product M U is the next power step (span(M U) = span(M V))
        return _rayleigh_ritz(symmetric, _orthonormalised(pairs.image), tau, pairs.steps + 1)

    def another_step(pairs: _RitzPairs) -> jax.Array:
        return (pairs.below >= guard) & (pairs.residual > bound) & (pairs.steps < max_power_steps)

    first = _rayleigh_ritz(symmetric, _orthonormalised(_matmul(symmetric, vectors)), tau, jnp.asarray(1, jnp.int32))
    return jax.lax.while_loop(another_step, step, first)


def _no_subspace_iteration(symmetric, vectors, tau, bound) -> _RitzPairs:
    """What ``_subspace_iteration`` returns when it is not worth running (fails every test)."""
    nan = jnp.asarray(jnp.nan, symmetric.dtype)
    zero = jnp.asarray(0, jnp.int32)
    return _RitzPairs(jnp.zeros(vectors.shape[-1], symmetric.dtype), vectors, vectors, nan, zero, zero)


def _accept(symmetric, tau, pairs: _RitzPairs):
    shrunk = _recombine(pairs.vectors, _shrink_eigenvalues(pairs.values, tau))
    return shrunk, pairs.vectors, jnp.sum(jnp.abs(pairs.values) > tau).astype(jnp.int32)


def _exact(symmetric, tau, pairs: _RitzPairs):
    """``svt_symmetric``, and the eigenvectors of largest ``|lambda|`` as a fresh basis."""
    eigenvalues, eigenvectors = jnp.linalg.eigh(symmetric)
    largest = jnp.argsort(-jnp.abs(eigenvalues))[: pairs.vectors.shape[-1]]
    shrunk = _recombine(eigenvectors, _shrink_eigenvalues(eigenvalues, tau))
    return shrunk, eigenvectors[:, largest], jnp.sum(jnp.abs(eigenvalues) > tau).astype(jnp.int32)


def svt_subspace(
    matrix: jax.Array,
    tau: jax.Array,
    basis: SubspaceBasis,
    *,
    max_power_steps: int = 3,
    rtol: float | None = None,
) -> tuple[jax.Array, SubspaceBasis]:
    """SVT of a symmetric matrix from a warm-started subspace, with a full ``eigh`` fallback.

    For a sequence of slowly changing inputs (the iterates of an ADMM loop). The previous
    call's Ritz vectors ``V`` (n, p) start subspace iteration on the new input ``M``,
    ``V <- orth(M V)``, each step followed by Rayleigh-Ritz, which gives Ritz pairs
    ``(theta_i, u_i)`` and

    .. math:: \\widehat{\\mathrm{SVT}}_\\tau(M) = \\sum_{|\\theta_i| > \\tau}
              \\mathrm{sign}(\\theta_i)(|\\theta_i| - \\tau)\\, u_i u_i^T .

    The SVT is non-expansive, so if every eigenvalue of ``M`` outside ``span(u_kept)`` has
    ``|lambda| <= tau``, the error is at most ``sqrt(2) ||R||_F`` with ``R = M U - U Theta``
    over the kept pairs. A result is accepted when that residual is at most
    ``rtol * ||M||_F`` and at least ``max(4, p / 8)`` Ritz values of the block (the guard
    band) are at most ``tau``, i.e. the block is wider than the kept spectrum. Steps repeat
    (up to ``max_power_steps``) while only the residual test fails. Otherwise the result is the
    exact ``svt_symmetric`` and the basis restarts from the ``p`` eigenvectors of largest
    ``|lambda|``; so it is on the first call, and without trying the subspace when the previous
    call kept too many eigenvalues for the guard band.

    Cost: the first step takes two products (n, n) x (n, p), later ones one (the Rayleigh-Ritz
    product ``M V`` is the next step's power); each step also a Cholesky QR of (n, p) and a
    (p, p) ``eigh``; the result one more product. ``svt_symmetric`` is one (n, n) ``eigh``.
    Both decisions are ``lax.cond`` branches under ``jit`` and ``lax.map``; under ``vmap``
    (where a plain ``lax.cond`` computes both branches) a batch runs a branch only when some
    problem takes it.

    Args:
        matrix: (n, n) symmetric array.
        tau: threshold (scalar, >= 0).
        basis: the carry from ``subspace_basis`` or the previous call.
        max_power_steps: most subspace-iteration steps per call (static, >= 1).
        rtol: relative residual bound (static); default ``subspace_tolerance(dtype)``.

    Returns:
        The thresholded (n, n) matrix and the carry for the next call.
    """
    if max_power_steps < 1:
        raise ValueError(f"max_power_steps must be >= 1, got {max_power_steps}")
    if rtol is None:
        rtol = subspace_tolerance(matrix.dtype)
    symmetric = _symmetrised(matrix)
    tau = jnp.asarray(tau, symmetric.dtype)
    rank = basis.vectors.shape[-1]
    guard = min(rank, max(4, rank // 8))
    bound = rtol * jnp.linalg.norm(symmetric)

    attempt = basis.valid & (basis.kept + guard <= rank)
    iteration = functools.partial(_subspace_iteration, guard=guard, max_power_steps=max_power_steps)
    pairs = _batch_cond(attempt, iteration, _no_subspace_iteration, symmetric, basis.vectors, tau, bound)
    resolved = attempt & (pairs.below >= guard) & (pairs.residual <= bound)
    shrunk, vectors, kept = _batch_cond(resolved, _accept, _exact, symmetric, tau, pairs)
    carry = SubspaceBasis(
        vectors,
        jnp.asarray(True),
        kept,
        basis.exact_solves + (~resolved).astype(jnp.int32),
        basis.power_steps + pairs.steps,
    )
    return shrunk, carry


def _batch_cond(predicate: jax.Array, if_true: Callable, if_false: Callable, *operands):
    """``lax.cond(predicate, if_true, if_false, *operands)`` that stays a branch under ``vmap``.

    ``vmap`` turns a ``lax.cond`` with a batched predicate into a select, which computes both
    branches for every problem. Here a batch computes a branch only if some problem takes it
    (both, then a select, only when the batch is split). ``if_true``/``if_false`` must not
    close over traced values: pass those as ``operands``.
    """

    @jax.custom_batching.custom_vmap
    def branch(predicate, *operands):
        return jax.lax.cond(predicate, if_true, if_false, *operands)

    @branch.def_vmap
    def branch_batched(axis_size, in_batched, predicate, *operands):
        predicate_batched, *operands_batched = in_batched
        operands = jax.tree_util.tree_map(
            lambda value, batched: value if batched else jnp.broadcast_to(value, (axis_size, *jnp.shape(value))),
            tuple(operands),
            tuple(operands_batched),
        )
        if not predicate_batched:
            predicate = jnp.broadcast_to(predicate, (axis_size,))
        true_batch = lambda: jax.vmap(if_true)(*operands)  # noqa: E731
        false_batch = lambda: jax.vmap(if_false)(*operands)  # noqa: E731

        def split():
            def pick(taken, other):
                return jnp.where(jnp.reshape(predicate, (axis_size,) + (1,) * (jnp.ndim(taken) - 1)), taken, other)

            return jax.tree_util.tree_map(pick, true_batch(), false_batch())

        case = jnp.where(jnp.all(predicate), 0, jnp.where(jnp.any(predicate), 1, 2))
        outputs = jax.lax.switch(case, [true_batch, split, false_batch])
        return outputs, jax.tree_util.tree_map(lambda _: True, outputs)

    return branch(predicate, *operands)


def sign_schedule(dtype: jnp.dtype) -> tuple[float, ...]:
    """The scale factors of ``matrix_absolute``'s Newton-Schulz steps for ``dtype`` (static).

    Scaled Newton-Schulz (Chen and Chow 2014): ``S <- (a/2) S (3 I - a^2 S^2)`` with
    ``a = sqrt(3 / (1 + l + l^2))`` maps eigenvalues in ``[l, 1]`` into ``[l', 1]`` with
    ``l' = (a l / 2)(3 - a^2 l^2)``; unscaled steps (``a = 1``) grow small values only 1.5x per
    step, these up to 2.6x. Starting from ``l = 4 eps`` (relative to the Frobenius norm; smaller
    eigenvalues cost at most that much, see ``matrix_absolute``), until ``1 - l <= 4 eps``: 19 steps
    in float32, 41 in float64.
    """
    eps = float(jnp.finfo(dtype).eps)
    low, scales = 4 * eps, []
    while 1.0 - low > 4 * eps:
        scale = math.sqrt(3.0 / (1.0 + low + low * low))
        low = 0.5 * scale * low * (3.0 - scale * scale * low * low)
        scales.append(scale)
    return tuple(scales)


def matrix_absolute(symmetric: jax.Array) -> jax.Array:
    """``|A| = V |Lambda| V^T`` of a symmetric matrix by matrix products only.

    ``|A| = sign(A) A``, with ``sign(A)`` by the scaled Newton-Schulz steps of ``sign_schedule``
    from ``A / ||A||_F``. Eigenvalues below ``4 eps ||A||_F`` in magnitude may end short of
    ``+-1``; each costs at most its own size, ``4 eps ||A||_F``, in the result. Two products per
    step (full precision, see ``_matmul``): batched matmuls suit accelerators, where ``eigh`` of a
    batch runs one matrix at a time.
    """
    norm = jnp.linalg.norm(symmetric, axis=(-2, -1), keepdims=True)
    sign = symmetric / jnp.where(norm > 0, norm, 1.0)
    eye = jnp.eye(symmetric.shape[-1], dtype=symmetric.dtype)

    def step(sign, scale):
        square = _matmul(sign, sign)
        return 0.5 * scale * _matmul(sign, 3.0 * eye - (scale * scale) * square), None

    scales = jnp.asarray(sign_schedule(symmetric.dtype), symmetric.dtype)
    sign, _ = jax.lax.scan(step, sign, scales)
    return _symmetrised(_matmul(sign, symmetric))


def svt_sign(matrix: jax.Array, tau: jax.Array) -> jax.Array:
    """SVT of a symmetric matrix by matrix products only (no eigendecomposition).

    Shrinking each eigenvalue toward 0 by ``tau`` is ``lambda - clip(lambda, -tau, tau)``, and
    ``clip(lambda, -tau, tau) = (|lambda + tau| - |lambda - tau|) / 2``, so

    .. math:: \\mathrm{SVT}_\\tau(M) = M - \\tfrac12\\left(|M + \\tau I| - |M - \\tau I|\\right)

    with the two absolute values from ``matrix_absolute`` (one batch of two). Eigenvalues near
    ``+-tau``, which the sign steps resolve last, enter multiplied by their distance to ``+-tau``;
    rounding over the steps is what remains: on FCD's BNNR iterates 2.0e-6 to 1.1e-5 of ``||M||_F``
    in float32 (``eigh``: 0.8e-6 to 1.3e-6), 5e-14 to 4e-13 in float64 (``python benchmarks/svt.py
    --dtypes float32 float64 --svts sign --parts call``). About 80 (n, n) products in float32 against one
    ``eigh``: slower on a CPU (FCD: 6x), meant for accelerators.

    Args:
        matrix: (n, n) symmetric array.
        tau: threshold (scalar, >= 0).
    """
    symmetric = _symmetrised(_checked(matrix, tau, square=True))
    shift = jnp.asarray(tau, symmetric.dtype) * jnp.eye(symmetric.shape[-1], dtype=symmetric.dtype)
    upper, lower = matrix_absolute(jnp.stack([symmetric + shift, symmetric - shift]))
    return symmetric - 0.5 * (upper - lower)


def svt_gram(matrix: jax.Array, tau: jax.Array) -> jax.Array:
    """SVT through the eigendecomposition of the Gram matrix ``M^T M``.

    .. math:: \\mathrm{SVT}_\\tau(M) = M V \\,\\mathrm{diag}(\\max(1 - \\tau/\\sigma, 0))\\, V^T

    Cheaper than an SVD and robust where float32 ``gesdd`` fails on clustered singular
    values. Singular values below ``tau`` are dropped whatever their accuracy, so the
    squared conditioning of the Gram matrix only affects values near the threshold.

    Args:
        matrix: (m, n) array; the Gram matrix is built on the smaller side (static shapes).
        tau: threshold (scalar, >= 0).
    """
    matrix = _checked(matrix, tau)
    if matrix.shape[-2] < matrix.shape[-1]:
        return jnp.swapaxes(svt_gram(jnp.swapaxes(matrix, -1, -2), tau), -1, -2)
    gram = jnp.swapaxes(matrix, -1, -2) @ matrix
    eigenvalues, vectors = jnp.linalg.eigh(gram)
    singular = jnp.sqrt(jnp.maximum(eigenvalues, 0.0))
    keep = singular > tau
    factor = jnp.where(keep, 1.0 - tau / jnp.where(keep, singular, 1.0), 0.0)
    return ((matrix @ vectors) * factor[..., None, :]) @ jnp.swapaxes(vectors, -1, -2)


def column_shrink(matrix: jax.Array, tau: jax.Array) -> jax.Array:
    """Prox of ``tau * ||.||_{2,1}`` (sum of column norms): each column scaled by
    ``max(0, 1 - tau / ||col||)``. Zero columns stay zero (no division by zero).

    Args:
        matrix: (m, n) array.
        tau: threshold (scalar, >= 0).
    """
    matrix = _checked(matrix, tau)
    squared = jnp.sum(matrix * matrix, axis=-2, keepdims=True)
    # double where: keeps both the value and its gradient finite at a zero column
    nonzero = squared > 0
    norms = jnp.where(nonzero, jnp.sqrt(jnp.where(nonzero, squared, 1.0)), 0.0)
    scale = jnp.where(norms > tau, 1.0 - tau / jnp.where(nonzero, norms, 1.0), 0.0)
    return matrix * scale
