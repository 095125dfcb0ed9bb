"""Time one full fit of SE and SESL on FCD and PCD: float32/float64, symmetric (eigh) vs SVD
SVT in BNNR, against the plain NumPy reference (tests/reference.py, float64, SVD) in the same run.

PCD has no biological drug similarity; it is timed with the RDKit Morgan/Tanimoto drug
similarity (a valid 831 x 831 similarity, labelled as such) and the biological miRNA one.

    SESL_JAX_DATA=../shared/data python benchmarks/solvers.py [--datasets fcd pcd] [--repeats 3] [--out F]
"""

from __future__ import annotations

import argparse
import warnings

from _common import at_least, device_facts, json_out, median_time, print_table, setup, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["fcd", "pcd"], choices=["fcd", "pcd"])
    parser.add_argument("--repeats", type=at_least(1), default=3)
    parser.add_argument("--reference-repeats", type=at_least(1), default=1)
    parser.add_argument("--out", type=json_out, default="benchmarks/results/solvers.json")
    args = parser.parse_args()
    setup(x64=True)

    import jax
    import jax.numpy as jnp
    import numpy as np

    import reference
    from sesl_jax.data import load_dataset
    from sesl_jax.similarity import dataset_similarities
    from sesl_jax.methods import sesl_family_method
    from sesl_jax.model import SESLOptions

    rows, sizes = [], {}
    for name in args.datasets:
        dataset = load_dataset(name)
        A = np.asarray(dataset.associations)
        sizes[name] = list(A.shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            source = ("biological", "biological") if name == "fcd" else ("chemical", "biological")
            sims = dataset_similarities(dataset, "drug={},mirna={}".format(*source))
        for method_name in ("se", "sesl"):
            sparse = method_name == "sesl"
            ref_time, _ = median_time(
                lambda: reference.sesl(A, sims.drug, sims.mirna, sparse_learning=sparse), args.reference_repeats
            )
            rows.append(dict(dataset=name, method=method_name, impl="numpy-reference", dtype="float64", svt="svd",
                             seconds=ref_time, speedup_vs_reference=1.0, similarity=sims.source))
            for dtype in ("float32", "float64"):
                for svt in ("eigh", "svd"):
                    options = SESLOptions(sparse_learning=sparse, bnnr_svt=svt)
                    method = sesl_family_method(method_name, A, sims, dtype=dtype, options=options)
                    fit = jax.jit(method.predict)
                    train = jnp.asarray(A, dtype)
                    output = fit(train, method.inputs)
                    jax.block_until_ready(output)
                    seconds, _ = median_time(lambda: jax.block_until_ready(fit(train, method.inputs)), args.repeats)
                    rows.append(dict(
                        dataset=name, method=method_name, impl="jax", dtype=dtype, svt=svt, seconds=seconds,
                        speedup_vs_reference=ref_time / seconds,
                        iterations=[int(i) for i in np.asarray(output.iterations)],
                        status=[int(s) for s in np.asarray(output.status)],
                        similarity=sims.source,
                    ))
                    print(f"{name} {method_name} {dtype} {svt}: {seconds:.3f} s (reference {ref_time:.3f} s)", flush=True)
    print()
    print_table(rows, ["dataset", "method", "impl", "dtype", "svt", "seconds", "speedup_vs_reference", "iterations"])
    write_json(args.out, {"benchmark": "solvers", "environment": device_facts(), "sizes": sizes, "repeats": args.repeats,
                          "reference_repeats": args.reference_repeats, "rows": rows})


if __name__ == "__main__":
    main()
