"""The exploratory similarity screen behind `sesl-jax select`'s default grid (FCD, SESL).

Global AUC of 5-fold CV x 2 repeats (seed 0) on all known pairs, per similarity configuration and
distance map: the screen that chose the grid, NOT an unbiased estimate (`sesl-jax select` is).

    SESL_JAX_DATA=../shared/data python benchmarks/similarity_screen.py [--out F]
"""

from __future__ import annotations

import argparse
import time

from _common import device_facts, json_out, print_table, setup, write_json

SOURCES = (
    "drug=sequence,mirna=biological",
    "drug=sequence,mirna=sequence",
    "drug=sequence,mirna=alignment",
    "drug=sequence,mirna=0.5*biological+0.5*alignment",
    "drug=0.5*chemical+0.5*sequence,mirna=biological",
    "drug=0.5*biological+0.5*sequence,mirna=biological",
)
MAPS = ("gaussian", "inverse")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--out", type=json_out, default="benchmarks/results/similarity_screen.json")
    args = parser.parse_args()
    setup(x64=args.dtype == "float64")

    from sesl_jax.data import load_dataset
    from sesl_jax.evaluation.selection import select_configuration
    from sesl_jax.pipeline import MethodConfig

    dataset = load_dataset("fcd")
    configs = [MethodConfig("sesl", similarity=f"{source},map={kind}", dtype=args.dtype)
               for kind in MAPS for source in SOURCES]
    start = time.perf_counter()
    _, scores = select_configuration(dataset, configs, inner_k=5, inner_repeats=2, seed=0)
    rows = [dict(similarity=config.similarity, map=config.similarity_map, auc=float(score))
            for config, score in zip(configs, scores)]
    print_table(rows, ["similarity", "map", "auc"])
    write_json(args.out, {"device": device_facts(), "dtype": args.dtype, "dataset": "fcd",
                          "sizes": {"fcd": list(dataset.associations.shape)},
                          "protocol": "5-fold x 2 repeats, seed 0, global AUC", "rows": rows,
                          "seconds": time.perf_counter() - start})


if __name__ == "__main__":
    main()
