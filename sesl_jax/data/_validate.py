"""One validator per kind of check; every loader reuses these.

Each validator raises :class:`DataError` naming ``label`` (usually the file name) and the first
offending entry, and returns nothing: data is never silently dropped, clipped or repaired.
Matrix positions in messages are 0-based, like the benchmark pair lists.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import numpy as np

from sesl_jax.data._errors import DataError

# The similarity files hold 4 decimals and are exactly symmetric; this only absorbs float parsing.
SYMMETRY_TOLERANCE = 1e-9


def _first_position(bad: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(bad)[0])


def check_shape(matrix: np.ndarray, expected: tuple[int, ...], *, label: str, what: str) -> None:
    """``matrix.shape == expected``; ``what`` says where the expected shape comes from."""
    if tuple(matrix.shape) != tuple(expected):
        raise DataError(
            f"{label}: shape {_shape(matrix.shape)} does not match {what} {_shape(expected)}"
        )


def check_square(matrix: np.ndarray, *, label: str) -> None:
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise DataError(f"{label}: a similarity matrix must be square, got {_shape(matrix.shape)}")


def check_finite(matrix: np.ndarray, *, label: str) -> None:
    bad = ~np.isfinite(matrix)
    if bad.any():
        row, col = _first_position(bad)
        raise DataError(
            f"{label}: row {row}, column {col} holds {matrix[row, col]}; "
            f"values must be finite ({int(bad.sum())} non-finite entries)"
        )


def check_unit_interval(matrix: np.ndarray, *, label: str) -> None:
    """Entries in [0, 1]; assumes :func:`check_finite` passed."""
    bad = (matrix < 0) | (matrix > 1)
    if bad.any():
        row, col = _first_position(bad)
        raise DataError(
            f"{label}: row {row}, column {col} holds {matrix[row, col]:g}; similarities must lie "
            f"in [0, 1] ({int(bad.sum())} entries outside)"
        )


def check_symmetric(matrix: np.ndarray, *, label: str) -> None:
    """``|S - S^T| <= SYMMETRY_TOLERANCE``; assumes a finite square matrix."""
    bad = np.abs(matrix - matrix.T) > SYMMETRY_TOLERANCE
    if bad.any():
        row, col = _first_position(np.triu(bad))
        raise DataError(
            f"{label}: not symmetric: row {row}, column {col} holds {matrix[row, col]:g} but "
            f"row {col}, column {row} holds {matrix[col, row]:g}"
        )


def check_similarity(matrix: np.ndarray, *, label: str) -> None:
    """Square, finite, in [0, 1], symmetric. The diagonal need not be 1 (the benchmarks' is not)."""
    check_square(matrix, label=label)
    check_finite(matrix, label=label)
    check_unit_interval(matrix, label=label)
    check_symmetric(matrix, label=label)


def check_binary(matrix: np.ndarray, *, label: str) -> None:
    """Association entries are exactly 0 or 1 (NaN counts as invalid)."""
    bad = ~((matrix == 0) | (matrix == 1))
    if bad.any():
        row, col = _first_position(bad)
        raise DataError(
            f"{label}: row {row}, column {col} holds {matrix[row, col]:g}; associations must be "
            f"0 or 1 ({int(bad.sum())} invalid entries)"
        )


def check_ids(ids: Sequence[str], *, label: str, kind: str) -> None:
    """IDs are non-empty, have no surrounding whitespace, and are unique."""
    seen: dict[str, int] = {}
    for row, identifier in enumerate(ids):
        if not isinstance(identifier, str):  # e.g. numbers: IDs are looked up as text
            raise DataError(f"{label}: row {row}: {kind} ID {identifier!r} is not text (convert with str())")
        check_printable(identifier, label=f"{label}: row {row}: {kind} ID")
        if not identifier or identifier != identifier.strip():
            raise DataError(f"{label}: row {row}: {kind} ID {identifier!r} is empty or padded")
        if identifier in seen:
            raise DataError(
                f"{label}: duplicate {kind} ID {identifier!r} in rows {seen[identifier]} and {row}"
            )
        seen[identifier] = row


def check_pairs_match_associations(
    pairs: np.ndarray, associations: np.ndarray, *, label: str
) -> None:
    """A pair list ``(n_pairs, 2)`` of 0-based (drug, miRNA) indices lists exactly the ones of A."""
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise DataError(f"{label}: expected 2 columns (drug index, miRNA index), got {_shape(pairs.shape)}")
    n_drugs, n_mirnas = associations.shape
    seen: dict[tuple[int, int], int] = {}
    for row, (drug, mirna) in enumerate(pairs):
        if drug != int(drug) or mirna != int(mirna):
            raise DataError(f"{label}: row {row}: indices ({drug:g}, {mirna:g}) are not integers")
        drug, mirna = int(drug), int(mirna)
        if not (0 <= drug < n_drugs and 0 <= mirna < n_mirnas):
            raise DataError(
                f"{label}: row {row}: pair ({drug}, {mirna}) is outside the "
                f"{n_drugs} x {n_mirnas} association matrix (indices are 0-based)"
            )
        if (drug, mirna) in seen:
            raise DataError(f"{label}: rows {seen[drug, mirna]} and {row} both list pair ({drug}, {mirna})")
        if associations[drug, mirna] != 1:
            raise DataError(
                f"{label}: row {row}: pair ({drug}, {mirna}) is not a known association "
                f"(the association matrix holds {associations[drug, mirna]:g} there)"
            )
        seen[drug, mirna] = row
    if len(seen) != int(np.count_nonzero(associations == 1)):
        listed = np.zeros(associations.shape, dtype=bool)
        if seen:
            listed[tuple(np.array(list(seen)).T)] = True
        drug, mirna = _first_position((associations == 1) & ~listed)
        raise DataError(
            f"{label}: lists {len(seen)} pairs but the association matrix has "
            f"{int(np.count_nonzero(associations == 1))} ones; e.g. ({drug}, {mirna}) is missing"
        )


def check_printable(value: str, *, label: str) -> str:
    """``value`` unchanged if it is printable text on one line (IDs, SMILES, sequences, fold labels).

    A line break, tab, NUL or other non-printable character (e.g. from a quoted multi-line cell)
    would make an ID that cannot be typed or printed; the message shows it escaped.
    """
    if not value.isprintable():
        character = next(c for c in value if not c.isprintable())
        raise DataError(f"{label}: {value!r} contains {character!r}; values must be printable text on one line")
    return value


def check_smiles_text(smiles: str, *, label: str) -> str:
    """A SMILES is one token without whitespace (chemistry is checked by the encoders)."""
    if not smiles or any(character.isspace() for character in smiles):
        raise DataError(f"{label}: SMILES {smiles!r} is empty or contains whitespace")
    return smiles


def check_smiles(smiles: str, *, label: str) -> str:
    """A SMILES that RDKit parses into a molecule (one token, no whitespace); returned unchanged.

    RDKit's own parse messages are silenced: the :class:`DataError` names ``label`` and the text.
    """
    from rdkit import Chem, RDLogger

    check_smiles_text(smiles, label=label)
    RDLogger.DisableLog("rdApp.*")
    try:
        molecule = Chem.MolFromSmiles(smiles)
    finally:
        RDLogger.EnableLog("rdApp.*")
    if molecule is None:
        raise DataError(f"{label}: SMILES {smiles!r} is not a valid molecule (RDKit cannot parse it)")
    return smiles


def check_case_variants(identifier: str, seen: dict[str, tuple[str, int]], line: int, *, label: str, kind: str) -> None:
    """Refuse ``identifier`` when an ID differing only in letter case was seen first.

    Args:
        seen: ``casefold(ID) -> (ID, line of first use)``; updated with ``identifier``.
    """
    first, first_line = seen.setdefault(identifier.casefold(), (identifier, line))
    if first != identifier:
        raise DataError(
            f"{label}: line {line}: {kind} ID {identifier!r} differs only in letter case from {first!r} "
            f"on line {first_line}; IDs are case-sensitive, so write one spelling"
        )


def unknown_id_error(identifier: str, known: Sequence[str], *, kind: str, dataset: str | None = None) -> DataError:
    """The error for an ID that is not in a dataset, with close matches as a hint (first those
    that differ only in letter case or surrounding spaces)."""
    same = [candidate for candidate in known if candidate.casefold() == str(identifier).strip().casefold()]
    close = same or difflib.get_close_matches(str(identifier), known, n=3)
    hint = f"; close matches: {', '.join(close)}" if close else ""
    where = f"{dataset}: " if dataset else ""
    return DataError(f"{where}unknown {kind} ID {identifier!r}{hint}")


def _shape(shape: tuple[int, ...]) -> str:
    return " x ".join(str(n) for n in shape)
