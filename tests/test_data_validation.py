"""Benchmark loading on small written directories: the valid case, then one corruption per test."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    SMALL_FCD_DRUG_ROWS,
    SMALL_FCD_MIRNA_COLUMNS,
    SMALL_PCD_DRUGS,
    SMALL_PCD_MIRNAS,
    write_matrix,
)

from sesl_jax.data import DataError, Dataset, load_dataset

FCD = Path("amcsmma/dataset2")
PCD = Path("amcsmma/dataset1")


def read(path: Path) -> np.ndarray:
    return np.loadtxt(path, ndmin=2)


def test_small_fcd_loads_with_ids_sequences_and_checksums(small_data_dir):
    fcd = load_dataset("FCD", small_data_dir)
    assert fcd.name == "fcd"
    assert fcd.drug_ids == tuple(SMALL_PCD_DRUGS[i] for i in SMALL_FCD_DRUG_ROWS)
    assert fcd.mirna_ids == tuple(SMALL_PCD_MIRNAS[j] for j in SMALL_FCD_MIRNA_COLUMNS)
    assert fcd.associations.dtype == np.float64 and fcd.associations.shape == (3, 3)
    assert fcd.n_known == 5 and fcd.known_pairs().tolist() == [[0, 0], [0, 2], [1, 1], [2, 0], [2, 1]]
    assert fcd.drug_similarity.shape == (3, 3) and fcd.mirna_similarity.shape == (3, 3)
    assert fcd.drug_smiles == ("CC(O)C", "CC(O)CC", "CC(O)CCCC")  # the nostereo column
    # FCD miRNA 2 is PCD hsa-mir-3; PCD hsa-mir-2 (no 5p arm, DNA letters) is not in FCD
    assert fcd.mirna_hairpin[0] == "UGGGAUGAGGUAGUAGGAAA" and fcd.mirna_mature[0] == "UGAGGUAGCCC"
    assert set(fcd.checksums) >= {f"{FCD}/SM-miRNA association matrix 2.txt", "sequences/mirna541_sequences.tsv"}
    assert all(len(digest) == 64 for digest in fcd.checksums.values())
    assert fcd.source == str(small_data_dir)


def test_small_pcd_has_no_drug_similarity_and_maps_sequences_by_id(small_data_dir):
    pcd = load_dataset("pcd", small_data_dir)
    assert pcd.drug_similarity is None
    assert (pcd.n_drugs, pcd.n_mirnas, pcd.n_known) == (6, 5, 5)
    assert pcd.has_smiles.tolist() == [True] * 5 + [False]
    assert pcd.mirna_hairpin[1] == "UGGUU"  # T read as U, upper-cased
    assert pcd.mirna_mature[1] == "CUAUACAA"  # 3p arm when no 5p; first of ";"-joined arms
    assert pcd.has_mature.all() and pcd.has_hairpin.all()
    fcd = load_dataset("fcd", small_data_dir)
    rows = [pcd.drug_index(d) for d in fcd.drug_ids]
    cols = [pcd.mirna_index(m) for m in fcd.mirna_ids]
    np.testing.assert_array_equal(pcd.associations[np.ix_(rows, cols)], fcd.associations)
    np.testing.assert_array_equal(pcd.mirna_similarity[np.ix_(cols, cols)], fcd.mirna_similarity)


def test_xlsx_id_lists_and_fcd_ids_recovered_from_pcd(tmp_path):
    from conftest import write_small_benchmark

    root = write_small_benchmark(tmp_path / "xlsx", id_lists="xlsx")
    assert not (root / FCD / "SM number 2.csv").exists()
    fcd = load_dataset("fcd", root)
    assert fcd.drug_ids == tuple(SMALL_PCD_DRUGS[i] for i in SMALL_FCD_DRUG_ROWS)
    assert fcd.mirna_ids == tuple(SMALL_PCD_MIRNAS[j] for j in SMALL_FCD_MIRNA_COLUMNS)
    assert f"{PCD}/SM number.xlsx" in fcd.checksums


def test_fcd_id_list_disagreeing_with_pcd_pairs(tmp_path):
    from conftest import write_csv, write_small_benchmark

    root = write_small_benchmark(tmp_path / "xlsx", id_lists="xlsx")
    write_csv(root / FCD / "SM number 2.csv", [[0, "CID:22"], [1, "CID:55"], [2, "CID:33"]])
    with pytest.raises(DataError, match="SM number 2: row 1 disagrees with the IDs the PCD pair list gives"):
        load_dataset("fcd", root)


def test_arrays_are_read_only(small_data_dir):
    fcd = load_dataset("fcd", small_data_dir)
    for matrix in (fcd.associations, fcd.drug_similarity, fcd.mirna_similarity):
        with pytest.raises(ValueError):
            matrix[0, 0] = 0.5
    with pytest.raises(TypeError):
        fcd.checksums["x"] = "y"


def test_unknown_id_names_it_and_close_matches(small_data_dir):
    fcd = load_dataset("fcd", small_data_dir)
    assert fcd.drug_index("CID:22") == 0
    with pytest.raises(DataError, match=r"unknown miRNA ID 'hsa-mir-44'.*hsa-mir-4"):
        fcd.mirna_index("hsa-mir-44")
    with pytest.raises(DataError, match="unknown drug ID 'CID:999'"):
        fcd.drug_index("CID:999")


def test_summary_counts(small_data_dir):
    summary = load_dataset("pcd", small_data_dir).summary()
    assert summary["drugs"] == 6 and summary["mirnas"] == 5 and summary["known_pairs"] == 5
    assert summary["drugs_with_pairs"] == 3 and summary["mirnas_with_pairs"] == 3
    assert summary["density"] == pytest.approx(5 / 30)
    assert summary["drugs_with_smiles"] == 5 and summary["mirnas_with_hairpin"] == 5
    assert summary["drug_similarity"] is False and summary["mirna_similarity"] is True


def test_unknown_benchmark_name(small_data_dir):
    with pytest.raises(DataError, match="unknown benchmark 'xyz'.*fcd, pcd"):
        load_dataset("xyz", small_data_dir)


# --- one corruption per test -----------------------------------------------------------------


def corrupt_matrix(path: Path, change) -> None:
    matrix = read(path)
    change(matrix)
    write_matrix(path, matrix, fmt="%g")


def test_bad_shape(small_data_dir):
    path = small_data_dir / FCD / "SM-miRNA association matrix 2.txt"
    write_matrix(path, np.hstack([read(path), np.zeros((3, 1))]), fmt="%d")
    with pytest.raises(DataError, match=r"association matrix 2.txt: shape 3 x 4 does not match .* 3 x 3"):
        load_dataset("fcd", small_data_dir)


def test_ragged_matrix_line(small_data_dir):
    path = small_data_dir / FCD / "SM similarity matrix 2.txt"
    lines = path.read_text().splitlines()
    lines[1] += " 0.5"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="SM similarity matrix 2.txt: line 2 has 4 values, line 1 has 3"):
        load_dataset("fcd", small_data_dir)


def test_non_numeric_entry(small_data_dir):
    path = small_data_dir / FCD / "miRNA similarity matrix 2.txt"
    path.write_text(path.read_text().replace("\n", "\n0.1 x 0.2\n", 1).rsplit("\n", 2)[0] + "\n")
    with pytest.raises(DataError, match=r"miRNA similarity matrix 2.txt: line 2, value 2 is 'x'"):
        load_dataset("fcd", small_data_dir)


def test_non_binary_association(small_data_dir):
    path = small_data_dir / FCD / "SM-miRNA association matrix 2.txt"
    corrupt_matrix(path, lambda a: a.__setitem__((1, 2), 2))
    with pytest.raises(DataError, match=r"association matrix 2.txt: row 1, column 2 holds 2; associations must be 0 or 1"):
        load_dataset("fcd", small_data_dir)


def test_asymmetric_similarity(small_data_dir):
    path = small_data_dir / FCD / "SM similarity matrix 2.txt"
    corrupt_matrix(path, lambda s: s.__setitem__((0, 2), 0.25))
    with pytest.raises(DataError, match=r"SM similarity matrix 2.txt: not symmetric: row 0, column 2 holds 0.25"):
        load_dataset("fcd", small_data_dir)


def test_nan_similarity(small_data_dir):
    path = small_data_dir / FCD / "miRNA similarity matrix 2.txt"

    def put_nan(s):
        s[0, 1] = s[1, 0] = np.nan

    corrupt_matrix(path, put_nan)
    with pytest.raises(DataError, match=r"miRNA similarity matrix 2.txt: row 0, column 1 holds nan; values must be finite"):
        load_dataset("fcd", small_data_dir)


@pytest.mark.parametrize("value", [1.5, -0.1])
def test_out_of_range_similarity(small_data_dir, value):
    path = small_data_dir / PCD / "miRNA similarity matrix.txt"

    def put(s):
        s[1, 3] = s[3, 1] = value

    corrupt_matrix(path, put)
    with pytest.raises(DataError, match=rf"miRNA similarity matrix.txt: row 1, column 3 holds {value}; .*\[0, 1\]"):
        load_dataset("pcd", small_data_dir)


def test_non_square_similarity(small_data_dir):
    path = small_data_dir / FCD / "SM similarity matrix 2.txt"
    write_matrix(path, read(path)[:2])
    with pytest.raises(DataError, match="SM similarity matrix 2.txt: a similarity matrix must be square, got 2 x 3"):
        load_dataset("fcd", small_data_dir)


def test_similarity_size_disagrees_with_ids(small_data_dir):
    path = small_data_dir / PCD / "miRNA similarity matrix.txt"
    write_matrix(path, read(path)[:4, :4])
    with pytest.raises(DataError, match=r"miRNA similarity matrix.txt: shape 4 x 4 does not match the miRNA ID list 5 x 5"):
        load_dataset("pcd", small_data_dir)


def test_duplicate_id(small_data_dir):
    path = small_data_dir / FCD / "miRNA number 2.csv"
    path.write_text(path.read_text().replace("hsa-mir-1\n", "hsa-mir-4\n"))
    with pytest.raises(DataError, match=r"miRNA number 2.csv: duplicate miRNA ID 'hsa-mir-4' in rows 0 and 1"):
        load_dataset("fcd", small_data_dir)


def test_id_list_index_out_of_order(small_data_dir):
    path = small_data_dir / PCD / "SM number.csv"
    path.write_text(path.read_text().replace("CID:22,1", "CID:22,7"))
    with pytest.raises(DataError, match=r"SM number.csv: row 1: index column holds 7, expected 1"):
        load_dataset("pcd", small_data_dir)


@pytest.mark.parametrize(
    "missing",
    ["SM similarity matrix 2.txt", "SM-miRNA association matrix 2.txt", "SM-miRNA-confirmed associations 2.txt"],
)
def test_missing_required_file(small_data_dir, missing):
    (small_data_dir / FCD / missing).unlink()
    with pytest.raises(DataError, match=f"{FCD}/{missing}: required .* not found"):
        load_dataset("fcd", small_data_dir)


def test_missing_id_list(small_data_dir):
    (small_data_dir / PCD / "SM number.csv").unlink()
    with pytest.raises(DataError, match=r"SM number.csv \(or .xlsx\): required ID list not found"):
        load_dataset("pcd", small_data_dir)


def test_pair_list_names_a_zero_of_the_matrix(small_data_dir):
    path = small_data_dir / FCD / "SM-miRNA-confirmed associations 2.txt"
    corrupt_matrix(path, lambda p: p.__setitem__((2, 1), 0))  # (1, 1) -> (1, 0), a zero of A
    with pytest.raises(DataError, match=r"associations 2.txt: row 2: pair \(1, 0\) is not a known association"):
        load_dataset("fcd", small_data_dir)


def test_pair_list_misses_a_one_of_the_matrix(small_data_dir):
    path = small_data_dir / FCD / "SM-miRNA-confirmed associations 2.txt"
    write_matrix(path, read(path)[:-1], fmt="%d")
    with pytest.raises(DataError, match=r"lists 4 pairs but the association matrix has 5 ones; e.g. \(2, 1\) is missing"):
        load_dataset("fcd", small_data_dir)


def test_pair_list_repeats_a_pair(small_data_dir):
    path = small_data_dir / FCD / "SM-miRNA-confirmed associations 2.txt"
    pairs = read(path)
    write_matrix(path, np.vstack([pairs, pairs[:1]]), fmt="%d")
    with pytest.raises(DataError, match=r"rows 0 and 5 both list pair \(0, 0\)"):
        load_dataset("fcd", small_data_dir)


def test_pair_list_index_out_of_range(small_data_dir):
    path = small_data_dir / FCD / "SM-miRNA-confirmed associations 2.txt"
    corrupt_matrix(path, lambda p: p.__setitem__((4, 0), 3))
    with pytest.raises(DataError, match=r"row 4: pair \(3, 1\) is outside the 3 x 3 association matrix"):
        load_dataset("fcd", small_data_dir)


def test_missing_sequence_files_warn_and_leave_none(small_data_dir):
    for name in ("drug831_smiles.tsv", "mirna541_sequences.tsv"):
        (small_data_dir / "sequences" / name).unlink()
    with pytest.warns(UserWarning, match="not found") as record:
        fcd = load_dataset("fcd", small_data_dir)
    assert len(record) == 2
    assert fcd.drug_smiles == (None,) * 3 and fcd.mirna_hairpin == (None,) * 3 and fcd.mirna_mature == (None,) * 3
    assert not fcd.has_smiles.any() and not fcd.has_hairpin.any()


def test_invalid_rna_letter(small_data_dir):
    path = small_data_dir / "sequences" / "mirna541_sequences.tsv"
    path.write_text(path.read_text().replace("UGGGAUGAGGUAGUAGGAAA", "UGGGAUGNGG"))
    with pytest.raises(DataError, match=r"mirna541_sequences.tsv: line 5: sequence 'UGGGAUGNGG' holds 'N'"):
        load_dataset("fcd", small_data_dir)


def test_duplicate_id_in_sequence_file(small_data_dir):
    path = small_data_dir / "sequences" / "drug831_smiles.tsv"
    path.write_text(path.read_text() + "9\tCID:22\tCC\tCC\tCC\n")
    with pytest.raises(DataError, match=r"drug831_smiles.tsv: line 8: 'CID:22' already listed on line 3"):
        load_dataset("fcd", small_data_dir)


def test_dataset_validates_direct_construction():
    with pytest.raises(DataError, match="shape 2 x 2 does not match the ID lists 2 x 3"):
        Dataset(name="x", drug_ids=("a", "b"), mirna_ids=("m", "n", "o"), associations=np.eye(2))
    with pytest.raises(DataError, match="duplicate drug ID 'a'"):
        Dataset(name="x", drug_ids=("a", "a"), mirna_ids=("m", "n"), associations=np.eye(2))
    with pytest.raises(DataError, match="not symmetric"):
        Dataset(name="x", drug_ids=("a", "b"), mirna_ids=("m", "n"), associations=np.eye(2),
                drug_similarity=np.array([[1.0, 0.2], [0.3, 1.0]]))
    dataset = Dataset(name="x", drug_ids=["a", "b"], mirna_ids=("m", "n"), associations=np.eye(2, dtype=int))
    assert dataset.associations.dtype == np.float64 and not dataset.associations.flags.writeable
    assert dataset.drug_smiles == (None, None) and dataset.mirna_mature == (None, None)


def test_no_warnings_on_valid_directory(small_data_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset("pcd", small_data_dir)


@pytest.mark.parametrize("changes, message", [
    ({"drug_ids": (1, 2)}, r"row 0: drug ID 1 is not text"),
    ({"drug_ids": "AB"}, "drug_ids takes a list, one entry per item; got the single string 'AB'"),
    ({"drug_ids": ("a\nb", "c")}, r"contains '\\n'"),
    ({"drug_smiles": "CC"}, "drug_smiles takes a list, one entry per item"),
    ({"drug_smiles": ("C C", "CC")}, r"drug_smiles\[0\]: SMILES 'C C' is empty or contains whitespace"),
    ({"mirna_mature": ("ACGU", "")}, r"mirna_mature\[1\] is empty: give None where there is no sequence"),
    ({"mirna_hairpin": (5, None)}, r"mirna_hairpin\[0\] is 5: a SMILES or sequence must be text"),
    ({"mirna_mature": ("ACGX", None)}, "holds 'X'"),
])
def test_a_dataset_built_directly_is_checked_as_files_are(changes, message):
    fields = dict(name="direct", drug_ids=("d1", "d2"), mirna_ids=("m1", "m2"), associations=np.eye(2))
    with pytest.raises(DataError, match=message):
        Dataset(**{**fields, **changes})


def test_a_dataset_built_directly_stores_rna_as_the_loaders_do():
    dataset = Dataset(name="direct", drug_ids=("d1", "d2"), mirna_ids=("m1", "m2"), associations=np.eye(2),
                      mirna_mature=("acgt", None))
    assert dataset.mirna_mature == ("ACGU", None)
