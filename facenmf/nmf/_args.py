"""The arguments of :func:`facenmf.nmf`, checked once: :func:`check_args` and the data
paths (in memory, read block by block, on a Dask cluster) it tells apart."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validation as v
from ._beta import canonical_loss, check_loss_data, loss_kind
from ._blocks import as_columns, check_streamed, is_dask, is_streamed
from ._init import INITS
from ._penalty import Penalty, check_regularization
from ._registry import SOLVERS
from ._solver import check_solver_options
from ._sparse import check_sparse_solver, is_sparse
from ._stream import project_blocks

__all__ = ["Settings", "check_args", "columns_of", "project_columns"]

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
class Settings:
    """The checked arguments of one call of :func:`nmf`."""

    A: np.ndarray
    rank: int
    solver: str
    loss: str | float
    penalty: Penalty | None
    regularization: tuple
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


def check_args(A, rank, *, dtype, **kw):
    """The checked :class:`Settings` of a call of :func:`facenmf.nmf`; a block-by-block
    ``A`` (a Dask array's parts on the workers) is closed again if a check fails."""
    dtype = v.check_dtype("dtype", dtype)
    A, streamed = columns_of(A, dtype)
    try:
        return _check(A, streamed, rank, dtype=dtype, **kw)
    except BaseException:
        if streamed:
            A.close()
        raise


def _check(A, streamed, rank, *, solver, loss, init, W0, H0, solver_options, dtype, alpha_W,
           alpha_H, l1_ratio, **simple):
    if not streamed:
        A = v.check_nonnegative_matrix("A", A, dtype, sparse=True)
    rank = v.check_int("rank", rank, low=1, high=min(A.shape))
    v.check_choice("solver", solver, SOLVERS)
    loss = canonical_loss(loss)
    make = SOLVERS[solver]
    if loss_kind(loss) not in make.losses:
        raise ValueError(f"loss: solver {solver!r} supports {list(make.losses)}, got {loss!r}")
    regularization = check_regularization(alpha_W, alpha_H, l1_ratio)
    penalty = Penalty.of(*regularization, *A.shape)
    if penalty is not None and (streamed or not getattr(make, "regularizes", False)):
        where = (f"A read block by block ({type(A.A).__name__})" if streamed
                 else f"solver {solver!r}")
        raise ValueError(f"alpha_W, alpha_H: regularization is not supported with {where}; "
                         "pass alpha_W=0 and alpha_H=0" + (", or numpy.asarray(A)" if streamed
                                                           else ""))
    if streamed and not getattr(make, "streams", False):
        streaming = sorted(name for name, s in SOLVERS.items() if getattr(s, "streams", False))
        raise ValueError(f"solver: {solver!r} needs A in memory; A is read block by block "
                         f"({type(A.A).__name__}), which solvers {streaming} do (or pass "
                         "numpy.asarray(A))")
    if is_sparse(A):
        check_sparse_solver(SOLVERS, solver, loss)
    elif not streamed:
        check_loss_data(A, loss)
    options = check_solver_options(solver, make.options, solver_options)
    if hasattr(make, "check_options"):  # options that depend on the data (faces' labels)
        options = make.check_options(options, A.shape)
    init, W0, H0 = _check_init(init, W0, H0, A.shape, rank, dtype)
    simple = {name: check(simple[name]) for name, check in _SIMPLE.items()}
    if streamed:
        check_streamed(A)
    elif not (A.data if is_sparse(A) else A).any():
        raise ValueError(f"A: all {A.shape[0] * A.shape[1]} entries are zero; there is "
                         "nothing to factorize")
    return Settings(A=A, rank=rank, solver=solver, loss=loss, penalty=penalty,
                    regularization=regularization, init=init, W0=W0, H0=H0,
                    solver_options=options, dtype=dtype, **simple)
