"""Training pipeline: learning-rate schedules, randomized-SMILES augmentation, resume with both on."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from flax import nnx
from rdkit import Chem

from sesl_jax.encoders import CheckpointError, EncoderConfig, SmilesTokenizer, TrainConfig, train_encoder
from sesl_jax.encoders._augmentation import augmentation_seeds, randomize_rows, randomized_smiles
from sesl_jax.encoders._tokenizers import UNK_ID
from sesl_jax.encoders._training import _format_progress, learning_rate_schedule

SMILES = [
    "CC(=O)Oc1ccccc1C(=O)O", "c1ccc2[nH]ccc2c1", "CCN(CC)CC", "O=C(O)c1ccccc1", "CC(C)Cc1ccc(C(C)C(=O)O)cc1",
    "CN1CCC[C@H]1c1cccnc1", "OC[C@H]1OC(O)[C@H](O)[C@@H](O)[C@@H]1O", "Clc1ccc(Cl)cc1", "CC(=O)Nc1ccc(O)cc1",
    "C1CCOC1", "N#Cc1ccccc1", "CCOC(=O)C=C", "c1ccncc1", "CS(=O)(=O)N",
]


def _canonical(smiles: str) -> str:
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


def _reference_rate(step: int, config: TrainConfig, total: int) -> float:
    """The schedule written out step by step (the docstring's formula)."""
    peak, final, warmup = config.learning_rate, config.final_learning_rate, config.warmup_steps
    if step < warmup:
        return peak * (step + 1) / warmup
    if config.schedule == "constant":
        return peak
    decay = config.decay_steps or total
    progress = min(1.0, (step - warmup) / (decay - warmup))
    return final + 0.5 * (peak - final) * (1 + math.cos(math.pi * progress))


@pytest.mark.parametrize("changes", [
    {"schedule": "constant"},
    {"schedule": "constant", "warmup_steps": 5},
    {"schedule": "cosine", "warmup_steps": 0, "final_learning_rate": 1e-5},
    {"schedule": "cosine", "warmup_steps": 4, "decay_steps": 30, "final_learning_rate": 2e-4},
])
def test_schedule_is_the_formula_of_the_step(changes):
    config = TrainConfig(learning_rate=2e-3, **changes)
    schedule = learning_rate_schedule(config, total_steps=40)
    steps = np.arange(50)
    got = np.asarray(jax.vmap(schedule)(steps))
    expected = [_reference_rate(int(step), config, 40) for step in steps]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)


def test_schedule_settings_are_checked():
    with pytest.raises(ValueError, match="unknown schedule"):
        TrainConfig(schedule="step")
    with pytest.raises(ValueError, match="decay_steps > warmup_steps"):
        TrainConfig(schedule="cosine", warmup_steps=10, decay_steps=10)
    with pytest.raises(ValueError, match="more decay steps"):
        learning_rate_schedule(TrainConfig(schedule="cosine"), total_steps=None)
    # a constant rate would ignore them, as the command line says too
    with pytest.raises(ValueError, match=r"decay_steps applies to schedule='cosine' \(the rate is constant\), got 5"):
        TrainConfig(decay_steps=5)
    with pytest.raises(ValueError, match=r"final_learning_rate applies to schedule='cosine' \(the rate is constant\), got 1e-05"):
        TrainConfig(final_learning_rate=1e-5)
    with pytest.raises(ValueError, match=r"final_learning_rate must be at most learning_rate 0.001 \(a cosine decays\), got 0.005"):
        TrainConfig(schedule="cosine", final_learning_rate=5e-3)


@pytest.mark.parametrize("changes, message", [
    ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
    ({"epochs": 0}, "epochs must be an integer >= 1, got 0"),
    ({"batch_size": 2.5}, "batch_size must be an integer >= 1, got 2.5"),
    ({"learning_rate": 0.0}, "learning_rate must be a finite number > 0, got 0.0"),
    ({"grad_clip": float("nan")}, "grad_clip must be a finite number > 0"),
    ({"max_minutes": -1.0}, "max_minutes must be a finite number > 0, got -1.0"),
    ({"max_steps": 0}, "max_steps must be an integer >= 1 or None, got 0"),
    ({"validation_fraction": 1.0}, r"validation_fraction must be in \[0, 1\), got 1.0"),
    ({"validation_fraction": "0.1"}, "validation_fraction must be a finite number >= 0, got '0.1'"),
    ({"validation_fraction": float("nan")}, "validation_fraction must be a finite number >= 0, got nan"),
    ({"learning_rate": "0.1"}, "learning_rate must be a finite number > 0, got '0.1'"),  # not numpy's ufunc error
    ({"learning_rate": None}, "learning_rate must be a finite number > 0, got None"),
    ({"grad_clip": True}, "grad_clip must be a finite number > 0, got True"),
    ({"warmup_steps": 1.5}, "warmup_steps must be an integer >= 0, got 1.5"),
    ({"schedule": "cosine", "decay_steps": 10.5}, "decay_steps must be an integer >= 1 or None, got 10.5"),
    ({"seed": True}, "seed must be an integer >= 0, got True"),
    ({"augment_smiles": "no"}, "augment_smiles must be True or False, got 'no'"),  # not read as true
])
def test_training_settings_out_of_range_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes)


def test_train_encoder_arguments_are_checked_before_any_work():
    tokenizer = SmilesTokenizer.fit(SMILES, max_length=40)
    config = EncoderConfig(vocab_size=tokenizer.vocab_size, hidden_size=4, num_layers=1, code_dim=4)
    with pytest.raises(TypeError, match="train_encoder takes a list, one entry per item"):
        train_encoder(tokenizer, "CCOCCN", config, TINY)  # would train on single letters
    with pytest.raises(TypeError, match="train_config must be a TrainConfig, got dict"):
        train_encoder(tokenizer, SMILES, config, {"epochs": 1})
    with pytest.raises(TypeError, match="model_config must be an EncoderConfig, a TransformerConfig or None, got dict"):
        train_encoder(tokenizer, SMILES, {"vocab_size": tokenizer.vocab_size}, TINY)
    with pytest.raises(TypeError, match="tokenizer must be a SmilesTokenizer or an RnaTokenizer, got str"):
        train_encoder("smiles", SMILES, config, TINY)
    # a negative count overflowed, a fraction was truncated
    for bad in (-1, 1.9):
        with pytest.raises(ValueError, match=rf"repeats\[2\] must be an integer >= 1, got {bad}"):
            train_encoder(tokenizer, SMILES, config, TINY, repeats=[1, 1, bad] + [1] * (len(SMILES) - 3))


def test_randomized_smiles_is_the_same_molecule_and_seeded():
    for index, smiles in enumerate(SMILES):
        spellings = [randomized_smiles(smiles, seed) for seed in range(1, 9)]
        assert all(_canonical(spelling) == _canonical(smiles) for spelling in spellings)
        assert spellings == [randomized_smiles(smiles, seed) for seed in range(1, 9)]
    assert len({randomized_smiles(SMILES[0], seed) for seed in range(1, 9)}) > 1
    assert randomized_smiles("C1CC", 1) is None  # RDKit cannot read it: no crash
    with pytest.raises(ValueError, match="seed"):
        randomized_smiles(SMILES[0], 0)  # RDKit's "unseeded"

    np.testing.assert_array_equal(augmentation_seeds(3, 1, 10), augmentation_seeds(3, 1, 10))
    assert not np.array_equal(augmentation_seeds(3, 1, 10), augmentation_seeds(3, 2, 10))


def test_randomize_rows_keeps_molecules_and_falls_back():
    tokenizer = SmilesTokenizer.fit(SMILES, max_length=40)
    rows = [tokenizer.encode(smiles) for smiles in SMILES]
    seeds = augmentation_seeds(0, 0, len(rows))
    randomized, fallbacks = randomize_rows(tokenizer, rows, seeds)
    assert fallbacks == 0 and len(randomized) == len(rows)
    assert any(not np.array_equal(a, b) for a, b in zip(rows, randomized))
    for original, new in zip(SMILES, randomized):
        assert _canonical(tokenizer.decode(new)) == _canonical(original)
    again, _ = randomize_rows(tokenizer, rows, seeds)
    assert all(np.array_equal(a, b) for a, b in zip(randomized, again))

    # a row with <unk>, and spellings longer than the tokenizer allows, keep their original ids
    unknown = rows[0].copy()
    unknown[2] = UNK_ID
    short = SmilesTokenizer(tokenizer.vocabulary, max_length=len(rows[4]) - 2)
    kept, fallbacks = randomize_rows(short, [unknown, rows[4]], [1, 2])
    assert fallbacks in (1, 2) and np.array_equal(kept[0], unknown)


# length_multiple 48 > 40 + 2: one compiled width, whatever the random spellings' lengths.
TINY = TrainConfig(epochs=2, batch_size=4, learning_rate=5e-3, validation_fraction=0.2, seed=3, length_multiple=48,
                   checkpoint_every=2, greedy_validation=0, schedule="cosine", warmup_steps=2, augment_smiles=True)


def _weights(model) -> dict[str, np.ndarray]:
    return {jax.tree_util.keystr(p): np.asarray(v) for p, v in jax.tree_util.tree_flatten_with_path(nnx.state(model))[0]}


def test_resume_is_bit_identical_with_schedule_and_augmentation(tmp_path):
    tokenizer = SmilesTokenizer.fit(SMILES, max_length=40)
    config = EncoderConfig(vocab_size=tokenizer.vocab_size, hidden_size=8, num_layers=1, code_dim=4, batch_norm=True)
    straight = train_encoder(tokenizer, SMILES, config, TINY)
    assert straight.history[-1]["augmentation_fallbacks"] == 0
    assert straight.history[-1]["learning_rate"] < TINY.learning_rate  # the cosine went down

    # 11 training rows, 3 steps per epoch: stop inside the first epoch
    stopped = train_encoder(tokenizer, SMILES, config, TrainConfig(**{**TINY.to_dict(), "max_steps": 2}), out_dir=tmp_path)
    assert not stopped.completed and stopped.steps == 2 and stopped.history[-1]["partial"]
    lines: list[str] = []
    resumed = train_encoder(tokenizer, SMILES, config, TINY, out_dir=tmp_path, resume=True, progress=False,
                            log=lines.append)
    assert resumed.completed and resumed.steps == straight.steps
    # without a bar (a log file), each checkpoint inside an epoch says where the run is: step 4 is
    # the second epoch's first batch of 3 (step 2 ended the resumed epoch's batch 2, written already)
    at_checkpoints = [line for line in lines if "checkpoint written" in line]
    assert len(at_checkpoints) == 1 and at_checkpoints[0].startswith("epoch 2/2, batch 1/3, step 4: train loss ")
    assert "steps/s" in at_checkpoints[0] and "under a minute to the epoch's end" in at_checkpoints[0]
    a, b = _weights(straight.model), _weights(resumed.model)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)

    # more epochs would stretch the cosine that the first steps already followed
    with pytest.raises(CheckpointError, match="cosine schedule ran over"):
        train_encoder(tokenizer, SMILES, config, TrainConfig(**{**TINY.to_dict(), "epochs": 3}), out_dir=tmp_path, resume=True)


def test_progress_line_speed_is_over_its_interval():
    totals = {"loss_sum": 50.0, "tokens": 100.0, "correct_tokens": 90.0, "correct_sequences": 8.0, "sequences": 64.0 * 400}
    # 200 steps of 64 in 100 s since the previous line: 2 steps/s, whatever the epoch's first step cost
    line = _format_progress(0, 3, 400, 1000, 400, totals, (200, 12800.0, 100.0), None)
    assert "2.00 steps/s, 128 seq/s, about 5 min to the epoch's end" in line
    assert "train loss 0.5000 tok 0.9000 seq 0.0003" in line
    # max_steps before the epoch's end: the time to it instead
    assert "under a minute to step 450" in _format_progress(0, 3, 400, 1000, 440, totals, (200, 12800.0, 100.0), 450)
    # no step timed yet: no speed and no estimate, rather than one that includes compilation
    bare = _format_progress(0, 3, 1, 1000, 1, totals, (0, 0.0, 0.0), None)
    assert "steps/s" not in bare and "min" not in bare and bare.endswith("| checkpoint written")


def _params(model) -> dict[str, np.ndarray]:
    state = nnx.state(model, nnx.Param)
    return {jax.tree_util.keystr(p): np.asarray(v) for p, v in jax.tree_util.tree_flatten_with_path(state)[0]}


def test_init_weights_start_a_run_from_another_runs_weights(tmp_path):
    tokenizer = SmilesTokenizer.fit(SMILES, max_length=40)
    config = EncoderConfig(vocab_size=tokenizer.vocab_size, hidden_size=8, num_layers=1, code_dim=4, batch_norm=True)
    plain = TrainConfig(**{**TINY.to_dict(), "augment_smiles": False, "epochs": 1})
    first = train_encoder(tokenizer, SMILES, config, plain, out_dir=tmp_path / "first")
    weights = tmp_path / "first" / "encoder.npz"

    # with a vanishing step size the second run ends where the first one did, not at a fresh start
    still = TrainConfig(**{**plain.to_dict(), "learning_rate": 1e-12, "seed": 4})
    fresh = _params(train_encoder(tokenizer, SMILES, config, still).model)
    started = _params(train_encoder(tokenizer, SMILES, config, still, init_weights=weights).model)
    for name, value in _params(first.model).items():
        np.testing.assert_allclose(started[name], value, atol=1e-8, err_msg=name)
    assert any(not np.allclose(fresh[name], value) for name, value in _params(first.model).items())

    # interrupted, then resumed with the same file or without one: the same weights as straight through
    more = TrainConfig(**{**plain.to_dict(), "epochs": 2})
    straight = _weights(train_encoder(tokenizer, SMILES, config, more, init_weights=weights).model)
    for resume_with in (weights, None):
        out = tmp_path / f"second-{resume_with is None}"
        train_encoder(tokenizer, SMILES, config, TrainConfig(**{**more.to_dict(), "max_steps": 4}), out_dir=out, init_weights=weights)
        resumed = _weights(train_encoder(tokenizer, SMILES, config, more, out_dir=out, init_weights=resume_with, resume=True).model)
        for name, value in straight.items():
            np.testing.assert_array_equal(resumed[name], value, err_msg=name)
    with pytest.raises(CheckpointError, match="started from other weights"):
        train_encoder(tokenizer, SMILES, config, more, out_dir=out, init_weights=tmp_path / "first" / "checkpoint.npz", resume=True)
    with pytest.raises(CheckpointError, match="started from random weights; resume without initial weights"):
        train_encoder(tokenizer, SMILES, config, plain, out_dir=tmp_path / "first", init_weights=out / "encoder.npz", resume=True)
    # a run cannot start from the file it overwrites
    with pytest.raises(CheckpointError, match="this run writes its own encoder.npz there"):
        train_encoder(tokenizer, SMILES, config, plain, out_dir=tmp_path / "first", init_weights=weights)

    # weights of other sizes or another vocabulary are named, not loaded
    with pytest.raises(CheckpointError, match="model configuration differs"):
        train_encoder(tokenizer, SMILES, EncoderConfig(vocab_size=tokenizer.vocab_size, hidden_size=6, num_layers=1, code_dim=4),
                      plain, init_weights=weights)
    swapped = list(tokenizer.vocabulary)
    swapped[-1], swapped[-2] = swapped[-2], swapped[-1]  # same size, two tokens trade ids
    with pytest.raises(CheckpointError, match=r"tokenizer differs from this run's in \['vocabulary'\]"):
        train_encoder(SmilesTokenizer(swapped, max_length=40), SMILES, config, plain, init_weights=weights)


def test_init_weights_of_a_transformer_keep_the_new_runs_masking_seed(tmp_path):
    from sesl_jax.encoders import TransformerConfig

    tokenizer = SmilesTokenizer.fit(SMILES, max_length=40)
    config = TransformerConfig(vocab_size=tokenizer.vocab_size, d_model=16, num_heads=2, num_layers=1, ff_size=32,
                               max_length=48, code_dim=4)
    plain = TrainConfig(**{**TINY.to_dict(), "augment_smiles": False, "epochs": 1})
    first = train_encoder(tokenizer, SMILES, config, plain, out_dir=tmp_path / "first")
    still = TrainConfig(**{**plain.to_dict(), "learning_rate": 1e-12, "seed": 5})
    started = train_encoder(tokenizer, SMILES, config, still, init_weights=tmp_path / "first" / "encoder.npz").model
    fresh = train_encoder(tokenizer, SMILES, config, still).model
    for name, value in _params(first.model).items():
        np.testing.assert_allclose(_params(started)[name], value, atol=1e-8, err_msg=name)
    np.testing.assert_array_equal(np.asarray(started.masking_key[...]), np.asarray(fresh.masking_key[...]))
    assert not np.array_equal(np.asarray(started.masking_key[...]), np.asarray(first.model.masking_key[...]))


def test_tokenized_corpus_cache_is_used_only_for_the_same_input(tmp_path, monkeypatch):
    from sesl_jax.encoders import _training

    tokenizer = SmilesTokenizer.fit(SMILES, max_length=40)
    corpus = SMILES + [SMILES[0], "C1CC"]  # a duplicate and an invalid one
    expected = _training.tokenize_corpus(tokenizer, corpus)
    cache = tmp_path / "rows.npz"
    first = _training.tokenize_corpus_cached(tokenizer, corpus, cache)
    assert cache.is_file()

    def no_tokenizing(*args, **kwargs):
        raise AssertionError("tokenized again")

    with monkeypatch.context() as patched:
        patched.setattr(_training, "tokenize_corpus", no_tokenizing)
        second = _training.tokenize_corpus_cached(tokenizer, corpus, cache)
    for got in (first, second):
        assert got[1] == expected[1] and got[2] == expected[2] == {"read": 16, "skipped": 1, "duplicates": 1}
        assert all(a.dtype == np.int32 and np.array_equal(a, b) for a, b in zip(got[0], expected[0]))
    # another tokenizer or another corpus: tokenized afresh
    other = SmilesTokenizer(tokenizer.vocabulary, max_length=30)
    assert _training.tokenize_corpus_cached(other, corpus, cache)[2] == _training.tokenize_corpus(other, corpus)[2]
    assert _training.tokenize_corpus_cached(tokenizer, corpus[:5], cache)[2]["read"] == 5
    cache.write_bytes(b"not a zip")
    assert _training.tokenize_corpus_cached(tokenizer, corpus, cache)[1] == expected[1]


def test_frozen_batch_norm_trains_with_the_running_averages_and_keeps_them(tmp_path):
    from sesl_jax.encoders._training import _training_mode, make_batch

    tokenizer = SmilesTokenizer.fit(SMILES, max_length=40)
    config = EncoderConfig(vocab_size=tokenizer.vocab_size, hidden_size=8, num_layers=2, code_dim=4, batch_norm="encoder")
    plain = TrainConfig(**{**TINY.to_dict(), "augment_smiles": False, "epochs": 1})
    first = train_encoder(tokenizer, SMILES, config, plain, out_dir=tmp_path / "first").model
    weights = tmp_path / "first" / "encoder.npz"
    frozen_config = TrainConfig(**{**plain.to_dict(), "freeze_batch_norm": True, "epochs": 2})
    frozen = train_encoder(tokenizer, SMILES, config, frozen_config, init_weights=weights).model

    statistics = {jax.tree_util.keystr(p): np.asarray(v) for p, v in
                  jax.tree_util.tree_flatten_with_path(nnx.state(first, nnx.BatchStat))[0]}
    assert statistics  # the encoder's norm between its two layers
    for name, value in jax.tree_util.tree_flatten_with_path(nnx.state(frozen, nnx.BatchStat))[0]:
        np.testing.assert_array_equal(np.asarray(value), statistics[jax.tree_util.keystr(name)])
    assert any(not np.allclose(value, _params(first)[name]) for name, value in _params(frozen).items())

    # what it trains on is what encoding computes: the training-mode loss is the evaluation-mode loss
    rows = [tokenizer.encode(s) for s in SMILES]
    ids, lengths = make_batch(rows, np.arange(len(rows)), len(rows), 8)
    losses = {}
    for mode, freeze in (("frozen", True), ("batch statistics", False)):
        _training_mode(frozen, TrainConfig(freeze_batch_norm=freeze))
        losses[mode] = float(nnx.clone(frozen).loss(jax.numpy.asarray(ids), jax.numpy.asarray(lengths))[0])
    frozen.eval()
    evaluated = float(frozen.loss(jax.numpy.asarray(ids), jax.numpy.asarray(lengths))[0])
    assert losses["frozen"] == pytest.approx(evaluated, rel=1e-6)
    assert losses["batch statistics"] != pytest.approx(evaluated, rel=1e-3)

    with pytest.raises(ValueError, match="freeze_batch_norm keeps the running averages of trained weights: give init_weights"):
        train_encoder(tokenizer, SMILES, config, frozen_config)
    without = EncoderConfig(vocab_size=tokenizer.vocab_size, hidden_size=8, num_layers=2, code_dim=4)
    with pytest.raises(ValueError, match="freeze_batch_norm needs a model with batch norm"):
        train_encoder(tokenizer, SMILES, without, frozen_config, init_weights=weights)
    with pytest.raises(ValueError, match="freeze_batch_norm must be"):
        TrainConfig(freeze_batch_norm="yes")
