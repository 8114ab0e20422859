"""Online NMF: a basis learnt from a stream of batches of faces (Mairal et al. 2010).

Each batch ``A_b`` (n_pixels, m_b) is coded on the current basis (its weights ``H_b``), its
statistics ``H_b A_bᵀ`` and ``H_b H_bᵀ`` are added to running sums with the past weighted
down, and the basis is updated by HALS sweeps on the surrogate objective the sums define.
The sums have the size of ``W`` and of a ``rank x rank`` matrix whatever the number of
faces seen, so one pass over a folder too large for memory gives a basis.

References
----------
J. Mairal, F. Bach, J. Ponce and G. Sapiro, "Online learning for matrix factorization and
sparse coding", Journal of Machine Learning Research 11, 19-60, 2010.
https://jmlr.org/papers/v11/mairal10a.html
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import _validation as v
from ._core import Factorization, History
from ._hals import HALS, inner_sweeps, scaled_system, sweep, sweep_columns
from ._init import INITS, initialize
from ._loss import gram, squared_norm
from ._project import project_unchecked

__all__ = ["nmf_online", "OnlineFactorization", "CODINGS"]

#: How each batch is coded on the current basis: a few HALS sweeps (the default, several
#: times faster) or exact non-negative least squares (block principal pivoting).
CODINGS = ("hals", "nnls")

# The inner-loop rule of the batch solver (Gillis & Glineur's alpha and its early stop).
_ALPHA = HALS.options["alpha"].default
_EPS = HALS.options["eps"].default


@dataclass(frozen=True)
class OnlineFactorization(Factorization):
    """The result of :func:`nmf_online` (and ``NMF.partial_fit``'s ``result``).

    A :class:`Factorization` whose fields mean, for a fit from a stream:

    Attributes
    ----------
    W : ndarray of shape (n_pixels, rank)
        The basis after the last batch, non-negative, unit-norm columns (or zero).
    H : None
        The faces of a stream are not kept: project them onto ``W``
        (:func:`facenmf.project`) for their weights.
    n_iter : int
        Batches processed (over every pass).
    converged : bool
        Always False: an online fit has no convergence test; it stops with its data.
    stop_reason : str
        ``"max_passes"`` (the batches ran out, ``max_passes`` times), ``"max_batches"``,
        ``"time_limit"``, ``"callback"``, ``"interrupted"`` (Ctrl-C), or
        ``"partial_fit"`` for a model updated by ``NMF.partial_fit``.
    error : float
        Relative error ``||A_b - W H_b||_F / ||A_b||_F`` of the last batch coded on the
        basis *before* that batch was added: a held-out estimate of the basis's error
        (``history.error[-1]``).
    history : History
        One entry per batch (no entry for the initialization: the first batch's error is
        that of the initial basis): wall-clock seconds since the call started and each
        batch's error as above.
    n_faces : int
        Faces seen, counting every pass.
    n_passes : int
        Passes over ``batches`` begun.
    """

    n_faces: int = 0
    n_passes: int = 0


class _Stats(NamedTuple):
    """Everything an update changes, replaced in one assignment (an interruption leaves the
    state of the last whole batch)."""

    Wt: np.ndarray  # (rank, n_pixels), the basis transposed, in the scale of the codes
    B: np.ndarray  # (rank, n_pixels) float64: weighted sum of H_b A_bᵀ
    G: np.ndarray  # (rank, rank) float64: weighted sum of H_b H_bᵀ
    n_faces: int
    n_batches: int


class OnlineState:
    """The running state of an online fit: the basis and the statistics of the past.

    Built from checked arguments by :meth:`start`; :meth:`update` takes one checked batch.
    The basis ``Wt`` keeps the scale its updates give it (as in the batch solvers; the
    statistics are in the same scale), :meth:`basis` returns it with unit-norm columns.
    """

    def __init__(self, W, dtype, init="custom"):
        n, k = W.shape
        self.dtype, self.init = np.dtype(dtype), init
        self.stats = _Stats(np.array(W.T, dtype=self.dtype, order="C"), np.zeros((k, n)),
                            np.zeros((k, k)), 0, 0)
        self.seconds, self.errors = [], []
        self.started = time.perf_counter()

    @classmethod
    def start(cls, A, rank, init, W0, rng, dtype):
        """The state before the first batch ``A``: ``W0``, or ``init`` computed on ``A``."""
        if W0 is not None:
            return cls(W0, dtype)
        if init != "random" and rank > A.shape[1]:
            raise ValueError(f"rank: init {init!r} needs at least rank={rank} faces in the "
                             f"first batch, got {A.shape[1]}; use init='random' or a larger "
                             "first batch")
        W, _ = initialize(A, rank, init, rng, dtype)
        return cls(W, dtype, init)

    @property
    def n_pixels(self):
        return self.stats.Wt.shape[1]

    @property
    def n_batches(self):
        return self.stats.n_batches

    @property
    def n_faces(self):
        return self.stats.n_faces

    def basis(self):
        """The current basis ``W`` (n_pixels, rank), a copy with unit-norm columns."""
        W = np.array(self.stats.Wt.T, order="C")
        norms = np.sqrt(np.einsum("ij,ij->j", W, W, dtype=np.float64))
        nz = norms > 0
        W[:, nz] /= norms[nz].astype(W.dtype)
        return W

    def code(self, A, coding, WtW):
        """Weights ``H`` (rank, m) of a checked batch ``A`` on the current basis, whose
        Gram matrix is ``WtW`` (float64)."""
        Wt = self.stats.Wt
        if coding == "nnls":
            return project_unchecked(A, Wt.T)
        k, n = Wt.shape
        WtA = Wt @ A
        # Start from the unconstrained least-squares weights, clipped: the sweeps then only
        # correct the clipping (from zero they would also have to build the weights up).
        try:
            H = np.linalg.solve(WtW, WtA.astype(np.float64))
        except np.linalg.LinAlgError:  # a zero or repeated basis image
            H = np.linalg.lstsq(WtW, WtA.astype(np.float64), rcond=None)[0]
        H = np.maximum(H, 0).astype(self.dtype)
        Gz, inv = scaled_system(WtW, self.dtype)
        sweep_columns(H, WtA, Gz, inv, inner_sweeps(n, A.shape[1], k, _ALPHA)[1], _EPS)
        return H

    def update(self, A, forget, coding):
        """Code the checked batch ``A``, add its statistics, update the basis.

        Returns ``(H, error)``: the batch's weights (rank, m) on the basis before the
        update, and the relative error ``||A - W H|| / ||A||`` of that coding.
        """
        Wt, B, G, n_faces, n_batches = self.stats
        k, n = Wt.shape
        m = A.shape[1]
        WtW = gram(Wt)
        H = self.code(A, coding, WtW)
        HA = (H @ A.T).astype(np.float64)  # (k, n): this batch's term of B
        HHt = gram(H)
        # The coding's error by the trace trick, <H, WᵀA> being <Wᵀ, H Aᵀ>.
        norm_sq = squared_norm(A)
        cross = float(np.vdot(Wt.astype(np.float64), HA))
        quad = float(np.vdot(WtW, HHt))
        error = float(np.sqrt(max(norm_sq - 2.0 * cross + quad, 0.0) / norm_sq)) \
            if norm_sq > 0 else 0.0
        # The past weighted by (faces before / faces after)^forget: Mairal et al.'s
        # (1 - 1/t)^rho of Section 3.4, applied over the batch's faces.
        total = n_faces + m
        beta = (n_faces / total) ** forget if n_faces else 0.0
        B = np.multiply(B, beta)
        B += HA
        G = beta * G + HHt
        # The surrogate 0.5 tr(W G Wᵀ) - tr(W B) minimized by HALS sweeps over the basis
        # images, from the current basis (Mairal et al.'s block coordinate descent, with
        # the batch solver's rule for the number of sweeps).
        Wt = Wt.copy()
        Gz, inv = scaled_system(G, self.dtype)
        sweep(Wt, (B * inv[:, None]).astype(self.dtype), Gz, inv,
              inner_sweeps(n, m, k, _ALPHA)[0], _EPS, np.empty(n, self.dtype),
              np.empty((k, n), self.dtype))
        # The history first: result() reads as many entries as the stats count batches.
        self.seconds.append(time.perf_counter() - self.started)
        self.errors.append(error)
        self.stats = _Stats(Wt, B, G, total, n_batches + 1)
        return H, error

    def result(self, stop_reason, n_passes, W=None):
        """The :class:`OnlineFactorization` of the batches so far (``W``: :meth:`basis`,
        if the caller has it)."""
        n = self.stats.n_batches
        seconds, errors = self.seconds[:n], self.errors[:n]
        return OnlineFactorization(
            W=self.basis() if W is None else W, H=None, n_iter=n, converged=False, stop_reason=stop_reason,
            error=errors[-1] if errors else float("nan"),
            history=History(np.array(seconds), np.array(errors)), solver="online",
            init=self.init, loss="frobenius", n_faces=self.stats.n_faces, n_passes=n_passes)


def check_start(rank, init, W0, dtype):
    """``(rank, init, W0, dtype)`` checked: ``init`` None means ``"custom"`` with ``W0``,
    else ``"random"``."""
    dtype = v.check_dtype("dtype", dtype)
    rank = v.check_int("rank", rank, low=1)
    if init is None:
        init = "random" if W0 is None else "custom"
    v.check_choice("init", init, INITS)
    if (init == "custom") != (W0 is not None):
        raise ValueError(f"init: 'custom' requires W0, and W0 requires init='custom' (or "
                         f"init=None); got init={init!r} with W0 "
                         f"{'given' if W0 is not None else 'None'}")
    if W0 is not None:
        W0 = v.check_nonnegative_matrix("W0", W0, dtype, shape=(None, rank), copy=True)
        if rank > W0.shape[0]:
            raise ValueError(f"rank: expected an integer <= {W0.shape[0]} (the rows of W0), "
                             f"got {rank}")
        if not W0.any():
            raise ValueError(f"W0: all {W0.size} entries are zero; the fit cannot start from "
                             "an all-zero basis")
    return rank, init, W0, dtype


def check_batch(name, A, n_pixels, rank, dtype):
    """A batch checked: a non-negative 2-D array of ``n_pixels`` rows (any when None)."""
    A = v.check_nonnegative_matrix(name, A, dtype, shape=(n_pixels, None), sparse=True)
    if n_pixels is None and rank > A.shape[0]:
        raise ValueError(f"rank: expected an integer <= {A.shape[0]} (the pixels of a face), "
                         f"got {rank}")
    return A


def _check_batches(batches, max_passes):
    if getattr(batches, "ndim", None) == 2:
        raise TypeError(
            f"batches: expected an iterable of 2-D batches of shape (n_pixels, m), got one "
            f"array of shape {tuple(batches.shape)}; pass its column blocks, e.g. "
            "(A[:, s:s + 1024] for s in range(0, A.shape[1], 1024)), or fit it with nmf()")
    try:
        first = iter(batches)
    except TypeError:
        raise TypeError(f"batches: expected an iterable of 2-D arrays of shape (n_pixels, m), "
                        f"got {type(batches).__name__}") from None
    if max_passes > 1 and first is batches:
        raise ValueError(f"max_passes: {max_passes} passes need batches that can be iterated "
                         f"again (a list, or an object whose __iter__ starts over), got a "
                         f"one-shot {type(batches).__name__}")
    return first


def nmf_online(batches, rank, *, init=None, W0=None, forget=1.0, coding="hals",
               max_passes=1, max_batches=None, time_limit=None, random_state=None,
               callback=None, dtype=np.float32):
    """Learn a basis from a stream of batches of faces: online NMF (Mairal et al. 2010).

    Each batch ``A_b`` of shape (n_pixels, m_b) is coded on the current basis (weights
    ``H_b``), its statistics ``H_b A_bᵀ`` (rank, n_pixels) and ``H_b H_bᵀ`` (rank, rank) are
    added to running sums ``B`` and ``G`` (the past weighted down by ``forget``), and the
    basis is updated by HALS sweeps over its images on the surrogate
    ``0.5 tr(W G Wᵀ) - tr(W B)`` (the squared error of every batch seen with its weights
    frozen). Memory is ``W``, the two sums and one batch, whatever the number of faces; one
    pass over the data gives a usable basis.

    As in :func:`nmf`, ``A_b`` is ``(n_pixels, m_b)``, one face per column: the
    **transpose** of scikit-learn's ``X``.

    Parameters
    ----------
    batches : iterable of array_like of shape (n_pixels, m_b)
        The faces, a batch at a time (a list, a generator reading a folder, column blocks
        of a memory-mapped array, ...); batches may differ in ``m_b``. Each is checked
        (non-negative, finite, 2-D, ``n_pixels`` rows) when it arrives. For
        ``max_passes > 1`` it must be iterable again (not a one-shot generator).
    rank : int
        Number of basis images, ``1 <= rank <= n_pixels``.
    init : {"random", "nndsvd", "nndsvda", "nndsvdar", "custom"} or None
        Initial basis, computed on the first batch (see :func:`facenmf.nmf.initialize`;
        the NNDSVD variants need at least ``rank`` faces in it). None means ``"custom"``
        when ``W0`` is given, else ``"random"``: on held-out faces of ORL (32x32 and 56x46,
        jittered) and CBCL it ended a pass below NNDSVDa and costs no SVD.
    W0 : array_like of shape (n_pixels, rank), optional
        Initial basis for ``init="custom"`` (copied), e.g. a basis fitted earlier.
    forget : float
        ``rho >= 0``: before a batch of ``m`` faces is added, the sums are multiplied by
        ``(n / (n + m)) ** rho``, ``n`` being the faces seen so far (Mairal et al.,
        Section 3.4: ``(1 - 1/t)^rho`` per face). 0 weighs every face alike (their
        Algorithm 1); the default 1 weighs a face by the number of faces seen when it came,
        which is their mini-batch rule's weighting (while fewer batches than faces per
        batch have been seen): early weights, coded on an early basis, fade like ``1/t``.
    coding : {"hals", "nnls"}
        How a batch is coded: HALS sweeps from the clipped least-squares weights, as many
        as the batch solver's rule allows (default, several times faster), or exact
        non-negative least squares (:func:`project`), the paper's exact coding.
    max_passes : int
        Passes over ``batches`` (default 1).
    max_batches : int, optional
        Stop after this many batches (over every pass).
    time_limit : float, optional
        Stop after this many seconds (checked after each batch).
    random_state : int, numpy.random.Generator or None
        Seed of the initial basis (``"random"``, ``"nndsvdar"``, randomized SVDs).
    callback : callable, optional
        ``callback(iteration, W, H, error)`` after every batch: ``iteration`` counts the
        batches (from 1), ``W`` (n_pixels, rank) is the updated basis in its working scale
        and ``H`` (rank, m_b) the batch's weights on the basis before the update
        (read-only by convention), ``error`` the batch's relative error with them (see
        :class:`OnlineFactorization`). Returning None or a true value continues; any other
        false value (``False``, ``0``) stops the fit.
    dtype : {numpy.float32, numpy.float64}
        Precision of the basis and of the codes (the sums are float64).

    Returns
    -------
    OnlineFactorization
        ``W`` (n_pixels, rank) with unit-norm columns, ``H`` None, ``n_iter`` (batches),
        ``stop_reason``, ``error`` (of the last batch, held out), ``history`` (one entry per
        batch), ``n_faces``, ``n_passes``.

    Raises
    ------
    ValueError
        A batch with negative, NaN or infinite entries, of the wrong number of rows, not
        2-D or empty; no batch at all; ``rank`` out of range; unknown ``init``/``coding``;
        ``max_passes > 1`` with a one-shot iterator.
    TypeError
        Arguments of the wrong type (``batches`` a single array rather than batches).

    Notes
    -----
    Pressing Ctrl-C (KeyboardInterrupt) returns the basis after the last whole batch with
    ``stop_reason="interrupted"`` (the newest basis is the best estimate an online fit has);
    an interruption before the first batch is done is raised.

    The same batches, arguments and seed give the same basis as ``NMF.partial_fit`` called
    on each batch in turn.

    References
    ----------
    J. Mairal, F. Bach, J. Ponce and G. Sapiro, "Online learning for matrix factorization
    and sparse coding", Journal of Machine Learning Research 11, 19-60, 2010.
    https://jmlr.org/papers/v11/mairal10a.html

    Examples
    --------
    >>> import numpy as np, facenmf
    >>> rng = np.random.default_rng(0)
    >>> parts = rng.random((64, 5)) ** 3
    >>> stream = (parts @ rng.gamma(1.0, size=(5, 100)) for _ in range(20))
    >>> fit = facenmf.nmf_online(stream, 5, random_state=0)
    >>> fit.W.shape, fit.H, fit.n_iter, fit.n_faces
    ((64, 5), None, 20, 2000)
    >>> new = parts @ rng.gamma(1.0, size=(5, 50))  # faces the fit has not seen
    >>> H = facenmf.project(new, fit.W)
    >>> bool(np.linalg.norm(new - fit.W @ H) / np.linalg.norm(new) < 0.05)
    True
    """
    rank, init, W0, dtype = check_start(rank, init, W0, dtype)
    forget = v.check_number("forget", forget, low=0)
    v.check_choice("coding", coding, CODINGS)
    max_passes = v.check_int("max_passes", max_passes, low=1)
    max_batches = v.check_int("max_batches", max_batches, low=1, allow_none=True)
    time_limit = v.check_number("time_limit", time_limit, low=0, low_inclusive=False,
                                allow_none=True)
    rng = v.check_random_state("random_state", random_state)
    callback = v.check_callable("callback", callback)
    first = _check_batches(batches, max_passes)
    start = time.perf_counter()
    n_pixels = None if W0 is None else W0.shape[0]
    state, n_passes, stop_reason = None, 0, "max_passes"
    try:
        for n_passes in range(1, max_passes + 1):
            stream = first if n_passes == 1 else iter(batches)
            seen = 0
            for i, batch in enumerate(stream):
                seen += 1
                A = check_batch(f"batches[{i}]", batch, n_pixels, rank, dtype)
                if state is None:
                    state = OnlineState.start(A, rank, init, W0, rng, dtype)
                    state.started = start
                    n_pixels = state.n_pixels
                H, error = state.update(A, forget, coding)
                if callback is not None:
                    answer = callback(state.n_batches, state.stats.Wt.T, H, error)
                    if answer is not None and not answer:
                        stop_reason = "callback"
                        break
                if max_batches is not None and state.n_batches >= max_batches:
                    stop_reason = "max_batches"
                    break
                if time_limit is not None and state.seconds[-1] >= time_limit:
                    stop_reason = "time_limit"
                    break
            if seen == 0:
                raise ValueError("batches: expected at least one batch, got an empty iterable"
                                 + (f" on pass {n_passes}" if n_passes > 1 else ""))
            if stop_reason != "max_passes":
                break
    except KeyboardInterrupt:
        if state is None or state.n_batches == 0:
            raise
        stop_reason = "interrupted"
    return state.result(stop_reason, n_passes)
