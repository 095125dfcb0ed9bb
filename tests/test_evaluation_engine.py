"""The batched evaluation engine: leakage, batching, devices, resume, and its rank counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sesl_jax.data import Dataset
from sesl_jax.evaluation import (
    ResultStore, ResumeMismatchError, evaluate, kfold_folds, loocv_folds, summarize, training_matrix,
)
from sesl_jax.evaluation.metrics import local_rank_counts
from sesl_jax.evaluation.runner import run_evaluation
from sesl_jax.pipeline import MethodConfig
from sesl_jax.methods import METHODS, Method, MethodOutput, Similarities
from synthetic import planted_problem

ROOT = Path(__file__).resolve().parents[1]


def synthetic_dataset(A, Sd, Sm, name="synthetic") -> Dataset:
    return Dataset(
        name=name,
        drug_ids=tuple(f"D{i}" for i in range(A.shape[0])),
        mirna_ids=tuple(f"M{j}" for j in range(A.shape[1])),
        associations=A,
        drug_similarity=Sd,
        mirna_similarity=Sm,
        checksums={},
        source="written by the test",
    )


def spy_method() -> Method:
    """Scores = the training matrix itself: shows exactly what the fold's solver received."""

    def predict(train, inputs):
        return MethodOutput(train + 0.0 * inputs, jnp.zeros((1,), jnp.int32), jnp.zeros((1,), jnp.int32))

    return Method("spy", ("none",), predict, jnp.zeros(()), {"method": "spy"})


def test_training_matrix_zeroes_hidden_pairs_and_ignores_padding():
    A = np.ones((3, 4))
    hidden = jnp.asarray([[0, 1], [2, 3], [-1, -1]])
    train = np.asarray(training_matrix(jnp.asarray(A), hidden))
    expected = A.copy()
    expected[0, 1] = expected[2, 3] = 0
    np.testing.assert_array_equal(train, expected)


def test_hidden_pair_is_zero_in_every_solver_input():
    A, _, _ = planted_problem(6, 9, seed=1)
    folds = kfold_folds(A, k=3, seed=0)
    run = evaluate(spy_method(), A, folds, batch_size=2)
    valid = ~np.isnan(run.hidden_scores)
    assert valid.sum() == A.sum()
    # the spy returns its input: every hidden pair must have been 0 there
    np.testing.assert_array_equal(run.hidden_scores[valid], 0.0)
    # and the other known pairs were still 1 (only the fold's own pairs are hidden)
    assert run.n_candidates[..., 0][valid].min() == (A == 0).sum()


def test_sesl_per_fold_inputs_hold_nothing_derived_from_associations():
    A, Sd, Sm = planted_problem(6, 9, seed=2)
    method = METHODS["sesl"].builder(A, Similarities(Sd, Sm, "test"))
    leaves = jax.tree_util.tree_leaves(method.inputs)
    assert "coefficients" not in method.inputs and not method.leaks
    shapes = {leaf.shape for leaf in leaves}
    assert A.shape not in shapes  # no (n_drugs, n_mirnas) array rides along with the folds


def test_transductive_applies_full_data_coefficients_to_each_training_matrix():
    """The labelled published protocol: X* from the FULL matrix, A1 = A_train X* per fold."""
    import reference

    A, Sd, Sm = planted_problem(12, 15, n_clusters=3, seed=2)  # rank 10 < 12 rows: X* is not the identity on A's rows
    method = METHODS["sesl"].builder(A, Similarities(Sd, Sm, "test"), transductive=True)
    assert method.leaks and method.stages == ("bnnr",)
    _, _, _, X_full = reference.lrr_ialm(A, with_coefficients=True)
    np.testing.assert_allclose(np.asarray(method.inputs["coefficients"]), X_full, atol=1e-6)
    i, j = np.argwhere(A == 1)[0]
    train = A.copy()
    train[i, j] = 0
    scores = np.asarray(method.predict(jnp.asarray(train), method.inputs).scores)
    # BNNR's loose stopping rule amplifies 1e-6 differences in X*, so apply the method's own X*
    expected = reference.sesl(train, Sd, Sm, coefficients=np.asarray(method.inputs["coefficients"]))
    np.testing.assert_allclose(scores, expected, atol=1e-8)
    # per fold, X* is refitted without the hidden pair, which then scores lower: the leak lifts it
    per_fold = np.asarray(METHODS["sesl"].builder(A, Similarities(Sd, Sm, "test"))(jnp.asarray(train)).scores)
    assert scores[i, j] > per_fold[i, j] + 0.05


def test_rank_counts_match_numpy_reference():
    A, Sd, Sm = planted_problem(8, 12, seed=3)
    method = METHODS["se"].builder(A, Similarities(Sd, Sm, "test"))
    folds = kfold_folds(A, k=4, seed=1)
    run = evaluate(method, A, folds, batch_size=4)
    for fold in range(folds.n_folds):
        pairs = folds.fold_pairs(fold)
        train = np.asarray(training_matrix(jnp.asarray(A), jnp.asarray(folds.hidden[fold])))
        scores = np.asarray(method(jnp.asarray(train)).scores)
        reference = local_rank_counts(scores[pairs[:, 0], pairs[:, 1]], pairs, scores, A == 0)
        n = len(pairs)
        for index, scope in enumerate(("global", "drug", "mirna")):
            np.testing.assert_array_equal(run.n_greater[fold, :n, index], reference[scope][0])
            np.testing.assert_array_equal(run.n_equal[fold, :n, index], reference[scope][1])
            np.testing.assert_array_equal(run.n_candidates[fold, :n, index], reference[scope][2])


def _loocv_auc(A, Sd, Sm, method_name="sesl"):
    method = METHODS[method_name].builder(A, Similarities(Sd, Sm, "test"))
    folds = loocv_folds(A)
    run = evaluate(method, A, folds, batch_size=16)
    return summarize(run, folds, method.stages)["metrics"]["global"]["auc"]


def test_leakage_planted_structure_is_found_and_permuted_is_chance():
    A, Sd, Sm = planted_problem(14, 20, n_clusters=3, density=0.5, seed=4)
    structured = _loocv_auc(A, Sd, Sm)
    assert structured > 0.8, structured
    # the same number of known pairs placed at random: no structure left to learn
    rng = np.random.default_rng(5)
    permuted = rng.permutation(A.ravel()).reshape(A.shape)
    chance = _loocv_auc(permuted, Sd, Sm)
    assert 0.3 < chance < 0.7, chance


@pytest.mark.parametrize(("batch", "folds", "devices", "expected"), [
    (8, 5, 2, 6),  # 5-fold CV on 2 CPU devices: one chunk of 3 per device, not 4
    (4, 5, 1, 3),  # two chunks of 3 (one padding fold) instead of 4 + 4 (three)
    (8, 664, 2, 8),  # LOOCV: already exact
    (8, 50, 2, 8),
    (8, 9, 2, 6),
    (8, 1, 2, 2),
    (3, 10, 2, 4),  # rounded up to the devices first
])
def test_default_chunks_are_balanced_to_pad_as_little_as_possible(batch, folds, devices, expected):
    from sesl_jax.evaluation.engine import balanced_batch_size

    size = balanced_batch_size(batch, folds, devices)
    assert size == expected and size % devices == 0
    batch_rounded = -(-batch // devices) * devices
    assert -(-folds // size) == -(-folds // batch_rounded)  # no more chunks (compiled calls) than before
    assert size * -(-folds // size) - folds < devices * -(-folds // size)  # less than one fold per device per chunk wasted


def test_default_chunk_size_is_balanced_over_the_folds(tmp_path):
    A, Sd, Sm = planted_problem(8, 12, seed=6)
    dataset = synthetic_dataset(A, Sd, Sm)
    folds = kfold_folds(A, k=5, seed=2)
    summary = run_evaluation(dataset, folds, out_dir=tmp_path / "run", config=MethodConfig("bnnr"),
                             devices=jax.local_devices()[:1], progress=False)
    assert summary["batch_size"] == 3  # the CPU default of 4 per device, balanced: 3 + 2 (one padding fold)


def test_batched_equals_fold_by_fold():
    A, Sd, Sm = planted_problem(8, 12, seed=6)
    method = METHODS["sesl"].builder(A, Similarities(Sd, Sm, "test"))
    folds = kfold_folds(A, k=5, seed=2)
    batched = evaluate(method, A, folds, batch_size=5)  # lax.map over folds on CPU
    single = evaluate(method, A, folds, batch_size=1)
    # The accelerator path, on one device (a CLI test earlier in this process may have split the
    # host into several CPU devices, where vmap is refused).
    vmapped = evaluate(method, A, folds, batch_size=5, fold_batching="vmap", devices=jax.local_devices()[:1])
    np.testing.assert_allclose(batched.hidden_scores, single.hidden_scores, atol=1e-10, equal_nan=True)
    np.testing.assert_allclose(vmapped.hidden_scores, single.hidden_scores, atol=1e-10, equal_nan=True)
    np.testing.assert_array_equal(vmapped.iterations, single.iterations)
    np.testing.assert_array_equal(batched.iterations, single.iterations)
    np.testing.assert_allclose(batched.candidate_scores, single.candidate_scores, atol=1e-10)
    # and each fold equals an unbatched fit on its training matrix
    for fold in range(folds.n_folds):
        train = training_matrix(jnp.asarray(A), jnp.asarray(folds.hidden[fold]))
        scores = np.asarray(method(train).scores)
        pairs = folds.fold_pairs(fold)
        np.testing.assert_allclose(batched.hidden_scores[fold, : len(pairs)], scores[pairs[:, 0], pairs[:, 1]], atol=1e-10)


def test_four_simulated_devices_give_the_same_numbers_as_one(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT / 'tests')!r})
        import jax
        jax.config.update("jax_enable_x64", True)
        import numpy as np
        from synthetic import planted_problem
        from sesl_jax.evaluation import evaluate, kfold_folds
        from sesl_jax.methods import METHODS, Similarities
        assert len(jax.devices()) == 4, jax.devices()
        A, Sd, Sm = planted_problem(8, 12, seed=7)
        method = METHODS["sesl"].builder(A, Similarities(Sd, Sm, "test"))
        folds = kfold_folds(A, k=6, seed=3)
        four = evaluate(method, A, folds, batch_size=4)  # 6 folds: the last chunk is padded
        one = evaluate(method, A, folds, batch_size=4, devices=jax.devices()[:1])
        np.testing.assert_allclose(four.hidden_scores, one.hidden_scores, atol=1e-12, equal_nan=True)
        np.testing.assert_array_equal(four.n_greater, one.n_greater)
        np.testing.assert_array_equal(four.iterations, one.iterations)
        print("same")
        """
    )
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", OPENBLAS_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "same" in result.stdout


def _run(dataset, folds, out_dir, **kwargs):
    config = MethodConfig("sesl", similarity="biological")
    return run_evaluation(dataset, folds, out_dir=out_dir, config=config, batch_size=2, **kwargs)


def test_interrupted_run_resumes_to_identical_metrics(tmp_path, monkeypatch):
    A, Sd, Sm = planted_problem(8, 12, seed=8)
    dataset = synthetic_dataset(A, Sd, Sm)
    folds = kfold_folds(A, k=5, repeats=2, seed=4)
    reference = _run(dataset, folds, tmp_path / "whole")

    original = ResultStore.write_chunk
    calls = {"n": 0}

    def killed_after_two(self, index, arrays):
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the run dies after two chunks reached the disk
        calls["n"] += 1
        return original(self, index, arrays)

    monkeypatch.setattr(ResultStore, "write_chunk", killed_after_two)
    with pytest.raises(KeyboardInterrupt):
        _run(dataset, folds, tmp_path / "resumed")
    monkeypatch.setattr(ResultStore, "write_chunk", original)
    assert not (tmp_path / "resumed" / "metrics.json").exists()
    assert len(list((tmp_path / "resumed" / "chunks").glob("chunk_*.npz"))) == 2
    resumed = _run(dataset, folds, tmp_path / "resumed")
    assert resumed["timing"]["folds_computed"] == folds.n_folds - 4
    assert json.dumps(resumed["metrics"], sort_keys=True) == json.dumps(reference["metrics"], sort_keys=True)


def test_changed_configuration_refuses_to_resume(tmp_path):
    A, Sd, Sm = planted_problem(6, 9, seed=9)
    dataset = synthetic_dataset(A, Sd, Sm)
    _run(dataset, kfold_folds(A, k=3, seed=0), tmp_path / "run", seed=0)
    with pytest.raises(ResumeMismatchError, match="differs in"):
        _run(dataset, kfold_folds(A, k=3, seed=1), tmp_path / "run", seed=1)
    changed = synthetic_dataset(A, Sd * 0.9 + 0.05, Sm)
    with pytest.raises(ResumeMismatchError):
        _run(changed, kfold_folds(A, k=3, seed=0), tmp_path / "run", seed=0)


def test_nonfinite_fold_is_counted_not_hidden():
    A, Sd, Sm = planted_problem(6, 9, seed=10)

    def predict(train, inputs):
        # the fold hiding pair (0, *) fails: NaN scores, non-finite status
        bad = train[0].sum() < inputs
        scores = jnp.where(bad, jnp.nan, train)
        status = jnp.where(bad, 2, 0).astype(jnp.int32)[None]
        return MethodOutput(scores, jnp.ones((1,), jnp.int32), status)

    method = Method("fragile", ("solver",), predict, jnp.asarray(A[0].sum()), {})
    folds = loocv_folds(A)
    run = evaluate(method, A, folds, batch_size=4)
    summary = summarize(run, folds, method.stages)
    failed = int((folds.hidden[:, 0, 0] == 0).sum())
    assert summary["solver"]["solver"]["nonfinite"] == failed > 0
    assert len(summary["excluded_folds"]) == failed
    assert any("non-finite" in note for note in summary["notes"])
    assert np.isfinite(summary["metrics"]["global"]["auc"])


def test_progress_lines_are_throttled_and_estimate_from_computed_folds_only():
    from sesl_jax.evaluation.engine import ProgressLines

    now, lines = [0.0], []
    # 4 folds read back from the store on resume: no rate from these
    progress = ProgressLines(10, "sesl", lines.append, initial=4, interval=60.0, clock=lambda: now[0])
    now[0] = 30.0
    progress.update(2)  # within the interval: silent
    assert lines == []
    now[0] = 90.0
    progress.update(2)  # 4 computed folds in 90 s
    assert lines == ["sesl: 8/10 folds (80%), 22.50 s/fold, about 1 min left"]
    now[0] = 100.0
    progress.update(2)  # 10 s after the last line: silent until close
    progress.close()
    assert lines[-1].startswith("sesl: 10/10 folds (100%)") and len(lines) == 2
    now[0] = 200.0
    progress.close()  # nothing new since the last line: no repeat
    assert len(lines) == 2


def test_sesl_folds_solve_sparse_learning_on_the_rows_and_columns_with_pairs():
    """PCD's shape: drugs and miRNAs without any known pair. The method restricts sparse learning to
    the others (``lrr_support``) and still equals the reference solve on the whole matrix."""
    import reference

    A, Sd, Sm = planted_problem(8, 10, seed=5)
    rows, columns = np.array([0, 2, 3, 5, 6, 8, 9, 11]), np.array([0, 1, 2, 4, 5, 7, 8, 10, 11, 12])
    rng = np.random.default_rng(5)

    def padded_similarity(inner, size, index):
        outer = rng.uniform(0.0, 0.3, (size, size))
        outer = (outer + outer.T) / 2
        outer[np.ix_(index, index)] = inner
        np.fill_diagonal(outer, 1.0)
        return outer

    padded = np.zeros((12, 13))
    padded[np.ix_(rows, columns)] = A
    Sd_p, Sm_p = padded_similarity(Sd, 12, rows), padded_similarity(Sm, 13, columns)
    method = METHODS["sesl"].builder(padded, Similarities(Sd_p, Sm_p, "test"))
    support = [np.asarray(index) for index in method.inputs["lrr_support"]]
    np.testing.assert_array_equal(support[0], np.flatnonzero(padded.any(axis=1)))  # within rows: A may add zeros
    np.testing.assert_array_equal(support[1], np.flatnonzero(padded.any(axis=0)))
    assert len(support[0]) < padded.shape[0] and len(support[1]) < padded.shape[1]  # the restricted path runs
    train = padded.copy()
    train[tuple(np.argwhere(padded == 1)[0])] = 0
    scores = np.asarray(method(jnp.asarray(train)).scores)
    np.testing.assert_allclose(scores, reference.sesl(train, Sd_p, Sm_p), atol=1e-7)


def test_fixed_threshold_outside_the_scores_is_noted():
    A, _, _ = planted_problem(6, 9, seed=11)

    def predict(train, inputs):  # scores in [0, 1): a threshold of 50 (percent) predicts nothing
        scores = 0.25 + 0.5 * jnp.arange(train.size).reshape(train.shape) / train.size
        return MethodOutput(scores, jnp.ones((1,), jnp.int32), jnp.zeros((1,), jnp.int32))

    method = Method("plain", ("solver",), predict, jnp.zeros(()), {})
    folds = loocv_folds(A)
    run = evaluate(method, A, folds, batch_size=4)
    above = summarize(run, folds, method.stages, threshold=50.0)
    assert any("above every score (highest 0.7" in note for note in above["notes"])
    assert above["metrics"]["global"]["f1"] == 0.0
    below = summarize(run, folds, method.stages, threshold=0.25)
    assert any("every pair is predicted positive" in note for note in below["notes"])
    inside = summarize(run, folds, method.stages, threshold=0.5)
    assert not any("threshold" in note for note in inside["notes"])


def test_evaluate_and_summarize_refuse_parts_that_do_not_belong_together():
    """Folds, matrix, method, run and stages of different problems: a named error, never metrics
    (folds of another matrix used to be scored, and an index out of range clamped by JAX)."""
    A, Sd, Sm = planted_problem(8, 10, seed=1)
    other, _, _ = planted_problem(8, 10, seed=2)
    larger, _, _ = planted_problem(11, 13, seed=3)
    method = METHODS["bnnr"].builder(A, Similarities(Sd, Sm, "test"), dtype="float64")
    cases = [
        (lambda: evaluate(method, A, loocv_folds(other)), ValueError,
         r"fold \d+ hides pair \(\d+, \d+\), which is not a known pair of the association matrix"),
        (lambda: evaluate(method, A, loocv_folds(larger)), ValueError, r"outside the 8 x 10 association matrix"),
        (lambda: evaluate(method, A.T, loocv_folds(A.T)), ValueError,
         r"the method's drug_similarity is \(8, 8\), but the association matrix is 10 x 8"),
        (lambda: evaluate(method, np.zeros((8, 10)), loocv_folds(np.zeros((8, 10)))), ValueError, "folds hold no fold"),
        (lambda: evaluate(method, A, [[0, 0]]), TypeError, "folds must be a Folds"),
        (lambda: evaluate(method, A, loocv_folds(A), batch_size=0), ValueError, "batch_size must be an integer >= 1"),
        (lambda: evaluate(method, A, loocv_folds(A), dtype="float16"), ValueError, "dtype must be 'float32' or 'float64'"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()
    folds = loocv_folds(A)
    run = evaluate(method, A, folds, batch_size=8)
    assert summarize(run, folds, method.stages)["n_folds"] == folds.n_folds
    for call, error, message in [
        (lambda: summarize(run, kfold_folds(A, 3), method.stages), ValueError, "not the folds it ran"),
        (lambda: summarize(run, folds, "bnnr"), TypeError, "stages must be a tuple of stage names"),
        (lambda: summarize(run, folds, ("a", "b")), ValueError, r"the run has 1 solver stage\(s\), stages names 2"),
        (lambda: summarize(run, folds, method.stages, threshold=float("nan")), ValueError, "threshold must be a finite"),
    ]:
        with pytest.raises(error, match=message):
            call()


def test_a_fold_with_invalid_solver_input_is_excluded_and_named():
    """Status.INVALID_INPUT (traced parameters or inputs out of range) excludes the fold as a
    non-finite one does, with its own count and note."""
    from sesl_jax.solvers import Status

    A, Sd, Sm = planted_problem(8, 10, seed=4)
    method = METHODS["bnnr"].builder(A, Similarities(Sd, Sm, "test"), dtype="float64")
    folds = loocv_folds(A)
    run = evaluate(method, A, folds, batch_size=8)
    status = run.status.copy()
    status[2, 0] = Status.INVALID_INPUT
    summary = summarize(run._replace(status=status), folds, method.stages)
    assert summary["excluded_folds"] == [2]
    assert summary["solver"]["bnnr"]["invalid_input"] == 1
    assert any("1 fold(s) had solver parameters or inputs out of range" in note for note in summary["notes"])
    assert "invalid_input" not in summarize(run, folds, method.stages)["solver"]["bnnr"]  # absent when none
