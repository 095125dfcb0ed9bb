"""From an evaluation run to the metrics of its protocol.

Every hidden pair is ranked against the candidate pairs of its own fold's run:
``global`` (all candidates), ``drug-fixed`` (candidates of the same drug) and ``mirna-fixed``
(candidates of the same miRNA). AUC comes from those rank counts (ties count one half). AUPR and
the thresholded metrics pool hidden pairs (label 1) and candidates (label 0) over folds; the
threshold is the F1-maximising one on the pooled scores unless a fixed one is given.
k-fold runs are summarised per repeat, then as mean and standard deviation over repeats.
Folds whose solver produced non-finite values are left out of every metric and counted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sesl_jax.evaluation.engine import SCOPES, EvaluationRun
from sesl_jax.evaluation.folds import Folds
from sesl_jax.evaluation.metrics import loocv_auc, mean_std, pooled_metrics
from sesl_jax.solvers import Status

SCOPE_NAMES = {"global": "global", "drug": "drug-fixed", "mirna": "mirna-fixed"}


NOT_RUN = -1  # status of a stage a fold's method does not have (a nested selection mixing SESL and SE)


def solver_report(run: EvaluationRun, stages: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Per stage: how many folds converged, hit the iteration cap, or went non-finite; iteration
    counts over the folds that ran the stage (``not_run`` counts the others, when there are any)."""
    report = {}
    for index, stage in enumerate(stages):
        status = run.status[:, index]
        iterations = run.iterations[:, index][status != NOT_RUN]
        report[stage] = {
            "converged": int(np.sum(status == Status.CONVERGED)),
            "max_iterations": int(np.sum(status == Status.MAX_ITERATIONS)),
            "nonfinite": int(np.sum(status == Status.NONFINITE)),
            "iterations_mean": float(iterations.mean()) if iterations.size else 0.0,
            "iterations_max": int(iterations.max()) if iterations.size else 0,
        }
        if np.any(status == NOT_RUN):
            report[stage]["not_run"] = int(np.sum(status == NOT_RUN))
        if np.any(status == Status.INVALID_INPUT):  # traced parameters, target or mask out of range
            report[stage]["invalid_input"] = int(np.sum(status == Status.INVALID_INPUT))
    return report


def _metrics_of(run: EvaluationRun, fold_indices: np.ndarray, threshold: float | None) -> dict[str, dict[str, float]]:
    valid = ~np.isnan(run.hidden_scores[fold_indices])
    result: dict[str, dict[str, float]] = {}
    for scope_index, scope in enumerate(SCOPES):
        counts = [array[fold_indices][..., scope_index][valid] for array in (run.n_greater, run.n_equal, run.n_candidates)]
        result[SCOPE_NAMES[scope]] = {"auc": loocv_auc(*counts)}
    if run.candidate_scores is not None:
        hidden = [run.hidden_scores[f][~np.isnan(run.hidden_scores[f])] for f in fold_indices]
        candidates = [run.candidate_scores[f] for f in fold_indices]
        pooled = pooled_metrics(hidden, candidates, threshold)
        pooled.pop("auc")  # the rank-count AUC above is the same number, computed per fold
        result["global"].update(pooled)
    return result


def _threshold_notes(run: EvaluationRun, fold_indices: np.ndarray, threshold: float) -> list[str]:
    """A fixed threshold outside the scores predicts one class only: say so (scores of other methods
    than SESL/BNNR are not confined to [0, 1], and a threshold given in percent is a common slip)."""
    hidden = [run.hidden_scores[f][~np.isnan(run.hidden_scores[f])] for f in fold_indices]
    scores = np.concatenate([np.ravel(a) for a in hidden + [run.candidate_scores[f] for f in fold_indices]])
    if scores.size == 0:
        return []
    low, high = float(scores.min()), float(scores.max())
    if threshold > high:
        return [f"the fixed threshold {threshold:g} is above every score (highest {high:.4g}): no pair is "
                "predicted positive, so precision, recall and F1 are 0"]
    if threshold <= low:
        return [f"the fixed threshold {threshold:g} is at or below every score (lowest {low:.4g}): every pair "
                "is predicted positive"]
    return []


def _check_run(run: EvaluationRun, folds: Folds, stages: tuple[str, ...]) -> None:
    """The run, its folds and its method's stages belong together (a mismatch would be reported
    under the wrong protocol, or fail on an index)."""
    if isinstance(stages, str) or not all(isinstance(stage, str) for stage in stages):
        raise TypeError(f"stages must be a tuple of stage names (method.stages), got {stages!r}")
    if run.hidden_scores.shape[0] != folds.n_folds or run.hidden_scores.shape[1] != folds.hidden.shape[1]:
        raise ValueError(f"the run has {run.hidden_scores.shape[0]} folds of up to {run.hidden_scores.shape[1]} hidden "
                         f"pairs, the folds {folds.n_folds} of up to {folds.hidden.shape[1]}: not the folds it ran")
    if run.status.shape[1:] != (len(stages),):
        raise ValueError(f"the run has {run.status.shape[1] if run.status.ndim == 2 else 0} solver stage(s), "
                         f"stages names {len(stages)}: give the stages of the method that ran (method.stages)")


def summarize(run: EvaluationRun, folds: Folds, stages: tuple[str, ...], *, threshold: float | None = None) -> dict[str, Any]:
    """The metrics of a finished run, ready for ``metrics.json``.

    Returns:
        ``{"protocol", "n_folds", "n_hidden_pairs", "metrics": {scope: {metric: value}}, "solver",
        "excluded_folds", "notes"}``; for k-fold each value is ``{"mean", "std", "n"}`` over
        repeats and ``"per_repeat"`` lists the repeat values.
    """
    _check_run(run, folds, stages)
    if threshold is not None and not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number (or None: the F1-maximising one), got {threshold!r}")
    nonfinite, invalid = (np.any(run.status == code, axis=1) if run.status.size else np.zeros(folds.n_folds, bool)
                          for code in (Status.NONFINITE, Status.INVALID_INPUT))
    failed = nonfinite | invalid
    usable = np.flatnonzero(~failed)
    notes = []
    if run.candidate_scores is None:
        notes.append("candidate scores were not kept (too many values): AUPR and thresholded metrics omitted")
    if nonfinite.any():
        notes.append(f"{int(nonfinite.sum())} fold(s) had non-finite solver output and are excluded from the metrics")
    if invalid.any():
        notes.append(f"{int(invalid.sum())} fold(s) had solver parameters or inputs out of range (status "
                     "invalid_input) and are excluded from the metrics")
    if threshold is not None and run.candidate_scores is not None:
        notes.extend(_threshold_notes(run, usable, threshold))
    summary: dict[str, Any] = {
        "protocol": folds.protocol,
        "n_folds": folds.n_folds,
        "n_hidden_pairs": int(folds.n_hidden.sum()),
        "threshold_rule": "fixed" if threshold is not None else "F1-maximising on pooled scores",
        "solver": solver_report(run, stages),
        "excluded_folds": [int(f) for f in np.flatnonzero(failed)],
        "notes": notes,
    }
    if folds.protocol == "kfold":
        per_repeat = [
            _metrics_of(run, usable[folds.repeat[usable] == r], threshold) for r in range(folds.n_repeats)
        ]
        summary["per_repeat"] = per_repeat
        summary["metrics"] = {
            scope: {metric: mean_std([rep[scope][metric] for rep in per_repeat]) for metric in per_repeat[0][scope]}
            for scope in per_repeat[0]
        }
    else:
        summary["metrics"] = _metrics_of(run, usable, threshold)
    return summary


def format_value(value: Any) -> str:
    """``0.8742 ± 0.0029 (n=10)`` for a mean over repeats, ``0.8742`` for a single value."""
    if isinstance(value, dict):
        if value.get("std") is None or value.get("n", 0) < 2 or value["std"] != value["std"]:
            return f"{value['mean']:.4f} (n={value.get('n', 1)})"
        return f"{value['mean']:.4f} ± {value['std']:.4f} (n={value['n']})"
    return "n/a" if value is None else f"{value:.4f}"


def metrics_table(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Rows (scope, metric, value text) for printing; an undefined value (``None`` as read from
    ``metrics.json``, or NaN, e.g. the std of a single repeat) prints as ``n/a``."""
    rows = []
    for scope, values in summary["metrics"].items():
        for metric, value in values.items():
            if metric == "threshold":
                continue
            if isinstance(value, dict):
                text = f"{_number(value['mean'])} ± {_number(value['std'])} (n={value['n']})"
            else:
                text = _number(value)
            rows.append((scope, metric, text))
    return rows


def _number(value: float | None) -> str:
    return f"{value:.4f}" if value is not None and np.isfinite(value) else "n/a"
