"""Batched, leakage-free execution of cross-validation folds.

One jit-compiled function maps a chunk of folds to the scores of their hidden pairs, their
ranks against the candidate pairs (pairs unknown in the full matrix), and solver statistics.
Inside it each fold's training matrix is the full matrix with that fold's hidden pairs set to
zero, and the method recomputes everything that depends on associations from it. Folds are
vmapped (looped on CPU), processed in chunks that fit memory, and sharded over all local devices
along the fold axis (the last chunk is padded by repeating its last fold; padded results are dropped).

On CPU the host can be split into several devices (``jax_num_cpu_devices``), one fold at a time on
each. Folds are looped there with ``lax.map``, never vmapped: jaxlib 0.10 runs the batch of a
vmapped LAPACK call (eigh, svd, ...) as tasks on XLA:CPU's intra-op thread pool, which has one
thread per core, and blocks the calling pool thread until they finish. With one device per core,
every pool thread can be such a caller, nobody is left to run the tasks, and the process hangs
for good (``tests/test_devices.py`` checks that the CPU path has no batched LAPACK call).

Several processes (``jax.distributed.initialize`` in each, see ``sesl_jax.evaluation.distributed``):
each process computes the chunks ``process_index, process_index + process_count, ...`` on its
own devices, and at the end every process receives the others' chunks, so each returns the
whole run.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from sesl_jax.evaluation.distributed import (
    check_same_in_every_process, gather_chunks, owns_chunk, process_share,
)
from sesl_jax.evaluation.folds import Folds, candidate_mask
from sesl_jax.evaluation.store import ResultStore
from sesl_jax.methods import Method

SCOPES = ("global", "drug", "mirna")
# Candidate scores are kept for pooled AUPR / threshold metrics while they fit in this many values.
CANDIDATE_VALUE_LIMIT = 60_000_000


def training_matrix(associations: jax.Array, hidden: jax.Array) -> jax.Array:
    """The fold's training matrix: ``associations`` with the hidden pairs set to zero.

    Args:
        associations: full A, (n_drugs, n_mirnas).
        hidden: (max_hidden, 2) int pair indices, padding rows -1 (ignored).
    """
    valid = hidden[:, 0] >= 0
    rows = jnp.where(valid, hidden[:, 0], 0)
    cols = jnp.where(valid, hidden[:, 1], 0)
    hidden_mask = jnp.zeros(associations.shape, bool).at[rows, cols].max(valid)
    return jnp.where(hidden_mask, jnp.zeros((), associations.dtype), associations)


class FoldOutput(NamedTuple):
    """Per fold (leading axis = folds in the chunk)."""

    hidden_scores: jax.Array  # (max_hidden,)
    n_greater: jax.Array  # (max_hidden, 3) candidates scored strictly higher, per scope
    n_equal: jax.Array  # (max_hidden, 3) candidates tied, per scope
    n_candidates: jax.Array  # (max_hidden, 3) candidates in scope
    iterations: jax.Array  # (n_stages,)
    status: jax.Array  # (n_stages,)
    candidate_scores: jax.Array  # (n_candidates,) or (0,) when not kept


def _count(scores: jax.Array, mask: jax.Array, value: jax.Array):
    return jnp.sum(mask & (scores > value)), jnp.sum(mask & (scores == value)), jnp.sum(mask)


def fold_output(
    scores: jax.Array,
    hidden: jax.Array,
    candidates: jax.Array,
    candidate_index: jax.Array,
    keep_candidates: bool,
) -> tuple[jax.Array, ...]:
    """Hidden-pair scores and their rank counts against candidates, globally and per drug/miRNA."""
    valid = hidden[:, 0] >= 0
    rows = jnp.where(valid, hidden[:, 0], 0)
    cols = jnp.where(valid, hidden[:, 1], 0)
    hidden_scores = scores[rows, cols]
    candidate_scores = scores.reshape(-1)[candidate_index]
    ordered = jnp.sort(candidate_scores)
    above = candidate_scores.size - jnp.searchsorted(ordered, hidden_scores, side="right")
    tied = jnp.searchsorted(ordered, hidden_scores, side="right") - jnp.searchsorted(ordered, hidden_scores, side="left")
    total = jnp.full(hidden_scores.shape, candidate_scores.size)

    def local(row, col, value):
        drug = _count(scores[row], candidates[row], value)
        mirna = _count(scores[:, col], candidates[:, col], value)
        return drug, mirna

    (d_greater, d_equal, d_total), (m_greater, m_equal, m_total) = jax.vmap(local)(rows, cols, hidden_scores)
    stack = lambda *columns: jnp.where(valid[:, None], jnp.stack(columns, axis=1), -1)  # noqa: E731
    n_greater = stack(above, d_greater, m_greater)
    n_equal = stack(tied, d_equal, m_equal)
    n_candidates = stack(total, d_total, m_total)
    hidden_scores = jnp.where(valid, hidden_scores, jnp.nan)
    kept = candidate_scores if keep_candidates else candidate_scores[:0]
    return hidden_scores, n_greater, n_equal, n_candidates, kept


@functools.lru_cache(maxsize=32)
def make_chunk_function(
    method: Method, keep_candidates: bool, devices: tuple[jax.Device, ...], fold_batching: str = "auto"
) -> Callable[..., FoldOutput]:
    """The compiled map from a chunk of folds ``(chunk, max_hidden, 2)`` to ``FoldOutput``: vmapped
    over the folds on accelerators, ``lax.map`` (a loop inside the compiled code) on CPU
    (``fold_batching="auto"``; ``"vmap"`` or ``"map"`` force one).

    Cached per method object, so repeated evaluations (resume, benchmarks, reproduction) reuse
    the compiled code instead of tracing again.
    """

    def one_fold(hidden, associations, candidates, candidate_index, inputs):
        train = training_matrix(associations, hidden)
        output = method.predict(train, inputs)
        hidden_scores, n_greater, n_equal, n_candidates, kept = fold_output(
            output.scores, hidden, candidates, candidate_index, keep_candidates
        )
        return FoldOutput(hidden_scores, n_greater, n_equal, n_candidates, output.iterations, output.status, kept)

    if fold_batching not in ("auto", "vmap", "map"):
        raise ValueError(f"fold_batching must be 'auto', 'vmap' or 'map', got {fold_batching!r}")
    on_cpu = all(device.platform == "cpu" for device in devices)
    if fold_batching == "vmap" and on_cpu and len(devices) > 1:
        raise ValueError(
            "fold_batching='vmap' on several CPU devices deadlocks XLA:CPU (each device's batched LAPACK "
            "call waits on the thread pool the other devices occupy); use 'map'"
        )
    if fold_batching == "map" or (fold_batching == "auto" and on_cpu):
        # One fold after another on CPU: vmap gains nothing there (PERF.md), and its batched LAPACK
        # calls starve XLA:CPU's thread pool (module docstring): two host devices hung within seconds,
        # and a vmapped 10 x 5-fold SNMF run hung on one device too (every thread in a futex wait).
        def batched(hidden, *constants):
            return jax.lax.map(lambda fold: one_fold(fold, *constants), hidden)
    else:
        batched = jax.vmap(one_fold, in_axes=(0, None, None, None, None))
    if len(devices) == 1:
        return jax.jit(batched)
    mesh = Mesh(np.asarray(devices), ("folds",))
    replicated = PartitionSpec()
    sharded = jax.shard_map(
        batched,
        mesh=mesh,
        in_specs=(PartitionSpec("folds"), replicated, replicated, replicated, replicated),
        out_specs=PartitionSpec("folds"),
        check_vma=False,
    )
    return jax.jit(sharded)


def default_batch_size(n_rows: int, n_cols: int, dtype: str, devices: list[jax.Device]) -> int:
    """Folds per chunk: a memory budget on accelerators, a small per-device batch on CPU.

    On CPU, vmap brings no parallelism (PERF.md), so a few folds per device keep chunks short
    (frequent checkpoints). On a GPU the batch fills about a quarter of free memory, assuming
    ~24 square work matrices of the heterogeneous size per fold.
    """
    n = n_rows + n_cols
    per_fold = 24 * n * n * np.dtype(dtype).itemsize
    device = devices[0]
    if device.platform == "cpu":
        return 4 * len(devices)
    try:
        stats = device.memory_stats() or {}
        free = stats.get("bytes_limit", 0) - stats.get("bytes_in_use", 0)
    except Exception:  # noqa: BLE001 - some backends do not report memory
        free = 0
    per_device = max(1, int(0.25 * free // per_fold)) if free > 0 else 16
    return min(per_device, 512) * len(devices)


class EvaluationRun(NamedTuple):
    """All folds' outputs (padding folds removed), fold-major."""

    hidden_scores: np.ndarray  # (n_folds, max_hidden), NaN at padding rows
    n_greater: np.ndarray  # (n_folds, max_hidden, 3)
    n_equal: np.ndarray
    n_candidates: np.ndarray
    iterations: np.ndarray  # (n_folds, n_stages)
    status: np.ndarray  # (n_folds, n_stages)
    candidate_scores: np.ndarray | None  # (n_folds, n_candidates) or None
    candidate_pairs: np.ndarray  # (n_candidates, 2) the candidate pairs, row-major
    seconds: float  # wall time of the chunks computed in this call (not resumed ones)
    folds_computed: int
    fold_seconds: np.ndarray  # (n_folds,) each fold's share of its chunk's wall time, whichever call computed it (NaN: not recorded)


def evaluate(
    method: Method,
    associations: np.ndarray,
    folds: Folds,
    *,
    batch_size: int | None = None,
    store: ResultStore | None = None,
    keep_candidates: bool | None = None,
    devices: list[jax.Device] | None = None,
    progress: bool = False,
    dtype: str | None = None,
    fold_batching: str = "auto",
) -> EvaluationRun:
    """Run ``method`` on every fold; resume from ``store`` when it already holds chunks.

    Args:
        method: the prediction method (its ``predict`` is vmapped over folds).
        associations: full A, (n_drugs, n_mirnas) 0/1.
        folds: which known pairs each fold hides.
        batch_size: folds per chunk (rounded up to a multiple of the device count);
            default from ``default_batch_size``. Part of the result store's configuration.
        store: where chunks are written as they finish, and read back on resume.
        keep_candidates: keep every fold's candidate scores (for AUPR and threshold metrics);
            default: when they fit in ``CANDIDATE_VALUE_LIMIT`` values.
        devices: this process's devices to shard folds over (default: all local devices). In a
            run of several processes each computes its share of the chunks (see the module
            docstring) and receives the others; ``seconds`` and ``folds_computed`` are its own.
        progress: show a progress bar (folds done, folds/s, ETA).
        dtype: floating dtype of the solve (default: the dtype of the method's similarities).
        fold_batching: ``"auto"`` (vmap on accelerators, ``lax.map`` on CPU), ``"vmap"`` or ``"map"``.
    """
    devices = list(devices or jax.local_devices())
    associations = np.asarray(associations)
    if dtype is None:
        dtype = str(jax.tree_util.tree_leaves(method.inputs)[0].dtype) if jax.tree_util.tree_leaves(method.inputs) else "float64"
    candidates = candidate_mask(associations)
    candidate_pairs = np.argwhere(candidates).astype(np.int32)
    if keep_candidates is None:
        keep_candidates = folds.n_folds * len(candidate_pairs) <= CANDIDATE_VALUE_LIMIT
    if batch_size is None:
        batch_size = default_batch_size(*associations.shape, dtype, devices)
    batch_size = int(math.ceil(max(1, batch_size) / len(devices)) * len(devices))
    n_chunks = int(math.ceil(folds.n_folds / batch_size))

    chunk_function = make_chunk_function(method, keep_candidates, tuple(devices), fold_batching)
    constants = (
        jnp.asarray(associations, dtype),
        jnp.asarray(candidates),
        jnp.asarray(np.flatnonzero(candidates), jnp.int32),
        method.inputs,
    )
    sharding = None
    if len(devices) == 1:
        sharding = devices[0]
        constants = jax.device_put(constants, sharding)
    else:
        mesh = Mesh(np.asarray(devices), ("folds",))
        sharding = NamedSharding(mesh, PartitionSpec("folds"))
        # constants replicated on every device up front, not moved from device 0 per call
        constants = jax.device_put(constants, NamedSharding(mesh, PartitionSpec()))
    share = process_share()
    if share[1] > 1:
        check_same_in_every_process(batch_size=batch_size, keep_candidates=keep_candidates,
                                    folds=hashlib.sha256(np.ascontiguousarray(folds.hidden).tobytes()).hexdigest())
    done = store.completed_chunks() if store is not None else set()
    chunks: dict[int, dict[str, np.ndarray]] = {}
    owned = [index for index in range(n_chunks) if owns_chunk(index, share)]

    def chunk_rows(index: int) -> int:
        return min((index + 1) * batch_size, folds.n_folds) - index * batch_size

    bar = _progress_bar(sum(chunk_rows(index) for index in owned), progress, method.name)
    seconds, computed = 0.0, 0
    try:
        for index in owned:
            start, stop = index * batch_size, index * batch_size + chunk_rows(index)
            if index in done:
                chunks[index] = store.read_chunk(index)
                bar.update(stop - start)
                continue
            hidden = folds.hidden[start:stop]
            padded = np.concatenate([hidden, np.repeat(hidden[-1:], batch_size - len(hidden), axis=0)])
            batch = jax.device_put(padded, sharding)
            tic = time.perf_counter()
            output = jax.device_get(chunk_function(batch, *constants))
            elapsed = time.perf_counter() - tic
            seconds += elapsed
            computed += stop - start
            arrays = {name: np.asarray(value)[: stop - start] for name, value in output._asdict().items()}
            arrays["fold"] = np.arange(start, stop, dtype=np.int32)
            # stored with the chunk, so a resumed or re-read run still reports what the folds cost
            arrays["fold_seconds"] = np.full(stop - start, elapsed / (stop - start))
            if store is not None:
                store.write_chunk(index, arrays)
            chunks[index] = arrays
            bar.update(stop - start)
    finally:
        bar.close()
    for arrays in chunks.values():  # chunks stored before timings were recorded
        arrays.setdefault("fold_seconds", np.full(len(arrays["fold"]), np.nan))
    if share[1] > 1:
        chunk_shape = jax.ShapeDtypeStruct((batch_size, *folds.hidden.shape[1:]), folds.hidden.dtype)
        shapes = jax.eval_shape(chunk_function, chunk_shape, *constants)
        template = {name: (tuple(value.shape[1:]), np.dtype(value.dtype)) for name, value in shapes._asdict().items()}
        template.update(fold=((), np.dtype(np.int32)), fold_seconds=((), np.dtype(np.float64)))
        chunks = gather_chunks(chunks, n_chunks, chunk_rows, template)
        if store is not None and share[0] == 0:  # process 0's store holds the whole run, shared or not
            for index in set(range(n_chunks)) - set(owned):
                if not store.chunk_path(index).exists():
                    store.write_chunk(index, chunks[index])
    merged = {name: np.concatenate([chunks[i][name] for i in range(n_chunks)]) for name in chunks[0]}
    return EvaluationRun(
        hidden_scores=merged["hidden_scores"],
        n_greater=merged["n_greater"],
        n_equal=merged["n_equal"],
        n_candidates=merged["n_candidates"],
        iterations=merged["iterations"],
        status=merged["status"],
        candidate_scores=merged["candidate_scores"] if keep_candidates else None,
        candidate_pairs=candidate_pairs,
        seconds=seconds,
        folds_computed=computed,
        fold_seconds=merged["fold_seconds"],
    )


def _progress_bar(total: int, enabled: bool, name: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="fold", desc=name, disable=not enabled, smoothing=0.1, dynamic_ncols=True)
