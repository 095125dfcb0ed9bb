"""From feature codes to similarity matrices (SPEC step 2).

The paper turns Euclidean distances between 64-d codes into similarities without saying how.
Every map here gives a symmetric matrix in [0, 1] with ones on the diagonal that decreases
with distance; ``gaussian`` is the default.

A map's text may carry a width relative to the median off-diagonal distance ``m`` of the
reference set: ``inverse:0.1`` is ``1 / (1 + d / (0.1 m))`` and ``gaussian:0.3`` has scale
``0.3 m``. Plain ``inverse`` is ``1 / (1 + d)`` on raw distances, so it depends on how far apart
an encoder happens to put its codes: the shipped SMILES LSTM's are about 150 apart on the benchmark
drugs (similarities about 0.006, nearly an identity matrix), other trainings' about 25. A width
makes the map see the codes' arrangement rather than their scale, so that encoders can be
compared (``docs/results.md``).
"""

from __future__ import annotations

import math

import numpy as np

SimilarityMap = str  # one of SIMILARITY_MAPS, optionally with a width: "inverse:0.1" (parse_map)
SIMILARITY_MAPS: tuple[str, ...] = ("gaussian", "inverse", "linear")  # the kinds; check_map reads a whole map text
WIDTH_MAPS: tuple[str, ...] = ("gaussian", "inverse")  # the maps a relative width applies to
# Widths outside these bounds would let the scale underflow or overflow; 1e-6 is an identity matrix already.
MIN_WIDTH, MAX_WIDTH = 1e-9, 1e9


def parse_map(text: str) -> tuple[str, float | None]:
    """``"inverse:0.1"`` -> ``("inverse", 0.1)``; ``"gaussian"`` -> ``("gaussian", None)``.

    A ValueError names what is wrong: an unknown map, a width that is not a positive finite
    number, or a width on ``linear`` (whose scale is the largest distance, so that the reference
    set never clips).
    """
    kind, colon, width_text = str(text).strip().partition(":")
    kind = kind.strip()
    if kind not in SIMILARITY_MAPS:
        raise ValueError(f"unknown similarity map {text!r}; choose one of {', '.join(SIMILARITY_MAPS)}, "
                         f"optionally with a relative width ({', '.join(f'{name}:W' for name in WIDTH_MAPS)})")
    if not colon:
        return kind, None
    if kind not in WIDTH_MAPS:
        raise ValueError(f"similarity map {text!r}: only {' and '.join(WIDTH_MAPS)} take a width")
    try:
        width = float(width_text)
    except ValueError:
        width = math.nan
    if not (math.isfinite(width) and MIN_WIDTH <= width <= MAX_WIDTH):
        raise ValueError(f"similarity map {text!r}: the width after ':' must be a number from {MIN_WIDTH:g} to "
                         f"{MAX_WIDTH:g} (a multiple of the median distance)")
    return kind, width


def check_map(text: str) -> str:
    """The canonical text of a map (``"inverse:0.10"`` -> ``"inverse:0.1"``; ``"gaussian:1"`` ->
    ``"gaussian"``, the same map), or a ValueError."""
    kind, width = parse_map(text)
    if width is None or (kind == "gaussian" and width == 1.0):
        return kind
    short = f"{width:g}"
    return f"{kind}:{short if float(short) == width else repr(width)}"  # the width exactly, shortest text


def euclidean_distances(codes: np.ndarray, others: np.ndarray | None = None) -> np.ndarray:
    """Pairwise Euclidean distances, shape (n, m), between rows of ``codes`` and ``others``."""
    codes = _checked_codes(codes, "codes")
    others = codes if others is None else _checked_codes(others, "others")
    if others.shape[1] != codes.shape[1]:
        raise ValueError(f"codes have {codes.shape[1]} dimensions, others {others.shape[1]}")
    squared = (
        np.sum(codes**2, axis=1)[:, None] + np.sum(others**2, axis=1)[None, :] - 2.0 * codes @ others.T
    )
    distances = np.sqrt(np.maximum(squared, 0.0))
    if others is codes:
        np.fill_diagonal(distances, 0.0)
        distances = 0.5 * (distances + distances.T)
    return distances


def _checked_codes(codes, name: str) -> np.ndarray:
    """A finite (items, dimensions) matrix: a NaN code would give NaN similarities without a word."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2:
        raise ValueError(f"{name} must be a matrix (items, dimensions), got shape {codes.shape}")
    if not np.all(np.isfinite(codes)):
        row = int(np.argwhere(~np.isfinite(codes))[0, 0])
        raise ValueError(f"{name}: row {row} holds NaN or inf")
    return codes


def distance_scale(distances: np.ndarray, kind: str) -> float:
    """The scale a map needs, taken from a square distance matrix of the reference set.

    Gaussian: the median off-diagonal distance (times the width, if any); linear: the largest
    distance; inverse: none (1), or the width times the median distance. Keeping the scale
    separate lets a new item be mapped with the reference set's scale.
    """
    kind, width = parse_map(kind)
    distances = np.asarray(distances, dtype=np.float64)
    off_diagonal = distances[~np.eye(distances.shape[0], dtype=bool)] if distances.shape[0] > 1 else distances
    if kind == "linear":
        scale = float(np.max(off_diagonal)) if off_diagonal.size else 1.0
    elif kind == "inverse" and width is None:
        scale = 1.0
    else:
        scale = float(np.median(off_diagonal)) * (width or 1.0) if off_diagonal.size else 1.0
    return scale if scale > 0 else 1.0


def distances_to_similarity(distances: np.ndarray, kind: str = "gaussian", scale: float | None = None) -> np.ndarray:
    """Map distances to similarities in [0, 1], with ``s`` from ``distance_scale`` unless given.

    - ``gaussian``: ``exp(-d^2 / (2 s^2))``, ``s`` = median off-diagonal distance (times the width);
    - ``inverse``: ``1 / (1 + d / s)``, ``s`` = 1 without a width (``1 / (1 + d)``), else the width
      times the median off-diagonal distance;
    - ``linear``: ``1 - d / s`` clipped at 0 (``s`` = largest distance, so the reference set never clips).
    """
    name, _ = parse_map(kind)
    distances = np.asarray(distances, dtype=np.float64)
    if not np.all(distances >= 0):  # NaN fails too
        raise ValueError("distances must be finite and >= 0")
    if scale is None:
        scale = distance_scale(distances, kind)
    elif not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    if name == "gaussian":
        similarity = np.exp(-(distances**2) / (2.0 * scale**2))
    elif name == "inverse":
        similarity = 1.0 / (1.0 + distances / scale)
    else:
        similarity = np.maximum(1.0 - distances / scale, 0.0)
    return similarity


def code_similarity(codes: np.ndarray, kind: str = "gaussian") -> np.ndarray:
    """Similarity matrix (n, n) of a set of codes (n, d): symmetric, in [0, 1], unit diagonal."""
    distances = euclidean_distances(codes)
    similarity = distances_to_similarity(distances, kind)
    np.fill_diagonal(similarity, 1.0)
    return similarity
