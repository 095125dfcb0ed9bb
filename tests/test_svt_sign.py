"""The matmul-only SVT (``svt_sign``: two matrix absolute values by scaled Newton-Schulz) against
the NumPy ``eigh`` reference, alone, batched, and inside BNNR and SESL.

Tolerances: ``matrix_absolute`` resolves eigenvalues down to ``4 eps ||A||_F``; smaller ones cost
at most their size, and rounding over the steps adds a few hundred eps (measured on these
matrices: 1e-13 relative in float64, 1.3e-6 in float32, where ``eigh`` itself gives 1e-6).
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reference
from sesl_jax.solvers import BNNRParams, Status, bnnr_complete, svt_sign
from sesl_jax.solvers._prox import matrix_absolute, sign_schedule
from synthetic import heterogeneous_problem, planted_problem

jax.config.update("jax_enable_x64", True)

TAU = 0.1


def bnnr_like(n=60, seed=0):
    """A symmetric matrix whose eigenvalues sit on both sides of +-TAU, some within 1e-6 of it,
    one exactly at it, one at 0, and a few up to 100."""
    rng = np.random.default_rng(seed)
    values = np.concatenate([rng.uniform(-0.3, 0.3, n // 2), rng.uniform(0.05, 0.15, n // 4),
                             10 ** rng.uniform(-1, 2, n - n // 2 - n // 4) * rng.choice([-1, 1], n - n // 2 - n // 4)])
    values[:5] = [TAU, -TAU, TAU + 1e-6, -TAU - 1e-6, 0.0]
    basis, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return (basis * values) @ basis.T


@pytest.mark.parametrize("dtype, rtol", [(jnp.float64, 1e-11), (jnp.float32, 2e-5)])
def test_svt_sign_matches_the_eigh_reference(dtype, rtol):
    for seed in range(3):
        matrix = bnnr_like(seed=seed)
        expected = reference.svt_symmetric(matrix, TAU)
        result = np.asarray(svt_sign(jnp.asarray(matrix, dtype), TAU), np.float64)
        assert np.abs(result - expected).max() <= rtol * np.abs(matrix).max()


def test_matrix_absolute_resolves_every_scale_the_schedule_promises():
    # A diagonal matrix: |A| is exact, and entry i shows what the sign steps make of value i.
    magnitudes = np.logspace(-14, 0, 40)
    diagonal = np.diag(magnitudes * np.where(np.arange(40) % 2, -1.0, 1.0))
    norm = np.linalg.norm(diagonal)
    result = np.diag(np.asarray(matrix_absolute(jnp.asarray(diagonal))))
    eps = np.finfo(np.float64).eps
    resolved = magnitudes >= 4 * eps * norm
    np.testing.assert_allclose(result[resolved], magnitudes[resolved], rtol=1e-13)
    assert np.all(np.abs(result - magnitudes) <= 4 * eps * norm + 1e-13 * magnitudes)  # the others: within their bound
    assert result.min() >= 0


def test_sign_schedule_starts_steep_and_ends_unscaled():
    for dtype in (jnp.float32, jnp.float64):
        scales = sign_schedule(dtype)
        assert scales[0] == pytest.approx(np.sqrt(3.0), rel=1e-6)
        assert abs(scales[-1] - 1.0) < 1e-5
        assert all(a >= b for a, b in zip(scales, scales[1:]))  # scaling fades as the interval closes
    assert len(sign_schedule(jnp.float32)) < len(sign_schedule(jnp.float64))


def test_svt_sign_edge_cases():
    zero = jnp.zeros((5, 5))
    np.testing.assert_array_equal(np.asarray(svt_sign(zero, TAU)), 0.0)  # no division by a zero norm
    matrix = bnnr_like(20, seed=4)
    np.testing.assert_allclose(np.asarray(svt_sign(jnp.asarray(matrix), 0.0)), matrix, atol=1e-11)
    big = 1e3 * np.abs(matrix).max()
    np.testing.assert_allclose(np.asarray(svt_sign(jnp.asarray(matrix), big)), 0.0, atol=1e-9)
    asymmetric = matrix + np.triu(np.full_like(matrix, 1e-3), 1)  # symmetrised first, like svt_symmetric
    np.testing.assert_allclose(np.asarray(svt_sign(jnp.asarray(asymmetric), TAU)),
                               reference.svt_symmetric(asymmetric, TAU), atol=1e-10)


def test_svt_sign_vmap_equals_a_loop_and_traces_once():
    matrices = np.stack([bnnr_like(24, seed) for seed in range(3)])
    taus = jnp.asarray([0.05, 0.1, 0.2])

    @jax.jit
    @chex.assert_max_traces(n=1)
    def batch(matrices, taus):
        return jax.vmap(svt_sign)(matrices, taus)

    result = batch(jnp.asarray(matrices), taus)
    for index in range(3):
        np.testing.assert_allclose(np.asarray(result[index]), reference.svt_symmetric(matrices[index], float(taus[index])),
                                   atol=1e-11)
    batch(jnp.asarray(matrices) * 0.5, taus)  # same shapes: no retrace


def test_bnnr_with_the_sign_svt_follows_the_reference_iteration_for_iteration():
    for seed in (9, 10):
        T, omega = heterogeneous_problem(seed)
        result = bnnr_complete(jnp.asarray(T), jnp.asarray(omega), svt_method="sign")
        expected, iterations, converged = reference.bnnr(T, omega, symmetric=True)
        assert converged and int(result.stats.status) == Status.CONVERGED
        assert int(result.stats.iterations) == iterations
        np.testing.assert_allclose(np.asarray(result.completed), expected, atol=1e-9)
    fixed = BNNRParams(tol1=0.0, tol2=0.0)
    result = bnnr_complete(jnp.asarray(T), jnp.asarray(omega), fixed, svt_method="sign", max_iterations=40)
    expected, iterations, _ = reference.bnnr(T, omega, tol1=0.0, tol2=0.0, max_iterations=40, symmetric=True)
    assert int(result.stats.iterations) == iterations == 40
    np.testing.assert_allclose(np.asarray(result.completed), expected, atol=1e-9)


def test_the_estimator_accepts_the_sign_svt(tmp_path):
    # SESL itself: test_svt.py::test_sesl_with_a_fast_svt_agrees_with_eigh
    from sesl_jax import SESL

    A, Sd, Sm = planted_problem(8, 12, seed=14)
    # float32: each SVT is as close to the exact one as eigh's (1e-6), but the public stopping rule
    # (relative change of the change below 1e-5) sits near float32 rounding, so the two may stop a
    # few iterations apart (here 107 vs 109): scores within 1e-3, as for the subspace SVT.
    model = SESL("se", dtype="float32", bnnr_svt="sign").fit(A, Sd, Sm)
    reference_model = SESL("se", dtype="float32").fit(A, Sd, Sm)
    np.testing.assert_allclose(model.scores_, reference_model.scores_, atol=1e-3)
    model.save(tmp_path / "model")
    assert SESL.load(tmp_path / "model").bnnr_svt == "sign"
