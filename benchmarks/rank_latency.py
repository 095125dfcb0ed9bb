"""``rank --model`` latency against a refit, and screening throughput (new molecules per second).

    SESL_JAX_DATA=../shared/data python benchmarks/rank_latency.py [--datasets fcd,pcd] [--repeats 3]
        [--screen 32] [--one-by-one 4] [--dtype float64] [--out F]

Per dataset (SESL, its default similarity; ``--method sesl`` on the command line, since a benchmark's
default may be another method): ``sesl-jax fit --out DIR`` once; then in fresh processes, as a user
runs them, the median wall time of ``rank --model DIR --drug D`` against ``rank --dataset NAME --drug D``
(fit, then rank), each with the persistent compilation cache off and warm (``$SESL_JAX_COMPILE_CACHE``:
a temporary directory filled by one run first); in process, ``SESL.load`` + rank against fit +
rank; and screening N new molecules (PCD drugs that are not in the dataset) with the batched refit,
cold (compilation included) and warm, against refitting them one by one as before batching (the
method built and compiled per molecule).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

from _common import ROOT, at_least, device_facts, json_out, median_time, print_table, rows_per_dataset, setup, write_json

sys.path.insert(0, str(ROOT))  # this checkout's sesl_jax, as in the subprocesses below
from sesl_jax.compile_cache import CACHE_ENV  # noqa: E402

CLI = "import sys; from sesl_jax.cli import main; sys.exit(main(sys.argv[1:]))"


def cli_seconds(args: list[str], repeats: int, cache: str) -> float:
    """Median wall time of ``sesl-jax ARGS`` in a fresh process (this checkout's code) with
    ``$SESL_JAX_COMPILE_CACHE=cache``; a cache directory is filled by one unmeasured run first."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("JAX_COMPILATION_CACHE")}
    env.update({"PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", CACHE_ENV: cache})

    def once() -> None:
        subprocess.run([sys.executable, "-c", CLI, *args], env=env, check=True, capture_output=True)

    if cache != "off":
        once()
    return median_time(once, repeats)[0]


def new_molecules(dataset, count: int) -> list[str]:
    """SMILES of PCD drugs that are not in ``dataset`` (distinct molecules, file order)."""
    from sesl_jax.data import load_dataset

    pcd = load_dataset("pcd")
    known = set(dataset.drug_ids)
    chosen, seen = [], set()
    for drug, smiles in zip(pcd.drug_ids, pcd.drug_smiles):
        if smiles and drug not in known and smiles not in seen:
            chosen.append(smiles)
            seen.add(smiles)
    return chosen[:count]


def bench_dataset(name: str, args, workdir: Path) -> list[dict]:
    from sesl_jax import SESL, load_dataset
    from sesl_jax.new_items import score_new_items

    dataset = load_dataset(name)
    model_dir = workdir / f"{name}-model"
    drug = dataset.drug_ids[0]
    shape = f"{dataset.n_drugs}x{dataset.n_mirnas}"
    rows = []

    def row(measure: str, seconds: float, **extra) -> dict:
        rows.append(dict(dataset=name, shape=shape, dtype=args.dtype, measure=measure, seconds=seconds, **extra))
        print(f"{name}: {measure}: {seconds:.3f} s {extra or ''}", flush=True)
        return rows[-1]

    start = time.perf_counter()
    subprocess_args = ["fit", "--dataset", name, "--method", "sesl", "--dtype", args.dtype, "--out", str(model_dir)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), CACHE_ENV: "off"}
    subprocess.run([sys.executable, "-c", CLI, *subprocess_args], env=env, check=True, capture_output=True)
    row("cli fit --out (once)", time.perf_counter() - start)

    commands = {"rank --model": ["rank", "--model", str(model_dir), "--drug", drug],
                "rank --dataset (refit)": ["rank", "--dataset", name, "--method", "sesl", "--dtype", args.dtype,
                                           "--drug", drug]}
    for label, command in commands.items():
        cold = row(f"cli {label}, compile cache off", cli_seconds(command, args.repeats, "off"))
        warm = row(f"cli {label}, compile cache warm",
                   cli_seconds(command, args.repeats, str(workdir / f"{name}-xla-{len(rows)}")))
        warm["ratio_to_cache_off"] = cold["seconds"] / warm["seconds"]
        if label == "rank --model":
            from_model = cold
        else:
            cold["ratio_to_model"] = cold["seconds"] / from_model["seconds"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = row("in-process load + rank",
                     median_time(lambda: SESL.load(model_dir).rank_mirnas(drug), args.repeats)[0])
        fitted = row("in-process fit + rank",
                     median_time(lambda: SESL("sesl", dtype=args.dtype).fit(dataset).rank_mirnas(drug), args.repeats)[0])
        fitted["ratio_to_model"] = fitted["seconds"] / loaded["seconds"]

        model = SESL.load(model_dir)
        molecules = new_molecules(dataset, args.screen)
        start = time.perf_counter()
        model.screen(molecules)
        cold = row("screen, cold (compiles)", time.perf_counter() - start, items=len(molecules))
        cold["items_per_second"] = len(molecules) / cold["seconds"]
        start = time.perf_counter()
        model.screen(molecules)
        warm = row("screen, warm", time.perf_counter() - start, items=len(molecules))
        warm["items_per_second"] = len(molecules) / warm["seconds"]
        few = molecules[: args.one_by_one]
        start = time.perf_counter()
        score_new_items(model, "drug", few, batching="none")
        alone = row("one by one (refit + compile each)", time.perf_counter() - start, items=len(few))
        alone["items_per_second"] = len(few) / alone["seconds"]
        for measured in (cold, warm):
            measured["ratio_to_one_by_one"] = measured["items_per_second"] / alone["items_per_second"]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="fcd", help="comma-separated: fcd, pcd")
    parser.add_argument("--repeats", type=at_least(1), default=3)
    parser.add_argument("--screen", type=at_least(1), default=32, help="new molecules to screen")
    parser.add_argument("--one-by-one", type=at_least(1), default=4, help="new molecules refitted one by one")
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    parser.add_argument("--out", type=json_out, default="benchmarks/results/rank_latency.json")
    args = parser.parse_args()
    setup(x64=args.dtype == "float64")

    rows = rows_per_dataset(args.datasets, lambda name, workdir: bench_dataset(name, args, workdir))
    print()
    print_table(rows, ["dataset", "shape", "dtype", "measure", "seconds", "items", "items_per_second",
                       "ratio_to_model", "ratio_to_cache_off", "ratio_to_one_by_one"])
    write_json(args.out, {"benchmark": "rank_latency", "environment": device_facts(), "repeats": args.repeats,
                          "method": "sesl (its default similarity)", "rows": rows})


if __name__ == "__main__":
    main()
