"""Run an :class:`~sesl_jax.reproduce.experiments.ExperimentPlan`: every evaluation run once, then the report.

Each run is one :func:`sesl_jax.evaluation.runner.run_evaluation` call with its own directory
under ``out_dir/runs/``, so an interrupted reproduction resumes: rerunning skips finished chunks
(and finished runs only re-read their chunks). A run whose inputs are missing (PCD's biological drug
similarity, the sequence encoders' weights) is recorded as "not available" with the reason.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from sesl_jax._io import atomic_write, atomic_write_json, stderr_log
from sesl_jax.data import Dataset
from sesl_jax.evaluation.folds import Folds, kfold_folds, known_pairs, loocv_folds
from sesl_jax.reproduce._unavailable import unavailable_errors, unavailable_reason
from sesl_jax.reproduce.experiments import ExperimentPlan, RunSpec, execution_order, experiment_rows, unique_runs

RUNS_DIR = "runs"


def subsampled_loocv_folds(associations: np.ndarray, n_folds: int | None, seed: int) -> Folds:
    """Global LOOCV folds, or a seeded random subset of ``n_folds`` of them (kept in pair order).

    The subset still ranks each hidden pair against every candidate, so its AUCs estimate the full
    LOOCV's with fewer folds (sampling error about ``std(pair AUC) / sqrt(n_folds)``).
    """
    folds = loocv_folds(associations)
    if n_folds is None or n_folds >= folds.n_folds:
        return folds
    chosen = np.sort(np.random.default_rng(seed).choice(folds.n_folds, size=n_folds, replace=False))
    return dataclasses.replace(
        folds, hidden=folds.hidden[chosen], n_hidden=folds.n_hidden[chosen], repeat=folds.repeat[chosen],
        fold_in_repeat=np.arange(n_folds, dtype=np.int32),
    )


def reduced_dataset(dataset: Dataset, keep_fraction: float, seed: int) -> tuple[Dataset, np.ndarray]:
    """``dataset`` with only a seeded random ``keep_fraction`` of its known pairs (the rest set to 0).

    Returns:
        The reduced dataset and the ``(n_kept, 2)`` kept pair indices.
    """
    if not 0.0 < keep_fraction <= 1.0:
        raise ValueError(f"keep fraction must be in (0, 1], got {keep_fraction}")
    pairs = known_pairs(dataset.associations)
    if keep_fraction == 1.0:
        return dataset, pairs
    n_keep = max(1, int(round(keep_fraction * len(pairs))))
    kept = pairs[np.sort(np.random.default_rng(seed).choice(len(pairs), size=n_keep, replace=False))]
    associations = np.zeros_like(np.asarray(dataset.associations))
    associations[kept[:, 0], kept[:, 1]] = 1.0
    return dataclasses.replace(dataset, associations=associations), kept


class SimilarityCache:
    """Similarity matrices per (dataset, configuration), computed once: sequence codes take seconds each."""

    def __init__(self) -> None:
        self._cache: dict[tuple, Any] = {}

    def get(self, dataset: Dataset, config):
        """The similarities ``config`` (a ``MethodConfig``) names: its sources, map, miRNA form and encoder."""
        from sesl_jax.pipeline import resolve_similarities

        key = (dataset.name, config.resolved_similarity, config.similarity_map, config.mirna_form, config.encoder)
        if key not in self._cache:
            try:
                self._cache[key] = resolve_similarities(dataset, config)
            except unavailable_errors() as error:
                self._cache[key] = error
        value = self._cache[key]
        if isinstance(value, Exception):
            raise value
        return value


def run_config(spec: RunSpec, plan: ExperimentPlan):
    """The :class:`~sesl_jax.pipeline.MethodConfig` of a run (the command line's defaults otherwise)."""
    from sesl_jax.pipeline import MethodConfig

    return MethodConfig(method=spec.method, similarity=spec.similarity, dtype=plan.dtype, transductive=spec.transductive,
                        variant=spec.code_variant, bnnr_svt=spec.bnnr_svt(plan.bnnr_svt))


def execute_run(
    spec: RunSpec,
    datasets: Mapping[str, Dataset],
    run_dir: Path,
    plan: ExperimentPlan,
    similarities: SimilarityCache,
    *,
    progress: bool | Callable[[str], None],
    log: Callable[[str], None],
) -> dict[str, Any]:
    """One evaluation run; returns ``{"status": "done", "summary": ...}`` or ``{"status": "not available", "reason"}``."""
    from sesl_jax.evaluation.runner import run_evaluation

    from sesl_jax.pipeline import build_dataset_method

    dataset, kept = reduced_dataset(datasets[spec.dataset], spec.keep_fraction, spec.keep_seed)
    config = run_config(spec, plan)
    try:
        method = build_dataset_method(dataset, config, similarities=similarities.get(dataset, config))
    except unavailable_errors() as error:
        return {"status": "not available", "reason": unavailable_reason(error)}
    if spec.protocol == "kfold":
        folds = kfold_folds(dataset.associations, k=spec.k, repeats=spec.repeats, seed=spec.seed)
    else:
        folds = subsampled_loocv_folds(dataset.associations, spec.loocv_subsample, spec.subsample_seed)
    if spec.keep_fraction < 1.0:
        run_dir.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame({"drug_id": np.asarray(dataset.drug_ids, dtype=object)[kept[:, 0]],
                              "mirna_id": np.asarray(dataset.mirna_ids, dtype=object)[kept[:, 1]]})
        atomic_write(run_dir / "kept_pairs.csv", lambda tmp: frame.to_csv(tmp, index=False))
    summary = run_evaluation(
        dataset, folds, out_dir=run_dir, config=config, method=method, batch_size=plan.batch_size, progress=progress,
        seed=spec.seed if spec.protocol == "kfold" else None, log=log,
    )
    return {"status": "done", "summary": summary}


def run_reproduction(
    datasets: Mapping[str, Dataset],
    out_dir: str | Path,
    plan: ExperimentPlan,
    *,
    data_dir: str | None = None,
    progress: bool | Callable[[str], None] = False,
    log: Callable[[str], None] = stderr_log,
    report_only: bool = False,
) -> dict[str, Any]:
    """Run every experiment of ``plan`` on ``datasets`` and write the report directory.

    Args:
        datasets: name -> dataset, for every name in ``plan.datasets`` (a missing one is reported).
        out_dir: the report directory: ``report.md``, ``results.json``, figures, ``runs/<key>/``.
        plan: what to run (see :mod:`sesl_jax.reproduce.experiments`).
        data_dir: shown in the equivalent ``sesl-jax cv`` commands.
        progress: the engine's progress bar per run.
        log: receives one line per run (``[i/N] ...``) and resume notices.
        report_only: compute nothing new: finished runs are re-read, the others are reported as
            "not run" (e.g. to report on a long reproduction that is still running or was stopped).

    Returns:
        The results written to ``results.json``.
    """
    from sesl_jax.reproduce.case_studies import run_case_studies
    from sesl_jax.reproduce.report import write_report

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = experiment_rows(plan)
    specs = execution_order(unique_runs(rows))
    similarities = SimilarityCache()
    runs: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    for index, spec in enumerate(specs, start=1):
        run_dir = out_dir / RUNS_DIR / spec.key
        record: dict[str, Any] = {"spec": dataclasses.asdict(spec), "run_dir": f"{RUNS_DIR}/{spec.key}",
                                  "cv_command": spec.cv_command(data_dir, plan.dtype, str(run_dir), plan.batch_size,
                                                              plan.bnnr_svt)}
        if spec.dataset not in datasets:
            record.update(status="not available", reason=f"not available: dataset {spec.dataset!r} was not loaded")
        else:
            finished = (run_dir / "metrics.json").exists()
            if report_only and not finished:
                try:  # a missing input is still reported as such
                    similarities.get(datasets[spec.dataset], run_config(spec, plan))
                    record.update(status="not run", reason="not run yet: rerun the command without --report-only to "
                                  "compute it (finished chunks are kept)")
                except unavailable_errors() as error:
                    record.update(status="not available", reason=unavailable_reason(error))
            else:
                log(f"[{index}/{len(specs)}] {spec.describe()}" + (" (finished; re-reading)" if finished else ""))
                tic = time.perf_counter()
                record.update(execute_run(spec, datasets, run_dir, plan, similarities, progress=progress, log=log))
                record["seconds"] = time.perf_counter() - tic
        if record["status"] not in ("done", "not run"):
            log(f"[{index}/{len(specs)}] {spec.describe()}: {record['reason']}")
        runs[spec.key] = record
    case_studies = None
    if 7 in plan.experiments:
        log("case studies (experiment 7)")
        case_studies = run_case_studies(datasets, plan, similarities, out_dir / "case_studies", log=log,
                                        report_only=report_only)
    results = {
        "plan": dataclasses.asdict(plan),
        "data_dir": data_dir,
        "datasets": {name: {"shape": [d.n_drugs, d.n_mirnas], "known_pairs": d.n_known, "source": d.source}
                     for name, d in datasets.items()},
        "runs": runs,
        "rows": {str(n): [dataclasses.asdict(row) | {"run_keys": [s.key for s in row.runs]} for row in table]
                 for n, table in rows.items()},
        "case_studies": case_studies,
        "report_only": report_only,
        "seconds": time.perf_counter() - started,
    }
    write_report(results, rows, out_dir)
    atomic_write_json(out_dir / "results.json", results)
    return results
