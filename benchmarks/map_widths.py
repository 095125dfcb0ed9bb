"""How the distance-to-similarity map's scale decides what SMILES codes add (FCD, exploratory).

For each SMILES encoder (the shipped one, and any ``--weights`` file), the median distance between
the codes of FCD's 39 drugs, then the global, drug-fixed and miRNA-fixed AUC of FCD's default
configuration (SE, drugs by SMILES codes, miRNAs 0.5 biological + 0.5 alignment) under each map:
plain ``inverse`` (raw distances), ``inverse:W`` (distances over W times the median) for a range
of W, ``gaussian``, and ``inverse:1e-06``, which makes every off-diagonal drug similarity about
zero: the drug side as an identity matrix, what the codes add measured against nothing.

5-fold CV x 10 repeats (seed 0, float32) on the folds of ``sesl-jax cv --dataset fcd --protocol
kfold --k 5 --repeats 10``. These are the folds the nested selection's outer loop scores, so the
table explains the selection (``sesl-jax select --grid widths``); it is NOT an unbiased estimate.

    SESL_JAX_DATA=../shared/data python benchmarks/map_widths.py [--weights NPZ ...] [--out F]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from _common import at_least, device_facts, json_out, print_table, setup, write_json

CONFIGURATION = "drug=sequence,mirna=0.5*biological+0.5*alignment"
MAPS = ("inverse:1e-06", "inverse", "inverse:0.03", "inverse:0.1", "inverse:0.3", "inverse:1", "gaussian")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", nargs="*", default=[], help="other SMILES LSTM encoder.npz files")
    parser.add_argument("--repeats", type=at_least(1), default=10)
    parser.add_argument("--out", type=json_out, default="benchmarks/results/map_widths.json")
    args = parser.parse_args()
    for weights in args.weights:  # checked before the shipped weights' pass, not after it
        if not Path(weights).is_file():
            parser.error(f"argument --weights: {weights} is not a file")
    setup(x64=False)

    import numpy as np

    from sesl_jax.data import load_dataset
    from sesl_jax.encoder_files import ENCODERS_VARIABLE
    from sesl_jax.evaluation import evaluate, kfold_folds, summarize
    from sesl_jax.pipeline import MethodConfig, build_method, resolve_similarities
    from sesl_jax.similarity import drug_codes, euclidean_distances

    dataset = load_dataset("fcd")
    folds = kfold_folds(dataset.associations, k=5, repeats=args.repeats, seed=0)
    rows = []
    start = time.perf_counter()
    for weights in [None, *args.weights]:
        with tempfile.TemporaryDirectory() as directory:
            if weights is None:
                os.environ.pop(ENCODERS_VARIABLE, None)
            else:
                (Path(directory) / "smiles.npz").symlink_to(Path(weights).resolve())
                os.environ[ENCODERS_VARIABLE] = directory
            codes, present = drug_codes(dataset)
            distances = euclidean_distances(codes[present])
            median = float(np.median(distances[~np.eye(len(distances), dtype=bool)]))
            for kind in MAPS:
                config = MethodConfig("se", similarity=f"{CONFIGURATION},map={kind}", dtype="float32")
                method = build_method(np.asarray(dataset.associations), resolve_similarities(dataset, config), config)
                run = evaluate(method, np.asarray(dataset.associations), folds, keep_candidates=False)
                metrics = summarize(run, folds, method.stages)["metrics"]
                rows.append({"encoder": weights or "shipped", "median_distance": median, "map": kind,
                             **{scope: metrics[scope]["auc"]["mean"] for scope in ("global", "drug-fixed", "mirna-fixed")}})
                print(f"{rows[-1]['encoder'][-40:]} {kind}: {rows[-1]['global']:.4f}", flush=True)
    os.environ.pop(ENCODERS_VARIABLE, None)
    print_table(rows, ["encoder", "median_distance", "map", "global", "drug-fixed", "mirna-fixed"])
    write_json(args.out, {"device": device_facts(), "dtype": "float32", "dataset": "fcd", "method": "se",
                          "configuration": CONFIGURATION, "protocol": f"5-fold x {args.repeats}, seed 0",
                          "rows": rows, "seconds": time.perf_counter() - start})


if __name__ == "__main__":
    main()
