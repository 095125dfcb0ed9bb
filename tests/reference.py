"""Slow, obvious NumPy references (float64) that the JAX solvers must match."""

from __future__ import annotations

import numpy as np


def svt(matrix, tau):
    left, singular, right_t = np.linalg.svd(matrix, full_matrices=False)
    return left @ np.diag(np.maximum(singular - tau, 0.0)) @ right_t


def svt_symmetric(matrix, tau):
    """SVT of a symmetric matrix from its eigendecomposition: singular values are |eigenvalues|."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    shrunk = np.sign(values) * np.maximum(np.abs(values) - tau, 0.0)
    return (vectors * shrunk) @ vectors.T


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


def bnnr(T, omega, alpha=1.0, beta=10.0, tol1=2e-3, tol2=1e-5, max_iterations=300, symmetric=False):
    """The public BNNR ADMM (SPEC step 4); returns (W, iterations, converged).

    ``symmetric``: SVT by ``eigh`` (T and omega symmetric), the loop the JAX solver's default follows."""
    threshold = svt_symmetric if symmetric else svt
    X = T.copy(); W = T.copy(); Y = T.copy()
    stop1 = 1.0
    converged = False
    iterations = 0
    while iterations < max_iterations:
        iterations += 1
        Z = X + (Y + alpha * omega * T) / beta
        W = np.clip(Z - (alpha / (alpha + beta)) * omega * Z, 0.0, 1.0)
        X_new = threshold(W - Y / beta, 1.0 / beta)
        Y = Y + beta * (X_new - W)
        previous = stop1
        stop1 = np.linalg.norm(X_new - X) / np.linalg.norm(X)
        stop2 = abs(stop1 - previous) / max(1.0, abs(previous))
        X = X_new
        if stop1 < tol1 and stop2 < tol2:
            converged = True
            break
    return W, iterations, converged


def sesl(A, Sd, Sm, sparse_learning=True, observed="nonzero", coefficients=None, symmetric=False, **lrr_kwargs):
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
    W = bnnr(T, omega, symmetric=symmetric)[0]
    return W[: A.shape[0], A.shape[0]:]


# ---------------------------------------------------------------------------------------------
# Rivals as their authors' public code writes them (the "published-code" variants)
# ---------------------------------------------------------------------------------------------


def gip(profiles, bandwidth=1.0):
    """GIP kernel between the rows of ``profiles``, pair by pair."""
    n = profiles.shape[0]
    mean_norm = np.mean([profiles[i] @ profiles[i] for i in range(n)])
    gamma = bandwidth / mean_norm if mean_norm > 0 else bandwidth
    kernel = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            kernel[i, j] = np.exp(-gamma * np.sum((profiles[i] - profiles[j]) ** 2))
    return kernel


def tspn_published(A, Sd, Sm, p=0.8, alpha=1.0, beta=10.0, dual_step=1.0, tol1=2e-3, tol2=1e-5, rank=1, passes=3,
                   max_iterations=300, gip_from=None):
    """TSPN's public ``TSPN.py``/``run_MC`` (returning N per pass); returns (scores, iterations per pass).

    Similarities: S where S != 0, GIP elsewhere. Each pass: weights p sigma^(p-1) of its start
    matrix (0 for the ``rank`` largest), BNNR's ADMM with weighted SVT, Y += dual_step (X - N);
    the next pass re-targets the clipped N. Omega: nonzero entries of the first T."""
    G = A if gip_from is None else gip_from
    drug = np.where(Sd != 0, Sd, gip(G))
    mirna = np.where(Sm != 0, Sm, gip(G.T))
    t = np.block([[drug, A], [A.T, mirna]])
    omega = (t != 0).astype(float)
    counts = []
    for _ in range(passes):
        start_values = np.linalg.svd(t, compute_uv=False)
        weights = np.zeros_like(start_values)
        for i in range(rank, len(start_values)):
            weights[i] = p * start_values[i] ** (p - 1)
        X, N, Y = t.copy(), t.copy(), t.copy()
        stop1 = 1.0
        iterations = 0
        while iterations < max_iterations:
            iterations += 1
            Z = X + (Y + alpha * omega * t) / beta
            N = np.clip(Z - alpha / (alpha + beta) * omega * Z, 0.0, 1.0)
            U, s, Vt = np.linalg.svd(N - Y / beta)
            s = np.array([s[i] - weights[i] / beta if s[i] >= weights[i] / beta else 0.0 for i in range(len(s))])
            X_new = U @ np.diag(s) @ Vt
            Y = Y + dual_step * (X_new - N)
            previous = stop1
            stop1 = np.linalg.norm(X_new - X) / np.linalg.norm(X)
            stop2 = abs(stop1 - previous) / max(1.0, abs(previous))
            X = X_new
            if stop1 < tol1 and stop2 < tol2:
                break
        counts.append(iterations)
        t = N
    return t[: A.shape[0], A.shape[0]:], counts


def rpca_gamma_published(A, Sd, Sm, sparsity=1e-3, gamma=0.01, mu0=18.0, rho=1.1, tol=1e-3, prox_tol=1e-6,
                         similarity_weight=0.2, prox_iterations=99, max_iterations=500, gip_from=None):
    """RPCAΓNR's public ``GIP.py`` + ``Matrix Completion.py``; returns (scores, iterations).

    Similarities: w S + (1 - w) GIP. ALM with the DC iteration started from 0 in every
    iteration, the L2,1 step with row norms scaling columns, mu growing without a cap."""
    G = A if gip_from is None else gip_from
    w = similarity_weight
    H = np.block([[w * Sd + (1 - w) * gip(G), A], [A.T, w * Sm + (1 - w) * gip(G.T)]])
    E, Y = np.zeros_like(H), np.zeros_like(H)
    mu = mu0
    iterations = 0
    while iterations < max_iterations:
        iterations += 1
        U, s, Vt = np.linalg.svd(H - E - Y / mu)
        x = np.zeros_like(s)
        for _ in range(prox_iterations):
            new = np.maximum(s - (1 / mu) * gamma * (1 + gamma) / (gamma + x) ** 2, 0.0)
            change = np.sum((new - x) ** 2)
            x = new
            if change < prox_tol:
                break
        L = U @ np.diag(x) @ Vt
        D = H - L - Y / mu
        E = np.zeros_like(D)
        for j in range(D.shape[1]):
            row_norm = np.linalg.norm(D[j, :])
            if row_norm > sparsity / mu:
                E[:, j] = (1 - sparsity / mu / row_norm) * D[:, j]
        Y = Y + mu * (L - H + E)
        mu = rho * mu
        if np.linalg.norm(H - E - L) / np.linalg.norm(H) < tol:
            break
    return L[: A.shape[0], A.shape[0]:], iterations
