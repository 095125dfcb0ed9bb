"""Screening new molecules on one CPU device against one per core (``sesl-jax rank --cpu-devices``).

    SESL_JAX_DATA=../shared/data python benchmarks/screen_devices.py [--datasets fcd,pcd] [--screen 32]
        [--rounds 2] [--devices 1 2] [--out F]

Per dataset: ``sesl-jax fit --out DIR`` once (the benchmark's default method); then, in a fresh
process per device count and round (alternating, so that drift of a shared machine hits both),
the saved model is loaded, one screen of the molecules compiles, and a second, timed screen of
the same molecules measures throughput. The molecules are PCD drugs that are not in the dataset,
then (PCD itself) the first ChEMBL SMILES of the pre-training corpus. The tables of every device
count must be identical (checked, and reported).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from _common import ROOT, at_least, device_facts, json_out, print_table, rows_per_dataset, setup, write_json

sys.path.insert(0, str(ROOT))
CHEMBL = "chembl_pretrain_smiles_canonical_dedup.txt.gz"

WORKER = textwrap.dedent(
    """
    import hashlib, json, sys, time, warnings
    warnings.simplefilter("ignore")  # far molecules: the warning is not what is measured
    model_dir, molecules_file, devices = sys.argv[1], sys.argv[2], int(sys.argv[3])
    from sesl_jax.cli._common import configure_cpu_devices
    configure_cpu_devices(devices)  # as `sesl-jax rank --cpu-devices N` does, before JAX starts
    import jax
    from sesl_jax.saved_model import read_manifest
    if read_manifest(model_dir).get("method_config", {}).get("dtype") == "float64":
        jax.config.update("jax_enable_x64", True)
    from sesl_jax import SESL
    assert len(jax.devices()) == devices, jax.devices()
    molecules = json.load(open(molecules_file))
    model = SESL.load(model_dir)
    start = time.perf_counter()
    model.screen(molecules)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    table = model.screen(molecules)
    warm = time.perf_counter() - start
    digest = hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()
    print(json.dumps({"cold": cold, "warm": warm, "table_sha256": digest}))
    """
)


def bench_dataset(name: str, args, workdir: Path) -> list[dict]:
    from rank_latency import new_molecules

    from sesl_jax import load_dataset

    dataset = load_dataset(name)
    model_dir = workdir / f"{name}-model"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "SESL_JAX_COMPILE_CACHE": "off"}
    env.pop("XLA_FLAGS", None)
    subprocess.run([sys.executable, "-c", "import sys; from sesl_jax.cli import main; sys.exit(main(sys.argv[1:]))",
                    "fit", "--dataset", name, "--out", str(model_dir)], env=env, check=True, capture_output=True)
    molecules = new_molecules(dataset, args.screen)
    if len(molecules) < args.screen:  # PCD holds every benchmark drug: molecules from ChEMBL instead
        import gzip

        with gzip.open(Path(os.environ["SESL_JAX_DATA"]) / "pretrain" / CHEMBL, "rt") as lines:
            molecules += [line.strip() for _, line in zip(range(args.screen - len(molecules)), lines)]
    molecules_file = workdir / f"{name}-molecules.json"
    molecules_file.write_text(json.dumps(molecules))
    runs: dict[int, list[dict]] = {count: [] for count in args.devices}
    for round_index in range(args.rounds):
        for count in args.devices if round_index % 2 == 0 else args.devices[::-1]:
            result = subprocess.run([sys.executable, "-c", WORKER, str(model_dir), str(molecules_file), str(count)],
                                    env=env, check=True, capture_output=True, text=True)
            runs[count].append(json.loads(result.stdout.strip().splitlines()[-1]))
            print(f"{name}: {count} device(s), round {round_index + 1}: {runs[count][-1]}", flush=True)
    digests = {run["table_sha256"] for measured in runs.values() for run in measured}
    base = min(run["warm"] for run in runs[args.devices[0]])
    rows = []
    for count, measured in runs.items():
        warm = min(run["warm"] for run in measured)
        rows.append(dict(dataset=name, shape=f"{dataset.n_drugs}x{dataset.n_mirnas}", devices=count,
                         items=len(molecules), cold_seconds=min(run["cold"] for run in measured), warm_seconds=warm,
                         items_per_second=len(molecules) / warm, ratio_to_first=base / warm,
                         identical_tables=len(digests) == 1))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="fcd", help="comma-separated: fcd, pcd")
    parser.add_argument("--screen", type=at_least(1), default=32, help="new molecules per screen")
    parser.add_argument("--rounds", type=at_least(1), default=2)
    parser.add_argument("--devices", type=at_least(1), nargs="+", default=[1, 2])
    parser.add_argument("--out", type=json_out, default="benchmarks/results/screen_devices.json")
    args = parser.parse_args()
    setup(x64=True)
    rows = rows_per_dataset(args.datasets, lambda name, workdir: bench_dataset(name, args, workdir))
    print()
    print_table(rows, ["dataset", "shape", "devices", "items", "cold_seconds", "warm_seconds", "items_per_second",
                       "ratio_to_first", "identical_tables"])
    write_json(args.out, {"benchmark": "screen_devices", "environment": device_facts(), "rounds": args.rounds,
                          "method": "each benchmark's default (sesl_jax/resources/defaults)", "rows": rows})


if __name__ == "__main__":
    main()
