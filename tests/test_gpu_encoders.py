"""``benchmarks/gpu_encoders.py --smoke``: the prepared GPU training of the paper-size encoders runs
on CPU, without RDKit in the training processes, and returns loadable weights with their recipes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_smoke_session_trains_both_kinds_without_rdkit_and_returns_weights(tmp_path):
    out = tmp_path / "out"
    env = {name: value for name, value in os.environ.items() if name != "OUT"}
    # both kinds: the RNA step is the SMILES step without a vocabulary (about 25 s each, mostly start-up)
    command = [sys.executable, "benchmarks/gpu_encoders.py", "--smoke", "--minutes", "0.05", "--out", str(out)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    payload = json.loads((out / "gpu_encoders.json").read_text())
    assert [(step["kind"], step["status"]) for step in payload["steps"]] == [("rna", "ok"), ("smiles", "ok")], payload
    # nothing else comes back: the lent machine returns at most 8 files
    assert sorted(path.name for path in out.iterdir()) == [
        "gpu_encoders.json", "rna-lstm-3x256.json", "rna-lstm-3x256.npz", "smiles-lstm-3x256.json", "smiles-lstm-3x256.npz"]

    from sesl_jax.encoders import Encoder, encode, load_checkpoint

    for kind, shipped_length, sample in (("rna", 180, "UGAGGUAGUAGGUUGUAUAGUU"), ("smiles", 200, "CCO")):
        step = next(s for s in payload["steps"] if s["kind"] == kind)
        assert step["steps"] >= 1 and 0.0 <= step["validation"]["greedy_token_accuracy"] <= 1.0
        recipe = json.loads((out / f"{kind}-lstm-3x256.json").read_text())
        assert recipe["model_config"]["batch_norm"] == "encoder" and recipe["corpora"][0]["sha256"]
        assert recipe["commands"][0].startswith("sesl-jax encoder train --kind " + kind)
        checkpoint = load_checkpoint(out / f"{kind}-lstm-3x256.npz")
        assert checkpoint.tokenizer.max_length == shipped_length  # the shipped length, not the training filter
        codes = encode(Encoder.from_checkpoint(out / f"{kind}-lstm-3x256.npz", kind), [sample])
        assert codes.shape == (1, 64) and np.all(np.isfinite(codes))


def test_a_run_that_would_need_rdkit_fails_as_it_would_on_the_lent_machine(tmp_path):
    """The training processes cannot import RDKit: with the tokenized-corpus cache missing, the
    SMILES step fails (recorded, not a crash of the session) instead of quietly tokenizing."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gpu_encoders
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))

    class Args:
        kinds, smoke, hidden_size, num_layers, batch_size, learning_rate, length_multiple = ["smiles"], True, 8, 1, 4, 2e-3, 32

    inputs = tmp_path / "inputs"
    gpu_encoders.prepare(inputs, Args)
    (inputs / "smiles" / "corpus_rows.npz").write_bytes(b"not a cache")
    step = gpu_encoders.train("smiles", 0.05, inputs / "smiles", tmp_path / "work", tmp_path / "out", Args)
    assert step["status"] == "failed" and "rdkit" in step["log_tail"].lower(), step
