"""What counts as an integer, a boolean or a real number in an argument: one rule for every module.

Python's, NumPy's and 0-d array types alike (a JAX scalar is a 0-d array), so ``np.int64(3)`` or
``jnp.int32(3)`` is an integer and ``np.True_`` a boolean; a boolean is never a number, and a float
is never an integer (``int(2.5)`` would truncate it without a word).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _scalar_kind(value: Any) -> str | None:
    """The NumPy dtype kind of a 0-d array or NumPy scalar, else ``None``."""
    dtype = getattr(value, "dtype", None)
    if dtype is None or np.ndim(value) != 0:
        return None
    return np.dtype(dtype).kind


def is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or _scalar_kind(value) in ("i", "u")


def is_boolean(value: Any) -> bool:
    return isinstance(value, bool) or _scalar_kind(value) == "b"


def is_real(value: Any) -> bool:
    """An integer or a float (not a boolean, not text)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, (int, float)) or _scalar_kind(value) in ("i", "u", "f")


def check_integer(name: str, value: Any, minimum: int, *, optional: bool = False) -> None:
    """``ValueError`` unless ``value`` is an integer >= ``minimum`` (or ``None`` when ``optional``)."""
    if optional and value is None:
        return
    if not is_integer(value) or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}{' or None' if optional else ''}, got {value!r}")


def check_boolean(name: str, value: Any) -> None:
    """``ValueError`` unless ``value`` is ``True`` or ``False`` (a string such as ``'no'`` would read as true)."""
    if not is_boolean(value):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def check_number(name: str, value: Any, minimum: float, *, inclusive: bool = False) -> None:
    """``ValueError`` unless ``value`` is a finite real number (not a bool or a string) > ``minimum``
    (>= when ``inclusive``)."""
    if not is_real(value) or not math.isfinite(value) or value < minimum or (value == minimum and not inclusive):
        raise ValueError(f"{name} must be a finite number {'>=' if inclusive else '>'} {minimum:g}, got {value!r}")


def check_not_text(name: str, value: Any) -> None:
    """``TypeError`` for one string where a list of items is expected: iterating it would give its
    letters, one item each."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} takes a list, one entry per item; got the single string {value!r:.60} "
                        "(wrap a single one in a list)")


def float_dtype_name(dtype: Any, hint: str = "") -> str:
    """``"float32"`` or ``"float64"`` from a name, ``np.float64`` or ``jnp.float64`` alike; else a ValueError."""
    try:
        dtype = np.dtype(dtype).name
    except TypeError:
        pass
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64'{hint}, got {dtype!r}")
    return dtype
