"""What one PCD LOOCV fold costs on this machine, and why the 2-core CPU cannot reach 45 minutes.

Two parts, in one process (one BLAS thread):

- ``eigh``: one (1372, 1372) float32 symmetric eigendecomposition, BNNR's SVT on PCD, by JAX and
  by SciPy's LAPACK drivers, and the tridiagonal reduction (``ssytrd``) alone.
- ``solve``: BNNR on PCD LOOCV fold 0 (``sesl``: its default similarity after sparse learning;
  ``bnnr``: chemical drug / biological miRNA similarity; ``se``: PCD's default ranking, SMILES-code
  drug / biological miRNA similarity, no sparse learning), float32, SVT by ``eigh`` and by the
  warm-started subspace method with blocks of several fractions of n, setups alternating
  ``--rounds`` times: seconds, iterations, full ``eigh`` fallbacks, power steps, and the largest
  difference from the ``eigh`` solve. Also how many eigenpairs BNNR keeps at iterations 1 and 10
  and at its stop.

    SESL_JAX_DATA=../shared/data python benchmarks/pcd_fold_cost.py [--methods sesl bnnr se]
        [--fractions 0.4 0.55 0.7] [--rounds 2] [--out benchmarks/results/pcd_fold_cost.json]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

from _common import ROOT, at_least, device_facts, json_out, median_time, print_table, setup, write_json

# None: the method's default; se: PCD's default ranking (chosen by nested CV, resources/defaults/pcd.json)
SIMILARITY = {"sesl": None, "bnnr": "drug=chemical,mirna=biological", "se": "drug=sequence,mirna=biological,map=inverse"}


def part_eigh(n: int, repeats: int) -> list[dict]:
    import jax
    import jax.numpy as jnp
    import numpy as np
    import scipy.linalg

    matrix = np.random.default_rng(0).random((n, n)).astype(np.float32)
    matrix = (matrix + matrix.T) / 2
    jax_eigh = jax.jit(jnp.linalg.eigh)
    jax.block_until_ready(jax_eigh(matrix))
    candidates = {
        "jax eigh": lambda: jax.block_until_ready(jax_eigh(matrix)),
        "scipy eigh (evd)": lambda: scipy.linalg.eigh(matrix, driver="evd"),
        "scipy eigh (evr)": lambda: scipy.linalg.eigh(matrix, driver="evr"),
        "scipy ssytrd (tridiagonal reduction only)": lambda: scipy.linalg.lapack.ssytrd(matrix),
    }
    return [dict(part="eigh", what=name, n=n, dtype="float32", seconds=median_time(call, repeats)[0])
            for name, call in candidates.items()]


def fold_problem(method: str):
    """T and Omega of PCD LOOCV fold 0 as ``method`` builds them (float32)."""
    import jax.numpy as jnp
    import numpy as np

    from sesl_jax.data import load_dataset
    from sesl_jax.evaluation import loocv_folds, training_matrix
    from sesl_jax.model import default_params, heterogeneous_matrix, observed_mask
    from sesl_jax.pipeline import MethodConfig, resolve_similarities
    from sesl_jax.solvers import lrr_ialm

    dataset = load_dataset("pcd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PCD drugs without SMILES: named by sesl-jax cv, not here
        similarities = resolve_similarities(dataset, MethodConfig(method, similarity=SIMILARITY[method], dtype="float32"))
    A = np.asarray(dataset.associations)
    train = training_matrix(jnp.asarray(A, jnp.float32), jnp.asarray(loocv_folds(A).hidden[0]))
    block = train
    if method == "sesl":
        support = (np.flatnonzero(A.any(axis=1)), np.flatnonzero(A.any(axis=0)))
        block = lrr_ialm(train, default_params("float32").lrr, rank_bound=min(map(len, support)), support=support).denoised
    target = heterogeneous_matrix(jnp.asarray(similarities.drug, jnp.float32), block,
                                  jnp.asarray(similarities.mirna, jnp.float32))
    return target, observed_mask(target, train, "nonzero").astype(jnp.float32)


def kept_eigenpairs(target, observed, at=(1, 10)) -> dict:
    """How many |eigenvalues| exceed BNNR's threshold (1 / beta) in its SVT inputs (exact solve)."""
    import numpy as np

    from sesl_jax.solvers import BNNRParams
    from svt import capture_svt_inputs

    tau = 1.0 / BNNRParams().beta
    kept = [int((np.abs(np.linalg.eigvalsh(np.asarray(m, np.float64))) > tau).sum())
            for m in capture_svt_inputs(target, observed)]
    return {**{f"kept_at_iteration_{i}": kept[i - 1] for i in at if i <= len(kept)}, "kept_at_stop": kept[-1]}


def part_solve(method: str, fractions: list[float], rounds: int) -> list[dict]:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from sesl_jax.solvers import BNNRParams, bnnr_init, bnnr_step, iterate, subspace_basis

    target, observed = fold_problem(method)
    n = target.shape[0]
    params = BNNRParams(*(jnp.asarray(value, jnp.float32) for value in BNNRParams()))

    def solver(svt: str, rank: int | None):
        def solve(t, o):
            carry = () if rank is None else subspace_basis(n, rank, jnp.float32)
            return iterate(lambda state: bnnr_step(state, t, o, params, svt), bnnr_init(t, carry), 300)
        return jax.jit(solve)

    setups = {"eigh": solver("eigh", None)}
    setups.update({f"subspace {f:.0%}": solver("subspace", int(np.ceil(f * n))) for f in fractions})
    runs: dict[str, list[float]] = {name: [] for name in setups}
    finals = {}
    for _ in range(rounds):
        for name, solve in setups.items():
            jax.block_until_ready(solve(target, observed))  # compiled once, then timed
            tic = time.perf_counter()
            finals[name] = jax.block_until_ready(solve(target, observed))
            runs[name].append(time.perf_counter() - tic)
    exact = np.asarray(finals["eigh"][0].bounded)
    rows = []
    for name, (state, stats) in finals.items():
        row = dict(part="solve", method=method, what=name, n=n, dtype="float32", seconds=min(runs[name]),
                   seconds_runs=runs[name], iterations=int(stats.iterations),
                   max_difference_from_eigh=float(np.abs(np.asarray(state.bounded) - exact).max()))
        if name != "eigh":
            row.update(eigh_fallbacks=int(state.svt_carry.exact_solves), power_steps=int(state.svt_carry.power_steps))
        rows.append(row)
    eigh_seconds = rows[0]["seconds"]
    for row in rows:
        row["speedup_vs_eigh"] = eigh_seconds / row["seconds"]
    rows[0].update(kept_eigenpairs(target, observed))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", nargs="+", default=["sesl", "bnnr"], choices=list(SIMILARITY))
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.4, 0.55, 0.7],
                        help="subspace block sizes as fractions of n (the default block is 0.4)")
    parser.add_argument("--rounds", type=at_least(1), default=2)
    parser.add_argument("--repeats", type=at_least(1), default=3, help="timed calls of each eigh variant")
    parser.add_argument("--out", type=json_out, default=str(ROOT / "benchmarks" / "results" / "pcd_fold_cost.json"))
    args = parser.parse_args()
    setup(x64=False)

    rows = part_eigh(831 + 541, args.repeats)
    print_table(rows, ["what", "n", "dtype", "seconds"])
    for method in args.methods:
        solve_rows = part_solve(method, args.fractions, args.rounds)
        print(f"\n{method}, PCD LOOCV fold 0:")
        print_table(solve_rows, ["what", "seconds", "speedup_vs_eigh", "iterations", "eigh_fallbacks", "power_steps",
                                 "max_difference_from_eigh"])
        print({k: v for k, v in solve_rows[0].items() if k.startswith("kept")})
        rows += solve_rows
    write_json(args.out, {"benchmark": "pcd_fold_cost", "environment": device_facts(), "rows": rows,
                          "load_average_1min_at_end": os.getloadavg()[0], "arguments": vars(args)})


if __name__ == "__main__":
    main()
