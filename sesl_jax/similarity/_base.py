"""The pair of similarity matrices every method takes, and the check every method's inputs pass."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Similarities(NamedTuple):
    """A pair of similarity matrices and where they came from."""

    drug: np.ndarray  # (n_drugs, n_drugs)
    mirna: np.ndarray  # (n_mirnas, n_mirnas)
    source: str  # e.g. "drug=biological,mirna=biological", "drug=sequence,mirna=biological,map=gaussian"


def check_method_inputs(associations, drug_similarity, mirna_similarity) -> None:
    """What the data layer checks of a dataset, for matrices given directly (Python API, new items).

    ``associations`` must be a 2-D ``(n_drugs, n_mirnas)`` matrix of exactly 0 and 1; each similarity
    must be ``(n, n)`` for its side, finite, in [0, 1] and symmetric (the diagonal need not be 1).

    Raises:
        DataError: (a ``ValueError``) naming the matrix and its first offending entry.
    """
    from sesl_jax.data._errors import DataError
    from sesl_jax.data._validate import check_binary, check_similarity

    for name, matrix in (("associations", associations), ("drug_similarity", drug_similarity),
                         ("mirna_similarity", mirna_similarity)):
        if np.iscomplexobj(matrix):  # float64 would drop the imaginary part with only numpy's warning
            raise DataError(f"{name}: complex values; give a real matrix")
    associations = np.asarray(associations, dtype=np.float64)
    if associations.ndim != 2 or 0 in associations.shape:
        raise DataError(f"associations: expected a non-empty 2-D (n_drugs, n_mirnas) matrix, got shape {associations.shape}")
    check_binary(associations, label="associations")
    n_drugs, n_mirnas = associations.shape
    for name, matrix, size, side in (("drug_similarity", drug_similarity, n_drugs, "drugs"),
                                     ("mirna_similarity", mirna_similarity, n_mirnas, "miRNAs")):
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.shape != (size, size):
            raise DataError(f"{name}: shape {matrix.shape}, but the association matrix has {size} {side} "
                            f"(expected ({size}, {size}))")
        check_similarity(matrix, label=name)
