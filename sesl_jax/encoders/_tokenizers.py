"""Tokenizers for the sequence auto-encoders (SPEC step 1).

A tokenizer turns a string into integer ids ``[<bos>, t_1, ..., t_n, <eos>]``; a batch is padded
with ``<pad>`` (id 0) to a common length and carries each row's true length. The four special
tokens always have ids 0-3 in this order: ``<pad>``, ``<bos>``, ``<eos>``, ``<unk>``.

- :class:`SmilesTokenizer` splits SMILES into chemically meaningful tokens: two-letter halogens
  (``Cl``, ``Br``), whole bracket atoms (``[nH]``, ``[C@@H]``, ``[O-]``), ring-bond numbers
  (``1`` ... ``9``, ``%10`` ... ``%99``), bond and stereo symbols (``=``, ``#``, ``/``, ``\\``, ...).
  Every SMILES is checked with RDKit and, by default, rewritten in RDKit canonical form so that
  one molecule always gives one token sequence.
- :class:`RnaTokenizer` reads A, C, G, U (T is read as U, lower case as upper case). IUPAC
  ambiguity codes (N, R, Y, ...) are an error by default, or the unknown token with
  ``ambiguity="unknown"``.

Invalid input raises :class:`SequenceError` (a ``ValueError``) naming the sequence and the
0-based character position of the problem.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from typing import Any, Iterable, Literal, Sequence

import numpy as np

from sesl_jax._values import check_boolean, check_integer, check_not_text

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, BOS, EOS, UNK)
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3


class SequenceError(ValueError):
    """A SMILES or RNA sequence that cannot be tokenized.

    Attributes:
        sequence: the offending input.
        position: 0-based character position of the problem, or ``None`` when not known.
        reason: what is wrong, without the sequence.
    """

    def __init__(self, sequence: str, position: int | None, reason: str, kind: str = "sequence"):
        self.sequence = sequence
        self.position = position
        self.reason = reason
        where = f"at position {position}" if position is not None else "(position not known)"
        shown = sequence if len(sequence) <= 200 else sequence[:200] + "..."
        super().__init__(f"invalid {kind} {shown!r} {where}: {reason}")


def check_sequences(sequences: Any, caller: str) -> None:
    """``TypeError`` for one string where a list of sequences is expected: iterating it would give its letters."""
    check_not_text(caller, sequences)
    if sequences is None or not hasattr(sequences, "__iter__"):
        raise TypeError(f"{caller} takes a list, one entry per item; got {type(sequences).__name__}")


def _check_text(sequence: Any, what: str) -> None:
    """``TypeError`` unless ``sequence`` is a str (checked before anything hashes or parses it)."""
    if not isinstance(sequence, str):
        raise TypeError(f"{what} must be a str, got {type(sequence).__name__}")


class _Tokenizer:
    """Vocabulary, ids and padding shared by both tokenizers."""

    kind: str = ""

    def __init__(self, vocabulary: Sequence[str], max_length: int):
        vocabulary = tuple(vocabulary)
        if vocabulary[: len(SPECIAL_TOKENS)] != SPECIAL_TOKENS:
            raise ValueError(f"a vocabulary must start with the special tokens {SPECIAL_TOKENS}")
        if len(set(vocabulary)) != len(vocabulary):
            raise ValueError("a vocabulary must not repeat tokens")
        check_integer("max_length", max_length, 1)
        self.vocabulary = vocabulary
        self.max_length = int(max_length)
        self._ids = {token: index for index, token in enumerate(vocabulary)}

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)

    def tokenize(self, sequence: str) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _tokens_with_positions(self, sequence: str) -> list[tuple[str, int]]:  # pragma: no cover
        raise NotImplementedError

    def encode(self, sequence: str) -> np.ndarray:
        """Ids ``[<bos>, tokens..., <eos>]`` (int32), unknown tokens mapped to ``<unk>``."""
        tokens = self._checked_tokens(sequence)
        ids = [BOS_ID] + [self._ids.get(token, UNK_ID) for token in tokens] + [EOS_ID]
        return np.asarray(ids, dtype=np.int32)

    def encode_batch(self, sequences: Sequence[str], pad_to: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Padded ids (n, L) int32 and lengths (n,) int32, lengths counting ``<bos>`` and ``<eos>``.

        ``L`` is the longest row, or ``pad_to`` when given (at least the longest row).
        """
        check_sequences(sequences, "encode_batch")
        rows = [self.encode(sequence) for sequence in sequences]
        return pad_rows(rows, pad_to)

    def decode(self, ids: Iterable[int]) -> str:
        """Inverse of :meth:`encode`: drops ``<bos>``/``<pad>``, stops at ``<eos>``.

        ``<unk>`` is written as ``?``. Ids must be integers of the vocabulary (a negative one would
        otherwise index from its end).
        """
        ids = np.asarray(ids) if hasattr(ids, "__array__") else np.asarray(list(ids))  # a generator, say
        if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
            raise TypeError(f"decode takes a 1-D sequence of integer ids, got {ids.ndim}-D {ids.dtype} values")
        outside = np.flatnonzero((ids < 0) | (ids >= self.vocab_size))
        if outside.size:
            raise ValueError(f"decode: id {ids[outside[0]]} at position {outside[0]} is not in the vocabulary "
                             f"(ids 0 to {self.vocab_size - 1})")
        pieces = []
        for index in ids.tolist():
            if index == EOS_ID:
                break
            if index in (PAD_ID, BOS_ID):
                continue
            pieces.append("?" if index == UNK_ID else self.vocabulary[index])
        return "".join(pieces)

    def _checked_tokens(self, sequence: str) -> list[str]:
        tokens = self._tokens_with_positions(sequence)
        if len(tokens) > self.max_length:
            raise SequenceError(
                sequence,
                tokens[self.max_length][1],
                f"{len(tokens)} tokens, more than the model's maximum of {self.max_length}",
                self.kind,
            )
        return [token for token, _ in tokens]

    def config(self) -> dict[str, Any]:
        """Everything needed to rebuild the tokenizer (stored in checkpoints)."""
        return {"kind": self.kind, "vocabulary": list(self.vocabulary), "max_length": self.max_length}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Tokenizer) and self.config() == other.config()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size}, max_length={self.max_length})"


def pad_rows(rows: Sequence[np.ndarray], pad_to: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Stack id rows into a ``<pad>``-padded (n, L) int32 array and their lengths (n,)."""
    check_integer("pad_to", pad_to, 0, optional=True)
    lengths = np.asarray([len(row) for row in rows], dtype=np.int32)
    width = int(lengths.max(initial=0))
    if pad_to is not None:
        if pad_to < width:
            raise ValueError(f"pad_to={pad_to} is shorter than the longest row ({width})")
        width = pad_to
    ids = np.full((len(rows), width), PAD_ID, dtype=np.int32)
    for row_index, row in enumerate(rows):
        ids[row_index, : len(row)] = row
    return ids, lengths


# One alternative per token kind; bracket atoms and %nn ring bonds first so they stay whole.
_SMILES_TOKEN = re.compile(
    r"(\[[^\[\]]*\]|%\d\d|Br|Cl|[BCNOPSFI]|[bcnops]|[0-9]|[=#\-+\\/:~.$*()@?>])"
)
_SMILES_ATOM = re.compile(r"^(\[[^\[\]]*\]|Br|Cl|[BCNOPSFI]|[bcnops]|\*)$")
_RING_BOND = re.compile(r"^(%\d\d|[0-9])$")

# Common organic tokens, for a tokenizer built without a corpus; trained models store their own.
DEFAULT_SMILES_TOKENS: tuple[str, ...] = (
    "C", "c", "(", ")", "O", "1", "2", "=", "N", "n", "3", "F", "[C@@H]", "[C@H]", "4", "S", "Cl",
    "-", "o", "s", "[nH]", "#", "/", "Br", "[C@]", "[C@@]", "[N+]", "[O-]", "5", "\\", ".", "I",
    "6", "[S@]", "[S@@]", "P", "[n+]", "[NH+]", "[Na+]", "[Cl-]", "7", "8", "9", "%10", "B", "[2H]",
)


class SmilesTokenizer(_Tokenizer):
    """SMILES -> tokens, validated by RDKit.

    Args:
        vocabulary: tokens, starting with the four special tokens; ``None`` uses a default list of
            common organic tokens (use :meth:`fit` to build one from a corpus).
        max_length: most tokens a SMILES may have (without ``<bos>``/``<eos>``).
        canonicalize: rewrite every SMILES in RDKit canonical form before tokenizing.
    """

    kind = "smiles"

    def __init__(self, vocabulary: Sequence[str] | None = None, max_length: int = 120, canonicalize: bool = True):
        if vocabulary is None:
            vocabulary = SPECIAL_TOKENS + DEFAULT_SMILES_TOKENS
        super().__init__(vocabulary, max_length)
        check_boolean("canonicalize", canonicalize)
        self.canonicalize = bool(canonicalize)

    @classmethod
    def fit(
        cls,
        smiles: Iterable[str],
        *,
        min_count: int = 1,
        max_length: int = 120,
        canonicalize: bool = True,
        skip_invalid: bool = False,
    ) -> "SmilesTokenizer":
        """A tokenizer whose vocabulary is every token seen at least ``min_count`` times.

        Tokens are ordered by decreasing count (ties alphabetically), so the result is deterministic.
        Invalid SMILES raise :class:`SequenceError`, or are ignored with ``skip_invalid`` (if none is
        valid, the first one's error is raised: there is nothing to build a vocabulary from).
        """
        check_sequences(smiles, "SmilesTokenizer.fit")
        check_integer("min_count", min_count, 1)
        check_boolean("skip_invalid", skip_invalid)
        counts: Counter[str] = Counter()
        probe = cls(max_length=10**9, canonicalize=canonicalize)
        first_error, total, valid = None, 0, 0
        for text in smiles:
            total += 1
            try:
                counts.update(probe.tokenize(text))
                valid += 1
            except SequenceError as error:
                if not skip_invalid:
                    raise
                first_error = first_error or error
        if not total:
            raise ValueError("SmilesTokenizer.fit: no SMILES given")
        if not valid:
            raise SequenceError(first_error.sequence, first_error.position,
                                f"{first_error.reason} (and none of the {total} SMILES given is valid)", "SMILES")
        kept = sorted((token for token, count in counts.items() if count >= min_count), key=lambda t: (-counts[t], t))
        return cls(SPECIAL_TOKENS + tuple(kept), max_length=max_length, canonicalize=canonicalize)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "canonicalize": self.canonicalize}

    def tokenize(self, sequence: str) -> list[str]:
        """The tokens of one SMILES (after canonicalisation when enabled), without special tokens."""
        return [token for token, _ in self._tokens_with_positions(sequence)]

    def canonical(self, sequence: str) -> str:
        """The SMILES the tokens are taken from: RDKit canonical form, or the input when disabled."""
        _check_text(sequence, "a SMILES")  # before the cache hashes it
        if not self.canonicalize:
            self._parse(sequence)
            return sequence
        return _canonical_smiles(sequence)

    def _tokens_with_positions(self, sequence: str) -> list[tuple[str, int]]:
        text = self.canonical(sequence)
        tokens = _split_smiles(text)
        if text != sequence:
            # Positions point into what the user gave: the input's token with the same index
            # (canonical and input SMILES of one molecule have nearly the same token count).
            given = [position for _, position in _split_smiles(sequence)]
            tokens = [(token, given[min(index, len(given) - 1)]) for index, (token, _) in enumerate(tokens)]
        return tokens

    @staticmethod
    def _parse(sequence: str):
        """RDKit molecule of ``sequence`` or a SequenceError saying where it goes wrong."""
        from rdkit import Chem, rdBase

        _check_text(sequence, "a SMILES")
        if not sequence:
            raise SequenceError(sequence, 0, "empty SMILES", "SMILES")
        tokens = _split_smiles(sequence)  # raises on characters no token covers
        _check_smiles_syntax(sequence, tokens)
        if not tokens:
            raise SequenceError(sequence, 0, "no atoms before the extension", "SMILES")
        with rdBase.BlockLogs():
            mol = Chem.MolFromSmiles(sequence, sanitize=False)
            if mol is None:
                raise SequenceError(sequence, None, "RDKit cannot parse it", "SMILES")
            problems = Chem.DetectChemistryProblems(mol)
        if problems:
            problem = problems[0]
            atoms = _problem_atoms(problem)
            atom_positions = [position for token, position in tokens if _SMILES_ATOM.match(token)]
            position = atom_positions[atoms[0]] if atoms and atoms[0] < len(atom_positions) else None
            raise SequenceError(sequence, position, f"RDKit: {problem.Message()}", "SMILES")
        with rdBase.BlockLogs():
            Chem.SanitizeMol(mol)
            mol = Chem.RemoveHs(mol)  # as Chem.MolFromSmiles does, so canonical forms agree with it
        return mol


@functools.lru_cache(maxsize=1 << 18)
def _canonical_smiles(sequence: str) -> str:
    """RDKit canonical SMILES (cached: corpora are tokenized more than once, e.g. to build the
    vocabulary and then the rows; 2**18 entries, ~80 MB, hold the 235,891 ChEMBL SMILES)."""
    from rdkit import Chem

    return Chem.MolToSmiles(SmilesTokenizer._parse(sequence))


def _problem_atoms(problem) -> list[int]:
    if hasattr(problem, "GetAtomIndices"):
        return list(problem.GetAtomIndices())
    if hasattr(problem, "GetAtomIdx"):
        return [problem.GetAtomIdx()]
    return []


def _split_smiles(sequence: str) -> list[tuple[str, int]]:
    """Tokens of a SMILES string with their character offsets; error on uncovered characters.

    Whitespace is an error, as in the data files: RDKit would read text after a space as a name
    or a CXSMILES extension, and the tokens would silently leave it out.
    """
    space = next((position for position, character in enumerate(sequence) if character.isspace()), None)
    if space is not None:
        raise SequenceError(sequence, space, "whitespace inside a SMILES (give one molecule without a name or "
                            "CXSMILES extension)", "SMILES")
    tokens = []
    position = 0
    for match in _SMILES_TOKEN.finditer(sequence):
        if match.start() != position:
            break
        tokens.append((match.group(0), match.start()))
        position = match.end()
    if position != len(sequence):
        bad = sequence[position]
        reason = "unclosed bracket atom" if bad == "[" else f"unexpected character {bad!r}"
        raise SequenceError(sequence, position, reason, "SMILES")
    return tokens


def _check_smiles_syntax(sequence: str, tokens: list[tuple[str, int]]) -> None:
    """Unbalanced branches and unclosed ring bonds, with positions RDKit does not report."""
    open_branches: list[int] = []
    open_rings: dict[str, int] = {}
    for token, position in tokens:
        if token == "(":
            open_branches.append(position)
        elif token == ")":
            if not open_branches:
                raise SequenceError(sequence, position, "')' closes no branch", "SMILES")
            open_branches.pop()
        elif _RING_BOND.match(token):
            if token in open_rings:
                del open_rings[token]
            else:
                open_rings[token] = position
    if open_branches:
        raise SequenceError(sequence, open_branches[-1], "branch '(' is never closed", "SMILES")
    if open_rings:
        token, position = min(open_rings.items(), key=lambda item: item[1])
        raise SequenceError(sequence, position, f"ring bond {token} is never closed", "SMILES")


RNA_ALPHABET: tuple[str, ...] = ("A", "C", "G", "U")
IUPAC_AMBIGUITY = frozenset("NRYKMSWBDHV")


class RnaTokenizer(_Tokenizer):
    """RNA -> one token per nucleotide over A, C, G, U.

    Args:
        max_length: most nucleotides a sequence may have.
        ambiguity: ``"error"`` (default) rejects IUPAC ambiguity codes N, R, Y, K, M, S, W, B, D, H, V;
            ``"unknown"`` maps them to ``<unk>``. Other letters are always an error.

    T is read as U and lower case as upper case (so DNA-alphabet files can be read directly).
    """

    kind = "rna"

    def __init__(self, max_length: int = 32, ambiguity: Literal["error", "unknown"] = "error", vocabulary: Sequence[str] | None = None):
        expected = SPECIAL_TOKENS + RNA_ALPHABET
        if vocabulary is not None and tuple(vocabulary) != expected:
            raise ValueError(f"the RNA vocabulary is fixed: {expected}")
        if ambiguity not in ("error", "unknown"):
            raise ValueError(f"ambiguity must be 'error' or 'unknown', got {ambiguity!r}")
        super().__init__(expected, max_length)
        self.ambiguity = ambiguity

    def config(self) -> dict[str, Any]:
        return {**super().config(), "ambiguity": self.ambiguity}

    def tokenize(self, sequence: str) -> list[str]:
        return [token for token, _ in self._tokens_with_positions(sequence)]

    def _tokens_with_positions(self, sequence: str) -> list[tuple[str, int]]:
        _check_text(sequence, "an RNA sequence")
        if not sequence:
            raise SequenceError(sequence, 0, "empty sequence", "RNA")
        tokens = []
        for position, letter in enumerate(sequence.upper()):
            if letter == "T":
                letter = "U"
            if letter in RNA_ALPHABET:
                tokens.append((letter, position))
            elif letter in IUPAC_AMBIGUITY and self.ambiguity == "unknown":
                tokens.append((UNK, position))
            elif letter in IUPAC_AMBIGUITY:
                raise SequenceError(
                    sequence, position,
                    f"IUPAC ambiguity code {sequence[position]!r} (pass ambiguity='unknown' to map it to <unk>)",
                    "RNA",
                )
            else:
                raise SequenceError(sequence, position, f"{sequence[position]!r} is not a nucleotide (A, C, G, U/T)", "RNA")
        return tokens


Tokenizer = SmilesTokenizer | RnaTokenizer


def tokenizer_from_config(config: dict[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer from :meth:`_Tokenizer.config`."""
    config = dict(config)
    kind = config.pop("kind")
    if kind == "smiles":
        return SmilesTokenizer(**config)
    if kind == "rna":
        return RnaTokenizer(**config)
    raise ValueError(f"unknown tokenizer kind {kind!r}")
