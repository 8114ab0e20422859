"""Local NMF (Li, Hou, Zhang & Cheng 2001): KL divergence, localized parts, multiplicative
updates.

References
----------
S. Z. Li, X. W. Hou, H. J. Zhang and Q. S. Cheng, "Learning spatially localized,
parts-based representation", Proc. IEEE CVPR 2001, vol. 1, 207-212.
doi:10.1109/CVPR.2001.990477
"""

from __future__ import annotations

import numpy as np

from ._kl import kl_mm_step, kl_project, simplex_columns, simplex_update
from ._loss import kl_constant, kl_divergence, squared_norm
from ._solver import Option, number

__all__ = ["LNMF", "lnmf_transform"]

def lnmf_transform(A, W, mask=None):
    """LNMF weights of faces ``A`` (n_pixels, n_faces) on a fixed basis ``W`` (n_pixels,
    rank): for each face, ``argmin_{h >= 0} -sum_v a_i log (W_s h)_i + 1/2 ||h||²`` over the
    pixels ``v`` that ``mask`` (bool, True = ignore the pixel; (n_pixels,) or like ``A``)
    leaves visible, on the basis with unit column sums ``W_s``; returned for ``W`` as given
    (``W h`` equal). On a whole face this is ``D(a || W_s h) + 1/2 ||h - 1||²`` up to a
    constant, LNMF's objective with ``W`` fixed; written without the divergence's ``sum(W
    h)`` (equal to ``sum(h)`` on the whole face) it gives hidden pixels no say: a basis
    image under the mask gets no weight for being unseen.
    """
    Ws, sums = simplex_columns(W)
    H = kl_project(A, Ws, mask, q=1.0, visible_sum=False)
    return (H / sums[:, None]).astype(W.dtype)


class LNMF:
    """State of an LNMF fit (``loss="kl"``): with ``W``'s columns summing to 1,

        min  D(A || W H) + 1/2 ||H - 1||_F² + alpha sum(A) sum_kl (WᵀW)_kl

    over ``W, H >= 0``. Li et al. state LNMF's objective as ``D + a sum_kl (WᵀW)_kl - b
    sum_k (HHᵀ)_kk`` and publish the updates

        H <- sqrt(H * Wᵀ (A / W H)),   W <- W * ((A / W H) Hᵀ) / sum_j H,   W <- W / sum_i W,

    which depend on neither ``a`` nor ``b``. These updates decrease the objective above
    (with ``alpha = 0``) monotonically: with unit column sums ``sum(W H) = sum(H)``, so the
    objective is ``-sum A log(W H) + 1/2 ||H||²`` plus a constant; the square-root update is
    the exact minimizer of its auxiliary function in ``H`` (Jensen's inequality on the log),
    and the normalized multiplicative update the exact minimizer of its auxiliary function
    in ``W`` over the columns of unit sum. ``alpha > 0`` adds the paper's locality term (a
    basis image's pixels not shared by others: ``sum_kl (WᵀW)_kl = sum_i (sum_k W_ik)²``),
    written relative to ``sum(A)`` so that ``alpha`` means the same at any intensity scale;
    its ``W`` update minimizes the auxiliary function with that term bounded by Jensen's
    inequality as well (:func:`simplex_update`). The default ``alpha = 0`` is Li et al.'s
    published algorithm.

    The ``1/2 ||H||²`` term keeps the weights' scale down (at a fixed point a face's
    weights have ``||h||² = sum(a)``), so ``W H`` is a dimmer copy of the faces: the
    relative divergence in ``history`` (``D(A || W H) / sum(A)``) is far above plain KL
    NMF's; the basis, not the reconstruction, is what LNMF is for. The weights of a new
    face minimize the same objective with ``W`` fixed (:func:`lnmf_transform`; what
    :meth:`facenmf.NMF.transform` gives).
    """

    losses = ("kl",)
    options = {
        "alpha": Option(0.0, "weight of the locality term sum(A) sum_kl (WᵀW)_kl (0: Li et "
                        "al.'s published updates)", number(0)),
    }
    improved = True  # every step is a descent step
    variant = True  # a face NMF variant: constraints or penalties beside the loss
    exact = True  # the objective is always computed from W H

    @staticmethod
    def transform(A, W, mask=None):
        return lnmf_transform(A, W, mask)

    def __init__(self, A, W, H, *, loss="kl", alpha=0.0):
        self.A, self.norm_A_sq = A, squared_norm(A)
        Ws, sums = simplex_columns(np.asarray(W))
        self.W = np.array(Ws, order="C")
        self.H = np.array(H * sums[:, None].astype(H.dtype), order="C")
        self.sum_A = float(A.sum(dtype=np.float64))
        self.alpha = alpha * self.sum_A
        self.eps = np.finfo(A.dtype).eps
        self.kl_constant = kl_constant(A)
        self.WH = self.W @ self.H
        self.divergence = None

    def _update_W(self):
        A, W, H = self.A, self.W, self.H
        C = W * ((A / np.maximum(self.WH, self.eps)) @ H.T)
        if self.alpha > 0:
            rows = W.sum(axis=1, dtype=np.float64)[:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                U = np.where(W > 0, 2 * self.alpha * rows / W, 0)
        else:
            U = np.zeros(1)
        self.W = simplex_update(C, np.broadcast_to(U, C.shape)).astype(A.dtype)
        np.dot(self.W, H, out=self.WH)

    def step(self):
        self._update_W()
        self.H = kl_mm_step(self.A, self.W, self.H, 1.0, -1.0, WH=self.WH)
        np.dot(self.W, self.H, out=self.WH)
        return self.objective()

    def objective(self):
        """``D(A || W H) + 1/2 ||H - 1||² + alpha sum(A) sum_kl (WᵀW)_kl`` (float64)."""
        self.divergence = kl_divergence(self.A, self.WH, self.eps, self.kl_constant)
        H = self.H.astype(np.float64)
        value = self.divergence + 0.5 * float(np.sum((H - 1) ** 2))
        if self.alpha > 0:
            value += self.alpha * float(np.sum(self.W.sum(axis=1, dtype=np.float64) ** 2))
        return value

    def relative_error(self):
        """``D(A || W H) / sum(A)`` of the current factors (what ``history`` shows)."""
        return self.divergence / self.sum_A

    def previous_objective(self):
        """None: the previous factors are not kept."""
        return None

    def factors(self):
        return self.W, self.H
