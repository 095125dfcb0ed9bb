"""``sesl-jax cv``: batched, leakage-free cross-validation with resumable results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sesl_jax._io import stderr_log
from sesl_jax.cli._common import (
    FALLBACK_METHOD, CommandError, UsageError, add_cpu_devices_option, add_data_options, add_method_options,
    add_precision_option, configure_cpu_devices, configure_jax, data_source_message, finite_float, int_at_least,
    load_dataset_for, method_config, one_line, progress_output,
)

PROTOCOL_CHOICES = ("loocv", "kfold", "new-drug", "new-mirna", "file")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cv",
        help="cross-validate a method (LOOCV, k-fold, new drug/miRNA)",
        description=(
            "Hide known pairs fold by fold, refit everything that depends on the associations on each "
            "fold's training matrix, and rank the hidden pairs against the candidate (unknown) pairs: "
            "globally, within the same drug and within the same miRNA. Folds run in chunks (vmapped on "
            "accelerators, looped on CPU) sharded over devices; each finished chunk is saved, so an interrupted run resumes when "
            "rerun with the same arguments. Writes DIR/metrics.json, DIR/scores.{parquet,csv}, "
            "DIR/folds.csv, DIR/manifest.json and DIR/roc_pr.png."
        ),
    )
    add_data_options(parser)
    add_method_options(parser)
    add_precision_option(parser, default="float64")
    parser.add_argument("--protocol", default="loocv", choices=PROTOCOL_CHOICES, help="evaluation protocol (default loocv)")
    parser.add_argument("--k", type=int_at_least(2), default=None, help="folds per repeat for kfold (default 5)")
    parser.add_argument("--repeats", type=int_at_least(1), default=None, help="repeats for kfold (default 1; the paper uses 10)")
    parser.add_argument("--seed", type=int_at_least(0), default=None, help="seed of the k-fold split (default 0)")
    parser.add_argument("--fold-file", default=None, help="CSV of folds (repeat, fold, drug_id, mirna_id) for --protocol file")
    parser.add_argument("--batch-size", type=int_at_least(1), default=None,
                        help="folds per chunk (default: from device memory); a resumed run keeps its stored one")
    parser.add_argument("--threshold", type=finite_float, default=None, help="fixed score threshold (default: F1-maximising)")
    parser.add_argument(
        "--shared-start", type=int_at_least(0), default=0, metavar="N",
        help="sesl, se, bnnr: start each group of N folds (spread over the fold list) from one BNNR solve that hides all of the "
        "group's pairs (leakage-free: a subset of every member's training data), so each fold needs fewer "
        "iterations (FCD LOOCV folds 2.6x faster with N = 8); scores land elsewhere within the loose stopping rule (per-drug AUC moved by 5e-3 there, see docs/results.md). Default 0: every "
        "fold starts cold, as the public code",
    )
    parser.add_argument(
        "--sparse-learning",
        default="per-fold",
        choices=("per-fold", "transductive"),
        help="sesl: per-fold (default, leakage-free) or transductive: the paper's protocol, sparse learning (X*) "
        "fitted once on the full matrix (leaks hidden labels; for reproduction only)",
    )
    parser.add_argument(
        "--gip-kernels",
        default="per-fold",
        choices=("per-fold", "transductive"),
        help="rival methods (rpca-gamma, tspn, snmf, ekrr, dcmf): GIP kernels from each fold's training matrix "
        "(default, leakage-free) or transductive: from the full matrix, as their papers' protocols (leaks; "
        "for reproduction only)",
    )
    add_cpu_devices_option(parser)
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="one of several processes (hosts) sharing the folds: each computes its share, process 0 writes "
        "the results. Without the three options below, they come from SLURM's or Open MPI's environment",
    )
    parser.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                        help="with --distributed: process 0's address and a free port there (the same everywhere)")
    parser.add_argument("--num-processes", type=int_at_least(1), default=None,
                        help="with --distributed: number of processes")
    parser.add_argument("--process-id", type=int_at_least(0), default=None,
                        help="with --distributed: this process, 0 .. N-1")
    parser.add_argument("--out", required=True, help="output directory (rerun with the same arguments to resume)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


KFOLD_DEFAULTS = {"k": 5, "repeats": 1, "seed": 0}


def make_folds(args: argparse.Namespace, dataset):
    from sesl_jax.evaluation import kfold_folds, loocv_folds, new_drug_folds, new_mirna_folds, read_fold_file

    associations = dataset.associations
    if args.protocol == "loocv":
        return loocv_folds(associations)
    if args.protocol == "kfold":
        try:
            return kfold_folds(associations, k=args.k, repeats=args.repeats, seed=args.seed)
        except ValueError as error:  # more folds than known pairs
            raise UsageError(f"argument --k: {error}") from None
    if args.protocol == "new-drug":
        return new_drug_folds(associations)
    if args.protocol == "new-mirna":
        return new_mirna_folds(associations)
    return read_fold_file(args.fold_file, associations, dataset.drug_ids, dataset.mirna_ids)


_FITS = {"--sparse-learning": "sparse learning (X*)", "--gip-kernels": "the GIP kernels"}


def requested_transductive_option(args: argparse.Namespace) -> str | None:
    """The transductive option given (``"--sparse-learning"`` / ``"--gip-kernels"``), checked
    against the method: each names what that method's variant fits on the full matrix."""
    from sesl_jax.methods import CATALOGUE

    given = [flag for flag, value in (("--sparse-learning", args.sparse_learning), ("--gip-kernels", args.gip_kernels))
             if value == "transductive"]
    if not given:
        return None
    method = args.method or FALLBACK_METHOD  # a transductive run without --method reproduces SESL
    expected = CATALOGUE[method].transductive_option
    if len(given) > 1 or given[0] != expected:
        what = f"its transductive variant is {expected} transductive" if expected else "it has no transductive variant"
        raise UsageError(f"{' and '.join(g + ' transductive' for g in given)} does not apply to --method {method}: {what}")
    return given[0]


def check_distributed_options(args: argparse.Namespace) -> None:
    given = [flag for flag, value in (("--coordinator", args.coordinator), ("--num-processes", args.num_processes),
                                      ("--process-id", args.process_id)) if value is not None]
    if given and not args.distributed:
        raise UsageError(f"argument {given[0]}: only used with --distributed")
    if args.process_id is not None and args.num_processes is not None and args.process_id >= args.num_processes:
        raise UsageError(f"argument --process-id: must be below --num-processes {args.num_processes}, "
                         f"got {args.process_id}")
    if args.coordinator is not None:
        host, _, port = args.coordinator.strip().rpartition(":")
        if not host.strip("[]") or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise UsageError(f"argument --coordinator: expected HOST:PORT with a port from 1 to 65535, "
                             f"got {args.coordinator!r}")


def run(args: argparse.Namespace) -> int:
    check_distributed_options(args)
    configure_cpu_devices(args.cpu_devices)  # these two before anything starts JAX's backend
    if args.distributed:
        from sesl_jax.evaluation.distributed import initialize

        try:
            initialize(args.coordinator, args.num_processes, args.process_id)
        except (ValueError, RuntimeError) as error:  # e.g. no coordinator given and no cluster to ask
            raise UsageError(f"argument --distributed: cannot join the run ({one_line(error)}); give --coordinator "
                             "HOST:PORT, --num-processes and --process-id, or run under SLURM or Open MPI") from None
    configure_jax(args.dtype)
    if args.protocol != "file" and args.fold_file:
        raise UsageError("argument --fold-file: only used with --protocol file")
    if args.protocol == "file" and not args.fold_file:
        raise UsageError("argument --protocol: file needs --fold-file FILE")
    for option, default in KFOLD_DEFAULTS.items():  # a value that would change nothing is a mistake
        if getattr(args, option) is not None and args.protocol != "kfold":
            raise UsageError(f"argument --{option}: only used with --protocol kfold")
        if getattr(args, option) is None:
            setattr(args, option, default)
    transductive = requested_transductive_option(args)
    config = method_config(args, transductive=transductive is not None)  # option mistakes before any data is read
    from sesl_jax.evaluation.runner import run_evaluation
    from sesl_jax.evaluation.store import check_run_directory

    check_run_directory(args.out)

    dataset = load_dataset_for(args)
    print(data_source_message(dataset, benchmark=args.dataset is not None), file=sys.stderr)
    if transductive:
        print(
            f"WARNING: {transductive} transductive fits {_FITS[transductive]} once on the FULL association "
            "matrix, so every hidden pair shapes its own score; its metrics are inflated and reported for "
            "reproduction only.",
            file=sys.stderr,
        )
    folds = make_folds(args, dataset)
    if config.shared_start >= 2 and config.shared_start >= folds.n_folds:  # one group's start hides every fold's pairs
        raise UsageError(f"argument --shared-start: {config.shared_start} puts all {folds.n_folds} folds in one group, "
                         f"whose shared start would hide all their pairs; give N below {folds.n_folds} (or 0)")
    from sesl_jax.evaluation.distributed import DistributedRunError, process_share

    try:
        summary = run_evaluation(
            dataset,
            folds,
            out_dir=Path(args.out),
            config=config,
            batch_size=args.batch_size,
            threshold=args.threshold,
            progress=progress_output(args.quiet, stderr_log),
            seed=args.seed if args.protocol == "kfold" else None,
            log=stderr_log,
        )
    except DistributedRunError as error:
        raise CommandError(str(error)) from None
    from sesl_jax.evaluation.report import format_summary

    process_index, process_count = process_share()
    if process_index > 0:  # process 0 prints and writes the results
        print(f"process {process_index} of {process_count}: done", file=sys.stderr)
        return 0
    print(format_summary(summary))
    print(f"results: {Path(args.out)} (metrics.json, scores, folds.csv, manifest.json)")
    return 0
