"""How closely code distances follow a similarity of the field over the benchmark's items.

SMILES weights: the distinct SMILES of the PCD/FCD drugs (799 of 808 drugs with one), against
Morgan Tanimoto similarity. RNA weights: the distinct mature sequences of the PCD miRNAs (474 of
541), against normalised local-alignment similarity (the one behind ``mirna=alignment``). For each set of weights: the Spearman correlation, over all pairs,
between code distance and that similarity (the more negative, the closer); the mean similarity of
each item's code-nearest neighbour, against that of a random pair.

    python benchmarks/encoder_similarity.py shipped benchmarks/results/encoder_candidates/smiles-2x128-22k/encoder.npz
    python benchmarks/encoder_similarity.py --kind rna shipped benchmarks/results/encoder_candidates/rna-2x128-cont/encoder.npz
"""

from __future__ import annotations

import argparse

from _common import ROOT, device_facts, json_out, print_table, setup, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="+", help="encoder .npz files of --kind, or 'shipped'")
    parser.add_argument("--kind", choices=("smiles", "rna"), default="smiles")
    parser.add_argument("--out", type=json_out, default=None, help="JSON (default benchmarks/results/encoder_similarity_KIND.json)")
    args = parser.parse_args()
    setup()
    import numpy as np
    from scipy.stats import spearmanr

    from sesl_jax.data import load_dataset
    from sesl_jax.encoders import Encoder, encode, shipped_path
    from sesl_jax.similarity import alignment_similarity, euclidean_distances, morgan_fingerprints, tanimoto_similarity

    dataset = load_dataset("pcd")  # its drugs and miRNAs include FCD's
    # Distinct sequences: two items of one sequence sit at distance 0 with similarity 1 whatever the codes.
    if args.kind == "smiles":
        items = list(dict.fromkeys(s for s, present in zip(dataset.drug_smiles, dataset.has_smiles) if present))
        reference, reference_name = tanimoto_similarity(morgan_fingerprints(items)[0]), "morgan_tanimoto"
    else:
        items = list(dict.fromkeys(s for s, present in zip(dataset.mirna_mature, dataset.has_mature) if present))
        reference, reference_name = alignment_similarity(items), "local_alignment"
    pairs = np.triu_indices(len(items), 1)
    rows = []
    for name in args.weights:
        path = shipped_path(args.kind) if name == "shipped" else name
        distances = euclidean_distances(encode(Encoder.from_checkpoint(path, args.kind), items))
        rho = spearmanr(distances[pairs], reference[pairs]).statistic
        np.fill_diagonal(distances, np.inf)
        nearest = reference[np.arange(len(items)), distances.argmin(axis=1)].mean()
        rows.append({"weights": name, "items": len(items), "reference": reference_name,
                     "spearman_distance_similarity": float(rho), "nearest_neighbour_similarity": float(nearest),
                     "random_pair_similarity": float(reference[pairs].mean())})
    print_table(rows, ["weights", "items", "reference", "spearman_distance_similarity", "nearest_neighbour_similarity",
                       "random_pair_similarity"])
    out = args.out or ROOT / "benchmarks" / "results" / f"encoder_similarity_{args.kind}.json"
    write_json(out, {"benchmark": "encoder_similarity", "kind": args.kind, "environment": device_facts(), "rows": rows})


if __name__ == "__main__":
    main()
