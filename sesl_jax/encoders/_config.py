"""What the encoders' size records (``EncoderConfig``, ``TransformerConfig``) share: a JSON
round trip that refuses fields it does not know, so a checkpoint from another version fails loudly;
and the checks of settings (integers, booleans, numbers) that every encoder module uses."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from sesl_jax._values import is_boolean, is_real


def check_boolean(name: str, value: Any) -> None:
    """``ValueError`` unless ``value`` is ``True`` or ``False`` (a string such as ``'no'`` would read as true)."""
    if not is_boolean(value):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def check_number(name: str, value: Any, minimum: float, *, inclusive: bool = False) -> None:
    """``ValueError`` unless ``value`` is a finite real number (not a bool or a string) > ``minimum``
    (>= when ``inclusive``)."""
    if not is_real(value) or not math.isfinite(value) or value < minimum or (value == minimum and not inclusive):
        raise ValueError(f"{name} must be a finite number {'>=' if inclusive else '>'} {minimum:g}, got {value!r}")


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
