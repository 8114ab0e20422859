"""Objective values computed without forming ``A - W H``."""

from __future__ import annotations

import numpy as np

__all__ = ["gram", "squared_error", "kl_divergence"]

# Terms per float32 partial Gram matrix in gram(), summed in float64: as accurate (about
# 0.005 eps of the quadratic term) as float64 throughout at a quarter of its extra cost.
_GRAM_BLOCK = 2048


def gram(X):
    """``X Xᵀ`` (float64) for ``X`` of shape (k, p): float64 throughout for float64 or short
    ``X``, else float32 products over blocks of ``_GRAM_BLOCK`` columns summed in float64."""
    if X.dtype == np.float64 or X.shape[1] <= _GRAM_BLOCK:
        X = X.astype(np.float64, copy=False)
        return X @ X.T
    G = np.zeros((X.shape[0], X.shape[0]))
    for s in range(0, X.shape[1], _GRAM_BLOCK):
        B = X[:, s:s + _GRAM_BLOCK]
        G += B @ B.T
    return G


def squared_error(norm_A_sq, WtA, WtW, H, HHt=None):
    """``||A - W H||_F²`` by the trace trick, from small matrices only.

    ``||A||² - 2 tr(Hᵀ WᵀA) + tr(WᵀW H Hᵀ)``, accumulated in float64. ``WtA`` is
    ``(rank, n_faces)``, ``WtW`` and ``HHt`` are ``(rank, rank)``.
    """
    if HHt is None:
        HHt = H @ H.T
    cross = np.vdot(H.astype(np.float64, copy=False), WtA.astype(np.float64, copy=False))
    quad = np.vdot(WtW.astype(np.float64, copy=False), HHt.astype(np.float64, copy=False))
    return max(norm_A_sq - 2.0 * cross + quad, 0.0)


def kl_divergence(A, WH, eps):
    """Generalized Kullback-Leibler divergence ``sum(A log(A / WH) - A + WH)``.

    ``0 log 0 = 0``; ``eps`` keeps ``log`` finite where ``WH`` is 0. Accumulated in float64.
    """
    pos = A > 0
    a = A[pos]
    ratio = a / np.maximum(WH[pos], eps)
    return float(np.dot(a.astype(np.float64), np.log(ratio).astype(np.float64))
                 - A.sum(dtype=np.float64) + WH.sum(dtype=np.float64))
