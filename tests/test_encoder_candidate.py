"""``benchmarks/encoder_candidate.py``: issue 12's shipping rule and its held-out molecules."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

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


def test_unseen_molecules_are_outside_the_training_subset(real_data_dir):
    from encoder_candidate import UNSEEN, unseen_smiles

    from sesl_jax.cli._encoder import _read_corpora

    molecules = unseen_smiles(real_data_dir)
    assert len(molecules) == 1988 and len(set(molecules)) == 1988
    # the subset `encoder train --limit 200000 --seed 0` draws from the same file
    trained, _, _ = _read_corpora("smiles", [str(real_data_dir / UNSEEN["corpus"])], None, UNSEEN["training_rows"], 0)
    assert len(trained) == UNSEEN["training_rows"] and not set(molecules) & set(trained)
