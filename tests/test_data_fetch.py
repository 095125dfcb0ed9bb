"""Downloading the benchmark files, against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import SMALL_FCD_MIRNA_COLUMNS, SMALL_PCD_MIRNAS, serve_benchmark, write_small_benchmark

from sesl_jax._io import sha256_file
from sesl_jax.data import DataError, fetch_benchmarks, load_dataset, resolve_data_dir
from sesl_jax.data import _fetch


@pytest.fixture
def served(tmp_path, http_server_root, monkeypatch):
    """``(server_root, base_url)`` serving a small benchmark (xlsx PCD IDs, no FCD ID lists)."""
    server_root, base_url = http_server_root
    source = write_small_benchmark(tmp_path / "source", id_lists="xlsx", sequences=False)
    manifest = serve_benchmark(source, server_root)
    monkeypatch.setattr(_fetch, "_load_manifest", lambda: manifest)
    monkeypatch.delenv("SESL_JAX_DATA", raising=False)
    monkeypatch.delenv("SESL_JAX_DATA_URL", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # never touch the real user cache
    return server_root, base_url


def assert_nothing_kept(folder: Path) -> None:
    assert not folder.exists() or not any(folder.iterdir()), list(folder.iterdir())


def test_fetch_downloads_verifies_and_loads(served, tmp_path):
    _, base_url = served
    cache = fetch_benchmarks(tmp_path / "cache", base_url=base_url)
    assert cache == tmp_path / "cache"
    assert (cache / "amcsmma/dataset1/SM number.xlsx").is_file()
    with pytest.warns(UserWarning, match="not found"):
        fcd = load_dataset("fcd", cache)
    assert fcd.mirna_ids == tuple(SMALL_PCD_MIRNAS[j] for j in SMALL_FCD_MIRNA_COLUMNS)


def test_first_use_downloads_into_the_user_cache(served, tmp_path, monkeypatch):
    _, base_url = served
    monkeypatch.setenv("SESL_JAX_DATA_URL", base_url)
    with pytest.warns(UserWarning, match="no pinned public source"):
        pcd = load_dataset("pcd")
    cache = tmp_path / "xdg" / "sesl_jax" / "data"
    assert pcd.source == f"download cache: {cache}"
    assert (cache / "amcsmma/dataset2/SM similarity matrix 2.txt").is_file()
    assert pcd.drug_smiles == (None,) * pcd.n_drugs
    assert resolve_data_dir(download=False) == cache  # complete now: no download needed
    cached = cache / "amcsmma/dataset1/miRNA similarity matrix.txt"
    cached.write_text(cached.read_text().replace("0.", "0.0", 1))  # still valid data, but not the pinned file
    with pytest.raises(DataError, match="miRNA similarity matrix.txt: the cached copy .* has sha256"):
        load_dataset("pcd", download=False)


def test_download_false_without_local_data(served):
    with pytest.raises(DataError, match="no benchmark data: pass data_dir, set \\$SESL_JAX_DATA"):
        resolve_data_dir(download=False)


def test_data_dir_and_env_take_precedence_and_are_never_written(served, tmp_path, monkeypatch):
    _, base_url = served
    given = write_small_benchmark(tmp_path / "given")
    before = sorted(p.name for p in given.rglob("*"))
    assert resolve_data_dir(given) == given
    monkeypatch.setenv("SESL_JAX_DATA", str(given))
    assert resolve_data_dir() == given
    with pytest.raises(DataError, match="refusing to download into \\$SESL_JAX_DATA"):
        fetch_benchmarks(given, base_url=base_url)
    assert sorted(p.name for p in given.rglob("*")) == before
    with pytest.raises(DataError, match="is not a directory"):
        resolve_data_dir(tmp_path / "nowhere")


def test_corrupted_download_is_a_checksum_error(served, tmp_path):
    server_root, base_url = served
    target = server_root / "dataset 1" / "miRNA similarity matrix.txt"
    target.write_bytes(target.read_bytes().replace(b"0.", b"0,", 1))
    with pytest.raises(DataError) as error:
        fetch_benchmarks(tmp_path / "cache", base_url=base_url)
    message = str(error.value)
    assert "amcsmma/dataset1/miRNA similarity matrix.txt" in message
    assert f"{base_url}/dataset%201/miRNA%20similarity%20matrix.txt" in message
    assert "sha256" in message and "not kept" in message
    assert not (tmp_path / "cache/amcsmma/dataset1/miRNA similarity matrix.txt").exists()
    assert not list((tmp_path / "cache").rglob(".*.tmp"))


def test_html_page_is_rejected(served, tmp_path):
    server_root, base_url = served
    (server_root / "dataset 2" / "SM similarity matrix 2.txt").write_text(
        "<!DOCTYPE html>\n<html><body>Too many requests</body></html>\n"
    )
    with pytest.raises(DataError, match=r"SM similarity matrix 2.txt: download from http://127.0.0.1:\d+/dataset%202/.* HTML page"):
        fetch_benchmarks(tmp_path / "cache", base_url=base_url)
    assert_nothing_kept(tmp_path / "cache" / "amcsmma" / "dataset2")


def test_empty_download_is_rejected(served, tmp_path):
    server_root, base_url = served
    (server_root / "dataset 1" / "SM number.xlsx").write_bytes(b"")
    with pytest.raises(DataError, match=r"amcsmma/dataset1/SM number.xlsx: download from .* returned an empty file"):
        fetch_benchmarks(tmp_path / "cache", base_url=base_url)
    assert not (tmp_path / "cache/amcsmma/dataset1/SM number.xlsx").exists()


def test_missing_remote_file_is_http_404(served, tmp_path):
    server_root, base_url = served
    (server_root / "dataset 1" / "SM-miRNA association matrix.txt").unlink()
    with pytest.raises(DataError, match=r"SM-miRNA association matrix.txt: download from .*%20matrix.txt failed: HTTP 404"):
        fetch_benchmarks(tmp_path / "cache", base_url=base_url)


def test_unreachable_server(served, tmp_path):
    with pytest.raises(DataError, match="failed"):
        fetch_benchmarks(tmp_path / "cache", base_url="http://127.0.0.1:9")


def test_valid_cache_is_kept_and_corrupt_cache_is_replaced(served, tmp_path):
    server_root, base_url = served
    cache = fetch_benchmarks(tmp_path / "cache", base_url=base_url)
    cached = cache / "amcsmma/dataset2/SM-miRNA association matrix 2.txt"
    good = cached.read_bytes()
    cached.write_bytes(good.replace(b"1", b"2", 1))
    fetch_benchmarks(cache, base_url=base_url)
    assert cached.read_bytes() == good
    shutil.rmtree(server_root / "dataset 1")  # everything is cached and valid: no request needed
    fetch_benchmarks(cache, base_url=base_url)


def test_packaged_manifest_pins_the_commit():
    manifest = _fetch._load_manifest()
    commit = "9310cebb958142a1b19bb92faccc2cf0fe641a38"
    assert manifest["base_url"] == f"https://raw.githubusercontent.com/RCR-LYY/AMCSMMA/{commit}/Dataset"
    paths = {entry["path"] for entry in manifest["files"]}
    assert "amcsmma/dataset1/SM number.xlsx" in paths and "amcsmma/dataset2/miRNA similarity matrix 2.txt" in paths
    for entry in manifest["files"]:
        assert len(entry["sha256"]) == 64 and entry["size"] > 0
        assert entry["remote"].startswith(("dataset 1/", "dataset 2/"))


def test_packaged_manifest_matches_the_shared_files(real_data_dir):
    for entry in _fetch._load_manifest()["files"]:
        assert sha256_file(real_data_dir / entry["path"]) == entry["sha256"], entry["path"]


def test_real_files_fetched_and_loaded_from_the_cache(real_data_dir, tmp_path, http_server_root, monkeypatch):
    """The download path end to end on the real files: xlsx ID lists, FCD IDs recovered from PCD."""
    server_root, base_url = http_server_root
    for entry in _fetch._load_manifest()["files"]:
        target = server_root / entry["remote"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(real_data_dir / entry["path"], target)
    cache = fetch_benchmarks(tmp_path / "cache", base_url=base_url)
    for name in ("pcd", "fcd"):
        cached = load_dataset(name, cache)  # SMILES and sequences from the shipped tables
        shared = load_dataset(name, real_data_dir)
        assert cached.drug_ids == shared.drug_ids and cached.mirna_ids == shared.mirna_ids
        np.testing.assert_array_equal(cached.associations, shared.associations)
        np.testing.assert_array_equal(cached.mirna_similarity, shared.mirna_similarity)


def test_a_base_url_that_is_no_url_is_named(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="--base-url: 'notaurl' is not an http"):
        fetch_benchmarks(tmp_path / "cache", base_url="notaurl")
    with pytest.raises(DataError, match=r"--base-url: 'http://\[::1' is not a URL \(Invalid IPv6 URL\)"):
        fetch_benchmarks(tmp_path / "cache", base_url="http://[::1")
    with pytest.raises(DataError, match="--base-url is empty"):
        fetch_benchmarks(tmp_path / "cache", base_url=" ")
    monkeypatch.setenv("SESL_JAX_DATA_URL", "ftp:/x")
    with pytest.raises(DataError, match=r"\$SESL_JAX_DATA_URL: 'ftp:/x' is not an http"):
        fetch_benchmarks(tmp_path / "cache")
    assert not (tmp_path / "cache").exists()
