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
