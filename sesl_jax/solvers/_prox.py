"""Proximal operators: singular value thresholding and column-wise L2,1 shrinkage.

All are pure, jit- and vmap-friendly, and take the threshold as a traced value.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def svt(matrix: jax.Array, tau: jax.Array) -> jax.Array:
    """Singular value thresholding, the prox of ``tau * ||.||_*``.

    .. math:: \\mathrm{SVT}_\\tau(M) = U \\max(\\Sigma - \\tau, 0) V^T

    Args:
        matrix: (m, n) array.
        tau: threshold (scalar, >= 0).
    """
    left, singular, right_t = jnp.linalg.svd(matrix, full_matrices=False)
    shrunk = jnp.maximum(singular - tau, 0.0)
    return (left * shrunk[..., None, :]) @ right_t


def svt_symmetric(matrix: jax.Array, tau: jax.Array) -> jax.Array:
    """SVT of a symmetric matrix from its eigendecomposition (2-3x cheaper than an SVD).

    Singular values of a symmetric matrix are the absolute eigenvalues, so shrinking
    ``|lambda|`` by ``tau`` and keeping the sign equals ``svt``. The input is symmetrised
    first so that rounding asymmetry cannot leak into the result.

    Args:
        matrix: (n, n) symmetric array.
        tau: threshold (scalar, >= 0).
    """
    symmetric = 0.5 * (matrix + jnp.swapaxes(matrix, -1, -2))
    eigenvalues, vectors = jnp.linalg.eigh(symmetric)
    shrunk = jnp.sign(eigenvalues) * jnp.maximum(jnp.abs(eigenvalues) - tau, 0.0)
    return (vectors * shrunk[..., None, :]) @ jnp.swapaxes(vectors, -1, -2)


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
    squared = jnp.sum(matrix * matrix, axis=-2, keepdims=True)
    # double where: keeps both the value and its gradient finite at a zero column
    nonzero = squared > 0
    norms = jnp.where(nonzero, jnp.sqrt(jnp.where(nonzero, squared, 1.0)), 0.0)
    scale = jnp.where(norms > tau, 1.0 - tau / jnp.where(nonzero, norms, 1.0), 0.0)
    return matrix * scale
