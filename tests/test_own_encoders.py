"""Encoder weights of one's own (``$SESL_JAX_ENCODERS``) used wherever the shipped ones are."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from flax import nnx

from sesl_jax import SESL, load_dataset
from sesl_jax._io import sha256_file
from sesl_jax.encoders import (
    CheckpointError,
    Encoder,
    EncoderConfig,
    RnaTokenizer,
    SequenceAutoencoder,
    SequenceTransformer,
    SmilesTokenizer,
    TransformerConfig,
    encode,
    load_pretrained,
    pretrained_path,
    pretrained_sha256,
    save_checkpoint,
)
from sesl_jax.provenance import environment

MOLECULES = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC"]


def _small_encoder(path, code_dim: int = 5) -> None:
    """A small, untrained SMILES encoder at ``path``."""
    tokenizer = SmilesTokenizer.fit(MOLECULES + ["CC(O)CCCCO"], max_length=60)
    model = SequenceAutoencoder(EncoderConfig(vocab_size=tokenizer.vocab_size, hidden_size=8, num_layers=1, code_dim=code_dim),
                                rngs=nnx.Rngs(7))
    save_checkpoint(path, model, tokenizer)


@pytest.fixture
def own_directory(tmp_path):
    """A directory holding a small SMILES encoder named as the shipped one."""
    _small_encoder(tmp_path / "own" / "smiles.npz")
    return tmp_path / "own"


def test_own_weights_replace_the_shipped_ones_of_their_name(own_directory, monkeypatch):
    shipped_smiles, shipped_rna = pretrained_path("smiles"), pretrained_path("rna")
    shipped_codes = encode(load_pretrained("smiles"), MOLECULES)
    monkeypatch.setenv("SESL_JAX_ENCODERS", str(own_directory))
    own = own_directory / "smiles.npz"
    assert pretrained_path("smiles") == own and pretrained_path("rna") == shipped_rna  # no rna.npz there
    codes = encode(load_pretrained("smiles"), MOLECULES)
    assert codes.shape == (4, 5)
    np.testing.assert_array_equal(codes, encode(Encoder.from_checkpoint(own, "smiles"), MOLECULES))
    recorded = environment()
    assert recorded["encoder_weights"]["smiles.npz"] == pretrained_sha256("smiles") == sha256_file(own)
    assert recorded["encoder_weights"]["rna.npz"] == sha256_file(shipped_rna)
    assert recorded["encoder_directory"] == str(own_directory)

    monkeypatch.delenv("SESL_JAX_ENCODERS")  # nothing cached under the other setting
    assert pretrained_path("smiles") == shipped_smiles and pretrained_sha256("smiles") == sha256_file(shipped_smiles)
    np.testing.assert_array_equal(encode(load_pretrained("smiles"), MOLECULES), shipped_codes)

    # a file replaced in place is read again, its digest too
    monkeypatch.setenv("SESL_JAX_ENCODERS", str(own_directory))
    assert load_pretrained("smiles").code_dim == 5
    _small_encoder(own, code_dim=6)
    assert load_pretrained("smiles").code_dim == 6 and pretrained_sha256("smiles") == sha256_file(own)

    # what would silently fall back to the shipped weights is refused instead
    for setting, message in ((own_directory / "missing", "missing: no such directory"),
                             (own, "smiles.npz: not a directory")):
        monkeypatch.setenv("SESL_JAX_ENCODERS", str(setting))
        with pytest.raises(CheckpointError, match=message):
            load_pretrained("smiles")
    monkeypatch.setenv("SESL_JAX_ENCODERS", str(own_directory))
    (own_directory / "encoder.npz").write_bytes(own.read_bytes())  # a run's file, not renamed
    with pytest.raises(CheckpointError, match="encoder.npz: not an encoder file name"):
        load_pretrained("rna")
    (own_directory / "encoder.npz").unlink()
    transformer = SequenceTransformer(TransformerConfig(vocab_size=RnaTokenizer().vocab_size, d_model=8, num_heads=2,
                                                        num_layers=1, ff_size=16, max_length=32, code_dim=4),
                                      rngs=nnx.Rngs(0))
    save_checkpoint(own_directory.parent / "run.npz", transformer, RnaTokenizer())
    (own_directory / "rna.npz").symlink_to(own_directory.parent / "run.npz")  # a transformer under the LSTM's name
    with pytest.raises(CheckpointError, match=r"an RNA transformer encoder, expected an RNA LSTM encoder; in "
                                              r"\$SESL_JAX_ENCODERS it would be named rna-transformer.npz"):
        load_pretrained("rna")
    (own_directory / "rna.npz").unlink()
    (own_directory / "rna.npz").symlink_to(own_directory / "nowhere")
    with pytest.raises(CheckpointError, match="rna.npz is not a readable file"):
        pretrained_path("smiles")


def test_an_unusable_directory_stops_a_command_before_it_runs(tmp_path, monkeypatch, capsys):
    from sesl_jax.cli import main

    (tmp_path / "codes.txt").write_text("CCO\n")
    monkeypatch.setenv("SESL_JAX_ENCODERS", str(tmp_path / "typo"))
    assert main(["encoder", "encode", "--kind", "smiles", "--input", str(tmp_path / "codes.txt"),
                 "--output", str(tmp_path / "codes.npy")]) == 1
    assert "$SESL_JAX_ENCODERS=" in capsys.readouterr().err and not (tmp_path / "codes.npy").exists()


def test_a_model_places_new_molecules_only_with_the_weights_it_was_fitted_with(own_directory, small_data_dir, monkeypatch,
                                                                              tmp_path):
    dataset = load_dataset("fcd", small_data_dir)
    own = own_directory / "smiles.npz"

    def fitted():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the small dataset has a drug without SMILES, on purpose
            return SESL("se", similarity="drug=sequence,mirna=biological", dtype="float64").fit(dataset)

    refused = r"set \$SESL_JAX_ENCODERS to the directory of the weights it was fitted with"
    # fitted with one's own weights, asked to place a molecule after switching back: refused,
    # also when nothing had been placed before the switch
    monkeypatch.setenv("SESL_JAX_ENCODERS", str(own_directory))
    late = fitted()
    monkeypatch.delenv("SESL_JAX_ENCODERS")
    with pytest.raises(CheckpointError, match=refused):
        late.rank_mirnas(smiles="CC(O)CCCCO")

    monkeypatch.setenv("SESL_JAX_ENCODERS", str(own_directory))
    model = fitted()
    assert len(model.rank_mirnas(smiles="CC(O)CCCCO")) == dataset.n_mirnas
    assert model.placement_["drug"].encoder_sha256 == sha256_file(own)
    model.save(tmp_path / "model")
    loaded = SESL.load(tmp_path / "model")
    assert len(loaded.rank_mirnas(smiles="CCO")) == dataset.n_mirnas
    monkeypatch.delenv("SESL_JAX_ENCODERS")  # the shipped weights are in use again
    for fitted_model in (model, loaded):
        with pytest.raises(CheckpointError, match=refused):
            fitted_model.rank_mirnas(smiles="CC(O)CCCCO")


def test_a_run_is_not_resumed_with_other_encoder_weights(own_directory, small_data_dir, tmp_path, monkeypatch, capsys):
    from sesl_jax.cli import main

    argv = ["cv", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--method", "se", "--similarity",
            "drug=sequence,mirna=biological", "--protocol", "kfold", "--k", "2", "--repeats", "1", "--dtype", "float64",
            "--out", str(tmp_path / "run"), "--quiet"]
    monkeypatch.setenv("SESL_JAX_ENCODERS", str(own_directory))
    assert main(argv) == 0
    monkeypatch.delenv("SESL_JAX_ENCODERS")
    capsys.readouterr()
    assert main(argv) == 1
    assert "other encoder weights ($SESL_JAX_ENCODERS)" in capsys.readouterr().err
