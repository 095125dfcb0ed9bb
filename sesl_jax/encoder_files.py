"""Where the encoder weights in use come from: the shipped files, or ``$SESL_JAX_ENCODERS``.

Free of JAX, so that the command line checks the variable before anything runs;
``sesl_jax.encoders.pretrained_path`` resolves each file with it.
"""

from __future__ import annotations

import os
from pathlib import Path

ENCODERS_VARIABLE = "SESL_JAX_ENCODERS"
KINDS: tuple[str, ...] = ("smiles", "rna")
ARCHITECTURES: tuple[str, ...] = ("lstm", "transformer")  # the first is the default; here to be read without JAX
BATCH_NORM_MODES: tuple[str, ...] = ("none", "encoder", "both")  # where an LSTM's outputs are batch-normalised


def file_name(kind: str, architecture: str) -> str:
    """``smiles.npz``, ``rna-transformer.npz``, ...: the file of ``kind`` and ``architecture``."""
    if kind not in KINDS:
        raise ValueError(f"unknown encoder kind {kind!r}; choose one of {KINDS}")
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown encoder architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}")
    return f"{kind}.npz" if architecture == ARCHITECTURES[0] else f"{kind}-{architecture}.npz"


def encoder_label(kind: str, architecture: str | None = None) -> str:
    """``SMILES encoder``, ``RNA transformer encoder``: a kind (and architecture) in a message."""
    label = {"smiles": "SMILES", "rna": "RNA"}.get(kind, kind)
    return f"{label} {'LSTM' if architecture == 'lstm' else architecture} encoder" if architecture else f"{label} encoder"


def an_encoder(kind: str, architecture: str | None = None) -> str:
    """``a SMILES encoder``, ``an RNA transformer encoder``."""
    return ("an " if kind == "rna" else "a ") + encoder_label(kind, architecture)  # "an R(NA)", as it is read aloud


FILE_NAMES: tuple[str, ...] = tuple(file_name(kind, architecture) for kind in KINDS for architecture in ARCHITECTURES)


def own_weights_directory() -> tuple[Path | None, str | None]:
    """``($SESL_JAX_ENCODERS resolved, None)``, ``(None, None)`` when unset, or ``(None, why)`` when
    it is unusable: not a directory, or holding an ``.npz`` file of no encoder's name (which would
    otherwise be silently replaced by the shipped weights)."""
    value = os.environ.get(ENCODERS_VARIABLE)
    if not value:
        return None, None
    directory = Path(value).expanduser().resolve()
    names = ", ".join(FILE_NAMES)
    if not directory.is_dir():
        what = "not a directory" if directory.exists() else "no such directory"
        return None, f"${ENCODERS_VARIABLE}={value}: {what} (it should hold encoder weights named {names})"
    unknown = sorted(path.name for path in directory.glob("*.npz") if path.name not in FILE_NAMES)
    if unknown:
        return None, (f"${ENCODERS_VARIABLE}={value}: {', '.join(unknown)}: not an encoder file name ({names}); "
                      "rename or move it")
    for name in FILE_NAMES:
        path = directory / name
        if (path.exists() or path.is_symlink()) and not path.is_file():
            return None, f"${ENCODERS_VARIABLE}: {path} is not a readable file (a broken link or a directory?)"
    return directory, None
