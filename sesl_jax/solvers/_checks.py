"""Argument checks of the public solver entry points.

Shapes and option names are static, so they are checked on every call. Values (a negative
parameter, an asymmetric target, an observed mask that is not 0/1) raise when the caller passes
concrete arrays; under ``jit``/``vmap`` they are tracers, and the solve returns at once with
``Status.INVALID_INPUT`` instead (the ``check_*`` functions below return that traced verdict).
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
        if 0 in array.shape:
            raise ValueError(f"{name} is empty (shape {tuple(array.shape)})")
    return array


def check_choice(value: Any, name: str, choices: Iterable[str]) -> None:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def check_params_type(params: Any, expected: type) -> None:
    """``params`` is the solver's NamedTuple (a plain tuple or dict would fail deep inside)."""
    if not isinstance(params, expected):
        raise TypeError(f"params must be a {expected.__name__}, got {type(params).__name__}: "
                        f"e.g. {expected.__name__}(alpha=...)")


def check_nonnegative(value: Any, name: str) -> None:
    if is_concrete(value) and not np.all(np.asarray(value) >= 0):  # NaN fails too
        raise ValueError(f"{name} must be >= 0, got {value}")


def check_params(params: tuple, at_least: dict[str, float], above: dict[str, float]) -> jax.Array:
    """Hyper-parameters against their lower bounds (``at_least``: >=, ``above``: >): a concrete
    value out of range raises; returns whether every (possibly traced) value is in range."""
    valid = jnp.asarray(True)
    for field, bound in {**at_least, **above}.items():
        value = getattr(params, field)
        if not is_concrete(value):
            array = jnp.asarray(value)
            valid = valid & jnp.all(jnp.isfinite(array) & (array >= bound if field in at_least else array > bound))
            continue
        array = np.asarray(value)
        bad = np.any(array < bound) if field in at_least else np.any(array <= bound)
        if bad or not np.all(np.isfinite(array)):
            relation = ">=" if field in at_least else ">"
            raise ValueError(f"{type(params).__name__}.{field} must be finite and {relation} {bound}, got {value}")
    return valid


def _asymmetry(values, xp) -> tuple[Any, Any]:
    """Largest ``|M - M^T|`` and the allowance: 100 eps of the largest entry, and never below the
    1e-9 a dataset's similarities may differ from their transposes (``sesl_jax.data``)."""
    finite = xp.all(xp.isfinite(values))
    scale = xp.where(finite, xp.max(xp.abs(values), initial=0.0), 0.0)
    gap = xp.where(scale > 0, xp.max(xp.abs(values - xp.swapaxes(values, -1, -2)), initial=0.0), 0.0)
    return gap, max(100 * float(np.finfo(values.dtype).eps), 1e-9) * xp.maximum(scale, 1.0)


def check_symmetric(matrix: jax.Array, name: str, hint: str) -> jax.Array:
    """An (n, n) matrix symmetric up to rounding: a concrete one that is not raises; returns
    whether a (possibly traced) one is."""
    if not is_concrete(matrix):
        gap, allowance = _asymmetry(matrix, jnp)
        return gap <= allowance
    gap, allowance = _asymmetry(np.asarray(matrix), np)
    if gap > allowance:
        raise ValueError(f"{name} is not symmetric (largest |T - T^T| = {gap:.3g}); {hint}")
    return jnp.asarray(True)


def check_binary(mask: jax.Array, name: str) -> jax.Array:
    """A mask of 0s and 1s: a concrete one that is not raises; returns whether a traced one is."""
    if not is_concrete(mask):
        return jnp.all((mask == 0) | (mask == 1))
    values = np.asarray(mask)
    bad = ~((values == 0) | (values == 1))
    if bad.any():
        raise ValueError(f"{name} must hold 0 or 1 only; entry {tuple(int(i) for i in np.argwhere(bad)[0])} is "
                         f"{values[bad][0]}")
    return jnp.asarray(True)
