"""Leakage-free, batched evaluation: folds as data, the batched engine, metrics, result store."""

from sesl_jax.evaluation.engine import (
    DeviceMemoryError, EvaluationRun, default_batch_size, evaluate, training_matrix,
)
from sesl_jax.evaluation.folds import (
    Folds, candidate_mask, hidden_masks, kfold_folds, loocv_folds, new_drug_folds, new_mirna_folds,
    read_fold_file, write_fold_file,
)
from sesl_jax.evaluation.store import ResultStore, ResumeMismatchError
from sesl_jax.evaluation.summary import metrics_table, summarize

__all__ = [
    "DeviceMemoryError", "EvaluationRun", "Folds", "ResultStore", "ResumeMismatchError", "candidate_mask", "default_batch_size",
    "evaluate", "hidden_masks", "kfold_folds", "loocv_folds", "metrics_table", "new_drug_folds",
    "new_mirna_folds", "read_fold_file", "summarize", "training_matrix", "write_fold_file",
]
