"""The ``"published-code"`` variants of TSPN and RPCAΓNR against NumPy transcriptions of their
authors' update rules (``tests/reference.py``); the default variants unchanged; clear errors.

Run: ``.venv/bin/python -m pytest tests/test_rivals_published_code.py -q``
"""

import functools

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from sesl_jax.methods import METHODS  # noqa: E402
from sesl_jax.methods._rpca_gamma import (  # noqa: E402
    RPCAGammaParams,
    RPCAGammaPublishedParams,
    gamma_shrink_from_zero,
    row_norm_column_shrink,
    rpca_gamma_method,
)
from sesl_jax.methods._tspn import (  # noqa: E402
    TSPNParams,
    TSPNPublishedParams,
    schatten_weights,
    tspn_method,
    weighted_svt_symmetric,
)
from sesl_jax.pipeline import MethodConfig, build_method  # noqa: E402
from sesl_jax.similarity import integrate_similarity  # noqa: E402
from sesl_jax.solvers import Status, column_shrink, svt_symmetric  # noqa: E402
from tests import reference  # noqa: E402
from tests.test_methods_rivals import FIXED, small_problem  # noqa: E402
from tests.test_methods_rivals import reference as default_reference  # noqa: E402

ITERATIONS = 20  # per TSPN pass / RPCA ALM run, with the stopping rules switched off
RICHER_RPCA = RPCAGammaPublishedParams(sparsity=0.05, gamma=0.5, mu0=0.5)  # keeps several values alive


def reference_kwargs(params):
    return {name: value for name, value in params._asdict().items() if name != "gip_bandwidth"}


@functools.lru_cache(maxsize=None)
def published(name, stopping=False, params=None, svd_method="gram"):
    """The published-code method on the small problem and its jitted predict (compiled once)."""
    A, sims = small_problem()
    if name == "tspn":
        params = params or (TSPNPublishedParams() if stopping else TSPNPublishedParams(tol1=0.0))
        method = tspn_method(A, sims, variant="published-code", params=params,
                             max_iterations=300 if stopping else ITERATIONS)
    else:
        params = params or (RPCAGammaPublishedParams() if stopping else RPCAGammaPublishedParams(tol=0.0))
        method = rpca_gamma_method(A, sims, variant="published-code", params=params, svd_method=svd_method,
                                   max_iterations=500 if stopping else ITERATIONS)
    return method, jax.jit(method.predict)


def published_reference(name, A, sims, params, iterations, gip_from=None):
    if name == "tspn":
        return reference.tspn_published(A, sims.drug, sims.mirna, **reference_kwargs(params), max_iterations=iterations,
                                        gip_from=gip_from)
    return reference.rpca_gamma_published(A, sims.drug, sims.mirna, **reference_kwargs(params), max_iterations=iterations,
                                          gip_from=gip_from)


# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------


def test_weighted_integration():
    rng = np.random.default_rng(1)
    S, K = rng.random((5, 5)), rng.random((5, 5))
    S[1, 2] = 0.0
    got = integrate_similarity(jnp.asarray(S), jnp.asarray(K), "weighted", 0.2)
    np.testing.assert_allclose(np.asarray(got), 0.2 * S + 0.8 * K, atol=1e-15)
    # the default rule ignores the weight and is what it always was, bit for bit
    default = np.asarray(integrate_similarity(jnp.asarray(S), jnp.asarray(K), weight=0.2))
    np.testing.assert_array_equal(default, np.where(S != 0, 0.5 * (S + K), K))


def test_schatten_weights_and_weighted_svt():
    rng = np.random.default_rng(2)
    M = rng.standard_normal((7, 7))
    M = M + M.T
    singular = np.linalg.svd(M, compute_uv=False)
    weights = np.asarray(schatten_weights(jnp.asarray(M), 0.8, 2))
    np.testing.assert_allclose(weights, np.r_[0.0, 0.0, 0.8 * singular[2:] ** -0.2], rtol=1e-12)
    # unit weights: plain SVT
    np.testing.assert_allclose(np.asarray(weighted_svt_symmetric(jnp.asarray(M), 0.5, jnp.ones(7))),
                               np.asarray(svt_symmetric(jnp.asarray(M), 0.5)), atol=1e-12)
    # one weight per singular value, in decreasing order, as an SVD pairs them
    steps = np.linspace(0.1, 2.0, 7)
    U, s, Vt = np.linalg.svd(M)
    expected = U @ np.diag(np.maximum(s - 0.3 * steps, 0.0)) @ Vt
    np.testing.assert_allclose(np.asarray(weighted_svt_symmetric(jnp.asarray(M), 0.3, jnp.asarray(steps))), expected, atol=1e-12)


def test_row_norm_column_shrink():
    rng = np.random.default_rng(3)
    M = rng.standard_normal((6, 6))
    symmetric = M + M.T
    np.testing.assert_allclose(np.asarray(row_norm_column_shrink(jnp.asarray(symmetric), 1.5)),
                               np.asarray(column_shrink(jnp.asarray(symmetric), 1.5)), atol=1e-14)
    got = np.asarray(row_norm_column_shrink(jnp.asarray(M), 1.5))
    expected = M * np.array([max(0.0, 1 - 1.5 / np.linalg.norm(M[j])) for j in range(6)])[None, :]
    np.testing.assert_allclose(got, expected, atol=1e-14)
    assert np.abs(got - np.asarray(column_shrink(jnp.asarray(M), 1.5))).max() > 1e-3


def test_dc_from_zero_keeps_small_values_at_zero():
    values = jnp.asarray([10.0, 5.7, 5.5, 1.0, 0.0])
    shrunk = np.asarray(gamma_shrink_from_zero(values, 1.0 / 18.0, 0.01, 1e-6, 99))
    # threshold at x = 0: (1 + gamma) / (gamma mu) = 5.61; above it the values barely move
    np.testing.assert_array_equal(shrunk[2:], 0.0)
    assert np.all(np.abs(shrunk[:2] - np.asarray(values[:2])) < 1e-2)


# ---------------------------------------------------------------------------------------------
# Whole methods against the references
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tspn", "rpca-gamma"])
def test_published_code_matches_reference_fixed_iterations(name):
    A, sims = small_problem()
    method, predict = published(name)
    output = predict(jnp.asarray(A), method.inputs)
    expected, iterations = published_reference(name, A, sims, _params_of(method), ITERATIONS)
    np.testing.assert_allclose(np.asarray(output.scores), expected, atol=1e-8, rtol=0)
    assert np.asarray(output.iterations).tolist() == (iterations if name == "tspn" else [iterations])
    assert np.all(np.asarray(output.status) == Status.MAX_ITERATIONS)


def _params_of(method):
    params_type = TSPNPublishedParams if method.config["method"] == "tspn" else RPCAGammaPublishedParams
    return params_type(**method.config["params"])


@pytest.mark.parametrize("svd_method", ["svd", "gram"])
def test_rpca_published_code_matches_reference_with_more_values_alive(svd_method):
    """mu0 small and gamma large: several singular values survive, E and Y turn asymmetric, and
    the row-norm L2,1 step and the DC stopping rule both matter."""
    A, sims = small_problem()
    params = RICHER_RPCA._replace(tol=0.0)
    method, predict = published("rpca-gamma", params=params, svd_method=svd_method)
    expected, _ = published_reference("rpca-gamma", A, sims, params, ITERATIONS)
    scores = np.asarray(predict(jnp.asarray(A), method.inputs).scores)
    np.testing.assert_allclose(scores, expected, atol=1e-8, rtol=0)
    assert np.abs(expected).max() > 0.1  # not a trivial all-zero L


@pytest.mark.parametrize("name", ["tspn", "rpca-gamma"])
def test_published_code_stopping_rules_match_reference(name):
    A, sims = small_problem()
    method, predict = published(name, stopping=True)
    output = predict(jnp.asarray(A), method.inputs)
    expected, iterations = published_reference(name, A, sims, _params_of(method), 500 if name == "rpca-gamma" else 300)
    np.testing.assert_allclose(np.asarray(output.scores), expected, atol=1e-8, rtol=0)
    assert np.asarray(output.iterations).tolist() == (iterations if name == "tspn" else [iterations])
    assert np.all(np.asarray(output.status) == Status.CONVERGED)


@pytest.mark.parametrize("name", ["tspn", "rpca-gamma"])
def test_published_code_transductive_and_vmap(name):
    """Per-fold kernels by default, full-matrix ones in the transductive variant; vmap = loop."""
    A, sims = small_problem()
    method, predict = published(name)
    known = np.argwhere(A == 1)
    train = A.copy()
    train[known[0, 0], known[0, 1]] = 0.0
    builder = tspn_method if name == "tspn" else rpca_gamma_method
    options = dict(max_iterations=ITERATIONS, params=_params_of(method))
    variant = builder(A, sims, variant="published-code", transductive=True, **options)
    assert variant.leaks and variant.name == f"{name}-published-code-transductive"
    scores = np.asarray(predict(jnp.asarray(train), variant.inputs).scores)
    np.testing.assert_allclose(scores, published_reference(name, train, sims, _params_of(method), ITERATIONS, gip_from=A)[0],
                               atol=1e-8)
    batch = jnp.asarray(np.stack([A, train]))
    batched = jax.vmap(method.predict, in_axes=(0, None))(batch, method.inputs)
    for fold in range(2):
        single = predict(batch[fold], method.inputs)
        np.testing.assert_allclose(np.asarray(batched.scores[fold]), np.asarray(single.scores), atol=1e-9)
        np.testing.assert_array_equal(np.asarray(batched.iterations[fold]), np.asarray(single.iterations))


# ---------------------------------------------------------------------------------------------
# The default variants are unchanged; names, configs, errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tspn", "rpca-gamma"])
def test_default_variant_unchanged(name):
    """``variant="default"`` is today's method: same config, name and stages as a build without
    the keyword, and the NumPy reference of ``tests/test_methods_rivals.py``."""
    A, sims = small_problem()
    implicit = FIXED[name](A, sims)
    explicit = FIXED[name](A, sims, variant="default")
    assert explicit.config == implicit.config and "variant" not in explicit.config
    assert (explicit.name, explicit.stages) == (name, implicit.stages)
    scores = np.asarray(jax.jit(explicit.predict)(jnp.asarray(A), explicit.inputs).scores)
    np.testing.assert_allclose(scores, default_reference(name, explicit, A, sims), atol=1e-8, rtol=0)


def test_published_code_names_and_configs():
    A, sims = small_problem()
    tspn, _ = published("tspn")
    rpca, _ = published("rpca-gamma")
    assert tspn.name == "tspn-published-code" and tspn.stages == ("tspn-pass-1", "tspn-pass-2", "tspn-pass-3")
    assert tspn.config["variant"] == "published-code" and tspn.config["integration"] == "fill_zeros"
    assert rpca.name == "rpca-gamma-published-code" and rpca.config["integration"] == "weighted"
    assert rpca.config["prox_iterations"] == 99 and rpca.config["params"]["similarity_weight"] == 0.2
    assert TSPNPublishedParams().p == 0.8 and TSPNPublishedParams().dual_step == 1.0
    assert RPCAGammaPublishedParams()[:5] == (1e-3, 0.01, 18.0, 1.1, 1e-3)


@pytest.mark.parametrize("builder, name", [(tspn_method, "tspn"), (rpca_gamma_method, "rpca-gamma")])
def test_variant_errors(builder, name):
    A, sims = small_problem()
    with pytest.raises(ValueError, match=rf"{name}: unknown variant 'nope'.*'published-code'"):
        builder(A, sims, variant="nope")
    wrong = RPCAGammaParams() if name == "tspn" else TSPNParams()
    with pytest.raises(TypeError, match="published-code"):
        builder(A, sims, variant="published-code", params=wrong)
    with pytest.raises(ValueError, match="similarity_weight"):
        builder(A, sims, integration="weighted")  # the default params carry no weight


def test_pipeline_builds_published_code_variants():
    A, sims = small_problem()
    for name in ("tspn", "rpca-gamma"):
        method = build_method(A, sims, MethodConfig(method=name, variant="published-code"))
        assert method.name == f"{name}-published-code"


@pytest.mark.parametrize("name", sorted(set(METHODS) - {"tspn", "rpca-gamma"}))
def test_other_methods_reject_published_code_clearly(name):
    A, sims = small_problem()
    with pytest.raises(ValueError, match=name):
        build_method(A, sims, MethodConfig(method=name, variant="published-code"))


# ---------------------------------------------------------------------------------------------
# Reproduction: both variants, labelled
# ---------------------------------------------------------------------------------------------


def test_published_code_methods_are_the_builders_that_take_a_variant():
    import inspect

    from sesl_jax.reproduce.experiments import PUBLISHED_CODE_METHODS

    takes_variant = {name for name, spec in METHODS.items() if "variant" in inspect.signature(spec.builder).parameters}
    assert takes_variant == set(PUBLISHED_CODE_METHODS)


def test_reproduction_plans_both_variants_labelled():
    from sesl_jax.reproduce import default_plan, experiment_rows, unique_runs
    from sesl_jax.reproduce.runner import run_config

    rows = experiment_rows(default_plan())[1]
    specs = unique_runs({1: rows})
    for method in ("tspn", "rpca-gamma"):
        for protocol in ("loocv", "kfold"):
            found = {(s.code_variant, s.transductive) for s in specs
                     if s.method == method and s.protocol == protocol and s.dataset == "fcd"}
            assert found == {(v, t) for v in ("default", "published-code") for t in (False, True)}, (method, protocol)
    assert not any(s.code_variant != "default" for s in specs if s.method not in ("tspn", "rpca-gamma"))
    published = next(s for s in specs if s.method == "tspn" and s.code_variant == "published-code" and not s.transductive)
    default = next(s for s in specs if s.method == "tspn" and s.code_variant == "default" and not s.transductive
                   and s.protocol == published.protocol and s.dataset == published.dataset)
    assert published.key == default.key + "_published-code"  # default keys unchanged (resumes still find them)
    assert "published code" in published.variant and "published code" not in default.variant
    assert "--variant published-code" in published.cv_command(None, "float64", "DIR")
    assert "--variant" not in default.cv_command(None, "float64", "DIR")
    assert run_config(published, default_plan()).variant == "published-code"
    labels = [row.label for row in rows if row.dataset == "fcd" and row.runs[0].method == "rpca-gamma"]
    assert labels == ["rpca-gamma", "rpca-gamma - transductive (published protocol)", "rpca-gamma - authors' published code",
                      "rpca-gamma - authors' published code - transductive (published protocol)"]
    assert not any(s.code_variant != "default" for s in unique_runs(experiment_rows(default_plan(published_code=False))))


def test_reproduction_report_shows_both_rpca_variants(tmp_path):
    from sesl_jax.reproduce import ExperimentPlan, run_reproduction
    from tests.test_reproduce import synthetic_dataset

    plan = ExperimentPlan(datasets=("fcd",), methods=("rpca-gamma",), experiments=(1,), k=3, repeats=1, loocv_subsample=3,
                          dtype="float64", batch_size=3, quick=True)
    results = run_reproduction({"fcd": synthetic_dataset("fcd")}, tmp_path, plan, log=lambda line: None)
    done = {(r["spec"]["code_variant"], r["spec"]["transductive"]) for r in results["runs"].values() if r["status"] == "done"}
    assert done == {(v, t) for v in ("default", "published-code") for t in (False, True)}
    report = (tmp_path / "report.md").read_text()
    assert "per-fold (leakage-free), authors' published code" in report
    assert "transductive (published protocol), authors' published code" in report
    assert "--variant published-code" in report


def test_runtime_table_names_the_published_code_variant():
    from sesl_jax.reproduce.report import runtime_table

    def record(variant):
        spec = {"dataset": "pcd", "method": "tspn", "similarity": "drug=chemical,mirna=biological", "protocol": "kfold",
                "repeats": 1, "k": 5, "transductive": False, "code_variant": variant}
        summary = {"n_folds": 5, "timing": {"compute_seconds_all_folds": 10.0, "seconds_per_fold_all_folds": 2.0}}
        return {"status": "done", "spec": spec, "summary": summary}

    table = runtime_table({"a": record("default"), "b": record("published-code")}, "float32")
    rows = [line for line in table.splitlines() if line.startswith("| PCD")]
    assert "| per-fold |" in rows[0] and "| per-fold, authors' published code |" in rows[1]
