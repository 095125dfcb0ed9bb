"""FCD global LOOCV of SESL with the biological similarities (664 folds), batched, against the
NumPy reference looped over a sample of the same folds (projected to all folds), plus PCD seconds
per fold and projected total. Runs unchanged on CPU or GPU.

On CPU, also seconds per fold with one host device against one device per core (as ``sesl-jax cv``
runs by default), in the same process, alternating, on the same FCD LOOCV folds: BNNRSMMA in
float64 and SESL (biological similarities) in float32; the scores must be identical.

    SESL_JAX_DATA=../shared/data python benchmarks/cv.py [--dtype float32] [--folds N]
        [--batch-size B] [--reference-sample 8] [--pcd-folds 8] [--cpu-devices auto]
        [--devices-folds 24] [--devices-rounds 2] [--devices-methods bnnr sesl] [--only-devices] [--out F]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

from _common import device_facts, print_table, setup, subset, write_json


def time_engine(method, A, folds, batch_size):
    from sesl_jax.evaluation import evaluate, summarize

    warm = subset(folds, batch_size or 1)
    evaluate(method, A, warm, batch_size=batch_size)  # compile outside the timing
    start = time.perf_counter()
    run = evaluate(method, A, folds, batch_size=batch_size)
    seconds = time.perf_counter() - start
    return seconds, summarize(run, folds, method.stages)


DEVICE_METHODS = {"bnnr": "float64", "sesl": "float32"}


def compare_devices(fcd, folds, count: int, rounds: int, methods: list[str]) -> list[dict]:
    """Seconds per fold of ``count`` FCD LOOCV folds on one CPU device and on all of them, alternating."""
    import jax
    import numpy as np

    from sesl_jax.evaluation import evaluate
    from sesl_jax.pipeline import MethodConfig, build_dataset_method

    devices = jax.devices("cpu")
    rows = []
    for name in methods:
        dtype = DEVICE_METHODS[name]
        jax.config.update("jax_enable_x64", dtype == "float64")  # as ``sesl-jax cv --dtype`` does
        method = build_dataset_method(fcd, MethodConfig(name, similarity="biological", dtype=dtype))
        batch = 4 * len(devices)  # the CPU default for all devices, kept for one device (same chunks)
        sample = subset(folds, count)
        setups = {1: devices[:1], len(devices): devices}
        for chosen in setups.values():  # compile outside the timing
            evaluate(method, fcd.associations, subset(folds, batch), batch_size=batch, devices=chosen)
        seconds = {n: [] for n in setups}
        cores = {n: [] for n in setups}
        scores = {}
        for _ in range(rounds):
            for n, chosen in setups.items():
                wall, cpu = time.perf_counter(), os.times()
                run = evaluate(method, fcd.associations, sample, batch_size=batch, devices=chosen)
                wall, after = time.perf_counter() - wall, os.times()
                seconds[n].append(wall / count)
                cores[n].append((after.user + after.system - cpu.user - cpu.system) / wall)
                scores[n] = run.hidden_scores
        one, many = (float(np.median(seconds[n])) for n in setups)
        rows.append(dict(
            method=f"{name} (biological)", dtype=dtype, folds=count, rounds=rounds, batch_size=batch,
            devices=len(devices), seconds_per_fold_1_device=one, seconds_per_fold_all_devices=many,
            ratio=one / many, identical_scores=bool(np.array_equal(*scores.values(), equal_nan=True)),
            seconds_per_fold_runs={str(n): values for n, values in seconds.items()},
            cores_busy_runs={str(n): values for n, values in cores.items()},  # this process's CPU time / wall time
            load_average_1min=os.getloadavg()[0],
        ))
        print(f"{name} {dtype}: {one:.3f} s/fold on 1 device, {many:.3f} on {len(devices)} -> {one / many:.2f}x "
              f"(runs {seconds}, identical scores {rows[-1]['identical_scores']})", flush=True)
    jax.config.update("jax_enable_x64", True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--folds", type=int, default=None, help="FCD folds to run (default all 664)")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--reference-sample", type=int, default=8, help="folds of the NumPy reference to time")
    parser.add_argument("--pcd-folds", type=int, default=4, help="PCD folds to time (0 to skip)")
    parser.add_argument("--cpu-devices", default="auto", help="host devices on CPU, as sesl-jax cv (default auto)")
    parser.add_argument("--devices-folds", type=int, default=24, help="FCD folds per 1-vs-all-devices run (0 to skip)")
    parser.add_argument("--devices-rounds", type=int, default=2, help="alternating runs of each setup")
    parser.add_argument("--devices-methods", nargs="+", default=list(DEVICE_METHODS), choices=list(DEVICE_METHODS),
                        help="methods of the 1-vs-all-devices comparison (bnnr in float64, sesl in float32)")
    parser.add_argument("--only-devices", action="store_true", help="only the 1-vs-all-devices comparison")
    parser.add_argument("--out", default=None,
                        help="default benchmarks/results/cv.json (cv_devices.json with --only-devices)")
    args = parser.parse_args()
    out = args.out or f"benchmarks/results/{'cv_devices' if args.only_devices else 'cv'}.json"
    from sesl_jax.cli._cv import configure_cpu_devices, cpu_devices

    configure_cpu_devices(cpu_devices(args.cpu_devices))  # before anything starts JAX's backend
    setup(x64=True)

    import jax
    import jax.numpy as jnp
    import numpy as np

    import reference
    from sesl_jax.data import load_dataset
    from sesl_jax.evaluation import default_batch_size, loocv_folds, training_matrix
    from sesl_jax.similarity import dataset_similarities
    from sesl_jax.methods import sesl_family_method

    rows = []
    fcd = load_dataset("fcd")
    A = np.asarray(fcd.associations)
    device_rows = []
    if args.devices_folds and jax.default_backend() == "cpu" and len(jax.devices("cpu")) > 1:
        device_rows = compare_devices(fcd, loocv_folds(A), args.devices_folds, args.devices_rounds,
                                      args.devices_methods)
    if args.only_devices:
        write_json(out, {"benchmark": "cv", "environment": device_facts(), "devices": device_rows})
        return
    sims = dataset_similarities(fcd, "biological")
    method = sesl_family_method("sesl", A, sims, dtype=args.dtype)
    folds = subset(loocv_folds(A), args.folds)
    batch = args.batch_size or default_batch_size(*A.shape, args.dtype, jax.local_devices())
    seconds, summary = time_engine(method, A, folds, batch)
    per_fold = seconds / folds.n_folds

    sample = subset(loocv_folds(A), args.reference_sample)
    start = time.perf_counter()
    for fold in range(sample.n_folds):
        train = np.asarray(training_matrix(jnp.asarray(A), jnp.asarray(sample.hidden[fold])))
        reference.sesl(train, sims.drug, sims.mirna)
    reference_per_fold = (time.perf_counter() - start) / sample.n_folds
    rows.append(dict(dataset="fcd", protocol="loocv", method="sesl (biological)", dtype=args.dtype, folds=folds.n_folds,
                     batch_size=batch, seconds=seconds, seconds_per_fold=per_fold,
                     projected_all_folds=per_fold * 664, reference_seconds_per_fold=reference_per_fold,
                     reference_projected_all_folds=reference_per_fold * 664,
                     speedup_vs_reference=reference_per_fold / per_fold,
                     global_auc=summary["metrics"]["global"]["auc"],
                     drug_fixed_auc=summary["metrics"]["drug-fixed"]["auc"],
                     mirna_fixed_auc=summary["metrics"]["mirna-fixed"]["auc"]))
    print(f"FCD: {seconds:.1f} s for {folds.n_folds} folds ({per_fold:.3f} s/fold); NumPy reference "
          f"{reference_per_fold:.3f} s/fold -> {reference_per_fold / per_fold:.2f}x", flush=True)

    if args.pcd_folds:
        pcd = load_dataset("pcd")
        P = np.asarray(pcd.associations)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pcd_sims = dataset_similarities(pcd, "drug=chemical,mirna=biological")
        pcd_method = sesl_family_method("sesl", P, pcd_sims, dtype=args.dtype)
        pcd_batch = min(args.pcd_folds, args.batch_size or default_batch_size(*P.shape, args.dtype, jax.local_devices()))
        pcd_folds = subset(loocv_folds(P), args.pcd_folds)
        pcd_seconds, _ = time_engine(pcd_method, P, pcd_folds, pcd_batch)
        pcd_per_fold = pcd_seconds / pcd_folds.n_folds
        rows.append(dict(dataset="pcd", protocol="loocv", method="sesl (chemical drug sim.)", dtype=args.dtype,
                         folds=pcd_folds.n_folds, batch_size=pcd_batch, seconds=pcd_seconds,
                         seconds_per_fold=pcd_per_fold, projected_all_folds=pcd_per_fold * 664))
        print(f"PCD: {pcd_per_fold:.2f} s/fold -> projected {pcd_per_fold * 664 / 60:.1f} min for 664 folds")
    print()
    print_table(rows, ["dataset", "folds", "dtype", "batch_size", "seconds", "seconds_per_fold", "projected_all_folds",
                       "reference_seconds_per_fold", "speedup_vs_reference", "global_auc"])
    write_json(out, {"benchmark": "cv", "environment": device_facts(), "rows": rows, "devices": device_rows})


if __name__ == "__main__":
    main()
