"""``nmf()``: validation, initialization, the outer loop, stopping and the result."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from .. import _validation as v
from ._blocks import Columns, as_columns, check_streamed, is_dask, is_streamed
from ._init import INITS, initialize
from ._result import ConvergenceWarning, Factorization, History
from ._loss import kl_constant, kl_divergence, residual_error, rounding_bound
from ._project import project_unchecked
from ._registry import LOSSES, SOLVERS
from ._solver import check_solver_options
from ._sparse import check_sparse_solver, is_sparse
from ._stream import project_blocks

__all__ = ["nmf", "Factorization", "History", "ConvergenceWarning", "columns_of",
           "project_columns"]

# The parameters of nmf() that are checked on their own, each by one checker.
_SIMPLE = {
    "max_iter": lambda x: v.check_int("max_iter", x, low=0),
    "tol": lambda x: v.check_number("tol", x, low=0),
    "time_limit": lambda x: v.check_number("time_limit", x, low=0, low_inclusive=False,
                                           allow_none=True),
    "random_state": lambda x: v.check_random_state("random_state", x),
    "callback": lambda x: v.check_callable("callback", x),
}


@dataclass(frozen=True)
class _Settings:
    """The checked arguments of one call of :func:`nmf`."""

    A: np.ndarray
    rank: int
    solver: str
    loss: str
    init: str
    W0: np.ndarray | None
    H0: np.ndarray | None
    solver_options: dict
    max_iter: int
    tol: float
    time_limit: float | None
    random_state: np.random.Generator
    callback: object
    dtype: np.dtype


def _check_init(init, W0, H0, shape, rank, dtype):
    """``(init, W0, H0)`` checked together: a custom start needs both factors."""
    custom = W0 is not None or H0 is not None
    if init is None:
        init = "custom" if custom else "nndsvda"
    v.check_choice("init", init, INITS)
    if (init == "custom") != custom:
        raise ValueError(
            "init: 'custom' requires both W0 and H0, and W0/H0 require init='custom' "
            f"(or init=None); got init={init!r} with W0 {'given' if W0 is not None else 'None'}"
            f" and H0 {'given' if H0 is not None else 'None'}"
        )
    if custom:
        if W0 is None or H0 is None:
            raise ValueError("W0, H0: both must be given for init='custom', got only one")
        W0 = v.check_nonnegative_matrix("W0", W0, dtype, shape=(shape[0], rank), copy=True)
        H0 = v.check_nonnegative_matrix("H0", H0, dtype, shape=(rank, shape[1]), copy=True)
        for name, X in (("W0", W0), ("H0", H0)):
            if not X.any():
                raise ValueError(f"{name}: all {X.size} entries are zero; NMF cannot start "
                                 "from an all-zero factor (W H = 0 has no direction to improve)")
    return init, W0, H0


def columns_of(A, dtype, name="A"):
    """``(A, streamed)``: ``A`` as :class:`._blocks.Columns` if it is read block by block (a
    memory map, a zarr-like array; a Dask array: on the active ``distributed`` Client's
    workers, or without one read here by Dask's local scheduler), else as given. Nothing is
    read yet."""
    if is_dask(A):
        from ._dask import dask_columns

        return dask_columns(A, dtype, name), True
    if is_streamed(A):  # read block by block: checked in one pass, never held whole
        A = as_columns(A, dtype, name)
        if len(A.shape) != 2:
            raise ValueError(f"{name}: expected a 2-D array (n_pixels, n_faces), got shape "
                             f"{A.shape}")
        return A, True
    return A, False


def project_columns(A, W, name="A"):
    """Exact weights ``H`` (k, n_faces) of the faces ``A`` onto ``W`` (n_pixels, k), block by
    block where the blocks are, for an ``A`` read block by block (see :func:`columns_of`: on
    a Dask cluster, on the workers); None for an in-memory ``A`` (the caller projects it)."""
    cols, streamed = columns_of(A, W.dtype, name)
    if not streamed:
        return None
    try:
        if cols.shape[0] != W.shape[0]:
            raise ValueError(f"{name}: expected shape ({W.shape[0]}, *), got {cols.shape} "
                             "(axis 0 differs)")
        check_streamed(cols, allow_zero=True)
        return project_blocks(cols, W, guided=False)[0]
    finally:
        cols.close()


def _check_args(A, rank, *, solver, loss, init, W0, H0, solver_options, dtype, **simple):
    dtype = v.check_dtype("dtype", dtype)
    A, streamed = columns_of(A, dtype)
    if not streamed:
        A = v.check_nonnegative_matrix("A", A, dtype, sparse=True)
    rank = v.check_int("rank", rank, low=1, high=min(A.shape))
    v.check_choice("solver", solver, SOLVERS)
    v.check_choice("loss", loss, LOSSES)
    make = SOLVERS[solver]
    if loss not in make.losses:
        raise ValueError(f"loss: solver {solver!r} supports {list(make.losses)}, got {loss!r}")
    if streamed and not getattr(make, "streams", False):
        streaming = sorted(name for name, s in SOLVERS.items() if getattr(s, "streams", False))
        raise ValueError(f"solver: {solver!r} needs A in memory; A is read block by block "
                         f"({type(A.A).__name__}), which solvers {streaming} do (or pass "
                         "numpy.asarray(A))")
    if is_sparse(A):
        check_sparse_solver(SOLVERS, solver, loss)
    options = check_solver_options(solver, make.options, solver_options)
    if hasattr(make, "check_options"):  # options that depend on the data (faces' labels)
        options = make.check_options(options, A.shape)
    init, W0, H0 = _check_init(init, W0, H0, A.shape, rank, dtype)
    simple = {name: check(simple[name]) for name, check in _SIMPLE.items()}
    if streamed:
        try:
            check_streamed(A)
        except BaseException:
            A.close()
            raise
    elif not (A.data if is_sparse(A) else A).any():
        raise ValueError(f"A: all {A.shape[0] * A.shape[1]} entries are zero; there is "
                         "nothing to factorize")
    return _Settings(A=A, rank=rank, solver=solver, loss=loss, init=init, W0=W0, H0=H0,
                     solver_options=options, dtype=dtype, **simple)


# The tol test trusts the trace trick while its rounding error is below this fraction of
# the decrease that tol allows; beyond, the error is computed from the residual.
_TRUSTED_NOISE = 0.1
# A relative Frobenius error (from the residual) below this many eps of the dtype is an
# exact fit: what is left is the rounding of W H, and no iteration can lower it by tol.
_EXACT_FIT = 16


def nmf(A, rank, *, solver="hals", init=None, loss="frobenius", max_iter=500, tol=1e-4,
        time_limit=None, random_state=None, callback=None, W0=None, H0=None,
        dtype=np.float32, solver_options=None):
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
    solver : {"hals", "mu", "anls"}
        ``"hals"``: accelerated hierarchical ALS (Gillis & Glineur 2012) with
        extrapolation (Ang & Gillis 2019), the fastest;
        ``"mu"``: Lee & Seung's multiplicative updates; ``"anls"``: alternating exact
        non-negative least squares by block principal pivoting (Kim & Park 2011).
        Every solver is an entry of :data:`SOLVERS` (see ``facenmf/nmf/_solver.py`` for
        the protocol); its knobs are passed in ``solver_options``.
    init : {"nndsvda", "nndsvd", "nndsvdar", "random", "custom"} or None
        Initial factors. None means ``"nndsvda"``, or ``"custom"`` when ``W0`` and ``H0``
        are given. The built-in ones are scaled by the scalar that brings ``W H`` closest
        to ``A`` (so their relative error is at most 1); ``W0`` and ``H0`` are used as
        given. NNDSVD variants are deterministic when the smaller side of ``A`` is at most
        1500 (exact SVD); above, their randomized SVD, like ``"random"`` and
        ``"nndsvdar"``, uses ``random_state``.
    loss : {"frobenius", "kl"}
        ``"kl"`` (generalized Kullback-Leibler, Lee & Seung 1999) needs ``solver="mu"``;
        its error is the relative divergence ``D(A || W H) / sum(A)``.
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
    dtype : {numpy.float32, numpy.float64}
        Precision of the computation and of the result; float32 by default (face pixels are
        8-bit data). Inputs of another dtype are converted.
    solver_options : dict, optional
        Keyword options of the solver, checked against its table
        ``SOLVERS[solver].options`` (name -> default, meaning, checker). ``"hals"``:
        ``extrapolate`` (True), ``alpha`` (0.5) and ``eps`` (0.1) of the inner-loop rule,
        ``beta`` (0.3), ``eta`` (1.5), ``gamma`` (1.01), ``gamma_bar`` (1.005) of the
        extrapolation; ``"mu"`` and ``"anls"`` have none. An unknown name is an error
        that lists the valid ones.

    Returns
    -------
    Factorization
        ``W`` (n_pixels, rank) with unit-norm columns, ``H`` (rank, n_faces), ``n_iter``,
        ``converged``, ``stop_reason``, ``error`` and ``history``. For the Frobenius loss
        the returned ``H`` is the exact non-negative least-squares solution for the final
        ``W`` (one last exact half-step), so it equals ``project(A, W)``.

    Raises
    ------
    ValueError
        Negative, NaN or infinite entries, non-2-D or all-zero ``A``, ``rank`` out of
        range, unknown ``solver``/``init``/``loss`` names (the message lists valid ones),
        wrong ``W0``/``H0`` shapes, an all-zero ``W0`` or ``H0``, a sparse ``A`` with a
        solver or loss that needs it dense.
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
    args = _check_args(A, rank, solver=solver, loss=loss, init=init, W0=W0, H0=H0,
                       solver_options=solver_options, dtype=dtype, max_iter=max_iter, tol=tol,
                       time_limit=time_limit, random_state=random_state, callback=callback)
    try:
        return _fit(args, start)
    finally:
        if isinstance(args.A, Columns):
            args.A.close()  # a Dask fit's parts leave the workers


def _fit(args, start):
    """The fit of :func:`nmf` for checked arguments (``start``: when the call began)."""
    solver, loss = args.solver, args.loss
    A, max_iter, tol, time_limit, callback = (args.A, args.max_iter, args.tol,
                                              args.time_limit, args.callback)
    if args.init == "custom":
        W, H = args.W0, args.H0
    else:
        W, H = initialize(A, args.rank, args.init, args.random_state, args.dtype)
    state = SOLVERS[solver](A, W, H, loss=loss, **args.solver_options)
    norm_A_sq = state.norm_A_sq

    if loss == "kl":
        sum_A = float(A.sum(dtype=np.float64))

        def to_error(obj):
            return obj / sum_A

        def noise(err):
            return 0.0  # computed from W H directly: no cancellation to bound
    else:
        bound = rounding_bound(norm_A_sq, args.dtype)

        def to_error(obj):
            return float(np.sqrt(obj / norm_A_sq))

        def noise(err):
            # Rounding bound of a trace-trick error: d(err) = d(obj) / (2 err ||A||²).
            return bound / (2.0 * err * norm_A_sq) if err > 0 else np.inf

    floor = _EXACT_FIT * float(np.finfo(args.dtype).eps) if loss == "frobenius" else 0.0
    seconds = [time.perf_counter() - start]
    errors = [to_error(state.objective())]
    # A solver whose objective is more than the error (a penalty) reports the error itself:
    # history gets that, the tol test the objective.
    report = getattr(state, "relative_error", None)
    history = errors if report is None else [report()]
    exact = loss == "kl"
    stop_reason, n_iter = "max_iter", 0
    try:
        for n_iter in range(1, max_iter + 1):
            err = to_error(state.step())
            prev = errors[-1]
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
                        err = to_error(state.objective())
                        before = state.previous_objective()
                        if before is not None:
                            prev = errors[-1] = to_error(before)
                            met = prev - err <= tol * prev
            seconds.append(time.perf_counter() - start)
            errors.append(err)
            if report is not None:
                history.append(report())
            if callback is not None:
                W, H = state.factors()
                answer = callback(n_iter, W, H, history[-1])
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
        n_iter = min(len(errors), len(history)) - 1  # an interrupted step may lack one
        del history[n_iter + 1:]
    W, H = state.factors()
    if isinstance(A, Columns):  # the weights stay where their blocks are (hals: frobenius)
        # The exact weights onto the normalized W, block by block, guided by the fit's own.
        W, _ = _normalize(np.ascontiguousarray(W), None)
        H, squared = project_blocks(A, W)
        error = to_error(squared)
    else:
        W, H = _normalize(np.ascontiguousarray(W), np.array(H, order="C"))
        if loss == "frobenius":
            if not getattr(state, "keeps_H", False):  # else the fit's own H (constrained)
                H = project_unchecked(A, W, H0=H)
            error = to_error(residual_error(A, W, H))
        else:
            error = to_error(kl_divergence(A, W @ H, np.finfo(args.dtype).eps,
                                           kl_constant(A)))
    if stop_reason in ("max_iter", "time_limit") and max_iter > 0 and tol > 0:
        if stop_reason == "max_iter":
            message = (f"nmf stopped at max_iter={max_iter} before the error decreased by "
                       f"less than tol={tol} (solver {solver!r}, last error {error:.6g}); "
                       "increase max_iter to converge further")
        else:
            message = (f"nmf stopped at time_limit={time_limit}s before the error decreased "
                       f"by less than tol={tol} (solver {solver!r}, last error {error:.6g})")
        warnings.warn(message, ConvergenceWarning, stacklevel=3)
    return Factorization(
        W=W, H=H, n_iter=n_iter, converged=stop_reason == "tol", stop_reason=stop_reason,
        error=error, history=History(np.array(seconds), np.array(history)), solver=solver,
        init=args.init, loss=loss,
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
