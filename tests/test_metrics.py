"""Every metric against sklearn.metrics / scipy.stats, or against a slow obvious reference, with ties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from sesl_jax.evaluation.metrics import (
    average_precision,
    best_f1_threshold,
    local_rank_counts,
    loocv_auc,
    mean_std,
    pair_auc_from_counts,
    paired_ttest,
    pooled_metrics,
    pr_curve,
    rank_auc,
    rank_counts,
    roc_curve,
    threshold_metrics,
)

SEEDS = range(6)


def _tied_problem(seed: int, n: int = 400, decimals: int = 1):
    """Labels and scores rounded so that many scores tie, positives shifted up a little."""
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.2
    scores = np.round(rng.random(n) + 0.3 * labels, decimals)
    return labels.astype(int), scores


def _brute_auc(hidden, candidates):
    """Slow reference: P(hidden > candidate) + 0.5 P(tie) over every pair."""
    h, c = np.asarray(hidden)[:, None], np.asarray(candidates)[None, :]
    return float(np.mean((h > c) + 0.5 * (h == c)))


@pytest.mark.parametrize("seed", SEEDS)
def test_rank_auc_matches_sklearn_with_ties(seed):
    labels, scores = _tied_problem(seed)
    auc = rank_auc(scores[labels == 1], scores[labels == 0])
    assert auc == pytest.approx(skm.roc_auc_score(labels, scores), abs=1e-12)
    assert auc == pytest.approx(_brute_auc(scores[labels == 1], scores[labels == 0]), abs=1e-12)


def test_rank_auc_extremes_and_random():
    assert rank_auc([3.0, 4.0], [0.0, 1.0, 2.0]) == 1.0
    assert rank_auc([0.0, 1.0], [2.0, 3.0, 4.0]) == 0.0
    assert rank_auc([1.0, 1.0], [1.0, 1.0]) == 0.5
    rng = np.random.default_rng(0)
    assert rank_auc(rng.random(20_000), rng.random(200_000)) == pytest.approx(0.5, abs=0.01)


def test_rank_counts_against_brute_force():
    rng = np.random.default_rng(1)
    hidden, candidates = np.round(rng.random(50), 1), np.round(rng.random(300), 1)
    n_greater, n_equal = rank_counts(hidden, candidates)
    np.testing.assert_array_equal(n_greater, (candidates[None, :] > hidden[:, None]).sum(axis=1))
    np.testing.assert_array_equal(n_equal, (candidates[None, :] == hidden[:, None]).sum(axis=1))


def test_pair_auc_from_counts_formula_and_empty_candidates():
    np.testing.assert_allclose(pair_auc_from_counts([0, 2, 10], [0, 2, 0], 10), [1.0, 0.7, 0.0])
    auc = pair_auc_from_counts([0, 0], [0, 0], [4, 0])
    assert auc[0] == 1.0 and np.isnan(auc[1])
    assert loocv_auc([0, 0], [0, 0], [4, 0]) == 1.0, "pairs without candidates leave the mean"


@pytest.mark.parametrize("seed", SEEDS)
def test_loocv_auc_equals_rank_auc_for_one_fold(seed):
    labels, scores = _tied_problem(seed)
    hidden, candidates = scores[labels == 1], scores[labels == 0]
    n_greater, n_equal = rank_counts(hidden, candidates)
    assert loocv_auc(n_greater, n_equal, len(candidates)) == pytest.approx(rank_auc(hidden, candidates), abs=1e-15)


def test_loocv_auc_is_mean_of_per_fold_aucs():
    rng = np.random.default_rng(2)
    folds = [(np.round(rng.random(1), 1), np.round(rng.random(30), 1)) for _ in range(25)]
    counts = [rank_counts(h, c) for h, c in folds]
    n_greater = np.concatenate([g for g, _ in counts])
    n_equal = np.concatenate([e for _, e in counts])
    expected = np.mean([skm.roc_auc_score(np.r_[1, np.zeros(30)], np.r_[h, c]) for h, c in folds])
    assert loocv_auc(n_greater, n_equal, 30) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("decimals", [1, 3])
def test_curves_and_average_precision_match_sklearn(seed, decimals):
    labels, scores = _tied_problem(seed, decimals=decimals)
    for ours, theirs in zip(roc_curve(labels, scores), skm.roc_curve(labels, scores)):
        np.testing.assert_allclose(ours, theirs)
    for ours, theirs in zip(
        roc_curve(labels, scores, drop_intermediate=False), skm.roc_curve(labels, scores, drop_intermediate=False)
    ):
        np.testing.assert_allclose(ours, theirs)
    for ours, theirs in zip(pr_curve(labels, scores), skm.precision_recall_curve(labels, scores)):
        np.testing.assert_allclose(ours, theirs)
    expected = skm.average_precision_score(labels, scores)
    assert average_precision(labels, scores) == pytest.approx(expected, abs=1e-12)


def test_curves_accept_bool_labels_and_float32_scores():
    labels, scores = _tied_problem(0)
    fpr, tpr, _ = roc_curve(labels.astype(bool), scores.astype(np.float32))
    assert np.trapezoid(tpr, fpr) == pytest.approx(skm.roc_auc_score(labels, scores.astype(np.float32)), abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_best_f1_threshold_maximises_f1(seed):
    labels, scores = _tied_problem(seed)
    threshold = best_f1_threshold(labels, scores)
    f1_at = {t: skm.f1_score(labels, scores >= t) for t in np.unique(scores)}
    assert f1_at[threshold] == pytest.approx(max(f1_at.values()), abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fixed", [None, 0.5, 2.0])
def test_threshold_metrics_match_sklearn(seed, fixed):
    labels, scores = _tied_problem(seed)
    got = threshold_metrics(labels, scores, fixed)
    threshold = best_f1_threshold(labels, scores) if fixed is None else fixed
    predicted = (scores >= threshold).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    assert got["threshold"] == threshold
    assert got["precision"] == pytest.approx(skm.precision_score(labels, predicted, zero_division=0))
    assert got["recall"] == pytest.approx(skm.recall_score(labels, predicted, zero_division=0))
    assert got["f1"] == pytest.approx(skm.f1_score(labels, predicted, zero_division=0))
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(labels, predicted))
    assert got["specificity"] == pytest.approx(tn / (tn + fp))


def test_pooled_metrics_pool_folds():
    rng = np.random.default_rng(4)
    hidden = [np.round(rng.random(n) + 0.3, 1) for n in (3, 5, 4)]
    candidates = [np.round(rng.random(n), 1) for n in (50, 60, 40)]
    got = pooled_metrics(hidden, candidates)
    labels = np.r_[np.ones(12), np.zeros(150)].astype(int)
    scores = np.concatenate(hidden + candidates)
    assert set(got) == {"auc", "aupr", "precision", "recall", "f1", "accuracy", "specificity", "threshold"}
    assert got["auc"] == pytest.approx(skm.roc_auc_score(labels, scores), abs=1e-12)
    assert got["aupr"] == pytest.approx(skm.average_precision_score(labels, scores), abs=1e-12)
    assert got["f1"] == pytest.approx(threshold_metrics(labels, scores)["f1"])
    assert pooled_metrics(hidden, candidates, threshold=0.9)["threshold"] == 0.9


def test_nan_scores_are_rejected():
    with pytest.raises(ValueError, match="NaN"):
        rank_auc([np.nan], [0.1])
    with pytest.raises(ValueError, match="binary"):
        roc_curve([0, 2], [0.1, 0.2])


def test_mean_std_uses_sample_std():
    got = mean_std([0.8, 0.9, 1.0])
    assert got == {"mean": pytest.approx(0.9), "std": pytest.approx(np.std([0.8, 0.9, 1.0], ddof=1)), "n": 3}
    assert np.isnan(mean_std([0.5])["std"])


@pytest.mark.parametrize("seed", SEEDS)
def test_paired_ttest_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(0.90, 0.01, 10)
    b = a - rng.normal(0.005, 0.01, 10)
    got, expected = paired_ttest(a, b), stats.ttest_rel(a, b)
    assert got["t"] == pytest.approx(expected.statistic, rel=1e-10)
    assert got["p"] == pytest.approx(expected.pvalue, rel=1e-10)
    assert got["n"] == 10 and got["mean_difference"] == pytest.approx(np.mean(a - b))


def test_paired_ttest_constant_differences():
    assert paired_ttest([1.0, 2.0, 3.0], [0.0, 1.0, 2.0])["p"] == 0.0
    assert np.isnan(paired_ttest([1.0, 2.0], [1.0, 2.0])["t"])


def _brute_local_counts(hidden_scores, hidden_pairs, scores_matrix, candidate_mask):
    """Slow reference: loop over hidden pairs and every candidate cell."""
    out = {scope: [[], [], []] for scope in ("global", "drug", "mirna")}
    for score, (i, j) in zip(hidden_scores, hidden_pairs):
        for scope in out:
            greater = equal = total = 0
            for a in range(scores_matrix.shape[0]):
                for b in range(scores_matrix.shape[1]):
                    in_scope = scope == "global" or (scope == "drug" and a == i) or (scope == "mirna" and b == j)
                    if candidate_mask[a, b] and in_scope:
                        total += 1
                        greater += scores_matrix[a, b] > score
                        equal += scores_matrix[a, b] == score
            for column, value in zip(out[scope], (greater, equal, total)):
                column.append(value)
    return out


def test_local_rank_counts_against_brute_force():
    rng = np.random.default_rng(5)
    associations = rng.random((6, 9)) < 0.3
    associations[2] = True  # a drug with no candidate at all
    scores_matrix = np.round(rng.random(associations.shape), 1)
    hidden_pairs = np.argwhere(associations)
    hidden_scores = scores_matrix[hidden_pairs[:, 0], hidden_pairs[:, 1]]
    candidates = ~associations
    got = local_rank_counts(hidden_scores, hidden_pairs, scores_matrix, candidates)
    expected = _brute_local_counts(hidden_scores, hidden_pairs, scores_matrix, candidates)
    for scope in ("global", "drug", "mirna"):
        for ours, theirs in zip(got[scope], expected[scope]):
            np.testing.assert_array_equal(ours, theirs)
    assert (got["drug"][2][hidden_pairs[:, 0] == 2] == 0).all()
    n_greater, n_equal, n_candidates = got["global"]
    assert loocv_auc(n_greater, n_equal, n_candidates) == pytest.approx(
        np.mean([_brute_auc([s], scores_matrix[candidates]) for s in hidden_scores])
    )
