"""Every ``sesl-jax`` command written in the documentation still parses: an option renamed or a
choice dropped in the code must not leave the README or docs/ telling users to type it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from sesl_jax.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "sesl_jax/resources/encoders/README.md"]
# Placeholders the prose uses for values: a number, a method, a variant.
PLACEHOLDERS = {"N": "2", "M": "sesl", "V": "published-code", "K": "5"}


def _commands(text: str) -> list[str]:
    found, prose, fenced, in_fence = [], [], [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        else:
            (fenced if in_fence else prose).append(line)
    found += re.findall(r"`([^`\n]*\bsesl-jax [^`\n]*)`", "\n".join(prose))
    found += [line for line in "\n".join(fenced).replace("\\\n", " ").splitlines() if "sesl-jax " in line]
    commands = []
    for command in found:
        command = command[command.index("sesl-jax "):].split(" #")[0].split(" && ")[0].split(" > ")[0].strip()
        # fragments and synopses ("sesl-jax cv", "[--resume]", "lstm|transformer", "...") are not commands
        if "--" in command and not any(mark in command for mark in ("[", "|", "...", "<", "COMMAND", "--help")):
            commands.append(command)
    return commands


CASES = [(path.relative_to(ROOT).as_posix(), command) for path in DOCUMENTS for command in _commands(path.read_text())]


def test_the_documents_hold_commands():
    assert len(CASES) > 50  # the extraction above still finds them
    assert any("rank --model" in command for _, command in CASES)


@pytest.mark.parametrize("document, command", CASES, ids=[f"{d}:{i}" for i, (d, _) in enumerate(CASES)])
def test_documented_command_parses(document, command, capsys):
    argv = [PLACEHOLDERS.get(word, word) for word in shlex.split(command)[1:]]
    try:
        _, unknown = build_parser().parse_known_args(argv)
    except SystemExit:
        error = capsys.readouterr().err
        if "the following arguments are required" in error:
            return  # a command quoted in part in the prose (its --out given elsewhere)
        pytest.fail(f"{document}: `{command}` does not parse: {error.strip()}")
    assert not unknown, f"{document}: `{command}`: unrecognised {unknown}"
