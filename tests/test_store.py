"""ResultStore: atomic chunks, resume, refusal to mix configurations; and the ROC/PR figure."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sesl_jax.evaluation.metrics import pr_curve, roc_curve
from sesl_jax.evaluation.store import ResultStore, ResumeMismatchError, manifest_fingerprint


def _manifest(**overrides):
    manifest = {
        "method": "sesl",
        "protocol": "kfold",
        "seed": 0,
        "config": {"alpha": 1.0, "beta": 10.0, "refit_sparse": True},
        "data": {"associations_sha256": "ab" * 32},
        "created": "2026-11-25T10:00:00+00:00",
    }
    manifest.update(overrides)
    return manifest


def _chunk(index: int) -> dict[str, np.ndarray]:
    return {
        "n_greater": np.arange(3, dtype=np.int64) + 10 * index,
        "scores": np.full((3, 2), float(index), dtype=np.float32),
    }


def test_write_resume_round_trip(tmp_path):
    store = ResultStore(tmp_path / "run", _manifest())
    assert not store.resumed and store.completed_chunks() == set()
    on_disk = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert on_disk["fingerprint"] == manifest_fingerprint(_manifest())
    for index in (2, 0):
        store.write_chunk(index, _chunk(index))

    # a later run with the same configuration (other volatile keys) resumes
    resumed = ResultStore(tmp_path / "run", _manifest(created="tomorrow", elapsed_seconds=12.5))
    assert resumed.resumed and resumed.completed_chunks() == {0, 2}
    assert resumed.manifest["created"] == "2026-11-25T10:00:00+00:00", "the original creation time is kept"
    assert len(resumed.manifest["resumed"]) == 1
    resumed.write_chunk(1, _chunk(1))
    for index in range(3):
        for name, value in _chunk(index).items():
            np.testing.assert_array_equal(resumed.read_chunk(index)[name], value)
    everything = resumed.read_all(n_chunks=3)
    expected = np.concatenate([_chunk(i)["n_greater"] for i in range(3)])
    np.testing.assert_array_equal(everything["n_greater"], expected)
    assert everything["scores"].shape == (9, 2) and everything["scores"].dtype == np.float32
    with pytest.raises(ValueError, match=r"\[3\] missing"):
        resumed.read_all(n_chunks=4)


def test_mismatch_names_the_differing_keys(tmp_path):
    ResultStore(tmp_path, _manifest())
    changed = _manifest(seed=1)
    changed["config"]["alpha"] = 2.0
    with pytest.raises(ResumeMismatchError, match=r"config\.alpha, seed.*new --out") as error:
        ResultStore(tmp_path, changed)
    assert isinstance(error.value, ValueError)
    with pytest.raises(ResumeMismatchError, match="extra"):
        ResultStore(tmp_path, _manifest(extra=None))


def test_truncated_chunk_is_not_complete_and_is_rewritten(tmp_path):
    store = ResultStore(tmp_path, _manifest())
    store.write_chunk(0, _chunk(0))
    path = store.write_chunk(1, _chunk(1))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert store.completed_chunks() == {0}
    path.write_bytes(b"")
    assert store.completed_chunks() == {0}
    assert store.read_all().keys() == {"n_greater", "scores"} and len(store.read_all()["n_greater"]) == 3
    store.write_chunk(1, _chunk(1))
    assert store.completed_chunks() == {0, 1}


def test_temp_and_foreign_files_are_ignored(tmp_path):
    store = ResultStore(tmp_path, _manifest())
    store.write_chunk(0, _chunk(0))
    chunk_dir = store.chunk_path(0).parent
    (chunk_dir / ".chunk_00001.npz.x7k2.tmp").write_bytes(store.chunk_path(0).read_bytes())
    (chunk_dir / "chunk_00002.npz.tmp").write_bytes(b"partial")
    (chunk_dir / "notes.txt").write_text("hi")
    assert store.completed_chunks() == {0}


def test_chunk_rejects_object_arrays(tmp_path):
    store = ResultStore(tmp_path, _manifest())
    with pytest.raises(TypeError, match="object"):
        store.write_chunk(0, {"bad": np.array([{}, []], dtype=object)})
    assert store.completed_chunks() == set() and not list(tmp_path.rglob("*.tmp"))


def test_write_json_and_table(tmp_path):
    store = ResultStore(tmp_path, _manifest())
    path = store.write_json("summary", {"auc": np.float64(0.9), "folds": np.arange(2)})
    assert path == tmp_path / "summary.json" and json.loads(path.read_text()) == {"auc": 0.9, "folds": [0, 1]}
    frame = pd.DataFrame({"fold": [0, 1], "auc": [0.8, 0.9]})
    table = store.write_table("per_fold", frame)
    assert table.suffix in {".parquet", ".csv"}
    read = pd.read_parquet(table) if table.suffix == ".parquet" else pd.read_csv(table)
    pd.testing.assert_frame_equal(read, frame)
    with pytest.raises(ValueError, match="relative"):
        store.write_json("../escape", {})


def test_plot_roc_pr_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    from sesl_jax.evaluation.plots import plot_roc_pr

    rng = np.random.default_rng(0)
    labels = rng.random(200) < 0.2
    curves = {}
    for name, shift in (("sesl", 0.5), ("bnnr", 0.2)):
        scores = rng.random(200) + shift * labels
        curves[name] = (*roc_curve(labels, scores)[:2], *pr_curve(labels, scores)[:2])
    path = plot_roc_pr(curves, tmp_path / "figures" / "roc_pr.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(path.parent.glob("*.tmp"))


def test_atomic_write_leaves_no_temp_file_and_honours_the_umask(tmp_path):
    import os
    import stat

    from sesl_jax._io import atomic_write_text

    previous = os.umask(0o027)
    try:
        path = atomic_write_text(tmp_path / "result.json", "{}")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # not mkstemp's 0600
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_plot_thins_long_curves_for_drawing_only():
    import numpy as np

    from sesl_jax.evaluation.plots import PLOT_POINTS, _thinned

    x = np.linspace(0, 1, 10 * PLOT_POINTS)
    thin_x, thin_y = _thinned(x, x**2)
    assert len(thin_x) <= PLOT_POINTS and thin_x[0] == 0 and thin_x[-1] == 1
    np.testing.assert_allclose(thin_y, thin_x**2)
    short = np.arange(5.0)
    assert _thinned(short)[0] is short


def test_own_directory_check_ignores_atomic_temporaries_of_its_own_files(tmp_path):
    """In a distributed run another process may be writing manifest.json (its temporary shows) while
    this one checks the directory: that is the run's own file, not the user's."""
    from sesl_jax._io import check_own_directory

    (tmp_path / ".manifest.json.w_apnigz.tmp").write_text("{")
    check_own_directory(tmp_path, {"manifest.json"}, "a cv run")
    (tmp_path / ".notes.txt.abc.tmp").write_text("mine")
    with pytest.raises(FileExistsError, match=r"not part of a cv run \(.notes.txt.abc.tmp\)"):
        check_own_directory(tmp_path, {"manifest.json"}, "a cv run")
