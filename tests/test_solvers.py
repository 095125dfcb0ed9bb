"""Solvers against the NumPy references in tests/reference.py, plus their defining properties."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reference
from sesl_jax.solvers import (
    BNNRParams, LRRParams, Status, bnnr_complete, column_shrink, lrr_ialm, svt, svt_gram, svt_symmetric,
)
from synthetic import planted_problem

jax.config.update("jax_enable_x64", True)


def random_matrix(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def random_symmetric(n, seed=0):
    m = random_matrix((n, n), seed)
    return (m + m.T) / 2


@pytest.mark.parametrize("shape", [(7, 7), (5, 9), (9, 5)])
def test_svt_shrinks_singular_values_by_tau(shape):
    matrix = random_matrix(shape, 1)
    tau = 0.7
    singular = np.linalg.svd(matrix, compute_uv=False)
    result = np.asarray(svt(jnp.asarray(matrix), tau))
    expected = np.maximum(singular - tau, 0.0)
    np.testing.assert_allclose(np.linalg.svd(result, compute_uv=False), expected, atol=1e-12)
    np.testing.assert_allclose(result, reference.svt(matrix, tau), atol=1e-12)


@pytest.mark.parametrize("shape", [(7, 7), (5, 9), (9, 5)])
def test_svt_gram_equals_svt(shape):
    matrix = random_matrix(shape, 2)
    np.testing.assert_allclose(np.asarray(svt_gram(jnp.asarray(matrix), 0.5)), reference.svt(matrix, 0.5), atol=1e-10)


def test_symmetric_svt_equals_general_on_symmetric_input():
    matrix = random_symmetric(11, 3)
    for tau in (0.0, 0.3, 1.5):
        np.testing.assert_allclose(
            np.asarray(svt_symmetric(jnp.asarray(matrix), tau)), np.asarray(svt(jnp.asarray(matrix), tau)), atol=1e-12
        )


def test_column_shrink_matches_reference_and_keeps_zero_columns_finite():
    matrix = random_matrix((6, 8), 4)
    matrix[:, 2] = 0.0
    matrix[:, 5] *= 1e-3  # a column below the threshold goes to zero
    result = np.asarray(column_shrink(jnp.asarray(matrix), 0.4))
    assert np.all(np.isfinite(result))
    np.testing.assert_array_equal(result[:, 2], 0.0)
    np.testing.assert_array_equal(result[:, 5], 0.0)
    np.testing.assert_allclose(result, reference.column_shrink(matrix, 0.4), atol=1e-14)


def test_column_shrink_gradient_is_finite_at_zero_column():
    grad = jax.grad(lambda m: jnp.sum(column_shrink(m, 0.1)))(jnp.zeros((3, 2)))
    assert np.all(np.isfinite(np.asarray(grad)))


# ---------------------------------------------------------------- LRR


@pytest.mark.parametrize("side", ["mirnas", "drugs"])
@pytest.mark.parametrize("svt_method", ["gram", "svd"])
@pytest.mark.parametrize("reduce", [True, False])
def test_lrr_matches_reference_after_fixed_iterations(side, svt_method, reduce):
    A, _, _ = planted_problem(8, 13, seed=5)
    params = LRRParams(tol=0.0)  # never converges: both run exactly 40 iterations
    result = lrr_ialm(jnp.asarray(A), params, side=side, svt_method=svt_method, reduce=reduce, max_iterations=40)
    expected, iterations, _ = reference.lrr_ialm(A, tol=0.0, max_iterations=40, side=side)
    assert int(result.stats.iterations) == iterations == 40
    assert int(result.stats.status) == Status.MAX_ITERATIONS
    np.testing.assert_allclose(np.asarray(result.denoised), expected, atol=1e-8)


def test_lrr_converges_and_matches_reference_in_float64():
    A, _, _ = planted_problem(10, 16, seed=6)
    result = lrr_ialm(jnp.asarray(A))
    expected, iterations, converged = reference.lrr_ialm(A)
    assert converged and int(result.stats.status) == Status.CONVERGED
    assert int(result.stats.iterations) == iterations
    np.testing.assert_allclose(np.asarray(result.denoised), expected, atol=1e-8)
    # the constraint holds at the solution: A = A X + P
    np.testing.assert_allclose(A @ np.asarray(result.coefficients) + np.asarray(result.noise), A, atol=1e-5)


def test_lrr_float32_at_convergence_matches_float64_reference():
    A, _, _ = planted_problem(10, 16, seed=7)
    result = lrr_ialm(jnp.asarray(A, jnp.float32), LRRParams(tol=1e-5))
    assert result.denoised.dtype == jnp.float32
    assert int(result.stats.status) == Status.CONVERGED
    # same stopping rule in float64: the float32 run must stop at the same point, to 1e-4
    expected, iterations, converged = reference.lrr_ialm(A, tol=1e-5)
    assert converged and int(result.stats.iterations) == iterations
    np.testing.assert_allclose(np.asarray(result.denoised), expected, atol=1e-4)


def test_lrr_zero_rows_and_columns_stay_zero():
    A, _, _ = planted_problem(8, 12, seed=8)
    A[3] = 0.0
    A[:, 5] = 0.0
    denoised = np.asarray(lrr_ialm(jnp.asarray(A)).denoised)
    np.testing.assert_array_equal(denoised[3], 0.0)
    np.testing.assert_array_equal(denoised[:, 5], 0.0)


# ---------------------------------------------------------------- BNNR


def heterogeneous(A, Sd, Sm):
    T = np.block([[Sd, A], [A.T, Sm]])
    return T, (T != 0).astype(float)


@pytest.mark.parametrize("svt_method", ["eigh", "svd"])
def test_bnnr_matches_reference_after_fixed_iterations(svt_method):
    A, Sd, Sm = planted_problem(9, 14, seed=9)
    T, omega = heterogeneous(A, Sd, Sm)
    params = BNNRParams(tol1=0.0, tol2=0.0)
    result = bnnr_complete(jnp.asarray(T), jnp.asarray(omega), params, svt_method=svt_method, max_iterations=25)
    expected, iterations, _ = reference.bnnr(T, omega, tol1=0.0, tol2=0.0, max_iterations=25)
    assert int(result.stats.iterations) == iterations == 25
    assert int(result.stats.status) == Status.MAX_ITERATIONS
    np.testing.assert_allclose(np.asarray(result.completed), expected, atol=1e-8)
    # the benchmarks' NumPy eigh loop is the same algorithm as the SVD one
    symmetric, _, _ = reference.bnnr(T, omega, tol1=0.0, tol2=0.0, max_iterations=25, symmetric=True)
    np.testing.assert_allclose(symmetric, expected, atol=1e-10)


def test_bnnr_default_stop_matches_reference_and_is_bounded():
    A, Sd, Sm = planted_problem(9, 14, seed=10)
    T, omega = heterogeneous(A, Sd, Sm)
    result = bnnr_complete(jnp.asarray(T), jnp.asarray(omega))
    expected, iterations, converged = reference.bnnr(T, omega)
    assert converged and int(result.stats.status) == Status.CONVERGED
    assert int(result.stats.iterations) == iterations
    completed = np.asarray(result.completed)
    np.testing.assert_allclose(completed, expected, atol=1e-8)
    assert completed.min() >= 0.0 and completed.max() <= 1.0


def test_bnnr_float32_at_convergence_matches_float64_reference():
    A, Sd, Sm = planted_problem(9, 14, seed=11)
    T, omega = heterogeneous(A, Sd, Sm)
    # a tight stopping rule shared by both runs (the default tol2 = 1e-5 is near float32
    # noise, PERF.md): the float32 run must stop where float64 does and agree to 1e-4
    params = BNNRParams(tol1=1e-5, tol2=1.0)
    result = bnnr_complete(jnp.asarray(T, jnp.float32), jnp.asarray(omega, jnp.float32), params, max_iterations=3000)
    assert result.completed.dtype == jnp.float32
    expected, iterations, converged = reference.bnnr(T, omega, tol1=1e-5, tol2=1.0, max_iterations=3000)
    assert converged and int(result.stats.status) == Status.CONVERGED
    assert abs(int(result.stats.iterations) - iterations) <= 1
    np.testing.assert_allclose(np.asarray(result.completed), expected, atol=1e-4)


def test_nonfinite_input_is_a_status_not_an_exception():
    A, Sd, Sm = planted_problem(6, 8, seed=12)
    T, omega = heterogeneous(A, Sd, Sm)
    T[0, 0] = np.nan
    result = bnnr_complete(jnp.asarray(T), jnp.asarray(omega))
    assert int(result.stats.status) == Status.NONFINITE


# ---------------------------------------------------------------- batching


def test_vmap_equals_loop_and_traces_once():
    problems = [planted_problem(8, 12, seed=s) for s in range(3)]
    batch = jnp.asarray(np.stack([p[0] for p in problems]))
    tols = jnp.asarray([1e-6, 1e-5, 1e-4])  # traced hyper-parameters vary across the batch

    @jax.jit
    @chex.assert_max_traces(n=1)
    def solve(a, tol):
        return lrr_ialm(a, LRRParams(tol=tol)).denoised

    batched = np.asarray(jax.vmap(solve)(batch, tols))
    for index, (A, _, _) in enumerate(problems):
        single = np.asarray(lrr_ialm(jnp.asarray(A), LRRParams(tol=float(tols[index]))).denoised)
        np.testing.assert_allclose(batched[index], single, atol=1e-10)
    jax.vmap(solve)(batch * 1.0, tols * 2.0)  # new values, same shapes: no retrace


def test_bnnr_vmap_equals_loop():
    problems = [planted_problem(7, 10, seed=s) for s in range(3)]
    targets = [heterogeneous(*p) for p in problems]
    batch_t = jnp.asarray(np.stack([t for t, _ in targets]))
    batch_o = jnp.asarray(np.stack([o for _, o in targets]))
    batched = jax.jit(jax.vmap(lambda t, o: bnnr_complete(t, o)))(batch_t, batch_o)
    for index, (t, o) in enumerate(targets):
        single = bnnr_complete(jnp.asarray(t), jnp.asarray(o))
        np.testing.assert_allclose(np.asarray(batched.completed[index]), np.asarray(single.completed), atol=1e-10)
        assert int(batched.stats.iterations[index]) == int(single.stats.iterations)


def test_lrr_rank_bound_reduction_is_exact_on_a_tall_sparse_matrix():
    # PCD-like: many drugs without any known pair, so rank(A) is far below min(n, m)
    A, _, _ = planted_problem(6, 10, seed=13)
    tall = np.zeros((25, 10))
    tall[[2, 5, 9, 14, 20, 23]] = A
    plain = lrr_ialm(jnp.asarray(tall), reduce=False)
    bounded = lrr_ialm(jnp.asarray(tall), rank_bound=6)
    assert int(bounded.stats.iterations) == int(plain.stats.iterations)
    np.testing.assert_allclose(np.asarray(bounded.denoised), np.asarray(plain.denoised), atol=1e-9)
    expected, _, _ = reference.lrr_ialm(tall)
    np.testing.assert_allclose(np.asarray(bounded.denoised), expected, atol=1e-8)


@pytest.mark.parametrize("side", ["mirnas", "drugs"])
def test_lrr_on_the_support_of_the_pairs_equals_the_whole_matrix_solve(side):
    # PCD's shape: pairs only in some rows (drugs) and some columns (miRNAs); a zero row/column of A
    # stays zero in every iterate, so solving on the submatrix and scattering back is exact
    A, _, _ = planted_problem(6, 10, seed=13)
    A[:, 3] = 0  # a column of the support may be empty in a fold's training matrix
    rows, columns = np.array([2, 5, 9, 14, 20, 23]), np.array([0, 1, 3, 4, 6, 8, 9, 10, 12, 13])
    padded = np.zeros((25, 15))
    padded[np.ix_(rows, columns)] = A
    plain = lrr_ialm(jnp.asarray(padded), side=side)
    restricted = lrr_ialm(jnp.asarray(padded), side=side, support=(rows, columns))
    assert int(restricted.stats.iterations) == int(plain.stats.iterations)
    for field in ("denoised", "coefficients", "noise"):
        actual, expected = np.asarray(getattr(restricted, field)), np.asarray(getattr(plain, field))
        assert actual.shape == expected.shape, field
        np.testing.assert_allclose(actual, expected, atol=1e-9, err_msg=field)
    reference_denoised, _, _ = reference.lrr_ialm(padded, side=side)
    np.testing.assert_allclose(np.asarray(restricted.denoised), reference_denoised, atol=1e-8)
