"""Cross-validation folds as data: which known pairs each fold hides.

A fold is never a Python branch. Every protocol (global LOOCV, k-fold, new drug, new miRNA, or a
user file) produces the same :class:`Folds` record: a padded ``(n_folds, max_hidden, 2)`` index
array, so a batched engine can ``vmap`` over the fold axis and turn each row into a mask with
:func:`hidden_masks`.

Local LOOCV (drug- or miRNA-fixed) uses the same folds as global LOOCV; only the candidate set a
hidden pair is ranked against changes (see :func:`sesl_jax.evaluation.metrics.local_rank_counts`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from sesl_jax._io import atomic_write
from sesl_jax.data import DataError

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
    if k < 2:
        raise ValueError(f"k-fold needs k >= 2, got k={k}")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
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
    """Read user-defined folds from a CSV with columns ``fold, drug_id, mirna_id`` (optional ``repeat``).

    Folds are ordered by ``(repeat, fold)`` value and renumbered densely from 0 (so labels 1..5
    become ``fold_in_repeat`` 0..4); pairs keep their file order. Every pair must be a known pair
    and may appear only once per fold.

    Raises:
        DataError: (a ``ValueError``) naming the file, and for a bad row its CSV line (header =
            line 1) and IDs: a missing or unreadable file, missing columns, non-integer fold or
            repeat labels, an unknown ID, a pair that is not known, a pair twice in one fold.
    """
    path = Path(path)
    matrix = _as_matrix(associations)
    if not path.is_file():
        raise DataError(f"{path}: fold file not found")
    try:
        frame = pd.read_csv(path, dtype={"drug_id": str, "mirna_id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as error:
        raise DataError(f"{path}: not a readable CSV fold file ({str(error).strip().splitlines()[0]})") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    missing = [c for c in ("fold", "drug_id", "mirna_id") if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}; expected columns fold, drug_id, mirna_id "
            f"(optional repeat), found {', '.join(map(str, frame.columns))}"
        )
    if frame.empty:
        raise DataError(f"{path}: no folds in the file")
    if "repeat" not in frame.columns:
        frame["repeat"] = 0
    for column in ("fold", "repeat"):
        if frame[column].isna().any() or not pd.api.types.is_integer_dtype(frame[column]):
            raise DataError(f"{path}: column {column!r} must hold integers")

    drug_index = {str(d): i for i, d in enumerate(drug_ids)}
    mirna_index = {str(m): j for j, m in enumerate(mirna_ids)}
    pairs = np.empty((len(frame), 2), dtype=np.int32)
    seen: set[tuple[int, int, int, int]] = set()
    for row, (repeat, fold, drug_id, mirna_id) in enumerate(
        frame[["repeat", "fold", "drug_id", "mirna_id"]].itertuples(index=False)
    ):
        line = row + 2
        if drug_id not in drug_index:
            raise DataError(f"{path}, line {line}: unknown drug_id {drug_id!r}")
        if mirna_id not in mirna_index:
            raise DataError(f"{path}, line {line}: unknown mirna_id {mirna_id!r}")
        i, j = drug_index[drug_id], mirna_index[mirna_id]
        if not matrix[i, j]:
            raise DataError(
                f"{path}, line {line}: ({drug_id}, {mirna_id}) is not a known pair; only known pairs can be hidden"
            )
        key = (int(repeat), int(fold), i, j)
        if key in seen:
            raise DataError(
                f"{path}, line {line}: ({drug_id}, {mirna_id}) appears twice in fold {fold} (repeat {repeat})"
            )
        seen.add(key)
        pairs[row] = (i, j)

    groups, repeat_of, fold_of = [], [], []
    repeat_labels = np.unique(frame["repeat"].to_numpy())
    for r, repeat_label in enumerate(repeat_labels):
        in_repeat = frame["repeat"].to_numpy() == repeat_label
        for i, fold_label in enumerate(np.unique(frame.loc[in_repeat, "fold"].to_numpy())):
            rows = in_repeat & (frame["fold"].to_numpy() == fold_label)
            groups.append(pairs[rows])
            repeat_of.append(r)
            fold_of.append(i)
    return _pack("file", groups, repeat_of, fold_of)


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
    groups = []
    for index in indices:
        index = int(index)
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


def _as_matrix(associations: np.ndarray) -> np.ndarray:
    """The association matrix as bool ``(n_drugs, n_mirnas)``; rejects anything but 0/1."""
    matrix = np.asarray(associations)
    if matrix.ndim != 2:
        raise ValueError(f"associations must be 2-D (n_drugs, n_mirnas), got shape {matrix.shape}")
    if not np.isin(matrix, (0, 1)).all():
        raise ValueError("associations must be binary (0 = unknown, 1 = known)")
    return matrix.astype(bool)
