"""The reproduction's report: ``report.md`` (one section per experiment) and ROC/PR figures.

Every table cell comes from a run's ``metrics.json`` summary (kept in ``results.json``); every row
lists the equivalent ``sesl-jax cv`` command and its run directory.
"""

from __future__ import annotations

import math
import types
from pathlib import Path
from typing import Any

import numpy as np

from sesl_jax._io import atomic_write
from sesl_jax.reproduce.experiments import EXPERIMENTS, Row

SEVEN_METRICS = ("auc", "aupr", "precision", "recall", "f1", "accuracy", "specificity")
LOOCV_SCOPES = (("global", "Global LOOCV AUC"), ("drug-fixed", "Drug-fixed LOOCV AUC"), ("mirna-fixed", "miRNA-fixed LOOCV AUC"))
TRANSDUCTIVE_NOTE = (
    "Per-fold rows refit everything that depends on the associations on each fold's training matrix; "
    "transductive rows (the published protocols) fit part of it once on the full matrix (SESL: sparse "
    "learning's X*; the rivals: their GIP kernels), so each hidden pair shapes what scores it, which inflates "
    "their metrics."
)
ENCODER_NOTE = (
    "The sequence similarities come from codes of the encoders shipped with sesl_jax, both trained here on "
    "the public corpora (not the paper's models): the LSTM auto-encoders, and BERT-style transformers "
    "pre-trained on masked tokens whose pooled output is projected to 64 dimensions "
    "(`sesl_jax/resources/encoders/*.json` hold their recipes and validation accuracy). Every run is per-fold "
    "(leakage-free) and all rows use the same splits."
)


# ---------------------------------------------------------------------- values


def metric_value(record: dict[str, Any] | None, scope: str, metric: str) -> Any:
    """A metric of a finished run (a float, or ``{"mean", "std", "n"}`` for k-fold), else None."""
    if not record or record.get("status") != "done":
        return None
    return record["summary"]["metrics"].get(scope, {}).get(metric)


def format_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        mean, std = value["mean"], value["std"]
        if std is None or (isinstance(std, float) and math.isnan(std)):
            return f"{mean:.4f}"
        return f"{mean:.4f} ± {std:.4f}"
    return f"{value:.4f}"


def _cell(record: dict[str, Any] | None, scope: str, metric: str) -> str:
    if record is None:
        return "-"
    if record.get("status") != "done":
        return record.get("status", "not available")  # "not available" (missing input) or "not run"
    return format_value(metric_value(record, scope, metric))


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _records(row: Row, runs: dict[str, dict]) -> dict[str, dict]:
    """The row's runs by protocol ("loocv" / "kfold")."""
    return {spec.protocol: runs.get(spec.key) for spec in row.runs}


def _run_details(rows: list[Row], runs: dict[str, dict]) -> str:
    """The equivalent command and the configuration of every run of the rows, once each."""
    lines, seen = [], set()
    for row in rows:
        for spec in row.runs:
            if spec.key in seen:
                continue
            seen.add(spec.key)
            record = runs.get(spec.key, {})
            status = record.get("status", "not run")
            line = f"- {row.label} [{row.dataset.upper()}, {spec.protocol_label}]: `{record.get('cv_command', '')}`"
            if status == "done":
                summary = record["summary"]
                line += (f" - {summary['n_folds']} folds, {summary['n_hidden_pairs']} hidden pairs, "
                         f"similarity `{summary['method_config'].get('similarity', spec.similarity)}`, "
                         f"run directory `{record['run_dir']}`")
                notes = [note for note in summary.get("notes", []) if "transductive protocol" not in note]
                if notes:
                    line += "; notes: " + "; ".join(notes)
            else:
                line += f" - {record.get('reason', status)}"
            lines.append(line)
    return "<details><summary>Runs: equivalent commands and configurations</summary>\n\n" + "\n".join(lines) + "\n\n</details>"


def _unavailable_notes(rows: list[Row], runs: dict[str, dict]) -> list[str]:
    notes = {}
    for row in rows:
        if row.not_run:
            notes[row.label] = f"{row.label}: not run: {row.not_run}"
        for spec in row.runs:
            record = runs.get(spec.key) or {}
            if record.get("status") not in (None, "done"):
                notes.setdefault(f"{row.label}/{row.dataset}", f"{row.label} on {row.dataset.upper()}: {record['reason']}")
    return list(notes.values())


# ---------------------------------------------------------------------- sections


def four_protocol_table(rows: list[Row], runs: dict[str, dict]) -> str:
    k = next((spec.k for row in rows for spec in row.runs if spec.protocol == "kfold"), 5)
    header = ["Method", "Variant", *(title for _, title in LOOCV_SCOPES), f"{k}-fold AUC", f"{k}-fold AUPR"]
    body = []
    for row in rows:
        records = _records(row, runs)
        spec = row.runs[0]
        loocv, kfold = records.get("loocv"), records.get("kfold")
        body.append([
            f"{spec.method} ({spec.similarity})", spec.variant,
            *(_cell(loocv, scope, "auc") for scope, _ in LOOCV_SCOPES),
            _cell(kfold, "global", "auc"), _cell(kfold, "global", "aupr"),
        ])
    protocols = {spec.protocol_label for row in rows for spec in row.runs}
    return markdown_table(header, body) + "\n\nProtocols: " + ", ".join(sorted(protocols)) + "."


def seven_metric_table(rows: list[Row], runs: dict[str, dict]) -> str:
    header = ["Method", "Variant", *(m.upper() if m in ("auc", "aupr") else m.capitalize() for m in SEVEN_METRICS)]
    body = []
    for row in rows:
        spec, record = row.runs[0], runs.get(row.runs[0].key)
        body.append([f"{spec.method} ({spec.similarity})", spec.variant, *(_cell(record, "global", m) for m in SEVEN_METRICS)])
    return markdown_table(header, body)


def per_repeat(record: dict[str, Any] | None, metric: str) -> list[float] | None:
    if not record or record.get("status") != "done" or "per_repeat" not in record["summary"]:
        return None
    return [repeat["global"][metric] for repeat in record["summary"]["per_repeat"]]


def paired_tests(pairs: list[tuple[Row, Row]], runs: dict[str, dict]) -> tuple[str, list[dict]]:
    """Paired t-tests of each ``(row, reference row)`` pair over per-repeat AUC and AUPR."""
    from sesl_jax.evaluation.metrics import paired_ttest

    results, body = [], []
    for row, base in pairs:
        for metric in ("auc", "aupr"):
            a, b = per_repeat(runs.get(row.runs[0].key), metric), per_repeat(runs.get(base.runs[0].key), metric)
            if a is None or b is None:
                cells = ["not available"] * 3
                test = None
            elif len(a) < 2:
                cells = ["needs >= 2 repeats"] * 3
                test = None
            else:
                test = paired_ttest(a, b)
                cells = [f"{test['mean_difference']:+.4f}", f"{test['t']:.3f}", f"{test['p']:.3g}"]
            results.append({"row": row.label, "reference": base.label, "metric": metric, "test": test})
            body.append([row.label, base.label, metric.upper(), *cells, str(len(a)) if a and b else "-"])
    if not body:
        return "", []
    header = ["Method", "vs.", "Metric", "Mean difference", "t", "p (two-sided)", "Repeats"]
    return markdown_table(header, body), results


def against_method(rows: list[Row], reference: str = "bnnr") -> list[tuple[Row, Row]]:
    """Every row paired with the ``reference`` method's row (experiment 2)."""
    base = next((row for row in rows if row.runs and row.runs[0].method == reference), None)
    return [] if base is None else [(row, base) for row in rows if row is not base and row.runs]


def against_lstm(rows: list[Row]) -> list[tuple[Row, Row]]:
    """Each transformer row paired with the LSTM row of the same similarity (experiment 3)."""
    from sesl_jax.similarity import split_configuration

    def parts(row: Row) -> tuple[str, str]:
        source, extras = split_configuration(row.runs[0].similarity or "")
        rest = ",".join(f"{key}={value}" for key, value in sorted(extras.items()) if key != "encoder")
        return f"{source};{rest}", extras.get("encoder", "lstm")

    lstm = {parts(row)[0]: row for row in rows if row.runs and parts(row)[1] == "lstm"}
    return [(row, lstm[key]) for row in rows if row.runs for key, encoder in [parts(row)]
            if encoder != "lstm" and key in lstm]


def loocv_two_metric_table(rows: list[Row], runs: dict[str, dict]) -> str:
    body = []
    for row in rows:
        spec, record = row.runs[0], runs.get(row.runs[0].key)
        body.append([spec.method, spec.similarity, spec.protocol_label, _cell(record, "global", "auc"), _cell(record, "global", "aupr")])
    return markdown_table(["Method", "Similarity", "Protocol", "Global AUC", "Global AUPR"], body)


def sparsity_table(rows: list[Row], runs: dict[str, dict], datasets: dict[str, Any]) -> str:
    body = []
    for row in rows:
        spec, record = row.runs[0], runs.get(row.runs[0].key)
        known = datasets.get(row.dataset, {}).get("known_pairs")
        kept = f"{round(spec.keep_fraction * known)}" if known else "?"
        body.append([f"{spec.keep_fraction:.0%}", kept, f"{spec.method} ({spec.similarity})", spec.variant,
                     _cell(record, "global", "auc"), _cell(record, "global", "aupr")])
    return markdown_table(["Known pairs kept", "Pairs", "Method", "Variant", "AUC", "AUPR"], body)


def case_study_section(case_studies: dict[str, Any] | None) -> str:
    if not case_studies:
        return "Not run."
    parts = []
    if case_studies.get("status"):
        return case_studies["status"]
    dataset = case_studies["dataset"].upper()
    for source, entry in case_studies["by_similarity"].items():
        parts.append(f"### SESL, {source} similarity, {dataset}")
        if entry.get("status") != "done":
            parts.append(entry.get("reason", entry.get("status", "not run")))
            continue
        top = entry["top_novel_pairs"]
        parts.append(f"Top {len(top)} novel pairs (unknown in A) of SESL fitted on all known pairs:\n")
        parts.append(markdown_table(["Rank", "Drug", "miRNA", "Score"],
                                    [[str(p["rank"]), p["drug_id"], p["mirna_id"], f"{p['score']:.4f}"] for p in top]))
        for drug_id, case in entry["new_drugs"].items():
            title = f"New drug {case.get('name', '')} ({drug_id})"
            if case.get("status") != "done":
                parts.append(f"{title}: {case['status']}")
                continue
            parts.append(
                f"{title}: all {case['n_hidden_known']} known pairs hidden and SESL refitted; "
                f"{case['hidden_in_top']} of them are in the top {len(case['top'])} of {case['n_mirnas']} miRNAs "
                f"(ranks of the hidden pairs: {', '.join(map(str, case['hidden_ranks']))}).\n"
            )
            parts.append(markdown_table(
                ["Rank", "miRNA", "Score", "Hidden known pair"],
                [[str(r["rank"]), r["mirna_id"], f"{r['score']:.4f}", "yes" if r["hidden_known"] else ""] for r in case["top"]],
            ))
    return "\n\n".join(parts)


# ---------------------------------------------------------------------- figures


def run_curves(run_dir: Path) -> tuple[np.ndarray, ...] | None:
    """Pooled ROC/PR curves of a finished run from its stored chunks (None without candidate scores)."""
    from sesl_jax.evaluation.runner import roc_pr_curves

    paths = sorted((run_dir / "chunks").glob("chunk_*.npz"))
    if not paths:
        return None
    chunks = [np.load(path) for path in paths]
    hidden = np.concatenate([chunk["hidden_scores"] for chunk in chunks])
    candidates = np.concatenate([chunk["candidate_scores"] for chunk in chunks])
    if candidates.size == 0:
        return None
    return roc_pr_curves(types.SimpleNamespace(hidden_scores=hidden, candidate_scores=candidates))


def draw_figure(rows: list[Row], runs: dict[str, dict], out_dir: Path, name: str, protocol: str) -> str | None:
    """One ROC/PR figure of the rows' ``protocol`` runs; returns its file name, or None."""
    from sesl_jax.evaluation.plots import plot_roc_pr

    curves = {}
    for row in rows:
        for spec in row.runs:
            record = runs.get(spec.key) or {}
            if spec.protocol != protocol or record.get("status") != "done":
                continue
            curve = run_curves(out_dir / record["run_dir"])
            if curve is not None:
                curves[f"{row.label}"] = curve
    if not curves:
        return None
    try:
        plot_roc_pr(curves, out_dir / "figures" / f"{name}.png")
    except ImportError:
        return None
    return f"figures/{name}.png"


def _figure_lines(rows, runs, out_dir, stem) -> list[str]:
    lines = []
    for protocol in ("kfold", "loocv"):
        path = draw_figure(rows, runs, out_dir, f"{stem}_{protocol}", protocol)
        if path:
            lines.append(f"![ROC and PR curves, {stem} {protocol}]({path})")
    return lines


# ---------------------------------------------------------------------- the report


def _header(results: dict[str, Any]) -> str:
    plan = results["plan"]
    datasets = ", ".join(f"{name.upper()} ({d['shape'][0]} drugs x {d['shape'][1]} miRNAs, {d['known_pairs']} known pairs)"
                         for name, d in results["datasets"].items())
    mode = "quick" if plan["quick"] else "full"
    lines = [
        "# SESL reproduction report",
        "",
        f"Mode: **{mode}**. Precision: {plan['dtype']}. "
        + ("" if plan.get("bnnr_svt", "eigh") == "eigh" else
           f"BNNR's SVT (SESL, SE, BNNRSMMA): {plan['bnnr_svt']} (warm-started, with an exact `eigh` fallback; "
           "`--bnnr-svt`). ")
        + f"Datasets: {datasets}. "
        f"Repeated k-fold: {plan['repeats']} x {plan['k']}-fold (seed {plan['seed']}). "
        + ("LOOCV: all known pairs." if plan["loocv_subsample"] is None else
           f"LOOCV: a seeded random subsample of {plan['loocv_subsample']} LOOCV folds (seed {plan['subsample_seed']}; "
           "each hidden pair is still ranked against every candidate pair, so these AUCs estimate full LOOCV's "
           "with sampling error: a few hundredths at 20 folds, so compare methods on the k-fold columns, which "
           "use every known pair, or raise `--loocv-folds`)."),
        f"Wall time of the call that wrote this report: {results['seconds']:.0f} s (a rerun re-reads finished runs instead of recomputing them).",
        "",
    ]
    not_run = sum(record.get("status") == "not run" for record in results["runs"].values())
    if not_run:
        lines += [f"**Partial report: {not_run} of {len(results['runs'])} evaluation runs have not been run yet** "
                  "(cells 'not run'); rerun the same command without `--report-only` to compute them.", ""]
    lines += [
        "Metrics: AUC from ranks (ties count one half): global = against all candidate (unknown) pairs, "
        "drug-fixed / miRNA-fixed = against the unknown pairs of the same drug / miRNA. AUPR and the thresholded "
        "metrics pool hidden and candidate pairs; threshold = the F1-maximising one on the pooled scores. "
        "k-fold values are mean ± sample std over repeats.",
        "",
        "## How these numbers differ from the published ones, and why",
        "",
        "- **Leakage-free protocol by default.** " + TRANSDUCTIVE_NOTE + " Every per-fold row refits everything "
        "that depends on the associations (sparse learning, T, Omega) on the fold's training matrix; for every "
        "method with a published full-matrix fit the transductive variant is shown beside it. SESL's fits X* "
        "once on the full matrix and applies it to each fold's training matrix (A1 = A_train X*): the hidden "
        "pairs are absent from A_train, but each one helped shape X*, which carries it back into A1 and so into "
        "its own score. The rivals' compute their GIP kernels once from the full matrix (`--gip-kernels "
        "transductive`), so a hidden pair's own interaction profile still makes its drug and miRNA look alike.",
        "- **PCD has no biological drug similarity.** The 831 x 831 drug similarity of PCD is not available. On "
        "PCD, the runs that would use it (BNNRSMMA, the rival methods, SESL with biological similarity) use the "
        "RDKit Morgan/Tanimoto chemical drug similarity with PCD's biological miRNA similarity instead, and their "
        "similarity says so (`drug=chemical,mirna=biological`); PCD drugs without a SMILES get similarity 0 to "
        "every other drug. A run whose inputs are missing altogether is reported as 'not available' instead of "
        "inventing numbers.",
        "- **Our own sequence encoders.** Sequence similarity comes from the LSTM auto-encoders shipped with "
        "sesl_jax (trained on the corpora available here, not the paper's 700,000 ChEMBL SMILES and 35,757 ncRNAs), "
        "so SESL / SE with sequence similarity are not the published model; SESL on the datasets' biological "
        "similarity is shown too.",
        "- **Rival methods are re-implementations** in sesl_jax (see `sesl_jax/methods`), run on exactly the "
        "same folds as SESL; GISMMA and TLHNSMMA are not implemented. TSPN and RPCAΓNR appear twice: this "
        "project's implementation, and rows labelled \"authors' published code\" that follow the update rules "
        "and constants of the authors' public code (`--variant published-code`; TSPN: fixed-weight SVT in three "
        "passes, S kept where nonzero; RPCAΓNR: 0.2 S + 0.8 GIP, DC prox from 0, on FCD close to a truncated SVD).",
    ]
    if plan["quick"]:
        lines.append(
            f"- **Quick mode**: datasets {', '.join(plan['datasets'])}, {plan['repeats']} repeats of k-fold, "
            + ("all LOOCV folds" if plan["loocv_subsample"] is None else f"a {plan['loocv_subsample']}-fold LOOCV subsample")
            + f", precision {plan['dtype']}. float32 is about 2x faster here (SESL, 40 FCD LOOCV folds on this 2-core "
            "CPU: 1.2 s/fold in float32 vs 2.6 s/fold in float64, global AUC equal to 5 decimals); BNNR's stopping rule "
            "sits near float32 noise, so single scores can differ from float64 in the second or third decimal. "
            "Run without `--quick` for the paper's sizes."
        )
    return "\n".join(lines)


def runtime_table(runs: dict[str, dict], dtype: str) -> str:
    """Compute time of every finished run (stored with its folds, so re-read runs keep it)."""
    header = ["Dataset", "Method", "Similarity", "Protocol", "Variant", "Folds", "Compute (s)", "s / fold"]
    body = []
    for record in runs.values():
        if record.get("status") != "done":
            continue
        spec, summary = record["spec"], record["summary"]
        timing = summary.get("timing", {})
        total = timing.get("compute_seconds_all_folds")
        per_fold = timing.get("seconds_per_fold_all_folds")
        protocol = (f"{spec['repeats']} x {spec['k']}-fold" if spec["protocol"] == "kfold" else "LOOCV")
        if spec.get("keep_fraction", 1.0) < 1.0:
            protocol += f", {spec['keep_fraction']:.0%} of pairs"
        body.append([
            spec["dataset"].upper(), spec["method"], str(spec["similarity"]), protocol,
            ("transductive" if spec["transductive"] else "per-fold")
            + (", authors' published code" if spec.get("code_variant", "default") != "default" else ""),
            str(summary["n_folds"]),
            "-" if total is None else f"{total:.1f}", "-" if per_fold is None else f"{per_fold:.3f}",
        ])
    return (f"Wall time of the jit-compiled, fold-batched solves ({dtype}; the first chunk of each run includes "
            "compilation), on the machine in each run's `environment.json`.\n\n" + markdown_table(header, body))


def _seven_metric_section(dataset: str, rows: list[Row], runs: dict[str, dict], pairs: list[tuple[Row, Row]],
                          caption: str, results: dict[str, Any], key: str) -> list[str]:
    """A dataset's seven-metric table and paired t-tests (recorded in ``results["paired_tests"][key]``)."""
    body = [f"### {dataset.upper()}, {rows[0].runs[0].protocol_label}", seven_metric_table(rows, runs)]
    table, tests = paired_tests(pairs, runs)
    if table:
        body += [caption, table]
    results["paired_tests"][key] = tests
    return body


def write_report(results: dict[str, Any], rows: dict[int, list[Row]], out_dir: Path) -> Path:
    """Write ``out_dir/report.md`` (and figures) from the results of :func:`run_reproduction`."""
    runs = results["runs"]
    sections = [_header(results)]
    results["paired_tests"] = {}
    for number in sorted(set(rows) | ({7} if results.get("case_studies") is not None else set())):
        sections.append(f"## Experiment {number}: {EXPERIMENTS[number]}")
        table_rows = rows.get(number, [])
        body: list[str] = []
        by_dataset: dict[str, list[Row]] = {}
        for row in table_rows:
            by_dataset.setdefault(row.dataset, []).append(row)
        if number in (1, 4):
            body.append(TRANSDUCTIVE_NOTE)
            for dataset, dataset_rows in by_dataset.items():
                body += [f"### {dataset.upper()}", four_protocol_table(dataset_rows, runs)]
                body += _figure_lines(dataset_rows, runs, out_dir, f"experiment{number}_{dataset}")
        elif number == 2:
            body.append(TRANSDUCTIVE_NOTE)
            for dataset, dataset_rows in by_dataset.items():
                body += _seven_metric_section(dataset, dataset_rows, runs, against_method(dataset_rows),
                                              "Paired t-tests over per-repeat values (same splits for every method):",
                                              results, dataset)
                body += _figure_lines(dataset_rows, runs, out_dir, f"experiment2_{dataset}")
        elif number == 3:
            body.append(ENCODER_NOTE)
            for dataset, dataset_rows in by_dataset.items():
                body += _seven_metric_section(dataset, dataset_rows, runs, against_lstm(dataset_rows),
                                              "Paired t-tests, transformer against LSTM codes (same splits):",
                                              results, f"experiment3_{dataset}")
        elif number == 5:
            body += [loocv_two_metric_table(table_rows, runs)]
            body += _figure_lines(table_rows, runs, out_dir, "experiment5")
        elif number == 6:
            body.append("The dropped known pairs become unknown pairs (candidates) of the reduced matrix. " + TRANSDUCTIVE_NOTE)
            for dataset, dataset_rows in by_dataset.items():
                spec = dataset_rows[0].runs[0]
                body += [f"### {dataset.upper()}, {spec.protocol_label}", sparsity_table(dataset_rows, runs, results["datasets"])]
        elif number == 7:
            body.append(case_study_section(results.get("case_studies")))
        notes = _unavailable_notes(table_rows, runs)
        if notes:
            body.append("Not available:\n\n" + "\n".join(f"- {note}" for note in notes))
        if any(row.runs for row in table_rows):
            body.append(_run_details(table_rows, runs))
        sections.append("\n\n".join(body))
    sections += ["## Runtime per run", runtime_table(runs, results["plan"]["dtype"])]
    text = "\n\n".join(sections) + "\n"
    return atomic_write(out_dir / "report.md", lambda tmp: tmp.write_text(text, encoding="utf-8"))
