"""Opening files under a data directory while recording the sha256 of everything read."""

from __future__ import annotations

from pathlib import Path

from sesl_jax._io import sha256_file
from sesl_jax.data._errors import DataError


class FileReader:
    """Resolves paths relative to ``root`` and records ``checksums[relative path] = sha256``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.checksums: dict[str, str] = {}

    def required(self, relative: str, *, what: str) -> Path:
        path = self.optional(relative)
        if path is None:
            raise DataError(f"{relative}: required {what} file not found in {self.root}")
        return path

    def optional(self, relative: str) -> Path | None:
        path = self.root / relative
        if not path.is_file():
            return None
        self.checksums[relative] = sha256_file(path)
        return path

    def first_existing(self, candidates: tuple[str, ...]) -> Path | None:
        """The first of ``candidates`` that exists (recorded), else ``None``."""
        for relative in candidates:
            path = self.optional(relative)
            if path is not None:
                return path
        return None
