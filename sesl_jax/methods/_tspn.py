"""TSPN: truncated Schatten p-norm completion (Wang, Liu, Ren, Wu, Zhao, Pang & Zhang 2023,
"Predicting potential small molecule-miRNA associations utilizing truncated schatten p-norm",
Briefings in Bioinformatics 24(4), bbad234).

The heterogeneous matrix ``T = [[Sd', A], [A^T, Sm']]`` of GIP-augmented similarities and the
training associations is completed by

.. math:: \\min_W \\|W\\|_{r,p}^p + \\frac{\\alpha}{2}\\|R_\\Omega(W) - R_\\Omega(T)\\|_F^2
          \\quad\\text{s.t.}\\quad 0 \\le W_{ij} \\le 1, \\qquad
          \\|W\\|_{r,p}^p = \\sum_{i > r} \\sigma_i(W)^p

(the ``r`` largest singular values are free; the rest pay the Schatten-p quasi-norm), by the
ADMM of BNNR (Yang et al. 2019) with its singular value thresholding replaced by a
Schatten-p shrinkage. Two variants (``tspn_method(variant=...)``):

``"default"`` (this project's reading of the paper): truncated generalised soft-thresholding.

.. code-block:: text

    start X = W = Y = T
    Z = X + (Y + alpha R_Omega(T)) / beta
    W = clip(Z - alpha / (alpha + beta) R_Omega(Z), 0, 1)
    X = TGST(W - Y / beta, 1 / beta)   # keep the r largest sigma, GST(sigma, 1/beta, p) on the rest
    Y = Y + beta (X - W)
    stop as BNNR: ||dX||_F / ||X||_F < tol1 and its change < tol2, or the cap

Generalised soft-thresholding (GST; Zuo, Meng, Zhang, Feng & Zhang 2013, ICCV) solves
``min_x lam |x|^p + (x - y)^2 / 2`` per value: ``x = 0`` when
``|y| <= tau_p(lam) = (2 lam (1 - p))^{1/(2-p)} + lam p (2 lam (1 - p))^{(p-1)/(2-p)}``, else
``sign(y) x`` with the fixed point ``x <- |y| - lam p x^{p-1}`` run ``gst_iterations`` times
(static, default 10) from ``x = |y|``: the exact prox of the Schatten-p term at every
iteration. This is our choice, not the authors': their public code (below) shrinks with fixed
weights instead. With ``p = 1`` GST is plain soft-thresholding (and ``r = 0`` gives BNNR
exactly). Choices (the paper's constants were not available to us; all are parameters):
``p = 0.9``, ``r = 1``, ``alpha = 1``, ``beta = 10``, ``tol1 = 2e-3``, ``tol2 = 1e-5``,
300 iterations at most (BNNR's); Omega = the nonzero entries of T (BNNR's convention);
similarities ``(S + GIP) / 2`` where ``S != 0``, ``GIP`` elsewhere. ``p`` and ``r`` are the best
of a small grid on FCD 5-fold CV (one seed): smaller ``p`` shrinks the tail much harder at
the same ``beta`` (GST threshold 0.32 at p = 0.5 vs 0.1 at p = 1) and lost up to 0.15 AUC;
``p = 1`` (truncated nuclear norm) scored higher still, but is no longer a Schatten-p model.

``"published-code"``: the update rules of the authors' public ``TSPN.py``
(github.com/Skyrocket-lty/TSPN), constants of its ``run_MC``:

.. code-block:: text

    Omega = nonzero entries of T;  t = T
    repeat 3 times (outer passes):
        w_i = 0 for i < r,  p sigma_i(t)^(p-1) otherwise     # fixed for the whole pass
        start X = N = Y = t
        Z = X + (Y + alpha R_Omega(t)) / beta
        N = clip(Z - alpha / (alpha + beta) R_Omega(Z), 0, 1)
        X = U diag(max(sigma_i - w_i / beta, 0)) V^T  of  N - Y / beta   # weighted SVT
        Y = Y + gamma (X - N)                                            # gamma = 1, not beta
        stop as BNNR, or 300 iterations
        t = N                                                 # the next pass re-targets it
    prediction: the drugs x miRNAs block of the last N

with ``p = 0.8``, ``r = 1``, ``alpha = 1``, ``beta = 10``, ``gamma = 1``, ``tol1 = 2e-3``,
``tol2 = 1e-5`` and similarities ``S`` where ``S != 0``, ``GIP`` elsewhere (``"fill_zeros"``;
their ``Calculate GIPK similarity.py``). The weights are the gradient of ``sigma^p`` at the
pass's start matrix, i.e. one linearisation of the Schatten-p term per pass (a reweighted
nuclear norm), not its prox. The code writes the weights as
``max(p (1 - sigma_i(B^T A)) sigma_i^(p-1), 0)`` with ``A``, ``B`` the first ``r`` rows of ``U``,
``V^T``; both have orthonormal rows, so ``sigma_i(B^T A)`` is 1 for ``i < r`` and 0 beyond,
which is the truncation written above. Where the code does not run as published we read it as
meant: ``TSPN`` returns its weight vector (``T_recover = W``), which the next pass could not
decompose, so a pass returns ``N``, the clipped completion (the prediction of BNNR-style
codes); ``Calculate GIPK similarity.py`` loads the similarities with ``dtype=int``, we keep
them real.

T and Omega are symmetric, so are all iterates: the singular values are ``|eigenvalues|`` of
one ``eigh`` (signs kept), as in SESL's BNNR.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sesl_jax.methods._base import Method
from sesl_jax.similarity import Similarities
from sesl_jax.methods._kernels import (
    Integration,
    check_completion_integration,
    completion_predict,
    transductive_gip_variant,
    variant_params,
)
from sesl_jax.solvers import BNNRState, SolverStats, bnnr_init, bounded_admm_step, iterate


class TSPNParams(NamedTuple):
    """Traced hyper-parameters of the default variant: ``p`` of the quasi-norm, BNNR's ADMM
    constants, GIP bandwidth.

    The truncation ``r`` is static (it is an index), see ``tspn_method``.
    """

    p: float = 0.9
    alpha: float = 1.0
    beta: float = 10.0
    tol1: float = 2e-3
    tol2: float = 1e-5
    gip_bandwidth: float = 1.0


class TSPNPublishedParams(NamedTuple):
    """Traced hyper-parameters of the ``"published-code"`` variant (the public ``run_MC``'s).

    Attributes:
        p: exponent of the Schatten-p weights ``p sigma^(p-1)``.
        alpha, beta: BNNR's data weight and ADMM penalty (the SVT threshold is ``w_i / beta``).
        dual_step: ``gamma`` of the multiplier update ``Y += gamma (X - N)``.
        tol1, tol2: BNNR's stopping rule, per pass.
        gip_bandwidth: ``gamma'`` of the GIP kernels.
    """

    p: float = 0.8
    alpha: float = 1.0
    beta: float = 10.0
    dual_step: float = 1.0
    tol1: float = 2e-3
    tol2: float = 1e-5
    gip_bandwidth: float = 1.0


PARAMS = {"default": TSPNParams, "published-code": TSPNPublishedParams}


def generalized_soft_threshold(values: jax.Array, lam: jax.Array, p: jax.Array, iterations: int) -> jax.Array:
    """GST of Zuo et al. (2013): the prox of ``lam |x|^p`` (0 < p <= 1) applied per entry."""
    magnitude = jnp.abs(values)
    base = 2.0 * lam * (1.0 - p)
    threshold = base ** (1.0 / (2.0 - p)) + lam * p * base ** ((p - 1.0) / (2.0 - p))
    active = magnitude > threshold
    safe = jnp.where(active, magnitude, 1.0)

    def body(_, x):
        return safe - lam * p * x ** (p - 1.0)

    shrunk = jax.lax.fori_loop(0, iterations, body, safe)
    return jnp.where(active, jnp.sign(values) * shrunk, 0.0)


def _magnitude_rank(eigenvalues: jax.Array) -> jax.Array:
    """Position of each eigenvalue when sorted by decreasing ``|eigenvalue|`` (0: the largest),
    i.e. the index of its singular value in an SVD."""
    return jnp.argsort(jnp.argsort(-jnp.abs(eigenvalues)))


def truncated_gst_symmetric(matrix: jax.Array, lam: jax.Array, p: jax.Array, rank: int, iterations: int) -> jax.Array:
    """Prox-like step of ``lam * ||.||_{r,p}^p`` on a symmetric matrix: keep the ``rank``
    largest ``|eigenvalues|``, GST the others (signs kept)."""
    symmetric = 0.5 * (matrix + matrix.T)
    eigenvalues, vectors = jnp.linalg.eigh(symmetric)
    shrunk = jnp.where(
        _magnitude_rank(eigenvalues) < rank, eigenvalues, generalized_soft_threshold(eigenvalues, lam, p, iterations)
    )
    return (vectors * shrunk[None, :]) @ vectors.T


def schatten_weights(matrix: jax.Array, p: jax.Array, rank: int) -> jax.Array:
    """The public code's fixed weights from a symmetric (n, n) start matrix, one per singular
    value in decreasing order: 0 for the ``rank`` largest, ``p sigma_i^(p-1)`` for the others
    (``inf`` where ``sigma_i = 0``: that value is always thresholded to 0)."""
    singular = jnp.sort(jnp.abs(jnp.linalg.eigvalsh(0.5 * (matrix + matrix.T))))[::-1]
    free = jnp.arange(singular.shape[0]) < rank
    return jnp.where(free, 0.0, p * jnp.where(free, 1.0, singular) ** (p - 1.0))


def weighted_svt_symmetric(matrix: jax.Array, tau: jax.Array, weights: jax.Array) -> jax.Array:
    """Weighted SVT of a symmetric matrix: the i-th largest singular value shrinks by
    ``tau * weights[i]`` (to 0 at most), singular vectors kept (signs of eigenvalues kept)."""
    symmetric = 0.5 * (matrix + matrix.T)
    eigenvalues, vectors = jnp.linalg.eigh(symmetric)
    thresholds = tau * weights[_magnitude_rank(eigenvalues)]
    shrunk = jnp.sign(eigenvalues) * jnp.maximum(jnp.abs(eigenvalues) - thresholds, 0.0)
    return (vectors * shrunk[None, :]) @ vectors.T


def tspn_step(
    state: BNNRState, target: jax.Array, observed: jax.Array, params: TSPNParams, rank: int, gst_iterations: int
) -> tuple[BNNRState, jax.Array]:
    """One ADMM iteration: BNNR's, with truncated Schatten-p shrinkage in place of SVT."""
    shrink = lambda matrix, tau: truncated_gst_symmetric(matrix, tau, params.p, rank, gst_iterations)  # noqa: E731
    return bounded_admm_step(state, target, observed, params, shrink)


def tspn_published_step(
    state: BNNRState, target: jax.Array, observed: jax.Array, params: TSPNPublishedParams, weights: jax.Array
) -> tuple[BNNRState, jax.Array]:
    """One iteration of the public ``TSPN``: BNNR's ADMM with weighted SVT and the multiplier
    moved by ``dual_step`` (``bounded_admm_step`` moves it by ``beta``; its move is rescaled)."""
    shrink = lambda matrix, tau: weighted_svt_symmetric(matrix, tau, weights)  # noqa: E731
    new_state, converged = bounded_admm_step(state, target, observed, params, shrink)
    moved = state.multiplier + (params.dual_step / params.beta) * (new_state.multiplier - state.multiplier)
    return new_state._replace(multiplier=moved), converged


def tspn_complete(
    target: jax.Array, params: TSPNParams, *, rank: int = 1, gst_iterations: int = 10, max_iterations: int = 300
) -> tuple[jax.Array, SolverStats]:
    """Complete symmetric ``target`` (n, n) from its nonzero entries; returns ``(W, stats)``."""
    observed = (target != 0).astype(target.dtype)
    init = bnnr_init(target)
    state, stats = iterate(
        lambda current: tspn_step(current, target, observed, params, rank, gst_iterations), init, max_iterations
    )
    return state.bounded, stats


def tspn_published_complete(
    target: jax.Array, params: TSPNPublishedParams, *, rank: int = 1, passes: int = 3, max_iterations: int = 300
) -> tuple[jax.Array, SolverStats]:
    """The public code's outer passes on symmetric ``target`` (n, n): Omega is the nonzero
    entries of ``target`` throughout; each pass completes the previous pass's clipped output
    with weights from it. Returns ``(N, stats)``, stats with one entry per pass (``(passes,)``)."""
    observed = (target != 0).astype(target.dtype)

    def one_pass(current, _):
        weights = schatten_weights(current, params.p, rank)
        state, stats = iterate(
            lambda state: tspn_published_step(state, current, observed, params, weights), bnnr_init(current), max_iterations
        )
        return state.bounded, stats

    completed, stats = jax.lax.scan(one_pass, target, None, length=passes)
    return completed, stats


def _predict(variant: str, integration: Integration, rank: int, gst_iterations: int, passes: int, max_iterations: int):
    if variant == "published-code":
        return completion_predict(
            lambda target, params: tspn_published_complete(
                target, params, rank=rank, passes=passes, max_iterations=max_iterations
            ),
            integration,
        )
    return completion_predict(
        lambda target, params: tspn_complete(
            target, params, rank=rank, gst_iterations=gst_iterations, max_iterations=max_iterations
        ),
        integration,
    )


def tspn_method(
    associations: np.ndarray,
    similarities: Similarities,
    *,
    dtype: str = "float64",
    transductive: bool = False,
    variant: str = "default",
    params: TSPNParams | TSPNPublishedParams | None = None,
    rank: int = 1,
    integration: Integration | None = None,
    gst_iterations: int = 10,
    passes: int = 3,
    max_iterations: int = 300,
) -> Method:
    """Build TSPN (``"tspn"``; ``"tspn-published-code"`` for that variant).

    Args:
        associations: the full matrix; its shape, and the GIP kernels of ``transductive=True``
            (the labelled published protocol; see ``transductive_gip_variant``).
        similarities: biological drug / miRNA similarities.
        variant: ``"default"`` (truncated GST, see the module docstring) or
            ``"published-code"`` (the authors' ``TSPN.py``: fixed-weight SVT, three passes).
        params: traced constants (defaults: ``TSPNParams()``, or ``TSPNPublishedParams()`` for
            the published-code variant; the type must match the variant).
        rank: ``r``, the number of singular values left unpenalised (static).
        integration: how GIP kernels augment the similarities (static; default
            ``"mean_where_nonzero"``, or ``"fill_zeros"`` for the published-code variant).
        gst_iterations: fixed-point steps of GST (static; default variant only).
        passes: outer passes (static; published-code variant only).
        max_iterations: ADMM cap (static; per pass for the published-code variant).
    """
    params = variant_params("tspn", variant, params, PARAMS)
    published = variant == "published-code"
    if integration is None:
        integration = "fill_zeros" if published else "mean_where_nonzero"
    check_completion_integration("tspn", integration, params)
    if int(rank) < 0:
        raise ValueError(f"rank must be >= 0, got {rank!r}")
    if published and int(passes) < 1:
        raise ValueError(f"passes must be >= 1, got {passes!r}")
    inputs = {
        "drug_similarity": jnp.asarray(similarities.drug, dtype),
        "mirna_similarity": jnp.asarray(similarities.mirna, dtype),
        "params": type(params)(*(jnp.asarray(value, dtype) for value in params)),
    }
    config = {
        "method": "tspn",
        "similarity": similarities.source,
        "dtype": dtype,
        "params": params._asdict(),
        "rank": int(rank),
        "integration": integration,
    }
    if published:
        config.update(variant=variant, passes=int(passes), max_iterations=max_iterations)
        name, stages = "tspn-published-code", tuple(f"tspn-pass-{index + 1}" for index in range(int(passes)))
    else:  # the default's config, unchanged (it keys stored runs)
        config.update(gst_iterations=gst_iterations, max_iterations=max_iterations)
        name, stages = "tspn", ("tspn",)
    predict = _predict(variant, integration, int(rank), gst_iterations, int(passes), max_iterations)
    method = Method(name, stages, predict, inputs, config)
    return transductive_gip_variant(method, associations, params.gip_bandwidth, transductive)
