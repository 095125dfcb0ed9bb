"""The shipped encoders: they load, codes are deterministic, and near molecules/miRNAs are near.

Distances are Euclidean between 64-d codes (``sesl_jax.similarity.euclidean_distances``).
"""

from __future__ import annotations

import numpy as np
import pytest

from sesl_jax.encoders import SequenceError, encode, load_pretrained
from sesl_jax.similarity import code_similarity, euclidean_distances

# Benchmark drugs (PCD) and close analogues; SMILES as in sequences/drug831_smiles.tsv.
ESTRADIOL = "CC12CCC3c4ccc(O)cc4CCC3C1CCC2O"  # CID:5757
ETHINYLESTRADIOL = "C#CC1(O)CCC2C3CCc4cc(O)ccc4C3CCC21C"  # CID:5991
ESTRONE = "CC12CCC3c4ccc(O)cc4CCC3C1CCC2=O"
ENOXACIN = "CCn1cc(C(=O)O)c(=O)c2cc(F)c(N3CCNCC3)nc21"  # CID:3229
NORFLOXACIN = "CCn1cc(C(=O)O)c(=O)c2cc(F)c(N3CCNCC3)cc21"  # CID:4539 (enoxacin with C for N)
PEFLOXACIN = "CCn1cc(C(=O)O)c(=O)c2cc(F)c(N3CCN(C)CC3)cc21"  # norfloxacin + methyl
CAFFEINE = "Cn1c(=O)c2c(ncn2C)n(C)c1=O"  # CID:2519
THEOPHYLLINE = "Cn1c(=O)c2[nH]cnc2n(C)c1=O"  # caffeine - methyl
IBUPROFEN = "CC(C)Cc1ccc(C(C)C(=O)O)cc1"

# miRBase v21, from sequences/mirna541_sequences.tsv
LET7A_5P, LET7B_5P, LET7C_5P = "UGAGGUAGUAGGUUGUAUAGUU", "UGAGGUAGUAGGUUGUGUGGUU", "UGAGGUAGUAGGUUGUAUGGUU"
MIR21_5P, MIR155_5P = "UAGCUUAUCAGACUGAUGUUGA", "UUAAUGCUAAUCGUGAUAGGGGU"
LET7A1_HAIRPIN = "UGGGAUGAGGUAGUAGGUUGUAUAGUUUUAGGGUCACACCCACCACUGGGAGAUAACUAUACAAUCUACUGUCUUUCCUA"
LET7B_HAIRPIN = "CGGGGUGAGGUAGUAGGUUGUGUGGUUUCAGGGCAGUGAUGUUGCCCCUCGGAAGAUAACUAUACAACCUACUGCCUUCCCUG"
LET7C_HAIRPIN = "GCAUCCGGGUUGAGGUAGUAGGUUGUAUGGUUUAGAGUUACACCCUGGGAGUUAACUGUACAACCUUCUAGCUUUCCUUGGAGC"
MIR21_HAIRPIN = "UGUCGGGUAGCUUAUCAGACUGAUGUUGACUGUUGAAUCUCAUGGCAACACCAGUCGAUGGGCUGUCUGACA"
MIR155_HAIRPIN = "CUGUUAAUGCUAAUCGUGAUAGGGGUUUUUGCCUCCAACUGACUCCUACAUAUUAGCAUUAACAG"


@pytest.fixture(scope="module")
def smiles_encoder():
    return load_pretrained("smiles")


@pytest.fixture(scope="module")
def rna_encoder():
    return load_pretrained("rna")


def _distance(encoder, first: str, second: str) -> float:
    codes = encode(encoder, [first, second])
    return float(euclidean_distances(codes)[0, 1])


def test_shipped_encoders_load_with_recipes(smiles_encoder, rna_encoder):
    for encoder, kind in ((smiles_encoder, "smiles"), (rna_encoder, "rna")):
        assert encoder.kind == kind and encoder.code_dim == 64
        recipe = encoder.metadata["recipe"]
        assert recipe["kind"] == kind and recipe["corpora"] and all(len(c["sha256"]) == 64 for c in recipe["corpora"])
        assert encoder.metadata["validation"]["token_accuracy"] > 0.5
    assert load_pretrained("smiles") is smiles_encoder  # loaded once per process
    assert smiles_encoder.tokenizer.max_length >= 174  # the longest benchmark drug
    assert rna_encoder.tokenizer.max_length >= 150  # the longest benchmark hairpin


def test_codes_are_deterministic_and_independent_of_the_batch(smiles_encoder):
    molecules = [ESTRADIOL, ENOXACIN, CAFFEINE, IBUPROFEN]
    codes = encode(smiles_encoder, molecules)
    assert codes.shape == (4, 64) and codes.dtype == np.float64 and np.isfinite(codes).all()
    np.testing.assert_array_equal(codes, encode(smiles_encoder, molecules))
    np.testing.assert_array_equal(codes[::-1], encode(smiles_encoder, molecules[::-1]))
    np.testing.assert_array_equal(codes[1], encode(smiles_encoder, [ENOXACIN])[0])
    # one molecule, two spellings: canonicalisation makes them one code
    np.testing.assert_array_equal(codes[2], encode(smiles_encoder, ["O=c1n(C)c(=O)c2c(ncn2C)n1C"])[0])
    assert encode(smiles_encoder, []).shape == (0, 64)
    with pytest.raises(SequenceError, match="position"):
        encode(smiles_encoder, ["CC(C"])
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        encode(smiles_encoder, molecules, batch_size=0)


@pytest.mark.parametrize(
    "anchor, analogue, unrelated",
    [
        (ESTRADIOL, ETHINYLESTRADIOL, ENOXACIN),
        (ESTRADIOL, ESTRONE, CAFFEINE),
        (ENOXACIN, NORFLOXACIN, ESTRADIOL),
        (NORFLOXACIN, PEFLOXACIN, IBUPROFEN),
        (CAFFEINE, THEOPHYLLINE, IBUPROFEN),
    ],
)
def test_analogue_drugs_are_closer_than_unrelated_ones(smiles_encoder, anchor, analogue, unrelated):
    assert _distance(smiles_encoder, anchor, analogue) < _distance(smiles_encoder, anchor, unrelated)


@pytest.mark.parametrize(
    "anchor, relative, unrelated",
    [
        (LET7A_5P, LET7B_5P, MIR21_5P),
        (LET7A_5P, LET7C_5P, MIR155_5P),
        (LET7A1_HAIRPIN, LET7B_HAIRPIN, MIR21_HAIRPIN),
        (LET7A1_HAIRPIN, LET7C_HAIRPIN, MIR155_HAIRPIN),
    ],
)
def test_mirnas_of_one_family_are_closer_than_unrelated_ones(rna_encoder, anchor, relative, unrelated):
    assert _distance(rna_encoder, anchor, relative) < _distance(rna_encoder, anchor, unrelated)


def _benchmark_smiles(real_data_dir) -> list[str]:
    """The 808 drugs' SMILES as the table gives them; one carries a CXSMILES extension (" |c:12,t:8|"),
    which the tokenizer refuses, so the molecule before the space stands for it."""
    import pandas as pd

    table = pd.read_csv(real_data_dir / "sequences" / "drug831_smiles.tsv", sep="\t").dropna(subset=["smiles"])
    return [smiles.split(" ")[0] for smiles in table["smiles"]]


@pytest.mark.realdata
def test_every_benchmark_drug_and_mirna_is_encodable(smiles_encoder, rna_encoder, real_data_dir):
    import pandas as pd

    drugs = _benchmark_smiles(real_data_dir)
    drug_codes = encode(smiles_encoder, drugs)
    assert drug_codes.shape == (808, 64) and np.isfinite(drug_codes).all()
    mirnas = pd.read_csv(real_data_dir / "sequences" / "mirna541_sequences.tsv", sep="\t")
    mirna_codes = encode(rna_encoder, list(mirnas["hairpin_seq"]))
    assert mirna_codes.shape == (541, 64) and np.isfinite(mirna_codes).all()
    similarity = code_similarity(drug_codes)
    assert np.allclose(similarity, similarity.T) and np.all(np.diag(similarity) == 1.0)
    # distinct token sequences get distinct codes (rare atoms are <unk>, so compare token ids)
    distinct = len({tuple(smiles_encoder.tokenizer.encode(s)) for s in drugs})
    assert len(np.unique(np.round(drug_codes, 6), axis=0)) == distinct


@pytest.mark.realdata
def test_code_distance_follows_chemical_similarity_over_the_benchmark_drugs(smiles_encoder, real_data_dir):
    """Over all 808 drugs: pairs close in code space share more Morgan substructure (Tanimoto)."""
    from rdkit import Chem, DataStructs
    from rdkit.Chem import rdFingerprintGenerator
    from scipy.stats import spearmanr

    smiles = _benchmark_smiles(real_data_dir)
    distances = euclidean_distances(encode(smiles_encoder, smiles))
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fingerprints = [generator.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]
    tanimoto = np.array([DataStructs.BulkTanimotoSimilarity(f, fingerprints) for f in fingerprints])
    upper = np.triu_indices(len(smiles), 1)
    assert spearmanr(distances[upper], tanimoto[upper]).statistic < -0.1
    np.fill_diagonal(distances, np.inf)
    nearest = distances.argmin(axis=1)
    assert tanimoto[np.arange(len(smiles)), nearest].mean() > 1.5 * tanimoto[upper].mean()


def test_recipes_describe_the_shipped_files():
    import json

    from sesl_jax._io import sha256_file
    from sesl_jax.encoders import pretrained_path

    for kind in ("smiles", "rna"):
        path = pretrained_path(kind)
        recipe = json.loads(path.with_suffix(".json").read_text())
        assert recipe["weights_sha256"] == sha256_file(path)
        assert recipe["commands"][0].startswith(f"sesl-jax encoder train --kind {kind} ")
        assert {"token_accuracy", "sequence_accuracy", "greedy_token_accuracy", "greedy_sequence_accuracy"} <= set(recipe["validation"])
