"""Initial factors: random, NNDSVD and its variants, or given by the user.

Every pass over ``A`` is a kernel on one read range (see :mod:`._blocks`), so the same code
initializes an in-memory, an on-disk and a distributed ``A``: on a Dask cluster the kernels
run on the workers beside the faces, the weights ``H`` are made there, and only the small
matrices (Gram matrices of the pixels, the sketch of the range, the singular vectors, the
norms of their parts) travel.
"""

from __future__ import annotations

import numpy as np

from ._blocks import add, allocate, as_columns, block_slices
from ._loss import gram
from ._sparse import dense

__all__ = ["INITS", "EXACT_SVD_MAX", "initialize", "truncated_svd"]

INITS = ("random", "nndsvd", "nndsvda", "nndsvdar", "custom")

# Below this many columns (or rows) on the smaller side the SVD comes exactly from the
# eigen-decomposition of the small Gram matrix; above it a randomized SVD is cheaper.
EXACT_SVD_MAX = 1500


# -- kernels: one read range A_r (n, width) starting at column `start` --------------------
def _pixel_gram(A_r, w, start, acc):
    A64 = A_r.astype(np.float64, copy=False)
    add(acc, "gram", dense(A64 @ A64.T))  # of a sparse A: a sparse, small Gram matrix


def _face_gram(A_r, w, start, acc):  # A is this one range (few faces)
    A64 = A_r.astype(np.float64, copy=False)
    add(acc, "gram", dense(A64.T @ A64))


def _times(A_r, w, start, acc, X):  # A is this one range (few faces)
    add(acc, "product", A_r.astype(np.float64, copy=False) @ X)


def _sketch(A_r, w, start, acc, seed, p):
    # The random test matrix block by block, each from the seed and the block's first
    # column: the sketch does not depend on how A is stored or split.
    for b in block_slices(A_r.shape[1]):
        omega = np.random.default_rng([seed, start + b.start]).standard_normal(
            (b.stop - b.start, p))
        add(acc, "Y", (A_r[:, b] @ omega.astype(A_r.dtype)).astype(np.float64))


def _power(A_r, w, start, acc, Qd):
    add(acc, "Y", (A_r @ (A_r.T @ Qd)).astype(np.float64))


def _range_gram(A_r, w, start, acc, Qd):
    B = (Qd.T @ A_r).astype(np.float64)
    add(acc, "M", B @ B.T)


class _RightVectors:
    """``Vt[:, r]`` (rank, width), float64, from the columns ``A_r`` of a read range:
    ``(P @ (Qᵀ A_r)) * inv`` (``Q`` None: ``A_r`` itself), or ``fixed`` (few faces, one
    range). A small object, sent to wherever the range is."""

    def __init__(self, P=None, inv=None, Q=None, fixed=None):
        self.P, self.inv, self.Q, self.fixed = P, inv, Q, fixed

    def __call__(self, A_r):
        if self.fixed is not None:
            return self.fixed
        X = A_r.astype(np.float64, copy=False) if self.Q is None \
            else (self.Q.T @ A_r).astype(np.float64)
        return (self.P @ X) * self.inv[:, None]


def _svd_parts(cols, rank, rng):
    """``(U, s, vt)``: the leading singular triplets of ``A`` (a :class:`Columns`), with
    ``vt(A_r)`` giving ``Vt[:, r]`` (float64) from the columns ``A_r`` of a read range.

    Passes over ``A``: one for the exact path with pixels on the small side, two for the
    exact path with faces on the small side (then ``A`` is one block), ``4 + 3`` for the
    randomized one; ``vt`` costs one more pass wherever it is used.
    """
    n, m = cols.shape
    if min(n, m) <= EXACT_SVD_MAX:
        left = n <= m
        # Pixels on the small side: A Aᵀ summed over the ranges; else few faces, and A is a
        # single block (m <= EXACT_SVD_MAX < BLOCK): AᵀA.
        s, vecs, inv = _leading(cols.total(_pixel_gram if left else _face_gram)["gram"], rank)
        if left:
            return vecs, s, _RightVectors(vecs.T, inv)
        U = cols.total(_times, vecs)["product"] * inv[None, :]
        return U, s, _RightVectors(fixed=vecs.T)
    return _randomized_parts(cols, rank, rng)


def _leading(G, rank):
    """``(s, vecs, inv)`` from a Gram matrix ``G = M Mᵀ``: the ``rank`` largest singular
    values of ``M``, their left vectors, and ``1 / s`` (0 where ``s`` is at rounding level:
    such vectors have no meaning)."""
    evals, evecs = np.linalg.eigh(G)
    order = np.argsort(evals)[::-1][:rank]
    s = np.sqrt(np.clip(evals[order], 0.0, None))
    big = s > s[0] * G.shape[0] * np.finfo(np.float64).eps
    inv = np.zeros_like(s)
    inv[big] = 1.0 / s[big]
    return s, evecs[:, order], inv


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
    Q, _ = np.linalg.qr(cols.total(_sketch, seed, p)["Y"])
    for _ in range(_POWER_ITERATIONS):
        Q, _ = np.linalg.qr(cols.total(_power, Q.astype(dt))["Y"])
    Qd = Q.astype(dt)
    s, Ub, inv = _leading(cols.total(_range_gram, Qd)["M"], rank)
    return Q @ Ub, s, _RightVectors(Ub.T, inv, Qd)


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
    for c, _ in cols.ranges():
        Vt[:, c] = vt(cols.read(c))
    return U, s, Vt


def _vt_stats(A_r, w, start, acc, vt):
    """Squared norms and maxima of the positive and negative parts of each row of Vt, and
    the sum of A (for the fill of NNDSVDa)."""
    V = vt(A_r)
    sq, top = np.zeros((2, V.shape[0])), np.zeros((2, V.shape[0]))
    for part, k in ((np.maximum(V, 0), 0), (np.maximum(-V, 0), 1)):
        sq[k] = np.einsum("ij,ij->i", part, part)
        top[k] = part.max(axis=1, initial=0)
    add(acc, "sq", sq)
    acc["max_top"] = top if "max_top" not in acc else np.maximum(acc["max_top"], top)
    add(acc, "sum", float(A_r.sum(dtype=np.float64)))


def _nndsvd_weights(A_r, w, start, acc, vt, root0, lbd, side, nv, tiny, fill):
    """This range's NNDSVD weights into ``w.H`` (float64): row 0 ``sqrt(s[0]) |Vt[0]|``, row
    ``j`` the chosen part of ``Vt[j]`` times ``lbd[j] / nv[j]``; entries below ``tiny`` are
    zero, and then with ``fill`` (NNDSVDa) every zero is ``fill``."""
    V = vt(A_r)
    Hc = w.H
    Hc[0] = root0 * np.abs(V[0])
    for j in np.flatnonzero(lbd):
        Hc[j] = lbd[j] * np.maximum(V[j] if side[j] == 0 else -V[j], 0) / nv[j]
    Hc[Hc < tiny] = 0
    if fill is not None:
        Hc[Hc == 0] = fill


def _zeros_per_row(A_r, w, start, acc):
    acc["zeros"] = np.count_nonzero(w.H == 0, axis=1)


def _fill_zeros(A_r, w, start, acc, values):
    """The zeros of ``w.H``, in C order, set to ``values``."""
    Hc = w.H
    Hc[Hc == 0] = values


def _nndsvd(cols, rank, rng, fill=None):
    """NNDSVD of Boutsidis & Gallopoulos (2008): non-negative parts of the singular pairs.

    Returns ``W`` (n, rank) in float64, zeros below ``1e-6`` of the largest entry, and
    ``sum(A)``; the weights ``H`` (rank, m), float64, are left in ``cols``' weights ``H``
    (zeros set to ``fill`` if given, as NNDSVDa does). ``A`` (a :class:`Columns`) is read by
    blocks: one pass finds the norms of the parts of each right singular vector, a second
    builds ``H``.
    """
    U, s, vt = _svd_parts(cols, rank, rng)
    n, m = cols.shape
    stats = cols.total(_vt_stats, vt)
    sq, top = stats["sq"], stats["max_top"]
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
    if fill == "mean":
        fill = stats["sum"] / (n * m)
    cols.apply(allocate, "H", rank, np.float64)
    cols.total(_nndsvd_weights, vt, np.sqrt(s[0]), lbd, side, nv, tiny, fill)
    return W, stats["sum"]


def _sum(A_r, w, start, acc):
    add(acc, "sum", float(A_r.sum(dtype=np.float64)))


def _cross(A_r, w, start, acc, Wt):
    """``<H_r, Wᵀ A_r>`` and ``H_r H_rᵀ`` of this range."""
    add(acc, "cross", float(np.vdot(w.H.astype(np.float64),
                                    (Wt @ A_r).astype(np.float64))))
    add(acc, "gram", gram(w.H))


def _scale_weights(w, root, dtype):
    w.H = (w.H if root is None else w.H * root).astype(dtype, copy=False)


def _scale(cols, W, dtype):
    """``W`` and the weights ``H`` times ``sqrt(alpha)`` each, ``alpha = <A, WH> / ||WH||²``
    (the multiple of ``W H`` closest to ``A``), by the trace trick; ``H`` then of
    ``dtype``."""
    sums = cols.total(_cross, W.T.astype(cols.dtype))
    cross, quad = sums["cross"], float(np.vdot(gram(W.T), sums["gram"]))
    root = None
    if cross > 0 and quad > 0:
        root = np.sqrt(cross / quad)
        W = W * root
    cols.apply(_scale_weights, root, dtype)
    return W


def initialize(A, rank, init, rng, dtype):
    """Initial ``W (n, rank)`` and ``H (rank, m)`` of ``dtype`` for a checked ``A``.

    ``A`` is an in-memory array or a :class:`Columns` over data read block by block (never
    held whole; the result does not depend on how ``A`` is stored). For a Columns, ``H`` is
    also left as its weights ``H`` (on a Dask cluster it stays on the workers, and the
    ``H`` returned is a handle to it).

    ``init`` is one of ``INITS`` except ``"custom"`` (handled by the caller). ``rng`` (a
    ``numpy.random.Generator``) draws the random factors, the random fill of
    ``"nndsvdar"`` and the random start of the randomized SVD (used by the NNDSVD variants
    when the smaller side of ``A`` exceeds 1500; below, they are deterministic). The random
    ``H`` of ``"random"`` and the random fill of ``"nndsvdar"`` are drawn here, in one
    stream, as in memory (on a cluster they are then sent to the workers once).

    The factors are then scaled by the scalar ``alpha`` that brings ``alpha W H`` closest
    to ``A`` (``alpha = <A, WH> / ||WH||²``, ``sqrt(alpha)`` on each factor), so that the
    initial relative error is at most 1. Without it, NNDSVDa's fill (every zero of ``W``
    and of ``H`` set to ``mean(A)``) adds about ``rank mean(A)² / 4`` to every entry of
    ``W H``: a relative error of 3 to 8 on faces where the unfilled NNDSVD has 0.3.
    """
    A = as_columns(A)
    n, m = A.shape
    if init == "random":
        avg = np.sqrt(A.total(_sum)["sum"] / (n * m) / rank)
        W = avg * np.abs(rng.standard_normal((n, rank), dtype=dtype))
        A.put("H", avg * np.abs(rng.standard_normal((rank, m), dtype=dtype)))
    elif init == "nndsvda":
        W, total = _nndsvd(A, rank, rng, fill="mean")
        W[W == 0] = total / (n * m)
    else:
        W, total = _nndsvd(A, rank, rng)
        if init == "nndsvdar":
            avg = total / (n * m)
            zw = W == 0
            W[zw] = avg * rng.random(int(zw.sum())) / 100
            _random_fill(A, avg, rng)
    W = _scale(A, W, dtype)
    return W.astype(dtype, copy=False), A.fetch("H", rank, np.dtype(dtype))


def _random_fill(cols, avg, rng):
    """NNDSVDar's fill of the zeros of ``H``: ``avg * U(0, 1) / 100``, drawn in one stream
    in the C order of the whole ``H`` (row by row), as ``H[H == 0] = ...`` in memory: each
    part gets, row by row, the stretch of the stream that falls on its columns."""
    counts = np.array([acc["zeros"] for acc in cols.each(_zeros_per_row)])  # (parts, rank)
    values = avg * rng.random(int(counts.sum())) / 100
    rows = counts.sum(axis=0)
    row_start = np.concatenate(([0], np.cumsum(rows)[:-1]))
    before = np.cumsum(counts, axis=0) - counts  # zeros of each row in the earlier parts
    each = [np.concatenate([values[row_start[j] + before[i, j]:
                                   row_start[j] + before[i, j] + counts[i, j]]
                            for j in range(counts.shape[1])])
            for i in range(counts.shape[0])]
    cols.total(_fill_zeros, each=each)
