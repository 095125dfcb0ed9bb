"""The real PCD and FCD benchmarks (skipped unless $SESL_JAX_DATA points at the shared data)."""

from __future__ import annotations

import csv
import os
import re

import numpy as np
import pytest

from sesl_jax.data import load_dataset, resolve_data_dir

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def benchmarks():
    """(PCD, FCD) from $SESL_JAX_DATA, loaded once for the module."""
    if not os.environ.get("SESL_JAX_DATA"):
        pytest.skip("SESL_JAX_DATA is not set")
    return load_dataset("pcd"), load_dataset("fcd")


def test_sizes_and_pairs(benchmarks):
    pcd, fcd = benchmarks
    assert (pcd.n_drugs, pcd.n_mirnas, pcd.n_known) == (831, 541, 664)
    assert (fcd.n_drugs, fcd.n_mirnas, fcd.n_known) == (39, 286, 664)
    assert pcd.summary()["drugs_with_pairs"] == 39 and pcd.summary()["mirnas_with_pairs"] == 286
    assert pcd.drug_similarity is None and pcd.mirna_similarity.shape == (541, 541)
    assert fcd.drug_similarity.shape == (39, 39) and fcd.mirna_similarity.shape == (286, 286)
    assert pcd.mirna_ids[540] == "hsa-mir-219-a"
    # first pair of the PCD list: row 75, column 177 = CID:2578 - hsa-mir-200c
    assert (pcd.drug_ids[75], pcd.mirna_ids[177]) == ("CID:2578", "hsa-mir-200c")
    assert pcd.associations[75, 177] == 1 and fcd.associations[0, 0] == 1


def test_fcd_is_the_pcd_block_through_the_id_lists(benchmarks):
    pcd, fcd = benchmarks
    rows = np.array([pcd.drug_index(d) for d in fcd.drug_ids])
    cols = np.array([pcd.mirna_index(m) for m in fcd.mirna_ids])
    np.testing.assert_array_equal(pcd.associations[np.ix_(rows, cols)], fcd.associations)
    np.testing.assert_array_equal(pcd.mirna_similarity[np.ix_(cols, cols)], fcd.mirna_similarity)
    assert np.all(np.diff(rows) > 0)  # FCD drugs keep PCD order ...
    assert not np.all(np.diff(cols) > 0)  # ... FCD miRNAs do not
    assert set(rows) == set(np.flatnonzero(pcd.associations.any(axis=1)))
    assert set(cols) == set(np.flatnonzero(pcd.associations.any(axis=0)))


def test_fcd_mirna_map_agrees_with_derived_index_file(benchmarks, real_data_dir):
    pcd, fcd = benchmarks
    with open(real_data_dir / "derived" / "ds2_to_ds1_mirna_index.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["miRNA"] for row in rows] == list(fcd.mirna_ids)
    assert [int(row["ds1_index"]) for row in rows] == [pcd.mirna_index(m) for m in fcd.mirna_ids]


def test_similarity_diagonals_are_valid_but_not_one(benchmarks):
    pcd, fcd = benchmarks
    assert np.median(np.diag(pcd.mirna_similarity)) == pytest.approx(0.64, abs=0.01)
    assert np.diag(fcd.drug_similarity).min() >= 0.81 and np.diag(fcd.drug_similarity).max() <= 0.9


def test_sequences_are_aligned_by_id(benchmarks):
    pcd, fcd = benchmarks
    assert int(pcd.has_smiles.sum()) == 808 and fcd.has_smiles.all()
    assert pcd.has_hairpin.all() and pcd.has_mature.all()
    rna = re.compile("[ACGU]+")
    assert all(rna.fullmatch(s) for s in pcd.mirna_hairpin + pcd.mirna_mature)
    for i, drug in enumerate(fcd.drug_ids):
        assert fcd.drug_smiles[i] == pcd.drug_smiles[pcd.drug_index(drug)]
    for j, mirna in enumerate(fcd.mirna_ids):
        assert fcd.mirna_hairpin[j] == pcd.mirna_hairpin[pcd.mirna_index(mirna)]
    # let-7a-1: 5p arm is the mature form
    assert pcd.mirna_mature[pcd.mirna_index("hsa-let-7a-1")] == "UGAGGUAGUAGGUUGUAUAGUU"


def test_checksums_cover_every_file_read(benchmarks, real_data_dir):
    pcd, fcd = benchmarks
    assert "amcsmma/dataset1/SM-miRNA association matrix.txt" in pcd.checksums
    assert "sequences/drug831_smiles.tsv" in fcd.checksums
    assert all((real_data_dir / path).is_file() for path in pcd.checksums)
    assert pcd.source == str(resolve_data_dir())
