"""Sparse learning (LRR by IALM) on FCD and PCD with and without the exact reduced basis.

    SESL_JAX_DATA=../shared/data python benchmarks/lrr_reduction.py [--repeats 3] [--out F]
"""

from __future__ import annotations

import argparse

from _common import device_facts, median_time, print_table, setup, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    parser.add_argument("--out", default="benchmarks/results/lrr_reduction.json")
    args = parser.parse_args()
    setup(x64=True)

    import jax
    import jax.numpy as jnp
    import numpy as np

    from sesl_jax.data import load_dataset
    from sesl_jax.model import default_params
    from sesl_jax.solvers import lrr_ialm

    params = default_params(args.dtype).lrr
    rows = []
    for name in ("fcd", "pcd"):
        A = np.asarray(load_dataset(name).associations)
        bound = int(min((A != 0).any(axis=1).sum(), (A != 0).any(axis=0).sum()))
        data = jnp.asarray(A, args.dtype)
        results = {}
        for label, kwargs in (("plain", dict(reduce=False)), ("reduced", dict(reduce=True, rank_bound=bound))):
            solve = jax.jit(lambda a, kwargs=kwargs: lrr_ialm(a, params, **kwargs))
            results[label] = jax.block_until_ready(solve(data))
            seconds, _ = median_time(lambda: jax.block_until_ready(solve(data)), args.repeats)
            rows.append(dict(dataset=name, variant=label, dtype=args.dtype, seconds=seconds,
                             iterations=int(results[label].stats.iterations)))
        difference = float(np.abs(np.asarray(results["plain"].denoised) - np.asarray(results["reduced"].denoised)).max())
        rows[-1]["max_abs_difference"] = difference
        rows[-1]["speedup"] = rows[-2]["seconds"] / rows[-1]["seconds"]
        print(f"{name}: plain {rows[-2]['seconds']:.3f} s, reduced {rows[-1]['seconds']:.3f} s, "
              f"max |difference| {difference:.2e}", flush=True)
    print()
    print_table(rows, ["dataset", "variant", "dtype", "seconds", "iterations", "speedup", "max_abs_difference"])
    write_json(args.out, {"benchmark": "lrr_reduction", "environment": device_facts(), "rows": rows})


if __name__ == "__main__":
    main()
