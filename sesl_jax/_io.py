"""Atomic file writing and checksums: nothing the project writes is ever half-written."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Collection, Mapping


def stderr_log(message: str) -> None:
    """Print a progress or log line to stderr at once (runs are often logged to files)."""
    print(message, file=sys.stderr, flush=True)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Write ``path`` through a temporary file in the same directory, then rename it into place.

    ``write`` receives the temporary path and must create the file there. A crash or an
    interruption leaves either the old file or no file, never a partial one.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:  # name the file asked for, not the temporary one
        raise OSError(error.errno, f"cannot write {path}: {error.strerror}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        tmp.chmod(0o666 & ~_umask())  # mkstemp's 0600 would make results unreadable to the user's group
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def check_own_directory(path: str | os.PathLike, own: Collection[str], what: str) -> None:
    """Raise ``FileExistsError`` unless ``path`` is absent or a directory holding only ``own``
    entries: writing there must never replace a file the user put in it."""
    path = Path(path)
    if not path.exists():
        return
    if not path.is_dir():
        raise FileExistsError(f"{path} exists and is not a directory; choose a new directory")
    # an own file being written (another process of a distributed run) or left by a killed write
    foreign = sorted(entry.name for entry in path.iterdir() if entry.name not in own and not atomic_temporary(entry.name, own))
    if foreign:
        raise FileExistsError(
            f"{path} exists and holds files that are not part of {what} ({', '.join(foreign[:5])}); "
            "choose a new directory"
        )


def atomic_temporary(name: str, of: Collection[str] | None = None) -> bool:
    """Whether ``name`` is the temporary file of an :func:`atomic_write` (``.NAME.XXXX.tmp``), of
    one of the names ``of`` when given."""
    if not (name.startswith(".") and name.endswith(".tmp")):
        return False
    return of is None or any(name.startswith(f".{own}.") for own in of)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as strict JSON (see :func:`json_text`)."""
    return atomic_write_text(path, json_text(obj, indent=2) + "\n")


def json_text(obj: Any, **options: Any) -> str:
    """Strict JSON of ``obj``: keys sorted, NumPy values as Python ones, and an undefined number
    (NaN, +-inf, e.g. the standard deviation of a single repeat) as ``null``, never as the
    ``NaN``/``Infinity`` tokens that other JSON readers reject."""
    return json.dumps(json_ready(obj), sort_keys=True, allow_nan=False, **options)


def json_ready(obj: Any) -> Any:
    """``obj`` with NumPy scalars and arrays as Python values, paths as strings, tuples as lists
    and non-finite floats as ``None``; raises ``TypeError`` for anything else JSON cannot hold."""
    import numpy as np

    if isinstance(obj, Mapping):
        return {key: json_ready(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(value) for value in obj]
    if isinstance(obj, np.ndarray):
        return json_ready(obj.tolist())
    if isinstance(obj, np.generic):
        return json_ready(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_slug(text: str) -> str:
    """``text`` as a file-name-safe identifier: runs of other characters become one ``-``."""
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-")
