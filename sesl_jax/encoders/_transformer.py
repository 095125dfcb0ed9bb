"""A small BERT-style transformer encoder in flax.nnx, the alternative to the LSTM auto-encoder.

Shapes: ``B`` sequences, ``T`` padded length (ids include ``<bos>`` and ``<eos>``), ``V`` vocabulary
(the tokenizer's), ``d`` model width, ``D`` code dimension.

- Input: token embedding + learned position embedding, both zeroed at padded steps. ``[MASK]``
  is an extra id ``V`` (one more embedding row, never predicted), appended after the tokenizer's
  vocabulary: adding it to the tokenizers' special tokens would shift every other id and break
  the shipped LSTM checkpoints.
- ``num_layers`` pre-LayerNorm blocks (self-attention, then a GELU feed-forward layer, each
  residual); attention never looks at padded keys, so padding cannot reach a real token.
- Code: the final (layer-normalised) states averaged over the real steps of each row
  (``<bos>``, tokens, ``<eos>``), then a linear projection to ``D``.
- Pre-training: masked-token prediction (:func:`mask_tokens`, BERT's 15 % with 80/10/10
  ``[MASK]``/random/unchanged), from two heads sharing the output projection:

  1. the usual BERT head on each final token state;
  2. a *bottleneck* head (the "Condenser" head of Gao & Callan, 2021): one block reading only
     the masked input's embeddings plus the projected code broadcast to every step, so what
     it knows about the sequence beyond its immediate neighbours must pass through the code.

  The loss is the mean of both heads' token cross-entropies. Why: the masked-token loss alone
  never touches the pooled projection (it would stay at its random initialisation), while the
  similarity pipeline uses nothing but the code; the bottleneck head trains the projection to
  summarise the whole sequence, as the LSTM decoder does for the LSTM code, without changing
  the BERT objective of the encoder itself.

Masking draws from a key stored in the model (:class:`MaskingState`: a base key and a step
counter, saved in checkpoints), so a training step keeps the signature of the LSTM's and a
resumed run draws the same masks as an uninterrupted one. In evaluation mode the masks come
from one fixed key, so validation accuracies are comparable between epochs.

All parameters and computations are float32, whatever ``jax_enable_x64`` says.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
from flax import nnx

from sesl_jax._values import check_integer
from sesl_jax.encoders._config import ConfigRecord
from sesl_jax.encoders._tokenizers import SPECIAL_TOKENS

DTYPE = jnp.float32
MASK_RATE = 0.15
# Of the chosen tokens: this share becomes [MASK], the same share again a random token, the rest stays.
MASK_TOKEN_SHARE, RANDOM_TOKEN_SHARE = 0.8, 0.1
_EVALUATION_MASK_STEP = 2**32 - 1  # the counter value whose key gives the fixed evaluation masks


@dataclasses.dataclass(frozen=True)
class TransformerConfig(ConfigRecord):
    """Sizes of a :class:`SequenceTransformer`.

    Attributes:
        vocab_size: the tokenizer's vocabulary (``[MASK]`` is the extra id ``vocab_size``).
        d_model: width of token states.
        num_heads: attention heads (must divide ``d_model``).
        num_layers: encoder blocks.
        ff_size: hidden width of each feed-forward layer.
        max_length: most steps a row may have, ``<bos>`` and ``<eos>`` included (position table size).
        code_dim: dimension of the projected code.
    """

    vocab_size: int
    d_model: int = 64
    num_heads: int = 4
    num_layers: int = 3
    ff_size: int = 128
    max_length: int = 208
    code_dim: int = 64

    def __post_init__(self):
        for field in dataclasses.fields(self):
            check_integer(f"TransformerConfig.{field.name}", getattr(self, field.name), 1)
            object.__setattr__(self, field.name, int(getattr(self, field.name)))  # NumPy and JAX scalars are not JSON
        if self.d_model % self.num_heads:
            raise ValueError(f"TransformerConfig.d_model ({self.d_model}) must be a multiple of num_heads ({self.num_heads})")
        if self.vocab_size <= len(SPECIAL_TOKENS):
            raise ValueError(f"TransformerConfig.vocab_size must exceed the {len(SPECIAL_TOKENS)} special tokens")

    @property
    def mask_id(self) -> int:
        return self.vocab_size


class MaskingState(nnx.Variable):
    """Not a parameter: the masking key (uint32 key data) and the count of training steps drawn."""


def mask_tokens(
    key: jax.Array, ids: jax.Array, lengths: jax.Array, *, vocab_size: int, mask_id: int, rate: float = MASK_RATE
) -> tuple[jax.Array, jax.Array]:
    """BERT masking of padded ids (B, T): returns ``(inputs (B, T) int32, chosen (B, T) bool)``.

    Each real token other than ``<bos>``/``<eos>`` is chosen with probability ``rate``; a chosen
    token becomes ``mask_id`` (80 %), a random ordinary token (10 %) or stays (10 %). Padding and
    the special tokens are never chosen. A pure function of ``key`` and the shapes.
    """
    steps = jnp.arange(ids.shape[1])[None, :]
    maskable = (steps >= 1) & (steps < lengths[:, None] - 1)
    choose_key, action_key, token_key = jax.random.split(key, 3)
    chosen = (jax.random.uniform(choose_key, ids.shape) < rate) & maskable
    action = jax.random.uniform(action_key, ids.shape)
    random_tokens = jax.random.randint(token_key, ids.shape, len(SPECIAL_TOKENS), vocab_size, dtype=jnp.int32)
    inputs = jnp.where(chosen & (action < MASK_TOKEN_SHARE), mask_id, ids)
    inputs = jnp.where(chosen & (action >= MASK_TOKEN_SHARE) & (action < MASK_TOKEN_SHARE + RANDOM_TOKEN_SHARE),
                       random_tokens, inputs)
    return inputs.astype(jnp.int32), chosen


class _SelfAttention(nnx.Module):
    def __init__(self, d_model: int, num_heads: int, rngs: nnx.Rngs):
        self.num_heads = num_heads
        linear = lambda: nnx.Linear(d_model, d_model, dtype=DTYPE, param_dtype=DTYPE, rngs=rngs)  # noqa: E731
        self.query, self.key, self.value, self.out = linear(), linear(), linear(), linear()

    def __call__(self, states: jax.Array, real: jax.Array) -> jax.Array:
        batch, steps, width = states.shape
        split = lambda x: x.reshape(batch, steps, self.num_heads, width // self.num_heads)  # noqa: E731
        query, key, value = split(self.query(states)), split(self.key(states)), split(self.value(states))
        scores = jnp.einsum("bqhc,bkhc->bhqk", query, key) / math.sqrt(width // self.num_heads)
        # exp(min - max) is exactly 0: a padded key gets no weight at all
        scores = jnp.where(real[:, None, None, :], scores, jnp.finfo(DTYPE).min)
        weights = jax.nn.softmax(scores, axis=-1)
        return self.out(jnp.einsum("bhqk,bkhc->bqhc", weights, value).reshape(batch, steps, width))


class _Block(nnx.Module):
    """Pre-LayerNorm transformer block: x + attention(LN(x)), then x + FF(LN(x))."""

    def __init__(self, config: TransformerConfig, rngs: nnx.Rngs):
        width = config.d_model
        self.attention_norm = nnx.LayerNorm(width, dtype=DTYPE, param_dtype=DTYPE, rngs=rngs)
        self.attention = _SelfAttention(width, config.num_heads, rngs)
        self.feed_forward_norm = nnx.LayerNorm(width, dtype=DTYPE, param_dtype=DTYPE, rngs=rngs)
        self.feed_forward_in = nnx.Linear(width, config.ff_size, dtype=DTYPE, param_dtype=DTYPE, rngs=rngs)
        self.feed_forward_out = nnx.Linear(config.ff_size, width, dtype=DTYPE, param_dtype=DTYPE, rngs=rngs)

    def __call__(self, states: jax.Array, real: jax.Array) -> jax.Array:
        states = states + self.attention(self.attention_norm(states), real)
        hidden = jax.nn.gelu(self.feed_forward_in(self.feed_forward_norm(states)))
        return states + self.feed_forward_out(hidden)


class SequenceTransformer(nnx.Module):
    """BERT-style encoder with a projected pooled code and two masked-token heads.

    Args:
        config: the sizes.
        rngs: initialisation randomness (``nnx.Rngs(seed)``); also seeds the masking stream.
    """

    def __init__(self, config: TransformerConfig, *, rngs: nnx.Rngs):
        self.config = config
        width = config.d_model
        self.token_embedding = nnx.Embed(config.vocab_size + 1, width, dtype=DTYPE, param_dtype=DTYPE, rngs=rngs)
        self.position_embedding = nnx.Embed(config.max_length, width, dtype=DTYPE, param_dtype=DTYPE, rngs=rngs)
        self.blocks = nnx.List([_Block(config, rngs) for _ in range(config.num_layers)])
        self.final_norm = nnx.LayerNorm(width, dtype=DTYPE, param_dtype=DTYPE, rngs=rngs)
        self.to_code = nnx.Linear(width, config.code_dim, dtype=DTYPE, param_dtype=DTYPE, rngs=rngs)
        self.to_logits = nnx.Linear(width, config.vocab_size, dtype=DTYPE, param_dtype=DTYPE, rngs=rngs)
        self.code_to_head = nnx.Linear(config.code_dim, width, dtype=DTYPE, param_dtype=DTYPE, rngs=rngs)
        self.head_block = _Block(config, rngs)
        self.head_norm = nnx.LayerNorm(width, dtype=DTYPE, param_dtype=DTYPE, rngs=rngs)
        self.masking_key = MaskingState(jax.random.key_data(rngs()).astype(jnp.uint32))
        self.masking_step = MaskingState(jnp.zeros((), jnp.uint32))
        self.deterministic = False  # set by .train() / .eval()

    def _embed(self, ids: jax.Array, real: jax.Array) -> jax.Array:
        positions = jnp.minimum(jnp.arange(ids.shape[1]), self.config.max_length - 1)
        embedded = self.token_embedding(ids) + self.position_embedding(positions)[None]
        return embedded * real[..., None].astype(DTYPE)

    def states(self, ids: jax.Array, lengths: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Final token states (B, T, d) and the embeddings they started from (B, T, d)."""
        real = jnp.arange(ids.shape[1])[None, :] < lengths[:, None]
        embedded = self._embed(ids, real)
        states = embedded
        for block in self.blocks:
            states = block(states, real)
        return self.final_norm(states), embedded

    def _pool(self, states: jax.Array, lengths: jax.Array) -> jax.Array:
        real = (jnp.arange(states.shape[1])[None, :] < lengths[:, None]).astype(DTYPE)
        total = jnp.einsum("btd,bt->bd", states, real)
        return self.to_code(total / jnp.maximum(lengths, 1)[:, None].astype(DTYPE))

    def encode(self, ids: jax.Array, lengths: jax.Array) -> jax.Array:
        """Codes (B, D) of padded ids (B, T) int with true lengths (B,)."""
        return self._pool(self.states(ids, lengths)[0], lengths)

    def __call__(self, ids: jax.Array, lengths: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """``(logits (B, T, V), bottleneck logits (B, T, V), code (B, D))`` for (masked) ids."""
        states, embedded = self.states(ids, lengths)
        code = self._pool(states, lengths)
        real = jnp.arange(ids.shape[1])[None, :] < lengths[:, None]
        head = embedded + self.code_to_head(code)[:, None, :] * real[..., None].astype(DTYPE)
        head = self.head_norm(self.head_block(head, real))
        return self.to_logits(states), self.to_logits(head), code

    def masking(self) -> jax.Array:
        """The key of this step's masks: a new one per call in training mode, a fixed one in evaluation."""
        base = jax.random.wrap_key_data(self.masking_key[...])
        if self.deterministic:
            return jax.random.fold_in(base, _EVALUATION_MASK_STEP)
        key = jax.random.fold_in(base, self.masking_step[...])
        self.masking_step[...] = self.masking_step[...] + 1
        return key

    def loss(self, ids: jax.Array, lengths: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Masked-token loss of a padded batch, masks drawn from :meth:`masking`; see :func:`masked_token_loss`."""
        return masked_token_loss(self, self.masking(), ids, lengths)


def masked_token_loss(
    model: SequenceTransformer, key: jax.Array, ids: jax.Array, lengths: jax.Array
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Mean of both heads' cross-entropies over the chosen tokens, and counts of the BERT head.

    Counts (sums over the batch, the keys of ``sequence_loss``): ``loss_sum`` (BERT head),
    ``tokens`` (chosen tokens), ``correct_tokens``, ``correct_sequences`` (every chosen token of
    the row right), ``sequences``; plus ``code_loss_sum`` / ``code_correct_tokens`` of the
    bottleneck head.
    """
    config = model.config
    inputs, chosen = mask_tokens(key, ids, lengths, vocab_size=config.vocab_size, mask_id=config.mask_id)
    logits, code_logits, _ = model(inputs, lengths)
    weight = chosen.astype(DTYPE)
    tokens = jnp.sum(weight)

    def token_losses(logits):
        log_probs = jax.nn.log_softmax(logits.astype(DTYPE), axis=-1)
        return -jnp.take_along_axis(log_probs, ids[..., None], axis=-1)[..., 0]

    loss_sum = jnp.sum(token_losses(logits) * weight)
    code_loss_sum = jnp.sum(token_losses(code_logits) * weight)
    correct = (jnp.argmax(logits, axis=-1) == ids).astype(DTYPE) * weight
    real_rows = lengths > 0
    row_correct = (jnp.sum(correct, axis=1) == jnp.sum(weight, axis=1)) & real_rows
    counts = {
        "loss_sum": loss_sum,
        "tokens": tokens,
        "correct_tokens": jnp.sum(correct),
        "correct_sequences": jnp.sum(row_correct.astype(DTYPE)),
        "sequences": jnp.sum(real_rows.astype(DTYPE)),
        "code_loss_sum": code_loss_sum,
        "code_correct_tokens": jnp.sum((jnp.argmax(code_logits, axis=-1) == ids).astype(DTYPE) * weight),
    }
    return 0.5 * (loss_sum + code_loss_sum) / jnp.maximum(tokens, 1.0), counts
