"""The ``sesl-jax`` command line.

Each sub-command lives in its own module ``sesl_jax/cli/_<name>.py`` that defines
``register(subparsers)``; this file only assembles them. The command line (not the library)
is where process-wide JAX settings such as float64 are switched on.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Order here is the order in ``sesl-jax --help``.
COMMAND_MODULES = ("_data", "_fit", "_rank", "_cv", "_select", "_encoder", "_reproduce")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sesl-jax",
        description=(
            "Predict drug-miRNA associations with SESL (sequence encoding + sparse learning) "
            "and evaluate it with leakage-free, batched cross-validation. "
            "Benchmark data is read from --data-dir, else $SESL_JAX_DATA, else downloaded once "
            "into the user cache."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"sesl_jax.cli.{name}").register(subparsers)
    return parser


def _limit_blas_threads() -> None:
    """One BLAS thread per JAX CPU device unless the user chose otherwise.

    OpenBLAS threads that spin while XLA's own threads run the folds oversubscribe the cores;
    on a busy 2-core machine this made one eigh 100x slower. LAPACK is loaded on first use,
    so setting this before any computation is enough.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> int:
    _limit_blas_threads()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from sesl_jax.cli._common import run_command

    return run_command(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
