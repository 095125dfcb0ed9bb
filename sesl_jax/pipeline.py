"""The one way to build a prediction method: a ``MethodConfig`` plus data -> a ``Method``.

The command line, the ``SESL`` estimator, the evaluation runner, the reproduction and the
ranking of new items all describe what they want as a :class:`MethodConfig` and call
:func:`build_method` (raw matrices) or :func:`build_dataset_method` (a ``Dataset``, similarities
resolved from the named sources). The config is what every result records beside itself.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Mapping

import numpy as np

from sesl_jax.data import Dataset
from sesl_jax.methods import METHODS, Method, with_shared_starts
from sesl_jax.similarity import (
    ENCODERS,
    MIRNA_FORMS,
    Similarities,
    check_map,
    dataset_similarities,
    split_configuration,
    split_source,
)
from sesl_jax.similarity._base import check_method_inputs
from sesl_jax.solvers import BNNR_SVT_METHODS

SESL_FAMILY = ("sesl", "se", "bnnr")
OBSERVED_CHOICES = ("nonzero", "known")
VARIANTS = ("default", "published-code")


def methods_with_variants() -> tuple[str, ...]:
    """Methods whose builder takes ``variant=`` (the rivals with a ``published-code`` variant)."""
    return tuple(name for name, spec in METHODS.items()
                 if "variant" in inspect.signature(spec.builder).parameters)


@dataclasses.dataclass(frozen=True)
class MethodConfig:
    """What decides how a method is built; JSON-serialisable through :meth:`to_dict`.

    Attributes:
        method: a name in ``sesl_jax.methods.METHODS``.
        similarity: similarity source ("biological", "sequence", "chemical",
            "drug=SOURCE,mirna=SOURCE", fused sides such as "0.5*chemical+0.5*sequence", see
            ``sesl_jax.similarity``), optionally with ",map=MAP" / ",mirna_form=FORM" / ",encoder=NAME" parts;
            ``None`` = the method's default configuration. Stored without those parts.
        similarity_map: distance-to-similarity map of sequence codes ("gaussian", "inverse",
            "linear", the first two optionally with a width relative to the median distance, e.g.
            "inverse:0.1"; ``sesl_jax.similarity.parse_map``); ``None`` = the map part of the
            similarity string (given or the method's default), else "gaussian".
        mirna_form: which miRNA sequence the RNA encoder reads; ``None`` = the string's part,
            else "mature".
        encoder: which shipped sequence encoders give the ``sequence`` codes, "lstm" or
            "transformer"; ``None`` = the string's part, else "lstm".
        dtype: "float32" or "float64".
        observed: BNNR's observed set for the SESL family ("nonzero" or "known").
        transductive: the labelled published protocol (fits part of the method on the full matrix).
        variant: "default", or "published-code" for rivals that have one.
        bnnr_svt: the SESL family's BNNR singular value thresholding: "eigh" (exact, default),
            "svd", "subspace" (warm-started, with an exact fallback) or "sign" (matrix products only);
            ``SESLOptions.bnnr_svt``.
        shared_start: cross-validation only, SESL family: start each group of this many folds
            (spread over the fold list) from one solve that hides all of the group's pairs (``with_shared_starts``;
            0 = every fold starts cold, as the public code; 1 means the same and is stored as 0).
            Fits ignore it.
    """

    method: str = "sesl"
    similarity: str | None = None
    similarity_map: str | None = None
    mirna_form: str | None = None
    dtype: str = "float64"
    observed: str = "nonzero"
    transductive: bool = False
    variant: str = "default"
    bnnr_svt: str = "eigh"
    encoder: str | None = None
    shared_start: int = 0

    def __post_init__(self) -> None:
        for name in ("method", "similarity", "similarity_map", "mirna_form", "encoder"):  # e.g. read from JSON
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be text; got {value!r}")
        if not isinstance(self.transductive, bool):
            raise TypeError(f"transductive must be true or false; got {self.transductive!r}")
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {', '.join(sorted(METHODS))}")
        text = self.similarity if self.similarity is not None else METHODS[self.method].default_similarity
        source, extras = split_configuration(text)
        split_source(source)  # raises ValueError naming a bad source
        # a part of the method's default similarity gives way to a field; a part of one given must agree
        for name, key in (("similarity_map", "map"), ("mirna_form", "mirna_form"), ("encoder", "encoder")):
            given = getattr(self, name)
            if self.similarity is not None and given is not None and key in extras and (
                    check_map(given) != check_map(extras[key]) if key == "map" else given != extras[key]):
                raise ValueError(f"{name}={given!r} contradicts {key}={extras[key]} in similarity {text!r}; give it once")
        if self.similarity is not None:
            object.__setattr__(self, "similarity", source)
        # None means "not given"; an empty text is a value, refused below as any other
        for name, key, default in (("similarity_map", "map", "gaussian"), ("mirna_form", "mirna_form", "mature"),
                                   ("encoder", "encoder", "lstm")):
            if getattr(self, name) is None:
                object.__setattr__(self, name, extras.get(key, default))
        object.__setattr__(self, "similarity_map", check_map(self.similarity_map))
        for name, value, choices in (
            ("mirna_form", self.mirna_form, MIRNA_FORMS),
            ("encoder", self.encoder, ENCODERS),
            ("dtype", self.dtype, ("float32", "float64")),
            ("observed", self.observed, OBSERVED_CHOICES),
            ("variant", self.variant, VARIANTS),
            ("bnnr_svt", self.bnnr_svt, BNNR_SVT_METHODS),
        ):
            if value not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
        if isinstance(self.shared_start, bool) or not isinstance(self.shared_start, int) or self.shared_start < 0:
            raise ValueError(f"shared_start must be a non-negative integer; got {self.shared_start!r}")
        if self.shared_start == 1:  # a group of one: every fold on its own, cold
            object.__setattr__(self, "shared_start", 0)
        if self.variant != "default" and self.method not in methods_with_variants():
            raise ValueError(f"variant {self.variant!r} exists only for {', '.join(methods_with_variants())}, "
                             f"not for method {self.method!r}")

    @property
    def resolved_similarity(self) -> str:
        """The similarity source used: the given one, else the method's default (without map parts)."""
        text = self.similarity if self.similarity is not None else METHODS[self.method].default_similarity
        return split_configuration(text)[0]

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON. Fields added after result stores existed are left out at their
        default (``bnnr_svt`` eigh, ``encoder`` lstm, ``shared_start`` 0), so the records of such runs (result store
        fingerprints, saved models) stay those written before the fields existed and still resume;
        an absent field reads back as its default."""
        values = dict(dataclasses.asdict(self), similarity=self.resolved_similarity)
        for name, default in _LATER_FIELDS.items():
            if values[name] == default:
                del values[name]
        return values


_LATER_FIELDS = {"bnnr_svt": "eigh", "encoder": "lstm", "shared_start": 0}


def builder_options(config: MethodConfig) -> dict[str, Any]:
    """The builder keyword arguments ``config`` implies for its method."""
    options: dict[str, Any] = {}
    if config.method in SESL_FAMILY:
        from sesl_jax.model import SESLOptions

        options["options"] = SESLOptions(sparse_learning=config.method == "sesl", observed=config.observed,
                                         bnnr_svt=config.bnnr_svt)
    else:
        for name, default in (("observed", "nonzero"), ("bnnr_svt", "eigh"), ("shared_start", 0)):
            if getattr(config, name) != default:
                raise ValueError(f"{name}={getattr(config, name)!r} only applies to {', '.join(SESL_FAMILY)}")
    if config.variant != "default":
        options["variant"] = config.variant
    if config.transductive:
        if METHODS[config.method].transductive_option is None:
            raise ValueError(f"method {config.method!r} has no transductive variant")
        options["transductive"] = True
    return options


def build_method(
    associations: np.ndarray,
    similarities: Similarities,
    config: MethodConfig,
    overrides: Mapping[str, Any] | None = None,
) -> Method:
    """The method of ``config`` over given similarity matrices.

    Args:
        associations: the full association matrix (shapes, rank bounds, transductive variants).
        similarities: drug and miRNA similarity matrices.
        config: what to build.
        overrides: builder keyword arguments that replace those ``config`` implies (e.g.
            ``options=SESLOptions(...)`` or ``params=...`` from the Python API).

    Raises:
        DataError: (a ``ValueError``) for inputs the data layer would refuse: associations not a
            2-D 0/1 matrix, a similarity of the wrong shape, non-finite, outside [0, 1] or asymmetric.
    """
    check_method_inputs(associations, similarities.drug, similarities.mirna)
    check_x64(config.dtype)
    options = {**builder_options(config), **checked_overrides(config, overrides)}
    method = METHODS[config.method].builder(np.asarray(associations), similarities, dtype=config.dtype, **options)
    return with_shared_starts(method, config.shared_start)


def check_x64(dtype: str) -> None:
    """float64 without x64 would run in float32 behind JAX's truncation warnings."""
    import jax

    if dtype == "float64" and not jax.config.jax_enable_x64:
        raise ValueError("float64 needs jax.config.update('jax_enable_x64', True) before any JAX work")


def checked_overrides(config: MethodConfig, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Builder keyword arguments from the Python API, refused where the builder has no such
    argument or where they contradict ``config`` (which the model's records would then misstate)."""
    import inspect

    overrides = dict(overrides or {})
    builder = METHODS[config.method].builder
    accepted = set(inspect.signature(builder).parameters) - {"associations", "similarities", "dtype"}
    unknown = sorted(set(overrides) - accepted)
    if unknown:
        raise TypeError(f"method {config.method!r} takes no option {', '.join(map(repr, unknown))}; its options: "
                        f"{', '.join(sorted(accepted)) or 'none'}")
    for name in ("variant", "transductive"):  # configuration fields, recorded with every result
        if name in overrides:
            raise TypeError(f"{name} is part of the configuration: give MethodConfig({name}=...) (SESL(variant=...) "
                            "for the variant), not a builder option")
    options = overrides.get("options")
    if config.method in SESL_FAMILY and options is not None:
        from sesl_jax.model import SESLOptions

        if not isinstance(options, SESLOptions):
            raise TypeError(f"options must be a SESLOptions, got {type(options).__name__}")
        if options.sparse_learning != (config.method == "sesl"):
            raise ValueError(f"options.sparse_learning={options.sparse_learning} contradicts method {config.method!r}, "
                             f"which {'has' if config.method == 'sesl' else 'has no'} sparse learning: choose "
                             f"method 'sesl' for sparse learning, 'se' or 'bnnr' for none")
        for name in ("observed", "bnnr_svt"):
            if getattr(options, name) != getattr(config, name):
                raise ValueError(f"options.{name}={getattr(options, name)!r} contradicts {name}="
                                 f"{getattr(config, name)!r}; set {name} in the options or as the argument, "
                                 "not both differently")
    return overrides


def resolve_similarities(dataset: Dataset, config: MethodConfig) -> Similarities:
    """The dataset's similarity matrices from the sources ``config`` names."""
    return dataset_similarities(
        dataset, config.resolved_similarity, similarity_map=config.similarity_map, mirna_form=config.mirna_form,
        encoder=config.encoder,
    )


def build_dataset_method(
    dataset: Dataset,
    config: MethodConfig,
    *,
    similarities: Similarities | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Method:
    """The method of ``config`` on ``dataset`` (similarities resolved unless given)."""
    if similarities is None:
        similarities = resolve_similarities(dataset, config)
    return build_method(np.asarray(dataset.associations), similarities, config, overrides)
