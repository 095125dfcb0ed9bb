"""A minimal reader for the first worksheet of an .xlsx file (standard library only).

The pinned benchmark source ships its PCD ID lists only as .xlsx. Reading them needs nothing
more than cell values, so this avoids a dependency on openpyxl.
"""

from __future__ import annotations

import re
import zipfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from sesl_jax.data._errors import DataError

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def read_xlsx_rows(path: Path) -> list[list[str]]:
    """Cell texts of the first worksheet, one list per row, empty cells as ``""``.

    Numbers come back as written in the file, with an integral float such as ``"3.0"``
    shortened to ``"3"``.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            shared = _shared_strings(archive)
            sheet = ElementTree.fromstring(archive.read(_first_sheet_member(archive)))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as error:
        raise DataError(f"{path.name}: not a readable .xlsx workbook ({error})") from None
    rows: list[list[str]] = []
    for row in sheet.iter(f"{_MAIN}row"):
        cells: dict[int, str] = {}
        for cell in row.iter(f"{_MAIN}c"):
            column = _column_number(cell.get("r", ""), default=len(cells))
            cells[column] = _cell_text(cell, shared)
        row_number = int(row.get("r", len(rows) + 1)) - 1
        while len(rows) < row_number:  # rows without any cell are absent from the XML
            rows.append([])
        width = max(cells, default=-1) + 1
        rows.append([cells.get(column, "") for column in range(width)])
    return rows


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    root = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
    return ["".join(text.text or "" for text in item.iter(f"{_MAIN}t")) for item in root.iter(f"{_MAIN}si")]


def _first_sheet_member(archive: zipfile.ZipFile) -> str:
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    first = next(workbook.iter(f"{_MAIN}sheet"))
    relation_id = first.get(f"{_REL}id")
    relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for relation in relations.iter(f"{_PACKAGE_REL}Relationship"):
        if relation.get("Id") == relation_id:
            target = relation.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    raise KeyError(f"worksheet relation {relation_id}")


def _column_number(reference: str, *, default: int) -> int:
    letters = re.match(r"[A-Z]+", reference)
    if not letters:
        return default
    number = 0
    for letter in letters.group():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number - 1


def _cell_text(cell: ElementTree.Element, shared: list[str]) -> str:
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        return "".join(text.text or "" for text in cell.iter(f"{_MAIN}t"))
    value = cell.find(f"{_MAIN}v")
    text = "" if value is None or value.text is None else value.text
    if kind == "s" and text:
        return shared[int(text)]
    if kind == "n" and text:
        number = float(text)
        return str(int(number)) if number.is_integer() else text
    return text
