"""Readers for the file formats: whitespace matrices, ID lists, tab-separated tables, and the
user CSV/TSV files (pairs, ID tables, fold files) with a header line.

One reader per format, used by every loader, so a malformed file gives the same kind of error
wherever it is read.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from sesl_jax.data._errors import DataError
from sesl_jax.data._validate import check_ids, check_printable
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


Cell = Callable[[str | None], str | None]


def read_records(
    path: Path,
    required: tuple[str, ...],
    *,
    what: str,
    optional: tuple[str | None, ...] = (),
    label: str | None = None,
) -> Iterator[tuple[int, Cell]]:
    """``(line, cell)`` for each non-blank row of a CSV/TSV file whose header line names ``required``.

    ``line`` is the 1-based line the row starts on (the header is line 1; blank lines count).
    ``cell(column)`` is the stripped value: "" past the row's end, ``None`` when ``column`` is
    ``None`` or not in the header; a value read must be printable text on one line. The
    delimiter is the one of tab and comma the header holds (both: tab for ``.tsv``/``.tab``,
    else comma), so a tab-separated file named ``.csv`` reads as written. Columns the caller
    does not ask for are ignored; ``optional`` ones only go into messages.

    Raises:
        DataError: naming ``label`` (default: the file name) and the line for a missing file or a
            directory, an empty file or blank header, a missing or repeated column, a row with a
            value past the header's columns (empty extra fields, as spreadsheets export, are
            fine), a value with a line break or control character, or text that is not UTF-8.
    """
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a {what}")
    if not path.is_file():
        raise DataError(f"{path}: {what} not found")
    label = label or path.name
    named = [column for column in optional if column]
    expected = ", ".join(required) + (f" (optional {', '.join(named)})" if named else "")
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            header_line = handle.readline()
            handle.seek(0)
            delimiter = delimiter_of(path, header_line)
            reader = csv.reader(handle, delimiter=delimiter)
            header = [column.strip() for column in next(reader, [])]
            while header and not header[-1]:  # a trailing delimiter names no column
                header.pop()
            if not header:
                blank = "the file is empty" if not header_line else "line 1 (the header) is blank"
                raise DataError(f"{label}: {blank}; expected a header line with columns {expected}")
            _check_header(header, required, label=label, expected=expected)
            _check_unread_columns(header, (*required, *named), label=label, expected=expected)
            column_of = {column: position for position, column in enumerate(header)}
            end = reader.line_num
            for cells in reader:
                start, end = end + 1, reader.line_num  # a row spans lines where a quoted value holds a line break
                if not any(cell.strip() for cell in cells):
                    continue
                extra = extra_fields(cells, len(header), delimiter)
                if extra is not None:
                    raise DataError(f"{label}: line {start}: the row has {extra}")

                def cell(column: str | None, cells: list[str] = cells, start: int = start) -> str | None:
                    position = column_of.get(column) if column else None
                    if position is None:
                        return None
                    if position >= len(cells):
                        return ""
                    return check_printable(cells[position].strip(), label=f"{label}: line {start}: {column}")

                yield start, cell
    except UnicodeDecodeError as error:
        raise DataError(f"{label}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except csv.Error as error:
        raise DataError(f"{label}: not a readable CSV/TSV file ({error})") from None
    except OSError as error:
        raise DataError(f"{label}: cannot read the {what} ({error.strerror})") from None


def _check_header(header: list[str], required: tuple[str, ...], *, label: str, expected: str) -> None:
    """Every ``required`` column present, no column named twice (which copy to read is ambiguous)."""
    first: dict[str, int] = {}
    for position, column in enumerate(header, start=1):
        if column and column in first:
            raise DataError(f"{label}: column {column!r} appears twice in the header (columns {first[column]} and "
                            f"{position})")
        first.setdefault(column, position)
    missing = [column for column in required if column not in first]
    if missing:
        raise DataError(f"{label}: missing column(s) {', '.join(missing)}; expected columns {expected}, "
                        f"found {', '.join(map(repr, header))}")


def _check_unread_columns(header: list[str], read: tuple[str, ...], *, label: str, expected: str) -> None:
    """A column named like one that is read but for letter case is an error (it would be ignored,
    and the data it holds with it); other columns that are not read are named in a warning."""
    by_case = {column.casefold(): column for column in read}
    unread = [column for column in header if column and column not in read]
    for column in unread:
        if column.casefold() in by_case:
            raise DataError(f"{label}: column {column!r} is not read: column names are case-sensitive; name it "
                            f"{by_case[column.casefold()]!r} (expected columns {expected})")
    if unread:
        warnings.warn(f"{label}: column(s) {', '.join(map(repr, unread))} not read (the columns read: {expected})",
                      UserWarning, stacklevel=4)


def extra_fields(cells: list[str], width: int, delimiter: str) -> str | None:
    """What is wrong with a row holding a value past the header's ``width`` columns (empty extra
    fields, as spreadsheets export, are fine), or ``None``."""
    extra = next((value.strip() for value in cells[width:] if value.strip()), None)
    if extra is None:
        return None
    return (f"more fields than the header ({len(cells)} vs {width}): extra value {extra!r} "
            f"(a value holding {delimiter!r} must be quoted)")


def delimiter_of(path: Path, header_line: str) -> str:
    """Whichever of tab and comma the header holds: the suffix misleads (spreadsheets save TSV as .csv)."""
    tab, comma = "\t" in header_line, "," in header_line
    if tab and comma:
        return "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    return "\t" if tab else ","


def _read_rows(path: Path, *, label: str) -> list[list[str]]:
    if path.suffix.lower() == ".xlsx":
        return read_xlsx_rows(path)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [row for row in csv.reader(handle)]


def _is_integer(cell: str) -> bool:
    return cell.lstrip("-").isdigit()
