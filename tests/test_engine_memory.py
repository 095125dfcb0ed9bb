"""Device memory in the evaluation engine: a chunk that runs out of memory is computed in smaller
sub-batches with unchanged results and store, and the accelerator batch size follows free memory.

No accelerator is needed: the out-of-memory error is injected into the compiled chunk function.
"""

from __future__ import annotations

import json
import warnings

import jax
import numpy as np
import pytest

from sesl_jax.evaluation import DeviceMemoryError, ResultStore, evaluate, kfold_folds
from sesl_jax.evaluation import engine
from sesl_jax.evaluation.runner import run_evaluation
from sesl_jax.methods import METHODS, Similarities
from sesl_jax.pipeline import MethodConfig
from synthetic import planted_problem
from test_evaluation_engine import synthetic_dataset

OOM_MESSAGE = "RESOURCE_EXHAUSTED: Out of memory while trying to allocate 123456 bytes."


def inject(monkeypatch, fits, error=None):
    """Make every compiled chunk function raise ``error`` (default: XLA's out-of-memory error) for
    calls of more than ``fits`` folds; returns the fold counts of all calls, in order."""
    calls = []
    original = engine.make_chunk_function

    def make(*args, **kwargs):
        chunk_function = original(*args, **kwargs)

        def run(hidden, *constants):
            calls.append(hidden.shape[0])
            if hidden.shape[0] > fits:
                raise error or jax.errors.JaxRuntimeError(OOM_MESSAGE)
            return chunk_function(hidden, *constants)

        return run

    monkeypatch.setattr(engine, "make_chunk_function", make)
    return calls


SEED = 11


@pytest.fixture(scope="module")  # one method object: its compiled chunk functions are reused across tests
def problem():
    A, Sd, Sm = planted_problem(8, 12, seed=SEED)
    method = METHODS["sesl"].builder(A, Similarities(Sd, Sm, "test"))
    return A, method, kfold_folds(A, k=5, repeats=2, seed=5)  # 10 folds: chunks of 4, 4 and 2


RESULT_FIELDS = ("hidden_scores", "n_greater", "n_equal", "n_candidates", "iterations", "status",
                 "candidate_scores", "candidate_pairs")


def test_out_of_memory_chunk_is_computed_in_sub_batches_with_identical_results(problem, monkeypatch):
    A, method, folds = problem
    whole = evaluate(method, A, folds, batch_size=4)
    calls = inject(monkeypatch, fits=2)
    with pytest.warns(RuntimeWarning, match="out of device memory with 4 folds per call; retrying with 2"):
        split = evaluate(method, A, folds, batch_size=4)
    for name in RESULT_FIELDS:
        np.testing.assert_array_equal(getattr(split, name), getattr(whole, name), err_msg=name, strict=True)
    assert whole.sub_batch_size == 4 and split.sub_batch_size == 2
    # only the first chunk tries 4 folds; the later ones start at the size that fitted
    assert calls == [4, 2, 2, 2, 2, 2]


def test_halving_goes_down_to_one_fold(problem, monkeypatch):
    A, method, folds = problem
    one = jax.devices("cpu")[:1]  # the suite may run with several CPU devices (a CLI test configured them)
    whole = evaluate(method, A, folds, batch_size=8, devices=one)
    calls = inject(monkeypatch, fits=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        split = evaluate(method, A, folds, batch_size=8, devices=one)
    assert [str(w.message).split(": ", 1)[1] for w in caught] == [
        "out of device memory with 8 folds per call; retrying with 4 (results are unchanged)",
        "out of device memory with 4 folds per call; retrying with 2 (results are unchanged)",
        "out of device memory with 2 folds per call; retrying with 1 (results are unchanged)",
    ]
    assert calls == [8, 4, 2] + [1] * folds.n_folds
    np.testing.assert_array_equal(split.hidden_scores, whole.hidden_scores)
    np.testing.assert_array_equal(split.candidate_scores, whole.candidate_scores)
    assert split.sub_batch_size == 1


def test_store_and_metrics_are_unchanged_by_sub_batches(problem, tmp_path, monkeypatch):
    A, method, folds = problem
    dataset = synthetic_dataset(*planted_problem(8, 12, seed=SEED))
    config = MethodConfig("sesl", similarity="biological")

    def run(out_dir):
        return run_evaluation(dataset, folds, out_dir=out_dir, config=config, batch_size=4, method=method,
                              devices=jax.devices("cpu")[:1])

    whole = run(tmp_path / "whole")
    inject(monkeypatch, fits=1)
    with pytest.warns(RuntimeWarning, match="out of device memory"):
        split = run(tmp_path / "split")
    assert json.dumps(split["metrics"], sort_keys=True) == json.dumps(whole["metrics"], sort_keys=True)
    names = sorted(path.name for path in (tmp_path / "whole" / "chunks").iterdir())
    assert names == sorted(path.name for path in (tmp_path / "split" / "chunks").iterdir()) and len(names) == 3
    for name in names:
        with np.load(tmp_path / "whole" / "chunks" / name) as a, np.load(tmp_path / "split" / "chunks" / name) as b:
            assert a.files == b.files
            for array in a.files:
                if array != "fold_seconds":  # wall time, never equal between two runs
                    np.testing.assert_array_equal(b[array], a[array], err_msg=f"{name}: {array}", strict=True)


def test_chunks_stored_in_sub_batches_resume(problem, tmp_path, monkeypatch):
    A, method, folds = problem
    manifest = {"test": "resume"}
    inject(monkeypatch, fits=2)
    with pytest.warns(RuntimeWarning):
        first = evaluate(method, A, folds, batch_size=4, store=ResultStore(tmp_path, manifest))
    monkeypatch.undo()
    resumed = evaluate(method, A, folds, batch_size=4, store=ResultStore(tmp_path, manifest))
    assert resumed.folds_computed == 0 and resumed.sub_batch_size is None
    np.testing.assert_array_equal(resumed.hidden_scores, first.hidden_scores)


@pytest.mark.parametrize("error", [ValueError("not memory"), jax.errors.JaxRuntimeError("INTERNAL: cuSolver failed")])
def test_other_errors_propagate(problem, monkeypatch, error):
    A, method, folds = problem
    calls = inject(monkeypatch, fits=1, error=error)
    with pytest.raises(type(error), match=str(error)):
        evaluate(method, A, folds, batch_size=4)
    assert calls == [4]  # no retry


def test_one_fold_out_of_memory_is_a_clear_error(problem, monkeypatch):
    A, method, folds = problem
    inject(monkeypatch, fits=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(DeviceMemoryError, match=r"chunk 0 of sesl \(8 x 12, float64\): even one fold per device") as raised:
            evaluate(method, A, folds, batch_size=4)
    assert OOM_MESSAGE in str(raised.value.__cause__)


def test_sub_batches_stay_multiples_of_the_device_count():
    def compute(padded):  # two devices: every call must split evenly
        assert len(padded) % 2 == 0
        if len(padded) > 2:
            raise jax.errors.JaxRuntimeError(OOM_MESSAGE)
        return engine.FoldOutput(*(padded[:, 0, 0] * k for k in range(1, 8)))

    hidden = np.arange(7).reshape(7, 1, 1) * np.ones((1, 1, 2), int)
    with pytest.warns(RuntimeWarning, match="with 6 folds per call; retrying with 2"):
        arrays, sub_batch = engine.compute_in_sub_batches(compute, hidden, 6, 2, "test")
    assert sub_batch == 2
    np.testing.assert_array_equal(arrays["hidden_scores"], np.arange(7))
    np.testing.assert_array_equal(arrays["candidate_scores"], 7 * np.arange(7))


@pytest.mark.parametrize("error, expected", [
    (jax.errors.JaxRuntimeError(OOM_MESSAGE), True),
    (jax.errors.JaxRuntimeError("INTERNAL: Failed to allocate: out of memory"), True),
    (jax.errors.JaxRuntimeError("INVALID_ARGUMENT: shapes differ"), False),
    (RuntimeError(OOM_MESSAGE), False),  # not XLA's: a library's own error that quotes one
    (MemoryError("host"), False),
])
def test_is_out_of_memory(error, expected):
    assert engine.is_out_of_memory(error) is expected


class FakeAccelerator:
    platform = "gpu"

    def __init__(self, stats):
        self.stats = stats

    def memory_stats(self):
        return self.stats


def test_accelerator_batch_size_follows_free_memory(problem, monkeypatch):
    _, method, _ = problem
    gib = 2**30
    device = FakeAccelerator({"bytes_limit": 80 * gib, "bytes_in_use": 16 * gib})
    per_fold = 24 * (8 + 12) ** 2 * 4
    # no method: a quarter of the 64 GiB free at ~24 square matrices per fold, capped
    assert engine.default_batch_size(8, 12, "float32", [device]) == 512
    assert engine.default_batch_size(800, 1200, "float32", [device]) == int(0.25 * 64 * gib // (24 * 2000**2 * 4))
    # with a method: half of free memory at the compiled code's bytes per fold
    monkeypatch.setattr(engine, "compiled_fold_bytes", lambda *args: gib)
    assert engine.default_batch_size(8, 12, "float32", [device, device], method=method) == 32 * 2
    # no memory analysis: back to the estimate
    monkeypatch.setattr(engine, "compiled_fold_bytes", lambda *args: None)
    assert engine.default_batch_size(8, 12, "float32", [device], method=method) == min(512, int(16 * gib // per_fold))
    # a backend that reports no memory
    assert engine.default_batch_size(8, 12, "float32", [FakeAccelerator(None)], method=method) == 16
    # CPU keeps its few folds per device
    assert engine.default_batch_size(8, 12, "float32", jax.devices("cpu")[:1], method=method) == 4



def test_compiled_fold_bytes_from_memory_analysis(problem):
    _, method, _ = problem
    device = jax.devices("cpu")[0]
    measured = engine.compiled_fold_bytes(method, 8, 12, "float64", device)
    # at least the fold's (n x n) heterogeneous matrix and its scores
    assert measured is not None and measured >= (8 + 12) ** 2 * 8
    assert engine.compiled_fold_bytes(method, 8, 12, "float64", FakeAccelerator({})) is None  # compile failed
