"""ROC and precision-recall figures (matplotlib is an optional extra: ``pip install sesl_jax[plots]``)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from sesl_jax._io import atomic_write_bytes


PLOT_POINTS = 4000  # a 1200-pixel-wide figure cannot show more; LOOCV curves have millions


def _thinned(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """At most ``PLOT_POINTS`` evenly spaced points of a curve, the end points kept (drawing only)."""
    n = len(arrays[0])
    if n <= PLOT_POINTS:
        return arrays
    keep = np.unique(np.linspace(0, n - 1, PLOT_POINTS).round().astype(np.int64))
    return tuple(array[keep] for array in arrays)


def plot_roc_pr(curves: Mapping[str, Sequence[np.ndarray]], path: str | os.PathLike) -> Path:
    """Draw ROC (left) and PR (right) curves, one line per method/protocol, to a PNG, atomically.

    Args:
        curves: label -> ``(fpr, tpr, precision, recall)``, i.e. the first two outputs of
            :func:`~sesl_jax.evaluation.metrics.roc_curve` followed by the first two of
            :func:`~sesl_jax.evaluation.metrics.pr_curve`.
        path: output PNG file.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("plotting needs matplotlib: pip install sesl_jax[plots]") from error

    # an Agg canvas on a bare Figure: headless, and no pyplot global state or backend switch
    figure = Figure(figsize=(10, 4.5), dpi=120)
    FigureCanvasAgg(figure)
    roc_axes, pr_axes = figure.subplots(1, 2)
    for label, curve in curves.items():
        if len(curve) != 4:
            raise ValueError(f"curve {label!r} must be (fpr, tpr, precision, recall), got {len(curve)} arrays")
        fpr, tpr, precision, recall = (np.asarray(c, dtype=np.float64) for c in curve)
        roc_axes.plot(*_thinned(fpr, tpr), label=label)
        # recall decreases along the PR curve; a step plot shows what average precision integrates
        pr_axes.step(*_thinned(recall, precision), where="post", label=label)
    roc_axes.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=1)
    roc_axes.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC", xlim=(0, 1),
                 ylim=(0, 1.02))
    pr_axes.set(xlabel="Recall", ylabel="Precision", title="Precision-recall", xlim=(0, 1), ylim=(0, 1.02))
    # fixed corners: loc="best" scans every plotted point per candidate place
    for axes, corner in ((roc_axes, "lower right"), (pr_axes, "upper right")):
        axes.grid(alpha=0.3)
        if curves:
            axes.legend(loc=corner, fontsize="small")
    figure.tight_layout()

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return atomic_write_bytes(path, buffer.getvalue())
