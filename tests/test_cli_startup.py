"""The command line answers --help and usage errors without importing JAX (about 3 s of imports),
and the lazily exported package names all resolve."""

from __future__ import annotations

import importlib
import sys

import pytest

from conftest import cli_imports
from sesl_jax._lazy import lazy_exports


@pytest.mark.parametrize("argv", [
    ["--help"],
    *([command, "--help"] for command in ("data", "fit", "rank", "cv", "select", "encoder", "reproduce")),
    ["encoder", "train", "--help"],
    ["cv", "--dataset", "fcd", "--method", "no-such-method"],
    ["rank", "--no-such-option"],
])
def test_help_and_usage_errors_do_not_import_jax(argv):
    _, stderr, report = cli_imports(*argv)
    assert report[:2] in (["exit", "0"], ["exit", "2"]), report + [stderr]
    assert report[2:] == ["imported"], f"{' '.join(argv)} imported {report[3:]}"
    assert "Traceback" not in stderr


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


def test_every_builder_is_catalogued_and_every_catalogued_method_built():
    # METHODS is built from the catalogue: a builder without an entry would silently go unregistered
    from sesl_jax.methods import CATALOGUE, METHODS
    from sesl_jax.methods._registry import _BUILDERS

    assert set(_BUILDERS) == set(CATALOGUE) == set(METHODS)
    for name, spec in METHODS.items():
        assert spec.builder is _BUILDERS[name] and spec.description == CATALOGUE[name].description


def test_the_command_line_offers_every_bnnr_svt():
    # The parser lists them without importing the solvers (JAX); this keeps the two lists equal.
    from sesl_jax.cli import build_parser
    from sesl_jax.solvers import BNNR_SVT_METHODS

    cv = build_parser().command_parsers["cv"]
    choices = next(action.choices for action in cv._actions if "--bnnr-svt" in action.option_strings)
    assert tuple(choices) == BNNR_SVT_METHODS
