"""Bounded nuclear norm regularisation (BNNR) by ADMM (SPEC step 4; Yang et al. 2019).

.. math:: \\min_W \\|W\\|_* + \\frac{\\alpha}{2}\\|R_\\Omega(W) - R_\\Omega(T)\\|_F^2
          \\quad\\text{s.t.}\\quad 0 \\le W_{ij} \\le 1
"""

from __future__ import annotations

from typing import Any, Callable, Literal, NamedTuple

import jax
import jax.numpy as jnp

from sesl_jax._values import check_integer
from sesl_jax.solvers._checks import (
    check_binary, check_choice, check_params, check_params_type, check_symmetric, float_array,
)
from sesl_jax.solvers._driver import SolverStats, iterate
from sesl_jax.solvers._prox import default_subspace_rank, subspace_basis, svt, svt_sign, svt_subspace, svt_symmetric

BNNRSvt = Literal["eigh", "svd", "subspace", "sign"]
BNNR_SVT_METHODS = ("eigh", "svd", "subspace", "sign")
_PLAIN_SVT = {"eigh": svt_symmetric, "svd": svt, "sign": svt_sign}


class BNNRParams(NamedTuple):
    """Traced constants of the public BNNR code: ``alpha`` weighs the data term, ``beta``
    is the ADMM penalty; stop when ``stop1 < tol1`` and ``stop2 < tol2``."""

    alpha: float = 1.0
    beta: float = 10.0
    tol1: float = 2e-3
    tol2: float = 1e-5


class BNNRState(NamedTuple):
    """The ADMM iterate (pass a final one as ``bnnr_complete(..., start=)``)."""

    low_rank: jax.Array  # X, (n, n)
    bounded: jax.Array  # W, (n, n), the clipped copy returned as the prediction
    multiplier: jax.Array  # Y, (n, n)
    previous_change: jax.Array  # stop1 of the previous iteration
    svt_carry: Any = ()  # what a warm-started SVT keeps between iterations (``SubspaceBasis``); () otherwise


class BNNRResult(NamedTuple):
    """What ``bnnr_complete`` returns."""

    completed: jax.Array  # final W, (n, n), entries in [0, 1]
    stats: SolverStats
    state: BNNRState | None = None  # the final iterate, to start another solve from (``start=``)


def bnnr_init(target: jax.Array, svt_carry: Any = ()) -> BNNRState:
    """The public code's cold start for ``target``; ``svt_carry`` from ``subspace_basis`` for the
    subspace SVT."""
    # Cold start X = W = Y = T, as in the public code. Starting from another fold's solve would leak
    # this fold's hidden labels (that fold trained on them); only a solve that hides them too may serve.
    # (``svt_carry`` only warm-starts the SVT's eigensolver within this solve; the iterates stay cold.)
    return BNNRState(target, target, target, jnp.asarray(1.0, target.dtype), svt_carry)


def bounded_admm_step(
    state: BNNRState, target: jax.Array, observed: jax.Array, params, shrink
) -> tuple[BNNRState, jax.Array]:
    """One ADMM iteration of bounded completion with any low-rank prox.

    Shared by BNNR (``shrink`` = SVT) and TSPN (truncated Schatten-p shrinkage): the data step,
    the [0, 1] clip, the multiplier update and the stopping rule are the same.

    Args:
        state: the current iterate (X, W, Y, the previous relative change, an SVT carry left
            untouched here); ``bnnr_init(target)`` gives the public code's cold start.
        target: T, (n, n).
        observed: Omega as a 0/1 float mask, (n, n).
        params: anything with ``alpha``, ``beta``, ``tol1``, ``tol2``.
        shrink: ``shrink(matrix, tau)``, the prox of ``tau`` times the low-rank penalty.

    Returns:
        ``(next state, converged)``: converged is a boolean scalar, true once the relative change
        of X is below ``tol1`` and its change since the previous iteration below ``tol2``.
    """
    return _admm_step(state, target, observed, params, lambda matrix, tau, carry: (shrink(matrix, tau), carry))


def _admm_step(
    state: BNNRState, target: jax.Array, observed: jax.Array, params, shrink: Callable
) -> tuple[BNNRState, jax.Array]:
    """``bounded_admm_step`` with a prox that carries state: ``shrink(matrix, tau, carry) ->
    (matrix, carry)``, the carry kept in ``state.svt_carry``."""
    X, _, Y, previous_change, carry = state
    alpha, beta = params.alpha, params.beta
    Z = X + (Y + alpha * observed * target) / beta
    W = jnp.clip(Z - (alpha / (alpha + beta)) * observed * Z, 0.0, 1.0)
    X_new, carry = shrink(W - Y / beta, 1.0 / beta, carry)
    Y = Y + beta * (X_new - W)
    change = _relative_change(X_new, X)
    change_of_change = jnp.abs(change - previous_change) / jnp.maximum(1.0, jnp.abs(previous_change))
    converged = (change < params.tol1) & (change_of_change < params.tol2)
    return BNNRState(X_new, W, Y, change, carry), converged


def _relative_change(new: jax.Array, old: jax.Array) -> jax.Array:
    """``||new - old|| / ||old||``; 0 when both are zero, the dtype's largest value when only
    ``old`` is (finite, so that an iterate at zero is not mistaken for a non-finite one)."""
    difference, size = jnp.linalg.norm(new - old), jnp.linalg.norm(old)
    nonzero = size > 0
    huge = jnp.finfo(size.dtype).max
    return jnp.where(nonzero, difference / jnp.where(nonzero, size, 1.0), jnp.where(difference > 0, huge, 0.0))


def bnnr_step(
    state: BNNRState, target: jax.Array, observed: jax.Array, params: BNNRParams, svt_method: BNNRSvt
) -> tuple[BNNRState, jax.Array]:
    """One BNNR ADMM iteration (SVT by eigh, SVD, matrix sign functions, or the warm-started
    subspace method; the last needs ``state.svt_carry`` from ``bnnr_init(target, subspace_basis(...))``)."""
    if svt_method == "subspace":
        return _admm_step(state, target, observed, params, svt_subspace)
    return bounded_admm_step(state, target, observed, params, _PLAIN_SVT[svt_method])


def check_bnnr_params(params: BNNRParams) -> jax.Array:
    """Concrete values out of range raise a ValueError naming the field; returns whether (traced)
    values are in range."""
    check_params_type(params, BNNRParams)
    return check_params(params, at_least={"tol1": 0.0, "tol2": 0.0}, above={"alpha": 0.0, "beta": 0.0})


def bnnr_complete(
    target: jax.Array,
    observed: jax.Array,
    params: BNNRParams = BNNRParams(),
    *,
    svt_method: BNNRSvt = "eigh",
    svt_rank: int | None = None,
    max_iterations: int = 300,
    start: BNNRState | None = None,
) -> BNNRResult:
    """Complete ``target`` from its ``observed`` entries with bounded nuclear norm regularisation.

    Args:
        target: T, (n, n); symmetric unless ``svt_method="svd"`` (SESL's heterogeneous matrix is),
            which also takes any (n, m) matrix. Booleans and integers are read as floats.
        observed: Omega, (n, n), 1 where an entry is observed (bool or 0/1 float).
        params: traced constants.
        svt_method: ``"eigh"`` (symmetric SVT, default, exact), ``"svd"`` (general),
            ``"subspace"`` (``svt_subspace``: Rayleigh-Ritz on the previous iteration's Ritz
            vectors, falling back to ``eigh`` when they do not resolve the kept spectrum) or
            ``"sign"`` (``svt_sign``: matrix products only, for accelerators).
        svt_rank: block size of ``"subspace"`` (static); default ``default_subspace_rank(n)``.
        max_iterations: static cap (300 in the public code).
        start: iterate from this state (another solve's ``BNNRResult.state``, same shape and
            ``svt_method``) instead of the public code's cold start ``X = W = Y = T``. Only a solve
            on a subset of this problem's observations is a leakage-free start for a held-out entry
            (``sesl_jax.methods.SharedStart``).

    Returns:
        ``BNNRResult``: the completed matrix (entries in [0, 1]), iterations and ``Status``, and
        the final iterate.

    Raises:
        ValueError: ``target`` not square, ``observed`` of another shape, an unknown
            ``svt_method``, or (given concrete values) a parameter out of its range or an
            asymmetric ``target`` with a symmetric SVT.
    """
    check_choice(svt_method, "svt_method", BNNR_SVT_METHODS)
    check_integer("max_iterations", max_iterations, 0)
    if svt_rank is not None:
        if svt_method != "subspace":
            raise ValueError(f"svt_rank is the block size of svt_method='subspace'; {svt_method!r} does not use it")
        check_integer("svt_rank", svt_rank, 1)
    target = float_array(target, "target", square=svt_method != "svd")
    observed = float_array(observed, "observed")
    if observed.shape != target.shape:
        raise ValueError(f"observed has shape {tuple(observed.shape)}, target {tuple(target.shape)}: they must match")
    valid = check_bnnr_params(params)
    valid = valid & check_binary(observed, "observed")
    if svt_method != "svd":
        valid = valid & check_symmetric(target, "target", f"svt_method={svt_method!r} thresholds symmetric matrices; "
                                        "use 'svd'")
    observed = observed.astype(target.dtype)
    params = BNNRParams(*(jnp.asarray(value, target.dtype) for value in params))
    if start is None:
        carry: Any = ()
        if svt_method == "subspace":
            size = target.shape[-1]
            carry = subspace_basis(size, svt_rank or default_subspace_rank(size), target.dtype)
        start = bnnr_init(target, carry)
    else:
        start = _checked_start(start, target, svt_method)
    state, stats = iterate(
        lambda current: bnnr_step(current, target, observed, params, svt_method),
        start,
        max_iterations,
        valid,
    )
    return BNNRResult(state.bounded, stats, state)


def _checked_start(start: Any, target: jax.Array, svt_method: str) -> BNNRState:
    """Another solve's final iterate, as this solve's dtype; its shapes must be this problem's."""
    if not isinstance(start, BNNRState):
        raise TypeError(f"start must be a BNNRState (another solve's BNNRResult.state), got {type(start).__name__}")
    if (svt_method == "subspace") != (len(start.svt_carry) > 0):
        raise ValueError(f"start comes from a solve with another svt_method than {svt_method!r}")
    for name in ("low_rank", "bounded", "multiplier"):
        shape = tuple(jnp.shape(getattr(start, name)))
        if shape != tuple(target.shape):
            raise ValueError(f"start.{name} has shape {shape}, but target has {tuple(target.shape)}: start comes from "
                             "another problem")
    return jax.tree_util.tree_map(lambda leaf: jnp.asarray(leaf).astype(target.dtype)
                                  if jnp.issubdtype(jnp.result_type(leaf), jnp.floating) else leaf, start)
