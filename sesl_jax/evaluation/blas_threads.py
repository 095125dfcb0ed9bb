"""One BLAS thread per JAX CPU device while folds run on several of them.

XLA:CPU hands LAPACK calls (``eigh``, ``svd``) to SciPy's OpenBLAS, which by default starts a
thread per core for each call. With one JAX device per core those threads spin beside the other
devices' work: FCD LOOCV folds on two devices ran 2.2x slower with two BLAS threads than with one
(README). The command line sets ``OPENBLAS_NUM_THREADS=1`` before anything loads; Python callers
get the same limit here, at run time, for the duration of an evaluation, unless they chose a BLAS
thread count themselves.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence

# Variables through which a user has chosen BLAS threads: theirs to keep.
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def limits_needed(devices: Sequence) -> bool:
    """Several CPU devices, and no BLAS thread count chosen in the environment."""
    return (
        len(devices) > 1
        and all(device.platform == "cpu" for device in devices)
        and not any(os.environ.get(name) for name in THREAD_VARIABLES)
    )


@contextlib.contextmanager
def one_blas_thread_per_device(devices: Sequence) -> Iterator[None]:
    """Within the block, BLAS libraries run one thread per call when ``limits_needed(devices)``;
    their previous counts come back after it."""
    if not limits_needed(devices):
        yield
        return
    try:
        import scipy.linalg  # noqa: F401  loads the LAPACK XLA:CPU calls, so that the limit reaches it
        from threadpoolctl import threadpool_limits
    except ImportError:  # a fixed image without them runs as before
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
