"""Fused similarity sources and the alignment similarity against plain references."""

from __future__ import annotations

import numpy as np
import pytest

from sesl_jax import load_dataset
from sesl_jax.similarity import alignment_similarity, dataset_similarities, fuse, parse_side
from sesl_jax.similarity._sources import split_source


def smith_waterman(a: str, b: str, match: int = 2, mismatch: int = -1, gap: int = -2) -> int:
    """Textbook Smith-Waterman score, one cell at a time."""
    h = np.zeros((len(a) + 1, len(b) + 1), int)
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            diagonal = h[i - 1, j - 1] + (match if a[i - 1] == b[j - 1] else mismatch)
            h[i, j] = max(0, diagonal, h[i - 1, j] + gap, h[i, j - 1] + gap)
    return int(h.max())


def test_alignment_similarity_matches_textbook_smith_waterman():
    rng = np.random.default_rng(3)
    sequences = ["".join(rng.choice(list("ACGU"), size=rng.integers(5, 24))) for _ in range(9)]
    sequences.append(sequences[0][2:15])  # a shared fragment: high similarity
    raw = np.array([[smith_waterman(a, b) for b in sequences] for a in sequences], float)
    expected = raw / np.sqrt(np.outer(np.diag(raw), np.diag(raw)))
    similarity = alignment_similarity(sequences)
    np.testing.assert_allclose(similarity, expected, atol=1e-12)
    assert similarity[0, -1] > 0.6
    others = sequences[:3]
    cross = alignment_similarity(sequences, others)
    expected_cross = raw[:, :3] / np.sqrt(np.outer([2 * len(s) for s in sequences], [2 * len(s) for s in others]))
    np.testing.assert_allclose(cross, expected_cross, atol=1e-12)


@pytest.mark.parametrize("text, expected", [
    ("biological", (("biological", 1.0),)),
    ("0.7*biological+0.3*sequence", (("biological", 0.7), ("sequence", 0.3))),
    (" 0.5*chemical + 0.5*sequence ", (("chemical", 0.5), ("sequence", 0.5))),
])
def test_parse_side(text, expected):
    assert parse_side(text, "drug") == expected


@pytest.mark.parametrize("text, message", [
    ("0.7*biological+0.2*sequence", "sum to 0.9"),
    ("-0.5*biological+1.5*sequence", "positive"),
    ("x*biological", "not a number"),
    ("0.5*biological+0.5*biological", "twice"),
    ("alignment", "unknown drug"),
])
def test_parse_side_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_side(text, "drug")


def test_split_source_canonical():
    assert split_source("drug=0.50*chemical+0.5*sequence, mirna=biological") == (
        "0.5*chemical+0.5*sequence", "biological")
    assert split_source("chemical") == ("chemical", "sequence")
    with pytest.raises(ValueError, match="drug=SOURCE"):
        split_source("drug=biological")


def test_fuse_is_a_similarity():
    rng = np.random.default_rng(0)
    matrices = []
    for _ in range(3):
        m = rng.uniform(size=(6, 6))
        m = (m + m.T) / 2
        np.fill_diagonal(m, 1.0)
        matrices.append(m)
    fused = fuse(matrices, [0.2, 0.3, 0.5])
    np.testing.assert_allclose(fused, 0.2 * matrices[0] + 0.3 * matrices[1] + 0.5 * matrices[2])
    np.testing.assert_array_equal(fused, fused.T)
    assert fused.min() >= 0 and fused.max() <= 1 and np.all(np.diag(fused) == 1)


def test_dataset_fused_similarities(small_data_dir):
    dataset = load_dataset("fcd", small_data_dir)
    both = dataset_similarities(dataset, "drug=0.5*biological+0.5*sequence,mirna=0.25*biological+0.75*alignment")
    bio = dataset_similarities(dataset, "biological")
    seq = dataset_similarities(dataset, "drug=sequence,mirna=alignment")
    for fused, a, b, w in ((both.drug, bio.drug, seq.drug, 0.5), (both.mirna, bio.mirna, seq.mirna, 0.25)):
        expected = w * a + (1 - w) * b
        expected = (expected + expected.T) / 2
        np.fill_diagonal(expected, 1.0)
        np.testing.assert_allclose(fused, expected, atol=1e-12)
        np.testing.assert_allclose(fused, fused.T)
        assert fused.min() >= 0 and fused.max() <= 1 + 1e-12 and np.all(np.diag(fused) == 1)
    assert both.source == ("drug=0.5*biological+0.5*sequence,mirna=0.25*biological+0.75*alignment,"
                          "map=gaussian,mirna_form=mature")


def test_library_calls_with_wrong_values_are_named_errors():
    """What the command line never passes but a library caller can: each a named error, where these
    used to drop a matrix, ignore a weight, read a string letter by letter or return NaN."""
    from sesl_jax.similarity import chemical_similarity, code_similarity, distances_to_similarity

    identity = np.eye(3)
    cases = [
        (lambda: fuse([identity, identity], [1.0]), ValueError, "one weight per matrix, got 2 matrices and 1 weights"),
        (lambda: fuse([identity, identity], [1.5, 1.5]), ValueError, "weights must be positive and sum to 1"),
        (lambda: fuse([], []), ValueError, "one weight per matrix"),
        (lambda: fuse([identity, np.eye(2)], [0.5, 0.5]), ValueError, "square matrices of one shape"),
        (lambda: parse_side("0.3*biological", "drug"), ValueError, "a single source takes weight 1"),
        (lambda: parse_side("biological", "drugs"), ValueError, "side must be 'drug' or 'mirna', got 'drugs'"),
        (lambda: split_source(None), TypeError, "similarity source must be text"),
        (lambda: code_similarity(np.array([[0.0, 1.0], [np.nan, 1.0]])), ValueError, "codes: row 1 holds NaN or inf"),
        (lambda: code_similarity(np.zeros(4)), ValueError, r"codes must be a matrix \(items, dimensions\)"),
        (lambda: distances_to_similarity(np.ones((2, 2)), "inverse", scale=0), ValueError, "scale must be a positive"),
        (lambda: distances_to_similarity(-np.ones((2, 2)), "linear"), ValueError, "distances must be finite and >= 0"),
        (lambda: alignment_similarity(["ACGU", "ACGT"]), ValueError, r"sequences\[1\] is 'ACGT'"),
        (lambda: alignment_similarity(["", "ACGU"]), ValueError, r"sequences\[0\] is ''"),
        (lambda: alignment_similarity("ACGU"), TypeError, "sequences takes a list, one entry per item"),
        (lambda: chemical_similarity("CCO"), TypeError, "smiles takes a list, one entry per item"),
        (lambda: chemical_similarity(["CCO"], n_bits=0), ValueError, "n_bits must be an integer >= 1, got 0"),
        (lambda: chemical_similarity(["CCO"], radius=1.9), ValueError, "radius must be an integer >= 0, got 1.9"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()
    np.testing.assert_allclose(fuse([identity, np.ones((3, 3))], [0.25, 0.75]),
                               np.where(np.eye(3) == 1, 1.0, 0.75))
