"""Inputs that are "not available here" (PCD's drug similarity, missing encoder weights, sequences
an encoder cannot read): the reproduction reports them in place of numbers instead of failing."""

from __future__ import annotations

from sesl_jax.data import DataError


def unavailable_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean "this input is not available here" (reported, not raised): missing data
    (PCD's drug similarity), missing or unreadable encoder weights, sequences an encoder cannot read."""
    errors: tuple[type[BaseException], ...] = (DataError, ImportError, FileNotFoundError)
    try:
        from sesl_jax.encoders import CheckpointError, SequenceError
    except ImportError:  # the encoders themselves are missing: ImportError covers them
        return errors
    return errors + (CheckpointError, SequenceError)


def unavailable_reason(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return f"not available: {text}"
