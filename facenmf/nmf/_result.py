"""What a fit returns: :class:`Factorization` with its :class:`History`, and the warning of a
fit stopped before it converged."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Factorization", "History", "ConvergenceWarning"]


class ConvergenceWarning(UserWarning):
    """The fit stopped (``max_iter`` or ``time_limit``) before meeting ``tol``."""


@dataclass(frozen=True)
class History:
    """Per-iteration record of a fit; entry 0 is the initialization.

    Attributes
    ----------
    seconds : ndarray of shape (n_iter + 1,)
        Wall-clock seconds since the call to :func:`nmf` started.
    error : ndarray of shape (n_iter + 1,)
        Relative error ``||A - W H||_F / ||A||_F``, or for ``loss="kl"`` the relative
        generalized Kullback-Leibler divergence ``D(A || W H) / sum(A)`` (scale invariant,
        comparable between data sets; 0 for an exact fit). Entry 0 is the error of the
        initial factors. For ``"hals"`` (which extrapolates and keeps the best pair) it is
        the error of the best factors so far. For a solver with a penalty or constraint
        beside its loss (``"gnmf"``, ``"lnmf"``, ``"dnmf"``) it is still this error, not the
        objective the solver lowers (``SOLVERS[name]`` documents that objective).
    """

    seconds: np.ndarray
    error: np.ndarray

    def __len__(self):
        return len(self.error)


@dataclass(frozen=True)
class Factorization:
    """The result of :func:`nmf`: ``A ≈ W @ H``.

    Attributes
    ----------
    W : ndarray of shape (n_pixels, rank)
        Basis images, non-negative, each column of unit L2 norm (or zero).
    H : ndarray of shape (rank, n_faces)
        Weights, non-negative; they carry the scale.
    n_iter : int
        Outer iterations done.
    converged : bool
        True when the fit stopped because the error decreased by less than ``tol``.
    stop_reason : str
        ``"tol"``, ``"max_iter"``, ``"time_limit"``, ``"callback"`` or ``"interrupted"``.
    error : float
        Final relative error ``||A - W H||_F / ||A||_F`` of the returned factors, or for
        ``loss="kl"`` their relative KL divergence ``D(A || W H) / sum(A)``; computed
        exactly (from the residual), in float64.
    history : History
        Seconds and error per iteration.
    solver, init, loss : str
        How the fit was made.
    """

    W: np.ndarray
    H: np.ndarray
    n_iter: int
    converged: bool
    stop_reason: str
    error: float
    history: History = field(repr=False)
    solver: str = "hals"
    init: str = "nndsvda"
    loss: str = "frobenius"

    @property
    def rank(self):
        return self.W.shape[1]
