"""Slow, obvious reference implementations the fast kernels are checked against."""

import numpy as np
import scipy.optimize


def frobenius_error(A, W, H):
    A, W, H = (x.astype(np.float64) for x in (A, W, H))
    return np.linalg.norm(A - W @ H) / np.linalg.norm(A)


def kl_divergence(A, W, H):
    A, WH = A.astype(np.float64), (W @ H).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(A > 0, A * np.log(A / WH), 0.0)
    return float(term.sum() - A.sum() + WH.sum())


def nnls_columns(A, W):
    """min_{h >= 0} ||a - W h|| column by column with scipy's Lawson-Hanson NNLS."""
    A, W = A.astype(np.float64), W.astype(np.float64)
    return np.stack([scipy.optimize.nnls(W, A[:, j])[0] for j in range(A.shape[1])], axis=1)


def kkt_violation(A, W, H):
    """Largest violation of the KKT conditions of min_{H>=0} ||A - W H||², relative."""
    A, W, H = (x.astype(np.float64) for x in (A, W, H))
    grad = W.T @ W @ H - W.T @ A
    scale = np.abs(W.T @ A).max()
    return max(-H.min(), -grad.min() / scale, np.abs(H * grad).max() / (scale * max(H.max(), 1e-300)))


def whitened_cosine_distances(G, labels, P, shrinkage):
    """Slow dense reference of recognition.whitened_distances: forms the d x d covariance."""
    G, P = np.asarray(G, float), np.asarray(P, float)
    mean = G.mean(axis=1, keepdims=True)
    G, P = G - mean, P - mean
    Z = np.hstack([G[:, labels == lab] - G[:, labels == lab].mean(axis=1, keepdims=True)
                   for lab in np.unique(labels)])
    D = np.diag(1 / np.sqrt(np.mean(Z**2, axis=1)))
    R = D @ Z @ Z.T @ D / Z.shape[1]
    R = (1 - shrinkage) * R + shrinkage * np.trace(R) / len(R) * np.eye(len(R))
    evals, evecs = np.linalg.eigh(R)
    T = evecs @ np.diag(evals**-0.5) @ evecs.T @ D
    g, p = T @ G, T @ P
    return 1 - (g.T @ p) / np.outer(np.linalg.norm(g, axis=0), np.linalg.norm(p, axis=0))
