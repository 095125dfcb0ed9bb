"""SESL and its ablations as evaluation methods.

- ``sesl``: sparse learning (LRR by IALM) then BNNR completion.
- ``se``: BNNR on the same similarities without sparse learning (the paper's ablation).
- ``bnnr``: BNNRSMMA (Chen et al. 2021, Briefings in Bioinformatics 22(4)): BNNR on the
  biological similarities, no sparse learning. It is ``se`` with another similarity source.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax.numpy as jnp
import numpy as np

from sesl_jax.methods._base import Method, MethodOutput, SharedStart
from sesl_jax.similarity import Similarities
from sesl_jax.model import SESLOptions, SESLParams, default_params, sesl_scores
from sesl_jax.solvers import check_bnnr_params, check_lrr_params, lrr_ialm


def _solve(options: SESLOptions, fits_sparse_learning: bool):
    """``solve(train, inputs, start) -> (BNNR's final state, MethodOutput)``, from ``start`` or cold."""

    def solve(train_associations, inputs: dict[str, Any], start=None):
        output = sesl_scores(
            train_associations,
            inputs["drug_similarity"],
            inputs["mirna_similarity"],
            inputs["params"],
            options,
            coefficients=inputs.get("coefficients"),
            support=inputs.get("lrr_support"),
            bnnr_start=start,
        )
        stats = [output.lrr, output.bnnr] if fits_sparse_learning else [output.bnnr]
        iterations = jnp.stack([s.iterations for s in stats])
        status = jnp.stack([s.status for s in stats])
        return output.bnnr_state, MethodOutput(output.scores, iterations, status)

    return solve


def sesl_family_method(
    name: str,
    associations: np.ndarray,
    similarities: Similarities,
    *,
    dtype: str = "float64",
    options: SESLOptions | None = None,
    params: SESLParams | None = None,
    transductive: bool = False,
) -> Method:
    """Build ``sesl``, ``se`` or ``bnnr`` over the given similarities.

    Args:
        name: ``"sesl"`` (sparse learning, then BNNR), ``"se"`` (the same without sparse
            learning unless ``options`` asks for it) or ``"bnnr"``; names the method and its stages.
        associations: the FULL association matrix; used for the LRR rank bound and by
            ``transductive=True``, the labelled reproduction of the paper's protocol: ``X*`` is
            fitted once on all known pairs before any is hidden, and each fold applies it to its
            own training matrix (``A1 = A_train X*``). The hidden pairs are absent from A_train
            but shaped ``X*``, so they still lift their own scores.
        similarities: drug (n_d, n_d) and miRNA (n_m, n_m) similarity matrices, the same in
            every fold: they must not be derived from the associations (nothing here recomputes
            them per fold, as the rivals' GIP kernels are).
        dtype: ``"float64"`` or ``"float32"``; inputs, solver parameters and scores use it.
        options: structural choices (sparse learning on or off, LRR rank bound, BNNR's SVT);
            ``None``: the defaults for ``name``.
        params: solver constants (alpha, beta, tolerances, iteration caps); ``None``: the
            defaults for ``dtype``.
        transductive: see ``associations``.

    Returns:
        a :class:`Method` whose ``predict(train, inputs)`` scores every pair of one fold.
    """
    if options is None:
        options = SESLOptions(sparse_learning=(name == "sesl"))
    # Hiding pairs never adds one outside the rows and columns that hold a known pair: they bound
    # the rank, and sparse learning runs on them alone (PCD: 39 x 286 of 831 x 541).
    known = np.asarray(associations) != 0
    rows, columns = np.flatnonzero(known.any(axis=1)), np.flatnonzero(known.any(axis=0))
    if options.lrr_rank_bound is None:
        options = dataclasses.replace(options, lrr_rank_bound=max(min(len(rows), len(columns)), 1))
    if params is None:
        params = default_params(dtype)
    if not isinstance(params, SESLParams):
        raise TypeError(f"params must be a SESLParams(lrr=LRRParams(...), bnnr=BNNRParams(...)), got {type(params).__name__}")
    check_lrr_params(params.lrr)  # concrete here: a bad value is named now, not a fold's status later
    check_bnnr_params(params.bnnr)
    inputs: dict[str, Any] = {
        "drug_similarity": jnp.asarray(similarities.drug, dtype),
        "mirna_similarity": jnp.asarray(similarities.mirna, dtype),
        "params": jax_tree_cast(params, dtype),
    }
    if options.sparse_learning and 0 < len(rows) * len(columns) < known.size:
        inputs["lrr_support"] = (jnp.asarray(rows, jnp.int32), jnp.asarray(columns, jnp.int32))
    if transductive:
        if not options.sparse_learning:
            raise ValueError("the transductive protocol only concerns methods with sparse learning")
        full = lrr_ialm(
            jnp.asarray(associations, dtype), inputs["params"].lrr, side=options.lrr_side,
            svt_method=options.lrr_svt, reduce=options.lrr_reduce, rank_bound=options.lrr_rank_bound,
            max_iterations=options.lrr_max_iterations, support=inputs.get("lrr_support"),
        )
        inputs["coefficients"] = full.coefficients
    fits_sparse_learning = options.sparse_learning and not transductive
    solve = _solve(options, fits_sparse_learning)
    config = {
        "method": name,
        "similarity": similarities.source,
        "dtype": dtype,
        "options": dataclasses.asdict(options),
        "params": {"lrr": params.lrr._asdict(), "bnnr": params.bnnr._asdict()},
        "sparse_learning_fit": "transductive" if transductive else "per-fold",
    }
    if transductive:
        config["transductive_fit"] = "sparse learning: X* fitted on the full matrix, A1 = A_train X* (leaks)"
    return Method(
        name=name + ("-transductive" if transductive else ""),
        stages=("lrr", "bnnr") if fits_sparse_learning else ("bnnr",),
        predict=lambda train, inputs: solve(train, inputs)[1],
        inputs=inputs,
        config=config,
        leaks=transductive,
        shared_start=SharedStart(solve=solve, predict=lambda train, inputs, start: solve(train, inputs, start)[1]),
    )


def jax_tree_cast(params: SESLParams, dtype: str) -> SESLParams:
    """Params as arrays of ``dtype`` so they are traced, not baked into the compiled code."""
    from sesl_jax.solvers import BNNRParams, LRRParams

    return SESLParams(
        LRRParams(*(jnp.asarray(value, dtype) for value in params.lrr)),
        BNNRParams(*(jnp.asarray(value, dtype) for value in params.bnnr)),
    )
