"""``sesl-jax encoder train`` / ``encode`` on tiny corpora, through a parser built here."""

from __future__ import annotations

import argparse
import gzip
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from sesl_jax._io import sha256_file
from sesl_jax.cli import _encoder
from sesl_jax.cli._common import run_command
from sesl_jax.encoders._pretrained import shipped_path

RNA = ["ACGUACGU", "GGGAAAUUUCCC", "UGAGGUAGUAGGUUGUAUAGUU", "CUAUACAAUCUACUGUCUUUC", "AAAAACCCCC", "GUGUGUGAC",
       "UUUUGGA", "CAGUCAGUCAGU"]


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sesl-jax")
    _encoder.register(parser.add_subparsers(dest="command"))
    return run_command(parser.parse_args(argv))


@pytest.fixture(autouse=True)
def _no_real_data_lookup(monkeypatch):
    monkeypatch.delenv("SESL_JAX_DATA", raising=False)


def test_train_resume_and_encode_rna(tmp_path, capsys, monkeypatch):
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
    (out / "recipe.json").write_text("{broken")  # the run's own file, edited by hand: named, not a traceback
    capsys.readouterr()
    assert _run(common + ["--epochs", "3", "--resume"]) == 1
    assert "recipe.json: not a readable recipe of 'sesl-jax encoder train'" in capsys.readouterr().err

    # a second run starting from the first one's weights records the file it started from
    warm = tmp_path / "warm"
    def elsewhere(directory):
        return [str(directory) if part == str(out) else part for part in common] + ["--epochs", "1"]

    assert _run(elsewhere(tmp_path / "none") + ["--corpus", str(tmp_path / "no.txt")]) == 1
    assert "no RNA corpus at" in capsys.readouterr().err
    warm_args = elsewhere(warm)
    assert _run(warm_args + ["--init-weights", str(out / "encoder.npz")]) == 0
    recipe = json.loads((warm / "recipe.json").read_text())
    assert recipe["init_weights"] == {"file": str(out / "encoder.npz"), "sha256": sha256_file(out / "encoder.npz")}
    capsys.readouterr()
    for extra, message in (([], "argument --freeze-batch-norm: needs a model with --batch-norm"),
                           (["--batch-norm", "none"], "argument --freeze-batch-norm: needs a model with --batch-norm"),
                           (["--batch-norm"], "argument --freeze-batch-norm: keeps the running averages of trained "
                                              "weights; give --init-weights")):
        assert _run(elsewhere(tmp_path / "frozen") + ["--freeze-batch-norm", *extra]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "frozen").exists()
    for weights, message in ((tmp_path / "none.npz", "none.npz: no such file"),
                             (corpus, "not an encoder checkpoint"),
                             (shipped_path("smiles"), "a SMILES encoder, this run trains --kind rna"),
                             ("shipped", None)):
        code = _run(elsewhere(tmp_path / "other") + ["--init-weights", str(weights)])
        err = capsys.readouterr().err
        assert code == 1 and "Traceback" not in err
        assert (message or "model configuration differs") in err, err

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
    assert "an RNA encoder, expected a SMILES encoder" in capsys.readouterr().err

    # standard input ("-") and a pipe give the rows a file gives; its mistakes are named as standard input's
    stdin = tmp_path / "stdin.txt"
    stdin.write_bytes(b"\xef\xbb\xbfACGU\r\nGGGAAAUUUCCC\r\n")  # a byte-order mark and CRLF, as files may have
    encode_rna = ["encoder", "encode", "--kind", "rna", "--weights", str(out / "encoder.npz")]
    with open(stdin, "rb") as handle:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(handle))
        assert _run(encode_rna + ["--input", "-", "--output", str(tmp_path / "piped.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "piped.npy"), codes)
    with open(stdin, "rb") as handle:  # /dev/stdin is the process's own: a command of its own
        child = subprocess.run([sys.executable, "-m", "sesl_jax", *encode_rna, "--input", "/dev/stdin",
                                "--output", str(tmp_path / "dev.npy")], stdin=handle, capture_output=True, text=True)
    assert child.returncode == 0, child.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "dev.npy"), codes)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"ACGU\n\nGGCC\n")))
    capsys.readouterr()
    assert _run(encode_rna + ["--input", "-", "--output", str(tmp_path / "blank.npy")]) == 1
    assert "standard input line 2: blank" in capsys.readouterr().err and not (tmp_path / "blank.npy").exists()
    monkeypatch.setattr("sys.stdin", None)  # closed (<&-)
    assert _run(encode_rna + ["--input", "-", "--output", str(tmp_path / "closed.npy")]) == 1
    assert "standard input is closed" in capsys.readouterr().err
    assert _run(encode_rna + ["--input", str(tmp_path), "--output", str(tmp_path / "dir.npy")]) == 1
    assert "a directory; give a text file" in capsys.readouterr().err


def test_smiles_run_continued_from_another_runs_weights(tmp_path, capsys):
    corpus = tmp_path / "smiles.txt"
    corpus.write_text("\n".join(["CCO", "CCN", "c1ccccc1", "CC(=O)O", "CCCl", "OCCO", "NCCN", "CC(C)O", "c1ccncc1", "CCOC"]))

    def train(out, *extra):
        return _run(["encoder", "train", "--kind", "smiles", "--corpus", str(corpus), "--out", str(out), "--hidden-size", "8",
                     "--num-layers", "1", "--code-dim", "4", "--batch-size", "4", "--length-multiple", "16",
                     "--validation-fraction", "0.2", "--max-length", "12", "--min-count", "1", *extra])

    first, second = tmp_path / "first", tmp_path / "second"
    assert train(first, "--epochs", "1") == 0
    # the vocabulary comes from the weights (a larger --min-count would have dropped tokens)
    assert train(second, "--epochs", "2", "--max-steps", "2", "--min-count", "5", "--init-weights", str(first / "encoder.npz")) == 0
    assert json.loads((second / "vocabulary.json").read_text()) == json.loads((first / "vocabulary.json").read_text())
    assert "--min-count unused" in capsys.readouterr().err
    assert train(second, "--epochs", "2", "--min-count", "5", "--resume") == 0  # the checkpoint holds the start
    recipe = json.loads((second / "recipe.json").read_text())
    assert recipe["completed"] and len(recipe["commands"]) == 2
    assert recipe["init_weights"]["sha256"] == sha256_file(first / "encoder.npz")
    # continuing a run into its own directory would overwrite the weights it starts from
    capsys.readouterr()
    before = (first / "encoder.npz").read_bytes()
    assert train(first, "--epochs", "1", "--init-weights", str(first / "encoder.npz")) == 2  # never overwritten unasked
    err = capsys.readouterr().err
    assert f"argument --out: {first} holds a training run (checkpoint.npz, encoder.npz); give --resume" in err, err
    assert (first / "encoder.npz").read_bytes() == before
    assert train(first, "--epochs", "1", "--resume", "--init-weights", str(second / "encoder.npz")) == 2
    err = capsys.readouterr().err
    assert f"argument --init-weights: {first} started without --init-weights, and a resumed run continues from its " \
           "checkpoint" in err, err
    assert train(second, "--epochs", "2", "--max-steps", "2", "--resume", "--init-weights", str(first / "encoder.npz")) == 0


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
    assert printed[2].split()[1] == "1x8" and printed[2].split()[-1] == "0"
    assert printed[4] == "free-running by sequence length (tokens):" and len(printed) == 4 + 1 + 2 * (1 + 1)
    assert printed[6].strip().startswith("1-32: 2 sequences, token ")
    assert printed[6].endswith(" tokens on average") and ", right for the first " in printed[6]
    result = json.loads(table.read_text())
    assert [m["model"] for m in result["models"]] == [str(out / "checkpoint.npz"), str(out / "encoder.npz")]
    for entry in result["models"]:  # the run's own validation split and metrics, reproduced
        assert entry["sequences"] == 2 and entry["skipped"] == 0
        for key in ("loss", "token_accuracy", "sequence_accuracy", "greedy_token_accuracy", "greedy_sequence_accuracy"):
            assert entry[key] == pytest.approx(recipe["validation"][key], rel=1e-6), key
    assert float(printed[2].split()[4]) == pytest.approx(recipe["validation"]["token_accuracy"], abs=1e-4)

    # the run's training sequences instead: the other six, shuffled with the run's seed
    assert _run(["encoder", "evaluate", "--run", str(out), "--split", "training", "--greedy", "3", "--output", str(table)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "rna: 6 training sequences; free-running on the first 3"
    assert json.loads(table.read_text())["split"]["split"] == "training"
    _, training, _ = _encoder._run_split(out, "training")
    _, validation, _ = _encoder._run_split(out)
    assert sorted(training + validation) == sorted(RNA) and len(training) == 6
    assert training == _encoder._run_split(out, "training")[1]  # the same order every time
    assert training != [sequence for sequence in RNA if sequence in training]  # not the corpus order
    assert _run(["encoder", "evaluate", "--corpus", str(corpus), "--kind", "rna", "--split", "training",
                 "--weights", str(out / "encoder.npz")]) == 2
    assert "argument --split: only used with --run" in capsys.readouterr().err

    # a corpus instead of a run's split: every sequence, each model's own tokenizer decides what it can read
    assert _run(["encoder", "evaluate", "--corpus", str(corpus), "--kind", "rna", "--weights", str(out / "encoder.npz"),
                 "--greedy", "0"]) == 0
    assert capsys.readouterr().out.startswith(f"rna: {len(RNA)} validation sequences")
    assert _run(["encoder", "evaluate", "--corpus", str(corpus), "--weights", str(out / "encoder.npz")]) == 1
    assert "--corpus needs --kind" in capsys.readouterr().err
    for option in (["--kind", "smiles"], ["--limit", "3"], ["--seed", "4"]):
        assert _run(["encoder", "evaluate", "--run", str(out), *option]) == 2
        assert f"argument {option[0]}: only used with --corpus (a run brings its own)" in capsys.readouterr().err
    # sequences a model cannot read are named, and none at all is an error, not a row of NaN
    mixed = tmp_path / "mixed.txt"
    mixed.write_text(f"{RNA[0]}\nCCO\n")
    assert _run(["encoder", "evaluate", "--corpus", str(mixed), "--kind", "rna", "--weights", str(out / "encoder.npz"),
                 "--greedy", "0"]) == 0
    assert "1 of 2 sequences skipped, which its tokenizer cannot read (the first: " in capsys.readouterr().err
    smiles = tmp_path / "smiles.txt"
    smiles.write_text("CCO\nc1ccccc1\n")
    assert _run(["encoder", "evaluate", "--corpus", str(smiles), "--kind", "rna", "--weights", str(out / "encoder.npz")]) == 1
    err = capsys.readouterr().err
    assert "none of the 2 rna sequences can be encoded (the first: " in err and "'CCO'" in err, err


def test_batch_norm_modes_on_the_command_line(tmp_path, capsys):
    corpus = tmp_path / "rna.txt"
    corpus.write_text("\n".join(RNA) + "\n")
    base = ["encoder", "train", "--kind", "rna", "--corpus", str(corpus), "--hidden-size", "8", "--num-layers", "2",
            "--code-dim", "4", "--batch-size", "4", "--length-multiple", "32", "--validation-fraction", "0.25",
            "--max-length", "30", "--epochs", "1"]
    for given, mode in ((["--batch-norm"], "encoder"), (["--batch-norm", "both"], "both"), (["--batch-norm", "none"], "none")):
        out = tmp_path / mode
        assert _run(base + ["--out", str(out)] + given) == 0
        assert json.loads((out / "recipe.json").read_text())["model_config"]["batch_norm"] == mode
    assert _run(base + ["--out", str(tmp_path / "bi"), "--batch-norm", "--bidirectional"]) == 0
    assert json.loads((tmp_path / "bi" / "recipe.json").read_text())["model_config"]["bidirectional"] is True
    capsys.readouterr()
    assert _run(["encoder", "evaluate", "--run", str(tmp_path / "both"), "--weights", str(tmp_path / "encoder" / "encoder.npz"),
                 str(tmp_path / "bi" / "encoder.npz"), "--greedy", "0"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[1] == "size: +bn batch norm in the encoder, +bn2 in the decoder too, +bi a bidirectional encoder"
    assert [line.split()[1] for line in printed[3:]] == ["2x8+bn2", "2x8+bn", "2x8+bn+bi"]

    # a run begun when a bare --batch-norm meant both sides, resumed with its recorded command
    assert _run(base + ["--out", str(tmp_path / "both"), "--batch-norm", "--epochs", "2", "--resume"]) == 1
    err = capsys.readouterr().err
    assert "{'batch_norm': ('both', 'encoder')}" in err and "resume with --batch-norm both" in err

    # a transformer's weights are refused before any model is evaluated
    transformer = shipped_path("rna", "transformer")
    assert _run(["encoder", "evaluate", "--run", str(tmp_path / "none"), "--weights", str(transformer)]) == 1
    captured = capsys.readouterr()
    assert "an RNA transformer encoder; 'encoder evaluate' measures an LSTM" in captured.err and not captured.out


def test_augmentation_is_for_smiles(tmp_path, capsys):
    corpus = tmp_path / "rna.txt"
    corpus.write_text("\n".join(RNA) + "\n")
    assert _run(["encoder", "train", "--kind", "rna", "--corpus", str(corpus), "--out", str(tmp_path / "x"),
                 "--augment-smiles"]) == 2
    assert "argument --augment-smiles: applies to --kind smiles" in capsys.readouterr().err
    assert _run(["encoder", "train", "--kind", "rna", "--corpus", str(corpus), "--out", str(tmp_path / "x"),
                 "--schedule", "cosine", "--warmup-steps", "5", "--decay-steps", "5"]) == 2
    assert "argument --decay-steps: need warmup_steps >= 0 and decay_steps > warmup_steps" in capsys.readouterr().err
    for extra, message in [(["--min-count", "2"], "argument --min-count: applies to --kind smiles"),
                           (["--no-canonicalize"], "argument --no-canonicalize: applies to --kind smiles"),
                           (["--decay-steps", "10"], "argument --decay-steps: applies to --schedule cosine"),
                           (["--final-learning-rate", "1e-4"], "argument --final-learning-rate: applies to --schedule cosine"),
                           (["--schedule", "cosine", "--final-learning-rate", "0.5"],
                            "argument --final-learning-rate: final_learning_rate must be at most learning_rate 0.001 (a cosine decays), "
                            "got 0.5")]:
        assert _run(["encoder", "train", "--kind", "rna", "--corpus", str(corpus), "--out", str(tmp_path / "x"),
                     *extra]) == 2  # refused, not ignored
        assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_size_options_of_the_other_architecture_are_refused_not_ignored(tmp_path, capsys):
    corpus = tmp_path / "rna.txt"
    corpus.write_text("\n".join(RNA) + "\n")
    base = ["encoder", "train", "--kind", "rna", "--corpus", str(corpus), "--out", str(tmp_path / "x")]
    for extra, message in (
        (["--architecture", "transformer", "--hidden-size", "256"], "argument --hidden-size: applies to --architecture lstm"),
        (["--architecture", "transformer", "--batch-norm"], "argument --batch-norm: applies to --architecture lstm"),
        (["--architecture", "transformer", "--bidirectional"], "argument --bidirectional: applies to --architecture lstm"),
        (["--d-model", "32"], "argument --d-model: applies to --architecture transformer, not lstm"),
        (["--architecture", "transformer", "--d-model", "30"], "argument --d-model: must be a multiple of --num-heads (4), got 30"),
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


# ---------------------------------------------------------------- user mistakes: one-line errors, nothing left behind


def _usage_error(argv: list[str], capsys) -> str:
    """stderr of a command that argparse refuses (exit 2, before anything runs)."""
    with pytest.raises(SystemExit) as exited:
        _run(argv)
    assert exited.value.code == 2
    return capsys.readouterr().err


def test_a_binary_input_or_corpus_is_named_not_a_traceback(tmp_path, capsys):
    binary = tmp_path / "random.bin"
    binary.write_bytes(bytes(range(128, 256)) * 4)
    assert _run(["encoder", "encode", "--kind", "smiles", "--input", str(binary),
                 "--output", str(tmp_path / "x.npy")]) == 1
    assert f"{binary}: not UTF-8 text" in capsys.readouterr().err
    out = tmp_path / "run"
    assert _run(["encoder", "train", "--kind", "smiles", "--corpus", str(binary), "--out", str(out)]) == 1
    assert f"{binary}: not UTF-8 text" in capsys.readouterr().err
    broken = tmp_path / "broken.fa.gz"
    broken.write_bytes(b"not gzip at all")
    assert _run(["encoder", "train", "--kind", "rna", "--corpus", str(broken), "--out", str(out)]) == 1
    assert f"{broken}: not a readable gzip file" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "x.npy").exists()


@pytest.mark.parametrize("option, value, message", [
    ("--batch-size", "0", "must be an integer >= 1, got 0"),
    ("--validation-fraction", "1.5", "must be a number >= 0 and < 1, got 1.5"),
    ("--learning-rate", "-1", "must be a number > 0, got -1"),
    ("--final-learning-rate", "-0.1", "must be a number >= 0, got -0.1"),
    ("--max-minutes", "0", "must be a number > 0, got 0"),
    ("--max-length", "0", "must be an integer >= 1, got 0"),
    ("--train-max-length", "0", "must be an integer >= 1, got 0"),
    ("--epochs", "0", "must be an integer >= 1, got 0"),
    ("--max-steps", "0", "must be an integer >= 1, got 0"),
    ("--warmup-steps", "-1", "must be an integer >= 0, got -1"),
    ("--hidden-size", "0", "must be an integer >= 1, got 0"),
    ("--num-layers", "0", "must be an integer >= 1, got 0"),
    ("--code-dim", "0", "must be an integer >= 1, got 0"),
    ("--length-multiple", "0", "must be an integer >= 1, got 0"),
    ("--checkpoint-every", "-1", "must be an integer >= 0, got -1"),
    ("--limit", "0", "must be an integer >= 1, got 0"),
    ("--repeat", "0", "must be an integer >= 1, got 0"),
    ("--seed", "-1", "must be an integer >= 0, got -1"),
])
def test_train_refuses_out_of_range_numbers_up_front(tmp_path, capsys, option, value, message):
    out = tmp_path / "run"
    err = _usage_error(["encoder", "train", "--kind", "rna", "--corpus", str(tmp_path / "none.txt"), "--out", str(out),
                        option, value], capsys)
    assert f"argument {option}: {message}" in err
    assert not out.exists()


def test_train_refuses_a_training_length_beyond_the_maximum_up_front(tmp_path, capsys):
    base = ["encoder", "train", "--kind", "rna", "--corpus", str(tmp_path / "none.txt"), "--out", str(tmp_path / "x")]
    assert _run(base + ["--max-length", "20", "--train-max-length", "30"]) == 2
    assert "argument --train-max-length: cannot exceed --max-length (20), got 30" in capsys.readouterr().err


def test_a_corpus_too_small_to_train_is_named_and_leaves_no_directory(tmp_path, capsys):
    common = ["--kind", "smiles", "--max-steps", "1", "--hidden-size", "8", "--num-layers", "1", "--code-dim", "4"]
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    out = tmp_path / "new" / "run"  # parents made for the run go too
    assert _run(["encoder", "train", *common, "--corpus", str(empty), "--out", str(out)]) == 1
    assert f"{empty}: no sequences in the corpus" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()

    few = tmp_path / "few.txt"
    few.write_text("CCO\nCCO\nnotsmiles((\n")  # one distinct valid SMILES
    assert _run(["encoder", "train", *common, "--corpus", str(few), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"--corpus {few}: need at least two distinct valid sequences to train, got 1 (3 read, 1 invalid" in err
    assert not (tmp_path / "new").exists()

    kept = tmp_path / "kept"  # a directory that was there before is the user's: left as it was, with its files
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    assert _run(["encoder", "train", *common, "--corpus", str(few), "--out", str(kept)]) == 1
    assert (kept / "notes.txt").read_text() == "mine"


def test_encode_refuses_bad_options_before_any_work(tmp_path, capsys):
    sequences = tmp_path / "in.txt"
    sequences.write_text("ACGU\n")
    base = ["encoder", "encode", "--kind", "rna", "--input", str(sequences)]
    err = _usage_error(base + ["--output", str(tmp_path / "x.npy"), "--batch-size", "0"], capsys)
    assert "argument --batch-size: must be an integer >= 1, got 0" in err
    assert _run(base + ["--output", str(tmp_path / "x.xyz"), "--weights", str(tmp_path / "none.npz")]) == 2
    assert "argument --output: " in (err := capsys.readouterr().err) and "must end in .npy or .csv" in err
    assert not list(tmp_path.glob("x.*"))


def test_encode_keeps_rows_aligned_with_lines_and_names_the_line_of_a_mistake(tmp_path, capsys):
    sequences = tmp_path / "in.txt"
    output = tmp_path / "codes.npy"
    base = ["encoder", "encode", "--kind", "rna", "--input", str(sequences), "--output", str(output)]
    for text, message in [("ACGU\n\nGGGAAAUUUCCC\n", "in.txt line 2: blank"),
                          ("", "in.txt: no sequences"), ("\n\n", "in.txt: no sequences"),
                          ("ACGU\nGGCC\nACXU\n", "in.txt line 3: invalid RNA 'ACXU' at position 2")]:
        sequences.write_text(text)
        assert _run(base) == 1
        err = capsys.readouterr().err
        assert message in err and str(sequences) in err, err
        assert "header" not in err and not output.exists()
    sequences.write_text("mirna_id,sequence\nhsa-mir-21,UAGCUUAUCAGACUGAUGUUGA\n")
    assert _run(base) == 1
    assert "in.txt line 1: invalid RNA 'mirna_id,sequence'" in (err := capsys.readouterr().err) and "header" in err
    # the first field of each line; trailing blank lines end the file, they hold no row
    sequences.write_text("ACGU first\nGGGAAAUUUCCC\n\n  \n")
    assert _run(base) == 0
    assert np.load(output).shape == (2, 64)
