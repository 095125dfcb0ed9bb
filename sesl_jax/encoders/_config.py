"""What the encoders' size records (``EncoderConfig``, ``TransformerConfig``) share: a JSON
round trip that refuses fields it does not know, so a checkpoint from another version fails loudly;
and the integer check of their settings."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


def check_integer(name: str, value: Any, minimum: int, *, optional: bool = False) -> None:
    """``ValueError`` unless ``value`` is an integer (not a bool) >= ``minimum``, or ``None`` when ``optional``."""
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}{' or None' if optional else ''}, got {value!r}")


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
