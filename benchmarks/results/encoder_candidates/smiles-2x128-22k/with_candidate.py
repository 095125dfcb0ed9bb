"""Run a ``sesl-jax`` command with the shipped SMILES LSTM replaced by this folder's candidate.

    SESL_JAX_DATA=../shared/data python benchmarks/results/encoder_candidates/smiles-2x128-22k/with_candidate.py \
        select --dataset fcd --method sesl,se --out runs/select-fcd-candidate

How the comparisons of this folder's README were run (``$SMILES_WEIGHTS`` points at other weights).
It sets ``$SESL_JAX_ENCODERS`` to a temporary directory where ``smiles.npz`` links to the
candidate, so runs record the candidate's SHA-256 as their ``smiles.npz``. (The comparisons ran
through an earlier version of this script, which swapped the loader itself; the codes are the same.)
"""

import os
import sys
import tempfile
from pathlib import Path

WEIGHTS = Path(os.environ.get("SMILES_WEIGHTS", Path(__file__).with_name("encoder.npz"))).resolve()
if not WEIGHTS.is_file():
    sys.exit(f"with_candidate.py: no weights at {WEIGHTS}")

with tempfile.TemporaryDirectory(prefix="sesl-jax-encoders-") as directory:
    (Path(directory) / "smiles.npz").symlink_to(WEIGHTS)
    os.environ["SESL_JAX_ENCODERS"] = directory
    from sesl_jax.cli import main

    code = main(sys.argv[1:])
sys.exit(code)
