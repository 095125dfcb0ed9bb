"""Encoders ready to use: the shipped pre-trained weights and ``encode``.

The weights live in ``sesl_jax/resources/encoders/``: ``{smiles,rna}.npz`` (LSTM auto-encoders)
and ``{smiles,rna}-transformer.npz`` (BERT-style transformers), each with a JSON recipe
(``<name>.json``: command, corpora and their SHA-256, sizes, epochs, seed, validation accuracy).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Sequence

import jax.numpy as jnp
import numpy as np
from flax import nnx

from sesl_jax import encoder_files
from sesl_jax.encoders._architectures import DEFAULT_ARCHITECTURE, Model, architecture_of
from sesl_jax.encoders._checkpoint import CheckpointError, load_checkpoint
from sesl_jax._values import check_integer
from sesl_jax.encoders._tokenizers import Tokenizer, check_sequences, pad_rows

KINDS = encoder_files.KINDS
# Codes are computed on batches padded to a fixed row count and to a multiple of this many
# steps, so a sequence's code never depends on what else is in the call.
_LENGTH_MULTIPLE = 16


@dataclasses.dataclass
class Encoder:
    """A trained encoder with its tokenizer.

    Attributes:
        model: the :class:`SequenceAutoencoder` or :class:`SequenceTransformer` (evaluation mode).
        tokenizer: the matching tokenizer.
        kind: ``"smiles"`` or ``"rna"``.
        metadata: the checkpoint's metadata (recipe, validation metrics).
    """

    model: Model
    tokenizer: Tokenizer
    kind: str
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def code_dim(self) -> int:
        return self.model.config.code_dim

    @property
    def architecture(self) -> str:
        """``"lstm"`` or ``"transformer"``."""
        return architecture_of(self.model)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, kind: str | None = None) -> "Encoder":
        checkpoint = load_checkpoint(path, expected_kind=kind)
        checkpoint.model.eval()
        return cls(checkpoint.model, checkpoint.tokenizer, checkpoint.tokenizer.kind, checkpoint.metadata)


def own_weights_directory() -> Path | None:
    """``$SESL_JAX_ENCODERS`` (resolved), a directory of encoder weights to use instead of the
    shipped ones, or ``None`` when unset; a CheckpointError when unusable (see
    :func:`sesl_jax.encoder_files.own_weights_directory`)."""
    directory, problem = encoder_files.own_weights_directory()
    if problem is not None:
        raise CheckpointError(problem)
    return directory


def shipped_path(kind: str, architecture: str = DEFAULT_ARCHITECTURE) -> Path:
    """Path of the weights of ``kind`` and ``architecture`` shipped with sesl_jax."""
    return Path(str(resources.files("sesl_jax") / "resources" / "encoders" / encoder_files.file_name(kind, architecture)))


def pretrained_path(kind: str, architecture: str = DEFAULT_ARCHITECTURE) -> Path:
    """Path of the weights of ``kind`` and ``architecture`` in use: the file of that name in
    ``$SESL_JAX_ENCODERS`` if there is one (e.g. a run's ``encoder.npz``, renamed), else the shipped one."""
    own = own_weights_directory()
    name = encoder_files.file_name(kind, architecture)
    if own is not None and (own / name).is_file():
        return own / name
    return shipped_path(kind, architecture)


def _file_key(path: Path) -> tuple[str, int, int, int]:
    """What identifies a file's current content for the caches: a file replaced in place is read again."""
    status = path.stat()
    return str(path.resolve()), status.st_ino, status.st_mtime_ns, status.st_size


def pretrained_sha256(kind: str, architecture: str = DEFAULT_ARCHITECTURE) -> str | None:
    """SHA-256 of the weights ``pretrained_path`` names (what their codes depend on); ``None`` if the
    file is missing."""
    path = pretrained_path(kind, architecture)
    return _file_sha256(_file_key(path)) if path.is_file() else None


@functools.lru_cache(maxsize=None)
def _file_sha256(key: tuple[str, int, int, int]) -> str:
    from sesl_jax._io import sha256_file

    return sha256_file(key[0])


@functools.lru_cache(maxsize=None)
def _load_cached(key: tuple[str, int, int, int], kind: str, architecture: str, named: Path) -> Encoder:
    """The encoder of the file ``key`` identifies; ``named``: the path it was asked for (a link in
    ``$SESL_JAX_ENCODERS`` is named, not what it points to)."""
    own = own_weights_directory()
    own_file = own is not None and named.parent == own
    try:
        encoder = Encoder.from_checkpoint(key[0], kind)
    except CheckpointError as error:
        raise CheckpointError(f"{error} (from ${encoder_files.ENCODERS_VARIABLE})" if own_file else error) from None
    if encoder.architecture != architecture:
        hint = (f"; in ${encoder_files.ENCODERS_VARIABLE} it would be named "
                f"{encoder_files.file_name(kind, encoder.architecture)}" if own_file else "")
        raise CheckpointError(f"{named}: {encoder_files.an_encoder(kind, encoder.architecture)}, "
                              f"expected {encoder_files.an_encoder(kind, architecture)}{hint}")
    return encoder


def load_pretrained(kind: Literal["smiles", "rna"], architecture: Literal["lstm", "transformer"] = DEFAULT_ARCHITECTURE) -> Encoder:
    """The encoder of ``kind`` and ``architecture``: the shipped weights, or those of ``$SESL_JAX_ENCODERS``
    (see :func:`pretrained_path`); loaded once per process per file; treat it as read-only."""
    path = pretrained_path(kind, architecture)
    if not path.is_file():
        raise CheckpointError(f"the shipped {encoder_files.encoder_label(kind, architecture)} is missing ({path}); "
                              "reinstall sesl_jax or retrain it")
    return _load_cached(_file_key(path), kind, architecture, path)


@nnx.jit
def _encode_batch(model: Model, ids, lengths):
    return model.encode(ids, lengths)


def encode(encoder: Encoder, sequences: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """Codes (n, code_dim), float64, of ``sequences``; deterministic.

    Every sequence is validated first (a :class:`SequenceError` names the sequence and position).
    For a given ``batch_size``, a code does not depend on the other sequences of the call or
    their order: each batch is padded to ``batch_size`` rows and a multiple of 16 steps, and
    padding never changes a code. (Another ``batch_size`` may change codes in the last bits, as
    the matrix products change shape.) The LSTM's steps do not depend on the batch width; the
    transformer's sums over steps do, in the last bits, so its batches only hold sequences of
    one width (one multiple of 16), which fixes the shape each sequence is encoded in.
    """
    if not isinstance(encoder, Encoder):
        raise TypeError(f"encode takes an Encoder (load_pretrained(kind)), got {type(encoder).__name__}")
    check_sequences(sequences, "encode")
    check_integer("batch_size", batch_size, 1)
    rows = [encoder.tokenizer.encode(sequence) for sequence in sequences]
    codes = np.zeros((len(rows), encoder.code_dim), dtype=np.float64)
    if not rows:
        return codes
    encoder.model.eval()
    order = np.argsort([len(row) for row in rows], kind="stable")
    for chosen in _batches(order, [len(row) for row in rows], batch_size, by_width=encoder.architecture != "lstm"):
        width = _width(max(len(rows[i]) for i in chosen))
        ids, lengths = pad_rows([rows[i] for i in chosen], pad_to=width)
        filler = batch_size - len(chosen)
        if filler:
            ids = np.concatenate([ids, np.zeros((filler, width), np.int32)])
            lengths = np.concatenate([lengths, np.ones(filler, np.int32)])
        batch_codes = _encode_batch(encoder.model, jnp.asarray(ids), jnp.asarray(lengths))
        codes[chosen] = np.asarray(batch_codes, dtype=np.float64)[: len(chosen)]
    return codes


def _width(length: int) -> int:
    return int(math.ceil(length / _LENGTH_MULTIPLE) * _LENGTH_MULTIPLE)


def _batches(order: np.ndarray, lengths: Sequence[int], batch_size: int, by_width: bool) -> list[np.ndarray]:
    """Consecutive runs of ``order`` (sorted by length) of at most ``batch_size``, split where the width changes when ``by_width``."""
    groups = [order]
    if by_width:
        widths = np.asarray([_width(lengths[i]) for i in order])
        groups = np.split(order, np.flatnonzero(np.diff(widths)) + 1)
    return [group[start : start + batch_size] for group in groups for start in range(0, len(group), batch_size)]
