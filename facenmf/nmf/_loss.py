"""Objective values: the fast trace trick, the exact residual, the KL divergence.

In float32 the trace trick ``||A||² - 2 <H, WᵀA> + <WᵀW, HHᵀ>`` cancels: near a good fit the
terms are about ``||A||²`` while the result, ``err² ||A||²``, is far smaller, so a rounding
error of a fraction of ``eps ||A||²`` in a term is a large error of the result (a float32
Gram matrix alone costs about ``0.06 eps ||A||²``). The Gram matrices ``WᵀW`` and ``HHᵀ`` are
therefore accumulated in float64 (:func:`gram`; cheap, ``rank² (n + m)`` flops). ``WᵀA``
stays in the working precision (it is the expensive product), which leaves an error of at
most :func:`rounding_bound`; when that matters for the stop test, :func:`residual_error`
gives the error without cancellation.
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from ._sparse import is_sparse, sparse_squared_error, sparse_squared_norm

__all__ = ["squared_norm", "squared_error", "residual_error", "rounding_bound", "gram", "kl_constant",
           "kl_divergence"]

# Bound on the rounding error of the trace trick in units of eps ||A||²: twice the cross
# term's <H, fl(WᵀA)> - <H, WᵀA> (the BLAS rounding errors of the rank x n_faces entries of
# WᵀA mostly cancel in the sum) plus the quadratic term's with gram()'s Gram matrices.
# Measured at most 2 x 0.06 + 0.006 (ORL 10304x400, 361x2429 and synthetic shapes, ranks 5
# to 49, OpenBLAS); 1 leaves a wide margin.
TRACE_ROUNDING = 1.0

# Terms per float32 partial Gram matrix in gram(), summed in float64: as accurate (about
# 0.005 eps of the quadratic term) as float64 throughout at a quarter of its extra cost.
_GRAM_BLOCK = 2048
# Entries per block of a pass over A (4 MB in float32): the temporaries stay small.
_BLOCK = 1 << 20


def _column_blocks(A):
    step = max(1, _BLOCK // max(A.shape[0], 1))
    return (slice(s, s + step) for s in range(0, A.shape[1], step))


def squared_norm(A):
    """``||A||_F²`` accumulated in float64 (of the stored entries of a sparse ``A``)."""
    if is_sparse(A):
        return sparse_squared_norm(A)
    return float(np.einsum("ij,ij->", A, A, dtype=np.float64))


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
    ``(rank, n_faces)``; ``WtW`` and ``HHt`` are ``(rank, rank)``, float64 from :func:`gram`
    (a float32 Gram matrix would cost about ``0.1 eps ||A||²`` of accuracy).
    """
    if HHt is None:
        HHt = gram(H)
    # <H, WᵀA> in float64, by blocks of columns: no float64 copies of the (rank, n_faces)
    # matrices (one block, and one vdot, when n_faces <= _GRAM_BLOCK).
    cross = sum(np.vdot(H[:, c].astype(np.float64), WtA[:, c].astype(np.float64))
                for c in (slice(s, s + _GRAM_BLOCK) for s in range(0, H.shape[1], _GRAM_BLOCK)))
    quad = np.vdot(WtW.astype(np.float64, copy=False), HHt.astype(np.float64, copy=False))
    return max(norm_A_sq - 2.0 * cross + quad, 0.0)


def rounding_bound(norm_A_sq, dtype):
    """Bound on the rounding error of :func:`squared_error` (float64 Gram matrices, ``WᵀA``
    in ``dtype``): ``TRACE_ROUNDING eps ||A||²``, the terms being about ``||A||²``."""
    return TRACE_ROUNDING * float(np.finfo(dtype).eps) * norm_A_sq


def residual_error(A, W, H):
    """``||A - W H||_F²`` from the residual, block by block of columns, summed in float64.

    No cancellation: accurate to about 1e-6 relative in float32 whatever the fit (measured
    5e-9 on ORL-sized data against float64 throughout). Costs one product ``W H`` (as much
    as ``WᵀA``) and a pass over ``A``. For a sparse ``A``, the trace trick in float64 (as
    accurate, and ``W H`` is never formed).
    """
    if is_sparse(A):
        return sparse_squared_error(A, W, H)
    total = 0.0
    for cols in _column_blocks(A):
        R = W @ H[:, cols]
        np.subtract(A[:, cols], R, out=R)
        # One sum of squares per face in the working precision (n_pixels terms each), the
        # faces' sums added in float64: one pass, no Python loop over chunks.
        total += float(np.einsum("ij,ij->j", R, R).sum(dtype=np.float64))
    return total


def kl_constant(A):
    """``sum(A log A - A)`` in float64 (``0 log 0 = 0``): the part of the generalized KL
    divergence that depends on ``A`` only."""
    return sum(float(xlogy(a, a).sum() - a.sum())
               for a in (A[:, cols].astype(np.float64) for cols in _column_blocks(A)))


def kl_divergence(A, WH, eps, constant=None):
    """Generalized Kullback-Leibler divergence ``D(A || WH) = sum(A log(A / WH) - A + WH)``.

    Computed as ``sum(A log A - A) - sum(A log WH) + sum(WH)`` with float64 products and
    sums: a tiny positive entry of ``A`` (1e-44 in float32, a subnormal in float64) gives a
    tiny term, where ``log(A / WH)`` would underflow to ``log(0) = -inf``. ``0 log 0 = 0``;
    ``eps`` keeps ``log WH`` finite where ``WH`` is 0. ``constant`` is :func:`kl_constant`
    of ``A`` when the caller keeps it.
    """
    if constant is None:
        constant = kl_constant(A)
    cross = 0.0
    for cols in _column_blocks(A):
        log_wh = np.log(np.maximum(WH[:, cols], eps))
        cross += float(np.einsum("ij,ij->", A[:, cols], log_wh, dtype=np.float64))
    return max(constant - cross + float(WH.sum(dtype=np.float64)), 0.0)
