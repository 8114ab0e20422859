"""Multiplicative updates: Lee & Seung's for the Frobenius and KL losses, Févotte & Idier's
for any beta-divergence, with L1/L2 penalties in the denominators.

For beta-divergences the update of ``H`` is ``H *= (Wᵀ (A Q^(beta-2)) / (Wᵀ Q^(beta-1) + l1
+ l2 H))^gamma`` with ``Q = W H``, and the same for ``W`` by symmetry; ``gamma`` is 1 for
beta in [1, 2], ``1 / (2 - beta)`` below and ``1 / (beta - 1)`` above, which makes each
update a majorization-minimization step, so the objective never rises (Févotte & Idier 2011,
the rule scikit-learn's ``_multiplicative_update_w/h`` follow).

References
----------
D. D. Lee and H. S. Seung, "Learning the parts of objects by non-negative matrix
factorization", Nature 401, 788-791, 1999. doi:10.1038/44565

D. D. Lee and H. S. Seung, "Algorithms for non-negative matrix factorization", NIPS 13,
556-562, 2001.

C. Févotte and J. Idier, "Algorithms for nonnegative matrix factorization with the
beta-divergence", Neural Computation 23(9), 2421-2456, 2011. doi:10.1162/NECO_a_00168
"""

from __future__ import annotations

import numpy as np

from ._beta import beta_divergence, loss_beta
from ._loss import gram, kl_constant, kl_divergence, residual_error, squared_error, squared_norm

__all__ = ["MU", "WeightedMU", "mm_exponent"]


def mm_exponent(beta):
    """Févotte & Idier's exponent gamma of the multiplicative update for ``beta``."""
    if beta < 1:
        return 1.0 / (2.0 - beta)
    if beta > 2:
        return 1.0 / (beta - 1.0)
    return 1.0


class MU:
    """State of a multiplicative-update fit of ``A ≈ W H``.

    ``exact = True`` computes the Frobenius objective from the residual instead of the
    trace trick (the other divergences are always computed from ``W H``). With a
    ``penalty`` the objective is the penalized one: the squared error plus twice the
    penalty for Frobenius, the divergence plus the penalty otherwise.
    """

    losses = ("frobenius", "kl", "itakura-saito", "beta")
    options = {}
    sparse = ("frobenius",)  # losses it fits to a scipy.sparse A (only A Hᵀ and Wᵀ A)
    improved = True  # every step is a plain descent step
    exact = False
    regularizes = True

    def __init__(self, A, W, H, *, loss="frobenius", penalty=None):
        self.A, self.norm_A_sq, self.loss, self.penalty = A, squared_norm(A), loss, penalty
        self.beta = loss_beta(loss)
        self.gamma = mm_exponent(self.beta)
        self.W, self.H = np.array(W, order="C"), np.array(H, order="C")
        # Guards 0/0 in the updates; an entry that reaches 0 stays 0 (a known property of
        # multiplicative updates).
        self.eps = np.finfo(A.dtype).tiny * 1e6 if loss == "frobenius" else np.finfo(A.dtype).eps
        self.WH = None
        self.kl_constant = kl_constant(A) if loss == "kl" else None

    def step(self):
        if self.loss == "frobenius":
            return self._step_frobenius()
        if self.loss == "kl":
            return self._step_kl()
        return self._step_beta()

    def _penalized(self, value):
        """``value`` of the current factors plus their penalty, in the loss's units."""
        if self.penalty is None:
            return value
        scale = 2.0 if self.loss == "frobenius" else 1.0
        return value + scale * self.penalty.value(self.W, self.H)

    def _denominator(self, D, X, l1, l2):
        """``max(D + l1 + l2 X, eps)`` (``D`` may broadcast against ``X``)."""
        if l1:
            D = D + X.dtype.type(l1)
        if l2:
            D = D + X.dtype.type(l2) * X
        return np.maximum(D, self.eps)

    def _coefficients(self):
        p = self.penalty
        return (0.0, 0.0, 0.0, 0.0) if p is None else (p.l1_W, p.l2_W, p.l1_H, p.l2_H)

    def _step_frobenius(self):
        A, W, H, dt = self.A, self.W, self.H, self.A.dtype
        l1_W, l2_W, l1_H, l2_H = self._coefficients()
        AHt = A @ H.T
        denom = W @ gram(H).astype(dt)
        if l1_W or l2_W:
            denom = self._denominator(denom, W, l1_W, l2_W)
        denom += self.eps
        W *= AHt / denom
        WtA = W.T @ A
        WtW = gram(W.T)
        denom = WtW.astype(dt) @ H
        if l1_H or l2_H:
            denom = self._denominator(denom, H, l1_H, l2_H)
        denom += self.eps
        H *= WtA / denom
        if self.exact:
            return self._penalized(residual_error(A, W, H))
        return self._penalized(squared_error(self.norm_A_sq, WtA, WtW, H))

    def _step_kl(self):
        A, W, H, eps = self.A, self.W, self.H, self.eps
        l1_W, l2_W, l1_H, l2_H = self._coefficients()
        WH = self.WH if self.WH is not None else W @ H
        R = A / np.maximum(WH, eps)
        H *= (W.T @ R) / self._denominator(W.sum(axis=0)[:, None], H, l1_H, l2_H)
        np.dot(W, H, out=WH)
        np.divide(A, np.maximum(WH, eps, out=R), out=R)
        W *= (R @ H.T) / self._denominator(H.sum(axis=1)[None, :], W, l1_W, l2_W)
        np.dot(W, H, out=WH)
        self.WH = WH
        return self._penalized(kl_divergence(A, WH, eps, self.kl_constant))

    def _factor(self, Q, num_of, den_of):
        """``(num, den)`` of a beta update: ``A Q^(beta-2)`` and ``Q^(beta-1)`` contracted
        by ``num_of``/``den_of`` (the product with the other factor)."""
        beta, eps, A = self.beta, self.eps, self.A
        Qs = np.maximum(Q, eps) if beta < 2 else Q
        if beta == 0:
            P = np.reciprocal(Qs)
            num = num_of(A * P * P)
            den = den_of(P)
        else:
            P = Qs ** (beta - 2.0)
            num = num_of(A * P)
            P *= Qs  # Q^(beta - 1)
            den = den_of(P)
        return num, den

    def _beta_updates(self, Q):
        """Févotte & Idier's updates of H, then W; ``Q`` holds ``W H`` on entry (made
        again between the two) and is reused as the buffer."""
        W, H, gamma = self.W, self.H, self.gamma
        l1_W, l2_W, l1_H, l2_H = self._coefficients()
        num, den = self._factor(Q, lambda P: W.T @ P, lambda P: W.T @ P)
        ratio = num / self._denominator(den, H, l1_H, l2_H)
        H *= ratio if gamma == 1 else ratio ** gamma
        np.dot(W, H, out=Q)
        num, den = self._factor(Q, lambda P: P @ H.T, lambda P: P @ H.T)
        ratio = num / self._denominator(den, W, l1_W, l2_W)
        W *= ratio if gamma == 1 else ratio ** gamma

    def _step_beta(self):
        Q = self.WH if self.WH is not None else self.W @ self.H
        self._beta_updates(Q)
        np.dot(self.W, self.H, out=Q)
        self.WH = Q
        return self._penalized(beta_divergence(self.A, Q, self.loss, self.eps))

    def objective(self):
        """Objective of the current factors, exact (from the residual, or ``W H``)."""
        if self.loss == "frobenius":
            return self._penalized(residual_error(self.A, self.W, self.H))
        WH = self.WH if self.WH is not None else self.W @ self.H
        if self.loss == "kl":
            return self._penalized(kl_divergence(self.A, WH, self.eps, self.kl_constant))
        return self._penalized(beta_divergence(self.A, WH, self.loss, self.eps))

    def previous_objective(self):
        """None: the updates are in place, the previous factors are not kept."""
        return None

    def factors(self):
        return self.W, self.H


class WeightedMU(MU):
    """Weighted multiplicative updates: :class:`MU` on the known entries of ``A`` only.

    ``A`` holds the known entries (0 elsewhere) and ``weight`` (same shape and dtype) is 1
    where an entry is known, 0 where it is unknown. Each product with ``W H`` in the
    denominators is restricted to the known entries: for Frobenius (Lee & Seung's weighted
    rule, e.g. Ho 2008, Mao & Saul 2004)

        ``W *= ((M̄∘A) Hᵀ) / ((M̄∘W H) Hᵀ)``, ``H *= (Wᵀ (M̄∘A)) / (Wᵀ (M̄∘W H))``,

    and for a beta-divergence ``Q^(beta-1)`` becomes ``M̄∘Q^(beta-1)`` (the numerator's
    ``M̄∘A Q^(beta-2)`` is already 0 on the unknown entries), with Févotte & Idier's
    exponent. The auxiliary function of each unweighted update is a sum over the entries, so
    dropping the unknown ones keeps it an auxiliary function of the masked objective: it
    never rises. Penalties enter the denominators as in :class:`MU`. With every entry known
    these are :class:`MU`'s updates in the same order (W then H for Frobenius, H then W
    otherwise). Each step forms ``W H`` twice (once per factor).

    References
    ----------
    N.-D. Ho, "Nonnegative matrix factorization algorithms and applications", PhD thesis,
    Université catholique de Louvain, 2008, chapter 6.
    """

    regularizes = True

    def __init__(self, A, W, H, *, weight, loss="frobenius", penalty=None):
        super().__init__(A, W, H, loss=loss, penalty=penalty)
        self.weight = weight
        self.Q = np.empty(A.shape, dtype=A.dtype)

    def _known_product(self):
        """``M̄ ∘ (W H)`` in a reused buffer."""
        np.dot(self.W, self.H, out=self.Q)
        np.multiply(self.Q, self.weight, out=self.Q)
        return self.Q

    def _step_frobenius(self):
        A, W, H = self.A, self.W, self.H
        l1_W, l2_W, l1_H, l2_H = self._coefficients()
        AHt = A @ H.T
        denom = self._known_product() @ H.T
        if l1_W or l2_W:
            denom = self._denominator(denom, W, l1_W, l2_W)
        denom += self.eps
        W *= AHt / denom
        WtA = W.T @ A
        denom = W.T @ self._known_product()
        if l1_H or l2_H:
            denom = self._denominator(denom, H, l1_H, l2_H)
        denom += self.eps
        H *= WtA / denom
        return None

    def _step_kl(self):
        A, W, H, eps, K = self.A, self.W, self.H, self.eps, self.weight
        l1_W, l2_W, l1_H, l2_H = self._coefficients()
        Q = np.dot(W, H, out=self.Q)
        R = np.divide(A, np.maximum(Q, eps, out=Q), out=Q)  # 0 where unknown (A is 0)
        H *= (W.T @ R) / self._denominator(W.T @ K, H, l1_H, l2_H)
        np.dot(W, H, out=Q)
        np.divide(A, np.maximum(Q, eps, out=Q), out=Q)
        W *= (R @ H.T) / self._denominator(K @ H.T, W, l1_W, l2_W)
        return None

    def _factor(self, Q, num_of, den_of):
        beta, eps, A = self.beta, self.eps, self.A
        Qs = np.maximum(Q, eps) if beta < 2 else Q
        P = Qs ** (beta - 2.0)
        num = num_of(A * P)  # A is 0 on the unknown entries
        P *= Qs  # Q^(beta - 1)
        P *= self.weight
        return num, den_of(P)

    def _step_beta(self):
        self._beta_updates(np.dot(self.W, self.H, out=self.Q))  # _factor applies the weight
        return None

    def objective(self):
        """Not used: the masked fit computes the masked objective itself."""
        return None
