"""Result files are strict JSON, and a run resumes whatever directory its data was read from or
whatever chunk size is asked the second time."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from sesl_jax._io import atomic_write_json, json_ready
from sesl_jax.data import Dataset
from sesl_jax.evaluation import ResultStore, ResumeMismatchError, kfold_folds
from sesl_jax.evaluation.report import format_summary
from sesl_jax.evaluation.runner import run_evaluation
from sesl_jax.pipeline import MethodConfig
from synthetic import planted_problem

CONFIG = MethodConfig("se", similarity="biological")


def strict_loads(text: str):
    def refuse(token: str):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def _dataset(source: str, file_name: str = "pairs.csv", name: str = "mine") -> Dataset:
    A, Sd, Sm = planted_problem(6, 9, seed=41)
    return Dataset(name=name, drug_ids=tuple(f"D{i}" for i in range(6)), mirna_ids=tuple(f"M{j}" for j in range(9)),
                   associations=A, drug_similarity=Sd, mirna_similarity=Sm, checksums={file_name: "ab" * 32},
                   source=source)


def test_undefined_numbers_are_written_as_null(tmp_path):
    value = {"nan": math.nan, "inf": np.float32(np.inf), "array": np.array([1.0, np.nan]), "pair": (1, np.int64(2)),
             "path": Path("x"), "nested": {"ok": 0.5}}
    assert json_ready(value) == {"nan": None, "inf": None, "array": [1.0, None], "pair": [1, 2], "path": "x",
                                 "nested": {"ok": 0.5}}
    atomic_write_json(tmp_path / "value.json", value)
    assert strict_loads((tmp_path / "value.json").read_text())["array"] == [1.0, None]
    with pytest.raises(TypeError, match="cannot serialise object"):
        json_ready(object())


def test_single_repeat_std_is_null_in_metrics_json_and_na_on_screen(tmp_path):
    dataset = _dataset("here")
    folds = kfold_folds(dataset.associations, k=3, repeats=1, seed=0)
    summary = run_evaluation(dataset, folds, out_dir=tmp_path / "run", config=CONFIG, batch_size=2)
    for name in ("metrics.json", "manifest.json", "environment.json"):
        strict_loads((tmp_path / "run" / name).read_text())  # no NaN / Infinity tokens anywhere
    recorded = strict_loads((tmp_path / "run" / "environment.json").read_text())["encoder_weights"]
    assert set(recorded) == {"smiles.npz", "rna.npz", "smiles-transformer.npz", "rna-transformer.npz"}
    assert all(len(digest) == 64 for digest in recorded.values())
    stored = strict_loads((tmp_path / "run" / "metrics.json").read_text())
    assert stored["metrics"]["global"]["auc"]["std"] is None and stored["metrics"]["global"]["auc"]["n"] == 1
    for shown in (summary, stored):  # the run's own summary (NaN) and the stored one (null)
        text = format_summary(shown)
        assert "± n/a (n=1)" in text and "nan" not in text


def test_run_resumes_from_data_read_elsewhere_with_another_batch_size(tmp_path, monkeypatch):
    folds = kfold_folds(_dataset("a").associations, k=3, repeats=2, seed=1)
    reference = run_evaluation(_dataset("a"), folds, out_dir=tmp_path / "whole", config=CONFIG, batch_size=2)

    original = ResultStore.write_chunk

    def killed_after_one(self, index, arrays):
        if index == 1:
            raise KeyboardInterrupt
        return original(self, index, arrays)

    monkeypatch.setattr(ResultStore, "write_chunk", killed_after_one)
    with pytest.raises(KeyboardInterrupt):
        run_evaluation(_dataset("/first/place"), folds, out_dir=tmp_path / "run", config=CONFIG, batch_size=2)
    monkeypatch.setattr(ResultStore, "write_chunk", original)
    # the same data from another directory, file name and dataset name, and another --batch-size
    logged = []
    moved = _dataset("/second/place", file_name="copy.csv", name="copy")
    resumed = run_evaluation(moved, folds, out_dir=tmp_path / "run", config=CONFIG, batch_size=5, log=logged.append)
    assert resumed["timing"]["folds_computed"] == folds.n_folds - 2  # chunk 0 (folds 0, 1) was reused
    assert resumed["batch_size"] == 2 and any("stored batch size 2" in line for line in logged)
    assert json.dumps(resumed["metrics"], sort_keys=True) == json.dumps(reference["metrics"], sort_keys=True)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["recorded"]["data"]["source"] == "/first/place"  # how the stored chunks were made


def test_other_data_still_refuses_to_resume(tmp_path):
    dataset = _dataset("a")
    folds = kfold_folds(dataset.associations, k=3, seed=0)
    run_evaluation(dataset, folds, out_dir=tmp_path / "run", config=CONFIG, batch_size=2)
    other_file = dataclasses.replace(dataset, checksums={"pairs.csv": "cd" * 32})
    with pytest.raises(ResumeMismatchError, match="data.checksums"):
        run_evaluation(other_file, folds, out_dir=tmp_path / "run", config=CONFIG, batch_size=2)
    renamed = dataclasses.replace(dataset, drug_ids=tuple(f"X{i}" for i in range(6)))
    with pytest.raises(ResumeMismatchError, match="data.ids_digest"):
        run_evaluation(renamed, folds, out_dir=tmp_path / "run", config=CONFIG, batch_size=2)


@pytest.mark.parametrize(("options", "message"), [({"batch_size": 0}, "batch_size must be a positive integer"),
                                                  ({"threshold": math.nan}, "threshold must be a finite number")])
def test_bad_run_options_write_nothing(tmp_path, options, message):
    dataset = _dataset("a")
    folds = kfold_folds(dataset.associations, k=3, seed=0)
    with pytest.raises(ValueError, match=message):
        run_evaluation(dataset, folds, out_dir=tmp_path / "run", config=CONFIG, **{"batch_size": 2, **options})
    assert not (tmp_path / "run").exists()
