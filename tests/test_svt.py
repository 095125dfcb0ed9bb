"""The warm-started subspace SVT against a NumPy ``eigh`` reference, alone and inside BNNR.

Tolerances. An accepted ``svt_subspace`` result satisfies, by construction, the residual test
``||R||_F <= rtol ||M||_F`` over the kept Ritz pairs; since the SVT is non-expansive, its error
is then at most ``sqrt(2) rtol ||M||_F`` (provided no eigenvalue above ``tau`` lies outside the
block, which the guard band makes certain for these slowly changing inputs). Calls that fall
back are exact ``eigh`` SVTs and match the reference to rounding (1e-12).
"""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reference
from sesl_jax.model import SESLOptions, SESLParams, sesl_scores
from sesl_jax.solvers import (
    BNNRParams, Status, bnnr_complete, bnnr_init, default_subspace_rank, iterate, subspace_basis, svt_subspace,
)
from sesl_jax.solvers._bnnr import _admm_step
from synthetic import heterogeneous_problem, planted_problem

jax.config.update("jax_enable_x64", True)


def eigh_svt(matrix, tau):
    """The obvious reference: shrink |eigenvalues| by tau, keep their signs."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return vectors @ np.diag(np.sign(values) * np.maximum(np.abs(values) - tau, 0.0)) @ vectors.T


def drifting_matrices(n=40, steps=12, seed=0):
    """Symmetric matrices with a BNNR-like spectrum (a few large eigenvalues of both signs, many
    below tau = 0.1), each a small perturbation of the previous one."""
    rng = np.random.default_rng(seed)
    values = np.concatenate([[8.0, 3.0, -2.0], rng.uniform(0.15, 1.0, 9) * rng.choice([-1, 1], 9),
                             rng.uniform(-0.08, 0.08, n - 12)])
    basis, _ = np.linalg.qr(rng.normal(size=(n, n)))
    matrices = []
    for _ in range(steps):
        noise = rng.normal(scale=2e-3, size=(n, n))
        basis, _ = np.linalg.qr(basis + noise)
        values = values + rng.normal(scale=1e-3, size=n)
        matrices.append(basis @ np.diag(values) @ basis.T)
    return matrices


def test_first_call_is_the_exact_svt():
    matrix = drifting_matrices(seed=1)[0]
    shrunk, carry = svt_subspace(jnp.asarray(matrix), 0.1, subspace_basis(40, 16, jnp.float64))
    np.testing.assert_allclose(np.asarray(shrunk), eigh_svt(matrix, 0.1), atol=1e-12)
    assert int(carry.exact_solves) == 1 and bool(carry.valid)


@pytest.mark.parametrize("rtol", [1e-5, 1e-10])
def test_warm_sequence_stays_within_the_certified_bound(rtol):
    tau = 0.1
    matrices = drifting_matrices(seed=2)
    carry = subspace_basis(40, 16, jnp.float64)
    solve = jax.jit(functools.partial(svt_subspace, rtol=rtol, max_power_steps=20))
    for matrix in matrices:
        shrunk, carry = solve(jnp.asarray(matrix), tau, carry)
        error = np.linalg.norm(np.asarray(shrunk) - eigh_svt(matrix, tau))
        assert error <= np.sqrt(2) * rtol * np.linalg.norm(matrix) + 1e-12
    # only the first call needed the full eigh: the warm start did the rest
    assert int(carry.exact_solves) == 1
    assert int(carry.power_steps) >= len(matrices)


def test_a_block_narrower_than_the_kept_spectrum_falls_back_to_eigh():
    # 12 eigenvalues above tau; a block of 14 leaves fewer than 4 guard columns below tau
    first, second = drifting_matrices(seed=3)[:2]
    carry = subspace_basis(40, 14, jnp.float64)
    _, carry = svt_subspace(jnp.asarray(first), 0.1, carry)
    assert int(carry.kept) == 12
    shrunk, carry = svt_subspace(jnp.asarray(second), 0.1, carry)
    np.testing.assert_allclose(np.asarray(shrunk), eigh_svt(second, 0.1), atol=1e-12)
    assert int(carry.exact_solves) == 2
    assert int(carry.power_steps) == 0  # the previous call kept too many: no subspace attempt at all
    # a basis that claims few kept eigenvalues is tried, and the guard test still catches it
    shrunk, carry = svt_subspace(jnp.asarray(second), 0.1, carry._replace(kept=jnp.asarray(2, jnp.int32)))
    np.testing.assert_allclose(np.asarray(shrunk), eigh_svt(second, 0.1), atol=1e-12)
    assert int(carry.exact_solves) == 3 and int(carry.power_steps) >= 1


def test_a_failed_cholesky_falls_back_to_eigh():
    # a basis inside the null space of M: M V = 0, the Gram matrix is singular, Cholesky gives NaN
    matrix = np.zeros((10, 10))
    matrix[:3, :3] = np.diag([2.0, -1.0, 0.5])
    carry = subspace_basis(10, 4, jnp.float64)._replace(vectors=jnp.eye(10, 4, k=-5), valid=jnp.asarray(True))
    shrunk, carry = svt_subspace(jnp.asarray(matrix), 0.1, carry)
    assert np.all(np.isfinite(np.asarray(carry.vectors)))
    np.testing.assert_allclose(np.asarray(shrunk), eigh_svt(matrix, 0.1), atol=1e-12)
    assert int(carry.exact_solves) == 1


def test_vmap_equals_a_loop_when_only_some_problems_fall_back():
    sequences = [drifting_matrices(seed=s, steps=2) for s in (4, 5, 6)]
    carries = []
    for sequence in sequences:
        _, carry = svt_subspace(jnp.asarray(sequence[0]), 0.1, subspace_basis(40, 16, jnp.float64))
        carries.append(carry)
    carries[1] = subspace_basis(40, 16, jnp.float64)  # this one has no basis yet: exact
    batch_matrices = jnp.asarray(np.stack([s[1] for s in sequences]))
    batch_carry = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *carries)
    shrunk, new_carry = jax.jit(jax.vmap(lambda m, c: svt_subspace(m, 0.1, c)))(batch_matrices, batch_carry)
    for index, sequence in enumerate(sequences):
        single, single_carry = svt_subspace(jnp.asarray(sequence[1]), 0.1, carries[index])
        np.testing.assert_allclose(np.asarray(shrunk[index]), np.asarray(single), atol=1e-12)
        assert int(new_carry.exact_solves[index]) == int(single_carry.exact_solves)
    # problems 0 and 2 were resolved (their only eigh was their first call); problem 1 had no basis
    assert [int(e) for e in new_carry.exact_solves] == [1, 1, 1]


def subspace_bnnr(T, omega, params, max_iterations, **svt_options):
    params = BNNRParams(*(jnp.asarray(value, jnp.float64) for value in params))
    shrink = functools.partial(svt_subspace, **svt_options)
    target, observed = jnp.asarray(T), jnp.asarray(omega)
    carry = subspace_basis(T.shape[0], default_subspace_rank(T.shape[0]), jnp.float64)
    return iterate(lambda s: _admm_step(s, target, observed, params, shrink), bnnr_init(target, carry), max_iterations)


def test_bnnr_with_a_tight_tolerance_matches_the_reference():
    # rtol = 1e-10: each SVT within 1.4e-10 ||M||_F (about 2e-9 here) of the exact one; 40 ADMM
    # iterations keep that near 1e-9, far below 1e-7.
    T, omega = heterogeneous_problem(9)
    params = BNNRParams(tol1=0.0, tol2=0.0)
    state, stats = subspace_bnnr(T, omega, params, 40, rtol=1e-10, max_power_steps=50)
    expected, iterations, _ = reference.bnnr(T, omega, tol1=0.0, tol2=0.0, max_iterations=40)
    assert int(stats.iterations) == iterations == 40
    assert int(state.svt_carry.exact_solves) < 40  # the warm start was used
    np.testing.assert_allclose(np.asarray(state.bounded), expected, atol=1e-7)


def test_bnnr_subspace_default_stops_with_the_reference_and_agrees():
    # Default rtol = 1e-5: each accepted SVT within 1.4e-5 ||M||_F (about 2e-4 here) of the exact
    # one; the completed matrix then differs by that order (measured: 1e-5 to 5e-5 on these
    # problems). 1e-3 leaves margin; the stopping iteration must be the same.
    for seed in (9, 10):
        T, omega = heterogeneous_problem(seed)
        result = bnnr_complete(jnp.asarray(T), jnp.asarray(omega), svt_method="subspace")
        expected, iterations, converged = reference.bnnr(T, omega)
        assert converged and int(result.stats.status) == Status.CONVERGED
        assert int(result.stats.iterations) == iterations
        completed = np.asarray(result.completed)
        np.testing.assert_allclose(completed, expected, atol=1e-3)
        assert completed.min() >= 0.0 and completed.max() <= 1.0


def test_bnnr_subspace_vmap_equals_loop_and_traces_once():
    problems = [heterogeneous_problem(seed, 8, 12) for seed in range(3)]
    targets = jnp.asarray(np.stack([t for t, _ in problems]))
    masks = jnp.asarray(np.stack([o for _, o in problems]))

    @jax.jit
    @chex.assert_max_traces(n=1)
    def solve(target, observed):
        return bnnr_complete(target, observed, svt_method="subspace")

    batched = jax.vmap(solve)(targets, masks)
    for index, (T, omega) in enumerate(problems):
        single = bnnr_complete(jnp.asarray(T), jnp.asarray(omega), svt_method="subspace")
        np.testing.assert_allclose(np.asarray(batched.completed[index]), np.asarray(single.completed), atol=1e-10)
        assert int(batched.stats.iterations[index]) == int(single.stats.iterations)
    jax.vmap(solve)(targets * 0.99, masks)  # new values, same shapes: no retrace


# subspace: each accepted SVT within 1.4e-5 ||M||_F (see the module docstring); sign: rounding only
# in float64 (tests/test_svt_sign.py)
@pytest.mark.parametrize("svt, atol", [("subspace", 1e-3), ("sign", 1e-9)])
def test_sesl_with_a_fast_svt_agrees_with_eigh(svt, atol):
    A, Sd, Sm = planted_problem(8, 12, seed=14)
    args = (jnp.asarray(A), jnp.asarray(Sd), jnp.asarray(Sm), SESLParams())
    exact = sesl_scores(*args, SESLOptions(bnnr_svt="eigh"))
    fast = sesl_scores(*args, SESLOptions(bnnr_svt=svt))
    assert int(fast.bnnr.iterations) == int(exact.bnnr.iterations)
    np.testing.assert_allclose(np.asarray(fast.scores), np.asarray(exact.scores), atol=atol)


def test_unknown_svts_are_rejected():
    with pytest.raises(ValueError, match="bnnr_svt"):
        SESLOptions(bnnr_svt="lanczos")
    with pytest.raises(ValueError, match="svt_method"):
        bnnr_complete(jnp.eye(3), jnp.eye(3), svt_method="lanczos")
    with pytest.raises(ValueError, match="subspace rank"):
        bnnr_complete(jnp.eye(3), jnp.eye(3), svt_method="subspace", svt_rank=4)


def test_method_config_carries_the_svt_to_the_solver_and_keeps_old_fingerprints():
    from sesl_jax.pipeline import MethodConfig, builder_options

    default = MethodConfig(method="bnnr", similarity="biological")
    # A default field added later is not recorded: result stores written before it still resume.
    assert "bnnr_svt" not in default.to_dict()
    warm = MethodConfig(method="bnnr", similarity="biological", bnnr_svt="subspace")
    assert warm.to_dict()["bnnr_svt"] == "subspace" and warm.to_dict() != default.to_dict()
    assert builder_options(warm)["options"].bnnr_svt == "subspace"
    assert MethodConfig(**warm.to_dict()) == warm
    with pytest.raises(ValueError, match="bnnr_svt"):
        MethodConfig(bnnr_svt="lanczos")
    with pytest.raises(ValueError, match="only applies to sesl, se, bnnr"):
        builder_options(MethodConfig(method="tspn", bnnr_svt="subspace"))


def test_estimator_subspace_svt_agrees_with_eigh_and_survives_save(tmp_path):
    from sesl_jax import SESL

    A, Sd, Sm = planted_problem(8, 12, seed=15)
    exact = SESL("sesl", dtype="float64").fit(A, Sd, Sm)
    warm = SESL("sesl", dtype="float64", bnnr_svt="subspace").fit(A, Sd, Sm)
    np.testing.assert_allclose(warm.scores_, exact.scores_, atol=1e-3)
    warm.save(tmp_path / "model")
    loaded = SESL.load(tmp_path / "model")
    assert loaded.bnnr_svt == "subspace"
    np.testing.assert_array_equal(loaded.scores_, warm.scores_)
