"""Alternating non-negative least squares, each half solved exactly (block pivoting).

References
----------
J. Kim and H. Park, "Fast nonnegative matrix factorization: an active-set-like method and
comparisons", SIAM J. Sci. Comput. 33(6), 3261-3281, 2011. doi:10.1137/110821172
"""

from __future__ import annotations

import numpy as np

from ._loss import squared_error
from ._nnls import nnls_bpp

__all__ = ["ANLS"]


class ANLS:
    """State of an ANLS fit of ``A ≈ W H`` (Frobenius loss)."""

    losses = ("frobenius",)
    improved = True  # every step is a plain descent step

    def __init__(self, A, W, H, norm_A_sq):
        self.A, self.norm_A_sq = A, norm_A_sq
        self.Wt = np.ascontiguousarray(W.T)
        self.H = np.ascontiguousarray(H)

    def step(self):
        A, dt = self.A, self.A.dtype
        H = self.H
        self.Wt = nnls_bpp(H @ H.T, H @ A.T, passive=self.Wt > 0).astype(dt)
        Wt = self.Wt
        WtA, WtW = Wt @ A, Wt @ Wt.T
        self.H = nnls_bpp(WtW, WtA, passive=H > 0).astype(dt)
        return squared_error(self.norm_A_sq, WtA, WtW, self.H)

    def factors(self):
        return self.Wt.T, self.H
