"""How closely SMILES code distances follow chemical similarity over the benchmark drugs.

For each set of weights: the Spearman correlation, over all pairs of the 808 PCD/FCD drugs with a
SMILES, between code distance and Morgan Tanimoto similarity (the more negative, the closer);
the mean Tanimoto of each drug's code-nearest neighbour, against that of a random pair.

    python benchmarks/encoder_chemistry.py shipped benchmarks/results/encoder_candidates/smiles-2x128-22k/encoder.npz \
        --out benchmarks/results/encoder_chemistry.json
"""

from __future__ import annotations

import argparse

from _common import ROOT, device_facts, print_table, setup, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="+", help="SMILES encoder .npz files, or 'shipped'")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "encoder_chemistry.json"))
    args = parser.parse_args()
    setup()
    import numpy as np
    from scipy.stats import spearmanr

    from sesl_jax.data import load_dataset
    from sesl_jax.encoders import Encoder, encode, shipped_path
    from sesl_jax.similarity import euclidean_distances, morgan_fingerprints, tanimoto_similarity

    dataset = load_dataset("pcd")  # its 831 drugs include FCD's
    smiles = [s for s, present in zip(dataset.drug_smiles, dataset.has_smiles) if present]
    tanimoto = tanimoto_similarity(morgan_fingerprints(smiles)[0])
    pairs = np.triu_indices(len(smiles), 1)
    rows = []
    for name in args.weights:
        path = shipped_path("smiles") if name == "shipped" else name
        distances = euclidean_distances(encode(Encoder.from_checkpoint(path, "smiles"), smiles))
        rho = spearmanr(distances[pairs], tanimoto[pairs]).statistic
        np.fill_diagonal(distances, np.inf)
        nearest = tanimoto[np.arange(len(smiles)), distances.argmin(axis=1)].mean()
        rows.append({"weights": name, "drugs": len(smiles), "spearman_distance_tanimoto": float(rho),
                     "nearest_neighbour_tanimoto": float(nearest), "random_pair_tanimoto": float(tanimoto[pairs].mean())})
    print_table(rows, ["weights", "drugs", "spearman_distance_tanimoto", "nearest_neighbour_tanimoto", "random_pair_tanimoto"])
    write_json(args.out, {"benchmark": "encoder_chemistry", "environment": device_facts(), "rows": rows})


if __name__ == "__main__":
    main()
