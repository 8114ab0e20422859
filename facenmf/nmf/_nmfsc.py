"""NMF with sparseness constraints (Hoyer 2004): projected gradient onto the sparseness sets.

References
----------
P. O. Hoyer, "Non-negative matrix factorization with sparseness constraints", Journal of
Machine Learning Research 5, 1457-1469, 2004. https://jmlr.org/papers/v5/hoyer04a.html
"""

from __future__ import annotations

import numpy as np

from .. import _validation as v
from ._loss import gram, residual_error, squared_norm
from ._solver import Option

__all__ = ["NMFsc", "sparseness_project", "l1_for_sparseness"]

# Halvings of a step before a constrained update gives up (and leaves its factor as it is).
_MAX_HALVINGS = 40
# Step growth after an accepted constrained step (Hoyer's code: 1.2).
_GROWTH = 1.2


def _check_sparseness(name, value):
    return v.check_number(name, value, low=0, high=1, allow_none=True)


def l1_for_sparseness(sparseness, n, l2):
    """The L1 norm of a vector of length ``n`` and L2 norm ``l2`` whose Hoyer sparseness is
    ``sparseness``: ``l2 (sqrt(n) - (sqrt(n) - 1) sparseness)``."""
    root = np.sqrt(n)
    return l2 * (root - (root - 1) * sparseness)


def sparseness_project(X, l1, l2):
    """Each column of ``X`` (n, p) projected onto ``{x >= 0, sum x = l1, ||x||_2 = l2}``.

    The Euclidean projection Hoyer's operator computes (2004, section 3.2), found here in
    closed form: the optimality conditions make it ``x = rho max(s - theta, 0)`` for the
    column ``s``, and ``theta`` is the threshold whose support of the ``k`` largest
    entries gives the ratio ``(sum x)² / ||x||² = (l1 / l2)²`` — a quadratic equation for
    each ``k``, solved for all ``k`` at once after one sort. This needs no iterations and
    stays well defined where entries tie (Hoyer's iteration divides by zero when every
    remaining entry is equal, as the mean-filled zeros of an NNDSVDa start are); ties are
    broken by position, by a perturbation of 1e-10 of the column's largest entry.
    ``l1`` and ``l2`` are scalars or arrays of shape (p,) with ``l2 <= l1 <= sqrt(n) l2``
    (0 gives the zero column). Returns a float64 array.
    """
    n, p = X.shape
    l1 = np.broadcast_to(np.asarray(l1, dtype=np.float64), (p,))
    l2 = np.broadcast_to(np.asarray(l2, dtype=np.float64), (p,))
    S = X.astype(np.float64)
    S -= 1e-10 * np.abs(S).max(axis=0, initial=0) * (np.arange(n) / n)[:, None]
    order = np.argsort(-S, axis=0, kind="stable")
    sorted_ = np.take_along_axis(S, order, axis=0)  # descending
    k = np.arange(1, n + 1, dtype=np.float64)[:, None]
    # Sums of the entries relative to the largest: k S2 - S1² (k² times the variance of the
    # top k) then has no cancellation, even between entries 1e-12 apart.
    Y = sorted_ - sorted_[:1]
    S1, S2 = np.cumsum(Y, axis=0), np.cumsum(Y ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.minimum((l1 / l2) ** 2, n)  # the support's effective size
        theta = sorted_[:1] + S1 / k - np.sqrt(r2) / k * np.sqrt(
            np.maximum(k * S2 - S1 ** 2, 0) / (k - r2))
    below = np.vstack([sorted_[1:], np.full((1, p), -np.inf)])
    valid = (k >= r2) & (theta < sorted_) & (theta >= below) & np.isfinite(theta)
    valid[-1] |= ~valid.any(axis=0)  # rounding at r2 = n: all entries
    pick = np.argmax(valid, axis=0)
    t = theta[pick, np.arange(p)]
    t = np.where(np.isfinite(t), t, sorted_[-1] - 1.0)
    out = np.maximum(S - t, 0)
    flat = r2 >= n * (1 - 1e-12)  # sparseness 0: every entry equal
    out[:, flat] = 1.0
    single = r2 <= 1 + 1e-12  # sparseness 1: the largest entry alone
    out[:, single] = 0.0
    out[order[0, single], np.flatnonzero(single)] = 1.0
    total = out.sum(axis=0)
    out *= np.where((total > 0) & (l1 > 0), l1 / np.where(total > 0, total, 1), 0)
    return out


class NMFsc:
    """State of an NMFsc fit: ``min ||A - W H||_F²`` over non-negative ``W``, ``H`` in
    Hoyer's constraint set.

    The constraint set: with ``sparseness_W = s_W``, every basis image (column of ``W``)
    has Hoyer sparseness ``s_W``; with ``sparseness_H = s_H``, every row of ``H`` (how a
    basis image is used across the faces, as in Hoyer's paper) has sparseness ``s_H`` and
    unit L2 norm (``W`` carries the scale). A constrained factor takes a gradient step
    and is projected back (:func:`sparseness_project`); the step is halved until the
    objective does not rise (after :data:`_MAX_HALVINGS` halvings the factor is left as
    it is) and grows by 1.2 after each accepted step, as in Hoyer's code. An
    unconstrained factor takes Lee & Seung's multiplicative update (after which the rows
    of ``H`` are brought to unit norm, the scale moved into ``W``: ``W H`` unchanged). So
    the objective never rises. With neither constraint this is Lee & Seung's algorithm.

    The sparseness of ``H``'s rows is a property of the set of training faces, not of one
    face: weights of a new face with ``W`` fixed minimize the same Frobenius error, the
    non-negative least-squares projection (:func:`facenmf.project`), which is what
    :meth:`facenmf.NMF.transform` gives. ``nmf`` returns the fit's own (constrained)
    ``H``, rescaled with ``W``'s columns to unit norm (sparseness is scale-free).
    """

    losses = ("frobenius",)
    options = {
        "sparseness_W": Option(None, "Hoyer sparseness of every basis image, in [0, 1]; None: "
                               "unconstrained", _check_sparseness),
        "sparseness_H": Option(None, "Hoyer sparseness of every row of H (a basis image's use "
                               "across the faces), in [0, 1]; None: unconstrained",
                               _check_sparseness),
    }
    keeps_H = True  # nmf() returns this H, not the projection of A onto W
    variant = True  # a face NMF variant: constraints or penalties beside the loss
    improved = True  # every step is a descent step
    exact = False  # objective from the residual instead of the trace trick

    def __init__(self, A, W, H, *, loss="frobenius", sparseness_W=None, sparseness_H=None):
        n, m = A.shape
        self.A, self.norm_A_sq = A, squared_norm(A)
        self.sW, self.sH = sparseness_W, sparseness_H
        self.W, self.H = np.array(W, order="C"), np.array(H, order="C")
        self.step_W = self.step_H = None  # set from the Lipschitz constants at the first step
        self.eps = np.finfo(A.dtype).tiny * 1e6
        # The start is projected onto the constraint sets after one gradient step (of
        # size 1 / Lipschitz constant): the step breaks the ties of the start (NNDSVDa
        # fills zeros with one value, a plateau the projection could only cut by position)
        # by what lowers the error.
        if self.sH is not None:
            self._unit_rows()
            W, H = self.W, self.H
            WtW = gram(W.T)
            H = H - (WtW.astype(H.dtype) @ H - W.T @ A) / max(np.linalg.norm(WtW, 2), 1e-300)
            self.H = sparseness_project(H.T, l1_for_sparseness(self.sH, m, 1.0),
                                        1.0).T.astype(A.dtype)
        if self.sW is not None:
            W, H = self.W, self.H
            HHt = gram(H)
            W = W - (W @ HHt.astype(W.dtype) - A @ H.T) / max(np.linalg.norm(HHt, 2), 1e-300)
            self.W = self._project_W(W)

    def _unit_rows(self):
        """Rows of ``H`` to unit L2 norm, the scale moved into ``W`` (``W H`` unchanged)."""
        norms = np.sqrt(np.einsum("ij,ij->i", self.H, self.H, dtype=np.float64))
        nz = norms > 0
        self.H[nz] /= norms[nz, None].astype(self.H.dtype)
        self.W[:, nz] *= norms[nz].astype(self.W.dtype)

    def _project_W(self, W):
        norms = np.sqrt(np.einsum("ij,ij->j", W, W, dtype=np.float64))
        l1 = l1_for_sparseness(self.sW, W.shape[0], norms)
        return sparseness_project(W, l1, norms).astype(W.dtype)

    def _data_term(self, cross, WtW, HHt):
        """``||A - W H||²`` from ``<W, A Hᵀ>`` (or ``<H, Wᵀ A>``) and the Gram matrices."""
        return max(self.norm_A_sq - 2.0 * cross + float(np.vdot(WtW, HHt)), 0.0)

    def _update_W(self):
        A, W, H = self.A, self.W, self.H
        AHt, HHt = A @ H.T, gram(H)
        if self.sW is None:
            W *= AHt / (W @ HHt.astype(W.dtype) + self.eps)
            return
        AHt64 = AHt.astype(np.float64)
        begin = self._data_term(float(np.vdot(W.astype(np.float64), AHt64)), gram(W.T), HHt)
        grad = W @ HHt.astype(W.dtype) - AHt
        if self.step_W is None:
            self.step_W = 1.0 / max(np.linalg.norm(HHt, 2), 1e-300)
        for _ in range(_MAX_HALVINGS):
            W_new = self._project_W(W - self.step_W * grad)
            new = self._data_term(float(np.vdot(W_new.astype(np.float64), AHt64)),
                                  gram(W_new.T), HHt)
            if new <= begin:
                self.W = W_new
                self.step_W *= _GROWTH
                return
            self.step_W /= 2

    def _update_H(self):
        """The H half-step; returns the objective of the new pair (trace trick, or the
        residual when ``exact``)."""
        A, W, H = self.A, self.W, self.H
        WtA, WtW = W.T @ A, gram(W.T)
        WtA64 = WtA.astype(np.float64)
        if self.sH is None:
            H *= WtA / (WtW.astype(H.dtype) @ H + self.eps)
        else:
            m = A.shape[1]
            begin = self._data_term(float(np.vdot(H.astype(np.float64), WtA64)), WtW, gram(H))
            grad = WtW.astype(H.dtype) @ H - WtA
            if self.step_H is None:
                self.step_H = 1.0 / max(np.linalg.norm(WtW, 2), 1e-300)
            l1 = l1_for_sparseness(self.sH, m, 1.0)
            for _ in range(_MAX_HALVINGS):
                H_new = sparseness_project((H - self.step_H * grad).T, l1, 1.0).T.astype(H.dtype)
                new = self._data_term(float(np.vdot(H_new.astype(np.float64), WtA64)), WtW,
                                      gram(H_new))
                if new <= begin:
                    self.H = H_new
                    self.step_H *= _GROWTH
                    break
                self.step_H /= 2
        H = self.H
        if self.exact:
            obj = residual_error(A, self.W, H)
        else:
            obj = self._data_term(float(np.vdot(H.astype(np.float64), WtA64)), WtW, gram(H))
        if self.sH is None:
            self._unit_rows()  # W H unchanged: the objective stands
        return obj

    def step(self):
        self._update_W()
        return self._update_H()

    def objective(self):
        """``||A - W H||_F²`` of the current factors, from the residual (exact)."""
        return residual_error(self.A, self.W, self.H)

    def previous_objective(self):
        """None: the previous factors are not kept."""
        return None

    def factors(self):
        return self.W, self.H
