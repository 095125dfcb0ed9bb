"""Nested selection: the inner CV sees only the outer training matrix, and the nested metrics are
the chosen candidates' outer scores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sesl_jax.evaluation import kfold_folds
from sesl_jax.evaluation import selection
from sesl_jax.evaluation.selection import choose, nested_cross_validation, select_configuration
from sesl_jax.pipeline import MethodConfig
from synthetic import planted_problem
from test_evaluation_engine import synthetic_dataset

CANDIDATES = (
    MethodConfig("se", similarity="biological"),
    MethodConfig("se", similarity="biological", observed="known"),
)


@pytest.fixture
def problem():
    A, Sd, Sm = planted_problem(8, 12, seed=3)
    return synthetic_dataset(A, Sd, Sm), kfold_folds(A, k=3, repeats=2, seed=1)


def test_inner_cv_never_sees_outer_hidden_pairs(problem, tmp_path, monkeypatch):
    dataset, outer = problem
    A = np.asarray(dataset.associations)
    calls = []
    real_evaluate = selection.evaluate

    def spy(method, associations, folds, **kwargs):
        calls.append((np.array(associations), kwargs.get("store")))
        return real_evaluate(method, associations, folds, **kwargs)

    monkeypatch.setattr(selection, "evaluate", spy)
    nested_cross_validation(dataset, CANDIDATES, outer, out_dir=tmp_path, inner_k=3, seed=0, batch_size=4)
    inner = [associations for associations, store in calls if store is None]
    # one inner CV per candidate per outer fold, then one per candidate on all pairs
    assert len(inner) == len(CANDIDATES) * (outer.n_folds + 1)
    for index, associations in enumerate(inner[: len(CANDIDATES) * outer.n_folds]):
        hidden = outer.hidden[index // len(CANDIDATES)]
        hidden = hidden[hidden[:, 0] >= 0]
        assert np.all(associations[hidden[:, 0], hidden[:, 1]] == 0), "an inner CV saw an outer hidden pair"
        expected = A.copy()
        expected[hidden[:, 0], hidden[:, 1]] = 0
        np.testing.assert_array_equal(associations, expected)
    for associations in inner[len(CANDIDATES) * outer.n_folds:]:
        np.testing.assert_array_equal(associations, A)


def test_nested_metrics_are_the_chosen_candidates_outer_scores(problem, tmp_path, monkeypatch):
    dataset, outer = problem
    # force a known choice per outer fold: candidate 1 on even folds, 0 on odd ones
    forced = iter([1, 0] * outer.n_folds + [0])
    monkeypatch.setattr(selection, "choose", lambda scores: next(forced))
    result = nested_cross_validation(dataset, CANDIDATES, outer, out_dir=tmp_path, inner_k=3, seed=0, batch_size=4)
    assert [entry["times_selected"] for entry in result["candidates"]] == [outer.n_folds // 2, outer.n_folds // 2]

    from sesl_jax.evaluation.engine import evaluate
    from sesl_jax.evaluation.summary import summarize
    from sesl_jax.evaluation.metrics import loocv_auc
    from sesl_jax.pipeline import build_dataset_method

    runs = [evaluate(build_dataset_method(dataset, config), dataset.associations, outer, batch_size=4) for config in CANDIDATES]
    choice = [1 if f % 2 == 0 else 0 for f in range(outer.n_folds)]
    per_repeat = []
    for repeat in range(outer.n_repeats):
        counts = [[], [], []]
        for f in np.flatnonzero(outer.repeat == repeat):
            run = runs[choice[f]]
            valid = ~np.isnan(run.hidden_scores[f])
            for array, name in zip(counts, ("n_greater", "n_equal", "n_candidates")):
                array.append(getattr(run, name)[f][valid][:, 0])
        per_repeat.append(loocv_auc(*(np.concatenate(array) for array in counts)))
    assert result["nested"]["metrics"]["global"]["auc"]["mean"] == pytest.approx(np.mean(per_repeat), abs=1e-12)
    # and each candidate's own outer AUC is that of a plain k-fold run
    for entry, run in zip(result["candidates"], runs):
        own = summarize(run, outer, ("bnnr",))
        assert entry["outer"]["metrics"]["global"]["auc"]["mean"] == pytest.approx(own["metrics"]["global"]["auc"]["mean"], abs=1e-12)


def test_nested_selection_chooses_between_methods_with_different_stages(problem, tmp_path, monkeypatch):
    """SESL (lrr, bnnr) against SE (bnnr): sparse learning on or off decided by nested CV. The nested
    run takes each fold from the chosen method; its solver report says which folds ran no LRR."""
    dataset, outer = problem
    candidates = (MethodConfig("sesl", similarity="biological"), MethodConfig("se", similarity="biological"))
    forced = iter([1, 0] * outer.n_folds + [0])  # SE on even outer folds, SESL on odd ones
    monkeypatch.setattr(selection, "choose", lambda scores: next(forced))
    result = nested_cross_validation(dataset, candidates, outer, out_dir=tmp_path, inner_k=3, seed=0, batch_size=4)
    assert [c["label"] for c in result["candidates"]] == ["sesl: biological", "se: biological"]
    solver = result["nested"]["solver"]
    assert solver["lrr"]["not_run"] == outer.n_folds // 2 and "not_run" not in solver["bnnr"]
    assert solver["lrr"]["converged"] + solver["lrr"]["max_iterations"] + solver["lrr"]["nonfinite"] == outer.n_folds // 2
    assert solver["lrr"]["iterations_mean"] > 0  # over the folds that ran LRR only

    from sesl_jax.evaluation.engine import evaluate
    from sesl_jax.evaluation.metrics import loocv_auc
    from sesl_jax.pipeline import build_dataset_method

    runs = [evaluate(build_dataset_method(dataset, config), dataset.associations, outer, batch_size=4) for config in candidates]
    assert not np.allclose(runs[0].hidden_scores, runs[1].hidden_scores, equal_nan=True)  # the choice matters
    per_repeat = []
    for repeat in range(outer.n_repeats):
        counts = [[], [], []]
        for f in np.flatnonzero(outer.repeat == repeat):
            run = runs[1 if f % 2 == 0 else 0]
            valid = ~np.isnan(run.hidden_scores[f])
            for array, name in zip(counts, ("n_greater", "n_equal", "n_candidates")):
                array.append(getattr(run, name)[f][valid][:, 0])
        per_repeat.append(loocv_auc(*(np.concatenate(array) for array in counts)))
    assert result["nested"]["metrics"]["global"]["auc"]["mean"] == pytest.approx(np.mean(per_repeat), abs=1e-12)


def test_nested_selection_resumes_without_recomputing(problem, tmp_path, monkeypatch):
    dataset, outer = problem
    first = nested_cross_validation(dataset, CANDIDATES, outer, out_dir=tmp_path, inner_k=3, seed=0, batch_size=4)
    calls = []
    real_evaluate = selection.evaluate
    monkeypatch.setattr(selection, "evaluate", lambda *a, **k: calls.append(k.get("store")) or real_evaluate(*a, **k))
    second = nested_cross_validation(dataset, CANDIDATES, outer, out_dir=tmp_path, inner_k=3, seed=0, batch_size=4)
    assert all(store is not None for store in calls), "an inner CV was recomputed on resume"
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_select_configuration_picks_the_best_inner_auc(problem):
    dataset, _ = problem
    index, scores = select_configuration(dataset, CANDIDATES, inner_k=3, seed=2, batch_size=4)
    assert index == int(np.argmax(scores))
    assert np.all((scores > 0.5) & (scores <= 1.0))


def test_choose_prefers_the_first_of_ties_and_skips_nan():
    assert choose(np.array([0.7, 0.9, 0.9])) == 1
    assert choose(np.array([np.nan, 0.6, 0.5])) == 1


def test_transductive_candidates_are_refused(problem, tmp_path):
    dataset, outer = problem
    with pytest.raises(ValueError, match="transductive"):
        nested_cross_validation(dataset, [MethodConfig("sesl", similarity="biological", transductive=True)], outer,
                                out_dir=tmp_path)


def test_cli_select_on_fixture_data(small_data_dir, tmp_path, capsys):
    from sesl_jax.cli import main

    out = tmp_path / "select"
    argv = ["select", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--method", "se",
            "--candidate", "biological", "--candidate", "drug=sequence,mirna=0.5*biological+0.5*alignment",
            "--reference", "bnnr", "--outer-k", "2", "--outer-repeats", "1", "--inner-k", "2",
            "--dtype", "float64", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    result = json.loads((out / "selection.json").read_text())
    labels = [c["label"] for c in result["candidates"]]
    assert labels == ["se: biological", "se: drug=sequence,mirna=0.5*biological+0.5*alignment, map=gaussian"]
    assert result["selected"]["label"] in labels and result["selected"]["label"] in printed
    assert sum(c["times_selected"] for c in result["candidates"]) == 2
    assert "bnnr: biological (reference)" in printed and "nested" in printed
    # the codes behind drug=sequence come from these weights: recorded beside the choice
    from sesl_jax._io import sha256_file
    from sesl_jax.encoders import pretrained_path

    assert result["environment"]["encoder_weights"]["smiles.npz"] == sha256_file(pretrained_path("smiles"))
    # A rerun resumes from the stores and prints the same table.
    assert main(argv) == 0
    assert capsys.readouterr().out == printed


def test_cli_select_crosses_methods_with_candidates(small_data_dir, tmp_path, capsys):
    from sesl_jax.cli import main

    out = tmp_path / "select"
    argv = ["select", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--method", "sesl,se",
            "--candidate", "biological", "--reference", "bnnr", "--outer-k", "2", "--outer-repeats", "1",
            "--inner-k", "2", "--dtype", "float64", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    result = json.loads((out / "selection.json").read_text())
    assert [c["label"] for c in result["candidates"]] == ["sesl: biological", "se: biological"]
    assert result["selected"]["config"]["method"] in ("sesl", "se")


@pytest.mark.parametrize("extra, message", [
    (["--method", "sesl,foo"], "argument --method: 'sesl,foo': choose from sesl, se, bnnr"),
    (["--candidate", "foo"], "argument --candidate: 'foo'"),
    (["--reference", "nope"], "argument --reference: 'nope'"),
    (["--inner-k", "1"], "argument --inner-k: must be an integer >= 2, got 1"),
    (["--grid", "widths", "--candidate", "biological"], "argument --grid: not allowed with --candidate"),
    (["--grid", "wide"], "argument --grid: invalid choice: 'wide'"),
    (["--candidate", "drug=sequence,mirna=biological,map=inverse:0"], "the width after ':' must be a number from 1e-09 to 1e+09"),
])
def test_cli_select_bad_options(small_data_dir, tmp_path, capsys, extra, message):
    from sesl_jax.cli import main

    out = tmp_path / "select"
    code = main(["select", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--out", str(out), *extra])
    assert code == 2  # a usage error, like every bad option value
    assert message in capsys.readouterr().err and not out.exists()


def test_cli_select_out_is_a_file(small_data_dir, tmp_path, capsys):
    from sesl_jax.cli import main

    out = tmp_path / "a-file"
    out.write_text("")
    assert main(["select", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--out", str(out)]) == 2
    assert "argument --out" in capsys.readouterr().err


def test_parse_candidate():
    config = selection.parse_candidate("drug=sequence, mirna=biological, map=inverse", "sesl", "float64")
    assert (config.similarity, config.similarity_map, config.dtype) == ("drug=sequence,mirna=biological", "inverse", "float64")
    assert selection.candidate_label(config) == "sesl: drug=sequence,mirna=biological, map=inverse"
    assert selection.parse_candidate("biological").similarity_map == "gaussian"
    for text in selection.SIMILARITY_GRID:
        selection.parse_candidate(text)
    with pytest.raises(ValueError):
        selection.parse_candidate("drug=sequence,mirna=biological,map=sharp")


def test_the_widths_grid_adds_each_width_to_each_inverse_candidate():
    from sesl_jax.evaluation.choices import GRIDS, WIDTHS

    grid = GRIDS["widths"]
    assert grid[:4] == selection.SIMILARITY_GRID and len(grid) == 4 + 3 * len(WIDTHS) == len(set(grid))
    labels = [selection.candidate_label(selection.parse_candidate(text, "se")) for text in grid]
    assert "se: drug=sequence,mirna=0.5*biological+0.5*alignment, map=inverse:0.1" in labels
    assert not any("gaussian:" in label for label in labels)  # the gaussian one has its own scale already


def test_default_reference_takes_chemical_and_sequence_where_biological_is_missing(problem, capsys):
    import dataclasses

    from sesl_jax.cli._select import substitute_missing_similarities

    dataset, _ = problem
    bnnr = MethodConfig("bnnr")
    assert substitute_missing_similarities(bnnr, dataset) is bnnr  # a benchmark with both: unchanged
    pcd_like = dataclasses.replace(dataset, drug_similarity=None)
    assert substitute_missing_similarities(bnnr, pcd_like).resolved_similarity == "drug=chemical,mirna=biological"
    own = dataclasses.replace(dataset, drug_similarity=None, mirna_similarity=None)
    assert substitute_missing_similarities(bnnr, own).resolved_similarity == "drug=chemical,mirna=sequence"
    assert "has no biological similarity there" in capsys.readouterr().err



@pytest.mark.parametrize("criterion", ["global", "drug-fixed", "mirna-fixed"])
def test_inner_scores_by_a_scope_are_that_scopes_k_fold_auc(problem, criterion):
    """``criterion``: each candidate's inner score is the AUC of that scope in its k-fold summary (the
    summary's per-scope AUCs are checked against scikit-learn in test_metrics); the scopes differ."""
    from sesl_jax.evaluation import evaluate, summarize

    dataset, _ = problem
    A = np.asarray(dataset.associations)
    methods = selection._build(dataset, CANDIDATES)
    scores = selection.inner_scores(A, methods, k=3, repeats=1, seed=2, batch_size=4, criterion=criterion)
    folds = kfold_folds(A, k=3, repeats=1, seed=2)
    for method, score in zip(methods, scores):
        metrics = summarize(evaluate(method, A, folds, batch_size=4), folds, method.stages)["metrics"]
        auc = metrics[criterion]["auc"]
        assert score == pytest.approx(float(auc["mean"] if isinstance(auc, dict) else auc), abs=1e-12)
        assert len({round(float(m["auc"]["mean"] if isinstance(m["auc"], dict) else m["auc"]), 10)
                    for m in metrics.values()}) > 1  # the scopes are different numbers
    with pytest.raises(ValueError, match="criterion"):
        selection.inner_scores(A, methods, k=3, repeats=1, seed=2, criterion="aupr")


def test_cli_select_by_drug_fixed_auc_records_and_announces_it(small_data_dir, tmp_path, capsys):
    from sesl_jax.cli import main
    from sesl_jax.defaults import read_selection

    out = tmp_path / "select"
    assert main(["select", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--method", "se",
                 "--candidate", "biological", "--candidate", "drug=sequence,mirna=biological", "--criterion",
                 "drug-fixed", "--outer-k", "2", "--outer-repeats", "1", "--inner-k", "2", "--dtype", "float64",
                 "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "chosen by drug-fixed AUC" in printed and "outer drug-fixed AUC" in printed
    result = json.loads((out / "selection.json").read_text())
    assert result["protocol"]["criterion"] == "drug-fixed"
    assert "by drug-fixed AUC" in read_selection(out / "selection.json").describe()
