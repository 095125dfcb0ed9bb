"""The pair of similarity matrices every method takes."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Similarities(NamedTuple):
    """A pair of similarity matrices and where they came from."""

    drug: np.ndarray  # (n_drugs, n_drugs)
    mirna: np.ndarray  # (n_mirnas, n_mirnas)
    source: str  # e.g. "drug=biological,mirna=biological", "drug=sequence,mirna=biological,map=gaussian"
