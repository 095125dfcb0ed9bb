"""Versioned encoder checkpoints: one ``.npz`` file, written atomically.

Layout (``numpy.savez``, uncompressed):

- ``__header__``: UTF-8 JSON as a uint8 array: ``format`` (``"sesl_jax.encoder"``),
  ``format_version``, ``architecture`` (``"lstm"`` or ``"transformer"``; files without it, written
  before the transformer existed, are ``"lstm"``), ``model_config`` (:class:`EncoderConfig` or
  :class:`TransformerConfig`), ``tokenizer`` (kind, vocabulary,
  options), ``arrays`` (name -> shape and dtype), ``arrays_sha256`` (digest of every array's
  bytes in name order), ``progress`` (epoch, step, ... for resuming) and free ``metadata``.
- ``model/<path>``: every variable of the model's ``nnx.state`` (parameters, batch-norm statistics,
  the transformer's masking key and step).
- ``optimizer/<path>``: the optimizer state, when saved for resuming training.

Loading checks all of it; anything that does not fit raises :class:`CheckpointError`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx

from sesl_jax._io import atomic_write_bytes
from sesl_jax.encoder_files import KINDS, an_encoder
from sesl_jax.encoders._architectures import (
    DEFAULT_ARCHITECTURE,
    Model,
    ModelConfig,
    architecture_of,
    build_model,
    config_from_dict,
)
from sesl_jax.encoders._config import check_instance
from sesl_jax.encoders._tokenizers import Tokenizer, tokenizer_from_config

FORMAT = "sesl_jax.encoder"
FORMAT_VERSION = 1
_HEADER = "__header__"


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupted, of another format or version, or not matching."""


@dataclasses.dataclass
class Checkpoint:
    """A loaded checkpoint: the model, its tokenizer, the header and the raw optimizer arrays."""

    model: Model
    tokenizer: Tokenizer
    header: dict[str, Any]
    optimizer_arrays: dict[str, np.ndarray]

    @property
    def config(self) -> ModelConfig:
        return self.model.config

    @property
    def architecture(self) -> str:
        return architecture_of(self.model)

    @property
    def progress(self) -> dict[str, Any]:
        return self.header.get("progress", {})

    @property
    def metadata(self) -> dict[str, Any]:
        return self.header.get("metadata", {})


def _flatten(state: Any) -> dict[str, np.ndarray]:
    """``{path: array}`` of a pytree of variables; the path is the pytree key string."""
    leaves = jax.tree_util.tree_flatten_with_path(state)[0]
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def _restore(template: Any, arrays: dict[str, np.ndarray], prefix: str, source: str) -> Any:
    """``template`` (a state pytree) with every leaf replaced by ``arrays[prefix + path]``."""
    paths_leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    expected = {prefix + jax.tree_util.keystr(path) for path, _ in paths_leaves}
    present = {name for name in arrays if name.startswith(prefix)}
    if expected != present:
        missing, extra = sorted(expected - present), sorted(present - expected)
        raise CheckpointError(
            f"{source}: the {prefix.rstrip('/')} arrays do not match the model "
            f"(missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected {extra[:5]}{'...' if len(extra) > 5 else ''})"
        )
    new_leaves = []
    for path, leaf in paths_leaves:
        name = prefix + jax.tree_util.keystr(path)
        array = arrays[name]
        leaf = np.asarray(leaf)
        if array.shape != leaf.shape or array.dtype != leaf.dtype:
            raise CheckpointError(
                f"{source}: {name} is {array.dtype}{list(array.shape)}, the model expects {leaf.dtype}{list(leaf.shape)}"
            )
        new_leaves.append(jax.numpy.asarray(array))
    return jax.tree_util.tree_unflatten(treedef, new_leaves)


def _digest(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(name.encode())
        digest.update(str(array.dtype).encode())
        digest.update(repr(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def save_checkpoint(
    path: str | os.PathLike,
    model: Model,
    tokenizer: Tokenizer,
    *,
    optimizer: nnx.Optimizer | None = None,
    progress: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write model (+ optimizer) to ``path`` atomically; returns the path.

    ``progress`` (JSON) records where training stands, ``metadata`` anything else (recipe, metrics).
    """
    if Path(path).is_dir():  # else the error would name the hidden temporary file beside it
        raise IsADirectoryError(f"{path} is a directory; a checkpoint is written to a file "
                                f"(e.g. {Path(path) / 'encoder.npz'})")
    if tokenizer.vocab_size != model.config.vocab_size:
        raise ValueError(f"tokenizer has {tokenizer.vocab_size} tokens, the model {model.config.vocab_size}")
    arrays = {f"model/{name}": array for name, array in _flatten(nnx.state(model)).items()}
    if optimizer is not None:
        arrays.update({f"optimizer/{name}": array for name, array in _flatten(nnx.state(optimizer)).items()})
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": architecture_of(model),
        "model_config": model.config.to_dict(),
        "tokenizer": tokenizer.config(),
        "arrays": {name: {"shape": list(array.shape), "dtype": str(array.dtype)} for name, array in sorted(arrays.items())},
        "arrays_sha256": _digest(arrays),
        "progress": progress or {},
        "metadata": metadata or {},
    }
    header_bytes = json.dumps(header, sort_keys=True).encode("utf-8")
    buffer = io.BytesIO()
    np.savez(buffer, **{_HEADER: np.frombuffer(header_bytes, dtype=np.uint8)}, **arrays)
    return atomic_write_bytes(path, buffer.getvalue())


def read_header(path: str | os.PathLike) -> dict[str, Any]:
    """The checked JSON header of a checkpoint, without building the model."""
    return _read(path)[0]


def _read(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    with open(path, "rb") as handle:
        if handle.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):  # else np.load reads it as a pickle, and says so
            raise CheckpointError(f"{path}: not an .npz archive (no zip signature); a checkpoint is the .npz that "
                                  "'sesl-jax encoder train' writes")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupted or truncated?): {error}") from error
    if _HEADER not in arrays:
        raise CheckpointError(f"{path}: no {_HEADER} entry; not a sesl_jax encoder checkpoint")
    try:
        header = json.loads(arrays.pop(_HEADER).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: unreadable header: {error}") from error
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: the header is a JSON {type(header).__name__}, not an object; "
                              "not a sesl_jax encoder checkpoint")
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: format {header.get('format')!r}, expected {FORMAT!r}")
    if header.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {header.get('format_version')!r}; this sesl_jax reads version {FORMAT_VERSION}"
        )
    listed = set(header.get("arrays", {}))
    if listed != set(arrays):
        raise CheckpointError(f"{path}: the arrays differ from those the header lists (corrupted?)")
    if _digest(arrays) != header.get("arrays_sha256"):
        raise CheckpointError(f"{path}: array checksum mismatch (corrupted checkpoint)")
    return header, arrays


def load_checkpoint(
    path: str | os.PathLike,
    *,
    expected_kind: str | None = None,
    expected_config: ModelConfig | None = None,
    expected_tokenizer: Tokenizer | None = None,
) -> Checkpoint:
    """Read and check a checkpoint written by :func:`save_checkpoint`.

    Args:
        path: the ``.npz`` file.
        expected_kind: ``"smiles"`` or ``"rna"`` to insist on.
        expected_config: insist on this architecture and these model sizes (e.g. when resuming).
        expected_tokenizer: insist on this tokenizer (vocabulary and options).

    Raises:
        CheckpointError: missing, corrupted, other format/version, or not matching what is expected.
    """
    if expected_kind is not None and expected_kind not in KINDS:
        raise ValueError(f"expected_kind must be one of {KINDS} or None, got {expected_kind!r}")
    if expected_config is not None:
        check_instance("expected_config", expected_config, ModelConfig, "an EncoderConfig, a TransformerConfig or None")
    if expected_tokenizer is not None:
        check_instance("expected_tokenizer", expected_tokenizer, Tokenizer, "a SmilesTokenizer, an RnaTokenizer or None")
    header, arrays = _read(path)
    try:
        architecture = header.get("architecture", DEFAULT_ARCHITECTURE)
        config = config_from_dict(architecture, header["model_config"])
        tokenizer = tokenizer_from_config(header["tokenizer"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: invalid model or tokenizer description: {error}") from error
    if expected_kind is not None and tokenizer.kind != expected_kind:
        raise CheckpointError(f"{path}: {an_encoder(tokenizer.kind)}, expected {an_encoder(expected_kind)}")
    if expected_config is not None and architecture != architecture_of(expected_config):
        raise CheckpointError(f"{path}: {an_encoder(tokenizer.kind, architecture)}, "
                              f"expected {an_encoder(tokenizer.kind, architecture_of(expected_config))}")
    if expected_config is not None and config != expected_config:
        differing = {
            key: (value, expected_config.to_dict()[key])
            for key, value in config.to_dict().items()
            if expected_config.to_dict()[key] != value
        }
        hint = ("; until 2026-12-04 a bare --batch-norm meant 'both' (the decoder too): resume with --batch-norm both"
                if differing.get("batch_norm") == ("both", "encoder") else "")
        raise CheckpointError(f"{path}: model configuration differs (checkpoint, expected): {differing}{hint}")
    if expected_tokenizer is not None and tokenizer != expected_tokenizer:
        differing = sorted(
            key for key in set(tokenizer.config()) | set(expected_tokenizer.config())
            if tokenizer.config().get(key) != expected_tokenizer.config().get(key)
        )
        raise CheckpointError(f"{path}: tokenizer differs from the expected one in {differing}")
    if tokenizer.vocab_size != config.vocab_size:
        raise CheckpointError(f"{path}: tokenizer has {tokenizer.vocab_size} tokens, the model {config.vocab_size}")
    model = build_model(config, nnx.Rngs(0))
    nnx.update(model, _restore(nnx.state(model), arrays, "model/", str(path)))
    optimizer_arrays = {name: array for name, array in arrays.items() if name.startswith("optimizer/")}
    return Checkpoint(model=model, tokenizer=tokenizer, header=header, optimizer_arrays=optimizer_arrays)


def restore_optimizer(optimizer: nnx.Optimizer, checkpoint: Checkpoint, source: str = "checkpoint") -> None:
    """Load the saved optimizer state of ``checkpoint`` into ``optimizer`` (same model and optax chain)."""
    if not checkpoint.optimizer_arrays:
        raise CheckpointError(f"{source}: holds no optimizer state (a weights-only file cannot be resumed)")
    nnx.update(optimizer, _restore(nnx.state(optimizer), checkpoint.optimizer_arrays, "optimizer/", source))
