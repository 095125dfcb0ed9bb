"""Scoring drugs or miRNAs that are not in the dataset, from their SMILES or sequences alone.

Each new item gets a similarity row to the dataset's items (its encoder code mapped with the
reference set's distance scale; Morgan/Tanimoto for ``chemical`` drugs; Smith-Waterman for
``alignment`` miRNAs), an all-zero association row, and the method is rerun on the problem grown
by that one item; its row (or column) of the completed matrix is its ranking. Every item is
placed alone into the dataset, never beside the other new items of the call. A warning says when
a new item has no close neighbour in the dataset: its scores then rest on little.

What placing needs from the fitted dataset is one :class:`SidePlacement` per side (reference
codes and their scale, fingerprints, sequences). The estimator computes it from the dataset on
first use, and :mod:`sesl_jax.saved_model` stores it, so a loaded model places new items without
the dataset.

Batching: every new item of one call grows the same problem (the same associations plus one zero
row or column, the same similarities except the new item's row), so the method is built once and
only the new similarity row is mapped over. On an accelerator a chunk of rows is vmapped: what
does not depend on the row (SESL's sparse learning of the grown association matrix) is computed
once per chunk, and the completions of the chunk's items run as one batched solve. On CPU the
items of a chunk run one after another inside one compiled loop (``lax.map``), as the evaluation
engine runs folds there (vmap brings no CPU parallelism, PERF.md). Several devices (CPU cores
split into devices, or accelerators) share each chunk; a chunk that runs out of device memory is
solved in halves, as the engine's chunks of folds are. A method whose inputs hold anything else
that depends on the similarities is rebuilt and solved item by item.
"""

from __future__ import annotations

import sys
import warnings
import weakref
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from sesl_jax.data import DataError
from sesl_jax.encoders import SequenceError, pretrained_sha256
from sesl_jax.similarity import distance_scale, distances_to_similarity, euclidean_distances

# A new item is "far" when its best similarity is below this quantile of the dataset items'
# own nearest-neighbour similarities.
NEIGHBOUR_QUANTILE = 0.05
SIDES = ("drug", "mirna")
BATCHING = ("auto", "vmap", "map", "none")
# New items whose similarity rows are computed at once: a multiple of the encoder's batch of 256
# (a smaller call still encodes 256 rows) that keeps rows of large screens out of memory.
ROW_BLOCK = 1024


class SidePlacement(NamedTuple):
    """What placing a new item on one side needs from the fitted dataset (saved with a model).

    Attributes:
        side: ``"drug"`` or ``"mirna"``.
        terms: the similarity terms of a new item, ``((name, weight), ...)``: the fitted source
            without ``biological`` (a new item has no biological row), weights renormalised,
            ``sequence`` alone when nothing else is left.
        dropped_biological: the fitted source had a biological term (a warning says so).
        similarity_map: distance-to-similarity map of the codes.
        codes: (n_items, code_dim) encoder codes of the dataset's items, zero rows where the
            input is missing; ``None`` when no term uses codes.
        code_present: (n_items,) bool, the items that have a code.
        code_scale: distance scale of the present codes under ``similarity_map``.
        encoder_sha256: SHA-256 of the encoder weights that made ``codes``.
        fingerprints: (n_drugs, n_bits) uint8 Morgan bits for ``chemical``, else ``None``.
        sequences: the miRNAs' sequences for ``alignment`` (``None`` where missing), else ``None``.
        encoder: the shipped encoder architecture that made ``codes`` ("lstm" or "transformer").
    """

    side: str
    terms: tuple[tuple[str, float], ...]
    dropped_biological: bool
    similarity_map: str
    codes: np.ndarray | None = None
    code_present: np.ndarray | None = None
    code_scale: float | None = None
    encoder_sha256: str | None = None
    fingerprints: np.ndarray | None = None
    sequences: tuple[str | None, ...] | None = None
    encoder: str = "lstm"


def _encoder_kind(side: str) -> str:
    return "smiles" if side == "drug" else "rna"


def fitted_encoder_digests(sources: Sequence[str], encoder: str) -> dict[str, str | None]:
    """Per side whose similarity (``sources``: drug, miRNA) uses sequence codes, the SHA-256 of the
    encoder weights in use, i.e. those that made the codes of a fit that just ran."""
    from sesl_jax.similarity import parse_side

    return {
        side: pretrained_sha256(_encoder_kind(side), encoder)
        for side, source in zip(("drug", "mirna"), sources)
        if source != "caller" and any(name == "sequence" for name, _ in parse_side(source, side))
    }


def check_encoder_weights(kind: str, encoder: str, expected: str | None) -> None:
    """A CheckpointError unless the ``kind`` encoder weights in use are those with SHA-256 ``expected``
    (new items must be placed with the codes of the weights that a model's similarities came from)."""
    in_use = pretrained_sha256(kind, encoder)
    if expected != in_use:
        from sesl_jax.encoders import CheckpointError

        raise CheckpointError(
            f"the model's {kind} codes come from other {encoder} encoder weights (sha256 {expected}) than those in use "
            f"({in_use}): refit the model to place new items, or set $SESL_JAX_ENCODERS to the directory of the "
            "weights it was fitted with (unset it for the shipped ones)"
        )


def side_placement(
    dataset, side: str, side_source: str, *, similarity_map: str, mirna_form: str, encoder: str = "lstm"
) -> SidePlacement:
    """The placement of ``side`` for a model fitted on ``dataset`` with ``side_source`` (e.g. "sequence")."""
    from sesl_jax.similarity import drug_codes, mirna_codes, mirna_sequences, morgan_fingerprints, parse_side

    fitted = parse_side(side_source, side)
    usable = [(name, weight) for name, weight in fitted if name != "biological"] or [("sequence", 1.0)]
    total = sum(weight for _, weight in usable)
    terms = tuple((name, weight / total) for name, weight in usable)
    fields: dict[str, Any] = {}
    names = {name for name, _ in terms}
    if side == "drug" and not np.any(dataset.has_smiles):
        # every similarity to a new molecule would be 0: its scores would be noise, not a ranking
        raise DataError(f"dataset {dataset.name!r} has no SMILES for any drug: a new molecule cannot be compared with "
                        "its drugs")
    if side == "mirna" and not np.any(mirna_sequences(dataset, mirna_form)[1]):
        raise DataError(f"dataset {dataset.name!r} has no {mirna_form} sequence for any miRNA: a new miRNA cannot be "
                        "compared with its miRNAs")
    if "sequence" in names:
        codes, present = drug_codes(dataset, encoder) if side == "drug" else mirna_codes(dataset, mirna_form, encoder)
        fields.update(
            codes=codes, code_present=np.asarray(present, bool), encoder=encoder,
            encoder_sha256=pretrained_sha256(_encoder_kind(side), encoder),
            code_scale=distance_scale(euclidean_distances(codes[present]), similarity_map),
        )
    if "chemical" in names:
        fields["fingerprints"] = morgan_fingerprints(list(dataset.drug_smiles))[0]
    if "alignment" in names:
        fields["sequences"] = tuple(mirna_sequences(dataset, mirna_form)[0])
    dropped = any(name == "biological" for name, _ in fitted)
    return SidePlacement(side, terms, dropped, similarity_map, **fields)


# ---------------------------------------------------------------------------- similarity rows


def check_new_items(model, side: str, items: Sequence[str]) -> list[SequenceError | None]:
    """Per item, the error that would stop it from being placed by ``model`` (``None``: valid).

    A molecule must be a SMILES RDKit reads (and the encoder can take, when a term uses codes); a
    miRNA must be A, C, G, U (T read as U; the encoder's length limit when a term uses codes).
    """
    from sesl_jax.encoders import load_pretrained

    placement = model._placement(side)
    if placement.codes is not None:  # before reading items with another encoder's tokenizer
        check_encoder_weights(_encoder_kind(placement.side), placement.encoder, placement.encoder_sha256)
    tokenizer = load_pretrained(_encoder_kind(placement.side), placement.encoder).tokenizer
    check = tokenizer.encode if placement.codes is not None else tokenizer.tokenize
    problems: list[SequenceError | None] = []
    for item in items:
        try:
            if not isinstance(item, str):
                kind = "SMILES" if placement.side == "drug" else "RNA"
                raise SequenceError(str(item), None, f"not a string ({type(item).__name__})", kind)
            check(item)
            problems.append(None)
        except SequenceError as error:
            problems.append(error)
    return problems


def similarity_rows(placement: SidePlacement, items: Sequence[str]) -> np.ndarray:
    """Similarity rows (len(items), n_items) of new items to the dataset's items on their side.

    Items must be valid (see :func:`check_new_items`).
    """

    def term_rows(name: str) -> np.ndarray:
        if name == "sequence":
            from sesl_jax.encoders import encode, load_pretrained

            kind = _encoder_kind(placement.side)
            check_encoder_weights(kind, placement.encoder, placement.encoder_sha256)
            index = np.flatnonzero(placement.code_present)
            new_codes = encode(load_pretrained(kind, placement.encoder), list(items))
            rows = np.zeros((len(items), len(placement.codes)))
            # item by item: a row must not depend on the other items of the call (a product of
            # more rows may round differently), so a screen equals ranking each item alone, bit for bit
            reference = placement.codes[index]
            distances = np.vstack([euclidean_distances(code[None, :], reference) for code in new_codes])
            rows[:, index] = distances_to_similarity(distances, placement.similarity_map, placement.code_scale)
            return rows
        if name == "chemical":
            from sesl_jax.similarity import morgan_fingerprints, tanimoto_similarity

            new_bits = morgan_fingerprints(list(items))[0]
            n = len(placement.fingerprints)
            return tanimoto_similarity(np.vstack([placement.fingerprints, new_bits]))[n:, :n]
        if name == "alignment":
            from sesl_jax.encoders import load_pretrained
            from sesl_jax.similarity import alignment_similarity

            tokenizer = load_pretrained("rna").tokenizer  # A, C, G, U in upper case, T read as U
            index = [i for i, sequence in enumerate(placement.sequences) if sequence]
            rows = np.zeros((len(items), len(placement.sequences)))
            if index:
                normalised = ["".join(tokenizer.tokenize(item)) for item in items]
                rows[:, index] = alignment_similarity(normalised, [placement.sequences[i] for i in index])
            return rows
        raise ValueError(f"no similarity row for a new {placement.side} from source {name!r}")

    return sum(weight * term_rows(name) for name, weight in placement.terms)


def _isolated(rows: np.ndarray, similarity: np.ndarray) -> tuple[np.ndarray, float]:
    """Which rows have no close neighbour (see ``NEIGHBOUR_QUANTILE``), and the threshold."""
    off = similarity - np.diag(np.diag(similarity))
    floor = float(np.quantile(off.max(axis=1), NEIGHBOUR_QUANTILE))
    return rows.max(axis=1) < floor, floor


def _warn_isolated(labels: list[str], best: list[float], floor: float, what: str, total: int) -> None:
    if not labels:
        return
    if total == 1:
        message = (f"new {what} {labels[0]!r} has no close neighbour in the dataset (best similarity {best[0]:.3f} "
                   f"< {floor:.3f}, the {NEIGHBOUR_QUANTILE:.0%} quantile of the dataset's nearest neighbours); "
                   "its ranking rests on weak evidence")
    else:
        shown = ", ".join(repr(label) for label in labels[:5]) + (" ..." if len(labels) > 5 else "")
        message = (f"{len(labels)} of {total} new {what}s have no close neighbour in the dataset (best similarity "
                   f"< {floor:.3f}, the {NEIGHBOUR_QUANTILE:.0%} quantile of the dataset's nearest neighbours): "
                   f"{shown}; their rankings rest on weak evidence")
    warnings.warn(message, stacklevel=4)


# ---------------------------------------------------------------------------- the refit


def _grow(similarity: np.ndarray, row: np.ndarray) -> np.ndarray:
    n = len(similarity)
    grown = np.ones((n + 1, n + 1))
    grown[:n, :n] = similarity
    grown[n, :n] = grown[:n, n] = row
    return grown


def _grown_problem(model, side: str, row: np.ndarray):
    """Associations (one zero row or column added) and similarities of the dataset grown by one item."""
    from sesl_jax.similarity import Similarities

    drug, mirna = model.similarities_.drug, model.similarities_.mirna
    associations = np.asarray(model.associations_, np.float64)
    if side == "drug":
        associations = np.vstack([associations, np.zeros((1, associations.shape[1]))])
        drug = _grow(drug, row)
    else:
        associations = np.hstack([associations, np.zeros((associations.shape[0], 1))])
        mirna = _grow(mirna, row)
    return associations, Similarities(drug, mirna, model.similarities_.source + "+new")


def _build(model, side: str, row: np.ndarray):
    from sesl_jax.pipeline import build_method

    associations, similarities = _grown_problem(model, side, row)
    return associations, build_method(associations, similarities, model.config_, model.builder_options)


def _row_only_inputs(template, probe, key: str, probe_similarity: np.ndarray) -> bool:
    """True when the new row reaches the method only through ``inputs[key]``, a plain copy of the
    grown similarity: then that leaf can be rebuilt per item inside the compiled function."""
    if not (isinstance(template.inputs, dict) and key in template.inputs):
        return False
    if not np.array_equal(np.asarray(probe.inputs[key]), probe_similarity.astype(np.asarray(probe.inputs[key]).dtype)):
        return False
    rest = [jax.tree_util.tree_flatten({k: v for k, v in method.inputs.items() if k != key}) for method in (template, probe)]
    (leaves_t, tree_t), (leaves_p, tree_p) = rest
    return tree_t == tree_p and all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(leaves_t, leaves_p))


class _BatchedSolver(NamedTuple):
    function: Callable[..., Any]  # (rows (chunk, n), associations, inputs) -> (scores, iterations, status)
    associations: jax.Array
    inputs: Any
    stages: tuple[str, ...]


# Per fitted model (keyed by its method object, which a refit replaces): the method built for the
# grown problem and its compiled map over new rows, so repeated calls do not trace again.
_SOLVERS: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def _batched_solver(model, side: str, mode: str, devices: tuple = ()) -> _BatchedSolver | None:
    """The compiled map of ``side``'s new rows to their scores, or ``None`` when the method's
    inputs depend on the similarities in another way (then items are refitted one by one). With
    several ``devices`` the rows of a call are split between them (``shard_map``), as folds are."""
    cache = _SOLVERS.setdefault(model.method_, {})
    if (side, mode, devices) in cache:
        return cache[(side, mode, devices)]
    key = f"{side}_similarity"
    n = model.associations_.shape[0 if side == "drug" else 1]
    associations, template = _build(model, side, np.zeros(n))
    probe_row = np.full(n, 0.5)
    _, probe = _build(model, side, probe_row)
    solver = None
    if _row_only_inputs(template, probe, key, _grown_problem(model, side, probe_row)[1][0 if side == "drug" else 1]):
        predict = template.predict

        def one_item(row, associations, inputs):
            grown = inputs[key].at[n, :n].set(row).at[:n, n].set(row)
            output = predict(associations, {**inputs, key: grown})
            scores = output.scores[n] if side == "drug" else output.scores[:, n]
            return scores, output.iterations, output.status

        if mode == "vmap":
            # the row is the only batched argument: work that does not depend on it (the sparse
            # learning of the grown association matrix) stays unbatched, done once per chunk
            batched = jax.vmap(one_item, in_axes=(0, None, None))
        else:
            def batched(rows, associations, inputs):
                return jax.lax.map(lambda row: one_item(row, associations, inputs), rows)

        dtype = model.config_.dtype
        constants = (jnp.asarray(associations, dtype), template.inputs)
        if len(devices) > 1:
            mesh = Mesh(np.asarray(devices), ("items",))
            batched = jax.shard_map(batched, mesh=mesh, in_specs=(PartitionSpec("items"), PartitionSpec(), PartitionSpec()),
                                    out_specs=PartitionSpec("items"), check_vma=False)
            # replicated on every device once, not moved from device 0 per call
            constants = jax.device_put(constants, NamedSharding(mesh, PartitionSpec()))
        elif devices:
            constants = jax.device_put(constants, devices[0])  # the computation follows them there
        solver = _BatchedSolver(jax.jit(batched), *constants, template.stages)
    cache[(side, mode, devices)] = solver
    return solver


def score_new_items(
    model,
    side: str,
    items: Sequence[str],
    *,
    labels: Sequence[str] | None = None,
    batch_size: int | None = None,
    batching: str = "auto",
    progress: bool = False,
    devices: Sequence[jax.Device] | None = None,
    parts=None,
) -> np.ndarray:
    """Scores of new molecules (``side="drug"``) or miRNA sequences (``side="mirna"``).

    Args:
        model: a fitted ``SESL`` (fitted on a Dataset, or loaded from a saved model).
        side: "drug" (``items`` are SMILES) or "mirna" (``items`` are sequences).
        items: the new items; each is placed alone into the dataset.
        labels: names of the items in warnings (default: the items).
        batch_size: items per compiled call (default: a memory budget on accelerators, 4 on CPU,
            as for cross-validation folds).
        batching: "auto" (vmap on accelerators, ``lax.map`` on CPU), "vmap", "map", or "none"
            (build and solve the method per item; what methods that cannot batch always do).
        progress: a progress bar on stderr.
        devices: devices to split the items of a chunk between (default: all local devices; on a
            CPU split into one device per core, ``sesl-jax rank --cpu-devices``, each core solves
            its share). No more devices than items are used, and ``batching="none"`` uses the
            default device. Scores do not depend on the device count. Explicit ``"vmap"`` on
            several CPU devices is refused (it deadlocks XLA:CPU); by default it runs on one.
        parts: a :class:`sesl_jax.screen_parts.ScreenParts` of this screen: finished items are
            read from it instead of being solved, and every chunk solved is written to it.

    Returns:
        (len(items), n_mirnas) for new drugs, (len(items), n_drugs) for new miRNAs, float64.

    Raises:
        SequenceError: the first invalid item.
    """
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    if batching not in BATCHING:
        raise ValueError(f"batching must be one of {BATCHING}, got {batching!r}")
    what = "molecule" if side == "drug" else "miRNA"
    items = list(items)
    labels = list(items if labels is None else labels)
    placement = model._placement(side)
    if not items:
        return np.zeros((0, model.associations_.shape[1 if side == "drug" else 0]))
    for problem in check_new_items(model, side, items):
        if problem is not None:
            raise problem
    if placement.dropped_biological:
        fallback = "the other sources of its side" if placement.terms != (("sequence", 1.0),) else "sequence similarity"
        subject = f"new {what} {labels[0]!r}" if len(items) == 1 else f"a new {what}"
        warnings.warn(f"{subject} has no biological similarity row: its {side} similarity uses {fallback} only",
                      stacklevel=3)

    chosen = devices is not None
    devices = tuple(jax.local_devices() if devices is None else devices)
    if not devices:
        raise ValueError("devices is empty: give at least one device, or None for all local devices")
    device = devices[0]
    mode = batching if batching != "auto" else ("map" if device.platform == "cpu" else "vmap")
    if mode == "vmap" and len(devices) > 1 and device.platform == "cpu":
        # vmapped LAPACK calls on several host devices deadlock jaxlib 0.10 (sesl_jax.evaluation.engine)
        if chosen:
            raise ValueError("batching='vmap' on several CPU devices deadlocks XLA:CPU; use 'map' (the CPU default)")
        devices = devices[:1]
    if mode == "none":
        devices = devices[:1]  # the method is built and solved item by item, on the default device
    # fewer items than devices: the spare devices would only solve padding copies
    devices = devices[: max(1, min(len(devices), len(items)))]
    solver = None if mode == "none" else _batched_solver(model, side, mode, devices)
    if batch_size is None:
        from sesl_jax.evaluation.engine import default_batch_size

        batch_size = default_batch_size(*model.associations_.shape, model.config_.dtype, list(devices))
    similarity = model.similarities_.drug if side == "drug" else model.similarities_.mirna
    scores = np.zeros((len(items), model.associations_.shape[1 if side == "drug" else 0]))
    status: list[np.ndarray] = []
    sub_batch = 0
    far_labels: list[str] = []
    far_best: list[float] = []
    floor = 0.0
    from tqdm.auto import tqdm

    from sesl_jax.evaluation.blas_threads import one_blas_thread_per_device

    with one_blas_thread_per_device(devices), tqdm(total=len(items), unit=what, desc=f"new {what}s",
                                                   disable=not progress, file=sys.stderr, dynamic_ncols=True,
                                                   smoothing=0.1) as bar:
        for start in range(0, len(items), ROW_BLOCK):
            block = slice(start, start + ROW_BLOCK)
            rows = similarity_rows(placement, items[block])
            far, floor = _isolated(rows, similarity)
            far_labels += [label for label, is_far in zip(labels[block], far) if is_far]
            far_best += [float(best) for best, is_far in zip(rows.max(axis=1), far) if is_far]
            if solver is None:
                scores[block], block_status, stages = _solve_each(model, side, rows, bar, start, parts)
            else:
                # a call with fewer items than a chunk pads no more than the devices need: one new
                # molecule is one solve per device, not four
                chunk = -(-max(1, min(int(batch_size), len(items))) // len(devices)) * len(devices)
                sub_batch = min(sub_batch or chunk, chunk)  # a size that ran out of memory is not tried again
                scores[block], block_status, sub_batch = _solve_in_chunks(
                    solver, rows, chunk, sub_batch, len(devices), model.config_.dtype, bar, start, len(items), parts)
                stages = solver.stages
            status.append(block_status)
    _warn_isolated(far_labels, far_best, floor, what, len(items))
    from sesl_jax.solvers import Status

    unconverged = np.concatenate(status) != int(Status.CONVERGED)  # (items, stages)
    for stage, count in zip(stages, unconverged.sum(axis=0)):
        if count:
            warnings.warn(f"{model.method}: stage {stage} stopped before converging for {count} of {len(items)} new {what}s",
                          stacklevel=3)
    return scores


class _ItemOutput(NamedTuple):
    scores: np.ndarray  # (items, n_other)
    status: np.ndarray  # (items, stages)


def _solve_in_chunks(
    solver: _BatchedSolver, rows: np.ndarray, batch_size: int, sub_batch: int, step: int, dtype: str, bar,
    offset: int, total: int, parts=None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Scores and solver status codes of each new row, ``batch_size`` rows per compiled call (the
    last call padded by repeating its last row: one compiled shape for all). A call that runs out
    of device memory is split into halves, in multiples of ``step`` rows (the device count), as
    the evaluation engine splits chunks of folds; later calls start at the size that fitted, which
    is returned (``sub_batch``: where this block of rows starts; ``offset`` and ``total``: the
    block's place among all items, for messages and ``parts``)."""
    from sesl_jax.evaluation.engine import compute_in_sub_batches

    def compute(padded: np.ndarray) -> _ItemOutput:
        scores, _, status = jax.device_get(solver.function(jnp.asarray(padded, dtype), solver.associations, solver.inputs))
        return _ItemOutput(np.asarray(scores, np.float64), np.asarray(status))

    scores, status = [], []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        begin, end = offset + start, offset + start + len(chunk)  # among all items
        finished = parts.read(begin, end) if parts is not None else None
        if finished is None:
            context = f"new items {begin + 1}-{end} of {total} ({dtype})"
            arrays, sub_batch = compute_in_sub_batches(compute, chunk, sub_batch, step, context, unit="items")
            finished = arrays["scores"], arrays["status"]
            if parts is not None:
                parts.write(begin, *finished)
        scores.append(finished[0])
        status.append(finished[1])
        bar.update(len(chunk))
    return np.concatenate(scores), np.concatenate(status), sub_batch


def _solve_each(model, side: str, rows: np.ndarray, bar, offset: int = 0, parts=None
                ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Scores and status codes of each new row by building and solving the grown method per row
    (``offset``: the first row's place among all items, for ``parts``)."""
    n = model.associations_.shape[0 if side == "drug" else 1]  # index of the new item
    scores, status, stages = [], [], None
    for index, row in enumerate(rows):
        finished = parts.read(offset + index, offset + index + 1) if parts is not None else None
        if finished is None:
            associations, method = _build(model, side, row)
            output = jax.jit(method.predict)(jnp.asarray(associations, model.config_.dtype), method.inputs)
            item_scores = np.asarray(output.scores[n] if side == "drug" else output.scores[:, n], np.float64)
            finished = item_scores[None], np.asarray(output.status)[None]
            stages = method.stages
            if parts is not None:
                parts.write(offset + index, *finished)
        scores.append(finished[0][0])
        status.append(finished[1][0])
        bar.update(1)
    if stages is None:  # every row was read back: the stages' names from one build
        stages = _build(model, side, rows[0])[1].stages
    return np.stack(scores), np.stack(status), stages
