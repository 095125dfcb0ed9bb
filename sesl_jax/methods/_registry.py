"""``METHODS``: every catalogued method (``_catalogue.py``) with its builder."""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

from sesl_jax.methods._base import Method
from sesl_jax.methods._catalogue import CATALOGUE
from sesl_jax.methods._rivals import RIVAL_BUILDERS
from sesl_jax.methods._sesl import sesl_family_method


class MethodSpec(NamedTuple):
    builder: Callable[..., Method]
    default_similarity: str
    description: str
    transductive_option: str | None = None


_BUILDERS: dict[str, Callable[..., Method]] = {
    **{name: functools.partial(sesl_family_method, name) for name in ("sesl", "se", "bnnr")},
    **RIVAL_BUILDERS,
}

METHODS: dict[str, MethodSpec] = {name: MethodSpec(_BUILDERS[name], *info) for name, info in CATALOGUE.items()}
