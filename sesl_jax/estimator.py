"""``SESL``: a small estimator over any registered method (scikit-learn style).

``__init__`` stores parameters; ``fit`` computes the full score matrix; fitted attributes end
in ``_``. Ranking returns pandas tables with IDs, scores, ranks and a known-pair flag; ``screen``
ranks many new molecules or sequences at once. ``save`` / ``load`` keep a fitted model on disk
(:mod:`sesl_jax.saved_model`) so ranking needs no refit.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from sesl_jax._values import check_integer, check_not_text, float_dtype_name
from sesl_jax.data import Dataset
from sesl_jax.pipeline import MethodConfig, build_method, check_x64, resolve_similarities
from sesl_jax.provenance import data_provenance
from sesl_jax.ranking import check_top, rank_known, ranked, ranked_many
from sesl_jax.similarity import Similarities, split_source
from sesl_jax.similarity._base import check_method_inputs
from sesl_jax.solvers import Status


def resolve_dtype(dtype: str | None) -> str:
    """Default float64 when x64 is on, else float32; float64 without x64 is an error, not a silent cast."""
    if dtype is None:
        return "float64" if jax.config.jax_enable_x64 else "float32"
    dtype = float_dtype_name(dtype)
    check_x64(dtype)
    return dtype


class SESL:
    """Fit SESL (or an ablation / rival) on a dataset and rank its pairs.

    Args:
        method: a name in ``sesl_jax.methods.METHODS`` ("sesl", "se", "bnnr", rivals).
        similarity: similarity source ("biological", "sequence", "chemical" or
            "drug=X,mirna=Y", each side possibly fused, e.g. "0.5*biological+0.5*sequence");
            default: the method's own default.
        similarity_map: distance-to-similarity map for sequence codes: "gaussian", "inverse", "linear",
            or "inverse:W" / "gaussian:W" with a width relative to the median distance (``parse_map``).
        mirna_form: "mature" or "hairpin" sequences for the RNA encoder.
        encoder: "lstm" (default) or "transformer": the shipped encoders giving the sequence codes.
        dtype: "float32" or "float64" (default: float64 when x64 is enabled).
        observed: BNNR's observed set for sesl/se/bnnr ("nonzero" or "known").
        variant: "default", or "published-code" for the rivals that have one.
        bnnr_svt: BNNR's thresholding for sesl/se/bnnr: "eigh" (exact), "svd", "subspace" (warm-started)
            or "sign" (matrix products only, for accelerators).
        builder_options: method-specific keyword arguments that override those the
            configuration implies (e.g. ``options=SESLOptions(...)``, ``params=...``).

    Example:
        >>> from sesl_jax import SESL, load_dataset          # doctest: +SKIP
        >>> model = SESL("sesl", similarity="biological").fit(load_dataset("fcd"))  # doctest: +SKIP
        >>> model.rank_mirnas("CID:3229").head()             # doctest: +SKIP
    """

    def __init__(
        self,
        method: str = "sesl",
        *,
        similarity: str | None = None,
        similarity_map: str | None = None,
        mirna_form: str | None = None,
        encoder: str | None = None,
        dtype: str | None = None,
        observed: str = "nonzero",
        variant: str = "default",
        bnnr_svt: str = "eigh",
        **builder_options: Any,
    ):
        self.method = method
        self.similarity = similarity
        self.similarity_map = similarity_map
        self.mirna_form = mirna_form
        self.encoder = encoder
        self.dtype = dtype
        self.observed = observed
        self.variant = variant
        self.bnnr_svt = bnnr_svt
        self.builder_options = builder_options

    @classmethod
    def from_config(cls, config: MethodConfig, **builder_options: Any) -> "SESL":
        """An unfitted model of ``config``, e.g. a benchmark's default:
        ``SESL.from_config(sesl_jax.defaults.dataset_default("pcd").config)``.

        ``transductive`` and ``shared_start`` shape cross-validation folds only: a model fitted on
        all known pairs is the same with or without them, so they are not kept."""
        if not isinstance(config, MethodConfig):
            raise TypeError(f"from_config takes a MethodConfig, got {type(config).__name__}: e.g. "
                            "SESL.from_config(MethodConfig(**values))")
        return cls(
            config.method, similarity=config.similarity, similarity_map=config.similarity_map,
            mirna_form=config.mirna_form, dtype=config.dtype, observed=config.observed, variant=config.variant,
            bnnr_svt=config.bnnr_svt, encoder=config.encoder, **builder_options,
        )

    def method_config(self) -> MethodConfig:
        """The :class:`~sesl_jax.pipeline.MethodConfig` these parameters describe; ``observed`` and
        ``bnnr_svt`` left at their defaults take the values of an ``options=SESLOptions(...)``."""
        observed, bnnr_svt = self.observed, self.bnnr_svt
        options = self.builder_options.get("options")
        if options is not None and hasattr(options, "observed") and hasattr(options, "bnnr_svt"):
            observed = options.observed if observed == "nonzero" else observed
            bnnr_svt = options.bnnr_svt if bnnr_svt == "eigh" else bnnr_svt
        return MethodConfig(
            method=self.method, similarity=self.similarity, similarity_map=self.similarity_map,
            mirna_form=self.mirna_form, dtype=resolve_dtype(self.dtype), observed=observed, variant=self.variant,
            bnnr_svt=bnnr_svt, encoder=self.encoder,
        )

    # ------------------------------------------------------------------ fitting

    def fit(
        self,
        data: Dataset | np.ndarray,
        drug_similarity: np.ndarray | None = None,
        mirna_similarity: np.ndarray | None = None,
        *,
        drug_ids: list[str] | None = None,
        mirna_ids: list[str] | None = None,
    ) -> "SESL":
        """Fit on a ``Dataset`` (similarities from ``similarity``) or on raw matrices.

        Args:
            data: a ``Dataset``, or the association matrix (n_drugs, n_mirnas) of 0/1; a DataFrame
                labelled with string IDs gives ``drug_ids``/``mirna_ids``, and similarity
                DataFrames with the same labels are reordered to match it.
            drug_similarity, mirna_similarity: required with a raw matrix; override the
                source with a dataset.
            drug_ids, mirna_ids: with a raw matrix, one unique string per row / column
                (default ``drug0, drug1, ...`` and ``mirna0, ...``); a ``Dataset`` has its own.
        """
        config = self.method_config()
        if isinstance(data, Dataset):
            if drug_ids is not None or mirna_ids is not None:
                raise ValueError("drug_ids and mirna_ids name the rows and columns of a raw matrix; a Dataset has its own")
            dataset = data
            associations = np.asarray(dataset.associations)
            if drug_similarity is None or mirna_similarity is None:
                resolved = resolve_similarities(dataset, config)
                # a side the caller gives is the caller's: recorded so, and never extended to new items
                sources = tuple("caller" if given is not None else source for given, source
                                in zip((drug_similarity, mirna_similarity), split_source(config.resolved_similarity)))
                drug_similarity = resolved.drug if drug_similarity is None else drug_similarity
                mirna_similarity = resolved.mirna if mirna_similarity is None else mirna_similarity
                source = resolved.source
                if "caller" in sources:
                    source += f"; {'drug' if sources[0] == 'caller' else 'miRNA'} similarity given by the caller"
            else:
                source, sources = "caller", ("caller", "caller")
            drug_ids, mirna_ids = list(dataset.drug_ids), list(dataset.mirna_ids)
        else:
            dataset = None
            if isinstance(data, pd.DataFrame):
                data, drug_similarity, mirna_similarity, drug_ids, mirna_ids = _from_frames(
                    data, drug_similarity, mirna_similarity, drug_ids, mirna_ids)
            associations = np.asarray(data, dtype=np.float64)
            if drug_similarity is None or mirna_similarity is None:
                raise ValueError("fitting on a raw association matrix needs drug_similarity and mirna_similarity")
            check_method_inputs(associations, drug_similarity, mirna_similarity)
            source, sources = "caller", ("caller", "caller")
            check_not_text("drug_ids", drug_ids)
            check_not_text("mirna_ids", mirna_ids)
            drug_ids = list(drug_ids) if drug_ids is not None else [f"drug{i}" for i in range(associations.shape[0])]
            mirna_ids = list(mirna_ids) if mirna_ids is not None else [f"mirna{j}" for j in range(associations.shape[1])]
        _check_inputs(associations, drug_similarity, mirna_similarity, drug_ids, mirna_ids)
        dtype = config.dtype
        similarities = Similarities(np.asarray(drug_similarity), np.asarray(mirna_similarity), source)
        method = build_method(associations, similarities, config, self.builder_options)
        output = jax.jit(method.predict)(jnp.asarray(associations, dtype), method.inputs)
        self.method_ = method
        self.config_ = config
        self.dataset_ = dataset
        self.similarities_ = similarities
        self.similarity_sources_ = sources
        self.associations_ = associations
        self.drug_ids_, self.mirna_ids_ = drug_ids, mirna_ids
        self.scores_ = np.asarray(output.scores, dtype=np.float64)
        self.stats_ = {
            stage: {"iterations": int(output.iterations[i]), "status": Status(int(output.status[i])).name.lower()}
            for i, stage in enumerate(method.stages)
        }
        self.dtype_ = dtype
        self.data_provenance_ = data_provenance(dataset) if dataset is not None else None
        self.placement_ = {}  # per side, filled on first use of a new item (or by ``load``)
        # the encoder weights behind the fitted similarities: a placement built later must use the same
        from sesl_jax.new_items import fitted_encoder_digests

        self.fitted_encoders_ = fitted_encoder_digests(sources, config.encoder) if dataset is not None else {}
        for stage, stat in self.stats_.items():
            if stat["status"] != "converged":
                warnings.warn(f"{self.method}: stage {stage} stopped with status {stat['status']}", stacklevel=2)
        return self

    def config(self) -> dict[str, Any]:
        """The resolved configuration (method config, similarity source, dtype)."""
        self._check_fitted()
        return {**self.config_.to_dict(), "similarity": self.similarities_.source, "method_config": dict(self.method_.config)}

    # ------------------------------------------------------------------ outputs

    def scores_frame(self) -> pd.DataFrame:
        """Score matrix as a (drug_id x mirna_id) DataFrame."""
        self._check_fitted()
        return pd.DataFrame(self.scores_, index=pd.Index(self.drug_ids_, name="drug_id"), columns=self.mirna_ids_)

    def rank_mirnas(self, drug: str | None = None, *, smiles: str | None = None, top: int | None = None,
                    novel_only: bool = False) -> pd.DataFrame:
        """miRNAs ranked for one drug of the dataset, or for a new molecule given by SMILES.

        ``novel_only`` leaves out the drug's known miRNAs (a new molecule has none), so ``top``
        counts candidates only.

        Returns:
            DataFrame with columns rank, mirna_id, score, known (rank 1 = highest score).
        """
        self._check_fitted()
        if (drug is None) == (smiles is None):
            raise ValueError("give exactly one of drug (an ID in the dataset) or smiles (a new molecule)")
        if smiles is None:
            return rank_known(self.scores_, self.associations_, self.drug_ids_, self.mirna_ids_, drug=drug, top=top,
                              novel_only=novel_only)
        from sesl_jax.new_items import score_new_items

        scores = score_new_items(self, "drug", [smiles])[0]
        return ranked(scores, np.zeros(len(self.mirna_ids_), bool), self.mirna_ids_, "mirna_id", top)

    def rank_drugs(self, mirna: str | None = None, *, sequence: str | None = None, top: int | None = None,
                   novel_only: bool = False) -> pd.DataFrame:
        """Drugs ranked for one miRNA of the dataset, or for a new miRNA sequence; ``novel_only`` as
        in :meth:`rank_mirnas`.

        Returns:
            DataFrame with columns rank, drug_id, score, known.
        """
        self._check_fitted()
        if (mirna is None) == (sequence is None):
            raise ValueError("give exactly one of mirna (an ID in the dataset) or sequence (a new miRNA)")
        if sequence is None:
            return rank_known(self.scores_, self.associations_, self.drug_ids_, self.mirna_ids_, mirna=mirna, top=top,
                              novel_only=novel_only)
        from sesl_jax.new_items import score_new_items

        scores = score_new_items(self, "mirna", [sequence])[0]
        return ranked(scores, np.zeros(len(self.drug_ids_), bool), self.drug_ids_, "drug_id", top)

    def screen(
        self,
        smiles: Sequence[str] | None = None,
        *,
        sequences: Sequence[str] | None = None,
        ids: Sequence[str] | None = None,
        top: int | None = None,
        batch_size: int | None = None,
        progress: bool = False,
        devices: Sequence[Any] | None = None,
        parts: str | os.PathLike | Any | None = None,
    ) -> pd.DataFrame:
        """Rank miRNAs for many new molecules, or drugs for many new miRNA sequences, in one table.

        Each item is placed alone into the dataset, as ``rank_mirnas(smiles=...)`` places one;
        the refits of all items are batched (see :mod:`sesl_jax.new_items`).

        Args:
            smiles: new molecules (give this or ``sequences``).
            sequences: new miRNA sequences.
            ids: one unique ID per item (default: the SMILES or sequences themselves).
            top: keep the ``top`` best per item.
            batch_size: items per compiled call (default: sized to the device).
            progress: a progress bar on stderr.
            devices: JAX devices that share each chunk of items (default: all local devices; see
                :func:`sesl_jax.new_items.score_new_items`).
            parts: a directory (or an open :class:`sesl_jax.screen_parts.ScreenParts`) where each
                finished chunk is kept: a screen interrupted and called again with the same model,
                items and IDs solves only what is left. Remove it when the table is saved; it
                refuses the parts of another screen.

        Returns:
            Long DataFrame, items in input order: query_id, rank, mirna_id (drug_id for
            sequences), score, known (always False: a new item has no known pair).

        Raises:
            SequenceError: an invalid SMILES or sequence (nothing is scored).
        """
        from sesl_jax.new_items import score_new_items

        self._check_fitted()
        if (smiles is None) == (sequences is None):
            raise ValueError("give exactly one of smiles (new molecules) or sequences (new miRNAs)")
        for name, value in (("smiles", smiles), ("sequences", sequences), ("ids", ids)):
            check_not_text(name, value)
        side, items = ("drug", list(smiles)) if smiles is not None else ("mirna", list(sequences))
        given_ids = ids is not None
        ids = list(items if ids is None else ids)
        if len(ids) != len(items):
            raise ValueError(f"{len(ids)} ids for {len(items)} items")
        if given_ids:  # the table's query_id: IDs as fit's
            _check_id_list(ids, "ids")
        duplicates = sorted({str(i) for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
        if duplicates:
            raise ValueError(f"ids must be unique; repeated: {', '.join(duplicates[:5])}")
        check_top(top)
        check_integer("batch_size", batch_size, 1, optional=True)
        def scores_with(opened):
            return score_new_items(self, side, items, labels=ids, batch_size=batch_size, progress=progress,
                                   devices=devices, parts=opened)

        if parts is None:
            scores = scores_with(None)
        else:
            from sesl_jax._io import json_ready
            from sesl_jax.screen_parts import ScreenParts, screen_identity

            identity = screen_identity(self, side, items, ids)
            if isinstance(parts, ScreenParts):
                if parts.identity != json_ready(identity):
                    raise ValueError(f"parts {parts.directory} belong to another screen (model, items or IDs)")
                scores = scores_with(parts)
            else:
                with ScreenParts(parts, identity) as opened:  # locked while this screen runs
                    scores = scores_with(opened)
        other_ids, id_column = (self.mirna_ids_, "mirna_id") if side == "drug" else (self.drug_ids_, "drug_id")
        return ranked_many(scores, ids, other_ids, id_column, top)

    # ------------------------------------------------------------------ saving

    def save(self, directory: str | os.PathLike) -> Path:
        """Write the fitted model to ``directory`` (see :mod:`sesl_jax.saved_model`); atomic."""
        from sesl_jax.saved_model import save_model

        return save_model(self, directory)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "SESL":
        """A fitted model read back from ``directory``; ranks without refitting.

        Raises:
            SavedModelError: a missing file, another format version, a checksum or shape mismatch.
        """
        from sesl_jax.saved_model import load_model

        return load_model(directory, cls)

    def _placement(self, side: str):
        """What placing a new item on ``side`` needs (:class:`sesl_jax.new_items.SidePlacement`)."""
        from sesl_jax.new_items import check_encoder_weights, side_placement

        self._check_fitted()
        if self.placement_.get(side) is None:
            source = self.similarity_sources_[0 if side == "drug" else 1]
            if self.dataset_ is None or source == "caller":
                what = "molecule" if side == "drug" else "miRNA"
                raise ValueError(
                    f"ranking a new {what} needs a model fitted on a Dataset with named similarity sources (this one "
                    "was fitted on caller-given matrices)"
                )
            fitted_with = getattr(self, "fitted_encoders_", {}).get(side)
            if fitted_with is not None:
                check_encoder_weights("smiles" if side == "drug" else "rna", self.config_.encoder, fitted_with)
            self.placement_[side] = side_placement(
                self.dataset_, side, source, similarity_map=self.config_.similarity_map, mirna_form=self.config_.mirna_form,
                encoder=self.config_.encoder,
            )
        return self.placement_[side]

    def _check_fitted(self) -> None:
        if not hasattr(self, "scores_"):
            raise RuntimeError("this SESL instance is not fitted yet; call fit() first")


def _check_inputs(associations, drug_similarity, mirna_similarity, drug_ids, mirna_ids) -> None:
    # the matrices themselves are checked by check_method_inputs (raw input) and build_method
    n_drugs, n_mirnas = associations.shape
    checks = [
        (len(drug_ids) == n_drugs, f"{len(drug_ids)} drug IDs for {n_drugs} rows"),
        (len(mirna_ids) == n_mirnas, f"{len(mirna_ids)} miRNA IDs for {n_mirnas} columns"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    for name, ids in (("drug_ids", drug_ids), ("mirna_ids", mirna_ids)):
        _check_id_list(ids, name)


def _from_frames(associations: pd.DataFrame, drug_similarity, mirna_similarity, drug_ids, mirna_ids):
    """A labelled association table gives the IDs, and labelled similarity tables are put in its
    order (by position they could pair the wrong items without a word)."""
    def labels(index: pd.Index) -> list[str] | None:
        return list(index) if all(isinstance(label, str) for label in index) and len(index) else None

    ids = []
    for name, given, index in (("drug_ids", drug_ids, associations.index), ("mirna_ids", mirna_ids, associations.columns)):
        found = labels(index)
        if given is not None and found is not None and list(given) != found:
            raise ValueError(f"{name} differ from the association table's labels; give one or the other")
        ids.append(given if given is not None else found)
    similarities = []
    for side, similarity, side_ids in (("drug", drug_similarity, ids[0]), ("miRNA", mirna_similarity, ids[1])):
        if isinstance(similarity, pd.DataFrame) and side_ids is not None and labels(similarity.index) is not None:
            for axis, index in (("rows", similarity.index), ("columns", similarity.columns)):
                missing = [item for item in side_ids if item not in set(index)]
                if missing or len(index) != len(side_ids):
                    detail = f"lacks {missing[0]!r}" if missing else f"has {len(index)} labels for {len(side_ids)} {side}s"
                    raise ValueError(f"{side} similarity table's {axis} {detail} of the association table")
            similarity = similarity.loc[side_ids, side_ids]
        similarities.append(similarity)
    return associations.to_numpy(), *similarities, *ids


def _check_id_list(ids: list, name: str) -> None:
    """Unique, non-empty strings: what ranking, saving and loading look items up by."""
    for position, item in enumerate(ids):
        if not isinstance(item, str) or not item.strip() or item != item.strip():  # as Dataset's IDs
            raise ValueError(f"{name}[{position}] is {item!r}: IDs must be non-empty strings without surrounding "
                             "spaces (convert numbers with [str(i) for i in ids])")
    first: dict[str, int] = {}
    for position, item in enumerate(ids):
        if item in first:
            raise ValueError(f"{name}: {item!r} appears at positions {first[item]} and {position}; IDs must be unique")
        first[item] = position
