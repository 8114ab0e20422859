"""Fits to the known entries of ``A`` only: ``nmf(A, rank, mask=M)``.

``M`` is True where an entry of ``A`` is unknown (the meaning of ``project``'s mask). The
masked objective ``f(W, H) = D(M̄ ∘ A || M̄ ∘ W H)`` (``M̄`` the known entries; plus the
penalty, if any) is minimized by majorization-minimization (Kiers 1997; for NMF, Zhang,
Wang, Ravindran & Ng 2006): at the current ``(W0, H0)`` the unknown entries are filled
with ``W0 H0``,

    ``A_f = M̄ ∘ A + M ∘ (W0 H0)``,

and one ordinary step of the solver (plain ``hals``, ``anls``, ``klcd``) is taken on
``A_f``. For every beta-divergence ``D(A_f || W H) >= f(W, H)`` (the filled entries add
``d(w0h0 || wh) >= 0``) with equality at ``(W0, H0)``, so a step that lowers the surrogate
lowers the masked objective: it never rises on the iterates. ``mu`` takes the weighted
multiplicative updates instead (:class:`facenmf.nmf._mu.WeightedMU`: Lee & Seung's ``W *=
((M̄∘A) Hᵀ) / ((M̄∘W H) Hᵀ)`` and Févotte & Idier's for other betas, each a
majorization-minimization step of the masked objective itself, so it never rises either).

``hals`` extrapolates by default (``solver_options={"extrapolate": False}`` for the plain
majorization-minimization above), as Ang & Gillis (2019) do between the half-steps of an
unmasked fit, here between majorizers: the step from the current iterate ``Y_n`` gives the
plain iterate ``X_{n+1}``, and the next majorizer is made at ``Y_{n+1} = max(0, X_{n+1} +
beta (X_{n+1} - X_n))`` if the masked objective is lower there than at ``Y_n``, else at
``X_{n+1}`` (a restart; ``beta`` shrinks). Either way ``f(Y_{n+1}) <= f(Y_n)``: the
iterates reported (history, callback, the result) still never rise, and on ORL (ranks 49
and 100, 10-30% unknown) it reaches the plain steps' error in 1.5-2.1x fewer iterations
(BENCHMARKS.md; the extra cost, one more product ``W H`` at a restart).

One iteration costs one product ``W H`` and four passes (the fill, the residual) beside the
solver's own step (``mu``'s step forms ``W H`` twice more), with one solver state for the
whole fit. The weights returned are the exact masked projection onto the final basis (each face's NNLS
over its known pixels, :func:`facenmf.project` with the mask) for the Frobenius loss.

References
----------
H. A. L. Kiers, "Weighted least squares fitting using ordinary least squares algorithms",
Psychometrika 62(2), 251-266, 1997. doi:10.1007/BF02295279

A. M. S. Ang and N. Gillis, "Accelerating nonnegative matrix factorization algorithms
using extrapolation", Neural Computation 31(2), 417-439, 2019. doi:10.1162/neco_a_01157
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from .. import _validation as v
from ._beta import beta_divergence, loss_beta
from ._blocks import Columns
from ._hals import Extrapolated
from ._init import initialize
from ._loss import gram, kl_constant
from ._mu import WeightedMU
from ._project import project_unchecked
from ._registry import SOLVERS
from ._result import ConvergenceWarning, Factorization, History
from ._sparse import is_sparse

__all__ = ["MASKABLE", "check_fit_mask", "fit_masked"]

#: Solvers that fit with a mask, and the options their inner steps get.
MASKABLE = {"hals": {"extrapolate": False}, "mu": {}, "anls": {}, "klcd": {}}


def check_fit_mask(mask, args):
    """``mask`` checked against the checked arguments of :func:`nmf`: a bool array of
    shape (n_pixels,) or (n_pixels, n_faces), True = unknown; returns it 2-D."""
    A = args.A
    if isinstance(A, Columns) or is_sparse(A):
        what = "read block by block" if isinstance(A, Columns) else "a scipy.sparse matrix"
        raise ValueError(f"mask: a masked fit needs A in memory as a dense array; A is {what} "
                         "(pass numpy.asarray(A))")
    if args.solver not in MASKABLE:
        raise ValueError(f"mask: solver {args.solver!r} does not fit with a mask; solvers "
                         f"{sorted(MASKABLE)} do")
    if loss_beta(args.loss) <= 0:
        raise ValueError(f"mask: loss {args.loss!r} is not supported with a mask; use a "
                         "loss with beta > 0")
    mask = v.check_mask("mask", mask, A.shape)
    if mask.ndim == 1:
        mask = np.broadcast_to(mask[:, None], A.shape)
    known = int(A.size - np.count_nonzero(mask))
    if known == 0:
        raise ValueError(f"mask: expected some known entries (False), got all {A.size} "
                         "unknown")
    if not np.any(np.where(mask, 0, A)):
        raise ValueError(f"A: all {known} known entries are zero; there is nothing to "
                         "factorize")
    return mask


class _Masked:
    """The masked objective and error of a fit (data term over the known entries)."""

    def __init__(self, A, mask, loss, penalty):
        self.A, self.mask, self.loss, self.penalty = A, mask, loss, penalty
        self.frobenius = loss == "frobenius"
        self.known = np.where(mask, 0, A)
        beta = loss_beta(loss)
        data = self.known.astype(np.float64)
        if self.frobenius:
            self.scale = float(np.vdot(data, data))
        elif beta == 1:
            self.scale = float(data.sum())
        else:
            self.scale = float(np.power(data, beta, where=data > 0,
                                        out=np.zeros_like(data)).sum())
        self.eps = np.finfo(A.dtype).eps
        self.ones = np.where(mask, 1, A).astype(A.dtype) if not self.frobenius else None
        self.kl_const = kl_constant(self.ones) if loss == "kl" else None

    def data(self, WH, filled):
        """The data term over the known entries: ``0.5 ||.||²`` or the divergence.
        ``filled`` is the known entries of ``A`` and ``W H`` elsewhere, so that ``filled -
        W H`` is the residual over the known entries (exactly: 0 elsewhere)."""
        if self.frobenius:
            R = np.subtract(filled, WH).ravel()
            return 0.5 * float(np.dot(R, R))
        # Unknown entries are set equal in both (1 and 1): they add 0 to the divergence.
        return beta_divergence(self.ones, np.where(self.mask, 1, WH), self.loss, self.eps,
                               self.kl_const)

    def error(self, data):
        """Relative error over the known entries (the square root for Frobenius)."""
        if self.frobenius:
            return float(np.sqrt(max(2.0 * data, 0.0) / self.scale))
        return data / self.scale

    def objective(self, W, H, data):
        """The penalized objective, relative as the error: the tol test's and
        ``history.objective``'s value."""
        return self.error(data + (0.0 if self.penalty is None else self.penalty.value(W, H)))


def extrapolating(args):
    """Whether the masked fit of checked ``args`` extrapolates (``hals`` by default)."""
    return args.solver == "hals" and args.solver_options.get("extrapolate", True)


class _Extrapolation:
    """Ang & Gillis's (2019) extrapolation, at the level of the majorizer: the next one is
    made at ``max(0, X_n + beta (X_n - X_{n-1}))`` of the plain iterates ``X`` when the
    masked objective is lower there; ``beta`` grows by ``gamma`` after such a step (up to
    ``beta_max``, which creeps towards 1 by ``gamma_bar``); otherwise the step restarts from
    the plain iterate, ``beta_max`` becomes the failed ``beta`` and ``beta`` shrinks by
    ``eta``. The options and defaults are ``hals``'s."""

    def __init__(self, options):
        table = Extrapolated.options
        self.beta, self.eta, self.gamma, self.gamma_bar = (
            options.get(key, table[key].default) for key in ("beta", "eta", "gamma", "gamma_bar"))
        self.beta_max = 1.0

    def point(self, X, prev):
        Y = np.subtract(X, prev)
        Y *= self.beta
        Y += X
        return np.maximum(Y, 0, out=Y)

    def update(self, improved):
        if improved:
            self.beta = min(self.beta_max, self.gamma * self.beta)
            self.beta_max = min(1.0, self.gamma_bar * self.beta_max)
        else:
            self.beta_max = self.beta
            self.beta /= self.eta
        return improved

    @staticmethod
    def move(state, W, H):
        """Set the plain HALS ``state``'s factors to ``(W, H)`` (the extrapolated point)."""
        np.copyto(state.Wt, W.T)
        np.copyto(state.H, H)
        state.HHt = gram(state.H)


def fit_masked(args, mask, start):
    """:func:`nmf` of checked ``args`` with the checked 2-D ``mask`` (see the module)."""
    A, loss, penalty = args.A, args.loss, args.penalty
    task = _Masked(A, mask, loss, penalty)
    # The start sees each unknown entry as its pixel's mean over the faces where it is known
    # (0 where a pixel is never known), the plain imputation, then the solver's init.
    counts = (~mask).sum(axis=1)
    means = np.divide(task.known.sum(axis=1, dtype=np.float64), counts,
                      out=np.zeros(A.shape[0]), where=counts > 0).astype(A.dtype)
    if args.init == "custom":
        W, H = args.W0, args.H0
    else:
        W, H = initialize(np.where(mask, means[:, None], A), args.rank, args.init,
                          args.random_state, args.dtype)
    make = SOLVERS[args.solver]
    options = {**args.solver_options, **MASKABLE[args.solver]}
    extra = {} if penalty is None else {"penalty": penalty}
    W, H = np.array(W, order="C"), np.array(H, order="C")
    # The majorizer's data, made in place each iteration: known entries, then W H (two
    # passes with float masks; the state of the solver reads it as its A).
    unknown = mask.astype(A.dtype)
    known = np.multiply(A, 1 - unknown)
    filled = np.empty_like(known)

    def fill(WH):
        np.multiply(WH, unknown, out=filled)
        np.add(filled, known, out=filled)

    WH = W @ H
    fill(WH)
    data = task.data(WH, filled)
    seconds, errors = [time.perf_counter() - start], [task.error(data)]
    objectives = [task.objective(W, H, data)]
    # One state for the whole fit: its steps read ``filled`` afresh (its own objective,
    # from the data it was made with, is not used).
    if args.solver == "mu":  # weighted updates on the known entries themselves
        state = WeightedMU(known, W, H, weight=1 - unknown, loss=loss, **extra)
    else:
        state = make(filled, W, H, loss=loss, **extra, **options)
    ext = _Extrapolation(args.solver_options) if extrapolating(args) else None
    plain_prev = None  # the previous step's plain iterate, for the extrapolation
    stop_reason, n_iter = "max_iter", 0
    try:
        for n_iter in range(1, args.max_iter + 1):
            state.step()
            Wn, Hn = state.factors()
            Wn, Hn = np.array(Wn, order="C"), np.array(Hn, order="C")  # kept if interrupted
            prev = objectives[-1]
            improved = True
            if ext is not None and plain_prev is not None:
                # The next majorizer at the extrapolated point, kept if the masked objective
                # is lower there than at the current iterate; else at the plain iterate
                # (which the step made no worse than the current one: a restart).
                Wy, Hy = ext.point(Wn, plain_prev[0]), ext.point(Hn, plain_prev[1])
                WH = Wy @ Hy
                fill(WH)
                data = task.data(WH, filled)
                objective = task.objective(Wy, Hy, data)
                improved = ext.update(objective < prev)
                if improved:
                    W, H = Wy, Hy
                    ext.move(state, Wy, Hy)
            if ext is None or plain_prev is None or not improved:
                W, H = Wn, Hn
                WH = W @ H
                fill(WH)  # the next step's data, and this iterate's residual (filled - W H)
                data = task.data(WH, filled)
                objective = task.objective(W, H, data)
            plain_prev = (Wn, Hn)
            objectives.append(objective)
            errors.append(task.error(data))
            seconds.append(time.perf_counter() - start)
            if args.callback is not None:
                answer = args.callback(n_iter, W, H, errors[-1])
                if answer is not None and not answer:
                    stop_reason = "callback"
                    break
            if args.tol > 0 and improved and prev - objectives[-1] <= args.tol * prev:
                stop_reason = "tol"
                break
            if objectives[-1] == 0.0:
                stop_reason = "tol"
                break
            if args.time_limit is not None and seconds[-1] >= args.time_limit:
                stop_reason = "time_limit"
                break
    except KeyboardInterrupt:  # W, H are the last completed iterate (the best so far)
        stop_reason = "interrupted"
        n_iter = len(errors) - 1
        del seconds[n_iter + 1:], objectives[n_iter + 1:]
    if penalty is None:  # the scale of the columns is free: unit-norm basis images
        norms = np.linalg.norm(W, axis=0)
        norms[norms == 0] = 1.0
        W, H = W / norms, H * norms[:, None]
    if loss == "frobenius":  # the exact masked weights onto the final basis
        H = project_unchecked(A, W, mask, H0=H,
                              ridge=None if penalty is None else penalty.l2_H or None,
                              l1=None if penalty is None else penalty.l1_H or None)
    W, H = np.ascontiguousarray(W, dtype=args.dtype), np.ascontiguousarray(H, dtype=args.dtype)
    WH = W @ H
    fill(WH)
    data = task.data(WH, filled)
    error = task.error(data)
    pen = 0.0 if penalty is None else penalty.value(W, H)
    if stop_reason in ("max_iter", "time_limit") and args.max_iter > 0 and args.tol > 0:
        what = (f"max_iter={args.max_iter}" if stop_reason == "max_iter"
                else f"time_limit={args.time_limit}s")
        warnings.warn(f"nmf stopped at {what} before the error decreased by less than "
                      f"tol={args.tol} (solver {args.solver!r}, masked, last error "
                      f"{error:.6g}); increase max_iter to converge further",
                      ConvergenceWarning, stacklevel=3)
    history = History(np.array(seconds), np.array(errors),
                      None if penalty is None else np.array(objectives))
    return Factorization(
        W=W, H=H, n_iter=n_iter, converged=stop_reason == "tol", stop_reason=stop_reason,
        error=error, history=history, solver=args.solver, init=args.init, loss=loss,
        objective=float(data + pen), penalty=float(pen),
        regularization=dict(zip(("alpha_W", "alpha_H", "l1_ratio"), args.regularization)),
    )
