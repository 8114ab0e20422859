"""HALS over data read block by block (memory-mapped, on-disk): one pass over ``A`` per
iteration, the iterates of the in-memory ``"hals"`` solver.

The in-memory solver (:mod:`._hals`) reads ``A`` twice per iteration: ``Wᵀ A`` for the H
update and ``H Aᵀ`` for the next W update, the latter with the *extrapolated* H, which is
known only once the error of the whole iteration has said whether the extrapolation
stands. Here each block, while it is in memory, updates its weights ``H_b``, adds its part
of the error, and adds both candidates for the next W update, ``H_b A_bᵀ`` and
``E_b A_bᵀ`` with ``E_b`` the extrapolated weights; after the pass the error picks one.
That is three products instead of two, but a single read of ``A``: the right trade when
reading costs more than a product (a compressed store, a disk). Sums over blocks are exact
in exact arithmetic, so the iterates are the in-memory ones up to rounding.

:func:`block_update` is the work of one block, a function of its inputs only; the passes are
kernels over read ranges (see :mod:`._blocks`), and the choices between passes (which weights
start the next update, which are the best) functions of a range's weights. So the same
:class:`StreamHALS` drives a fit whose blocks are read here and one whose blocks stay on the
Dask workers that hold them (:class:`facenmf.nmf._dask.DaskColumns`): only ``W`` and the sums
travel.
"""

from __future__ import annotations

import numpy as np

from ._blocks import Weights, add, allocate, block_slices
from ._hals import HALS, Extrapolated, inner_sweeps, scaled_system, sweep, sweep_columns
from ._loss import gram
from ._project import project_unchecked

__all__ = ["StreamHALS", "block_update", "project_blocks", "rebuild_weights"]


def block_update(A_b, H_b, H_prev_b, Wt, Gz, inv, n_sweeps, eps, beta, exact, products=True):
    """One block's share of an iteration, in place on ``H_b`` (k, w).

    Sweeps ``H_b`` for ``Wt`` (k, n) (``Gz``, ``inv`` from ``WᵀW``), then returns
    ``(E_b, sums)``: the extrapolated weights ``max(0, H_b + beta (H_b - H_prev_b))`` (None
    without ``H_prev_b``) and a dict of this block's sums: ``cross`` ``<H_b, Wᵀ A_b>``,
    ``gram`` ``H_b H_bᵀ`` (float64), ``plain`` ``H_b A_bᵀ``, and with ``E_b`` ``gram_e`` and
    ``extrapolated`` ``E_b A_bᵀ``; with ``exact`` also ``residual`` ``||A_b - W H_b||²``.
    Without ``products``, not ``plain``, ``gram_e``, ``extrapolated`` (see :func:`_products`).
    """
    WtA = Wt @ A_b
    sweep_columns(H_b, WtA, Gz, inv, n_sweeps, eps)
    sums = {"cross": float(np.vdot(H_b.astype(np.float64), WtA.astype(np.float64))),
            "gram": gram(H_b)}
    if products:
        sums["plain"] = H_b @ A_b.T
    if exact:
        R = Wt.T @ H_b
        np.subtract(A_b, R, out=R)
        sums["residual"] = float(np.einsum("ij,ij->j", R, R).sum(dtype=np.float64))
    E_b = None
    if H_prev_b is not None:
        E_b = H_b - H_prev_b
        E_b *= beta
        E_b += H_b
        np.maximum(E_b, 0, out=E_b)
        if products:
            sums["gram_e"] = gram(E_b)
            sums["extrapolated"] = E_b @ A_b.T
    return E_b, sums


def _residual_sq(A_b, Wt, H_b):
    R = Wt.T @ H_b
    np.subtract(A_b, R, out=R)
    return float(np.einsum("ij,ij->j", R, R).sum(dtype=np.float64))


# -- kernels (see _blocks.Columns.total) and functions of a range's weights ---------------
def _initial(A_r, w, start, acc, Wt):
    """The products of the initial weights for the first W update, and their exact error."""
    for sl in block_slices(A_r.shape[1]):
        A_b, H_b = A_r[:, sl], w.H[:, sl]
        add(acc, "plain", H_b @ A_b.T)
        add(acc, "gram", gram(H_b))
        add(acc, "residual", _residual_sq(A_b, Wt, H_b))


def _products(A_r, w, start, acc):
    """``plain`` ``H A_rᵀ`` and ``gram`` ``H Hᵀ`` of the weights ``w.H`` the next W update
    uses (a second pass, for data held in memory, where reading it again is free)."""
    for sl in block_slices(A_r.shape[1]):
        H_b = w.H[:, sl]
        add(acc, "plain", H_b @ A_r[:, sl].T)
        add(acc, "gram", gram(H_b))


def _pass(A_r, w, start, acc, Wt, Gz, inv, n_sweeps, eps, beta, exact, extrapolate,
          products=True):
    """The H update of every block of the range for ``Wt`` (see :func:`block_update`): the
    plain weights into ``w.H``, the extrapolated ones into ``w.E``."""
    for sl in block_slices(A_r.shape[1]):
        H_b = np.ascontiguousarray(w.H[:, sl])
        prev = w.prev[:, sl] if extrapolate else None
        E_b, sums = block_update(A_r[:, sl], H_b, prev, Wt, Gz, inv, n_sweeps, eps, beta,
                                 exact, products)
        w.H[:, sl] = H_b
        if E_b is not None:
            w.E[:, sl] = E_b
        for key, value in sums.items():
            add(acc, key, value)


def _residual(A_r, w, start, acc, Wt):
    """``||A_r - W best_r||²``, block by block."""
    for sl in block_slices(A_r.shape[1]):
        add(acc, "residual", _residual_sq(A_r[:, sl], Wt, w.best[:, sl]))


def _project(A_r, w, start, acc, W, guided):
    """Exact weights of each block onto ``W`` into ``w.out`` (guided by ``w.best``'s positive
    entries if ``guided``), and their squared error."""
    Wt = W.T
    for sl in block_slices(A_r.shape[1]):
        A_b = A_r[:, sl]
        H_b = project_unchecked(A_b, W, H0=w.best[:, sl] if guided else None)
        w.out[:, sl] = H_b
        add(acc, "residual", _residual_sq(A_b, Wt, H_b))


def _begin(w):
    w.best, w.prev, w.E = w.H.copy(), None, None


def _prepare(w, extrapolate):
    w.E = np.empty_like(w.H) if extrapolate else None


def _settle(w, improved, extrapolate):
    """After a pass: the best weights and the start of the next update. ``w.H`` holds the
    plain update; with extrapolation the next update starts from ``w.E`` if the step
    improved (else from the plain weights), and the plain ones are kept as ``prev``."""
    plain = w.H
    if not extrapolate:
        w.best = plain
        return
    if improved:
        w.best = plain.copy()
    w.H = w.E if improved and w.E is not None else plain.copy()
    w.prev, w.E = plain, None


def rebuild_weights(A, Wt):
    """Weights of faces ``A`` (n, width) whose fit state was lost (a Dask worker gone): the
    exact projection onto the current basis ``Wt`` (k, n), as the start, the previous and the
    best weights alike, so the fit goes on from there (see :class:`StreamHALS`)."""
    w = Weights(A.shape[1])
    w.H = np.empty((Wt.shape[0], A.shape[1]), Wt.dtype)
    W = np.ascontiguousarray(Wt.T)
    for sl in block_slices(A.shape[1]):
        w.H[:, sl] = project_unchecked(A[:, sl], W)
    w.prev, w.best = w.H.copy(), w.H.copy()
    return w


class StreamHALS:
    """The ``"hals"`` solver for a :class:`._blocks.Columns` ``A`` (same options, same
    iterates as ``Extrapolated(HALS)`` up to rounding; ``extrapolate=False`` gives plain
    HALS in one pass per iteration).

    The weights stay with the columns' blocks (``cols``' weights: here, or on the Dask
    workers that hold the blocks); ``W`` and the sums of each pass are here. ``H`` may be
    an array or the handle :func:`initialize` returned for weights already in ``cols``.

    Data read from storage is read once per iteration, both candidate products for the next
    W update in the pass (three products). When ``cols.held`` (the data stays in memory: a
    Dask cluster's parts), a second pass after the choice makes only the chosen one's: two
    products, as in memory, for one more round trip.
    """

    losses = HALS.losses

    def __init__(self, cols, W, H, *, loss="frobenius", alpha=0.5, eps=0.1,
                 extrapolate=True, beta=0.3, eta=1.5, gamma=1.01, gamma_bar=1.005):
        n, m = cols.shape
        k = W.shape[1]
        self.cols, self.norm_A_sq, self.dtype, self.rank = cols, cols.norm_sq, cols.dtype, k
        self.inner_w, self.inner_h = inner_sweeps(n, m, k, alpha)
        self.eps, self.extrapolate = eps, extrapolate
        self.later = getattr(cols, "held", False)  # the next W update's products: after
        self.beta, self.beta_max = beta, 1.0
        self.eta, self.gamma, self.gamma_bar = eta, gamma, gamma_bar
        self.Wt = np.ascontiguousarray(W.T)
        cols.put("H", np.ascontiguousarray(H) if isinstance(H, np.ndarray) else H)
        self.Wt_prev, self.passes = None, 0
        self.improved, self.exact = True, False
        self.error = self.best_error = np.inf
        self.best_Wt = self.Wt.copy()  # the best basis; the best weights are cols' "best"
        cols.apply(_begin)
        self.buf_w, self.old_w = np.empty(n, self.dtype), np.empty((k, n), self.dtype)
        # The products of the initial H for the first W update, and its exact error.
        sums = cols.total(_initial, self.Wt)
        self.C, self.HHt, self._initial = sums["plain"], sums["gram"], sums["residual"]

    def _pass(self, Wt, beta):
        """The H update of every block for ``Wt``; returns ``WtW``, the sums (see
        block_update) and whether the weights were extrapolated."""
        WtW = gram(Wt)
        Gz, inv = scaled_system(WtW, self.dtype)
        extrapolate = self.extrapolate and self.passes > 0
        self.cols.rebuild = (rebuild_weights, Wt)
        self.cols.apply(_prepare, extrapolate)
        total = self.cols.total(_pass, Wt, Gz, inv, self.inner_h, self.eps, beta, self.exact,
                                extrapolate, not self.later)
        self.passes += 1
        return WtW, total, extrapolate

    def step(self):
        # The W update from the products of the weights chosen at the end of the last step.
        Gz, inv = scaled_system(self.HHt, self.dtype)
        Cw = self.C * inv[:, None]
        sweep(self.Wt, Cw, Gz, inv, self.inner_w, self.eps, self.buf_w, self.old_w)
        Wn = Wt = self.Wt
        if self.extrapolate and self.Wt_prev is not None:
            Wt = self._extrapolated(Wn, self.Wt_prev)
        grown = min(self.beta_max, self.gamma * self.beta)  # beta if this step improves
        WtW, sums, extrapolated = self._pass(Wt, grown)
        if self.exact:
            error = sums["residual"]
        else:
            error = max(self.norm_A_sq - 2.0 * sums["cross"]
                        + float(np.vdot(WtW, sums["gram"])), 0.0)
        self.error = error
        if not self.extrapolate:
            self.best_error, self.best_Wt = error, Wt
            self.cols.apply(_settle, True, False)
            self.C, self.HHt = self._next_products(sums, False)
            return error
        self.improved = improved = error < self.best_error
        if improved:
            self.best_error = error
            self.best_Wt = Wt.copy()
            self.beta = grown
            self.beta_max = min(1.0, self.gamma_bar * self.beta_max)
        else:
            self.beta_max = self.beta
            self.beta /= self.eta
            Wt = Wn
        if Wt is Wn:
            Wn = Wn.copy()
        self.Wt, self.Wt_prev = Wt, Wn
        self.cols.apply(_settle, improved, True)
        self.C, self.HHt = self._next_products(sums, improved and extrapolated)
        return self.best_error

    def _next_products(self, sums, extrapolated):
        """``H Aᵀ`` and ``H Hᵀ`` of the weights the next W update uses (the settled ``H``):
        the pass's (``extrapolated``: its extrapolated candidate's), or a second pass."""
        if self.later:
            sums = self.cols.total(_products)
            return sums["plain"], sums["gram"]
        if extrapolated:
            return sums["extrapolated"], sums["gram_e"]
        return sums["plain"], sums["gram"]

    _extrapolated = Extrapolated._extrapolated

    def objective(self):
        """Objective of :meth:`factors` from the residual (one pass over ``A``)."""
        if self._initial is not None:  # the initial pair: computed with the first products
            self.best_error, self._initial = self._initial, None
            return self.best_error
        self.cols.rebuild = (rebuild_weights, self.best_Wt)
        self.best_error = self.cols.total(_residual, self.best_Wt)["residual"]
        return self.best_error

    def previous_objective(self):
        """None: the replaced pair is not kept (it would cost another copy of H)."""
        return None

    def factors(self):
        """The best ``W`` (n, k) and ``H`` (k, m); for weights on a Dask cluster ``H`` is a
        handle (``numpy.asarray(H)`` gathers it, until the next step)."""
        return self.best_Wt.T, self.cols.fetch("best", self.rank, self.dtype)


def project_blocks(cols, W, guided=True):
    """Exact weights ``H`` (k, m) of every block of ``cols`` onto ``W`` (n, k), computed where
    the blocks are (guided by the fit's best weights if ``guided``), and the squared error
    of the result, in one pass. ``H`` is returned as a numpy array."""
    cols.rebuild = (rebuild_weights, np.ascontiguousarray(W.T))
    cols.apply(allocate, "out", W.shape[1], W.dtype, "empty")
    total = cols.total(_project, W, guided).get("residual", 0.0)
    return cols.gather("out", W.shape[1], W.dtype), total
