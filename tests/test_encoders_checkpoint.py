"""Checkpoints: bit-exact round trip, clear errors, resume == uninterrupted, same seed == same weights."""

from __future__ import annotations

import json
import zipfile

import jax
import numpy as np
import pytest
from flax import nnx

from sesl_jax.encoders import (
    CheckpointError,
    EncoderConfig,
    RnaTokenizer,
    SequenceAutoencoder,
    SmilesTokenizer,
    TrainConfig,
    load_checkpoint,
    read_header,
    save_checkpoint,
    train_encoder,
)
from sesl_jax.encoders._training import make_optimizer

CORPUS = [
    "ACGUACGU", "GGGAAAUUUCCC", "UGAGGUAGUAGGUUGUAUAGUU", "CUAUACAAUCUACUGUCUUUC", "AAAAACCCCC", "GUGUGUGAC",
    "UUUUGGA", "CAGUCAGUCAGU", "ACACACGGU", "UUAGCUUAGC", "GGCCAAUU", "AUAUAUCGCG", "CCCUUUGGGAAA", "AGCUAGCUAGCU",
]
TINY = TrainConfig(epochs=2, batch_size=4, learning_rate=5e-3, validation_fraction=0.2, seed=3, length_multiple=32,
                   checkpoint_every=2, greedy_validation=0)


def _config(tokenizer, **changes) -> EncoderConfig:
    return EncoderConfig(**{"vocab_size": tokenizer.vocab_size, "hidden_size": 8, "num_layers": 1, "code_dim": 4, **changes})


def _weights(model) -> dict[str, np.ndarray]:
    return {jax.tree_util.keystr(p): np.asarray(v) for p, v in jax.tree_util.tree_flatten_with_path(nnx.state(model))[0]}


def _assert_same_weights(first, second):
    a, b = _weights(first), _weights(second)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.mark.parametrize("batch_norm, bidirectional", [("none", False), ("encoder", False), ("both", False),
                                                      ("encoder", True), ("both", True)])
def test_round_trip_is_bit_exact(tmp_path, batch_norm, bidirectional):
    tokenizer = SmilesTokenizer.fit(["CCO", "c1ccccc1", "CC(=O)N"])
    model = SequenceAutoencoder(_config(tokenizer, batch_norm=batch_norm, num_layers=2, bidirectional=bidirectional),
                                rngs=nnx.Rngs(7))
    path = save_checkpoint(tmp_path / "m.npz", model, tokenizer, metadata={"note": "x"})
    loaded = load_checkpoint(path, expected_kind="smiles")
    _assert_same_weights(model, loaded.model)
    assert loaded.tokenizer == tokenizer and loaded.config == model.config and loaded.metadata == {"note": "x"}
    header = read_header(path)
    assert header["format"] == "sesl_jax.encoder" and header["format_version"] == 1


def test_optimizer_state_round_trip(tmp_path):
    tokenizer = RnaTokenizer()
    model = SequenceAutoencoder(_config(tokenizer), rngs=nnx.Rngs(0))
    optimizer = make_optimizer(model, TINY)
    ids, lengths = tokenizer.encode_batch(CORPUS[:4], pad_to=32)
    from sesl_jax.encoders._training import train_step

    train_step(model, optimizer, ids, lengths)
    path = save_checkpoint(tmp_path / "c.npz", model, tokenizer, optimizer=optimizer, progress={"step": 1})
    loaded = load_checkpoint(path)
    fresh = make_optimizer(loaded.model, TINY)
    from sesl_jax.encoders._checkpoint import restore_optimizer

    restore_optimizer(fresh, loaded)
    for (pa, a), (pb, b) in zip(*(jax.tree_util.tree_flatten_with_path(nnx.state(o))[0] for o in (optimizer, fresh))):
        assert pa == pb
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert loaded.progress == {"step": 1}


def test_corrupted_truncated_and_foreign_files(tmp_path):
    tokenizer = RnaTokenizer()
    model = SequenceAutoencoder(_config(tokenizer), rngs=nnx.Rngs(0))
    path = save_checkpoint(tmp_path / "m.npz", model, tokenizer)
    data = path.read_bytes()

    (tmp_path / "text.npz").write_text("id,smiles\n")  # not the pickle hint np.load gives, which invites unpickling
    with pytest.raises(CheckpointError, match=r"text\.npz: not an \.npz archive \(no zip signature\)"):
        load_checkpoint(tmp_path / "text.npz")

    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load_checkpoint(tmp_path / "truncated.npz")

    # flip bytes inside a stored array: the zip CRC or the array checksum catches it
    flipped = bytearray(data)
    middle = len(flipped) // 2
    flipped[middle : middle + 8] = bytes(255 - b for b in flipped[middle : middle + 8])
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "flipped.npz")

    # a valid archive whose weights were edited without updating the header
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    name = next(n for n in arrays if n.startswith("model/"))
    arrays[name] = arrays[name] + 1.0
    np.savez(tmp_path / "edited.npz", **arrays)
    with pytest.raises(CheckpointError, match="checksum"):
        load_checkpoint(tmp_path / "edited.npz")

    np.savez(tmp_path / "foreign.npz", weights=np.zeros(3))
    with pytest.raises(CheckpointError, match="not a sesl_jax encoder checkpoint"):
        load_checkpoint(tmp_path / "foreign.npz")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.npz")


def test_version_kind_and_configuration_mismatch(tmp_path):
    tokenizer = RnaTokenizer()
    model = SequenceAutoencoder(_config(tokenizer), rngs=nnx.Rngs(0))
    path = save_checkpoint(tmp_path / "m.npz", model, tokenizer)
    with pytest.raises(CheckpointError, match="an RNA encoder, expected a SMILES encoder"):
        load_checkpoint(path, expected_kind="smiles")
    with pytest.raises(CheckpointError, match="hidden_size"):
        load_checkpoint(path, expected_config=_config(tokenizer, hidden_size=16))
    with pytest.raises(CheckpointError, match="max_length"):
        load_checkpoint(path, expected_tokenizer=RnaTokenizer(max_length=99))

    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays["__header__"].tobytes())
    header["format_version"] = 99
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(tmp_path / "future.npz", **arrays)
    with pytest.raises(CheckpointError, match="format version 99"):
        load_checkpoint(tmp_path / "future.npz")

    # arrays that do not fit the declared configuration
    header["format_version"] = 1
    header["model_config"]["hidden_size"] = 16
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(tmp_path / "wrong_shapes.npz", **arrays)
    with pytest.raises(CheckpointError, match="the model expects"):
        load_checkpoint(tmp_path / "wrong_shapes.npz")
    assert zipfile.is_zipfile(tmp_path / "wrong_shapes.npz")


def test_arguments_and_headers_of_the_wrong_kind_are_named(tmp_path):
    tokenizer = RnaTokenizer()
    model = SequenceAutoencoder(_config(tokenizer), rngs=nnx.Rngs(0))
    # the user's path, not the hidden temporary file written beside it
    with pytest.raises(IsADirectoryError, match=f"^{tmp_path} is a directory; a checkpoint is written to a file"):
        save_checkpoint(tmp_path, model, tokenizer)
    path = save_checkpoint(tmp_path / "m.npz", model, tokenizer)
    with pytest.raises(ValueError, match=r"expected_kind must be one of \('smiles', 'rna'\) or None, got 'RNA'"):
        load_checkpoint(path, expected_kind="RNA")  # not "an RNA encoder, expected a RNA encoder"
    with pytest.raises(TypeError, match="expected_tokenizer must be a SmilesTokenizer, an RnaTokenizer or None, got str"):
        load_checkpoint(path, expected_tokenizer="rna")
    with pytest.raises(TypeError, match="expected_config must be an EncoderConfig, a TransformerConfig or None, got dict"):
        load_checkpoint(path, expected_config={"vocab_size": 8})

    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays["__header__"].tobytes())
    header["model_config"]["hidden_size"] = 8.0  # a size that is not an integer: a JAX TypeError when built
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(tmp_path / "float.npz", **arrays)
    with pytest.raises(CheckpointError, match=r"float\.npz: invalid model or tokenizer description: "
                                              r"EncoderConfig\.hidden_size must be an integer >= 1, got 8\.0"):
        load_checkpoint(tmp_path / "float.npz")
    arrays["__header__"] = np.frombuffer(json.dumps([1, 2]).encode(), dtype=np.uint8)
    np.savez(tmp_path / "list.npz", **arrays)
    with pytest.raises(CheckpointError, match=r"list\.npz: the header is a JSON list, not an object"):
        load_checkpoint(tmp_path / "list.npz")


def test_same_seed_same_weights_and_resume_matches_uninterrupted(tmp_path):
    tokenizer = RnaTokenizer()
    config = _config(tokenizer)
    straight = train_encoder(tokenizer, CORPUS, config, TINY, out_dir=tmp_path / "a")
    again = train_encoder(tokenizer, CORPUS, config, TINY)
    _assert_same_weights(straight.model, again.model)
    assert straight.history[-1]["train_loss"] == again.history[-1]["train_loss"]

    # stop after 3 steps (inside epoch 1), then resume to the end
    stopped = train_encoder(tokenizer, CORPUS, config, TrainConfig(**{**TINY.to_dict(), "max_steps": 3}), out_dir=tmp_path / "b")
    assert not stopped.completed and stopped.steps == 3
    resumed = train_encoder(tokenizer, CORPUS, config, TINY, out_dir=tmp_path / "b", resume=True)
    assert resumed.completed and resumed.steps == straight.steps
    _assert_same_weights(straight.model, resumed.model)
    final = load_checkpoint(tmp_path / "b" / "encoder.npz")
    _assert_same_weights(straight.model, final.model)

    with pytest.raises(CheckpointError, match="another corpus"):
        train_encoder(tokenizer, CORPUS[:-1], config, TINY, out_dir=tmp_path / "b", resume=True)
    with pytest.raises(CheckpointError, match="learning_rate"):
        train_encoder(tokenizer, CORPUS, config, TrainConfig(**{**TINY.to_dict(), "learning_rate": 1e-3}),
                      out_dir=tmp_path / "b", resume=True)
    with pytest.raises(CheckpointError, match="hidden_size"):
        train_encoder(tokenizer, CORPUS, _config(tokenizer, hidden_size=4), TINY, out_dir=tmp_path / "b", resume=True)
