"""Argument checks of the public solver entry points.

Shapes and option names are static, so they are checked on every call. Values (a negative
threshold, an asymmetric target) are checked only when the caller passes concrete arrays:
under ``jit``/``vmap`` they are tracers, and a solve reports bad values through its ``Status``
instead of raising.
"""

from __future__ import annotations

from typing import Any, Iterable

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(value: Any) -> bool:
    return not isinstance(value, jax.core.Tracer)


def float_array(value: Any, name: str, *, matrix: bool = True, square: bool = False, batched: bool = False) -> jax.Array:
    """``value`` as a JAX float array: booleans and integers (a 0/1 association matrix read as
    ints is common) become the default float dtype; float64 becomes float32 when x64 is off,
    quietly, as JAX's default dtype does."""
    if not hasattr(value, "dtype"):
        value = np.asarray(value)
    dtype = value.dtype
    if not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer) or dtype == bool):
        raise TypeError(f"{name} must be a real numeric array, got dtype {dtype}")
    target = jax.dtypes.canonicalize_dtype(dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.float64)
    array = jnp.asarray(value, target)
    if matrix:
        if array.ndim != 2 and not (batched and array.ndim > 2):
            expected = "a matrix" + (" (or a batch of them)" if batched else "")
            raise ValueError(f"{name} must be {expected}, got shape {tuple(array.shape)}")
        if square and array.shape[-1] != array.shape[-2]:
            raise ValueError(f"{name} must be square, got shape {tuple(array.shape)}")
    return array


def check_choice(value: Any, name: str, choices: Iterable[str]) -> None:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def check_nonnegative(value: Any, name: str) -> None:
    if is_concrete(value) and np.any(np.asarray(value) < 0):
        raise ValueError(f"{name} must be >= 0, got {value}")


def check_params(params: tuple, at_least: dict[str, float], above: dict[str, float]) -> None:
    """Concrete hyper-parameters against their lower bounds (``at_least``: >=, ``above``: >)."""
    for field, bound in {**at_least, **above}.items():
        value = getattr(params, field)
        if not is_concrete(value):
            continue
        array = np.asarray(value)
        bad = np.any(array < bound) if field in at_least else np.any(array <= bound)
        if bad or not np.all(np.isfinite(array)):
            relation = ">=" if field in at_least else ">"
            raise ValueError(f"{type(params).__name__}.{field} must be finite and {relation} {bound}, got {value}")


def check_symmetric(matrix: jax.Array, name: str, hint: str) -> None:
    """A concrete (n, n) matrix symmetric up to rounding (entries within 100 eps of its largest)."""
    if not is_concrete(matrix):
        return
    values = np.asarray(matrix)
    scale = np.max(np.abs(values), initial=0.0) if np.all(np.isfinite(values)) else 0.0
    gap = np.max(np.abs(values - np.swapaxes(values, -1, -2)), initial=0.0) if scale else 0.0
    if gap > 100 * np.finfo(values.dtype).eps * max(scale, 1.0):
        raise ValueError(f"{name} is not symmetric (largest |T - T^T| = {gap:.3g}); {hint}")
