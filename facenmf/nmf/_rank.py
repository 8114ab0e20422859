"""Choosing the rank by cross-validation over held-out entries (Wold 1978; for NMF, e.g.
Kanagal & Sindhwani 2010, "Rank selection in low-rank matrix approximations").

A random part of the entries of ``A`` is held out with the mask of a masked fit
(:func:`facenmf.nmf` with ``mask=``); the fit sees the rest; its error on the held-out
entries measures how well that rank predicts data it did not see. Too small a rank misses
structure, too large a rank fits noise, and both predict the held-out entries worse. Every
rank sees the same held-out entries in each repeat (paired comparisons).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .. import _validation as v
from ._result import ConvergenceWarning

__all__ = ["RankSelection", "choose_rank", "RULES"]

#: How the rank is chosen from the mean held-out errors: ``"min"`` the smallest mean;
#: ``"one-se"`` the smallest rank within one standard error of that minimum (Breiman et
#: al. 1984's rule: the simplest model the data cannot tell from the best).
RULES = ("min", "one-se")


@dataclass(frozen=True)
class RankSelection:
    """The result of :func:`choose_rank`.

    Attributes
    ----------
    ranks : tuple of int
        The ranks tried, increasing.
    errors : ndarray of shape (n_ranks, repeats)
        Relative error on the held-out entries, ``||A - W H|| / ||A||`` over them, per rank
        and repeat (the same held-out entries for every rank within a repeat).
    train_errors : ndarray of shape (n_ranks, repeats)
        Relative error on the entries the fit saw.
    rank : int
        The chosen rank.
    rule : str
        How it was chosen (:data:`RULES`).
    holdout : float
        Fraction of the entries held out.
    """

    ranks: tuple
    errors: np.ndarray
    train_errors: np.ndarray
    rank: int
    rule: str
    holdout: float

    @property
    def mean(self):
        """Mean held-out error per rank."""
        return self.errors.mean(axis=1)

    @property
    def se(self):
        """Standard error of the mean held-out error per rank (0 with one repeat)."""
        n = self.errors.shape[1]
        return self.errors.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(len(self.ranks))

    def to_dict(self):
        """A JSON-ready summary."""
        return {"ranks": list(self.ranks), "rank": int(self.rank), "rule": self.rule,
                "holdout": self.holdout, "repeats": int(self.errors.shape[1]),
                "heldout_error": self.errors.tolist(), "train_error": self.train_errors.tolist(),
                "mean": self.mean.tolist(), "se": self.se.tolist()}


def choose_rank(A, ranks, *, holdout=0.1, repeats=3, rule="min", solver="hals", max_iter=500,
                tol=1e-4, random_state=0, progress=None, dtype=np.float32, **nmf_options):
    """Choose the rank of ``A ≈ W H`` by cross-validation over held-out entries.

    In each of ``repeats`` rounds a random fraction ``holdout`` of the entries of ``A`` is
    held out; for every rank, :func:`facenmf.nmf` fits the other entries (a masked fit)
    and the held-out entries are predicted by ``W H``.

    Parameters
    ----------
    A : array_like of shape (n_pixels, n_faces)
        Non-negative faces, one per column (in memory).
    ranks : sequence of int
        Ranks to try (each at most ``min(A.shape)``).
    holdout : float
        Fraction of the entries held out in each repeat, in (0, 0.5].
    repeats : int
        Rounds of held-out entries (different ones each round).
    rule : {"min", "one-se"}
        The smallest mean held-out error, or the smallest rank within one standard error
        of it (:data:`RULES`).
    solver, max_iter, tol, dtype, **nmf_options
        Passed to each masked :func:`facenmf.nmf` (``solver`` one that fits with a mask:
        ``"hals"``, ``"mu"``, ``"anls"``, ``"klcd"``; ``max_iter`` reached stops a fit
        quietly: rank selection compares fits made the same way).
    random_state : int, numpy Generator or None
        Seed of the held-out entries and of the fits' starts.
    progress : callable, optional
        Called as ``progress(done, total)`` after each fit.

    Returns
    -------
    RankSelection
    """
    from ._core import nmf

    A = v.check_nonnegative_matrix("A", A, dtype)
    ranks = np.asarray(ranks)
    if ranks.ndim != 1 or ranks.size == 0 or ranks.dtype.kind not in "iu":
        raise TypeError(f"ranks: expected a non-empty sequence of integers, got {ranks!r}")
    ranks = tuple(sorted({int(r) for r in ranks}))
    if ranks[0] < 1 or ranks[-1] > min(A.shape):
        raise ValueError(f"ranks: expected ranks from 1 to {min(A.shape)} (min(A.shape)), got "
                         f"{list(ranks)}")
    holdout = v.check_number("holdout", holdout, low=0, low_inclusive=False, high=0.5)
    repeats = v.check_int("repeats", repeats, low=1)
    v.check_choice("rule", rule, RULES)
    v.check_callable("progress", progress)
    rng = v.check_random_state("random_state", random_state)
    errors = np.empty((len(ranks), repeats))
    train = np.empty_like(errors)
    done, total = 0, len(ranks) * repeats
    for j in range(repeats):
        held = rng.random(A.shape) < holdout
        seed = int(rng.integers(2**31))
        a_held = A[held].astype(np.float64)
        a_seen = np.where(held, 0, A).astype(np.float64)
        for i, r in enumerate(ranks):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                fit = nmf(A, r, mask=held, solver=solver, max_iter=max_iter, tol=tol,
                          random_state=seed, dtype=dtype, **nmf_options)
            Q = (fit.W @ fit.H).astype(np.float64)
            errors[i, j] = np.linalg.norm(a_held - Q[held]) / np.linalg.norm(a_held)
            train[i, j] = np.linalg.norm(np.where(held, 0, Q) - a_seen) / np.linalg.norm(a_seen)
            done += 1
            if progress is not None:
                progress(done, total)
    mean = errors.mean(axis=1)
    best = int(np.argmin(mean))
    chosen = ranks[best]
    if rule == "one-se" and repeats > 1:
        se = errors.std(axis=1, ddof=1) / np.sqrt(repeats)
        chosen = next(r for r, m in zip(ranks, mean) if m <= mean[best] + se[best])
    return RankSelection(ranks=ranks, errors=errors, train_errors=train, rank=chosen, rule=rule,
                         holdout=float(holdout))
