"""``sesl-jax reproduce``: run the paper's experiments 1-7 and write a report directory."""

from __future__ import annotations

import argparse

from sesl_jax._io import stderr_log
from sesl_jax.cli._common import (
    UsageError, add_cpu_devices_option, configure_cpu_devices, configure_jax, data_source_message, progress_output,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reproduce",
        help="run the paper's experiments 1-7 and write a report (resumable)",
        description=(
            "Run the SESL paper's experiments (1: SESL vs. rivals, all protocols; 2: SESL vs. BNNRSMMA, seven "
            "metrics, repeated 5-fold, paired t-tests; 3: LSTM vs. transformer encoder codes, seven metrics; 4: sparse-learning "
            "ablation; 5: sequence vs. biological similarity; 6: sparsity; 7: case studies) with leakage-free "
            "per-fold refitting and, for SESL and the rivals, their published transductive protocols side by side. Writes "
            "DIR/report.md, DIR/results.json, DIR/figures/*.png and one directory per evaluation run under "
            "DIR/runs/; rerunning the same command resumes and skips finished work. --quick: FCD only, "
            "2 x 5-fold, a seeded 20-fold LOOCV subsample, float32 (minutes on a CPU)."
        ),
    )
    parser.add_argument("--out", required=True, help="report directory (rerun with the same arguments to resume)")
    parser.add_argument("--quick", action="store_true", help="minutes instead of hours: FCD, 2 repeats, LOOCV subsample, float32")
    parser.add_argument("--dataset", choices=("fcd", "pcd", "both"), default=None,
                        help="datasets to evaluate (default: both; fcd with --quick)")
    parser.add_argument("--data-dir", default=None, help="benchmark directory (default: $SESL_JAX_DATA, else the user cache)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default=None,
                        help="precision of every solve (default float64; float32 with --quick)")
    parser.add_argument("--bnnr-svt", choices=("eigh", "subspace"), default=None,
                        help="BNNR's SVT in the SESL, SE and BNNRSMMA runs: eigh (exact, default) or subspace "
                        "(warm-started, exact fallback; 1.6x on FCD BNNRSMMA LOOCV, 1.5-1.8x on a PCD fold, see docs/results.md)")
    parser.add_argument("--experiments", default=None, help="comma-separated experiment numbers (default 1,2,3,4,5,6,7)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats of 5-fold CV (default 10; 2 with --quick)")
    parser.add_argument("--loocv-folds", type=int, default=None,
                        help="evaluate a seeded random subsample of this many LOOCV folds (default all; 20 with --quick)")
    parser.add_argument("--report-only", action="store_true",
                        help="compute nothing: write the report from the runs already finished in --out, the rest "
                        "marked 'not run' (e.g. while a long reproduction is still running elsewhere)")
    add_cpu_devices_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress lines or bars")
    parser.set_defaults(func=run)


def make_plan(args: argparse.Namespace):
    from sesl_jax.reproduce.experiments import default_plan, experiment_rows, parse_experiments, quick_plan, unique_runs

    changes: dict = {}
    if args.dataset is not None:
        changes["datasets"] = ("fcd", "pcd") if args.dataset == "both" else (args.dataset,)
    if args.experiments is not None:
        try:
            changes["experiments"] = parse_experiments(args.experiments)
        except ValueError as error:
            raise UsageError(f"argument {error}") from None
    if args.dtype is not None:
        changes["dtype"] = args.dtype
    if args.bnnr_svt is not None:
        changes["bnnr_svt"] = args.bnnr_svt
    if args.repeats is not None:
        if args.repeats < 1:
            raise UsageError(f"argument --repeats: must be an integer >= 1, got {args.repeats}")
        changes["repeats"] = args.repeats
    if args.loocv_folds is not None:
        if args.loocv_folds < 1:
            raise UsageError(f"argument --loocv-folds: must be an integer >= 1, got {args.loocv_folds}")
        changes["loocv_subsample"] = args.loocv_folds
    plan = quick_plan(**changes) if args.quick else default_plan(**changes)
    protocols = {spec.protocol for spec in unique_runs(experiment_rows(plan))}
    # An option no run reads would be recorded as if it had shaped the results.
    for option, value, protocol, what in (("--repeats", args.repeats, "kfold", "repeated k-fold"),
                                          ("--loocv-folds", args.loocv_folds, "loocv", "LOOCV")):
        if value is not None and protocol not in protocols:
            raise UsageError(f"argument {option}: experiments {','.join(map(str, plan.experiments))} run no {what}")
    return plan


def check_loocv_folds(plan, datasets: dict) -> None:
    """A subsample as large as the full LOOCV would be labelled a subsample; ask for the full one."""
    if plan.loocv_subsample is None:
        return
    for name, dataset in datasets.items():
        n_pairs = int((dataset.associations != 0).sum())
        if plan.loocv_subsample >= n_pairs:
            raise UsageError(f"argument --loocv-folds: {plan.loocv_subsample} is not fewer than {name.upper()}'s "
                             f"{n_pairs} LOOCV folds; leave it out to run them all")


def run(args: argparse.Namespace) -> int:
    plan = make_plan(args)
    configure_cpu_devices(args.cpu_devices)  # before anything starts JAX's backend
    configure_jax(plan.dtype)
    from sesl_jax.data import load_dataset
    from sesl_jax.reproduce import run_reproduction

    log = (lambda message: None) if args.quiet else stderr_log
    datasets = {}
    for name in plan.datasets:
        datasets[name] = load_dataset(name, args.data_dir)
        log(data_source_message(datasets[name], benchmark=True))
    check_loocv_folds(plan, datasets)
    results = run_reproduction(
        datasets, args.out, plan, data_dir=args.data_dir,
        progress=progress_output(args.quiet, log), log=log, report_only=args.report_only,
    )
    done = sum(record["status"] == "done" for record in results["runs"].values())
    print(f"{done} of {len(results['runs'])} evaluation runs done; report: {args.out}/report.md "
          f"({results['seconds']:.0f} s)")
    return 0
