"""What the encoders' size records (``EncoderConfig``, ``TransformerConfig``) share: a JSON
round trip that refuses fields it does not know, so a checkpoint from another version fails loudly;
and the type check of arguments (integers, booleans and numbers: ``sesl_jax._values``)."""

from __future__ import annotations

import dataclasses
from typing import Any

def check_instance(name: str, value: Any, expected: Any, what: str) -> None:
    """``TypeError`` naming the argument unless ``isinstance(value, expected)`` (a class, tuple or union;
    ``what`` names it in words)."""
    if not isinstance(value, expected):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")


class ConfigRecord:
    """Mixin for frozen dataclasses of sizes."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}")
        return cls(**values)
