"""Saved models: a fitted ``SESL`` as a directory of JSON and NumPy arrays (no pickle).

Layout (format version 1)::

    DIR/model.json   format name and version; the MethodConfig and builder options; the similarity
                     source; drug and miRNA IDs; the dataset's name, source and file checksums;
                     solver status; what placing a new item needs besides arrays (terms, code
                     scale, encoder checksum, miRNA sequences); SHA-256, size and array shapes of
                     arrays.npz; versions.
    DIR/arrays.npz   scores, associations, drug_similarity, mirna_similarity, the placement
                     arrays: {drug,mirna}_codes, {drug,mirna}_code_present, drug_fingerprints, and
                     description_sha256: a digest of model.json's IDs, method and similarity
                     entries (models saved before it existed load without it).

Ranking a dataset item reads the scores (``read_scores``: no JAX, no method rebuilt); a new molecule or sequence is placed with the saved codes,
scale and fingerprints and the method is rerun on the grown problem (:mod:`sesl_jax.new_items`),
so neither needs the dataset.

A directory is written whole into a hidden sibling and renamed into place: a reader finds the
previous model or the new one, never part of one. Loading checks the format version, the
checksum of the arrays, the description digest and that every shape agrees with the IDs; any
failure is a :class:`SavedModelError` naming the directory and what is wrong. Builder options are
rebuilt only as sesl_jax solver and method settings (``*Params``, ``*Options``), so a model.json
cannot make loading call anything else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import math
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Collection, Iterator, NamedTuple

import numpy as np

from sesl_jax._io import check_own_directory
from sesl_jax.data import DataError

FORMAT_NAME = "sesl-jax-model"
FORMAT_VERSION = 1
MANIFEST = "model.json"
ARRAYS = "arrays.npz"
MODEL_FILES = (MANIFEST, ARRAYS)
_SIDES = ("drug", "mirna")


class SavedModelError(DataError):
    """A saved model directory that cannot be read: missing file, other format version, checksum or
    shape mismatch. The message names the directory (or file) and what is wrong."""


# ---------------------------------------------------------------------------- writing


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, *, replaceable: Collection[str] = MODEL_FILES) -> Iterator[Path]:
    """Yield an empty staging directory that becomes ``path`` when the block succeeds.

    The staging directory is a hidden sibling of ``path``, renamed into place at the end; on an
    error it is removed and ``path`` is left as it was. An existing ``path`` is replaced only when
    it holds nothing but files named in ``replaceable`` (a previous model), never other files.

    Raises:
        FileExistsError: ``path`` exists and is not a directory of ``replaceable`` files.
    """
    path = Path(path)
    check_replaceable(path, replaceable)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield staging
        for entry in staging.iterdir():
            with open(entry, "rb") as handle:
                os.fsync(handle.fileno())
        staging.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would hide the model from the user's group
        if path.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            try:
                os.replace(path, retired / path.name)
            except BaseException:
                retired.rmdir()  # still empty: path could not be moved aside
                raise
            os.replace(staging, path)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def check_replaceable(path: str | os.PathLike, replaceable: Collection[str] = MODEL_FILES) -> None:
    """Raise ``FileExistsError`` unless ``path`` is absent or a directory of ``replaceable`` files only."""
    check_own_directory(path, replaceable, "a saved model")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_model(model, directory: str | os.PathLike) -> Path:
    """Write the fitted ``model`` to ``directory`` atomically (see the module docstring)."""
    with atomic_directory(directory) as staging:
        write_model(model, staging)
    return Path(directory)


def write_model(model, directory: Path) -> None:
    """Write the model's files into ``directory`` (a staging directory of ``atomic_directory``)."""
    from sesl_jax._io import sha256_file
    from sesl_jax.provenance import environment

    model._check_fitted()
    arrays: dict[str, np.ndarray] = {
        "scores": np.asarray(model.scores_, np.float64),
        "associations": np.asarray(model.associations_, np.float64),
        "drug_similarity": np.asarray(model.similarities_.drug, np.float64),
        "mirna_similarity": np.asarray(model.similarities_.mirna, np.float64),
    }
    placements: dict[str, Any] = {}
    for index, side in enumerate(_SIDES):
        can_place = model.placement_.get(side) is not None or (
            model.dataset_ is not None and model.similarity_sources_[index] != "caller"
        )
        placement = model._placement(side) if can_place else None
        placements[side] = None if placement is None else _placement_fields(placement, arrays)
    described = {
        "method_config": model.config_.to_dict(),
        "builder_options": _encode_option(dict(model.builder_options)),
        "method": dict(model.method_.config),
        "similarity": {"source": model.similarities_.source, "sides": list(model.similarity_sources_)},
        "drug_ids": list(model.drug_ids_),
        "mirna_ids": list(model.mirna_ids_),
    }
    arrays[DESCRIPTION_DIGEST] = np.frombuffer(bytes.fromhex(_description_digest(described)), np.uint8)
    for name, array in arrays.items():
        if array.dtype.kind not in "biuf":
            raise TypeError(f"array {name} of dtype {array.dtype} cannot be saved without pickle")
    with open(directory / ARRAYS, "wb") as handle:
        np.savez(handle, **arrays)
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        **described,
        "data": model.data_provenance_,
        "solver": model.stats_,
        "placement": placements,
        "files": {ARRAYS: {"sha256": sha256_file(directory / ARRAYS), "bytes": (directory / ARRAYS).stat().st_size}},
        "arrays": {name: {"shape": list(array.shape), "dtype": str(array.dtype)} for name, array in arrays.items()},
        "environment": environment(),
    }
    text = json.dumps(manifest, indent=2, sort_keys=True, default=_json_scalar) + "\n"
    (directory / MANIFEST).write_text(text, encoding="utf-8")


# model.json's entries that say what the arrays are (their IDs, the method and similarity that made
# the scores), digested into the checksummed arrays.npz: an edit there would mislabel the scores.
# Models saved before the digest existed load without it.
DESCRIPTION_DIGEST = "description_sha256"
_DESCRIBED = ("method_config", "builder_options", "method", "similarity", "drug_ids", "mirna_ids")


def _description_digest(manifest: dict[str, Any]) -> str:
    import hashlib

    text = json.dumps({key: manifest.get(key) for key in _DESCRIBED}, sort_keys=True, default=_json_scalar)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_description(directory: Path, manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    stored = arrays.get(DESCRIPTION_DIGEST)
    if stored is not None and stored.astype(np.uint8).tobytes().hex() != _description_digest(manifest):
        raise SavedModelError(f"{directory / MANIFEST}: its IDs, method or similarity entries were edited after the "
                              "model was saved, so they no longer describe the saved scores; fit and save it again")


def _json_scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to model.json")


def _placement_fields(placement, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The JSON part of a ``SidePlacement``; its arrays go into ``arrays``."""
    side = placement.side
    if placement.codes is not None:
        arrays[f"{side}_codes"] = np.asarray(placement.codes, np.float64)
        arrays[f"{side}_code_present"] = np.asarray(placement.code_present, bool)
    if placement.fingerprints is not None:
        arrays[f"{side}_fingerprints"] = np.asarray(placement.fingerprints, np.uint8)
    return {
        "terms": [[name, weight] for name, weight in placement.terms],
        "dropped_biological": placement.dropped_biological,
        "similarity_map": placement.similarity_map,
        "code_scale": placement.code_scale,
        "encoder_sha256": placement.encoder_sha256,
        "encoder": placement.encoder,
        "sequences": None if placement.sequences is None else list(placement.sequences),
    }


def _encode_option(value: Any) -> Any:
    """A builder option as JSON: plain values as they are, sesl_jax dataclasses and named tuples
    (``SESLOptions``, ``SESLParams``...) tagged with their type, scalars of arrays as numbers."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "dtype") and np.ndim(value) == 0:
        return np.asarray(value).item()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
        return {"__type__": _type_name(value), "fields": _encode_option(fields)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {"__type__": _type_name(value), "fields": _encode_option(value._asdict())}
    if isinstance(value, (list, tuple)):
        return {"__tuple__" if isinstance(value, tuple) else "__list__": [_encode_option(v) for v in value]}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {"__dict__": {key: _encode_option(v) for key, v in value.items()}}
    raise TypeError(f"cannot save a builder option of type {type(value).__name__} ({value!r:.80})")


def _type_name(value: Any) -> str:
    cls = type(value)
    if not cls.__module__.startswith("sesl_jax."):
        raise TypeError(f"cannot save a builder option of type {cls.__module__}.{cls.__qualname__} (not a sesl_jax type)")
    return f"{cls.__module__}:{cls.__qualname__}"


# Builder options are solver and method settings: only these modules' *Params / *Options classes
# are rebuilt, so that an edited model.json cannot name any other callable (e.g. os.system).
def _option_type(name: Any) -> type:
    module, _, qualname = name.partition(":") if isinstance(name, str) else ("", "", "")
    allowed = ((module == "sesl_jax.model" or module.startswith(("sesl_jax.solvers.", "sesl_jax.methods.")))
               and qualname.isidentifier() and qualname.endswith(("Params", "Options")))
    try:
        cls = getattr(importlib.import_module(module), qualname, None) if allowed else None
    except ImportError:
        cls = None
    if not (isinstance(cls, type) and cls.__module__ == module
            and (dataclasses.is_dataclass(cls) or (issubclass(cls, tuple) and hasattr(cls, "_fields")))):
        raise ValueError(f"builder option type {name!r} is not a sesl_jax solver or method setting")
    return cls


def _decode_option(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if "__type__" in value:
        return _option_type(value["__type__"])(**_decode_option(value["fields"]))
    if "__tuple__" in value:
        return tuple(_decode_option(v) for v in value["__tuple__"])
    if "__list__" in value:
        return [_decode_option(v) for v in value["__list__"]]
    if "__dict__" in value:
        return {key: _decode_option(v) for key, v in value["__dict__"].items()}
    raise ValueError(f"unreadable builder option {value!r:.80}")


# ---------------------------------------------------------------------------- reading


def _model_path(directory: Any) -> Path:
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"a saved model is a directory path, got {directory!r}")
    return Path(directory)


def read_manifest(directory: str | os.PathLike) -> dict[str, Any]:
    """The checked ``model.json`` of a saved model (format name and version)."""
    directory = _model_path(directory)
    if not directory.is_dir():
        raise SavedModelError(f"no saved model at {directory}: not a directory")
    path = directory / MANIFEST
    if not path.is_file():
        raise SavedModelError(f"{directory} is not a saved model (or an incomplete copy of one): {MANIFEST} is missing")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SavedModelError(f"{path} cannot be read: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise SavedModelError(f"{path} is not a sesl_jax model manifest (format {found!r})")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        hint = "written by a newer sesl_jax; upgrade it" if newer else "refit the model with this sesl_jax"
        raise SavedModelError(
            f"{path}: saved model format version {version!r}, this sesl_jax reads version {FORMAT_VERSION} ({hint})"
        )
    return manifest


class SavedScores(NamedTuple):
    """A saved model's IDs and checked arrays (``read_scores``): enough to rank the dataset's own
    drugs and miRNAs (``sesl_jax.ranking.rank_known``)."""

    manifest: dict[str, Any]
    drug_ids: list[str]
    mirna_ids: list[str]
    arrays: dict[str, np.ndarray]  # scores, associations, similarities, placement arrays
    method: str
    similarity_source: str


def read_scores(directory: str | os.PathLike) -> SavedScores:
    """The IDs and arrays of the model saved in ``directory``, read without JAX and without
    rebuilding the method: the format version, the arrays' checksum, every shape against the IDs
    and the method's name are checked (the rest of the configuration matters only to ``load_model``,
    which places new items).

    Raises:
        SavedModelError: as ``load_model``.
    """
    from sesl_jax.methods import CATALOGUE

    directory = _model_path(directory)
    manifest = read_manifest(directory)
    try:
        drug_ids, mirna_ids = _ids(manifest, "drug_ids"), _ids(manifest, "mirna_ids")
        method, source = manifest["method_config"]["method"], str(manifest["similarity"]["source"])
        if method not in CATALOGUE:
            raise ValueError(f"unknown method {method!r}; choose one of {', '.join(sorted(CATALOGUE))}")
    except (KeyError, TypeError, ValueError) as error:
        raise SavedModelError(f"{directory / MANIFEST}: unreadable entry: {error}") from None
    arrays = _read_arrays(directory, manifest)
    _check_shapes(directory, manifest, arrays, len(drug_ids), len(mirna_ids))
    _check_description(directory, manifest, arrays)
    return SavedScores(manifest, drug_ids, mirna_ids, arrays, method, source)


def load_model(directory: str | os.PathLike, estimator: type):
    """The fitted model saved in ``directory``, as an instance of ``estimator`` (``SESL``, which
    passes itself: this module never imports the estimator).

    Raises:
        SavedModelError: a missing or unreadable file, another format version, a checksum
            mismatch, or shapes that disagree with each other or with the IDs.
        ValueError: a float64 model while ``jax_enable_x64`` is off.
    """
    import jax

    from sesl_jax.pipeline import build_method
    from sesl_jax.similarity import Similarities

    directory = _model_path(directory)
    manifest, drug_ids, mirna_ids, arrays, _, _ = read_scores(directory)
    config = saved_config(directory, manifest)
    try:
        options = _decode_option(manifest["builder_options"])
        if not isinstance(options, dict):
            raise TypeError("builder_options must be a mapping")
        similarity = manifest["similarity"]
        placement_fields = manifest["placement"]
        if not isinstance(placement_fields, dict):
            raise TypeError("placement must be a mapping")
        stats = manifest["solver"]
    except (KeyError, TypeError, ValueError, AttributeError, ImportError) as error:
        raise SavedModelError(f"{directory / MANIFEST}: unreadable entry: {error}") from None
    if config.dtype == "float64" and not jax.config.jax_enable_x64:
        raise ValueError("this model is float64: call jax.config.update('jax_enable_x64', True) before loading it")

    model = estimator.from_config(config, **options)
    rebuilt = model.method_config()
    # Models saved before SESL read observed and bnnr_svt from options=SESLOptions(...) recorded the
    # defaults there while the options ran: the options' values are what made the scores.
    if rebuilt != config and rebuilt == dataclasses.replace(config, observed=rebuilt.observed, bnnr_svt=rebuilt.bnnr_svt) \
            and (config.observed, config.bnnr_svt) == ("nonzero", "eigh") and DESCRIPTION_DIGEST not in arrays:
        config = rebuilt
    if rebuilt != config:
        raise SavedModelError(f"{directory / MANIFEST}: method configuration {config} cannot be rebuilt by SESL")
    similarities = Similarities(arrays["drug_similarity"], arrays["mirna_similarity"], str(similarity["source"]))
    try:
        model.method_ = build_method(arrays["associations"], similarities, config, options)
        placements = {side: _placement(side, placement_fields.get(side), arrays, len(ids))
                      for side, ids in (("drug", drug_ids), ("mirna", mirna_ids))}
    except (KeyError, TypeError, ValueError) as error:
        raise SavedModelError(f"{directory}: the saved model does not rebuild: {error}; fit and save it again") from None
    model.config_ = config
    model.dataset_ = None
    model.similarities_ = similarities
    model.similarity_sources_ = tuple(similarity["sides"])
    model.associations_ = arrays["associations"]
    model.drug_ids_, model.mirna_ids_ = drug_ids, mirna_ids
    model.scores_ = arrays["scores"]
    model.stats_ = stats
    model.dtype_ = config.dtype
    model.data_provenance_ = manifest.get("data")
    model.placement_ = placements
    return model


def saved_config(directory: str | os.PathLike, manifest: dict[str, Any]):
    """The :class:`~sesl_jax.pipeline.MethodConfig` a saved model was fitted with (its ``model.json``
    read by :func:`read_manifest`); a ``SavedModelError`` naming the file if it cannot be built."""
    from sesl_jax.pipeline import MethodConfig

    try:
        return MethodConfig(**manifest["method_config"])
    except (KeyError, TypeError, ValueError) as error:
        raise SavedModelError(f"{Path(directory) / MANIFEST}: unreadable entry: {error}") from None


def _ids(manifest: dict[str, Any], key: str) -> list[str]:
    ids = manifest[key]
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(set(ids)) != len(ids):
        raise ValueError(f"{key} must be a list of unique strings")
    return ids


def _read_arrays(directory: Path, manifest: dict[str, Any]) -> dict[str, np.ndarray]:
    from sesl_jax._io import sha256_file

    path = directory / ARRAYS
    if not path.is_file():
        raise SavedModelError(f"{directory}: {ARRAYS} is missing")
    expected = (manifest.get("files") or {}).get(ARRAYS, {}).get("sha256")
    actual = sha256_file(path)
    if actual != expected:
        raise SavedModelError(
            f"{path}: checksum mismatch (sha256 {actual[:12]}..., the manifest records {str(expected)[:12]}...): "
            "the file changed after the model was saved"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise SavedModelError(f"{path} cannot be read: {error}") from None


def _check_shapes(
    directory: Path, manifest: dict[str, Any], arrays: dict[str, np.ndarray], n_drugs: int, n_mirnas: int
) -> None:
    expected = {
        "scores": (n_drugs, n_mirnas),
        "associations": (n_drugs, n_mirnas),
        "drug_similarity": (n_drugs, n_drugs),
        "mirna_similarity": (n_mirnas, n_mirnas),
    }
    for side, size in (("drug", n_drugs), ("mirna", n_mirnas)):
        for name in (f"{side}_codes", f"{side}_fingerprints"):
            if name in arrays:
                expected[name] = (size, arrays[name].shape[1] if arrays[name].ndim == 2 else -1)
        if f"{side}_code_present" in arrays:
            expected[f"{side}_code_present"] = (size,)
    recorded = manifest.get("arrays") or {}
    if not isinstance(recorded, dict) or not all(isinstance(entry, dict) for entry in recorded.values()):
        raise SavedModelError(f"{directory / MANIFEST}: unreadable entry: arrays must map names to shapes")
    for name, shape in expected.items():
        if name not in arrays:
            raise SavedModelError(f"{directory / ARRAYS}: array {name!r} is missing")
        if arrays[name].shape != shape:
            raise SavedModelError(
                f"{directory}: {name} has shape {arrays[name].shape}, expected {shape} "
                f"({n_drugs} drug IDs, {n_mirnas} miRNA IDs in {MANIFEST})"
            )
    for name, array in arrays.items():
        if name in recorded and list(array.shape) != list(recorded[name].get("shape", [])):
            recorded_shape = recorded[name].get("shape")
            raise SavedModelError(f"{directory}: {name} has shape {array.shape}, {MANIFEST} records {recorded_shape}")
    if not np.isin(arrays["associations"], (0.0, 1.0)).all():
        raise SavedModelError(f"{directory}: associations hold values other than 0 and 1")


def _placement(side: str, fields: dict[str, Any] | None, arrays: dict[str, np.ndarray], size: int):
    from sesl_jax.encoder_files import ARCHITECTURES
    from sesl_jax.new_items import SidePlacement
    from sesl_jax.similarity import check_map

    if fields is None:
        return None
    sequences = fields.get("sequences")
    if sequences is not None and len(sequences) != size:
        raise ValueError(f"{side} placement has {len(sequences)} sequences for {size} IDs")
    codes = arrays.get(f"{side}_codes")
    names = {name for name, _ in fields["terms"]}
    needs = {"sequence": (f"{side}_codes", f"{side}_code_present"), "chemical": (f"{side}_fingerprints",)}
    for name, required in needs.items():
        missing = [array for array in required if name in names and array not in arrays]
        if missing:
            raise ValueError(f"{side} placement uses {name} similarity but {', '.join(missing)} is missing")
    if "sequence" in names and fields.get("code_scale") is None:
        raise ValueError(f"{side} placement uses sequence similarity but has no code_scale")
    scale = fields.get("code_scale")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float))
                              or not math.isfinite(scale) or scale <= 0):
        raise ValueError(f"{side} placement's code_scale must be a positive finite number, got {scale!r}")
    encoder = fields.get("encoder", ARCHITECTURES[0])  # models saved before the transformer: the LSTM
    if encoder not in ARCHITECTURES:
        raise ValueError(f"{side} placement's encoder must be one of {', '.join(ARCHITECTURES)}, got {encoder!r}")
    if "alignment" in names and sequences is None:
        raise ValueError(f"{side} placement uses alignment similarity but has no sequences")
    return SidePlacement(
        side=side,
        terms=tuple((str(name), float(weight)) for name, weight in fields["terms"]),
        dropped_biological=bool(fields["dropped_biological"]),
        similarity_map=check_map(str(fields["similarity_map"])),  # a ValueError here is the file's, named by the caller
        codes=codes,
        code_present=arrays.get(f"{side}_code_present"),
        code_scale=None if scale is None else float(scale),
        encoder_sha256=fields.get("encoder_sha256"),
        encoder=encoder,
        fingerprints=arrays.get(f"{side}_fingerprints"),
        sequences=None if sequences is None else tuple(sequences),
    )
