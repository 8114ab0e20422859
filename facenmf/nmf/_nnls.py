"""Exact non-negative least squares for many right-hand sides: block principal pivoting.

Solves, for every column ``j``::

    min_{x_j >= 0}  0.5 x_jᵀ G x_j - c_jᵀ x_j

which is ``min_{X >= 0} ||B - W X||_F`` with ``G = WᵀW`` and ``C = WᵀB``. ``G`` may be one
``(k, k)`` matrix shared by all columns or a stack ``(p, k, k)`` (one per column, as when each
face has its own mask of ignored pixels).

The method is Kim & Park's block principal pivoting with full exchange and the backup rule
that guarantees termination. Columns are solved together: when few distinct passive sets
occur (the usual case after a warm start) each is factorized once; otherwise the masked
systems are solved as a batch in LAPACK.

References
----------
J. Kim and H. Park, "Fast nonnegative matrix factorization: an active-set-like method and
comparisons", SIAM J. Sci. Comput. 33(6), 3261-3281, 2011. doi:10.1137/110821172
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

__all__ = ["nnls_bpp"]

# Solve distinct passive sets one by one (Cholesky, many right-hand sides) when there are at
# most this many; otherwise solve every column's masked system as one LAPACK batch.
_MAX_GROUPS = 24
# Elements of float64 per batch of masked (k, k) systems (~64 MB).
_BATCH_ELEMENTS = 1 << 23


def _solve_shared(G, C, F, Ginv=None):
    """Unconstrained solution on passive sets F (k, p) with a shared G; zero elsewhere."""
    k, p = C.shape
    X = np.zeros((k, p))
    if p == 0:
        return X
    keys = np.packbits(F, axis=0)
    groups, inverse = np.unique(keys, axis=1, return_inverse=True)
    inverse = inverse.reshape(-1)
    if groups.shape[1] <= _MAX_GROUPS:
        for g in range(groups.shape[1]):
            cols = np.flatnonzero(inverse == g)
            rows = np.flatnonzero(F[:, cols[0]])
            if rows.size == 0:
                continue
            sub = G[np.ix_(rows, rows)]
            X[np.ix_(rows, cols)] = _spd_solve(sub, C[np.ix_(rows, cols)])
        return X
    if Ginv is None:
        return _solve_batched(G, C, F)
    # Columns with few zeros: through their zeros; the others: through their positives.
    n_zero = k - F.sum(axis=0)
    few = n_zero <= k // 2
    if few.all():
        return _solve_complement(Ginv, C, F, n_zero)
    X[:, few] = _solve_complement(Ginv, C[:, few], F[:, few], n_zero[few])
    X[:, ~few] = _solve_batched(G, C[:, ~few], F[:, ~few])
    return X


def _solve_complement(Ginv, C, F, n_zero):
    """The same solutions through the (usually few) zero entries Z of each column.

    With ``u = G⁻¹c``, the solution is ``x = u + G⁻¹[:, Z] y_Z`` where
    ``(G⁻¹)_ZZ y_Z = -u_Z`` (then ``x_Z = 0`` and ``(G x - c)_F = 0``): one system of size
    ``|Z|`` per column instead of ``|F|``, batched over the columns with the same ``|Z|``.
    """
    X = Ginv @ C
    for z in np.unique(n_zero):
        if z == 0:
            continue
        cols = np.flatnonzero(n_zero == z)
        # Row indices of each column's zeros (False sorts first).
        Z = np.argsort(F[:, cols], axis=0, kind="stable")[:z].T  # (c, z)
        M = Ginv[Z[:, :, None], Z[:, None, :]]
        y = np.linalg.solve(M, -X[Z, cols[:, None]][:, :, None])[:, :, 0]
        X[:, cols] += np.einsum("kcz,cz->kc", Ginv[:, Z], y)
    X[~F] = 0.0
    return X


def _spd_solve(M, B):
    try:
        return scipy.linalg.cho_solve(scipy.linalg.cho_factor(M, check_finite=False), B,
                                      check_finite=False)
    except np.linalg.LinAlgError:
        # Singular subsystem (collinear basis images): least-squares solution.
        return scipy.linalg.lstsq(M, B, check_finite=False)[0]


def _solve_batched(G, C, F):
    """Solve each column's system restricted to its passive set, in batches."""
    k, p = C.shape
    X = np.zeros((k, p))
    step = max(1, _BATCH_ELEMENTS // (k * k))
    diag = np.arange(k)
    for start in range(0, p, step):
        sl = slice(start, min(p, start + step))
        Fs = F[:, sl].T  # (c, k)
        Gs = G if G.ndim == 2 else G[sl]
        M = Gs * (Fs[:, :, None] & Fs[:, None, :])
        M[:, diag, diag] += ~Fs
        rhs = (C[:, sl].T * Fs)[:, :, None]
        try:
            X[:, sl] = np.linalg.solve(M, rhs)[:, :, 0].T
        except np.linalg.LinAlgError:
            # Some subsystem is singular: fall back column by column.
            for i, j in enumerate(range(sl.start, sl.stop)):
                rows = np.flatnonzero(Fs[i])
                if rows.size:
                    X[rows, j] = scipy.linalg.lstsq(M[i][np.ix_(rows, rows)],
                                                    rhs[i, rows, 0], check_finite=False)[0]
    return X


def _gradient(G, X, C):
    """Y = G X - C, columnwise when G is a stack."""
    if G.ndim == 2:
        return G @ X - C
    return np.einsum("pij,jp->ip", G, X) - C


def _solve(G, C, F, Ginv=None):
    if G.ndim == 2:
        return _solve_shared(G, C, F, Ginv)
    return _solve_batched(G, C, F)


def _safe_inverse(G):
    """``G⁻¹`` for a well-conditioned shared Gram matrix, else None (use subsystems)."""
    if G.ndim != 2 or np.linalg.cond(G) > 1e8:
        return None
    return np.linalg.inv(G)


def nnls_bpp(G, C, passive=None, *, max_iter=None):
    """Solve ``min_{X >= 0} 0.5 tr(Xᵀ G X) - tr(Cᵀ X)`` exactly, column by column.

    Parameters
    ----------
    G : ndarray of shape (k, k) or (p, k, k)
        Gram matrix ``WᵀW`` (symmetric positive semi-definite), shared or per column.
    C : ndarray of shape (k, p)
        ``WᵀB``.
    passive : ndarray of bool, shape (k, p), optional
        Initial guess of the positive entries (a warm start, e.g. ``X_prev > 0``).
    max_iter : int, optional
        Safeguard on pivoting rounds (default ``10 * k + 10``); never reached in practice.

    Returns
    -------
    X : ndarray of float64, shape (k, p)
        The solution, satisfying the KKT conditions ``X >= 0``, ``G X - C >= 0`` and
        ``X * (G X - C) = 0`` up to rounding.
    """
    G = np.asarray(G, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    k, p = C.shape
    if max_iter is None:
        max_iter = 10 * k + 10
    F = np.zeros((k, p), dtype=bool) if passive is None else np.array(passive, dtype=bool)
    # Tolerances relative to each column's scale: rounding in a solve must not count as an
    # infeasibility, or pivoting could cycle.
    scale = np.abs(C).max(axis=0)
    diag = np.diagonal(G, axis1=-2, axis2=-1)
    dscale = diag.max() if G.ndim == 2 else diag.max(axis=1)
    dscale = np.where(dscale > 0, dscale, 1.0)
    tol_y = 1e-10 * np.maximum(scale, np.finfo(np.float64).tiny)
    tol_x = tol_y / dscale

    Ginv = _safe_inverse(G)
    X = _solve(G, C, F, Ginv)
    Y = _gradient(G, X, C)
    Y[F] = 0.0

    todo = np.arange(p)
    n_best = np.full(p, k + 1)
    chances = np.full(p, 3)
    for _ in range(max_iter):
        Xt, Yt, Ft = X[:, todo], Y[:, todo], F[:, todo]
        infeasible = (Ft & (Xt < -tol_x[todo])) | (~Ft & (Yt < -tol_y[todo]))
        n_inf = infeasible.sum(axis=0)
        keep = n_inf > 0
        todo, infeasible, n_inf, Ft = todo[keep], infeasible[:, keep], n_inf[keep], Ft[:, keep]
        if todo.size == 0:
            break
        better = n_inf < n_best[todo]
        n_best[todo[better]] = n_inf[better]
        chances[todo[better]] = 3
        worse = ~better & (chances[todo] > 0)
        chances[todo[worse]] -= 1
        full = better | worse
        # Full exchange of every infeasible variable, or (backup rule, when the count of
        # infeasibilities has not dropped for 3 rounds) flip only the last one.
        flip = infeasible & full
        backup = np.flatnonzero(~full)
        if backup.size:
            last = k - 1 - np.argmax(infeasible[::-1, backup], axis=0)
            flip[last, backup] = True
        Ft ^= flip
        F[:, todo] = Ft
        Gt = G if G.ndim == 2 else G[todo]
        Xn = _solve(Gt, C[:, todo], Ft, Ginv)
        Yn = _gradient(Gt, Xn, C[:, todo])
        Yn[Ft] = 0.0
        X[:, todo] = Xn
        Y[:, todo] = Yn
    np.maximum(X, 0.0, out=X)
    return X
