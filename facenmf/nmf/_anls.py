"""Alternating non-negative least squares, each half solved exactly (block pivoting).

References
----------
J. Kim and H. Park, "Fast nonnegative matrix factorization: an active-set-like method and
comparisons", SIAM J. Sci. Comput. 33(6), 3261-3281, 2011. doi:10.1137/110821172
"""

from __future__ import annotations

import numpy as np

from ._loss import gram, residual_error, squared_error, squared_norm
from ._nnls import nnls_bpp

__all__ = ["ANLS"]


class ANLS:
    """State of an ANLS fit of ``A ≈ W H`` (Frobenius loss).

    ``exact = True`` computes the objective from the residual instead of the trace trick.
    A ``penalty`` (:class:`._penalty.Penalty`) keeps each half exact: its L2 part is a ridge
    on the Gram matrix, its L1 part a shift of the linear term of the NNLS problem
    ``min_{X >= 0} 0.5 tr(Xᵀ G X) - tr(Cᵀ X)``.
    """

    losses = ("frobenius",)
    options = {}
    sparse = ("frobenius",)  # losses it fits to a scipy.sparse A (only A Hᵀ and Wᵀ A)
    improved = True  # every step is a plain descent step
    exact = False
    regularizes = True

    def __init__(self, A, W, H, *, loss="frobenius", penalty=None):
        self.A, self.norm_A_sq, self.penalty = A, squared_norm(A), penalty
        self.Wt = np.ascontiguousarray(W.T)
        self.H = np.ascontiguousarray(H)
        self.HHt = gram(self.H)
        self.previous = None  # the factors before the last step (new arrays each step)

    def step(self):
        A, dt = self.A, self.A.dtype
        H = self.H
        p = self.penalty
        self.previous = (self.Wt, H)
        G, C = _shifted(self.HHt, H @ A.T, None if p is None else (p.l1_W, p.l2_W))
        self.Wt = nnls_bpp(G, C, passive=self.Wt > 0).astype(dt)
        Wt = self.Wt
        WtA, WtW = Wt @ A, gram(Wt)
        G, C = _shifted(WtW, WtA, None if p is None else (p.l1_H, p.l2_H))
        self.H = nnls_bpp(G, C, passive=H > 0).astype(dt)
        self.HHt = gram(self.H)
        if self.exact:
            return self._penalized(residual_error(A, Wt.T, self.H), Wt, self.H)
        return self._penalized(squared_error(self.norm_A_sq, WtA, WtW, self.H, self.HHt), Wt,
                               self.H)

    def _penalized(self, squared, Wt, H):
        """The squared error plus twice the penalty (the units of the squared error)."""
        if self.penalty is None:
            return squared
        return squared + 2.0 * self.penalty.value(Wt, H)

    def objective(self):
        """Objective of the current factors from the residual (exact)."""
        return self._penalized(residual_error(self.A, self.Wt.T, self.H), self.Wt, self.H)

    def previous_objective(self):
        """Exact objective of the factors before the last step (None before the first)."""
        if self.previous is None:
            return None
        Wt, H = self.previous
        return self._penalized(residual_error(self.A, Wt.T, H), Wt, H)

    def factors(self):
        return self.Wt.T, self.H


def _shifted(G, C, coefficients):
    """``(G + l2 I, C - l1)`` of an NNLS half for the penalty ``(l1, l2)`` (None: as is)."""
    if coefficients is None:
        return G, C
    l1, l2 = coefficients
    if l2:
        G = G + l2 * np.eye(len(G))
    if l1:
        C = C.astype(np.float64) - l1
    return G, C
