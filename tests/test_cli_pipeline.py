"""``sesl-jax fit``, ``rank`` and ``cv`` end to end on a small benchmark directory."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sesl_jax.cli import main


def test_fit_writes_scores_config_and_checksums(small_data_dir, tmp_path, capsys):
    out = tmp_path / "fit"
    code = main(["fit", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--method", "sesl",
                 "--similarity", "biological", "--out", str(out)])
    assert code == 0
    scores = pd.read_csv(out / "scores.csv", index_col=0)
    assert scores.shape == (3, 3)
    assert ((scores.to_numpy() >= 0) & (scores.to_numpy() <= 1)).all()
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["method"] == "sesl"
    assert config["data"]["checksums"] and all(len(v) == 64 for v in config["data"]["checksums"].values())
    pairs = pd.read_csv(out / "pairs.csv")
    assert len(pairs) == 9 and pairs["known"].sum() == 5
    assert not list(out.glob(".*tmp"))


def test_rank_prints_csv_and_writes_output(small_data_dir, tmp_path, capsys):
    args = ["rank", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--similarity", "biological"]
    assert main([*args, "--drug", "CID:22", "--top", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "rank,mirna_id,score,known" and len(lines) == 3
    output = tmp_path / "ranked.csv"
    assert main([*args, "--mirna", "hsa-mir-1", "--output", str(output)]) == 0
    table = pd.read_csv(output)
    assert list(table.columns) == ["rank", "drug_id", "score", "known"] and len(table) == 3


def test_rank_unknown_id_is_an_error(small_data_dir, capsys):
    code = main(["rank", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--similarity", "biological",
                 "--drug", "CID:999"])
    assert code == 1
    assert "unknown drug ID 'CID:999'" in capsys.readouterr().err


@pytest.mark.parametrize("protocol", ["loocv", "kfold", "new-drug"])
def test_cv_writes_metrics_scores_folds(small_data_dir, tmp_path, capsys, protocol):
    out = tmp_path / protocol
    extra = ["--k", "2", "--repeats", "2"] if protocol == "kfold" else []
    code = main(["cv", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--protocol", protocol,
                 "--method", "sesl", "--similarity", "biological", "--out", str(out), "--quiet", *extra])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["protocol"] == protocol
    assert set(metrics["metrics"]) == {"global", "drug-fixed", "mirna-fixed"}
    assert metrics["solver"]["bnnr"]["converged"] + metrics["solver"]["bnnr"]["max_iterations"] == metrics["n_folds"]
    folds = pd.read_csv(out / "folds.csv")
    assert len(folds) == 5 * (2 if protocol == "kfold" else 1)
    assert (out / "manifest.json").exists()
    assert list(out.glob("scores.*"))
    printed = capsys.readouterr().out
    assert "global" in printed and "auc" in printed


def test_cv_without_a_terminal_logs_progress_lines_and_quiet_silences_them(small_data_dir, tmp_path, capsys):
    # stderr is captured (not a terminal): no bar, but a plain line says how far the run got
    arguments = ["cv", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--protocol", "kfold", "--k", "2",
                 "--method", "bnnr", "--similarity", "biological"]
    assert main([*arguments, "--out", str(tmp_path / "logged")]) == 0
    err = capsys.readouterr().err
    assert "bnnr: 2/2 folds (100%)" in err and "s/fold" in err, err
    assert main([*arguments, "--out", str(tmp_path / "quiet"), "--quiet"]) == 0
    assert "folds (" not in capsys.readouterr().err


def test_cv_transductive_warns_and_is_labelled(small_data_dir, tmp_path, capsys):
    out = tmp_path / "transductive"
    code = main(["cv", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--similarity", "biological",
                 "--sparse-learning", "transductive", "--out", str(out), "--quiet"])
    assert code == 0
    assert "WARNING" in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["leaks"] is True and any("transductive" in note for note in metrics["notes"])


def test_cv_transductive_option_must_match_the_method(small_data_dir, tmp_path, capsys):
    base = ["cv", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--similarity", "biological", "--quiet",
            "--protocol", "kfold", "--k", "2"]
    # a usage mistake: exit code 2 (was 1 before the CLI split usage from data errors)
    assert main([*base, "--method", "dcmf", "--sparse-learning", "transductive", "--out", str(tmp_path / "a")]) == 2
    assert "--gip-kernels transductive" in capsys.readouterr().err
    assert main([*base, "--method", "bnnr", "--gip-kernels", "transductive", "--out", str(tmp_path / "b")]) == 2
    assert "no transductive variant" in capsys.readouterr().err
    out = tmp_path / "c"
    assert main([*base, "--method", "snmf", "--gip-kernels", "transductive", "--out", str(out)]) == 0
    assert "WARNING: --gip-kernels transductive" in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["leaks"] is True and any("GIP kernels fitted on the full matrix" in n for n in metrics["notes"])


def test_cv_refuses_to_resume_a_different_run(small_data_dir, tmp_path, capsys):
    base = ["cv", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--similarity", "biological",
            "--protocol", "kfold", "--k", "2", "--out", str(tmp_path / "run"), "--quiet"]
    assert main([*base, "--seed", "0"]) == 0
    assert main([*base, "--seed", "1"]) == 1
    assert "different configuration" in capsys.readouterr().err


def test_fit_and_rank_use_the_configuration_select_chose(small_data_dir, tmp_path, capsys):
    """``--selection selection.json``: the method and similarity that nested CV chose (here SE, no
    sparse learning, biological) are what fit uses; options it sets may not be given beside it."""
    selection = tmp_path / "selection.json"
    chosen = {"method": "se", "similarity": "biological", "similarity_map": "gaussian", "mirna_form": "mature",
              "dtype": "float32", "observed": "nonzero", "transductive": False, "variant": "default"}
    selection.write_text(json.dumps({"dataset": "fcd", "selected": {"label": "se: biological", "config": chosen}}))
    out = tmp_path / "fit"
    assert main(["fit", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--selection", str(selection),
                 "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["method"] == "se" and config["dtype"] == "float64"  # the precision stays the command's
    assert "se: biological (chosen by nested CV on FCD)" in capsys.readouterr().err
    direct = tmp_path / "direct"
    assert main(["fit", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--method", "se",
                 "--similarity", "biological", "--out", str(direct)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "scores.csv"), pd.read_csv(direct / "scores.csv"))
    assert json.loads((direct / "config.json").read_text())["config"] == config
    assert main(["rank", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--selection", str(selection),
                 "--drug", "CID:22", "--top", "2"]) == 0
    capsys.readouterr()

    for extra, message in [(["--similarity", "biological"], "do not give --similarity beside it"),
                           (["--method", "bnnr"], "do not give --method beside it")]:
        assert main(["fit", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--selection", str(selection),
                     *extra, "--out", str(tmp_path / "x")]) == 2
        assert message in capsys.readouterr().err
    binary = bytes(range(256)) * 400  # not UTF-8: the message names that, not the file's bytes
    for text, message in [(None, "no such file"), ("{}", "no 'selected' configuration in it"),
                          ("{nope", "not readable JSON"), (binary, "not UTF-8 text: invalid start byte at byte 128"),
                          (json.dumps({"selected": {"config": {**chosen, "method": "nope"}}}), "not usable"),
                          (json.dumps({"selected": {"config": {**chosen, "similarity": 5}}}),
                           "not usable: similarity must be text; got 5"),
                          (json.dumps({"selected": {"config": {**chosen, "transductive": "no"}}}),
                           "not usable: transductive must be true or false; got 'no'")]:
        bad = tmp_path / "bad.json"
        bad.unlink(missing_ok=True)
        if isinstance(text, bytes):
            bad.write_bytes(text)
        elif text is not None:
            bad.write_text(text)
        assert main(["fit", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--selection", str(bad),
                     "--out", str(tmp_path / "y")]) == 2
        err = capsys.readouterr().err
        assert f"argument --selection: {bad}" in err and message in err, err
        assert len(err) < 1000 and "KeyError" not in err, err


def test_cv_takes_a_selection_written_by_select(small_data_dir, tmp_path, capsys):
    select_out = tmp_path / "select"
    assert main(["select", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--method", "sesl,se",
                 "--candidate", "biological", "--reference", "bnnr", "--outer-k", "2", "--outer-repeats", "1",
                 "--inner-k", "2", "--dtype", "float64", "--out", str(select_out), "--quiet"]) == 0
    selected = json.loads((select_out / "selection.json").read_text())["selected"]["config"]
    out = tmp_path / "cv"
    assert main(["cv", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--selection",
                 str(select_out / "selection.json"), "--protocol", "kfold", "--k", "2", "--out", str(out), "--quiet"]) == 0
    config = json.loads((out / "manifest.json").read_text())["config"]
    assert config["method"] == selected["method"] and config["similarity"] == "biological"


def test_fit_honours_bnnr_svt_and_records_it(small_data_dir, tmp_path, capsys):
    """``fit --bnnr-svt subspace`` fits with the subspace SVT (it was once dropped on the way to the
    model) and records it; the scores stay those of the exact SVT."""
    base = ["fit", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--method", "bnnr", "--similarity", "biological"]
    assert main([*base, "--out", str(tmp_path / "eigh")]) == 0
    assert main([*base, "--bnnr-svt", "subspace", "--out", str(tmp_path / "subspace")]) == 0
    config = json.loads((tmp_path / "subspace" / "config.json").read_text())["config"]
    assert config["bnnr_svt"] == "subspace"
    assert "bnnr_svt" not in json.loads((tmp_path / "eigh" / "config.json").read_text())["config"]
    exact, fast = (pd.read_csv(tmp_path / name / "scores.csv", index_col=0).to_numpy() for name in ("eigh", "subspace"))
    assert abs(exact - fast).max() < 1e-3
