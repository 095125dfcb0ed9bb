"""One evaluation run end to end: method + folds -> result store -> metrics, tables, plots.

Used by ``sesl-jax cv`` and by the reproduction; the library function does not touch global
JAX flags (the caller sets precision and devices).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import jax
import numpy as np
import pandas as pd

from sesl_jax._io import atomic_write_json, sha256_bytes
from sesl_jax.data import Dataset
from sesl_jax.evaluation.distributed import check_same_in_every_process, every_process, process_share
from sesl_jax.evaluation.engine import SCOPES, EvaluationRun, chunk_step, default_batch_size, evaluate
from sesl_jax.evaluation.folds import Folds, write_fold_file
from sesl_jax.evaluation.metrics import pair_auc_from_counts, pr_curve, roc_curve
from sesl_jax.evaluation.store import RECORDED_KEY, ResultStore
from sesl_jax.evaluation.summary import summarize
from sesl_jax.methods import Method
from sesl_jax.pipeline import MethodConfig, build_dataset_method
from sesl_jax.provenance import command_line, data_provenance, environment


def _finite_sum(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite.sum()) if finite.size else None


def folds_digest(folds: Folds) -> str:
    return sha256_bytes(np.ascontiguousarray(folds.hidden).tobytes() + folds.repeat.tobytes())


def inputs_digest(associations: np.ndarray, method: Method) -> str:
    """sha256 of the association matrix and every array the method carries (similarities,
    parameters): a resume must see exactly the same numbers, whatever files they came from."""
    parts = [np.ascontiguousarray(associations, dtype=np.float64).tobytes()]
    parts += [np.ascontiguousarray(np.asarray(leaf)).tobytes() for leaf in jax.tree_util.tree_leaves(method.inputs)]
    return sha256_bytes(b"".join(parts))


def data_identity(dataset: Dataset) -> dict[str, Any]:
    """What identifies the data, wherever it was read from: the shape, the sha256 of every file read
    (without their paths or names) and a digest of the drug and miRNA IDs."""
    ids = "\n".join([*dataset.drug_ids, "", *dataset.mirna_ids]).encode("utf-8")
    return {
        "shape": [dataset.n_drugs, dataset.n_mirnas],
        "known_pairs": dataset.n_known,
        "checksums": sorted(dataset.checksums.values()),
        "ids_digest": sha256_bytes(ids),
    }


def run_manifest(
    dataset: Dataset,
    folds: Folds,
    method: Method,
    config: MethodConfig,
    *,
    batch_size: int,
    threshold: float | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """What a result store fingerprints (what the results depend on: configuration, folds, data and
    input digests) and, under ``recorded``, what it only records: the chunk size and where the data
    was read from."""
    return {
        "method": dict(method.config, name=method.name, leaks=method.leaks),
        "config": config.to_dict(),
        "protocol": folds.protocol,
        "folds": {"n_folds": folds.n_folds, "n_repeats": folds.n_repeats, "seed": seed, "digest": folds_digest(folds)},
        "threshold": threshold,
        "dtype": config.dtype,
        "data": data_identity(dataset),
        "inputs_digest": inputs_digest(dataset.associations, method),
        RECORDED_KEY: {"batch_size": batch_size, "data": data_provenance(dataset)},
    }


def stored_batch_size(store: ResultStore, batch_size: int, log: Callable[[str], None] = lambda message: None) -> int:
    """The chunk size to use with ``store``: a resumed store keeps the one its chunks were written
    with (chunk ``i`` holds folds ``i*B .. (i+1)*B-1``), whatever ``batch_size`` is asked now."""
    stored = store.manifest.get(RECORDED_KEY, {}).get("batch_size") if store.resumed else None
    if stored is None or stored == batch_size:
        return batch_size
    log(f"{store.out_dir}: resuming with the stored batch size {stored} (not {batch_size})")
    return int(stored)


def check_run_options(batch_size: int | None, threshold: float | None) -> None:
    """``ValueError`` for a batch size below 1 or a non-finite threshold, before anything is written."""
    if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if threshold is not None and not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")


def pair_table(run: EvaluationRun, folds: Folds, dataset: Dataset) -> pd.DataFrame:
    """One row per hidden pair: where it was hidden, its score, and its rank in every scope."""
    frame = folds.to_frame()
    valid = np.arange(folds.hidden.shape[1])[None, :] < folds.n_hidden[:, None]
    frame.insert(3, "drug_id", np.asarray(dataset.drug_ids, dtype=object)[frame["drug_index"]])
    frame.insert(4, "mirna_id", np.asarray(dataset.mirna_ids, dtype=object)[frame["mirna_index"]])
    frame["score"] = run.hidden_scores[valid]
    for index, scope in enumerate(SCOPES):
        greater, equal, total = (array[valid][:, index] for array in (run.n_greater, run.n_equal, run.n_candidates))
        frame[f"rank_{scope}"] = greater + 1
        frame[f"ties_{scope}"] = equal
        frame[f"candidates_{scope}"] = total
        frame[f"auc_{scope}"] = pair_auc_from_counts(greater, equal, total)
    fold = frame["fold"].to_numpy()
    for index in range(run.iterations.shape[1]):
        frame[f"iterations_{index}"] = run.iterations[fold, index]
        frame[f"status_{index}"] = run.status[fold, index]
    return frame


def roc_pr_curves(run: EvaluationRun) -> tuple[np.ndarray, ...] | None:
    """Pooled ROC and PR curves (fpr, tpr, precision, recall), or None without candidate scores."""
    if run.candidate_scores is None:
        return None
    finite = ~np.isnan(run.hidden_scores)
    hidden = run.hidden_scores[finite]
    candidates = run.candidate_scores[np.isfinite(run.candidate_scores).all(axis=1)].ravel()
    labels = np.r_[np.ones(hidden.size, bool), np.zeros(candidates.size, bool)]
    scores = np.r_[hidden, candidates]
    fpr, tpr, _ = roc_curve(labels, scores)
    precision, recall, _ = pr_curve(labels, scores)
    return fpr, tpr, precision, recall


def run_evaluation(
    dataset: Dataset,
    folds: Folds,
    *,
    out_dir: str | Path,
    config: MethodConfig = MethodConfig(),
    batch_size: int | None = None,
    threshold: float | None = None,
    progress: bool | Callable[[str], None] = False,
    seed: int | None = None,
    method: Method | None = None,
    devices: list | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> dict[str, Any]:
    """Evaluate, store every chunk as it finishes, and write metrics, tables and plots.

    Rerunning with the same configuration and data and the same ``out_dir`` resumes, even when the
    data files are read from another directory or another ``batch_size`` is given (the stored chunk
    size is kept); a different configuration or different data refuses to reuse ``out_dir``
    (``ResumeMismatchError``).

    Args:
        config: what to build (see ``sesl_jax.pipeline``); ``method``, when given, is the method
            already built from it (e.g. over cached similarities).
        batch_size: folds per chunk, at least 1 (default from device memory).
        threshold: a fixed, finite score threshold (default: F1-maximising).

    Raises:
        ValueError: a batch size below 1 or a non-finite threshold, before anything is written.

    Returns:
        The summary written to ``out_dir/metrics.json``.
    """
    check_run_options(batch_size, threshold)
    out_dir = Path(out_dir)
    dtype = config.dtype
    if method is None:
        method = build_dataset_method(dataset, config)
    devices = list(devices or jax.local_devices())
    if batch_size is None:
        batch_size = default_batch_size(dataset.n_drugs, dataset.n_mirnas, dtype, devices, method=method,
                                        n_folds=folds.n_folds)
    step = chunk_step(method, len(devices))
    batch_size = -(-batch_size // step) * step
    store = ResultStore(out_dir, run_manifest(dataset, folds, method, config, batch_size=batch_size,
                                              threshold=threshold, seed=seed))
    batch_size = stored_batch_size(store, batch_size, log)
    if batch_size % step:
        # a chunk is split evenly over the devices: use as many as divide the stored chunk size
        devices = devices[: max(d for d in range(1, len(devices) + 1) if batch_size % chunk_step(method, d) == 0)]
        log(f"{out_dir}: {len(devices)} device(s) used, as the stored batch size {batch_size} requires")
    n_chunks = -(-folds.n_folds // batch_size)
    finished = out_dir / "metrics.json"
    is_finished = store.resumed and finished.is_file() and len(store.completed_chunks()) == n_chunks
    process_index, process_count = process_share()
    if process_count > 1:  # every process takes the same branch: the evaluation is a collective
        check_same_in_every_process(fingerprint=store.manifest["fingerprint"], batch_size=batch_size)
        is_finished = every_process(is_finished)
    if is_finished:
        # The same configuration and data (the store checked) finished before: its summary stands, and
        # re-summarising a LOOCV run (tables of millions of candidate scores) would cost minutes.
        log(f"{out_dir} is finished; reading its metrics.json")
        summary = json.loads(finished.read_text(encoding="utf-8"))
        summary["timing"] = {**summary.get("timing", {}), "seconds_this_call": 0.0, "compute_seconds": 0.0,
                             "folds_computed": 0, "seconds_per_fold": None}
        return summary
    stored_chunks = len(store.completed_chunks()) if store.resumed else 0
    if stored_chunks:  # (a manifest without chunks may be another process's, written a moment ago)
        log(f"resuming {out_dir}: {stored_chunks} chunk(s) already done")
    primary = process_index == 0  # the process that writes the results (each one returns them)
    if primary:
        write_fold_file(folds, out_dir / "folds.csv", dataset.drug_ids, dataset.mirna_ids)
        atomic_write_json(out_dir / "environment.json", {"command": command_line(), **environment()})
    started = time.perf_counter()
    run = evaluate(method, dataset.associations, folds, batch_size=batch_size, store=store, devices=devices,
                   progress=progress, dtype=dtype)
    summary = summarize(run, folds, method.stages, threshold=threshold)
    summary.update(
        method=method.name,
        method_config=dict(method.config),
        leaks=method.leaks,
        dataset=dataset.name,
        seed=seed,
        batch_size=batch_size,
        devices=len(devices) * process_count,
        processes=process_count,
        timing={
            "seconds_this_call": time.perf_counter() - started,
            "compute_seconds": run.seconds,
            "folds_computed": run.folds_computed,
            "seconds_per_fold": run.seconds / run.folds_computed if run.folds_computed else None,
            # every fold's cost, including chunks computed by earlier (interrupted) calls; the first
            # chunk of each call also paid for compilation
            "compute_seconds_all_folds": _finite_sum(run.fold_seconds),
            "seconds_per_fold_all_folds": float(run.fold_seconds.mean()) if np.isfinite(run.fold_seconds).all() else None,
        },
    )
    if method.leaks:
        summary["notes"].append(
            f"transductive protocol ({method.config.get('transductive_fit', 'fitted on the full matrix')}): hidden "
            "pairs shaped their own scores; these metrics are inflated and only reproduce the published protocol"
        )
    if not primary:
        return summary
    store.write_table("scores", pair_table(run, folds, dataset))
    curves = roc_pr_curves(run)
    if curves is not None:
        try:
            from sesl_jax.evaluation.plots import plot_roc_pr

            plot_roc_pr({f"{method.name} ({folds.protocol})": curves}, out_dir / "roc_pr.png")
        except ImportError as error:
            summary["notes"].append(f"no plots: {error}")
    store.write_json("metrics", summary)
    return summary
