"""An atomic, resumable on-disk store for evaluation results.

Layout of ``out_dir``::

    manifest.json            resolved configuration + "fingerprint" (what the results depend on)
    chunks/chunk_00012.npz   per-chunk arrays (e.g. rank counts of folds 12*B .. 13*B-1)
    <name>.json, <name>.parquet|csv   summaries

Every file is written through :func:`sesl_jax._io.atomic_write`, so an interrupted run leaves only
whole files (plus, at worst, a stray ``.*.tmp`` file, which is ignored). A chunk counts as complete
only if it loads, so rerunning with the same ``--out`` recomputes exactly the missing chunks.
Resuming with a different configuration would mix incompatible results; it raises
:class:`ResumeMismatchError` instead.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from sesl_jax._io import atomic_write, atomic_write_json, check_own_directory, json_text

VOLATILE_KEYS = ("created", "resumed", "elapsed_seconds")
# How a run was carried out (chunk size, where the data was read from): kept from the first call,
# never compared, so the same data read from another directory resumes.
RECORDED_KEY = "recorded"
MANIFEST_NAME = "manifest.json"
CHUNK_DIR = "chunks"
# what may precede a run's manifest in its directory (``sesl-jax reproduce`` writes it first)
PRE_RUN_FILES = ("kept_pairs.csv",)
_CHUNK_NAME = re.compile(r"chunk_(\d+)\.npz")


class ResumeMismatchError(ValueError):
    """``out_dir`` already holds results of a different configuration."""


def manifest_fingerprint(manifest: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of ``manifest`` without :data:`VOLATILE_KEYS`, :data:`RECORDED_KEY`
    and ``fingerprint``."""
    canonical = json_text(_stable_part(manifest), separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_run_directory(out_dir: str | os.PathLike) -> None:
    """Raise ``FileExistsError`` unless ``out_dir`` can hold a run: absent, a run's own
    directory (it has a manifest: resuming checks the rest), or free of other files. A new run
    writes folds.csv, metrics.json, ...: never over files the user keeps there."""
    if not (Path(out_dir) / MANIFEST_NAME).is_file():
        # the manifest's temporary: process 0 of a distributed run may be writing it right now
        check_own_directory(out_dir, (*PRE_RUN_FILES, MANIFEST_NAME), "a cv run")


class ResultStore:
    """Results of one evaluation run, stored under ``out_dir``.

    Args:
        out_dir: output folder (created if needed).
        manifest: resolved configuration, seed, data checksums, protocol, method, versions; must
            be JSON-serialisable (non-finite numbers are stored as ``null``). Top-level
            :data:`VOLATILE_KEYS` and :data:`RECORDED_KEY` are recorded but not part of the
            fingerprint; on resume the stored ``recorded`` part is kept (it says how the stored
            chunks were made).

    Raises:
        ResumeMismatchError: ``out_dir`` has a manifest with a different fingerprint.
        FileExistsError: ``out_dir`` has no manifest but holds other files (or is a file).
    """

    def __init__(self, out_dir: str | os.PathLike, manifest: Mapping[str, Any]):
        self.out_dir = Path(out_dir)
        self.chunk_dir = self.out_dir / CHUNK_DIR
        # JSON round trip so the in-memory manifest equals what a later resume reads back
        manifest = json.loads(json_text(dict(manifest)))
        fingerprint = manifest_fingerprint(manifest)
        path = self.out_dir / MANIFEST_NAME
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        if path.exists():
            try:
                stored = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
                raise ResumeMismatchError(f"{path} cannot be read ({error}); choose a new --out directory") from None
            if stored.get("fingerprint", manifest_fingerprint(stored)) != fingerprint:
                differing = _differing_keys(_stable_part(stored), _stable_part(manifest))
                inputs = any(key.startswith("inputs_digest") for key in differing)
                raise ResumeMismatchError(
                    f"{self.out_dir} holds results of a different configuration "
                    f"(differs in: {', '.join(differing) or 'fingerprint'}"
                    f"{': the method inputs, e.g. similarities from other encoder weights ($SESL_JAX_ENCODERS)' if inputs else ''}); "
                    "choose a new --out directory, or rerun with the same configuration to resume"
                )
            self.resumed = True
            manifest = {**stored, "resumed": [*_as_list(stored.get("resumed")), now]}
        else:
            check_run_directory(self.out_dir)
            self.resumed = False
            manifest = {"created": now, **manifest}
        self.manifest = {**manifest, "fingerprint": fingerprint}
        atomic_write_json(path, self.manifest)

    def chunk_path(self, chunk_index: int) -> Path:
        return self.chunk_dir / f"chunk_{int(chunk_index):05d}.npz"

    def completed_chunks(self) -> set[int]:
        """Indices of chunks that are on disk and load completely (temp and truncated files are not)."""
        if not self.chunk_dir.is_dir():
            return set()
        done = set()
        for path in self.chunk_dir.iterdir():
            match = _CHUNK_NAME.fullmatch(path.name)
            if match and _loads(path):
                done.add(int(match.group(1)))
        return done

    def write_chunk(self, chunk_index: int, arrays: Mapping[str, np.ndarray]) -> Path:
        """Write one chunk atomically as ``chunks/chunk_{index:05d}.npz`` (replacing a broken one)."""
        if not arrays:
            raise ValueError("a chunk needs at least one array")
        arrays = {str(name): np.asarray(value) for name, value in arrays.items()}
        for name, value in arrays.items():
            if value.dtype == object:
                raise TypeError(f"chunk array {name!r} has dtype object; only numeric/bool/str arrays are stored")

        def write(tmp: Path) -> None:
            # a file handle, because np.savez appends ".npz" to a path that lacks it
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)

        return atomic_write(self.chunk_path(chunk_index), write)

    def read_chunk(self, chunk_index: int) -> dict[str, np.ndarray]:
        return _read_npz(self.chunk_path(chunk_index))

    def read_all(self, n_chunks: int | None = None) -> dict[str, np.ndarray]:
        """Every complete chunk concatenated along axis 0, in chunk order.

        Args:
            n_chunks: if given, require chunks ``0 .. n_chunks-1`` all complete (raises otherwise).
        """
        indices = sorted(self.completed_chunks())
        if n_chunks is not None:
            missing = sorted(set(range(n_chunks)) - set(indices))
            if missing:
                shown = f"{missing[:10]}{'...' if len(missing) > 10 else ''}"
                raise ValueError(f"{self.chunk_dir}: chunk(s) {shown} missing or incomplete")
            indices = list(range(n_chunks))
        chunks = [self.read_chunk(i) for i in indices]
        if not chunks:
            return {}
        names = list(chunks[0])
        for index, chunk in zip(indices, chunks):
            if sorted(chunk) != sorted(names):
                raise ValueError(
                    f"chunk {index} holds arrays {sorted(chunk)}, chunk {indices[0]} holds {sorted(names)}"
                )
        return {name: np.concatenate([chunk[name] for chunk in chunks], axis=0) for name in names}

    def write_json(self, name: str, obj: Any) -> Path:
        """Write ``obj`` atomically as ``<out_dir>/<name>.json``."""
        return atomic_write_json(self._path(name, ".json"), obj)

    def write_table(self, name: str, frame: pd.DataFrame) -> Path:
        """Write ``frame`` atomically as ``<name>.parquet`` if pyarrow is installed, else ``<name>.csv``.

        Returns:
            The path written, so callers know which format they got.
        """
        if importlib.util.find_spec("pyarrow") is not None:
            return atomic_write(self._path(name, ".parquet"), lambda tmp: frame.to_parquet(tmp, index=False))
        return atomic_write(self._path(name, ".csv"), lambda tmp: frame.to_csv(tmp, index=False))

    def _path(self, name: str, suffix: str) -> Path:
        relative = Path(name)
        if relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"result name {name!r} must be a relative path inside the store")
        stem = name[: -len(suffix)] if name.endswith(suffix) else name
        return self.out_dir / f"{stem}{suffix}"


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    # our own handle: np.load(path) leaks its file when the zip is truncated
    with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def _loads(path: Path) -> bool:
    """True if the npz at ``path`` opens and every array reads back (zip CRCs are checked on read)."""
    try:
        return bool(_read_npz(path))
    except Exception:  # any failure to load means: not complete, recompute it
        return False


def _stable_part(manifest: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in manifest.items() if k not in (*VOLATILE_KEYS, RECORDED_KEY, "fingerprint")}


def _differing_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths where two JSON-like values differ (recursing into dicts)."""
    if isinstance(old, dict) and isinstance(new, dict):
        differing = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                differing.append(path)
            else:
                differing.extend(_differing_keys(old[key], new[key], path))
        return differing
    return [] if old == new else [prefix or "<manifest>"]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
