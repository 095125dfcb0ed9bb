"""``sesl-jax encoder train`` / ``encode`` on tiny corpora, through a parser built here."""

from __future__ import annotations

import argparse
import gzip
import json

import numpy as np
import pytest

from sesl_jax.cli import _encoder
from sesl_jax.cli._common import run_command

RNA = ["ACGUACGU", "GGGAAAUUUCCC", "UGAGGUAGUAGGUUGUAUAGUU", "CUAUACAAUCUACUGUCUUUC", "AAAAACCCCC", "GUGUGUGAC",
       "UUUUGGA", "CAGUCAGUCAGU"]


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sesl-jax")
    _encoder.register(parser.add_subparsers(dest="command"))
    return run_command(parser.parse_args(argv))


@pytest.fixture(autouse=True)
def _no_real_data_lookup(monkeypatch):
    monkeypatch.delenv("SESL_JAX_DATA", raising=False)


def test_train_resume_and_encode_rna(tmp_path, capsys):
    corpus = tmp_path / "rna.fa.gz"
    with gzip.open(corpus, "wt") as handle:
        handle.write("".join(f">s{i} x\n{s[:5]}\n{s[5:]}\n" for i, s in enumerate(RNA)))
    out = tmp_path / "run"
    common = ["encoder", "train", "--kind", "rna", "--corpus", str(corpus), "--out", str(out), "--hidden-size", "8",
              "--num-layers", "1", "--code-dim", "4", "--batch-size", "4", "--length-multiple", "32",
              "--validation-fraction", "0.25", "--max-length", "40"]
    assert _run(common + ["--epochs", "1"]) == 0
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["corpora"][0]["sequences_in_file"] == len(RNA) and len(recipe["corpora"][0]["sha256"]) == 64
    assert recipe["completed"] and recipe["epochs_run"] == 1 and "token_accuracy" in recipe["validation"]
    assert _run(common + ["--epochs", "2", "--resume"]) == 0
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["epochs_run"] == 2 and len(recipe["commands"]) == 2

    sequences = tmp_path / "in.txt"
    sequences.write_text("ACGU\nGGGAAAUUUCCC\n")
    codes_path = tmp_path / "codes.npy"
    assert _run(["encoder", "encode", "--kind", "rna", "--weights", str(out / "encoder.npz"), "--input", str(sequences),
                 "--output", str(codes_path)]) == 0
    codes = np.load(codes_path)
    assert codes.shape == (2, 4) and codes.dtype == np.float64

    sequences.write_text("ACGU\nACXU\n")
    assert _run(["encoder", "encode", "--kind", "rna", "--weights", str(out / "encoder.npz"), "--input", str(sequences),
                 "--output", str(codes_path)]) == 1
    assert "'ACXU' at position 2" in capsys.readouterr().err
    assert _run(["encoder", "encode", "--kind", "smiles", "--weights", str(out / "encoder.npz"), "--input", str(sequences),
                 "--output", str(codes_path)]) == 1
    assert "expected smiles" in capsys.readouterr().err


def test_missing_corpus_is_a_clean_error(tmp_path, capsys):
    assert _run(["encoder", "train", "--kind", "smiles", "--corpus", str(tmp_path / "none.txt"), "--out", str(tmp_path)]) == 1
    assert "no SMILES corpus" in capsys.readouterr().err


def test_evaluate_prints_the_reconstruction_table_of_a_run(tmp_path, capsys):
    corpus = tmp_path / "rna.txt"
    corpus.write_text("\n".join(RNA) + "\n")
    out = tmp_path / "run"
    assert _run(["encoder", "train", "--kind", "rna", "--corpus", str(corpus), "--out", str(out), "--hidden-size", "8",
                 "--num-layers", "1", "--code-dim", "4", "--batch-size", "4", "--length-multiple", "32", "--epochs", "1",
                 "--validation-fraction", "0.25", "--max-length", "30", "--schedule", "cosine", "--warmup-steps", "1"]) == 0
    recipe = json.loads((out / "recipe.json").read_text())
    capsys.readouterr()
    table = tmp_path / "table.json"
    assert _run(["encoder", "evaluate", "--run", str(out), "--weights", str(out / "encoder.npz"), "--greedy", "5",
                 "--output", str(table)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "rna: 2 validation sequences; free-running on the first 5"
    assert printed[1].split() == ["model", "size", "params", "loss", "tf", "tok", "tf", "seq", "fr", "tok", "fr", "seq", "skipped"]
    assert len(printed) == 4 and printed[2].split()[1] == "1x8" and printed[2].split()[-1] == "0"
    result = json.loads(table.read_text())
    assert [m["model"] for m in result["models"]] == [str(out / "checkpoint.npz"), str(out / "encoder.npz")]
    for entry in result["models"]:  # the run's own validation split and metrics, reproduced
        assert entry["sequences"] == 2 and entry["skipped"] == 0
        for key in ("loss", "token_accuracy", "sequence_accuracy", "greedy_token_accuracy", "greedy_sequence_accuracy"):
            assert entry[key] == pytest.approx(recipe["validation"][key], rel=1e-6), key
    assert float(printed[2].split()[4]) == pytest.approx(recipe["validation"]["token_accuracy"], abs=1e-4)

    # a corpus instead of a run's split: every sequence, each model's own tokenizer decides what it can read
    assert _run(["encoder", "evaluate", "--corpus", str(corpus), "--kind", "rna", "--weights", str(out / "encoder.npz"),
                 "--greedy", "0"]) == 0
    assert capsys.readouterr().out.startswith(f"rna: {len(RNA)} validation sequences")
    assert _run(["encoder", "evaluate", "--corpus", str(corpus), "--weights", str(out / "encoder.npz")]) == 1
    assert "--corpus needs --kind" in capsys.readouterr().err


def test_augmentation_is_for_smiles(tmp_path, capsys):
    corpus = tmp_path / "rna.txt"
    corpus.write_text("\n".join(RNA) + "\n")
    assert _run(["encoder", "train", "--kind", "rna", "--corpus", str(corpus), "--out", str(tmp_path / "x"),
                 "--augment-smiles"]) == 1
    assert "--augment-smiles is for --kind smiles" in capsys.readouterr().err
    assert _run(["encoder", "train", "--kind", "rna", "--corpus", str(corpus), "--out", str(tmp_path / "x"),
                 "--schedule", "cosine", "--warmup-steps", "5", "--decay-steps", "5"]) == 1
    assert "decay_steps > warmup_steps" in capsys.readouterr().err


def test_size_options_of_the_other_architecture_are_refused_not_ignored(tmp_path, capsys):
    corpus = tmp_path / "rna.txt"
    corpus.write_text("\n".join(RNA) + "\n")
    base = ["encoder", "train", "--kind", "rna", "--corpus", str(corpus), "--out", str(tmp_path / "x")]
    for extra, message in (
        (["--architecture", "transformer", "--hidden-size", "256"], "argument --hidden-size: applies to --architecture lstm"),
        (["--architecture", "transformer", "--batch-norm"], "argument --batch-norm: applies to --architecture lstm"),
        (["--d-model", "32"], "argument --d-model: applies to --architecture transformer, not lstm"),
    ):
        assert _run([*base, *extra]) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "x").exists()  # refused before anything was read or written


def test_smiles_training_takes_a_given_vocabulary_and_names_a_bad_one(tmp_path, capsys):
    corpus = tmp_path / "smiles.txt"
    corpus.write_text("\n".join(["CCO", "CCN", "CCCO", "c1ccccc1", "CC(=O)O", "CCCC", "OCCO", "NCCN"]) + "\n")
    vocabulary = ["<pad>", "<bos>", "<eos>", "<unk>", "C", "O", "N", "c", "1", "(", ")", "=", "Cl"]
    given = tmp_path / "vocabulary.json"
    given.write_text(json.dumps({"vocabulary": vocabulary}))
    out = tmp_path / "run"
    common = ["encoder", "train", "--kind", "smiles", "--corpus", str(corpus), "--out", str(out), "--hidden-size", "8",
              "--num-layers", "1", "--code-dim", "4", "--batch-size", "4", "--epochs", "1", "--validation-fraction", "0.25"]
    assert _run(common + ["--vocabulary", str(given)]) == 0
    # the given token order, "Cl" included though the corpus has none (a fitted one would drop it)
    assert json.loads((out / "vocabulary.json").read_text())["vocabulary"] == vocabulary
    from sesl_jax.encoders import load_checkpoint

    assert list(load_checkpoint(out / "encoder.npz").tokenizer.vocabulary) == vocabulary
    capsys.readouterr()
    for text, message in [(None, "no such file"), ("{not json", "not a vocabulary.json"),
                          (json.dumps({"vocabulary": ["C", "O"]}), "must start with the special tokens"),
                          (json.dumps({"vocabulary": vocabulary + ["C"]}), "hold each token once")]:
        bad = tmp_path / "bad.json"
        bad.unlink(missing_ok=True)
        if text is not None:
            bad.write_text(text)
        assert _run(common + ["--vocabulary", str(bad), "--out", str(tmp_path / "other")]) == 1
        err = capsys.readouterr().err
        assert str(bad) in err and message in err, err
    other = vocabulary[:4] + vocabulary[5:] + vocabulary[4:5]
    given.write_text(json.dumps({"vocabulary": other}))
    assert _run(common + ["--vocabulary", str(given), "--resume", "--epochs", "2"]) == 1
    assert "differs from the run's" in capsys.readouterr().err
    assert _run(["encoder", "train", "--kind", "rna", "--corpus", str(corpus), "--out", str(out),
                 "--vocabulary", str(given)]) == 2
    assert "applies to --kind smiles" in capsys.readouterr().err
