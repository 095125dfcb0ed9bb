"""Several processes share one evaluation run (``sesl-jax cv --distributed``): two local processes
joined by ``jax.distributed.initialize`` on CPU give the same results as one process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pandas as pd

from conftest import CLI

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment() -> dict[str, str]:
    """This source tree, one BLAS thread, and no cluster variables that JAX would read instead."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("SLURM_", "OMPI_", "PMI_", "JAX_COORDINATOR"))}
    return dict(env, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", JAX_PLATFORMS="cpu")


def run_processes(data_dir: Path, outs: list[Path], options: list[list[str]]) -> list[subprocess.CompletedProcess]:
    """``sesl-jax cv`` of BNNR on the small FCD in ``len(outs)`` processes at once; process ``i`` writes
    to ``outs[i]`` with the extra ``options[i]``."""
    coordinator = f"127.0.0.1:{free_port()}"
    processes = [
        subprocess.Popen(
            [*CLI, "cv", "--data-dir", str(data_dir), "--dataset", "fcd", "--method", "bnnr", "--cpu-devices", "1",
             "--quiet", "--out", str(out), *extra, "--distributed", "--coordinator", coordinator,
             "--num-processes", str(len(outs)), "--process-id", str(index)],
            env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for index, (out, extra) in enumerate(zip(outs, options))
    ]
    results = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=240)
            results.append(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    return results


def test_two_processes_give_the_same_results_as_one(small_data_dir, tmp_path):
    # LOOCV of the small FCD: 5 folds in 5 chunks, 3 computed by process 0 and 2 by process 1
    shared, alone = tmp_path / "two-processes", tmp_path / "one-process"
    results = run_processes(small_data_dir, [shared, shared], [["--batch-size", "1"]] * 2)
    assert all(result.returncode == 0 for result in results), "\n".join(
        f"process {index} (exit {result.returncode}): {result.stderr[-2000:]}" for index, result in enumerate(results))
    assert "global" in results[0].stdout and "global" not in results[1].stdout  # process 0 reports
    assert "process 1 of 2: done" in results[1].stderr
    single = subprocess.run(
        [*CLI, "cv", "--data-dir", str(small_data_dir), "--dataset", "fcd", "--method", "bnnr", "--cpu-devices", "1",
         "--batch-size", "1", "--quiet", "--out", str(alone)],
        env=environment(), capture_output=True, text=True, timeout=240,
    )
    assert single.returncode == 0, single.stderr[-3000:]

    two, one = (json.loads((path / "metrics.json").read_text()) for path in (shared, alone))
    assert two["metrics"] == one["metrics"] and two["solver"] == one["solver"]
    assert (two["processes"], two["devices"], one["processes"]) == (2, 2, 1)
    scores_two, scores_one = (pd.read_parquet(path / "scores.parquet") for path in (shared, alone))
    pd.testing.assert_frame_equal(scores_two, scores_one, check_exact=True)
    assert sorted(path.name for path in (shared / "chunks").iterdir()) == [f"chunk_0000{i}.npz" for i in range(5)]
    timing = two["timing"]
    assert timing["folds_computed"] == 3  # process 0's share; the per-fold costs cover every fold
    assert timing["compute_seconds_all_folds"] > timing["compute_seconds"]


def test_processes_started_with_different_options_refuse_to_mix(small_data_dir, tmp_path):
    outs = [tmp_path / "float64", tmp_path / "float32"]  # not shared: each process's store accepts it
    results = run_processes(small_data_dir, outs, [["--dtype", "float64"], ["--dtype", "float32"]])
    for result in results:
        assert result.returncode == 1, result.stderr[-3000:]
        assert "run another evaluation than process 0" in result.stderr
