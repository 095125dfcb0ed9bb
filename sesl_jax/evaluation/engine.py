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

A chunk that runs out of device memory is computed in sub-batches of half the folds (down to one
fold per device) and stored as if it had run whole: the same arrays in the same file (bit for bit
on CPU; an accelerator may pick other kernels for another batch shape). Later chunks start at the
sub-batch size that fitted. The chunk layout, and so the result store, does not change.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import time
import warnings
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from sesl_jax._values import check_integer, float_dtype_name
from sesl_jax.evaluation.blas_threads import one_blas_thread_per_device
from sesl_jax.evaluation.distributed import (
    check_same_in_every_process, gather_chunks, owns_chunk, process_share,
)
from sesl_jax.evaluation.folds import Folds, candidate_mask, check_folds
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
    (``fold_batching="auto"``; ``"vmap"`` or ``"map"`` force one). A method with ``group`` runs
    each ``group`` consecutive folds of the chunk (``evaluate`` orders them by ``spread_order``) from
    one shared start (``Method.shared_start``); the chunk (per device) is then a whole number of groups.

    Cached per method object, so repeated evaluations (resume, benchmarks, reproduction) reuse
    the compiled code instead of tracing again.
    """

    def fold_result(output, hidden, candidates, candidate_index, start_output=None):
        hidden_scores, n_greater, n_equal, n_candidates, kept = fold_output(
            output.scores, hidden, candidates, candidate_index, keep_candidates
        )
        iterations, status = output.iterations, output.status
        if start_output is not None:  # the shared start's statistics after the fold's own
            iterations = jnp.concatenate([iterations, start_output.iterations])
            status = jnp.concatenate([status, start_output.status])
        return FoldOutput(hidden_scores, n_greater, n_equal, n_candidates, iterations, status, kept)

    def one_fold(hidden, associations, candidates, candidate_index, inputs):
        output = method.predict(training_matrix(associations, hidden), inputs)
        return fold_result(output, hidden, candidates, candidate_index)

    def one_group(hidden, associations, candidates, candidate_index, inputs):
        # ``hidden``: (group, max_hidden, 2). The shared start hides every pair of the group, so it
        # is fitted on a subset of each member's training data (Method.shared_start).
        start, start_output = method.shared_start.solve(training_matrix(associations, hidden.reshape(-1, 2)), inputs)

        def member(fold_hidden):
            output = method.shared_start.predict(training_matrix(associations, fold_hidden), inputs, start)
            return fold_result(output, fold_hidden, candidates, candidate_index, start_output)

        return loop(member, hidden)

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
        def loop(function, values):
            return jax.lax.map(function, values)
    else:
        def loop(function, values):
            return jax.vmap(function)(values)

    if method.group:
        group = method.group

        def batched(hidden, *constants):
            groups = hidden.reshape(-1, group, *hidden.shape[1:])  # chunks hold whole groups (evaluate)
            output = loop(lambda members: one_group(members, *constants), groups)
            return jax.tree_util.tree_map(lambda value: value.reshape(value.shape[0] * value.shape[1], *value.shape[2:]), output)
    else:
        def batched(hidden, *constants):
            return loop(lambda fold: one_fold(fold, *constants), hidden)
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


# Share of free device memory one chunk may take: per-fold bytes measured from the compiled code
# leave room for XLA's own buffers; the cruder square-matrix count keeps a wider margin.
MEASURED_MEMORY_SHARE = 0.5
ESTIMATED_MEMORY_SHARE = 0.25
MAX_FOLDS_PER_DEVICE = 512


class DeviceMemoryError(RuntimeError):
    """One fold per device does not fit in device memory."""


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is XLA running out of device memory, when compiling or running.

    XLA reports it as a runtime error (``jax.errors.JaxRuntimeError``, ``XlaRuntimeError`` before
    jax 0.4.36) whose message holds the status ``RESOURCE_EXHAUSTED`` or says "out of memory".
    """
    runtime_error = getattr(jax.errors, "JaxRuntimeError", RuntimeError)
    message = str(error)
    return isinstance(error, runtime_error) and ("RESOURCE_EXHAUSTED" in message or "out of memory" in message.lower())


def free_device_memory(device: jax.Device) -> int:
    """Bytes the device's allocator can still hand out (0: the backend does not say)."""
    try:
        stats = device.memory_stats() or {}
    except Exception:  # noqa: BLE001 - some backends do not report memory
        return 0
    return max(0, int(stats.get("bytes_limit", 0)) - int(stats.get("bytes_in_use", 0)))


@functools.lru_cache(maxsize=32)
def compiled_fold_bytes(method: Method, n_rows: int, n_cols: int, dtype: str, device: jax.Device) -> int | None:
    """Device bytes one fold of ``method`` needs, from the memory analysis of a one-fold chunk (one
    group of folds for a method run in groups, divided by its size) compiled for ``device``: its
    temporary buffers and outputs (the constants are shared by all folds).

    ``None`` when the backend gives no analysis or the compile fails (the caller estimates instead).
    Compiling costs seconds; the answer is cached per method and problem.
    """
    try:
        chunk_function = make_chunk_function(method, True, (device,))
        placed = jax.sharding.SingleDeviceSharding(device)

        def shape(value) -> jax.ShapeDtypeStruct:
            return jax.ShapeDtypeStruct(np.shape(value), jnp.result_type(value), sharding=placed)

        folds = max(1, method.group)
        arguments = (
            jax.ShapeDtypeStruct((folds, 1, 2), jnp.int32, sharding=placed),  # folds hiding one pair each
            jax.ShapeDtypeStruct((n_rows, n_cols), jnp.dtype(dtype), sharding=placed),
            jax.ShapeDtypeStruct((n_rows, n_cols), jnp.bool_, sharding=placed),
            jax.ShapeDtypeStruct((n_rows * n_cols,), jnp.int32, sharding=placed),  # every pair a candidate: the most
            jax.tree_util.tree_map(shape, method.inputs),
        )
        analysis = chunk_function.lower(*arguments).compile().memory_analysis()
    except Exception:  # noqa: BLE001 - an estimate is only an optimisation; evaluate() retries on OOM anyway
        return None
    if analysis is None:
        return None
    total = int(getattr(analysis, "temp_size_in_bytes", 0)) + int(getattr(analysis, "output_size_in_bytes", 0))
    return math.ceil(total / folds) or None


def chunk_step(method: Method, n_devices: int) -> int:
    """Chunk sizes are multiples of this: split evenly over the devices, each share a whole number of
    the method's groups of folds (``Method.group``; 1 when folds start cold)."""
    return n_devices * max(1, method.group)


def default_batch_size(
    n_rows: int, n_cols: int, dtype: str, devices: list[jax.Device], method: Method | None = None,
    n_folds: int | None = None,
) -> int:
    """Folds per chunk: a memory budget on accelerators, a small per-device batch on CPU; with
    ``n_folds``, balanced over that many folds (:func:`balanced_batch_size`).

    On CPU, vmap brings no parallelism (PERF.md), so a few folds per device keep chunks short
    (frequent checkpoints). On an accelerator the batch fills a share of the first device's free
    memory: half of it at the bytes per fold that the compiled code of ``method`` needs
    (:func:`compiled_fold_bytes`), else a quarter of it, assuming ~24 square work matrices of the
    heterogeneous size per fold. A chunk that still runs out of memory is computed in smaller
    sub-batches (see :func:`evaluate`).
    """
    size = _memory_batch_size(n_rows, n_cols, dtype, devices, method)
    step = len(devices) if method is None else chunk_step(method, len(devices))
    return size if n_folds is None else balanced_batch_size(size, n_folds, step)


def _memory_batch_size(n_rows: int, n_cols: int, dtype: str, devices: list[jax.Device], method: Method | None) -> int:
    device = devices[0]
    if device.platform == "cpu":
        return 4 * len(devices)
    free = free_device_memory(device)
    if free <= 0:
        return 16 * len(devices)
    n = n_rows + n_cols
    per_fold = compiled_fold_bytes(method, n_rows, n_cols, str(dtype), device) if method is not None else None
    if per_fold is not None:
        per_device = int(MEASURED_MEMORY_SHARE * free // per_fold)
    else:
        per_device = int(ESTIMATED_MEMORY_SHARE * free // (24 * n * n * np.dtype(dtype).itemsize))
    return min(max(1, per_device), MAX_FOLDS_PER_DEVICE) * len(devices)


def balanced_batch_size(batch_size: int, n_folds: int, n_devices: int = 1) -> int:
    """The chunk size for ``n_folds`` folds: as many chunks as ``batch_size`` needs, each as small
    as covers them (a multiple of ``n_devices``), since a short last chunk is padded to full size.

    E.g. 5 folds at 8 per chunk on 2 devices: one chunk of 6 (3 per device) instead of 8.
    """
    step, n_folds = max(1, n_devices), max(1, n_folds)
    n_chunks = math.ceil(n_folds / (math.ceil(max(1, batch_size) / step) * step))
    return math.ceil(math.ceil(n_folds / n_chunks) / step) * step


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
    # folds per compiled call when this call's last chunk was computed: below the batch size when
    # device memory ran out (see evaluate); None when this call computed no chunk
    sub_batch_size: int | None = None


def _check_method_shapes(method: Method, shape: tuple[int, int]) -> None:
    """A method's similarity inputs fit the association matrix (a transposed matrix would fail
    deep in a compiled solve)."""
    if not isinstance(method, Method):
        raise TypeError(f"method must be a Method (e.g. build_dataset_method(...)), got {type(method).__name__}")
    inputs = method.inputs if isinstance(method.inputs, dict) else {}
    for name, size in (("drug_similarity", shape[0]), ("mirna_similarity", shape[1])):
        if name in inputs and tuple(jnp.shape(inputs[name])) != (size, size):
            raise ValueError(f"the method's {name} is {tuple(jnp.shape(inputs[name]))}, but the association matrix is "
                             f"{shape[0]} x {shape[1]}: the method was built for another matrix")


def evaluate(
    method: Method,
    associations: np.ndarray,
    folds: Folds,
    *,
    batch_size: int | None = None,
    store: ResultStore | None = None,
    keep_candidates: bool | None = None,
    devices: list[jax.Device] | None = None,
    progress: bool | Callable[[str], None] = False,
    dtype: str | None = None,
    fold_batching: str = "auto",
) -> EvaluationRun:
    """Run ``method`` on every fold; resume from ``store`` when it already holds chunks.

    Args:
        method: the prediction method (its ``predict`` is vmapped over folds).
        associations: full A, (n_drugs, n_mirnas) 0/1.
        folds: which known pairs each fold hides.
        batch_size: folds per chunk (rounded up to a multiple of the device count);
            default from ``default_batch_size``. Part of the result store's configuration. A chunk
            that runs out of device memory is computed in sub-batches of half the folds (down to
            one fold per device; a warning says so), with the same results, and later chunks
            start at the sub-batch size that fitted.
        store: where chunks are written as they finish, and read back on resume.
        keep_candidates: keep every fold's candidate scores (for AUPR and threshold metrics);
            default: when they fit in ``CANDIDATE_VALUE_LIMIT`` values.
        devices: this process's devices to shard folds over (default: all local devices). In a
            run of several processes each computes its share of the chunks (see the module
            docstring) and receives the others; ``seconds`` and ``folds_computed`` are its own.
        progress: ``True`` shows a progress bar (folds done, folds/s, ETA); a function (such as
            a log to a file) receives a plain progress line at most once a minute and at the end.
        dtype: floating dtype of the solve (default: the dtype of the method's similarities).
        fold_batching: ``"auto"`` (vmap on accelerators, ``lax.map`` on CPU), ``"vmap"`` or ``"map"``.

    Raises:
        DeviceMemoryError: even one fold per device runs out of device memory.
    """
    devices = list(devices or jax.local_devices())
    associations = np.asarray(associations)
    check_folds(folds, associations)
    _check_method_shapes(method, associations.shape)
    check_integer("batch_size", batch_size, 1, optional=True)
    if dtype is not None:
        dtype = float_dtype_name(dtype, " (or None: the method's own)")
    if dtype is None:
        floating = [leaf for leaf in jax.tree_util.tree_leaves(method.inputs) if jnp.issubdtype(leaf.dtype, jnp.inexact)]
        dtype = str(floating[0].dtype) if floating else "float64"
    candidates = candidate_mask(associations)
    candidate_pairs = np.argwhere(candidates).astype(np.int32)
    if keep_candidates is None:
        keep_candidates = folds.n_folds * len(candidate_pairs) <= CANDIDATE_VALUE_LIMIT
    if batch_size is None:
        batch_size = default_batch_size(*associations.shape, dtype, devices, method=method, n_folds=folds.n_folds)
    step = chunk_step(method, len(devices))
    batch_size = int(math.ceil(max(1, batch_size) / step) * step)
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
    # Folds in the order they are computed: with shared starts, each group of consecutive positions
    # takes folds spread over the whole list (``spread_order``), not neighbours (LOOCV lists a drug's
    # pairs together, and a start hiding many pairs of one drug is far from each member's answer).
    order = spread_order(folds.n_folds, method.group)
    hidden = folds.hidden[order]
    done = store.completed_chunks() if store is not None else set()
    chunks: dict[int, dict[str, np.ndarray]] = {}
    owned = [index for index in range(n_chunks) if owns_chunk(index, share)]

    def chunk_rows(index: int) -> int:
        return min((index + 1) * batch_size, folds.n_folds) - index * batch_size

    def compute(padded: np.ndarray) -> FoldOutput:
        return jax.device_get(chunk_function(jax.device_put(padded, sharding), *constants))

    resumed = sum(chunk_rows(index) for index in owned if index in done)
    bar = _progress_bar(sum(chunk_rows(index) for index in owned), resumed, progress, method.name)
    seconds, computed = 0.0, 0
    sub_batch, used_sub_batch = batch_size, None
    with one_blas_thread_per_device(devices), contextlib.closing(bar):
        for index in owned:
            start, stop = index * batch_size, index * batch_size + chunk_rows(index)
            if index in done:
                chunks[index] = store.read_chunk(index)  # counted in the bar's start
                continue
            tic = time.perf_counter()
            context = f"chunk {index} of {method.name} ({associations.shape[0]} x {associations.shape[1]}, {dtype})"
            arrays, sub_batch = compute_in_sub_batches(compute, hidden[start:stop], sub_batch, step, context)
            elapsed = time.perf_counter() - tic
            used_sub_batch = sub_batch
            seconds += elapsed
            computed += stop - start
            arrays["fold"] = order[start:stop].astype(np.int32)
            # stored with the chunk, so a resumed or re-read run still reports what the folds cost
            arrays["fold_seconds"] = np.full(stop - start, elapsed / (stop - start))
            if store is not None:
                store.write_chunk(index, arrays)
            chunks[index] = arrays
            bar.update(stop - start)
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
    by_fold = np.argsort(merged["fold"], kind="stable")  # back to the folds' own order
    merged = {name: value[by_fold] for name, value in merged.items()}
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
        sub_batch_size=used_sub_batch,
    )


def spread_order(n_folds: int, group: int) -> np.ndarray:
    """The order in which folds run in groups of ``group`` (``Method.group``; 0 or 1: their own
    order): position ``i`` takes fold
    ``i * stride mod n_folds``, with ``stride`` the first integer from ``n_folds / group`` that is
    coprime with ``n_folds``, so the folds of a group lie about ``n_folds / group`` apart (LOOCV on
    FCD: 664 folds in groups of 16 are 43 apart) and the order is a permutation."""
    if n_folds <= 1 or group <= 1:
        return np.arange(n_folds)
    stride = math.ceil(n_folds / group)
    while math.gcd(stride, n_folds) != 1:
        stride += 1
    return (np.arange(n_folds, dtype=np.int64) * stride) % n_folds


def compute_in_sub_batches(
    compute: Callable[[np.ndarray], Any], hidden: np.ndarray, sub_batch: int, step: int, context: str,
    unit: str = "folds",
) -> tuple[dict[str, np.ndarray], int]:
    """``compute`` over ``hidden``'s folds ``sub_batch`` at a time, each call padded to ``sub_batch``
    folds by repeating its last fold (so every call has one compiled shape); halved, in multiples of
    ``step`` (the device count times the method's group, so groups stay whole), while the device
    runs out of memory. Also serves other independent items (new molecules: ``unit="items"``).

    ``compute`` returns a NamedTuple of arrays with the batch first. Folds are independent, so the
    outputs equal one call over all folds. Returns them (padding dropped) and the sub-batch size
    that fitted.
    """
    pieces, start = [], 0
    while start < len(hidden):
        part = hidden[start : start + sub_batch]
        padded = np.concatenate([part, np.repeat(part[-1:], sub_batch - len(part), axis=0)])
        try:
            output = compute(padded)
        except Exception as error:
            if not is_out_of_memory(error):
                raise
            if sub_batch <= step:
                one = unit.rstrip("s")
                raise DeviceMemoryError(
                    f"{context}: even one {one} per device ({sub_batch} {one}(s) per call) runs out of device "
                    "memory; use a smaller problem, float32, or the CPU"
                ) from error
            smaller = max(step, sub_batch // 2 // step * step)
            warnings.warn(f"{context}: out of device memory with {sub_batch} {unit} per call; retrying with "
                          f"{smaller} (results are unchanged)", RuntimeWarning, stacklevel=3)
            sub_batch = smaller
            continue
        pieces.append({name: np.asarray(value)[: len(part)] for name, value in output._asdict().items()})
        start += len(part)
    if len(pieces) == 1:
        return pieces[0], sub_batch
    return {name: np.concatenate([piece[name] for piece in pieces]) for name in pieces[0]}, sub_batch


def _progress_bar(total: int, resumed: int, enabled: bool | Callable[[str], None], name: str) -> Any:
    """A bar (or plain lines) that starts at the ``resumed`` folds, so its rate counts computed ones only."""
    if callable(enabled):
        return ProgressLines(total, name, enabled, initial=resumed)
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=resumed, unit="fold", desc=name, disable=not enabled, smoothing=0.1,
                dynamic_ncols=True)


class ProgressLines:
    """Progress as plain lines for logs (no terminal for a bar): ``update``/``close`` like tqdm.

    A line at most every ``interval`` seconds and one when the run ends; the rate counts only
    folds after ``initial`` (those read back on resume), so they do not flatter the estimate.
    """

    def __init__(self, total: int, name: str, write: Callable[[str], None], *, initial: int = 0,
                 interval: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.total, self.name, self.write, self.interval, self.clock = total, name, write, interval, clock
        self.done, self.computed, self.reported = initial, 0, None
        self.start = self.last = clock()

    def update(self, folds: int) -> None:
        self.done += folds
        self.computed += folds
        if self.clock() - self.last >= self.interval:
            self._line()

    def close(self) -> None:
        if self.done != self.reported:  # the last update's line may already say it all
            self._line()

    def _line(self) -> None:
        self.last = now = self.clock()
        self.reported = self.done
        line = f"{self.name}: {self.done}/{self.total} folds ({100 * self.done / max(self.total, 1):.0f}%)"
        if self.computed:
            per_fold = (now - self.start) / self.computed
            line += f", {per_fold:.2f} s/fold, about {per_fold * (self.total - self.done) / 60:.0f} min left"
        self.write(line)
