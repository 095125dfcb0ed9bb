"""``sesl-jax data check|fetch``: validate a benchmark or your own pairs, or pre-download the benchmarks."""

from __future__ import annotations

import argparse

from sesl_jax.cli._common import add_data_options, load_dataset_for


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="check or download the benchmark data")
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    check = actions.add_parser("check", help="validate a benchmark dataset (or your --pairs / --sm2mir file) and print a summary")
    add_data_options(check)
    check.set_defaults(func=run_check)

    fetch = actions.add_parser("fetch", help="download and verify the benchmark files")
    fetch.add_argument("--cache-dir", default=None, help="where to store them (default: the user cache)")
    fetch.add_argument(
        "--base-url",
        default=None,
        help="download from this URL instead of the pinned one (default: $SESL_JAX_DATA_URL, else the manifest)",
    )
    fetch.set_defaults(func=run_fetch)


def run_check(args: argparse.Namespace) -> int:
    dataset = load_dataset_for(args)
    print(format_summary(dataset.summary()))
    print(f"{len(dataset.checksums)} files read and valid")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from sesl_jax.data import fetch_benchmarks

    directory = fetch_benchmarks(args.cache_dir, base_url=args.base_url)
    print(f"benchmark files downloaded and verified in {directory}")
    return 0


def format_summary(summary: dict) -> str:
    """Readable lines for :meth:`Dataset.summary`."""
    drugs, mirnas = summary["drugs"], summary["mirnas"]
    present = [kind for kind in ("drug", "mirna") if summary[f"{kind}_similarity"]]
    lines = [
        f"dataset:            {summary['name']} ({summary['source']})",
        f"drugs x miRNAs:     {drugs} x {mirnas}",
        f"known pairs:        {summary['known_pairs']} (density {summary['density']:.4%})",
        f"drugs with a pair:  {summary['drugs_with_pairs']} / {drugs}",
        f"miRNAs with a pair: {summary['mirnas_with_pairs']} / {mirnas}",
        f"SMILES:             {summary['drugs_with_smiles']} / {drugs}",
        f"hairpin sequences:  {summary['mirnas_with_hairpin']} / {mirnas}",
        f"mature sequences:   {summary['mirnas_with_mature']} / {mirnas}",
        f"similarities:       {', '.join(present).replace('mirna', 'miRNA') or 'none'}",
    ]
    return "\n".join(lines)
