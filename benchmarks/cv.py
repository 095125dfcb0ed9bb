"""LOOCV seconds per fold of the fold engine against plain NumPy loops, and each speed-up on its
own, measured in one run on one machine (the goals of the fold engine are ratios).

Engine setups run on the same folds and alternate ``--rounds`` times (medians; these machines are
noisy). On FCD, 1 device with exact ``eigh`` is the "before"; then all devices (one per core on
CPU, as ``sesl-jax cv`` runs by default); then all devices with the warm-started subspace SVT
(``--bnnr-svt subspace``). Each engine row reports its speed-up over the NumPy loop of the same
method on a sample of the same folds (one BLAS thread):

- ``bnnr`` (BNNRSMMA, biological similarities, float64) against a NumPy loop of the same ADMM
  with ``eigh`` SVT (``tests/reference.py``, ``symmetric=True``). Goal: at least 3x.
- ``sesl`` (biological similarities, float32) against the float64 NumPy SESL with SVD. Goal: 12x.
- PCD: ``sesl`` with the default similarity (float32) and ``bnnr`` (chemical drug similarity,
  float64), all devices, eigh and subspace: seconds per fold and the projected 664-fold LOOCV.
  Goal: under 45 minutes for one method on the 2-core CPU.

Scores of 1 and all devices must be identical; subspace rows give their largest score difference
from eigh on the same folds (their AUCs on all folds: ``benchmarks/svt.py``).

    SESL_JAX_DATA=../shared/data python benchmarks/cv.py [--folds 48] [--rounds 2] [--reference-sample 8]
        [--pcd-folds 8] [--cpu-devices auto] [--methods bnnr sesl] [--only-devices] [--out F]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

from _common import ROOT, at_least, device_facts, json_out, print_table, setup, subset, write_json

LOOCV_FOLDS = 664  # known pairs of FCD and of PCD: folds of a full LOOCV
# method -> (FCD similarity, PCD similarity, dtype)
METHODS = {
    "bnnr": ("biological", "drug=chemical,mirna=biological", "float64"),
    "sesl": ("biological", None, "float32"),  # None: the default (no biological drug term, so valid on PCD)
}


def build(dataset, method: str, similarity: str | None, dtype: str, svt: str):
    import jax

    from sesl_jax.pipeline import MethodConfig, build_dataset_method, resolve_similarities

    jax.config.update("jax_enable_x64", dtype == "float64")  # as ``sesl-jax cv --dtype`` does
    config = MethodConfig(method, similarity=similarity, dtype=dtype, bnnr_svt=svt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PCD drugs without SMILES: named by sesl-jax cv, not here
        return build_dataset_method(dataset, config, similarities=resolve_similarities(dataset, config))


def time_setups(dataset, folds, setups: list[dict], rounds: int) -> list[dict]:
    """Seconds per fold of every setup on ``folds``, the setups alternating ``rounds`` times."""
    import jax
    import numpy as np

    from sesl_jax.evaluation import evaluate, summarize

    A = np.asarray(dataset.associations)
    methods = {}
    for setup_ in setups:  # build and compile outside the timing
        key = (setup_["method"], setup_["dtype"], setup_["svt"])
        if key not in methods:
            methods[key] = build(dataset, setup_["method"], setup_["similarity"], setup_["dtype"], setup_["svt"])
        jax.config.update("jax_enable_x64", setup_["dtype"] == "float64")
        evaluate(methods[key], A, subset(folds, setup_["batch_size"]), batch_size=setup_["batch_size"],
                 devices=setup_["chosen"])
    runs = {index: [] for index in range(len(setups))}
    for _ in range(rounds):
        for index, setup_ in enumerate(setups):
            method = methods[(setup_["method"], setup_["dtype"], setup_["svt"])]
            jax.config.update("jax_enable_x64", setup_["dtype"] == "float64")
            wall, cpu = time.perf_counter(), os.times()
            run = evaluate(method, A, folds, batch_size=setup_["batch_size"], devices=setup_["chosen"])
            wall, after = time.perf_counter() - wall, os.times()
            runs[index].append(dict(seconds_per_fold=wall / folds.n_folds,
                                    cores_busy=(after.user + after.system - cpu.user - cpu.system) / wall))
            setup_["run"], setup_["summary"] = run, summarize(run, folds, method.stages)
    rows = []
    for index, setup_ in enumerate(setups):
        per_fold = float(np.median([r["seconds_per_fold"] for r in runs[index]]))
        bnnr_stage = list(methods[(setup_["method"], setup_["dtype"], setup_["svt"])].stages).index("bnnr")
        rows.append(dict(
            dataset=dataset.name, method=setup_["method"], dtype=setup_["dtype"], svt=setup_["svt"],
            devices=len(setup_["chosen"]), folds=folds.n_folds, batch_size=setup_["batch_size"],
            seconds_per_fold=per_fold, projected_minutes=per_fold * LOOCV_FOLDS / 60,
            seconds_per_fold_runs=[r["seconds_per_fold"] for r in runs[index]],
            cores_busy_runs=[r["cores_busy"] for r in runs[index]],
            bnnr_iterations_mean=float(np.mean(setup_["run"].iterations[:, bnnr_stage])),
            global_auc_on_these_folds=setup_["summary"]["metrics"]["global"]["auc"],
        ))
        print(f"{dataset.name} {setup_['method']} {setup_['dtype']} {setup_['svt']} on {len(setup_['chosen'])} device(s): "
              f"{per_fold:.3f} s/fold", flush=True)
    compare_scores(setups, rows)
    jax.config.update("jax_enable_x64", True)
    return rows


def compare_scores(setups: list[dict], rows: list[dict]) -> None:
    """Each row's largest score difference from the 1-device eigh (or all-device eigh) run of its method."""
    import numpy as np

    for setup_, row in zip(setups, rows):
        baselines = [s for s in setups if s["method"] == setup_["method"] and s["svt"] == "eigh" and s is not setup_]
        if not baselines:
            continue
        base = baselines[0]["run"].hidden_scores
        row["max_score_difference_from_eigh"] = float(np.nanmax(np.abs(setup_["run"].hidden_scores - base)))
        if setup_["svt"] == "eigh":
            row["identical_scores_to_1_device"] = bool(np.array_equal(setup_["run"].hidden_scores, base, equal_nan=True))


def numpy_seconds_per_fold(dataset, method: str, folds) -> float:
    """The NumPy loop of ``method`` (float64, one BLAS thread) on ``folds``, seconds per fold."""
    import jax.numpy as jnp
    import numpy as np

    import reference
    from sesl_jax.evaluation import training_matrix
    from sesl_jax.similarity import dataset_similarities

    sims = dataset_similarities(dataset, METHODS[method][0])
    A = np.asarray(dataset.associations)
    start = time.perf_counter()
    for fold in range(folds.n_folds):
        train = np.asarray(training_matrix(jnp.asarray(A), jnp.asarray(folds.hidden[fold])))
        if method == "bnnr":
            reference.sesl(train, sims.drug, sims.mirna, sparse_learning=False, symmetric=True)
        else:
            reference.sesl(train, sims.drug, sims.mirna)
    return (time.perf_counter() - start) / folds.n_folds


def main() -> None:
    from sesl_jax.cli._common import cpu_devices

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=at_least(1), default=48, help="FCD LOOCV folds per engine run")
    parser.add_argument("--rounds", type=at_least(1), default=2, help="alternating runs of each engine setup")
    parser.add_argument("--reference-sample", type=at_least(1), default=8, help="FCD folds of each NumPy loop")
    parser.add_argument("--pcd-folds", type=at_least(0), default=8, help="PCD folds per engine run (0 to skip PCD)")
    parser.add_argument("--cpu-devices", type=cpu_devices, default="auto",
                        help="host devices on CPU, as sesl-jax cv (default auto)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--only-devices", action="store_true",
                        help="only FCD with eigh on 1 device against all devices (no NumPy loop, subspace or PCD)")
    parser.add_argument("--out", type=json_out, default=None,
                        help="default benchmarks/results/cv.json (cv_devices.json with --only-devices)")
    args = parser.parse_args()
    out = args.out or str(ROOT / "benchmarks" / "results" / f"{'cv_devices' if args.only_devices else 'cv'}.json")
    setup(x64=True)  # one BLAS thread: before anything imports NumPy
    from sesl_jax.cli._common import configure_cpu_devices

    configure_cpu_devices(args.cpu_devices)  # before anything starts JAX's backend

    import jax
    import numpy as np

    from sesl_jax.data import load_dataset
    from sesl_jax.evaluation import default_batch_size, loocv_folds

    devices = jax.local_devices()
    fcd = load_dataset("fcd")
    A = np.asarray(fcd.associations)
    batch = default_batch_size(*A.shape, "float32", devices)
    svts = ("eigh",) if args.only_devices else ("eigh", "subspace")
    setups = []
    for name in args.methods:
        similarity, _, dtype = METHODS[name]
        if len(devices) > 1:  # the "before": one device, the same chunks
            setups.append(dict(method=name, similarity=similarity, dtype=dtype, svt="eigh", chosen=devices[:1],
                               batch_size=batch))
        setups += [dict(method=name, similarity=similarity, dtype=dtype, svt=svt, chosen=devices, batch_size=batch)
                   for svt in svts]
    rows = time_setups(fcd, subset(loocv_folds(A), args.folds), setups, args.rounds)

    references = {}
    if not args.only_devices:
        sample = subset(loocv_folds(A), args.reference_sample)
        for name in args.methods:
            references[name] = numpy_seconds_per_fold(fcd, name, sample)
            print(f"fcd {name}: NumPy loop {references[name]:.3f} s/fold", flush=True)
        for row in rows:
            row["numpy_seconds_per_fold"] = references[row["method"]]
            row["speedup_vs_numpy"] = references[row["method"]] / row["seconds_per_fold"]
        for name in args.methods:
            before = next(r for r in rows if r["method"] == name and r["devices"] == 1 and r["svt"] == "eigh")
            for row in rows:
                if row["method"] == name:
                    row["speedup_vs_1_device_eigh"] = before["seconds_per_fold"] / row["seconds_per_fold"]

    pcd_rows = []
    if args.pcd_folds and not args.only_devices:
        pcd = load_dataset("pcd")
        P = np.asarray(pcd.associations)
        pcd_setups = [dict(method=name, similarity=METHODS[name][1], dtype=METHODS[name][2], svt=svt, chosen=devices,
                           batch_size=min(args.pcd_folds, default_batch_size(*P.shape, METHODS[name][2], devices)))
                      for name in args.methods for svt in ("eigh", "subspace")]
        pcd_rows = time_setups(pcd, subset(loocv_folds(P), args.pcd_folds), pcd_setups, 1)

    all_rows = rows + pcd_rows
    print()
    print_table(all_rows, ["dataset", "method", "dtype", "svt", "devices", "folds", "seconds_per_fold",
                           "projected_minutes", "speedup_vs_1_device_eigh", "speedup_vs_numpy",
                           "max_score_difference_from_eigh", "bnnr_iterations_mean"])
    goals = goal_summary(rows, pcd_rows)
    for line in goals:
        print(line["text"])
    write_json(out, {"benchmark": "cv", "environment": device_facts(), "rows": all_rows, "goals": goals,
                     "load_average_1min_at_end": os.getloadavg()[0],
                     "arguments": vars(args)})


def goal_summary(rows: list[dict], pcd_rows: list[dict]) -> list[dict]:
    """The fold engine's goals, each from the fastest setup of this run."""
    goals = []
    for name, target in (("sesl", 12.0), ("bnnr", 3.0)):
        candidates = [r for r in rows if r["method"] == name and "speedup_vs_numpy" in r]
        if candidates:
            best = max(candidates, key=lambda r: r["speedup_vs_numpy"])
            goals.append(dict(goal=f"fcd {name} vs NumPy >= {target:g}x", value=best["speedup_vs_numpy"],
                              met=best["speedup_vs_numpy"] >= target, setup=f"{best['svt']}, {best['devices']} device(s)",
                              text=f"goal: FCD {name} {best['speedup_vs_numpy']:.1f}x the NumPy loop "
                                   f"({best['svt']}, {best['devices']} devices; target {target:g}x)"))
    for name in sorted({r["method"] for r in pcd_rows}):
        best = min((r for r in pcd_rows if r["method"] == name), key=lambda r: r["projected_minutes"])
        goals.append(dict(goal=f"pcd {name} 664-fold LOOCV < 45 min", value=best["projected_minutes"],
                          met=best["projected_minutes"] < 45, setup=f"{best['svt']}, {best['dtype']}",
                          text=f"goal: PCD {name} LOOCV projected {best['projected_minutes']:.0f} min "
                               f"({best['svt']}, {best['dtype']}; target < 45 min)"))
    return goals


if __name__ == "__main__":
    main()
