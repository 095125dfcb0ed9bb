"""``fit``, ``rank``, ``cv`` and ``data check`` on your own pairs (``--pairs``) and on an SM2miR
download (``--sm2mir`` with SMILES / sequence tables), and ``cv`` resuming across data paths."""

from __future__ import annotations

import json
import warnings
import shutil

import numpy as np
import pandas as pd
import pytest

from sesl_jax.cli import main

PAIRS = (
    "drug_id,mirna_id,smiles,sequence\n"
    "D1,m1,CCO,UGAGGUAGUAGGUUGUAUAGUU\n"
    "D1,m2,,UAGCUUAUCAGACUGAUGUUGA\n"
    "D2,m2,CC(=O)O,\n"
    "D3,m3,c1ccccc1O,UAAGGCACGCGGUGAAUGCC\n"
    "D3,m1,,\n"
    "D4,m4,,\n"  # D4 has no SMILES, m4 no sequence: isolated, each named in one warning
    "D2,m3,,\n"
)
SM2MIR_HEADER = (
    "miRNA\tmiRBase\tsmall melocule\tFDA\tDB\tCID\tDetection method \tSpecies\tCondition\tPMID\tYear\t"
    "Reference\tSupport\tExpression pattern of miRNA\t\n"
)


def sm2mir_record(mirna, drug, cid, species="Homo sapiens"):
    return f"{mirna}\tNULL\t{drug}\tNULL\tNULL\t{cid}\tqPCR\t{species}\tcells\t1\t2012\tref\tsupport\tup\t\n"


@pytest.fixture
def pairs_file(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(PAIRS)
    return path


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if ": warning: " in line]


def test_fit_and_rank_own_pairs_name_each_gap_once(pairs_file, tmp_path, capsys):
    out = tmp_path / "fit"
    assert main(["fit", "--pairs", str(pairs_file), "--similarity", "chemical", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    warnings = _warnings(err)
    assert [line for line in warnings if "D4" in line] == [
        "sesl-jax fit: warning: mine.csv: 1 of 4 drugs have no SMILES (D4): the drug similarity 'chemical' "
        "isolates them (0 to every other drug)"]
    assert len([line for line in warnings if "m4" in line]) == 1
    assert len(warnings) == 2  # the similarity layer's notes of the same items are not repeated
    assert f"data: 'mine' (4 drugs x 4 miRNAs, 7 known pairs) from {tmp_path.resolve()}" in err
    scores = pd.read_csv(out / "scores.csv", index_col=0)
    assert scores.shape == (4, 4) and list(scores.index) == ["D1", "D2", "D3", "D4"]
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["similarity"].startswith("drug=chemical,mirna=sequence")
    assert list(config["data"]["checksums"]) == ["mine.csv"]

    assert main(["rank", "--pairs", str(pairs_file), "--similarity", "chemical", "--smiles", "CCCO", "--top", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "rank,mirna_id,score,known" and len(lines) == 3


def test_cv_on_own_pairs_writes_strict_json_and_names_the_results(pairs_file, tmp_path, capsys):
    out = tmp_path / "cv"
    assert main(["cv", "--pairs", str(pairs_file), "--similarity", "chemical", "--protocol", "kfold", "--k", "2",
                 "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "± n/a (n=1)" in printed and "nan" not in printed
    assert printed.strip().splitlines()[-1].startswith(f"results: {out}")
    metrics = json.loads((out / "metrics.json").read_text(), parse_constant=lambda token: pytest.fail(token))
    assert metrics["dataset"] == "mine" and metrics["metrics"]["global"]["auc"]["std"] is None


def test_sm2mir_needs_tables_and_runs_with_them(tmp_path, capsys):
    download = tmp_path / "SM2miR.txt"
    download.write_text(SM2MIR_HEADER + "".join([
        sm2mir_record("miR-21", "Curcumin", "969516"), sm2mir_record("miR-34a", "Curcumin", "969516"),
        sm2mir_record("let-7a", "Caudatin", "NULL"), sm2mir_record("miR-21", "Aspirin", "2244"),
        sm2mir_record("miR-155", "Aspirin", "2244"), sm2mir_record("miR-155", "Glucose", "5793", "Mus musculus"),
    ]), encoding="latin-1")
    out = tmp_path / "fit"
    assert main(["fit", "--sm2mir", str(download), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    # The default configuration's biological terms fall back to chemical / sequence (a warning); then
    # the missing SMILES and sequences are one error naming the options that add them.
    assert "warning: own data has no biological similarities" in err
    assert "sesl-jax fit: error: SM2miR.txt: no drug has a SMILES and no miRNA has a mature sequence" in err
    assert ("give --smiles-table FILE (columns drug_id, smiles) and --sequence-table FILE (columns mirna_id, "
            "sequence)") in err
    assert not out.exists()

    smiles = tmp_path / "smiles.csv"
    smiles.write_text("drug_id,smiles\nCID:969516,COC1=C(C=CC(=C1)C=CC(=O)CC(=O)C=CC2=CC(=C(C=C2)O)OC)O\n"
                      "CID:2244,CC(=O)OC1=CC=CC=C1C(=O)O\nCID:1,C\n")
    sequences = tmp_path / "mirnas.tsv"
    sequences.write_text("mirna_id\tsequence\nhsa-mir-21\tUAGCUUAUCAGACUGAUGUUGA\nhsa-mir-34a\tUGGCAGUGUCUUAGCUGGUUGU\n"
                         "hsa-let-7a\tUGAGGUAGUAGGUUGUAUAGUU\nhsa-mir-155\tUUAAUGCUAAUCGUGAUAGGGGU\n")
    assert main(["fit", "--sm2mir", str(download), "--smiles-table", str(smiles), "--sequence-table", str(sequences),
                 "--similarity", "drug=chemical,mirna=alignment", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "SM2miR.txt: 1 of 3 drugs have no SMILES (Caudatin)" in err
    assert pd.read_csv(out / "scores.csv", index_col=0).shape == (3, 4)  # human records only
    config = json.loads((out / "config.json").read_text())
    assert set(config["data"]["checksums"]) == {"SM2miR.txt", "smiles.csv", "mirnas.tsv"}


def test_data_check_of_own_pairs(pairs_file, capsys):
    assert main(["data", "check", "--pairs", str(pairs_file)]) == 0
    printed = capsys.readouterr().out
    assert "drugs x miRNAs:     4 x 4" in printed and "SMILES:             3 / 4" in printed


def test_cv_resumes_with_the_data_read_from_another_directory(small_data_dir, tmp_path, capsys):
    copy = shutil.copytree(small_data_dir, tmp_path / "copy")
    base = ["cv", "--dataset", "fcd", "--similarity", "biological", "--protocol", "kfold", "--k", "2", "--quiet",
            "--out", str(tmp_path / "run")]
    assert main([*base, "--data-dir", str(small_data_dir), "--batch-size", "1"]) == 0
    capsys.readouterr()
    assert main([*base, "--data-dir", str(copy), "--batch-size", "3"]) == 0
    assert "is finished; reading its metrics.json" in capsys.readouterr().err
    changed = copy / "amcsmma" / "dataset2" / "SM similarity matrix 2.txt"
    np.savetxt(changed, 0.9 * np.loadtxt(changed), fmt="%.4f")  # other data: refused
    assert main([*base, "--data-dir", str(copy)]) == 1
    assert "holds results of a different configuration" in capsys.readouterr().err


def test_fit_on_data_without_a_novel_pair_says_so(tmp_path, capsys):
    pairs = tmp_path / "one.csv"
    pairs.write_text("drug_id,mirna_id,smiles,sequence\nD1,m1,CCO,UGAGGUAGUAGGUUGUAUAGUU\n")
    assert main(["fit", "--pairs", str(pairs), "--out", str(tmp_path / "model")]) == 0
    out = capsys.readouterr().out
    assert "no novel pairs: every drug-miRNA pair of the data is a known pair" in out
    assert "Empty DataFrame" not in out


def test_own_data_named_like_a_benchmark_is_not_announced_as_it(tmp_path):
    from sesl_jax.cli._common import data_source_message
    from sesl_jax.data import load_pairs

    path = tmp_path / "fcd.csv"
    path.write_text(PAIRS)
    line = data_source_message(load_pairs(path), benchmark=False)
    assert line.startswith("data: 'fcd' (4 drugs x 4 miRNAs, 7 known pairs) from /")


def test_code_options_on_own_data_apply_to_the_similarity_that_runs(pairs_file, tmp_path, capsys):
    """Own data swaps SESL's biological terms for sequence and chemical ones: a map or miRNA form
    given alone applies to that similarity (the file's sequence column is then read as hairpins), not
    the default it replaced, and replaces its map part."""
    out = tmp_path / "fit"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # D4 and m4 are isolated on purpose
        assert main(["fit", "--pairs", str(pairs_file), "--similarity-map", "linear", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["similarity"] == "drug=0.5*chemical+0.5*sequence,mirna=sequence,map=linear,mirna_form=mature"
    assert config["similarity_map"] == "linear"
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["fit", "--pairs", str(pairs_file), "--mirna-form", "hairpin", "--out", str(tmp_path / "x")]) == 0
    assert json.loads((tmp_path / "x" / "config.json").read_text())["config"]["mirna_form"] == "hairpin"
