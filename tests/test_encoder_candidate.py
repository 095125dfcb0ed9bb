"""``benchmarks/encoder_candidate.py``: issue 12's shipping rule and its held-out molecules."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import encoder_candidate  # noqa: E402
import pytest  # noqa: E402
from encoder_candidate import verdict  # noqa: E402

BETTER = {"candidate": {"token": 0.9, "sequence": 0.6}, "shipped": {"token": 0.3, "sequence": 0.0}}


def test_ships_only_when_higher_on_every_measure():
    assert verdict(BETTER, {"fcd": {"candidate": 0.8810, "shipped": 0.8806}}) == {"ship": True, "why_not": []}
    # a tie keeps the shipped weights, and so does a lower AUC on any dataset
    tied = verdict(BETTER, {"fcd": {"candidate": 0.8806, "shipped": 0.8806}})
    assert not tied["ship"] and tied["why_not"] == ["FCD nested AUC 0.8806, shipped 0.8806"]
    mixed = verdict(BETTER, {"fcd": {"candidate": 0.89, "shipped": 0.88}, "pcd": {"candidate": 0.97, "shipped": 0.98}})
    assert not mixed["ship"] and mixed["why_not"] == ["PCD nested AUC 0.9700, shipped 0.9800"]
    # reconstruction counts token and sequence accuracy both
    worse_tokens = {**BETTER, "candidate": {"token": 0.2, "sequence": 0.6}}
    assert verdict(worse_tokens, {"fcd": {"candidate": 0.89, "shipped": 0.88}})["why_not"] == [
        "free-running token accuracy 0.2000, shipped 0.3000"]
    # reconstruction alone never ships
    assert verdict(BETTER, {}) == {"ship": False, "why_not": ["no nested selection was run"]}


def test_unseen_molecules_are_the_ones_the_candidates_were_measured_on(real_data_dir):
    """The 1,988 molecules of the candidates' reconstruction_unseen.json, drawn as their README says
    (a plain NumPy draw of the trainer's subset), and outside what `encoder train --limit 200000
    --seed 0` trains on."""
    import numpy as np
    from encoder_candidate import UNSEEN, unseen_smiles

    from sesl_jax.cli._encoder import _read_corpora
    from sesl_jax.encoders import read_corpus

    molecules = unseen_smiles(real_data_dir)
    items = read_corpus("smiles", real_data_dir / UNSEEN["corpus"])
    used = set(np.random.default_rng([0, 0]).choice(len(items), size=200000, replace=False).tolist())
    unseen = sorted(set(range(len(items))) - used)
    pick = sorted(np.random.default_rng(1).choice(len(unseen), size=2000, replace=False).tolist())
    assert molecules == [items[unseen[i]] for i in pick if len(items[unseen[i]]) <= 90]
    assert len(molecules) == 1988
    trained, _, _ = _read_corpora("smiles", [str(real_data_dir / UNSEEN["corpus"])], None, 200000, 0)
    assert not set(molecules) & set(trained)


def test_a_directory_holds_the_runs_of_one_candidate(tmp_path):
    """Rerunning with other weights or --quick into the same directory would judge them on the
    stored runs: refused, naming what changed; the same identity resumes."""
    identity = {"kind": "smiles", "weights_sha256": "a" * 64, "quick": False, "held_out": "unseen SMILES"}
    directory = tmp_path / "candidate"
    encoder_candidate.claim_directory(directory, identity)
    encoder_candidate.claim_directory(directory, identity)  # a rerun resumes
    with pytest.raises(SystemExit, match="holds the runs of other weights or settings .*quick False -> True"):
        encoder_candidate.claim_directory(directory, {**identity, "quick": True})
    with pytest.raises(SystemExit, match="weights_sha256"):
        encoder_candidate.claim_directory(directory, {**identity, "weights_sha256": "b" * 64})
    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit, match="is a file, not a directory"):
        encoder_candidate.claim_directory(tmp_path / "file", identity)


def _model(path, token, sequence, bands):
    return {"path": path, "greedy_token_accuracy": token, "greedy_sequence_accuracy": sequence, "token_accuracy": 0.99,
            "greedy_sequences": sum(band[2] for band in bands),
            "greedy_by_length": [{"min_length": low, "max_length": high, "sequences": count, "token_accuracy": tok,
                                  "sequence_accuracy": seq} for low, high, count, tok, seq in bands]}


def test_reconstruction_keeps_the_length_bands_of_candidate_and_shipped():
    """``encoder evaluate --run`` lists the run's checkpoint first: the last two rows are the
    candidate and the shipped weights, and their bands reach the verdict and the band table
    (empty bands left out, sorted by length then side)."""
    evaluation = {"models": [
        _model("run/checkpoint.npz", 0.1, 0.0, [(1, 32, 3, 0.1, 0.0)]),
        _model("run/encoder.npz", 0.95, 0.9, [(1, 32, 3, 1.0, 1.0), (33, 64, 0, 0.0, 0.0), (129, None, 1, 0.5, 0.0)]),
        _model("shipped", 0.85, 0.5, [(1, 32, 3, 0.9, 0.6), (33, 64, 0, 0.0, 0.0), (129, None, 1, 0.4, 0.0)]),
    ]}
    summary = encoder_candidate.reconstruction_summary(evaluation)
    assert summary["candidate"]["token"] == 0.95 and summary["shipped"]["sequence"] == 0.5
    assert summary["candidate"]["sequences"] == 4
    assert [band["sequences"] for band in summary["shipped"]["by_length"]] == [3, 0, 1]
    rows = encoder_candidate.band_rows(summary)
    assert [(row["lengths"], row["side"], row["token"]) for row in rows] == [
        ("1-32", "candidate", 1.0), ("1-32", "shipped", 0.9), ("129-", "candidate", 0.5), ("129-", "shipped", 0.4)]
    assert all(row["correct prefix"] is None for row in rows)  # these bands were written without it
    evaluation["models"][1]["greedy_by_length"][0]["mean_correct_prefix"] = 21.5
    assert encoder_candidate.band_rows(encoder_candidate.reconstruction_summary(evaluation))[0]["correct prefix"] == 21.5
    # a file written before the bands existed still gives the overall figures
    for model in evaluation["models"]:
        del model["greedy_by_length"]
    old = encoder_candidate.reconstruction_summary(evaluation)
    assert old["candidate"]["by_length"] == [] and encoder_candidate.band_rows(old) == []
