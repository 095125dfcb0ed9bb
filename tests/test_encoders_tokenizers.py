"""Tokenizers: round trips on the benchmark sequences and one test per kind of bad input."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sesl_jax.encoders import SPECIAL_TOKENS, RnaTokenizer, SequenceError, SmilesTokenizer, tokenizer_from_config


# --- SMILES ---------------------------------------------------------------------------------


def test_smiles_tokens_are_chemical_units():
    tokenizer = SmilesTokenizer(canonicalize=False)
    smiles = "Clc1ccc2[nH]cc(C[C@@H](N)C(=O)[O-])c2c1Br.C%10CC%10"
    assert tokenizer.tokenize(smiles) == [
        "Cl", "c", "1", "c", "c", "c", "2", "[nH]", "c", "c", "(", "C", "[C@@H]", "(", "N", ")", "C", "(", "=", "O",
        ")", "[O-]", ")", "c", "2", "c", "1", "Br", ".", "C", "%10", "C", "C", "%10",
    ]
    assert tokenizer.tokenize("C/C=C\\C#N") == ["C", "/", "C", "=", "C", "\\", "C", "#", "N"]


def test_smiles_encode_decode_and_special_ids():
    tokenizer = SmilesTokenizer.fit(["CCO", "c1ccccc1Cl"], canonicalize=False)
    assert tokenizer.vocabulary[:4] == SPECIAL_TOKENS
    ids = tokenizer.encode("CCO")
    assert ids.dtype == np.int32 and ids[0] == 1 and ids[-1] == 2
    assert tokenizer.decode(ids) == "CCO"
    assert tokenizer.decode(tokenizer.encode("CBr")) == "C?"  # Br is not in the vocabulary -> <unk>
    batch, lengths = tokenizer.encode_batch(["CCO", "C"], pad_to=8)
    assert batch.shape == (2, 8) and lengths.tolist() == [5, 3] and batch[1, 3:].tolist() == [0] * 5
    assert tokenizer_from_config(tokenizer.config()) == tokenizer


def test_smiles_canonical_form_is_one_molecule_one_sequence():
    tokenizer = SmilesTokenizer()
    assert tokenizer.tokenize("OCC") == tokenizer.tokenize("C(O)C") == tokenizer.tokenize("CCO")


@pytest.mark.realdata
def test_every_drug_smiles_round_trips(real_data_dir):
    import pandas as pd

    table = pd.read_csv(real_data_dir / "sequences" / "drug831_smiles.tsv", sep="\t").dropna(subset=["smiles"])
    assert len(table) == 808
    raw = SmilesTokenizer(max_length=10**6, canonicalize=False)
    canonical = SmilesTokenizer(max_length=10**6)
    from rdkit import Chem

    for smiles in table["smiles"]:
        if " " in smiles:  # one CXSMILES (" |c:12,t:8|"): refused, not read without its extension
            with pytest.raises(SequenceError, match="whitespace inside a SMILES"):
                raw.tokenize(smiles)
            continue
        tokens = raw.tokenize(smiles)
        assert "".join(tokens) == smiles
        canonical_tokens = canonical.tokenize(smiles)
        assert "".join(canonical_tokens) == Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


@pytest.mark.parametrize(
    "smiles, position, words",
    [
        ("CC(C", 2, "never closed"),
        ("CC)C", 2, "closes no branch"),
        ("C1CCC", 1, "ring bond 1"),
        ("CC[NH2", 2, "bracket"),
        ("CC&C", 2, "unexpected character"),
        ("CC(C)(C)(C)C", 1, "valence"),
        ("c1cccc1", 0, "kekulize"),
    ],
)
def test_invalid_smiles_names_molecule_and_position(smiles, position, words):
    with pytest.raises(SequenceError) as caught:
        SmilesTokenizer().encode(smiles)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.position == position
    assert repr(smiles) in str(error) and f"position {position}" in str(error)
    assert words.lower() in str(error).lower()


def test_empty_and_too_long_smiles():
    with pytest.raises(SequenceError, match="empty"):
        SmilesTokenizer().encode("")
    with pytest.raises(SequenceError, match=r"'CCCCCC' at position 4: 6 tokens, more than the model's maximum of 4"):
        SmilesTokenizer(max_length=4).encode("CCCCCC")


def test_whitespace_in_a_smiles_is_an_error_not_dropped():
    # RDKit reads "CCO CCC" as ethanol named CCC: the tokens would silently leave the rest out
    for text, position in (("CCO CCC", 3), ("CCO ", 3), (" CCO", 0), ("CC\tO", 2)):
        with pytest.raises(SequenceError, match=re.escape(f"{text!r} at position {position}: whitespace inside a SMILES")):
            SmilesTokenizer().encode(text)
    with pytest.raises(SequenceError, match="whitespace inside a SMILES"):
        SmilesTokenizer(canonicalize=False).tokenize("CCO CCC")


def test_smiles_fit_refuses_a_bare_string_and_a_corpus_with_nothing_valid():
    with pytest.raises(TypeError, match="SmilesTokenizer.fit takes a list, one entry per item"):
        SmilesTokenizer.fit("CCO")  # would build a vocabulary of the letters C and O
    with pytest.raises(SequenceError, match=r"'C\(' at position 1: branch '\(' is never closed \(and none of the 2 "
                                            r"SMILES given is valid\)"):
        SmilesTokenizer.fit(["C(", "xx"], skip_invalid=True)
    with pytest.raises(ValueError, match="SmilesTokenizer.fit: no SMILES given"):
        SmilesTokenizer.fit([])
    with pytest.raises(ValueError, match="min_count must be an integer >= 1, got 0"):
        SmilesTokenizer.fit(["CC"], min_count=0)
    assert SmilesTokenizer.fit(["CC", "xx"], skip_invalid=True).vocabulary == SPECIAL_TOKENS + ("C",)


def test_tokenizer_settings_and_arguments_are_checked():
    with pytest.raises(ValueError, match="max_length must be an integer >= 1, got 2.7"):
        RnaTokenizer(max_length=2.7)  # not truncated to 2
    with pytest.raises(ValueError, match="max_length must be an integer >= 1, got None"):
        RnaTokenizer(max_length=None)
    with pytest.raises(ValueError, match="canonicalize must be True or False, got 'no'"):
        SmilesTokenizer(canonicalize="no")  # not read as true
    with pytest.raises(TypeError, match="a SMILES must be a str, got list"):
        SmilesTokenizer().tokenize(["C"])  # not the cache's "unhashable type"
    with pytest.raises(TypeError, match="encode_batch takes a list, one entry per item"):
        RnaTokenizer().encode_batch("ACGU")  # not four one-letter rows
    with pytest.raises(ValueError, match="pad_to must be an integer >= 0 or None, got 7.5"):
        RnaTokenizer().encode_batch(["ACGU"], pad_to=7.5)


def test_decode_refuses_ids_outside_the_vocabulary():
    tokenizer = RnaTokenizer()
    assert tokenizer.decode(np.array([1, 4, 7, 2, 5], np.int32)) == "AU" and tokenizer.decode([]) == ""
    for ids, position in (([1, 99], 1), ([-1], 0)):  # -1 would index from the end: 'U'
        with pytest.raises(ValueError, match=rf"decode: id {ids[position]} at position {position} is not in the "
                                             r"vocabulary \(ids 0 to 7\)"):
            tokenizer.decode(ids)
    for ids in ([4.7], "ACGU"):  # 4.7 would be read as 4: 'A'
        with pytest.raises(TypeError, match="decode takes a 1-D sequence of integer ids"):
            tokenizer.decode(ids)


# --- RNA ------------------------------------------------------------------------------------


def test_rna_tokens_and_t_as_u():
    tokenizer = RnaTokenizer(max_length=16)
    assert tokenizer.vocabulary == SPECIAL_TOKENS + ("A", "C", "G", "U")
    assert tokenizer.tokenize("acgT") == ["A", "C", "G", "U"]
    assert tokenizer.decode(tokenizer.encode("ACGTU")) == "ACGUU"


@pytest.mark.realdata
def test_every_mirna_round_trips(real_data_dir):
    import pandas as pd

    table = pd.read_csv(real_data_dir / "sequences" / "mirna541_sequences.tsv", sep="\t")
    tokenizer = RnaTokenizer(max_length=200)
    sequences = [s for column in ("hairpin_seq", "mature_5p_seq", "mature_3p_seq") for s in table[column].dropna()]
    assert len(table) == 541 and len(sequences) > 541
    for sequence in sequences:
        assert tokenizer.decode(tokenizer.encode(sequence)) == sequence.upper().replace("T", "U")


def test_rna_bad_letter_ambiguity_empty_and_length():
    with pytest.raises(SequenceError, match=r"'ACGXU' at position 3: 'X' is not a nucleotide"):
        RnaTokenizer().encode("ACGXU")
    with pytest.raises(SequenceError, match=r"'ACNU' at position 2: IUPAC ambiguity code 'N'"):
        RnaTokenizer().encode("ACNU")
    ids = RnaTokenizer(ambiguity="unknown").encode("ACNU")
    assert ids.tolist() == [1, 4, 5, 3, 7, 2]
    with pytest.raises(SequenceError, match="empty"):
        RnaTokenizer().encode("")
    with pytest.raises(SequenceError, match=r"position 3: 5 tokens, more than the model's maximum of 3"):
        RnaTokenizer(max_length=3).encode("ACGUA")
