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
    SequenceAutoencoder,
    SmilesTokenizer,
    encode,
    load_pretrained,
    pretrained_path,
    pretrained_sha256,
    save_checkpoint,
)
from sesl_jax.provenance import environment

MOLECULES = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC"]


@pytest.fixture
def own_directory(tmp_path):
    """A directory holding a small, untrained SMILES encoder named as the shipped one."""
    tokenizer = SmilesTokenizer.fit(MOLECULES + ["CC(O)CCCCO"], max_length=60)
    model = SequenceAutoencoder(EncoderConfig(vocab_size=tokenizer.vocab_size, hidden_size=8, num_layers=1, code_dim=5),
                                rngs=nnx.Rngs(7))
    save_checkpoint(tmp_path / "smiles.npz", model, tokenizer)
    return tmp_path


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

    monkeypatch.setenv("SESL_JAX_ENCODERS", str(own_directory / "missing"))
    with pytest.raises(CheckpointError, match=r"\$SESL_JAX_ENCODERS=.*missing: no such directory"):
        load_pretrained("smiles")


def test_a_model_places_new_molecules_only_with_the_weights_it_was_fitted_with(own_directory, small_data_dir, monkeypatch):
    dataset = load_dataset("fcd", small_data_dir)
    monkeypatch.setenv("SESL_JAX_ENCODERS", str(own_directory))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the small dataset has a drug without SMILES, on purpose
        model = SESL("se", similarity="drug=sequence,mirna=biological", dtype="float64").fit(dataset)
    placed = model.rank_mirnas(smiles="CC(O)CCCCO")
    assert len(placed) == dataset.n_mirnas

    monkeypatch.delenv("SESL_JAX_ENCODERS")  # the shipped weights are in use again
    with pytest.raises(CheckpointError, match=r"set \$SESL_JAX_ENCODERS to the directory of the weights it was fitted with"):
        model.rank_mirnas(smiles="CC(O)CCCCO")
