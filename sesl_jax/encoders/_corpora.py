"""Reading pre-training corpora: SMILES lists and FASTA files, plain or gzip-compressed.

- SMILES: ``.txt`` with one SMILES per line (first whitespace-separated field), or ``.csv`` /
  ``.tsv`` with a column named ``smiles`` (any case; else the first column).
- RNA: FASTA (``.fa``, ``.fasta``, ``.fna``), sequences may span lines.

A ``.gz`` suffix is decompressed on the fly. Order is kept; deduplication and filtering are the
caller's (see :func:`sesl_jax.encoders.train_encoder`).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
import sys
import zlib
from pathlib import Path
from typing import Iterator


STDIN = "-"  # the name that reads standard input, where a file name is asked for


@contextlib.contextmanager
def _open_text(path: Path) -> Iterator[io.TextIOBase]:
    """The file as UTF-8 text (a byte-order mark is dropped); a binary, non-UTF-8 or broken gzip
    file is a ``ValueError`` naming it, not a decoder's error that names nothing. ``-``: standard
    input, read as bytes whatever the locale says (a closed one is a ``ValueError``)."""
    try:
        if str(path) == STDIN:
            if sys.stdin is None:
                raise ValueError("standard input is closed; give --input a file")
            stream = getattr(sys.stdin, "buffer", None)
            data = stream.read() if stream is not None else sys.stdin.read().encode("utf-8")
            handle = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig")
            path = "standard input"
        elif path.suffix == ".gz":
            handle = io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig")
        else:
            handle = open(path, encoding="utf-8-sig")
        with handle:
            yield handle
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise ValueError(f"{path}: not a readable gzip file ({error})") from None


def read_lines(path: str | os.PathLike) -> list[str]:
    """The lines of a UTF-8 text file (gzip-compressed with a ``.gz`` suffix; ``-``: standard input),
    without line ends."""
    with _open_text(Path(path)) as handle:
        return [line.rstrip("\n") for line in handle]  # not splitlines(): it also splits at \f, \x1c, ...


def _base_suffix(path: Path) -> str:
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def read_smiles_corpus(path: str | os.PathLike, limit: int | None = None) -> list[str]:
    """SMILES strings of a corpus file, in file order (at most ``limit``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no SMILES corpus at {path}")
    suffix = _base_suffix(path)
    smiles: list[str] = []
    with _open_text(path) as handle:
        if suffix in (".csv", ".tsv"):
            reader = csv.reader(handle, delimiter="\t" if suffix == ".tsv" else ",")
            header = next(reader, [])
            lowered = [name.strip().lower() for name in header]
            column = lowered.index("smiles") if "smiles" in lowered else 0
            rows: Iterator[str] = (row[column] for row in reader if len(row) > column)
        else:
            rows = (line.split()[0] for line in handle if line.strip())
        for text in rows:
            text = text.strip()
            if text:
                smiles.append(text)
            if limit is not None and len(smiles) >= limit:
                break
    return smiles


def read_fasta(path: str | os.PathLike) -> list[tuple[str, str]]:
    """``(name, sequence)`` records of a FASTA file; the name is the header up to the first space."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no FASTA file at {path}")
    records: list[tuple[str, str]] = []
    name: str | None = None
    parts: list[str] = []
    with _open_text(path) as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            if line.startswith(">"):
                if name is not None:
                    records.append((name, "".join(parts)))
                name = line[1:].split()[0] if len(line) > 1 else ""
                parts = []
            elif name is None:
                raise ValueError(f"{path}: sequence data before the first '>' header")
            else:
                parts.append(line)
    if name is not None:
        records.append((name, "".join(parts)))
    return records


def read_rna_corpus(path: str | os.PathLike) -> list[str]:
    """Sequences of a FASTA corpus (or a one-sequence-per-line text file)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no RNA corpus at {path}")
    if _base_suffix(path) in (".fa", ".fasta", ".fna", ".fas"):
        return [sequence for _, sequence in read_fasta(path)]
    return read_smiles_corpus(path)  # same layout: one item per line or a csv column


def read_corpus(kind: str, path: str | os.PathLike) -> list[str]:
    """Sequences of one corpus file for an encoder of ``kind`` (``"smiles"`` or ``"rna"``)."""
    if kind == "smiles":
        return read_smiles_corpus(path)
    if kind == "rna":
        return read_rna_corpus(path)
    raise ValueError(f"unknown encoder kind {kind!r}; choose 'smiles' or 'rna'")
