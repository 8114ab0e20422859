"""Objective values computed without forming ``A - W H``."""

from __future__ import annotations

import numpy as np

__all__ = ["squared_error", "kl_divergence"]


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
