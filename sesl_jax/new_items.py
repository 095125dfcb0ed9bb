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
    from sesl_jax.methods import METHODS, Similarities

    spec = METHODS[model.method]
    similarities = Similarities(drug_similarity, mirna_similarity, model.similarities_.source + "+new")
    method = spec.builder(associations, similarities, dtype=model.dtype_, **model.builder_options)
    output = jax.jit(method.predict)(jnp.asarray(associations, model.dtype_), method.inputs)
    return np.asarray(output.scores, dtype=np.float64)


def _grow(similarity: np.ndarray, row: np.ndarray) -> np.ndarray:
    n = len(similarity)
    grown = np.ones((n + 1, n + 1))
    grown[:n, :n] = similarity
    grown[n, :n] = grown[:n, n] = row
    return grown


def score_new_drug(model, smiles: str) -> np.ndarray:
    """Scores (n_mirnas,) of a molecule not in the fitted dataset."""
    drug_source = model.similarity_sources_[0]
    dataset = model.dataset_
    if dataset is None or drug_source not in ("sequence", "chemical"):
        raise ValueError(
            "ranking a new molecule needs a model fitted on a Dataset with drug similarity from "
            f"'sequence' or 'chemical' (this one uses {drug_source!r}); e.g. SESL(similarity='sequence') "
            "or similarity='drug=sequence,mirna=biological'"
        )
    if drug_source == "sequence":
        from sesl_jax.encoders import encode, load_pretrained
        from sesl_jax.similarity import drug_codes

        codes, present = drug_codes(dataset)
        new_code = encode(load_pretrained("smiles"), [smiles])[0]
        row = _code_row(codes, present, new_code, model.similarity_map)
    else:
        from sesl_jax.similarity import chemical_similarity

        row = chemical_similarity([*dataset.drug_smiles, smiles])[-1, :-1]
    _warn_if_isolated(row, model.similarities_.drug, "molecule", smiles)
    associations = np.vstack([model.associations_, np.zeros((1, model.associations_.shape[1]))])
    scores = _refit(model, _grow(model.similarities_.drug, row), model.similarities_.mirna, associations)
    return scores[-1]


def score_new_mirna(model, sequence: str) -> np.ndarray:
    """Scores (n_drugs,) of a miRNA sequence not in the fitted dataset."""
    mirna_source = model.similarity_sources_[1]
    dataset = model.dataset_
    if dataset is None or mirna_source != "sequence":
        raise ValueError(
            "ranking a new miRNA needs a model fitted on a Dataset with miRNA similarity from 'sequence' "
            f"(this one uses {mirna_source!r}); e.g. similarity='drug=biological,mirna=sequence'"
        )
    from sesl_jax.encoders import encode, load_pretrained
    from sesl_jax.similarity import mirna_codes

    codes, present = mirna_codes(dataset, model.mirna_form)
    new_code = encode(load_pretrained("rna"), [sequence])[0]
    row = _code_row(codes, present, new_code, model.similarity_map)
    _warn_if_isolated(row, model.similarities_.mirna, "miRNA", sequence)
    associations = np.hstack([model.associations_, np.zeros((model.associations_.shape[0], 1))])
    scores = _refit(model, model.similarities_.drug, _grow(model.similarities_.mirna, row), associations)
    return scores[:, -1]
