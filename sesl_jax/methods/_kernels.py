"""What the GIP-based rival methods share beyond the kernels themselves.

The kernels (``gip_kernel``, ``integrate_similarity``...) live in ``sesl_jax.similarity``; here:

- ``transductive_gip_variant``: the one labelled exception to per-fold kernels, GIP kernels
  computed once from the full matrix (the rivals' published protocol, for reproduction only);
- ``kronecker_rls``: Kronecker regularised least squares (van Laarhoven et al. 2011);
- ``completion_predict``: the ``predict`` of a method that completes the heterogeneous matrix;
- ``variant_params``: the parameters of a builder's ``variant`` (TSPN and RPCAΓNR have a
  ``"published-code"`` variant that follows their authors' public code).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from sesl_jax.similarity import (  # noqa: F401  (Integration, check_integration: the rivals' vocabulary)
    Integration,
    check_integration,
    gip_kernel,
    gip_kernels,
    integrated_similarities,
)


def variant_params(method: str, variant: str, params: Any, types: Mapping[str, type]) -> Any:
    """``params``, or the defaults, of ``method``'s ``variant``.

    Args:
        method: the method's name, for messages.
        variant: e.g. ``"default"`` or ``"published-code"``.
        params: a parameter ``NamedTuple`` or ``None``.
        types: each variant's parameter type.

    Raises:
        ValueError: an unknown variant. TypeError: ``params`` of another variant's type.
    """
    if variant not in types:
        raise ValueError(f"{method}: unknown variant {variant!r}; choose one of {', '.join(map(repr, types))}")
    expected = types[variant]
    if params is None:
        return expected()
    if not isinstance(params, expected):
        raise TypeError(f"{method} variant {variant!r} takes {expected.__name__} params, got {type(params).__name__}")
    return params


def check_completion_integration(method: str, integration: str, params: Any) -> None:
    """``integration`` is a known rule, and ``"weighted"`` comes with ``params.similarity_weight``."""
    check_integration(integration)
    if integration == "weighted" and "similarity_weight" not in type(params)._fields:
        raise ValueError(
            f"{method}: integration 'weighted' needs a similarity_weight parameter, which {type(params).__name__} lacks"
        )


def transductive_gip_variant(method, associations: np.ndarray, bandwidth: float, transductive: bool):
    """``method`` itself, or with ``transductive`` its labelled published-protocol variant: the GIP
    kernels come from the FULL association matrix (``inputs["full_gip"]``), so a hidden pair shapes
    the kernels that score it. Every predict reads ``inputs.get("full_gip")`` through ``gip_kernels``."""
    if not transductive:
        return method
    dtype = method.inputs["drug_similarity"].dtype
    full = jnp.asarray(associations, dtype)
    full_gip = (gip_kernel(full, bandwidth), gip_kernel(full.T, bandwidth))
    return dataclasses.replace(
        method,
        name=method.name + "-transductive",
        inputs={**method.inputs, "full_gip": full_gip},
        config={**method.config, "transductive_fit": "GIP kernels fitted on the full matrix (leaks)"},
        leaks=True,
    )


def kronecker_rls(drug_kernel: jax.Array, mirna_kernel: jax.Array, associations: jax.Array, regularisation: jax.Array) -> jax.Array:
    """Kronecker regularised least squares, closed form through two eigendecompositions.

    .. math:: F = Q_d \\big[C \\odot (Q_d^T A Q_m)\\big] Q_m^T, \\quad
              C_{ij} = \\frac{\\lambda_i \\mu_j}{\\lambda_i \\mu_j + \\sigma}

    which is ``vec(F) = K (K + sigma I)^{-1} vec(A)`` with ``K = K_m (x) K_d``.

    Args:
        drug_kernel: (n_d, n_d) symmetric positive semi-definite.
        mirna_kernel: (n_m, n_m) symmetric positive semi-definite.
        associations: (n_d, n_m) training A.
        regularisation: ``sigma`` > 0.
    """
    drug_values, drug_vectors = jnp.linalg.eigh(0.5 * (drug_kernel + drug_kernel.T))
    mirna_values, mirna_vectors = jnp.linalg.eigh(0.5 * (mirna_kernel + mirna_kernel.T))
    products = drug_values[:, None] * mirna_values[None, :]
    filtered = products / (products + regularisation) * (drug_vectors.T @ associations @ mirna_vectors)
    return drug_vectors @ filtered @ mirna_vectors.T


def completion_predict(solve, integration: Integration):
    """``predict`` of a method that completes the heterogeneous matrix built on GIP-augmented
    similarities: ``solve(target, params) -> (completed, SolverStats)``; the prediction is the
    drugs x miRNAs block. Kernels come from the fold's training associations (leakage-free)
    unless a transductive variant carries full-matrix ones.

    ``params`` carry ``gip_bandwidth``, and ``similarity_weight`` for the ``"weighted"``
    integration. The stats hold one scalar per solver stage, or a vector for a solve that
    runs several stages (TSPN's published passes)."""
    from sesl_jax.methods._base import MethodOutput
    from sesl_jax.model import heterogeneous_matrix

    def predict(train_associations: jax.Array, inputs) -> MethodOutput:
        params = inputs["params"]
        associations = train_associations.astype(inputs["drug_similarity"].dtype)
        weight = params.similarity_weight if integration == "weighted" else 0.5
        drug, mirna = integrated_similarities(
            associations, inputs["drug_similarity"], inputs["mirna_similarity"], params.gip_bandwidth, integration,
            inputs.get("full_gip"), weight,
        )
        completed, stats = solve(heterogeneous_matrix(drug, associations, mirna), params)
        n_drugs = associations.shape[0]
        return MethodOutput(
            completed[:n_drugs, n_drugs:], jnp.reshape(stats.iterations, (-1,)), jnp.reshape(stats.status, (-1,))
        )

    return predict
