"""Training the sequence auto-encoders: optax, one jit-compiled step, checkpoints and resume.

Every epoch draws a fresh random order of the training sequences from ``(seed, epoch)``, groups
sequences of similar length (sorting within pools of 32 batches, then shuffling the batches), and
pads each batch to a multiple of ``length_multiple`` steps, so little time goes into padding and
few shapes are compiled. Partial batches are filled with rows of length 0, which count nowhere.
With ``augment_smiles``, each epoch's training rows are random spellings of their molecules
(:mod:`sesl_jax.encoders._augmentation`, seeded by ``(seed, epoch, row)``); validation always
uses the original rows. The learning rate follows a schedule that is a function of the global
step only (:func:`learning_rate_schedule`); the step count lives in the optimizer state, which
the checkpoints carry.

A checkpoint (model, optimizer, position in the epoch) is written atomically every
``checkpoint_every`` steps, at the end of every epoch and when the time budget runs out;
``resume=True`` continues from it and gives the same weights as an uninterrupted run.
``init_weights`` starts a run from another run's weights with a fresh optimizer and schedule (a warm
restart: a finished run trained further, or shipped weights fine-tuned).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import sys
import time
import zipfile
from pathlib import Path
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from sesl_jax._io import atomic_write, atomic_write_json, sha256_file
from sesl_jax.encoders._augmentation import augmentation_seeds, randomize_rows
from sesl_jax.encoders._checkpoint import CheckpointError, load_checkpoint, restore_optimizer, save_checkpoint
from sesl_jax._values import check_boolean, check_integer, check_number, is_integer
from sesl_jax.encoders._config import check_instance
from sesl_jax.encoders._architectures import ModelConfig, architecture_of, build_model
from sesl_jax.encoders._model import EncoderConfig, SequenceAutoencoder, greedy_decode
from sesl_jax.encoders._tokenizers import SequenceError, Tokenizer, check_sequences, pad_rows

CHECKPOINT_NAME = "checkpoint.npz"
WEIGHTS_NAME = "encoder.npz"
HISTORY_NAME = "history.json"
TOKENS_NAME = "corpus_rows.npz"


class CorpusError(ValueError):
    """A corpus with too few distinct valid sequences to train on (the message gives the counts)."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train (the model sizes are in :class:`EncoderConfig`).

    Attributes:
        epochs: passes over the training split.
        batch_size: sequences per step.
        learning_rate: Adam step size; the peak of the schedule.
        schedule: ``"constant"`` or ``"cosine"`` (half a cosine from ``learning_rate`` down to
            ``final_learning_rate`` over ``decay_steps``).
        warmup_steps: steps of linear warm-up to ``learning_rate`` before the schedule (0: none).
        decay_steps: steps from the start to the end of the cosine, warm-up included; ``None``:
            ``epochs`` x steps per epoch (then ``epochs`` cannot change on resume). Cosine only.
        final_learning_rate: the cosine's last value, at most ``learning_rate``. Cosine only.
        augment_smiles: train on randomized SMILES (SMILES tokenizers only).
        freeze_batch_norm: batch norm uses its running averages in training too, and keeps them as
            they are: the rest of the network learns the statistics that encoding uses. Needs a
            model with batch norm and trained weights to start from (``init_weights``). Trained on
            length-bucketed batches, a model learns to use each batch's statistics, which carry the
            batch's lengths; encoding with the running averages then reconstructs worse
            (``docs/results.md``).
        grad_clip: global gradient-norm clip.
        validation_fraction: share of the distinct sequences held out (at least one).
        seed: initial weights, validation split and batch order.
        length_multiple: batches are padded to a multiple of this many steps.
        checkpoint_every: steps between checkpoints (0: only at epoch ends).
        max_minutes: stop (with a checkpoint) once this much wall time has passed; ``None``: no limit.
            A run stopped by time is not reproducible by itself: its history records the steps
            taken, and ``max_steps`` replays it exactly.
        max_steps: stop (with a checkpoint) after this many optimizer steps in all; ``None``: no limit.
        greedy_validation: validation sequences reconstructed free-running (argmax fed back) at the end.
    """

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    schedule: str = "constant"
    warmup_steps: int = 0
    decay_steps: int | None = None
    final_learning_rate: float = 0.0
    augment_smiles: bool = False
    freeze_batch_norm: bool = False
    grad_clip: float = 1.0
    validation_fraction: float = 0.05
    seed: int = 0
    length_multiple: int = 8
    checkpoint_every: int = 500
    max_minutes: float | None = None
    max_steps: int | None = None
    greedy_validation: int = 2000

    def __post_init__(self):
        # The same bounds as the command line's options, for callers of the Python API.
        for name, minimum in (("epochs", 1), ("batch_size", 1), ("length_multiple", 1), ("checkpoint_every", 0),
                              ("seed", 0), ("greedy_validation", 0), ("warmup_steps", 0)):
            check_integer(name, getattr(self, name), minimum)
        check_integer("max_steps", self.max_steps, 1, optional=True)
        check_integer("decay_steps", self.decay_steps, 1, optional=True)
        for name in ("learning_rate", "grad_clip") + (("max_minutes",) if self.max_minutes is not None else ()):
            check_number(name, getattr(self, name), 0)
        check_number("final_learning_rate", self.final_learning_rate, 0, inclusive=True)
        check_number("validation_fraction", self.validation_fraction, 0, inclusive=True)
        check_boolean("augment_smiles", self.augment_smiles)
        check_boolean("freeze_batch_norm", self.freeze_batch_norm)
        for field in dataclasses.fields(self):  # NumPy and JAX scalars are not JSON; Python's stay as given
            value = getattr(self, field.name)
            if value is not None and not isinstance(value, (int, float, str, bool)):
                object.__setattr__(self, field.name, bool(value) if field.name in ("augment_smiles", "freeze_batch_norm")
                                   else int(value) if is_integer(value) else float(value))
        if self.validation_fraction >= 1:  # 0 still holds out one sequence
            raise ValueError(f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of {SCHEDULES}")
        if self.schedule != "cosine":  # a constant rate would ignore them
            for name, unused in (("decay_steps", None), ("final_learning_rate", 0.0)):
                if getattr(self, name) != unused:
                    raise ValueError(f"{name} applies to schedule='cosine' (the rate is {self.schedule}), "
                                     f"got {getattr(self, name)!r}")
        elif self.final_learning_rate > self.learning_rate:
            raise ValueError(f"final_learning_rate must be at most learning_rate {self.learning_rate!r} "
                             f"(a cosine decays), got {self.final_learning_rate!r}")
        if self.decay_steps is not None and self.decay_steps <= self.warmup_steps:
            raise ValueError("need warmup_steps >= 0 and decay_steps > warmup_steps")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


SCHEDULES = ("constant", "cosine")

# Fields that may change between a run and its resumption.
_RESUMABLE_CHANGES = ("epochs", "max_minutes", "max_steps", "checkpoint_every", "greedy_validation")


@dataclasses.dataclass
class TrainResult:
    """What :func:`train_encoder` returns.

    Attributes:
        model: the trained model (evaluation mode).
        tokenizer: its tokenizer.
        history: one dict per (possibly partial) epoch: losses and accuracies, seconds, throughput.
        validation: final validation metrics, teacher-forced and free-running.
        completed: False when the time or step budget stopped training before ``epochs``.
        steps: optimizer steps taken in all (with those before a resume).
        counts: sequences read, skipped as invalid or too long, duplicates, training, validation.
    """

    model: SequenceAutoencoder
    tokenizer: Tokenizer
    history: list[dict[str, Any]]
    validation: dict[str, float]
    completed: bool
    counts: dict[str, int]
    steps: int = 0


def tokenize_corpus(
    tokenizer: Tokenizer, sequences: Sequence[str], *, skip_invalid: bool = True
) -> tuple[list[np.ndarray], list[int], dict[str, int]]:
    """Distinct id rows of ``sequences`` with the index of each row's first source sequence.

    Invalid or too long sequences are skipped (and counted) when ``skip_invalid``, else raise.
    """
    rows: list[np.ndarray] = []
    sources: list[int] = []
    seen: set[bytes] = set()
    counts = {"read": len(sequences), "skipped": 0, "duplicates": 0}
    for index, sequence in enumerate(sequences):
        try:
            row = tokenizer.encode(sequence)
        except SequenceError:
            if not skip_invalid:
                raise
            counts["skipped"] += 1
            continue
        key = row.tobytes()
        if key in seen:
            counts["duplicates"] += 1
            continue
        seen.add(key)
        rows.append(row)
        sources.append(index)
    return rows, sources, counts


def tokenize_corpus_cached(
    tokenizer: Tokenizer, sequences: Sequence[str], cache: str | os.PathLike | None
) -> tuple[list[np.ndarray], list[int], dict[str, int]]:
    """:func:`tokenize_corpus`, kept in the file ``cache`` for the next call with the same input.

    Tokenizing is the slow part of preparing a corpus (RDKit reads every SMILES: about 0.6 ms of
    CPU each), so a resumed run, or ``encoder evaluate`` on a run's split, reads the id rows
    back instead. The file is used only when the tokenizer and every sequence are the same
    (a SHA-256 over both); ``None`` caches nothing.
    """
    digest = hashlib.sha256(json.dumps(tokenizer.config(), sort_keys=True).encode())
    digest.update("\n".join(sequences).encode())
    key = digest.hexdigest()
    path = Path(cache) if cache is not None else None
    if path is not None and path.is_file():
        try:
            with np.load(path) as stored:
                if str(stored["key"]) == key:
                    ids, offsets = stored["ids"], stored["offsets"]
                    rows = [ids[offsets[i] : offsets[i + 1]].astype(np.int32) for i in range(len(offsets) - 1)]
                    return rows, stored["sources"].tolist(), json.loads(str(stored["counts"]))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass  # unreadable: tokenize again and overwrite it
    rows, sources, counts = tokenize_corpus(tokenizer, sequences)
    if path is not None:
        offsets = np.concatenate([[0], np.cumsum([len(row) for row in rows])]).astype(np.int64)
        ids = np.concatenate(rows).astype(np.uint8 if tokenizer.vocab_size <= 256 else np.int32) if rows else np.zeros(0, np.uint8)
        atomic_write(path, lambda tmp: np.savez(open(tmp, "wb"), key=np.asarray(key), ids=ids, offsets=offsets,
                                                 sources=np.asarray(sources, np.int64), counts=np.asarray(json.dumps(counts))))
    return rows, sources, counts


def split_validation(count: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, validation) index arrays of ``count`` items; at least one of each when count > 1."""
    order = np.random.default_rng([seed, 2**31 - 1]).permutation(count)
    held_out = min(max(1, int(round(fraction * count))), count - 1) if count > 1 else 0
    return np.sort(order[held_out:]), np.sort(order[:held_out])


def epoch_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Index batches of one epoch: a seeded shuffle, length-sorted within pools, batches shuffled."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    pool = 32 * batch_size
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def make_batch(rows: Sequence[np.ndarray], indices: np.ndarray, batch_size: int, length_multiple: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids (batch_size, L), lengths) of ``rows[indices]``; L a multiple of ``length_multiple``."""
    chosen = [rows[i] for i in indices]
    longest = max(len(row) for row in chosen)
    width = int(math.ceil(longest / length_multiple) * length_multiple)
    ids, lengths = pad_rows(chosen, pad_to=width)
    if len(chosen) < batch_size:  # rows of length 0 keep one compiled shape per width
        ids = np.concatenate([ids, np.zeros((batch_size - len(chosen), width), np.int32)])
        lengths = np.concatenate([lengths, np.zeros(batch_size - len(chosen), np.int32)])
    return ids, lengths


def learning_rate_schedule(config: TrainConfig, total_steps: int | None = None) -> optax.Schedule:
    r"""The learning rate as a function of the global step ``s`` (0 for the first update).

    With ``w`` warm-up steps, peak ``r``, final ``f`` and ``N`` decay steps (``config.decay_steps``,
    else ``total_steps``):

    .. math::

        \eta(s) = \begin{cases} r (s + 1) / w & s < w \\
        r & s \ge w \text{ (constant)} \\
        f + \tfrac{1}{2}(r - f)\left(1 + \cos\left(\pi \min\left(1, \tfrac{s - w}{N - w}\right)\right)\right)
        & s \ge w \text{ (cosine)} \end{cases}
    """
    peak, final, warmup = config.learning_rate, config.final_learning_rate, config.warmup_steps
    decay = config.decay_steps if config.decay_steps is not None else total_steps
    if config.schedule == "cosine" and (decay is None or decay <= warmup):
        raise ValueError(f"a cosine schedule needs more decay steps ({decay}) than warm-up steps ({warmup})")

    def schedule(step):
        step = jnp.asarray(step, jnp.float32)
        if config.schedule == "cosine":
            progress = jnp.clip((step - warmup) / (decay - warmup), 0.0, 1.0)
            value = final + 0.5 * (peak - final) * (1.0 + jnp.cos(jnp.pi * progress))
        else:
            value = jnp.asarray(peak, jnp.float32)
        if warmup:
            value = jnp.where(step < warmup, peak * (step + 1.0) / warmup, value)
        return value

    return schedule


def make_optimizer(model: SequenceAutoencoder, config: TrainConfig, total_steps: int | None = None) -> nnx.Optimizer:
    """Clipped Adam; ``total_steps`` sets a cosine's length when ``config.decay_steps`` is None."""
    # A constant rate stays a number: no step count in the optimizer state, as before schedules.
    constant = config.schedule == "constant" and not config.warmup_steps
    rate = config.learning_rate if constant else learning_rate_schedule(config, total_steps)
    transform = optax.chain(optax.clip_by_global_norm(config.grad_clip), optax.adam(rate))
    return nnx.Optimizer(model, transform, wrt=nnx.Param)


@nnx.jit
def train_step(model: SequenceAutoencoder, optimizer: nnx.Optimizer, ids: jax.Array, lengths: jax.Array) -> dict[str, jax.Array]:
    """One Adam step on a padded batch; returns the batch's summed counts (see ``sequence_loss``)."""

    def loss_fn(model):
        return model.loss(ids, lengths)  # the LSTM's reconstruction or the transformer's masked tokens

    (_, counts), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model)
    optimizer.update(model, grads)
    return counts


@nnx.jit
def eval_step(model: SequenceAutoencoder, ids: jax.Array, lengths: jax.Array) -> dict[str, jax.Array]:
    """Counts of a batch (model in evaluation mode): teacher-forced, or masked tokens with fixed masks."""
    return model.loss(ids, lengths)[1]


@nnx.jit(static_argnames="max_steps")
def _reconstruct(model: SequenceAutoencoder, ids: jax.Array, lengths: jax.Array, max_steps: int) -> jax.Array:
    return greedy_decode(model, model.encode(ids, lengths), max_steps)


def _summarise(totals: dict[str, float], prefix: str) -> dict[str, float]:
    tokens, sequences = max(totals.get("tokens", 0.0), 1.0), max(totals.get("sequences", 0.0), 1.0)
    return {
        f"{prefix}loss": totals.get("loss_sum", 0.0) / tokens,
        f"{prefix}token_accuracy": totals.get("correct_tokens", 0.0) / tokens,
        f"{prefix}sequence_accuracy": totals.get("correct_sequences", 0.0) / sequences,
    }


def _add(totals: dict[str, float], counts: dict[str, jax.Array]) -> None:
    for key, value in counts.items():
        totals[key] = totals.get(key, 0.0) + float(value)


def evaluate(
    model: SequenceAutoencoder, rows: Sequence[np.ndarray], *, batch_size: int = 256, length_multiple: int = 8, greedy: int = 0
) -> dict[str, Any]:
    """Validation metrics of ``rows`` (id rows with ``<bos>``/``<eos>``).

    Teacher-forced: ``loss``, ``token_accuracy``, ``sequence_accuracy`` (all tokens of a row right
    when each step sees the true previous token). Free-running, on the first ``greedy`` rows:
    ``greedy_token_accuracy`` (position-wise, over the true length incl. ``<eos>``) and
    ``greedy_sequence_accuracy`` (the whole sequence and its end reproduced exactly), and both per
    band of sequence length in ``greedy_by_length`` (where the errors lie: a long hairpin that
    fails weighs more tokens than a short mature miRNA), with each band's mean length of the
    correct prefix (how many of a sequence's tokens, ``<eos>`` not counted, come out right before
    the first wrong one). Leaves the model in evaluation mode.
    """
    model.eval()
    totals: dict[str, float] = {}
    order = np.argsort([len(row) for row in rows], kind="stable")
    for start in range(0, len(rows), batch_size):
        ids, lengths = make_batch(rows, order[start : start + batch_size], batch_size, length_multiple)
        _add(totals, eval_step(model, jnp.asarray(ids), jnp.asarray(lengths)))
    metrics = _summarise(totals, "")
    if "code_loss_sum" in totals:  # the transformer's bottleneck head
        metrics.update(code_loss=totals["code_loss_sum"] / max(totals["tokens"], 1.0),
                       code_token_accuracy=totals["code_correct_tokens"] / max(totals["tokens"], 1.0))
    if greedy and architecture_of(model) == "lstm":
        subset = [rows[i] for i in range(min(greedy, len(rows)))]
        order = np.argsort([len(row) for row in subset], kind="stable")
        counts = band_counts()
        for start in range(0, len(subset), batch_size):
            chosen = order[start : start + batch_size]
            ids, lengths = make_batch(subset, chosen, batch_size, length_multiple)
            predicted = np.asarray(_reconstruct(model, jnp.asarray(ids), jnp.asarray(lengths), ids.shape[1] - 1))
            add_free_running(counts, ids, lengths, predicted, len(chosen))
        overall = overall_accuracies(counts)
        metrics["greedy_token_accuracy"] = overall["token_accuracy"]
        metrics["greedy_sequence_accuracy"] = overall["sequence_accuracy"]
        metrics["greedy_sequences"] = len(subset)
        metrics["greedy_by_length"] = band_accuracies(counts)
    return metrics


# Bands of sequence length (tokens, without <bos>/<eos>; None: no upper bound) for the free-running
# breakdown: mature miRNAs and short SMILES, hairpins and long SMILES, and beyond.
LENGTH_BANDS = ((1, 32), (33, 64), (65, 128), (129, None))


def length_band(length: int) -> tuple[int, int | None]:
    return next(band for band in LENGTH_BANDS if band[1] is None or length <= band[1])


def band_counts() -> dict[tuple[int, int | None], np.ndarray]:
    """Per length band: sequences, sequences right, tokens, tokens right, and the tokens of the
    rows' correct prefixes (filled by add_free_running)."""
    return {band: np.zeros(5, np.int64) for band in LENGTH_BANDS}


def add_free_running(counts: dict, ids: np.ndarray, lengths: np.ndarray, predicted: np.ndarray, rows: int) -> None:
    """Count the first ``rows`` free-running reconstructions ``predicted`` of a batch (``ids``,
    ``lengths``) position-wise over each true length incl. ``<eos>``."""
    for row in range(rows):
        target = ids[row, 1 : lengths[row]]
        right = predicted[row, : len(target)] == target
        # the sequence's tokens before the first wrong one (<eos> not counted: a whole row gives its length)
        prefix = len(target) - 1 if right.all() else min(int(np.argmin(right)), len(target) - 1)
        counts[length_band(len(target) - 1)] += (1, right.all(), len(target), right.sum(), prefix)  # without <eos>


def band_accuracies(counts: dict) -> list[dict[str, Any]]:
    return [{"min_length": low, "max_length": high, "sequences": int(c[0]), "tokens": int(c[2]),
             "token_accuracy": c[3] / c[2], "sequence_accuracy": c[1] / c[0], "mean_correct_prefix": c[4] / c[0]}
            for (low, high), c in counts.items() if c[0]]


def overall_accuracies(counts: dict) -> dict[str, Any]:
    """The bands of :func:`band_counts` together: sequences, tokens and both accuracies."""
    rows, right_rows, tokens, right_tokens, _ = sum(counts.values())
    return {"sequences": int(rows), "tokens": int(tokens), "token_accuracy": right_tokens / max(tokens, 1),
            "sequence_accuracy": right_rows / max(rows, 1)}


def _corpus_digest(rows: Sequence[np.ndarray], repeats: np.ndarray) -> str:
    digest = hashlib.sha256()
    for row, repeat in zip(rows, repeats):
        digest.update(row.tobytes())
        digest.update(int(repeat).to_bytes(4, "little"))
        digest.update(b"|")
    return digest.hexdigest()


def train_encoder(
    tokenizer: Tokenizer,
    sequences: Sequence[str],
    model_config: ModelConfig | None = None,
    train_config: TrainConfig = TrainConfig(),
    *,
    repeats: Sequence[int] | None = None,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    init_weights: str | os.PathLike | None = None,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
    metadata: dict[str, Any] | None = None,
) -> TrainResult:
    """Train a :class:`SequenceAutoencoder` to reconstruct ``sequences``, or a
    :class:`~sesl_jax.encoders.SequenceTransformer` (given a ``TransformerConfig``) to predict their masked tokens.

    Args:
        tokenizer: turns sequences into ids; its vocabulary size fixes the model's.
        sequences: the corpus; invalid, too long and duplicate sequences are dropped (counted).
        model_config: sizes; ``None`` uses the defaults with the tokenizer's vocabulary size.
        train_config: epochs, batch size, seed, time budget, ...
        repeats: per sequence, how many times it enters each training epoch (oversampling);
            the validation split is drawn before repeating, over distinct sequences.
        out_dir: where checkpoints, the final weights (``encoder.npz``), ``history.json`` and the
            tokenized corpus (``corpus_rows.npz``, reused on resume) go; ``None`` writes nothing.
        resume: continue from ``out_dir/checkpoint.npz``; the tokenizer, sizes, corpus and
            training settings (except epochs and the time budget) must be the same.
        init_weights: a checkpoint or weights file (e.g. a finished run's ``encoder.npz``, not one
            in ``out_dir``, which this run overwrites) to start from instead of random weights, with a
            fresh optimizer and schedule; its architecture and sizes must be this run's, its tokenizer
            too except for ``max_length``. Its SHA-256 is kept in the checkpoints; a resume continues
            from the checkpoint and needs it only to check a file it is given.
        progress: show a tqdm bar; ``None``: only when stderr is a terminal.
        log: called with one line per epoch (e.g. ``print``) and, without a bar, one per checkpoint
            written inside an epoch.
        metadata: extra JSON stored in the checkpoints.
    """
    started = time.monotonic()
    say = log or (lambda message: None)
    check_instance("tokenizer", tokenizer, Tokenizer, "a SmilesTokenizer or an RnaTokenizer")
    check_sequences(sequences, "train_encoder")
    if model_config is not None:
        check_instance("model_config", model_config, ModelConfig, "an EncoderConfig, a TransformerConfig or None")
    check_instance("train_config", train_config, TrainConfig, "a TrainConfig")
    config = model_config or EncoderConfig(vocab_size=tokenizer.vocab_size)
    if config.vocab_size != tokenizer.vocab_size:
        raise ValueError(f"model vocab_size {config.vocab_size} != tokenizer vocabulary {tokenizer.vocab_size}")
    if getattr(config, "max_length", math.inf) < tokenizer.max_length + 2:  # the transformer's position table
        raise ValueError(f"model max_length {config.max_length} < tokenizer max_length {tokenizer.max_length} + 2")
    if repeats is not None:
        if len(repeats) != len(sequences):
            raise ValueError("repeats must have one entry per sequence")
        for index, count in enumerate(repeats):  # int() would truncate a fraction
            check_integer(f"repeats[{index}]", count, 1)
    if train_config.augment_smiles and tokenizer.kind != "smiles":
        raise ValueError(f"augment_smiles needs a SMILES tokenizer, not {tokenizer.kind}")
    if train_config.freeze_batch_norm and getattr(config, "batch_norm", "none") == "none":
        raise ValueError("freeze_batch_norm needs a model with batch norm (EncoderConfig.batch_norm)")
    if train_config.freeze_batch_norm and init_weights is None and not resume:
        raise ValueError("freeze_batch_norm keeps the running averages of trained weights: give init_weights")

    out_path = Path(out_dir) if out_dir is not None else None
    initial, init_sha256 = None, None
    if init_weights is not None:
        if out_path is not None and Path(init_weights).resolve() in {(out_path / name).resolve() for name in (CHECKPOINT_NAME, WEIGHTS_NAME)}:
            raise CheckpointError(f"{init_weights}: this run writes its own {Path(init_weights).name} there; "
                                  "train into another directory (or copy the file elsewhere first)")
        # checked before the corpus is tokenized, which can take minutes
        initial = load_initial_weights(init_weights, config, tokenizer)
        init_sha256 = sha256_file(init_weights)
    rows, sources, counts = tokenize_corpus_cached(tokenizer, sequences, out_path / TOKENS_NAME if out_path else None)
    if len(rows) < 2:
        raise CorpusError(f"need at least two distinct valid sequences to train, got {len(rows)} ({counts['read']} read, "
                          f"{counts['skipped']} invalid or too long, {counts['duplicates']} repeated)")
    row_repeats = np.asarray([1 if repeats is None else int(repeats[i]) for i in sources], dtype=np.int64)
    train_index, validation_index = split_validation(len(rows), train_config.validation_fraction, train_config.seed)
    training_rows = [rows[i] for i in train_index for _ in range(row_repeats[i])]
    validation_rows = [rows[i] for i in validation_index]
    counts.update(distinct=len(rows), training=len(train_index), training_with_repeats=len(training_rows), validation=len(validation_rows))
    training_lengths = np.asarray([len(row) for row in training_rows])
    steps_per_epoch = int(math.ceil(len(training_rows) / train_config.batch_size))
    corpus_sha256 = _corpus_digest(rows, row_repeats)
    schedule_steps = train_config.decay_steps or train_config.epochs * steps_per_epoch
    schedule = learning_rate_schedule(train_config, schedule_steps)

    model = build_model(config, nnx.Rngs(train_config.seed))
    _training_mode(model, train_config)
    optimizer = make_optimizer(model, train_config, schedule_steps)
    history: list[dict[str, Any]] = []
    start_epoch, start_batch, step = 0, 0, 0
    checkpoint_path = out_path / CHECKPOINT_NAME if out_path is not None else None
    if initial is not None and not resume:
        # weights and batch statistics only: the transformer's masking key stays this run's (seeded)
        nnx.update(model, nnx.state(initial.model, nnx.Any(nnx.Param, nnx.BatchStat)))
        say(f"starting from the weights of {init_weights}")

    if resume:
        if checkpoint_path is None:
            raise ValueError("resume=True needs out_dir")
        checkpoint = load_checkpoint(checkpoint_path, expected_config=config, expected_tokenizer=tokenizer)
        saved = checkpoint.progress
        if saved.get("corpus_sha256") != corpus_sha256:
            raise CheckpointError(f"{checkpoint_path}: trained on another corpus; cannot resume on this one")
        # A resumed run continues from its checkpoint; initial weights, if named, must be the ones it started from.
        saved_init = saved.get("init_weights_sha256")
        if init_weights is not None and init_sha256 != saved_init:
            if saved_init is None:
                raise CheckpointError(f"{checkpoint_path}: the run started from random weights; resume without initial weights")
            raise CheckpointError(f"{checkpoint_path}: the run started from other weights (SHA-256 {saved_init}) than {init_weights}")
        init_sha256 = saved_init
        # Settings added since a checkpoint was written had their defaults then.
        saved_config = {**TrainConfig().to_dict(), **saved.get("train_config", {})}
        differing = [
            key for key, value in train_config.to_dict().items()
            if key not in _RESUMABLE_CHANGES and saved_config.get(key) != value
        ]
        if differing:
            raise CheckpointError(f"{checkpoint_path}: training settings differ from the checkpoint's: {differing}")
        if train_config.schedule == "cosine" and saved.get("schedule_steps") != schedule_steps:
            raise CheckpointError(
                f"{checkpoint_path}: the cosine schedule ran over {saved.get('schedule_steps')} steps, now {schedule_steps}; "
                "keep the first run's epochs or give decay_steps"
            )
        nnx.update(model, nnx.state(checkpoint.model))
        restore_optimizer(optimizer, checkpoint, str(checkpoint_path))
        start_epoch, start_batch, step = saved["epoch"], saved["batch"], saved["step"]
        history = list(saved.get("history", []))
        say(f"resumed from {checkpoint_path}: epoch {start_epoch + 1}, batch {start_batch}, step {step}")

    def write_checkpoint(epoch: int, batch: int) -> None:
        if checkpoint_path is None:
            return
        save_checkpoint(
            checkpoint_path, model, tokenizer, optimizer=optimizer,
            progress={
                "epoch": epoch, "batch": batch, "step": step, "history": history,
                "corpus_sha256": corpus_sha256, "train_config": train_config.to_dict(),
                "schedule_steps": schedule_steps, "init_weights_sha256": init_sha256,
            },
            metadata={**(metadata or {}), "counts": counts},
        )

    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    deadline = started + 60.0 * train_config.max_minutes if train_config.max_minutes is not None else math.inf
    completed = True
    epoch = start_epoch
    since = None  # (time, step, epoch's sequences) after this process's first step: speeds leave compilation out
    say(
        f"{tokenizer.kind}: {counts['training']} training ({counts['training_with_repeats']} with repeats), "
        f"{counts['validation']} validation sequences; {counts['skipped']} skipped, {counts['duplicates']} duplicates; "
        f"{steps_per_epoch} steps per epoch"
    )
    while epoch < train_config.epochs:
        batches = epoch_batches(training_lengths, train_config.batch_size, train_config.seed, epoch)
        first = start_batch if epoch == start_epoch else 0
        totals: dict[str, float] = {}
        if train_config.augment_smiles:
            seeds = augmentation_seeds(train_config.seed, epoch, len(training_rows))
            fallbacks = 0
        _training_mode(model, train_config)
        epoch_started = time.monotonic()
        if since is not None:  # a new epoch: its validation is not training time, its totals start at zero
            since = (time.monotonic(), step, 0.0)
        stopped_at = None
        with tqdm(total=len(batches), initial=first, desc=f"epoch {epoch + 1}/{train_config.epochs}", disable=not show, leave=False) as bar:
            for batch_number in range(first, len(batches)):
                chosen = batches[batch_number]
                if train_config.augment_smiles:
                    batch_rows, failed = randomize_rows(tokenizer, [training_rows[i] for i in chosen], seeds[chosen])
                    fallbacks += failed
                    ids, lengths = make_batch(batch_rows, np.arange(len(chosen)), train_config.batch_size, train_config.length_multiple)
                else:
                    ids, lengths = make_batch(training_rows, chosen, train_config.batch_size, train_config.length_multiple)
                batch_counts = train_step(model, optimizer, jnp.asarray(ids), jnp.asarray(lengths))
                _add(totals, batch_counts)
                step += 1
                if since is None:
                    since = (time.monotonic(), step, totals["sequences"])
                bar.update(1)
                if step % 20 == 0:
                    bar.set_postfix(loss=f"{totals['loss_sum'] / max(totals['tokens'], 1):.3f}")
                out_of_budget = time.monotonic() > deadline or (train_config.max_steps is not None and step >= train_config.max_steps)
                if out_of_budget and batch_number + 1 < len(batches):
                    stopped_at = batch_number + 1
                    break
                if train_config.checkpoint_every and step % train_config.checkpoint_every == 0:
                    write_checkpoint(epoch, batch_number + 1)
                    if checkpoint_path is not None and not show and batch_number + 1 < len(batches):
                        # a log has no bar; an epoch's end has its own line
                        now = time.monotonic()
                        say(_format_progress(epoch, train_config.epochs, batch_number + 1, len(batches), step, totals,
                                             (step - since[1], totals["sequences"] - since[2], now - since[0]),
                                             train_config.max_steps))
                        since = (now, step, totals["sequences"])
        seconds = time.monotonic() - epoch_started
        entry = {"epoch": epoch + 1, "steps": step, "seconds": seconds,
                 "sequences_per_second": totals.get("sequences", 0.0) / max(seconds, 1e-9),
                 "learning_rate": float(schedule(max(step - 1, 0))),
                 **({"augmentation_fallbacks": fallbacks} if train_config.augment_smiles else {}),
                 **_summarise(totals, "train_"), **{f"val_{k}": v for k, v in evaluate(model, validation_rows).items()}}
        if stopped_at is not None:
            entry.update(partial=True, batches_done=stopped_at - first, batches=len(batches))
            history.append(entry)
            write_checkpoint(epoch, stopped_at)
            completed = False
            say(_format_entry(entry) + f"  (budget reached after batch {stopped_at}/{len(batches)}, step {step})")
            break
        history.append(entry)
        epoch += 1
        write_checkpoint(epoch, 0)
        say(_format_entry(entry))
        out_of_budget = time.monotonic() > deadline or (train_config.max_steps is not None and step >= train_config.max_steps)
        if out_of_budget and epoch < train_config.epochs:
            completed = False
            say(f"budget reached at the end of epoch {epoch}, step {step}")
            break

    validation = evaluate(model, validation_rows, greedy=train_config.greedy_validation)
    if out_path is not None:
        save_checkpoint(
            out_path / WEIGHTS_NAME, model, tokenizer,
            metadata={**(metadata or {}), "counts": counts, "validation": validation, "completed": completed,
                      "epochs_run": epoch, "steps": step, "train_config": train_config.to_dict(),
                      "corpus_sha256": corpus_sha256, "init_weights_sha256": init_sha256},
        )
        atomic_write_json(out_path / HISTORY_NAME, {"history": history, "validation": validation, "counts": counts})
    return TrainResult(model=model, tokenizer=tokenizer, history=history, validation=validation, completed=completed, counts=counts,
                       steps=step)


def _training_mode(model: nnx.Module, train_config: TrainConfig) -> None:
    model.train()
    if train_config.freeze_batch_norm:  # after train(), which turns every running average off
        modules = nnx.iter_modules(model) if hasattr(nnx, "iter_modules") else model.iter_modules()  # flax < 0.12
        for _, module in modules:
            if isinstance(module, nnx.BatchNorm):
                module.use_running_average = True


def load_initial_weights(path: str | os.PathLike, config: ModelConfig, tokenizer: Tokenizer):
    """The checkpoint at ``path`` if a run with ``config`` and ``tokenizer`` can start from it.

    The tokenizers must agree in everything but ``max_length``: a finished run's weights accept
    longer sequences than its training filter. (A transformer's position table is part of its
    configuration, so it must be the same.)
    """
    checkpoint = load_checkpoint(path, expected_config=config)
    ours = {key: value for key, value in tokenizer.config().items() if key != "max_length"}
    theirs = {key: value for key, value in checkpoint.tokenizer.config().items() if key != "max_length"}
    if ours != theirs:
        differing = sorted(key for key in set(ours) | set(theirs) if ours.get(key) != theirs.get(key))
        raise CheckpointError(f"{path}: tokenizer differs from this run's in {differing}")
    return checkpoint


def _format_progress(epoch: int, epochs: int, batch: int, batches: int, step: int, totals: dict[str, float],
                     interval: tuple[int, float, float], max_steps: int | None) -> str:
    """One line at a checkpoint within an epoch: where the run is; the training figures of the
    batches this process has run of the epoch (since a resume, after one); the speed over
    ``interval`` (steps, sequences, seconds since the previous line, or since this process's first
    step, so that compilation is left out); the time left at that speed to the epoch's end or to
    ``max_steps``, whichever comes first."""
    summary = _summarise(totals, "train_")
    steps, sequences, seconds = interval
    rate = steps / max(seconds, 1e-9)
    left, end = batches - batch, "the epoch's end"
    if max_steps is not None and max_steps - step < left:
        left, end = max(max_steps - step, 0), f"step {max_steps}"
    speed = f"{rate:.2f} steps/s, {sequences / max(seconds, 1e-9):.0f} seq/s, " if steps > 0 else ""
    minutes = left / rate / 60 if steps > 0 and rate > 0 else math.nan
    eta = ("" if math.isnan(minutes) else
           f"{'under a minute' if minutes < 1 else f'about {minutes:.0f} min'} to {end}; ")
    return (f"epoch {epoch + 1}/{epochs}, batch {batch}/{batches}, step {step}: train loss {summary['train_loss']:.4f} "
            f"tok {summary['train_token_accuracy']:.4f} seq {summary['train_sequence_accuracy']:.4f} | "
            f"{speed}{eta}checkpoint written")


def _format_entry(entry: dict[str, Any]) -> str:
    return (
        f"epoch {entry['epoch']}: train loss {entry['train_loss']:.4f} "
        f"tok {entry['train_token_accuracy']:.4f} seq {entry['train_sequence_accuracy']:.4f} | "
        f"val loss {entry['val_loss']:.4f} tok {entry['val_token_accuracy']:.4f} "
        f"seq {entry['val_sequence_accuracy']:.4f} | {entry['seconds']:.0f}s, "
        f"{entry['sequences_per_second']:.0f} seq/s"
    )
