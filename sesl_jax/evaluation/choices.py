"""What nested selection chooses from by default, and by which score: plain data, free of JAX so
that ``sesl-jax select --help`` lists them without starting it (``sesl_jax.evaluation.selection``
uses them)."""

from __future__ import annotations

# The configurations `sesl-jax select` compares by default: SESL with sequence codes on the drug
# side (so that a new molecule is placed from its SMILES alone), a source string plus an optional
# ",map=MAP" for the sequence codes. Order is the preference on ties. The grid came from an
# exploratory 5-fold x 2 screen on FCD (docs/results.md); the nested CV is what decides.
SIMILARITY_GRID: tuple[str, ...] = (
    "drug=sequence,mirna=sequence,map=gaussian",
    "drug=sequence,mirna=biological,map=inverse",
    "drug=sequence,mirna=0.5*biological+0.5*alignment,map=inverse",
    "drug=0.5*chemical+0.5*sequence,mirna=biological,map=inverse",
)

# Relative widths of the inverse map (``inverse:W``, distances over W times their median) tried by
# the ``widths`` grid, a decade in four steps: plain ``inverse`` reads raw code distances, and the
# shipped SMILES LSTM puts the benchmark drugs so far apart (median about 150) that its drug
# similarity is nearly an identity matrix (docs/results.md).
WIDTHS: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0)
WIDTH_GRID: tuple[str, ...] = SIMILARITY_GRID + tuple(
    f"{configuration.rpartition(',map=')[0]},map=inverse:{width:g}"
    for width in WIDTHS for configuration in SIMILARITY_GRID if configuration.endswith(",map=inverse"))
# `sesl-jax select --grid NAME`
GRIDS: dict[str, tuple[str, ...]] = {"default": SIMILARITY_GRID, "widths": WIDTH_GRID}

# What the inner CV ranks candidates by: the AUC of one scope. "global" pools every candidate pair;
# "drug-fixed" scores ranking the miRNAs of each drug (what `rank --drug` returns), "mirna-fixed"
# the drugs of each miRNA.
CRITERIA = ("global", "drug-fixed", "mirna-fixed")
