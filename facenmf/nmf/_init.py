"""Initial factors: random, NNDSVD and its variants, or given by the user."""

from __future__ import annotations

import numpy as np

from ._loss import gram

__all__ = ["INITS", "EXACT_SVD_MAX", "initialize", "truncated_svd"]

INITS = ("random", "nndsvd", "nndsvda", "nndsvdar", "custom")

# Below this many columns (or rows) on the smaller side the SVD comes exactly from the
# eigen-decomposition of the small Gram matrix; above it a randomized SVD is cheaper.
EXACT_SVD_MAX = 1500


def truncated_svd(A, rank, rng=None):
    """Leading ``rank`` singular triplets of ``A`` (float64).

    Returns ``U (n, rank)``, ``s (rank,)``, ``Vt (rank, m)`` with ``s`` descending. When
    the smaller side of ``A`` is at most ``EXACT_SVD_MAX`` they come exactly (and
    deterministically) from the eigen-decomposition of the Gram matrix; above, from a
    randomized SVD whose random start is drawn from ``rng`` (a ``numpy.random.Generator``;
    None means a fresh unseeded one), accurate to rounding for the leading triplets but
    reproducible only for the same seed.
    """
    n, m = A.shape
    if min(n, m) <= EXACT_SVD_MAX:
        A64 = A.astype(np.float64, copy=False)
        left = n <= m
        gram = A64 @ A64.T if left else A64.T @ A64
        size = gram.shape[0]
        evals, evecs = np.linalg.eigh(gram)
        order = np.argsort(evals)[::-1][:rank]
        s = np.sqrt(np.clip(evals[order], 0.0, None))
        vecs = evecs[:, order]
        other = (vecs.T @ A64) if left else (A64 @ vecs)
        # Singular values at rounding level have no meaningful vectors: zero them.
        big = s > s[0] * size * np.finfo(np.float64).eps
        inv = np.zeros_like(s)
        inv[big] = 1.0 / s[big]
        if left:
            return vecs, s, other * inv[:, None]
        return other * inv[None, :], s, vecs.T
    # Randomized range finder with power iterations (Halko, Martinsson & Tropp 2011).
    if rng is None:
        rng = np.random.default_rng()
    p = min(min(n, m), rank + 10)
    Q = rng.standard_normal((m, p)).astype(A.dtype)
    Q, _ = np.linalg.qr(A @ Q)
    for _ in range(5):
        Q, _ = np.linalg.qr(A.T @ Q)
        Q, _ = np.linalg.qr(A @ Q)
    B = (Q.T @ A).astype(np.float64)
    Ub, s, Vt = np.linalg.svd(B, full_matrices=False)
    U = Q.astype(np.float64) @ Ub
    return U[:, :rank], s[:rank], Vt[:rank]


def _nndsvd(A, rank, rng):
    """NNDSVD of Boutsidis & Gallopoulos (2008): non-negative parts of the singular pairs."""
    U, s, Vt = truncated_svd(A, rank, rng)
    n, m = A.shape
    W = np.zeros((n, rank))
    H = np.zeros((rank, m))
    W[:, 0] = np.sqrt(s[0]) * np.abs(U[:, 0])
    H[0] = np.sqrt(s[0]) * np.abs(Vt[0])
    for j in range(1, rank):
        x, y = U[:, j], Vt[j]
        xp, xn = np.maximum(x, 0), np.maximum(-x, 0)
        yp, yn = np.maximum(y, 0), np.maximum(-y, 0)
        nxp, nyp = np.linalg.norm(xp), np.linalg.norm(yp)
        nxn, nyn = np.linalg.norm(xn), np.linalg.norm(yn)
        mp, mn = nxp * nyp, nxn * nyn
        if mp >= mn:
            u, v, sigma, nu, nv = xp, yp, mp, nxp, nyp
        else:
            u, v, sigma, nu, nv = xn, yn, mn, nxn, nyn
        if sigma <= 0:
            continue
        lbd = np.sqrt(s[j] * sigma)
        W[:, j] = lbd * u / nu
        H[j] = lbd * v / nv
    tiny = 1e-6 * max(W.max(initial=0), H.max(initial=0))
    W[W < tiny] = 0
    H[H < tiny] = 0
    return W, H


def _scale(A, W, H):
    """``W`` and ``H`` times ``sqrt(alpha)`` each, ``alpha = <A, WH> / ||WH||²`` (the
    multiple of ``W H`` closest to ``A``), by the trace trick."""
    WtA = (W.T.astype(A.dtype) @ A).astype(np.float64)
    cross = float(np.vdot(H.astype(np.float64), WtA))
    quad = float(np.vdot(gram(W.T), gram(H)))
    if cross > 0 and quad > 0:
        root = np.sqrt(cross / quad)
        W, H = W * root, H * root
    return W, H


def initialize(A, rank, init, rng, dtype):
    """Initial ``W (n, rank)`` and ``H (rank, m)`` of ``dtype`` for a checked ``A``.

    ``init`` is one of ``INITS`` except ``"custom"`` (handled by the caller). ``rng`` (a
    ``numpy.random.Generator``) draws the random factors, the random fill of
    ``"nndsvdar"`` and the random start of the randomized SVD (used by the NNDSVD variants
    when the smaller side of ``A`` exceeds 1500; below, they are deterministic).

    The factors are then scaled by the scalar ``alpha`` that brings ``alpha W H`` closest
    to ``A`` (``alpha = <A, WH> / ||WH||²``, ``sqrt(alpha)`` on each factor), so that the
    initial relative error is at most 1. Without it, NNDSVDa's fill (every zero of ``W``
    and of ``H`` set to ``mean(A)``) adds about ``rank mean(A)² / 4`` to every entry of
    ``W H``: a relative error of 3 to 8 on faces where the unfilled NNDSVD has 0.3.
    """
    if init == "random":
        avg = np.sqrt(A.mean(dtype=np.float64) / rank)
        W = avg * np.abs(rng.standard_normal((A.shape[0], rank), dtype=dtype))
        H = avg * np.abs(rng.standard_normal((rank, A.shape[1]), dtype=dtype))
    else:
        W, H = _nndsvd(A, rank, rng)
        if init == "nndsvda":
            avg = A.mean(dtype=np.float64)
            W[W == 0] = avg
            H[H == 0] = avg
        elif init == "nndsvdar":
            avg = A.mean(dtype=np.float64)
            zw, zh = W == 0, H == 0
            W[zw] = avg * rng.random(int(zw.sum())) / 100
            H[zh] = avg * rng.random(int(zh.sum())) / 100
    W, H = _scale(A, W, H)
    return W.astype(dtype, copy=False), H.astype(dtype, copy=False)
