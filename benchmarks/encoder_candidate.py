"""Issue 12's shipping rule for a candidate LSTM encoder, as one resumable command.

A candidate replaces the shipped weights of its kind only if it beats them on both counts:
- **reconstruction**: free-running token *and* sequence accuracy on sequences held out of its
  training (SMILES: 1,988 ChEMBL molecules that none of the SMILES models saw, drawn by
  ``unseen_smiles``; RNA: a training run's validation split, ``--held-out-run``);
- **ranking**: the nested-CV global AUC of the shipped default selection on each of
  ``--datasets`` (the commands of ``SELECTIONS``, which made ``sesl_jax/resources/defaults/``).

FCD experiment 3 is run too, paired over its 10 repeats (``paired_runs.compare``): it is
informative (SESL with codes on both sides), not part of the rule.

Every comparison runs the shipped weights and the candidate on this machine, with this code
(under ``--baseline``, default ``OUT/shipped``; reuse one baseline directory for several
candidates). Each ``sesl-jax`` command resumes from its own output directory, and a finished
step is not run again, so rerunning the same command picks up where it stopped.

    SESL_JAX_DATA=../shared/data python benchmarks/encoder_candidate.py --kind smiles \\
        --weights runs/smiles/encoder.npz --out runs/candidate-smiles [--datasets fcd,pcd]
    SESL_JAX_DATA=../shared/data python benchmarks/encoder_candidate.py --kind rna \\
        --weights runs/rna/encoder.npz --held-out-run runs/rna --out runs/candidate-rna

Costs on the 2-core CPU: FCD selection about 30 minutes a side, PCD's about an hour, experiment
3 a few minutes a side. ``--quick`` shrinks every protocol (2 repeats, 2 x 2-fold selections, 100
sequences): to check the pipeline, never to decide.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import ROOT, print_table, write_json
from paired_runs import COLUMNS as PAIRED_COLUMNS
from paired_runs import compare

# The commands that made the shipped defaults (sesl_jax/resources/defaults/*.json record them, and
# their protocols): PCD's single outer repeat keeps it near an hour on two cores.
SELECTIONS = {
    "fcd": ["select", "--dataset", "fcd", "--method", "se", "--grid", "widths", "--reference", "bnnr", "--reference",
            "sesl"],
    "pcd": ["select", "--dataset", "pcd", "--method", "sesl,se", "--reference", "bnnr:drug=chemical,mirna=biological",
            "--outer-repeats", "1"],
}
QUICK_SELECTION = ["--outer-repeats", "1", "--outer-k", "2", "--inner-k", "2"]
EXPERIMENT_3 = ["reproduce", "--dataset", "fcd", "--experiments", "3", "--dtype", "float32", "--quiet"]
UNSEEN = {"corpus": "pretrain/chembl_pretrain_smiles_canonical_dedup.txt.gz", "training_rows": 200000,
          "training_seed": 0, "pick": 2000, "pick_seed": 1, "max_characters": 90}


def unseen_smiles(data_dir: Path) -> list[str]:
    """ChEMBL molecules outside the 200,000 that the SMILES LSTMs trained on since 2026-12-04 (the
    ``--limit 200000 --seed 0`` subset of ``encoder train``, drawn by the same function): 2,000
    drawn, those of at most 90 characters kept (1,988). The shipped model trained on another 40,000
    of the same file; these are outside those too only by chance (0.2 % of the file)."""
    import numpy as np

    from sesl_jax.cli._encoder import _read_corpora
    from sesl_jax.encoders import read_corpus

    path = data_dir / UNSEEN["corpus"]
    trained = set(_read_corpora("smiles", [str(path)], None, UNSEEN["training_rows"], UNSEEN["training_seed"])[0])
    unseen = [item for item in read_corpus("smiles", path) if item not in trained]  # the file has no duplicates
    pick = np.random.default_rng(UNSEEN["pick_seed"]).choice(len(unseen), size=UNSEEN["pick"], replace=False)
    return [unseen[i] for i in sorted(pick.tolist()) if len(unseen[i]) <= UNSEEN["max_characters"]]


def verdict(reconstruction: dict[str, Any], selections: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Ship or not: ``reconstruction`` holds the candidate's and the shipped model's free-running
    ``token`` and ``sequence`` accuracy; ``selections`` each dataset's nested global AUC of both.
    Ship only if the candidate is higher on all of them (ties keep the shipped weights)."""
    reasons = []
    for measure in ("token", "sequence"):
        candidate, shipped = reconstruction["candidate"][measure], reconstruction["shipped"][measure]
        if not candidate > shipped:
            reasons.append(f"free-running {measure} accuracy {candidate:.4f}, shipped {shipped:.4f}")
    if not selections:
        reasons.append("no nested selection was run")
    for dataset, auc in selections.items():
        if not auc["candidate"] > auc["shipped"]:
            reasons.append(f"{dataset.upper()} nested AUC {auc['candidate']:.4f}, shipped {auc['shipped']:.4f}")
    return {"ship": not reasons, "why_not": reasons}


def reconstruction_summary(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The candidate's and the shipped model's rows of an ``encoder evaluate --output`` file: the
    run's own checkpoint comes first with ``--run``, the candidate and shipped follow in order.
    ``by_length`` keeps the free-running accuracy per length band, where the RNA models differ."""
    return {side: {"token": model["greedy_token_accuracy"], "sequence": model["greedy_sequence_accuracy"],
                   "teacher_forced_token": model["token_accuracy"], "sequences": model["greedy_sequences"],
                   "by_length": model.get("greedy_by_length", [])}  # files from before the bands have none
            for side, model in zip(("candidate", "shipped"), evaluation["models"][-2:])}


def band_rows(reconstruction: dict[str, Any]) -> list[dict[str, Any]]:
    """One table row per length band and side, for the bands that hold sequences."""
    rows = []
    for side in ("candidate", "shipped"):
        for band in reconstruction[side]["by_length"]:
            if band["sequences"]:
                upper = "" if band["max_length"] is None else band["max_length"]
                rows.append({"lengths": f"{band['min_length']}-{upper}", "sequences": band["sequences"], "side": side,
                             "token": band["token_accuracy"], "sequence": band["sequence_accuracy"],
                             "correct prefix": band.get("mean_correct_prefix")})  # files before it have none
    return sorted(rows, key=lambda row: (int(row["lengths"].split("-")[0]), row["side"]))


def run(command: list[str], env: dict[str, str], log: Path) -> None:
    """``python -m sesl_jax COMMAND`` with its output appended to ``log``; a failure stops the script."""
    print(f"$ sesl-jax {' '.join(command)}", flush=True)
    with open(log, "a") as handle:
        handle.write(f"$ sesl-jax {' '.join(command)}\n")
        handle.flush()
        code = subprocess.run([sys.executable, "-m", "sesl_jax", *command], cwd=ROOT, env=env, stdout=handle,
                              stderr=subprocess.STDOUT).returncode
    if code != 0:
        sys.exit(f"encoder_candidate.py: 'sesl-jax {' '.join(command)}' failed (exit {code}); see {log}")


def nested_auc(directory: Path) -> float:
    return json.loads((directory / "selection.json").read_text())["nested"]["metrics"]["global"]["auc"]["mean"]


IDENTITY = "candidate.json"


def claim_directory(directory: Path, identity: dict[str, Any]) -> None:
    """``directory`` holds the runs of these weights and settings only: a rerun resumes them, and
    other weights (or --quick runs) would be judged on stale results, so they are refused."""
    from sesl_jax._io import atomic_write_json

    if directory.exists() and not directory.is_dir():
        sys.exit(f"encoder_candidate.py: {directory} is a file, not a directory")
    recorded = directory / IDENTITY
    if recorded.is_file():
        held = json.loads(recorded.read_text())
        if held != identity:
            changed = ", ".join(f"{key} {held.get(key)!r} -> {value!r}" for key, value in identity.items()
                                if held.get(key) != value)
            sys.exit(f"encoder_candidate.py: {directory} holds the runs of other weights or settings ({changed}); "
                     "give another directory")
        return
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_json(recorded, identity)  # a directory from before this record is taken as it is


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("smiles", "rna"), required=True)
    parser.add_argument("--weights", type=Path, required=True, help="the candidate's encoder.npz")
    parser.add_argument("--out", type=Path, required=True, help="where every run and verdict.json go (rerun to resume)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="where the shipped weights' runs go or already are (default OUT/shipped)")
    parser.add_argument("--held-out-run", type=Path, default=None,
                        help="a training run whose validation split is the held-out set (required for rna)")
    parser.add_argument("--datasets", default="fcd", help="nested selections to run: fcd, pcd or fcd,pcd")
    parser.add_argument("--no-experiment-3", action="store_true", help="skip the informative FCD experiment 3")
    parser.add_argument("--quick", action="store_true", help="tiny protocols, to check the pipeline only")
    args = parser.parse_args()

    from sesl_jax.encoder_files import ENCODERS_VARIABLE, file_name

    data_dir = Path(os.environ.get("SESL_JAX_DATA", "")).resolve()
    if not os.environ.get("SESL_JAX_DATA") or not data_dir.is_dir():
        sys.exit("encoder_candidate.py: set SESL_JAX_DATA to the data directory (e.g. ../shared/data)")
    weights = args.weights.resolve()
    if not weights.is_file():
        sys.exit(f"encoder_candidate.py: no weights at {weights}")
    if args.kind == "rna" and args.held_out_run is None:
        sys.exit("encoder_candidate.py: --kind rna needs --held-out-run (a training run whose validation split to use)")
    datasets = [name for name in args.datasets.split(",") if name]
    unknown = sorted(set(datasets) - set(SELECTIONS))
    if unknown:
        sys.exit(f"encoder_candidate.py: --datasets {args.datasets!r}: unknown {', '.join(unknown)}; choose from fcd, pcd")
    out = args.out.resolve()
    baseline = (args.baseline or out / "shipped").resolve()
    from sesl_jax._io import sha256_file

    held_out = str(args.held_out_run.resolve()) if args.held_out_run else "unseen SMILES"
    for directory, identity in ((out, {"kind": args.kind, "weights_sha256": sha256_file(weights), "quick": args.quick,
                                       "held_out": held_out}),
                                (baseline, {"weights": "shipped", "quick": args.quick})):  # any kind's baseline
        claim_directory(directory, identity)

    shipped_env = {name: value for name, value in os.environ.items() if name != ENCODERS_VARIABLE}
    with tempfile.TemporaryDirectory(prefix="sesl-jax-candidate-") as links:
        # the candidate's runs see it under the shipped file's name, and the shipped weights of the other kind
        (Path(links) / file_name(args.kind, "lstm")).symlink_to(weights)
        candidate_env = {**shipped_env, ENCODERS_VARIABLE: links}
        evaluate_candidate(args, data_dir, weights, out, baseline, datasets,
                           (("shipped", baseline, shipped_env), ("candidate", out, candidate_env)))


def evaluate_candidate(args: argparse.Namespace, data_dir: Path, weights: Path, out: Path, baseline: Path,
                       datasets: list[str], sides: tuple) -> None:
    from sesl_jax._io import sha256_file
    from sesl_jax.encoder_files import encoder_label

    log = out / "commands.log"
    shipped_env = sides[0][2]

    # reconstruction: both models in one evaluate, on the held-out set
    table = out / "reconstruction.json"
    if not table.is_file():
        greedy = "100" if args.quick else "2000"
        if args.held_out_run is not None:
            source = ["--run", str(args.held_out_run.resolve())]
        else:
            molecules = unseen_smiles(data_dir)[: 100 if args.quick else None]
            held_out = out / "unseen_smiles.txt"
            held_out.write_text("\n".join(molecules) + "\n")
            source = ["--corpus", str(held_out), "--kind", args.kind]
        run(["encoder", "evaluate", *source, "--weights", str(weights), "shipped", "--greedy", greedy,
             "--output", str(table)], shipped_env, log)
    reconstruction = reconstruction_summary(json.loads(table.read_text()))
    bands = band_rows(reconstruction)
    if bands:
        print_table(bands, ["lengths", "sequences", "side", "token", "sequence", "correct prefix"])

    paired: list[dict[str, Any]] = []
    if not args.no_experiment_3:
        repeats = ["--repeats", "2"] if args.quick else []
        for side, directory, env in sides:
            run([*EXPERIMENT_3, *repeats, "--out", str(directory / "exp3-fcd")], env, log)
        paired = compare(baseline / "exp3-fcd", [out / "exp3-fcd"])
        changed = sorted({row["run"] for row in paired if row["other_mean"] != row["reference_mean"]})
        if changed:
            print_table([row for row in paired if row["run"] in changed], [c for c in PAIRED_COLUMNS if c != "other"])
        print(f"{len({row['run'] for row in paired}) - len(changed)} runs identical to the last digit (they use no "
              f"{encoder_label(args.kind, 'lstm')} codes)")

    selections: dict[str, dict[str, float]] = {}
    for dataset in datasets:
        command = SELECTIONS[dataset] + (QUICK_SELECTION if args.quick else [])
        for side, directory, env in sides:
            target = directory / f"select-{dataset}"
            if not (target / "selection.json").is_file():
                run([*command, "--out", str(target)], env, log)
        selections[dataset] = {side: nested_auc(directory / f"select-{dataset}") for side, directory, _ in sides}

    decision = verdict(reconstruction, selections)
    if args.quick:
        decision = {**decision, "ship": False, "why_not": ["--quick: a check of the pipeline, not a decision",
                                                           *decision["why_not"]]}
    rows = [{"measure": f"free-running {measure}", "candidate": reconstruction["candidate"][measure],
             "shipped": reconstruction["shipped"][measure]} for measure in ("token", "sequence")]
    rows += [{"measure": f"{dataset.upper()} nested AUC", **auc} for dataset, auc in selections.items()]
    print_table(rows, ["measure", "candidate", "shipped"])
    print("ship" if decision["ship"] else "keep the shipped weights: " + "; ".join(decision["why_not"]))
    write_json(out / "verdict.json", {
        "benchmark": "encoder_candidate", "kind": args.kind, "weights": str(weights),
        "weights_sha256": sha256_file(weights), "quick": args.quick, "baseline": str(baseline),
        "held_out": str(args.held_out_run) if args.held_out_run else {"unseen_smiles": UNSEEN},
        "reconstruction": reconstruction, "nested_auc": selections, "experiment_3_paired": paired,
        "selection_commands": {name: SELECTIONS[name] for name in datasets}, **decision})


if __name__ == "__main__":
    main()
