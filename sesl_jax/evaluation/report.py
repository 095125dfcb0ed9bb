"""Plain-text rendering of evaluation summaries for the terminal."""

from __future__ import annotations

from typing import Any

from sesl_jax.evaluation.summary import metrics_table


def format_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    line = lambda row: "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths))  # noqa: E731
    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *(line(row) for row in rows)])


def format_summary(summary: dict[str, Any]) -> str:
    title = (
        f"{summary.get('method', '?')} on {str(summary.get('dataset', '?')).upper()}, protocol {summary['protocol']}: "
        f"{summary['n_folds']} folds, {summary['n_hidden_pairs']} hidden pairs"
    )
    parts = [title, format_table(metrics_table(summary), ("scope", "metric", "value"))]
    solver_rows = [
        (stage, str(s["converged"]), str(s["max_iterations"]), str(s["nonfinite"]), f"{s['iterations_mean']:.1f}")
        for stage, s in summary["solver"].items()
    ]
    parts.append(format_table(solver_rows, ("stage", "converged", "hit cap", "non-finite", "mean iterations")))
    timing = summary.get("timing")
    if timing and timing.get("seconds_per_fold"):
        parts.append(f"compute: {timing['compute_seconds']:.1f} s for {timing['folds_computed']} folds "
                     f"({timing['seconds_per_fold']:.3f} s/fold)")
    parts.extend(f"note: {note}" for note in summary.get("notes", []))
    return "\n\n".join(parts)
