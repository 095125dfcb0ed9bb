"""Finished chunks of a long screen, kept on disk so that an interrupted screen resumes.

Screening many new items against a fitted model (``SESL.screen(..., parts=DIR)``, ``sesl-jax rank
--smiles-file F --out TABLE``) can run for hours: on PCD one new molecule is a BNNR solve of a
1373 x 1373 matrix, about 24 s on one core. Each chunk of items is written, as it finishes, to a
parts directory (``TABLE.partial/`` on the command line) that records which screen it belongs to
(the fitted model with what places new items, the items and their IDs, the platform). Rerunning
the same screen reads the finished items back instead of solving them again; the command line
removes the directory once the whole table is written. A screen holds a lock on its directory, so
a second one into it stops instead of interleaving. Scores do not depend on the chunking or the
device count, so a resumed screen gives the same table as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from sesl_jax._io import atomic_temporary, atomic_write, atomic_write_json, json_ready
from sesl_jax.data import DataError

MANIFEST = "screen.json"
LOCK = ".lock"
FORMAT = 1


def parts_directory(table: str | os.PathLike) -> Path:
    """Where the command line keeps the finished parts of a screen written to ``table``."""
    return Path(f"{table}.partial")


def screen_identity(model, side: str, items: Sequence[str], ids: Sequence[str], platform: str | None = None
                    ) -> dict[str, Any]:
    """What makes two screens the same: the fitted model (its configuration, associations,
    similarities, scores, and what places a new item on ``side``: the dataset's codes, encoder and
    fingerprints), the items with their IDs, in order, and the platform that solves them (CPU and
    accelerators agree to rounding, not bit for bit)."""
    fit = hashlib.sha256(json.dumps(json_ready(model.config()), sort_keys=True).encode())
    placement = model._placement(side)
    arrays = [model.associations_, model.similarities_.drug, model.similarities_.mirna, model.scores_]
    arrays += [value for value in placement if isinstance(value, np.ndarray)]
    for array in arrays:
        fit.update(str(array.shape).encode() + str(array.dtype).encode())
        fit.update(np.ascontiguousarray(array).tobytes())
    fit.update(json.dumps(json_ready({name: value for name, value in placement._asdict().items()
                                      if not isinstance(value, np.ndarray)}), sort_keys=True).encode())
    queries = hashlib.sha256(json.dumps([list(ids), list(items)]).encode())
    n_other = model.scores_.shape[1 if side == "drug" else 0]
    if platform is None:
        import jax

        platform = jax.default_backend()
    return {"format": FORMAT, "side": side, "items": len(items), "n_other": int(n_other), "platform": platform,
            "model_sha256": fit.hexdigest(), "items_sha256": queries.hexdigest()}


class ScreenParts:
    """The parts directory of one screen: finished items' scores and solver status codes.

    Opening a directory that holds another screen's parts, or files that are not parts, is a
    ``DataError``: nothing of the user's is overwritten or mixed into this screen. While open, the
    directory is locked: a second screen into it stops with a ``DataError`` instead of interleaving.
    """

    def __init__(self, directory: str | os.PathLike, identity: dict[str, Any]):
        self.directory = Path(directory)
        self.identity = json_ready(identity)
        self.scores = np.full((identity["items"], identity["n_other"]), np.nan)
        self.status: np.ndarray | None = None
        self.done = np.zeros(identity["items"], bool)
        self._lock = None
        manifest = self.directory / MANIFEST
        if self.directory.exists() and not self.directory.is_dir():
            raise DataError(f"{self.directory}: exists and is not a directory")
        if self._entries() and not manifest.is_file():  # checked before the lock file is made there
            raise DataError(f"{self.directory}: holds files that are not the parts of a screen; remove it or write "
                            "the table elsewhere")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        try:
            self._open(manifest)
        except BaseException:
            self.close()
            raise

    def _entries(self) -> list[Path]:
        """The directory's files but its lock and the leftovers of an interrupted atomic write
        (``.name.XXXX.tmp``), which are not the user's."""
        if not self.directory.is_dir():
            return []
        return [path for path in self.directory.iterdir() if path.name != LOCK and not atomic_temporary(path.name)]

    def _open(self, manifest: Path) -> None:
        if self._entries():
            if not manifest.is_file():
                raise DataError(f"{self.directory}: holds files that are not the parts of a screen; remove it or "
                                "write the table elsewhere")
            try:
                saved = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
                raise DataError(f"{manifest}: unreadable ({error}); remove {self.directory} to start over") from None
            if saved != self.identity:
                raise DataError(f"{self.directory}: holds the finished parts of another screen (another model, other "
                                "items or IDs); remove it to start this one over")
            for part in sorted(self.directory.glob("part-*.npz")):
                self._load(part)
        else:
            atomic_write_json(manifest, self.identity)

    def _take_lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return
        handle = open(self.directory / LOCK, "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise DataError(f"{self.directory}: another screen is running with these parts; wait for it, or write "
                            "this table elsewhere") from None
        self._lock = handle  # held until remove() or the process ends

    @property
    def finished(self) -> int:
        """Items whose scores are on disk."""
        return int(self.done.sum())

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Scores and status codes of items ``start:stop`` if all of them are finished, else ``None``."""
        if self.status is None or not self.done[start:stop].all():
            return None
        return self.scores[start:stop].copy(), self.status[start:stop].copy()

    def write(self, start: int, scores: np.ndarray, status: np.ndarray) -> None:
        """Keep the finished items ``start:start + len(scores)`` (atomically: a part is whole or absent)."""
        stop = start + len(scores)
        if np.shape(scores)[1:] != self.scores.shape[1:] or stop > len(self.scores) or len(status) != len(scores):
            raise ValueError(f"items {start}:{stop} with scores {np.shape(scores)} do not fit a screen of "
                             f"{self.scores.shape}")
        if not (self.directory / MANIFEST).is_file():  # removed under this screen: do not recreate it half
            raise DataError(f"{self.directory}: removed while this screen ran; rerun it to start over")
        path = self.directory / f"part-{start:09d}-{stop:09d}.npz"
        atomic_write(path, lambda tmp: _save(tmp, scores=np.asarray(scores, np.float64), status=np.asarray(status)))
        self._keep(start, scores, status)

    def close(self) -> None:
        """Release the lock (the parts stay for a later screen to resume)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> "ScreenParts":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def remove(self) -> None:
        """Delete the directory: renamed first, so that an interruption leaves either the whole
        directory or a hidden one to ignore, never parts without their manifest."""
        doomed = self.directory.with_name(f".{self.directory.name}.removing-{os.getpid()}")
        try:
            self.directory.rename(doomed)
        except OSError:
            doomed = self.directory
        shutil.rmtree(doomed, ignore_errors=True)
        self.close()

    def _load(self, path: Path) -> None:
        try:
            start = int(path.stem.split("-")[1])
            with np.load(path, allow_pickle=False) as part:
                scores, status = part["scores"], part["status"]
        except (OSError, ValueError, KeyError, IndexError) as error:
            raise DataError(f"{path}: not a readable part of this screen ({error}); remove it to solve its items again") from None
        if scores.ndim != 2 or scores.shape[1] != self.scores.shape[1] or start + len(scores) > len(self.scores) \
                or len(status) != len(scores):
            raise DataError(f"{path}: its shape does not fit this screen; remove it to solve its items again")
        self._keep(start, scores, status)

    def _keep(self, start: int, scores: np.ndarray, status: np.ndarray) -> None:
        if self.status is None:
            self.status = np.zeros((len(self.scores), *np.shape(status)[1:]), np.asarray(status).dtype)
        stop = start + len(scores)
        self.scores[start:stop] = scores
        self.status[start:stop] = status
        self.done[start:stop] = True


def _save(path: Path, **arrays: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
