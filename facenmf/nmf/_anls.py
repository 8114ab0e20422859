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
    """

    losses = ("frobenius",)
    options = {}
    sparse = ("frobenius",)  # losses it fits to a scipy.sparse A (only A Hᵀ and Wᵀ A)
    improved = True  # every step is a plain descent step
    exact = False

    def __init__(self, A, W, H, *, loss="frobenius"):
        self.A, self.norm_A_sq = A, squared_norm(A)
        self.Wt = np.ascontiguousarray(W.T)
        self.H = np.ascontiguousarray(H)
        self.HHt = gram(self.H)
        self.previous = None  # the factors before the last step (new arrays each step)

    def step(self):
        A, dt = self.A, self.A.dtype
        H = self.H
        self.previous = (self.Wt, H)
        self.Wt = nnls_bpp(self.HHt, H @ A.T, passive=self.Wt > 0).astype(dt)
        Wt = self.Wt
        WtA, WtW = Wt @ A, gram(Wt)
        self.H = nnls_bpp(WtW, WtA, passive=H > 0).astype(dt)
        self.HHt = gram(self.H)
        if self.exact:
            return residual_error(A, Wt.T, self.H)
        return squared_error(self.norm_A_sq, WtA, WtW, self.H, self.HHt)

    def objective(self):
        """Objective of the current factors from the residual (exact)."""
        return residual_error(self.A, self.Wt.T, self.H)

    def previous_objective(self):
        """Exact objective of the factors before the last step (None before the first)."""
        if self.previous is None:
            return None
        Wt, H = self.previous
        return residual_error(self.A, Wt.T, H)

    def factors(self):
        return self.Wt.T, self.H
