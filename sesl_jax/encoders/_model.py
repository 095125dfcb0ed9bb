"""The LSTM sequence auto-encoder of SPEC step 1, in flax.nnx.

Shapes: ``B`` sequences, ``T`` padded length (ids include ``<bos>`` and ``<eos>``), ``V`` vocabulary,
``H`` hidden units, ``K`` layers, ``D`` code dimension.

- Encoder: one-hot tokens -> K stacked LSTM layers -> the final (cell, hidden) state of every
  layer at each row's true last step, concatenated (B, 2KH) -> linear layer -> code (B, D).
  ``nnx.RNN(..., return_carry=True)`` with ``seq_lengths`` picks the state at the true last step,
  so extra padding never changes a code.
- ``reverse_input`` (default on): the encoder reads each sequence from its end to its start, so
  the first tokens the decoder must produce are the last the encoder saw (the source reversal of
  Sutskever et al., 2014). The paper does not say which way its encoder reads. Measured on the
  RNA corpus (128 x 2, batch 64, 250 steps): training loss 1.15 reversed vs 1.42 (no better than
  the token frequencies, the code still ignored) forward.
- ``bidirectional`` (default off): a second stack of K layers reads each sequence the other way;
  each layer's outputs in both directions, concatenated (2H), feed the next layer, and the code is
  made from the final states of both stacks (B, 4KH). A one-way encoder must carry the tokens it
  read first through the whole sequence; the one-way 3 x 256 RNA model reproduces miRBase hairpins
  (60-120 nt) right for their first 26 (unseen) to 38 (trained on) bases only (``docs/results.md``).
  Reading both ways is an experiment, off by default: at 2 x 128 on the RNA corpus, 2,500 steps left
  a bidirectional model still ignoring its code (free-running 0.32 token accuracy) where the one-way
  model reached 0.77; whether it helps at paper size, trained long, is untried.
- Decoder: 2K fully connected ReLU layers map the code to the initial cell and hidden state of
  each of the K decoder LSTM layers; the decoder reads ``<bos> t_1 ... t_n`` (teacher forcing) and
  predicts ``t_1 ... t_n <eos>`` through a linear layer and a softmax over the vocabulary.
- Optional batch normalisation of the LSTM outputs (the paper uses it), ``batch_norm``:
  ``"encoder"`` between the encoder's layers; ``"both"`` also after each decoder layer, the
  paper's words taken literally. ``"both"`` leaks the targets in training: a decoder batch's
  statistics pool every step of every row, so a teacher-forced prediction sees a summary of the
  tokens it is to predict, most of all in length-bucketed batches of near-identical sequences.
  Measured on a 3 x 256 RNA model after 1,600 steps: validation loss 0.29 with the statistics of
  length-sorted batches, 0.76 of random batches, 0.98 with the running averages that encoding and
  free-running decoding use (``benchmarks/batch_norm_leak.py``). The encoder reads a whole sequence before its code exists, so its
  statistics leak no target; but a length-bucketed batch's statistics carry the batch's lengths,
  and a model trained long enough comes to use them: the 3 x 256 SMILES model after 30,000 steps
  reconstructs unseen molecules free-running at 0.84 token / 0.62 sequence accuracy with the
  running averages, 0.93 / 0.82 with its batches' statistics (``docs/results.md``). Training on
  with the running averages fixed (``TrainConfig.freeze_batch_norm``) teaches the rest of the
  network the statistics that encoding uses. Off (``"none"``) by default: the shipped models train
  well without it, and with it a code depends on the batch-norm running averages, which are part
  of the weights. Statistics ignore padded steps, so padding invariance holds either way.

All parameters and computations are float32, whatever ``jax_enable_x64`` says.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import nnx

from sesl_jax.encoder_files import BATCH_NORM_MODES
from sesl_jax._values import check_boolean, check_integer
from sesl_jax.encoders._config import ConfigRecord

DTYPE = jnp.float32


@dataclasses.dataclass(frozen=True)
class EncoderConfig(ConfigRecord):
    """Sizes of a :class:`SequenceAutoencoder` (the paper: 3 x 256 LSTM layers, 64-d code)."""

    vocab_size: int
    hidden_size: int = 256
    num_layers: int = 3
    code_dim: int = 64
    batch_norm: str = "none"
    reverse_input: bool = True
    bidirectional: bool = False

    def __post_init__(self):
        for name in ("vocab_size", "hidden_size", "num_layers", "code_dim"):
            check_integer(f"EncoderConfig.{name}", getattr(self, name), 1)
            object.__setattr__(self, name, int(getattr(self, name)))  # NumPy and JAX scalars are not JSON
        for name in ("reverse_input", "bidirectional"):
            check_boolean(f"EncoderConfig.{name}", getattr(self, name))
            object.__setattr__(self, name, bool(getattr(self, name)))  # np.bool_ is not JSON
        mode = self.batch_norm
        if isinstance(mode, bool):  # checkpoints before the modes stored a bool: True normalised both sides
            mode = "both" if mode else "none"
        if mode not in BATCH_NORM_MODES:
            raise ValueError(f"EncoderConfig.batch_norm must be one of {', '.join(BATCH_NORM_MODES)}, got {self.batch_norm!r}")
        object.__setattr__(self, "batch_norm", mode)


def _lstm_stack(config: EncoderConfig, input_size: int, rngs: nnx.Rngs, reverse: bool = False,
                inner_size: int | None = None) -> nnx.List:
    """``num_layers`` LSTM layers; the first reads ``input_size`` features, the others ``inner_size``
    (default ``hidden_size``; twice that after a bidirectional layer)."""
    layers = []
    for layer in range(config.num_layers):
        cell = nnx.OptimizedLSTMCell(
            input_size if layer == 0 else inner_size or config.hidden_size,
            config.hidden_size,
            dtype=DTYPE,
            param_dtype=DTYPE,
            rngs=rngs,
        )
        # rngs=False: the carry is always given, so the layer needs no random state. A reversed
        # layer reads each row's valid steps right to left (padding stays at the end) and returns
        # its outputs in reading order of the original sequence (keep_order).
        layers.append(nnx.RNN(cell, return_carry=True, reverse=reverse, keep_order=True, rngs=False))
    return nnx.List(layers)


def _norms(config: EncoderConfig, count: int, rngs: nnx.Rngs, *, decoder: bool) -> nnx.List:
    if config.batch_norm == "none" or (decoder and config.batch_norm != "both"):
        return nnx.List([])
    features = config.hidden_size * (2 if config.bidirectional and not decoder else 1)
    return nnx.List([nnx.BatchNorm(features, dtype=DTYPE, param_dtype=DTYPE, rngs=rngs) for _ in range(count)])


class SequenceAutoencoder(nnx.Module):
    """LSTM encoder -> code -> LSTM decoder with teacher forcing.

    Args:
        config: the sizes.
        rngs: initialisation randomness (``nnx.Rngs(seed)``).
    """

    def __init__(self, config: EncoderConfig, *, rngs: nnx.Rngs):
        self.config = config
        hidden, layers = config.hidden_size, config.num_layers
        directions = 2 if config.bidirectional else 1
        self.encoder_layers = _lstm_stack(config, config.vocab_size, rngs, reverse=config.reverse_input,
                                          inner_size=directions * hidden)
        # the other reading direction, when bidirectional (an empty list adds no parameters)
        self.encoder_layers_other = (_lstm_stack(config, config.vocab_size, rngs, reverse=not config.reverse_input,
                                                 inner_size=directions * hidden)
                                     if config.bidirectional else nnx.List([]))
        self.encoder_norms = _norms(config, layers - 1, rngs, decoder=False)
        self.to_code = nnx.Linear(2 * directions * layers * hidden, config.code_dim, dtype=DTYPE, param_dtype=DTYPE,
                                  rngs=rngs)
        # One fully connected layer per decoder state: (cell, hidden) of each layer.
        self.code_to_state = nnx.List(
            [nnx.Linear(config.code_dim, hidden, dtype=DTYPE, param_dtype=DTYPE, rngs=rngs) for _ in range(2 * layers)]
        )
        self.decoder_layers = _lstm_stack(config, config.vocab_size, rngs)
        self.decoder_norms = _norms(config, layers, rngs, decoder=True)
        self.to_logits = nnx.Linear(hidden, config.vocab_size, dtype=DTYPE, param_dtype=DTYPE, rngs=rngs)

    def _one_hot(self, ids: jax.Array) -> jax.Array:
        return jax.nn.one_hot(ids, self.config.vocab_size, dtype=DTYPE)

    def _zero_carry(self, batch: int) -> tuple[jax.Array, jax.Array]:
        zeros = jnp.zeros((batch, self.config.hidden_size), DTYPE)
        return zeros, zeros

    def _norm(self, norms: nnx.List, index: int, outputs: jax.Array, mask: jax.Array) -> jax.Array:
        if index >= len(norms):
            return outputs
        return norms[index](outputs, mask=mask[..., None])

    def encode(self, ids: jax.Array, lengths: jax.Array) -> jax.Array:
        """Codes (B, D) of padded ids (B, T) int with true lengths (B,)."""
        inputs = self._one_hot(ids)
        mask = jnp.arange(ids.shape[1])[None, :] < lengths[:, None]
        finals = []
        for index, layer in enumerate(self.encoder_layers):
            (cell, hidden), outputs = layer(inputs, initial_carry=self._zero_carry(ids.shape[0]), seq_lengths=lengths)
            finals.extend([cell, hidden])
            if self.config.bidirectional:
                (cell, hidden), other = self.encoder_layers_other[index](
                    inputs, initial_carry=self._zero_carry(ids.shape[0]), seq_lengths=lengths)
                finals.extend([cell, hidden])
                outputs = jnp.concatenate([outputs, other], axis=-1)
            inputs = self._norm(self.encoder_norms, index, outputs, mask)
        return self.to_code(jnp.concatenate(finals, axis=-1))

    def initial_states(self, code: jax.Array) -> list[tuple[jax.Array, jax.Array]]:
        """Decoder (cell, hidden) per layer, each (B, H), from codes (B, D)."""
        states = [jax.nn.relu(dense(code.astype(DTYPE))) for dense in self.code_to_state]
        return [(states[2 * layer], states[2 * layer + 1]) for layer in range(self.config.num_layers)]

    def decode(self, code: jax.Array, ids: jax.Array, lengths: jax.Array) -> jax.Array:
        """Teacher-forced logits (B, T-1, V): position t predicts ``ids[:, t+1]``."""
        inputs = self._one_hot(ids[:, :-1])
        input_lengths = lengths - 1
        mask = jnp.arange(inputs.shape[1])[None, :] < input_lengths[:, None]
        for index, (layer, carry) in enumerate(zip(self.decoder_layers, self.initial_states(code))):
            _, inputs = layer(inputs, initial_carry=carry, seq_lengths=input_lengths)
            inputs = self._norm(self.decoder_norms, index, inputs, mask)
        return self.to_logits(inputs)

    def __call__(self, ids: jax.Array, lengths: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``(logits (B, T-1, V), code (B, D))`` for padded ids (B, T) and lengths (B,)."""
        code = self.encode(ids, lengths)
        return self.decode(code, ids, lengths), code

    def loss(self, ids: jax.Array, lengths: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Teacher-forced reconstruction loss and counts of a padded batch (see :func:`sequence_loss`)."""
        logits, _ = self(ids, lengths)
        return sequence_loss(logits, ids, lengths)

    def decode_step(
        self, carries: list[tuple[jax.Array, jax.Array]], token: jax.Array
    ) -> tuple[list[tuple[jax.Array, jax.Array]], jax.Array]:
        """One free-running decoder step: carries per layer and tokens (B,) -> new carries, logits (B, V)."""
        inputs = self._one_hot(token)
        new_carries = []
        for index, (layer, carry) in enumerate(zip(self.decoder_layers, carries)):
            carry, inputs = layer.cell(carry, inputs)
            new_carries.append(carry)
            if index < len(self.decoder_norms):
                inputs = self.decoder_norms[index](inputs)
        return new_carries, self.to_logits(inputs)


def sequence_loss(logits: jax.Array, ids: jax.Array, lengths: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Mean token cross-entropy of teacher-forced ``logits`` against ``ids[:, 1:]``, and counts.

    Returns the loss and sums over the batch: ``loss_sum``, ``tokens``, ``correct_tokens``,
    ``correct_sequences`` (every token of the row right), ``sequences``.
    """
    targets = ids[:, 1:]
    mask = (jnp.arange(targets.shape[1])[None, :] < (lengths - 1)[:, None]).astype(DTYPE)
    log_probs = jax.nn.log_softmax(logits.astype(DTYPE), axis=-1)
    token_loss = -jnp.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    loss_sum = jnp.sum(token_loss * mask)
    tokens = jnp.sum(mask)
    correct = (jnp.argmax(logits, axis=-1) == targets).astype(DTYPE) * mask
    real_rows = lengths > 0  # rows of length 0 only fill a batch up to its shape
    row_correct = (jnp.sum(correct, axis=1) == jnp.sum(mask, axis=1)) & real_rows
    counts = {
        "loss_sum": loss_sum,
        "tokens": tokens,
        "correct_tokens": jnp.sum(correct),
        "correct_sequences": jnp.sum(row_correct.astype(DTYPE)),
        "sequences": jnp.sum(real_rows.astype(DTYPE)),
    }
    return loss_sum / jnp.maximum(tokens, 1.0), counts


def greedy_decode(model: SequenceAutoencoder, code: jax.Array, max_steps: int) -> jax.Array:
    """Free-running reconstruction: token ids (B, max_steps), each step fed the previous argmax.

    The first step reads ``<bos>``; rows continue past ``<eos>`` (cut them with the tokenizer's
    ``decode``). Pure function of the model state, suitable for ``nnx.jit``.
    """
    from sesl_jax.encoders._tokenizers import BOS_ID

    graphdef, state = nnx.split(model)
    carries = model.initial_states(code)
    start = jnp.full((code.shape[0],), BOS_ID, dtype=jnp.int32)

    def step(loop_state, _):
        carries, token = loop_state
        new_carries, logits = nnx.merge(graphdef, state).decode_step(carries, token)
        token = jnp.argmax(logits, axis=-1).astype(jnp.int32)
        return (new_carries, token), token

    _, tokens = jax.lax.scan(step, (carries, start), None, length=max_steps)
    return tokens.T
