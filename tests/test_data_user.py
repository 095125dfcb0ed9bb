"""User pair files (CSV/TSV) and the raw SM2miR download."""

from __future__ import annotations

import os

import numpy as np
import pytest

from sesl_jax.data import DataError, load_dataset, load_pairs, load_sm2mir


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_pairs_with_optional_columns(tmp_path):
    path = write(tmp_path / "mine.csv", (
        "drug_id,mirna_id,smiles,sequence\n"
        "CID:5,hsa-mir-21,CCO,UAGCUUAUCAGACUGAUGUUGA\n"
        "CID:2, hsa-let-7a ,,ugagguag\n"
        "\n"
        "CID:5,hsa-let-7a,CCO,\n"
    ))
    dataset = load_pairs(path)
    assert dataset.name == "mine"
    assert dataset.drug_ids == ("CID:5", "CID:2")  # first-seen order
    assert dataset.mirna_ids == ("hsa-mir-21", "hsa-let-7a")
    np.testing.assert_array_equal(dataset.associations, [[1, 1], [0, 1]])
    assert dataset.drug_smiles == ("CCO", None)
    assert dataset.mirna_hairpin == ("UAGCUUAUCAGACUGAUGUUGA", "UGAGGUAG")
    assert dataset.mirna_mature == (None, None)
    assert dataset.drug_similarity is None and dataset.mirna_similarity is None
    assert set(dataset.checksums) == {"mine.csv"}


def test_tsv_custom_columns_and_mature_sequences(tmp_path):
    path = write(tmp_path / "pairs.txt", "drug\tmirna\tseq\nD1\tM1\tACGT\nD2\tM1\t\n")
    dataset = load_pairs(path, name="custom", drug_col="drug", mirna_col="mirna", smiles_col=None,
                         sequence_col="seq", sequence_kind="mature")
    assert (dataset.name, dataset.n_drugs, dataset.n_mirnas, dataset.n_known) == ("custom", 2, 1, 2)
    assert dataset.mirna_mature == ("ACGU",) and dataset.mirna_hairpin == (None,)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("CID:1,m1\nCID:2,m2\nCID:1,m1\n", r"line 4: pair \(CID:1, m1\) already listed on line 2"),
        ("CID:1,m1\n,m2\n", "line 3: empty drug_id"),
        ("CID:1,\n", "line 2: empty mirna_id"),
        # values must be printable text on one line
        ('CID:1,m1\n"CID:3229\nX",m2\n', r"line 3: drug_id: 'CID:3229\\nX' contains '\\n'; values must be printable"),
        ("CID:1,m1\nCID:32\x0029,m2\n", r"line 3: drug_id: 'CID:32\\x0029' contains '\\x00'; values must be printable"),
        ('CID:1,m1\n"CID:1\tX",m2\n', r"line 3: drug_id: 'CID:1\\tX' contains '\\t'; values must be printable"),
    ],
)
def test_pair_errors_name_the_line(tmp_path, body, message):
    path = write(tmp_path / "pairs.csv", "drug_id,mirna_id\n" + body)
    with pytest.raises(DataError, match=f"pairs.csv: {message}"):
        load_pairs(path)


def test_conflicting_smiles_for_one_drug(tmp_path):
    path = write(tmp_path / "pairs.csv", "drug_id,mirna_id,smiles\nD,m1,CCO\nD,m2,CCN\n")
    with pytest.raises(DataError, match=r"pairs.csv: line 3: 'D' has SMILES 'CCN' but line 2 gave 'CCO'"):
        load_pairs(path)


def test_conflicting_and_invalid_sequences(tmp_path):
    path = write(tmp_path / "pairs.csv", "drug_id,mirna_id,sequence\nD,m,ACGU\nE,m,ACGG\n")
    with pytest.raises(DataError, match=r"line 3: 'm' has sequence 'ACGG' but line 2 gave 'ACGU'"):
        load_pairs(path)
    path = write(tmp_path / "bad.csv", "drug_id,mirna_id,sequence\nD,m,ACXU\n")
    with pytest.raises(DataError, match=r"bad.csv: line 2: miRNA 'm': sequence 'ACXU' holds 'X'"):
        load_pairs(path)


def test_missing_column_and_file(tmp_path):
    path = write(tmp_path / "pairs.csv", "drug,mirna_id\nD,m\n")
    with pytest.raises(DataError, match=r"pairs.csv: missing column\(s\) drug_id; expected columns drug_id, mirna_id "
                                        r"\(optional smiles, sequence\), found 'drug', 'mirna_id'$"):
        load_pairs(path)
    with pytest.raises(DataError, match="not found"):
        load_pairs(tmp_path / "absent.csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"empty.csv: the file is empty; expected a header line with columns drug_id, mirna_id"),
        ("\nCID:1,m1\n", r"empty.csv: line 1 \(the header\) is blank"),
        ("drug_id,mirna_id,drug_id\nCID:3229,hsa-mir-21,X\n",
         r"empty.csv: column 'drug_id' appears twice in the header \(columns 1 and 3\)"),
        ("drug_\0id,mirna_id\nCID:1,m1\n", r"found 'drug_\\x00id', 'mirna_id'$"),  # NUL shown escaped
    ],
)
def test_header_errors(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        load_pairs(write(tmp_path / "empty.csv", text))


def test_directory_is_named_as_one(tmp_path):
    (tmp_path / "pairs.csv").mkdir()
    with pytest.raises(DataError, match=r"pairs.csv: is a directory, not a pair file"):
        load_pairs(tmp_path / "pairs.csv")


def test_tab_separated_file_named_csv_reads_as_tab_separated(tmp_path):
    dataset = load_pairs(write(tmp_path / "pairs.csv", "drug_id\tmirna_id\tsmiles\nCID:1\thsa-mir-21\tCCO\n"))
    assert (dataset.drug_ids, dataset.mirna_ids, dataset.drug_smiles) == (("CID:1",), ("hsa-mir-21",), ("CCO",))


def test_extra_fields_are_an_error_unless_empty(tmp_path):
    path = write(tmp_path / "pairs.csv",
                 "drug_id,mirna_id\nCID:3229,hsa-mir-21\nCID:3385,hsa-mir-22,CCN,UAGCUU\n")
    with pytest.raises(DataError, match=r"pairs.csv: line 3: the row has more fields than the header \(4 vs 2\): "
                                        r"extra value 'CCN'"):
        load_pairs(path)
    # empty trailing fields, as spreadsheets export them, are no data: tolerated
    path = write(tmp_path / "export.csv", "drug_id,mirna_id,\nCID:1,m1,\nCID:2,m2,,\n")
    assert load_pairs(path).drug_ids == ("CID:1", "CID:2")
    # a SMILES table is read the same way
    from sesl_jax.data._user_pairs import with_input_tables

    table = write(tmp_path / "smiles.csv", "drug_id,smiles\nCID:1,CCO,x\n")
    with pytest.raises(DataError, match=r"smiles.csv: line 2: the row has more fields than the header \(3 vs 2\)"):
        with_input_tables(load_pairs(path), smiles_table=table)


def test_line_numbers_count_blank_lines_and_quoted_line_breaks(tmp_path):
    path = write(tmp_path / "pairs.csv", 'drug_id,mirna_id,note\nD,m,"two\nlines"\n\nD,m,\n')
    with pytest.raises(DataError, match=r"pairs.csv: line 5: pair \(D, m\) already listed on line 2"):
        load_pairs(path)


SM2MIR_HEADER = (
    "miRNA\tmiRBase\tsmall melocule\tFDA\tDB\tCID\tDetection method \tSpecies\tCondition\tPMID\tYear\t"
    "Reference\tSupport\tExpression pattern of miRNA\t\n"
)


def sm2mir_record(mirna, drug, cid, species):
    return f"{mirna}\tNULL\t{drug}\tNULL\tNULL\t{cid}\tqPCR\t{species}\tcells\t1\t2012\tref\tsupport\tup\t\n"


def test_sm2mir_small_example(tmp_path):
    path = write(tmp_path / "sm2mir.txt", SM2MIR_HEADER + "".join([
        sm2mir_record("miR-21 ", "Curcumin", "969516", "Homo sapiens "),
        sm2mir_record("miR-34a*", "Curcumin", "969516", "Homo sapiens"),
        sm2mir_record("miR-34a-5p", "Curcumin", "969516", "Homo sapiens"),  # same pair as above
        sm2mir_record("let-7a", "Caudatin", "NULL", "Homo sapiens"),  # no CID: named by the molecule
        sm2mir_record("miR-21", "Glucose", "5793", "Mus musculus"),  # other species
        sm2mir_record("NULL", "Aspirin", "2244", "Homo sapiens"),  # missing miRNA
        sm2mir_record("miR-155", "NULL", "NULL", "Homo sapiens"),  # missing drug
        sm2mir_record("miR-155", "Cura\xe7ao extract", "NULL", "Homo sapiens"),  # latin-1 name
    ]), encoding="latin-1")
    with pytest.warns(UserWarning, match=r"sm2mir.txt: skipped 2 record\(s\) .*: lines 7, 8"):
        dataset = load_sm2mir(path)
    assert dataset.drug_ids == ("CID:969516", "Caudatin", "Cura\xe7ao extract")
    assert dataset.mirna_ids == ("hsa-mir-21", "hsa-mir-34a", "hsa-let-7a", "hsa-mir-155")
    np.testing.assert_array_equal(dataset.associations, [[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    mouse = load_sm2mir(path, species="mus musculus", name="mouse")
    assert (mouse.name, mouse.drug_ids, mouse.mirna_ids) == ("mouse", ("CID:5793",), ("mmu-mir-21",))
    with pytest.raises(DataError, match="no complete records for species 'Danio rerio'"):
        load_sm2mir(path, species="Danio rerio")


def test_sm2mir_names_in_several_letter_cases_are_one_drug(tmp_path):
    path = write(tmp_path / "sm2mir.txt", SM2MIR_HEADER + "".join([
        sm2mir_record("miR-21", "Caudatin", "NULL", "Homo sapiens"),
        sm2mir_record("miR-155", "caudatin", "NULL", "Homo sapiens"),
        sm2mir_record("miR-155", "CAUDATIN ", "NULL", "Homo sapiens"),
        sm2mir_record("miR-21", "Tanshinone", "NULL", "Homo sapiens"),
    ]), encoding="latin-1")
    with pytest.warns(UserWarning, match="1 drug name.* read as one drug under its first spelling: "
                                         "CAUDATIN = Caudatin = caudatin"):
        dataset = load_sm2mir(path)
    assert dataset.drug_ids == ("Caudatin", "Tanshinone")
    np.testing.assert_array_equal(dataset.associations, [[1, 1], [1, 0]])
    with pytest.raises(TypeError, match="species must be a name"):
        load_sm2mir(path, species=5)


def test_load_pairs_column_arguments_are_checked(tmp_path):
    path = write(tmp_path / "pairs.csv", "drug_id,mirna_id,smiles\nD1,m1,CCO\n")
    with pytest.raises(DataError, match="pairs.csv.*canonical_smiles"):
        load_pairs(path, smiles_col="canonical_smiles")
    with pytest.raises(DataError, match=r"column 'mirna_id' is named for two roles \(drug_col, mirna_col\)"):
        load_pairs(path, drug_col="mirna_id")
    with pytest.raises(DataError, match="drug_col must name a column, got None"):
        load_pairs(path, drug_col=None)
    assert load_pairs(path, sequence_col="sequence").drug_smiles == ("CCO",)  # the default columns may be absent


def test_sm2mir_rejects_other_formats_and_bad_cids(tmp_path):
    path = write(tmp_path / "other.txt", "a\tb\n1\t2\n")
    with pytest.raises(DataError, match="other.txt: no 'mirna' column"):
        load_sm2mir(path)
    for text in ("", "\n\n"):
        path = write(tmp_path / "empty.txt", text)
        with pytest.raises(DataError, match="empty.txt: the file is empty or its first line"):
            load_sm2mir(path)
    path = write(tmp_path / "bad.txt", SM2MIR_HEADER + sm2mir_record("miR-21", "X", "12a", "Homo sapiens"))
    with pytest.raises(DataError, match=r"bad.txt: line 2: CID '12a' is not a PubChem compound number"):
        load_sm2mir(path)


def test_sm2mir_real_file_covers_the_fcd_drugs(real_data_dir):
    dataset = load_sm2mir(real_data_dir / "schemnet" / "SM2miR3_2015.txt")
    assert all(m.startswith("hsa-") for m in dataset.mirna_ids)
    assert dataset.n_known > 2000 and dataset.n_drugs > 143  # 143 CIDs plus molecules known by name only
    assert sum(d.startswith("CID:") for d in dataset.drug_ids) == 143
    fcd = load_dataset("fcd", real_data_dir)
    assert set(fcd.drug_ids) <= set(dataset.drug_ids)
    # the first benchmark pair is in SM2miR too: CID:2578 - miR-200c
    assert dataset.associations[dataset.drug_index("CID:2578"), dataset.mirna_index("hsa-mir-200c")] == 1
    assert os.fspath(real_data_dir / "schemnet") == dataset.source


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("D,m1,C1CC\n", r"pairs.csv: line 2: drug 'D': SMILES 'C1CC' is not a valid molecule"),
        ("D,m1,CCO\nd,m2,CCO\n", r"pairs.csv: line 3: drug ID 'd' differs only in letter case from 'D' on line 2"),
        ("D,hsa-mir-21,\nE,hsa-miR-21,\n", r"line 3: miRNA ID 'hsa-miR-21' differs only in letter case from 'hsa-mir-21'"),
    ],
)
def test_pairs_refuse_bad_smiles_and_case_variant_ids(tmp_path, body, message):
    path = write(tmp_path / "pairs.csv", "drug_id,mirna_id,smiles\n" + body)
    with pytest.raises(DataError, match=message):
        load_pairs(path)


def test_input_tables_fill_smiles_and_sequences(tmp_path):
    from sesl_jax.data._user_pairs import with_input_tables

    pairs = write(tmp_path / "pairs.csv", "drug_id,mirna_id,smiles\nD1,m1,CCO\nD2,m2,\nD3,m1,\n")
    smiles = write(tmp_path / "smiles.tsv", "drug_id\tsmiles\nD2\tCCN\nD1\tCCO\nOTHER\tC\n")
    sequences = write(tmp_path / "mirnas.csv", "mirna_id,sequence\nm2,ugagguag\n")
    with pytest.warns(UserWarning, match=r"smiles.tsv: 1 row\(s\) name drugs not in the data, not used \(OTHER\)"):
        dataset = with_input_tables(load_pairs(pairs), smiles_table=smiles, sequence_table=sequences)
    assert dataset.drug_smiles == ("CCO", "CCN", None)
    assert dataset.mirna_mature == (None, "UGAGGUAG") and dataset.mirna_hairpin == (None, None)
    assert set(dataset.checksums) == {"pairs.csv", "smiles.tsv", "mirnas.csv"}

    conflicting = write(tmp_path / "conflict.csv", "drug_id,smiles\nD1,CCCC\n")
    with pytest.raises(DataError, match=r"conflict.csv: line 2: drug 'D1' has smiles 'CCCC' but dataset 'pairs' already"):
        with_input_tables(load_pairs(pairs), smiles_table=conflicting)
    unrelated = write(tmp_path / "unrelated.csv", "drug_id,smiles\nX,C\n")
    with pytest.raises(DataError, match=r"unrelated.csv: none of its drug_id values is an ID of dataset 'pairs'"):
        with_input_tables(load_pairs(pairs), smiles_table=unrelated)
    case = write(tmp_path / "case.csv", "drug_id,smiles\nd2,C\n")
    with pytest.raises(DataError, match=r"case.csv: line 2: drug ID 'd2' is not in the dataset but 'D2' is"):
        with_input_tables(load_pairs(pairs), smiles_table=case)
    bad = write(tmp_path / "bad.csv", "mirna_id,sequence\nm1,ACGX\n")
    with pytest.raises(DataError, match=r"bad.csv: line 2: miRNA 'm1': sequence 'ACGX' holds 'X'"):
        with_input_tables(load_pairs(pairs), sequence_table=bad)


def test_columns_not_read_are_named_and_a_case_variant_is_an_error(tmp_path):
    """A column the reader does not ask for is said, not dropped unseen; one named like a read column
    but for letter case would drop its data, so it stops the read."""
    noted = write(tmp_path / "noted.csv", "drug_id,mirna_id,note\nD1,m1,from a review\n")
    with pytest.warns(UserWarning, match=r"noted.csv: column\(s\) 'note' not read \(the columns read: drug_id, "
                                         r"mirna_id \(optional smiles, sequence\)\)"):
        assert load_pairs(noted).n_drugs == 1
    shouted = write(tmp_path / "shouted.csv", "drug_id,mirna_id,SMILES\nD1,m1,CCO\n")
    with pytest.raises(DataError, match=r"shouted.csv: column 'SMILES' is not read: column names are case-sensitive; "
                                        r"name it 'smiles'"):
        load_pairs(shouted)
