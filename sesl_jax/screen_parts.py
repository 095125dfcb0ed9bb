"""Finished chunks of a long screen, kept on disk so that an interrupted screen resumes.

Screening many new items against a fitted model (``SESL.screen(..., parts=DIR)``, ``sesl-jax rank
--smiles-file F --out TABLE``) can run for hours: on PCD one new molecule is a BNNR solve of a
1373 x 1373 matrix, about 24 s on one core. Each chunk of items is written, as it finishes, to a
parts directory (``TABLE.partial/`` on the command line) that records which screen it belongs to
(the model's scores and configuration, the items and their IDs). Rerunning the same screen reads
the finished items back instead of solving them again; the command line removes the directory
once the whole table is written. Scores do not depend on the chunking or the device count, so a
resumed screen gives the same table as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from sesl_jax._io import atomic_write, atomic_write_json, json_ready
from sesl_jax.data import DataError

MANIFEST = "screen.json"
FORMAT = 1


def screen_identity(model, side: str, items: Sequence[str], ids: Sequence[str]) -> dict[str, Any]:
    """What makes two screens the same: the fitted model (its scores and configuration), the side,
    and the items with their IDs, in order."""
    fit = hashlib.sha256(np.ascontiguousarray(model.scores_, np.float64).tobytes())
    fit.update(json.dumps(json_ready(model.config()), sort_keys=True).encode())
    queries = hashlib.sha256(json.dumps([list(ids), list(items)]).encode())
    n_other = model.scores_.shape[1 if side == "drug" else 0]
    return {"format": FORMAT, "side": side, "items": len(items), "n_other": int(n_other),
            "model_sha256": fit.hexdigest(), "items_sha256": queries.hexdigest()}


class ScreenParts:
    """The parts directory of one screen: finished items' scores and solver status codes.

    Opening a directory that holds another screen's parts, or files that are not parts, is a
    ``DataError``: nothing of the user's is overwritten or mixed into this screen.
    """

    def __init__(self, directory: str | os.PathLike, identity: dict[str, Any]):
        self.directory = Path(directory)
        self.identity = json_ready(identity)
        self.scores = np.full((identity["items"], identity["n_other"]), np.nan)
        self.status: np.ndarray | None = None
        self.done = np.zeros(identity["items"], bool)
        manifest = self.directory / MANIFEST
        if self.directory.is_dir() and any(self.directory.iterdir()):
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
        elif self.directory.exists() and not self.directory.is_dir():
            raise DataError(f"{self.directory}: exists and is not a directory")
        else:
            atomic_write_json(manifest, self.identity)

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
        path = self.directory / f"part-{start:09d}-{stop:09d}.npz"
        atomic_write(path, lambda tmp: _save(tmp, scores=np.asarray(scores, np.float64), status=np.asarray(status)))
        self._keep(start, scores, status)

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

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
