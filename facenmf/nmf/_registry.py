"""The solver registry: a solver's name to its constructor (see :class:`._solver.Solver`).

Adding a solver is writing its module and adding its line here.
"""

from __future__ import annotations

from ._anls import ANLS
from ._hals import hals
from ._mu import MU

__all__ = ["SOLVERS", "LOSSES"]

#: Every loss some solver minimizes.
LOSSES = ("frobenius", "kl")

SOLVERS = {
    "hals": hals,  # accelerated HALS with extrapolation (Gillis & Glineur; Ang & Gillis)
    "mu": MU,  # Lee & Seung's multiplicative updates, Frobenius and KL
    "anls": ANLS,  # alternating exact NNLS by block principal pivoting (Kim & Park)
}
