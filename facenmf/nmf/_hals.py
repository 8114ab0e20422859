"""Accelerated hierarchical alternating least squares (HALS).

Each outer iteration forms the two expensive products ``H Aᵀ`` and ``Wᵀ A`` once, then
sweeps several times over the rows of one factor (exact coordinate minimization of each
basis image / weight row in turn) while the products are reused. The inner loop stops when
a sweep changes the factor by less than ``eps`` times the first sweep's change, or after
``1 + alpha * rho`` sweeps, ``rho`` being the cost of the products in sweeps
(``alpha = 0.5`` as Gillis & Glineur recommend; our cost of a sweep counts numpy's
per-call overhead, which dominates on small factors).

References
----------
N. Gillis and F. Glineur, "Accelerated multiplicative updates and hierarchical alternating
least squares algorithms for nonnegative matrix factorization", Neural Computation 24(4),
1085-1105, 2012. doi:10.1162/NECO_a_00256

A. Cichocki and A.-H. Phan, "Fast local algorithms for large scale nonnegative matrix and
tensor factorizations", IEICE Trans. Fundamentals E92-A(3), 708-721, 2009.
doi:10.1587/transfun.E92.A.708
"""

from __future__ import annotations

import numpy as np

from ._blocks import BLOCK, Columns, block_slices
from ._loss import gram, residual_error, squared_error, squared_norm
from ._solver import Option, flag, number
from ._sparse import times, times_transposed

__all__ = ["hals", "HALS", "Extrapolated", "sweep", "sweep_columns", "scaled_system",
           "inner_sweeps"]

# Python/numpy overhead of one row update in flop-equivalents (three numpy calls of about a
# microsecond each), measured on ORL, CBCL and synthetic data: without it, the flop count
# alone asks for many cheap-looking sweeps of small factors that cost mostly overhead.
_ROW_OVERHEAD = 100_000


def scaled_system(G, dtype=None):
    """``(Gz, inv)``: ``G`` with rows divided by its diagonal and the diagonal zeroed, and
    the inverse diagonal (0 where the diagonal is 0: that row of X is left alone), both of
    ``dtype`` (default ``G``'s)."""
    diag = np.diagonal(G)
    inv = np.zeros_like(diag)
    np.divide(1, diag, out=inv, where=diag > 0)
    Gz = G * inv[:, None]
    np.fill_diagonal(Gz, 0)
    if dtype is None:
        return Gz, inv
    return Gz.astype(dtype, copy=False), inv.astype(dtype, copy=False)


def sweep(X, Cs, Gz, inv, n_sweeps, eps, buf, old):
    """Minimize ``0.5 tr(Xᵀ G X) - tr(Cᵀ X)`` over ``X >= 0`` row by row, in place.

    ``X`` and ``Cs`` are ``(k, p)`` C-contiguous; ``Cs = C / diag(G)`` row-wise and ``Gz``,
    ``inv`` come from :func:`scaled_system`. Each row update
    ``X[j] = max(0, Cs[j] - Gz[j] @ X)`` is the exact minimizer in that row with the
    others fixed, so the objective never rises. ``buf`` (p,) and ``old`` (k, p) are work
    buffers. Stops early when a sweep changes X by less than ``eps`` times the first
    sweep's change. Returns the number of sweeps done.
    """
    # Row views made once: indexing inside the loop costs as much as the work on small rows.
    rows = [(Gz[j], Cs[j], X[j]) for j in np.flatnonzero(inv)]
    first = None
    for done in range(1, n_sweeps + 1):
        if n_sweeps > 1:
            np.copyto(old, X)
        for g, c, x in rows:
            np.dot(g, X, out=buf)
            np.subtract(c, buf, out=buf)
            np.maximum(buf, 0, out=x)
        if n_sweeps > 1:
            np.subtract(old, X, out=old)
            change = float(np.vdot(old, old))
            if first is None:
                first = change
            elif change <= eps * eps * first:
                break
    return done


def inner_sweeps(n, m, k, alpha):
    """``(inner_w, inner_h)``: the most sweeps per update of W and of H, ``1 + alpha rho``.

    ``rho`` is the cost of a product (``n m k`` flops) in sweeps. A sweep of a factor with
    ``p`` columns costs ``k`` row updates of ``k p`` flops each plus a fixed call overhead
    worth about ``_ROW_OVERHEAD`` flops per row and per block of columns it is done in.
    """
    product = n * m * k
    blocks_h = len(block_slices(m))
    inner_w = 1 + int(alpha * product / (k * (k * n + _ROW_OVERHEAD)))
    inner_h = 1 + int(alpha * product / (k * (k * m + blocks_h * _ROW_OVERHEAD)))
    return inner_w, inner_h


def sweep_columns(H, WtA, Gz, inv, n_sweeps, eps):
    """HALS sweeps of ``H`` (k, m) in place, block by block of ``BLOCK`` columns.

    The update of H is separable by columns: each block does up to ``n_sweeps`` sweeps
    while its weights sit in cache, with the early stop of :func:`sweep` judged on the
    block alone. ``WtA`` is ``Wᵀ A`` (k, m); ``Gz``, ``inv`` come from
    :func:`scaled_system` of ``WᵀW``. Returns the sweeps done, summed over the blocks.
    """
    k, m = H.shape
    old = np.empty((k, min(m, BLOCK)), H.dtype) if n_sweeps > 1 else None
    if m <= BLOCK:  # one block: no copies
        return sweep(H, WtA * inv[:, None], Gz, inv, n_sweeps, eps, np.empty(m, H.dtype), old)
    done = 0
    for cols in block_slices(m):
        Hb = np.ascontiguousarray(H[:, cols])
        w = Hb.shape[1]
        work = old if w == BLOCK or old is None else np.empty((k, w), H.dtype)
        done += sweep(Hb, WtA[:, cols] * inv[:, None], Gz, inv, n_sweeps, eps,
                      np.empty(w, H.dtype), work)
        H[:, cols] = Hb
    return done


class HALS:
    """State of a plain accelerated HALS fit of ``A ≈ W H`` (Frobenius loss).

    A step is :meth:`update_W` then :meth:`update_H`; each minimizes the objective over one
    factor row by row, so every step is a descent step. :class:`Extrapolated` wraps it
    with extrapolation between the half-steps. ``exact = True`` computes the objective
    from the residual (:func:`residual_error`) instead of the trace trick, at the cost of
    one more product per step.
    """

    losses = ("frobenius",)
    options = {
        "alpha": Option(0.5, "inner sweeps per product: 1 + alpha x (cost of a product in "
                        "sweeps), Gillis & Glineur's rule", number(0)),
        "eps": Option(0.1, "stop the inner sweeps when one changes the factor by less than "
                      "eps times the first's change", number(0)),
    }
    improved = True  # every step is a plain descent step
    exact = False  # objective from the residual instead of the trace trick
    regularizes = True  # takes a penalty (._penalty.Penalty)

    def __init__(self, A, W, H, *, loss="frobenius", penalty=None, alpha=0.5, eps=0.1):
        n, m = A.shape
        self.penalty = penalty
        k = W.shape[1]
        dt = A.dtype
        self.A, self.norm_A_sq = A, squared_norm(A)
        self.Wt = np.ascontiguousarray(W.T)
        self.H = np.ascontiguousarray(H)
        self.Cw = np.empty((k, n), dt)
        self.WtA = np.empty((k, m), dt)
        self.HHt = gram(self.H)
        self.buf_w, self.old_w = np.empty(n, dt), np.empty((k, n), dt)
        self.inner_w, self.inner_h = inner_sweeps(n, m, k, alpha)
        self.eps = eps
        self.error = np.inf

    def penalized(self, squared, Wt, H):
        """``squared`` (``||A - W H||²``) plus twice the penalty of ``(Wt, H)``: the
        penalized objective in the units of the squared error (twice scikit-learn's)."""
        if self.penalty is None:
            return squared
        return squared + 2.0 * self.penalty.value(Wt, H)

    def update_W(self):
        """Sweeps over the basis images ``Wt`` (k, n), in place, for the current ``H``."""
        p = self.penalty
        G = self.HHt
        if p is not None and p.l2_W:  # L2: a ridge on the Gram matrix (Cichocki & Phan)
            G = G + p.l2_W * np.eye(len(G))
        Gz, inv = scaled_system(G, self.A.dtype)
        # C / diag(G) for the W update, folded into the product: (D⁻¹ H) Aᵀ.
        times_transposed(self.H * inv[:, None], self.A, self.Cw)
        if p is not None and p.l1_W:  # L1: a shift of the linear term
            self.Cw -= (p.l1_W * inv)[:, None]
        sweep(self.Wt, self.Cw, Gz, inv, self.inner_w, self.eps, self.buf_w, self.old_w)

    def update_H(self):
        """Sweeps over the weights ``H`` (k, m), in place, for the current ``Wt``; sets
        ``HHt`` and returns the objective of ``(Wt, H)``."""
        A, Wt, H = self.A, self.Wt, self.H
        times(Wt, A, self.WtA)
        WtW = gram(Wt)
        p, G, C = self.penalty, WtW, self.WtA
        if p is not None and p.l2_H:
            G = WtW + p.l2_H * np.eye(len(WtW))
        if p is not None and p.l1_H:
            C = C - A.dtype.type(p.l1_H)  # a copy: WtA stays for the trace trick
        Gz, inv = scaled_system(G, A.dtype)
        sweep_columns(H, C, Gz, inv, self.inner_h, self.eps)
        self.HHt = gram(H)
        if self.exact:
            return self.penalized(residual_error(A, Wt.T, H), Wt, H)
        return self.penalized(squared_error(self.norm_A_sq, self.WtA, WtW, H, self.HHt), Wt, H)

    def step(self):
        self.update_W()
        self.error = self.update_H()
        return self.error

    def objective(self):
        """Objective of :meth:`factors` from the residual (exact)."""
        self.error = self.penalized(residual_error(self.A, self.Wt.T, self.H), self.Wt, self.H)
        return self.error

    def previous_objective(self):
        """None: the updates are in place, the previous factors are not kept."""
        return None

    def factors(self):
        return self.Wt.T, self.H


class Extrapolated:
    """Extrapolation (Ang & Gillis 2019) around the half-steps of a plain :class:`HALS`.

    After each factor's update ``X_n``, the next update starts from the extrapolated point
    ``max(0, X_n + beta (X_n - X_{n-1}))``. ``beta`` grows by ``gamma`` while the error
    falls (up to ``beta_max``, which itself creeps towards 1 by ``gamma_bar``); when the
    error rises, the step restarts from the plain iterate, ``beta_max`` becomes the failed
    ``beta`` and ``beta`` shrinks by ``eta``. The state keeps the best pair seen, so the
    reported error never rises.

    After :meth:`step`, ``error`` is the objective of the step's own pair (the pair made
    from the extrapolated ``W``; it may be above ``best_error``, and then the step was a
    restart: ``improved`` is False). ``exact`` is the plain solver's.

    References
    ----------
    A. M. S. Ang and N. Gillis, "Accelerating nonnegative matrix factorization algorithms
    using extrapolation", Neural Computation 31(2), 417-439, 2019. doi:10.1162/neco_a_01157
    """

    options = {
        "beta": Option(0.3, "initial extrapolation weight, in [0, 1]", number(0, high=1)),
        "eta": Option(1.5, "divisor of beta after a failed extrapolation, > 1",
                      number(1, low_inclusive=False)),
        "gamma": Option(1.01, "growth of beta after a successful one, >= 1", number(1)),
        "gamma_bar": Option(1.005, "growth of beta's upper bound, >= 1", number(1)),
    }

    def __init__(self, plain, *, beta=0.3, eta=1.5, gamma=1.01, gamma_bar=1.005):
        self.plain = plain
        self.losses, self.norm_A_sq = plain.losses, plain.norm_A_sq
        self.improved = True  # False after a step whose extrapolation failed (a restart)
        self.beta, self.beta_max = beta, 1.0
        self.eta, self.gamma, self.gamma_bar = eta, gamma, gamma_bar
        # Previous plain iterates (None until the first step) and the best pair so far.
        self.Wt_prev = self.H_prev = None
        self.error = self.best_error = np.inf
        # The best pair, and the one it replaced (None while the best is the initial pair,
        # whose arrays the first step updates in place).
        self.best, self.replaced = (plain.Wt, plain.H), None
        self._owned = False

    @property
    def exact(self):
        return self.plain.exact

    @exact.setter
    def exact(self, value):
        self.plain.exact = value

    def _extrapolated(self, X, prev):
        """``max(0, X + beta (X - prev))`` written into ``prev``'s buffer (returned)."""
        np.subtract(X, prev, out=prev)
        prev *= self.beta
        prev += X
        return np.maximum(prev, 0, out=prev)

    def step(self):
        s = self.plain
        s.update_W()
        Wn = Wt = s.Wt
        if self.Wt_prev is not None:
            Wt = s.Wt = self._extrapolated(Wn, self.Wt_prev)
        self.error = error = s.update_H()
        H = s.H
        self.improved = improved = error < self.best_error
        if improved:
            self.best_error = error
            self.replaced = self.best if self._owned else None
            self.best, self._owned = (Wt.copy(), H.copy()), True
            self.beta = min(self.beta_max, self.gamma * self.beta)
            self.beta_max = min(1.0, self.gamma_bar * self.beta_max)
        else:
            # A step that moved neither factor beyond rounding is no restart but a fixed
            # point (e.g. an optimal start): it counts for the tol test, as no decrease.
            self.improved = _unmoved(Wn, self.best[0]) and _unmoved(H, self.best[1])
            self.beta_max = self.beta
            self.beta /= self.eta
            Wt = Wn  # restart the next update from the plain iterate
        # Keep the plain iterates for the next extrapolation (in buffers of their own) and
        # start the next step from the extrapolated ones.
        if Wt is Wn:
            Wn = Wn.copy()
        s.Wt, self.Wt_prev = Wt, Wn
        if improved and self.H_prev is not None:
            s.H = self._extrapolated(H, self.H_prev)
            s.HHt = gram(s.H)
        else:
            s.H = H.copy()
        self.H_prev = H
        return self.best_error

    def objective(self):
        """Objective of :meth:`factors` from the residual (exact); it becomes the best
        error the next steps are compared with."""
        Wt, H = self.best
        self.best_error = self.plain.penalized(residual_error(self.plain.A, Wt.T, H), Wt, H)
        return self.best_error

    def previous_objective(self):
        """Exact objective of the best pair before the last improving step, or None before
        the second improvement."""
        if self.replaced is None:
            return None
        Wt, H = self.replaced
        return self.plain.penalized(residual_error(self.plain.A, Wt.T, H), Wt, H)

    def factors(self):
        Wt, H = self.best
        return Wt.T, H


# A factor whose change is below this many eps (relative, Frobenius) has not moved.
_UNMOVED = 16


def _unmoved(X, Y):
    """True if ``X`` equals ``Y`` to rounding (``||X - Y|| <= _UNMOVED eps ||Y||``)."""
    D = X - Y
    bound = _UNMOVED * float(np.finfo(Y.dtype).eps)
    return float(np.vdot(D, D)) <= bound * bound * float(np.vdot(Y, Y))


def hals(A, W, H, *, loss="frobenius", penalty=None, extrapolate=True, beta=0.3, eta=1.5,
         gamma=1.01, gamma_bar=1.005, **plain):
    """The ``"hals"`` solver: plain :class:`HALS` (options ``alpha``, ``eps``), wrapped in
    :class:`Extrapolated` (options ``beta``, ``eta``, ``gamma``, ``gamma_bar``) unless
    ``extrapolate=False``."""
    if isinstance(A, Columns):  # data read block by block: one pass per iteration
        from ._stream import StreamHALS

        return StreamHALS(A, W, H, loss=loss, extrapolate=extrapolate, beta=beta, eta=eta,
                          gamma=gamma, gamma_bar=gamma_bar, **plain)
    state = HALS(A, W, H, loss=loss, penalty=penalty, **plain)
    if not extrapolate:
        return state
    return Extrapolated(state, beta=beta, eta=eta, gamma=gamma, gamma_bar=gamma_bar)


hals.losses = HALS.losses
hals.streams = True  # also takes a Columns A (memory-mapped or on-disk data), unpenalized
hals.sparse = ("frobenius",)  # losses it fits to a scipy.sparse A (only A Hᵀ and Wᵀ A)
hals.regularizes = True
hals.options = {**HALS.options,
                "extrapolate": Option(True, "extrapolate between half-steps (Ang & Gillis)", flag),
                **Extrapolated.options}
