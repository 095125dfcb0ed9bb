"""Folds started from a solve shared by their group (``with_shared_starts``): what the engine
computes, that no fold's start sees the fold's own hidden pair, and that the result does not
depend on how chunks or devices cut the folds."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sesl_jax.evaluation import evaluate, kfold_folds, loocv_folds, training_matrix
from sesl_jax.evaluation.engine import spread_order
from sesl_jax.methods import METHODS, Similarities, with_shared_starts
from synthetic import planted_problem


def _method(name="sesl", group=3, dtype="float64"):
    A, Sd, Sm = planted_problem(8, 12, seed=6)
    method = METHODS[name].builder(A, Similarities(Sd, Sm, "test"), dtype=dtype)
    return A, method, with_shared_starts(method, group)


@pytest.mark.parametrize("name", ["sesl", "se"])
def test_each_fold_starts_from_the_solve_that_hides_its_whole_group(name):
    A, method, grouped = _method(name, group=3)
    folds = loocv_folds(A)
    run = evaluate(grouped, A, folds, batch_size=6)
    inputs = method.inputs
    n_stages = len(method.stages)
    assert grouped.stages == method.stages + tuple(f"{stage}_start" for stage in method.stages)
    assert run.iterations.shape == (folds.n_folds, 2 * n_stages)
    order = spread_order(folds.n_folds, 3)
    assert sorted(order) == list(range(folds.n_folds))
    solve, predict = jax.jit(method.shared_start.solve), jax.jit(method.shared_start.predict)
    for first in range(0, folds.n_folds, 3):
        members = order[first:first + 3]
        union = np.concatenate([folds.hidden[fold] for fold in members])
        start_train = training_matrix(jnp.asarray(A), jnp.asarray(union))
        assert all(float(start_train[i, j]) == 0 for fold in members for i, j in folds.fold_pairs(fold))
        start, start_output = solve(start_train, inputs)
        for fold in members:
            train = training_matrix(jnp.asarray(A), jnp.asarray(folds.hidden[fold]))
            output = predict(train, inputs, start)
            (i, j), = folds.fold_pairs(fold)
            np.testing.assert_allclose(run.hidden_scores[fold, 0], float(output.scores[i, j]), atol=1e-10)
            np.testing.assert_array_equal(run.iterations[fold], np.concatenate([output.iterations, start_output.iterations]))
    # A start near the answer: the folds need fewer BNNR iterations than cold ones (column of "bnnr").
    cold = evaluate(method, A, folds, batch_size=6)
    bnnr = method.stages.index("bnnr")
    assert run.iterations[:, bnnr].mean() < cold.iterations[:, bnnr].mean()


def test_a_fold_never_sees_its_own_hidden_pair_through_the_start(monkeypatch):
    """Flipping a fold's hidden pair in the full matrix cannot change that fold's score: its own
    training matrix hides the pair, and so does its group's start. (A start fitted on the full
    matrix, or on the fold's neighbours' training data, would move it.)"""
    import sesl_jax.evaluation.engine as engine

    # the flipped matrix no longer knows the fold's pair, which evaluate refuses for a user
    monkeypatch.setattr(engine, "check_folds", lambda folds, associations: None)
    A, _, grouped = _method("sesl", group=4)
    folds = loocv_folds(A)
    run = evaluate(grouped, A, folds, batch_size=4)
    order = spread_order(folds.n_folds, 4)
    for position in (1, 6):  # a second and a third member of their groups
        fold, other = order[position], order[position - 1]
        (i, j), = folds.fold_pairs(fold)
        flipped = A.copy()
        flipped[i, j] = 0.0
        again = evaluate(grouped, flipped, folds, batch_size=4)
        np.testing.assert_allclose(again.hidden_scores[fold, 0], run.hidden_scores[fold, 0], atol=1e-12)
        # while a member of the same group, whose training data holds the pair, does move
        assert abs(again.hidden_scores[other, 0] - run.hidden_scores[other, 0]) > 1e-9


def test_chunks_and_sub_batches_keep_the_groups_so_results_do_not_change():
    A, _, grouped = _method("se", group=3)
    folds = kfold_folds(A, k=5, seed=2)
    one_group_per_chunk = evaluate(grouped, A, folds, batch_size=3)
    rounded_up = evaluate(grouped, A, folds, batch_size=4)  # rounded to 6: two groups per chunk
    np.testing.assert_array_equal(rounded_up.hidden_scores, one_group_per_chunk.hidden_scores)
    np.testing.assert_array_equal(rounded_up.iterations, one_group_per_chunk.iterations)
    vmapped = evaluate(grouped, A, folds, batch_size=6, fold_batching="vmap", devices=jax.local_devices()[:1])
    np.testing.assert_allclose(vmapped.hidden_scores, one_group_per_chunk.hidden_scores, atol=1e-10, equal_nan=True)
    # without candidate scores (large LOOCV runs keep none: a zero-length axis per fold)
    lean = evaluate(grouped, A, folds, batch_size=3, keep_candidates=False)
    np.testing.assert_array_equal(lean.hidden_scores, one_group_per_chunk.hidden_scores)
    assert lean.candidate_scores is None


def test_shared_start_results_stay_near_cold_starts():
    A, method, grouped = _method("sesl", group=4)
    folds = loocv_folds(A)
    cold = evaluate(method, A, folds, batch_size=4)
    warm = evaluate(grouped, A, folds, batch_size=4)
    # Same stopping rule from a nearer start: the scores differ by about its tolerance, not more.
    assert np.nanmax(np.abs(warm.hidden_scores - cold.hidden_scores)) < 0.05


def test_with_shared_starts_refuses_what_it_cannot_do():
    A, method, grouped = _method("sesl", group=3)
    assert with_shared_starts(method, 0) is method and with_shared_starts(method, 1) is method
    assert with_shared_starts(grouped, 3) is grouped
    assert grouped.config["shared_start"]["group"] == 3 and "shared_start" not in method.config
    with pytest.raises(ValueError, match="already runs in groups of 3"):
        with_shared_starts(grouped, 4)
    with pytest.raises(ValueError, match="non-negative integer"):
        with_shared_starts(method, -2)
    rival = METHODS["snmf"].builder(A, Similarities(np.eye(8), np.eye(12), "test"))
    with pytest.raises(ValueError, match="cannot start folds from a shared solve"):
        with_shared_starts(rival, 4)


def test_bnnr_start_must_match_the_svt_method():
    from sesl_jax.solvers import bnnr_complete

    T = jnp.asarray(planted_problem(8, 12, seed=1)[1])
    cold = bnnr_complete(T, T != 0, svt_method="eigh")
    with pytest.raises(ValueError, match="another svt_method"):
        bnnr_complete(T, T != 0, svt_method="subspace", start=cold.state)
    again = bnnr_complete(T, T != 0, svt_method="eigh", start=cold.state)
    assert int(again.stats.iterations) < int(cold.stats.iterations)
    np.testing.assert_allclose(np.asarray(again.completed), np.asarray(cold.completed), atol=5e-2)


@pytest.mark.parametrize("n_folds, group", [(664, 16), (664, 8), (10, 3), (7, 7), (12, 4), (5, 1)])
def test_spread_order_is_a_permutation_that_spreads_each_group(n_folds, group):
    order = spread_order(n_folds, group)
    assert sorted(order.tolist()) == list(range(n_folds))
    if 1 < group and 2 * group <= n_folds:
        for first in range(0, n_folds - group + 1, group):
            members = np.sort(order[first:first + group])
            # no two members of a group are neighbours in the fold list (LOOCV: the same drug's pairs)
            assert np.diff(members).min() >= 2


def test_cli_cv_shared_start_records_the_group_resumes_and_refuses_rivals(small_data_dir, tmp_path, capsys):
    import json

    from sesl_jax.cli import main

    base = ["cv", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--method", "se", "--similarity", "biological",
            "--protocol", "loocv", "--quiet"]
    out = tmp_path / "grouped"
    assert main([*base, "--shared-start", "4", "--batch-size", "3", "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["shared_start"] == 4
    assert manifest["method"]["shared_start"]["group"] == 4
    assert manifest["recorded"]["batch_size"] % 4 == 0  # chunks hold whole groups
    assert set(json.loads((out / "metrics.json").read_text())["solver"]) == {"bnnr", "bnnr_start"}
    # the cold run is another configuration: it refuses to reuse the grouped store, and says why
    capsys.readouterr()
    assert main([*base, "--out", str(out)]) == 1
    assert "differs in: config.shared_start, method.shared_start" in capsys.readouterr().err
    cold = tmp_path / "cold"
    assert main([*base, "--out", str(cold)]) == 0
    assert "shared_start" not in json.loads((cold / "manifest.json").read_text())["config"]
    capsys.readouterr()
    rival = ["cv", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--method", "snmf", "--protocol", "loocv",
             "--shared-start", "4", "--quiet", "--out", str(tmp_path / "rival")]
    assert main(rival) == 2
    error = capsys.readouterr().err
    assert "shared_start" in error and "Traceback" not in error
