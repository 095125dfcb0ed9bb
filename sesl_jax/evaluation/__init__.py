"""Leakage-free, batched evaluation: folds as data, the batched engine, metrics, result store.

The names below are imported on first use (``sesl_jax._lazy``), so that ``evaluation.choices``
(the selection grid the command line lists) comes without JAX.
"""

from sesl_jax._lazy import lazy_exports

_ENGINE = "sesl_jax.evaluation.engine"
_FOLDS = "sesl_jax.evaluation.folds"
__getattr__, __dir__ = lazy_exports(__name__, {
    **dict.fromkeys(("DeviceMemoryError", "EvaluationRun", "default_batch_size", "evaluate", "training_matrix"), _ENGINE),
    **dict.fromkeys(("Folds", "candidate_mask", "hidden_masks", "kfold_folds", "loocv_folds", "new_drug_folds",
                     "new_mirna_folds", "read_fold_file", "write_fold_file"), _FOLDS),
    **dict.fromkeys(("ResultStore", "ResumeMismatchError"), "sesl_jax.evaluation.store"),
    **dict.fromkeys(("metrics_table", "summarize"), "sesl_jax.evaluation.summary"),
})

__all__ = [
    "DeviceMemoryError", "EvaluationRun", "Folds", "ResultStore", "ResumeMismatchError", "candidate_mask", "default_batch_size",
    "evaluate", "hidden_masks", "kfold_folds", "loocv_folds", "metrics_table", "new_drug_folds",
    "new_mirna_folds", "read_fold_file", "summarize", "training_matrix", "write_fold_file",
]
