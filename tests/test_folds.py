"""Folds: every protocol hides only known pairs, covers what it should, and round-trips through a file."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from sesl_jax.evaluation.folds import (
    Folds,
    candidate_mask,
    hidden_masks,
    kfold_folds,
    known_pairs,
    loocv_folds,
    new_drug_folds,
    new_mirna_folds,
    read_fold_file,
    write_fold_file,
)


@pytest.fixture
def associations() -> np.ndarray:
    rng = np.random.default_rng(3)
    matrix = (rng.random((7, 11)) < 0.3).astype(np.int8)
    matrix[5] = 0  # a drug with no known pair
    matrix[:, 4] = 0  # a miRNA with no known pair
    matrix[0, 0] = 1
    return matrix


@pytest.fixture
def ids(associations):
    n_drugs, n_mirnas = associations.shape
    return [f"CID:{100 + i}" for i in range(n_drugs)], [f"hsa-mir-{j}" for j in range(n_mirnas)]


def _pairs_of(folds: Folds, fold: int) -> set[tuple[int, int]]:
    return {tuple(p) for p in folds.fold_pairs(fold).tolist()}


def _check_layout(folds: Folds, associations: np.ndarray) -> None:
    assert folds.hidden.dtype == np.int32 and folds.hidden.shape[0] == folds.n_folds
    for f in range(folds.n_folds):
        real = folds.fold_pairs(f)
        assert associations[real[:, 0], real[:, 1]].all(), "only known pairs may be hidden"
        assert (folds.hidden[f, folds.n_hidden[f]:] == -1).all(), "padding rows are -1"
        assert len(_pairs_of(folds, f)) == folds.n_hidden[f], "no pair twice in a fold"


def test_loocv_one_fold_per_known_pair_in_row_major_order(associations):
    folds = loocv_folds(associations)
    _check_layout(folds, associations)
    assert folds.protocol == "loocv" and folds.n_folds == associations.sum()
    assert (folds.n_hidden == 1).all()
    np.testing.assert_array_equal(folds.hidden[:, 0], np.argwhere(associations))
    np.testing.assert_array_equal(folds.fold_in_repeat, np.arange(folds.n_folds))
    assert (folds.repeat == 0).all()


@pytest.mark.parametrize("k, repeats", [(5, 1), (3, 4)])
def test_kfold_partitions_known_pairs_each_repeat(associations, k, repeats):
    folds = kfold_folds(associations, k=k, repeats=repeats, seed=7)
    _check_layout(folds, associations)
    known = {tuple(p) for p in known_pairs(associations).tolist()}
    assert folds.n_folds == k * repeats and folds.seed == 7
    for r in range(repeats):
        in_repeat = np.flatnonzero(folds.repeat == r)
        np.testing.assert_array_equal(folds.fold_in_repeat[in_repeat], np.arange(k))
        union = set().union(*(_pairs_of(folds, f) for f in in_repeat))
        assert union == known and folds.n_hidden[in_repeat].sum() == len(known), "a partition of the known pairs"
        assert np.ptp(folds.n_hidden[in_repeat]) <= 1, "near-equal folds"


def test_kfold_is_reproducible_and_repeats_differ(associations):
    a = kfold_folds(associations, k=3, repeats=2, seed=1)
    b = kfold_folds(associations, k=3, repeats=2, seed=1)
    c = kfold_folds(associations, k=3, repeats=2, seed=2)
    np.testing.assert_array_equal(a.hidden, b.hidden)
    assert not np.array_equal(a.hidden, c.hidden)
    assert not np.array_equal(a.hidden[:3], a.hidden[3:]), "each repeat is a fresh permutation"


def test_kfold_rejects_bad_k(associations):
    with pytest.raises(ValueError, match="k must be an integer >= 2, got 1"):
        kfold_folds(associations, k=1)
    with pytest.raises(ValueError, match="non-empty"):
        kfold_folds(associations, k=int(associations.sum()) + 1)


def test_new_drug_and_new_mirna_hide_whole_lines(associations):
    drugs = new_drug_folds(associations)
    _check_layout(drugs, associations)
    assert drugs.protocol == "new-drug"
    rows_with_pairs = np.flatnonzero(associations.any(axis=1))
    assert drugs.n_folds == len(rows_with_pairs)
    for f, drug in enumerate(rows_with_pairs):
        assert _pairs_of(drugs, f) == {(drug, j) for j in np.flatnonzero(associations[drug])}

    chosen = np.flatnonzero(associations.any(axis=0))[[-1, 0]]  # any order the caller asks for
    mirnas = new_mirna_folds(associations, mirnas=chosen)
    _check_layout(mirnas, associations)
    assert mirnas.n_folds == 2
    for f, mirna in enumerate(chosen):
        assert _pairs_of(mirnas, f) == {(i, mirna) for i in np.flatnonzero(associations[:, mirna])}

    with pytest.raises(ValueError, match="no known pair"):
        new_drug_folds(associations, drugs=[5])
    with pytest.raises(ValueError, match="no known pair"):
        new_mirna_folds(associations, mirnas=[4])


def test_hidden_masks_and_candidate_mask(associations):
    folds = kfold_folds(associations, k=4, seed=0)
    masks = hidden_masks(folds, associations.shape)
    assert masks.shape == (folds.n_folds, *associations.shape) and masks.dtype == bool
    for f in range(folds.n_folds):
        expected = np.zeros(associations.shape, bool)
        pairs = folds.fold_pairs(f)
        expected[pairs[:, 0], pairs[:, 1]] = True
        np.testing.assert_array_equal(masks[f], expected)
    np.testing.assert_array_equal(masks.sum(axis=0), associations.astype(bool))
    np.testing.assert_array_equal(candidate_mask(associations), associations == 0)


def test_to_frame_lists_every_hidden_pair(associations):
    folds = kfold_folds(associations, k=3, repeats=2, seed=0)
    frame = folds.to_frame()
    assert list(frame.columns) == ["fold", "repeat", "fold_in_repeat", "drug_index", "mirna_index"]
    assert len(frame) == folds.n_hidden.sum()
    for f in range(folds.n_folds):
        rows = frame[frame["fold"] == f]
        np.testing.assert_array_equal(rows[["drug_index", "mirna_index"]].to_numpy(), folds.fold_pairs(f))
        assert (rows["repeat"] == folds.repeat[f]).all()


@pytest.mark.parametrize("make", [loocv_folds, lambda a: kfold_folds(a, k=3, repeats=2, seed=5), new_drug_folds])
def test_fold_file_round_trip(tmp_path, associations, ids, make):
    folds = make(associations)
    path = write_fold_file(folds, tmp_path / "folds.csv", *ids)
    again = read_fold_file(path, associations, *ids)
    assert again.protocol == "file"
    for name in ("hidden", "n_hidden", "repeat", "fold_in_repeat"):
        np.testing.assert_array_equal(getattr(again, name), getattr(folds, name))
    assert not list(tmp_path.glob("*.tmp"))


def test_fold_file_without_repeat_column(tmp_path, associations, ids):
    drug_ids, mirna_ids = ids
    pairs = known_pairs(associations)
    frame = pd.DataFrame(
        {
            "fold": [1 + i % 2 for i in range(len(pairs))],
            "drug_id": [drug_ids[i] for i in pairs[:, 0]],
            "mirna_id": [mirna_ids[j] for j in pairs[:, 1]],
        }
    )
    frame.to_csv(tmp_path / "folds.csv", index=False)
    folds = read_fold_file(tmp_path / "folds.csv", associations, drug_ids, mirna_ids)
    assert folds.n_folds == 2 and (folds.repeat == 0).all()
    np.testing.assert_array_equal(folds.fold_in_repeat, [0, 1])
    np.testing.assert_array_equal(folds.fold_pairs(0), pairs[0::2])


def test_fold_file_errors_name_line_and_ids(tmp_path, associations, ids):
    drug_ids, mirna_ids = ids
    i, j = np.argwhere(associations)[0]
    unknown_i, unknown_j = np.argwhere(associations == 0)[0]
    good = f"{drug_ids[i]},{mirna_ids[j]}"
    cases = {
        f"0,{good}\n0,{drug_ids[unknown_i]},{mirna_ids[unknown_j]}\n": (
            rf"line 3.*{drug_ids[unknown_i]}.*not a known pair"
        ),
        f"0,{good}\n0,{good}\n": rf"line 3.*{drug_ids[i]}.*twice",
        f"0,{good}\n1,CID:nope,{mirna_ids[j]}\n": r"line 3.*unknown drug_id 'CID:nope'",
    }
    for body, message in cases.items():
        path = tmp_path / "bad.csv"
        path.write_text("fold,drug_id,mirna_id\n" + body)
        with pytest.raises(ValueError, match=message):
            read_fold_file(path, associations, drug_ids, mirna_ids)
    path.write_text("fold,drug\n0,x\n")
    with pytest.raises(ValueError, match="missing column"):
        read_fold_file(path, associations, drug_ids, mirna_ids)


def test_fold_file_pair_in_two_folds_of_a_repeat(tmp_path, associations, ids):
    drug_ids, mirna_ids = ids
    i, j = np.argwhere(associations)[0]
    good = f"{drug_ids[i]},{mirna_ids[j]}"
    path = tmp_path / "folds.csv"
    path.write_text(f"repeat,fold,drug_id,mirna_id\n0,0,{good}\n0,1,{good}\n")  # would be hidden and scored twice
    with pytest.raises(ValueError, match=rf"folds.csv: line 3: \({drug_ids[i]}, {mirna_ids[j]}\) is listed twice in "
                                         r"repeat 0: in fold 0 on line 2 and in fold 1 here"):
        read_fold_file(path, associations, drug_ids, mirna_ids)
    path.write_text(f"repeat,fold,drug_id,mirna_id\n0,0,{good}\n1,1,{good}\n")  # one fold per repeat is fine
    assert read_fold_file(path, associations, drug_ids, mirna_ids).n_folds == 2


def test_fold_file_fold_hiding_every_known_pair(tmp_path, associations, ids):
    drug_ids, mirna_ids = ids
    rows = "".join(f"3,{drug_ids[i]},{mirna_ids[j]}\n" for i, j in known_pairs(associations))
    (tmp_path / "folds.csv").write_text("fold,drug_id,mirna_id\n" + rows)
    with pytest.raises(ValueError, match=rf"fold 3 of repeat 0 hides all {associations.sum()} known pairs, "
                                         "leaving none to train on"):
        read_fold_file(tmp_path / "folds.csv", associations, drug_ids, mirna_ids)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("0,{good}\n\n\n0,CID:nope,{m}\n", r"line 5: unknown drug_id 'CID:nope'"),  # blank lines count
        ("0,{good}\n0,,{m}\n", r"line 3: empty drug_id$"),
        ("0,{good}\n1.5,{good}\n", r"line 3: fold '1.5' is not an integer$"),
        ("0,{good}\n,{good}\n", r"line 3: empty fold$"),
        ("0,{good},x\n", r"line 2: the row has more fields than the header \(4 vs 3\)"),
    ],
)
def test_fold_file_row_errors_name_the_line(tmp_path, associations, ids, body, message):
    drug_ids, mirna_ids = ids
    i, j = np.argwhere(associations)[0]
    path = tmp_path / "folds.csv"
    path.write_text("fold,drug_id,mirna_id\n" + body.format(good=f"{drug_ids[i]},{mirna_ids[j]}", m=mirna_ids[j]))
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: {message}"):
        read_fold_file(path, associations, drug_ids, mirna_ids)


def test_fold_file_tab_separated(tmp_path, associations, ids):
    folds = kfold_folds(associations, k=3, seed=0)
    csv_path = write_fold_file(folds, tmp_path / "folds.csv", *ids)
    tsv_path = tmp_path / "folds.tsv"
    tsv_path.write_text(csv_path.read_text().replace(",", "\t"))
    np.testing.assert_array_equal(read_fold_file(tsv_path, associations, *ids).hidden, folds.hidden)


def test_fold_builders_refuse_values_of_the_wrong_type():
    """A float k would be truncated, True would mean drug 1 and a None seed not reproduce."""
    from sesl_jax.evaluation import new_drug_folds

    A = np.zeros((4, 5))
    A[[0, 1, 2, 3, 0], [0, 1, 2, 3, 4]] = 1
    for kwargs, error, message in [
        ({"k": 2.5}, ValueError, "k must be an integer >= 2, got 2.5"),
        ({"repeats": 2.0}, ValueError, "repeats must be an integer >= 1, got 2.0"),
        ({"seed": None}, ValueError, "seed must be an integer >= 0, got None"),
        ({"seed": -1}, ValueError, "seed must be an integer >= 0, got -1"),
    ]:
        with pytest.raises(error, match=message):
            kfold_folds(A, **kwargs)
    for drugs, error, message in [
        ([True, False], ValueError, "drug indices are integer positions, got True"),
        ([0.7], ValueError, "got 0.7"),
        (["D0"], ValueError, "got 'D0' \\(an ID: look its position up"),
        ([0, 0], ValueError, "drug index 0 is given twice"),
    ]:
        with pytest.raises(error, match=message):
            new_drug_folds(A, drugs=drugs)
    assert new_drug_folds(A, drugs=[np.int64(1), 0]).n_folds == 2
