"""The benchmark scripts check their arguments before any work (``benchmarks/_common.py``)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import _common  # noqa: E402


def test_out_must_be_a_writable_file_path(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(argparse.ArgumentTypeError, match="is a directory; give the JSON file to write"):
        _common.json_out(str(tmp_path))
    with pytest.raises(argparse.ArgumentTypeError, match="is a file, so nothing can be written under it"):
        _common.json_out(str(tmp_path / "file" / "deeper" / "x.json"))
    assert _common.json_out(str(tmp_path / "new" / "x.json")) == tmp_path / "new" / "x.json"


def test_counts_are_checked_when_parsed():
    with pytest.raises(argparse.ArgumentTypeError, match="must be an integer >= 1, got -3"):
        _common.at_least(1)("-3")
    assert _common.at_least(0)("0") == 0


def test_a_script_refuses_a_bad_count_before_any_work():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "lrr_reduction.py"), "--repeats", "0"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith("argument --repeats: must be an integer >= 1, got 0")


def test_ctrl_c_ends_a_benchmark_with_one_line_not_a_traceback(tmp_path):
    script = tmp_path / "interrupted.py"
    script.write_text(f"import sys\nsys.path.insert(0, {str(ROOT / 'benchmarks')!r})\nimport _common\n"
                      "raise KeyboardInterrupt\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode in (130, -2)  # Python ends on SIGINT
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == ("interrupted.py: interrupted; files are written whole or not at all, so what it "
                                     "wrote is complete (commands that resume pick up from there)")
    other = tmp_path / "failing.py"  # any other error keeps its traceback
    other.write_text(f"import sys\nsys.path.insert(0, {str(ROOT / 'benchmarks')!r})\nimport _common\nraise ValueError('x')\n")
    result = subprocess.run([sys.executable, str(other)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" in result.stderr and "ValueError: x" in result.stderr
