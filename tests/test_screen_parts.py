"""The parts directory of a screen: atomic parts, refused when foreign or broken, read back whole."""

from __future__ import annotations

import numpy as np
import pytest

from sesl_jax.data import DataError
from sesl_jax.screen_parts import ScreenParts

IDENTITY = {"format": 1, "side": "drug", "items": 5, "n_other": 3, "model_sha256": "m", "items_sha256": "i"}


def test_parts_are_read_back_only_when_a_range_is_complete(tmp_path):
    parts = ScreenParts(tmp_path / "p", IDENTITY)
    parts.write(0, np.ones((2, 3)), np.zeros((2, 2), np.int32))
    with pytest.raises(DataError, match="another screen is running with these parts"):
        ScreenParts(tmp_path / "p", IDENTITY)  # locked while the first is open
    parts.close()
    reopened = ScreenParts(tmp_path / "p", IDENTITY)
    assert reopened.finished == 2
    scores, status = reopened.read(0, 2)
    np.testing.assert_array_equal(scores, np.ones((2, 3)))
    assert status.shape == (2, 2) and status.dtype == np.int32
    assert reopened.read(0, 3) is None and reopened.read(2, 4) is None
    reopened.remove()
    assert not (tmp_path / "p").exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(DataError, match="removed while this screen ran"):
        reopened.write(2, np.ones((1, 3)), np.zeros((1, 2)))  # not recreated without its manifest


def test_foreign_or_broken_directories_are_named_errors(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="holds files that are not the parts of a screen"):
        ScreenParts(foreign, IDENTITY)
    assert [path.name for path in foreign.iterdir()] == ["notes.txt"]  # nothing written there
    (tmp_path / "q").mkdir()
    (tmp_path / "q" / ".screen.json.abc.tmp").write_text("{")  # a manifest write that was killed
    ScreenParts(tmp_path / "q", IDENTITY).close()
    assert (tmp_path / "q" / "screen.json").is_file()
    ScreenParts(tmp_path / "p", IDENTITY).close()
    with pytest.raises(DataError, match="another screen"):
        ScreenParts(tmp_path / "p", {**IDENTITY, "items": 6})
    with ScreenParts(tmp_path / "p", IDENTITY) as parts:  # a failed open above left no lock behind
        with pytest.raises(ValueError, match="do not fit a screen"):
            parts.write(0, np.ones((2, 4)), np.zeros((2, 1)))
    (tmp_path / "p" / "part-000000000-000000002.npz").write_bytes(b"not an archive")
    with pytest.raises(DataError, match=r"part-000000000-000000002.npz: not a readable part of this screen"):
        ScreenParts(tmp_path / "p", IDENTITY)
    np.savez(tmp_path / "p" / "part-000000000-000000002.npz", scores=np.ones((2, 4)), status=np.zeros((2, 1)))
    with pytest.raises(DataError, match="its shape does not fit this screen"):
        ScreenParts(tmp_path / "p", IDENTITY)
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(DataError, match="is not a directory"):
        ScreenParts(afile, IDENTITY)
