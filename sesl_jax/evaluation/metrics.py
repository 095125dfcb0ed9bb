"""Ranking and threshold metrics for hidden-pair evaluation (NumPy only; each matches ``sklearn.metrics``).

Protocol (SPEC, "Evaluation"): every fold hides some known pairs; each hidden pair (label 1) is
scored against the candidate pairs (label 0), the pairs unknown in the FULL association matrix,
taken from the same fold's run.

Two primitives carry everything:

* :func:`rank_counts` (how many candidates score strictly above / equal to each hidden pair) feeds
  every AUC: per-pair LOOCV AUC, local (drug- or miRNA-fixed) AUC and the pooled AUC, which is the
  mean per-pair AUC against the pooled candidates.
* :func:`_threshold_counts` (true / false positives at every distinct score threshold, as
  sklearn's ``confusion_matrix_at_thresholds``) feeds the ROC and PR curves, AUPR and the
  F1-maximising threshold.

AUC counts ties one half:

.. math::

    \\mathrm{AUC}_h = \\frac{n_c - n_{>}(h) - n_{=}(h) + \\tfrac12 n_{=}(h)}{n_c}
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

LOCAL_SCOPES = ("global", "drug", "mirna")


def rank_counts(hidden_scores: np.ndarray, candidate_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Count, for each hidden score, the candidates scoring strictly higher and exactly equal.

    Args:
        hidden_scores: ``(n_hidden,)`` scores of the hidden pairs.
        candidate_scores: ``(n_candidates,)`` scores of the candidate pairs.

    Returns:
        ``(n_greater, n_equal)``, both ``(n_hidden,)`` int64. O((n_hidden + n_candidates) log n_candidates).
    """
    hidden = _scores(hidden_scores, "hidden_scores")
    ordered = np.sort(_scores(candidate_scores, "candidate_scores"))
    at_most = np.searchsorted(ordered, hidden, side="right")
    below = np.searchsorted(ordered, hidden, side="left")
    return (len(ordered) - at_most).astype(np.int64), (at_most - below).astype(np.int64)


def pair_auc_from_counts(n_greater, n_equal, n_candidates) -> np.ndarray:
    """Per-hidden-pair AUC, ``(n_candidates - n_greater - n_equal + 0.5 * n_equal) / n_candidates``.

    All arguments broadcast (shape ``(n_hidden,)`` or scalar). A pair with no candidates has no
    AUC and gets NaN.
    """
    n_greater, n_equal, n_candidates = (np.asarray(n, dtype=np.float64) for n in (n_greater, n_equal, n_candidates))
    wins = n_candidates - n_greater - 0.5 * n_equal
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_candidates > 0, wins / n_candidates, np.nan)


def loocv_auc(n_greater, n_equal, n_candidates) -> float:
    """Mean per-pair AUC: global or local LOOCV, each hidden pair ranked against its own fold's candidates.

    Pairs with no candidate (possible in local LOOCV) are left out of the mean; NaN if none remain.
    """
    per_pair = pair_auc_from_counts(n_greater, n_equal, n_candidates)
    per_pair = per_pair[~np.isnan(per_pair)]
    return float(per_pair.mean()) if per_pair.size else math.nan


def rank_auc(hidden_scores: np.ndarray, candidate_scores: np.ndarray) -> float:
    """Pooled AUC = P(hidden > candidate) + 0.5 P(tie) over all (hidden, candidate) pairs; exact.

    Equal to ``sklearn.metrics.roc_auc_score`` with hidden pairs as positives.
    """
    n_greater, n_equal = rank_counts(hidden_scores, candidate_scores)
    return loocv_auc(n_greater, n_equal, np.size(candidate_scores))


def local_rank_counts(
    hidden_scores: np.ndarray,
    hidden_pairs: np.ndarray,
    scores_matrix: np.ndarray,
    candidate_mask: np.ndarray,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Rank counts of one fold's hidden pairs against global, same-drug and same-miRNA candidates.

    NumPy reference for the batched JAX version in the engine.

    Args:
        hidden_scores: ``(n_hidden,)`` scores of the hidden pairs (usually ``scores_matrix[hidden_pairs.T]``).
        hidden_pairs: ``(n_hidden, 2)`` int ``(drug_index, mirna_index)``, padding removed.
        scores_matrix: ``(n_drugs, n_mirnas)`` scores of this fold's run.
        candidate_mask: ``(n_drugs, n_mirnas)`` bool, pairs unknown in the full matrix.

    Returns:
        ``{"global" | "drug" | "mirna": (n_greater, n_equal, n_candidates)}``, each ``(n_hidden,)``
        int64; "drug" ranks a pair only against candidates of its own drug (drug-fixed local
        LOOCV), "mirna" only against candidates of its own miRNA.
    """
    hidden_scores = _scores(hidden_scores, "hidden_scores")
    hidden_pairs = np.asarray(hidden_pairs)
    scores_matrix = np.asarray(scores_matrix)
    candidate_mask = np.asarray(candidate_mask, dtype=bool)
    if hidden_pairs.shape != (len(hidden_scores), 2):
        raise ValueError(f"hidden_pairs must have shape ({len(hidden_scores)}, 2), got {hidden_pairs.shape}")
    if scores_matrix.shape != candidate_mask.shape or scores_matrix.ndim != 2:
        raise ValueError(
            f"scores_matrix {scores_matrix.shape} and candidate_mask {candidate_mask.shape} must share one 2-D shape"
        )
    if hidden_pairs.size and (hidden_pairs.min() < 0 or (hidden_pairs >= scores_matrix.shape).any()):
        raise ValueError("hidden_pairs out of range (strip the -1 padding rows first)")

    n_greater, n_equal = rank_counts(hidden_scores, scores_matrix[candidate_mask])
    n_global = np.full(len(hidden_scores), candidate_mask.sum(), dtype=np.int64)
    return {
        "global": (n_greater, n_equal, n_global),
        "drug": _line_rank_counts(hidden_scores, hidden_pairs[:, 0], scores_matrix, candidate_mask),
        "mirna": _line_rank_counts(hidden_scores, hidden_pairs[:, 1], scores_matrix.T, candidate_mask.T),
    }


def _line_rank_counts(hidden_scores, lines, scores_by_line, mask_by_line):
    """Rank each hidden score only against the candidates on its own row of ``scores_by_line``."""
    n_greater, n_equal, n_candidates = (np.zeros(len(hidden_scores), np.int64) for _ in range(3))
    for line in np.unique(lines):
        on_line = lines == line
        candidates = scores_by_line[line][mask_by_line[line]]
        n_greater[on_line], n_equal[on_line] = rank_counts(hidden_scores[on_line], candidates)
        n_candidates[on_line] = len(candidates)
    return n_greater, n_equal, n_candidates


def _threshold_counts(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positives when predicting ``score >= t``, for each distinct score ``t`` (decreasing).

    Returns:
        ``(fps, tps, thresholds)``, each ``(n_distinct,)``; counts as float64, as sklearn.
    """
    labels, scores = _labels_and_scores(labels, scores)
    if scores.size == 0:
        raise ValueError("need at least one score")
    order = np.argsort(-scores, kind="mergesort")  # stable, as sklearn, so tie handling matches
    scores, labels = scores[order], labels[order]
    # last index of each run of equal scores: predicting ">= t" includes the whole run
    threshold_idxs = np.r_[np.flatnonzero(scores[1:] != scores[:-1]), scores.size - 1]
    tps = np.cumsum(labels, dtype=np.float64)[threshold_idxs]
    fps = 1.0 + threshold_idxs - tps
    return fps, tps, scores[threshold_idxs]


def roc_curve(labels, scores, drop_intermediate: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve as ``sklearn.metrics.roc_curve``: ``(fpr, tpr, thresholds)``, from (0, 0) at threshold inf.

    Undefined rates (no negatives / no positives) are NaN, as in sklearn.
    """
    fps, tps, thresholds = _threshold_counts(labels, scores)
    if drop_intermediate and fps.size > 2:
        # collinear interior points never change the curve or its area
        corners = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        fps, tps, thresholds = fps[corners], tps[corners], thresholds[corners]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    thresholds = np.r_[np.inf, thresholds.astype(np.float64)]
    fpr = fps / fps[-1] if fps[-1] > 0 else np.full(fps.shape, np.nan)
    tpr = tps / tps[-1] if tps[-1] > 0 else np.full(tps.shape, np.nan)
    return fpr, tpr, thresholds


def pr_curve(labels, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision-recall curve as ``sklearn.metrics.precision_recall_curve``: ``(precision, recall, thresholds)``.

    Recall decreases; the last point is (recall 0, precision 1) with no threshold, so
    ``thresholds`` is one shorter. With no positive label, recall is 1 everywhere (as sklearn).
    """
    fps, tps, thresholds = _threshold_counts(labels, scores)
    precision = tps / (tps + fps)  # tps + fps >= 1 at every threshold
    recall = tps / tps[-1] if tps[-1] > 0 else np.ones_like(tps)
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def average_precision(labels, scores) -> float:
    """Average precision, the step integral ``sum_n (R_n - R_{n-1}) P_n`` (sklearn ``average_precision_score``)."""
    precision, recall, _ = pr_curve(labels, scores)
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def best_f1_threshold(labels, scores) -> float:
    """The score threshold ``t`` maximising F1 when predicting positive iff ``score >= t``.

    Among equally good thresholds, the highest. With no positive label every F1 is 0 and the
    highest score is returned.
    """
    fps, tps, thresholds = _threshold_counts(labels, scores)
    n_positive = tps[-1]
    f1 = 2.0 * tps / (tps + fps + n_positive)  # 2TP / (2TP + FP + FN); denominator >= 1
    return float(thresholds[np.argmax(f1)])


def threshold_metrics(labels, scores, threshold: float | None = None) -> dict[str, float]:
    """Precision, recall, F1, accuracy and specificity when predicting positive iff ``score >= threshold``.

    Args:
        labels: ``(n,)`` binary, 1 = hidden known pair.
        scores: ``(n,)`` scores.
        threshold: decision threshold; ``None`` uses :func:`best_f1_threshold` on these same scores
            (an optimistic choice, stated because the paper does not give its threshold).

    Returns:
        dict with keys precision, recall, f1, accuracy, specificity, threshold. A ratio with a zero
        denominator is 0 (sklearn's ``zero_division=0``).
    """
    labels, scores = _labels_and_scores(labels, scores)
    if threshold is None:
        threshold = best_f1_threshold(labels, scores)
    predicted = scores >= threshold
    tp = int(np.sum(predicted & labels))
    fp = int(np.sum(predicted & ~labels))
    fn = int(np.sum(~predicted & labels))
    tn = int(np.sum(~predicted & ~labels))
    return {
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "accuracy": _ratio(tp + tn, labels.size),
        "specificity": _ratio(tn, tn + fp),
        "threshold": float(threshold),
    }


def pooled_metrics(
    hidden_scores: Sequence[np.ndarray],
    candidate_scores: Sequence[np.ndarray],
    threshold: float | None = None,
) -> dict[str, float]:
    """All seven metrics on the per-fold arrays pooled: hidden pairs = 1, candidate pairs = 0.

    Args:
        hidden_scores: per fold, ``(n_hidden_f,)`` scores of that fold's hidden pairs.
        candidate_scores: per fold, ``(n_candidates_f,)`` scores of the candidates in that fold's run.
        threshold: see :func:`threshold_metrics`.

    Returns:
        dict with keys auc, aupr, precision, recall, f1, accuracy, specificity, threshold.
    """
    if len(hidden_scores) != len(candidate_scores):
        raise ValueError(f"{len(hidden_scores)} hidden arrays but {len(candidate_scores)} candidate arrays")
    hidden = np.concatenate([np.ravel(h) for h in hidden_scores])
    candidates = np.concatenate([np.ravel(c) for c in candidate_scores])
    labels = np.r_[np.ones(hidden.size, bool), np.zeros(candidates.size, bool)]
    scores = np.r_[hidden, candidates]
    return {
        "auc": rank_auc(hidden, candidates),
        "aupr": average_precision(labels, scores),
        **threshold_metrics(labels, scores, threshold),
    }


def mean_std(values) -> dict[str, float]:
    """Mean and sample standard deviation (``ddof=1``, NaN for fewer than two values) of e.g. per-repeat AUCs."""
    values = np.asarray(values, dtype=np.float64).ravel()
    return {
        "mean": float(values.mean()) if values.size else math.nan,
        "std": float(values.std(ddof=1)) if values.size > 1 else math.nan,
        "n": int(values.size),
    }


def paired_ttest(a, b) -> dict[str, float]:
    """Two-sided paired t-test of ``a - b`` over the same folds/repeats (= ``scipy.stats.ttest_rel``).

    ``t = mean(d) / (std(d, ddof=1) / sqrt(n))`` with ``n - 1`` degrees of freedom. Identical
    differences give t = +-inf and p = 0 (or NaN for both when all differences are 0), as scipy.

    Returns:
        dict with keys t, p, n, mean_difference.
    """
    from scipy import stats  # only this test needs scipy

    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired samples must have equal length, got {a.size} and {b.size}")
    if a.size < 2:
        raise ValueError("a paired t-test needs at least two pairs")
    difference = a - b
    n, mean = difference.size, float(difference.mean())
    std = float(difference.std(ddof=1))
    if std == 0.0:
        t = math.nan if mean == 0.0 else math.copysign(math.inf, mean)
        p = math.nan if mean == 0.0 else 0.0
    else:
        t = mean / (std / math.sqrt(n))
        p = float(2.0 * stats.t.sf(abs(t), df=n - 1))
    return {"t": float(t), "p": p, "n": n, "mean_difference": mean}


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _scores(scores, name: str) -> np.ndarray:
    """Scores as a 1-D float array; NaN is an error (a diverged fold must not rank silently)."""
    scores = np.ravel(np.asarray(scores))
    if not np.issubdtype(scores.dtype, np.floating):
        scores = scores.astype(np.float64)
    if np.isnan(scores).any():
        raise ValueError(f"{name} contains NaN")
    return scores


def _labels_and_scores(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    labels, scores = _labels(labels), _scores(scores, "scores")
    if labels.shape != scores.shape:
        raise ValueError(f"labels {labels.shape} and scores {scores.shape} must have the same shape")
    return labels, scores


def _labels(labels) -> np.ndarray:
    """Labels as a 1-D bool array; only 0/1 (or bool) allowed."""
    labels = np.ravel(np.asarray(labels))
    if labels.dtype != bool:
        if not np.isin(labels, (0, 1)).all():
            raise ValueError("labels must be binary (1 = hidden known pair, 0 = candidate)")
        labels = labels.astype(bool)
    return labels
