"""Drug SMILES and miRNA sequences for the benchmark IDs (optional files: missing means ``None``).

Choices, fixed here so every caller sees the same strings:

* SMILES: column ``rdkit_canonical_nostereo`` of ``sequences/drug831_smiles.tsv``: one uniform
  RDKit canonical style without stereo, whatever source the structure came from (the ``smiles``
  column mixes PubChem, DrugBank and other styles; the paper's PubChem SMILES are non-isomeric).
* hairpin: ``hairpin_seq`` of ``sequences/mirna541_sequences.tsv`` (miRBase v21 precursor).
* mature: the 5p arm (``mature_5p_seq``) where annotated, else the 3p arm; where a column lists
  several arms joined by ``;`` the first is used.

Sequences are upper-cased with T read as U; any letter other than A, C, G, U is an error.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path

from sesl_jax.data._errors import DataError
from sesl_jax.data._files import FileReader
from sesl_jax.data._tables import read_tsv_records

SMILES_FILE = "sequences/drug831_smiles.tsv"
SMILES_COLUMN = "rdkit_canonical_nostereo"
MIRNA_SEQUENCE_FILE = "sequences/mirna541_sequences.tsv"

_RNA = re.compile(r"[ACGU]+")


def normalise_rna(sequence: str, *, label: str) -> str:
    """Upper-case, T -> U; :class:`DataError` naming ``label`` on any other letter."""
    rna = sequence.strip().upper().replace("T", "U")
    if not _RNA.fullmatch(rna):
        bad = sorted(set(rna) - set("ACGU"))
        raise DataError(f"{label}: sequence {sequence!r} holds {''.join(bad)!r}; only A, C, G, U (or T) allowed")
    return rna


def check_smiles_text(smiles: str, *, label: str) -> str:
    """A SMILES is one token without whitespace (chemistry is checked by the encoders)."""
    if not smiles or any(character.isspace() for character in smiles):
        raise DataError(f"{label}: SMILES {smiles!r} is empty or contains whitespace")
    return smiles


def read_drug_smiles(reader: FileReader, drug_ids: Sequence[str], *, hint: str = "") -> tuple[str | None, ...]:
    """``(n_drugs,)`` SMILES aligned to ``drug_ids`` (``None`` where missing)."""
    path = reader.optional(SMILES_FILE)
    if path is None:
        _warn_missing(reader.root / SMILES_FILE, "drug_smiles", hint)
        return (None,) * len(drug_ids)
    by_id = _records_by_id(path, id_column="cid", columns=(SMILES_COLUMN,))
    smiles = []
    for drug_id in drug_ids:
        line, record = by_id.get(drug_id, (0, {}))
        text = record.get(SMILES_COLUMN, "")
        smiles.append(check_smiles_text(text, label=f"{path.name}: line {line}") if text else None)
    return tuple(smiles)


def read_mirna_sequences(
    reader: FileReader, mirna_ids: Sequence[str], *, hint: str = ""
) -> tuple[tuple[str | None, ...], tuple[str | None, ...]]:
    """``(hairpins, matures)``, each ``(n_mirnas,)`` aligned to ``mirna_ids``."""
    path = reader.optional(MIRNA_SEQUENCE_FILE)
    if path is None:
        _warn_missing(reader.root / MIRNA_SEQUENCE_FILE, "mirna_hairpin and mirna_mature", hint)
        return (None,) * len(mirna_ids), (None,) * len(mirna_ids)
    by_id = _records_by_id(path, id_column="name", columns=("hairpin_seq", "mature_5p_seq", "mature_3p_seq"))
    hairpins, matures = [], []
    for mirna_id in mirna_ids:
        line, record = by_id.get(mirna_id, (0, {}))
        label = f"{path.name}: line {line}"
        hairpin = record.get("hairpin_seq", "")
        mature = record.get("mature_5p_seq", "") or record.get("mature_3p_seq", "")
        mature = mature.split(";")[0]
        hairpins.append(normalise_rna(hairpin, label=label) if hairpin else None)
        matures.append(normalise_rna(mature, label=label) if mature else None)
    return tuple(hairpins), tuple(matures)


def _records_by_id(path: Path, *, id_column: str, columns: tuple[str, ...]) -> dict[str, tuple[int, dict[str, str]]]:
    """Records keyed by ID, with their 1-based line numbers; duplicate IDs are an error."""
    by_id: dict[str, tuple[int, dict[str, str]]] = {}
    for line, record in enumerate(read_tsv_records(path, required=(id_column, *columns)), start=2):
        identifier = record[id_column]
        if not identifier:
            raise DataError(f"{path.name}: line {line}: empty {id_column!r}")
        if identifier in by_id:
            raise DataError(f"{path.name}: line {line}: {identifier!r} already listed on line {by_id[identifier][0]}")
        by_id[identifier] = (line, record)
    return by_id


def _warn_missing(path: Path, fields: str, hint: str) -> None:
    warnings.warn(f"{path} not found: {fields} are all None. {hint}".rstrip(), UserWarning, stacklevel=4)
