"""Sequence encoders (SPEC step 1): LSTM auto-encoders that turn SMILES and RNA into 64-d codes.

Typical use::

    from sesl_jax.encoders import load_pretrained, encode
    codes = encode(load_pretrained("smiles"), ["CC(=O)Oc1ccccc1C(=O)O"])  # (1, 64) float64

Distances and similarities between codes are in :mod:`sesl_jax.similarity`.
"""

from sesl_jax.encoders._checkpoint import Checkpoint, CheckpointError, load_checkpoint, read_header, save_checkpoint
from sesl_jax.encoders._corpora import read_corpus, read_fasta, read_rna_corpus, read_smiles_corpus
from sesl_jax.encoders._model import EncoderConfig, SequenceAutoencoder, greedy_decode, sequence_loss
from sesl_jax.encoders._pretrained import Encoder, encode, load_pretrained, pretrained_path
from sesl_jax.encoders._tokenizers import (
    SPECIAL_TOKENS,
    RnaTokenizer,
    SequenceError,
    SmilesTokenizer,
    tokenizer_from_config,
)
from sesl_jax.encoders._training import TrainConfig, TrainResult, evaluate, train_encoder

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "Encoder",
    "EncoderConfig",
    "RnaTokenizer",
    "SPECIAL_TOKENS",
    "SequenceAutoencoder",
    "SequenceError",
    "SmilesTokenizer",
    "TrainConfig",
    "TrainResult",
    "encode",
    "evaluate",
    "greedy_decode",
    "load_checkpoint",
    "load_pretrained",
    "pretrained_path",
    "read_corpus",
    "read_fasta",
    "read_header",
    "read_rna_corpus",
    "read_smiles_corpus",
    "save_checkpoint",
    "sequence_loss",
    "tokenizer_from_config",
    "train_encoder",
]
