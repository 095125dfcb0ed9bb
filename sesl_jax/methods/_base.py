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
    """

    name: str
    stages: tuple[str, ...]
    predict: Callable[[jax.Array, Any], MethodOutput]
    inputs: Any
    config: Mapping[str, Any]
    leaks: bool = False

    def __call__(self, train_associations: jax.Array) -> MethodOutput:
        return self.predict(train_associations, self.inputs)
