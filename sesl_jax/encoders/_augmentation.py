"""Randomized-SMILES augmentation: each epoch shows a molecule written from another atom order.

A SMILES auto-encoder trained only on canonical strings sees one spelling per molecule; with
augmentation every training row is, each epoch, replaced by a random valid SMILES of the same
molecule (RDKit ``MolToRandomSmilesVect``, the seeded form of
``MolToSmiles(mol, doRandom=True, canonical=False)``), and the model reconstructs that string.
The random spelling of row ``i`` in epoch ``e`` is a function of ``(seed, e, i)`` only, so a
resumed run draws the same strings as an uninterrupted one (for a given RDKit version).

A row falls back to its original ids (counted) when RDKit cannot read it (e.g. it holds
``<unk>``), or when the random spelling is longer than the tokenizer allows or needs tokens
missing from the vocabulary.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from sesl_jax.encoders._tokenizers import UNK_ID, SequenceError, SmilesTokenizer


def randomized_smiles(smiles: str, seed: int) -> str | None:
    """A random, non-canonical SMILES of the molecule ``smiles``; ``None`` when RDKit cannot read it.

    Deterministic for a given ``seed`` (an int in ``[1, 2**31)``; RDKit reads 0 as "unseeded")
    and RDKit version.
    """
    from rdkit import Chem, rdBase

    if not 0 < seed < 2**31:
        raise ValueError(f"seed must be in [1, 2**31), got {seed}")

    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    return Chem.MolToRandomSmilesVect(mol, 1, randomSeed=int(seed))[0]


def augmentation_seeds(seed: int, epoch: int, count: int) -> np.ndarray:
    """RDKit seeds (count,) of the rows of one epoch: row ``i`` gets the same seed however the epoch is cut."""
    return np.random.default_rng([seed, epoch, 0x5A5A]).integers(1, 2**31, size=count)


def randomize_rows(
    tokenizer: SmilesTokenizer, rows: Sequence[np.ndarray], seeds: Sequence[int]
) -> tuple[list[np.ndarray], int]:
    """Id rows of random spellings of the molecules in ``rows`` (one seed each), and the fallback count.

    ``rows`` are ids of ``tokenizer`` (with ``<bos>``/``<eos>``); the result is tokenized as
    written (no canonicalisation) with the same vocabulary and maximum length.
    """
    writer = SmilesTokenizer(tokenizer.vocabulary, max_length=tokenizer.max_length, canonicalize=False)
    randomized, fallbacks = [], 0
    for row, seed in zip(rows, seeds):
        text = None if UNK_ID in row else randomized_smiles(tokenizer.decode(row), int(seed))
        new_row = None
        if text is not None:
            try:
                new_row = writer.encode(text)
            except SequenceError:
                new_row = None
        if new_row is None or UNK_ID in new_row:
            randomized.append(row)
            fallbacks += 1
        else:
            randomized.append(new_row)
    return randomized, fallbacks
