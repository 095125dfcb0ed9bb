"""Ranking tables from a score matrix: one ID's candidates by score, with rank and known-pair flag.

Free of JAX, so that ranking from a saved model's scores (``sesl-jax rank --model DIR --drug ID``)
does not start it; ``SESL.rank_mirnas`` / ``rank_drugs`` / ``screen`` build their tables here too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sesl_jax._values import check_boolean, check_integer, is_integer
from sesl_jax.data._validate import unknown_id_error


def rank_known(scores: np.ndarray, associations: np.ndarray, drug_ids: list[str], mirna_ids: list[str], *,
               drug: str | None = None, mirna: str | None = None, top: int | None = None,
               novel_only: bool = False) -> pd.DataFrame:
    """The miRNAs of a ``drug`` of the dataset (columns rank, mirna_id, score, known), or the drugs of a
    ``mirna`` (rank, drug_id, score, known), from the (n_drugs, n_mirnas) ``scores``; ``known`` marks
    the pairs of ``associations``, which ``novel_only`` leaves out (ranks then count the novel
    candidates only). An unknown ID is a ``DataError`` naming the closest ones."""
    if (drug is None) == (mirna is None):
        raise ValueError("give exactly one of drug or mirna")
    if drug is not None:
        row = index_of(drug, drug_ids, "drug")
        return ranked(scores[row], associations[row] != 0, mirna_ids, "mirna_id", top, novel_only=novel_only)
    column = index_of(mirna, mirna_ids, "miRNA")
    return ranked(scores[:, column], associations[:, column] != 0, drug_ids, "drug_id", top, novel_only=novel_only)


def index_of(item: str, ids: list[str], what: str) -> int:
    """Position of ``item`` in ``ids``; else a ``DataError`` that suggests close IDs."""
    if not isinstance(item, str):  # e.g. a row number: IDs are strings, so name the one it may mean
        from sesl_jax.data._errors import DataError

        hint = f"; position {item} is {ids[item]!r}" if is_integer(item) and -len(ids) <= item < len(ids) else ""
        raise DataError(f"{what} IDs are strings, got {item!r} ({type(item).__name__}){hint}")
    try:
        return ids.index(item)
    except ValueError:
        raise unknown_id_error(item, ids, kind=what) from None


def ranked(scores: np.ndarray, known: np.ndarray, ids: list[str], id_column: str, top: int | None, *,
           novel_only: bool = False) -> pd.DataFrame:
    """``ids`` by decreasing score (ties in dataset order): rank, ``id_column``, score, known; the ``top``
    first; ``novel_only`` drops the known pairs before ranking."""
    check_top(top)
    check_boolean("novel_only", novel_only)  # "no" would act as True
    check_finite_scores(scores)
    order = np.lexsort((np.arange(len(scores)), -scores))  # by score, ties by dataset order
    if novel_only:
        order = order[~known[order]]
    frame = pd.DataFrame(
        {
            "rank": np.arange(1, len(order) + 1),
            id_column: np.asarray(ids, dtype=object)[order],
            "score": scores[order],
            "known": known[order],
        }
    )
    return frame if top is None else frame.head(top)


def check_top(top) -> None:
    """``None`` (all) or an integer >= 1 (2.5 or True would fail in pandas, or mean 1)."""
    check_integer("top", top, 1, optional=True)


def check_finite_scores(scores: np.ndarray) -> None:
    """A ranking of NaN scores would look like an answer; a failed fit is said instead."""
    if not np.all(np.isfinite(scores)):
        raise ValueError("the scores to rank are not all finite (NaN or inf): the fit that made them failed "
                         "(see its solver status); refit with other parameters")


def ranked_many(scores: np.ndarray, query_ids: list[str], ids: list[str], id_column: str, top: int | None) -> pd.DataFrame:
    """``ranked`` of every row of ``scores`` (n_queries, n_ids), stacked with a query_id column."""
    check_top(top)
    check_finite_scores(scores)
    n_queries, n_ids = scores.shape
    order = np.argsort(-scores, axis=1, kind="stable")  # by score, ties by dataset order, as ranked
    keep = n_ids if top is None else min(top, n_ids)
    order = order[:, :keep]
    return pd.DataFrame(
        {
            "query_id": np.repeat(np.asarray(query_ids, dtype=object), keep),
            "rank": np.tile(np.arange(1, keep + 1), n_queries),
            id_column: np.asarray(ids, dtype=object)[order].ravel(),
            "score": np.take_along_axis(scores, order, axis=1).ravel(),
            "known": np.zeros(n_queries * keep, bool),
        }
    )
