"""Scoring a drug or miRNA that is not in the dataset, from its SMILES or sequence alone.

The new item gets a similarity row to the dataset's items (from its encoder code, with the
reference set's distance scale, or from Morgan/Tanimoto for ``chemical`` drug similarity),
an all-zero association row, and the fitted method is rerun on the enlarged problem. Its row
(or column) of the completed matrix is its ranking. A warning says when the new item has no
close neighbour in the dataset: its scores then rest on little.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np

from sesl_jax.similarity import distance_scale, distances_to_similarity, euclidean_distances

# A new item is "far" when its best similarity is below this quantile of the dataset items'
# own nearest-neighbour similarities.
NEIGHBOUR_QUANTILE = 0.05


def _code_row(reference_codes: np.ndarray, present: np.ndarray, new_code: np.ndarray, kind: str) -> np.ndarray:
    index = np.flatnonzero(present)
    scale = distance_scale(euclidean_distances(reference_codes[index]), kind)
    row = np.zeros(len(reference_codes))
    row[index] = distances_to_similarity(euclidean_distances(new_code[None, :], reference_codes[index])[0], kind, scale)
    return row


def _warn_if_isolated(row: np.ndarray, similarity: np.ndarray, what: str, label: str) -> None:
    off = similarity - np.diag(np.diag(similarity))
    nearest = off.max(axis=1)
    floor = float(np.quantile(nearest, NEIGHBOUR_QUANTILE))
    if row.max() < floor:
        warnings.warn(
            f"new {what} {label!r} has no close neighbour in the dataset (best similarity {row.max():.3f} "
            f"< {floor:.3f}, the {NEIGHBOUR_QUANTILE:.0%} quantile of the dataset's nearest neighbours); "
            "its ranking rests on weak evidence",
            stacklevel=4,
        )


def _refit(model, drug_similarity: np.ndarray, mirna_similarity: np.ndarray, associations: np.ndarray) -> np.ndarray:
    from sesl_jax.pipeline import build_method
    from sesl_jax.similarity import Similarities

    similarities = Similarities(drug_similarity, mirna_similarity, model.similarities_.source + "+new")
    method = build_method(associations, similarities, model.config_, model.builder_options)
    output = jax.jit(method.predict)(jnp.asarray(associations, model.dtype_), method.inputs)
    return np.asarray(output.scores, dtype=np.float64)


def _fused_row(side_source: str, side: str, label: str, term_row) -> np.ndarray:
    """The new item's similarity row under a (possibly fused) side source.

    ``term_row(name)`` computes the row of one source. A new item has no biological row: the
    biological term is dropped and the other weights renormalised, or, with no other term, the
    row falls back to sequence similarity; a warning says so either way.
    """
    from sesl_jax.similarity import parse_side

    terms = parse_side(side_source, side)
    usable = [(name, weight) for name, weight in terms if name != "biological"]
    if len(usable) < len(terms):
        fallback = "the other sources of its side" if usable else "sequence similarity"
        warnings.warn(
            f"new {label} has no biological similarity row: its {side} similarity uses {fallback} only",
            stacklevel=4,
        )
    usable = usable or [("sequence", 1.0)]
    total = sum(weight for _, weight in usable)
    return sum(weight / total * term_row(name) for name, weight in usable)


def _grow(similarity: np.ndarray, row: np.ndarray) -> np.ndarray:
    n = len(similarity)
    grown = np.ones((n + 1, n + 1))
    grown[:n, :n] = similarity
    grown[n, :n] = grown[:n, n] = row
    return grown


def _check_model(model, side: str) -> str:
    source = model.similarity_sources_[0 if side == "drug" else 1]
    if model.dataset_ is None or source == "caller":
        what = "molecule" if side == "drug" else "miRNA"
        raise ValueError(
            f"ranking a new {what} needs a model fitted on a Dataset with named similarity sources (this one "
            "was fitted on caller-given matrices)"
        )
    return source


def score_new_drug(model, smiles: str) -> np.ndarray:
    """Scores (n_mirnas,) of a molecule not in the fitted dataset."""
    dataset = model.dataset_
    drug_source = _check_model(model, "drug")

    def term_row(name: str) -> np.ndarray:
        if name == "sequence":
            from sesl_jax.encoders import encode, load_pretrained
            from sesl_jax.similarity import drug_codes

            codes, present = drug_codes(dataset)
            new_code = encode(load_pretrained("smiles"), [smiles])[0]
            return _code_row(codes, present, new_code, model.config_.similarity_map)
        from sesl_jax.similarity import chemical_similarity

        return chemical_similarity([*dataset.drug_smiles, smiles])[-1, :-1]

    row = _fused_row(drug_source, "drug", f"molecule {smiles!r}", term_row)
    _warn_if_isolated(row, model.similarities_.drug, "molecule", smiles)
    associations = np.vstack([model.associations_, np.zeros((1, model.associations_.shape[1]))])
    scores = _refit(model, _grow(model.similarities_.drug, row), model.similarities_.mirna, associations)
    return scores[-1]


def score_new_mirna(model, sequence: str) -> np.ndarray:
    """Scores (n_drugs,) of a miRNA sequence not in the fitted dataset."""
    dataset = model.dataset_
    mirna_source = _check_model(model, "mirna")

    def term_row(name: str) -> np.ndarray:
        from sesl_jax.similarity import mirna_sequences

        sequences, present = mirna_sequences(dataset, model.config_.mirna_form)
        if name == "alignment":
            from sesl_jax.similarity import alignment_similarity

            row = np.zeros(dataset.n_mirnas)
            index = np.flatnonzero(present)
            row[index] = alignment_similarity([sequence], [sequences[i] for i in index])[0]
            return row
        from sesl_jax.encoders import encode, load_pretrained
        from sesl_jax.similarity import mirna_codes

        codes, present = mirna_codes(dataset, model.config_.mirna_form)
        new_code = encode(load_pretrained("rna"), [sequence])[0]
        return _code_row(codes, present, new_code, model.config_.similarity_map)

    row = _fused_row(mirna_source, "mirna", f"miRNA {sequence!r}", term_row)
    _warn_if_isolated(row, model.similarities_.mirna, "miRNA", sequence)
    associations = np.hstack([model.associations_, np.zeros((model.associations_.shape[0], 1))])
    scores = _refit(model, model.similarities_.drug, _grow(model.similarities_.mirna, row), associations)
    return scores[:, -1]
