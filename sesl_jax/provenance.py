"""What is recorded beside every result: versions, device, data checksums, command."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

import numpy as np


def environment() -> dict[str, Any]:
    import jax

    import sesl_jax

    devices = jax.devices()
    return {
        "sesl_jax": sesl_jax.__version__,
        "jax": jax.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "backend": jax.default_backend(),
        "devices": [str(d) for d in devices],
        "device_kind": devices[0].device_kind if devices else None,
        "x64": bool(jax.config.jax_enable_x64),
        **encoder_provenance(),
    }


def encoder_provenance() -> dict[str, Any]:
    """``encoder_weights``: SHA-256 of the encoder weights in use (shipped, or from
    ``$SESL_JAX_ENCODERS``), by file name, since sequence similarities depend on them; and
    ``encoder_directory``: that variable. An unusable directory is recorded, not raised: this is
    written after a run, which may not have used any encoder."""
    from sesl_jax import encoder_files
    from sesl_jax.encoders import pretrained_sha256

    directory, problem = encoder_files.own_weights_directory()
    if problem is not None:
        return {"encoder_weights": {"problem": problem},
                "encoder_directory": os.environ.get(encoder_files.ENCODERS_VARIABLE)}
    return {
        "encoder_weights": {encoder_files.file_name(kind, architecture): pretrained_sha256(kind, architecture)
                            for kind in encoder_files.KINDS for architecture in encoder_files.ARCHITECTURES},
        "encoder_directory": str(directory) if directory is not None else None,
    }


def data_provenance(dataset) -> dict[str, Any]:
    return {
        "dataset": dataset.name,
        "source": dataset.source,
        "shape": [dataset.n_drugs, dataset.n_mirnas],
        "known_pairs": dataset.n_known,
        "checksums": dict(sorted(dataset.checksums.items())),
    }


def command_line() -> str:
    return " ".join(["sesl-jax", *sys.argv[1:]]) if sys.argv and sys.argv[0].endswith("sesl-jax") else " ".join(sys.argv)
