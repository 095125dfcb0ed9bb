"""``sesl-jax select``: choose similarity sources by nested cross-validation."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sesl_jax._io import stderr_log
from sesl_jax.cli._common import (
    CommandError, UsageError, add_cpu_devices_option, add_data_options, add_precision_option,
    configure_cpu_devices, configure_jax, data_source_message,
    int_at_least, load_dataset_for, progress_output,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    from sesl_jax.evaluation.choices import CRITERIA, GRIDS, SIMILARITY_GRID

    parser = subparsers.add_parser(
        "select",
        help="choose similarity sources (and sparse learning: --method sesl,se) by nested cross-validation",
        description=(
            "Nested cross-validation of a choice among similarity configurations: inside every outer "
            "training matrix an inner k-fold CV picks the candidate with the best AUC (--criterion), and that "
            "candidate's scores on the outer hidden pairs are what the nested metrics pool (the outer "
            "hidden pairs never reach the choice). Every candidate and reference is also scored on the "
            "same outer folds, and a final inner CV on all known pairs names the configuration to use. "
            "Writes DIR/selection.json plus resumable stores under DIR/inner and DIR/outer."
        ),
    )
    add_data_options(parser)
    parser.add_argument("--method", default="sesl", type=select_methods, metavar="METHOD[,METHOD...]",
                        help="method(s) whose configurations are chosen from, each with every --candidate: sesl "
                             "(default), se, bnnr, or several, e.g. 'sesl,se' to let nested CV decide on sparse learning")
    parser.add_argument(
        "--candidate", action="append", default=None, metavar="SIMILARITY",
        help="a configuration to choose from: a --similarity source, optionally followed by ',map=MAP' "
        "(gaussian, inverse, linear; gaussian:W, inverse:W), ',mirna_form=FORM' and ',encoder=NAME' (repeat the "
        "option); default: the --grid",
    )
    parser.add_argument(
        "--grid", default=None, choices=tuple(GRIDS),
        help="a named set of candidates instead of --candidate: 'default' (" + "; ".join(SIMILARITY_GRID) + ") or "
        "'widths' (the same, and each inverse one with the relative widths inverse:0.03, 0.1, 0.3 and 1: "
        f"{len(GRIDS['widths'])} per method)",
    )
    parser.add_argument(
        "--reference", action="append", default=None, metavar="METHOD[:CONFIGURATION]",
        help="a method scored on the same outer folds for comparison, never selected (repeat; default: bnnr)",
    )
    parser.add_argument("--encoder", default=None, choices=("lstm", "transformer"),
                        help="sequence encoders of candidates and references without an ',encoder=' part (default lstm)")
    parser.add_argument("--outer-k", type=int_at_least(2), default=5, help="outer folds per repeat (default 5)")
    parser.add_argument("--outer-repeats", type=int_at_least(1), default=10, help="outer repeats (default 10, the paper's protocol)")
    parser.add_argument("--inner-k", type=int_at_least(2), default=5, help="inner folds (default 5)")
    parser.add_argument("--inner-repeats", type=int_at_least(1), default=1, help="inner repeats (default 1)")
    parser.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the outer split; inner splits derive from it")
    parser.add_argument(
        "--criterion", default="global", choices=CRITERIA,
        help="the inner CV's score: global AUC (default; every candidate pair pooled), drug-fixed (ranking "
        "each drug's miRNAs, what 'rank --drug' returns) or mirna-fixed (each miRNA's drugs)",
    )
    add_precision_option(parser, default="float32")
    parser.add_argument("--out", required=True, help="output directory (rerun with the same arguments to resume)")
    add_cpu_devices_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


SELECTABLE_METHODS = ("sesl", "se", "bnnr")


def select_methods(text: str) -> tuple[str, ...]:
    """The argparse ``type`` of ``--method``: one or more of ``SELECTABLE_METHODS``, comma-separated."""
    given = [part.strip() for part in text.split(",") if part.strip()]
    methods = tuple(dict.fromkeys(given))
    unknown = [method for method in methods if method not in SELECTABLE_METHODS]
    if unknown or not methods:
        raise argparse.ArgumentTypeError(f"{text!r}: choose from {', '.join(SELECTABLE_METHODS)} (comma-separated)")
    if len(methods) != len(given):
        raise argparse.ArgumentTypeError(f"{text!r}: a method given more than once")
    return methods


def parse_configs(args: argparse.Namespace):
    """Candidate and reference :class:`MethodConfig` objects; a bad value is a usage error."""
    from sesl_jax.evaluation.choices import GRIDS
    from sesl_jax.evaluation.selection import candidate_label, parse_candidate
    from sesl_jax.pipeline import MethodConfig

    def config(method: str, text: str | None, option: str) -> MethodConfig:
        try:
            if text is None:
                return MethodConfig(method=method, dtype=args.dtype, encoder=args.encoder)
            return parse_candidate(text, method, args.dtype, args.encoder)
        except ValueError as error:
            raise UsageError(f"argument {option}: {text or method!r}: {error}") from None

    if args.candidate and args.grid:
        raise UsageError("argument --grid: not allowed with --candidate (a grid is a set of candidates)")
    texts = args.candidate or GRIDS[args.grid or "default"]
    candidates = [config(method, text, "--candidate") for method in args.method for text in texts]
    references = []
    for text in args.reference if args.reference is not None else ["bnnr"]:
        method, _, similarity = text.partition(":")
        references.append(config(method.strip(), similarity.strip() or None, "--reference"))
        if references[-1].to_dict() in [reference.to_dict() for reference in references[:-1]]:  # resolved
            raise UsageError(f"argument --reference: {text!r} is the same configuration as an earlier --reference "
                             f"({candidate_label(references[-1])})")
    if args.encoder is not None:  # it must reach some configuration, else it is ignored
        from sesl_jax.similarity import code_option_applies

        if not any(code_option_applies(c.resolved_similarity, "encoder") for c in (*candidates, *references)):
            raise UsageError(f"argument --encoder: no candidate or reference uses sequence codes, so --encoder "
                             f"{args.encoder} would change nothing")
    return candidates, references


def substitute_missing_similarities(config, dataset):
    """The default reference on a dataset without biological similarities (PCD's drugs, own data):
    RDKit chemical similarity for drugs, sequence codes for miRNAs in their place (as ``sesl-jax
    reproduce`` and own-data defaults do), said on stderr."""
    import dataclasses

    from sesl_jax.similarity import without_biological

    source = without_biological(config.resolved_similarity, drug=dataset.drug_similarity is None,
                                mirna=dataset.mirna_similarity is None)
    if source == config.resolved_similarity:
        return config
    print(f"reference {config.method}: {dataset.name} has no biological similarity there; using {source}",
          file=sys.stderr)
    return dataclasses.replace(config, similarity=source)


def format_selection(result: dict) -> str:
    from sesl_jax.evaluation.report import format_table
    from sesl_jax.evaluation.summary import format_value

    protocol = result["protocol"]
    criterion = protocol.get("criterion", "global")
    scopes = ("global",) if criterion == "global" else ("global", criterion)

    def aucs(entry: dict) -> tuple[str, ...]:
        return tuple(format_value(entry["metrics"][scope]["auc"]) for scope in scopes)

    rows = [(c["label"], *aucs(c["outer"]), str(c["times_selected"]), f"{c['inner_auc_all_pairs']:.4f}")
            for c in result["candidates"]]
    rows += [(f"{r['label']} (reference)", *aucs(r["outer"]), "-", "-") for r in result["references"]]
    rows.append(("nested: the selection procedure", *aucs(result["nested"]), "-", "-"))
    header = ("configuration", *(f"outer {scope} AUC" for scope in scopes), "times selected",
              f"inner {criterion} AUC, all pairs")
    return "\n\n".join([
        f"similarity selection on {result['dataset'].upper()}: outer {protocol['outer']}, inner {protocol['inner']}"
        f", chosen by {criterion} AUC",
        format_table(rows, header),
        f"selected (inner CV on all known pairs): {result['selected']['label']}",
    ])


def run(args: argparse.Namespace) -> int:
    candidates, references = parse_configs(args)
    out = Path(args.out)  # checked (a directory, writable) with the other shared options
    configure_cpu_devices(args.cpu_devices)  # before anything starts JAX's backend
    configure_jax(args.dtype)
    from sesl_jax.evaluation import kfold_folds
    from sesl_jax.evaluation.folds import known_pairs
    from sesl_jax.evaluation.selection import check_selection_directory, nested_cross_validation

    check_selection_directory(out)  # before the data is read

    dataset = load_dataset_for(args)
    print(data_source_message(dataset, benchmark=args.dataset is not None), file=sys.stderr)
    if args.reference is None:
        references = [substitute_missing_similarities(config, dataset) for config in references]
    try:
        folds = kfold_folds(dataset.associations, k=args.outer_k, repeats=args.outer_repeats, seed=args.seed)
    except ValueError as error:  # more folds than known pairs
        raise UsageError(f"argument --outer-k: {error}") from None
    # The smallest outer training matrix must still split into --inner-k folds: said before anything is written.
    smallest_training = len(known_pairs(dataset.associations)) - int(folds.n_hidden.max())
    if args.inner_k > smallest_training:
        raise UsageError(f"argument --inner-k: cannot split an outer training matrix's {smallest_training} known "
                         f"pairs into k={args.inner_k} non-empty folds")
    try:
        result = nested_cross_validation(
            dataset, candidates, folds, out_dir=out, inner_k=args.inner_k, inner_repeats=args.inner_repeats,
            seed=args.seed, references=references, progress=progress_output(args.quiet, stderr_log),
            log=stderr_log, criterion=args.criterion,
        )
    except ValueError as error:
        raise CommandError(str(error)) from None
    print(format_selection(result))
    print(f"results: {out / 'selection.json'}", file=sys.stderr)
    return 0
