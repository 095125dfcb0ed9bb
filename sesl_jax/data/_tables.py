"""Readers for the benchmark file formats: whitespace matrices, ID lists, tab-separated tables.

One reader per format, used by every loader, so a malformed file gives the same kind of error
wherever it is read.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from sesl_jax.data._errors import DataError
from sesl_jax.data._validate import check_ids
from sesl_jax.data._xlsx import read_xlsx_rows


def read_whitespace_matrix(path: Path, *, label: str | None = None) -> np.ndarray:
    """Read a whitespace-separated numeric matrix, shape ``(n_lines, n_columns)``, float64.

    Blank lines are ignored. Every line must hold the same number of values and every value must
    parse as a number; otherwise :class:`DataError` names the line (1-based) and the token.
    ``nan``/``inf`` tokens parse and are left to the validators, which reject them.
    """
    label = label or path.name
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError as error:
        raise DataError(f"{label}: not a plain-text numeric matrix (byte {error.start} is not ASCII)") from None
    lines = [(number, line.split()) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise DataError(f"{label}: the file holds no numbers")
    width = len(lines[0][1])
    for number, tokens in lines:
        if len(tokens) != width:
            raise DataError(f"{label}: line {number} has {len(tokens)} values, line {lines[0][0]} has {width}")
    try:
        return np.array([tokens for _, tokens in lines], dtype=np.float64)
    except ValueError:
        pass
    for number, tokens in lines:  # slow path only to name the bad token
        for column, token in enumerate(tokens):
            try:
                float(token)
            except ValueError:
                raise DataError(f"{label}: line {number}, value {column + 1} is {token!r}, not a number") from None
    raise AssertionError("unreachable")  # pragma: no cover


def read_id_list(path: Path, *, kind: str, label: str | None = None) -> tuple[str, ...]:
    """Read a benchmark ID list (``.csv`` or ``.xlsx``) whose rows hold an ID and its 0-based index.

    The two benchmark datasets put the ID and index columns in different orders (``CID:137,0``
    vs ``0,CID:2578``), so the index column is the first all-integer one and the ID column the
    first other non-empty one. The index must count 0, 1, 2, ... (it is the matrix row/column);
    IDs must be unique. Other columns are ignored (the PCD drug list has a stray ``1``).
    """
    label = label or path.name
    rows = _read_rows(path, label=label)
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"{label}: the ID list is empty")
    width = max(len(row) for row in rows)
    columns = [[row[i].strip() if i < len(row) else "" for row in rows] for i in range(width)]
    index_column = next((c for c in columns if all(_is_integer(cell) for cell in c)), None)
    id_column = next((c for c in columns if c is not index_column and c[0] and not _is_integer(c[0])), None)
    if index_column is None or id_column is None:
        raise DataError(f"{label}: expected one column of {kind} IDs and one of 0-based indices")
    for row, index in enumerate(index_column):
        if int(index) != row:
            raise DataError(f"{label}: row {row}: index column holds {index}, expected {row} (0-based order)")
    check_ids(id_column, label=label, kind=kind)
    return tuple(id_column)


def read_tsv_records(path: Path, *, required: tuple[str, ...], label: str | None = None) -> list[dict[str, str]]:
    """Rows of a tab-separated file with a header line, as dicts; ``required`` columns must exist."""
    label = label or path.name
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = [column for column in required if column not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{label}: missing column(s) {', '.join(missing)}")
        return [{key: (value or "").strip() for key, value in row.items() if key is not None} for row in reader]


def _read_rows(path: Path, *, label: str) -> list[list[str]]:
    if path.suffix.lower() == ".xlsx":
        return read_xlsx_rows(path)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [row for row in csv.reader(handle)]


def _is_integer(cell: str) -> bool:
    return cell.lstrip("-").isdigit()
