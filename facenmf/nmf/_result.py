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
        generalized Kullback-Leibler divergence ``D(A || W H) / sum(A)``, for other
        beta-divergences ``D_beta(A || W H) / sum(A^beta)`` (scale invariant, comparable
        between data sets; 0 for an exact fit; see :mod:`facenmf.nmf._beta`). Entry 0 is
        the error of the initial factors. For ``"hals"`` (which extrapolates and keeps the
        best pair) it is the error of the best factors so far. With a penalty it is the data
        term alone, which need not decrease; for a solver with a penalty or constraint of
        its own (``"gnmf"``, ``"lnmf"``, ``"dnmf"``) it is still this error, not the
        objective the solver lowers (``SOLVERS[name]`` documents that objective).
    objective : ndarray of shape (n_iter + 1,)
        The penalized objective in the same units, the value the ``tol`` test uses and that
        never rises: ``sqrt((||A - W H||_F² + 2 P) / ||A||_F²)`` for Frobenius (``P`` the
        penalty; twice scikit-learn's objective, relative), ``(D + P) / sum(A^beta)``
        otherwise. Without a penalty it is ``error`` itself.
    """

    seconds: np.ndarray
    error: np.ndarray
    objective: np.ndarray | None = None

    def __post_init__(self):
        if self.objective is None:  # unpenalized: the objective is the error
            object.__setattr__(self, "objective", self.error)

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
        ``loss="kl"`` their relative KL divergence ``D(A || W H) / sum(A)`` (other betas:
        see :class:`History`); computed exactly (from the residual), in float64. With a
        penalty, the data term alone.
    history : History
        Seconds, error and penalized objective per iteration.
    solver, init : str
        How the fit was made.
    loss : str or float
        ``"frobenius"``, ``"kl"``, ``"itakura-saito"`` or another beta.
    objective : float
        scikit-learn's objective of the returned factors, in our orientation (see
        :mod:`facenmf.nmf._penalty`): ``0.5 ||A - W H||_F²`` (Frobenius) or the
        beta-divergence ``D_beta(A || W H)``, plus ``penalty``; in float64. NaN when unknown.
    penalty : float
        The penalty part of ``objective`` (0 without regularization).
    regularization : dict
        ``alpha_W``, ``alpha_H`` (``"same"`` resolved) and ``l1_ratio`` of the fit.
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
    loss: str | float = "frobenius"
    objective: float = float("nan")
    penalty: float = 0.0
    regularization: dict = field(default_factory=lambda: {"alpha_W": 0.0, "alpha_H": 0.0,
                                                          "l1_ratio": 0.0})

    @property
    def rank(self):
        return self.W.shape[1]
