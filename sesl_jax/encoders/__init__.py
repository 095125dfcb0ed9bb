"""Sequence encoders (SPEC step 1): LSTM auto-encoders, or BERT-style transformers, that turn SMILES
and RNA into 64-d codes.

Typical use::

    from sesl_jax.encoders import load_pretrained, encode
    codes = encode(load_pretrained("smiles"), ["CC(=O)Oc1ccccc1C(=O)O"])  # (1, 64) float64
    codes = encode(load_pretrained("smiles", "transformer"), ["CC(=O)Oc1ccccc1C(=O)O"])

Distances and similarities between codes are in :mod:`sesl_jax.similarity`.
"""

from sesl_jax.encoders._architectures import ARCHITECTURES, architecture_of, build_model
from sesl_jax.encoders._checkpoint import Checkpoint, CheckpointError, load_checkpoint, read_header, save_checkpoint
from sesl_jax.encoders._corpora import read_corpus, read_fasta, read_rna_corpus, read_smiles_corpus
from sesl_jax.encoders._model import EncoderConfig, SequenceAutoencoder, greedy_decode, sequence_loss
from sesl_jax.encoders._pretrained import Encoder, encode, load_pretrained, pretrained_path, pretrained_sha256, shipped_path
from sesl_jax.encoders._tokenizers import (
    SPECIAL_TOKENS,
    RnaTokenizer,
    SequenceError,
    SmilesTokenizer,
    tokenizer_from_config,
)
from sesl_jax.encoders._training import TrainConfig, TrainResult, evaluate, train_encoder
from sesl_jax.encoders._transformer import SequenceTransformer, TransformerConfig, mask_tokens, masked_token_loss

__all__ = [
    "ARCHITECTURES",
    "Checkpoint",
    "CheckpointError",
    "Encoder",
    "EncoderConfig",
    "RnaTokenizer",
    "SPECIAL_TOKENS",
    "SequenceAutoencoder",
    "SequenceError",
    "SequenceTransformer",
    "SmilesTokenizer",
    "TrainConfig",
    "TrainResult",
    "TransformerConfig",
    "architecture_of",
    "build_model",
    "encode",
    "evaluate",
    "greedy_decode",
    "load_checkpoint",
    "load_pretrained",
    "mask_tokens",
    "masked_token_loss",
    "pretrained_path",
    "pretrained_sha256",
    "shipped_path",
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
