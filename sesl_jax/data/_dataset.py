"""The :class:`Dataset` every loader returns: IDs, associations, similarities and sequences."""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Mapping
from typing import Any

import numpy as np

from sesl_jax._values import check_not_text
from sesl_jax.data._errors import DataError
from sesl_jax.data._sequences import normalise_rna
from sesl_jax.data._validate import (
    check_binary,
    check_ids,
    check_shape,
    check_similarity,
    check_smiles_text,
    unknown_id_error,
)


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """A drug-miRNA association dataset, validated on construction and read-only afterwards.

    Attributes:
        name: ``"fcd"``, ``"pcd"`` or a user-chosen name.
        drug_ids: ``(n_drugs,)`` IDs, e.g. ``"CID:2578"``; row order of every drug-indexed array.
        mirna_ids: ``(n_mirnas,)`` IDs, e.g. ``"hsa-mir-200c"``; column order of ``associations``.
        associations: ``(n_drugs, n_mirnas)`` float64 of 0/1 (1 = confirmed), read-only.
        drug_similarity: ``(n_drugs, n_drugs)`` float64 biological similarity in [0, 1], symmetric,
            read-only; ``None`` when absent (PCD). The diagonal need not be 1.
        mirna_similarity: ``(n_mirnas, n_mirnas)``, the same for miRNAs; ``None`` when absent.
        drug_smiles: ``(n_drugs,)`` SMILES aligned to ``drug_ids``, ``None`` where missing.
        mirna_hairpin: ``(n_mirnas,)`` precursor (hairpin) sequences, RNA alphabet ACGU.
        mirna_mature: ``(n_mirnas,)`` mature sequences: the 5p arm where annotated, else the 3p arm.
        checksums: sha256 of every file read, keyed by path relative to the data directory
            (tables shipped with the package: ``package:data/<file name>``).
        source: the directory (or ``"download cache: ..."``) the data came from.
    """

    name: str
    drug_ids: tuple[str, ...]
    mirna_ids: tuple[str, ...]
    associations: np.ndarray
    drug_similarity: np.ndarray | None = None
    mirna_similarity: np.ndarray | None = None
    drug_smiles: tuple[str | None, ...] | None = None
    mirna_hairpin: tuple[str | None, ...] | None = None
    mirna_mature: tuple[str | None, ...] | None = None
    checksums: Mapping[str, str] = dataclasses.field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        # Loaders validate each file with its own name first; this is the last line of defence
        # for datasets built directly, and it freezes the arrays.
        label = f"dataset {self.name!r}"
        set_field = functools.partial(object.__setattr__, self)
        set_field("drug_ids", _entries(self.drug_ids, "drug_ids", label))
        set_field("mirna_ids", _entries(self.mirna_ids, "mirna_ids", label))
        check_ids(self.drug_ids, label=label, kind="drug")
        check_ids(self.mirna_ids, label=label, kind="miRNA")
        associations = _frozen_float64(self.associations, f"{label} associations")
        check_shape(associations, (self.n_drugs, self.n_mirnas), label=f"{label} associations", what="the ID lists")
        check_binary(associations, label=f"{label} associations")
        set_field("associations", associations)
        for field, size in (("drug_similarity", self.n_drugs), ("mirna_similarity", self.n_mirnas)):
            matrix = getattr(self, field)
            if matrix is not None:
                matrix = _frozen_float64(matrix, f"{label} {field}")
                check_shape(matrix, (size, size), label=f"{label} {field}", what="the ID list")
                check_similarity(matrix, label=f"{label} {field}")
                set_field(field, matrix)
        sequence_fields = (("drug_smiles", self.n_drugs), ("mirna_hairpin", self.n_mirnas), ("mirna_mature", self.n_mirnas))
        for field, size in sequence_fields:
            values = getattr(self, field)
            values = (None,) * size if values is None else _entries(values, field, label)
            if len(values) != size:
                raise DataError(f"{label}: {field} has {len(values)} entries for {size} IDs")
            set_field(field, tuple(_checked_sequence(value, field, row, label) for row, value in enumerate(values)))
        set_field("checksums", types.MappingProxyType(dict(self.checksums)))

    @property
    def n_drugs(self) -> int:
        return len(self.drug_ids)

    @property
    def n_mirnas(self) -> int:
        return len(self.mirna_ids)

    @property
    def n_known(self) -> int:
        return int(np.count_nonzero(self.associations))

    @property
    def has_smiles(self) -> np.ndarray:
        """``(n_drugs,)`` bool: a SMILES is available."""
        return np.array([smiles is not None for smiles in self.drug_smiles], dtype=bool)

    @property
    def has_hairpin(self) -> np.ndarray:
        """``(n_mirnas,)`` bool: a hairpin sequence is available."""
        return np.array([sequence is not None for sequence in self.mirna_hairpin], dtype=bool)

    @property
    def has_mature(self) -> np.ndarray:
        """``(n_mirnas,)`` bool: a mature sequence is available."""
        return np.array([sequence is not None for sequence in self.mirna_mature], dtype=bool)

    def known_pairs(self) -> np.ndarray:
        """``(n_known, 2)`` int64 (drug_index, mirna_index) of the ones of A, row-major order."""
        return np.argwhere(self.associations == 1).astype(np.int64)

    def drug_index(self, drug_id: str) -> int:
        """Row of ``drug_id``; :class:`DataError` with close matches when unknown."""
        try:
            return self._drug_positions[drug_id]
        except KeyError:
            raise unknown_id_error(drug_id, self.drug_ids, kind="drug", dataset=self.name) from None

    def mirna_index(self, mirna_id: str) -> int:
        """Column of ``mirna_id``; :class:`DataError` with close matches when unknown."""
        try:
            return self._mirna_positions[mirna_id]
        except KeyError:
            raise unknown_id_error(mirna_id, self.mirna_ids, kind="miRNA", dataset=self.name) from None

    @functools.cached_property
    def _drug_positions(self) -> dict[str, int]:
        return {identifier: position for position, identifier in enumerate(self.drug_ids)}

    @functools.cached_property
    def _mirna_positions(self) -> dict[str, int]:
        return {identifier: position for position, identifier in enumerate(self.mirna_ids)}

    def summary(self) -> dict[str, Any]:
        """Counts describing the dataset (plain Python values, JSON-serialisable)."""
        size = self.n_drugs * self.n_mirnas
        return {
            "name": self.name,
            "drugs": self.n_drugs,
            "mirnas": self.n_mirnas,
            "known_pairs": self.n_known,
            "density": self.n_known / size if size else 0.0,
            "drugs_with_pairs": int(np.count_nonzero(self.associations.any(axis=1))),
            "mirnas_with_pairs": int(np.count_nonzero(self.associations.any(axis=0))),
            "drugs_with_smiles": int(self.has_smiles.sum()),
            "mirnas_with_hairpin": int(self.has_hairpin.sum()),
            "mirnas_with_mature": int(self.has_mature.sum()),
            "drug_similarity": self.drug_similarity is not None,
            "mirna_similarity": self.mirna_similarity is not None,
            "source": self.source,
        }

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, drugs={self.n_drugs}, mirnas={self.n_mirnas}, "
            f"known_pairs={self.n_known}, source={self.source!r})"
        )


def _frozen_float64(matrix: Any, label: str) -> np.ndarray:
    try:
        array = np.array(matrix, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as error:  # ragged rows, text
        raise DataError(f"{label}: not a numeric matrix ({error})") from None
    array.setflags(write=False)
    return array


def _entries(values, field: str, label: str) -> tuple:
    """A per-item field as a tuple; one string would become one entry per letter."""
    try:
        check_not_text(field, values)
    except TypeError as error:
        raise DataError(f"{label}: {error}") from None
    return tuple(values)


def _checked_sequence(value, field: str, row: int, label: str) -> str | None:
    """What the file loaders check of a SMILES or sequence, for a dataset built directly:
    text without whitespace; RNA upper-cased with T read as U."""
    if value is None:
        return None
    where = f"{label}: {field}[{row}]"
    if not isinstance(value, str):
        raise DataError(f"{where} is {value!r}: a SMILES or sequence must be text (None where there is none)")
    if field == "drug_smiles":
        return check_smiles_text(value, label=where)
    if not value.strip():
        raise DataError(f"{where} is empty: give None where there is no sequence")
    return normalise_rna(value, label=where)
