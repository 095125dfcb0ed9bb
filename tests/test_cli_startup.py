"""The command line answers --help and usage errors without importing JAX (about 3 s of imports),
and the lazily exported package names all resolve."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from sesl_jax._lazy import lazy_exports

HEAVY = ("jax", "flax", "optax", "pandas")

# In a fresh interpreter: run the command line, then report which heavy modules it imported.
PROBE = """
import sys
from sesl_jax.cli import main
code = main(sys.argv[1:])
print("exit", code)
print("imported", *sorted(name for name in {heavy!r} if name in sys.modules))
"""


@pytest.mark.parametrize("argv", [
    ["--help"],
    *([command, "--help"] for command in ("data", "fit", "rank", "cv", "select", "encoder", "reproduce")),
    ["encoder", "train", "--help"],
    ["cv", "--dataset", "fcd", "--method", "no-such-method"],
    ["rank", "--no-such-option"],
])
def test_help_and_usage_errors_do_not_import_jax(argv):
    probe = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv],
                           capture_output=True, text=True, timeout=120)
    lines = probe.stdout.strip().splitlines()
    assert lines[-2] in ("exit 0", "exit 2"), probe.stdout + probe.stderr
    assert lines[-1] == "imported", f"{' '.join(argv)} imported {lines[-1].split()[1:]}"
    assert "Traceback" not in probe.stderr


@pytest.mark.parametrize("package", ["sesl_jax", "sesl_jax.methods", "sesl_jax.evaluation", "sesl_jax.similarity"])
def test_every_exported_name_resolves(package):
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError, match="no_such_name"):
        getattr(module, "no_such_name")


def test_lazy_exports_import_on_first_use_and_keep_the_value(monkeypatch):
    package = type(sys)("lazy_probe")
    monkeypatch.setitem(sys.modules, "lazy_probe", package)
    package.__getattr__, package.__dir__ = lazy_exports("lazy_probe", {"sqrt": "math"})
    assert "sqrt" not in vars(package)
    assert package.__getattr__("sqrt") is importlib.import_module("math").sqrt
    assert vars(package)["sqrt"] is importlib.import_module("math").sqrt  # stored: later lookups skip the hook
    assert "sqrt" in package.__dir__()
    with pytest.raises(AttributeError, match="lazy_probe.*cos"):
        package.__getattr__("cos")


def test_catalogue_and_builders_name_the_same_methods():
    from sesl_jax.methods import CATALOGUE, METHODS

    assert list(METHODS) == list(CATALOGUE)
    for name, spec in METHODS.items():
        assert callable(spec.builder)
        assert (spec.default_similarity, spec.description, spec.transductive_option) == tuple(CATALOGUE[name])


def test_the_command_line_offers_every_bnnr_svt():
    # The parser lists them without importing the solvers (JAX); this keeps the two lists equal.
    from sesl_jax.cli import build_parser
    from sesl_jax.solvers import BNNR_SVT_METHODS

    cv = build_parser().command_parsers["cv"]
    choices = next(action.choices for action in cv._actions if "--bnnr-svt" in action.option_strings)
    assert tuple(choices) == BNNR_SVT_METHODS
