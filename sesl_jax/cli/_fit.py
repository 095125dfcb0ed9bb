"""``sesl-jax fit``: fit a method on a benchmark; write the full score matrix and a saved model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sesl_jax.cli._common import (
    CommandError, add_data_options, add_method_options, add_precision_option, configure_jax, data_source_message,
    load_dataset_for, method_config,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit",
        help="fit on a dataset and write the scores and a loadable model",
        description="Fit a method on all known pairs and write DIR/scores.csv (drugs x miRNAs), "
        "DIR/pairs.csv (one row per pair, ranked), DIR/config.json (resolved configuration, "
        "solver status, versions and data checksums) and the saved model (DIR/model.json, "
        "DIR/arrays.npz) that 'sesl-jax rank --model DIR' answers from without refitting. "
        "The directory is written whole and renamed into place; an existing DIR is replaced only "
        "when it holds nothing but these files.",
    )
    add_data_options(parser)
    add_method_options(parser)
    add_precision_option(parser)
    parser.add_argument("--out", required=True, help="output directory (the saved model)")
    parser.set_defaults(func=run)


def fit_model(args: argparse.Namespace):
    """Shared by fit and rank: configure JAX, load data, fit the chosen method."""
    configure_jax(args.dtype)
    from sesl_jax.estimator import SESL

    config = method_config(args)  # option mistakes are reported before any data is read
    dataset = load_dataset_for(args)
    print(data_source_message(dataset, benchmark=args.dataset is not None), file=sys.stderr)
    model = SESL.from_config(config).fit(dataset)
    return dataset, model


# What ``fit --out`` writes besides the saved model's own files.
FIT_FILES = ("scores.csv", "pairs.csv", "config.json")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from sesl_jax._io import atomic_write, atomic_write_json
    from sesl_jax.provenance import command_line, data_provenance, environment
    from sesl_jax.saved_model import MODEL_FILES, atomic_directory, check_replaceable, write_model

    out = Path(args.out)
    replaceable = (*MODEL_FILES, *FIT_FILES)
    try:
        check_replaceable(out, replaceable)  # before the fit, not after it
    except FileExistsError as error:
        raise CommandError(str(error)) from None
    dataset, model = fit_model(args)
    frame = model.scores_frame()
    long = frame.stack().rename("score").reset_index().rename(columns={"level_1": "mirna_id"})
    long["known"] = np.asarray(model.associations_).ravel() != 0
    long = long.sort_values(["score"], ascending=False, kind="stable").reset_index(drop=True)
    long.insert(0, "rank", np.arange(1, len(long) + 1))
    try:
        with atomic_directory(out, replaceable=replaceable) as staging:
            write_model(model, staging)
            atomic_write(staging / "scores.csv", lambda tmp: frame.to_csv(tmp, float_format="%.8g"))
            atomic_write(staging / "pairs.csv", lambda tmp: long.to_csv(tmp, index=False, float_format="%.8g"))
            atomic_write_json(
                staging / "config.json",
                {
                    "command": command_line(),
                    "config": model.config(),
                    "solver": model.stats_,
                    "data": data_provenance(dataset),
                    "environment": environment(),
                },
            )
    except FileExistsError as error:
        raise CommandError(str(error)) from None
    novel = long[~long["known"]].head(5)
    print(f"wrote {out}/scores.csv, pairs.csv, config.json and the saved model (rank --model {out}); solver: {model.stats_}")
    if novel.empty:  # every pair of the data is known: nothing to predict
        print("no novel pairs: every drug-miRNA pair of the data is a known pair")
    else:
        print("top novel pairs (rank: among all pairs of pairs.csv, known ones included):\n" + novel.to_string(index=False))
    return 0
