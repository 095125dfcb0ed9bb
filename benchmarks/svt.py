"""BNNR's SVT: exact ``eigh`` against the warm-started subspace method (``svt_method="subspace"``)
and the matmul-only one (``"sign"``), on FCD with the biological similarities (BNNRSMMA's and
SESL's T, n = 325).

Three parts, all in one process so that ratios are comparable on a noisy machine:

- ``call``: one SVT call on BNNR's own iterates (LOOCV fold 0, captured from an exact solve):
  ``svt_symmetric`` vs ``svt_subspace`` warm-started from the previous iterate (its first
  power step and any extra ones) vs ``svt_sign``.
- ``solve``: one whole BNNR solve per path: iterations, eigh fallbacks, power steps, seconds.
- ``loocv``: LOOCV through the evaluation engine on the same folds for every path (all 664, or
  every ``--fold-stride``-th), run chunk by chunk in alternation so that load changes hit all
  alike: AUCs (global, drug-fixed, miRNA-fixed), iterations, seconds per fold, and each path's
  differences from ``eigh``.

    SESL_JAX_DATA=../shared/data python benchmarks/svt.py [--dtypes float64 float32]
        [--methods bnnr sesl] [--svts subspace sign] [--fold-stride 1] [--chunk 16] [--repeats 5]
        [--parts call solve loocv] [--out benchmarks/results/svt.json]
"""

from __future__ import annotations

import argparse
import time
import warnings

from _common import at_least, device_facts, json_out, median_time, print_table, setup, take, write_json


def capture_svt_inputs(target, observed):
    """The SVT inputs of an exact BNNR solve, iteration by iteration (eager, recorded by the prox)."""
    import jax.numpy as jnp

    from sesl_jax.solvers import BNNRParams, bnnr_init, bounded_admm_step, svt_symmetric

    params = BNNRParams(*(jnp.asarray(value, target.dtype) for value in BNNRParams()))
    inputs = []

    def recording_svt(matrix, tau):
        inputs.append(matrix)
        return svt_symmetric(matrix, tau)

    state = bnnr_init(target)
    for _ in range(300):
        state, converged = bounded_admm_step(state, target, observed, params, recording_svt)
        if bool(converged):
            break
    return inputs


def fold_target(dataset, similarities, dtype, fold=0):
    """T and Omega of LOOCV fold ``fold`` (no sparse learning: BNNRSMMA's T)."""
    import jax.numpy as jnp
    import numpy as np

    from sesl_jax.evaluation import loocv_folds, training_matrix
    from sesl_jax.model import heterogeneous_matrix, observed_mask

    A = np.asarray(dataset.associations)
    folds = loocv_folds(A)
    train = training_matrix(jnp.asarray(A, dtype), jnp.asarray(folds.hidden[fold]))
    target = heterogeneous_matrix(jnp.asarray(similarities.drug, dtype), train, jnp.asarray(similarities.mirna, dtype))
    return target, observed_mask(target, train, "nonzero").astype(dtype)


def part_call(target, observed, dtype, repeats, svts, at_iterations=(2, 5, 10, 20, 50, -1)):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from sesl_jax.solvers import default_subspace_rank, subspace_basis, svt_sign, svt_subspace, svt_symmetric

    inputs = capture_svt_inputs(target, observed)
    n = target.shape[0]
    rank = default_subspace_rank(n)
    tau = jnp.asarray(0.1, dtype)  # 1 / beta
    exact = jax.jit(svt_symmetric)
    warm = jax.jit(svt_subspace)
    sign = jax.jit(svt_sign)
    rows = []
    for at in at_iterations:
        index = len(inputs) - 1 if at == -1 else at - 1
        previous, matrix = inputs[index - 1], inputs[index]
        _, carry = warm(previous, tau, subspace_basis(n, rank, target.dtype))  # exact: fills the basis
        reference = np.asarray(exact(matrix, tau), np.float64)
        wide = np.asarray(matrix, np.float64)  # the same input, thresholded exactly in float64
        values, vectors = np.linalg.eigh(wide)
        exact64 = (vectors * (np.sign(values) * np.maximum(np.abs(values) - 0.1, 0.0))) @ vectors.T
        norm = float(np.linalg.norm(np.asarray(matrix, np.float64)))
        kept = int(np.sum(np.abs(np.linalg.eigvalsh(np.asarray(matrix, np.float64))) > 0.1))
        candidates = {"eigh": lambda: exact(matrix, tau)}
        if "subspace" in svts:
            candidates["subspace"] = lambda: warm(matrix, tau, carry)[0]
        if "sign" in svts:
            candidates["sign"] = lambda: sign(matrix, tau)
        for fn in candidates.values():
            jax.block_until_ready(fn())
        times = {name: [] for name in candidates}
        for _ in range(repeats):  # interleaved: each repeat times every candidate once
            for name, fn in candidates.items():
                times[name].append(median_time(lambda fn=fn: jax.block_until_ready(fn()), 1)[0])
        _, after = warm(matrix, tau, carry)
        for name, fn in candidates.items():
            error = float(np.linalg.norm(np.asarray(fn(), np.float64) - reference))
            row = dict(part="call", dtype=dtype, n=n, iteration=index + 1, kept=kept, svt=name,
                       ms=1e3 * float(np.median(times[name])), error_fro=error, relative_error=error / norm,
                       relative_error_vs_float64=float(np.linalg.norm(np.asarray(fn(), np.float64) - exact64)) / norm)
            if name == "subspace":
                row.update(rank=rank, accepted=int(after.exact_solves) == int(carry.exact_solves),
                           power_steps=int(after.power_steps) - int(carry.power_steps))
            rows.append(row)
        print(f"call {dtype} iteration {index + 1}: " + ", ".join(
            f"{r['svt']} {r['ms']:.2f} ms (err {r['relative_error']:.1e})" for r in rows[-len(candidates):]), flush=True)
    return rows, len(inputs)


def part_solve(target, observed, dtype, repeats, svts):
    import jax
    import numpy as np

    import jax.numpy as jnp

    from sesl_jax.solvers import BNNRParams, bnnr_init, bnnr_step, default_subspace_rank, iterate, subspace_basis

    params = BNNRParams(*(jnp.asarray(value, target.dtype) for value in BNNRParams()))
    n = target.shape[0]

    def solver(svt_method):
        @jax.jit
        def solve(t, o):
            carry = subspace_basis(n, default_subspace_rank(n), t.dtype) if svt_method == "subspace" else ()
            return iterate(lambda s: bnnr_step(s, t, o, params, svt_method), bnnr_init(t, carry), 300)
        return solve

    solvers = {name: solver(name) for name in ("eigh", *svts)}
    results = {name: jax.block_until_ready(fn(target, observed)) for name, fn in solvers.items()}
    times = {name: [] for name in solvers}
    for _ in range(repeats):
        for name, fn in solvers.items():
            times[name].append(median_time(lambda fn=fn: jax.block_until_ready(fn(target, observed)), 1)[0])
    reference = np.asarray(results["eigh"][0].bounded)
    rows = []
    for name, (state, stats) in results.items():
        iterations = int(stats.iterations)
        seconds = float(np.median(times[name]))
        row = dict(part="solve", dtype=dtype, n=n, svt=name, iterations=iterations, seconds=seconds,
                   ms_per_iteration=1e3 * seconds / iterations,
                   max_abs_difference=float(np.abs(np.asarray(state.bounded) - reference).max()))
        if name == "subspace":
            row.update(rank=default_subspace_rank(n), eigh_fallbacks=int(state.svt_carry.exact_solves),
                       power_steps=int(state.svt_carry.power_steps))
        rows.append(row)
    for row in rows[1:]:
        row["speedup"] = rows[0]["seconds"] / row["seconds"]
    print("solve " + dtype + ": " + ", ".join(f"{r['svt']} {r['iterations']} it {r['seconds']:.3f} s" for r in rows), flush=True)
    return rows


def part_loocv(dataset, similarities, method_name, dtype, stride, chunk, svts):
    import numpy as np

    from sesl_jax.evaluation import EvaluationRun, evaluate, loocv_folds, summarize
    from sesl_jax.methods import sesl_family_method
    from sesl_jax.model import SESLOptions

    A = np.asarray(dataset.associations)
    all_folds = loocv_folds(A)
    pick = np.arange(0, all_folds.n_folds, stride)
    folds = take(all_folds, pick)
    methods = {
        svt: sesl_family_method(method_name, A, similarities, dtype=dtype,
                                options=SESLOptions(sparse_learning=method_name == "sesl", bnnr_svt=svt))
        for svt in ("eigh", *svts)
    }
    for method in methods.values():  # compile outside the timing
        evaluate(method, A, take(folds, np.arange(1)), batch_size=chunk)
    runs = {svt: [] for svt in methods}
    for start in range(0, folds.n_folds, chunk):
        part = take(folds, np.arange(start, min(start + chunk, folds.n_folds)))
        for svt, method in methods.items():
            runs[svt].append(evaluate(method, A, part, batch_size=chunk))
        done = min(start + chunk, folds.n_folds)
        print(f"loocv {method_name} {dtype}: {done}/{folds.n_folds} folds, "
              + ", ".join(f"{svt} {sum(r.seconds for r in rs):.0f} s" for svt, rs in runs.items()), flush=True)
    rows = []
    merged = {svt: merge_runs(rs, EvaluationRun) for svt, rs in runs.items()}
    for svt, run in merged.items():
        summary = summarize(run, folds, methods[svt].stages)
        bnnr_stage = methods[svt].stages.index("bnnr")
        rows.append(dict(
            part="loocv", method=method_name, similarity=similarities.source, dtype=dtype, svt=svt,
            folds=folds.n_folds, fold_stride=stride, seconds=run.seconds, seconds_per_fold=run.seconds / folds.n_folds,
            global_auc=summary["metrics"]["global"]["auc"], drug_fixed_auc=summary["metrics"]["drug-fixed"]["auc"],
            mirna_fixed_auc=summary["metrics"]["mirna-fixed"]["auc"],
            bnnr_iterations_mean=float(run.iterations[:, bnnr_stage].mean()),
            bnnr_iterations_max=int(run.iterations[:, bnnr_stage].max()), solver=summary["solver"],
        ))
    exact = merged["eigh"]
    bnnr_stage = methods["eigh"].stages.index("bnnr")
    for row in rows[1:]:
        other = merged[row["svt"]]
        row.update(
            speedup=rows[0]["seconds"] / row["seconds"],
            max_auc_difference=max(abs(row[k] - rows[0][k]) for k in ("global_auc", "drug_fixed_auc", "mirna_fixed_auc")),
            folds_with_other_iterations=int(np.sum(exact.iterations[:, bnnr_stage] != other.iterations[:, bnnr_stage])),
            max_hidden_score_difference=float(np.nanmax(np.abs(exact.hidden_scores - other.hidden_scores))),
        )
    return rows


def merge_runs(runs, run_type):
    import numpy as np

    fields = {}
    for name in run_type._fields:
        values = [getattr(r, name) for r in runs]
        if name in ("seconds", "folds_computed"):
            fields[name] = sum(values)
        elif name == "candidate_pairs":
            fields[name] = values[0]
        elif name == "sub_batch_size":
            fields[name] = min((value for value in values if value is not None), default=None)
        elif values[0] is None:
            fields[name] = None
        else:
            fields[name] = np.concatenate(values)
    return run_type(**fields)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float32", "float64"])
    parser.add_argument("--methods", nargs="+", default=["bnnr"], choices=["bnnr", "sesl", "se"],
                        help="methods for the LOOCV part (biological similarities)")
    parser.add_argument("--svts", nargs="+", default=["subspace"], choices=["subspace", "sign"],
                        help="SVTs compared with eigh (default: subspace; sign is 5-7x slower than eigh on a CPU)")
    parser.add_argument("--parts", nargs="+", default=["call", "solve", "loocv"], choices=["call", "solve", "loocv"])
    parser.add_argument("--fold-stride", type=at_least(1), default=1, help="LOOCV on every k-th fold (1: all 664)")
    parser.add_argument("--chunk", type=at_least(1), default=16, help="LOOCV folds per chunk (alternating the paths)")
    parser.add_argument("--repeats", type=at_least(1), default=5)
    parser.add_argument("--out", type=json_out, default="benchmarks/results/svt.json")
    args = parser.parse_args()
    setup(x64=True)

    import jax

    from sesl_jax.data import load_dataset
    from sesl_jax.similarity import dataset_similarities

    dataset = load_dataset("fcd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        similarities = dataset_similarities(dataset, "biological")
    rows, captured = [], {}
    started = time.perf_counter()
    for dtype in args.dtypes:
        target, observed = fold_target(dataset, similarities, dtype)
        if "call" in args.parts:
            call_rows, captured[dtype] = part_call(target, observed, dtype, args.repeats, args.svts)
            rows += call_rows
        if "solve" in args.parts:
            rows += part_solve(target, observed, dtype, args.repeats, args.svts)
        if "loocv" in args.parts:
            for method_name in args.methods:
                rows += part_loocv(dataset, similarities, method_name, dtype, args.fold_stride, args.chunk, args.svts)
    print()
    for part, columns in (
        ("call", ["dtype", "iteration", "kept", "svt", "ms", "relative_error", "relative_error_vs_float64", "accepted",
                  "power_steps"]),
        ("solve", ["dtype", "svt", "iterations", "seconds", "ms_per_iteration", "eigh_fallbacks", "power_steps",
                   "max_abs_difference", "speedup"]),
        ("loocv", ["method", "dtype", "svt", "folds", "seconds_per_fold", "global_auc", "drug_fixed_auc",
                   "mirna_fixed_auc", "bnnr_iterations_mean", "speedup", "max_auc_difference",
                   "folds_with_other_iterations"]),
    ):
        selected = [r for r in rows if r["part"] == part]
        if selected:
            print_table(selected, columns)
            print()
    write_json(args.out, {
        "benchmark": "svt", "environment": device_facts(), "dataset": "fcd", "similarity": similarities.source,
        "n": int(sum(dataset.associations.shape)), "beta": 10.0, "tau": 0.1, "repeats": args.repeats,
        "svts": ["eigh", *args.svts], "captured_iterations": captured, "fold_stride": args.fold_stride, "chunk": args.chunk,
        "wall_seconds": time.perf_counter() - started, "backend": jax.default_backend(), "rows": rows,
    })


if __name__ == "__main__":
    main()
