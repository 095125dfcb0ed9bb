"""Folds spread over several host devices (``sesl-jax cv --cpu-devices``, default one per core).

With jaxlib 0.10, a vmapped LAPACK call on CPU hands its batch to XLA's thread pool (one thread per
core) and waits for it; two host devices each doing so took both threads and hung for good. The
engine therefore loops folds with ``lax.map`` on CPU, and the checks here keep it that way.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sesl_jax.cli import build_parser
from sesl_jax.cli._common import available_cores
from sesl_jax.evaluation import candidate_mask, loocv_folds
from sesl_jax.evaluation.engine import make_chunk_function
from sesl_jax.methods import METHODS, Similarities
from synthetic import planted_problem

ROOT = Path(__file__).resolve().parents[1]
LAPACK_CALL = re.compile(r"custom_call @(lapack_\w+)\(")


ASSOCIATIONS, DRUG_SIMILARITY, MIRNA_SIMILARITY = planted_problem(6, 9, seed=11)


def batched_lapack_calls(method, fold_batching: str) -> set[str]:
    """LAPACK custom calls in the chunk function that take a batch of matrices (operand rank > 2)."""
    A = ASSOCIATIONS
    candidates = candidate_mask(A)
    folds = loocv_folds(A)
    chunk_function = make_chunk_function(method, True, tuple(jax.devices()[:1]), fold_batching)
    text = chunk_function.lower(
        jnp.asarray(folds.hidden[:4]), jnp.asarray(A), jnp.asarray(candidates),
        jnp.asarray(np.flatnonzero(candidates), jnp.int32), method.inputs,
    ).as_text()
    calls = {}  # name -> operand types, from lines "... custom_call @lapack_x(...) {...} : (OPERANDS) -> (...)"
    for line in text.splitlines():
        if match := LAPACK_CALL.search(line):
            calls.setdefault(match.group(1), []).append(line.rsplit(" : (", 1)[1].split(") ->")[0])
    assert calls, "no LAPACK call found: has the lowered text changed?"
    return {name for name, operands in calls.items()
            if any(shape.count("x") > 2 for types in operands for shape in re.findall(r"tensor<([^>]*)>", types))}


def every_method():
    for name, spec in METHODS.items():
        for transductive in (False, True) if spec.transductive_option else (False,):
            yield pytest.param(name, transductive, id=f"{name}{'-transductive' if transductive else ''}")


@pytest.mark.parametrize(("name", "transductive"), list(every_method()))
def test_the_cpu_path_makes_no_batched_lapack_call(name, transductive):
    similarities = Similarities(DRUG_SIMILARITY, MIRNA_SIMILARITY, "test")
    method = METHODS[name].builder(ASSOCIATIONS, similarities, dtype="float64", transductive=transductive)
    # each device runs this same per-device function inside shard_map
    assert batched_lapack_calls(method, "auto") == set()


def test_the_lapack_check_sees_batched_calls():
    method = METHODS["bnnr"].builder(ASSOCIATIONS, Similarities(DRUG_SIMILARITY, MIRNA_SIMILARITY, "test"),
                                     dtype="float64")
    assert batched_lapack_calls(method, "vmap") == {"lapack_dsyevd_ffi"}


class _Configured(Exception):
    pass


@pytest.mark.parametrize("command", [["cv", "--dataset", "fcd"], ["select", "--dataset", "fcd"], ["reproduce"]])
def test_every_evaluating_command_splits_the_cpu_one_device_per_core(command, monkeypatch, tmp_path):
    """cv, select and reproduce spread folds over all cores by default: each sets the device count
    (``--cpu-devices auto``) before anything else starts JAX."""
    import importlib

    args = build_parser().parse_args([*command, "--out", str(tmp_path / "out")])
    assert args.cpu_devices == available_cores() >= 1
    assert available_cores() <= (os.cpu_count() or 1)
    module = importlib.import_module(f"sesl_jax.cli._{command[0]}")
    counts = []

    def record(count):
        counts.append(count)
        raise _Configured

    monkeypatch.setattr(module, "configure_cpu_devices", record)
    with pytest.raises(_Configured):
        args.func(args)
    assert counts == [available_cores()]
    assert build_parser().parse_args([*command, "--out", "x", "--cpu-devices", "1"]).cpu_devices == 1


def test_more_cpu_devices_than_cores_is_a_warning(monkeypatch):
    import sesl_jax.cli._common as common

    monkeypatch.setattr(common, "available_cores", lambda: 2)
    with pytest.warns(UserWarning, match=r"--cpu-devices 3 is more than the 2 cores this process may use: .* "
                                         r"no faster than with --cpu-devices 2"):
        common.warn_if_oversubscribed(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        common.warn_if_oversubscribed(2)


def test_rank_splits_the_cpu_for_new_items_only(monkeypatch, tmp_path):
    """New molecules or sequences are shared between one device per core; ranking an item of the
    dataset is one solve (or none, from a saved model) and leaves the device count alone."""
    import sesl_jax.cli._rank as rank

    counts = []

    def record(count):
        counts.append(count)
        raise _Configured

    monkeypatch.setattr(rank, "configure_cpu_devices", record)
    args = build_parser().parse_args(["rank", "--model", str(tmp_path / "none"), "--smiles", "CCO"])
    with pytest.raises(_Configured):
        args.func(args)  # before the model is read
    assert counts == [available_cores()]
    args = build_parser().parse_args(["rank", "--dataset", "fcd", "--data-dir", str(tmp_path / "none"), "--drug", "D"])
    with pytest.raises(Exception) as raised:
        args.func(args)  # fails on the missing data, never having split the CPU
    assert not isinstance(raised.value, _Configured) and counts == [available_cores()]


def test_two_cpu_devices_give_the_same_results_as_one(tmp_path):
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(ROOT / 'tests')!r})
        from sesl_jax.cli._common import configure_cpu_devices
        configure_cpu_devices(2)  # as the command line does, before JAX starts its backend
        import jax
        jax.config.update("jax_enable_x64", True)
        import numpy as np
        import pandas as pd
        from synthetic import planted_problem
        from test_evaluation_engine import synthetic_dataset
        from sesl_jax.evaluation import loocv_folds
        from sesl_jax.evaluation.engine import make_chunk_function
        from sesl_jax.evaluation.runner import run_evaluation
        from sesl_jax.methods import METHODS, Similarities
        from sesl_jax.pipeline import MethodConfig
        assert len(jax.devices()) == 2, jax.devices()
        A, Sd, Sm = planted_problem(8, 12, seed=5)
        dataset = synthetic_dataset(A, Sd, Sm)
        folds = loocv_folds(A)  # in chunks of 4, the last one padded
        for name in ("bnnr", "sesl"):
            config = MethodConfig(name, similarity="biological")
            outs = {{}}
            for count in (1, 2):
                out = {str(tmp_path)!r} + f"/{{name}}-{{count}}"
                summary = run_evaluation(dataset, folds, out_dir=out, config=config, batch_size=4,
                                         devices=jax.devices()[:count])
                assert summary["devices"] == count
                outs[count] = (summary, pd.read_parquet(out + "/scores.parquet"))
            assert outs[1][0]["metrics"] == outs[2][0]["metrics"], name
            assert outs[1][0]["solver"] == outs[2][0]["solver"], name
            pd.testing.assert_frame_equal(outs[1][1], outs[2][1], check_exact=False, rtol=0, atol=1e-12)
        method = METHODS["bnnr"].builder(A, Similarities(Sd, Sm, "test"), dtype="float64")
        try:
            make_chunk_function(method, True, tuple(jax.devices()), "vmap")
        except ValueError as error:
            assert "deadlocks" in str(error)
        else:
            raise AssertionError("vmap over two CPU devices was accepted")
        print("same", folds.n_folds)
        """
    )
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "same" in result.stdout


def test_splitting_the_cpu_after_jax_started_changes_nothing_and_leaks_nothing(monkeypatch):
    """Once the backend runs, the device count is fixed: setting XLA_FLAGS then would only reach
    child processes (a benchmark started from a test got 2 devices and another batch size)."""
    import jax.numpy as jnp

    from sesl_jax.cli._common import configure_cpu_devices

    jnp.ones(1).block_until_ready()  # the backend has started
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    assert configure_cpu_devices(2) == 2
    assert "XLA_FLAGS" not in os.environ
