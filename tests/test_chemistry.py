"""Morgan fingerprints + Tanimoto drug similarity (``sesl_jax.chemistry``).

Run: ``.venv/bin/python -m pytest tests/test_chemistry.py -q``
"""

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from sesl_jax.similarity import chemical_similarity, morgan_fingerprints, tanimoto_similarity

SMILES = [
    "CCO",
    "c1ccccc1O",
    "CC(=O)Oc1ccccc1C(=O)O",  # aspirin
    "CC(=O)O",
    "C[C@]12CC[C@H]3[C@@H](CCc4cc(O)ccc43)[C@@H]1CC[C@@H]2O",  # estradiol
    "O=C(O)c1cn(CC)c2nc(N3CCNCC3)c(F)cc2c1=O",  # enoxacin
    "Clc1ccc(Br)cc1",
]


def brute_force_tanimoto(smiles, radius, n_bits):
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    bit_sets = [set(generator.GetFingerprint(Chem.MolFromSmiles(text)).GetOnBits()) for text in smiles]
    n = len(smiles)
    expected = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            union = bit_sets[i] | bit_sets[j]
            expected[i, j] = len(bit_sets[i] & bit_sets[j]) / len(union) if union else 0.0
    np.fill_diagonal(expected, 1.0)
    return expected


@pytest.mark.parametrize("radius, n_bits", [(2, 2048), (3, 1024)])
def test_matches_brute_force_bit_sets(radius, n_bits):
    similarity = chemical_similarity(SMILES, radius=radius, n_bits=n_bits)
    np.testing.assert_allclose(similarity, brute_force_tanimoto(SMILES, radius, n_bits), atol=1e-15)


def test_symmetric_unit_diagonal_in_unit_interval():
    similarity = chemical_similarity(SMILES)
    assert similarity.shape == (len(SMILES), len(SMILES))
    np.testing.assert_array_equal(similarity, similarity.T)
    np.testing.assert_array_equal(np.diag(similarity), 1.0)
    assert similarity.min() >= 0.0 and similarity.max() <= 1.0
    assert similarity[0, 1] < 1.0


def test_identical_molecules_written_differently_are_identical():
    similarity = chemical_similarity(["OCC", "CCO"])
    assert similarity[0, 1] == 1.0


def test_bad_smiles_names_index_and_text():
    with pytest.raises(ValueError, match=r"drug 2: 'C1CC\(\('"):
        chemical_similarity(["CCO", "CCN", "C1CC(("])


def test_missing_smiles_policy():
    with pytest.warns(UserWarning, match=r"\[1, 3\]"):
        similarity = chemical_similarity(["CCO", None, "CCN", ""])
    assert similarity[1, 1] == 1.0 and similarity[3, 3] == 1.0
    np.testing.assert_array_equal(similarity[1, [0, 2, 3]], 0.0)
    np.testing.assert_array_equal(similarity[[0, 2], 3], 0.0)
    _, present = morgan_fingerprints(["CCO", None, "CCN", ""])
    np.testing.assert_array_equal(present, [True, False, True, False])


def test_tanimoto_of_bit_matrix():
    bits = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    similarity = tanimoto_similarity(bits)
    assert similarity[0, 1] == pytest.approx(1 / 3)
    assert similarity[2, 3] == 0.0  # two empty fingerprints
    np.testing.assert_array_equal(np.diag(similarity), 1.0)
