"""The SESL estimator against the NumPy reference pipeline, and its ranking tables."""

from __future__ import annotations

import numpy as np
import pytest

import reference
from sesl_jax import SESL, DataError
from sesl_jax.model import SESLOptions
from synthetic import planted_problem


@pytest.mark.parametrize("method", ["sesl", "se"])
@pytest.mark.parametrize("observed", ["nonzero", "known"])
def test_fit_matches_numpy_reference(method, observed):
    A, Sd, Sm = planted_problem(9, 13, seed=21)
    model = SESL(method, dtype="float64", options=SESLOptions(sparse_learning=method == "sesl", observed=observed))
    model.fit(A, Sd, Sm)
    expected = reference.sesl(A, Sd, Sm, sparse_learning=method == "sesl", observed=observed)
    np.testing.assert_allclose(model.scores_, expected, atol=1e-8)
    assert set(model.stats_) == ({"lrr", "bnnr"} if method == "sesl" else {"bnnr"})
    assert all(stat["status"] == "converged" for stat in model.stats_.values())


def test_sparse_learning_changes_the_prediction_only_with_nonzero_omega():
    A, Sd, Sm = planted_problem(9, 13, seed=22)
    with_sl = SESL("sesl", dtype="float64").fit(A, Sd, Sm).scores_
    without = SESL("se", dtype="float64").fit(A, Sd, Sm).scores_
    assert np.abs(with_sl - without).max() > 1e-3


def test_rank_tables():
    A, Sd, Sm = planted_problem(6, 8, seed=23)
    model = SESL("sesl", dtype="float64").fit(A, Sd, Sm, drug_ids=[f"D{i}" for i in range(6)], mirna_ids=[f"M{j}" for j in range(8)])
    table = model.rank_mirnas("D2")
    assert list(table.columns) == ["rank", "mirna_id", "score", "known"]
    assert list(table["rank"]) == list(range(1, 9))
    assert np.all(np.diff(table["score"].to_numpy()) <= 0)
    np.testing.assert_array_equal(table.set_index("mirna_id").loc[[f"M{j}" for j in range(8)], "known"], A[2] == 1)
    top = model.rank_drugs("M1", top=3)
    assert len(top) == 3 and list(top.columns) == ["rank", "drug_id", "score", "known"]
    with pytest.raises(DataError, match="unknown drug ID 'D22'.*D2"):
        model.rank_mirnas("D22")
    with pytest.raises(DataError, match=r"unknown miRNA ID ' m1'; close matches: M1$"):  # letter case first
        model.rank_drugs(" m1")
    with pytest.raises(DataError, match=r"drug IDs are strings, got 2 \(int\); position 2 is 'D2'"):  # a row number
        model.rank_mirnas(2)
    with pytest.raises(DataError, match=r"miRNA IDs are strings, got 8 \(int\)$"):
        model.rank_drugs(8)


def test_bad_inputs_are_clear_errors():
    A, Sd, Sm = planted_problem(5, 7, seed=24)
    with pytest.raises(ValueError, match=r"drug_similarity: shape \(4, 4\), but the association matrix has 5 drugs"):
        SESL(dtype="float64").fit(A, Sd[:4, :4], Sm)
    bad = A.copy()
    bad[0, 0] = 2
    with pytest.raises(ValueError, match="associations must be 0 or 1"):
        SESL(dtype="float64").fit(bad, Sd, Sm)
    with pytest.raises(ValueError, match="unknown method"):
        SESL("nope").fit(A, Sd, Sm)
    with pytest.raises(RuntimeError, match="not fitted"):
        SESL().rank_mirnas("D0")
