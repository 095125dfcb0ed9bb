"""User association data: a CSV/TSV list of (drug, miRNA) pairs with optional sequences."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from sesl_jax._io import sha256_file
from sesl_jax.data._dataset import Dataset
from sesl_jax.data._errors import DataError
from sesl_jax.data._sequences import check_smiles_text, normalise_rna

SEQUENCE_KINDS = ("hairpin", "mature")


def load_pairs(
    path: str | os.PathLike,
    *,
    name: str | None = None,
    drug_col: str = "drug_id",
    mirna_col: str = "mirna_id",
    smiles_col: str | None = "smiles",
    sequence_col: str | None = "sequence",
    sequence_kind: str = "hairpin",
) -> Dataset:
    """Load known drug-miRNA pairs from a CSV or TSV file with a header row.

    The delimiter is a tab for ``.tsv``/``.tab`` files, a comma for ``.csv``, and otherwise
    whichever of the two the header line contains. Each row is one known pair; the optional
    ``smiles_col`` / ``sequence_col`` give the drug's SMILES / the miRNA's sequence (empty cells
    are allowed, other rows may supply the value). IDs are kept as written (stripped of
    surrounding whitespace) in first-seen order: row ``i`` of ``associations`` is the ``i``-th
    distinct drug in the file. The sequence goes to ``mirna_hairpin`` or, with
    ``sequence_kind="mature"``, to ``mirna_mature``.

    Raises:
        DataError: naming the line for an empty ID, a repeated pair, a drug given two different
            SMILES or a miRNA two different sequences, or a sequence outside A/C/G/U/T.

    Returns:
        A :class:`Dataset` without similarities; ``associations`` is ``(n_drugs, n_mirnas)``.
    """
    path = Path(path)
    if sequence_kind not in SEQUENCE_KINDS:
        raise DataError(f"sequence_kind must be one of {SEQUENCE_KINDS}, got {sequence_kind!r}")
    if not path.is_file():
        raise DataError(f"{path}: pair file not found")
    label = path.name
    with open(path, encoding="utf-8-sig", newline="") as handle:
        header_line = handle.readline()
        handle.seek(0)
        reader = csv.reader(handle, delimiter=_delimiter(path, header_line))
        header = [column.strip() for column in next(reader, [])]
        for column in (drug_col, mirna_col):
            if column not in header:
                raise DataError(f"{label}: no column {column!r} in the header (columns: {', '.join(header)})")
        column_of = {column: position for position, column in enumerate(header)}
        drug_rows: dict[str, int] = {}
        mirna_columns: dict[str, int] = {}
        pair_lines: dict[tuple[str, str], int] = {}
        smiles: dict[str, tuple[str, int]] = {}
        sequences: dict[str, tuple[str, int]] = {}
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue

            def cell(column: str | None) -> str:
                position = column_of.get(column) if column else None
                return cells[position].strip() if position is not None and position < len(cells) else ""

            drug, mirna = cell(drug_col), cell(mirna_col)
            if not drug or not mirna:
                raise DataError(f"{label}: line {line}: empty {drug_col if not drug else mirna_col}")
            if (drug, mirna) in pair_lines:
                earlier = pair_lines[drug, mirna]
                raise DataError(f"{label}: line {line}: pair ({drug}, {mirna}) already listed on line {earlier}")
            pair_lines[drug, mirna] = line
            drug_rows.setdefault(drug, len(drug_rows))
            mirna_columns.setdefault(mirna, len(mirna_columns))
            if cell(smiles_col):
                _record_once(smiles, drug, check_smiles_text(cell(smiles_col), label=f"{label}: line {line}"),
                             line, label=label, what="SMILES")
            if cell(sequence_col):
                _record_once(sequences, mirna, normalise_rna(cell(sequence_col), label=f"{label}: line {line}"),
                             line, label=label, what="sequence")
    if not pair_lines:
        raise DataError(f"{label}: no pairs")
    associations = np.zeros((len(drug_rows), len(mirna_columns)), dtype=np.float64)
    for drug, mirna in pair_lines:
        associations[drug_rows[drug], mirna_columns[mirna]] = 1.0
    mirna_sequences = tuple(sequences.get(mirna, (None,))[0] for mirna in mirna_columns)
    return Dataset(
        name=name or path.stem,
        drug_ids=tuple(drug_rows),
        mirna_ids=tuple(mirna_columns),
        associations=associations,
        drug_smiles=tuple(smiles.get(drug, (None,))[0] for drug in drug_rows),
        mirna_hairpin=mirna_sequences if sequence_kind == "hairpin" else None,
        mirna_mature=mirna_sequences if sequence_kind == "mature" else None,
        checksums={path.name: sha256_file(path)},
        source=str(path.parent),
    )


def _delimiter(path: Path, header_line: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".tsv", ".tab"):
        return "\t"
    if suffix == ".csv":
        return ","
    return "\t" if "\t" in header_line else ","


def _record_once(values: dict[str, tuple[str, int]], key: str, value: str, line: int, *, label: str, what: str) -> None:
    """Store ``values[key] = (value, line)``; a different value for the same key is an error."""
    if key in values and values[key][0] != value:
        earlier, earlier_line = values[key]
        raise DataError(f"{label}: line {line}: {key!r} has {what} {value!r} but line {earlier_line} gave {earlier!r}")
    values.setdefault(key, (value, line))
