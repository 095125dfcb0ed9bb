"""Python callers evaluating on several CPU devices get one BLAS thread per call, as the command
line's ``OPENBLAS_NUM_THREADS=1`` gives; a count the user chose, one device, or an accelerator
leave BLAS alone."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.linalg  # noqa: F401  the LAPACK XLA:CPU calls, loaded so that its pool is listed
from threadpoolctl import threadpool_info, threadpool_limits

from sesl_jax.evaluation.blas_threads import THREAD_VARIABLES, limits_needed, one_blas_thread_per_device

CPU2 = [SimpleNamespace(platform="cpu")] * 2


def blas_threads_now() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


@pytest.fixture
def no_thread_choice(monkeypatch):
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_several_cpu_devices_run_one_blas_thread_and_restore_the_count(no_thread_choice):
    with threadpool_limits(limits=2, user_api="blas"):
        assert blas_threads_now() == {2}
        with one_blas_thread_per_device(CPU2):
            assert blas_threads_now() == {1}
        assert blas_threads_now() == {2}


@pytest.mark.parametrize("devices", [[SimpleNamespace(platform="cpu")], [SimpleNamespace(platform="gpu")] * 2])
def test_one_device_or_an_accelerator_leaves_blas_alone(no_thread_choice, devices):
    assert not limits_needed(devices)
    with threadpool_limits(limits=2, user_api="blas"), one_blas_thread_per_device(devices):
        assert blas_threads_now() == {2}


@pytest.mark.parametrize("name", THREAD_VARIABLES)
def test_a_count_the_user_chose_is_kept(no_thread_choice, monkeypatch, name):
    monkeypatch.setenv(name, "2")
    assert not limits_needed(CPU2)
    with threadpool_limits(limits=2, user_api="blas"), one_blas_thread_per_device(CPU2):
        assert blas_threads_now() == {2}


def test_evaluate_computes_its_chunks_under_the_limit(no_thread_choice, monkeypatch):
    import jax
    import jax.numpy as jnp

    from sesl_jax.evaluation import engine, loocv_folds
    from sesl_jax.methods import Method, MethodOutput

    seen = []

    def spy(devices):
        seen.append(len(devices))
        return one_blas_thread_per_device(devices)

    def predict(train, inputs):
        return MethodOutput(train + 0.0 * inputs, jnp.zeros((1,), jnp.int32), jnp.zeros((1,), jnp.int32))

    monkeypatch.setattr(engine, "one_blas_thread_per_device", spy)
    associations = (np.random.default_rng(0).random((5, 6)) < 0.3).astype(float)
    method = Method("identity", ("none",), predict, jnp.zeros(()), {"method": "identity"})
    run = engine.evaluate(method, associations, loocv_folds(associations), batch_size=4)
    assert seen == [len(jax.local_devices())] and np.isfinite(run.hidden_scores).all()
