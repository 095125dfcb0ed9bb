"""Shared pieces of the benchmark scripts: timing, device facts, table printing, JSON output."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the NumPy references live beside the tests
# this repository's sesl_jax, installed or not (a lent GPU machine holds only a copy of the tree)
sys.path.insert(0, str(ROOT))


def _interrupted(kind, value, traceback) -> None:
    """Ctrl-C ends a benchmark with a line, not Python's traceback: its JSON and the runs' files are
    written whole or not at all (atomic writes), so nothing half-written is left behind."""
    if issubclass(kind, KeyboardInterrupt):
        print(f"\n{Path(sys.argv[0]).name}: interrupted; files are written whole or not at all, so what it "
              "wrote is complete (commands that resume pick up from there)", file=sys.stderr)
        return
    _python_hook(kind, value, traceback)


_python_hook = sys.excepthook
sys.excepthook = _interrupted


def setup(x64: bool = True) -> None:
    """One BLAS thread (see sesl_jax.cli) and float64 available; call before any computation."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import jax

    jax.config.update("jax_enable_x64", x64)


def median_time(function: Callable[[], Any], repeats: int) -> tuple[float, list[float]]:
    """Median wall time of ``function()`` over ``repeats`` runs (the caller warms it up first)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def device_facts() -> dict[str, Any]:
    import jax
    import numpy as np

    device = jax.devices()[0]
    return {
        "backend": jax.default_backend(),
        "device": str(device),
        "device_kind": device.device_kind,
        "n_devices": len(jax.devices()),
        "cpu_count": os.cpu_count(),
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "jax": jax.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def take(folds, indices):
    """The folds at ``indices`` (an index array or a slice), as a ``Folds`` of the same protocol."""
    import dataclasses

    return dataclasses.replace(folds, hidden=folds.hidden[indices], n_hidden=folds.n_hidden[indices],
                               repeat=folds.repeat[indices], fold_in_repeat=folds.fold_in_repeat[indices])


def subset(folds, count):
    """The first ``count`` folds (all when ``count`` is None or not smaller)."""
    if count is None or count >= folds.n_folds:
        return folds
    return take(folds, slice(0, count))


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    text = [[_fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in text)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    print("  ".join("-" * w for w in widths))
    for r in text:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def write_json(path: str | Path, payload: dict[str, Any]) -> None:
    from sesl_jax._io import atomic_write_json

    atomic_write_json(path, payload)
    print(f"\nwrote {path}")


def rows_per_dataset(datasets: str, bench: Callable[[str, Path], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """``bench(name, workdir)`` for each name of the comma-separated ``datasets``, in one temporary
    working directory; their rows, in order."""
    import tempfile

    names = [name.strip() for name in datasets.split(",")]
    unknown = [name for name in names if name not in ("fcd", "pcd")]
    if unknown:  # before the first dataset's work, not after it
        sys.exit(f"{Path(sys.argv[0]).name}: --datasets: unknown {', '.join(map(repr, unknown))}; choose from fcd, pcd")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            rows += bench(name, Path(workdir))
    return rows


def json_out(text: str) -> Path:
    """The argparse ``type`` of ``--out``: a file path that can be written, checked before any work
    (a directory, or a parent that is a file, would fail only when the results are written). A
    relative default written as ``benchmarks/results/...`` is this repository's."""
    import argparse

    path = Path(text)
    if not path.is_absolute() and text.startswith("benchmarks/results/") and not Path("benchmarks/results").is_dir():
        path = ROOT / text
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory; give the JSON file to write")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: {parent} is a file, so nothing can be written under it")
    return path


def at_least(minimum: int):
    """The argparse ``type`` of a count: an integer >= ``minimum`` (a 0 or negative count would
    fail after minutes of work, or slice from the end)."""
    from sesl_jax.cli._common import int_at_least

    return int_at_least(minimum)
