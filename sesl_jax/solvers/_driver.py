"""The one loop every iterative solver runs in.

A solver supplies ``step(state) -> (state, converged)``; this driver owns the
``lax.while_loop``, the iteration cap and the status code. Nothing raises inside a solve,
so a batch of problems can be vmapped and a fold that fails is reported, not fatal.
"""

from __future__ import annotations

import enum
from typing import Callable, NamedTuple, TypeVar

import jax
import jax.numpy as jnp

State = TypeVar("State")


class Status(enum.IntEnum):
    """Why a solver stopped. Stored as int32 so it can live in a vmapped result."""

    CONVERGED = 0
    MAX_ITERATIONS = 1
    NONFINITE = 2
    INVALID_INPUT = 3  # a traced parameter out of range or a malformed input: no iteration ran


class SolverStats(NamedTuple):
    """Iterations run and final ``Status`` (int32 scalars, or arrays under vmap)."""

    iterations: jax.Array
    status: jax.Array


def _all_finite(state) -> jax.Array:
    leaves = [leaf for leaf in jax.tree_util.tree_leaves(state) if jnp.issubdtype(jnp.result_type(leaf), jnp.inexact)]
    finite = jnp.asarray(True)
    for leaf in leaves:
        finite = finite & jnp.all(jnp.isfinite(leaf))
    return finite


def iterate(
    step: Callable[[State], tuple[State, jax.Array]],
    state: State,
    max_iterations: int,
    valid: jax.Array | bool = True,
) -> tuple[State, SolverStats]:
    """Run ``step`` until it reports convergence, a value turns non-finite, or the cap is hit.

    Args:
        step: one iteration; returns the new state and a boolean scalar "converged".
        state: the initial state (a pytree of arrays).
        max_iterations: static cap on the number of iterations.
        valid: whether the inputs are in range (traced under ``jit``/``vmap``); if not, no
            iteration runs and the status is ``Status.INVALID_INPUT``.

    Returns:
        The final state and its ``SolverStats``. A non-finite state stops the loop at once
        with ``Status.NONFINITE`` (e.g. a float32 SVD that failed to converge returns NaN).
    """

    def cond(carry):
        _, iteration, converged, finite = carry
        return (iteration < max_iterations) & ~converged & finite

    def body(carry):
        current, iteration, _, _ = carry
        new_state, converged = step(current)
        return new_state, iteration + 1, jnp.asarray(converged, bool), _all_finite(new_state)

    valid = jnp.asarray(valid, bool)
    # an invalid solve starts "converged" so that the loop never runs
    init = (state, jnp.asarray(0, jnp.int32), ~valid, _all_finite(state))
    final, iterations, converged, finite = jax.lax.while_loop(cond, body, init)
    status = jnp.where(
        ~valid,
        jnp.int32(Status.INVALID_INPUT),
        jnp.where(
            ~finite,
            jnp.int32(Status.NONFINITE),
            jnp.where(converged, jnp.int32(Status.CONVERGED), jnp.int32(Status.MAX_ITERATIONS)),
        ),
    )
    return final, SolverStats(iterations=iterations, status=status)
