"""``sesl-jax rank``: miRNAs for a drug (or new molecules), drugs for a miRNA (or new sequences).

The model is a saved one (``--model DIR`` from ``sesl-jax fit --out DIR``: no refit) or is fitted
on ``--dataset`` first. ``--smiles-file`` / ``--sequence-file`` screen many new items into one long
table; invalid rows are reported by line number.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any, Callable, NamedTuple

from sesl_jax.cli._common import (
    CommandError, UsageError, add_cpu_devices_option, add_data_options, add_method_options, add_precision_option,
    configure_cpu_devices, configure_jax, int_at_least, stdout_is_terminal,
)

# Options that describe the fit; a saved model brings its own, so they must stay at their defaults.
FIT_OPTIONS = ("method", "similarity", "similarity_map", "mirna_form", "encoder", "observed", "variant", "dtype",
               "bnnr_svt")
_fit_option_defaults: dict[str, object] = {}
TABLE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rank",
        help="rank miRNAs for a drug or new molecules, or drugs for a miRNA or new sequences",
        description="Rank from a saved model (--model DIR, written by 'sesl-jax fit --out DIR'; no refit) or "
        "after fitting on --dataset. Give exactly one of --drug, --mirna, --smiles (a molecule not in "
        "the dataset), --sequence (a miRNA not in the dataset), --smiles-file or --sequence-file (many "
        "new items). The table (rank, ID, score, known; files add query_id) goes to stdout as CSV, or "
        "to --out as CSV, TSV or parquet by extension.",
    )
    parser.add_argument(
        "--model", default=None,
        help="saved model directory from 'sesl-jax fit --out DIR': rank without refitting (the method "
        "options then come from the model; with --dataset, the data must be the one it was fitted on)",
    )
    add_data_options(parser, dataset_required=False)
    add_method_options(parser)
    add_precision_option(parser)
    _fit_option_defaults.update({name: parser.get_default(name) for name in FIT_OPTIONS})
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--drug", help="drug ID in the dataset, e.g. CID:3229")
    target.add_argument("--mirna", help="miRNA ID in the dataset, e.g. hsa-mir-21")
    target.add_argument("--smiles", help="SMILES of a new molecule")
    target.add_argument("--sequence", help="sequence of a new miRNA (A, C, G, U; T read as U)")
    target.add_argument(
        "--smiles-file",
        help="new molecules to screen: CSV/TSV with columns 'id' and 'smiles' (header line), or .smi "
        "lines 'SMILES ID'",
    )
    target.add_argument("--sequence-file", help="new miRNAs to screen: CSV/TSV with columns 'id' and 'sequence'")
    parser.add_argument("--top", type=int, default=None, help="keep the N best (per query when screening; default: all)")
    parser.add_argument("--novel-only", action="store_true",
                        help="leave out the known pairs of --drug / --mirna, so that ranks and --top count candidates "
                        "only (new molecules and sequences have no known pairs)")
    parser.add_argument(
        "--out", "--output", dest="out", default=None,
        help="write the table here (atomically): .csv, .tsv or .parquet; default: CSV on stdout",
    )
    parser.add_argument(
        "--skip-invalid", action="store_true",
        help="screening: skip invalid rows (each is reported with its line number) instead of stopping at the first",
    )
    parser.add_argument(
        "--batch-size", type=int_at_least(1), default=None,
        help="screening: new items per compiled call (default: sized to the device)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_cpu_devices_option(parser, "new molecules or sequences")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for option, given in (("--skip-invalid", args.skip_invalid), ("--batch-size", args.batch_size is not None)):
        if given and _screening_file(args) is None:  # said, not ignored
            raise UsageError(f"argument {option}: only applies to screening (--smiles-file, --sequence-file)")
    if args.out is not None and Path(args.out).suffix.lower() not in TABLE_FORMATS:
        raise CommandError(f"--out {args.out}: the extension must be one of {', '.join(TABLE_FORMATS)}")
    if args.model is not None and (args.drug or args.mirna):
        write_table(_rank_saved(args), args.out)  # the saved scores suffice: no JAX, no rebuilt method
        return 0
    # a screening file's mistakes before the fit, not after minutes of it
    screening = _screening_file(args)
    queries = read_queries(*screening) if screening else None
    if args.smiles or args.sequence or screening:
        configure_cpu_devices(args.cpu_devices)  # before anything starts JAX's backend
    model = _load_or_fit(args)
    new_side = "drug" if args.smiles or args.smiles_file else "mirna" if args.sequence or args.sequence_file else None
    if new_side is not None:
        try:
            model._placement(new_side)  # a model fitted on caller-given matrices cannot place new items
        except ValueError as error:
            raise CommandError(str(error)) from None
    parts = None
    if queries is not None:
        table, parts = _screen(args, model, queries)
    elif args.drug or args.smiles:
        table = model.rank_mirnas(args.drug, smiles=args.smiles, top=args.top, novel_only=args.novel_only)
    else:
        table = model.rank_drugs(args.mirna, sequence=args.sequence, top=args.top, novel_only=args.novel_only)
    write_table(table, args.out)
    if parts is not None:
        parts.remove()  # the whole table is written: its finished parts have served
    return 0


def _gives_data(args: argparse.Namespace) -> bool:
    from sesl_jax.cli._common import uses_own_data

    return args.dataset is not None or uses_own_data(args)


def _load_or_fit(args: argparse.Namespace):
    if args.model is None:
        if not _gives_data(args):
            raise CommandError("give --model DIR (a saved model), or --dataset / --pairs / --sm2mir (fit now)")
        from sesl_jax.cli._fit import fit_model

        return fit_model(args)[1]
    _check_fit_options_unchanged(args)
    from sesl_jax.estimator import SESL
    from sesl_jax.saved_model import read_manifest

    manifest = read_manifest(args.model)
    configure_jax(str((manifest.get("method_config") or {}).get("dtype")))
    model = SESL.load(args.model)
    _announce_saved_model(args, model.method, model.similarities_.source, model.scores_.shape, model.data_provenance_,
                          lambda: model.config_)
    return model


def _rank_saved(args: argparse.Namespace):
    """``rank --model DIR --drug/--mirna ID``: the table from the saved scores alone."""
    from sesl_jax.ranking import rank_known
    from sesl_jax.saved_model import read_scores, saved_config

    _check_fit_options_unchanged(args)
    saved = read_scores(args.model)
    scores = saved.arrays["scores"]
    _announce_saved_model(args, saved.method, saved.similarity_source, scores.shape, saved.manifest.get("data"),
                          lambda: saved_config(args.model, saved.manifest))
    return rank_known(scores, saved.arrays["associations"], saved.drug_ids, saved.mirna_ids,
                      drug=args.drug, mirna=args.mirna, top=args.top, novel_only=args.novel_only)


def _check_fit_options_unchanged(args: argparse.Namespace) -> None:
    changed = [f"--{name.replace('_', '-')}" for name, default in _fit_option_defaults.items()
               if getattr(args, name) != default]
    if changed:
        raise CommandError(
            f"{', '.join(changed)}: a saved model keeps the options it was fitted with; drop them, or fit "
            "another model with 'sesl-jax fit'"
        )


def _announce_saved_model(args: argparse.Namespace, method: str, source: str, shape, provenance,
                          config: Callable[[], Any]) -> None:
    """The stderr line that names the model, and, given data options, a check that they name the
    data it was fitted on (file checksums), read as the model's configuration (``config()``, which
    needs JAX: own data only) reads data, with no default or method option of this command announced."""
    from sesl_jax.cli._common import load_dataset_for, uses_own_data
    from sesl_jax.saved_model import SavedModelError

    fitted_on = (provenance or {}).get("dataset", "caller-given matrices")
    print(f"model: {args.model} ({method}, {source}; {shape[0]} drugs x {shape[1]} miRNAs, fitted on {fitted_on})",
          file=sys.stderr)
    if _gives_data(args):
        from sesl_jax.provenance import data_provenance

        saved = provenance or {}
        given = data_provenance(load_dataset_for(args, config() if uses_own_data(args) else None))
        differing = sorted(
            name for name in set(saved.get("checksums", {})) | set(given["checksums"])
            if saved.get("checksums", {}).get(name) != given["checksums"].get(name)
        )
        if saved.get("dataset") != given["dataset"] or differing:
            raise SavedModelError(
                f"{args.model} was fitted on {saved.get('dataset', 'other data')!r}, not on these {given['dataset']!r} files"
                + (f" (checksums differ: {', '.join(differing[:3])})" if differing else "")
            )


class Query(NamedTuple):
    line: int  # 1-based line number in the file
    query_id: str
    text: str  # SMILES or sequence


def read_queries(path: str, column: str) -> tuple[list[Query], list[tuple[int, str]]]:
    """Rows of a screening file, and ``(line, problem)`` for rows that cannot be queries.

    CSV (``.csv``) or TSV (other extensions) with a header naming ``id`` and ``column``
    (case-insensitive); for SMILES also ``.smi`` lines ``SMILES ID`` (blank and ``#`` lines
    skipped, a first line ``smiles ...`` read as a header). IDs must be unique.
    """
    file = Path(path)
    if file.is_dir():
        raise CommandError(f"{path}: is a directory, not a screening file")
    if not file.is_file():
        raise CommandError(f"{path}: no such file")
    try:
        return _read_queries(file, path, column)
    except UnicodeDecodeError as error:
        raise CommandError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); a screening file is "
                           "CSV, TSV or .smi text") from None
    except csv.Error as error:  # e.g. a value past csv's field size limit
        raise CommandError(f"{path}: not a readable CSV/TSV file ({error})") from None


def _read_queries(file: Path, path: str, column: str) -> tuple[list[Query], list[tuple[int, str]]]:
    from sesl_jax.data._tables import delimiter_of, extra_fields

    queries: list[Query] = []
    problems: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}

    def add(line: int, query_id: str, text: str) -> None:
        if not query_id:
            problems.append((line, "empty ID"))
        elif not text:
            problems.append((line, "empty SMILES" if column == "smiles" else "empty sequence"))
        elif query_id in first_line:
            problems.append((line, f"ID {query_id!r} repeats line {first_line[query_id]}"))
        else:
            first_line[query_id] = line
            queries.append(Query(line, query_id, text))

    with open(file, newline="", encoding="utf-8-sig") as handle:
        if file.suffix.lower() == ".smi" and column == "smiles":
            for line, text in enumerate(handle, start=1):
                parts = text.strip().split(maxsplit=1)
                if not parts or parts[0].startswith("#") or (line == 1 and parts[0].lower() == "smiles"):
                    continue
                if len(parts) < 2:
                    problems.append((line, "no ID after the SMILES"))
                    continue
                add(line, parts[1].strip(), parts[0])
            return queries, problems
        delimiter = delimiter_of(file, handle.readline())  # as pair files: a TSV saved as .csv reads as written
        handle.seek(0)
        reader = csv.reader(handle, delimiter=delimiter)
        header = [cell.strip().lower() for cell in next(reader, [])]
        while header and not header[-1]:  # a trailing delimiter names no column
            header.pop()
        if "id" not in header or column not in header:
            raise CommandError(f"{path}: the header must name columns 'id' and '{column}'; it has {header}")
        id_index, text_index = header.index("id"), header.index(column)
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) <= max(id_index, text_index):
                problems.append((line, f"{len(row)} columns, the header has {len(header)}"))
                continue
            extra = extra_fields(row, len(header), delimiter)
            if extra is not None:  # never dropped unread: a value holding the delimiter splits in two
                problems.append((line, extra))
                continue
            add(line, row[id_index].strip(), row[text_index].strip())
    return queries, problems


def _screening_file(args: argparse.Namespace) -> tuple[str, str] | None:
    """``(path, column)`` of the screening file given, if any."""
    if args.smiles_file:
        return args.smiles_file, "smiles"
    return (args.sequence_file, "sequence") if args.sequence_file else None


def _screen(args: argparse.Namespace, model, read: tuple[list[Query], list[tuple[int, str]]]):
    from sesl_jax.new_items import check_new_items

    path, column = _screening_file(args)
    side = "drug" if column == "smiles" else "mirna"
    queries, problems = read
    problems = list(problems)
    checks = check_new_items(model, side, [query.text for query in queries])
    problems += [(query.line, str(problem)) for query, problem in zip(queries, checks) if problem is not None]
    problems.sort()
    valid = [query for query, problem in zip(queries, checks) if problem is None]
    if problems and not args.skip_invalid:
        line, reason = problems[0]
        more = f" (and {len(problems) - 1} more invalid row(s))" if len(problems) > 1 else ""
        raise CommandError(f"{path} line {line}: {reason}{more}; --skip-invalid skips invalid rows")
    for line, reason in problems:
        print(f"sesl-jax rank: skipped {path} line {line}: {reason}", file=sys.stderr)
    if not valid:
        raise CommandError(f"{path}: no valid rows to screen")
    print(f"screening {len(valid)} new {'molecules' if side == 'drug' else 'miRNAs'} from {path}"
          + (f" ({len(problems)} invalid row(s) skipped)" if problems else ""), file=sys.stderr)
    texts, ids = [query.text for query in valid], [query.query_id for query in valid]
    progress = not args.quiet and stdout_is_terminal()
    parts = None
    if args.out is not None:  # each finished chunk is kept beside the table: an interrupted screen resumes
        from sesl_jax.screen_parts import ScreenParts, parts_directory, screen_identity

        parts = ScreenParts(parts_directory(args.out), screen_identity(model, side, texts, ids))
        if parts.finished:
            print(f"resuming: {parts.finished} of {len(texts)} already screened ({parts.directory})", file=sys.stderr)
    items = {"smiles": texts} if side == "drug" else {"sequences": texts}
    table = model.screen(**items, ids=ids, top=args.top, batch_size=args.batch_size, progress=progress, parts=parts)
    return table, parts


def write_table(table, out: str | None) -> None:
    """``table`` as CSV on stdout, or to ``out`` (atomically) as CSV, TSV or parquet by extension."""
    from sesl_jax._io import atomic_write

    if out is None:
        table.to_csv(sys.stdout, index=False, float_format="%.6g")
        return
    kind = TABLE_FORMATS[Path(out).suffix.lower()]
    if kind == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise CommandError(f"--out {out}: parquet needs pyarrow (pip install 'sesl_jax[parquet]')") from None
        atomic_write(out, lambda tmp: table.to_parquet(tmp, index=False))
    else:
        separator = "," if kind == "csv" else "\t"
        atomic_write(out, lambda tmp: table.to_csv(tmp, index=False, sep=separator, float_format="%.6g"))
    print(f"wrote {len(table)} rows to {out}", file=sys.stderr)
