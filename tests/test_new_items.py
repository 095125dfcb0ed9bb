"""Ranking for a molecule or miRNA that is not in the dataset (shipped encoders)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sesl_jax import SESL, load_dataset
from sesl_jax.cli import main
from sesl_jax.encoders import SequenceError
import sesl_jax.new_items as new_items


@pytest.fixture
def small_model(small_data_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the small dataset has a drug without SMILES, on purpose
        return SESL("sesl", similarity="sequence", dtype="float64").fit(load_dataset("fcd", small_data_dir))


def test_new_molecule_and_sequence_are_ranked(small_model):
    table = small_model.rank_mirnas(smiles="CC(O)CCCCO")
    assert len(table) == small_model.scores_.shape[1]
    assert table["score"].between(0, 1).all() and not table["known"].any()
    drugs = small_model.rank_drugs(sequence="UGAGGUAGCCAU")
    assert len(drugs) == small_model.scores_.shape[0]


def test_new_molecule_identical_to_a_dataset_drug_scores_like_it(small_model):
    dataset = small_model.dataset_
    index = 1
    twin = small_model.rank_mirnas(smiles=dataset.drug_smiles[index]).set_index("mirna_id")["score"]
    # the twin has the drug's similarities but none of its known pairs: it must follow the
    # drug's neighbours, so its scores correlate with the original drug's row
    original = small_model.scores_[index]
    twin = twin.loc[list(dataset.mirna_ids)].to_numpy()
    assert np.corrcoef(original, twin)[0, 1] > 0


def test_far_item_warns(small_model, monkeypatch):
    monkeypatch.setattr(new_items, "NEIGHBOUR_QUANTILE", 1.0)  # every item counts as far
    with pytest.warns(UserWarning, match="no close neighbour"):
        small_model.rank_mirnas(smiles="CCO")


def test_invalid_smiles_names_the_molecule(small_model):
    with pytest.raises(SequenceError, match="C1CC"):
        small_model.rank_mirnas(smiles="C1CC")


def test_biological_model_falls_back_to_sequence_for_a_new_molecule(small_data_dir):
    # A new molecule has no biological row: the drug side falls back to sequence similarity, with a warning.
    model = SESL("sesl", similarity="biological", dtype="float64").fit(load_dataset("fcd", small_data_dir))
    with pytest.warns(UserWarning, match="sequence"):
        table = model.rank_mirnas(smiles="CCO")
    assert len(table) == model.dataset_.n_mirnas
    assert np.all(np.isfinite(table["score"].to_numpy()))


def test_cli_rank_smiles(small_data_dir, capsys):
    code = main(["rank", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--smiles", "CC(O)CCCO", "--top", "2"])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "rank,mirna_id,score,known" and len(lines) == 3
    code = main(["rank", "--dataset", "fcd", "--data-dir", str(small_data_dir), "--smiles", "C1CC"])
    assert code == 2  # a bad option value (checked with RDKit before any fit), not a data error
    assert "C1CC" in capsys.readouterr().err


def test_a_new_molecule_is_placed_with_the_fitted_width(small_data_dir):
    """A relative width (``map=inverse:0.1``) scales a new molecule's distances by the fitted drugs'
    median distance: a dataset drug's own SMILES, placed as new, gets that drug's similarity row."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the small dataset has a drug without SMILES, on purpose
        model = SESL("se", similarity="drug=sequence,mirna=biological,map=inverse:0.1", dtype="float64").fit(
            load_dataset("fcd", small_data_dir))
    placement = model._placement("drug")
    assert placement.similarity_map == "inverse:0.1"
    index = int(np.flatnonzero(placement.code_present)[0])
    row = new_items.similarity_rows(placement, [model.dataset_.drug_smiles[index]])[0]
    present = placement.code_present
    np.testing.assert_allclose(row[present], model.similarities_.drug[index][present], atol=1e-9)
    # the same codes under plain inverse would be another row: the width is what placed it
    assert not np.allclose(row[present], 1 / (1 + np.linalg.norm(
        placement.codes[present] - placement.codes[index], axis=1)), atol=1e-3)
