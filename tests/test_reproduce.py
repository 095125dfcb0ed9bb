"""``sesl-jax reproduce`` on a small synthetic problem: files, finite metrics, variants, resume."""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import pytest

from sesl_jax.data import Dataset
from sesl_jax.reproduce import ExperimentPlan, experiment_rows, parse_experiments, quick_plan, run_reproduction, unique_runs
from sesl_jax.reproduce.runner import reduced_dataset, subsampled_loocv_folds
from tests.synthetic import planted_problem

FAST_METHODS = ("sesl", "bnnr")


SMILES = ("CCO", "CCN", "CCCO", "c1ccccc1", "c1ccccc1O", "CC(=O)O", "CC(=O)N", "CCCCCC")


def synthetic_dataset(name: str, *, drug_similarity: bool = True) -> Dataset:
    """Planted associations; with ``drug_similarity=False`` (like PCD) also no SMILES, so no drug
    similarity of any kind can be had and such runs must be reported as not available."""
    associations, drug_sim, mirna_sim = planted_problem(n_drugs=8, n_mirnas=10, density=0.7, seed=3)
    rng = np.random.default_rng(0)
    mature = tuple("".join(rng.choice(list("ACGU"), size=22)) for _ in range(10))
    return Dataset(
        name=name,
        drug_ids=[f"CID:{100 + i}" for i in range(8)],
        mirna_ids=[f"hsa-mir-{i}" for i in range(10)],
        associations=associations,
        drug_similarity=drug_sim if drug_similarity else None,
        mirna_similarity=mirna_sim,
        drug_smiles=SMILES if drug_similarity else None,
        mirna_mature=mature,
        checksums={},
        source="test",
    )


def small_plan(**changes) -> ExperimentPlan:
    """Both datasets ('pcd' without drug similarity), two methods, 2 x 3-fold, 6 LOOCV folds; experiment 4
    has the same shape as 1 and is left out (every run compiles anew, which dominates here)."""
    plan = ExperimentPlan(
        datasets=("fcd", "pcd"), methods=FAST_METHODS, experiments=(1, 2, 3, 5, 6, 7), sesl_biological=False, k=3, repeats=2, loocv_subsample=6,
        sparsity_fractions=(0.5,), case_top=5, case_drugs=("CID:100", "CID:999"), case_drug_names=("first", "absent"),
        dtype="float64", batch_size=6, quick=True,
    )
    return ExperimentPlan(**{**plan.__dict__, **changes})


@pytest.fixture(scope="module")
def reproduction(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    datasets = {"fcd": synthetic_dataset("fcd"), "pcd": synthetic_dataset("pcd", drug_similarity=False)}
    lines: list[str] = []
    first = run_reproduction(datasets, out, small_plan(), log=lines.append)
    return out, datasets, first, lines


def _finite(value) -> bool:
    if isinstance(value, dict):
        return math.isfinite(value["mean"])
    return math.isfinite(value)


def test_report_files_exist(reproduction):
    out, _, results, _ = reproduction
    assert (out / "report.md").is_file()
    stored = json.loads((out / "results.json").read_text())
    assert set(stored["runs"]) == set(results["runs"])
    assert list((out / "figures").glob("*.png"))
    for record in results["runs"].values():
        if record["status"] == "done":
            assert (out / record["run_dir"] / "metrics.json").is_file()


def test_every_available_run_has_finite_metrics_for_every_method(reproduction):
    _, _, results, _ = reproduction
    done = {}
    for record in results["runs"].values():
        if record["status"] != "done":
            continue
        spec = record["spec"]
        metrics = record["summary"]["metrics"]
        assert _finite(metrics["global"]["auc"]) and _finite(metrics["global"]["aupr"])
        if spec["protocol"] == "loocv":
            assert _finite(metrics["drug-fixed"]["auc"]) and _finite(metrics["mirna-fixed"]["auc"])
        done.setdefault(spec["dataset"], set()).add(spec["method"])
    assert done["fcd"] >= {*FAST_METHODS, "se"}


def test_transductive_and_per_fold_variants_both_appear(reproduction):
    out, _, results, _ = reproduction
    sesl = [r["spec"] for r in results["runs"].values() if r["spec"]["method"] == "sesl" and r["status"] == "done"]
    assert {s["transductive"] for s in sesl} == {True, False}
    report = (out / "report.md").read_text()
    assert "transductive (published protocol)" in report and "per-fold (leakage-free)" in report
    assert "--sparse-learning transductive" in report


def test_experiment_3_compares_the_encoders_on_the_same_splits(reproduction):
    out, _, results, _ = reproduction
    section = (out / "report.md").read_text().split("## Experiment 3")[1].split("\n## ")[0]
    runs = {key: record for key, record in results["runs"].items()
            if record["spec"]["dataset"] == "fcd" and record["spec"]["method"] == "sesl"
            and record["spec"]["protocol"] == "kfold" and record["spec"]["keep_fraction"] == 1.0
            and not record["spec"]["transductive"]}
    transformer = {key: r for key, r in runs.items() if "encoder=transformer" in r["spec"]["similarity"]}
    assert len(transformer) == 2 and all(r["status"] == "done" for r in transformer.values())
    for key, record in transformer.items():  # the run itself used the transformer's codes
        manifest = json.loads((out / record["run_dir"] / "manifest.json").read_text())
        assert '"encoder": "transformer"' in json.dumps(manifest)
        # the similarities were computed as configured (map and encoder), not from the sources alone
        assert "map=inverse,encoder=transformer" in json.dumps(manifest)
        lstm_similarity = record["spec"]["similarity"].replace(",encoder=transformer", "")
        assert any(r["spec"]["similarity"] == lstm_similarity for r in runs.values())  # its LSTM twin ran too
    table = [line for line in section.splitlines() if line.startswith("| sesl (") and "per-fold" in line]
    assert len(table) == 4 and sum("encoder=transformer" in line for line in table) == 2
    assert "Paired t-tests, transformer against LSTM" in section and "Not run" not in section
    tests = results["paired_tests"]["experiment3_fcd"]
    assert len(tests) == 4 and all(t["test"] is not None and "transformer" in t["row"] and "lstm" in t["reference"]
                                   for t in tests)


def test_missing_inputs_are_reported_not_invented(reproduction):
    out, _, results, _ = reproduction
    pcd_bnnr = [r for r in results["runs"].values() if r["spec"]["dataset"] == "pcd" and r["spec"]["method"] == "bnnr"]
    assert pcd_bnnr and all(r["status"] == "not available" for r in pcd_bnnr)
    assert all(r["reason"].startswith("not available:") for r in pcd_bnnr)
    report = (out / "report.md").read_text()
    assert "not available" in report
    assert "Experiment 3" in report
    case = results["case_studies"]["by_similarity"]["biological"]
    assert case["new_drugs"]["CID:999"]["status"].startswith("not available")


def test_case_studies_hide_and_flag_known_pairs(reproduction):
    _, datasets, results, _ = reproduction
    entry = results["case_studies"]["by_similarity"]["biological"]
    assert len(entry["top_novel_pairs"]) == 5
    known = datasets["fcd"].associations
    ids = datasets["fcd"]
    for pair in entry["top_novel_pairs"]:
        assert known[ids.drug_ids.index(pair["drug_id"]), ids.mirna_ids.index(pair["mirna_id"])] == 0
    case = entry["new_drugs"]["CID:100"]
    assert case["n_hidden_known"] == int(known[0].sum())
    flagged = {row["mirna_id"] for row in case["top"] if row["hidden_known"]}
    assert all(known[0, ids.mirna_ids.index(m)] == 1 for m in flagged)


def test_paired_ttest_between_sesl_and_bnnr(reproduction):
    _, _, results, _ = reproduction
    tests = results["paired_tests"]["fcd"]
    assert any(t["test"] is not None and t["test"]["n"] == 2 for t in tests)


def test_rerun_resumes_without_recomputing(reproduction):
    out, datasets, first, _ = reproduction
    lines: list[str] = []
    stamps = {path: path.stat().st_mtime_ns for path in out.glob("runs/*/metrics.json")}
    second = run_reproduction(datasets, out, small_plan(), log=lines.append)
    assert stamps and all(path.stat().st_mtime_ns == stamp for path, stamp in stamps.items())  # read, not redone
    for key, record in second["runs"].items():
        if record["status"] == "done":
            assert record["summary"]["timing"]["folds_computed"] == 0, key
            # what the folds cost is stored with them, so a re-read still reports it
            assert record["summary"]["timing"]["compute_seconds_all_folds"] > 0, key
            assert record["summary"]["metrics"] == first["runs"][key]["summary"]["metrics"]
    assert any("finished; re-reading" in line for line in lines)


def test_report_only_rereads_finished_runs_and_marks_the_rest_not_run(reproduction, tmp_path):
    out, datasets, first, _ = reproduction
    results = run_reproduction(datasets, out, small_plan(), log=lambda m: None, report_only=True)
    assert {k: r["status"] for k, r in results["runs"].items()} == {k: r["status"] for k, r in first["runs"].items()}
    assert "Partial report" not in (out / "report.md").read_text()
    # a plan with one more repeat: nothing of it has been run in ``fresh``
    fresh = tmp_path / "fresh"
    results = run_reproduction(datasets, fresh, small_plan(experiments=(2,)), log=lambda m: None, report_only=True)
    statuses = {r["status"] for r in results["runs"].values()}
    assert "done" not in statuses and "not run" in statuses
    assert not list((fresh / "runs").glob("*/chunks/*"))  # nothing was computed
    report = (fresh / "report.md").read_text()
    assert "Partial report" in report and "| not run |" in report
    # the case studies (experiment 7) are fitted by a full run, re-read by a report-only one
    assert {entry["status"] for entry in first["case_studies"]["by_similarity"].values()} <= {"done", "not available"}
    fresh_cases = run_reproduction(datasets, fresh, small_plan(experiments=(7,)), log=lambda m: None, report_only=True)
    assert {entry["status"] for entry in fresh_cases["case_studies"]["by_similarity"].values()} <= {"not run", "not available"}
    assert not list((fresh / "case_studies").glob("*.json"))
    again = run_reproduction(datasets, out, small_plan(), log=lambda m: None, report_only=True)
    assert again["case_studies"]["by_similarity"] == first["case_studies"]["by_similarity"]


def test_kfold_runs_come_before_loocv_runs():
    from sesl_jax.reproduce.experiments import execution_order

    order = execution_order(unique_runs(experiment_rows(quick_plan())))
    protocols = [spec.protocol for spec in order]
    assert protocols == sorted(protocols, key=lambda p: p != "kfold") and "loocv" in protocols


def test_progress_lines_count_runs(reproduction):
    _, _, results, lines = reproduction
    total = len(results["runs"])
    assert any(line.startswith(f"[1/{total}] ") for line in lines)


def test_plan_shares_identical_runs():
    from sesl_jax.methods import SESL_DEFAULT_SIMILARITY

    rows = experiment_rows(quick_plan())
    specs = unique_runs(rows)
    assert len({s.key for s in specs}) == len(specs)
    # SESL 5-fold appears in experiments 1, 2, 4 and 6 but is one run
    assert sum(s.method == "sesl" and s.protocol == "kfold" and s.keep_fraction == 1 and not s.transductive
               and s.similarity == SESL_DEFAULT_SIMILARITY for s in specs) == 1


def test_full_plan_substitutes_pcd_drug_similarity_and_pairs_every_published_variant():
    from sesl_jax.reproduce.experiments import default_plan

    specs = unique_runs(experiment_rows(default_plan()))
    pcd_bnnr = {s.similarity for s in specs if s.dataset == "pcd" and s.method == "bnnr"}
    assert pcd_bnnr == {"drug=chemical,mirna=biological"}
    assert {s.similarity for s in specs if s.dataset == "fcd" and s.method == "bnnr"} == {"biological"}
    for method in ("sesl", "rpca-gamma", "tspn", "snmf", "ekrr", "dcmf"):
        for protocol in ("loocv", "kfold"):
            variants = {s.transductive for s in specs if s.method == method and s.protocol == protocol and s.dataset == "fcd"}
            assert variants == {False, True}, (method, protocol)
    assert not any(s.transductive for s in specs if s.method in ("se", "bnnr"))
    rival = next(s for s in specs if s.method == "dcmf" and s.transductive)
    assert "--gip-kernels transductive" in rival.cv_command(None, "float64", "DIR")
    sesl = next(s for s in specs if s.method == "sesl" and s.transductive)
    assert "--sparse-learning transductive" in sesl.cv_command(None, "float64", "DIR")
    unsubstituted = unique_runs(experiment_rows(default_plan(drug_similarity_substitutes=())))
    assert {s.similarity for s in unsubstituted if s.dataset == "pcd" and s.method == "bnnr"} == {"biological"}


def test_helpers():
    dataset = synthetic_dataset("fcd")
    folds = subsampled_loocv_folds(dataset.associations, 4, seed=1)
    assert folds.n_folds == 4 and folds.protocol == "loocv"
    reduced, kept = reduced_dataset(dataset, 0.5, seed=0)
    assert reduced.n_known == len(kept) == round(0.5 * dataset.n_known)
    assert np.all(dataset.associations[kept[:, 0], kept[:, 1]] == 1)
    assert parse_experiments("4,1") == (1, 4)
    with pytest.raises(ValueError, match="experiment 1 given more than once"):
        parse_experiments("4,1,1")
    with pytest.raises(ValueError):
        parse_experiments("8")


def test_cli_parser_registers_reproduce():
    from sesl_jax.cli._reproduce import make_plan, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["reproduce", "--out", "x", "--quick", "--experiments", "1,5"])
    plan = make_plan(args)
    assert plan.quick and plan.datasets == ("fcd",) and plan.experiments == (1, 5) and plan.dtype == "float32"
    args = parser.parse_args(["reproduce", "--out", "x", "--dataset", "pcd", "--dtype", "float64"])
    plan = make_plan(args)
    assert not plan.quick and plan.datasets == ("pcd",) and plan.repeats == 10 and plan.loocv_subsample is None
    assert plan.bnnr_svt == "eigh"
    assert make_plan(parser.parse_args(["reproduce", "--out", "x", "--bnnr-svt", "subspace"])).bnnr_svt == "subspace"


@pytest.mark.realdata
def test_real_quick_reproduction_on_fcd(real_data_dir, tmp_path):
    """``sesl-jax reproduce --quick`` on the real FCD: experiments 1 (every rival, both variants, both
    protocols), 4 (SE: the ablation) and 7 (case studies on real drug IDs), shrunk to 1 x 5-fold and
    2 LOOCV folds so that CI runs it in a few minutes (the documented --quick uses 2 repeats and 20
    folds). Experiments 2, 3, 5 and 6 run on synthetic data above (``small_plan``); here they would
    add minutes of compilation, not checks."""
    import subprocess

    from conftest import CLI, default_xla_env
    from sesl_jax.methods import METHODS

    started = time.perf_counter()
    out = tmp_path / "quick"
    # a child process at XLA's default optimisation: these runs are long enough to repay it
    command = [*CLI, "reproduce", "--quick", "--repeats", "1", "--loocv-folds", "2", "--experiments", "1,4,7",
               "--data-dir", str(real_data_dir), "--out", str(out), "--quiet"]
    result = subprocess.run(command, env=default_xla_env(), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "evaluation runs done" in result.stdout
    report = (out / "report.md").read_text()
    for number in (1, 4, 7):
        assert f"## Experiment {number}:" in report
    assert "## Runtime per run" in report
    assert {path.name for path in (out / "figures").glob("*.png")} >= {"experiment1_fcd_kfold.png", "experiment1_fcd_loocv.png"}
    results = json.loads((out / "results.json").read_text())
    assert results["plan"]["quick"] and results["plan"]["datasets"] == ["fcd"]
    variants: dict[str, set[bool]] = {}
    for key, record in results["runs"].items():
        assert record["status"] == "done", (key, record.get("reason"))
        assert (out / record["run_dir"] / "metrics.json").is_file()
        metrics = record["summary"]["metrics"]
        assert _finite(metrics["global"]["auc"]) and _finite(metrics["global"]["aupr"]), key
        if record["spec"]["protocol"] == "loocv":
            assert _finite(metrics["drug-fixed"]["auc"]) and _finite(metrics["mirna-fixed"]["auc"]), key
        variants.setdefault(record["spec"]["method"], set()).add(record["spec"]["transductive"])
    assert set(variants) == set(METHODS)  # every registered method ran
    for name, spec in METHODS.items():  # ... and each published full-matrix variant beside it
        assert variants[name] == ({False, True} if spec.transductive_option else {False}), name
    cases = results["case_studies"]["by_similarity"]
    assert all(cases[source]["new_drugs"][drug]["status"] == "done" for source in cases for drug in ("CID:3229", "CID:5757"))
    assert time.perf_counter() - started < 900


def test_plan_bnnr_svt_reaches_the_runs_that_use_bnnr_only(tmp_path):
    """``--bnnr-svt subspace``: BNNRSMMA's runs (their stored configuration and their equivalent
    ``cv`` command) use it, as SESL's and SE's do (one BNNR stage for the family), a rival keeps its
    own solver, the report says so, and the scores stay those of the exact SVT."""
    datasets = {"fcd": synthetic_dataset("fcd")}
    plan = small_plan(datasets=("fcd",), methods=("bnnr", "snmf"), experiments=(1,), repeats=1)
    exact = run_reproduction(datasets, tmp_path / "eigh", plan, log=lambda m: None)
    fast_plan = ExperimentPlan(**{**plan.__dict__, "bnnr_svt": "subspace"})
    fast = run_reproduction(datasets, tmp_path / "subspace", fast_plan, log=lambda m: None)
    methods = set()
    for key, record in fast["runs"].items():
        method = record["spec"]["method"]
        methods.add(method)
        stored = json.loads((tmp_path / "subspace" / record["run_dir"] / "manifest.json").read_text())
        config = json.dumps(stored)
        if method == "bnnr":  # the SESL family (sesl, se, bnnr) builds one BNNR stage alike
            assert "--bnnr-svt subspace" in record["cv_command"], key
            assert '"bnnr_svt": "subspace"' in config, key
            for scope, values in record["summary"]["metrics"].items():
                auc, exact_auc = values["auc"], exact["runs"][key]["summary"]["metrics"][scope]["auc"]
                if isinstance(auc, dict):  # k-fold: mean over repeats
                    auc, exact_auc = auc["mean"], exact_auc["mean"]
                assert math.isfinite(auc) and auc == pytest.approx(exact_auc, abs=1e-3), (key, scope)
        else:
            assert "--bnnr-svt" not in record["cv_command"] and '"bnnr_svt"' not in config, key
        assert "--bnnr-svt" not in exact["runs"][key]["cv_command"]
    assert methods == {"bnnr", "snmf"}
    assert "BNNR's SVT (SESL, SE, BNNRSMMA): subspace" in (tmp_path / "subspace" / "report.md").read_text()
    assert "BNNR's SVT" not in (tmp_path / "eigh" / "report.md").read_text()
