"""``sesl-jax rank``: miRNAs for a drug (or a new SMILES), drugs for a miRNA (or a new sequence)."""

from __future__ import annotations

import argparse
import sys

from sesl_jax.cli._common import CommandError, add_data_options, add_method_options, add_precision_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rank",
        help="rank miRNAs for a drug, or drugs for a miRNA",
        description="Fit on the dataset, then print a CSV ranking (rank, ID, score, known) to stdout "
        "or --output. Give exactly one of --drug, --mirna, --smiles (a molecule not in the dataset) "
        "or --sequence (a miRNA not in the dataset).",
    )
    add_data_options(parser)
    add_method_options(parser)
    add_precision_option(parser)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--drug", help="drug ID in the dataset, e.g. CID:3229")
    target.add_argument("--mirna", help="miRNA ID in the dataset, e.g. hsa-mir-21")
    target.add_argument("--smiles", help="SMILES of a new molecule")
    target.add_argument("--sequence", help="sequence of a new miRNA (A, C, G, U; T read as U)")
    parser.add_argument("--top", type=int, default=None, help="keep the N best (default: all)")
    parser.add_argument("--output", default=None, help="write the CSV here (atomically) instead of stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sesl_jax._io import atomic_write
    from sesl_jax.cli._fit import fit_model

    if args.top is not None and args.top < 1:
        raise CommandError(f"--top must be at least 1, got {args.top}")
    _, model = fit_model(args)
    if args.drug or args.smiles:
        table = model.rank_mirnas(args.drug, smiles=args.smiles, top=args.top)
    else:
        table = model.rank_drugs(args.mirna, sequence=args.sequence, top=args.top)
    if args.output:
        atomic_write(args.output, lambda tmp: table.to_csv(tmp, index=False, float_format="%.6g"))
        print(f"wrote {len(table)} rows to {args.output}", file=sys.stderr)
    else:
        table.to_csv(sys.stdout, index=False, float_format="%.6g")
    return 0
