"""One lent GPU's measurements in one command of at most ten minutes (runs on CPU alike).

Steps, each in a process of its own under its own time limit, so that a failure, a hang or an
overrun is recorded and the next step still runs:

- ``facts``: devices, their memory, versions.
- ``fcd``: FCD LOOCV of SESL (biological similarities, float32) on CPU and on the accelerator, as
  ``cpu_vs_gpu.py``: folds per second, and the chunk size chosen.
- ``pcd-<method>-<svt>``: PCD LOOCV (chemical drug similarity), float32, for ``sesl`` and ``bnnr``,
  with BNNR's SVT by ``eigh``, by matrix products only (``sign``: cuSOLVER's ``eigh`` runs the
  matrices of a batch one at a time, products batch) and by the warm-started ``subspace`` method:
  a probe chunk (one fold per device, run twice: compile, then timed), then one chunk of
  ``default_batch_size`` folds (fewer when the step's time would not allow it); seconds, device
  memory per fold (peak from ``memory_stats``, and the compiled code's own count), the projected
  minutes of all 664 folds, and each fold's hidden-pair score and global rank, so that the SVTs'
  results can be compared fold by fold. The budget runs out before the last steps: the order
  (all SVTs of ``sesl`` first) puts the comparison of SVTs first.

The JSON (device, dtype, sizes, every step's status and timings) is rewritten after each step.

On the lent machine nothing can be installed or fetched, and there is no RDKit (PCD's chemical
similarity). So first, here, with the data, write the problems into ``shared/`` (it travels with
the working tree; keep it out of git through ``.git/info/exclude``)::

    SESL_JAX_DATA=../shared/data python benchmarks/gpu_session.py --prepare shared/gpu_session_inputs.npz

then run, with the device tool (``run``, ``timeout_s=600``), from the repository root there::

    PYTHONUNBUFFERED=1 timeout 570 python3 benchmarks/gpu_session.py --inputs shared/gpu_session_inputs.npz --budget 540 --out $OUT/gpu_session.json

Without ``--inputs`` the problems are built from ``--data-dir``, else ``$SESL_JAX_DATA`` (PCD then
needs RDKit). The JSON goes to ``--out``, and to ``$OUT/gpu_session.json`` when ``$OUT`` is set
(``benchmarks/results/gpu_session.json`` when neither is given). ``--smoke``: synthetic problems
and a few folds, no data; well under a minute on CPU (checks the script, measures nothing).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

from _common import at_least, device_facts, json_out, setup, subset

DTYPE = "float32"
PROBLEM_SOURCES = {"fcd": "biological", "pcd": "drug=chemical,mirna=biological"}
SMOKE_SIZES = {"fcd": (9, 14), "pcd": (12, 16)}  # (n_drugs, n_mirnas) of the planted problems
# seconds a step may take at most (the whole session's budget may cut it shorter)
STEP_LIMITS = {"facts": 60, "fcd": 150, "pcd": 110}
STEP_MARGIN_S = 10  # a PCD step plans its chunk to end this long before its limit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=json_out, default=None, help="JSON file (default: $OUT/gpu_session.json, else benchmarks/results/)")
    parser.add_argument("--inputs", default=None, help="problems written by --prepare (.npz)")
    parser.add_argument("--data-dir", default=None, help="benchmark data (default: $SESL_JAX_DATA)")
    parser.add_argument("--prepare", metavar="NPZ", default=None, help="only write the problems to NPZ, then stop")
    parser.add_argument("--budget", type=float, default=540, help="seconds for all steps together")
    parser.add_argument("--fcd-folds", type=at_least(1), default=64, help="FCD LOOCV folds timed on each backend")
    parser.add_argument("--methods", nargs="+", default=["sesl", "bnnr"], choices=["sesl", "bnnr"])
    parser.add_argument("--svt", nargs="+", default=["eigh", "sign", "subspace"], choices=["eigh", "sign", "subspace"],
                        help="BNNR SVTs to time on PCD, in this order within each method (default: eigh sign subspace)")
    parser.add_argument("--smoke", action="store_true", help="synthetic problems, a few folds (no data needed)")
    parser.add_argument("--step", default=None, help=argparse.SUPPRESS)  # run one step (in a child process)
    parser.add_argument("--record", default=None, help=argparse.SUPPRESS)  # where the child appends its results
    parser.add_argument("--deadline", type=float, default=None, help=argparse.SUPPRESS)  # when the child is killed
    args = parser.parse_args()
    if args.budget <= 0:
        parser.error(f"argument --budget: must be > 0 seconds, got {args.budget:g}")
    if args.inputs is not None and not args.step and not Path(args.inputs).is_file():  # before device time is spent
        parser.error(f"argument --inputs: {args.inputs} is not a file (write it with --prepare)")
    if args.smoke:
        args.fcd_folds = min(args.fcd_folds, 4)
    if args.step:
        run_step(args)
    elif args.prepare:
        prepare(args)
    else:
        run_session(args)


# --- the session: steps in child processes ------------------------------------------------------


def run_session(args) -> None:
    started = time.time()
    outputs = [Path(path) for path in dict.fromkeys(filter(None, [
        args.out, os.path.join(os.environ["OUT"], "gpu_session.json") if os.environ.get("OUT") else None]))]
    outputs = outputs or [Path("benchmarks/results/gpu_session.json")]
    steps = ["facts", "fcd"] + [f"pcd-{method}-{svt}" for method in args.methods for svt in args.svt]
    payload = {"benchmark": "gpu_session", "command": sys.argv, "smoke": args.smoke, "dtype": DTYPE,
               "budget_seconds": args.budget, "inputs": describe_inputs(args), "device": None, "sizes": {},
               "steps": [], "fcd": [], "pcd": [], "projected_pcd_loocv_minutes": {}}
    forwarded = [f"--{name}={value}" for name, value in (
        ("inputs", args.inputs), ("data-dir", args.data_dir), ("fcd-folds", args.fcd_folds)) if value is not None]
    forwarded += ["--smoke"] if args.smoke else []
    for name in steps:
        left = started + args.budget - time.time()
        limit = min(STEP_LIMITS[name.split("-")[0]], left)
        step = {"name": name, "limit_seconds": limit}
        if limit < 15:
            step.update(status="skipped", error="the session's budget is spent")
        else:
            step.update(run_child(name, limit, forwarded))
            for result in step.pop("results"):
                place(payload, result)
        payload["steps"].append(step)
        payload["wall_seconds"] = time.time() - started
        print(f"== {name}: {step['status']}" + (f" ({step['error'].splitlines()[-1]})" if step.get("error") else "")
              + f", {step.get('seconds', 0):.0f} s of {limit:.0f}", flush=True)
        for path in outputs:
            write(path, payload)
    print(json.dumps({"projected_pcd_loocv_minutes": payload["projected_pcd_loocv_minutes"],
                      "fcd": [{k: row.get(k) for k in ("backend", "batch_size", "folds_per_second")} for row in payload["fcd"]]},
                     indent=1))
    print("wrote " + ", ".join(map(str, outputs)))


def run_child(name: str, limit: float, forwarded: list[str]) -> dict:
    """Run step ``name`` in a child process killed after ``limit`` seconds; its results and status."""
    with tempfile.TemporaryDirectory() as folder:
        record = Path(folder) / "record.jsonl"
        command = [sys.executable, __file__, "--step", name, "--record", str(record),
                   f"--deadline={time.time() + limit}", *forwarded]
        tic = time.time()
        try:
            code = subprocess.run(command, timeout=limit, env=dict(os.environ, PYTHONUNBUFFERED="1")).returncode
        except subprocess.TimeoutExpired:
            code = None
        results = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    step = {"seconds": time.time() - tic, "results": [r for r in results if r["kind"] != "error"]}
    errors = [r["traceback"] for r in results if r["kind"] == "error"]
    if code is None:
        step.update(status="timed out", error=f"killed after {limit:.0f} s")
    elif code != 0 or errors:
        step.update(status="failed", error=errors[0] if errors else f"exit code {code}")
    else:
        step["status"] = "ok"
    return step


def place(payload: dict, result: dict) -> None:
    kind = result.pop("kind")
    if kind == "facts":
        payload["device"] = result
    elif kind == "sizes":
        payload["sizes"].update(result)
    elif kind == "fcd":
        payload["fcd"].append(result)
    elif kind == "pcd":
        # a step records its row after the probe and again after the chunk: keep the latest
        payload["pcd"] = [row for row in payload["pcd"] if row["config"] != result["config"]] + [result]
        payload["projected_pcd_loocv_minutes"][result["config"]] = result["projected_loocv_minutes"]


def write(path: Path, payload: dict) -> None:
    from sesl_jax._io import atomic_write_json

    atomic_write_json(path, payload)


def describe_inputs(args) -> str:
    if args.smoke:
        return "planted synthetic problems (--smoke)"
    if args.inputs:
        return f"prepared problems {args.inputs}"
    return f"benchmark data in {args.data_dir or os.environ.get('SESL_JAX_DATA') or '(none given)'}"


# --- the steps (each in its own process) ---------------------------------------------------------


def run_step(args) -> None:
    from sesl_jax._io import json_text

    def record(kind: str, **values) -> None:
        with open(args.record, "a", encoding="utf-8") as handle:
            handle.write(json_text({"kind": kind, **values}) + "\n")

    try:
        # float32 steps run without x64, as ``sesl-jax cv --dtype float32`` does
        setup(x64=False)
        if args.step == "facts":
            record("facts", **facts())
        elif args.step == "fcd":
            step_fcd(args, record)
        else:
            _, method, svt = args.step.split("-")
            step_pcd(args, method, svt, record)
    except BaseException:  # noqa: BLE001 - recorded for the session, which goes on with the next step
        record("error", traceback=traceback.format_exc())
        raise


def facts() -> dict:
    import jax

    devices = []
    for device in jax.devices():
        try:
            memory = device.memory_stats()
        except Exception:  # noqa: BLE001 - not every backend reports memory
            memory = None
        devices.append({"id": device.id, "platform": device.platform, "kind": device.device_kind, "memory_stats": memory})
    try:
        environment = jax.print_environment_info(return_string=True)
    except Exception as error:  # noqa: BLE001
        environment = repr(error)
    settings = {name: value for name, value in os.environ.items() if name.startswith(("XLA_", "JAX_"))}
    return {**device_facts(), "devices": devices, "environment_info": environment, "xla_environment": settings}


def step_fcd(args, record) -> None:
    import numpy as np

    from cpu_vs_gpu import time_backends
    from sesl_jax.evaluation import loocv_folds
    from sesl_jax.methods import sesl_family_method

    associations, similarities = load_problem("fcd", args)
    record("sizes", fcd=sizes(associations))
    method = sesl_family_method("sesl", associations, similarities, dtype=DTYPE)
    folds = subset(loocv_folds(np.asarray(associations)), args.fcd_folds)
    for row in time_backends(method, associations, folds, cpu_batch_size=4, accelerator_batch_size=None):
        record("fcd", method="sesl", dtype=DTYPE, similarity=similarities.source, **row)


def step_pcd(args, method_name: str, svt: str, record) -> None:
    import jax
    import numpy as np

    from sesl_jax.evaluation import default_batch_size, loocv_folds
    from sesl_jax.evaluation.engine import compiled_fold_bytes, free_device_memory
    from sesl_jax.methods import sesl_family_method
    from sesl_jax.model import SESLOptions

    associations, similarities = load_problem("pcd", args)
    record("sizes", pcd=sizes(associations))
    options = SESLOptions(sparse_learning=method_name == "sesl", bnnr_svt=svt)
    method = sesl_family_method(method_name, associations, similarities, dtype=DTYPE, options=options)
    folds = loocv_folds(np.asarray(associations))
    devices = jax.local_devices()
    n = sum(associations.shape)
    row = {"config": f"{method_name}-{svt}", "method": method_name, "svt": svt, "dtype": DTYPE,
           "similarity": similarities.source, "backend": devices[0].platform, "devices": len(devices),
           "folds_in_loocv": folds.n_folds, "free_bytes": free_device_memory(devices[0]),
           "estimated_bytes_per_fold": 24 * n * n * np.dtype(DTYPE).itemsize}
    tic = time.perf_counter()
    row["compiled_bytes_per_fold"] = compiled_fold_bytes(method, *associations.shape, DTYPE, devices[0])
    row["memory_analysis_seconds"] = time.perf_counter() - tic
    row["default_batch_size"] = default_batch_size(*associations.shape, DTYPE, devices, method=method)

    probe = len(devices)
    first = timed_chunk(method, associations, subset(folds, probe), probe)
    timed = timed_chunk(method, associations, subset(folds, probe), probe)
    compile_seconds = max(0.0, first["seconds"] - timed["seconds"])
    row.update({f"probe_{key}": value for key, value in timed.items()}, probe_first_seconds=first["seconds"],
               compile_seconds=compile_seconds)
    row["projected_loocv_minutes"] = projected_minutes(compile_seconds, timed["seconds"], probe, folds.n_folds)
    record("pcd", **row)  # kept if the chunk below overruns the step

    batch = min(row["default_batch_size"], folds.n_folds)
    per_fold = timed["seconds"] / probe  # vmap amortises more in a bigger chunk: a pessimistic plan
    left = args.deadline - time.time() - STEP_MARGIN_S
    while batch > probe and compile_seconds + batch * per_fold > left:
        batch = max(probe, batch // 2 // probe * probe)
    row.update(chunk_batch_size=batch, chunk_limited_by_time=batch < min(row["default_batch_size"], folds.n_folds))
    if batch > probe:
        chunk = timed_chunk(method, associations, subset(folds, batch), batch)
        run_seconds = max(chunk["seconds"] - compile_seconds, 0.0)  # its own compile, about the probe's
        row.update({f"chunk_{key}": value for key, value in chunk.items()}, chunk_run_seconds_estimate=run_seconds)
        row["projected_loocv_minutes"] = projected_minutes(compile_seconds, run_seconds, batch, folds.n_folds)
    record("pcd", **row)


def timed_chunk(method, associations, folds, batch_size: int) -> dict:
    """One ``evaluate`` of ``folds`` at ``batch_size``: seconds, peak device bytes per fold (where
    ``memory_stats`` reports a peak), the sub-batch size and any out-of-memory retries."""
    import jax
    import numpy as np

    from sesl_jax.evaluation import evaluate

    device = jax.local_devices()[0]
    before = memory_stats(device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        tic = time.perf_counter()
        run = evaluate(method, associations, folds, batch_size=batch_size)
        seconds = time.perf_counter() - tic
    after = memory_stats(device)
    peak = None
    if "peak_bytes_in_use" in after and "bytes_in_use" in before:
        peak = (after["peak_bytes_in_use"] - before["bytes_in_use"]) / batch_size
    return {"folds": folds.n_folds, "batch_size": batch_size, "seconds": seconds,
            "seconds_per_fold": seconds / folds.n_folds, "peak_bytes_per_fold": peak,
            "sub_batch_size": run.sub_batch_size, "memory_retries": [str(w.message) for w in caught],
            # per fold: its (first) hidden pair's score and how many candidates score higher (global)
            "hidden_scores": run.hidden_scores[:, 0].tolist(), "candidates_above": run.n_greater[:, 0, 0].tolist(),
            "iterations_mean": np.mean(run.iterations, axis=0).tolist(), "stages": list(method.stages)}


def projected_minutes(compile_seconds: float, chunk_seconds: float, batch_size: int, n_folds: int) -> float:
    """Minutes of a whole run of ``n_folds`` folds (PCD LOOCV: 664): one compile, then every chunk
    (the last one padded to full size, as the engine runs it) at the timed speed."""
    return (compile_seconds + math.ceil(n_folds / batch_size) * chunk_seconds) / 60


def memory_stats(device) -> dict:
    try:
        return device.memory_stats() or {}
    except Exception:  # noqa: BLE001 - not every backend reports memory
        return {}


def sizes(associations) -> dict:
    import numpy as np

    n_drugs, n_mirnas = np.shape(associations)
    return {"n_drugs": n_drugs, "n_mirnas": n_mirnas, "known_pairs": int(np.count_nonzero(associations))}


# --- the problems ------------------------------------------------------------------------------


def load_problem(name: str, args):
    """``(associations, Similarities)`` of benchmark ``name``: planted (``--smoke``), from the
    ``--inputs`` file, else from the benchmark data."""
    import numpy as np

    from sesl_jax.similarity import Similarities

    if args.smoke:
        from synthetic import planted_problem

        associations, drug, mirna = planted_problem(*SMOKE_SIZES[name], seed=0)
        return associations, Similarities(drug, mirna, "planted")
    if args.inputs:
        with np.load(args.inputs) as stored:
            return stored[f"{name}_associations"], Similarities(
                stored[f"{name}_drug"], stored[f"{name}_mirna"], str(stored[f"{name}_source"]))
    from sesl_jax.data import load_dataset
    from sesl_jax.similarity import dataset_similarities

    dataset = load_dataset(name, args.data_dir, download=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # IDs without SMILES or sequences, reported by the loader
        similarities = dataset_similarities(dataset, PROBLEM_SOURCES[name])
    return np.asarray(dataset.associations), similarities


def prepare(args) -> None:
    """Write both problems, built from the benchmark data, to ``args.prepare``."""
    import numpy as np

    arrays = {}
    for name in PROBLEM_SOURCES:
        associations, similarities = load_problem(name, args)
        arrays.update({f"{name}_associations": associations, f"{name}_drug": similarities.drug,
                       f"{name}_mirna": similarities.mirna, f"{name}_source": np.asarray(similarities.source)})
    Path(args.prepare).parent.mkdir(parents=True, exist_ok=True)
    with open(args.prepare, "wb") as handle:  # a handle: np.savez_compressed would append ".npz"
        np.savez_compressed(handle, **arrays)
    print(f"wrote {args.prepare} ({Path(args.prepare).stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
