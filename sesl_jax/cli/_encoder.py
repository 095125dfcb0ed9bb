"""``sesl-jax encoder``: train a sequence auto-encoder, or encode sequences with one.

    sesl-jax encoder train --kind smiles --corpus chembl.txt.gz --epochs 5 --out runs/smiles [--resume] [--max-minutes 25]
    sesl-jax encoder train --architecture transformer --kind rna --corpus mature.fa.gz --out runs/rna-transformer
    sesl-jax encoder encode --kind rna --input mirnas.txt --output codes.npy [--weights runs/rna/encoder.npz]
    sesl-jax encoder encode --kind rna --architecture transformer --input mirnas.txt --output codes.npy
    sesl-jax encoder evaluate --run runs/smiles --weights shipped [--greedy 2000] [--output table.json]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import platform
import shlex
import shutil
import sys
import time
from pathlib import Path

from sesl_jax._io import sha256_file, stderr_log
from sesl_jax.cli._common import (
    CommandError, UsageError, configure_jax, float_in_range, int_at_least, stdout_is_terminal,
)
from sesl_jax.encoder_files import ARCHITECTURES, BATCH_NORM_MODES, an_encoder


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("encoder", help="train sequence auto-encoders or encode sequences with them")
    actions = parser.add_subparsers(dest="encoder_command", metavar="ACTION", required=True)

    train = actions.add_parser("train", help="train a SMILES or RNA auto-encoder on corpora")
    train.add_argument("--kind", choices=("smiles", "rna"), required=True, help="what the corpus holds")
    train.add_argument("--corpus", nargs="+", required=True, metavar="PATH",
                       help="corpus files: SMILES .txt/.csv(.gz), RNA FASTA (.fa(.gz))")
    train.add_argument("--repeat", nargs="+", type=int_at_least(1), default=None, metavar="K",
                       help="per corpus, how often its sequences enter each epoch (oversampling; default 1 each)")
    train.add_argument("--limit", type=int_at_least(1), default=None,
                       help="use a random subset of this many sequences per corpus (drawn with --seed)")
    train.add_argument("--out", required=True, help="output directory (checkpoint.npz, encoder.npz, recipe.json)")
    train.add_argument("--epochs", type=int_at_least(1), default=10, help="passes over the corpus (default 10)")
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    train.add_argument("--init-weights", default=None, metavar="NPZ",
                       help="start from these weights (a run's encoder.npz or checkpoint.npz, or 'shipped') with a "
                            "fresh optimizer and schedule, e.g. to train a finished run further; the sizes must be "
                            "its sizes, and the SMILES vocabulary is taken from it")
    train.add_argument("--max-minutes", type=float_in_range(0, above_minimum=True), default=None,
                       help="stop (with a checkpoint) after this much time")
    train.add_argument("--max-steps", type=int_at_least(1), default=None,
                       help="stop after this many optimizer steps in all (replays a run that was stopped by time)")
    train.add_argument("--max-length", type=int_at_least(1), default=None,
                       help="most tokens the tokenizer accepts (default: smiles 200, rna 160)")
    train.add_argument("--train-max-length", type=int_at_least(1), default=None,
                       help="train only on sequences with at most this many tokens (default: --max-length)")
    train.add_argument("--min-count", type=int_at_least(1), default=None,
                       help="smiles: tokens seen fewer times become <unk> (default 3)")
    train.add_argument("--vocabulary", default=None, metavar="JSON",
                       help="smiles: use this vocabulary (a run's vocabulary.json) instead of building one from the "
                            "corpus (--min-count), e.g. to train several models on one token set")
    train.add_argument("--no-canonicalize", action="store_true",
                       help="smiles: tokenize SMILES as given (default: RDKit canonical)")
    train.add_argument("--hidden-size", type=int_at_least(1), default=None,
                       help="lstm: hidden units per layer (default 128)")
    train.add_argument("--num-layers", type=int_at_least(1), default=2, help="layers (default 2)")
    train.add_argument("--code-dim", type=int_at_least(1), default=64, help="size of the code (default 64)")
    train.add_argument("--batch-norm", nargs="?", choices=BATCH_NORM_MODES, const="encoder", default=None,
                       help="batch normalisation of the LSTM outputs (the paper uses it): 'encoder' (what a bare "
                            "--batch-norm means) between the encoder's layers; 'both' also in the decoder, which "
                            "leaks the targets in teacher-forced training and decodes poorly free-running; "
                            "without the option, or 'none': no batch norm")
    train.add_argument("--architecture", choices=ARCHITECTURES, default="lstm",
                       help="lstm: auto-encoder (--hidden-size, --num-layers); transformer: BERT-style masked-token "
                            "encoder (--d-model, --num-heads, --num-layers, --ff-size)")
    train.add_argument("--d-model", type=int_at_least(1), default=None,
                       help="transformer: width of token states (default 64)")
    train.add_argument("--num-heads", type=int_at_least(1), default=None,
                       help="transformer: attention heads (default 4)")
    train.add_argument("--ff-size", type=int_at_least(1), default=None,
                       help="transformer: feed-forward hidden width (default 128)")
    train.add_argument("--batch-size", type=int_at_least(1), default=128, help="sequences per step (default 128)")
    train.add_argument("--learning-rate", type=float_in_range(0, above_minimum=True), default=1e-3,
                       help="Adam step size (the schedule's peak)")
    train.add_argument("--schedule", choices=("constant", "cosine"), default="constant",
                       help="learning-rate schedule over the global step (default constant; cosine: down to "
                            "--final-learning-rate)")
    train.add_argument("--warmup-steps", type=int_at_least(0), default=0,
                       help="linear warm-up steps before the schedule")
    train.add_argument("--decay-steps", type=int_at_least(1), default=None,
                       help="cosine: its steps incl. warm-up (default: epochs x steps per epoch)")
    train.add_argument("--final-learning-rate", type=float_in_range(0), default=None,
                       help="cosine: its last value (default 0), at most --learning-rate")
    train.add_argument("--augment-smiles", action="store_true",
                       help="train on a new random SMILES of each molecule every epoch (validation stays canonical)")
    train.add_argument("--bidirectional", action="store_true",
                       help="lstm: a second encoder stack reads each sequence the other way, and the code is made "
                            "from both (one-way, the paper-size RNA model reproduces hairpins right for their first "
                            "26-38 bases only); an experiment: at 2 x 128 it learnt to use its code far more slowly "
                            "than one-way (docs/results.md)")
    train.add_argument("--freeze-batch-norm", action="store_true",
                       help="with --init-weights of a batch-norm model: train with its running averages, kept fixed, "
                            "so that what it learns is what encoding uses (batch statistics of length-bucketed "
                            "batches carry their lengths)")
    train.add_argument("--validation-fraction", type=float_in_range(0, 1), default=0.05,
                       help="share of the distinct sequences held out for validation (at least one; default 0.05)")
    train.add_argument("--length-multiple", type=int_at_least(1), default=8,
                       help="pad batches to a multiple of this many steps (fewer compiled shapes)")
    train.add_argument("--checkpoint-every", type=int_at_least(0), default=500,
                       help="steps between checkpoints (0: only at the end of each epoch)")
    train.add_argument("--seed", type=int_at_least(0), default=0,
                       help="initial weights, validation split, --limit subset and batch order (default 0)")
    train.set_defaults(func=run_train)

    encode = actions.add_parser("encode", help="write the codes of sequences (one per line) as .npy or .csv")
    encode.add_argument("--kind", choices=("smiles", "rna"), required=True, help="what --input holds")
    encode.add_argument("--input", required=True,
                        help="text file (or - for standard input), one sequence per line (its first field), no header: "
                             "code row i is line i + 1")
    encode.add_argument("--output", required=True, help=".npy (float64 array) or .csv (one row per sequence)")
    encode.add_argument("--weights", default=None, help="encoder .npz (default: the weights in use: shipped, or $SESL_JAX_ENCODERS's)")
    encode.add_argument("--architecture", choices=ARCHITECTURES, default=None,
                        help="which shipped encoder (default lstm); a --weights file names its own, which must agree")
    encode.add_argument("--batch-size", type=int_at_least(1), default=256, help="sequences per call (default 256)")
    encode.set_defaults(func=run_encode)

    evaluate = actions.add_parser(
        "evaluate", help="reconstruction accuracy (teacher-forced and free-running) of encoders on one validation set")
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", metavar="DIR",
                        help="a training output directory: its validation split (from its corpus_rows.npz when there, "
                             "else tokenized again and left there), and its latest checkpoint as the first model")
    source.add_argument("--corpus", nargs="+", metavar="PATH", help="evaluate on every sequence of these files (needs --kind)")
    evaluate.add_argument("--split", choices=("validation", "training"), default=None,
                          help="with --run: its validation split (default), or its training sequences, shuffled with "
                               "the run's seed so that --greedy N reads a random N of them (does the model fail on what "
                               "it trained on too?)")
    evaluate.add_argument("--kind", choices=("smiles", "rna"), default=None, help="with --corpus")
    evaluate.add_argument("--limit", type=int_at_least(1), default=None,
                          help="with --corpus: a random subset of this many per file")
    evaluate.add_argument("--weights", nargs="+", default=[], metavar="NPZ",
                          help="more encoders to compare: checkpoint files, or 'shipped' for the shipped weights")
    evaluate.add_argument("--greedy", type=int_at_least(0), default=2000,
                          help="free-running reconstruction of the first N sequences (0: teacher-forced only)")
    evaluate.add_argument("--batch-size", type=int_at_least(1), default=256)
    evaluate.add_argument("--seed", type=int_at_least(0), default=None, help="with --corpus --limit: the subset (default 0)")
    evaluate.add_argument("--output", default=None, help="also write the table as JSON")
    evaluate.set_defaults(func=run_evaluate)


def _read_corpora(kind: str, paths: list[str], repeats: list[int] | None, limit: int | None, seed: int):
    import numpy as np

    from sesl_jax.encoders import read_corpus

    if repeats is not None and len(repeats) != len(paths):
        raise CommandError(f"--repeat needs one count per corpus ({len(paths)}), got {len(repeats)}")
    sequences: list[str] = []
    weights: list[int] = []
    described = []
    for number, path in enumerate(paths):
        try:
            items = read_corpus(kind, path)
        except (FileNotFoundError, ValueError) as error:
            raise CommandError(str(error)) from error
        if not items:  # a mistake to say so, not a file to drop quietly
            raise CommandError(f"{path}: no sequences in the corpus")
        total = len(items)
        if limit is not None and total > limit:
            chosen = np.sort(np.random.default_rng([seed, number]).choice(total, size=limit, replace=False))
            items = [items[i] for i in chosen]
        repeat = 1 if repeats is None else repeats[number]
        sequences.extend(items)
        weights.extend([repeat] * len(items))
        described.append({"path": str(path), "name": Path(path).name, "sha256": sha256_file(path),
                          "sequences_in_file": total, "sequences_used": len(items), "repeat": repeat})
    return sequences, weights, described


def _read_vocabulary(path: Path) -> list[str]:
    """The token list of a ``vocabulary.json`` (``{"vocabulary": [...]}``), or a CommandError naming the file."""
    from sesl_jax.encoders._tokenizers import SPECIAL_TOKENS

    try:
        vocabulary = json.loads(path.read_text())["vocabulary"]
    except FileNotFoundError:
        raise CommandError(f"--vocabulary {path}: no such file") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CommandError(f"--vocabulary {path}: not a vocabulary.json ({{\"vocabulary\": [tokens]}}): {error}") from None
    if not isinstance(vocabulary, list) or not all(isinstance(token, str) and token for token in vocabulary):
        raise CommandError(f"--vocabulary {path}: \"vocabulary\" must be a list of non-empty strings")
    if tuple(vocabulary[: len(SPECIAL_TOKENS)]) != tuple(SPECIAL_TOKENS) or len(set(vocabulary)) != len(vocabulary):
        raise CommandError(f"--vocabulary {path}: must start with the special tokens {list(SPECIAL_TOKENS)} and "
                           "hold each token once")
    return vocabulary


# Size options of each architecture, and their defaults: the other architecture's are refused, not ignored.
_ARCHITECTURE_OPTIONS = {"lstm": ("hidden_size", "batch_norm", "bidirectional"), "transformer": ("d_model", "num_heads", "ff_size")}
_SIZE_DEFAULTS = {"hidden_size": 128, "d_model": 64, "num_heads": 4, "ff_size": 128}


def _architecture_sizes(args: argparse.Namespace) -> None:
    for architecture, names in _ARCHITECTURE_OPTIONS.items():
        given = [name for name in names if getattr(args, name) not in (None, False)]
        if architecture != args.architecture and given:
            raise UsageError(f"argument --{given[0].replace('_', '-')}: applies to --architecture {architecture}, "
                             f"not {args.architecture}")
    for name, default in _SIZE_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, default)


def _previous_recipe(recipe: Path) -> tuple[list, dict | None]:
    """The commands a resumed run's ``recipe.json`` records, and the initial weights it started from
    (its run's own file, but a user may have edited it)."""
    try:
        previous = json.loads(recipe.read_text(encoding="utf-8"))
        commands, init_weights = previous.get("commands", []), previous.get("init_weights")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as error:
        raise CommandError(f"{recipe}: not a readable recipe of 'sesl-jax encoder train' ({error}); restore it or "
                           "remove it (the checkpoint alone resumes)") from None
    if not isinstance(commands, list):
        raise CommandError(f"{recipe}: 'commands' must be a list (of the runs before this one)")
    return commands, init_weights


@contextlib.contextmanager
def _removed_on_failure(out: Path):
    """Remove the directory ``out`` (and the parents made for it) if this run created it and fails
    before its first checkpoint: a half-written run holds nothing to resume."""
    created, existing = None, out
    while not existing.exists():
        created, existing = existing, existing.parent
    try:
        yield
    except BaseException:
        from sesl_jax.encoders._training import CHECKPOINT_NAME

        if created is not None and not (out / CHECKPOINT_NAME).exists():
            shutil.rmtree(created, ignore_errors=True)
        raise


def run_train(args: argparse.Namespace) -> int:
    # The options are checked before a corpus is read or a file written.
    _architecture_sizes(args)
    if args.architecture == "transformer" and args.d_model % args.num_heads:
        raise UsageError(f"argument --d-model: must be a multiple of --num-heads ({args.num_heads}), got {args.d_model}")
    if args.vocabulary is not None and args.kind != "smiles":
        raise UsageError("argument --vocabulary: applies to --kind smiles (the RNA alphabet is fixed)")
    for option, given in (("--augment-smiles", args.augment_smiles), ("--min-count", args.min_count is not None),
                          ("--no-canonicalize", args.no_canonicalize)):
        if given and args.kind != "smiles":
            raise UsageError(f"argument {option}: applies to --kind smiles")
    for option, given in (("--decay-steps", args.decay_steps is not None),
                          ("--final-learning-rate", args.final_learning_rate is not None)):
        if given and args.schedule != "cosine":
            raise UsageError(f"argument {option}: applies to --schedule cosine (the rate is {args.schedule})")
    if args.freeze_batch_norm and args.batch_norm in (None, "none"):
        raise UsageError("argument --freeze-batch-norm: needs a model with --batch-norm")
    if args.freeze_batch_norm and args.init_weights is None and not args.resume:
        raise UsageError("argument --freeze-batch-norm: keeps the running averages of trained weights; give --init-weights")
    args.min_count = 3 if args.min_count is None else args.min_count
    args.final_learning_rate = 0.0 if args.final_learning_rate is None else args.final_learning_rate
    args.max_length = args.max_length or (200 if args.kind == "smiles" else 160)
    args.train_max_length = args.train_max_length or args.max_length
    if args.train_max_length > args.max_length:
        raise UsageError(f"argument --train-max-length: cannot exceed --max-length ({args.max_length}), "
                         f"got {args.train_max_length}")
    _check_run_directory(args)
    with _removed_on_failure(Path(args.out)):
        return _train(args)


def _check_run_directory(args: argparse.Namespace) -> None:
    """A finished or checkpointed run is continued only on request (never overwritten unasked), and a
    resumed one continues from its checkpoint: an --init-weights it did not start from is refused."""
    from sesl_jax.encoders._checkpoint import CheckpointError, read_header
    from sesl_jax.encoders._training import CHECKPOINT_NAME, WEIGHTS_NAME

    out = Path(args.out)
    held = [name for name in (CHECKPOINT_NAME, WEIGHTS_NAME) if (out / name).is_file()]
    if held and not args.resume:
        raise UsageError(f"argument --out: {out} holds a training run ({', '.join(held)}); give --resume to continue "
                         "it, or another directory")
    if args.resume and args.init_weights is not None and (out / CHECKPOINT_NAME).is_file():
        path, _ = _initial_weights(args)
        try:
            recorded = read_header(out / CHECKPOINT_NAME).get("metadata", {}).get("recipe", {}).get("init_weights")
        except CheckpointError as error:
            raise CommandError(str(error)) from None
        if not isinstance(recorded, dict) or recorded.get("sha256") != sha256_file(path):
            started = f"from {recorded.get('file')}" if isinstance(recorded, dict) else "without --init-weights"
            raise UsageError(f"argument --init-weights: {out} started {started}, and a resumed run continues from its "
                             f"checkpoint; drop --init-weights {args.init_weights}")


def _train(args: argparse.Namespace) -> int:
    configure_jax()
    import jax

    from sesl_jax._io import atomic_write_json
    from sesl_jax.encoders import EncoderConfig, RnaTokenizer, SmilesTokenizer, TrainConfig, TransformerConfig, train_encoder
    from sesl_jax.encoders._checkpoint import CheckpointError
    from sesl_jax.encoders._training import CorpusError

    try:
        schedule = dict(schedule=args.schedule, warmup_steps=args.warmup_steps, decay_steps=args.decay_steps,
                        final_learning_rate=args.final_learning_rate, augment_smiles=args.augment_smiles,
                        freeze_batch_norm=args.freeze_batch_norm)
        train_config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                                   validation_fraction=args.validation_fraction, seed=args.seed,
                                   checkpoint_every=args.checkpoint_every, max_minutes=args.max_minutes,
                                   max_steps=args.max_steps, length_multiple=args.length_multiple, **schedule)
    except ValueError as error:  # what argparse cannot see alone: the schedule's options together
        field = str(error).split()[0]  # TrainConfig's messages start with the field they refuse
        option = field if field in {f.name for f in dataclasses.fields(TrainConfig)} else "decay_steps"
        raise UsageError(f"argument --{option.replace('_', '-')}: {error}") from None
    command = "sesl-jax " + " ".join(shlex.quote(part) for part in sys.argv[1:]) if sys.argv[1:2] == ["encoder"] else None
    max_length, train_max_length = args.max_length, args.train_max_length
    sequences, weights, corpora = _read_corpora(args.kind, args.corpus, args.repeat, args.limit, args.seed)
    out = Path(args.out)
    log = stderr_log
    init_weights, init_header = _initial_weights(args)

    started = time.time()
    if args.kind == "smiles":
        # The vocabulary is fixed by the first run; a resumed run must see the same one.
        vocabulary_file = out / "vocabulary.json"
        if args.vocabulary is not None:
            vocabulary = _read_vocabulary(Path(args.vocabulary))
            if args.resume and vocabulary_file.is_file() and _read_vocabulary(vocabulary_file) != vocabulary:
                raise CommandError(f"--vocabulary {args.vocabulary}: differs from the run's {vocabulary_file}")
            atomic_write_json(vocabulary_file, {"vocabulary": list(vocabulary)})
        elif args.resume and vocabulary_file.is_file():
            vocabulary = _read_vocabulary(vocabulary_file)
        elif init_header is not None:
            vocabulary = init_header["tokenizer"]["vocabulary"]
            log(f"vocabulary: the {len(vocabulary)} tokens of {args.init_weights} (not built from the corpus; --min-count unused)")
            atomic_write_json(vocabulary_file, {"vocabulary": list(vocabulary)})
        else:
            log(f"building the SMILES vocabulary from {len(sequences)} sequences")
            vocabulary = SmilesTokenizer.fit(sequences, min_count=args.min_count, canonicalize=not args.no_canonicalize,
                                             skip_invalid=True).vocabulary
            atomic_write_json(vocabulary_file, {"vocabulary": list(vocabulary)})
        tokenizer = SmilesTokenizer(vocabulary, max_length=train_max_length, canonicalize=not args.no_canonicalize)
    else:
        tokenizer = RnaTokenizer(max_length=train_max_length)

    if args.architecture == "transformer":
        # the position table covers the widest batch the shipped tokenizer (--max-length) can produce
        positions = -(-(max_length + 2) // 16) * 16
        try:
            config = TransformerConfig(vocab_size=tokenizer.vocab_size, d_model=args.d_model, num_heads=args.num_heads,
                                       num_layers=args.num_layers, ff_size=args.ff_size, max_length=positions,
                                       code_dim=args.code_dim)
        except ValueError as error:
            raise CommandError(str(error)) from error
    else:
        config = EncoderConfig(vocab_size=tokenizer.vocab_size, hidden_size=args.hidden_size, num_layers=args.num_layers,
                               code_dim=args.code_dim, batch_norm=args.batch_norm or "none",
                               bidirectional=args.bidirectional)
    # A resumed run keeps the commands of the runs before it.
    previous = out / "recipe.json"
    commands, started_from = _previous_recipe(previous) if args.resume and previous.is_file() else ([], None)
    recipe = {"kind": args.kind, "commands": commands + [command], "corpora": corpora, "limit": args.limit,
              "max_length": max_length, "train_max_length": train_max_length, "architecture": args.architecture,
              "model_config": config.to_dict(),
              "train_config": train_config.to_dict(), "seed": args.seed}
    if init_weights is not None:
        started_from = {"file": args.init_weights if args.init_weights == "shipped" else str(init_weights.resolve()),
                        "sha256": sha256_file(init_weights)}
    if started_from is not None:  # a resume need not name the file again: the checkpoint holds the start
        recipe["init_weights"] = started_from
    try:
        result = train_encoder(tokenizer, sequences, config, train_config, repeats=weights, out_dir=out,
                               resume=args.resume, init_weights=init_weights, progress=stdout_is_terminal(), log=log,
                               metadata={"recipe": recipe})
    except CheckpointError as error:
        raise CommandError(str(error)) from error
    except CorpusError as error:
        raise CommandError(f"--corpus {' '.join(args.corpus)}: {error}") from error

    # The shipped tokenizer accepts sequences up to --max-length, longer than the training filter.
    from sesl_jax.encoders import load_checkpoint, save_checkpoint
    from sesl_jax.encoders._tokenizers import tokenizer_from_config

    final = load_checkpoint(out / "encoder.npz")
    wide = tokenizer_from_config({**final.tokenizer.config(), "max_length": max_length})
    save_checkpoint(out / "encoder.npz", final.model, wide, metadata=final.metadata)

    seconds = time.time() - started
    recipe.update(
        counts=result.counts, completed=result.completed, epochs_run=len([e for e in result.history if not e.get("partial")]),
        history=result.history, validation=result.validation, wall_seconds=seconds,
        device=str(jax.devices()[0]), platform=platform.platform(), jax_version=jax.__version__,
        vocab_size=tokenizer.vocab_size, steps=result.steps,
        replay_note=("stopped by --max-minutes; rerun the first command with --max-steps "
                     f"{result.steps} (and --epochs {args.epochs}) to reproduce these weights exactly")
        if not result.completed and args.max_steps is None else None,
    )
    atomic_write_json(out / "recipe.json", recipe)
    log(f"validation: {json.dumps(result.validation)}")
    log(f"wrote {out / 'encoder.npz'} and {out / 'recipe.json'}")
    return 0


def _initial_weights(args: argparse.Namespace) -> tuple[Path | None, dict | None]:
    """The file ``--init-weights`` names ('shipped': the shipped encoder of this kind and architecture)
    and its header, or a CommandError naming the file."""
    if args.init_weights is None:
        return None, None
    from sesl_jax.encoders._checkpoint import CheckpointError, read_header
    from sesl_jax.encoders._pretrained import shipped_path

    path = shipped_path(args.kind, args.architecture) if args.init_weights == "shipped" else Path(args.init_weights)
    if not path.is_file():
        raise CommandError(f"--init-weights {args.init_weights}: no such file")
    try:
        header = read_header(path)
        kind = header["tokenizer"]["kind"]
        if kind == "smiles" and not isinstance(header["tokenizer"]["vocabulary"], list):
            raise TypeError("its vocabulary is not a list")
    except (CheckpointError, KeyError, TypeError) as error:
        raise CommandError(f"--init-weights {args.init_weights}: not an encoder checkpoint ({error})") from None
    if kind != args.kind:
        raise CommandError(f"--init-weights {args.init_weights}: {an_encoder(kind)}, this run trains --kind {args.kind}")
    return path, header


def _read_input(name: str) -> tuple[str, list[str]]:
    """How to name ``--input`` in messages, and the first field of each of its lines. Code row i is line
    i + 1, so a blank line (but at the end) is an error, not skipped, and so is an input without sequences.
    ``-`` is standard input; a pipe (``/dev/stdin``, ``<(...)``) is read like a file."""
    from sesl_jax.encoders._corpora import STDIN, read_lines

    if name == STDIN:
        path = "standard input"
    else:
        path = Path(name)
        if path.is_dir():
            raise CommandError(f"--input {path}: a directory; give a text file, one sequence per line")
        if not path.exists():
            raise CommandError(f"no input file {path}")
    try:
        lines = read_lines(name)
    except ValueError as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(f"--input {path}: cannot be read ({error.strerror or error})") from None
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise CommandError(f"{path}: no sequences; give one per line")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise CommandError(f"{path} line {number}: blank; give one sequence per line (code row i is line i + 1)")
    return str(path), [line.split()[0] for line in lines]


def run_encode(args: argparse.Namespace) -> int:
    output = Path(args.output)
    if output.suffix.lower() not in (".npy", ".csv"):
        raise UsageError(f"argument --output: {str(output)!r} must end in .npy or .csv")
    configure_jax()
    import numpy as np

    from sesl_jax.encoders import CheckpointError, Encoder, SequenceError, encode, load_pretrained

    path, sequences = _read_input(args.input)
    try:
        encoder = (Encoder.from_checkpoint(args.weights, args.kind) if args.weights
                   else load_pretrained(args.kind, args.architecture or ARCHITECTURES[0]))
    except CheckpointError as error:
        raise CommandError(str(error)) from error
    if args.architecture is not None and encoder.architecture != args.architecture:
        raise UsageError(f"argument --architecture: {args.weights} holds "
                         f"{an_encoder(args.kind, encoder.architecture)}, not {args.architecture}")
    try:
        codes = encode(encoder, sequences, batch_size=args.batch_size)
    except SequenceError as error:
        line = sequences.index(error.sequence) + 1  # encode() checks in order: the first line holding it
        hint = "; if it is a header, remove it: one sequence per line, no header" if line == 1 else ""
        raise CommandError(f"{path} line {line}: {error}{hint}") from error
    from sesl_jax._io import atomic_write, atomic_write_text

    if output.suffix.lower() == ".npy":
        atomic_write(output, lambda tmp: np.save(open(tmp, "wb"), codes))
    else:
        lines = ["sequence," + ",".join(f"code_{i}" for i in range(codes.shape[1]))]
        lines += [sequence + "," + ",".join(repr(float(v)) for v in row) for sequence, row in zip(sequences, codes)]
        atomic_write_text(output, "\n".join(lines) + "\n")
    print(f"wrote {codes.shape[0]} codes of dimension {codes.shape[1]} to {output}", file=sys.stderr)
    return 0


def _run_split(run: Path, part: str = "validation") -> tuple[str, list[str], dict]:
    """(kind, sequences, description) of a training run's ``part``, as ``train_encoder`` split it:
    its validation sequences, or its distinct training sequences (``"training"``) in an order
    shuffled with the run's seed, so that the first N are a random sample of them."""
    import os

    import numpy as np

    from sesl_jax.encoders import load_checkpoint
    from sesl_jax.encoders._tokenizers import tokenizer_from_config
    from sesl_jax.encoders._training import CHECKPOINT_NAME, TOKENS_NAME, WEIGHTS_NAME, split_validation, tokenize_corpus_cached

    path = run / CHECKPOINT_NAME if (run / CHECKPOINT_NAME).is_file() else run / WEIGHTS_NAME
    checkpoint = load_checkpoint(path)
    recipe = checkpoint.metadata.get("recipe")
    if not recipe:
        raise CommandError(f"{path} has no training recipe; evaluate it with --corpus instead")
    corpora = recipe["corpora"]
    sequences, _, _ = _read_corpora(recipe["kind"], [os.path.expandvars(c["path"]) for c in corpora],
                                    [c["repeat"] for c in corpora], recipe["limit"], recipe["seed"])
    # The split is drawn over the distinct rows of the training tokenizer (the training length limit).
    tokenizer = tokenizer_from_config({**checkpoint.tokenizer.config(), "max_length": recipe["train_max_length"]})
    rows, sources, _ = tokenize_corpus_cached(tokenizer, sequences, run / TOKENS_NAME)
    train_config = recipe["train_config"]
    train_index, validation_index = split_validation(len(rows), train_config["validation_fraction"], train_config["seed"])
    chosen = validation_index if part == "validation" else np.random.default_rng(train_config["seed"]).permutation(train_index)
    described = {"run": str(run), "checkpoint": str(path), "step": checkpoint.progress.get("step"), "split": part,
                 "corpora": corpora, "validation_fraction": train_config["validation_fraction"], "seed": train_config["seed"]}
    return recipe["kind"], [sequences[sources[i]] for i in chosen], described


def _parameter_count(model) -> int:
    import jax
    from flax import nnx

    return int(sum(leaf.size for leaf in jax.tree_util.tree_leaves(nnx.state(model, nnx.Param))))


def run_evaluate(args: argparse.Namespace) -> int:
    configure_jax()
    from sesl_jax._io import atomic_write_json
    from sesl_jax.encoders import CheckpointError, Encoder, SequenceError, evaluate, shipped_path

    if args.run:
        for option, given in (("--kind", args.kind), ("--limit", args.limit), ("--seed", args.seed)):
            if given is not None:  # the run's recipe says what they were
                raise UsageError(f"argument {option}: only used with --corpus (a run brings its own)")
        args.split = args.split or "validation"
    elif args.split is not None:
        raise UsageError("argument --split: only used with --run (a run's validation or training sequences)")
    try:
        if args.run:
            kind, sequences, split = _run_split(Path(args.run), args.split)
            models = [split["checkpoint"]] + args.weights
        else:
            if args.kind is None:
                raise CommandError("--corpus needs --kind")
            kind = args.kind
            seed = 0 if args.seed is None else args.seed
            sequences, _, corpora = _read_corpora(kind, args.corpus, None, args.limit, seed)
            split = {"corpora": corpora, "limit": args.limit, "seed": seed}
            models = args.weights
        if not models:
            raise CommandError("nothing to evaluate: give --weights")
        table = []
        encoders = []
        for name in models:  # every file checked before the first is evaluated
            path = shipped_path(kind) if name == "shipped" else Path(name)
            encoder = Encoder.from_checkpoint(path, kind)
            encoders.append((name, path, encoder))
            if encoder.architecture != "lstm":
                raise CommandError(f"{path}: {an_encoder(kind, encoder.architecture)}; 'encoder evaluate' "
                                   "measures an LSTM auto-encoder's reconstruction (a transformer's masked-token "
                                   "accuracy is in its recipe)")
        for name, path, encoder in encoders:
            rows, skipped, first_problem = [], 0, None
            for sequence in sequences:
                try:
                    rows.append(encoder.tokenizer.encode(sequence))
                except SequenceError as error:
                    skipped += 1
                    first_problem = first_problem or str(error)
            if not rows:  # e.g. a SMILES file read as --kind rna: no table of NaN
                raise CommandError(f"{name}: none of the {len(sequences)} {kind} sequences can be encoded "
                                   f"(the first: {first_problem})")
            if skipped:  # skipped, not dropped unseen: each model's table row counts them too
                print(f"{name}: {skipped} of {len(sequences)} sequences skipped, which its tokenizer cannot "
                      f"read (the first: {first_problem})", file=sys.stderr)
            metrics = evaluate(encoder.model, rows, batch_size=args.batch_size, greedy=args.greedy)
            config = encoder.model.config
            table.append({"model": name, "path": str(path), "hidden_size": config.hidden_size, "num_layers": config.num_layers,
                          "batch_norm": config.batch_norm, "bidirectional": config.bidirectional,
                          "parameters": _parameter_count(encoder.model),
                          "sequences": len(rows), "skipped": skipped, **metrics})
    except (CheckpointError, FileNotFoundError) as error:
        raise CommandError(str(error)) from error

    part = "training" if args.split == "training" else "validation"
    print(f"{kind}: {len(sequences)} {part} sequences; free-running on the first {args.greedy}")
    if any(entry["batch_norm"] != "none" or entry["bidirectional"] for entry in table):
        print("size: +bn batch norm in the encoder, +bn2 in the decoder too, +bi a bidirectional encoder")
    print(f"{'model':<44}{'size':>14}{'params':>10}{'loss':>8}{'tf tok':>8}{'tf seq':>8}{'fr tok':>8}{'fr seq':>8}{'skipped':>8}")
    for entry in table:
        size = (f"{entry['num_layers']}x{entry['hidden_size']}" + {"none": "", "encoder": "+bn", "both": "+bn2"}[entry["batch_norm"]]
                + ("+bi" if entry["bidirectional"] else ""))
        shown = entry["model"] if len(entry["model"]) <= 43 else "..." + entry["model"][-40:]
        cells = [entry.get(key, float("nan")) for key in
                 ("loss", "token_accuracy", "sequence_accuracy", "greedy_token_accuracy", "greedy_sequence_accuracy")]
        print(f"{shown:<44}{size:>14}{entry['parameters']:>10}" + "".join(f"{value:>8.4f}" for value in cells)
              + f"{entry['skipped']:>8}")
    if any(entry.get("greedy_by_length") for entry in table):
        print("free-running by sequence length (tokens):")
        for entry in table:
            shown = entry["model"] if len(entry["model"]) <= 43 else "..." + entry["model"][-40:]
            cells = [f"{band['min_length']}-{band['max_length'] or ''}: {band['sequences']} sequences, "
                     f"token {band['token_accuracy']:.4f}, sequence {band['sequence_accuracy']:.4f}"
                     + (f", right for the first {band['mean_correct_prefix']:.1f} tokens on average"
                        if "mean_correct_prefix" in band else "")
                     for band in entry.get("greedy_by_length", [])]
            print(f"  {shown}\n    " + "\n    ".join(cells))
    if args.output:
        atomic_write_json(args.output, {"kind": kind, "split": split, "sequences": len(sequences),
                                        "greedy": args.greedy, "models": table})
    return 0
