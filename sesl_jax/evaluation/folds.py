"""Cross-validation folds as data: which known pairs each fold hides.

A fold is never a Python branch. Every protocol (global LOOCV, k-fold, new drug, new miRNA, or a
user file) produces the same :class:`Folds` record: a padded ``(n_folds, max_hidden, 2)`` index
array, so a batched engine can ``vmap`` over the fold axis and turn each row into a mask with
:func:`hidden_masks`.

Local LOOCV (drug- or miRNA-fixed) uses the same folds as global LOOCV; only the candidate set a
hidden pair is ranked against changes (see :func:`sesl_jax.evaluation.metrics.local_rank_counts`).
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from sesl_jax._values import check_integer, check_not_text, is_integer
from sesl_jax._io import atomic_write
from sesl_jax.data import DataError
from sesl_jax.data._tables import read_records

PROTOCOLS = ("loocv", "kfold", "new-drug", "new-mirna", "file")
PADDING = -1
FOLD_FILE_COLUMNS = ("repeat", "fold", "drug_id", "mirna_id")


@dataclass(frozen=True)
class Folds:
    """The hidden known pairs of every fold.

    Attributes:
        protocol: one of :data:`PROTOCOLS`.
        hidden: ``(n_folds, max_hidden, 2)`` int32 ``(drug_index, mirna_index)`` of the hidden known
            pairs; rows past ``n_hidden[f]`` are padding, filled with ``-1``.
        n_hidden: ``(n_folds,)`` int32, number of real rows of each fold.
        repeat: ``(n_folds,)`` int32 repeat index (always 0 for loocv, new-drug, new-mirna).
        fold_in_repeat: ``(n_folds,)`` int32 position of the fold within its repeat.
        seed: seed of the random split (k-fold), else ``None``.
    """

    protocol: str
    hidden: np.ndarray
    n_hidden: np.ndarray
    repeat: np.ndarray
    fold_in_repeat: np.ndarray
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"unknown fold protocol {self.protocol!r}; expected one of {PROTOCOLS}")
        n_folds = self.hidden.shape[0]
        if self.hidden.ndim != 3 or self.hidden.shape[2] != 2:
            raise ValueError(f"hidden must have shape (n_folds, max_hidden, 2), got {self.hidden.shape}")
        for name in ("n_hidden", "repeat", "fold_in_repeat"):
            if getattr(self, name).shape != (n_folds,):
                raise ValueError(f"{name} must have shape ({n_folds},), got {getattr(self, name).shape}")

    @property
    def n_folds(self) -> int:
        return int(self.hidden.shape[0])

    @property
    def n_repeats(self) -> int:
        return int(self.repeat.max()) + 1 if self.n_folds else 0

    def fold_pairs(self, fold: int) -> np.ndarray:
        """The real (unpadded) hidden pairs of one fold, shape ``(n_hidden[fold], 2)``."""
        return self.hidden[fold, : self.n_hidden[fold]]

    def to_frame(self) -> pd.DataFrame:
        """One row per hidden pair: fold, repeat, fold_in_repeat, drug_index, mirna_index."""
        fold = np.repeat(np.arange(self.n_folds, dtype=np.int32), self.n_hidden)
        valid = np.arange(self.hidden.shape[1])[None, :] < self.n_hidden[:, None]
        pairs = self.hidden[valid]  # boolean indexing keeps fold-major, row order
        return pd.DataFrame(
            {
                "fold": fold,
                "repeat": self.repeat[fold],
                "fold_in_repeat": self.fold_in_repeat[fold],
                "drug_index": pairs[:, 0],
                "mirna_index": pairs[:, 1],
            }
        )


def known_pairs(associations: np.ndarray) -> np.ndarray:
    """``(n_known, 2)`` int32 ``(drug_index, mirna_index)`` of the known pairs, row-major order."""
    return np.argwhere(_as_matrix(associations)).astype(np.int32)


def candidate_mask(associations: np.ndarray) -> np.ndarray:
    """``(n_drugs, n_mirnas)`` bool: pairs unknown in the FULL matrix, which hidden pairs are ranked against."""
    return ~_as_matrix(associations)


def loocv_folds(associations: np.ndarray) -> Folds:
    """Global leave-one-out: one fold per known pair, in row-major order of the known pairs."""
    pairs = known_pairs(associations)
    return _pack("loocv", [pair[None] for pair in pairs])


def kfold_folds(associations: np.ndarray, k: int = 5, repeats: int = 1, seed: int = 0) -> Folds:
    """Known pairs split at random into ``k`` near-equal folds, ``repeats`` times.

    Each repeat is a fresh permutation from one ``np.random.default_rng(seed)`` stream, so the
    whole split is fixed by ``seed``. Fold sizes differ by at most one; within a fold the pairs are
    kept in row-major order. Folds are ordered repeat-major: fold ``r * k + i`` is fold ``i`` of repeat ``r``.
    """
    pairs = known_pairs(associations)
    # a float k would be truncated, a None seed give a split nobody can repeat
    for name, value, minimum in (("k", k, 2), ("repeats", repeats, 1), ("seed", seed, 0)):
        check_integer(name, value, minimum)
    if k > len(pairs):
        raise ValueError(f"cannot split {len(pairs)} known pairs into k={k} non-empty folds")
    rng = np.random.default_rng(seed)
    groups, repeat, fold_in_repeat = [], [], []
    for r in range(repeats):
        for i, members in enumerate(np.array_split(rng.permutation(len(pairs)), k)):
            groups.append(pairs[np.sort(members)])
            repeat.append(r)
            fold_in_repeat.append(i)
    return _pack("kfold", groups, repeat, fold_in_repeat, seed=seed)


def new_drug_folds(associations: np.ndarray, drugs: Sequence[int] | None = None) -> Folds:
    """One fold per drug hiding every known pair of that drug (default: every drug with a known pair)."""
    return _line_folds("new-drug", associations, axis=0, indices=drugs)


def new_mirna_folds(associations: np.ndarray, mirnas: Sequence[int] | None = None) -> Folds:
    """One fold per miRNA hiding every known pair of that miRNA (default: every miRNA with a known pair)."""
    return _line_folds("new-mirna", associations, axis=1, indices=mirnas)


def hidden_masks(folds: Folds, shape: tuple[int, int]) -> np.ndarray:
    """``(n_folds, n_drugs, n_mirnas)`` bool, True at each fold's hidden pairs (padding ignored)."""
    masks = np.zeros((folds.n_folds, *shape), dtype=bool)
    valid = np.arange(folds.hidden.shape[1])[None, :] < folds.n_hidden[:, None]
    fold_index = np.broadcast_to(np.arange(folds.n_folds)[:, None], valid.shape)
    masks[fold_index[valid], folds.hidden[..., 0][valid], folds.hidden[..., 1][valid]] = True
    return masks


def read_fold_file(
    path: str | os.PathLike,
    associations: np.ndarray,
    drug_ids: Sequence[str],
    mirna_ids: Sequence[str],
) -> Folds:
    """Read user-defined folds from a CSV (or TSV) with columns ``fold, drug_id, mirna_id`` (optional ``repeat``).

    The file is read as a pair file is (:func:`sesl_jax.data._tables.read_records`: delimiter from
    the header, header = line 1, blank lines counted). Folds are ordered by ``(repeat, fold)``
    value and renumbered densely from 0 (so labels 1..5 become ``fold_in_repeat`` 0..4); pairs
    keep their file order. Every pair must be a known pair hidden by at most one fold of each
    repeat (two would test it twice), and no fold may hide every known pair (nothing to train on).

    Raises:
        DataError: (a ``ValueError``) naming the file, and for a bad row its line and IDs: a
            missing or unreadable file, missing columns, an empty or non-integer fold or repeat
            label, an empty or unknown ID, a pair that is not known, a pair in two folds (or twice
            in one) of a repeat, a fold hiding all known pairs; and the file-form errors of
            :func:`~sesl_jax.data._tables.read_records`.
    """
    path = Path(path)
    label = str(path)
    matrix = _as_matrix(associations)
    index = {"drug_id": {str(d): i for i, d in enumerate(drug_ids)},
             "mirna_id": {str(m): j for j, m in enumerate(mirna_ids)}}
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}  # (repeat, fold) label -> hidden pairs
    first: dict[tuple[int, int, int], tuple[int, int]] = {}  # (repeat, drug, miRNA) -> (fold, line)
    for line, cell in read_records(path, ("fold", "drug_id", "mirna_id"), what="fold file", optional=("repeat",),
                                   label=label):
        where = f"{label}: line {line}"
        fold = _integer_label(cell("fold"), "fold", where)
        repeat = 0 if cell("repeat") is None else _integer_label(cell("repeat"), "repeat", where)
        drug_id, mirna_id = cell("drug_id"), cell("mirna_id")
        for column, identifier in (("drug_id", drug_id), ("mirna_id", mirna_id)):
            if not identifier:
                raise DataError(f"{where}: empty {column}")
            if identifier not in index[column]:
                raise DataError(f"{where}: unknown {column} {identifier!r}")
        i, j = index["drug_id"][drug_id], index["mirna_id"][mirna_id]
        if not matrix[i, j]:
            raise DataError(f"{where}: ({drug_id}, {mirna_id}) is not a known pair; only known pairs can be hidden")
        earlier_fold, earlier_line = first.setdefault((repeat, i, j), (fold, line))
        if earlier_line != line:
            raise DataError(
                f"{where}: ({drug_id}, {mirna_id}) is listed twice in repeat {repeat}: in fold {earlier_fold} on line "
                f"{earlier_line} and in fold {fold} here; a pair may be hidden by only one fold of a repeat"
            )
        groups.setdefault((repeat, fold), []).append((i, j))
    if not groups:
        raise DataError(f"{label}: no folds in the file")

    n_known = int(matrix.sum())
    hidden, repeat_of, fold_of = [], [], []
    for r, (repeat, keys) in enumerate(itertools.groupby(sorted(groups), key=lambda key: key[0])):
        for i, key in enumerate(keys):
            if len(groups[key]) == n_known:
                raise DataError(f"{label}: fold {key[1]} of repeat {repeat} hides all {n_known} known pairs, "
                                "leaving none to train on")
            hidden.append(np.array(groups[key], dtype=np.int32))
            repeat_of.append(r)
            fold_of.append(i)
    return _pack("file", hidden, repeat_of, fold_of)


def _integer_label(value: str, column: str, where: str) -> int:
    """A fold or repeat label: an integer, written in ASCII digits."""
    if not re.fullmatch(r"[+-]?[0-9]+", value):
        raise DataError(f"{where}: {column} {value!r} is not an integer" if value else f"{where}: empty {column}")
    return int(value)


def write_fold_file(
    folds: Folds,
    path: str | os.PathLike,
    drug_ids: Sequence[str],
    mirna_ids: Sequence[str],
) -> Path:
    """Write ``folds`` atomically as the CSV :func:`read_fold_file` reads: repeat, fold, drug_id, mirna_id."""
    pairs = folds.to_frame()
    drug_ids, mirna_ids = np.asarray(drug_ids, dtype=object), np.asarray(mirna_ids, dtype=object)
    frame = pd.DataFrame(
        {
            "repeat": pairs["repeat"],
            "fold": pairs["fold_in_repeat"],
            "drug_id": drug_ids[pairs["drug_index"].to_numpy()],
            "mirna_id": mirna_ids[pairs["mirna_index"].to_numpy()],
        }
    )
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def _line_folds(protocol: str, associations: np.ndarray, axis: int, indices: Sequence[int] | None) -> Folds:
    """One fold per drug (axis 0) or miRNA (axis 1), hiding all known pairs on that line."""
    pairs = known_pairs(associations)
    n_lines = _as_matrix(associations).shape[axis]
    counts = np.bincount(pairs[:, axis], minlength=n_lines)
    if indices is None:
        indices = np.flatnonzero(counts)
    entity = "drug" if axis == 0 else "miRNA"
    check_not_text(f"{entity} indices", indices)
    groups, seen = [], set()
    for index in indices:
        if not is_integer(index):  # True would mean drug 1, 0.7 drug 0, and an ID is not a position
            raise ValueError(f"{entity} indices are integer positions, got {index!r}"
                            + (" (an ID: look its position up in the dataset's IDs)" if isinstance(index, str) else ""))
        index = int(index)
        if index in seen:
            raise ValueError(f"{entity} index {index} is given twice: its fold would be evaluated twice")
        seen.add(index)
        if not 0 <= index < n_lines:
            raise ValueError(f"{entity} index {index} out of range [0, {n_lines})")
        if counts[index] == 0:
            raise ValueError(f"{entity} index {index} has no known pair, so its fold would hide nothing")
        groups.append(pairs[pairs[:, axis] == index])
    return _pack(protocol, groups)


def _pack(
    protocol: str,
    groups: list[np.ndarray],
    repeat: Sequence[int] | None = None,
    fold_in_repeat: Sequence[int] | None = None,
    seed: int | None = None,
) -> Folds:
    """Pad per-fold ``(n_i, 2)`` pair lists into one :class:`Folds` record."""
    n_hidden = np.array([len(g) for g in groups], dtype=np.int32)
    hidden = np.full((len(groups), int(n_hidden.max(initial=0)), 2), PADDING, dtype=np.int32)
    for f, group in enumerate(groups):
        hidden[f, : len(group)] = group
    if repeat is None:  # a single pass over the folds: repeat 0, folds numbered in order
        repeat, fold_in_repeat = np.zeros(len(groups)), np.arange(len(groups))
    return Folds(
        protocol=protocol,
        hidden=hidden,
        n_hidden=n_hidden,
        repeat=np.asarray(repeat, np.int32),
        fold_in_repeat=np.asarray(fold_in_repeat, np.int32),
        seed=seed,
    )


def check_folds(folds: Folds, associations: np.ndarray) -> None:
    """``folds`` hide known pairs of ``associations`` only (folds built from another matrix would be
    scored, and JAX clamps an index out of range instead of failing).

    Raises:
        TypeError: ``folds`` is not a :class:`Folds`.
        ValueError: no fold, a real row outside the matrix, or a hidden pair that is not known.
    """
    if not isinstance(folds, Folds):
        raise TypeError(f"folds must be a Folds (e.g. loocv_folds(associations)), got {type(folds).__name__}")
    matrix = _as_matrix(associations)
    if folds.n_folds == 0:
        raise ValueError("folds hold no fold: nothing to evaluate (a matrix without known pairs has no folds)")
    real = np.arange(folds.hidden.shape[1])[None, :] < folds.n_hidden[:, None]
    pairs = folds.hidden[real]
    fold_of = np.broadcast_to(np.arange(folds.n_folds)[:, None], real.shape)[real]
    outside = (pairs < 0).any(axis=1) | (pairs[:, 0] >= matrix.shape[0]) | (pairs[:, 1] >= matrix.shape[1])
    if outside.any():
        first = int(np.argmax(outside))
        raise ValueError(f"fold {int(fold_of[first])} hides pair {tuple(int(i) for i in pairs[first])}, outside the "
                         f"{matrix.shape[0]} x {matrix.shape[1]} association matrix: folds of another matrix?")
    unknown = ~matrix[pairs[:, 0], pairs[:, 1]]
    if unknown.any():
        first = int(np.argmax(unknown))
        raise ValueError(f"fold {int(fold_of[first])} hides pair {tuple(int(i) for i in pairs[first])}, which is not a "
                         "known pair of the association matrix: folds of another matrix?")


def _as_matrix(associations: np.ndarray) -> np.ndarray:
    """The association matrix as bool ``(n_drugs, n_mirnas)``; rejects anything but 0/1."""
    matrix = np.asarray(associations)
    if matrix.ndim != 2:
        raise ValueError(f"associations must be 2-D (n_drugs, n_mirnas), got shape {matrix.shape}")
    if not np.isin(matrix, (0, 1)).all():
        raise ValueError("associations must be binary (0 = unknown, 1 = known)")
    return matrix.astype(bool)
