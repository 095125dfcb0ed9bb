"""Saved models: bit-identical round trip, ranking from disk without a refit, atomic writes, and a
named error for every way a model directory can be broken."""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import cli_imports, write_small_benchmark
from sesl_jax import SESL, load_dataset
from sesl_jax.cli import main
from sesl_jax.model import SESLOptions, default_params
from sesl_jax.saved_model import ARRAYS, FORMAT_VERSION, MANIFEST, SavedModelError
from synthetic import planted_problem

NEW_SMILES = "CC(O)CCCCO"
NEW_SEQUENCE = "ugaggtagccau"  # lower case and T: read as UGAGGUAGCCAU


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_small_benchmark(tmp_path_factory.mktemp("small") / "data")


@pytest.fixture(scope="module")
def fitted(data_dir) -> SESL:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the small dataset has a drug without SMILES, on purpose
        return SESL("sesl", similarity="sequence", dtype="float64").fit(load_dataset("fcd", data_dir))


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fitted.save(tmp_path_factory.mktemp("models") / "model")


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # far-item warnings of the tiny dataset
        return function(*args, **kwargs)


def test_round_trip_is_bit_identical(fitted, saved):
    loaded = SESL.load(saved)
    assert loaded.scores_.dtype == np.float64 and np.array_equal(loaded.scores_, fitted.scores_)
    assert np.array_equal(loaded.associations_, fitted.associations_)
    assert loaded.drug_ids_ == fitted.drug_ids_ and loaded.mirna_ids_ == fitted.mirna_ids_
    assert loaded.config() == fitted.config() and loaded.stats_ == fitted.stats_
    assert loaded.dataset_ is None and loaded.data_provenance_ == fitted.data_provenance_
    for drug in fitted.drug_ids_:
        pd.testing.assert_frame_equal(loaded.rank_mirnas(drug), fitted.rank_mirnas(drug))
    for mirna in fitted.mirna_ids_:
        pd.testing.assert_frame_equal(loaded.rank_drugs(mirna, top=2), fitted.rank_drugs(mirna, top=2))
    manifest = json.loads((saved / MANIFEST).read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["data"]["checksums"] and manifest["drug_ids"] == list(fitted.drug_ids_)


def test_loaded_model_places_new_items_without_the_dataset(fitted, saved):
    loaded = SESL.load(saved)  # no dataset: the saved codes, scale and sequences place the items
    pd.testing.assert_frame_equal(_quiet(loaded.rank_mirnas, smiles=NEW_SMILES), _quiet(fitted.rank_mirnas, smiles=NEW_SMILES))
    pd.testing.assert_frame_equal(_quiet(loaded.rank_drugs, sequence=NEW_SEQUENCE), _quiet(fitted.rank_drugs, sequence=NEW_SEQUENCE))


def test_fit_out_then_rank_model_equals_a_fresh_fit(data_dir, tmp_path, capsys):
    out = tmp_path / "fit"
    base = ["--dataset", "fcd", "--data-dir", str(data_dir), "--similarity", "sequence"]
    assert _quiet(main, ["fit", *base, "--out", str(out)]) == 0
    assert {"model.json", "arrays.npz", "scores.csv", "pairs.csv", "config.json"} == {p.name for p in out.iterdir()}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging directory left
    capsys.readouterr()
    assert main(["rank", "--model", str(out), "--drug", "CID:22"]) == 0
    from_model = capsys.readouterr().out
    assert _quiet(main, ["rank", *base, "--drug", "CID:22"]) == 0
    assert from_model == capsys.readouterr().out
    # fit --out again replaces the model it wrote
    assert _quiet(main, ["fit", *base, "--out", str(out)]) == 0


def test_rank_model_keeps_its_options_and_checks_the_data(saved, data_dir, tmp_path, capsys):
    assert main(["rank", "--model", str(saved), "--method", "bnnr", "--drug", "CID:22"]) == 1
    assert "--method" in capsys.readouterr().err
    assert main(["rank", "--model", str(saved), "--bnnr-svt", "svd", "--smiles", NEW_SMILES]) == 1  # not ignored
    assert "--bnnr-svt: a saved model keeps the options it was fitted with" in capsys.readouterr().err
    for option in (["--skip-invalid"], ["--batch-size", "4"]):
        assert main(["rank", "--model", str(saved), *option, "--drug", "CID:22"]) == 2
        assert f"argument {option[0]}: only applies to screening" in capsys.readouterr().err
    assert main(["rank", "--model", str(saved), "--dataset", "fcd", "--data-dir", str(data_dir), "--drug", "CID:22"]) == 0
    assert "default on" not in capsys.readouterr().err  # the model ranks, not the benchmark's default
    other = tmp_path / "data"
    shutil.copytree(data_dir, other)
    similarity = other / "amcsmma" / "dataset2" / "miRNA similarity matrix 2.txt"
    similarity.write_text(similarity.read_text() + "\n")  # same numbers, another file
    assert main(["rank", "--model", str(saved), "--dataset", "fcd", "--data-dir", str(other), "--drug", "CID:22"]) == 1
    err = capsys.readouterr().err
    assert "checksums differ" in err and "miRNA similarity matrix 2.txt" in err


@pytest.mark.parametrize("query", [["--drug", "CID:22"], ["--mirna", "hsa-mir-1", "--top", "2"]])
def test_ranking_a_dataset_item_from_a_saved_model_needs_no_jax(saved, fitted, query):
    table, stderr, report = cli_imports("rank", "--model", str(saved), *query)
    assert report[:2] == ["exit", "0"] and "jax" not in report, report + [stderr]  # ranked, JAX never started
    assert stderr.startswith(f"model: {saved} (sesl, ")
    top = int(query[3]) if len(query) > 2 else None
    expected = (fitted.rank_mirnas(query[1], top=top) if query[0] == "--drug" else fitted.rank_drugs(query[1], top=top))
    assert "\n".join(table) + "\n" == expected.to_csv(index=False, float_format="%.6g")


def test_novel_only_ranks_the_candidates_alone(saved, fitted, capsys):
    full = fitted.rank_mirnas("CID:22")
    novel = fitted.rank_mirnas("CID:22", novel_only=True)
    assert full["known"].any() and not novel["known"].any()  # the drug has known pairs; none are left
    assert list(novel["mirna_id"]) == list(full.loc[~full["known"], "mirna_id"])  # same order
    assert list(novel["rank"]) == list(range(1, len(novel) + 1))
    assert main(["rank", "--model", str(saved), "--drug", "CID:22", "--novel-only", "--top", "3"]) == 0
    assert capsys.readouterr().out == novel.head(3).to_csv(index=False, float_format="%.6g")
    drugs = fitted.rank_drugs("hsa-mir-1", novel_only=True)
    assert not drugs["known"].any() and len(drugs) == len(fitted.drug_ids_) - fitted.associations_[:, fitted.mirna_ids_.index("hsa-mir-1")].sum()


def test_an_unknown_id_in_a_saved_model_is_a_named_error(saved, capsys):
    assert main(["rank", "--model", str(saved), "--drug", "CID:2"]) == 1
    err = capsys.readouterr().err
    assert "unknown drug ID 'CID:2'" in err and "Traceback" not in err


def _rewrite_arrays(directory: Path, change) -> None:
    with np.load(directory / ARRAYS) as archive:
        arrays = {name: archive[name] for name in archive.files}
    change(arrays)
    with open(directory / ARRAYS, "wb") as handle:
        np.savez(handle, **arrays)


def _rewrite_manifest(directory: Path, change) -> None:
    manifest = json.loads((directory / MANIFEST).read_text())
    change(manifest)
    (directory / MANIFEST).write_text(json.dumps(manifest))


def _fix_checksum(directory: Path) -> None:
    from sesl_jax._io import sha256_file

    _rewrite_manifest(directory, lambda m: m["files"][ARRAYS].update(sha256=sha256_file(directory / ARRAYS)))


def _shrink_scores(directory: Path) -> None:
    _rewrite_arrays(directory, lambda arrays: arrays.update(scores=arrays["scores"][:, :2]))
    _fix_checksum(directory)


def _drop_a_drug_id(directory: Path) -> None:
    _rewrite_manifest(directory, lambda m: m.update(drug_ids=m["drug_ids"][:-1]))


def _name_a_callable(directory: Path) -> None:
    """model.json naming os.system as a builder option type, in a model saved before the description
    digest existed (which would catch the edit first)."""
    _rewrite_arrays(directory, lambda arrays: arrays.pop("description_sha256"))
    _fix_checksum(directory)
    _rewrite_manifest(directory, lambda m: m.update(builder_options={"__dict__": {"x": {
        "__type__": "sesl_jax._io:os.system", "fields": {"__dict__": {"command": f"touch {directory}/ran"}}}}}))


CORRUPTIONS = {
    "missing manifest": (lambda d: (d / MANIFEST).unlink(), "model.json is missing"),
    "missing arrays": (lambda d: (d / ARRAYS).unlink(), "arrays.npz is missing"),
    "not json": (lambda d: (d / MANIFEST).write_text("{"), "cannot be read"),
    "format version": (lambda d: _rewrite_manifest(d, lambda m: m.update(format_version=99)), "format version 99"),
    "checksum": (lambda d: _rewrite_arrays(d, lambda a: a.update(scores=a["scores"] + 1e-12)), "checksum mismatch"),
    "scores shape": (_shrink_scores, r"scores has shape \(3, 2\), expected \(3, 3\)"),
    "ids and shapes": (_drop_a_drug_id, r"expected \(2, 3\)"),
    "unknown method": (lambda d: _rewrite_manifest(d, lambda m: m["method_config"].update(method="nope")), "unknown method"),
    "another method": (lambda d: _rewrite_manifest(d, lambda m: m["method_config"].update(method="se")),
                       "its IDs, method or similarity entries were edited after the model was saved"),
    "swapped ids": (lambda d: _rewrite_manifest(d, lambda m: m.update(drug_ids=m["drug_ids"][::-1])),
                    "were edited after the model was saved"),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_broken_model_directory_is_a_named_error(saved, tmp_path, capsys, corruption):
    broken = tmp_path / "broken"
    shutil.copytree(saved, broken)
    damage, message = CORRUPTIONS[corruption]
    damage(broken)
    with pytest.raises(SavedModelError, match=message):
        SESL.load(broken)
    assert main(["rank", "--model", str(broken), "--drug", "CID:22"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sesl-jax rank: error:") and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_model_json_cannot_name_a_callable(saved, tmp_path):
    """Builder options are rebuilt from solver and method settings only: an edited model.json that
    names another callable (here os.system, reached through a sesl_jax module) is refused unrun."""
    broken = tmp_path / "broken"
    shutil.copytree(saved, broken)
    _name_a_callable(broken)
    with pytest.raises(SavedModelError, match="builder option type 'sesl_jax._io:os.system' is not a sesl_jax "
                                              "solver or method setting"):
        SESL.load(broken)
    assert not (broken / "ran").exists()


PLACEMENT_DAMAGE = {  # model.json has no checksum: an edit by hand must be named on load, not found later
    "map": (lambda m: m["placement"]["drug"].update(similarity_map="inverse:-1"),
            "does not rebuild: similarity map 'inverse:-1'"),
    "no placement": (lambda m: m.update(placement=None), "unreadable entry: placement must be a mapping"),
    "zero code scale": (lambda m: m["placement"]["drug"].update(code_scale=0),
                        "drug placement's code_scale must be a positive finite number, got 0"),
    "negative code scale": (lambda m: m["placement"]["drug"].update(code_scale=-5.0), "got -5.0"),
    "text code scale": (lambda m: m["placement"]["drug"].update(code_scale="1"), "got '1'"),
    "unknown encoder": (lambda m: m["placement"]["drug"].update(encoder="gru"),
                        "drug placement's encoder must be one of lstm, transformer, got 'gru'"),
}


@pytest.mark.parametrize("damage", list(PLACEMENT_DAMAGE))
def test_a_damaged_placement_is_a_named_error(saved, tmp_path, capsys, damage):
    change, message = PLACEMENT_DAMAGE[damage]
    broken = tmp_path / "broken"
    shutil.copytree(saved, broken)
    assert json.loads((saved / MANIFEST).read_text())["placement"]["drug"]["code_scale"] > 0  # codes place drugs
    _rewrite_manifest(broken, change)
    with pytest.raises(SavedModelError, match=re.escape(message)):
        SESL.load(broken)
    assert main(["rank", "--model", str(broken), "--smiles", NEW_SMILES]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_model_that_cannot_be_moved_aside_is_kept_and_nothing_is_left(fitted, tmp_path, monkeypatch):
    import sesl_jax.saved_model as saved_model

    target = tmp_path / "model"
    _quiet(fitted.save, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    real_replace = os.replace

    def busy(source, destination):
        if Path(source) == target:
            raise OSError(16, "Device or resource busy")
        return real_replace(source, destination)

    monkeypatch.setattr(saved_model.os, "replace", busy)
    with pytest.raises(OSError, match="busy"):
        fitted.save(target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # neither the staging nor the retired directory


def test_save_is_atomic(fitted, tmp_path, monkeypatch):
    import sesl_jax.saved_model as saved_model

    target = tmp_path / "model"
    _quiet(fitted.save, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def fail_half_way(model, directory):
        (directory / ARRAYS).write_bytes(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(saved_model, "write_model", fail_half_way)
    with pytest.raises(RuntimeError, match="disk full"):
        fitted.save(target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before  # the old model, untouched
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no staging directory left behind
    monkeypatch.undo()

    foreign = tmp_path / "results"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="notes.txt"):
        fitted.save(foreign)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]


def test_model_fitted_on_matrices_round_trips_with_its_builder_options(tmp_path):
    A, Sd, Sm = planted_problem(6, 8, seed=31)
    options = SESLOptions(sparse_learning=False, lrr_max_iterations=500)  # a dataclass...
    params = default_params("float64")  # ...and nested named tuples, saved as tagged JSON
    model = SESL("se", dtype="float64", options=options, params=params).fit(A, Sd, Sm)
    loaded = SESL.load(model.save(tmp_path / "model"))
    assert loaded.builder_options == {"options": options, "params": params}
    assert np.array_equal(loaded.scores_, model.scores_)
    assert loaded.config()["method_config"] == model.config()["method_config"]
    with pytest.raises(ValueError, match="caller-given matrices"):
        loaded.rank_mirnas(smiles="CCO")


def test_a_width_map_survives_saving(data_dir, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = SESL("se", similarity="drug=sequence,mirna=biological,map=inverse:0.1", dtype="float64").fit(
            load_dataset("fcd", data_dir))
        loaded = SESL.load(fitted.save(tmp_path / "model"))
    assert loaded.config()["similarity_map"] == "inverse:0.1"
    pd.testing.assert_frame_equal(_quiet(loaded.rank_mirnas, smiles=NEW_SMILES), _quiet(fitted.rank_mirnas, smiles=NEW_SMILES))


def test_a_model_saved_before_sesl_read_its_options_still_loads(tmp_path):
    """Before SESL took observed and bnnr_svt from options=SESLOptions(...), model.json recorded the
    defaults there while the options ran; such a model loads with the options' values."""
    A, Sd, Sm = planted_problem(6, 8, seed=32)
    options = SESLOptions(observed="known", bnnr_svt="subspace")
    model = SESL("sesl", dtype="float64", options=options).fit(A, Sd, Sm)
    directory = model.save(tmp_path / "model")
    _rewrite_arrays(directory, lambda arrays: arrays.pop("description_sha256"))  # as that version wrote it
    _fix_checksum(directory)
    _rewrite_manifest(directory, lambda m: m["method_config"].update(observed="nonzero") or
                      m["method_config"].pop("bnnr_svt"))
    loaded = SESL.load(directory)
    assert (loaded.config_.observed, loaded.config_.bnnr_svt) == ("known", "subspace")
    np.testing.assert_array_equal(loaded.scores_, model.scores_)
