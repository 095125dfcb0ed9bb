"""What the evaluation engine needs from a prediction method.

A ``Method`` is a pure JAX function from a training association matrix (plus fixed inputs
that do not depend on associations, such as similarity matrices) to a full score matrix and
per-stage solver statistics. The engine vmaps it over folds; anything computed from the
associations (kernels, sparse learning, masks) must happen inside ``predict`` so that each
fold recomputes it from its own training data.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, NamedTuple

import jax


class MethodOutput(NamedTuple):
    scores: jax.Array  # (n_drugs, n_mirnas)
    iterations: jax.Array  # (n_stages,) int32, one entry per iterative stage
    status: jax.Array  # (n_stages,) int32 ``Status`` codes


class SharedStart(NamedTuple):
    """How a method's folds can start from one solve shared by a group of folds.

    ``solve(train, inputs) -> (state, MethodOutput)`` runs the method cold on ``train`` and
    returns its final iterate; ``predict(train, inputs, state) -> MethodOutput`` runs it from that
    iterate. The engine solves once on the training matrix that hides every pair of a group of
    folds, a subset of each member fold's training data (so no fold sees its own hidden pairs),
    and starts each member there: it then needs fewer iterations than from cold (PCD BNNRSMMA LOOCV,
    groups of 16: 25 instead of 45). The stopping rule is the public code's, loose enough that a
    fold stopped from another start lands elsewhere: hidden-pair scores moved by up to 0.12 and FCD
    LOOCV's per-drug AUC by 5e-3 (docs/results.md), so ``with_shared_starts`` is opt-in.
    """

    solve: Callable[[jax.Array, Any], tuple[Any, "MethodOutput"]]
    predict: Callable[[jax.Array, Any, Any], "MethodOutput"]


@dataclasses.dataclass(frozen=True, eq=False)
class Method:
    """A prediction method ready to run on folds.

    Attributes:
        name: short name used in tables and output files.
        stages: names of the iterative stages reported in ``MethodOutput`` (may be empty).
        predict: ``predict(train_associations, inputs) -> MethodOutput``; pure, jit/vmap-safe.
        inputs: pytree of arrays that do not depend on the associations.
        config: JSON-serialisable description (recorded beside every result).
        leaks: True for a labelled reproduction variant that fits something on the full matrix.
        shared_start: how folds can start from a solve shared by a group of folds (None: they cannot).
        group: folds per shared start when the engine runs them so (0: each fold starts cold).
            Then ``stages`` lists the fold's own stages and then the shared solve's
            (``"<stage>_start"``), the columns of the engine's per-fold statistics.
    """

    name: str
    stages: tuple[str, ...]
    predict: Callable[[jax.Array, Any], MethodOutput]
    inputs: Any
    config: Mapping[str, Any]
    leaks: bool = False
    shared_start: SharedStart | None = None
    group: int = 0

    def __call__(self, train_associations: jax.Array) -> MethodOutput:
        return self.predict(train_associations, self.inputs)


def with_shared_starts(method: Method, group: int) -> Method:
    """``method`` run by the engine in groups of ``group`` folds (spread over the fold list, see
    ``sesl_jax.evaluation.engine.spread_order``), each group's folds starting from one solve on the
    training matrix that hides all of the group's pairs (``SharedStart``). ``group`` is recorded in
    the configuration (results depend on it); 0 or 1 returns ``method`` unchanged (cold starts).

    Raises:
        ValueError: ``group`` is negative, or the method cannot start from a shared solve.
    """
    if isinstance(group, bool) or not isinstance(group, int) or group < 0:
        raise ValueError(f"the shared-start group must be a non-negative integer, got {group!r}")
    if method.group:
        if group != method.group:
            raise ValueError(f"{method.name} already runs in groups of {method.group} folds")
        return method
    if group <= 1:
        return method
    if method.shared_start is None:
        raise ValueError(f"{method.name} cannot start folds from a shared solve (only sesl, se and bnnr can)")
    config = {**method.config, "shared_start": {
        "group": group,
        "what": "each group of folds (spread over the fold list) starts BNNR from one solve that hides all of the group's pairs",
    }}
    stages = method.stages + tuple(f"{stage}_start" for stage in method.stages)
    return dataclasses.replace(method, group=group, config=config, stages=stages)
