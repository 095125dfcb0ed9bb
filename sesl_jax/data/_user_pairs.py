"""User association data: a CSV/TSV list of (drug, miRNA) pairs with optional SMILES and sequences,
and ID tables that add SMILES or sequences to any dataset (e.g. one read from SM2miR)."""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path

import numpy as np

from sesl_jax._io import sha256_file
from sesl_jax.data._dataset import Dataset
from sesl_jax.data._errors import DataError
from sesl_jax.data._sequences import normalise_rna
from sesl_jax.data._tables import read_records
from sesl_jax.data._validate import check_case_variants, check_smiles

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

    The delimiter is whichever of tab and comma the header line holds (see
    :func:`~sesl_jax.data._tables.read_records`). Each row is one known pair; the optional
    ``smiles_col`` / ``sequence_col`` give the drug's SMILES / the miRNA's sequence (empty cells
    are allowed, other rows may supply the value). IDs are kept as written (stripped of
    surrounding whitespace) in first-seen order: row ``i`` of ``associations`` is the ``i``-th
    distinct drug in the file. The sequence goes to ``mirna_hairpin`` or, with
    ``sequence_kind="mature"``, to ``mirna_mature``. The ``smiles`` and ``sequence`` columns may be
    absent; a SMILES or sequence column named otherwise must be in the file.

    Raises:
        DataError: naming the file, line and ID for an empty ID, a repeated pair, two IDs that
            differ only in letter case, a SMILES that RDKit cannot parse, a sequence outside
            A/C/G/U/T, or a drug given two different SMILES (a miRNA two different sequences);
            and as :func:`~sesl_jax.data._tables.read_records` for the file's form (missing or
            repeated column, more fields than the header, a line break in a value, ...).

    Returns:
        A :class:`Dataset` without similarities; ``associations`` is ``(n_drugs, n_mirnas)``.
    """
    path = Path(path)
    if sequence_kind not in SEQUENCE_KINDS:
        raise DataError(f"sequence_kind must be one of {SEQUENCE_KINDS}, got {sequence_kind!r}")
    columns = {"drug_col": drug_col, "mirna_col": mirna_col, "smiles_col": smiles_col, "sequence_col": sequence_col}
    for argument, column in columns.items():
        if not (isinstance(column, str) and column.strip()) and not (column is None and argument in ("smiles_col",
                                                                                                      "sequence_col")):
            raise DataError(f"{argument} must name a column, got {column!r}")
    named = [column for column in columns.values() if column is not None]
    repeated = next((column for column in named if named.count(column) > 1), None)
    if repeated is not None:
        raise DataError(f"column {repeated!r} is named for two roles ({', '.join(a for a, c in columns.items() if c == repeated)})")
    # a SMILES or sequence column named by the caller must exist; the defaults are optional
    required = (drug_col, mirna_col, *(column for column, default in ((smiles_col, "smiles"), (sequence_col, "sequence"))
                                       if column is not None and column != default))
    label = path.name
    drug_rows: dict[str, int] = {}
    mirna_columns: dict[str, int] = {}
    spellings: dict[str, dict[str, tuple[str, int]]] = {"drug": {}, "miRNA": {}}
    pair_lines: dict[tuple[str, str], int] = {}
    smiles: dict[str, tuple[str, int]] = {}
    sequences: dict[str, tuple[str, int]] = {}
    records = read_records(path, required, what="pair file",
                           optional=tuple(column for column in (smiles_col, sequence_col) if column not in required))
    for line, cell in records:
        drug, mirna = cell(drug_col), cell(mirna_col)
        if not drug or not mirna:
            raise DataError(f"{label}: line {line}: empty {drug_col if not drug else mirna_col}")
        if (drug, mirna) in pair_lines:
            earlier = pair_lines[drug, mirna]
            raise DataError(f"{label}: line {line}: pair ({drug}, {mirna}) already listed on line {earlier}")
        check_case_variants(drug, spellings["drug"], line, label=label, kind="drug")
        check_case_variants(mirna, spellings["miRNA"], line, label=label, kind="miRNA")
        pair_lines[drug, mirna] = line
        drug_rows.setdefault(drug, len(drug_rows))
        mirna_columns.setdefault(mirna, len(mirna_columns))
        if cell(smiles_col):
            _record_once(smiles, drug, _valid_input(cell(smiles_col), "SMILES", label, line, drug), line,
                         label=label, what="SMILES")
        if cell(sequence_col):
            _record_once(sequences, mirna, _valid_input(cell(sequence_col), "sequence", label, line, mirna), line,
                         label=label, what="sequence")
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


def with_input_tables(
    dataset: Dataset,
    *,
    smiles_table: str | os.PathLike | None = None,
    sequence_table: str | os.PathLike | None = None,
    sequence_kind: str = "mature",
) -> Dataset:
    """``dataset`` with SMILES and miRNA sequences filled in from ID tables.

    A SMILES table is a CSV/TSV with columns ``drug_id, smiles``; a sequence table has columns
    ``mirna_id, sequence`` (the ``sequence_kind`` form: "mature" or "hairpin"), as in a pair file.
    Rows of IDs that are not in the dataset are ignored; items without a row keep what they had
    (possibly nothing). The tables' checksums join the dataset's.

    Raises:
        DataError: naming the table, line and ID for an invalid SMILES or sequence, an ID listed
            twice with different values or only differing in letter case from a dataset ID, a value
            that contradicts the one the dataset already has, or a table sharing no ID with the dataset.
    """
    if sequence_kind not in SEQUENCE_KINDS:
        raise DataError(f"sequence_kind must be one of {SEQUENCE_KINDS}, got {sequence_kind!r}")
    changes: dict[str, object] = {}
    checksums = dict(dataset.checksums)
    for path, id_col, value_col, ids, field, kind in (
        (smiles_table, "drug_id", "smiles", dataset.drug_ids, "drug_smiles", "drug"),
        (sequence_table, "mirna_id", "sequence", dataset.mirna_ids, f"mirna_{sequence_kind}", "miRNA"),
    ):
        if path is None:
            continue
        path = Path(path)
        table = _read_id_table(path, id_col, value_col, ids, kind=kind)
        if not table:
            raise DataError(f"{path.name}: none of its {id_col} values is an ID of dataset {dataset.name!r} "
                            f"(whose IDs look like {ids[0]!r})")
        values = list(getattr(dataset, field))
        for index, identifier in enumerate(ids):
            if identifier not in table:
                continue
            value, line = table[identifier]
            if values[index] is not None and values[index] != value:
                raise DataError(f"{path.name}: line {line}: {kind} {identifier!r} has {value_col} {value!r} but "
                                f"dataset {dataset.name!r} already gives {values[index]!r}")
            values[index] = value
        changes[field] = tuple(values)
        checksums[path.name if path.name not in checksums else str(path)] = sha256_file(path)
    return dataclasses.replace(dataset, **changes, checksums=checksums) if changes else dataset


def _read_id_table(path: Path, id_col: str, value_col: str, ids, *, kind: str) -> dict[str, tuple[str, int]]:
    """``{ID: (value, line)}`` of the table rows whose ID is in ``ids``, values validated."""
    label = path.name
    wanted = set(ids)
    dataset_spelling = {identifier.casefold(): identifier for identifier in ids}
    spellings: dict[str, tuple[str, int]] = {}
    table: dict[str, tuple[str, int]] = {}
    unused: list[str] = []
    what = "SMILES" if value_col == "smiles" else "sequence"
    for line, cell in read_records(path, (id_col, value_col), what=f"{what} table"):
        identifier, value = cell(id_col), cell(value_col)
        if not identifier:
            raise DataError(f"{label}: line {line}: empty {id_col}")
        check_case_variants(identifier, spellings, line, label=label, kind=kind)
        if identifier not in wanted:
            other = dataset_spelling.get(identifier.casefold())
            if other is not None:
                raise DataError(f"{label}: line {line}: {kind} ID {identifier!r} is not in the dataset but {other!r} "
                                "is; IDs are case-sensitive")
            unused.append(identifier)
            continue
        if value:
            _record_once(table, identifier, _valid_input(value, what, label, line, identifier), line,
                         label=label, what=what)
    if unused:  # a table may cover more than one dataset: said, not an error
        shown = ", ".join(unused[:5]) + (f" and {len(unused) - 5} more" if len(unused) > 5 else "")
        warnings.warn(f"{label}: {len(unused)} row(s) name {kind}s not in the data, not used ({shown})", UserWarning,
                      stacklevel=3)
    return table


def _valid_input(value: str, what: str, label: str, line: int, identifier: str) -> str:
    """A checked SMILES or (normalised) RNA sequence; errors name the file, line and ID."""
    where = f"{label}: line {line}: {'drug' if what == 'SMILES' else 'miRNA'} {identifier!r}"
    return check_smiles(value, label=where) if what == "SMILES" else normalise_rna(value, label=where)


def _record_once(values: dict[str, tuple[str, int]], key: str, value: str, line: int, *, label: str, what: str) -> None:
    """Store ``values[key] = (value, line)``; a different value for the same key is an error."""
    if key in values and values[key][0] != value:
        earlier, earlier_line = values[key]
        raise DataError(f"{label}: line {line}: {key!r} has {what} {value!r} but line {earlier_line} gave {earlier!r}")
    values.setdefault(key, (value, line))
