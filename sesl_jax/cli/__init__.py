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


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors are one line, ``PROG: error: MESSAGE (see 'PROG --help')``, exit code 2
    (sub-command parsers inherit the class)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def package_version() -> str:
    """The installed distribution's version, else the source tree's ``__version__``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sesl_jax")
    except PackageNotFoundError:
        from sesl_jax import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="sesl-jax",
        description=(
            "Predict drug-miRNA associations with SESL (sequence encoding + sparse learning) "
            "and evaluate it with leakage-free, batched cross-validation. "
            "Benchmark data is read from --data-dir, else $SESL_JAX_DATA, else downloaded once "
            "into the user cache."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"sesl_jax.cli.{name}").register(subparsers)
    parser.command_parsers = subparsers.choices  # sub-command name -> its parser, for main's errors
    return parser


def _command_parser(parser: ArgumentParser, args) -> ArgumentParser:
    """The parser of ``args``' command, or of its action (``data check``, ``encoder train``)."""
    command = parser.command_parsers.get(args.command, parser)
    action = getattr(args, f"{args.command}_command", None)
    nested = next((a.choices for a in command._actions if isinstance(a, argparse._SubParsersAction)), {}) if action else {}
    return nested.get(action, command)


def _limit_blas_threads() -> None:
    """One BLAS thread per JAX CPU device unless the user chose otherwise.

    OpenBLAS threads that spin while XLA's own threads run the folds oversubscribe the cores;
    on a busy 2-core machine this made one eigh 100x slower. LAPACK is loaded on first use,
    so setting this before any computation is enough.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> int:
    """Run ``sesl-jax`` and return its exit code (0 done, 1 data error, 2 usage error, 130 interrupted)."""
    _limit_blas_threads()
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # reported by the (innermost) sub-command's parser, whose usage it is
            _command_parser(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as stop:  # --help, --version, or a usage error argparse has printed
        return stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from sesl_jax.cli._common import run_command

    return run_command(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
