"""The SM2miR database's own download format (tab-separated, latin-1, one record per line).

ID rules (records of one (drug, miRNA) pair from several papers collapse into one known pair):

* drug: ``"CID:<n>"`` when the record's CID is a number, else the small-molecule name with
  whitespace collapsed (SM2miR has no CID for many natural products); names differing only in
  letter case (``Aspirin``, ``aspirin``) are one drug, under the first spelling, and a warning
  lists them.
* miRNA: a precursor-style family name like the benchmarks' IDs: lower-cased, the species code
  prefixed (``miR-21`` -> ``hsa-mir-21``), and the arm marks ``-5p``/``-3p``/``*`` removed
  (``miR-34a*`` and ``miR-34a-5p`` -> ``hsa-mir-34a``). Paralog copies are not expanded: SM2miR's
  ``miR-124`` stays ``hsa-mir-124`` while the benchmarks list ``hsa-mir-124-1``, ``-2``, ``-3``.
  The species code is miRBase's: genus initial + two species letters (Homo sapiens -> hsa).
"""

from __future__ import annotations

import csv
import os
import re
import warnings
from pathlib import Path

import numpy as np

from sesl_jax._io import sha256_file
from sesl_jax.data._dataset import Dataset
from sesl_jax.data._errors import DataError

_MISSING = {"", "null", "na", "n/a", "none", "-"}
_ARM = re.compile(r"(-[35]p|\*)+$")
# SM2miR's header spells "small melocule"; accept the correct spelling too.
_COLUMNS = {"mirna": ("mirna",), "drug": ("small melocule", "small molecule"), "cid": ("cid",), "species": ("species",)}
_MAX_LINES_LISTED = 20


def load_sm2mir(path: str | os.PathLike, *, species: str | None = "Homo sapiens", name: str | None = None) -> Dataset:
    """Known pairs of one species from an SM2miR download (e.g. ``SM2miR3_2015.txt``).

    Args:
        path: the tab-separated, latin-1 SM2miR file with its header line.
        species: keep records of this species (case and surrounding spaces ignored); ``None``
            keeps every species.
        name: dataset name; default the file's stem.

    Returns:
        A :class:`Dataset` (no similarities or sequences), IDs in first-seen order, see the module
        docstring for the ID rules. Records lacking a miRNA, a drug (neither CID nor name) or a
        species are skipped with one warning that counts them and lists their lines.
    """
    path = Path(path)
    if species is not None and not isinstance(species, str):
        raise TypeError(f"species must be a name such as 'Homo sapiens' (or None for all), got {species!r}")
    if not path.is_file():
        raise DataError(f"{path}: SM2miR file not found")
    label = path.name
    with open(path, encoding="latin-1", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = [column.strip().lower() for column in next(reader, [])]
        if not any(header):
            raise DataError(f"{label}: the file is empty or its first line (the header) is blank; "
                            "is this an SM2miR download?")
        position = {key: _column(header, names, label) for key, names in _COLUMNS.items()}
        wanted = None if species is None else species.strip().casefold()
        drug_rows: dict[str, int] = {}
        mirna_columns: dict[str, int] = {}
        pairs: set[tuple[int, int]] = set()
        incomplete: list[int] = []
        species_seen: set[str] = set()
        spellings: dict[str, str] = {}  # casefolded drug name -> its first spelling
        variants: dict[str, set[str]] = {}
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            field = {key: _value(cells, index) for key, index in position.items()}
            if field["species"]:
                species_seen.add(field["species"])
            if wanted is not None and field["species"] and field["species"].casefold() != wanted:
                continue
            if not field["mirna"] or not field["species"] or not (field["cid"] or field["drug"]):
                incomplete.append(line)
                continue
            drug = _drug_id(field["cid"], field["drug"], label=f"{label}: line {line}")
            if not drug.startswith("CID:"):
                first = spellings.setdefault(drug.casefold(), drug)
                if first != drug:
                    variants.setdefault(first, {first}).add(drug)
                    drug = first
            mirna = _mirna_id(field["mirna"], field["species"])
            pairs.add((drug_rows.setdefault(drug, len(drug_rows)), mirna_columns.setdefault(mirna, len(mirna_columns))))
    if incomplete:
        listed = ", ".join(str(line) for line in incomplete[:_MAX_LINES_LISTED])
        more = f" and {len(incomplete) - _MAX_LINES_LISTED} more" if len(incomplete) > _MAX_LINES_LISTED else ""
        warnings.warn(
            f"{label}: skipped {len(incomplete)} record(s) lacking a miRNA, a drug (CID or name) or a "
            f"species: lines {listed}{more}",
            UserWarning,
            stacklevel=2,
        )
    if variants:
        listed = "; ".join(" = ".join(sorted(names)) for names in list(variants.values())[:_MAX_LINES_LISTED])
        warnings.warn(f"{label}: {len(variants)} drug name(s) spelt in several letter cases, each read as one drug "
                      f"under its first spelling: {listed}", UserWarning, stacklevel=2)
    if not pairs:
        raise DataError(f"{label}: no complete records for species {species!r} (species present: "
                        f"{', '.join(sorted(species_seen)[:10])})")
    associations = np.zeros((len(drug_rows), len(mirna_columns)), dtype=np.float64)
    associations[tuple(np.array(sorted(pairs)).T)] = 1.0
    return Dataset(
        name=name or path.stem,
        drug_ids=tuple(drug_rows),
        mirna_ids=tuple(mirna_columns),
        associations=associations,
        checksums={path.name: sha256_file(path)},
        source=str(path.parent),
    )


def species_code(species: str) -> str:
    """miRBase species prefix: ``"Homo sapiens"`` -> ``"hsa"``, ``"Mus musculus"`` -> ``"mmu"``."""
    words = species.split()
    if len(words) >= 2:
        return (words[0][0] + words[1][:2]).lower()
    return words[0][:3].lower()


def _mirna_id(raw: str, species: str) -> str:
    name = "-".join(raw.lower().split())
    name = _ARM.sub("", name)
    code = species_code(species)
    return name if name.startswith(f"{code}-") else f"{code}-{name}"


def _drug_id(cid: str, drug_name: str, *, label: str) -> str:
    if cid:
        if not cid.isdigit() or int(cid) == 0:
            raise DataError(f"{label}: CID {cid!r} is not a PubChem compound number")
        return f"CID:{int(cid)}"
    return " ".join(drug_name.split())


def _column(header: list[str], names: tuple[str, ...], label: str) -> int:
    for name in names:
        if name in header:
            return header.index(name)
    raise DataError(f"{label}: no {names[0]!r} column in the header; is this an SM2miR download?")


def _value(cells: list[str], index: int) -> str:
    value = cells[index].strip() if index < len(cells) else ""
    return "" if value.lower() in _MISSING else value
