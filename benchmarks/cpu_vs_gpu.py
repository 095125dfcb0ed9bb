"""The same FCD LOOCV batch (SESL, biological similarities) timed on every available backend:
CPU always, GPU/TPU when present. Folds per second and speed-up over CPU, written to JSON.

    SESL_JAX_DATA=../shared/data python benchmarks/cpu_vs_gpu.py [--folds 64] [--dtype float32]
        [--cpu-batch-size 4] [--accelerator-batch-size B] [--out F]

Each backend is compiled and warmed up on one chunk, then timed on all folds. On an accelerator
the chunk holds ``default_batch_size`` folds (from its free memory), at most all of them.
"""

from __future__ import annotations

import argparse
import time

from _common import at_least, device_facts, json_out, print_table, setup, subset, write_json


def time_backends(method, associations, folds, cpu_batch_size: int, accelerator_batch_size: int | None) -> list[dict]:
    """One row per available backend (first device of each): seconds, folds per second, speed-up
    over CPU and global AUC of ``method`` on ``folds``. ``accelerator_batch_size`` None: from
    ``default_batch_size``, at most all folds in one chunk."""
    import jax
    import numpy as np

    from sesl_jax.evaluation import default_batch_size, evaluate, summarize

    rows = []
    for backend in ("cpu", "gpu", "tpu"):
        try:
            devices = jax.devices(backend)
        except RuntimeError:
            continue
        device = devices[0]
        if backend == "cpu":
            batch = cpu_batch_size
        else:
            batch = accelerator_batch_size or min(
                folds.n_folds, default_batch_size(*np.shape(associations), method.config["dtype"], [device], method=method))
        evaluate(method, associations, subset(folds, batch), batch_size=batch, devices=[device])  # compile + warm up
        start = time.perf_counter()
        run = evaluate(method, associations, folds, batch_size=batch, devices=[device])
        seconds = time.perf_counter() - start
        auc = summarize(run, folds, method.stages)["metrics"]["global"]["auc"]
        rows.append(dict(backend=backend, device=device.device_kind, batch_size=batch, folds=folds.n_folds,
                         seconds=seconds, folds_per_second=folds.n_folds / seconds, global_auc=auc,
                         sub_batch_size=run.sub_batch_size))
        print(f"{backend} ({device.device_kind}): {seconds:.2f} s, {folds.n_folds / seconds:.2f} folds/s "
              f"({batch} folds per chunk)", flush=True)
    cpu = next(row for row in rows if row["backend"] == "cpu")
    for row in rows:
        row["speedup_vs_cpu"] = cpu["seconds"] / row["seconds"]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=at_least(1), default=64)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--dataset", default="fcd", choices=["fcd", "pcd"])
    parser.add_argument("--cpu-batch-size", type=at_least(1), default=4)
    parser.add_argument("--accelerator-batch-size", type=at_least(1), default=None,
                        help="default: default_batch_size (free device memory), at most all folds")
    parser.add_argument("--out", type=json_out, default="benchmarks/results/cpu_vs_gpu.json")
    args = parser.parse_args()
    setup(x64=True)

    import numpy as np

    from sesl_jax.data import load_dataset
    from sesl_jax.evaluation import loocv_folds
    from sesl_jax.similarity import dataset_similarities
    from sesl_jax.methods import sesl_family_method

    dataset = load_dataset(args.dataset)
    A = np.asarray(dataset.associations)
    source = ("biological", "biological") if args.dataset == "fcd" else ("chemical", "biological")
    sims = dataset_similarities(dataset, "drug={},mirna={}".format(*source))
    method = sesl_family_method("sesl", A, sims, dtype=args.dtype)
    folds = subset(loocv_folds(A), args.folds)
    rows = time_backends(method, A, folds, args.cpu_batch_size, args.accelerator_batch_size)
    print()
    print_table(rows, ["backend", "device", "batch_size", "folds", "seconds", "folds_per_second", "speedup_vs_cpu", "global_auc"])
    write_json(args.out, {"benchmark": "cpu_vs_gpu", "dataset": args.dataset, "dtype": args.dtype,
                          "environment": device_facts(), "rows": rows})


if __name__ == "__main__":
    main()
