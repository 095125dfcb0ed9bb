"""``sesl-jax data check|fetch`` through ``sesl_jax.cli.main``."""

from __future__ import annotations

import numpy as np
from conftest import serve_benchmark, write_matrix, write_small_benchmark

from sesl_jax.cli import main
from sesl_jax.data import _fetch


def test_check_prints_a_summary(small_data_dir, capsys):
    assert main(["data", "check", "--dataset", "fcd", "--data-dir", str(small_data_dir)]) == 0
    out = capsys.readouterr().out
    assert "drugs x miRNAs:     3 x 3" in out and "known pairs:        5" in out
    assert "similarities:       drug, miRNA" in out


def test_check_fails_on_invalid_data(small_data_dir, capsys):
    path = small_data_dir / "amcsmma/dataset1/SM-miRNA association matrix.txt"
    matrix = np.loadtxt(path)
    matrix[0, 0] = 3
    write_matrix(path, matrix, fmt="%d")
    assert main(["data", "check", "--dataset", "pcd", "--data-dir", str(small_data_dir)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sesl-jax data: error: amcsmma/dataset1/SM-miRNA association matrix.txt: row 0, column 0 holds 3")


def test_check_real_pcd(real_data_dir, capsys):
    assert main(["data", "check", "--dataset", "pcd", "--data-dir", str(real_data_dir)]) == 0
    out = capsys.readouterr().out
    assert "831 x 541" in out and "known pairs:        664" in out and "SMILES:             808 / 831" in out


def test_fetch_downloads_into_the_cache_dir(tmp_path, http_server_root, monkeypatch, capsys):
    server_root, base_url = http_server_root
    manifest = serve_benchmark(write_small_benchmark(tmp_path / "source", sequences=False), server_root)
    monkeypatch.setattr(_fetch, "_load_manifest", lambda: manifest)
    cache = tmp_path / "cache"
    assert main(["data", "fetch", "--cache-dir", str(cache), "--base-url", base_url]) == 0
    assert f"verified in {cache}" in capsys.readouterr().out
    assert (cache / "amcsmma/dataset2/SM-miRNA association matrix 2.txt").is_file()
    (server_root / "dataset 1" / "SM number.csv").write_text("<html></html>")
    (cache / "amcsmma/dataset1/SM number.csv").unlink()
    assert main(["data", "fetch", "--cache-dir", str(cache), "--base-url", base_url]) == 1
    assert "HTML page" in capsys.readouterr().err
