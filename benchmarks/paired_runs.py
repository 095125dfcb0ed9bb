"""Paired comparison of evaluation runs made on the same folds, e.g. with other encoder weights.

Each argument is a ``sesl-jax reproduce`` output directory (its ``runs/``) or a ``cv`` run
directory. For every run that the reference and another directory both hold, the per-repeat
global, drug-fixed and miRNA-fixed AUC and the AUPR are compared: means, the mean difference, a
paired t-test over the repeats (``sesl_jax.evaluation.metrics.paired_ttest``) and how many repeats
the other one wins.

    python benchmarks/paired_runs.py SHIPPED_OUT OTHER_OUT [...] --out benchmarks/results/paired_runs.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from _common import ROOT, json_out, print_table, write_json

SCOPES = (("global", "auc"), ("global", "aupr"), ("drug-fixed", "auc"), ("mirna-fixed", "auc"))


def runs(directory: Path) -> dict[str, Path]:
    """Run name -> metrics.json of a reproduce output (``runs/*``) or of a single run directory."""
    if (directory / "metrics.json").is_file():
        return {directory.name: directory / "metrics.json"}
    return {path.parent.name: path for path in sorted((directory / "runs").glob("*/metrics.json"))}


def compare(reference_dir: Path, other_dirs: list[Path]) -> list[dict]:
    """One row per run both hold and per scope of ``SCOPES``: means over the repeats, the mean
    difference (other - reference), the paired t-test's p and how many repeats the other wins."""
    import numpy as np

    from sesl_jax.evaluation.metrics import paired_ttest

    def per_repeat(path: Path, scope: str, metric: str) -> np.ndarray:
        summary = json.loads(path.read_text())
        if "per_repeat" not in summary:  # LOOCV has one value per run, nothing to pair
            sys.exit(f"paired_runs.py: {path} is a {summary.get('protocol', 'single')} run without repeats; "
                     "only repeated k-fold runs pair")
        return np.array([entry[scope][metric] for entry in summary["per_repeat"]])

    reference = runs(reference_dir)
    rows = []
    for other in other_dirs:
        for name, path in runs(other).items():
            if name not in reference:
                continue
            for scope, metric in SCOPES:
                a, b = per_repeat(path, scope, metric), per_repeat(reference[name], scope, metric)
                test = paired_ttest(a, b)
                rows.append({"run": name, "other": str(other), "scope": scope, "metric": metric,
                             "other_mean": float(a.mean()), "reference_mean": float(b.mean()),
                             "difference": test["mean_difference"], "p": test["p"], "repeats": int(a.size),
                             "other_better": int(np.sum(a > b))})
    return rows


COLUMNS = ["run", "other", "scope", "metric", "other_mean", "reference_mean", "difference", "p", "other_better"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path)
    parser.add_argument("others", type=Path, nargs="+")
    parser.add_argument("--out", type=json_out, default=str(ROOT / "benchmarks" / "results" / "paired_runs.json"))
    args = parser.parse_args()
    for directory in (args.reference, *args.others):
        if not runs(directory):
            parser.error(f"{directory}: no metrics.json in it or in its runs/*/")
    rows = compare(args.reference, args.others)
    if not rows:
        parser.error("no run name in common between the reference and the others")
    print_table(rows, COLUMNS)
    write_json(args.out, {"benchmark": "paired_runs", "reference": str(args.reference),
                          "others": [str(other) for other in args.others], "rows": rows})


if __name__ == "__main__":
    main()
