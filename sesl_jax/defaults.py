"""The default method on each benchmark: what nested cross-validation chose there.

``sesl-jax select`` writes a ``selection.json``; the one run on a benchmark ships as
``resources/defaults/<dataset>.json`` and is the configuration that ``fit``, ``rank`` and ``cv``
use on that benchmark when no method option is given. Evidence differs between benchmarks (on PCD,
where most drugs have no pair, nested CV drops sparse learning), so the default is per benchmark.
Own data has no such record: it keeps the method's own default similarity.
"""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from pathlib import Path
from typing import Any

from sesl_jax.pipeline import MethodConfig

DEFAULTS_DIR = Path(str(resources.files("sesl_jax") / "resources" / "defaults"))


@dataclasses.dataclass(frozen=True)
class Selection:
    """What a ``selection.json`` chose: the configuration and the evidence in one line.

    Attributes:
        config: the chosen configuration (its dtype is the one the selection ran in).
        label: ``sesl-jax select``'s label of it, e.g. ``"se: drug=sequence,mirna=biological, map=inverse"``.
        dataset: the dataset the selection ran on (``None`` when the file does not say).
        nested_auc: global AUC of the whole selection procedure (outer folds), if recorded.
        criterion: the inner CV's score (``"global"``, ``"drug-fixed"``, ``"mirna-fixed"`` AUC).
    """

    config: MethodConfig
    label: str
    dataset: str | None
    nested_auc: float | None
    criterion: str = "global"

    def describe(self) -> str:
        """One line for a log: what was chosen, where, and how well the procedure did."""
        where = f" on {self.dataset.upper()}" if self.dataset else ""
        where += f" by {self.criterion} AUC" if self.criterion != "global" else ""
        score = f", nested global AUC {self.nested_auc:.4f}" if self.nested_auc is not None else ""
        return f"{self.label} (chosen by nested CV{where}{score})"


def read_selection(path: str | Path) -> Selection:
    """Read ``sesl-jax select``'s ``selection.json``. Raises FileNotFoundError, or ValueError naming
    what is wrong (not such a file, or a configuration this version cannot build or rank with)."""
    path = Path(path)
    try:
        result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except UnicodeDecodeError as error:
        raise ValueError(f"not a selection.json of 'sesl-jax select' (not UTF-8 text: {error.reason} at byte "
                         f"{error.start})") from None
    except (OSError, ValueError) as error:
        raise ValueError(f"not a selection.json of 'sesl-jax select' (not readable JSON: {error})") from None
    try:
        selected = result["selected"]
        fields = dict(selected["config"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("not a selection.json of 'sesl-jax select' (no 'selected' configuration in it)") from None
    try:
        config = MethodConfig(**{name: fields[name] for name in fields if name in MethodConfig.__dataclass_fields__})
    except (TypeError, ValueError) as error:
        raise ValueError(f"its selected configuration is not usable: {error}") from None
    if config.transductive:
        raise ValueError("a transductive configuration cannot be used to rank")
    try:
        nested_auc = float(result["nested"]["metrics"]["global"]["auc"]["mean"])
    except (KeyError, TypeError, ValueError):
        nested_auc = None
    dataset = result.get("dataset")
    criterion = (result.get("protocol") or {}).get("criterion", "global")  # absent: written before the option
    return Selection(config=config, label=str(selected.get("label", config.method)),
                     dataset=str(dataset) if dataset else None, nested_auc=nested_auc, criterion=str(criterion))


def dataset_default(dataset: str) -> Selection | None:
    """The shipped selection of benchmark ``dataset`` ("fcd", "pcd"), or ``None`` if none ships.

    Raises:
        ValueError: ``dataset`` is not a benchmark name (own data has no shipped default).
    """
    from sesl_jax.data._benchmarks import BENCHMARKS

    name = dataset.strip().lower() if isinstance(dataset, str) else dataset
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {dataset!r}; choose one of {', '.join(sorted(BENCHMARKS))}")
    path = DEFAULTS_DIR / f"{name}.json"
    return read_selection(path) if path.is_file() else None


__all__ = ["DEFAULTS_DIR", "Selection", "dataset_default", "read_selection"]
