"""Cyclic coordinate descent for the KL loss with one-variable Newton steps (Hsieh & Dhillon).

Each outer iteration updates the columns of ``W`` (basis images) one after the other, then
the rows of ``H``. The update of row ``r`` of ``H`` is, for every face at once, a step on
the one-variable function ``f(h) = C h - sum_i a_i log(q_i + w_i (h - h0))`` (``q = W H``
maintained, ``w`` the basis image ``r``, ``C = sum w``), after which ``q`` gets the rank-one
change; the columns of ``W`` likewise, for every pixel at once. Hsieh & Dhillon take Newton
steps ``h - d``, ``d = f'(h) / f''(h)``; here every step is a descent step, so the objective
never rises:

- where ``f'(h) < 0`` (``h`` grows) the Newton step never passes the minimizer: ``f'`` is
  increasing and concave, its tangent lies above it, so the tangent's root is left of
  ``f'``'s;
- where ``f'(h) > 0`` the step is damped to ``t = d / (1 + d / h)``, which keeps
  ``h - t = h² / (h + d) > 0``. With ``rho = max_i w_i / q_i <= 1 / h`` and
  ``-log(1 + x) <= -x + x² / (2 (1 + x))`` for ``x`` in (-1, 0], the one-variable function
  decreases by at least ``f'(h) t / 2`` (the damped Newton step of self-concordant
  analysis, with the pole bound ``1 / h`` that needs no pass over the data). An entry that
  Newton would send below 0 shrinks quadratically, ``h² / d``, instead.

A coordinate costs two passes over ``A`` and ``q`` and two matrix-vector products (numpy,
vectorized over the faces, or the pixels), block by block so that a block stays in cache;
``q`` is made again as ``W H`` after each half (exact, no drift). An L1/L2 penalty adds
``l1 + l2 h`` to ``f'`` and ``l2`` to ``f''`` (still descent steps: the quadratic part is
exact).

References
----------
C.-J. Hsieh and I. S. Dhillon, "Fast coordinate descent methods with variable selection for
non-negative matrix factorization", Proc. 17th ACM SIGKDD, 1064-1072, 2011.
doi:10.1145/2020408.2020577

Y. Nesterov, "Introductory lectures on convex optimization", Kluwer, 2004, section 4.1.5
(the damped Newton step). doi:10.1007/978-1-4419-8853-9
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas

from .. import _validation as v
from ._hals import HALS
from ._loss import kl_constant, kl_divergence, squared_norm
from ._solver import Option

__all__ = ["KLCD", "newton_sweep"]

# Entries of a block of A (and of q and a work array): 1 MB in float32, so that the passes
# of a coordinate stay in a core's cache (a machine constant, not the data's).
_BLOCK_ENTRIES = 1 << 18


def newton_sweep(A, Q, X, F, C, l1=0.0, l2=0.0, P=None):
    """One cyclic pass over the rows of ``X`` (k, p), in place; returns ``Q`` updated.

    ``A`` and ``Q`` are (d, p) with ``Q = F X`` (all positive), ``F`` (d, k) the fixed
    factor and ``C`` its column sums. Row ``X[r]`` takes one safeguarded Newton step for
    all its ``p`` entries at once, then ``Q += outer(F[:, r], step)`` (BLAS ger, in place
    when ``Q`` is C- or Fortran-contiguous). ``P`` (d, p) is a work array.
    """
    P = np.empty_like(Q) if P is None else P
    ger = blas.sger if Q.dtype == np.float32 else blas.dger
    for r in range(X.shape[0]):
        if C[r] <= 0:
            continue  # a zero column of the fixed factor: this coordinate does not matter
        f, x = F[:, r], X[r]
        np.divide(A, Q, out=P)
        g = C[r] - f @ P  # f'(x), every entry at once
        P /= Q
        s = (f * f) @ P  # f''(x)
        if l1 or l2:
            g += l1 + l2 * x
            s += l2
        step = np.divide(-g, s, out=np.zeros_like(x), where=s > 0)
        down = step < 0
        # Damped where x falls: t = d / (1 + d / x) = x d / (x + d) (see the module).
        step[down] *= x[down] / (x[down] - step[down])
        x += step
        np.maximum(x, 0, out=x)  # rounding only
        if Q.flags.c_contiguous:
            Q = ger(1.0, step, f, a=Q.T, overwrite_a=True).T
        else:
            Q = ger(1.0, f, step, a=Q, overwrite_a=True)
    return Q


class KLCD:
    """State of a coordinate-descent fit of ``A ≈ W H`` for the generalized KL loss.

    ``W H`` stays positive when it starts positive (the damped steps never zero an entry);
    ``q`` is floored at ``eps`` once per half-step, for starts with zeros (``"nndsvd"``).
    ``warm_start`` runs that many plain HALS iterations on the Frobenius loss first
    (cheap; on images a good start for KL); they happen when the solver is made, before
    the first entry of the history.
    """

    losses = ("kl",)
    options = {
        "warm_start": Option(0, "plain HALS iterations on the Frobenius loss before the KL "
                             "ones (0: none)", lambda name, x: v.check_int(name, x, low=0)),
    }
    improved = True  # every step is a plain descent step
    exact = True  # the divergence is computed from W H already
    regularizes = True

    def __init__(self, A, W, H, *, loss="kl", penalty=None, warm_start=0):
        self.A, self.norm_A_sq, self.penalty = A, squared_norm(A), penalty
        if warm_start:
            hals = HALS(A, W, H)
            for _ in range(warm_start):
                hals.step()
            W, H = hals.factors()
        self.Wt = np.ascontiguousarray(W.T)
        self.H = np.array(H, order="C")
        self.eps = np.finfo(A.dtype).eps
        self.constant = kl_constant(A)
        self.Q = self.Wt.T @ self.H
        n, m = A.shape
        self.cols = max(1, _BLOCK_ENTRIES // n)  # faces per block of the H update
        self.rows = max(1, _BLOCK_ENTRIES // m)  # pixels per block of the W update

    def _penalized(self, value):
        return value if self.penalty is None else value + self.penalty.value(self.Wt, self.H)

    def step(self):
        A, Wt, H, Q, eps = self.A, self.Wt, self.H, self.Q, self.eps
        p = self.penalty
        n, m = A.shape
        # W: blocks of pixels (rows of A and Q, contiguous; their transposes are Fortran
        # views), the coordinates the columns of W.
        np.maximum(Q, eps, out=Q)
        C, Ht = H.sum(axis=1), H.T
        work = np.empty((m, min(n, self.rows)), A.dtype, order="F")
        for s in range(0, n, self.rows):
            rows = slice(s, s + self.rows)
            Ab, Qb = A[rows].T, Q[rows].T
            Xb = np.ascontiguousarray(Wt[:, rows])
            P = work if Ab.shape[1] == work.shape[1] else np.empty_like(Qb)
            Qb = newton_sweep(Ab, Qb, Xb, Ht, C, *_l(p, "W"), P=P)
            Wt[:, rows] = Xb
        W = Wt.T
        np.dot(W, H, out=Q)
        np.maximum(Q, eps, out=Q)
        # H: blocks of faces (copied contiguous), the coordinates the rows of H.
        C = Wt.sum(axis=1)
        work = np.empty((n, min(m, self.cols)), A.dtype)
        for s in range(0, m, self.cols):
            cols = slice(s, s + self.cols)
            Ab, Qb = np.ascontiguousarray(A[:, cols]), np.ascontiguousarray(Q[:, cols])
            Xb = np.ascontiguousarray(H[:, cols])
            P = work if Ab.shape[1] == work.shape[1] else np.empty_like(Qb)
            newton_sweep(Ab, Qb, Xb, W, C, *_l(p, "H"), P=P)
            H[:, cols] = Xb
        np.dot(W, H, out=Q)
        return self.objective()

    def objective(self):
        """The (penalized) divergence of the current factors, from ``W H``."""
        return self._penalized(kl_divergence(self.A, self.Q, self.eps, self.constant))

    def previous_objective(self):
        """None: the updates are in place, the previous factors are not kept."""
        return None

    def factors(self):
        return self.Wt.T, self.H


def _l(penalty, which):
    """``(l1, l2)`` of ``penalty`` for factor ``which`` ("W" or "H"); zeros for None."""
    if penalty is None:
        return 0.0, 0.0
    return getattr(penalty, f"l1_{which}"), getattr(penalty, f"l2_{which}")
