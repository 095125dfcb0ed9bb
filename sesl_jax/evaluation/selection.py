"""Choosing a configuration by nested cross-validation, never on the folds it is scored on.

``select_configuration`` runs an inner k-fold CV of every candidate on one association matrix
and picks the best global AUC (ties: the first candidate, so the grid order is the preference).
``nested_cross_validation`` estimates how well that *procedure* ranks unseen pairs: for every
outer fold, the selection sees only the outer training matrix (outer hidden pairs are unknowns
to it, exactly as in real use), and the chosen candidate's scores on the outer hidden pairs are
what the outer metrics pool. Every candidate (and any reference method) is also scored on the
same outer folds, for the table.

Leakage: the candidates' ``Method`` objects are built once from the full matrix; the only thing a
SESL-family builder takes from it is the static rank bound of the LRR reduction, which is a valid
bound for every training matrix and changes no score (the reduction is exact). Transductive
variants, which do fit on the full matrix, are refused as candidates.

Results go to ``out_dir``: ``inner/`` (a result store, one chunk per outer fold plus one for the
final selection on all pairs), ``outer/<candidate>/`` (one result store per candidate and
reference), and ``selection.json``. Every part resumes when rerun with the same arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from sesl_jax._io import atomic_write_json, check_own_directory, file_slug
from sesl_jax.data import Dataset
from sesl_jax.evaluation.engine import EvaluationRun, default_batch_size, evaluate
from sesl_jax.evaluation.choices import CRITERIA, SIMILARITY_GRID
from sesl_jax.evaluation.folds import Folds, kfold_folds
from sesl_jax.evaluation.runner import data_identity, folds_digest, inputs_digest, run_manifest, stored_batch_size
from sesl_jax.evaluation.store import MANIFEST_NAME, RECORDED_KEY, ResultStore
from sesl_jax.evaluation.summary import NOT_RUN, summarize
from sesl_jax.methods import Method
from sesl_jax.pipeline import MethodConfig, build_method, resolve_similarities
from sesl_jax.provenance import command_line, data_provenance, environment
from sesl_jax.similarity import check_code_options, split_configuration

FINAL = "final selection on all known pairs"


# what a select run writes in its --out directory
SELECTION_ENTRIES = ("inner", "outer", "selection.json")


def check_selection_directory(out_dir: str | Path) -> None:
    """Raise ``FileExistsError`` unless ``out_dir`` is absent, a selection's own directory (resumed),
    or free of other files: a new selection never writes over the user's files."""
    if not (Path(out_dir) / "inner" / MANIFEST_NAME).is_file():
        check_own_directory(out_dir, SELECTION_ENTRIES, "a select run")

def parse_candidate(text: str, method: str = "sesl", dtype: str = "float32", encoder: str | None = None) -> MethodConfig:
    """``"drug=sequence,mirna=biological,map=inverse"`` -> a :class:`MethodConfig` (the source as
    for ``--similarity``, optional ``map=`` / ``mirna_form=`` / ``encoder=`` parts; ``encoder``
    applies when the text has no ``encoder=`` part). Raises ValueError."""
    parts = split_configuration(text)[1]
    if "encoder" in parts:
        encoder = None
    config = MethodConfig(method=method, similarity=text, dtype=dtype, encoder=encoder)
    check_code_options(config.resolved_similarity, parts)  # a part the source never uses would be a twin
    return config


def candidate_label(config: MethodConfig) -> str:
    """``method: similarity`` (plus the map or observed set where they differ from the defaults)."""
    label = f"{config.method}: {config.resolved_similarity}"
    extras = [f"map={config.similarity_map}" if "sequence" in config.resolved_similarity else "",
              f"encoder={config.encoder}" if "sequence" in config.resolved_similarity and config.encoder != "lstm" else "",
              f"observed={config.observed}" if config.observed != "nonzero" else "",
              f"variant={config.variant}" if config.variant != "default" else ""]
    return label + "".join(f", {extra}" for extra in extras if extra)


def _auc(run: EvaluationRun, folds: Folds, stages: tuple[str, ...], scope: str) -> float:
    value = summarize(run, folds, stages)["metrics"][scope]["auc"]
    return float(value["mean"] if isinstance(value, dict) else value)


def _check_criterion(criterion: str) -> None:
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {', '.join(CRITERIA)}; got {criterion!r}")


def inner_scores(
    associations: np.ndarray,
    methods: Sequence[Method],
    *,
    k: int,
    repeats: int,
    seed: int,
    batch_size: int | None = None,
    criterion: str = "global",
) -> np.ndarray:
    """k-fold AUC of scope ``criterion`` (mean over repeats) of each method on ``associations`` alone.

    Returns:
        (n_methods,) AUCs; NaN where a method failed on every fold.
    """
    _check_criterion(criterion)
    folds = kfold_folds(associations, k=k, repeats=repeats, seed=seed)
    scores = []
    for method in methods:
        run = evaluate(method, associations, folds, batch_size=batch_size, keep_candidates=False)
        scores.append(_auc(run, folds, method.stages, criterion))
    return np.asarray(scores, dtype=np.float64)


def choose(scores: np.ndarray) -> int:
    """Index of the best score; ties (and NaN-free ties) go to the first candidate."""
    scores = np.where(np.isnan(scores), -np.inf, scores)
    return int(np.flatnonzero(scores == scores.max())[0])


def _build(dataset: Dataset, configs: Sequence[MethodConfig]) -> list[Method]:
    cache: dict[tuple[str, str, str], Any] = {}
    methods = []
    for config in configs:
        if config.transductive:
            raise ValueError(f"{candidate_label(config)}: transductive variants fit on the full matrix and cannot be selected")
        key = (config.resolved_similarity, config.similarity_map, config.mirna_form, config.encoder)
        if key not in cache:
            try:
                cache[key] = resolve_similarities(dataset, config)
            except ValueError as error:  # e.g. a biological similarity the data lacks: name the configuration
                raise type(error)(f"{candidate_label(config)}: {error}") from None
        methods.append(build_method(np.asarray(dataset.associations), cache[key], config))
    return methods


def select_configuration(
    dataset: Dataset,
    candidates: Sequence[MethodConfig],
    *,
    inner_k: int = 5,
    inner_repeats: int = 1,
    seed: int = 0,
    batch_size: int | None = None,
    criterion: str = "global",
) -> tuple[int, np.ndarray]:
    """The candidate that an inner CV on all of ``dataset``'s known pairs prefers, and every AUC."""
    scores = inner_scores(np.asarray(dataset.associations), _build(dataset, candidates), k=inner_k,
                          repeats=inner_repeats, seed=seed, batch_size=batch_size, criterion=criterion)
    return choose(scores), scores


def _training_matrix(associations: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    train = np.array(associations, dtype=np.float64)
    valid = hidden[hidden[:, 0] >= 0]
    train[valid[:, 0], valid[:, 1]] = 0.0
    return train


def union_stages(methods: Sequence[Method]) -> tuple[str, ...]:
    """Every iterative stage of ``methods``, in order of first appearance (SESL and SE: lrr, bnnr)."""
    return tuple(dict.fromkeys(stage for method in methods for stage in method.stages))


def _on_stages(array: np.ndarray, own: tuple[str, ...], stages: tuple[str, ...], missing: int) -> np.ndarray:
    """Per-stage columns of ``array`` (folds, len(own)) placed on ``stages``; ``missing`` where a stage is not run."""
    placed = np.full((array.shape[0], len(stages)), missing, dtype=array.dtype)
    for column, stage in enumerate(own):
        placed[:, stages.index(stage)] = array[:, column]
    return placed


def _selected_run(runs: Sequence[EvaluationRun], chosen: np.ndarray, run_stages: Sequence[tuple[str, ...]],
                  stages: tuple[str, ...]) -> EvaluationRun:
    """Fold f's outputs from ``runs[chosen[f]]``: what the selection procedure scored. Solver
    statistics are placed on ``stages``, with status ``NOT_RUN`` where the chosen method has no such stage."""
    def pick(name: str, arrays=None):
        arrays = arrays if arrays is not None else [getattr(run, name) for run in runs]
        if any(array is None for array in arrays):
            return None
        return np.stack([arrays[c][f] for f, c in enumerate(chosen)])

    iterations = [_on_stages(run.iterations, own, stages, 0) for run, own in zip(runs, run_stages)]
    status = [_on_stages(run.status, own, stages, NOT_RUN) for run, own in zip(runs, run_stages)]
    return EvaluationRun(
        hidden_scores=pick("hidden_scores"), n_greater=pick("n_greater"), n_equal=pick("n_equal"),
        n_candidates=pick("n_candidates"), iterations=pick("iterations", iterations), status=pick("status", status),
        candidate_scores=pick("candidate_scores"), candidate_pairs=runs[0].candidate_pairs,
        seconds=float(sum(run.seconds for run in runs)), folds_computed=int(sum(run.folds_computed for run in runs)),
        fold_seconds=pick("fold_seconds"),
    )


def _metrics(summary: dict[str, Any]) -> dict[str, Any]:
    return {"metrics": summary["metrics"], "solver": summary["solver"], "excluded_folds": summary["excluded_folds"]}


def nested_cross_validation(
    dataset: Dataset,
    candidates: Sequence[MethodConfig],
    outer_folds: Folds,
    *,
    out_dir: str | Path,
    inner_k: int = 5,
    inner_repeats: int = 1,
    seed: int = 0,
    references: Sequence[MethodConfig] = (),
    batch_size: int | None = None,
    progress: bool | Callable[[str], None] = False,
    log: Callable[[str], None] = lambda message: None,
    criterion: str = "global",
) -> dict[str, Any]:
    """Nested CV of the selection over ``candidates``, plus the final selection on all pairs.

    Args:
        dataset: the benchmark; its association matrix is the outer CV's.
        candidates: configurations to choose from, of one method or several (e.g. SESL and SE:
            sparse learning or not).
        outer_folds: the outer split (e.g. ``kfold_folds(A, 5, repeats=10, seed=0)``).
        out_dir: where every part is stored (resumable).
        inner_k, inner_repeats: the inner k-fold CV run inside each outer training matrix.
        seed: inner split of outer fold ``f`` uses ``seed + 1 + f``; the final selection ``seed``.
        references: methods scored on the same outer folds for comparison (never selected).
        criterion: the scope whose inner AUC picks the candidate (``CRITERIA``; default global).

    Returns:
        The summary written to ``out_dir/selection.json``.
    """
    if not candidates:
        raise ValueError("nested selection needs at least one candidate")
    _check_criterion(criterion)
    labels = [candidate_label(config) for config in candidates]
    if len(set(labels)) != len(labels):
        raise ValueError("candidates must differ: " + "; ".join(labels))
    out_dir = Path(out_dir)
    associations = np.asarray(dataset.associations)
    methods = _build(dataset, candidates)
    reference_methods = _build(dataset, references)

    manifest = {
        "candidates": [config.to_dict() for config in candidates],
        "inputs_digests": [inputs_digest(associations, method) for method in methods],
        "outer_folds": {"n_folds": outer_folds.n_folds, "n_repeats": outer_folds.n_repeats, "digest": folds_digest(outer_folds)},
        # the criterion joins the inner record only where it is not the original global AUC, so
        # stores written before it existed still resume
        "inner": {"k": inner_k, "repeats": inner_repeats, "seed": seed,
                  **({"criterion": criterion} if criterion != "global" else {})},
        "data": data_identity(dataset),
        RECORDED_KEY: {"batch_size": batch_size, "data": data_provenance(dataset)},
    }
    check_selection_directory(out_dir)
    inner_store = ResultStore(out_dir / "inner", manifest)
    done = inner_store.completed_chunks()
    chosen = np.zeros(outer_folds.n_folds, dtype=np.int64)
    inner_auc = np.zeros((outer_folds.n_folds, len(candidates)))
    for fold in range(outer_folds.n_folds):
        if fold in done:
            stored = inner_store.read_chunk(fold)
        else:
            train = _training_matrix(associations, outer_folds.hidden[fold])
            scores = inner_scores(train, methods, k=inner_k, repeats=inner_repeats, seed=seed + 1 + fold,
                                  batch_size=batch_size, criterion=criterion)
            stored = {"inner_auc": scores, "selected": np.asarray(choose(scores))}
            inner_store.write_chunk(fold, stored)
            log(f"outer fold {fold + 1}/{outer_folds.n_folds}: selected {labels[int(stored['selected'])]} "
                f"(inner AUC {float(np.max(scores)):.4f})")
        inner_auc[fold], chosen[fold] = stored["inner_auc"], int(stored["selected"])

    import jax

    chunk = batch_size or default_batch_size(dataset.n_drugs, dataset.n_mirnas, candidates[0].dtype, jax.local_devices(),
                                             n_folds=outer_folds.n_folds)
    outer_runs, summaries = [], {}
    for config, method in zip([*candidates, *references], [*methods, *reference_methods]):
        label = candidate_label(config)
        store = ResultStore(out_dir / "outer" / file_slug(label),
                            run_manifest(dataset, outer_folds, method, config, batch_size=chunk))
        log(f"outer folds: {label}")
        run = evaluate(method, associations, outer_folds, batch_size=stored_batch_size(store, chunk, log), store=store,
                       progress=progress)
        summary = summarize(run, outer_folds, method.stages)
        store.write_json("metrics", summary)
        summaries[label] = summary
        if config in candidates:
            outer_runs.append(run)

    stages = union_stages(methods)
    nested = summarize(_selected_run(outer_runs, chosen, [method.stages for method in methods], stages), outer_folds, stages)
    final_index = len(outer_folds.hidden)
    if final_index in done:
        final_scores = inner_store.read_chunk(final_index)["inner_auc"]
    else:
        final_scores = inner_scores(associations, methods, k=inner_k, repeats=inner_repeats, seed=seed,
                                    batch_size=batch_size, criterion=criterion)
        inner_store.write_chunk(final_index, {"inner_auc": final_scores, "selected": np.asarray(choose(final_scores))})
    final = choose(final_scores)
    result = {
        "dataset": dataset.name,
        "protocol": {"outer": f"{outer_folds.n_repeats} x {len(np.unique(outer_folds.fold_in_repeat))}-fold",
                     "inner": f"{inner_repeats} x {inner_k}-fold inside each outer training matrix",
                     "seed": seed, "score": f"{criterion} AUC (mean over inner repeats)", "criterion": criterion},
        "candidates": [
            {"label": label, "config": config.to_dict(), "outer": _metrics(summaries[label]),
             "times_selected": int(np.sum(chosen == index)), "inner_auc_all_pairs": float(final_scores[index])}
            for index, (label, config) in enumerate(zip(labels, candidates))
        ],
        "references": [{"label": candidate_label(config), "config": config.to_dict(),
                        "outer": _metrics(summaries[candidate_label(config)])} for config in references],
        "nested": _metrics(nested),
        "selected_per_outer_fold": [labels[c] for c in chosen],
        "selected": {"label": labels[final], "config": candidates[final].to_dict(), "inner_auc": float(final_scores[final]),
                     "how": FINAL},
        "data": data_provenance(dataset),
        "environment": {"command": command_line(), **environment()},
    }
    atomic_write_json(out_dir / "selection.json", result)
    return result


__all__ = ["CRITERIA", "SIMILARITY_GRID", "candidate_label", "choose", "parse_candidate", "inner_scores", "nested_cross_validation", "select_configuration",
           "union_stages"]
