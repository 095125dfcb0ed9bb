"""Per-benchmark defaults: the shipped selections, and fit/rank/cv using them without method options."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from sesl_jax import defaults
from sesl_jax.cli import main
from sesl_jax.evaluation.selection import candidate_label
from tests.test_cli_own_data import PAIRS


@pytest.mark.parametrize("path", sorted(defaults.DEFAULTS_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_shipped_defaults_are_selections_of_their_benchmark(path):
    """Each shipped default is a nested-CV selection run on the benchmark it is named after, on the
    pinned benchmark files, and its label says the configuration it holds."""
    selection = defaults.read_selection(path)
    assert selection.dataset == path.stem
    assert selection.label == candidate_label(selection.config)
    assert selection.nested_auc is not None and 0.5 < selection.nested_auc <= 1
    record = json.loads(path.read_text())
    assert record["data"]["dataset"] == path.stem and record["data"]["checksums"]
    assert record["protocol"]["outer"] and record["candidates"]  # the evidence ships with the choice


def test_pcd_default_is_se_as_its_nested_selection_chose():
    selection = defaults.dataset_default("pcd")
    assert selection is not None and selection.config.method == "se"
    assert "nested CV on PCD" in selection.describe()
    assert defaults.dataset_default(" PCD") == selection
    for name in ("nonexistent", "fdc", "../defaults/fcd"):  # used to give None, or read a path
        with pytest.raises(ValueError, match=f"unknown benchmark {name!r}; choose one of fcd, pcd"):
            defaults.dataset_default(name)


@pytest.fixture
def fcd_default(tmp_path, monkeypatch):
    """A shipped default for the small 'fcd' fixture: SE with biological similarity."""
    directory = tmp_path / "defaults"
    directory.mkdir()
    config = {"method": "se", "similarity": "biological", "similarity_map": "gaussian", "mirna_form": "mature",
              "dtype": "float32", "observed": "nonzero", "transductive": False, "variant": "default"}
    (directory / "fcd.json").write_text(json.dumps({
        "dataset": "fcd", "selected": {"label": "se: biological", "config": config},
        "nested": {"metrics": {"global": {"auc": {"mean": 0.9}}}}}))
    monkeypatch.setattr(defaults, "DEFAULTS_DIR", directory)
    return config


def test_fit_without_method_options_uses_the_benchmarks_default(small_data_dir, tmp_path, capsys, fcd_default):
    data = ["--dataset", "fcd", "--data-dir", str(small_data_dir)]
    out = tmp_path / "default"
    assert main(["fit", *data, "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["method"] == "se"
    assert config["dtype"] == "float64"  # the precision stays the command's
    err = capsys.readouterr().err
    assert "default on FCD: se: biological (chosen by nested CV on FCD, nested global AUC 0.9000)" in err, err
    explicit = tmp_path / "explicit"
    assert main(["fit", *data, "--method", "se", "--similarity", "biological", "--out", str(explicit)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "scores.csv"), pd.read_csv(explicit / "scores.csv"))
    assert json.loads((explicit / "config.json").read_text())["config"] == config
    capsys.readouterr()

    # any method option means the user chose: SESL (the method default) with what they gave
    chosen = tmp_path / "chosen"
    assert main(["fit", *data, "--similarity", "biological", "--out", str(chosen)]) == 0
    assert json.loads((chosen / "config.json").read_text())["config"]["method"] == "sesl"
    assert "default on FCD" not in capsys.readouterr().err


def test_cv_and_rank_use_the_benchmarks_default_and_transductive_runs_stay_sesl(small_data_dir, tmp_path, capsys,
                                                                                fcd_default):
    data = ["--dataset", "fcd", "--data-dir", str(small_data_dir)]
    out = tmp_path / "cv"
    assert main(["cv", *data, "--protocol", "kfold", "--k", "2", "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "manifest.json").read_text())["config"]["method"] == "se"
    assert main(["rank", *data, "--drug", "CID:22", "--top", "2"]) == 0
    assert "default on FCD: se" in capsys.readouterr().err
    # the transductive reproduction protocol belongs to SESL: no default swaps its method
    transductive = tmp_path / "transductive"
    assert main(["cv", *data, "--similarity", "biological", "--sparse-learning", "transductive",
                 "--protocol", "kfold", "--k", "2", "--out", str(transductive), "--quiet"]) == 0
    assert json.loads((transductive / "manifest.json").read_text())["config"]["method"] == "sesl"


def test_own_data_keeps_the_method_default(tmp_path, capsys, fcd_default):
    pairs = tmp_path / "mine.csv"
    pairs.write_text(PAIRS)
    out = tmp_path / "own"
    assert main(["fit", "--pairs", str(pairs), "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["config"]["method"] == "sesl"
    assert "default on" not in capsys.readouterr().err


def test_code_options_alone_modify_the_default_and_must_apply(small_data_dir, tmp_path, capsys, fcd_default):
    """--similarity-map, --encoder, --mirna-form given alone keep the benchmark's default and change
    how its codes become similarities; one that the similarity never uses is a usage error, not a
    silent no-op (nor a silent switch to another method)."""
    data = ["--dataset", "fcd", "--data-dir", str(small_data_dir)]
    assert main(["fit", *data, "--similarity-map", "inverse:0.3", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "argument --similarity-map: map=inverse:0.3 only applies to sequence codes; the similarity " \
           "'drug=biological,mirna=biological' uses none" in err, err
    assert not (tmp_path / "x").exists()

    coded = json.loads((defaults.DEFAULTS_DIR / "fcd.json").read_text())
    coded["selected"]["config"].update(similarity="drug=sequence,mirna=biological", similarity_map="inverse")
    (defaults.DEFAULTS_DIR / "fcd.json").write_text(json.dumps(coded))
    out = tmp_path / "wider"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a drug of the small fixture has no SMILES, on purpose
        assert main(["fit", *data, "--similarity-map", "inverse:0.3", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())["config"]
    assert (config["method"], config["similarity"], config["similarity_map"]) == \
        ("se", "drug=sequence,mirna=biological,map=inverse:0.3", "inverse:0.3")
    assert "with --similarity-map inverse:0.3; give --method to choose another" in capsys.readouterr().err
    assert main(["fit", *data, "--mirna-form", "hairpin", "--out", str(tmp_path / "y")]) == 2
    assert "argument --mirna-form: mirna_form=hairpin only applies to miRNA sequences" in capsys.readouterr().err
