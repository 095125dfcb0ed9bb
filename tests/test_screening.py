"""Screening many new molecules or sequences against a saved model: one long table that equals
ranking each item alone, invalid rows reported by line number, batched refits."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import write_small_benchmark
from sesl_jax import SESL
from sesl_jax.cli import main
from sesl_jax.encoders import SequenceError
from sesl_jax.new_items import score_new_items

GROUPS = ["", "O", "N", "F", "Cl", "Br", "S", "C(=O)O", "C#N", "C(C)C",
          "OC", "NC(=O)C", "c1ccccc1", "C1CC1", "C=C", "C(F)(F)F", "N(C)C", "CO", "CCl", "C(N)=O"]
SMILES = [f"{'C' * length}{group}" for length in range(1, 51) for group in GROUPS]  # 1,000 molecules
SEQUENCES = ["UGAGGUAGCCAU", "acguacguacgu", "UUUUGGGGCCCCAAAA"]


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny dataset makes every new item a far one
        return function(*args, **kwargs)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    data = write_small_benchmark(tmp_path_factory.mktemp("small") / "data")
    out = tmp_path_factory.mktemp("models") / "model"
    assert _quiet(main, ["fit", "--dataset", "fcd", "--data-dir", str(data), "--similarity", "sequence", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def model(model_dir) -> SESL:
    return SESL.load(model_dir)


def test_screening_a_1000_line_file_equals_ranking_each_molecule(model_dir, model, tmp_path, capsys):
    queries = tmp_path / "library.smi"
    queries.write_text("".join(f"{smiles} mol{i}\n" for i, smiles in enumerate(SMILES)))
    out = tmp_path / "hits.parquet"
    assert _quiet(main, ["rank", "--model", str(model_dir), "--smiles-file", str(queries), "--out", str(out)]) == 0
    assert "screening 1000 new molecules" in capsys.readouterr().err
    table = pd.read_parquet(out)
    assert list(table.columns) == ["query_id", "rank", "mirna_id", "score", "known"]
    n_mirnas = len(model.mirna_ids_)
    assert len(table) == 1000 * n_mirnas and not table["known"].any()
    assert list(table["query_id"].iloc[::n_mirnas]) == [f"mol{i}" for i in range(1000)]  # input order
    for i in (0, 1, 137, 500, 998, 999):
        alone = _quiet(model.rank_mirnas, smiles=SMILES[i])
        rows = table[table["query_id"] == f"mol{i}"].drop(columns="query_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(rows, alone)  # bit for bit: each item is placed alone


def test_batched_refits_equal_refitting_each_item(model):
    items = SMILES[40:46]  # with 4 items per call: one full chunk, one padded
    refitted = _quiet(score_new_items, model, "drug", items[-1:], batching="none")  # build and solve the method
    for batching in ("map", "vmap"):
        batched = _quiet(score_new_items, model, "drug", items, batching=batching, batch_size=4)
        np.testing.assert_allclose(batched[-1:], refitted, rtol=1e-9, atol=1e-15)
        alone = _quiet(score_new_items, model, "drug", items[1:2], batching=batching, batch_size=4)
        np.testing.assert_array_equal(batched[1:2], alone)


def test_a_call_with_fewer_items_than_a_chunk_solves_no_padding(model, monkeypatch):
    import sesl_jax.new_items as new_items

    chunks, solve = [], new_items._solve_in_chunks
    monkeypatch.setattr(new_items, "_solve_in_chunks", lambda solver, rows, size, *rest: chunks.append(size) or solve(solver, rows, size, *rest))
    _quiet(score_new_items, model, "drug", SMILES[:1], batch_size=4)
    _quiet(score_new_items, model, "drug", SMILES[:6], batch_size=4)
    assert chunks == [1, 4]  # one molecule: one solve (it was padded to four)


def test_two_cpu_devices_screen_as_one(model_dir, tmp_path):
    """rank --cpu-devices 2 splits each chunk of new molecules between two host devices: the same
    table as one device, and one molecule alone is still ranked (padded to one per device)."""
    library = tmp_path / "library.smi"
    library.write_text("".join(f"{smiles} mol{i}\n" for i, smiles in enumerate(SMILES[:7])))
    script = textwrap.dedent(
        f"""
        import sys, warnings
        warnings.simplefilter("ignore")
        from sesl_jax.cli import main
        devices = sys.argv[1]
        assert main(["rank", "--model", {str(model_dir)!r}, "--smiles-file", {str(library)!r}, "--quiet",
                     "--batch-size", "4", "--cpu-devices", devices, "--out", {str(tmp_path)!r} + f"/hits-{{devices}}.csv"]) == 0
        import jax
        assert len(jax.devices()) == int(devices), jax.devices()
        assert main(["rank", "--model", {str(model_dir)!r}, "--smiles", {SMILES[3]!r},
                     "--out", {str(tmp_path)!r} + f"/one-{{devices}}.csv"]) == 0
        import sesl_jax.new_items as new_items
        from sesl_jax import SESL
        model = SESL.load({str(model_dir)!r})
        new_items.score_new_items(model, "drug", {SMILES[:1]!r})  # one item: one device, no padding copy
        new_items.score_new_items(model, "drug", {SMILES[:3]!r})
        new_items.score_new_items(model, "drug", {SMILES[:1]!r}, devices=jax.devices()[1:])
        solvers = new_items._SOLVERS[model.method_]
        assert sorted(len(key[2]) for key in solvers) == [1, 1, 2], list(solvers)
        assert solvers["drug", "map", (jax.devices()[1],)].associations.devices() == {{jax.devices()[1]}}
        """
    )
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    result = subprocess.run([sys.executable, "-c", script, "2"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(__import__("jax").devices()) == 1  # this process: one device
    assert _quiet(main, ["rank", "--model", str(model_dir), "--smiles-file", str(library), "--quiet", "--batch-size", "4",
                         "--out", str(tmp_path / "hits-1.csv")]) == 0
    one, two = (pd.read_csv(tmp_path / f"hits-{devices}.csv") for devices in ("1", "2"))
    assert len(one) == 7 * 3  # 7 molecules x the small dataset's 3 miRNAs
    pd.testing.assert_frame_equal(one, two)
    alone = pd.read_csv(tmp_path / "one-2.csv")
    pd.testing.assert_frame_equal(alone, one[one["query_id"] == "mol3"].drop(columns="query_id").reset_index(drop=True))


def test_a_chunk_of_new_items_out_of_device_memory_is_split_not_fatal(model, monkeypatch):
    import jax

    import sesl_jax.new_items as new_items
    from test_engine_memory import OOM_MESSAGE

    items = SMILES[200:206]
    whole = _quiet(score_new_items, model, "drug", items, batch_size=4)
    calls, original = [], new_items._batched_solver

    def failing(*args, **kwargs):
        solver = original(*args, **kwargs)

        def function(rows, *constants):
            calls.append(rows.shape[0])
            if rows.shape[0] > 2:
                raise jax.errors.JaxRuntimeError(OOM_MESSAGE)
            return solver.function(rows, *constants)

        return solver._replace(function=function)

    monkeypatch.setattr(new_items, "_batched_solver", failing)
    with pytest.warns(RuntimeWarning, match=r"new items 1-4 of 6 \(float64\): out of device memory with 4 items per "
                                            r"call; retrying with 2 \(results are unchanged\)"):
        split = _quiet_but(RuntimeWarning, score_new_items, model, "drug", items, batch_size=4)
    np.testing.assert_array_equal(split, whole)
    assert calls == [4, 2, 2, 2]  # the second chunk starts at the size that fitted
    # items are encoded in blocks (ROW_BLOCK): messages count among all items, and a later block
    # starts at the size that fitted, without running out of memory again
    calls.clear()
    monkeypatch.setattr(new_items, "ROW_BLOCK", 4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        blocks = _quiet_but(RuntimeWarning, score_new_items, model, "drug", SMILES[200:208], batch_size=4)
    assert [str(w.message).split(":")[0] for w in caught if "device memory" in str(w.message)] == ["new items 1-4 of 8 (float64)"]
    assert calls == [4, 2, 2, 2, 2]
    np.testing.assert_array_equal(blocks[:6], whole)


def _quiet_but(kept, function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", kept)
        return function(*args, **kwargs)


def test_an_empty_device_list_is_a_clear_error(model):
    with pytest.raises(ValueError, match="devices is empty"):
        score_new_items(model, "drug", SMILES[:1], devices=[])


def test_screen_api_takes_lists(model):
    table = _quiet(model.screen, SMILES[:4], ids=["a", "b", "c", "d"], top=2)
    assert list(table.columns) == ["query_id", "rank", "mirna_id", "score", "known"]
    assert list(table["query_id"]) == ["a", "a", "b", "b", "c", "c", "d", "d"]
    by_default = _quiet(model.screen, SMILES[:1])
    assert set(by_default["query_id"]) == {SMILES[0]}  # IDs default to the SMILES
    drugs = _quiet(model.screen, sequences=SEQUENCES)
    assert list(drugs.columns) == ["query_id", "rank", "drug_id", "score", "known"]
    for sequence in SEQUENCES:
        alone = _quiet(model.rank_drugs, sequence=sequence)
        rows = drugs[drugs["query_id"] == sequence].drop(columns="query_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(rows, alone)
    with pytest.raises(ValueError, match="unique"):
        model.screen(["CCO", "CCN"], ids=["x", "x"])
    with pytest.raises(TypeError, match="list"):
        model.screen("CCO")
    with pytest.raises(SequenceError, match="C1CC"):
        model.screen(["CCO", "C1CC"])


def test_invalid_rows_are_reported_by_line_and_skipped_only_on_request(model_dir, tmp_path, capsys):
    queries = tmp_path / "library.csv"
    queries.write_text("ID,SMILES\na,CCO\nb,C1CC\nc,CCCN\n\nd,\nc,CC\ne,CC(=O)O\n")
    args = ["rank", "--model", str(model_dir), "--smiles-file", str(queries)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 2  # the model line, then one error line naming the first bad line
    assert "library.csv line 3: invalid SMILES 'C1CC'" in err and "2 more" in err and "--skip-invalid" in err
    assert _quiet(main, [*args, "--skip-invalid", "--top", "1"]) == 0
    captured = capsys.readouterr()
    assert "line 3" in captured.err and "line 6: empty SMILES" in captured.err and "line 7: ID 'c' repeats line 4" in captured.err
    lines = captured.out.strip().splitlines()
    assert lines[0] == "query_id,rank,mirna_id,score,known"
    assert [line.split(",")[0] for line in lines[1:]] == ["a", "c", "e"]

    no_ids = tmp_path / "library.smi"
    no_ids.write_text("smiles name\nCCO ethanol\nCCN\n")
    assert main(["rank", "--model", str(model_dir), "--smiles-file", str(no_ids)]) == 1
    assert "library.smi line 3: no ID after the SMILES" in capsys.readouterr().err


def test_sequence_file_screens_drugs(model_dir, model, tmp_path, capsys):
    queries = tmp_path / "mirnas.tsv"
    queries.write_text("id\tsequence\n" + "".join(f"s{i}\t{sequence}\n" for i, sequence in enumerate(SEQUENCES)) + "bad\tUGXA\n")
    out = tmp_path / "drugs.csv"
    assert _quiet(main, ["rank", "--model", str(model_dir), "--sequence-file", str(queries), "--skip-invalid",
                         "--out", str(out)]) == 0
    assert "line 5: invalid RNA 'UGXA'" in capsys.readouterr().err
    table = pd.read_csv(out)
    assert list(table.columns) == ["query_id", "rank", "drug_id", "score", "known"]
    assert list(table["query_id"].unique()) == ["s0", "s1", "s2"]
    alone = _quiet(model.rank_drugs, sequence=SEQUENCES[1])
    assert list(table[table["query_id"] == "s1"]["drug_id"]) == list(alone["drug_id"])


def test_progress_bar_goes_to_stderr(model, capsys):
    _quiet(score_new_items, model, "drug", SMILES[:3], progress=True)
    captured = capsys.readouterr()
    assert "new molecules" in captured.err and captured.out == ""


def test_an_interrupted_screen_resumes_from_its_finished_chunks(model, model_dir, tmp_path, monkeypatch, capsys):
    import sesl_jax.new_items as new_items
    from sesl_jax.screen_parts import ScreenParts

    items = SMILES[300:310]  # chunks of 4: 4 + 4 + 2
    whole = _quiet(model.screen, items, batch_size=4)
    calls, original = [], new_items._batched_solver

    def interrupted_after(limit):
        def wrap(*args, **kwargs):
            solver = original(*args, **kwargs)

            def function(rows, *constants):
                if len(calls) == limit:
                    raise KeyboardInterrupt
                calls.append(rows.shape[0])
                return solver.function(rows, *constants)

            return solver._replace(function=function)
        return wrap

    parts = tmp_path / "screen.partial"
    monkeypatch.setattr(new_items, "_batched_solver", interrupted_after(1))
    with pytest.raises(KeyboardInterrupt):
        _quiet(model.screen, items, batch_size=4, parts=parts)
    assert sorted(path.name for path in parts.iterdir()) == [".lock", "part-000000000-000000004.npz", "screen.json"]
    calls.clear()
    monkeypatch.setattr(new_items, "_batched_solver", interrupted_after(99))
    resumed = _quiet(model.screen, items, batch_size=4, parts=parts)
    assert calls == [4, 4]  # the first chunk was read back; the last one (2 items) padded to 4
    pd.testing.assert_frame_equal(resumed, whole)
    from sesl_jax.data import DataError

    with pytest.raises(DataError, match="holds the finished parts of another screen"):
        ScreenParts(parts, {**_identity(model, items), "items_sha256": "other"})
    with ScreenParts(parts, _identity(model, items)) as opened, pytest.raises(ValueError, match="another screen"):
        model.screen(items[::-1], parts=opened)  # an open ScreenParts is checked too
    with pytest.raises(DataError, match="another screen"):
        _quiet(model.screen, items[:-1], batch_size=4, parts=parts)

    # the command line keeps them beside --out, says it resumes, and removes them once the table is written
    library = tmp_path / "library.smi"
    library.write_text("".join(f"{smiles} {smiles}\n" for smiles in items))
    out = tmp_path / "hits.csv"
    monkeypatch.setattr(new_items, "_batched_solver", interrupted_after(len(calls) + 1))
    code = _quiet(main, ["rank", "--model", str(model_dir), "--smiles-file", str(library), "--batch-size", "4",
                         "--cpu-devices", "1", "--out", str(out)])
    assert code == 130 and "interrupted; finished work is kept" in capsys.readouterr().err
    assert not out.exists() and (tmp_path / "hits.csv.partial" / "screen.json").is_file()
    monkeypatch.setattr(new_items, "_batched_solver", original)
    assert _quiet(main, ["rank", "--model", str(model_dir), "--smiles-file", str(library), "--batch-size", "4",
                         "--cpu-devices", "1", "--out", str(out)]) == 0
    assert "resuming: 4 of 10 already screened" in capsys.readouterr().err
    assert not (tmp_path / "hits.csv.partial").exists()
    table = pd.read_csv(out)
    np.testing.assert_allclose(table["score"], whole["score"], rtol=1e-5)  # the CSV keeps 6 digits


def _identity(model, items):
    from sesl_jax.screen_parts import screen_identity

    return screen_identity(model, "drug", items, items)


def test_items_refitted_one_by_one_are_kept_and_read_back(model, tmp_path, monkeypatch):
    import sesl_jax.new_items as new_items
    from sesl_jax.screen_parts import ScreenParts

    items = SMILES[320:322]
    with ScreenParts(tmp_path / "parts", _identity(model, items)) as parts:
        first = _quiet(score_new_items, model, "drug", items, batching="none", parts=parts)
        assert parts.finished == 2
    monkeypatch.setattr(new_items.jax, "jit", lambda *a, **k: pytest.fail("solved again"))
    again = _quiet(score_new_items, model, "drug", items, batching="none",
                   parts=ScreenParts(tmp_path / "parts", _identity(model, items)))
    np.testing.assert_array_equal(again, first)


def test_the_identity_of_a_screen_covers_what_places_new_items(model, monkeypatch):
    items = SMILES[:2]
    base = _identity(model, items)
    placement = model._placement("drug")
    monkeypatch.setitem(model.placement_, "drug", placement._replace(codes=placement.codes + 1e-9))
    assert _identity(model, items)["model_sha256"] != base["model_sha256"]  # same scores, other placement codes
    monkeypatch.setitem(model.placement_, "drug", placement)
    assert _identity(model, items) == base
    assert _identity(model, items[::-1])["items_sha256"] != base["items_sha256"]


def test_screening_files_read_as_pair_files_do(tmp_path):
    """A TSV saved as .csv reads as written; a value past the header's columns is a named problem, not
    dropped; a value past csv's field limit is a named error, not a traceback."""
    from sesl_jax.cli._common import CommandError
    from sesl_jax.cli._rank import read_queries

    tabs = tmp_path / "tabs.csv"
    tabs.write_text("id\tsmiles\na\tCCO\nb\tCCN\n")
    queries, problems = read_queries(str(tabs), "smiles")
    assert [(q.line, q.query_id, q.text) for q in queries] == [(2, "a", "CCO"), (3, "b", "CCN")] and not problems

    extra = tmp_path / "extra.csv"
    extra.write_text("id,smiles,\na,CCO,\nb,CCN,oops\n")  # an empty trailing field, as spreadsheets export, is fine
    queries, problems = read_queries(str(extra), "smiles")
    assert [q.query_id for q in queries] == ["a"]
    assert problems == [(3, "more fields than the header (3 vs 2): extra value 'oops' (a value holding ',' must be quoted)")]

    huge = tmp_path / "huge.csv"
    huge.write_text("id,smiles\na," + "C" * 200_000 + "\n")
    with pytest.raises(CommandError, match=r"huge\.csv: not a readable CSV/TSV file \(field larger"):
        read_queries(str(huge), "smiles")
