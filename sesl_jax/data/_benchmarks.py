"""The two SM2miR-derived benchmarks: PCD (AMCSMMA dataset 1) and FCD (dataset 2).

Files are read from ``<data dir>/amcsmma/dataset1`` and ``.../dataset2`` (the layout of the shared
data directory, which the download cache mirrors) and from ``<data dir>/sequences``; without the
latter, SMILES and sequences come from the tables shipped with the package (see ``_sequences``).

* PCD: 831 drugs x 541 miRNAs, 664 known pairs; miRNA similarity only (the 831 x 831 drug
  similarity was never published in a retrievable form, so ``drug_similarity`` is ``None``
  unless ``SM similarity matrix.txt`` is present).
* FCD: the 39 x 286 non-empty block of PCD, both similarities. FCD drugs keep PCD order, FCD
  miRNAs do not; every array is indexed by the dataset's own ID lists.

ID lists are read from their ``.csv`` conversions, else the ``.xlsx`` originals. FCD's originals
are legacy ``.xls`` files (not read, to avoid a dependency); without ``SM number 2.csv`` /
``miRNA number 2.csv`` (the download cache) FCD's IDs are recovered from PCD: the two confirmed
pair lists hold the same 664 pairs in the same order, so pair k maps FCD (drug, miRNA) indices to
PCD ones. The recovered map is checked to be one-to-one and to reproduce FCD's association and
miRNA similarity matrices exactly from PCD's.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from sesl_jax.data._dataset import Dataset
from sesl_jax.data._errors import DataError
from sesl_jax.data._fetch import resolve_data_location, verify_cached_checksums
from sesl_jax.data._files import FileReader
from sesl_jax.data._sequences import SHIPPED_PREFIX, read_drug_smiles, read_mirna_sequences
from sesl_jax.data._tables import read_id_list, read_whitespace_matrix
from sesl_jax.data._validate import (
    check_binary,
    check_pairs_match_associations,
    check_shape,
    check_similarity,
)


@dataclasses.dataclass(frozen=True)
class BenchmarkFiles:
    """File names of one benchmark, relative to the data directory."""

    folder: str
    drug_ids: str  # stem; ``.csv`` then ``.xlsx`` is tried
    mirna_ids: str
    associations: str
    pairs: str
    drug_similarity: str
    mirna_similarity: str
    drug_similarity_required: bool

    def path(self, name: str) -> str:
        return f"{self.folder}/{name}"


PCD_FILES = BenchmarkFiles(
    folder="amcsmma/dataset1",
    drug_ids="SM number",
    mirna_ids="miRNA number",
    associations="SM-miRNA association matrix.txt",
    pairs="SM-miRNA-confirmed associations.txt",
    drug_similarity="SM similarity matrix.txt",
    mirna_similarity="miRNA similarity matrix.txt",
    drug_similarity_required=False,
)
FCD_FILES = BenchmarkFiles(
    folder="amcsmma/dataset2",
    drug_ids="SM number 2",
    mirna_ids="miRNA number 2",
    associations="SM-miRNA association matrix 2.txt",
    pairs="SM-miRNA-confirmed associations 2.txt",
    drug_similarity="SM similarity matrix 2.txt",
    mirna_similarity="miRNA similarity matrix 2.txt",
    drug_similarity_required=True,
)
BENCHMARKS = {"pcd": PCD_FILES, "fcd": FCD_FILES}

_NO_SEQUENCE_DOWNLOAD = (
    "SMILES and miRNA sequences of other IDs have no pinned public source to download from; point "
    "data_dir or $SESL_JAX_DATA at a directory holding sequences/ to get them."
)


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, *, download: bool | None = None) -> Dataset:
    """Load and validate a benchmark.

    Args:
        name: ``"fcd"`` or ``"pcd"`` (case-insensitive).
        data_dir: directory laid out like the shared data directory; default ``$SESL_JAX_DATA``,
            else the user cache (see :func:`resolve_data_dir`).
        download: whether the cache may be filled from the pinned URLs (``None``: yes, if needed).

    Returns:
        A :class:`Dataset`; ``associations`` is ``(n_drugs, n_mirnas)``. Without sequence files in
        the data directory, SMILES and sequences come from the tables shipped with the package
        (checksum-verified); IDs listed nowhere get ``None`` with a warning. Missing required files,
        a corrupted shipped table, or any invalid entry raise :class:`DataError` naming the file.
    """
    key = str(name).strip().lower()
    if key not in BENCHMARKS:
        raise DataError(f"unknown benchmark {name!r}; choose one of: {', '.join(sorted(BENCHMARKS))}")
    root, from_cache = resolve_data_location(data_dir, download=download)
    reader = FileReader(root)
    files = BENCHMARKS[key]
    associations, pairs = _read_associations(reader, files)
    drug_similarity = _read_similarity(reader, files, files.drug_similarity, required=files.drug_similarity_required)
    mirna_similarity = _read_similarity(reader, files, files.mirna_similarity, required=True)
    drug_ids = _read_ids(reader, files, files.drug_ids, kind="drug")
    mirna_ids = _read_ids(reader, files, files.mirna_ids, kind="miRNA")
    if drug_ids is None or mirna_ids is None:
        if files is not FCD_FILES:
            missing = files.path(files.drug_ids if drug_ids is None else files.mirna_ids)
            raise DataError(f"{missing}.csv (or .xlsx): required ID list not found in {root}")
        drug_ids, mirna_ids = _fcd_ids_from_pcd(reader, pairs, associations, mirna_similarity, drug_ids, mirna_ids)
    label = files.path
    check_shape(associations, (len(drug_ids), len(mirna_ids)), label=label(files.associations),
                what="the drug x miRNA ID lists")
    if drug_similarity is not None:
        check_shape(drug_similarity, (len(drug_ids),) * 2, label=label(files.drug_similarity), what="the drug ID list")
    check_shape(mirna_similarity, (len(mirna_ids),) * 2, label=label(files.mirna_similarity), what="the miRNA ID list")
    if from_cache:
        verify_cached_checksums(reader.checksums, root)
    hint = _NO_SEQUENCE_DOWNLOAD if from_cache else ""
    drug_smiles = read_drug_smiles(reader, drug_ids, hint=hint)
    mirna_hairpin, mirna_mature = read_mirna_sequences(reader, mirna_ids, hint=hint)
    return Dataset(
        name=key,
        drug_ids=drug_ids,
        mirna_ids=mirna_ids,
        associations=associations,
        drug_similarity=drug_similarity,
        mirna_similarity=mirna_similarity,
        drug_smiles=drug_smiles,
        mirna_hairpin=mirna_hairpin,
        mirna_mature=mirna_mature,
        checksums=reader.checksums,
        source=_source(root, from_cache=from_cache, checksums=reader.checksums),
    )


def _source(root: Path, *, from_cache: bool, checksums: dict[str, str]) -> str:
    source = f"download cache: {root}" if from_cache else str(root)
    if any(key.startswith(SHIPPED_PREFIX) for key in checksums):
        source += "; SMILES and sequences: tables shipped with sesl_jax"
    return source


def _read_associations(reader: FileReader, files: BenchmarkFiles) -> tuple[np.ndarray, np.ndarray]:
    """``(associations (n_drugs, n_mirnas), pairs (n_known, 2))``, validated against each other."""
    matrix_file = files.path(files.associations)
    associations = read_whitespace_matrix(reader.required(matrix_file, what="association matrix"), label=matrix_file)
    check_binary(associations, label=matrix_file)
    pairs_file = files.path(files.pairs)
    pairs = read_whitespace_matrix(reader.required(pairs_file, what="association pair list"), label=pairs_file)
    check_pairs_match_associations(pairs, associations, label=pairs_file)
    return associations, pairs.astype(np.int64)


def _read_similarity(reader: FileReader, files: BenchmarkFiles, name: str, *, required: bool) -> np.ndarray | None:
    relative = files.path(name)
    path = reader.required(relative, what="similarity matrix") if required else reader.optional(relative)
    if path is None:
        return None
    similarity = read_whitespace_matrix(path, label=relative)
    check_similarity(similarity, label=relative)
    return similarity


def _read_ids(reader: FileReader, files: BenchmarkFiles, stem: str, *, kind: str) -> tuple[str, ...] | None:
    relative = files.path(stem)
    path = reader.first_existing((f"{relative}.csv", f"{relative}.xlsx"))
    return None if path is None else read_id_list(path, kind=kind, label=str(Path(path).relative_to(reader.root)))


def _fcd_ids_from_pcd(
    reader: FileReader,
    fcd_pairs: np.ndarray,
    fcd_associations: np.ndarray,
    fcd_mirna_similarity: np.ndarray,
    fcd_drug_ids: tuple[str, ...] | None,
    fcd_mirna_ids: tuple[str, ...] | None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """FCD's (drug_ids, mirna_ids) through the row-aligned FCD and PCD pair lists (see module doc).

    An FCD ID list that was found (only one of the two is missing) must agree with the recovered one.
    """
    pcd_associations, pcd_pairs = _read_associations(reader, PCD_FILES)
    pcd_drug_ids = _read_ids(reader, PCD_FILES, PCD_FILES.drug_ids, kind="drug")
    pcd_mirna_ids = _read_ids(reader, PCD_FILES, PCD_FILES.mirna_ids, kind="miRNA")
    fcd_label = FCD_FILES.path(FCD_FILES.pairs)
    if pcd_drug_ids is None or pcd_mirna_ids is None:
        raise DataError(
            f"{FCD_FILES.path(FCD_FILES.drug_ids)}.csv / {FCD_FILES.path(FCD_FILES.mirna_ids)}.csv not found, "
            f"and PCD's ID lists ({PCD_FILES.folder}) are not there to recover them from"
        )
    if len(pcd_pairs) != len(fcd_pairs):
        raise DataError(f"{fcd_label}: {len(fcd_pairs)} pairs but PCD lists {len(pcd_pairs)}; cannot map FCD IDs")
    n_drugs, n_mirnas = fcd_associations.shape
    drug_rows = _aligned_index_map(fcd_pairs[:, 0], pcd_pairs[:, 0], n_drugs, label=fcd_label, kind="drug")
    mirna_columns = _aligned_index_map(fcd_pairs[:, 1], pcd_pairs[:, 1], n_mirnas, label=fcd_label, kind="miRNA")
    if not np.array_equal(pcd_associations[np.ix_(drug_rows, mirna_columns)], fcd_associations):
        raise DataError(f"{FCD_FILES.path(FCD_FILES.associations)}: not the PCD block the pair lists point to")
    pcd_mirna_similarity = _read_similarity(reader, PCD_FILES, PCD_FILES.mirna_similarity, required=True)
    if not np.array_equal(pcd_mirna_similarity[np.ix_(mirna_columns, mirna_columns)], fcd_mirna_similarity):
        raise DataError(f"{FCD_FILES.path(FCD_FILES.mirna_similarity)}: not the PCD block the pair lists point to")
    drug_ids = tuple(pcd_drug_ids[i] for i in drug_rows)
    mirna_ids = tuple(pcd_mirna_ids[j] for j in mirna_columns)
    checks = ((fcd_drug_ids, drug_ids, FCD_FILES.drug_ids), (fcd_mirna_ids, mirna_ids, FCD_FILES.mirna_ids))
    for found, recovered, stem in checks:
        if found is not None and found != recovered:
            row = next((k for k, (a, b) in enumerate(zip(found, recovered)) if a != b), min(len(found), len(recovered)))
            raise DataError(f"{FCD_FILES.path(stem)}: row {row} disagrees with the IDs the PCD pair list gives")
    return drug_ids, mirna_ids


def _aligned_index_map(fcd: np.ndarray, pcd: np.ndarray, size: int, *, label: str, kind: str) -> np.ndarray:
    """``(size,)`` PCD index of each FCD index, from two aligned index columns; must be one-to-one."""
    mapping = np.full(size, -1, dtype=np.int64)
    for row, (fcd_index, pcd_index) in enumerate(zip(fcd.tolist(), pcd.tolist())):
        if mapping[fcd_index] not in (-1, pcd_index):
            raise DataError(
                f"{label}: row {row}: FCD {kind} {fcd_index} maps to PCD {pcd_index} and {mapping[fcd_index]}"
            )
        mapping[fcd_index] = pcd_index
    if (mapping < 0).any() or len(set(mapping.tolist())) != size:
        raise DataError(f"{label}: the FCD and PCD pair lists do not give a one-to-one {kind} map")
    return mapping
