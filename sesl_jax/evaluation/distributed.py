"""One evaluation run split over several processes (several hosts, or several processes of one host).

Every process runs the same command. ``initialize`` connects them through JAX's distributed
runtime (``jax.distributed.initialize``; on CPU its collectives use Gloo over TCP). The engine
then gives chunk ``i`` of the run to process ``i % process_count``; each process computes its
chunks on its own devices, and ``gather_chunks`` sends every chunk to every process at the end,
so each process returns the whole run. Process 0 writes the results.

A SLURM job, one task per node, the output directory on a shared file system::

    srun --nodes=4 --ntasks-per-node=1 --cpus-per-task=32 \\
        sesl-jax cv --dataset pcd --method sesl --distributed --out /shared/runs/pcd-loocv

With ``--distributed`` alone JAX reads the process count, the process id and the coordinator (the
first node of the job, a port derived from the job id) from SLURM's variables (``SLURM_NTASKS``,
``SLURM_PROCID``, ``SLURM_STEP_NODELIST``, ``SLURM_JOB_ID``) or from Open MPI's; elsewhere give
``--coordinator HOST:PORT --num-processes N --process-id I`` to every process.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Callable, Mapping

import numpy as np

# Processes wait for the slowest one in the final gather. XLA:CPU's collectives give up after
# 30 minutes by default, less than a resumed run can leave between processes.
COLLECTIVE_TIMEOUT_SECONDS = 7 * 24 * 3600


def initialize(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    collective_timeout_seconds: int = COLLECTIVE_TIMEOUT_SECONDS,
) -> None:
    """Connect this process to the run's other processes; call before anything starts JAX's backend.

    Args:
        coordinator: ``HOST:PORT`` of process 0, where it serves the coordination service (any
            free port; every process gives the same). ``None``: from the cluster's environment
            (SLURM, Open MPI) or ``$JAX_COORDINATOR_ADDRESS``.
        num_processes: processes in the run (``None``: from the cluster's environment).
        process_id: this process, ``0 .. num_processes - 1`` (``None``: from the environment).
        collective_timeout_seconds: how long XLA:CPU's collectives wait for the other processes
            (set through ``XLA_FLAGS`` unless it already names one).
    """
    import jax

    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_collective_timeout_seconds" not in flags:
        timeout = f"--xla_cpu_collective_timeout_seconds={int(collective_timeout_seconds)}"
        os.environ["XLA_FLAGS"] = f"{flags} {timeout}".strip()
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes, process_id=process_id)


def process_share() -> tuple[int, int]:
    """``(process_index, process_count)`` of this process in the run (``(0, 1)`` alone)."""
    import jax

    return jax.process_index(), jax.process_count()


def owns_chunk(chunk_index: int, share: tuple[int, int]) -> bool:
    """Whether the process of ``share`` computes chunk ``chunk_index`` (round robin)."""
    process_index, process_count = share
    return chunk_index % process_count == process_index


def every_process(flag: bool) -> bool:
    """True when ``flag`` is true in every process; a collective, so every process must call it."""
    from jax.experimental import multihost_utils

    return bool(np.all(multihost_utils.process_allgather(np.asarray([flag], dtype=np.uint8))))


class DistributedRunError(RuntimeError):
    """The processes of one run were started with different options or data, or one is missing."""


def check_same_in_every_process(**values: str | int) -> None:
    """``DistributedRunError`` unless every process passes the same ``values``; a collective.

    A process started with other options or other data would otherwise mix its chunks into the run.
    A process that stopped before this point (an error in its own output) makes the others fail
    here, after XLA's wait for the missing peer (about 30 seconds), instead of at the end of the run.
    """
    from jax.experimental import multihost_utils

    text = json.dumps(values, sort_keys=True).encode("utf-8")
    digest = np.frombuffer(hashlib.sha256(text).digest(), np.uint8)
    try:
        digests = np.asarray(multihost_utils.process_allgather(digest))
    except RuntimeError as error:  # jax.errors.JaxRuntimeError: a peer is gone
        raise DistributedRunError(
            f"the other processes did not join (has one stopped with an error?): {' '.join(str(error).split())}"
        ) from None
    differing = [index for index in range(len(digests)) if not np.array_equal(digests[index], digests[0])]
    if differing:
        raise DistributedRunError(
            f"process(es) {differing} run another evaluation than process 0 (one of {', '.join(values)} differs); "
            "start every process with the same command and data"
        )


def gather_chunks(
    own: Mapping[int, Mapping[str, np.ndarray]],
    n_chunks: int,
    chunk_rows: Callable[[int], int],
    template: Mapping[str, tuple[tuple[int, ...], np.dtype]],
) -> dict[int, dict[str, np.ndarray]]:
    """Every chunk of the run, in every process; a collective, so every process must call it once.

    Chunks travel as raw bytes, so they arrive bit for bit whatever ``jax_enable_x64`` says.

    Args:
        own: the chunks this process holds, ``chunk_index -> {name: array}``: exactly those that
            ``owns_chunk`` gives it.
        n_chunks: chunks in the run.
        chunk_rows: folds in chunk ``i`` (the last chunk may be short).
        template: ``name -> (shape of one fold's row, dtype)`` of every array of a chunk.

    Returns:
        ``chunk_index -> {name: array}`` for ``0 .. n_chunks - 1``.
    """
    from jax.experimental import multihost_utils

    process_index, process_count = process_share()
    names = sorted(template)
    rows = max(chunk_rows(i) for i in range(n_chunks))
    sizes = [rows * int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize for shape, dtype in
             (template[name] for name in names)]
    slots = -(-n_chunks // process_count)  # chunks per process, the last ones padded
    local = np.zeros((slots, sum(sizes)), np.uint8)
    for chunk_index, arrays in own.items():
        if not owns_chunk(chunk_index, (process_index, process_count)):
            raise ValueError(f"process {process_index} holds chunk {chunk_index}, which process "
                             f"{chunk_index % process_count} computes")
        parts = []
        for name in names:
            shape, dtype = template[name]
            padded = np.zeros((rows, *shape), dtype)
            padded[: len(arrays[name])] = arrays[name]
            parts.append(padded.reshape(-1).view(np.uint8))
        local[chunk_index // process_count] = np.concatenate(parts)
    everything = np.asarray(multihost_utils.process_allgather(local))  # (process_count, slots, bytes)
    offsets = np.cumsum([0, *sizes])
    chunks = {}
    for chunk_index in range(n_chunks):
        if chunk_index in own:
            chunks[chunk_index] = {name: np.asarray(own[chunk_index][name]) for name in names}
            continue
        data = everything[chunk_index % process_count, chunk_index // process_count]
        arrays = {}
        for name, start, stop in zip(names, offsets[:-1], offsets[1:]):
            shape, dtype = template[name]
            values = data[start:stop].view(np.dtype(dtype)).reshape(rows, *shape)
            arrays[name] = values[: chunk_rows(chunk_index)].copy()
        chunks[chunk_index] = arrays
    return chunks
