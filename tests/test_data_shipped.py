"""The SMILES and sequence tables shipped in ``data/`` (installed as ``sesl_jax/resources/data``).

Without ``sequences/`` in the data directory the loader falls back to them, so a fresh install with
no ``$SESL_JAX_DATA`` runs the default method (sequence similarity) and ``rank --smiles`` on the
downloaded benchmark files alone.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest
from conftest import serve_benchmark, write_small_benchmark, write_xlsx

from sesl_jax.cli import main
from sesl_jax.data import DataError, load_dataset
from sesl_jax.data import _fetch, _sequences
from sesl_jax.defaults import dataset_default

REPOSITORY_DATA = Path(__file__).resolve().parents[1] / "data"
TABLES = ("drug_smiles.tsv", "mirna_sequences.tsv")
ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"

# A small benchmark (the conftest layout: PCD 6 x 5, FCD = PCD rows 1, 2, 4 x columns 3, 0, 2) whose
# IDs are real benchmark IDs, so the shipped tables cover it; CID:5965 is one of the 23 without SMILES.
REAL_DRUGS = ["CID:137", "CID:2578", "CID:2995", "CID:237", "CID:3117", "CID:5965"]
REAL_MIRNAS = ["hsa-let-7a-1", "hsa-mir-200c", "hsa-mir-21", "hsa-mir-219-a", "hsa-mir-124-1"]


def write_real_id_benchmark(root: Path) -> Path:
    """The conftest small benchmark without ``sequences/``, its ID lists (xlsx, PCD only) renamed to real IDs."""
    write_small_benchmark(root, id_lists="xlsx", sequences=False)
    pcd = root / "amcsmma" / "dataset1"
    write_xlsx(pcd / "SM number.xlsx", [[drug, i] for i, drug in enumerate(REAL_DRUGS)])
    write_xlsx(pcd / "miRNA number.xlsx", [[mirna, j] for j, mirna in enumerate(REAL_MIRNAS)])
    return root


def shipped_rows(name: str, id_column: str) -> dict[str, dict[str, str]]:
    with open(REPOSITORY_DATA / name, encoding="utf-8", newline="") as handle:
        return {row[id_column]: row for row in csv.DictReader(handle, delimiter="\t")}


def without_sequences(real_data_dir: Path, root: Path) -> Path:
    """A data directory holding the real benchmark files but no ``sequences/``."""
    root.mkdir()
    (root / "amcsmma").symlink_to((real_data_dir / "amcsmma").resolve(), target_is_directory=True)
    return root


@pytest.fixture
def shipped_copy(tmp_path, monkeypatch) -> Path:
    """A copy of the shipped tables that the loader reads instead of the installed ones."""
    copy = tmp_path / "shipped"
    copy.mkdir()
    for name in (*TABLES, "checksums.sha256"):
        shutil.copyfile(_sequences.SHIPPED_DIR / name, copy / name)
    monkeypatch.setattr(_sequences, "SHIPPED_DIR", copy)
    return copy


# --- the tables themselves ----------------------------------------------------------------------

def test_package_finds_the_tables_and_their_checksums_hold():
    assert (_sequences.SHIPPED_DIR / "drug_smiles.tsv").resolve() == (REPOSITORY_DATA / "drug_smiles.tsv").resolve()
    listed = dict(reversed(line.split("  ")) for line in (REPOSITORY_DATA / "checksums.sha256").read_text().splitlines())
    assert sorted(listed) == sorted(TABLES)
    for name in TABLES:
        data = (REPOSITORY_DATA / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == listed[name]
        assert len(data) < 1_000_000  # small text tables, not data sets
    drugs, mirnas = shipped_rows("drug_smiles.tsv", "drug_id"), shipped_rows("mirna_sequences.tsv", "mirna_id")
    assert len(drugs) == 831 and sum(bool(row["smiles"]) for row in drugs.values()) == 808
    assert sum("fcd" in row["datasets"].split(";") for row in drugs.values()) == 39
    assert len(mirnas) == 541 and sum("fcd" in row["datasets"].split(";") for row in mirnas.values()) == 286
    assert all(row["hairpin_seq"] for row in mirnas.values())


def test_loader_reads_the_shipped_values_for_real_ids(tmp_path):
    root = write_real_id_benchmark(tmp_path / "data")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every ID is listed: nothing to warn about
        pcd = load_dataset("pcd", root)
    drugs, mirnas = shipped_rows("drug_smiles.tsv", "drug_id"), shipped_rows("mirna_sequences.tsv", "mirna_id")
    assert pcd.drug_smiles == tuple(drugs[drug]["smiles"] or None for drug in REAL_DRUGS)
    assert pcd.drug_smiles[-1] is None and pcd.drug_smiles[1] == "O=NN(CCCl)C(=O)NCCCl"  # CID:5965; carmustine
    assert pcd.mirna_hairpin == tuple(mirnas[mirna]["hairpin_seq"] for mirna in REAL_MIRNAS)
    assert pcd.mirna_mature == tuple(mirnas[m]["mature_5p_seq"] or mirnas[m]["mature_3p_seq"] for m in REAL_MIRNAS)
    assert pcd.checksums["package:data/drug_smiles.tsv"] == hashlib.sha256((REPOSITORY_DATA / "drug_smiles.tsv").read_bytes()).hexdigest()
    assert "package:data/mirna_sequences.tsv" in pcd.checksums
    assert pcd.source == f"{root}; SMILES and sequences: tables shipped with sesl_jax"


def test_ids_missing_from_the_shipped_tables_warn(tmp_path):
    root = write_real_id_benchmark(tmp_path / "data")
    write_xlsx(root / "amcsmma/dataset1/miRNA number.xlsx", [[m, j] for j, m in enumerate([*REAL_MIRNAS[:4], "hsa-mir-new"])])
    with pytest.warns(UserWarning, match=r"1 of 5 miRNA IDs \(hsa-mir-new\) are not in the table shipped") as record:
        pcd = load_dataset("pcd", root)
    assert len(record) == 1
    assert pcd.mirna_hairpin[-1] is None and pcd.has_hairpin[:4].all() and pcd.has_smiles[:5].all()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "mirna_sequences.tsv").write_bytes((d / "mirna_sequences.tsv").read_bytes().replace(b"UGAG", b"UGAC", 1)),
         r"mirna_sequences.tsv: shipped table has sha256 [0-9a-f]{64}, expected [0-9a-f]{64} .*corrupted"),
        (lambda d: (d / "drug_smiles.tsv").unlink(), r"drug_smiles.tsv: shipped with sesl_jax but not found"),
        (lambda d: (d / "checksums.sha256").write_text("0" * 64 + "  other.tsv\n"), r"checksums.sha256: no sha256 listed for drug_smiles.tsv"),
        (lambda d: (d / "checksums.sha256").write_text("not a checksum line\n"), r"checksums.sha256: line 1 is not"),
    ],
    ids=["edited-table", "missing-table", "unlisted-table", "malformed-checksums"],
)
def test_damaged_shipped_tables_are_data_errors_naming_the_file(shipped_copy, tmp_path, damage, message):
    damage(shipped_copy)
    with pytest.raises(DataError, match=message):
        load_dataset("pcd", write_real_id_benchmark(tmp_path / "data"))


# --- a fresh install: no SESL_JAX_DATA, an empty cache, files from a 127.0.0.1 server -----------

def test_fresh_install_fits_the_default_method_and_ranks_a_smiles(
    tmp_path, http_server_root, fresh_user_cache, monkeypatch, capsys
):
    server_root, base_url = http_server_root
    manifest = serve_benchmark(write_real_id_benchmark(tmp_path / "source"), server_root)
    monkeypatch.setattr(_fetch, "_load_manifest", lambda: manifest)
    monkeypatch.setenv("SESL_JAX_DATA_URL", base_url)
    out = tmp_path / "fit"
    assert main(["fit", "--dataset", "fcd", "--out", str(out)]) == 0  # FCD's shipped default: SMILES-based drugs
    assert (fresh_user_cache / "amcsmma/dataset1/SM number.xlsx").is_file()
    assert not (fresh_user_cache / "sequences").exists()
    scores = pd.read_csv(out / "scores.csv", index_col=0)
    assert list(scores.index) == [REAL_DRUGS[i] for i in (1, 2, 4)] and scores.notna().all().all()
    config = pd.read_json(out / "config.json", typ="series")
    default = dataset_default("fcd").config
    assert config["config"]["method"] == default.method
    assert config["config"]["similarity"].startswith(default.resolved_similarity) and "drug=sequence" in default.resolved_similarity
    assert "package:data/drug_smiles.tsv" in config["data"]["checksums"]
    assert "SMILES and sequences: tables shipped with sesl_jax" in capsys.readouterr().err
    # PCD (one drug without SMILES, isolated with a warning) and a new molecule
    assert main(["rank", "--dataset", "pcd", "--smiles", ASPIRIN, "--top", "3"]) == 0
    captured = capsys.readouterr()
    assert "warning:" in captured.err and "CID:5965" in captured.err  # no SMILES: isolated by the similarity
    lines = captured.out.strip().splitlines()
    assert lines[0] == "rank,mirna_id,score,known" and len(lines) == 4
    assert {line.split(",")[1] for line in lines[1:]} <= set(REAL_MIRNAS)


def test_offline_first_run_suggests_a_local_data_directory(fresh_user_cache, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("SESL_JAX_DATA_URL", "http://127.0.0.1:9")  # nothing listens there
    assert main(["fit", "--dataset", "fcd", "--out", str(tmp_path / "fit")]) == 1
    error = capsys.readouterr().err
    assert "download from http://127.0.0.1:9/" in error and "failed" in error
    assert "--data-dir" in error and "$SESL_JAX_DATA" in error
    assert not list(fresh_user_cache.rglob("*.txt"))


# --- against the shared data directory (skipped without $SESL_JAX_DATA) -------------------------

@pytest.mark.realdata
def test_shipped_tables_give_exactly_the_shared_sequences(real_data_dir, tmp_path):
    bare = without_sequences(real_data_dir, tmp_path / "bare")
    for name in ("pcd", "fcd"):
        shared = load_dataset(name, real_data_dir)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            shipped = load_dataset(name, bare)
        assert shipped.drug_ids == shared.drug_ids and shipped.mirna_ids == shared.mirna_ids
        assert shipped.drug_smiles == shared.drug_smiles
        assert shipped.mirna_hairpin == shared.mirna_hairpin
        assert shipped.mirna_mature == shared.mirna_mature
        assert "sequences/drug831_smiles.tsv" in shared.checksums and "package:data/drug_smiles.tsv" in shipped.checksums
    assert int(shipped.has_smiles.sum()) == 39 and shipped.has_mature.all()


@pytest.mark.realdata
def test_make_tables_regenerates_the_shipped_bytes(real_data_dir, tmp_path):
    out = tmp_path / "tables"
    subprocess.run([sys.executable, str(REPOSITORY_DATA / "make_tables.py"), str(real_data_dir), "--out", str(out)],
                   check=True, capture_output=True, text=True)
    for name in (*TABLES, "checksums.sha256"):
        assert (out / name).read_bytes() == (REPOSITORY_DATA / name).read_bytes(), name


@pytest.mark.realdata
def test_fresh_install_on_the_real_benchmark(real_data_dir, tmp_path, http_server_root, fresh_user_cache, monkeypatch, capsys):
    """The packaged manifest and downloader, the real files served from 127.0.0.1, the shipped tables."""
    server_root, base_url = http_server_root
    for entry in _fetch._load_manifest()["files"]:
        target = server_root / entry["remote"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(real_data_dir / entry["path"], target)
    monkeypatch.setenv("SESL_JAX_DATA_URL", base_url)
    out = tmp_path / "fit"
    assert main(["fit", "--dataset", "fcd", "--out", str(out)]) == 0
    assert pd.read_csv(out / "scores.csv", index_col=0).shape == (39, 286)
    capsys.readouterr()
    assert main(["rank", "--dataset", "fcd", "--smiles", ASPIRIN, "--top", "5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "rank,mirna_id,score,known" and len(lines) == 6
    assert sorted(path.name for path in fresh_user_cache.rglob("*") if path.is_file()) == sorted(
        Path(entry["path"]).name for entry in _fetch._load_manifest()["files"]
    )
