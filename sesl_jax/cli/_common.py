"""Options, option checks and error handling shared by every sub-command.

Exit codes: 0 done; 1 a data problem (a file, an ID, an output directory holding another run);
2 a usage mistake (a bad option value or combination); 130 interrupted. An error is one line on
stderr, ``sesl-jax COMMAND: error: MESSAGE``, naming the option, file or ID, and a warning is one
line too; a traceback means a bug. Options are checked before any data is read, and IDs before
any fit, so a mistake never leaves files behind.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from pathlib import Path
from typing import Callable


class CommandError(Exception):
    """An error the user can fix; printed without a traceback, exit code 1."""


class UsageError(Exception):
    """A bad option value or combination; printed without a traceback, exit code 2."""


# ---------------------------------------------------------------- option value types (argparse)


def int_at_least(minimum: int):
    """An argparse ``type``: an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {value}")
        return value

    return parse


def finite_float(text: str) -> float:
    """An argparse ``type``: a finite number (``nan`` and ``inf`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def float_in_range(minimum: float, below: float | None = None, *, above_minimum: bool = False):
    """An argparse ``type``: a finite number >= ``minimum`` (> with ``above_minimum``), < ``below`` when given."""
    wanted = f"{'>' if above_minimum else '>='} {minimum:g}" + ("" if below is None else f" and < {below:g}")

    def parse(text: str) -> float:
        value = finite_float(text)
        if value < minimum or (above_minimum and value == minimum) or (below is not None and value >= below):
            raise argparse.ArgumentTypeError(f"must be a number {wanted}, got {text}")
        return value

    return parse


# ---------------------------------------------------------------- shared options


def add_data_options(parser: argparse.ArgumentParser, *, dataset_required: bool = True) -> None:
    """Where the associations come from: a benchmark (``--dataset``) or the user's own pairs."""
    source = parser.add_mutually_exclusive_group(required=dataset_required)
    source.add_argument(
        "--dataset",
        choices=("fcd", "pcd"),
        help="benchmark dataset: fcd (39 drugs x 286 miRNAs) or pcd (831 x 541)",
    )
    source.add_argument(
        "--pairs",
        metavar="FILE",
        help="your own known pairs instead of a benchmark: a CSV/TSV with a header and columns drug_id, "
        "mirna_id and optionally smiles (the drug's) and sequence (the miRNA's: mature, or hairpin with "
        "--mirna-form hairpin where a command has it)",
    )
    source.add_argument(
        "--sm2mir",
        metavar="FILE",
        help="known pairs of one --species from an SM2miR download (e.g. SM2miR3_2015.txt); the file holds "
        "no SMILES or sequences: give them with --smiles-table and --sequence-table",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="with --dataset: directory holding the benchmark files (default: $SESL_JAX_DATA, else the user "
        "cache, downloading on first use)",
    )
    parser.add_argument(
        "--species",
        default=None,
        help="with --sm2mir: keep the records of this species (default 'Homo sapiens'; 'all' keeps every species)",
    )
    parser.add_argument(
        "--smiles-table",
        metavar="FILE",
        default=None,
        help="with --pairs or --sm2mir: a CSV/TSV with columns drug_id, smiles giving the drugs' SMILES",
    )
    parser.add_argument(
        "--sequence-table",
        metavar="FILE",
        default=None,
        help="with --pairs or --sm2mir: a CSV/TSV with columns mirna_id, sequence giving the miRNAs' sequences "
        "(mature, or hairpin with --mirna-form hairpin where a command has it)",
    )


def add_precision_option(parser: argparse.ArgumentParser, default: str = "float64") -> None:
    parser.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default=default,
        help=f"floating-point precision of the solvers (default {default})",
    )


def add_cpu_devices_option(parser: argparse.ArgumentParser, work: str = "folds") -> None:
    parser.add_argument(
        "--cpu-devices",
        type=cpu_devices,
        default="auto",
        help=f"on CPU, split the host into N JAX devices that share the {work}, one at a time on each (default "
        "auto: one per core this process may use)",
    )


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. a SLURM allocation), else all cores."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # no affinity on this platform
        return os.cpu_count() or 1


def cpu_devices(text: str) -> int:
    """The argparse ``type`` of ``--cpu-devices``: ``auto`` (``available_cores()``) or an integer >= 1."""
    if text.strip() == "auto":
        return available_cores()
    return int_at_least(1)(text)


def warn_if_oversubscribed(count: int) -> None:
    """More devices than cores is correct but no faster, and easy to do by mistake in a job script."""
    cores = available_cores()
    if count > cores:
        warnings.warn(f"--cpu-devices {count} is more than the {cores} core{'s' * (cores != 1)} this process may use: "
                      f"the devices share them, so folds run no faster than with --cpu-devices {cores}")


def configure_cpu_devices(count: int) -> int:
    """Split the host CPU into devices before JAX starts its backend, one fold at a time on each.

    Safe because the engine loops folds with ``lax.map`` on CPU: vmapped LAPACK calls on several
    host devices deadlock jaxlib 0.10 (see ``sesl_jax.evaluation.engine``).
    """
    warn_if_oversubscribed(count)
    if count > 1:
        import jax

        try:
            jax.config.update("jax_num_cpu_devices", count)
        except RuntimeError:
            # The backend already started (a caller ran JAX first, e.g. tests calling the CLI in-process):
            # the count is fixed now. XLA_FLAGS would not change it here, only leak into child processes.
            pass
        except AttributeError:  # a JAX without the option
            flags = os.environ.get("XLA_FLAGS", "")
            if "xla_force_host_platform_device_count" not in flags:
                os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()
    return count


def configure_jax(dtype: str | None = None) -> None:
    """Process-wide JAX switches; only the command line and tests call this: the persistent
    compilation cache (``sesl_jax.compile_cache``) and, given a ``dtype``, float64."""
    import jax

    from sesl_jax.compile_cache import enable_compile_cache

    enable_compile_cache()
    if dtype is not None:
        jax.config.update("jax_enable_x64", dtype == "float64")


def add_method_options(parser: argparse.ArgumentParser) -> None:
    from sesl_jax.methods import CATALOGUE

    descriptions = "; ".join(f"{name}: {info.description}" for name, info in CATALOGUE.items())
    parser.add_argument(
        "--method", default=None, choices=sorted(CATALOGUE),
        help=f"{descriptions}. Default: on a benchmark without --similarity, what nested CV chose "
        "there (sesl_jax/resources/defaults/, announced on stderr); otherwise sesl",
    )
    parser.add_argument(
        "--similarity",
        default=None,
        help="similarity source: biological, sequence, chemical (drugs; miRNAs by sequence) or "
        "'drug=SIDE,mirna=SIDE' where a side is one source or a weighted mean such as "
        "'0.5*biological+0.5*sequence' (drug sources: biological, sequence, chemical; miRNA sources: "
        "biological, sequence, alignment). Default: the method's own (see README). Your own data "
        "(--pairs, --sm2mir) has no biological similarities",
    )
    parser.add_argument(
        "--similarity-map",
        default=None,
        type=_similarity_map,
        metavar="MAP",
        help="distance-to-similarity map for sequence codes: gaussian (scale = median distance), inverse "
        "1/(1+d) or linear; gaussian:W and inverse:W put the scale at W times the median distance "
        "(inverse:W is 1/(1+d/(W*median))), so that the codes' arrangement counts, not their scale "
        "(default: the map of the default configuration, else gaussian)",
    )
    parser.add_argument(
        "--mirna-form",
        default=None,
        choices=("mature", "hairpin"),
        help="which miRNA sequence the RNA encoder reads (default mature)",
    )
    parser.add_argument(
        "--encoder",
        default=None,
        choices=("lstm", "transformer"),
        help="shipped sequence encoders giving the codes of the sequence similarity: lstm auto-encoders "
        "(default) or BERT-style transformers (same as an ',encoder=NAME' part of --similarity)",
    )
    parser.add_argument(
        "--selection",
        default=None,
        metavar="JSON",
        help="use the configuration that 'sesl-jax select' chose (its selection.json): sets --method, "
        "--similarity and its map, miRNA form and encoder (do not give those beside it)",
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
    parser.add_argument(
        "--bnnr-svt",
        default="eigh",
        choices=("eigh", "svd", "subspace", "sign"),
        help="sesl, se, bnnr: BNNR's singular value thresholding: eigh (exact, default), svd, subspace "
        "(warm-started partial eigendecomposition with an exact fallback; about 1.6x faster on CPU, "
        "FCD LOOCV AUCs within 6e-4 of eigh, see docs/results.md) or sign (matrix products only, for "
        "GPUs; 5-7x slower than eigh on a CPU)",
    )


# ---------------------------------------------------------------- running a command


def run_command(args: argparse.Namespace) -> int:
    """Check the option values, run the sub-command, and turn user mistakes into one-line errors."""
    prefix = f"sesl-jax {args.command}"

    def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"{prefix}: warning: {one_line(message)}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show_warning  # one line, not the file and source line of the warning
        try:
            check_option_values(args)
            _check_encoder_directory()
            result = args.func(args)
        except UsageError as error:
            print(f"{prefix}: error: {one_line(error)}", file=sys.stderr)
            return 2
        except BrokenPipeError:  # the reader went away (``| head``): not an error of this command
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
            return 141
        except Exception as error:
            if not isinstance(error, _user_errors()):
                raise
            print(f"{prefix}: error: {one_line(_user_message(error))}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            resumes = args.command in ("cv", "select", "reproduce") or getattr(args, "encoder_command", None) == "train"
            if args.command == "rank" and args.out is not None:  # a screen's finished chunks
                from sesl_jax.screen_parts import parts_directory

                resumes = any(parts_directory(args.out).glob("part-*.npz"))
            kept = "; finished work is kept: rerun the same command to resume" if resumes else ""
            print(f"{prefix}: interrupted{kept}", file=sys.stderr)
            return 130
    return int(result or 0)


# User errors of modules that start JAX when imported, which a command may never import (``rank
# --model DIR --drug ID`` does not): an exception of one of these classes exists only if its module does.
_ERRORS_OF_HEAVY_MODULES = (("sesl_jax.encoders._checkpoint", "CheckpointError"),
                            ("sesl_jax.encoders._tokenizers", "SequenceError"))


def _similarity_map(text: str) -> str:
    """``--similarity-map``'s value in its canonical text; argparse reports a bad one as a usage error."""
    from sesl_jax.similarity._maps import check_map

    try:
        return check_map(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _user_errors() -> tuple[type[Exception], ...]:
    """What ends a command with a one-line error and exit code 1 (anything else is a bug: traceback)."""
    from sesl_jax.data import DataError
    from sesl_jax.evaluation.store import ResumeMismatchError

    heavy = tuple(getattr(sys.modules[module], name) for module, name in _ERRORS_OF_HEAVY_MODULES if module in sys.modules)
    return (CommandError, DataError, ResumeMismatchError, OSError, *heavy)


def _check_encoder_directory() -> None:
    """An unusable ``$SESL_JAX_ENCODERS`` stops any command before it runs (not after a long run)."""
    from sesl_jax.encoder_files import own_weights_directory

    _, problem = own_weights_directory()
    if problem is not None:
        raise CommandError(problem)


def _user_message(error: Exception) -> str:
    """The message of a user error; an ``OSError``'s without its ``[Errno N]`` prefix, naming its file."""
    if isinstance(error, OSError) and error.strerror:
        names = [str(name) for name in (error.filename, error.filename2) if name is not None]
        return ": ".join([*names[:1], error.strerror] if len(names) < 2 else [f"{names[0]} -> {names[1]}", error.strerror])
    return str(error)


def one_line(message: object) -> str:
    return " ".join(str(message).split("\n")).strip()


def check_option_values(args: argparse.Namespace) -> None:
    """Checks of options that several sub-commands share, by name, before anything runs.

    ``--out`` (a directory; for ``rank``, whose ``--out``/``--output`` is a table, a file),
    ``--output`` (a file), ``--drug``/``--mirna`` (non-empty IDs),
    ``--smiles`` (a molecule RDKit parses), ``--sequence`` (an RNA sequence), ``--top`` (>= 1)
    and the data options' combinations; each mistake is a :class:`UsageError` naming the option.
    """
    values = vars(args)
    if values.get("out") is not None:
        table = values.get("command") == "rank"
        _check_writable(values["out"], "--out/--output" if table else "--out", directory=not table)
    if values.get("output") is not None:
        _check_writable(values["output"], "--output", directory=False)
    for option, kind, example in (("drug", "drug", "CID:3229"), ("mirna", "miRNA", "hsa-mir-21")):
        if values.get(option) is not None and not values[option].strip():
            raise UsageError(f"argument --{option}: empty {kind} ID; give an ID of the data, e.g. --{option} {example}")
        if values.get(option) is not None:
            setattr(args, option, values[option].strip())  # as IDs in data files are read
    if values.get("smiles") is not None:
        _check_new_item("smiles", values["smiles"])
    if values.get("sequence") is not None:
        _check_new_item("sequence", values["sequence"])
    if values.get("top") is not None and values["top"] < 1:
        raise UsageError(f"argument --top: must be an integer >= 1, got {values['top']}")
    if "pairs" in values:
        _check_data_options(args)


def _check_writable(text: str, option: str, *, directory: bool) -> None:
    if not text.strip():
        raise UsageError(f"argument {option}: empty; give a {'directory' if directory else 'file'} name")
    path = Path(text)
    if directory and Path.cwd().resolve().is_relative_to(path.resolve()):
        # A run's directory is made or replaced whole: never the one the command runs in, or above it.
        raise UsageError(f"argument {option}: {text!r} is the current directory or holds it; give a directory "
                         "of its own, e.g. runs/NAME")
    if directory and path.exists() and not path.is_dir():
        raise UsageError(f"argument {option}: {str(path)!r} is a file, not a directory")
    if not directory and path.is_dir():
        raise UsageError(f"argument {option}: {str(path)!r} is a directory; give a file name")
    existing = path if directory else path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"argument {option}: {str(existing)!r} is a file, so {str(path)!r} cannot be created")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"argument {option}: {str(existing)!r} is not writable")


def _check_new_item(option: str, text: str) -> None:
    from sesl_jax.data import DataError
    from sesl_jax.data._sequences import normalise_rna
    from sesl_jax.data._validate import check_smiles

    what = "the SMILES of a new molecule, e.g. --smiles 'CC(=O)Oc1ccccc1C(=O)O'" if option == "smiles" else \
        "the sequence of a new miRNA (A, C, G, U), e.g. --sequence UAGCUUAUCAGACUGAUGUUGA"
    if not text.strip():
        raise UsageError(f"argument --{option}: empty; give {what}")
    try:
        (check_smiles if option == "smiles" else normalise_rna)(text, label=f"argument --{option}")
    except DataError as error:
        raise UsageError(str(error)) from None


def _check_data_options(args: argparse.Namespace) -> None:
    own = args.pairs is not None or args.sm2mir is not None
    if own and args.data_dir is not None:
        raise UsageError("argument --data-dir: only applies to --dataset; --pairs and --sm2mir name their own file")
    if args.species is not None and args.sm2mir is None:
        raise UsageError("argument --species: only applies to --sm2mir")
    for option in ("smiles_table", "sequence_table"):
        if getattr(args, option) is not None and not own:
            raise UsageError(f"argument --{option.replace('_', '-')}: only applies to --pairs or --sm2mir "
                             "(the benchmarks come with their SMILES and sequences)")


def stdout_is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def progress_output(quiet: bool, log: Callable[[str], None]) -> bool | Callable[[str], None]:
    """The engine's ``progress``: nothing with ``--quiet``, a bar on a terminal, else plain lines
    to ``log`` (a run whose stderr goes to a file still says how far it is)."""
    if quiet:
        return False
    return True if stdout_is_terminal() else log


# ---------------------------------------------------------------- method and data


def uses_own_data(args: argparse.Namespace) -> bool:
    """Whether the associations come from the user's file (``--pairs``/``--sm2mir``), not a benchmark."""
    return getattr(args, "pairs", None) is not None or getattr(args, "sm2mir", None) is not None


def apply_selection(args: argparse.Namespace) -> None:
    """Put the configuration of ``--selection FILE`` (``sesl-jax select``'s selection.json) into the
    method options, once; options it sets may not be given beside it (usage errors name the file)."""
    path = getattr(args, "selection", None)
    if path is None:
        return
    args.selection = None  # applied: the options below now hold it
    from sesl_jax.defaults import read_selection

    option = f"argument --selection: {path}"
    try:
        selection = read_selection(path)
    except FileNotFoundError:
        raise UsageError(f"{option}: no such file") from None
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None
    given = [f"--{name.replace('_', '-')}" for name in METHOD_OPTIONS if getattr(args, name, None) is not None]
    if given:
        raise UsageError(f"{option}: sets the method and its similarity; do not give {', '.join(given)} beside it")
    _use_config(args, selection.config)
    print(f"--selection {path}: {selection.describe()}", file=sys.stderr)
    dataset = getattr(args, "dataset", None)
    if selection.dataset and dataset and str(dataset) != selection.dataset:
        warnings.warn(f"--selection {path} was chosen on {selection.dataset}, this run uses --dataset {dataset}",
                      UserWarning, stacklevel=2)


# The options that say which method and similarity (--selection sets them all). Without --method and
# --similarity a benchmark uses its shipped default (sesl_jax.defaults), anything else FALLBACK_METHOD.
METHOD_OPTIONS = ("method", "similarity", "similarity_map", "mirna_form", "encoder")
# Those that say how sequences become similarities (their key in a similarity string: the option):
# given alone on a benchmark, they modify its default.
CODE_OPTIONS = {"map": "similarity_map", "mirna_form": "mirna_form", "encoder": "encoder"}
FALLBACK_METHOD = "sesl"


def _use_config(args: argparse.Namespace, config) -> None:
    args.method, args.similarity = config.method, config.resolved_similarity
    args.similarity_map, args.mirna_form, args.encoder = config.similarity_map, config.mirna_form, config.encoder
    args.observed, args.variant = config.observed, config.variant


def apply_dataset_default(args: argparse.Namespace, *, transductive: bool = False) -> None:
    """Without ``--method`` and ``--similarity``, a benchmark (``--dataset``) uses what nested CV chose
    on it (the shipped selection, announced on stderr), with the code options given (``CODE_OPTIONS``)
    in place of its own; own data, and transductive reproduction runs, use SESL with its default
    similarity."""
    if args.method is not None:
        return
    from sesl_jax.defaults import dataset_default

    dataset = getattr(args, "dataset", None)
    eligible = dataset is not None and not (args.similarity is not None or transductive or uses_own_data(args))
    selection = dataset_default(dataset) if eligible else None
    if selection is None:
        args.method = FALLBACK_METHOD
        return
    kept = {name: getattr(args, name, None) for name in (*CODE_OPTIONS.values(), "observed", "variant")}
    _use_config(args, selection.config)
    for name, value in kept.items():  # what the user gave stays theirs: the default with another map, say
        if value is not None:
            setattr(args, name, value)
    changed = "".join(f", with --{name.replace('_', '-')} {value}" for name, value in kept.items()
                      if name in CODE_OPTIONS.values() and value is not None)
    print(f"default on {dataset.upper()}: {selection.describe()}{changed}; give --method to choose another",
          file=sys.stderr)


def method_config(args: argparse.Namespace, *, transductive: bool = False):
    """The :class:`~sesl_jax.pipeline.MethodConfig` of the method options; a bad value is a usage error."""
    from sesl_jax.methods import CATALOGUE
    from sesl_jax.pipeline import MethodConfig, builder_options
    from sesl_jax.similarity import (
        check_code_options, check_encoder, parse_side, split_configuration, split_source,
    )

    # How sequences become similarities, as the user gave it: (option, key, value). Kept on ``args`` at
    # the first call, as later calls see the options a selection or default filled in.
    if not hasattr(args, "given_code_options"):
        args.given_code_options = [(f"--{option.replace('_', '-')}", key, getattr(args, option))
                                   for key, option in CODE_OPTIONS.items() if getattr(args, option, None) is not None]
        try:
            args.given_code_options += [("--similarity", key, value)
                                        for key, value in split_configuration(args.similarity or "")[1].items()]
        except ValueError:
            pass  # said below, as --similarity's error
    apply_selection(args)
    apply_dataset_default(args, transductive=transductive)
    if args.similarity is not None:
        try:
            source, extras = split_configuration(args.similarity)
            split_source(source)
            if "encoder" in extras:
                check_encoder(extras["encoder"])
        except ValueError as error:
            raise UsageError(f"argument --similarity: {error}") from None
        for key, option in (("map", "similarity_map"), ("mirna_form", "mirna_form"), ("encoder", "encoder")):
            given = getattr(args, option, None)
            if key in extras and given is not None and given != extras[key]:
                flag = "--" + option.replace("_", "-")
                raise UsageError(f"argument {flag}: {given} contradicts {key}={extras[key]} in --similarity; give it once")
    try:
        config = MethodConfig(
            method=args.method, similarity=args.similarity, similarity_map=args.similarity_map,
            mirna_form=args.mirna_form, dtype=args.dtype, observed=args.observed,
            variant=getattr(args, "variant", "default"), transductive=transductive,
            bnnr_svt=getattr(args, "bnnr_svt", "eigh"), encoder=getattr(args, "encoder", None),
            shared_start=getattr(args, "shared_start", 0),
        )
        builder_options(config)  # combinations the method refuses, e.g. --observed known for a rival
    except ValueError as error:
        raise UsageError(f"argument --method {args.method}: {error}") from None
    if uses_own_data(args):
        sides = split_source(config.resolved_similarity)
        uses_biological = any(name == "biological" for side, text in zip(("drug", "mirna"), sides)
                              for name, _ in parse_side(text, side))
        if uses_biological and args.similarity is None:
            # The default configuration names biological similarities, which own data lacks: the
            # sides fall back to what a SMILES or a sequence gives.
            from sesl_jax.similarity import without_biological

            default = CATALOGUE[args.method].default_similarity
            source, extras = split_configuration(without_biological(default))
            # the options the user gave stand in for the default's parts (its map, say)
            fallback = source + "".join(f",{key}={value}" for key, value in extras.items()
                                        if getattr(args, CODE_OPTIONS[key], None) is None)
            warnings.warn(f"own data has no biological similarities: --method {args.method} uses {fallback} "
                          f"instead of its default {default}", UserWarning, stacklevel=2)
            args.similarity = fallback
            return method_config(args, transductive=transductive)
        if uses_biological:
            given = f"--similarity {args.similarity}" if args.similarity is not None else \
                f"--method {args.method}'s default similarity ({config.resolved_similarity})"
            raise UsageError(
                f"argument --similarity: {given} uses biological similarities, which only the benchmarks "
                "(--dataset) have; with --pairs or --sm2mir use sequence, chemical (drugs) or alignment (miRNAs), "
                "e.g. --similarity sequence"
            )
    for option, key, value in args.given_code_options:  # checked against the similarity that runs
        try:
            check_code_options(config.resolved_similarity, {key: value})
        except ValueError as error:
            raise UsageError(f"argument {option}: {error}") from None
    return config


def load_dataset_for(args: argparse.Namespace, config=None):
    """The dataset the data options name, checked for what the command needs before any fit.

    The IDs of ``--drug``/``--mirna`` must be in it (``DataError`` with close matches). With your own
    data, the SMILES and sequences that the similarity needs are checked: none at all is an error
    saying how to add them; items without them are named in a warning (the similarity layer isolates
    them: similarity 0 to every other item). ``config``: the :class:`MethodConfig` the data is for
    (a saved model's); default: the method options' (commands without them: none).
    """
    from sesl_jax.data import load_dataset, load_pairs, load_sm2mir
    from sesl_jax.data._user_pairs import with_input_tables

    if getattr(args, "pairs", None) is None and getattr(args, "sm2mir", None) is None:
        return _check_ids(args, load_dataset(args.dataset, args.data_dir))
    if config is None and hasattr(args, "similarity"):  # commands that compute similarities (not ``data check``)
        config = method_config(args)
    mirna_form = config.mirna_form if config is not None else getattr(args, "mirna_form", None) or "mature"
    if getattr(args, "pairs", None) is not None:
        dataset = load_pairs(args.pairs, sequence_kind=mirna_form)
    else:
        species = args.species or "Homo sapiens"
        dataset = load_sm2mir(args.sm2mir, species=None if species.strip().lower() == "all" else species)
    dataset = with_input_tables(dataset, smiles_table=args.smiles_table, sequence_table=args.sequence_table,
                                sequence_kind=mirna_form)
    if config is not None:
        _check_similarity_inputs(args, dataset, config)
    return _check_ids(args, dataset)


def _check_ids(args: argparse.Namespace, dataset):
    if getattr(args, "drug", None) is not None:
        dataset.drug_index(args.drug)
    if getattr(args, "mirna", None) is not None:
        dataset.mirna_index(args.mirna)
    return dataset


def _check_similarity_inputs(args: argparse.Namespace, dataset, config) -> None:
    """Own data: the SMILES / sequences each side's similarity reads (see :func:`load_dataset_for`)."""
    import numpy as np

    from sesl_jax.data import DataError
    from sesl_jax.similarity import parse_side, split_source

    source, mirna_form = config.resolved_similarity, config.mirna_form
    file = Path(args.pairs if args.pairs is not None else args.sm2mir).name
    sides = (
        ("drug", ("sequence", "chemical"), "SMILES", dataset.has_smiles, dataset.drug_ids,
         "--smiles-table", "drug_id", "smiles"),
        ("miRNA", ("sequence", "alignment"), f"{mirna_form} sequence",
         dataset.has_mature if mirna_form == "mature" else dataset.has_hairpin, dataset.mirna_ids,
         "--sequence-table", "mirna_id", "sequence"),
    )
    lacking, remedies = [], []
    for (kind, reading, inputs, present, ids, option, id_column, column), text in zip(sides, split_source(source)):
        if not any(name in reading for name, _ in parse_side(text, kind.lower())):
            continue
        present = np.asarray(present)
        if not present.any():
            lacking.append(f"no {kind} has a {inputs}")
            remedies.append((option, id_column, column))
            continue
        missing = [ids[i] for i in np.flatnonzero(~present)]
        if missing:
            shown = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
            warnings.warn(f"{file}: {len(missing)} of {len(ids)} {kind}s have no {inputs} ({shown}): the {kind} "
                          f"similarity '{text}' isolates them (0 to every other {kind})", UserWarning, stacklevel=2)
    if lacking:
        tables = " and ".join(f"{option} FILE (columns {id_column}, {column})" for option, id_column, column in remedies)
        columns = " and ".join(f"a {column} column" for _, _, column in remedies)
        how = (f"give {tables}; an SM2miR file has no SMILES or sequences" if args.sm2mir is not None
               else f"add {columns} to {file} or give {tables}")
        raise DataError(f"{file}: {' and '.join(lacking)}, which the similarity '{source}' is computed from: {how}")
    # The similarity layer would note the same items again, by index or five names at most; run_command's
    # warnings context drops these filters when the command ends.
    warnings.filterwarnings("ignore", message=r"\d+ (drugs|miRNAs) \(.*\) have no input")
    warnings.filterwarnings("ignore", message=r"no SMILES for drugs \[")


def data_source_message(dataset, *, benchmark: bool) -> str:
    """The stderr line that says which data a command runs on: a benchmark by its name (FCD), the
    user's own data by its name as written, from the directory that holds it."""
    name = dataset.name.upper() if benchmark else repr(dataset.name)
    source = Path(dataset.source).resolve() if Path(dataset.source).is_dir() else dataset.source
    return f"data: {name} ({dataset.n_drugs} drugs x {dataset.n_mirnas} miRNAs, {dataset.n_known} known pairs) from {source}"
