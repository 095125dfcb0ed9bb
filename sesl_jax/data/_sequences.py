"""Drug SMILES and miRNA sequences for the benchmark IDs.

Read from the data directory when it holds them (``sequences/drug831_smiles.tsv``,
``sequences/mirna541_sequences.tsv``), else from the tables shipped with the package
(``SHIPPED_DIR``: the repository's ``data/`` folder, installed as ``sesl_jax/resources/data``),
which hold the same values for every PCD and FCD ID (``data/make_tables.py`` regenerates them
from the shared data directory). A shipped table is read only after its sha256 matches
``checksums.sha256`` beside it. IDs that neither table lists get ``None``, with a warning.

Choices, fixed here so every caller sees the same strings:

* SMILES: column ``rdkit_canonical_nostereo`` of ``sequences/drug831_smiles.tsv`` (``smiles`` of
  the shipped table): one uniform RDKit canonical style without stereo, whatever source the
  structure came from (the paper's PubChem SMILES are non-isomeric).
* hairpin: ``hairpin_seq`` (miRBase v21 precursor).
* mature: the 5p arm (``mature_5p_seq``) where annotated, else the 3p arm; where a column lists
  several arms joined by ``;`` the first is used.

Sequences are upper-cased with T read as U; any letter other than A, C, G, U is an error.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from sesl_jax._io import sha256_file
from sesl_jax.data._errors import DataError
from sesl_jax.data._files import FileReader
from sesl_jax.data._tables import read_tsv_records
from sesl_jax.data._validate import check_smiles_text

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "resources" / "data"
SHIPPED_CHECKSUMS = "checksums.sha256"
SHIPPED_PREFIX = "package:data/"  # checksum keys of shipped tables, unlike any path in a data directory


class SequenceTable(NamedTuple):
    """One tab-separated table: its file, ID column, and the column of each field read."""

    file: str
    id_column: str
    columns: Mapping[str, str]  # field -> column


_MIRNA_COLUMNS = {"hairpin": "hairpin_seq", "mature_5p": "mature_5p_seq", "mature_3p": "mature_3p_seq"}
DRUG_SMILES_TABLE = SequenceTable("sequences/drug831_smiles.tsv", "cid", {"smiles": "rdkit_canonical_nostereo"})
SHIPPED_DRUG_SMILES_TABLE = SequenceTable("drug_smiles.tsv", "drug_id", {"smiles": "smiles"})
MIRNA_SEQUENCE_TABLE = SequenceTable("sequences/mirna541_sequences.tsv", "name", _MIRNA_COLUMNS)
SHIPPED_MIRNA_SEQUENCE_TABLE = SequenceTable("mirna_sequences.tsv", "mirna_id", _MIRNA_COLUMNS)

_RNA = re.compile(r"[ACGU]+")


def normalise_rna(sequence: str, *, label: str) -> str:
    """Upper-case, T -> U; :class:`DataError` naming ``label`` on any other letter."""
    rna = sequence.strip().upper().replace("T", "U")
    if not _RNA.fullmatch(rna):
        bad = sorted(set(rna) - set("ACGU"))
        raise DataError(f"{label}: sequence {sequence!r} holds {''.join(bad)!r}; only A, C, G, U (or T) allowed")
    return rna


def read_drug_smiles(reader: FileReader, drug_ids: Sequence[str], *, hint: str = "") -> tuple[str | None, ...]:
    """``(n_drugs,)`` SMILES aligned to ``drug_ids`` (``None`` where missing)."""
    records = _aligned_records(reader, DRUG_SMILES_TABLE, SHIPPED_DRUG_SMILES_TABLE, drug_ids,
                               kind="drug", fields="drug_smiles", hint=hint)
    return tuple(check_smiles_text(record["smiles"], label=label) if record.get("smiles") else None
                 for label, record in records)


def read_mirna_sequences(
    reader: FileReader, mirna_ids: Sequence[str], *, hint: str = ""
) -> tuple[tuple[str | None, ...], tuple[str | None, ...]]:
    """``(hairpins, matures)``, each ``(n_mirnas,)`` aligned to ``mirna_ids``."""
    records = _aligned_records(reader, MIRNA_SEQUENCE_TABLE, SHIPPED_MIRNA_SEQUENCE_TABLE, mirna_ids,
                               kind="miRNA", fields="mirna_hairpin and mirna_mature", hint=hint)
    hairpins, matures = [], []
    for label, record in records:
        hairpin = record.get("hairpin", "")
        mature = (record.get("mature_5p", "") or record.get("mature_3p", "")).split(";")[0]
        hairpins.append(normalise_rna(hairpin, label=label) if hairpin else None)
        matures.append(normalise_rna(mature, label=label) if mature else None)
    return tuple(hairpins), tuple(matures)


def verified_shipped_table(name: str) -> tuple[Path, str]:
    """``(path, sha256)`` of the shipped table ``name``, checked against ``checksums.sha256``.

    Raises :class:`DataError` naming the file when the table or its checksum is missing, or the
    bytes differ (a corrupted or edited installation).
    """
    checksums_path = SHIPPED_DIR / SHIPPED_CHECKSUMS
    path = SHIPPED_DIR / name
    if not checksums_path.is_file() or not path.is_file():
        missing = path if checksums_path.is_file() else checksums_path
        raise DataError(f"{missing}: shipped with sesl_jax but not found; the installation is incomplete, reinstall it")
    expected = {}
    for number, line in enumerate(checksums_path.read_text(encoding="ascii").splitlines(), start=1):
        digest, _, listed = line.partition("  ")
        if line.strip() and (len(digest) != 64 or not listed):
            raise DataError(f"{checksums_path}: line {number} is not '<sha256>  <file name>'")
        expected[listed.strip()] = digest.lower()
    if name not in expected:
        raise DataError(f"{checksums_path}: no sha256 listed for {name}")
    digest = sha256_file(path)
    if digest != expected[name]:
        raise DataError(
            f"{path}: shipped table has sha256 {digest}, expected {expected[name]} ({checksums_path.name}); "
            "the installed copy is corrupted: reinstall sesl_jax, or pass a data directory holding sequences/"
        )
    return path, digest


def _aligned_records(
    reader: FileReader, table: SequenceTable, shipped: SequenceTable, ids: Sequence[str], *, kind: str, fields: str,
    hint: str,
) -> list[tuple[str, dict[str, str]]]:
    """``(label, {field: value})`` for each of ``ids``; ``{}`` for an ID no table lists.

    The data directory's table if present, else the shipped one (its checksum recorded under
    ``package:data/<name>`` when it lists any of ``ids``).
    """
    path = reader.optional(table.file)
    if path is not None:
        return _lookup(path, _records_by_id(path, table), ids)
    path, digest = verified_shipped_table(shipped.file)
    by_id = _records_by_id(path, shipped)
    unlisted = [identifier for identifier in ids if identifier not in by_id]
    if len(unlisted) < len(ids):
        reader.checksums[SHIPPED_PREFIX + shipped.file] = digest
    if unlisted:
        examples = ", ".join(unlisted[:3]) + (" ..." if len(unlisted) > 3 else "")
        warnings.warn(
            f"{reader.root / table.file} not found, and {len(unlisted)} of {len(ids)} {kind} IDs ({examples}) are not "
            f"in the table shipped with sesl_jax ({shipped.file}, PCD and FCD IDs only): their {fields} are None. "
            f"{hint}".rstrip(),
            UserWarning,
            stacklevel=4,
        )
    return _lookup(path, by_id, ids)


def _lookup(
    path: Path, by_id: dict[str, tuple[int, dict[str, str]]], ids: Sequence[str]
) -> list[tuple[str, dict[str, str]]]:
    aligned = (by_id.get(identifier, (0, {})) for identifier in ids)
    return [(f"{path.name}: line {line}", record) for line, record in aligned]


def _records_by_id(path: Path, table: SequenceTable) -> dict[str, tuple[int, dict[str, str]]]:
    """``{ID: (1-based line, {field: value})}``; duplicate IDs are an error."""
    by_id: dict[str, tuple[int, dict[str, str]]] = {}
    records = read_tsv_records(path, required=(table.id_column, *table.columns.values()))
    for line, record in enumerate(records, start=2):
        identifier = record[table.id_column]
        if not identifier:
            raise DataError(f"{path.name}: line {line}: empty {table.id_column!r}")
        if identifier in by_id:
            raise DataError(f"{path.name}: line {line}: {identifier!r} already listed on line {by_id[identifier][0]}")
        by_id[identifier] = (line, {field: record[column] for field, column in table.columns.items()})
    return by_id
