"""Options and error handling shared by every sub-command."""

from __future__ import annotations

import argparse
import os
import sys


class CommandError(Exception):
    """An error the user can fix; printed without a traceback, exit code 1."""


def add_data_options(parser: argparse.ArgumentParser, *, dataset_required: bool = True) -> None:
    parser.add_argument(
        "--dataset",
        choices=("fcd", "pcd"),
        required=dataset_required,
        help="benchmark dataset: fcd (39 drugs x 286 miRNAs) or pcd (831 x 541)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="directory holding the benchmark files (default: $SESL_JAX_DATA, else the user cache, "
        "downloading on first use)",
    )


def add_precision_option(parser: argparse.ArgumentParser, default: str = "float64") -> None:
    parser.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default=default,
        help=f"floating-point precision of the solvers (default {default})",
    )


def configure_jax(dtype: str) -> None:
    """Process-wide JAX switches; only the command line and tests call this."""
    import jax

    jax.config.update("jax_enable_x64", dtype == "float64")


def run_command(args: argparse.Namespace) -> int:
    from sesl_jax.data import DataError
    from sesl_jax.evaluation.store import ResumeMismatchError

    user_errors: tuple[type[Exception], ...] = (CommandError, DataError, ResumeMismatchError)
    try:
        from sesl_jax.encoders import CheckpointError, SequenceError

        user_errors += (CheckpointError, SequenceError)
    except ImportError:  # pragma: no cover - encoders are part of the package
        pass
    try:
        result = args.func(args)
    except user_errors as error:
        print(f"sesl-jax {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"sesl-jax {args.command}: interrupted; finished results are kept", file=sys.stderr)
        return 130
    return int(result or 0)


def stdout_is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def add_method_options(parser: argparse.ArgumentParser, *, default_method: str = "sesl") -> None:
    from sesl_jax.methods import METHODS

    descriptions = "; ".join(f"{name}: {spec.description}" for name, spec in METHODS.items())
    parser.add_argument("--method", default=default_method, choices=sorted(METHODS), help=descriptions)
    parser.add_argument(
        "--similarity",
        default=None,
        help="similarity source: biological, sequence, chemical (drugs; miRNAs by sequence) or "
        "'drug=SOURCE,mirna=SOURCE' (default: the method's own; sesl/se use sequence, others biological)",
    )
    parser.add_argument(
        "--similarity-map",
        default="gaussian",
        choices=("gaussian", "inverse", "linear"),
        help="distance-to-similarity map for sequence codes (default gaussian, scale = median distance)",
    )
    parser.add_argument(
        "--mirna-form",
        default="mature",
        choices=("mature", "hairpin"),
        help="which miRNA sequence the RNA encoder reads (default mature)",
    )
    parser.add_argument(
        "--observed",
        default="nonzero",
        choices=("nonzero", "known"),
        help="BNNR's observed set: every nonzero entry of T (default, public BNNR code) or the "
        "similarities plus known pairs only (the paper's wording)",
    )


def method_builder_options(args: argparse.Namespace) -> dict:
    """Builder keyword arguments that the chosen method understands."""
    if args.method in ("sesl", "se", "bnnr"):
        from sesl_jax.model import SESLOptions

        return {"options": SESLOptions(sparse_learning=args.method == "sesl", observed=args.observed)}
    return {}


def load_dataset_for(args: argparse.Namespace):
    from sesl_jax.data import load_dataset

    return load_dataset(args.dataset, args.data_dir)


def data_source_message(dataset) -> str:
    return f"data: {dataset.name.upper()} ({dataset.n_drugs} drugs x {dataset.n_mirnas} miRNAs, {dataset.n_known} known pairs) from {dataset.source}"
