"""Finding the data directory, and downloading the benchmark files into the user cache.

Order: an explicit ``data_dir``, else ``$SESL_JAX_DATA``, else the user cache
``platformdirs.user_cache_dir("sesl_jax")/data``, filled on first use from the URLs pinned in
``sesl_jax/resources/benchmark_manifest.json`` (AMCSMMA at a fixed commit, each file with its
sha256). Directories given by the user are only ever read. A download is kept only when it is
non-empty, not an HTML page, and matches its sha256; files are written atomically.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from sesl_jax._io import atomic_write_bytes, sha256_bytes, sha256_file
from sesl_jax.data._errors import DataError

DATA_DIR_ENV = "SESL_JAX_DATA"
BASE_URL_ENV = "SESL_JAX_DATA_URL"
DOWNLOAD_TIMEOUT_S = 60
MANIFEST_PATH = Path(__file__).resolve().parents[1] / "resources" / "benchmark_manifest.json"
OFFLINE_HINT = (
    f"Without network access, pass --data-dir (data_dir= in Python) or set ${DATA_DIR_ENV} to a directory "
    "holding the benchmark files (laid out as amcsmma/dataset1, amcsmma/dataset2)"
)


def default_cache_dir() -> Path:
    # imported here: machines without platformdirs (a lent GPU with a fixed image) still evaluate
    # from an explicit data directory
    import platformdirs

    return Path(platformdirs.user_cache_dir("sesl_jax")) / "data"


def resolve_data_dir(data_dir: str | os.PathLike | None = None, *, download: bool | None = None) -> Path:
    """The benchmark data directory.

    ``data_dir`` if given, else ``$SESL_JAX_DATA``, else the user cache. Only the cache is ever
    written: with ``download`` ``None`` or ``True`` missing or corrupt cache files are fetched
    (see :func:`fetch_benchmarks`); with ``False`` an incomplete cache is a :class:`DataError`.
    ``download`` has no effect when ``data_dir`` or ``$SESL_JAX_DATA`` is given.
    """
    return resolve_data_location(data_dir, download=download)[0]


def resolve_data_location(data_dir: str | os.PathLike | None, *, download: bool | None) -> tuple[Path, bool]:
    """``(directory, is_download_cache)``; see :func:`resolve_data_dir`."""
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise DataError(f"data_dir must be a directory path, got {data_dir!r}")
    for given, origin in ((data_dir, "data_dir"), (os.environ.get(DATA_DIR_ENV) or None, f"${DATA_DIR_ENV}")):
        if given is not None:
            path = Path(given).expanduser()
            if not path.is_dir():
                raise DataError(f"{origin} {str(path)!r} is not a directory")
            return path, False
    cache = default_cache_dir()
    if download is False:
        missing = [entry["path"] for entry in _load_manifest()["files"] if not (cache / entry["path"]).is_file()]
        if missing:
            raise DataError(
                f"no benchmark data: pass data_dir, set ${DATA_DIR_ENV}, or allow downloading "
                f"(the cache {cache} lacks {missing[0]})"
            )
        return cache, True
    return fetch_benchmarks(cache), True


def fetch_benchmarks(cache_dir: str | os.PathLike | None = None, *, base_url: str | None = None) -> Path:
    """Download and verify every file of the manifest; return the directory holding them.

    Files already present with the right sha256 are kept; others are (re)downloaded from
    ``base_url`` (default ``$SESL_JAX_DATA_URL``, else the manifest's pinned URL) followed by
    each file's remote path. Raises :class:`DataError` naming the file and URL on any failure.
    """
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    user_data = os.environ.get(DATA_DIR_ENV)
    if user_data and Path(user_data).expanduser().resolve() == cache.resolve():
        raise DataError(f"refusing to download into ${DATA_DIR_ENV} ({user_data}); it is only ever read")
    manifest = _load_manifest()
    if base_url is not None and not base_url.strip():
        raise DataError("--base-url is empty; leave it out for the default mirror")
    base = (base_url or os.environ.get(BASE_URL_ENV) or manifest["base_url"]).rstrip("/")
    given = "--base-url" if base_url else f"${BASE_URL_ENV}" if os.environ.get(BASE_URL_ENV) else "the manifest"
    try:
        scheme = urllib.parse.urlsplit(base).scheme
    except ValueError as error:  # e.g. an unclosed IPv6 bracket
        raise DataError(f"{given}: {base!r} is not a URL ({error})") from None
    if scheme not in ("http", "https", "file"):
        raise DataError(f"{given}: {base!r} is not an http(s):// or file:// URL")
    for entry in manifest["files"]:
        target = cache / entry["path"]
        if target.is_file() and sha256_file(target) == entry["sha256"]:
            continue
        url = f"{base}/{urllib.parse.quote(entry['remote'])}"
        atomic_write_bytes(target, _download_verified(url, entry))
    return cache


def verify_cached_checksums(checksums: dict[str, str], cache: Path) -> None:
    """Files read from the download cache must still match the manifest (catches later edits)."""
    for entry in _load_manifest()["files"]:
        digest = checksums.get(entry["path"])
        if digest is not None and digest != entry["sha256"]:
            raise DataError(
                f"{entry['path']}: the cached copy in {cache} has sha256 {digest}, expected "
                f"{entry['sha256']}; run `sesl-jax data fetch` to replace it"
            )


def _download_verified(url: str, entry: dict[str, Any]) -> bytes:
    """The bytes at ``url``, checked to be the manifest's file; nothing is written on failure."""
    name = entry["path"]
    request = urllib.request.Request(url, headers={"User-Agent": "sesl-jax"})
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
            data = response.read()
            content_type = response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        raise DataError(f"{name}: download from {url} failed: HTTP {error.code} {error.reason}. {OFFLINE_HINT}") from None
    except (urllib.error.URLError, OSError) as error:
        raise DataError(f"{name}: download from {url} failed: {getattr(error, 'reason', error)}. {OFFLINE_HINT}") from None
    if not data:
        raise DataError(f"{name}: download from {url} returned an empty file")
    head = data[:512].lstrip().lower()
    if content_type == "text/html" or head.startswith((b"<!doctype html", b"<html")):
        # e.g. a proxy login, rate-limit or error page served with status 200
        raise DataError(f"{name}: download from {url} returned an HTML page, not the data file")
    digest = sha256_bytes(data)
    if digest != entry["sha256"]:
        raise DataError(
            f"{name}: download from {url} has sha256 {digest}, expected {entry['sha256']} "
            f"({len(data)} bytes, expected {entry['size']}); the file was not kept"
        )
    return data


def _load_manifest() -> dict[str, Any]:
    """The packaged manifest: ``{"base_url": str, "files": [{"path", "remote", "sha256", "size"}]}``."""
    return json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
