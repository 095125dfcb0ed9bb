"""BLAS threads under the Python API on several CPU devices: the library's own limit vs none.

    SESL_JAX_DATA=../shared/data python benchmarks/blas_threads.py [--folds 16] [--devices 2] [--out F]

Each setting runs in a fresh process (BLAS reads its variables when it loads), as a Python user
would: ``evaluate`` of BNNRSMMA (FCD, float64, exact ``eigh``) on the first ``--folds`` LOOCV folds,
one chunk per device count, on ``--devices`` CPU devices. Settings: no BLAS variable (the library
limits BLAS to one thread per call while it evaluates), ``OPENBLAS_NUM_THREADS=<cores>`` (a user's
explicit choice, which the library keeps; what no variable gave before the limit) and
``OPENBLAS_NUM_THREADS=1`` (what the command line sets). Seconds per fold after a compiling chunk;
scores must agree across settings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from _common import ROOT, at_least, device_facts, json_out, print_table, write_json

from sesl_jax.evaluation.blas_threads import THREAD_VARIABLES

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[3])  # benchmarks/, for take()
import jax
jax.config.update("jax_num_cpu_devices", int(sys.argv[1]))
jax.config.update("jax_enable_x64", True)
import numpy as np
from threadpoolctl import threadpool_info
from _common import take
from sesl_jax.data import load_dataset
from sesl_jax.evaluation import evaluate, loocv_folds
from sesl_jax.pipeline import MethodConfig, build_dataset_method

count = int(sys.argv[2])
dataset = load_dataset("fcd")
method = build_dataset_method(dataset, MethodConfig("bnnr", dtype="float64"))
folds = loocv_folds(dataset.associations)
devices = jax.local_devices()
evaluate(method, dataset.associations, take(folds, slice(0, len(devices))), batch_size=len(devices))  # compiles
tic = time.perf_counter()
run = evaluate(method, dataset.associations, take(folds, slice(0, count)), batch_size=len(devices))
seconds = time.perf_counter() - tic
print(json.dumps({"seconds": seconds, "folds": count, "devices": len(devices),
                  "scores": np.asarray(run.hidden_scores).ravel().tolist()}))
"""


def run_setting(label: str, variables: dict[str, str], args) -> dict:
    env = {name: value for name, value in os.environ.items() if name not in THREAD_VARIABLES}
    env.update(variables, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", CHILD, str(args.devices), str(args.folds), str(ROOT / "benchmarks")], env=env,
                            capture_output=True, text=True, check=True)
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    row = dict(setting=label, variables=variables, devices=measured["devices"], folds=measured["folds"],
               seconds=measured["seconds"], seconds_per_fold=measured["seconds"] / measured["folds"])
    print(f"{label}: {row['seconds_per_fold']:.3f} s/fold", flush=True)
    return row | {"scores": measured["scores"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=at_least(1), default=16)
    parser.add_argument("--devices", type=at_least(1), default=2)
    parser.add_argument("--out", type=json_out, default=str(ROOT / "benchmarks" / "results" / "blas_threads.json"))
    args = parser.parse_args()
    cores = str(os.cpu_count() or 2)
    settings = {
        "no variable (library limits BLAS)": {},
        f"OPENBLAS_NUM_THREADS={cores} (user's choice, kept)": {"OPENBLAS_NUM_THREADS": cores},
        "OPENBLAS_NUM_THREADS=1 (as the command line)": {"OPENBLAS_NUM_THREADS": "1"},
    }
    rows = [run_setting(label, variables, args) for label, variables in settings.items()]
    baseline = rows[1]["seconds_per_fold"]
    for row in rows:
        row["speedup_vs_user_threads"] = baseline / row["seconds_per_fold"]
    reference = rows[0].pop("scores")
    for row in rows[1:]:
        row["max_score_difference"] = max(abs(a - b) for a, b in zip(reference, row.pop("scores")))
    print()
    print_table(rows, ["setting", "devices", "folds", "seconds_per_fold", "speedup_vs_user_threads",
                       "max_score_difference"])
    write_json(args.out, {"benchmark": "blas_threads", "environment": device_facts(), "method": "bnnr",
                          "dataset": "fcd", "dtype": "float64", "protocol": "LOOCV (first folds)",
                          "rows": rows, "load_average_1min_at_end": os.getloadavg()[0]})


if __name__ == "__main__":
    main()
