"""Run a ``sesl-jax`` command with the shipped SMILES LSTM replaced by this folder's candidate.

    SESL_JAX_DATA=../shared/data python benchmarks/results/encoder_candidates/smiles-2x128-22k/with_candidate.py \
        select --dataset fcd --method sesl,se --out runs/select-fcd-candidate

How the comparisons of this folder's README were run (``$SMILES_WEIGHTS`` points at other weights).
An experiment tool, not a feature: the run's manifest does not record the swap.
"""

import functools
import os
import sys
from pathlib import Path

import sesl_jax.encoders._pretrained as pretrained

WEIGHTS = os.environ.get("SMILES_WEIGHTS", str(Path(__file__).with_name("encoder.npz")))
shipped = pretrained._load_cached


@functools.lru_cache(maxsize=None)
def _load(kind: str, architecture: str):
    if (kind, architecture) == ("smiles", "lstm"):
        return pretrained.Encoder.from_checkpoint(WEIGHTS, kind)
    return shipped(kind, architecture)


pretrained._load_cached = _load  # load_pretrained looks it up at call time

from sesl_jax.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
