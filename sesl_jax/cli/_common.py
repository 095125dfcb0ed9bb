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

    try:
        result = args.func(args)
    except (CommandError, DataError) as error:
        print(f"sesl-jax {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"sesl-jax {args.command}: interrupted; finished results are kept", file=sys.stderr)
        return 130
    return int(result or 0)


def stdout_is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
