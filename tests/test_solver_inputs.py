"""The solvers and the estimator used as a library: wrong input is a clear error, odd but valid
input (integer matrices, an all-zero iterate, inf) gives a result or a status, never a hang."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reference
from sesl_jax import SESL, DataError, Dataset
from sesl_jax.evaluation.metrics import threshold_metrics
from sesl_jax.solvers import (
    BNNRParams, LRRParams, Status, bnnr_complete, column_shrink, lrr_ialm, svt, svt_gram, svt_sign, svt_symmetric,
)
from synthetic import planted_problem


def _heterogeneous(seed=0):
    A, Sd, Sm = planted_problem(6, 9, seed=seed)
    T = np.block([[Sd, A], [A.T, Sm]])
    return A, T, T != 0


def test_lrr_with_inf_stops_as_nonfinite_instead_of_hanging():
    # LAPACK's SVD never returned on inf (the reduction's basis); a child process so that a
    # regression fails on the timeout instead of hanging the suite
    code = textwrap.dedent("""
        import numpy as np
        from sesl_jax.solvers import Status, lrr_ialm
        A = (np.random.default_rng(0).random((20, 30)) < 0.2).astype(np.float32)
        A[0, 0] = np.inf
        print(int(lrr_ialm(A).stats.status) == Status.NONFINITE)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "True"


@pytest.mark.parametrize("target", ["zeros", "tiny"])
def test_bnnr_iterate_at_zero_converges_instead_of_nonfinite(target):
    # the relative change ||X' - X|| / ||X|| was 0 / 0 once the iterate reached zero
    rng = np.random.default_rng(1)
    if target == "zeros":
        T = np.zeros((12, 12))
    else:
        S = rng.random((12, 12)) * 0.02
        T = (S + S.T) / 2
    result = bnnr_complete(jnp.asarray(T), jnp.asarray(T != 0))
    assert int(result.stats.status) == Status.CONVERGED
    assert np.all(np.isfinite(np.asarray(result.completed)))


def test_bnnr_with_nonzero_iterate_still_follows_the_numpy_reference():
    _, T, omega = _heterogeneous(2)
    result = bnnr_complete(jnp.asarray(T), jnp.asarray(omega))
    expected, iterations, converged = reference.bnnr(T, omega.astype(float), symmetric=True)
    np.testing.assert_allclose(np.asarray(result.completed), expected, atol=1e-9)
    assert int(result.stats.iterations) == iterations and converged


def test_integer_and_boolean_matrices_are_read_as_floats():
    A, T, omega = _heterogeneous(3)
    as_float = lrr_ialm(jnp.asarray(A))
    for variant in (A.astype(int), A.astype(bool), A.astype(int).tolist()):
        np.testing.assert_allclose(np.asarray(lrr_ialm(variant).denoised), np.asarray(as_float.denoised), atol=1e-12)
    completed = bnnr_complete(jnp.asarray(T), jnp.asarray(omega)).completed
    binary = (T > 0.5).astype(int)
    np.testing.assert_allclose(np.asarray(bnnr_complete(binary, binary != 0).completed),
                               np.asarray(bnnr_complete(binary.astype(float), binary != 0).completed), atol=1e-12)
    assert completed.dtype == jnp.result_type(float)


def test_float64_input_without_x64_is_quietly_float32():
    code = textwrap.dedent("""
        import warnings, numpy as np
        warnings.simplefilter("error")
        from sesl_jax.solvers import lrr_ialm
        A = (np.random.default_rng(0).random((8, 11)) < 0.3).astype(np.float64)
        print(lrr_ialm(A).denoised.dtype)
    """)
    env = {"JAX_ENABLE_X64": "0", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "float32"


@pytest.mark.parametrize("call, message", [
    (lambda A, T, O: lrr_ialm(A[0]), r"associations must be a matrix, got shape \(9,\)"),
    (lambda A, T, O: lrr_ialm(A, side="bogus"), r"side must be one of \('mirnas', 'drugs'\), got 'bogus'"),
    (lambda A, T, O: lrr_ialm(A, svt_method="bogus"), r"svt_method must be one of \('gram', 'svd'\)"),
    (lambda A, T, O: lrr_ialm(A, rank_bound=0), r"rank_bound \(a true upper bound on rank\(A\)\) must be an integer >= 1"),
    (lambda A, T, O: lrr_ialm(A, rank_bound=2.5), r"rank_bound .* must be an integer >= 1, got 2.5"),
    (lambda A, T, O: lrr_ialm(A, max_iterations=-5), "max_iterations must be an integer >= 0, got -5"),
    (lambda A, T, O: lrr_ialm(np.zeros((0, 8))), r"associations is empty \(shape \(0, 8\)\)"),
    (lambda A, T, O: lrr_ialm(A, (0.3, 1e-4)), r"params must be a LRRParams, got tuple: e.g. LRRParams\(alpha=...\)"),
    (lambda A, T, O: lrr_ialm(A, support=(np.array([0, 1, 99]), np.arange(9))),
     r"support rows: indices must be in \[0, 6\), got 0..99"),
    (lambda A, T, O: lrr_ialm(A, support=(np.array([0, 0]), np.arange(9))), "support rows: an index appears more than once"),
    (lambda A, T, O: lrr_ialm(A, support=(np.arange(1), np.arange(9))),
     r"associations has a nonzero entry outside the support, at row [1-5]"),
    (lambda A, T, O: lrr_ialm(A, support=(np.arange(6.0), np.arange(9))), "support rows must be a 1-D integer index array"),
    (lambda A, T, O: lrr_ialm(A, LRRParams(alpha=-1.0)), r"LRRParams.alpha must be finite and > 0"),
    (lambda A, T, O: lrr_ialm(A, LRRParams(rho=0.5)), r"LRRParams.rho must be finite and >= 1"),
    (lambda A, T, O: lrr_ialm(A.astype(str)), "associations must be a real numeric array"),
    (lambda A, T, O: bnnr_complete(T[:, :-1], O[:, :-1]), r"target must be square, got shape \(15, 14\)"),
    (lambda A, T, O: bnnr_complete(T, O[:10]), r"observed has shape \(10, 15\), target \(15, 15\)"),
    (lambda A, T, O: bnnr_complete(T, O, svt_method="bogus"), "svt_method must be one of"),
    (lambda A, T, O: bnnr_complete(T, O, BNNRParams(beta=0.0)), r"BNNRParams.beta must be finite and > 0"),
    (lambda A, T, O: bnnr_complete(T, O, {"alpha": 1.0}), "params must be a BNNRParams, got dict"),
    (lambda A, T, O: bnnr_complete(T, 2 * O), r"observed must hold 0 or 1 only; entry \(0, 0\) is 2"),
    (lambda A, T, O: bnnr_complete(T, O, svt_rank=3), "svt_rank is the block size of svt_method='subspace'; 'eigh'"),
    (lambda A, T, O: bnnr_complete(T, O, svt_method="subspace", svt_rank=0), "svt_rank must be an integer >= 1"),
    (lambda A, T, O: bnnr_complete(T, O, max_iterations=True), "max_iterations must be an integer >= 0, got True"),
    (lambda A, T, O: bnnr_complete(T, O, start=T), r"start must be a BNNRState \(another solve.s BNNRResult.state\), got ndarray"),
    (lambda A, T, O: bnnr_complete(T, O, start=bnnr_complete(T[:4, :4], O[:4, :4]).state),
     r"start.low_rank has shape \(4, 4\), but target has \(15, 15\): start comes from another problem"),
    (lambda A, T, O: svt_symmetric(T + np.triu(T, 1), 0.1), "matrix is not symmetric .*use svt"),
    (lambda A, T, O: svt_symmetric(T, np.nan), "tau must be >= 0, got nan"),
    (lambda A, T, O: svt_symmetric(T[:, :-1], 0.1), "matrix must be square"),
    (lambda A, T, O: svt_sign(T[:, :-1], 0.1), "matrix must be square"),
    (lambda A, T, O: svt(T, -1.0), "tau must be >= 0"),
    (lambda A, T, O: svt_gram(T, -1.0), "tau must be >= 0"),
    (lambda A, T, O: column_shrink(T, -0.5), "tau must be >= 0"),
])
def test_wrong_arguments_are_named_errors(call, message):
    A, T, omega = _heterogeneous(5)
    with pytest.raises((ValueError, TypeError), match=message):
        call(A, T, omega)


@pytest.mark.parametrize("svt_method", ["eigh", "subspace", "sign"])
def test_asymmetric_target_with_a_symmetric_svt_is_refused(svt_method):
    rng = np.random.default_rng(6)
    T = rng.random((10, 10))
    omega = rng.random((10, 10)) < 0.5
    with pytest.raises(ValueError, match="target is not symmetric.*use 'svd'"):
        bnnr_complete(T, omega, svt_method=svt_method)
    general = bnnr_complete(T, omega, svt_method="svd")  # the general SVT takes it, and any shape
    assert int(general.stats.status) != Status.NONFINITE
    wide = bnnr_complete(T[:, :7], omega[:, :7], svt_method="svd")
    assert wide.completed.shape == (10, 7)


def test_traced_values_are_not_checked_so_jit_and_vmap_still_work():
    _, T, omega = _heterogeneous(7)
    betas = jnp.asarray([5.0, 10.0])
    batched = jax.vmap(lambda beta: bnnr_complete(T, omega, BNNRParams(beta=beta)).completed)(betas)
    for i, beta in enumerate([5.0, 10.0]):
        np.testing.assert_allclose(np.asarray(batched[i]), np.asarray(bnnr_complete(T, omega, BNNRParams(beta=beta)).completed),
                                   atol=1e-12)
    np.testing.assert_allclose(np.asarray(jax.jit(svt)(jnp.asarray(T), 0.3)), reference.svt(T, 0.3), atol=1e-10)


def test_traced_values_out_of_range_stop_at_once_with_invalid_input():
    """What raises for concrete values is reported as ``Status.INVALID_INPUT`` under vmap or jit,
    with no iteration run; the valid members of the batch are untouched."""
    A, T, omega = _heterogeneous(8)
    lrr = jax.vmap(lambda alpha: lrr_ialm(A, LRRParams(alpha=alpha)))(jnp.asarray([0.5, -1.0, np.nan]))
    assert lrr.stats.status.tolist() == [Status.CONVERGED, Status.INVALID_INPUT, Status.INVALID_INPUT]
    assert lrr.stats.iterations.tolist()[1:] == [0, 0]
    np.testing.assert_allclose(np.asarray(lrr.denoised[0]), np.asarray(lrr_ialm(A, LRRParams(alpha=0.5)).denoised),
                               atol=1e-12)
    bnnr = jax.vmap(lambda alpha, beta: bnnr_complete(T, omega, BNNRParams(alpha=alpha, beta=beta)))(
        jnp.asarray([1.0, -1.0, 1.0]), jnp.asarray([10.0, 10.0, -10.0]))
    assert bnnr.stats.status.tolist() == [Status.CONVERGED, Status.INVALID_INPUT, Status.INVALID_INPUT]
    asymmetric = np.asarray(T).copy()
    asymmetric[0, 1] += 0.2
    assert int(jax.jit(bnnr_complete)(asymmetric, omega).stats.status) == Status.INVALID_INPUT
    assert int(jax.jit(bnnr_complete)(T, 2.0 * omega).stats.status) == Status.INVALID_INPUT
    assert int(jax.jit(bnnr_complete)(T, omega).stats.status) == Status.CONVERGED


def test_threshold_metrics_needs_one_score_per_label():
    with pytest.raises(ValueError, match=r"labels \(1,\) and scores \(5,\) must have the same shape"):
        threshold_metrics([1], [0.1, 0.2, 0.3, 0.4, 0.5], 0.25)
    with pytest.raises(ValueError, match="same shape"):
        threshold_metrics([1, 0, 1], [0.1, 0.2, 0.3, 0.4, 0.5], 0.25)


@pytest.mark.parametrize("drug_ids, message", [
    (["D0", "D1", "D2", "D3", "D4", "D0"], r"drug_ids: 'D0' appears at positions 0 and 5"),
    (list(range(6)), r"drug_ids\[0\] is 0: IDs must be non-empty strings"),
    (["D0", "D1", " ", "D3", "D4", "D5"], r"drug_ids\[2\] is ' '"),
    ("DDDDDD", "drug_ids takes a list, one entry per item"),
])
def test_estimator_ids_must_be_unique_strings(drug_ids, message):
    A, Sd, Sm = planted_problem(6, 9, seed=8)
    with pytest.raises((ValueError, TypeError), match=message):
        SESL(dtype="float64").fit(A, Sd, Sm, drug_ids=drug_ids)


def _dataset_without_smiles() -> Dataset:
    A, Sd, Sm = planted_problem(6, 9, seed=9)
    return Dataset(name="no-smiles", drug_ids=tuple(f"D{i}" for i in range(6)), mirna_ids=tuple(f"M{j}" for j in range(9)),
                   associations=A.astype(int), drug_similarity=Sd, mirna_similarity=Sm)


def test_a_dataset_keeps_its_own_ids():
    with pytest.raises(ValueError, match="a Dataset has its own"):
        SESL("bnnr", similarity="biological", dtype="float64").fit(_dataset_without_smiles(), drug_ids=list("abcdef"))


def test_new_molecule_needs_smiles_in_the_fitted_dataset():
    model = SESL("bnnr", similarity="biological", dtype="float64").fit(_dataset_without_smiles())
    with pytest.raises(DataError, match="no SMILES for any drug: a new molecule cannot be compared"):
        model.rank_mirnas(smiles="CCO")
    with pytest.raises(DataError, match="no mature sequence for any miRNA"):
        model.rank_drugs(sequence="ACGUACGUACGUACGUACGUAC")
