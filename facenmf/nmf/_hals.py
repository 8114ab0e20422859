"""Accelerated hierarchical alternating least squares (HALS).

Each outer iteration forms the two expensive products ``H Aᵀ`` and ``Wᵀ A`` once, then
sweeps several times over the rows of one factor (exact coordinate minimization of each
basis image / weight row in turn) while the products are reused. The inner loop stops when
a sweep changes the factor by less than ``eps`` times the first sweep's change, or after
``1 + alpha * rho`` sweeps, ``rho`` being the cost of the products in sweeps
(``alpha = 0.5`` as Gillis & Glineur recommend; our cost of a sweep counts numpy's
per-call overhead, which dominates on small factors).

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

from ._loss import gram, residual_error, squared_error

__all__ = ["HALS", "sweep", "scaled_system"]

# Python/numpy overhead of one row update in flop-equivalents (three numpy calls of about a
# microsecond each), measured on ORL, CBCL and synthetic data: without it, the flop count
# alone asks for many cheap-looking sweeps of small factors that cost mostly overhead.
_ROW_OVERHEAD = 100_000


def scaled_system(G, dtype=None):
    """``(Gz, inv)``: ``G`` with rows divided by its diagonal and the diagonal zeroed, and
    the inverse diagonal (0 where the diagonal is 0: that row of X is left alone), both of
    ``dtype`` (default ``G``'s)."""
    diag = np.diagonal(G)
    inv = np.zeros_like(diag)
    np.divide(1, diag, out=inv, where=diag > 0)
    Gz = G * inv[:, None]
    np.fill_diagonal(Gz, 0)
    if dtype is None:
        return Gz, inv
    return Gz.astype(dtype, copy=False), inv.astype(dtype, copy=False)


def sweep(X, Cs, Gz, inv, n_sweeps, eps, buf, old):
    """Minimize ``0.5 tr(Xᵀ G X) - tr(Cᵀ X)`` over ``X >= 0`` row by row, in place.

    ``X`` and ``Cs`` are ``(k, p)`` C-contiguous; ``Cs = C / diag(G)`` row-wise and ``Gz``,
    ``inv`` come from :func:`scaled_system`. Each row update
    ``X[j] = max(0, Cs[j] - Gz[j] @ X)`` is the exact minimizer in that row with the
    others fixed, so the objective never rises. ``buf`` (p,) and ``old`` (k, p) are work
    buffers. Stops early when a sweep changes X by less than ``eps`` times the first
    sweep's change. Returns the number of sweeps done.
    """
    # Row views made once: indexing inside the loop costs as much as the work on small rows.
    rows = [(Gz[j], Cs[j], X[j]) for j in np.flatnonzero(inv)]
    first = None
    for done in range(1, n_sweeps + 1):
        if n_sweeps > 1:
            np.copyto(old, X)
        for g, c, x in rows:
            np.dot(g, X, out=buf)
            np.subtract(c, buf, out=buf)
            np.maximum(buf, 0, out=x)
        if n_sweeps > 1:
            np.subtract(old, X, out=old)
            change = float(np.vdot(old, old))
            if first is None:
                first = change
            elif change <= eps * eps * first:
                break
    return done


class HALS:
    """State of an accelerated HALS fit of ``A ≈ W H`` (Frobenius loss), with extrapolation.

    After each factor's update ``X_n``, the next update starts from the extrapolated point
    ``max(0, X_n + beta (X_n - X_{n-1}))``. ``beta`` grows by ``gamma`` while the error
    falls (up to ``beta_max``, which itself creeps towards 1 by ``gamma_bar``); when the
    error rises, the step restarts from the plain iterate, ``beta_max`` becomes the failed
    ``beta`` and ``beta`` shrinks by ``eta`` (Ang & Gillis 2019). The state keeps the best
    pair seen, so the reported error never rises. ``extrapolate=False`` gives plain
    accelerated HALS, whose every step is a descent step.

    After :meth:`step`, ``error`` is the objective of the step's own pair (with
    extrapolation on, the pair made from the extrapolated ``W``; it may be above
    ``best_error``, and then the step was a restart: ``improved`` is False). Setting
    ``exact = True`` computes the objective from the residual (:func:`residual_error`)
    instead of the trace trick, at the cost of one more product per step.

    References
    ----------
    A. M. S. Ang and N. Gillis, "Accelerating nonnegative matrix factorization algorithms
    using extrapolation", Neural Computation 31(2), 417-439, 2019. doi:10.1162/neco_a_01157
    """

    losses = ("frobenius",)
    improved = True  # False after a step whose extrapolation failed (a restart)
    exact = False  # objective from the residual instead of the trace trick

    def __init__(self, A, W, H, norm_A_sq, *, alpha=0.5, eps=0.1, extrapolate=True,
                 beta=0.3, eta=1.5, gamma=1.01, gamma_bar=1.005):
        n, m = A.shape
        k = W.shape[1]
        dt = A.dtype
        self.A, self.norm_A_sq = A, norm_A_sq
        self.Wt = np.ascontiguousarray(W.T)
        self.H = np.ascontiguousarray(H)
        self.Cw = np.empty((k, n), dt)
        self.WtA = np.empty((k, m), dt)
        self.HHt = gram(self.H)
        self.buf_w, self.buf_h = np.empty(n, dt), np.empty(m, dt)
        self.old_w, self.old_h = np.empty((k, n), dt), np.empty((k, m), dt)
        # Cost of a product in sweeps (Gillis & Glineur's rho). A sweep costs k row updates
        # of k*p flops each plus a fixed call overhead worth about _ROW_OVERHEAD flops.
        product = n * m * k
        self.inner_w = 1 + int(alpha * product / (k * (k * n + _ROW_OVERHEAD)))
        self.inner_h = 1 + int(alpha * product / (k * (k * m + _ROW_OVERHEAD)))
        self.eps = eps
        self.extrapolate = extrapolate
        self.beta, self.beta_max = beta, 1.0
        self.eta, self.gamma, self.gamma_bar = eta, gamma, gamma_bar
        # Previous plain iterates (None until the first step) and the best pair so far.
        self.Wt_prev = self.H_prev = None
        self.error = self.best_error = np.inf
        # The best pair, and the one it replaced (None while the best is the initial pair,
        # whose arrays the first step updates in place).
        self.best, self.replaced = (self.Wt, self.H), None
        self._owned = False

    def _extrapolated(self, X, prev):
        """``max(0, X + beta (X - prev))`` written into ``prev``'s buffer (returned)."""
        np.subtract(X, prev, out=prev)
        prev *= self.beta
        prev += X
        return np.maximum(prev, 0, out=prev)

    def step(self):
        A, Wt, H, dt = self.A, self.Wt, self.H, self.A.dtype
        Gz, inv = scaled_system(self.HHt, dt)
        # C / diag(G) for the W update, folded into the product: (D⁻¹ H) Aᵀ.
        np.dot(H * inv[:, None], A.T, out=self.Cw)
        sweep(Wt, self.Cw, Gz, inv, self.inner_w, self.eps, self.buf_w, self.old_w)
        Wn = Wt
        if self.extrapolate and self.Wt_prev is not None:
            Wt = self._extrapolated(Wn, self.Wt_prev)
        np.dot(Wt, A, out=self.WtA)
        WtW = gram(Wt)
        Gz, inv = scaled_system(WtW, dt)
        sweep(H, self.WtA * inv[:, None], Gz, inv, self.inner_h, self.eps, self.buf_h,
              self.old_h)
        HHt = gram(H)
        if self.exact:
            error = residual_error(A, Wt.T, H)
        else:
            error = squared_error(self.norm_A_sq, self.WtA, WtW, H, HHt)
        self.error = error
        if not self.extrapolate:
            self.HHt, self.best_error, self.best = HHt, error, (Wt, H)
            return error
        self.improved = improved = error < self.best_error
        if improved:
            self.best_error = error
            self.replaced = self.best if self._owned else None
            self.best, self._owned = (Wt.copy(), H.copy()), True
            self.beta = min(self.beta_max, self.gamma * self.beta)
            self.beta_max = min(1.0, self.gamma_bar * self.beta_max)
        else:
            self.beta_max = self.beta
            self.beta /= self.eta
            Wt = Wn  # restart the next update from the plain iterate
        # Keep the plain iterates for the next extrapolation (in buffers of their own) and
        # start the next step from the extrapolated ones.
        if Wt is Wn:
            Wn = Wn.copy()
        self.Wt, self.Wt_prev = Wt, Wn
        if improved and self.H_prev is not None:
            self.H = self._extrapolated(H, self.H_prev)
            HHt = gram(self.H)
        else:
            self.H = H.copy()
        self.H_prev, self.HHt = H, HHt
        return self.best_error

    def objective(self):
        """Objective of :meth:`factors` from the residual (exact); it becomes the best
        error the next steps are compared with."""
        Wt, H = self.best
        self.best_error = residual_error(self.A, Wt.T, H)
        if not self.extrapolate:
            self.error = self.best_error
        return self.best_error

    def previous_objective(self):
        """Exact objective of the best pair before the last improving step, or None when it
        is not kept (without extrapolation, or before the second improvement)."""
        if not self.extrapolate or self.replaced is None:
            return None
        Wt, H = self.replaced
        return residual_error(self.A, Wt.T, H)

    def factors(self):
        Wt, H = self.best
        return Wt.T, H
