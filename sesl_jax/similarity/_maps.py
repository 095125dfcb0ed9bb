"""From feature codes to similarity matrices (SPEC step 2).

The paper turns Euclidean distances between 64-d codes into similarities without saying how.
Every map here gives a symmetric matrix in [0, 1] with ones on the diagonal that decreases
with distance; ``gaussian`` is the default.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

SimilarityMap = Literal["gaussian", "inverse", "linear"]
SIMILARITY_MAPS: tuple[str, ...] = ("gaussian", "inverse", "linear")


def euclidean_distances(codes: np.ndarray, others: np.ndarray | None = None) -> np.ndarray:
    """Pairwise Euclidean distances, shape (n, m), between rows of ``codes`` and ``others``."""
    codes = np.asarray(codes, dtype=np.float64)
    others = codes if others is None else np.asarray(others, dtype=np.float64)
    squared = (
        np.sum(codes**2, axis=1)[:, None] + np.sum(others**2, axis=1)[None, :] - 2.0 * codes @ others.T
    )
    distances = np.sqrt(np.maximum(squared, 0.0))
    if others is codes:
        np.fill_diagonal(distances, 0.0)
        distances = 0.5 * (distances + distances.T)
    return distances


def distance_scale(distances: np.ndarray, kind: SimilarityMap) -> float:
    """The scale a map needs, taken from a square distance matrix of the reference set.

    Gaussian: the median off-diagonal distance; linear: the largest distance; inverse: none (1).
    Keeping the scale separate lets a new item be mapped with the reference set's scale.
    """
    distances = np.asarray(distances, dtype=np.float64)
    off_diagonal = distances[~np.eye(distances.shape[0], dtype=bool)] if distances.shape[0] > 1 else distances
    if kind == "gaussian":
        scale = float(np.median(off_diagonal)) if off_diagonal.size else 1.0
    elif kind == "linear":
        scale = float(np.max(off_diagonal)) if off_diagonal.size else 1.0
    elif kind == "inverse":
        scale = 1.0
    else:
        raise ValueError(f"unknown similarity map {kind!r}; choose one of {SIMILARITY_MAPS}")
    return scale if scale > 0 else 1.0


def distances_to_similarity(distances: np.ndarray, kind: SimilarityMap = "gaussian", scale: float | None = None) -> np.ndarray:
    """Map distances to similarities in [0, 1].

    - ``gaussian``: ``exp(-d^2 / (2 s^2))``, ``s`` = median off-diagonal distance;
    - ``inverse``: ``1 / (1 + d)``;
    - ``linear``: ``1 - d / s`` clipped at 0 (``s`` = largest distance, so the reference set never clips).
    """
    distances = np.asarray(distances, dtype=np.float64)
    if scale is None:
        scale = distance_scale(distances, kind)
    if kind == "gaussian":
        similarity = np.exp(-(distances**2) / (2.0 * scale**2))
    elif kind == "inverse":
        similarity = 1.0 / (1.0 + distances)
    elif kind == "linear":
        similarity = np.maximum(1.0 - distances / scale, 0.0)
    else:
        raise ValueError(f"unknown similarity map {kind!r}; choose one of {SIMILARITY_MAPS}")
    return similarity


def code_similarity(codes: np.ndarray, kind: SimilarityMap = "gaussian") -> np.ndarray:
    """Similarity matrix (n, n) of a set of codes (n, d): symmetric, in [0, 1], unit diagonal."""
    distances = euclidean_distances(codes)
    similarity = distances_to_similarity(distances, kind)
    np.fill_diagonal(similarity, 1.0)
    return similarity
