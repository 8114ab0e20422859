"""HALS over data read block by block (memory-mapped, on-disk): one pass over ``A`` per
iteration, the iterates of the in-memory ``"hals"`` solver.

The in-memory solver (:mod:`._hals`) reads ``A`` twice per iteration: ``Wᵀ A`` for the H
update and ``H Aᵀ`` for the next W update, the latter with the *extrapolated* H, which is
known only once the error of the whole iteration has said whether the extrapolation
stands. Here each block, while it is in memory, updates its weights ``H_b``, adds its part
of the error, and adds both candidates for the next W update, ``H_b A_bᵀ`` and
``E_b A_bᵀ`` with ``E_b`` the extrapolated weights; after the pass the error picks one.
That is three products instead of two, but a single read of ``A``: the right trade when
reading costs more than a product (a compressed store, a disk). Sums over blocks are exact
in exact arithmetic, so the iterates are the in-memory ones up to rounding.

:func:`block_update` is the work of one block, a function of its inputs only, so that it can
run where the block lives (a Dask worker).
"""

from __future__ import annotations

import numpy as np

from ._hals import HALS, Extrapolated, inner_sweeps, scaled_system, sweep, sweep_columns
from ._loss import gram

__all__ = ["StreamHALS", "block_update", "project_blocks"]


def block_update(A_b, H_b, H_prev_b, Wt, Gz, inv, n_sweeps, eps, beta, exact):
    """One block's share of an iteration, in place on ``H_b`` (k, w).

    Sweeps ``H_b`` for ``Wt`` (k, n) (``Gz``, ``inv`` from ``WᵀW``), then returns
    ``(E_b, sums)``: the extrapolated weights ``max(0, H_b + beta (H_b - H_prev_b))`` (None
    without ``H_prev_b``) and a dict of this block's sums: ``cross`` ``<H_b, Wᵀ A_b>``,
    ``gram`` ``H_b H_bᵀ`` (float64), ``plain`` ``H_b A_bᵀ``, and with ``E_b`` ``gram_e`` and
    ``extrapolated`` ``E_b A_bᵀ``; with ``exact`` also ``residual`` ``||A_b - W H_b||²``.
    """
    WtA = Wt @ A_b
    sweep_columns(H_b, WtA, Gz, inv, n_sweeps, eps)
    sums = {"cross": float(np.vdot(H_b.astype(np.float64), WtA.astype(np.float64))),
            "gram": gram(H_b), "plain": H_b @ A_b.T}
    if exact:
        R = Wt.T @ H_b
        np.subtract(A_b, R, out=R)
        sums["residual"] = float(np.einsum("ij,ij->j", R, R).sum(dtype=np.float64))
    E_b = None
    if H_prev_b is not None:
        E_b = H_b - H_prev_b
        E_b *= beta
        E_b += H_b
        np.maximum(E_b, 0, out=E_b)
        sums["gram_e"] = gram(E_b)
        sums["extrapolated"] = E_b @ A_b.T
    return E_b, sums


def _add(total, sums):
    for key, value in sums.items():
        total[key] = value if key not in total else total[key] + value
    return total


class StreamHALS:
    """The ``"hals"`` solver for a :class:`._blocks.Columns` ``A`` (same options, same
    iterates as ``Extrapolated(HALS)`` up to rounding; ``extrapolate=False`` gives plain
    HALS in one pass per iteration)."""

    losses = HALS.losses

    def __init__(self, cols, W, H, *, loss="frobenius", alpha=0.5, eps=0.1,
                 extrapolate=True, beta=0.3, eta=1.5, gamma=1.01, gamma_bar=1.005):
        n, m = cols.shape
        k = W.shape[1]
        self.cols, self.norm_A_sq, self.dtype = cols, cols.norm_sq, cols.dtype
        self.inner_w, self.inner_h = inner_sweeps(n, m, k, alpha)
        self.eps, self.extrapolate = eps, extrapolate
        self.beta, self.beta_max = beta, 1.0
        self.eta, self.gamma, self.gamma_bar = eta, gamma, gamma_bar
        self.Wt = np.ascontiguousarray(W.T)
        self.H = np.ascontiguousarray(H)  # the weights the next W update uses
        self.Wt_prev = self.H_prev = None
        self.improved, self.exact = True, False
        self.error = self.best_error = np.inf
        self.best = (self.Wt.copy(), self.H.copy())
        self.buf_w, self.old_w = np.empty(n, self.dtype), np.empty((k, n), self.dtype)
        # The products of the initial H for the first W update, and its exact error.
        self.C, self.HHt, self._initial = np.zeros((k, n), self.dtype), np.zeros((k, k)), 0.0
        for cols_b, A_b in cols.blocks():
            H_b = self.H[:, cols_b]
            self.C += H_b @ A_b.T
            self.HHt += gram(H_b)
            R = self.Wt.T @ H_b
            np.subtract(A_b, R, out=R)
            self._initial += float(np.einsum("ij,ij->j", R, R).sum(dtype=np.float64))

    def _pass(self, Wt, beta):
        """The H update of every block for ``Wt``; returns the sums (see block_update) and
        the extrapolated weights (None before there are previous ones)."""
        WtW = gram(Wt)
        Gz, inv = scaled_system(WtW, self.dtype)
        extrapolate = self.extrapolate and self.H_prev is not None
        E = np.empty_like(self.H) if extrapolate else None
        total = {}
        for cols_b, A_b in self.cols.blocks():
            H_b = np.ascontiguousarray(self.H[:, cols_b])
            prev = self.H_prev[:, cols_b] if extrapolate else None
            E_b, sums = block_update(A_b, H_b, prev, Wt, Gz, inv, self.inner_h, self.eps,
                                     beta, self.exact)
            self.H[:, cols_b] = H_b
            if E_b is not None:
                E[:, cols_b] = E_b
            _add(total, sums)
        return WtW, total, E

    def step(self):
        # The W update from the products of the weights chosen at the end of the last step.
        Gz, inv = scaled_system(self.HHt, self.dtype)
        Cw = self.C * inv[:, None]
        sweep(self.Wt, Cw, Gz, inv, self.inner_w, self.eps, self.buf_w, self.old_w)
        Wn = Wt = self.Wt
        if self.extrapolate and self.Wt_prev is not None:
            Wt = self._extrapolated(Wn, self.Wt_prev)
        grown = min(self.beta_max, self.gamma * self.beta)  # beta if this step improves
        WtW, sums, E = self._pass(Wt, grown)
        if self.exact:
            error = sums["residual"]
        else:
            error = max(self.norm_A_sq - 2.0 * sums["cross"]
                        + float(np.vdot(WtW, sums["gram"])), 0.0)
        self.error = error
        H = self.H
        if not self.extrapolate:
            self.best_error, self.best = error, (Wt, H)
            self.C, self.HHt = sums["plain"], sums["gram"]
            return error
        self.improved = improved = error < self.best_error
        if improved:
            self.best_error = error
            self.best = (Wt.copy(), H.copy())
            self.beta = grown
            self.beta_max = min(1.0, self.gamma_bar * self.beta_max)
        else:
            self.beta_max = self.beta
            self.beta /= self.eta
            Wt = Wn
        if Wt is Wn:
            Wn = Wn.copy()
        self.Wt, self.Wt_prev = Wt, Wn
        if improved and E is not None:
            self.H, self.C, self.HHt = E, sums["extrapolated"], sums["gram_e"]
        else:
            self.H, self.C, self.HHt = H.copy(), sums["plain"], sums["gram"]
        self.H_prev = H
        return self.best_error

    _extrapolated = Extrapolated._extrapolated

    def objective(self):
        """Objective of :meth:`factors` from the residual (one pass over ``A``)."""
        if self._initial is not None:  # the initial pair: computed with the first products
            self.best_error, self._initial = self._initial, None
            return self.best_error
        Wt, H = self.best
        total = 0.0
        for cols_b, A_b in self.cols.blocks():
            R = Wt.T @ H[:, cols_b]
            np.subtract(A_b, R, out=R)
            total += float(np.einsum("ij,ij->j", R, R).sum(dtype=np.float64))
        self.best_error = total
        return total

    def previous_objective(self):
        """None: the replaced pair is not kept (it would cost another copy of H)."""
        return None

    def factors(self):
        Wt, H = self.best
        return Wt.T, H


def project_blocks(cols, W, H0, project):
    """Exact weights of every block of ``cols`` onto ``W`` (``project(A_b, W, H0_b)``) and
    the squared error of the result, in one pass."""
    H = np.empty((W.shape[1], cols.shape[1]), W.dtype)
    total = 0.0
    for cols_b, A_b in cols.blocks():
        H_b = project(A_b, W, H0[:, cols_b])
        H[:, cols_b] = H_b
        R = W @ H_b
        np.subtract(A_b, R, out=R)
        total += float(np.einsum("ij,ij->j", R, R).sum(dtype=np.float64))
    return H, total
