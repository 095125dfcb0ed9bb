"""Chemical drug similarity: RDKit Morgan fingerprints and Tanimoto coefficients.

The structural similarity used by most SM-miRNA methods: each drug's SMILES gives a Morgan
(ECFP-like) bit vector of ``n_bits`` bits and radius ``radius``; the similarity of two drugs is
the Tanimoto coefficient of their bit sets, ``|a & b| / |a | b|``.

Policy for missing structures: a ``None`` (or empty) SMILES has no fingerprint; its row and
column are 0 except a 1 on the diagonal, and a ``UserWarning`` names the indices. Two drugs
whose fingerprints are both empty (possible only for odd molecules) also get similarity 0.
A SMILES that RDKit cannot parse raises ``ValueError`` naming its index and text.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from sesl_jax._values import check_integer, check_not_text


def morgan_fingerprints(smiles: Sequence[str | None], radius: int = 2, n_bits: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Morgan bit vectors, shape (n, n_bits) uint8, and a boolean mask of drugs that have one.

    Raises:
        ValueError: a SMILES that RDKit cannot parse (the message names its index).
    """
    from rdkit import Chem, RDLogger
    from rdkit.Chem import rdFingerprintGenerator

    check_not_text("smiles", smiles)
    check_integer("radius", radius, 0)
    check_integer("n_bits", n_bits, 1)
    for index, text in enumerate(smiles):
        if text is not None and not isinstance(text, str):
            raise TypeError(f"the SMILES of drug {index} is {text!r}: SMILES are text (None where there is none)")
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=int(radius), fpSize=int(n_bits))
    bits = np.zeros((len(smiles), int(n_bits)), dtype=np.uint8)
    present = np.zeros(len(smiles), dtype=bool)
    RDLogger.DisableLog("rdApp.*")  # parse failures are reported by our ValueError instead
    try:
        for index, text in enumerate(smiles):
            if text is None or (isinstance(text, str) and not text.strip()):
                continue
            molecule = Chem.MolFromSmiles(text)
            if molecule is None:
                raise ValueError(f"RDKit cannot parse the SMILES of drug {index}: {text!r}")
            bits[index] = generator.GetFingerprintAsNumPy(molecule).astype(np.uint8)
            present[index] = True
    finally:
        RDLogger.EnableLog("rdApp.*")
    return bits, present


def tanimoto_similarity(bits: np.ndarray) -> np.ndarray:
    """Tanimoto coefficients between the rows of a 0/1 matrix (n, n_bits); 0 where both are empty;
    1 on the diagonal."""
    bits = np.asarray(bits, dtype=np.float64)
    intersection = bits @ bits.T
    counts = np.diag(intersection)
    union = counts[:, None] + counts[None, :] - intersection
    similarity = np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)
    np.fill_diagonal(similarity, 1.0)
    return similarity


def chemical_similarity(smiles: Sequence[str | None], radius: int = 2, n_bits: int = 2048) -> np.ndarray:
    """Drug-drug Tanimoto similarity of Morgan fingerprints.

    Args:
        smiles: one SMILES per drug; ``None`` or empty for a drug without a structure.
        radius: Morgan radius (2 gives ECFP4-like features).
        n_bits: fingerprint length.

    Returns:
        (n, n) float64, symmetric, in [0, 1], unit diagonal. Drugs without a structure have
        similarity 0 to every other drug (a warning names them).

    Raises:
        ValueError: a SMILES RDKit cannot parse (the message names its index and text).
    """
    bits, present = morgan_fingerprints(smiles, radius, n_bits)
    if not present.all():
        missing = np.flatnonzero(~present).tolist()
        warnings.warn(
            f"no SMILES for drugs {missing}: their chemical similarity is 0 to every other drug",
            UserWarning,
            stacklevel=2,
        )
    return tanimoto_similarity(bits)
