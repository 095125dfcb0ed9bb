"""``benchmarks/gpu_session.py --smoke`` runs on CPU and writes the JSON a GPU session is read from."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def test_smoke_session_writes_complete_json(tmp_path):
    out = tmp_path / "gpu_session.json"
    # one PCD configuration keeps this under a minute on CPU; every configuration runs the same code
    command = [sys.executable, "benchmarks/gpu_session.py", "--smoke", "--methods", "bnnr", "--svt", "sign",
               "--out", str(out)]
    env = {name: value for name, value in os.environ.items() if name != "OUT"}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    payload = json.loads(out.read_text())

    assert payload["smoke"] and payload["dtype"] == "float32"
    assert [(step["name"], step["status"]) for step in payload["steps"]] == [
        ("facts", "ok"), ("fcd", "ok"), ("pcd-bnnr-sign", "ok")]
    assert payload["device"]["backend"] == "cpu" and payload["device"]["devices"]
    assert set(payload["sizes"]) == {"fcd", "pcd"} and payload["sizes"]["pcd"]["known_pairs"] > 0

    (cpu,) = payload["fcd"]  # no accelerator here
    assert cpu["backend"] == "cpu" and cpu["batch_size"] == 4
    for key in ("seconds", "folds_per_second", "speedup_vs_cpu", "global_auc"):
        assert finite(cpu[key]), key

    (pcd,) = payload["pcd"]
    assert pcd["config"] == "bnnr-sign" and pcd["default_batch_size"] == 4
    for key in ("compile_seconds", "probe_seconds", "probe_seconds_per_fold", "chunk_seconds",
                "chunk_seconds_per_fold", "projected_loocv_minutes", "compiled_bytes_per_fold"):
        assert finite(pcd[key]), key
    assert pcd["chunk_batch_size"] == 4 and pcd["chunk_sub_batch_size"] == 4 and pcd["chunk_memory_retries"] == []
    assert payload["projected_pcd_loocv_minutes"] == {"bnnr-sign": pcd["projected_loocv_minutes"]}
    # fold by fold, to compare SVTs: one hidden score (LOOCV) and a global rank per fold of the chunk
    assert len(pcd["chunk_hidden_scores"]) == len(pcd["chunk_candidates_above"]) == 4
    assert all(0.0 <= score <= 1.0 for score in pcd["chunk_hidden_scores"])
