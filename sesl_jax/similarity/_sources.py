"""Similarity matrices for a dataset from a named source.

Sources:
- ``biological``: the dataset's own integrated similarities (FCD has both; PCD has no drug one).
- ``sequence``: codes of the shipped sequence encoders (drug SMILES; miRNA mature or hairpin
  sequence), Euclidean distances, then a map to [0, 1] (``sesl_jax.similarity._maps``). The
  encoder is the LSTM auto-encoder, or the BERT-style transformer with an ``encoder=transformer``
  part (``encoder=`` keyword).
- ``chemical`` (drugs only): RDKit Morgan fingerprints compared by Tanimoto.
- ``alignment`` (miRNAs only): normalised Smith-Waterman score of the sequences
  (``sesl_jax.similarity._alignment``).

A side's source can fuse several: ``0.5*biological+0.5*sequence`` is the weighted mean of the
two matrices (weights positive, summing to 1), with a unit diagonal. The full source string
names both sides, ``drug=SIDE,mirna=SIDE``; ``biological`` / ``sequence`` alone mean that source
on both sides and ``chemical`` means chemical drugs with sequence miRNAs.

Missing inputs: a drug without SMILES (23 in PCD, none with a known pair) or a miRNA without a
sequence gets similarity 0 to every other item and 1 to itself, with a warning: it then
contributes nothing through the similarity blocks, rather than being dropped.
"""

from __future__ import annotations

import warnings
from typing import Literal, Sequence

import numpy as np

from sesl_jax.data import DataError, Dataset
from sesl_jax.encoder_files import ARCHITECTURES
from sesl_jax.similarity._base import Similarities
from sesl_jax.similarity._maps import (
    SimilarityMap, check_map, distance_scale, distances_to_similarity, euclidean_distances,
)

DRUG_SOURCES = ("biological", "sequence", "chemical")
MIRNA_SOURCES = ("biological", "sequence", "alignment")
MirnaForm = Literal["mature", "hairpin"]
EncoderName = Literal["lstm", "transformer"]
DEFAULT_ENCODER = "lstm"


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


def drug_codes(dataset: Dataset, encoder: EncoderName = DEFAULT_ENCODER) -> tuple[np.ndarray, np.ndarray]:
    """Codes (n_drugs, d) of the SMILES encoder (zeros where SMILES is missing) and the presence mask."""
    from sesl_jax.encoders import encode, load_pretrained

    present = np.asarray(dataset.has_smiles)
    encoder = load_pretrained("smiles", encoder)
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


def mirna_codes(
    dataset: Dataset, form: MirnaForm = "mature", encoder: EncoderName = DEFAULT_ENCODER
) -> tuple[np.ndarray, np.ndarray]:
    """Codes (n_mirnas, d) of the RNA encoder and the presence mask."""
    from sesl_jax.encoders import encode, load_pretrained

    sequences, present = mirna_sequences(dataset, form)
    encoder = load_pretrained("rna", encoder)
    codes_present = encode(encoder, [sequences[i] for i in np.flatnonzero(present)])
    codes = np.zeros((dataset.n_mirnas, codes_present.shape[1]))
    codes[present] = codes_present
    return codes, present


def drug_similarity(
    dataset: Dataset, source: str, *, similarity_map: SimilarityMap = "gaussian", encoder: EncoderName = DEFAULT_ENCODER
) -> np.ndarray:
    if source == "biological":
        if dataset.drug_similarity is None:
            why = " (PCD's 831 x 831 matrix is not public)" if dataset.name == "pcd" else ""
            raise DataError(f"dataset {dataset.name!r} has no biological drug similarity{why}; use a sequence or "
                            "chemical one for drugs (e.g. drug=chemical,mirna=...)")
        return np.asarray(dataset.drug_similarity)
    if source in ("sequence", "chemical") and not np.any(dataset.has_smiles):
        # one isolated drug is a gap; all of them would be an identity matrix posing as a similarity
        raise DataError(f"dataset {dataset.name!r} has no SMILES for any drug: the {source} drug similarity needs them")
    if source == "sequence":
        codes, present = drug_codes(dataset, encoder)
        similarity, _ = code_similarity_with_missing(codes, present, similarity_map)
        return _isolated_missing(similarity, present, "drugs (SMILES)", dataset.drug_ids)
    if source == "chemical":
        from sesl_jax.similarity._chemical import chemical_similarity

        return np.asarray(chemical_similarity(list(dataset.drug_smiles)))
    raise ValueError(f"unknown drug similarity source {source!r}; choose one of {DRUG_SOURCES}")


def mirna_similarity(
    dataset: Dataset, source: str, *, similarity_map: SimilarityMap = "gaussian", mirna_form: MirnaForm = "mature",
    encoder: EncoderName = DEFAULT_ENCODER,
) -> np.ndarray:
    if source == "biological":
        if dataset.mirna_similarity is None:
            raise DataError(f"dataset {dataset.name!r} has no biological miRNA similarity; use a sequence or alignment "
                            "one for miRNAs (e.g. drug=...,mirna=sequence)")
        return np.asarray(dataset.mirna_similarity)
    if source == "sequence":
        if not np.any(mirna_sequences(dataset, mirna_form)[1]):
            raise DataError(f"dataset {dataset.name!r} has no {mirna_form} sequence for any miRNA: the sequence similarity needs them")
        codes, present = mirna_codes(dataset, mirna_form, encoder)
        similarity, _ = code_similarity_with_missing(codes, present, similarity_map)
        return _isolated_missing(similarity, present, f"miRNAs ({mirna_form} sequence)", dataset.mirna_ids)
    if source == "alignment":
        from sesl_jax.similarity._alignment import alignment_similarity

        sequences, present = mirna_sequences(dataset, mirna_form)
        if not np.any(present):
            raise DataError(f"dataset {dataset.name!r} has no {mirna_form} sequence for any miRNA: the alignment similarity needs them")
        index = np.flatnonzero(present)
        similarity = np.eye(dataset.n_mirnas)
        similarity[np.ix_(index, index)] = alignment_similarity([sequences[i] for i in index])
        return _isolated_missing(similarity, present, f"miRNAs ({mirna_form} sequence)", dataset.mirna_ids)
    raise ValueError(f"unknown miRNA similarity source {source!r}; choose one of {MIRNA_SOURCES}")


def parse_side(text: str, side: str) -> tuple[tuple[str, float], ...]:
    """``"0.7*biological+0.3*sequence"`` -> ``(("biological", 0.7), ("sequence", 0.3))``.

    A single name has weight 1. Weights must be positive and sum to 1; names must be sources of
    ``side`` ("drug" or "mirna") and appear once.
    """
    if side not in ("drug", "mirna"):
        raise ValueError(f"side must be 'drug' or 'mirna', got {side!r}")
    if not isinstance(text, str):
        raise TypeError(f"{side} similarity must be text, got {text!r}")
    choices = DRUG_SOURCES if side == "drug" else MIRNA_SOURCES
    terms: list[tuple[str, float]] = []
    for part in text.split("+"):
        part = part.strip()
        weight_text, name = part.split("*", 1) if "*" in part else ("1", part)
        name = name.strip()
        try:
            weight = float(weight_text)
        except ValueError:
            raise ValueError(f"{side} similarity {text!r}: weight {weight_text!r} is not a number") from None
        if name not in choices:
            raise ValueError(f"unknown {side} similarity source {name!r}; choose from {', '.join(choices)}")
        if not (np.isfinite(weight) and weight > 0):
            raise ValueError(f"{side} similarity {text!r}: weight of {name} must be a positive finite number, "
                             f"got {weight_text}")
        if name in dict(terms):
            raise ValueError(f"{side} similarity {text!r}: {name} appears twice")
        terms.append((name, weight))
    total = sum(weight for _, weight in terms)
    if len(terms) > 1 and abs(total - 1.0) > 1e-6:
        raise ValueError(f"{side} similarity {text!r}: weights sum to {total:g}, not 1")
    if len(terms) == 1 and terms[0][1] != 1.0:  # a lone source is the whole side
        raise ValueError(f"{side} similarity {text!r}: a single source takes weight 1 (or none)")
    return tuple(terms)


def side_label(terms: tuple[tuple[str, float], ...]) -> str:
    """The canonical text of a parsed side (inverse of ``parse_side``)."""
    if len(terms) == 1:
        return terms[0][0]
    return "+".join(f"{weight:g}*{name}" for name, weight in terms)


def fuse(matrices: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Weighted mean of similarity matrices with a unit diagonal (symmetric and in [0, 1] when
    every input is)."""
    matrices, weights = [np.asarray(matrix, np.float64) for matrix in matrices], list(weights)
    if not matrices or len(matrices) != len(weights):
        raise ValueError(f"fuse needs one weight per matrix, got {len(matrices)} matrices and {len(weights)} weights")
    if any(matrix.ndim != 2 or matrix.shape != (len(matrices[0]),) * 2 for matrix in matrices):
        raise ValueError(f"fuse needs square matrices of one shape, got {[matrix.shape for matrix in matrices]}")
    if not all(np.isfinite(weight) and weight > 0 for weight in weights) or abs(sum(weights) - 1.0) > 1e-6:
        raise ValueError(f"fuse weights must be positive and sum to 1, got {weights}")
    fused = sum(weight * matrix for matrix, weight in zip(matrices, weights))
    fused = 0.5 * (fused + fused.T)
    np.fill_diagonal(fused, 1.0)
    return fused


def side_similarity(dataset: Dataset, side: str, terms: tuple[tuple[str, float], ...], *,
                    similarity_map: SimilarityMap = "gaussian", mirna_form: MirnaForm = "mature",
                    encoder: EncoderName = DEFAULT_ENCODER) -> np.ndarray:
    """One side's similarity matrix from its parsed source (fused when it has several terms)."""
    if side == "drug":
        matrices = [drug_similarity(dataset, name, similarity_map=similarity_map, encoder=encoder) for name, _ in terms]
    else:
        matrices = [mirna_similarity(dataset, name, similarity_map=similarity_map, mirna_form=mirna_form, encoder=encoder)
                    for name, _ in terms]
    if len(matrices) == 1:
        return matrices[0]
    return fuse(matrices, [weight for _, weight in terms])


def dataset_similarities(
    dataset: Dataset,
    source: str,
    *,
    similarity_map: SimilarityMap | None = None,
    mirna_form: MirnaForm | None = None,
    encoder: EncoderName | None = None,
) -> Similarities:
    """Both similarity matrices of ``dataset`` from a source string, and a label naming exactly the
    sources, weights, map, encoder and miRNA form used.

    ``source`` may carry ``map=`` / ``mirna_form=`` / ``encoder=`` parts (``split_configuration``);
    the keyword arguments, when given, take precedence. Defaults: gaussian map, mature miRNAs, the
    LSTM encoder (the label names the encoder only when it is not the LSTM, so labels of LSTM runs
    are those written before the transformer existed).
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be text such as 'biological' or 'drug=chemical,mirna=sequence', got {source!r}")
    source, extras = split_configuration(source)
    similarity_map = check_map(extras.get("map", "gaussian") if similarity_map is None else similarity_map)
    mirna_form = extras.get("mirna_form", "mature") if mirna_form is None else mirna_form
    if mirna_form not in MIRNA_FORMS:
        raise ValueError(f"mirna_form must be one of {', '.join(MIRNA_FORMS)}; got {mirna_form!r}")
    encoder = check_encoder(extras.get("encoder", DEFAULT_ENCODER) if encoder is None else encoder)
    drug_text, mirna_text = split_source(source)
    drug_terms, mirna_terms = parse_side(drug_text, "drug"), parse_side(mirna_text, "mirna")
    drug = side_similarity(dataset, "drug", drug_terms, similarity_map=similarity_map, encoder=encoder)
    mirna = side_similarity(dataset, "mirna", mirna_terms, similarity_map=similarity_map, mirna_form=mirna_form,
                            encoder=encoder)
    used = _code_options_used(drug_terms, mirna_terms)
    label = f"drug={side_label(drug_terms)},mirna={side_label(mirna_terms)}"
    if "map" in used:
        label += f",map={similarity_map}"
        if encoder != DEFAULT_ENCODER:
            label += f",encoder={encoder}"
    if "mirna_form" in used:
        label += f",mirna_form={mirna_form}"
    return Similarities(drug, mirna, label)


CONFIGURATION_KEYS = ("map", "mirna_form", "encoder")
MIRNA_FORMS = ("mature", "hairpin")
ENCODERS = ARCHITECTURES  # the encoder names a similarity configuration accepts


def check_encoder(encoder: str) -> str:
    """``encoder`` if it names a sequence encoder, else a ValueError listing them."""
    if encoder not in ENCODERS:
        raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}; got {encoder!r}")
    return encoder


def split_configuration(text: str) -> tuple[str, dict[str, str]]:
    """``"drug=sequence,mirna=biological,map=inverse"`` -> ``("drug=sequence,mirna=biological",
    {"map": "inverse"})``: a source string with optional ``map=``, ``mirna_form=`` and ``encoder=``
    parts (how the sequence codes are made and become similarities), as run labels and
    ``sesl-jax select`` write them."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) > 1 and not all(parts):
        raise ValueError(f"similarity {text!r}: an empty part (a comma too many)")
    extras = {}
    for part in parts:
        key, _, value = part.partition("=")
        if key.strip() in CONFIGURATION_KEYS:
            if key.strip() in extras:
                raise ValueError(f"similarity {text!r}: {key.strip()} appears twice")
            extras[key.strip()] = value.strip()
    if "map" in extras:
        try:
            extras["map"] = check_map(extras["map"])
        except ValueError as error:
            raise ValueError(f"similarity {text!r}: {error}") from None
    if "mirna_form" in extras and extras["mirna_form"] not in MIRNA_FORMS:
        raise ValueError(f"similarity {text!r}: mirna_form must be one of {', '.join(MIRNA_FORMS)}; "
                         f"got {extras['mirna_form']!r}")
    source = ",".join(part for part in parts if part.partition("=")[0].strip() not in CONFIGURATION_KEYS)
    if not source and extras:
        raise ValueError(f"similarity {text!r}: no source before its parts, e.g. 'sequence,{parts[0]}'")
    return source, extras


def replace_source(configuration: str, side: str, old: str, new: str) -> str:
    """``configuration`` with source ``old`` of ``side`` ("drug" or "mirna") replaced by ``new``
    (weights kept, merged when ``new`` is already a term; map parts kept). E.g. PCD has no biological
    drug similarity: ``replace_source(c, "drug", "biological", "chemical")``."""
    source, extras = split_configuration(configuration)
    sides = dict(zip(("drug", "mirna"), split_source(source)))
    terms = dict(parse_side(sides[side], side))
    if old not in terms:
        return configuration
    weight = terms.pop(old)
    terms[new] = terms.get(new, 0.0) + weight
    sides[side] = side_label(parse_side("+".join(f"{w!r}*{name}" for name, w in terms.items()), side))
    suffix = "".join(f",{key}={value}" for key, value in extras.items())
    return f"drug={sides['drug']},mirna={sides['mirna']}{suffix}"


def without_biological(configuration: str, *, drug: bool = True, mirna: bool = True) -> str:
    """``configuration`` for data without biological similarities: on the sides asked for, the
    biological term replaced by what a structure gives (drugs: RDKit ``chemical``; miRNAs: ``sequence``
    codes). Own data lacks both; PCD lacks the drug side."""
    if drug:
        configuration = replace_source(configuration, "drug", "biological", "chemical")
    if mirna:
        configuration = replace_source(configuration, "mirna", "biological", "sequence")
    return configuration


def _code_options_used(drug_terms, mirna_terms) -> frozenset[str]:
    """The parts (``map``, ``encoder``, ``mirna_form``) that sides of these terms use: the map and the
    encoder make sequence codes' similarities; ``mirna_form`` picks the miRNA sequences of codes and
    alignments."""
    names = {name for name, _ in (*drug_terms, *mirna_terms)}
    used = {"map", "encoder"} if "sequence" in names else set()
    if any(name in ("sequence", "alignment") for name, _ in mirna_terms):
        used.add("mirna_form")
    return frozenset(used)


def code_option_applies(source: str, key: str) -> bool:
    """Whether ``source`` uses the part ``key`` (``map``, ``encoder``, ``mirna_form``)."""
    drug, mirna = split_source(source)
    return key in _code_options_used(parse_side(drug, "drug"), parse_side(mirna, "mirna"))


def check_code_options(source: str, given: dict[str, str | None]) -> None:
    """A ValueError for an option of ``given`` (``map``, ``encoder``, ``mirna_form``: its value, or
    ``None`` when not given) that ``source`` never uses, which would run as if it were not given."""
    what = {"map": "sequence codes", "encoder": "sequence codes", "mirna_form": "miRNA sequences (sequence or alignment)"}
    for key, value in given.items():
        if value is not None and not code_option_applies(source, key):
            drug, mirna = split_source(source)
            raise ValueError(f"{key}={value} only applies to {what[key]}; the similarity "
                             f"'drug={drug},mirna={mirna}' uses none")


def split_source(source: str) -> tuple[str, str]:
    """``"biological"`` -> both sides; ``"chemical"`` -> chemical drugs + sequence miRNAs;
    ``"drug=X,mirna=Y"`` -> explicit. Each side is checked with ``parse_side`` and returned in its
    canonical text."""
    if not isinstance(source, str):
        raise TypeError(f"similarity source must be text such as 'biological', got {source!r}")
    source = source.strip()
    if "=" in source:
        keys = [part.split("=", 1)[0].strip() for part in source.split(",") if "=" in part]
        repeated = next((key for key in keys if keys.count(key) > 1), None)
        if repeated:
            raise ValueError(f"similarity {source!r}: {repeated}= appears twice")
        parts = {key.strip(): value for key, value in (part.split("=", 1) for part in source.split(",") if "=" in part)}
        if set(parts) != {"drug", "mirna"} or len(source.split(",")) != 2:
            unknown = [key for key in parts if key not in ("drug", "mirna")]
            named = f" (unknown part {unknown[0]!r}; the parts are drug=, mirna=, " + \
                ", ".join(f"{key}=" for key in CONFIGURATION_KEYS) + ")" if unknown else ""
            raise ValueError(f"similarity {source!r}: expected 'drug=SOURCE,mirna=SOURCE'{named}")
        drug, mirna = parts["drug"].strip(), parts["mirna"].strip()
    elif source == "chemical":
        drug, mirna = "chemical", "sequence"
    else:
        drug = mirna = source
    return side_label(parse_side(drug, "drug")), side_label(parse_side(mirna, "mirna"))
