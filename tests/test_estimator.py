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


def test_a_similarity_given_for_one_side_is_recorded_as_the_callers():
    """A Dataset with one side's similarity replaced: that side is the caller's in every record,
    and a new item on it is refused (it cannot be placed in a matrix nobody named)."""
    from test_solver_inputs import _dataset_without_smiles

    dataset = _dataset_without_smiles()
    identity = np.eye(dataset.n_drugs)
    model = SESL("se", similarity="biological", dtype="float64").fit(dataset, drug_similarity=identity)
    assert model.similarity_sources_ == ("caller", "biological")
    assert model.similarities_.source.endswith("; drug similarity given by the caller")
    np.testing.assert_array_equal(model.similarities_.drug, identity)
    with pytest.raises(ValueError, match="fitted on caller-given matrices"):
        model.rank_mirnas(smiles="CCO")
    expected = SESL("se", dtype="float64").fit(dataset.associations, identity, dataset.mirna_similarity).scores_
    np.testing.assert_allclose(model.scores_, expected, atol=1e-12)


def test_builder_options_that_contradict_the_configuration_are_refused():
    from sesl_jax.model import SESLParams
    from sesl_jax.solvers import BNNRParams

    A, Sd, Sm = planted_problem(6, 8, seed=25)
    cases = [
        (SESL("se", bnnr_svt="svd", options=SESLOptions(sparse_learning=False)), ValueError,
         "options.bnnr_svt=.eigh. contradicts bnnr_svt=.svd.; set bnnr_svt in the options or as the argument"),
        (SESL("se", options=SESLOptions(sparse_learning=True)), ValueError,
         "options.sparse_learning=True contradicts method 'se', which has no sparse learning"),
        (SESL("se", simiarity="biological"), TypeError, "method 'se' takes no option 'simiarity'; its options: "
         "options, params, transductive"),
        (SESL("tspn", variant="published-code", transductive=False), TypeError,
         r"transductive is part of the configuration: give MethodConfig\(transductive=...\)"),
        (SESL("se", params={"bnnr": 1}), TypeError, "params must be a SESLParams"),
        (SESL("se", params=SESLParams(bnnr=BNNRParams(alpha=-1.0))), ValueError,
         "BNNRParams.alpha must be finite and > 0.0, got -1.0"),
    ]
    for model, error, message in cases:
        with pytest.raises(error, match=message):
            model.fit(A, Sd, Sm)
    with pytest.raises(TypeError, match="from_config takes a MethodConfig, got dict"):
        SESL.from_config({"method": "se"})
    # options alone set what the arguments leave at their defaults, and the records say so
    model = SESL("se", dtype="float64", options=SESLOptions(sparse_learning=False, observed="known")).fit(A, Sd, Sm)
    assert model.config()["observed"] == "known" and model.method_.config["options"]["observed"] == "known"


def test_float64_without_x64_is_refused_by_the_pipeline_too():
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import numpy as np
        from sesl_jax.pipeline import MethodConfig, build_method
        from sesl_jax.similarity import Similarities
        A = np.zeros((3, 4)); A[0, 0] = 1
        try:
            build_method(A, Similarities(np.eye(3), np.eye(4), "caller"), MethodConfig("bnnr"))
        except ValueError as error:
            print(error)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={"JAX_ENABLE_X64": "0", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "float64 needs jax.config.update('jax_enable_x64', True)" in result.stdout


def test_labelled_tables_give_ids_and_order():
    """A DataFrame's labels are the IDs, and similarity tables are matched by label, not position."""
    import pandas as pd

    A, Sd, Sm = planted_problem(6, 8, seed=26)
    drugs, mirnas = [f"D{i}" for i in range(6)], [f"M{j}" for j in range(8)]
    expected = SESL("se", dtype="float64").fit(A, Sd, Sm, drug_ids=drugs, mirna_ids=mirnas)
    order = [3, 0, 5, 1, 4, 2]
    shuffled = pd.DataFrame(Sd, index=drugs, columns=drugs).iloc[order, order]
    model = SESL("se", dtype="float64").fit(pd.DataFrame(A, index=drugs, columns=mirnas), shuffled,
                                            pd.DataFrame(Sm, index=mirnas, columns=mirnas))
    assert model.drug_ids_ == drugs and model.mirna_ids_ == mirnas
    np.testing.assert_allclose(model.scores_, expected.scores_, atol=1e-12)
    with pytest.raises(ValueError, match="drug similarity table's rows lacks 'D5' of the association table"):
        SESL("se", dtype="float64").fit(pd.DataFrame(A, index=drugs, columns=mirnas),
                                        pd.DataFrame(Sd, index=drugs[:5] + ["X"], columns=drugs), Sm)
    with pytest.raises(ValueError, match="drug_ids differ from the association table's labels"):
        SESL("se", dtype="float64").fit(pd.DataFrame(A, index=drugs, columns=mirnas), Sd, Sm, drug_ids=drugs[::-1])


def test_ranking_arguments_are_checked():
    A, Sd, Sm = planted_problem(6, 8, seed=27)
    model = SESL("se", dtype="float64").fit(A, Sd, Sm)
    for top in (2.5, True, "5"):
        with pytest.raises(ValueError, match="top must be an integer >= 1 or None"):
            model.rank_mirnas("drug0", top=top)
    with pytest.raises(ValueError, match="novel_only must be True or False, got 'no'"):
        model.rank_mirnas("drug0", novel_only="no")
    assert len(model.rank_mirnas("drug0", top=np.int64(3))) == 3
    model.scores_ = model.scores_.copy()
    model.scores_[0, 2] = np.nan  # what a fit that failed leaves
    with pytest.raises(ValueError, match="the scores to rank are not all finite"):
        model.rank_mirnas("drug0")


def test_method_config_refuses_a_part_given_twice_with_two_values():
    from sesl_jax.pipeline import MethodConfig

    with pytest.raises(ValueError, match="similarity_map='linear' contradicts map=inverse in similarity"):
        MethodConfig(similarity="sequence,map=inverse", similarity_map="linear")
    with pytest.raises(ValueError, match="encoder='lstm' contradicts encoder=transformer"):
        MethodConfig(similarity="sequence,encoder=transformer", encoder="lstm")
    same = MethodConfig(similarity="sequence,map=inverse", similarity_map="inverse")
    assert same.similarity_map == MethodConfig(similarity="sequence,map=inverse").similarity_map
