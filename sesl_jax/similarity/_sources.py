"""Similarity matrices for a dataset from a named source.

Sources:
- ``biological``: the dataset's own integrated similarities (FCD has both; PCD has no drug one).
- ``sequence``: codes of the shipped LSTM auto-encoders (drug SMILES; miRNA mature or hairpin
  sequence), Euclidean distances, then a map to [0, 1] (``sesl_jax.similarity._maps``).
- ``chemical`` (drugs only): RDKit Morgan fingerprints compared by Tanimoto.

Missing inputs: a drug without SMILES (23 in PCD, none with a known pair) or a miRNA without a
sequence gets similarity 0 to every other item and 1 to itself, with a warning: it then
contributes nothing through the similarity blocks, rather than being dropped.
"""

from __future__ import annotations

import warnings
from typing import Literal, Sequence

import numpy as np

from sesl_jax.data import DataError, Dataset
from sesl_jax.similarity._base import Similarities
from sesl_jax.similarity._maps import SimilarityMap, distance_scale, distances_to_similarity, euclidean_distances

DRUG_SOURCES = ("biological", "sequence", "chemical")
MIRNA_SOURCES = ("biological", "sequence")
MirnaForm = Literal["mature", "hairpin"]


def _isolated_missing(similarity: np.ndarray, present: np.ndarray, what: str, ids: Sequence[str]) -> np.ndarray:
    missing = np.flatnonzero(~present)
    if missing.size:
        names = ", ".join(ids[i] for i in missing[:5]) + (" ..." if missing.size > 5 else "")
        warnings.warn(
            f"{missing.size} {what} have no input ({names}): similarity 0 to all others, 1 to themselves",
            stacklevel=3,
        )
        similarity = similarity.copy()
        similarity[missing, :] = 0.0
        similarity[:, missing] = 0.0
        similarity[missing, missing] = 1.0
    return similarity


def code_similarity_with_missing(codes: np.ndarray, present: np.ndarray, kind: SimilarityMap) -> tuple[np.ndarray, float]:
    """Similarity of the present items' codes (scale taken from them only), and that scale."""
    index = np.flatnonzero(present)
    distances = euclidean_distances(codes[index])
    scale = distance_scale(distances, kind)
    similarity = np.zeros((len(codes), len(codes)))
    similarity[np.ix_(index, index)] = distances_to_similarity(distances, kind, scale)
    np.fill_diagonal(similarity, 1.0)
    return similarity, scale


def drug_codes(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Codes (n_drugs, d) of the SMILES encoder (zeros where SMILES is missing) and the presence mask."""
    from sesl_jax.encoders import encode, load_pretrained

    present = np.asarray(dataset.has_smiles)
    encoder = load_pretrained("smiles")
    codes_present = encode(encoder, [dataset.drug_smiles[i] for i in np.flatnonzero(present)])
    codes = np.zeros((dataset.n_drugs, codes_present.shape[1]))
    codes[present] = codes_present
    return codes, present


def mirna_sequences(dataset: Dataset, form: MirnaForm) -> tuple[tuple[str | None, ...], np.ndarray]:
    if form == "mature":
        return dataset.mirna_mature, np.asarray(dataset.has_mature)
    if form == "hairpin":
        return dataset.mirna_hairpin, np.asarray(dataset.has_hairpin)
    raise ValueError(f"miRNA form must be 'mature' or 'hairpin', got {form!r}")


def mirna_codes(dataset: Dataset, form: MirnaForm = "mature") -> tuple[np.ndarray, np.ndarray]:
    """Codes (n_mirnas, d) of the RNA encoder and the presence mask."""
    from sesl_jax.encoders import encode, load_pretrained

    sequences, present = mirna_sequences(dataset, form)
    encoder = load_pretrained("rna")
    codes_present = encode(encoder, [sequences[i] for i in np.flatnonzero(present)])
    codes = np.zeros((dataset.n_mirnas, codes_present.shape[1]))
    codes[present] = codes_present
    return codes, present


def drug_similarity(dataset: Dataset, source: str, *, similarity_map: SimilarityMap = "gaussian") -> np.ndarray:
    if source == "biological":
        if dataset.drug_similarity is None:
            raise DataError(
                f"dataset {dataset.name!r} has no biological drug similarity (PCD's 831 x 831 matrix is not "
                "available); use --similarity sequence or chemical"
            )
        return np.asarray(dataset.drug_similarity)
    if source in ("sequence", "chemical") and not np.any(dataset.has_smiles):
        # one isolated drug is a gap; all of them would be an identity matrix posing as a similarity
        raise DataError(f"dataset {dataset.name!r} has no SMILES for any drug: the {source} drug similarity needs them")
    if source == "sequence":
        codes, present = drug_codes(dataset)
        similarity, _ = code_similarity_with_missing(codes, present, similarity_map)
        return _isolated_missing(similarity, present, "drugs (SMILES)", dataset.drug_ids)
    if source == "chemical":
        from sesl_jax.similarity._chemical import chemical_similarity

        return np.asarray(chemical_similarity(list(dataset.drug_smiles)))
    raise ValueError(f"unknown drug similarity source {source!r}; choose one of {DRUG_SOURCES}")


def mirna_similarity(
    dataset: Dataset, source: str, *, similarity_map: SimilarityMap = "gaussian", mirna_form: MirnaForm = "mature"
) -> np.ndarray:
    if source == "biological":
        if dataset.mirna_similarity is None:
            raise DataError(f"dataset {dataset.name!r} has no biological miRNA similarity; use --similarity sequence")
        return np.asarray(dataset.mirna_similarity)
    if source == "sequence":
        if not np.any(mirna_sequences(dataset, mirna_form)[1]):
            raise DataError(f"dataset {dataset.name!r} has no {mirna_form} sequence for any miRNA: the sequence similarity needs them")
        codes, present = mirna_codes(dataset, mirna_form)
        similarity, _ = code_similarity_with_missing(codes, present, similarity_map)
        return _isolated_missing(similarity, present, f"miRNAs ({mirna_form} sequence)", dataset.mirna_ids)
    raise ValueError(f"unknown miRNA similarity source {source!r}; choose one of {MIRNA_SOURCES}")


def dataset_similarities(
    dataset: Dataset,
    drug_source: str,
    mirna_source: str,
    *,
    similarity_map: SimilarityMap = "gaussian",
    mirna_form: MirnaForm = "mature",
) -> Similarities:
    """Both similarity matrices of ``dataset`` and a label naming their sources."""
    drug = drug_similarity(dataset, drug_source, similarity_map=similarity_map)
    mirna = mirna_similarity(dataset, mirna_source, similarity_map=similarity_map, mirna_form=mirna_form)
    label = f"drug={drug_source},mirna={mirna_source}"
    if "sequence" in (drug_source, mirna_source):
        label += f",map={similarity_map}"
    if mirna_source == "sequence":
        label += f",mirna_form={mirna_form}"
    return Similarities(drug, mirna, label)


def split_source(source: str) -> tuple[str, str]:
    """``"biological"`` -> both; ``"chemical"`` -> chemical drugs + sequence miRNAs;
    ``"drug=X,mirna=Y"`` -> explicit."""
    if "=" in source:
        parts = dict(part.split("=", 1) for part in source.split(","))
        unknown = set(parts) - {"drug", "mirna"}
        if unknown or len(parts) != 2:
            raise ValueError(f"similarity {source!r}: expected 'drug=SOURCE,mirna=SOURCE'")
        drug, mirna = parts["drug"], parts["mirna"]
    elif source == "chemical":
        drug, mirna = "chemical", "sequence"
    else:
        drug = mirna = source
    if drug not in DRUG_SOURCES:
        raise ValueError(f"unknown drug similarity source {drug!r}; choose one of {DRUG_SOURCES}")
    if mirna not in MIRNA_SOURCES:
        raise ValueError(f"unknown miRNA similarity source {mirna!r}; choose one of {MIRNA_SOURCES}")
    return drug, mirna
