"""The transformer encoder: masking, overfitting a handful of sequences, padding invariance,
checkpoints, training resume, deterministic codes of both architectures, and ``encoder=transformer``
through the similarity layer and the estimator."""

from __future__ import annotations

import json
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from sesl_jax.encoders import (
    ARCHITECTURES,
    CheckpointError,
    Encoder,
    EncoderConfig,
    RnaTokenizer,
    SequenceTransformer,
    TrainConfig,
    TransformerConfig,
    encode,
    evaluate,
    load_checkpoint,
    load_pretrained,
    mask_tokens,
    pretrained_path,
    read_header,
    save_checkpoint,
    train_encoder,
)
from sesl_jax.encoders._training import make_optimizer, train_step

SEQUENCES = ["ACGUACGU", "GGGAAAUUUCCC", "UGAGGUAGUAGGUUGUAUAGUU", "CUAUACAAUCUACUGUCUUUC", "AAAAACCCCC", "GUGUGUGAC"]


def _config(**changes) -> TransformerConfig:
    sizes = dict(vocab_size=8, d_model=32, num_heads=2, num_layers=2, ff_size=64, max_length=64, code_dim=8)
    return TransformerConfig(**{**sizes, **changes})


@pytest.mark.parametrize("changes, message", [
    ({"d_model": 8.0}, "TransformerConfig.d_model must be an integer >= 1, got 8.0"),  # else a JAX TypeError when built
    ({"num_heads": True}, "TransformerConfig.num_heads must be an integer >= 1, got True"),
    ({"max_length": "64"}, "TransformerConfig.max_length must be an integer >= 1, got '64'"),
])
def test_sizes_are_integers(changes, message):
    with pytest.raises(ValueError, match=message):
        _config(**changes)


def _model(seed: int = 0, **changes) -> SequenceTransformer:
    return SequenceTransformer(_config(**changes), rngs=nnx.Rngs(seed))


@nnx.jit
def _encode(model, ids, lengths):
    return model.encode(ids, lengths)


def test_architectures_and_similarity_encoders_agree():
    from sesl_jax.similarity import ENCODERS

    assert ARCHITECTURES == ENCODERS == ("lstm", "transformer")


def test_masking_is_bert_style_and_a_function_of_the_key():
    ids, lengths = RnaTokenizer(max_length=200).encode_batch(["ACGU" * 40] * 64, pad_to=176)
    ids, lengths = jnp.asarray(ids), jnp.asarray(lengths)
    key = jax.random.key(3)
    inputs, chosen = mask_tokens(key, ids, lengths, vocab_size=8, mask_id=8)
    again, chosen_again = mask_tokens(key, ids, lengths, vocab_size=8, mask_id=8)
    assert np.array_equal(inputs, again) and np.array_equal(chosen, chosen_again)
    assert not np.array_equal(inputs, mask_tokens(jax.random.key(4), ids, lengths, vocab_size=8, mask_id=8)[0])
    chosen, inputs, ids = np.asarray(chosen), np.asarray(inputs), np.asarray(ids)
    assert not chosen[:, 0].any() and not chosen[:, 161:].any()  # never <bos>, <eos> or padding
    assert np.array_equal(inputs[~chosen], ids[~chosen])  # only chosen tokens change
    assert abs(chosen[:, 1:161].mean() - 0.15) < 0.01
    share = lambda mask: mask[chosen].mean()  # noqa: E731
    assert abs(share(inputs == 8) - 0.8) < 0.03
    changed = (inputs != ids) & (inputs != 8)
    assert 0.05 < share(changed) < 0.12  # a random token (10 %, sometimes the same one again)
    assert inputs[changed].min() >= 4  # random tokens are ordinary ones, never special


def test_tiny_transformer_overfits_a_handful_of_sequences():
    tokenizer = RnaTokenizer()
    model = _model()
    optimizer = make_optimizer(model, TrainConfig(learning_rate=3e-3))
    ids, lengths = tokenizer.encode_batch(SEQUENCES, pad_to=32)
    for _ in range(300):
        train_step(model, optimizer, jnp.asarray(ids), jnp.asarray(lengths))
    assert int(model.masking_step[...]) == 300  # one fresh mask per step
    rows = [tokenizer.encode(sequence) for sequence in SEQUENCES]
    metrics = evaluate(model, rows, batch_size=8)
    assert metrics["token_accuracy"] > 0.95 and metrics["loss"] < 0.2
    assert metrics["code_token_accuracy"] > 0.5  # the bottleneck head learns through the code
    assert int(model.masking_step[...]) == 300  # evaluation masks do not advance the stream


def _numpy_codes(model: SequenceTransformer, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The slow, obvious reference of ``model.encode``: one sequence at a time, no padding at all."""
    value = lambda variable: np.asarray(variable[...], np.float64)  # noqa: E731

    def layer_norm(x, norm):
        centred = x - x.mean(-1, keepdims=True)
        return centred / np.sqrt((centred**2).mean(-1, keepdims=True) + 1e-6) * value(norm.scale) + value(norm.bias)

    def linear(x, dense):
        return x @ value(dense.kernel) + value(dense.bias)

    def gelu(x):  # tanh approximation, as jax.nn.gelu
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))

    codes = []
    for row, length in zip(ids, lengths):
        tokens = row[:length]
        x = value(model.token_embedding.embedding)[tokens] + value(model.position_embedding.embedding)[:length]
        for block in model.blocks:
            h = layer_norm(x, block.attention_norm)
            heads = model.config.num_heads
            split = lambda y: y.reshape(length, heads, -1).transpose(1, 0, 2)  # noqa: E731
            q, k, v = (split(linear(h, getattr(block.attention, name))) for name in ("query", "key", "value"))
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
            weights = np.exp(scores - scores.max(-1, keepdims=True))
            weights /= weights.sum(-1, keepdims=True)
            x = x + linear((weights @ v).transpose(1, 0, 2).reshape(length, -1), block.attention.out)
            x = x + linear(gelu(linear(layer_norm(x, block.feed_forward_norm), block.feed_forward_in)),
                           block.feed_forward_out)
        codes.append(linear(layer_norm(x, model.final_norm).mean(0), model.to_code))
    return np.asarray(codes)


def test_codes_match_a_numpy_reference():
    tokenizer = RnaTokenizer()
    model = _model(seed=2)
    model.eval()
    ids, lengths = tokenizer.encode_batch(SEQUENCES, pad_to=32)
    codes = np.asarray(_encode(model, jnp.asarray(ids), jnp.asarray(lengths)))
    np.testing.assert_allclose(codes, _numpy_codes(model, ids, lengths), rtol=1e-4, atol=1e-5)


def test_padding_does_not_change_the_code():
    tokenizer = RnaTokenizer()
    model = _model()
    model.eval()
    ids, lengths = tokenizer.encode_batch(SEQUENCES)
    padded, _ = tokenizer.encode_batch(SEQUENCES, pad_to=ids.shape[1] + 13)
    code = np.asarray(_encode(model, jnp.asarray(ids), jnp.asarray(lengths)))
    close = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # noqa: E731
    close(code, np.asarray(_encode(model, jnp.asarray(padded), jnp.asarray(lengths))))
    noisy = padded.copy()  # garbage after the end is ignored too, not only <pad>
    for row, length in enumerate(lengths):
        noisy[row, length:] = 4 + (np.arange(noisy.shape[1] - length) % 4)
    close(code, np.asarray(_encode(model, jnp.asarray(noisy), jnp.asarray(lengths))))
    alone = np.asarray(_encode(model, jnp.asarray(ids[2:3]), jnp.asarray(lengths[2:3])))
    close(alone[0], code[2])
    assert np.abs(code[0] - code[1]).max() > 1e-4
    # through encode(): bit for bit, whatever else is in the call (batches hold one width each)
    encoder = Encoder(model, RnaTokenizer(max_length=60), "rna")
    long_one = "ACGU" * 12
    together = encode(encoder, [SEQUENCES[0], long_one, SEQUENCES[3]], batch_size=4)
    assert np.array_equal(together[0], encode(encoder, [SEQUENCES[0]], batch_size=4)[0])
    assert np.array_equal(together[2], encode(encoder, [SEQUENCES[3], SEQUENCES[1]], batch_size=4)[0])


def test_checkpoint_round_trip(tmp_path):
    tokenizer = RnaTokenizer(max_length=40)
    model = _model(seed=1)
    optimizer = make_optimizer(model, TrainConfig())
    ids, lengths = tokenizer.encode_batch(SEQUENCES, pad_to=32)
    train_step(model, optimizer, jnp.asarray(ids), jnp.asarray(lengths))
    path = save_checkpoint(tmp_path / "t.npz", model, tokenizer, optimizer=optimizer, progress={"step": 1})
    header = read_header(path)
    assert header["architecture"] == "transformer" and header["model_config"] == model.config.to_dict()
    loaded = load_checkpoint(path, expected_kind="rna", expected_config=model.config, expected_tokenizer=tokenizer)
    assert isinstance(loaded.model, SequenceTransformer) and loaded.architecture == "transformer"
    for (name, first), (_, second) in zip(sorted(nnx.to_flat_state(nnx.state(model))),
                                         sorted(nnx.to_flat_state(nnx.state(loaded.model)))):
        assert np.array_equal(np.asarray(first[...]), np.asarray(second[...])), name
    model.eval()
    before = encode(Encoder(model, tokenizer, "rna"), SEQUENCES)
    assert np.array_equal(before, encode(Encoder.from_checkpoint(path, "rna"), SEQUENCES))
    with pytest.raises(CheckpointError, match="an RNA transformer encoder, expected an RNA LSTM encoder"):
        load_checkpoint(path, expected_config=EncoderConfig(vocab_size=8))
    header["architecture"] = "gru"
    with pytest.raises(ValueError, match="unknown encoder architecture 'gru'"):
        from sesl_jax.encoders._architectures import config_from_dict

        config_from_dict(header["architecture"], header["model_config"])


def test_resumed_training_matches_an_uninterrupted_run(tmp_path):
    tokenizer = RnaTokenizer(max_length=14)  # every batch 16 steps wide: one compiled shape
    corpus = ["ACGUACGU", "GGGAAAUUUCCC", "AAAAACCCCC", "GUGUGUGAC", "UUAGGCAC", "CCCCGGGGAAA", "GAGAGAGAUU",
              "ACACACGUGU", "UUUUCCCAAG", "GCGCAUAUAU"]
    config = _config(max_length=16, num_layers=1)
    train = TrainConfig(epochs=2, batch_size=4, learning_rate=3e-3, validation_fraction=0.2, length_multiple=16,
                        checkpoint_every=0, greedy_validation=0)
    whole = train_encoder(tokenizer, corpus, config, train, out_dir=tmp_path / "whole", progress=False)
    train_encoder(tokenizer, corpus, config, dataclass_replace(train, max_steps=3), out_dir=tmp_path / "split",
                  progress=False)
    resumed = train_encoder(tokenizer, corpus, config, train, out_dir=tmp_path / "split", resume=True, progress=False)
    assert resumed.steps == whole.steps and whole.completed
    for (name, first), (_, second) in zip(sorted(nnx.to_flat_state(nnx.state(whole.model))),
                                         sorted(nnx.to_flat_state(nnx.state(resumed.model)))):
        assert np.array_equal(np.asarray(first[...]), np.asarray(second[...])), name
    assert "code_token_accuracy" in whole.validation and "greedy_token_accuracy" not in whole.validation
    assert read_header(tmp_path / "whole" / "encoder.npz")["architecture"] == "transformer"


def dataclass_replace(config, **changes):
    import dataclasses

    return dataclasses.replace(config, **changes)


def test_lstm_checkpoints_without_an_architecture_still_load():
    for kind in ("smiles", "rna"):
        assert "architecture" not in read_header(pretrained_path(kind))  # written before the transformer
        assert load_pretrained(kind).architecture == "lstm" and pretrained_path(kind, "lstm") == pretrained_path(kind)
    with pytest.raises(ValueError, match="unknown encoder architecture 'bert'"):
        pretrained_path("rna", "bert")


SHIPPED = [(kind, architecture) for architecture in ARCHITECTURES for kind in ("smiles", "rna")]
DRUGS = ["CC(=O)Oc1ccccc1C(=O)O", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "O=C(O)CCCCC(=O)O"]
MIRNAS = ["UGAGGUAGUAGGUUGUAUAGUU", "UAGCUUAUCAGACUGAUGUUGA", "ACGUACGUACGUACGUACGUACGUACGUACGUACGU"]


@pytest.mark.parametrize("kind, architecture", SHIPPED)
def test_shipped_codes_are_deterministic(kind, architecture):
    sequences = DRUGS if kind == "smiles" else MIRNAS
    cached = load_pretrained(kind, architecture)
    assert cached.architecture == architecture and cached.code_dim == 64
    first = encode(cached, sequences)
    assert np.array_equal(first, encode(cached, sequences))
    fresh = [Encoder.from_checkpoint(pretrained_path(kind, architecture), kind) for _ in range(2)]
    assert all(np.array_equal(first, encode(encoder, sequences)) for encoder in fresh)
    assert np.array_equal(first[1], encode(cached, sequences[1:2])[0])  # alone = in company
    assert np.all(np.isfinite(first)) and np.abs(first[0] - first[1]).max() > 1e-3


@pytest.mark.parametrize("kind", ["smiles", "rna"])
def test_shipped_transformer_recipe_describes_its_file(kind):
    from sesl_jax._io import sha256_file

    path = pretrained_path(kind, "transformer")
    recipe = json.loads(path.with_suffix(".json").read_text())
    assert recipe["architecture"] == "transformer" and recipe["weights_sha256"] == sha256_file(path)
    assert path.stat().st_size < 2_000_000 and recipe["weights_bytes"] == path.stat().st_size
    assert 0.0 < recipe["validation"]["token_accuracy"] <= 1.0
    assert all("--architecture transformer" in command for command in recipe["commands"])


def test_transformer_codes_give_another_sequence_similarity(small_data_dir):
    from sesl_jax import SESL, load_dataset
    from sesl_jax.similarity import dataset_similarities

    dataset = load_dataset("fcd", small_data_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a drug without SMILES, on purpose
        lstm = dataset_similarities(dataset, "sequence")
        transformer = dataset_similarities(dataset, "sequence,encoder=transformer")
        model = SESL("sesl", similarity="sequence", encoder="transformer", dtype="float64").fit(dataset)
    assert lstm.source == "drug=sequence,mirna=sequence,map=gaussian,mirna_form=mature"
    assert transformer.source == "drug=sequence,mirna=sequence,map=gaussian,encoder=transformer,mirna_form=mature"
    assert not np.allclose(lstm.drug, transformer.drug) and not np.allclose(lstm.mirna, transformer.mirna)
    np.testing.assert_array_equal(model.similarities_.drug, transformer.drug)
    assert model.config_.encoder == "transformer" and model.config_.to_dict()["encoder"] == "transformer"
    assert "encoder" not in SESL("sesl", similarity="sequence", dtype="float64").method_config().to_dict()
    with pytest.raises(ValueError, match="encoder must be one of lstm, transformer; got 'bert'"):
        dataset_similarities(dataset, "sequence,encoder=bert")


def test_fit_with_the_transformer_saves_and_restores_the_encoder(small_data_dir, tmp_path, capsys):
    from sesl_jax import SESL
    from sesl_jax.cli import main

    out = tmp_path / "model"
    base = ["--dataset", "fcd", "--data-dir", str(small_data_dir), "--similarity", "sequence"]
    assert main(["fit", *base, "--encoder", "transformer", "--out", str(out)]) == 0, capsys.readouterr().err
    manifest = json.loads((out / "model.json").read_text())
    assert manifest["method_config"]["encoder"] == "transformer"
    assert manifest["placement"]["drug"]["encoder"] == "transformer"
    loaded = SESL.load(out)
    assert loaded.config_.encoder == "transformer" and loaded._placement("mirna").encoder == "transformer"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # far-item warnings of the tiny dataset
        from_disk = loaded.rank_mirnas(smiles="CC(O)CCCCO")
        fresh = SESL("sesl", similarity="sequence", encoder="transformer", dtype="float64")
        from sesl_jax import load_dataset

        fresh.fit(load_dataset("fcd", small_data_dir))
        assert from_disk.equals(fresh.rank_mirnas(smiles="CC(O)CCCCO"))
    capsys.readouterr()
    ranked = tmp_path / "ranked.csv"
    assert main(["rank", "--model", str(out), "--smiles", "CC(O)CCCCO", "--output", str(ranked)]) == 0
    assert len(ranked.read_text().splitlines()) == 4  # header + the 3 FCD miRNAs
    # a saved model keeps its encoder: asking for another one is refused
    assert main(["rank", "--model", str(out), "--encoder", "lstm", "--smiles", "CCO", "--output", str(ranked)]) == 1
    assert "--encoder: a saved model keeps the options it was fitted with" in capsys.readouterr().err


def test_encoder_train_and_encode_commands_take_the_transformer(tmp_path, capsys, monkeypatch):
    import argparse

    from sesl_jax.cli import _encoder
    from sesl_jax.cli._common import run_command

    def run(argv: list[str]) -> int:
        parser = argparse.ArgumentParser(prog="sesl-jax")
        _encoder.register(parser.add_subparsers(dest="command"))
        return run_command(parser.parse_args(argv))

    monkeypatch.delenv("SESL_JAX_DATA", raising=False)
    corpus = tmp_path / "rna.fa"
    corpus.write_text("".join(f">s{i}\n{sequence}\n" for i, sequence in enumerate(SEQUENCES + ["UUAGGCAC", "CCGGAAU"])))
    out = tmp_path / "run"
    assert run(["encoder", "train", "--architecture", "transformer", "--kind", "rna", "--corpus", str(corpus),
                "--out", str(out), "--d-model", "16", "--num-heads", "2", "--num-layers", "1", "--ff-size", "16",
                "--code-dim", "4", "--batch-size", "4", "--length-multiple", "32", "--max-length", "24",
                "--validation-fraction", "0.25", "--epochs", "1"]) == 0
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["architecture"] == "transformer" and recipe["model_config"]["max_length"] == 32
    assert "code_token_accuracy" in recipe["validation"]
    inputs, codes = tmp_path / "in.txt", tmp_path / "codes.npy"
    inputs.write_text("ACGU\nGGGAAAUUUCCC\n")
    assert run(["encoder", "encode", "--kind", "rna", "--weights", str(out / "encoder.npz"), "--input", str(inputs),
                "--output", str(codes)]) == 0
    assert np.load(codes).shape == (2, 4)
    capsys.readouterr()
    assert run(["encoder", "encode", "--kind", "rna", "--weights", str(out / "encoder.npz"), "--architecture", "lstm",
                "--input", str(inputs), "--output", str(tmp_path / "other.npy")]) == 2  # not ignored
    assert f"argument --architecture: {out / 'encoder.npz'} holds an RNA transformer encoder, not lstm" in \
        capsys.readouterr().err and not (tmp_path / "other.npy").exists()
    assert run(["encoder", "encode", "--kind", "rna", "--architecture", "transformer", "--input", str(inputs),
                "--output", str(codes)]) == 0
    assert np.array_equal(np.load(codes), encode(load_pretrained("rna", "transformer"), ["ACGU", "GGGAAAUUUCCC"]))
    capsys.readouterr()
    assert run(["encoder", "train", "--architecture", "transformer", "--kind", "rna", "--corpus", str(corpus),
                "--out", str(out), "--d-model", "30", "--num-heads", "4"]) == 2  # a usage error, before the corpus is read
    assert "argument --d-model: must be a multiple of --num-heads (4), got 30" in capsys.readouterr().err
