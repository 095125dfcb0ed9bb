"""Every ``sesl-jax`` command written in the documentation still parses: an option renamed or a
choice dropped in the code must not leave the README or docs/ telling users to type it."""

from __future__ import annotations

import argparse
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


def _strict(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``parser`` and every sub-parser without abbreviations: '--novel' must not pass for '--novel-only'."""
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _strict(child)
    return parser


def _command_parser(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.ArgumentParser:
    """The parser of the (nested) command that ``argv`` names: ``cv``, ``encoder train``."""
    for word in argv:
        children = next((a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if children is None or word not in children:
            break
        parser = children[word]
    return parser


def _placeholders_for_required(parser: argparse.ArgumentParser, argv: list[str], error: str) -> list[str] | None:
    """Values for the options a prose fragment leaves out ('required: --out, --kind'), or None."""
    if missing := re.search(r"the following arguments are required: (.*) \(see", error):
        names = missing.group(1).split(", ")
    elif group := re.search(r"one of the arguments (--\S+) .* is required", error):
        names = [group.group(1)]  # a required choice of source: its first option
    else:
        return None
    command = _command_parser(parser, argv)
    extra = []
    for name in names:
        action = command._option_string_actions.get(name)
        if action is None:
            return None
        extra += [name, str(next(iter(action.choices))) if action.choices else "x"]
    return argv + extra


def problem_of(command: str, capsys) -> str | None:
    """Why ``command`` does not parse with today's options and choices, or None."""
    argv = [PLACEHOLDERS.get(word, word) for word in shlex.split(command)[1:]]
    for attempt in range(3):
        try:
            _, unknown = _strict(build_parser()).parse_known_args(argv)
        except SystemExit:
            error = capsys.readouterr().err
            completed = _placeholders_for_required(build_parser(), argv, error) if attempt < 2 else None
            if completed is None:
                return f"does not parse: {error.strip()}"
            argv = completed  # a command quoted in part in the prose (its --out given elsewhere)
            continue
        return f"unrecognised {unknown}" if unknown else None
    return None


@pytest.mark.parametrize("document, command", CASES, ids=[f"{d}:{i}" for i, (d, _) in enumerate(CASES)])
def test_documented_command_parses(document, command, capsys):
    problem = problem_of(command, capsys)
    assert problem is None, f"{document}: `{command}` {problem}"


def test_the_check_catches_renamed_options_and_abbreviations(capsys):
    assert problem_of("sesl-jax encoder train --kind smiles --renamed 3", capsys) == "unrecognised ['--renamed', '3']"
    assert problem_of("sesl-jax rank --model m --drug D --novel", capsys) == "unrecognised ['--novel']"
    assert problem_of("sesl-jax rank --model m --drug D --novel-only", capsys) is None
