"""L1 and L2 penalties on the factors, scaled as scikit-learn scales them (transposed).

scikit-learn's NMF minimizes, for its ``X`` (n_samples, n_features) ≈ ``W_sk H_sk``::

    D(X || W_sk H_sk) + alpha_W l1_ratio n_features ||W_sk||_1
                      + 0.5 alpha_W (1 - l1_ratio) n_features ||W_sk||_F²
                      + alpha_H l1_ratio n_samples ||H_sk||_1
                      + 0.5 alpha_H (1 - l1_ratio) n_samples ||H_sk||_F²

Our ``A`` is its ``X.T``: our basis ``W`` (n_pixels, rank) is its ``H_sk.T`` and our weights
``H`` (rank, n_faces) its ``W_sk.T``; n_features is our n_pixels, n_samples our n_faces.
facenmf's ``alpha_W`` is the penalty of *our* ``W`` (the basis images), so it is scaled by
``n_faces``, and ``alpha_H``, on our ``H``, by ``n_pixels`` (scikit-learn's ``alpha_W`` is
our ``alpha_H``). The weights of each face thus carry the same penalty whatever the number
of faces, in a fit and in a projection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validation as v

__all__ = ["Penalty", "check_regularization"]


@dataclass(frozen=True)
class Penalty:
    """The four coefficients: ``l1_W ||W||_1 + 0.5 l2_W ||W||_F² + l1_H ||H||_1
    + 0.5 l2_H ||H||_F²``."""

    l1_W: float = 0.0
    l2_W: float = 0.0
    l1_H: float = 0.0
    l2_H: float = 0.0

    @classmethod
    def of(cls, alpha_W, alpha_H, l1_ratio, n_pixels, n_faces):
        """From checked ``alpha_W``, ``alpha_H`` (a number) and ``l1_ratio`` for ``A`` of
        shape (n_pixels, n_faces); None when every coefficient is 0."""
        p = cls(l1_W=alpha_W * l1_ratio * n_faces, l2_W=alpha_W * (1 - l1_ratio) * n_faces,
                l1_H=alpha_H * l1_ratio * n_pixels, l2_H=alpha_H * (1 - l1_ratio) * n_pixels)
        return p if p.any else None

    @property
    def any(self):
        return any((self.l1_W, self.l2_W, self.l1_H, self.l2_H))

    def of_W(self, W):
        """``l1_W ||W||_1 + 0.5 l2_W ||W||_F²`` in float64 (any layout of ``W``)."""
        return _term(W, self.l1_W, self.l2_W)

    def of_H(self, H):
        """``l1_H ||H||_1 + 0.5 l2_H ||H||_F²`` in float64."""
        return _term(H, self.l1_H, self.l2_H)

    def value(self, W, H):
        """The whole penalty of ``(W, H)``, float64."""
        return self.of_W(W) + self.of_H(H)


def _term(X, l1, l2):
    total = 0.0
    if l1:
        total += l1 * float(X.sum(dtype=np.float64))
    if l2:
        total += 0.5 * l2 * float(np.einsum("ij,ij->", X, X, dtype=np.float64))
    return total


def check_regularization(alpha_W, alpha_H, l1_ratio):
    """``(alpha_W, alpha_H, l1_ratio)`` checked, ``alpha_H="same"`` resolved to ``alpha_W``."""
    alpha_W = v.check_number("alpha_W", alpha_W, low=0)
    if isinstance(alpha_H, str):
        if alpha_H != "same":
            raise ValueError(f"alpha_H: expected a number >= 0 or 'same', got {alpha_H!r}")
        alpha_H = alpha_W
    else:
        alpha_H = v.check_number("alpha_H", alpha_H, low=0)
    l1_ratio = v.check_number("l1_ratio", l1_ratio, low=0, high=1)
    return alpha_W, alpha_H, l1_ratio
