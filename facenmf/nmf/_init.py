"""Initial factors: random, NNDSVD and its variants, or given by the user."""

from __future__ import annotations

import numpy as np

from ._blocks import BLOCK, as_columns, block_slices
from ._loss import gram

__all__ = ["INITS", "EXACT_SVD_MAX", "initialize", "truncated_svd"]

INITS = ("random", "nndsvd", "nndsvda", "nndsvdar", "custom")

# Below this many columns (or rows) on the smaller side the SVD comes exactly from the
# eigen-decomposition of the small Gram matrix; above it a randomized SVD is cheaper.
EXACT_SVD_MAX = 1500


def _svd_parts(cols, rank, rng):
    """``(U, s, vt)``: the leading singular triplets of ``A`` (a :class:`Columns`), with
    ``vt(A_r)`` giving ``Vt[:, r]`` (float64) from the columns ``A_r`` of a read range.

    Passes over ``A``: one for the exact path with pixels on the small side, none more for
    the exact path with faces on the small side (then ``A`` is one block), ``4 + 3`` for the
    randomized one; ``vt`` costs one more pass wherever it is used.
    """
    n, m = cols.shape
    if min(n, m) <= EXACT_SVD_MAX:
        left = n <= m
        if left:  # pixels on the small side: A Aᵀ summed over the blocks
            gram = np.zeros((n, n))
            for _, A_r in _ranges(cols):
                A64 = A_r.astype(np.float64, copy=False)
                gram += A64 @ A64.T
        else:  # few faces: A is a single block (m <= EXACT_SVD_MAX < BLOCK)
            A64 = cols.read(slice(0, m)).astype(np.float64, copy=False)
            gram = A64.T @ A64
        size = gram.shape[0]
        evals, evecs = np.linalg.eigh(gram)
        order = np.argsort(evals)[::-1][:rank]
        s = np.sqrt(np.clip(evals[order], 0.0, None))
        vecs = evecs[:, order]
        # Singular values at rounding level have no meaningful vectors: zero them.
        big = s > s[0] * size * np.finfo(np.float64).eps
        inv = np.zeros_like(s)
        inv[big] = 1.0 / s[big]
        if left:
            return vecs, s, lambda A_r: (vecs.T @ A_r.astype(np.float64, copy=False)) \
                * inv[:, None]
        U = (A64 @ vecs) * inv[None, :]
        return U, s, lambda A_r: vecs.T
    return _randomized_parts(cols, rank, rng)


# Power iterations of the randomized SVD (as scikit-learn's randomized_svd for a small rank).
_POWER_ITERATIONS = 4


def _randomized_parts(cols, rank, rng):
    """Randomized range finder with power iterations (Halko, Martinsson & Tropp 2011),
    block by block: ``Y = A Ω`` then ``Y <- A (Aᵀ Q)``, orthonormalized on the pixel side
    after each pass; the random test matrix ``Ω`` is drawn block by block from ``rng``, so
    the result does not depend on how ``A`` is stored."""
    if rng is None:
        rng = np.random.default_rng()
    n, m = cols.shape
    dt = cols.dtype
    p = min(min(n, m), rank + 10)
    seed = int(rng.integers(2**63))
    Y = np.zeros((n, p))
    for c, A_r in _ranges(cols):
        for b in block_slices(m)[c.start // BLOCK:(c.stop + BLOCK - 1) // BLOCK]:
            omega = np.random.default_rng([seed, b.start]).standard_normal((b.stop - b.start, p))
            Y += A_r[:, b.start - c.start:b.stop - c.start] @ omega.astype(dt)
    Q, _ = np.linalg.qr(Y)
    for _ in range(_POWER_ITERATIONS):
        Qd, Y = Q.astype(dt), np.zeros((n, p))
        for _, A_r in _ranges(cols):
            Y += A_r @ (A_r.T @ Qd)
        Q, _ = np.linalg.qr(Y)
    Qd, M = Q.astype(dt), np.zeros((p, p))
    for _, A_r in _ranges(cols):
        B = (Qd.T @ A_r).astype(np.float64)
        M += B @ B.T
    evals, evecs = np.linalg.eigh(M)
    order = np.argsort(evals)[::-1][:rank]
    s = np.sqrt(np.clip(evals[order], 0.0, None))
    Ub = evecs[:, order]
    big = s > s[0] * p * np.finfo(np.float64).eps
    inv = np.zeros_like(s)
    inv[big] = 1.0 / s[big]
    return Q @ Ub, s, lambda A_r: (Ub.T @ (Qd.T @ A_r).astype(np.float64)) * inv[:, None]


def _ranges(cols):
    for c, _ in cols.ranges():
        yield c, cols.read(c)


def truncated_svd(A, rank, rng=None):
    """Leading ``rank`` singular triplets of ``A`` (float64), an array or :class:`Columns`.

    Returns ``U (n, rank)``, ``s (rank,)``, ``Vt (rank, m)`` with ``s`` descending. When
    the smaller side of ``A`` is at most ``EXACT_SVD_MAX`` they come exactly (and
    deterministically) from the eigen-decomposition of the Gram matrix; above, from a
    randomized SVD whose random start is drawn from ``rng`` (a ``numpy.random.Generator``;
    None means a fresh unseeded one), accurate to rounding for the leading triplets but
    reproducible only for the same seed. Either way ``A`` is read block by block.
    """
    cols = as_columns(A)
    U, s, vt = _svd_parts(cols, rank, rng)
    Vt = np.empty((len(s), cols.shape[1]))
    for c, A_r in _ranges(cols):
        Vt[:, c] = vt(A_r)
    return U, s, Vt


def _nndsvd(cols, rank, rng):
    """NNDSVD of Boutsidis & Gallopoulos (2008): non-negative parts of the singular pairs.

    Returns ``W`` (n, rank) and ``H`` (rank, m) in float64, zeros below ``1e-6`` of the
    largest entry. ``A`` (a :class:`Columns`) is read by blocks: one pass finds the norms of
    the parts of each right singular vector, a second builds ``H`` (one pass in all when
    ``A`` is a single read range).
    """
    U, s, vt = _svd_parts(cols, rank, rng)
    n, m = cols.shape
    kept = list(_ranges(cols)) if len(list(cols.ranges())) == 1 else None
    # Pass 1: squared norms and maxima of the positive and negative parts of each row of Vt.
    sq, top = np.zeros((2, rank)), np.zeros((2, rank))
    for c, A_r in kept or _ranges(cols):
        V = vt(A_r)
        for part, k in ((np.maximum(V, 0), 0), (np.maximum(-V, 0), 1)):
            sq[k] += np.einsum("ij,ij->i", part, part)
            top[k] = np.maximum(top[k], part.max(axis=1, initial=0))
    W = np.zeros((n, rank))
    W[:, 0] = np.sqrt(s[0]) * np.abs(U[:, 0])
    # Row j > 0 of H is (lbd[j] * part of Vt[j]) / nv[j], the part (positive or negative)
    # chosen with the larger product of norms; row 0 is sqrt(s[0]) |Vt[0]|.
    lbd, nv, side = np.zeros(rank), np.ones(rank), np.zeros(rank, dtype=int)
    h_max = np.sqrt(s[0]) * max(top[0, 0], top[1, 0])
    for j in range(1, rank):
        x = U[:, j]
        xp, xn = np.maximum(x, 0), np.maximum(-x, 0)
        mp = np.linalg.norm(xp) * np.sqrt(sq[0, j])
        mn = np.linalg.norm(xn) * np.sqrt(sq[1, j])
        side[j] = 0 if mp >= mn else 1
        u, sigma = (xp, mp) if side[j] == 0 else (xn, mn)
        if sigma <= 0:
            continue
        lbd[j] = np.sqrt(s[j] * sigma)
        nv[j] = np.sqrt(sq[side[j], j])
        W[:, j] = lbd[j] * u / np.linalg.norm(u)
        h_max = max(h_max, lbd[j] * top[side[j], j] / nv[j])
    tiny = 1e-6 * max(W.max(initial=0), h_max)
    W[W < tiny] = 0
    # Pass 2: H, block by block.
    H = np.zeros((rank, m))
    for c, A_r in kept or _ranges(cols):
        V = vt(A_r)
        Hc = H[:, c]
        Hc[0] = np.sqrt(s[0]) * np.abs(V[0])
        for j in np.flatnonzero(lbd):
            Hc[j] = lbd[j] * np.maximum(V[j] if side[j] == 0 else -V[j], 0) / nv[j]
        Hc[Hc < tiny] = 0
    return W, H


def _mean(cols):
    n, m = cols.shape
    return sum(float(A_r.sum(dtype=np.float64)) for _, A_r in _ranges(cols)) / (n * m)

def _scale(A, W, H):
    """``W`` and ``H`` times ``sqrt(alpha)`` each, ``alpha = <A, WH> / ||WH||²`` (the
    multiple of ``W H`` closest to ``A``), by the trace trick."""
    Wt = W.T.astype(A.dtype)
    cross = sum(float(np.vdot(H[:, c].astype(np.float64), (Wt @ A_r).astype(np.float64)))
                for c, A_r in _ranges(A))
    quad = float(np.vdot(gram(W.T), gram(H)))
    if cross > 0 and quad > 0:
        root = np.sqrt(cross / quad)
        W, H = W * root, H * root
    return W, H


def initialize(A, rank, init, rng, dtype):
    """Initial ``W (n, rank)`` and ``H (rank, m)`` of ``dtype`` for a checked ``A``.

    ``A`` is an in-memory array or a :class:`Columns` over data read block by block (never
    held whole; the result does not depend on how ``A`` is stored).

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
    A = as_columns(A)
    if init == "random":
        avg = np.sqrt(_mean(A) / rank)
        W = avg * np.abs(rng.standard_normal((A.shape[0], rank), dtype=dtype))
        H = avg * np.abs(rng.standard_normal((rank, A.shape[1]), dtype=dtype))
    else:
        W, H = _nndsvd(A, rank, rng)
        if init == "nndsvda":
            avg = _mean(A)
            W[W == 0] = avg
            H[H == 0] = avg
        elif init == "nndsvdar":
            avg = _mean(A)
            zw, zh = W == 0, H == 0
            W[zw] = avg * rng.random(int(zw.sum())) / 100
            H[zh] = avg * rng.random(int(zh.sum())) / 100
    W, H = _scale(A, W, H)
    return W.astype(dtype, copy=False), H.astype(dtype, copy=False)
