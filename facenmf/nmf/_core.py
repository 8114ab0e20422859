"""``nmf()``: validation, initialization, the outer loop, stopping and the result."""

from __future__ import annotations

import time
import warnings

import numpy as np

from ._args import check_args, columns_of, project_columns
from ._beta import beta_divergence, beta_scale
from ._blocks import Columns
from ._init import initialize
from ._loss import kl_constant, residual_error, rounding_bound
from ._masked import check_fit_mask, fit_masked
from ._project import project_unchecked
from ._registry import SOLVERS
from ._result import ConvergenceWarning, Factorization, History
from ._stream import project_blocks

__all__ = ["nmf", "Factorization", "History", "ConvergenceWarning", "columns_of",
           "project_columns"]

# The tol test trusts the trace trick while its rounding error is below this fraction of
# the decrease that tol allows; beyond, the error is computed from the residual.
_TRUSTED_NOISE = 0.1
# A relative Frobenius error (from the residual) below this many eps of the dtype is an
# exact fit: what is left is the rounding of W H, and no iteration can lower it by tol.
_EXACT_FIT = 16


def nmf(A, rank, *, solver="hals", init=None, loss="frobenius", alpha_W=0.0, alpha_H="same",
        l1_ratio=0.0, max_iter=500, tol=1e-4, time_limit=None, random_state=None,
        callback=None, W0=None, H0=None, mask=None, dtype=np.float32, solver_options=None):
    """Non-negative matrix factorization ``A ≈ W @ H`` of faces stored one per column.

    Note the orientation: ``A`` is ``(n_pixels, n_faces)`` as in Lee & Seung, the
    **transpose** of scikit-learn's ``X`` ``(n_samples, n_features)``; our ``W`` is
    scikit-learn's ``components_.T`` and our ``H`` its ``W.T``.

    Parameters
    ----------
    A : array_like or scipy.sparse matrix of shape (n_pixels, n_faces)
        Non-negative data, one flattened face per column. All-zero rows or columns are
        fine (they get zero basis rows / zero weights). A sparse ``A`` (CSR, CSC, any
        ``scipy.sparse`` format) is never densified: ``"hals"``, ``"mu"`` and ``"anls"``
        fit it with the Frobenius loss, through the products ``A Hᵀ`` and ``Wᵀ A``, with
        the same iterates as the dense ``A``.
    rank : int
        Number of basis images, ``1 <= rank <= min(A.shape)``.
    solver : {"hals", "mu", "anls", "klcd"}
        ``"hals"``: accelerated hierarchical ALS (Gillis & Glineur 2012) with
        extrapolation (Ang & Gillis 2019), the fastest;
        ``"mu"``: multiplicative updates (Lee & Seung; Févotte & Idier for beta-divergences);
        ``"anls"``: alternating exact non-negative least squares by block principal
        pivoting (Kim & Park 2011); ``"klcd"``: coordinate descent for the KL loss (Hsieh &
        Dhillon 2011).
        Every solver is an entry of :data:`SOLVERS` (see ``facenmf/nmf/_solver.py`` for
        the protocol); its knobs are passed in ``solver_options``.
    init : {"nndsvda", "nndsvd", "nndsvdar", "random", "custom"} or None
        Initial factors. None means ``"nndsvda"``, or ``"custom"`` when ``W0`` and ``H0``
        are given. The built-in ones are scaled by the scalar that brings ``W H`` closest
        to ``A`` (so their relative error is at most 1); ``W0`` and ``H0`` are used as
        given. NNDSVD variants are deterministic when the smaller side of ``A`` is at most
        1500 (exact SVD); above, their randomized SVD, like ``"random"`` and
        ``"nndsvdar"``, uses ``random_state``.
    loss : {"frobenius", "kl", "kullback-leibler", "itakura-saito"} or float
        The beta-divergence minimized (:mod:`facenmf.nmf._beta`): ``"frobenius"`` (beta
        2), ``"kl"`` (generalized Kullback-Leibler, beta 1, Lee & Seung 1999; alias
        ``"kullback-leibler"``), ``"itakura-saito"`` (beta 0) or any beta (2, 1 and 0 are
        those names). Only ``"mu"`` minimizes them all; ``"klcd"`` minimizes ``"kl"``.
        The error of KL is the relative divergence ``D(A || W H) / sum(A)``, of other
        betas ``D_beta(A || W H) / sum(A^beta)``. A beta <= 0 needs every entry of ``A``
        positive.
    alpha_W, alpha_H, l1_ratio : float, float or "same", float
        L1/L2 regularization with scikit-learn's objective and scaling, **translated to our
        orientation** (:mod:`facenmf.nmf._penalty`): the fit minimizes ``D(A || W H) +
        alpha_W n_faces (l1_ratio ||W||_1 + 0.5 (1 - l1_ratio) ||W||_F²) + alpha_H
        n_pixels (l1_ratio ||H||_1 + 0.5 (1 - l1_ratio) ||H||_F²)``, ``D`` being ``0.5
        ||A - W H||_F²`` for Frobenius. ``alpha_W`` is the penalty of OUR ``W``, the basis
        images (scaled by the number of faces, as scikit-learn scales its ``H``, which is
        our ``W``); ``alpha_H`` that of our weights ``H`` (scaled by the number of
        pixels). So scikit-learn's ``alpha_W`` is our ``alpha_H`` and its ``alpha_H`` our
        ``alpha_W`` (``facenmf.sklearn`` maps them). ``alpha_H="same"`` is ``alpha_W``;
        ``l1_ratio`` in [0, 1] mixes L1 (1) and L2 (0). Every solver takes them for
        data in memory; data read block by block does not. With a penalty the basis
        columns are *not* scaled to unit norm (the penalty weighs their scale), the error
        and ``history.error`` are the data term alone, ``history.objective`` and the
        ``tol`` test the penalized objective, and ``objective`` the penalized objective
        of the result in scikit-learn's units.
    max_iter : int
        Maximum outer iterations (each updates W then H).
    tol : float
        Stop when an iteration lowers the error by less than ``tol`` relative to the
        previous error. 0 runs until ``max_iter`` or ``time_limit`` (and warns of neither).
    time_limit : float, optional
        Stop after this many seconds (checked after each iteration).
    random_state : int, numpy.random.Generator or None
        Seed for every random choice.
    callback : callable, optional
        ``callback(iteration, W, H, error)`` after every outer iteration, with the current
        (unnormalized, read-only by convention) factors. Returning None or a true value
        continues; any other false value (``False``, ``numpy.False_``, ``0``) stops the
        fit, so ``return error > target`` works.
    W0 : array_like of shape (n_pixels, rank), optional
        Initial basis for ``init="custom"`` (copied, not modified).
    H0 : array_like of shape (rank, n_faces), optional
        Initial weights for ``init="custom"``.
    mask : ndarray of bool, shape (n_pixels, n_faces) or (n_pixels,), optional
        True where an entry of ``A`` is unknown (occluded or missing pixels; the meaning of
        :func:`project`'s mask; a ``(n_pixels,)`` mask is every face's): ``W`` and ``H``
        are fitted to the known entries only (:mod:`facenmf.nmf._masked`). ``"hals"``,
        ``"anls"`` and ``"klcd"`` by majorization-minimization (the unknown entries are
        filled with the current ``W H`` and the solver takes one ordinary step; ``"hals"``
        also extrapolates between these steps, kept only where the masked objective falls,
        unless ``solver_options={"extrapolate": False}``), ``"mu"`` by weighted
        multiplicative updates; either way the masked objective (with its penalty, if any)
        never rises. For ``A`` in memory (dense); losses with beta > 0. ``error`` and
        ``history`` are relative over the known entries; ``H`` is the exact masked
        projection onto the final ``W`` (Frobenius).
    dtype : {numpy.float32, numpy.float64}
        Precision of the computation and of the result; float32 by default (face pixels are
        8-bit data). Inputs of another dtype are converted.
    solver_options : dict, optional
        Keyword options of the solver, checked against its table
        ``SOLVERS[solver].options`` (name -> default, meaning, checker). ``"hals"``:
        ``extrapolate`` (True), ``alpha`` (0.5) and ``eps`` (0.1) of the inner-loop rule,
        ``beta`` (0.3), ``eta`` (1.5), ``gamma`` (1.01), ``gamma_bar`` (1.005) of the
        extrapolation; ``"klcd"``: ``warm_start`` (0), plain HALS iterations on the
        Frobenius loss before the KL ones; ``"mu"`` and ``"anls"`` have none. An unknown
        name is an error that lists the valid ones.

    Returns
    -------
    Factorization
        ``W`` (n_pixels, rank) with unit-norm columns, ``H`` (rank, n_faces), ``n_iter``,
        ``converged``, ``stop_reason``, ``error`` and ``history``. For the Frobenius loss
        the returned ``H`` is the exact non-negative least-squares solution for the final
        ``W`` (one last exact half-step), so it equals ``project(A, W)`` (with the fit's
        penalty on ``H``: ``project(A, W, alpha_H=..., l1_ratio=...)``). ``objective``,
        ``penalty`` and ``regularization`` say what was minimized.

    Raises
    ------
    ValueError
        Negative, NaN or infinite entries, non-2-D or all-zero ``A``, ``rank`` out of
        range, unknown ``solver``/``init``/``loss`` names (the message lists valid ones),
        a loss the solver does not minimize, a beta <= 0 with zeros in ``A``, negative
        ``alpha_W``/``alpha_H``, ``l1_ratio`` outside [0, 1], a penalty the solver or the
        data path does not take, wrong ``W0``/``H0`` shapes, an all-zero ``W0`` or ``H0``, a
        sparse ``A`` with a solver or loss that needs it dense.
    TypeError
        Arguments of the wrong type.

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` or ``time_limit`` stops the fit before ``tol > 0`` is met.

    Notes
    -----
    Pressing Ctrl-C (KeyboardInterrupt) during the fit returns the factors reached so far
    with ``converged=False`` and ``stop_reason="interrupted"``; every solver only lowers
    the objective, so they are the best so far.

    The Frobenius error is computed each iteration by the trace trick from ``WᵀA`` and the
    Gram matrices ``WᵀW``, ``HHᵀ`` (accumulated in float64), never forming ``A - W H``.
    Its rounding error is bounded (about ``eps / error`` relative); when an iteration's
    decrease is within that bound of ``tol``, which happens in float32 fits that reach a
    small error, the error of that and every later iteration is computed from the
    residual ``A - W H`` instead (one more product per iteration; for ``"hals"`` and
    ``"anls"``, whose previous factors are kept, the previous entry of ``history`` is
    recomputed too, so it may differ from the value the callback saw by that rounding),
    so that the stop test and ``history`` near convergence measure the fit, not rounding.
    The initial and the final errors are always computed from the residual.

    Examples
    --------
    >>> import numpy as np, facenmf
    >>> rng = np.random.default_rng(0)
    >>> A = rng.random((50, 4)) @ rng.random((4, 30)) + 0.1 * rng.random((50, 30))
    >>> fit = facenmf.nmf(A, 4)
    >>> fit.W.shape, fit.H.shape
    ((50, 4), (4, 30))
    >>> fit.converged, bool(fit.error < 0.05)
    (True, True)
    """
    start = time.perf_counter()
    args = check_args(A, rank, solver=solver, loss=loss, init=init, W0=W0, H0=H0,
                       solver_options=solver_options, dtype=dtype, alpha_W=alpha_W,
                       alpha_H=alpha_H, l1_ratio=l1_ratio, max_iter=max_iter, tol=tol,
                       time_limit=time_limit, random_state=random_state, callback=callback)
    try:
        if mask is not None:
            return fit_masked(args, check_fit_mask(mask, args), start)
        return _fit(args, start)
    finally:
        if isinstance(args.A, Columns):
            args.A.close()  # a Dask fit's parts leave the workers


def _fit(args, start):
    """The fit of :func:`nmf` for checked arguments (``start``: when the call began)."""
    solver, loss, penalty = args.solver, args.loss, args.penalty
    A, max_iter, tol, time_limit, callback = (args.A, args.max_iter, args.tol,
                                              args.time_limit, args.callback)
    if args.init == "custom":
        W, H = args.W0, args.H0
    else:
        W, H = initialize(A, args.rank, args.init, args.random_state, args.dtype)
    extra = {} if penalty is None else {"penalty": penalty}
    state = SOLVERS[solver](A, W, H, loss=loss, **extra, **args.solver_options)
    norm_A_sq = state.norm_A_sq
    frobenius = loss == "frobenius"

    if not frobenius:
        scale = beta_scale(A, loss)  # sum(A) for KL

        def to_error(obj):
            return obj / scale

        def noise(err):
            return 0.0  # computed from W H directly: no cancellation to bound
    else:
        bound = rounding_bound(norm_A_sq, args.dtype)

        def to_error(obj):
            return float(np.sqrt(max(obj, 0.0) / norm_A_sq))

        def noise(err):
            # Rounding bound of a trace-trick error: d(err) = d(obj) / (2 err ||A||²).
            return bound / (2.0 * err * norm_A_sq) if err > 0 else np.inf

    floor = _EXACT_FIT * float(np.finfo(args.dtype).eps) if loss == "frobenius" else 0.0
    # The solvers' objectives are penalized: the squared error plus twice the penalty
    # (Frobenius), the divergence plus the penalty (others). The stop test and
    # ``history.objective`` use it; ``history.error`` is the data term alone.
    weight = 2.0 if frobenius else 1.0

    def penalty_now():
        return 0.0 if penalty is None else penalty.value(*state.factors())

    def data_error(obj, pen):
        return to_error(obj) if penalty is None else to_error(obj - weight * pen)

    seconds = [time.perf_counter() - start]
    obj0 = state.objective()
    pens = [penalty_now()]
    # A solver whose objective is more than the error (a penalty of its own) reports the
    # error itself: history gets that, the tol test the objective.
    report = getattr(state, "relative_error", None)

    def history_error(obj, pen):
        return data_error(obj, pen) if report is None else report()

    objectives, errors = [to_error(obj0)], [history_error(obj0, pens[0])]
    exact = not frobenius
    stop_reason, n_iter = "max_iter", 0
    try:
        for n_iter in range(1, max_iter + 1):
            obj = state.step()
            pen = penalty_now()
            err = to_error(obj)
            prev = objectives[-1]
            met = False
            if tol > 0 and state.improved:
                margin = 0.0 if exact else noise(prev) + noise(err)
                if prev - err <= tol * prev + margin:
                    if margin <= _TRUSTED_NOISE * tol * prev:
                        met = True
                    else:
                        # A candidate stop within rounding noise of tol: from now on the
                        # error comes from the residual, so that the stop test measures
                        # the fit. The test needs two exact errors: this step's and the
                        # previous one's if the solver kept its factors, else the next.
                        exact = state.exact = True
                        obj = state.objective()
                        err = to_error(obj)
                        before = state.previous_objective()
                        if before is not None:
                            prev = objectives[-1] = to_error(before)
                            if report is None:
                                errors[-1] = data_error(before, pens[-1])
                            met = prev - err <= tol * prev
            seconds.append(time.perf_counter() - start)
            objectives.append(err)
            errors.append(history_error(obj, pen))
            pens.append(pen)
            if callback is not None:
                W, H = state.factors()
                answer = callback(n_iter, W, H, errors[-1])
                if answer is not None and not answer:
                    stop_reason = "callback"
                    break
            if met or err == 0.0 or (exact and tol > 0 and err <= floor):
                stop_reason = "tol"
                break
            if time_limit is not None and seconds[-1] >= time_limit:
                stop_reason = "time_limit"
                break
    except KeyboardInterrupt:
        stop_reason = "interrupted"
        # An interrupted step may lack some of its entries.
        n_iter = min(len(seconds), len(objectives), len(errors)) - 1
        for entries in (seconds, objectives, errors):
            del entries[n_iter + 1:]
    W, H = state.factors()
    if isinstance(A, Columns):  # the weights stay where their blocks are (hals: frobenius)
        # The exact weights onto the normalized W, block by block, guided by the fit's own.
        W, _ = _normalize(np.ascontiguousarray(W), None)
        H, squared = project_blocks(A, W)
        error, objective, pen = to_error(squared), 0.5 * squared, 0.0
    else:
        if penalty is None:  # the scale of the columns is free: unit-norm basis images
            W, H = _normalize(np.ascontiguousarray(W), np.array(H, order="C"))
        else:  # a penalty weighs the scale: the factors stay as the solver left them
            W, H = np.array(W, order="C"), np.array(H, order="C")
        if frobenius:
            if not getattr(state, "keeps_H", False):  # else the fit's own H (constrained)
                H = project_unchecked(A, W, H0=H, ridge=None if penalty is None else
                                      penalty.l2_H or None,
                                      l1=None if penalty is None else penalty.l1_H or None)
            squared = residual_error(A, W, H)
            error, data = to_error(squared), 0.5 * squared
        else:
            data = beta_divergence(A, W @ H, loss, np.finfo(args.dtype).eps,
                                   kl_constant(A) if loss == "kl" else None)
            error = to_error(data)
        pen = 0.0 if penalty is None else penalty.value(W, H)
        objective = data + pen
    if stop_reason in ("max_iter", "time_limit") and max_iter > 0 and tol > 0:
        if stop_reason == "max_iter":
            message = (f"nmf stopped at max_iter={max_iter} before the error decreased by "
                       f"less than tol={tol} (solver {solver!r}, last error {error:.6g}); "
                       "increase max_iter to converge further")
        else:
            message = (f"nmf stopped at time_limit={time_limit}s before the error decreased "
                       f"by less than tol={tol} (solver {solver!r}, last error {error:.6g})")
        warnings.warn(message, ConvergenceWarning, stacklevel=3)
    history = History(np.array(seconds), np.array(errors),
                      None if penalty is None and report is None else np.array(objectives))
    return Factorization(
        W=W, H=H, n_iter=n_iter, converged=stop_reason == "tol", stop_reason=stop_reason,
        error=error, history=history, solver=solver, init=args.init, loss=loss,
        objective=float(objective), penalty=float(pen),
        regularization=dict(zip(("alpha_W", "alpha_H", "l1_ratio"), args.regularization)),
    )


def _normalize(W, H):
    """Scale W's columns to unit L2 norm, moving the scale into H's rows (zero stays zero;
    ``H`` None: W only)."""
    norms = np.sqrt(np.einsum("ij,ij->j", W, W, dtype=np.float64)).astype(W.dtype)
    nz = norms > 0
    W[:, nz] /= norms[nz]
    if H is not None:
        H[nz] *= norms[nz, None]
    return W, H
