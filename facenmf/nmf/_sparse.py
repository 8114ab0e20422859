"""Sparse ``A`` (``scipy.sparse``): the products, norms and errors that never densify it.

A checked sparse ``A`` is CSC (a column per face, so that a block of faces is a cheap
slice), canonical (sorted indices, no duplicates) and of the working dtype. The solvers
only need ``A Hᵀ`` and ``Wᵀ A`` (sparse times dense: ``nnz(A) rank`` flops, dense results
of the factors' sizes), ``||A||_F²`` (from the stored entries) and the error of a pair, which
for sparse ``A`` is the trace trick in float64:
``||A||² - 2 <W, A Hᵀ> + <WᵀW, H Hᵀ>``, every term accumulated in float64, so that it is as
accurate as the residual ``A - W H`` of a dense ``A`` without ever forming ``W H``.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

__all__ = ["is_sparse", "check_sparse_solver", "times", "times_transposed", "sparse_squared_norm",
           "sparse_squared_error", "dense"]


def is_sparse(A):
    """True for a ``scipy.sparse`` matrix or array."""
    return sparse.issparse(A)


def check_sparse_solver(solvers, solver, loss):
    """Refuse a sparse ``A`` for a solver (or a loss of it) that needs a dense one: a solver
    of the registry ``solvers`` takes sparse data for the losses in its ``sparse``
    attribute (absent: none)."""
    if loss in getattr(solvers[solver], "sparse", ()):
        return
    able = sorted(name for name, s in solvers.items() if loss in getattr(s, "sparse", ()))
    raise ValueError(f"A: solver {solver!r} with loss {loss!r} needs a dense A, got a "
                     "scipy.sparse matrix; "
                     + (f"solvers {able} take it sparse with this loss, or " if able else "")
                     + "pass A.toarray()")


def times(X, A, out):
    """``out = X @ A`` for a dense ``X`` (k, n) and ``A`` (n, m), dense or sparse."""
    if sparse.issparse(A):
        np.copyto(out, (A.T @ X.T).T, casting="same_kind")
        return out
    return np.dot(X, A, out=out)


def times_transposed(X, A, out):
    """``out = X @ Aᵀ`` for a dense ``X`` (k, m) and ``A`` (n, m), dense or sparse."""
    if sparse.issparse(A):
        np.copyto(out, (A @ X.T).T, casting="same_kind")
        return out
    return np.dot(X, A.T, out=out)


def sparse_squared_norm(A):
    """``||A||_F²`` of a sparse ``A`` from its stored entries, accumulated in float64."""
    data = A.data.astype(np.float64, copy=False)
    return float(np.dot(data, data))


def sparse_squared_error(A, W, H):
    """``||A - W H||_F²`` of a sparse ``A`` (n, m), ``W`` (n, k), ``H`` (k, m): the trace
    trick with float64 terms (one sparse product ``A Hᵀ`` in float64, two Gram matrices)."""
    W64 = W.astype(np.float64, copy=False)
    H64 = H.astype(np.float64, copy=False)
    cross = float(np.vdot(W64, A @ H64.T))
    quad = float(np.vdot(W64.T @ W64, H64 @ H64.T))
    return max(sparse_squared_norm(A) - 2.0 * cross + quad, 0.0)


def dense(X):
    """``X`` as a numpy array if it is a (small) sparse result, e.g. a Gram matrix."""
    return X.toarray() if sparse.issparse(X) else X
