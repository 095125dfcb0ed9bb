"""LOOCV folds started from a solve shared by their group (``cv --shared-start N``) against cold
starts, in one run on the same machine.

For each group size (0 = cold, the public code's start) on the same spread subset of LOOCV folds,
setups alternating ``--rounds`` times so that load changes hit all of them: seconds per fold over
all local devices (each setup compiled before it is timed), mean BNNR iterations of a fold and of
its group's shared start, and the largest difference of a hidden pair's score from the cold run.
AUCs of whole LOOCV runs are in the runs' ``metrics.json`` (``sesl-jax cv --shared-start N``).

    SESL_JAX_DATA=../shared/data python benchmarks/shared_start.py [--dataset fcd] [--method bnnr]
        [--dtype float64] [--groups 0 4 8 16] [--folds 64] [--rounds 2] [--bnnr-svt eigh]
        [--out benchmarks/results/shared_start.json]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

from _common import at_least, device_facts, json_out, print_table, setup, take, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fcd", choices=("fcd", "pcd"))
    parser.add_argument("--method", default="bnnr", choices=("sesl", "se", "bnnr"))
    parser.add_argument("--similarity", default=None, help="default: the method's")
    parser.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    parser.add_argument("--bnnr-svt", default="eigh", choices=("eigh", "subspace"))
    parser.add_argument("--groups", type=at_least(0), nargs="+", default=[0, 4, 8, 16])
    parser.add_argument("--folds", type=at_least(1), default=64, help="LOOCV folds timed, spread over the fold list")
    parser.add_argument("--rounds", type=at_least(1), default=2)
    parser.add_argument("--out", type=json_out, default="benchmarks/results/shared_start.json")
    args = parser.parse_args()
    from sesl_jax.cli._common import available_cores, configure_cpu_devices

    configure_cpu_devices(available_cores())  # as the CLI: one device per core
    setup(x64=args.dtype == "float64")

    import jax
    import numpy as np

    from sesl_jax.data import load_dataset
    from sesl_jax.evaluation import evaluate, loocv_folds
    from sesl_jax.pipeline import MethodConfig, build_dataset_method, resolve_similarities

    dataset = load_dataset(args.dataset)
    folds = loocv_folds(dataset.associations)
    chosen = np.linspace(0, folds.n_folds - 1, min(args.folds, folds.n_folds)).astype(int)
    sample = take(folds, chosen)
    devices = len(jax.local_devices())
    setups = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = MethodConfig(method=args.method, similarity=args.similarity, dtype=args.dtype, bnnr_svt=args.bnnr_svt)
        similarities = resolve_similarities(dataset, base)
        for group in args.groups:
            config = MethodConfig(method=args.method, similarity=args.similarity, dtype=args.dtype,
                                  bnnr_svt=args.bnnr_svt, shared_start=group)
            method = build_dataset_method(dataset, config, similarities=similarities)
            batch = devices * max(group, 2)
            evaluate(method, dataset.associations, take(sample, slice(0, batch)), batch_size=batch)  # compile
            setups[group] = (method, batch)
    seconds = {group: [] for group in setups}
    runs = {}
    for _ in range(args.rounds):
        for group, (method, batch) in setups.items():
            tic = time.perf_counter()
            runs[group] = evaluate(method, dataset.associations, sample, batch_size=batch)
            seconds[group].append((time.perf_counter() - tic) / sample.n_folds)
    cold_group = 0 if 0 in runs else min(runs)
    rows = []
    for group, run in runs.items():
        best = min(seconds[group])
        stages = setups[group][0].stages
        bnnr = stages.index("bnnr")
        row = dict(
            group=group, seconds_per_fold=best, seconds_per_fold_runs=seconds[group],
            speedup_vs_cold=min(seconds[cold_group]) / best,
            fold_bnnr_iterations=float(run.iterations[:, bnnr].mean()),
            start_bnnr_iterations=float(run.iterations[:, stages.index("bnnr_start")].mean()) if group > 1 else None,
            max_score_difference_from_cold=float(np.nanmax(np.abs(run.hidden_scores - runs[cold_group].hidden_scores))),
        )
        rows.append(row)
    print_table(rows, ["group", "seconds_per_fold", "speedup_vs_cold", "fold_bnnr_iterations", "start_bnnr_iterations",
                       "max_score_difference_from_cold"])
    write_json(args.out, {
        "benchmark": "shared_start",
        "arguments": vars(args),
        "environment": device_facts(),
        "sizes": {"dataset": args.dataset, "n_drugs": dataset.n_drugs, "n_mirnas": dataset.n_mirnas,
                  "folds_timed": int(sample.n_folds), "folds_in_loocv": int(folds.n_folds), "devices": devices},
        "load_average_1min_at_end": os.getloadavg()[0],
        "rows": rows,
    })


if __name__ == "__main__":
    main()
