"""TSPN and RPCA-gamma: this project's variant against the authors' published code, on full FCD.

Fits both variants on all known pairs (biological similarities) and reports the Spearman
correlation of their scores (all pairs and unknown pairs), fit times and iteration counts.

    SESL_JAX_DATA=../shared/data python benchmarks/rival_variants.py [--out F]
"""

from __future__ import annotations

import argparse
import time

from _common import device_facts, json_out, print_table, setup, write_json


def _iterations(model) -> str:
    """Iterations per solver stage, e.g. ``56/49/48`` for the three passes of published TSPN."""
    return "/".join(str(stage["iterations"]) for stage in model.stats_.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    parser.add_argument("--out", type=json_out, default="benchmarks/results/rival_variants.json")
    args = parser.parse_args()
    setup(x64=args.dtype == "float64")

    import numpy as np
    from scipy.stats import spearmanr

    from sesl_jax import SESL
    from sesl_jax.data import load_dataset

    dataset = load_dataset("fcd")
    unknown = np.asarray(dataset.associations) == 0
    rows = []
    for method in ("tspn", "rpca-gamma"):
        fits = {}
        for variant in ("default", "published-code"):
            start = time.perf_counter()
            model = SESL(method, similarity="biological", dtype=args.dtype, variant=variant).fit(dataset)
            fits[variant] = (model, time.perf_counter() - start)
        (default, default_seconds), (published, published_seconds) = fits["default"], fits["published-code"]
        a, b = np.asarray(default.scores_), np.asarray(published.scores_)
        rows.append(dict(
            method=method,
            spearman_all=float(spearmanr(a.ravel(), b.ravel()).statistic),
            spearman_unknown=float(spearmanr(a[unknown], b[unknown]).statistic),
            iterations_default=_iterations(default), iterations_published=_iterations(published),
            seconds_default=default_seconds, seconds_published=published_seconds,
        ))
    print_table(rows, ["method", "spearman_all", "spearman_unknown", "iterations_default", "iterations_published",
                       "seconds_default", "seconds_published"])
    write_json(args.out, {"device": device_facts(), "dtype": args.dtype, "dataset": "fcd",
                          "sizes": {"fcd": list(dataset.associations.shape)}, "rows": rows})


if __name__ == "__main__":
    main()
