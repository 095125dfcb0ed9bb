"""The command line's persistent compilation cache (``sesl_jax.compile_cache``): where it goes, how it
is switched off, that a second command loads instead of compiling, and that an unusable directory
costs a warning, not the command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CLI

from sesl_jax import compile_cache
from sesl_jax.compile_cache import CACHE_ENV, compile_cache_dir, default_compile_cache_dir, machine_tag

ROOT = Path(__file__).resolve().parents[1]


def test_default_is_the_user_cache_split_by_machine(monkeypatch, tmp_path):
    import platformdirs

    monkeypatch.setattr(platformdirs, "user_cache_dir", lambda name: str(tmp_path / name))
    assert default_compile_cache_dir() == tmp_path / "sesl_jax" / "xla" / machine_tag()
    arch, digest = machine_tag().rsplit("-", 1)
    assert arch and len(digest) == 12 and machine_tag() == machine_tag()
    monkeypatch.delenv(CACHE_ENV, raising=False)
    made = compile_cache_dir()
    assert made == default_compile_cache_dir() and made.is_dir()
    assert made.stat().st_mode & 0o077 == 0  # private: its programs are code this user runs


def test_without_platformdirs_the_default_is_the_xdg_cache(monkeypatch, tmp_path):
    # the lent GPU's fixed image has no platformdirs; the command line must still start
    monkeypatch.setitem(sys.modules, "platformdirs", None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_compile_cache_dir() == tmp_path / "sesl_jax" / "xla" / machine_tag()


@pytest.mark.parametrize("value", ["off", "OFF", "0", "false", "none"])
def test_the_variable_turns_it_off(monkeypatch, value):
    monkeypatch.setenv(CACHE_ENV, value)
    assert compile_cache_dir() is None


def test_the_variable_names_the_directory(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert compile_cache_dir() == tmp_path / "mine" and (tmp_path / "mine").is_dir()


def test_an_unusable_directory_is_a_warning_not_an_error(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))
    with pytest.warns(UserWarning, match=rf"no compilation cache .*{CACHE_ENV}"):
        assert compile_cache_dir() is None


def test_a_cache_the_user_gave_jax_is_kept(monkeypatch, tmp_path):
    # conftest gave this process's JAX a cache directory, as a user's own setting would
    import jax

    before = jax.config.jax_compilation_cache_dir
    assert before
    assert compile_cache.enable_compile_cache(tmp_path / "other") is None
    assert jax.config.jax_compilation_cache_dir == before and not (tmp_path / "other").exists()


def _rank(data_dir: Path, cache: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if not name.startswith("JAX_COMPILATION_CACHE")}
    # every program kept: at the tests' fast compile level a quiet machine compiles each under 0.2 s
    env.update({CACHE_ENV: cache, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu", compile_cache.MIN_SECONDS_ENV: "0"})
    return subprocess.run(
        [*CLI, "rank", "--dataset", "fcd", "--data-dir", str(data_dir), "--method", "bnnr", "--similarity",
         "biological", "--dtype", "float64", "--drug", "CID:22"],
        env=env, capture_output=True, text=True, timeout=300,
    )


def _entries(cache: Path) -> dict[str, bytes]:
    """Each stored program's last-use stamp (JAX rewrites an entry's ``-atime`` file when it loads it)."""
    return {path.name: path.read_bytes() for path in cache.glob("*-atime")}


def test_a_second_command_loads_the_programs_and_ranks_the_same(small_data_dir, tmp_path):
    cache = tmp_path / "xla"
    first = _rank(small_data_dir, str(cache))
    assert first.returncode == 0, first.stderr
    stored = _entries(cache)
    assert stored and len(stored) == len(list(cache.glob("*-cache"))), "the first command stored nothing"
    second = _rank(small_data_dir, str(cache))
    assert second.returncode == 0, second.stderr
    reused = _entries(cache)
    assert all(reused[name] != stamp for name, stamp in stored.items())  # every stored program was loaded
    assert second.stdout == first.stdout  # same executables, same scores to the last digit
    off = _rank(small_data_dir, "off")
    assert off.returncode == 0 and off.stdout == first.stdout


def test_the_command_runs_when_the_cache_cannot_be_made(small_data_dir, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = _rank(small_data_dir, str(blocker / "cache"))
    assert result.returncode == 0, result.stderr
    assert "sesl-jax rank: warning: no compilation cache" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_smallest_compile_worth_keeping_can_be_set(monkeypatch):
    monkeypatch.setenv(compile_cache.MIN_SECONDS_ENV, "0")
    assert compile_cache._min_compile_seconds() == 0.0
    monkeypatch.setenv(compile_cache.MIN_SECONDS_ENV, "soon")
    with pytest.warns(UserWarning, match="not a number of seconds >= 0; using 0.2"):
        assert compile_cache._min_compile_seconds() == compile_cache.MIN_COMPILE_SECONDS
    monkeypatch.delenv(compile_cache.MIN_SECONDS_ENV)
    assert compile_cache._min_compile_seconds() == compile_cache.MIN_COMPILE_SECONDS
