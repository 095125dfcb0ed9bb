"""Matrices given directly (``SESL().fit(A, Sd, Sm)``, ``pipeline.build_method``) are checked like
the data layer checks a dataset: one clear ``ValueError`` naming the matrix and the entry."""

from __future__ import annotations

import numpy as np
import pytest

from sesl_jax import SESL
from sesl_jax.pipeline import MethodConfig, build_method
from sesl_jax.similarity import Similarities
from synthetic import planted_problem


def _bad_inputs():
    A, Sd, Sm = planted_problem(5, 7, seed=31)
    asymmetric = Sd.copy()
    asymmetric[0, 1] += 0.05
    above = Sm.copy()
    above[2, 3] = above[3, 2] = 1.5
    missing = Sd.copy()
    missing[1, 1] = np.nan
    counts = A.copy()
    counts[0, 0] = 3
    return [
        ("1-D", (A[0], Sd, Sm), r"associations: expected a non-empty 2-D"),
        ("not binary", (counts, Sd, Sm), r"associations: row 0, column 0 holds 3; associations must be 0 or 1"),
        ("shape", (A, Sd[:4, :4], Sm), r"drug_similarity: shape \(4, 4\), but the association matrix has 5 drugs"),
        ("miRNA shape", (A, Sd, Sm[:, :6]), r"mirna_similarity: shape \(7, 6\), but the association matrix has 7 miRNAs"),
        ("asymmetric", (A, asymmetric, Sm), r"drug_similarity: not symmetric: row 0, column 1"),
        ("outside [0, 1]", (A, Sd, above), r"mirna_similarity: row 2, column 3 holds 1.5; similarities must lie in \[0, 1\]"),
        ("non-finite", (A, missing, Sm), r"drug_similarity: row 1, column 1 holds nan; values must be finite"),
    ]


BAD = _bad_inputs()


@pytest.mark.parametrize(("case", "inputs", "message"), BAD, ids=[case for case, _, _ in BAD])
def test_estimator_refuses_bad_matrices(case, inputs, message):
    with pytest.raises(ValueError, match=message):
        SESL("sesl", dtype="float64").fit(*inputs)


@pytest.mark.parametrize(("case", "inputs", "message"), BAD, ids=[case for case, _, _ in BAD])
def test_build_method_refuses_bad_matrices(case, inputs, message):
    associations, drug, mirna = inputs
    with pytest.raises(ValueError, match=message):
        build_method(associations, Similarities(drug, mirna, "caller"), MethodConfig("se"))


def test_valid_matrices_with_a_non_unit_diagonal_pass():
    A, Sd, Sm = planted_problem(5, 7, seed=32)
    np.fill_diagonal(Sd, 0.8)  # like the benchmark files
    method = build_method(A, Similarities(Sd, Sm, "caller"), MethodConfig("se"))
    assert method.name
