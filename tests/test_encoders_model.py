"""The auto-encoder: shapes, dtypes, padding invariance, overfitting a handful of sequences."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from sesl_jax.encoders import EncoderConfig, RnaTokenizer, SequenceAutoencoder, TrainConfig, evaluate, greedy_decode
from sesl_jax.encoders._training import make_optimizer, train_step

SEQUENCES = ["ACGUACGU", "GGGAAAUUUCCC", "UGAGGUAGUAGGUUGUAUAGUU", "CUAUACAAUCUACUGUCUUUC", "AAAAACCCCC", "GUGUGUGAC"]


def _model(batch_norm: bool | str = False, seed: int = 0, reverse_input: bool = True,
           bidirectional: bool = False) -> SequenceAutoencoder:
    config = EncoderConfig(vocab_size=8, hidden_size=16, num_layers=2, code_dim=6, batch_norm=batch_norm,
                           reverse_input=reverse_input, bidirectional=bidirectional)
    return SequenceAutoencoder(config, rngs=nnx.Rngs(seed))


@nnx.jit
def _forward(model, ids, lengths):
    return model(ids, lengths)


@nnx.jit
def _encode(model, ids, lengths):
    return model.encode(ids, lengths)


def test_shapes_and_float32_even_with_x64():
    assert jax.config.jax_enable_x64  # tests/conftest.py turns it on; the model stays float32
    tokenizer = RnaTokenizer()
    ids, lengths = tokenizer.encode_batch(SEQUENCES[:3])
    model = _model()
    logits, code = _forward(model, jnp.asarray(ids), jnp.asarray(lengths))
    assert logits.shape == (3, ids.shape[1] - 1, 8) and code.shape == (3, 6)
    assert logits.dtype == jnp.float32 and code.dtype == jnp.float32
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(nnx.state(model)))
    assert len(model.code_to_state) == 4  # one fully connected layer per decoder (cell, hidden) state


def test_batch_norm_modes_and_the_teacher_forced_decoder_sees_no_later_token():
    assert EncoderConfig(vocab_size=8, batch_norm=True).batch_norm == "both"  # a checkpoint's bool, before the modes
    assert EncoderConfig.from_dict({"vocab_size": 8, "batch_norm": False}).batch_norm == "none"
    with pytest.raises(ValueError, match="batch_norm must be one of none, encoder, both, got 'decoder'"):
        EncoderConfig(vocab_size=8, batch_norm="decoder")
    models = [_model(mode) for mode in ("none", "encoder", "both")]
    assert [(len(model.encoder_norms), len(model.decoder_norms)) for model in models] == [(0, 0), (1, 0), (1, 2)]

    # In training, a teacher-forced logit at step t may depend on the tokens up to t of its own row
    # only. Batch statistics in the decoder ("both") pool every step of every row: a later token,
    # even of another row, moves it. That is the leak that keeps "both" from decoding free-running.
    ids, lengths = RnaTokenizer().encode_batch(SEQUENCES)
    changed = ids.copy()
    changed[0, 6] = 4 + (ids[0, 6] - 3) % 4  # the sixth base of the first row, another base
    for mode, leaks in (("encoder", False), ("both", True)):
        model = _model(mode)
        model.train()
        code = jnp.ones((len(SEQUENCES), 6), jnp.float32)  # one code for both batches: the decoder alone
        before = np.asarray(model.decode(code, jnp.asarray(ids), jnp.asarray(lengths)))
        after = np.asarray(model.decode(code, jnp.asarray(changed), jnp.asarray(lengths)))
        earlier_same = np.array_equal(before[0, :6], after[0, :6]) and np.array_equal(before[1:], after[1:])
        assert earlier_same != leaks, mode
        assert not np.array_equal(before[0, 6:], after[0, 6:])  # the changed token itself is read


@pytest.mark.parametrize("changes, message", [
    ({"hidden_size": 2.5}, "EncoderConfig.hidden_size must be an integer >= 1, got 2.5"),  # else a JAX TypeError when built
    ({"vocab_size": 8.9}, "EncoderConfig.vocab_size must be an integer >= 1, got 8.9"),
    ({"vocab_size": "8"}, "EncoderConfig.vocab_size must be an integer >= 1, got '8'"),
    ({"num_layers": True}, "EncoderConfig.num_layers must be an integer >= 1, got True"),
    ({"code_dim": 0}, "EncoderConfig.code_dim must be an integer >= 1, got 0"),
    ({"reverse_input": "no"}, "EncoderConfig.reverse_input must be True or False, got 'no'"),
    ({"bidirectional": 1}, "EncoderConfig.bidirectional must be True or False, got 1"),
])
def test_sizes_are_integers_and_switches_booleans(changes, message):
    with pytest.raises(ValueError, match=message):
        EncoderConfig(**{"vocab_size": 8, **changes})


@pytest.mark.parametrize("batch_norm, reverse_input, bidirectional", [
    (False, True, False), ("encoder", True, False), ("both", True, False), (False, False, False), (False, True, True),
    ("encoder", False, True)])
def test_padding_does_not_change_the_code(batch_norm, reverse_input, bidirectional):
    tokenizer = RnaTokenizer()
    model = _model(batch_norm, reverse_input=reverse_input, bidirectional=bidirectional)
    model.eval()
    ids, lengths = tokenizer.encode_batch(SEQUENCES)
    padded, _ = tokenizer.encode_batch(SEQUENCES, pad_to=ids.shape[1] + 13)
    code = np.asarray(_encode(model, jnp.asarray(ids), jnp.asarray(lengths)))
    code_padded = np.asarray(_encode(model, jnp.asarray(padded), jnp.asarray(lengths)))
    np.testing.assert_array_equal(code, code_padded)
    # garbage after the end is ignored too, not only <pad>
    noisy = padded.copy()
    for row, length in enumerate(lengths):
        noisy[row, length:] = 4 + (np.arange(noisy.shape[1] - length) % 4)
    np.testing.assert_array_equal(code, np.asarray(_encode(model, jnp.asarray(noisy), jnp.asarray(lengths))))
    # and the code is not constant: different sequences give different codes
    assert np.abs(code[0] - code[1]).max() > 1e-4
    # a row's code does not depend on the other rows of the batch
    alone = np.asarray(_encode(model, jnp.asarray(ids[2:3]), jnp.asarray(lengths[2:3])))
    np.testing.assert_allclose(alone[0], code[2], rtol=1e-5, atol=1e-6)


def test_reversed_encoder_reads_right_to_left():
    tokenizer = RnaTokenizer()
    forward, backward = _model(reverse_input=False), _model(reverse_input=True)
    nnx.update(backward, nnx.state(forward))  # same weights, only the reading direction differs
    ids, lengths = tokenizer.encode_batch(["ACGGU"])
    flipped = ids.copy()
    flipped[0, :7] = ids[0, :7][::-1]  # <eos> U G G C A <bos>
    np.testing.assert_allclose(np.asarray(_encode(backward, jnp.asarray(ids), jnp.asarray(lengths))),
                               np.asarray(_encode(forward, jnp.asarray(flipped), jnp.asarray(lengths))), rtol=1e-6)


def test_bidirectional_encoder_adds_the_other_reading_direction():
    """Two stacks: the one-way model's (same weights give the same final states) and one reading
    the other way, which a flipped sequence with swapped stacks reproduces; the code is made from
    the final states of both, so the old checkpoints' one-way encoder is the special case."""
    tokenizer = RnaTokenizer()
    ids, lengths = tokenizer.encode_batch(["ACGGU", "UUAGCA"])
    assert EncoderConfig.from_dict({"vocab_size": 8}).bidirectional is False  # checkpoints before the option
    one_way, both = _model(), _model(bidirectional=True)
    assert len(one_way.encoder_layers_other) == 0 and len(both.encoder_layers_other) == 2
    assert both.to_code.in_features == 2 * one_way.to_code.in_features
    # layer 2 of each stack reads both directions' outputs of layer 1
    assert both.encoder_layers[1].cell.in_features == both.encoder_layers_other[1].cell.in_features == 32

    def finals(model, rows, row_lengths):
        states = []
        inputs = model._one_hot(jnp.asarray(rows))
        for index, layer in enumerate(model.encoder_layers):
            (cell, hidden), out = layer(inputs, initial_carry=model._zero_carry(len(rows)), seq_lengths=jnp.asarray(row_lengths))
            (cell2, hidden2), other = model.encoder_layers_other[index](
                inputs, initial_carry=model._zero_carry(len(rows)), seq_lengths=jnp.asarray(row_lengths))
            states.append((np.asarray(hidden), np.asarray(hidden2)))
            inputs = jnp.concatenate([out, other], axis=-1)
        return states

    # the first layer of the other stack reads left to right: the reversed stack on the flipped rows
    flipped = ids.copy()
    for row, length in enumerate(lengths):
        flipped[row, :length] = ids[row, :length][::-1]
    straight = finals(both, ids, lengths)
    mirrored = finals(both, flipped, lengths)
    swapped = _model(bidirectional=True)
    nnx.update(swapped.encoder_layers[0], nnx.state(both.encoder_layers_other[0]))
    swapped_first = finals(swapped, flipped, lengths)[0][0]
    # same seed: the main stack's first layer is the one-way model's, and ends in the same state
    (_, one_way_hidden), _ = one_way.encoder_layers[0](both._one_hot(jnp.asarray(ids)), initial_carry=one_way._zero_carry(2),
                                                       seq_lengths=jnp.asarray(lengths))
    np.testing.assert_allclose(np.asarray(one_way_hidden), straight[0][0], rtol=1e-6)
    np.testing.assert_allclose(swapped_first, straight[0][1], rtol=1e-5, atol=1e-6)
    assert not np.allclose(straight[0][0], mirrored[0][0])  # and the two directions differ
    # the other stack's state reaches the code: zeroing its weights moves it
    code = np.asarray(_encode(both, jnp.asarray(ids), jnp.asarray(lengths)))
    blind = _model(bidirectional=True)
    nnx.update(blind.encoder_layers_other, jax.tree.map(jnp.zeros_like, nnx.state(blind.encoder_layers_other)))
    assert code.shape == (2, 6)
    assert not np.allclose(code, np.asarray(_encode(blind, jnp.asarray(ids), jnp.asarray(lengths))))


def test_tiny_model_overfits_a_handful_of_sequences():
    tokenizer = RnaTokenizer()
    config = EncoderConfig(vocab_size=tokenizer.vocab_size, hidden_size=48, num_layers=1, code_dim=16)
    model = SequenceAutoencoder(config, rngs=nnx.Rngs(0))
    optimizer = make_optimizer(model, TrainConfig(learning_rate=1e-2))
    ids, lengths = tokenizer.encode_batch(SEQUENCES, pad_to=24)
    ids, lengths = jnp.asarray(ids), jnp.asarray(lengths)
    rows = [tokenizer.encode(s) for s in SEQUENCES]
    before = evaluate(model, rows, batch_size=8, greedy=len(rows))
    for _ in range(300):
        counts = train_step(model, optimizer, ids, lengths)
    after = evaluate(model, rows, batch_size=8, greedy=len(rows))
    assert before["greedy_sequence_accuracy"] == 0.0
    assert float(counts["correct_sequences"]) == len(SEQUENCES)
    assert after["token_accuracy"] == 1.0 and after["sequence_accuracy"] == 1.0
    assert after["greedy_sequence_accuracy"] == 1.0
    model.eval()
    decoded = nnx.jit(lambda m: greedy_decode(m, m.encode(ids, lengths), 24))(model)
    assert [tokenizer.decode(row) for row in np.asarray(decoded)] == SEQUENCES


def test_free_running_accuracy_by_length_band_matches_a_row_by_row_count():
    tokenizer = RnaTokenizer(max_length=100)
    config = EncoderConfig(vocab_size=tokenizer.vocab_size, hidden_size=24, num_layers=1, code_dim=8)
    model = SequenceAutoencoder(config, rngs=nnx.Rngs(3))
    optimizer = make_optimizer(model, TrainConfig(learning_rate=1e-2))
    sequences = SEQUENCES + ["ACGU" * 10, "GGAUCC" * 12, "UUAGC" * 14]  # 6 short, 40, 72 and 70 long
    ids, lengths = tokenizer.encode_batch(sequences, pad_to=80)
    for _ in range(40):  # part-trained: some rows right, some wrong
        train_step(model, optimizer, jnp.asarray(ids), jnp.asarray(lengths))
    rows = [tokenizer.encode(s) for s in sequences]
    metrics = evaluate(model, rows, batch_size=4, greedy=len(rows))
    model.eval()
    expected = {}
    for row, sequence in zip(rows, sequences):  # one row at a time, no batching or sorting
        one, one_length = tokenizer.encode_batch([sequence])
        guess = np.asarray(greedy_decode(model, model.encode(jnp.asarray(one), jnp.asarray(one_length)), len(row) - 1))[0]
        matches = guess == np.asarray(row[1:])
        band = (1, 32) if len(sequence) <= 32 else (33, 64) if len(sequence) <= 64 else (65, 128)
        counts = expected.setdefault(band, [0, 0, 0, 0, 0])
        counts[0] += 1; counts[1] += int(matches.all()); counts[2] += len(matches); counts[3] += int(matches.sum())
        prefix = 0  # the sequence's tokens before the first wrong one; <eos> is not one of them
        while prefix < len(matches) - 1 and matches[prefix]:
            prefix += 1
        counts[4] += prefix
    got = {(b["min_length"], b["max_length"]): b for b in metrics["greedy_by_length"]}
    assert set(got) == set(expected) == {(1, 32), (33, 64), (65, 128)}
    for band, (rows_in, right_rows, tokens, right_tokens, prefixes) in expected.items():
        assert got[band]["sequences"] == rows_in
        assert got[band]["mean_correct_prefix"] == pytest.approx(prefixes / rows_in)
        assert got[band]["sequence_accuracy"] == pytest.approx(right_rows / rows_in)
        assert got[band]["token_accuracy"] == pytest.approx(right_tokens / tokens)
    assert sum(counts[3] for counts in expected.values()) / sum(counts[2] for counts in expected.values()) == \
        pytest.approx(metrics["greedy_token_accuracy"])
    assert 0.0 < metrics["greedy_token_accuracy"] < 1.0
    # the prefix is not the token count: some row has right tokens after its first wrong one
    assert any(0 < b["mean_correct_prefix"] < b["token_accuracy"] * b["tokens"] / b["sequences"] for b in got.values())
