"""The losses by name and by beta: the beta-divergences and how a fit reports them.

``loss`` is ``"frobenius"`` (beta 2), ``"kl"`` or ``"kullback-leibler"`` (beta 1),
``"itakura-saito"`` (beta 0) or any real beta. The beta-divergence of ``A`` from ``Q = W H``,
summed over the entries, is (Févotte & Idier 2011)::

    D_beta(A || Q) = sum (A^beta + (beta - 1) Q^beta - beta A Q^(beta - 1)) / (beta (beta - 1))

with the limits ``sum(A log(A / Q) - A + Q)`` at beta 1 and ``sum(A / Q - log(A / Q) - 1)`` at
beta 0; at beta 2 it is ``0.5 ||A - Q||_F²`` (scikit-learn's ``_beta_divergence`` is the same
function, in its orientation). A fit reports it relative, so that numbers compare across data
sizes and scales: ``||A - Q||_F / ||A||_F`` for Frobenius (as always),
``D_beta(A || Q) / sum(A^beta)`` otherwise. The latter is KL's ``D(A || Q) / sum(A)`` at beta
1, the mean divergence per entry at beta 0, and scale invariant for every beta
(``D_beta(cA || cQ) = c^beta D_beta(A || Q)``).

References
----------
C. Févotte and J. Idier, "Algorithms for nonnegative matrix factorization with the
beta-divergence", Neural Computation 23(9), 2421-2456, 2011. doi:10.1162/NECO_a_00168
"""

from __future__ import annotations

import numbers

import numpy as np

from ._loss import kl_divergence

__all__ = ["LOSS_NAMES", "canonical_loss", "loss_beta", "loss_kind", "beta_divergence",
           "beta_scale", "check_loss_data"]

#: The names ``loss`` accepts, with their beta.
LOSS_NAMES = {"frobenius": 2.0, "kl": 1.0, "kullback-leibler": 1.0, "itakura-saito": 0.0}
_CANONICAL = {2.0: "frobenius", 1.0: "kl", 0.0: "itakura-saito"}

# Entries of A per block of a pass (4 MB in float32), as in _loss.
_BLOCK = 1 << 20


def canonical_loss(loss):
    """``loss`` checked: ``"frobenius"``, ``"kl"``, ``"itakura-saito"`` or another beta as a
    float. Names and the betas 2, 1 and 0 give the names; one-line errors otherwise."""
    if isinstance(loss, str):
        if loss not in LOSS_NAMES:
            raise ValueError(f"loss: unknown value {loss!r}; valid values are "
                             f"{sorted(LOSS_NAMES)} or a number (the beta of a "
                             "beta-divergence)")
        return _CANONICAL[LOSS_NAMES[loss]]
    if isinstance(loss, (bool, np.bool_)) or not isinstance(loss, numbers.Real):
        raise TypeError(f"loss: expected one of {sorted(LOSS_NAMES)} or a number (the beta of "
                        f"a beta-divergence), got {type(loss).__name__} {loss!r}")
    beta = float(loss)
    if not np.isfinite(beta):
        raise ValueError(f"loss: expected a finite beta, got {beta}")
    return _CANONICAL.get(beta, beta)


def loss_beta(loss):
    """The beta of a canonical loss (:func:`canonical_loss`)."""
    return LOSS_NAMES[loss] if isinstance(loss, str) else float(loss)


def loss_kind(loss):
    """The name a solver's ``losses`` uses for a canonical loss: its name, or ``"beta"``
    for any other beta."""
    return loss if isinstance(loss, str) else "beta"


def _blocks(A):
    step = max(1, _BLOCK // max(A.shape[0], 1))
    return (slice(s, s + step) for s in range(0, A.shape[1], step))


def check_loss_data(A, loss):
    """Refuse data on which the loss is undefined: a beta <= 0 (Itakura-Saito) needs every
    entry of ``A`` positive (``A / Q`` and ``log A`` at 0)."""
    beta = loss_beta(loss)
    if beta > 0:
        return
    zeros = sum(int(np.count_nonzero(A[:, c] == 0)) for c in _blocks(A))
    if zeros:
        raise ValueError(f"A: loss {loss!r} (beta={beta:g}) is undefined where A is 0, and A "
                         f"has {zeros} zero entries (add a small positive offset to A, or use "
                         "a beta > 0)")


def beta_scale(A, loss):
    """The divisor of the reported divergence: ``||A||_F`` squared for Frobenius, else
    ``sum(A^beta)`` (``0^beta = 0`` for beta > 0; beta <= 0 needs ``A > 0``), in float64."""
    beta = loss_beta(loss)
    total = 0.0
    for c in _blocks(A):
        a = A[:, c].astype(np.float64)
        if beta == 1:
            total += float(a.sum())
        elif beta == 2:
            total += float(np.vdot(a, a))
        elif beta == 0:
            total += float(a.size)
        else:
            total += float(np.power(a, beta, where=a > 0, out=np.zeros_like(a)).sum())
    return total


def beta_divergence(A, Q, loss, eps, kl_const=None):
    """``D_beta(A || Q)`` summed over the entries, in float64 (``Q = W H``; entries of ``Q``
    below ``eps`` count as ``eps`` where a negative power or a log needs it). Frobenius:
    ``0.5 ||A - Q||_F²``."""
    beta = loss_beta(loss)
    if beta == 1:
        return kl_divergence(A, Q, eps, kl_const)
    total = 0.0
    for c in _blocks(A):
        a = A[:, c].astype(np.float64)
        q = Q[:, c].astype(np.float64)
        if beta == 2:
            d = a - q
            total += 0.5 * float(np.vdot(d, d))
            continue
        q = np.maximum(q, eps) if beta < 1 else q
        if beta == 0:
            ratio = a / q
            total += float((ratio - np.log(ratio) - 1.0).sum())
            continue
        pos = a > 0
        term = (beta - 1.0) * q ** beta
        if beta < 2:
            qm = np.maximum(q, eps) ** (beta - 1.0)
        else:
            qm = q ** (beta - 1.0)
        term -= beta * a * qm
        term += np.power(a, beta, where=pos, out=np.zeros_like(a))
        total += float(term.sum()) / (beta * (beta - 1.0))
    return max(total, 0.0)
