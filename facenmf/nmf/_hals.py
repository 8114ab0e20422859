"""Accelerated hierarchical alternating least squares (HALS).

Each outer iteration forms the two expensive products ``H Aᵀ`` and ``Wᵀ A`` once, then
sweeps several times over the rows of one factor (exact coordinate minimization of each
basis image / weight row in turn) while the products are reused. The inner loop stops when
a sweep changes the factor by less than ``eps`` times the first sweep's change, or after
``1 + alpha * rho`` sweeps, ``rho`` being the cost of the products in sweeps. Gillis &
Glineur recommend ``alpha = 0.5``; our numpy sweeps cost more per flop than the BLAS
products, so fewer sweeps pay (``alpha = 0.3``, measured on ORL and CBCL faces).

References
----------
N. Gillis and F. Glineur, "Accelerated multiplicative updates and hierarchical alternating
least squares algorithms for nonnegative matrix factorization", Neural Computation 24(4),
1085-1105, 2012. doi:10.1162/NECO_a_00256

A. Cichocki and A.-H. Phan, "Fast local algorithms for large scale nonnegative matrix and
tensor factorizations", IEICE Trans. Fundamentals E92-A(3), 708-721, 2009.
doi:10.1587/transfun.E92.A.708
"""

from __future__ import annotations

import numpy as np

from ._loss import squared_error

__all__ = ["HALS", "sweep", "scaled_system"]


def scaled_system(G):
    """``(Gz, inv)``: ``G`` with rows divided by its diagonal and the diagonal zeroed, and
    the inverse diagonal (0 where the diagonal is 0: that row of X is left alone)."""
    diag = np.diagonal(G)
    inv = np.zeros_like(diag)
    np.divide(1, diag, out=inv, where=diag > 0)
    Gz = G * inv[:, None]
    np.fill_diagonal(Gz, 0)
    return Gz, inv


def sweep(X, Cs, Gz, inv, n_sweeps, eps, buf, old):
    """Minimize ``0.5 tr(Xᵀ G X) - tr(Cᵀ X)`` over ``X >= 0`` row by row, in place.

    ``X`` and ``Cs`` are ``(k, p)`` C-contiguous; ``Cs = C / diag(G)`` row-wise and ``Gz``,
    ``inv`` come from :func:`scaled_system`. Each row update
    ``X[j] = max(0, Cs[j] - Gz[j] @ X)`` is the exact minimizer in that row with the
    others fixed, so the objective never rises. ``buf`` (p,) and ``old`` (k, p) are work
    buffers. Stops early when a sweep changes X by less than ``eps`` times the first
    sweep's change. Returns the number of sweeps done.
    """
    rows = np.flatnonzero(inv)
    first = None
    for done in range(1, n_sweeps + 1):
        if n_sweeps > 1:
            np.copyto(old, X)
        for j in rows:
            np.dot(Gz[j], X, out=buf)
            np.subtract(Cs[j], buf, out=buf)
            np.maximum(buf, 0, out=X[j])
        if n_sweeps > 1:
            np.subtract(old, X, out=old)
            change = float(np.vdot(old, old))
            if first is None:
                first = change
            elif change <= eps * eps * first:
                break
    return done


class HALS:
    """State of an accelerated HALS fit of ``A ≈ W H`` (Frobenius loss)."""

    losses = ("frobenius",)

    def __init__(self, A, W, H, norm_A_sq, *, alpha=0.3, eps=0.1):
        n, m = A.shape
        k = W.shape[1]
        dt = A.dtype
        self.A, self.norm_A_sq = A, norm_A_sq
        self.Wt = np.ascontiguousarray(W.T)
        self.H = np.ascontiguousarray(H)
        self.Cw = np.empty((k, n), dt)
        self.WtA = np.empty((k, m), dt)
        self.HHt = self.H @ self.H.T
        self.buf_w, self.buf_h = np.empty(n, dt), np.empty(m, dt)
        self.old_w, self.old_h = np.empty((k, n), dt), np.empty((k, m), dt)
        # Cost of the products measured in sweeps (Gillis & Glineur's rho).
        self.inner_w = 1 + int(alpha * (1 + m * (n + k) / (n * (k + 1))))
        self.inner_h = 1 + int(alpha * (1 + n * (m + k) / (m * (k + 1))))
        self.eps = eps

    def step(self):
        A, Wt, H = self.A, self.Wt, self.H
        Gz, inv = scaled_system(self.HHt)
        # C / diag(G) for the W update, folded into the product: (D⁻¹ H) Aᵀ.
        np.dot(H * inv[:, None], A.T, out=self.Cw)
        sweep(Wt, self.Cw, Gz, inv, self.inner_w, self.eps, self.buf_w, self.old_w)
        np.dot(Wt, A, out=self.WtA)
        WtW = Wt @ Wt.T
        Gz, inv = scaled_system(WtW)
        sweep(H, self.WtA * inv[:, None], Gz, inv, self.inner_h, self.eps, self.buf_h,
              self.old_h)
        self.HHt = H @ H.T
        return squared_error(self.norm_A_sq, self.WtA, WtW, H, self.HHt)

    def factors(self):
        return self.Wt.T, self.H
