"""Lee & Seung multiplicative updates, for the Frobenius and the generalized KL loss.

References
----------
D. D. Lee and H. S. Seung, "Learning the parts of objects by non-negative matrix
factorization", Nature 401, 788-791, 1999. doi:10.1038/44565

D. D. Lee and H. S. Seung, "Algorithms for non-negative matrix factorization", NIPS 13,
556-562, 2001.
"""

from __future__ import annotations

import numpy as np

from ._loss import gram, kl_constant, kl_divergence, residual_error, squared_error, squared_norm

__all__ = ["MU"]


class MU:
    """State of a multiplicative-update fit of ``A ≈ W H``.

    ``exact = True`` computes the Frobenius objective from the residual instead of the
    trace trick (the KL divergence is always computed from ``W H``).
    """

    losses = ("frobenius", "kl")
    options = {}
    sparse = ("frobenius",)  # losses it fits to a scipy.sparse A (only A Hᵀ and Wᵀ A)
    improved = True  # every step is a plain descent step
    exact = False

    def __init__(self, A, W, H, *, loss="frobenius"):
        self.A, self.norm_A_sq, self.loss = A, squared_norm(A), loss
        self.W, self.H = np.array(W, order="C"), np.array(H, order="C")
        # Guards 0/0 in the updates; an entry that reaches 0 stays 0 (a known property of
        # multiplicative updates).
        self.eps = np.finfo(A.dtype).tiny * 1e6 if loss == "frobenius" else np.finfo(A.dtype).eps
        self.WH = None
        self.kl_constant = kl_constant(A) if loss == "kl" else None

    def step(self):
        return self._step_frobenius() if self.loss == "frobenius" else self._step_kl()

    def _step_frobenius(self):
        A, W, H, eps, dt = self.A, self.W, self.H, self.eps, self.A.dtype
        AHt = A @ H.T
        denom = W @ gram(H).astype(dt)
        denom += eps
        W *= AHt / denom
        WtA = W.T @ A
        WtW = gram(W.T)
        denom = WtW.astype(dt) @ H
        denom += eps
        H *= WtA / denom
        if self.exact:
            return residual_error(A, W, H)
        return squared_error(self.norm_A_sq, WtA, WtW, H)

    def _step_kl(self):
        A, W, H, eps = self.A, self.W, self.H, self.eps
        WH = self.WH if self.WH is not None else W @ H
        R = A / np.maximum(WH, eps)
        H *= (W.T @ R) / np.maximum(W.sum(axis=0), eps)[:, None]
        np.dot(W, H, out=WH)
        np.divide(A, np.maximum(WH, eps, out=R), out=R)
        W *= (R @ H.T) / np.maximum(H.sum(axis=1), eps)[None, :]
        np.dot(W, H, out=WH)
        self.WH = WH
        return kl_divergence(A, WH, eps, self.kl_constant)

    def objective(self):
        """Objective of the current factors, exact (from the residual, or ``W H``)."""
        if self.loss == "kl":
            WH = self.WH if self.WH is not None else self.W @ self.H
            return kl_divergence(self.A, WH, self.eps, self.kl_constant)
        return residual_error(self.A, self.W, self.H)

    def previous_objective(self):
        """None: the updates are in place, the previous factors are not kept."""
        return None

    def factors(self):
        return self.W, self.H
