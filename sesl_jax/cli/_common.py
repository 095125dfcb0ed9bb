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
        "'drug=SIDE,mirna=SIDE' where a side is one source or a weighted mean such as "
        "'0.5*biological+0.5*sequence' (drug sources: biological, sequence, chemical; miRNA sources: "
        "biological, sequence, alignment). Default: the method's own (see README)",
    )
    parser.add_argument(
        "--similarity-map",
        default=None,
        choices=("gaussian", "inverse", "linear"),
        help="distance-to-similarity map for sequence codes: gaussian (scale = median distance), inverse "
        "1/(1+d) or linear (default: the map of the default configuration, else gaussian)",
    )
    parser.add_argument(
        "--mirna-form",
        default=None,
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
    parser.add_argument(
        "--variant",
        default="default",
        choices=("default", "published-code"),
        help="rivals tspn and rpca-gamma: 'published-code' follows their authors' public code "
        "(see docs/results.md); default: this project's implementation",
    )


def method_config(args: argparse.Namespace, *, transductive: bool = False):
    """The :class:`~sesl_jax.pipeline.MethodConfig` of the method options; a bad value is a usage error."""
    from sesl_jax.pipeline import MethodConfig
    from sesl_jax.similarity import split_source

    try:
        if args.similarity is not None:
            split_source(args.similarity)  # checked here so the message names the option
        return MethodConfig(
            method=args.method, similarity=args.similarity, similarity_map=args.similarity_map,
            mirna_form=args.mirna_form, dtype=args.dtype, observed=args.observed,
            variant=getattr(args, "variant", "default"), transductive=transductive,
        )
    except ValueError as error:
        raise CommandError(f"--similarity/--method options: {error}") from None


def load_dataset_for(args: argparse.Namespace):
    from sesl_jax.data import load_dataset

    return load_dataset(args.dataset, args.data_dir)


def data_source_message(dataset) -> str:
    return f"data: {dataset.name.upper()} ({dataset.n_drugs} drugs x {dataset.n_mirnas} miRNAs, {dataset.n_known} known pairs) from {dataset.source}"
