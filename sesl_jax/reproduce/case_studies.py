"""Experiment 7: case studies of the full model.

- Top novel pairs: SESL fitted on every known pair; the highest-scoring unknown pairs.
- New drug: every known pair of one drug (enoxacin CID:3229, estradiol CID:5757 in the paper) is
  hidden (its row of A set to 0), SESL is refitted, and the drug's miRNAs are ranked; a column says
  which of them were hidden known pairs. Same hiding as ``sesl_jax.evaluation.folds.new_drug_folds``.

Each similarity source's results are stored as JSON beside a fingerprint of the inputs, so a rerun
re-reads them instead of refitting.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from sesl_jax._io import atomic_write_json, file_slug
from sesl_jax.data import Dataset
from sesl_jax.reproduce.experiments import ExperimentPlan, resolved_similarity

CASE_METHOD = "sesl"


def _fit(dataset: Dataset, similarities, dtype: str):
    from sesl_jax.estimator import SESL

    model = SESL(CASE_METHOD, dtype=dtype)
    return model.fit(dataset, drug_similarity=similarities.drug, mirna_similarity=similarities.mirna)


def top_novel_pairs(model, top: int) -> list[dict[str, Any]]:
    """The ``top`` highest-scoring pairs that are unknown in the fitted matrix (ties in row-major order)."""
    scores = np.where(model.associations_ == 0, model.scores_, -np.inf)
    flat = np.lexsort((np.arange(scores.size), -scores.ravel()))[:top]
    rows, cols = np.unravel_index(flat, scores.shape)
    return [
        {"rank": rank, "drug_id": model.drug_ids_[i], "mirna_id": model.mirna_ids_[j], "score": float(model.scores_[i, j])}
        for rank, (i, j) in enumerate(zip(rows, cols), start=1)
        if np.isfinite(scores[i, j])
    ]


def new_drug_case(dataset: Dataset, drug_id: str, similarities, dtype: str, top: int) -> dict[str, Any]:
    """Hide all known pairs of ``drug_id``, refit, and rank its miRNAs."""
    row = dataset.drug_ids.index(drug_id)
    hidden = np.asarray(dataset.associations[row]) != 0
    associations = np.array(dataset.associations)
    associations[row] = 0.0
    model = _fit(dataclasses.replace(dataset, associations=associations), similarities, dtype)
    ranking = model.rank_mirnas(drug_id)
    ranking["hidden_known"] = hidden[[dataset.mirna_ids.index(m) for m in ranking["mirna_id"]]]
    hidden_ranks = ranking.loc[ranking["hidden_known"], "rank"].tolist()
    return {
        "drug_id": drug_id,
        "n_hidden_known": int(hidden.sum()),
        "hidden_in_top": int(sum(rank <= top for rank in hidden_ranks)),
        "hidden_ranks": [int(rank) for rank in hidden_ranks],
        "n_mirnas": dataset.n_mirnas,
        "top": [
            {"rank": int(r.rank), "mirna_id": r.mirna_id, "score": float(r.score), "hidden_known": bool(r.hidden_known)}
            for r in ranking.head(top).itertuples(index=False)
        ],
    }


def _fingerprint(dataset: Dataset, similarities, plan: ExperimentPlan) -> str:
    digest = hashlib.sha256()
    for array in (dataset.associations, similarities.drug, similarities.mirna):
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    digest.update(json.dumps([plan.dtype, plan.case_top, list(plan.case_drugs), CASE_METHOD]).encode())
    return digest.hexdigest()


def run_case_studies(
    datasets: Mapping[str, Dataset],
    plan: ExperimentPlan,
    similarity_cache,
    out_dir: Path,
    *,
    log: Callable[[str], None] = lambda message: None,
    report_only: bool = False,
) -> dict[str, Any]:
    """Case studies on the plan's primary dataset, for SESL's default (sequence) and biological similarity.

    ``report_only``: re-read finished case studies, fit nothing (the others are "not run").

    Returns:
        ``{"dataset", "method", "by_similarity": {source: {...} or {"status": "not available", "reason"}}}``.
    """
    from sesl_jax.pipeline import MethodConfig
    from sesl_jax.reproduce._unavailable import unavailable_errors, unavailable_reason

    name = plan.primary_dataset
    result: dict[str, Any] = {"dataset": name, "method": CASE_METHOD, "by_similarity": {}}
    if name not in datasets:
        result["status"] = f"not available: dataset {name!r} was not loaded"
        return result
    dataset = datasets[name]
    sources = dict.fromkeys([resolved_similarity(CASE_METHOD, None), "biological"])
    for source in sources:
        try:
            similarities = similarity_cache.get(dataset, MethodConfig(CASE_METHOD, similarity=source, dtype=plan.dtype))
        except unavailable_errors() as error:
            result["by_similarity"][source] = {"status": "not available", "reason": unavailable_reason(error)}
            continue
        path = out_dir / f"{name}_{file_slug(source)}.json"
        fingerprint = _fingerprint(dataset, similarities, plan)
        if path.exists():
            stored = json.loads(path.read_text(encoding="utf-8"))
            if stored.get("fingerprint") == fingerprint:
                log(f"case studies, {source} similarity: finished; re-reading {path}")
                result["by_similarity"][source] = stored
                continue
        if report_only:
            result["by_similarity"][source] = {"status": "not run", "reason": "not run yet: rerun the command "
                                               "without --report-only to compute it"}
            continue
        log(f"case studies, {source} similarity: fitting {CASE_METHOD} on all pairs, then one refit per new drug")
        model = _fit(dataset, similarities, plan.dtype)
        entry: dict[str, Any] = {
            "status": "done",
            "fingerprint": fingerprint,
            "solver": model.stats_,
            "top_novel_pairs": top_novel_pairs(model, plan.case_top),
            "new_drugs": {},
        }
        for drug_id, drug_name in zip(plan.case_drugs, plan.case_drug_names):
            if drug_id not in dataset.drug_ids:
                entry["new_drugs"][drug_id] = {"name": drug_name, "status": f"not available: {drug_id} is not in {name}"}
                continue
            if not np.any(dataset.associations[dataset.drug_ids.index(drug_id)]):
                entry["new_drugs"][drug_id] = {"name": drug_name, "status": f"not available: {drug_id} has no known pair"}
                continue
            case = new_drug_case(dataset, drug_id, similarities, plan.dtype, plan.case_top)
            entry["new_drugs"][drug_id] = {"name": drug_name, "status": "done", **case}
        atomic_write_json(path, entry)
        result["by_similarity"][source] = entry
    return result
