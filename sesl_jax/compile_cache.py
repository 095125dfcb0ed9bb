"""A persistent XLA compilation cache, so that a second ``sesl-jax`` command skips recompiling.

Every command builds its solvers afresh, and on a CPU compiling them costs as much as a small
run (``rank --dataset fcd``: about a third of its wall time). JAX can keep compiled programs on disk;
its key covers the program, the JAX/jaxlib versions, the device and the compile options, so a
hit runs the same executable as a fresh compile and results are unchanged.

The command line switches it on (the library leaves process-wide JAX settings to its caller):
``$SESL_JAX_COMPILE_CACHE`` names the directory, or ``off`` turns it off; by default it is
``platformdirs.user_cache_dir("sesl_jax")/xla/<machine>``. A cache directory the user set for
JAX itself (``$JAX_COMPILATION_CACHE_DIR`` or the config) is left alone.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import platform
import warnings
from pathlib import Path

CACHE_ENV = "SESL_JAX_COMPILE_CACHE"
OFF_VALUES = frozenset({"off", "0", "no", "false", "none", ""})
# Compiles shorter than this are not worth a file (the cache would fill with tiny kernels);
# $SESL_JAX_COMPILE_CACHE_MIN_SECONDS changes it (0 keeps every program).
MIN_COMPILE_SECONDS = 0.2
MIN_SECONDS_ENV = "SESL_JAX_COMPILE_CACHE_MIN_SECONDS"
# Least-recently-used entries go beyond this (an FCD quick reproduction stores 46 entries, 3.4 MB); needs filelock.
MAX_CACHE_BYTES = 2 * 1024**3


def machine_tag() -> str:
    """``<arch>-<hash of the CPU's feature flags>``: executables compiled for one CPU may use
    instructions another lacks, so machines sharing a home directory (login vs compute nodes)
    keep separate caches instead of rejecting each other's entries."""
    flags = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = next((line for line in handle if line.startswith("flags")), flags)
    except OSError:
        pass
    return f"{platform.machine() or 'unknown'}-{hashlib.sha256(flags.encode()).hexdigest()[:12]}"


def default_compile_cache_dir() -> Path:
    try:
        import platformdirs

        root = Path(platformdirs.user_cache_dir("sesl_jax"))
    except ImportError:  # a machine with a fixed image (a lent GPU) may lack it
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sesl_jax"
    return root / "xla" / machine_tag()


def compile_cache_dir(directory: str | os.PathLike | None = None) -> Path | None:
    """The directory to use, made if missing: ``directory``, else ``$SESL_JAX_COMPILE_CACHE``, else
    the default; ``None`` when it is off or cannot be made (a warning says so: the command still
    runs, compiling as before)."""
    if directory is None:
        setting = os.environ.get(CACHE_ENV)
        if setting is not None and setting.strip().lower() in OFF_VALUES:
            return None
        directory = setting or default_compile_cache_dir()
    path = Path(directory).expanduser()
    try:
        # private: a compiled program in the cache is code this process will run
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(f"not writable: {path}")
    except OSError as error:
        warnings.warn(
            f"no compilation cache ({error}); set ${CACHE_ENV} to a writable directory, or to 'off'",
            stacklevel=3,
        )
        return None
    return path


def enable_compile_cache(directory: str | os.PathLike | None = None) -> Path | None:
    """Point JAX's persistent compilation cache at :func:`compile_cache_dir` and return it; ``None``
    when that is off or unusable, or when the user gave JAX a cache directory already
    (``$JAX_COMPILATION_CACHE_DIR`` or the config), which is then kept. Call before the first
    compilation."""
    import jax

    if jax.config.jax_compilation_cache_dir or os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return None
    path = compile_cache_dir(directory)
    if path is None:
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", _min_compile_seconds())
    if importlib.util.find_spec("filelock") is not None:  # JAX's size cap needs it, else every read warns
        jax.config.update("jax_compilation_cache_max_size", MAX_CACHE_BYTES)
    return path


def _min_compile_seconds() -> float:
    text = os.environ.get(MIN_SECONDS_ENV, "").strip()
    if not text:
        return MIN_COMPILE_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also NaN
        warnings.warn(f"${MIN_SECONDS_ENV}={text!r} is not a number of seconds >= 0; using {MIN_COMPILE_SECONDS}",
                      stacklevel=3)
        return MIN_COMPILE_SECONDS
    return value
