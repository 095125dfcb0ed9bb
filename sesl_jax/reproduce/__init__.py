"""One-command reproduction of the SESL paper's experiments 1-7 (``sesl-jax reproduce``).

- :mod:`~sesl_jax.reproduce.experiments`: the experiment table as data (plans, rows, runs).
- :mod:`~sesl_jax.reproduce.runner`: runs every distinct evaluation once, resumably.
- :mod:`~sesl_jax.reproduce.case_studies`: experiment 7 (top novel pairs, new-drug runs).
- :mod:`~sesl_jax.reproduce.report`: ``report.md`` and the ROC/PR figures.
"""

from sesl_jax.reproduce.experiments import (
    EXPERIMENTS, ExperimentPlan, Row, RunSpec, default_plan, experiment_rows, parse_experiments, quick_plan,
    unique_runs,
)
from sesl_jax.reproduce.runner import run_reproduction

__all__ = [
    "EXPERIMENTS", "ExperimentPlan", "Row", "RunSpec", "default_plan", "experiment_rows", "parse_experiments",
    "quick_plan", "run_reproduction", "unique_runs",
]
