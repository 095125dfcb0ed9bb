"""One rule for integer, boolean and real arguments (``sesl_jax._values``): NumPy and JAX scalars
are accepted where Python's are, and the checks that use the rule accept them too."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from sesl_jax._values import check_integer, is_boolean, is_integer, is_real
from synthetic import planted_problem


def test_integer_boolean_and_real_accept_numpy_and_jax_scalars():
    for value in (3, np.int64(3), np.int32(3), np.uint8(3), jnp.int32(3), np.array(3)):
        assert is_integer(value) and is_real(value), value
    for value in (True, np.True_, 2.0, np.float32(2.0), jnp.float32(2.0), "3", None, np.arange(2)):
        assert not is_integer(value), value
    for value in (True, False, np.True_, jnp.asarray(False)):
        assert is_boolean(value) and not is_real(value), value
    for value in (1, "yes", None, np.int8(1)):
        assert not is_boolean(value), value
    assert is_real(np.float32(0.5)) and is_real(np.array(1e-3)) and not is_real("0.1")
    check_integer("n", jnp.int32(5), 1)
    with pytest.raises(ValueError, match="n must be an integer >= 1 or None, got 2.5"):
        check_integer("n", 2.5, 1, optional=True)


def test_checks_accept_the_scalars_users_pass():
    """Each of these was refused by a first version of the new checks."""
    from sesl_jax.encoders import RnaTokenizer
    from sesl_jax.encoders._model import EncoderConfig
    from sesl_jax.encoders._training import TrainConfig
    from sesl_jax.evaluation import evaluate, loocv_folds, new_drug_folds
    from sesl_jax.methods import METHODS, Similarities
    from sesl_jax.solvers import bnnr_complete, lrr_ialm

    A, Sd, Sm = planted_problem(6, 8, seed=3)
    assert new_drug_folds(A, jnp.asarray([0, 1])).n_folds == 2
    assert lrr_ialm(A, rank_bound=jnp.int32(5), max_iterations=jnp.int32(5)).stats.iterations <= 5
    T = np.block([[Sd, A], [A.T, Sm]])
    assert bnnr_complete(T, T != 0, svt_method="subspace", svt_rank=jnp.int32(3), max_iterations=np.int64(4)) \
        .stats.iterations <= 4
    method = METHODS["bnnr"].builder(A, Similarities(Sd, Sm, "test"), dtype="float64")
    folds = loocv_folds(A)
    expected = evaluate(method, A, folds, dtype="float64").hidden_scores
    for dtype in (np.float64, jnp.float64, np.dtype("float64")):
        np.testing.assert_array_equal(evaluate(method, A, folds, dtype=dtype).hidden_scores, expected)
    config = EncoderConfig(vocab_size=np.int64(8), hidden_size=jnp.int32(4), reverse_input=np.False_)
    assert config.to_dict()["reverse_input"] is False and type(config.to_dict()["hidden_size"]) is int
    train = TrainConfig(learning_rate=np.array(1e-3), augment_smiles=np.True_, epochs=np.int64(2))
    assert train.augment_smiles is True and type(train.learning_rate) is float and type(train.epochs) is int
    tokenizer = RnaTokenizer()
    assert tokenizer.decode(i for i in tokenizer.encode("ACGU")) == "ACGU"


def test_remaining_library_mistakes_are_named():
    """The last sweep's findings: each was an obscure error or a silently changed value."""
    import jax

    from sesl_jax import SESL
    from sesl_jax.data import DataError, Dataset, load_dataset
    from sesl_jax.encoders import encode, load_pretrained
    from sesl_jax.pipeline import MethodConfig
    from sesl_jax.solvers import LRRParams, lrr_ialm

    A, Sd, Sm = planted_problem(5, 6, seed=5)
    cases = [
        (lambda: MethodConfig("sesl", mirna_form=""), ValueError, "mirna_form must be one of mature, hairpin; got ''"),
        (lambda: MethodConfig("sesl", encoder=""), ValueError, "encoder must be one of lstm, transformer; got ''"),
        (lambda: lrr_ialm(A, LRRParams(mu=1.0, mu_max=1e-3)), ValueError, r"LRRParams.mu_max \(0.001\) must be at least"),
        (lambda: SESL("se").fit(A, Sd.astype(complex), Sm), DataError, "drug_similarity: complex values"),
        (lambda: SESL.load(None), TypeError, "a saved model is a directory path, got None"),
        (lambda: load_dataset("fcd", data_dir=5, download=False), DataError, "data_dir must be a directory path"),
        (lambda: Dataset("x", ("d", "e"), ("a", "b"), [[1, 0], [0]]), DataError,
         "dataset 'x' associations: not a numeric matrix"),
        (lambda: encode("rna", ["ACGU"]), TypeError, "encode takes an Encoder"),
        (lambda: encode(load_pretrained("rna"), None), TypeError, "encode takes a list, one entry per item; got NoneType"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()
    traced = jax.vmap(lambda mu_max: lrr_ialm(A, LRRParams(mu=1.0, mu_max=mu_max)).stats.status)(jnp.asarray([1e6, 1e-3]))
    assert traced.tolist() == [0, 3]  # converged; invalid input
