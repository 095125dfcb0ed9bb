"""Sparse learning (LRR by IALM) on FCD and PCD: plain, in the exact reduced basis, and also restricted
to the rows and columns that hold a known pair (``support``, exact too; what ``sesl`` folds use).

    SESL_JAX_DATA=../shared/data python benchmarks/lrr_reduction.py [--repeats 3] [--out F]
"""

from __future__ import annotations

import argparse

from _common import at_least, device_facts, json_out, median_time, print_table, setup, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=at_least(1), default=3)
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    parser.add_argument("--out", type=json_out, default="benchmarks/results/lrr_reduction.json")
    args = parser.parse_args()
    setup(x64=True)

    import jax
    import jax.numpy as jnp
    import numpy as np

    from sesl_jax.data import load_dataset
    from sesl_jax.model import default_params
    from sesl_jax.solvers import lrr_ialm

    params = default_params(args.dtype).lrr
    rows, sizes = [], {}
    for name in ("fcd", "pcd"):
        A = np.asarray(load_dataset(name).associations)
        sizes[name] = list(A.shape)
        support = (np.flatnonzero((A != 0).any(axis=1)), np.flatnonzero((A != 0).any(axis=0)))
        bound = min(len(index) for index in support)
        data = jnp.asarray(A, args.dtype)
        variants = (
            ("plain", dict(reduce=False)),
            ("reduced", dict(reduce=True, rank_bound=bound)),
            ("reduced+support", dict(reduce=True, rank_bound=bound, support=support)),
        )
        results, plain = {}, None
        for label, kwargs in variants:
            solve = jax.jit(lambda a, kwargs=kwargs: lrr_ialm(a, params, **kwargs))
            results[label] = jax.block_until_ready(solve(data))
            seconds, _ = median_time(lambda: jax.block_until_ready(solve(data)), args.repeats)
            row = dict(dataset=name, variant=label, dtype=args.dtype, seconds=seconds,
                       iterations=int(results[label].stats.iterations))
            if plain is None:
                plain = row
            else:
                row["speedup"] = plain["seconds"] / seconds
                row["max_abs_difference"] = float(
                    np.abs(np.asarray(results["plain"].denoised) - np.asarray(results[label].denoised)).max()
                )
            rows.append(row)
            print(f"{name}: {label} {seconds:.3f} s", flush=True)
    print()
    print_table(rows, ["dataset", "variant", "dtype", "seconds", "iterations", "speedup", "max_abs_difference"])
    write_json(args.out, {"benchmark": "lrr_reduction", "environment": device_facts(), "dtype": args.dtype,
                          "sizes": sizes, "rows": rows})


if __name__ == "__main__":
    main()
