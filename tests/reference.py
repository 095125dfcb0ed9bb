"""Slow, obvious NumPy references (float64) that the JAX solvers must match."""

from __future__ import annotations

import numpy as np


def svt(matrix, tau):
    left, singular, right_t = np.linalg.svd(matrix, full_matrices=False)
    return left @ np.diag(np.maximum(singular - tau, 0.0)) @ right_t


def column_shrink(matrix, tau):
    out = np.zeros_like(matrix)
    for j in range(matrix.shape[1]):
        norm = np.linalg.norm(matrix[:, j])
        if norm > tau:
            out[:, j] = (1.0 - tau / norm) * matrix[:, j]
    return out


def lrr_ialm(A, alpha=0.3, mu=1e-4, rho=1.1, mu_max=1e10, tol=1e-6, max_iterations=1000, side="mirnas",
             with_coefficients=False):
    """IALM exactly as SPEC step 3 writes it; returns (A X, iterations, converged[, X])."""
    data = A.T if side == "drugs" else A
    n, m = data.shape
    X = np.zeros((m, m)); J = np.zeros((m, m)); P = np.zeros((n, m))
    Y1 = np.zeros((n, m)); Y2 = np.zeros((m, m))
    inverse = np.linalg.inv(data.T @ data + np.eye(m))
    converged = False
    iterations = 0
    while iterations < max_iterations:
        iterations += 1
        J = svt(X + Y2 / mu, 1.0 / mu)
        X = inverse @ (data.T @ data - data.T @ P + J + (data.T @ Y1 - Y2) / mu)
        P = column_shrink(data - data @ X + Y1 / mu, alpha / mu)
        r1 = data - data @ X - P
        r2 = X - J
        Y1 = Y1 + mu * r1
        Y2 = Y2 + mu * r2
        mu = min(rho * mu, mu_max)
        if np.abs(r1).max() < tol and np.abs(r2).max() < tol:
            converged = True
            break
    denoised = data @ X
    result = (denoised.T if side == "drugs" else denoised), iterations, converged
    return (*result, X) if with_coefficients else result


def bnnr(T, omega, alpha=1.0, beta=10.0, tol1=2e-3, tol2=1e-5, max_iterations=300):
    """The public BNNR ADMM (SPEC step 4); returns (W, iterations, converged)."""
    X = T.copy(); W = T.copy(); Y = T.copy()
    stop1 = 1.0
    converged = False
    iterations = 0
    while iterations < max_iterations:
        iterations += 1
        Z = X + (Y + alpha * omega * T) / beta
        W = np.clip(Z - (alpha / (alpha + beta)) * omega * Z, 0.0, 1.0)
        X_new = svt(W - Y / beta, 1.0 / beta)
        Y = Y + beta * (X_new - W)
        previous = stop1
        stop1 = np.linalg.norm(X_new - X) / np.linalg.norm(X)
        stop2 = abs(stop1 - previous) / max(1.0, abs(previous))
        X = X_new
        if stop1 < tol1 and stop2 < tol2:
            converged = True
            break
    return W, iterations, converged


def sesl(A, Sd, Sm, sparse_learning=True, observed="nonzero", coefficients=None, **lrr_kwargs):
    """The whole SESL prediction: LRR then BNNR on T; returns the drugs x miRNAs block.

    ``coefficients``: a given X* (miRNA side) to use as ``A1 = A X*`` instead of solving the LRR."""
    if coefficients is not None:
        block = A @ coefficients
    else:
        block = lrr_ialm(A, **lrr_kwargs)[0] if sparse_learning else A
    T = np.block([[Sd, block], [block.T, Sm]])
    omega = (T != 0).astype(float)
    if observed == "known":
        nd = A.shape[0]
        omega[:nd, nd:] = A != 0
        omega[nd:, :nd] = (A != 0).T
    W = bnnr(T, omega)[0]
    return W[: A.shape[0], A.shape[0]:]
