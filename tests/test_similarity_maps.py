"""Distance-to-similarity maps against plain formulas, and the relative widths' texts."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sesl_jax.similarity import check_map, code_similarity, distance_scale, distances_to_similarity, parse_map
from sesl_jax.similarity._sources import split_configuration


def plain_distances(codes: np.ndarray) -> np.ndarray:
    return np.array([[np.linalg.norm(a - b) for b in codes] for a in codes])


@pytest.mark.parametrize("kind, expected", [
    ("gaussian", lambda d, m, top: np.exp(-d**2 / (2 * m**2))),
    ("gaussian:0.3", lambda d, m, top: np.exp(-d**2 / (2 * (0.3 * m)**2))),
    ("inverse", lambda d, m, top: 1 / (1 + d)),
    ("inverse:0.1", lambda d, m, top: 1 / (1 + d / (0.1 * m))),
    ("linear", lambda d, m, top: 1 - d / top),
])
def test_maps_match_their_formulas(kind, expected):
    codes = np.random.default_rng(0).normal(size=(7, 5)) * 40
    d = plain_distances(codes)
    off = d[~np.eye(7, dtype=bool)]
    reference = expected(d, np.median(off), off.max())
    np.fill_diagonal(reference, 1.0)
    np.testing.assert_allclose(code_similarity(codes, kind), reference, atol=1e-12)


def test_a_width_makes_a_map_ignore_the_codes_scale():
    codes = np.random.default_rng(1).normal(size=(9, 4))
    for kind in ("gaussian", "gaussian:2", "inverse:0.1", "linear"):
        np.testing.assert_allclose(code_similarity(codes, kind), code_similarity(150 * codes, kind), atol=1e-12)
    # plain inverse reads raw distances: codes 150 apart look all but unrelated
    far = code_similarity(150 * codes, "inverse")
    assert far[~np.eye(9, dtype=bool)].max() < 0.01 < code_similarity(codes, "inverse")[~np.eye(9, dtype=bool)].min()


def test_new_items_use_the_reference_sets_scale():
    codes = np.random.default_rng(2).normal(size=(6, 3))
    reference = plain_distances(codes)
    scale = distance_scale(reference, "inverse:0.5")
    assert scale == pytest.approx(0.5 * np.median(reference[~np.eye(6, dtype=bool)]))
    new = np.array([[0.3, 1.2, 2.5]])
    np.testing.assert_allclose(distances_to_similarity(new, "inverse:0.5", scale), 1 / (1 + new / scale))
    assert distance_scale(reference, "inverse") == 1.0


@pytest.mark.parametrize("text, parsed, canonical", [
    ("inverse", ("inverse", None), "inverse"),
    ("inverse:0.10", ("inverse", 0.1), "inverse:0.1"),
    (" gaussian:3 ", ("gaussian", 3.0), "gaussian:3"),
    ("gaussian:1", ("gaussian", 1.0), "gaussian"),  # the same map as plain gaussian: one name
    ("inverse:1", ("inverse", 1.0), "inverse:1"),  # not plain inverse, which reads raw distances
    ("inverse:0.1234567", ("inverse", 0.1234567), "inverse:0.1234567"),  # never rounded
    ("inverse:1e-06", ("inverse", 1e-6), "inverse:1e-06"),
])
def test_map_texts(text, parsed, canonical):
    assert parse_map(text) == parsed and check_map(text) == canonical


@pytest.mark.parametrize("text, message", [
    ("cosine", "unknown similarity map 'cosine'; choose one of gaussian, inverse, linear"),
    ("linear:2", "only gaussian and inverse take a width"),
    ("inverse:", "the width after ':' must be a number from 1e-09 to 1e+09"),
    ("inverse:0", "the width after ':' must be a number from 1e-09 to 1e+09"),
    ("inverse:nan", "the width after ':' must be a number from 1e-09 to 1e+09"),
    ("inverse:1e-12", "the width after ':' must be a number from 1e-09 to 1e+09"),
    ("gaussian:abc", "the width after ':' must be a number from 1e-09 to 1e+09"),
])
def test_bad_map_texts_are_named(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_map(text)


def test_configuration_strings_carry_the_width():
    assert split_configuration("drug=sequence,mirna=biological,map=inverse:0.10") == (
        "drug=sequence,mirna=biological", {"map": "inverse:0.1"})
    with pytest.raises(ValueError, match=r"similarity 'drug=sequence,mirna=biological,map=linear:1': similarity map 'linear:1': only gaussian"):
        split_configuration("drug=sequence,mirna=biological,map=linear:1")
