"""The solver registry: a solver's name to its constructor (see :class:`._solver.Solver`).

Adding a solver is writing its module and adding its line here.
"""

from __future__ import annotations

from ._anls import ANLS
from ._dnmf import DNMF
from ._gnmf import GNMF
from ._hals import hals
from ._klcd import KLCD
from ._lnmf import LNMF
from ._mu import MU
from ._nmfsc import NMFsc

__all__ = ["SOLVERS", "LOSSES"]

#: Every loss some solver minimizes, as a solver's ``losses`` names them: ``"beta"`` stands
#: for any other beta-divergence (``loss=1.5``); ``"kullback-leibler"`` is ``"kl"``.
LOSSES = ("frobenius", "kl", "itakura-saito", "beta")

SOLVERS = {
    "hals": hals,  # accelerated HALS with extrapolation (Gillis & Glineur; Ang & Gillis)
    "mu": MU,  # multiplicative updates (Lee & Seung; Févotte & Idier), every beta
    "anls": ANLS,  # alternating exact NNLS by block principal pivoting (Kim & Park)
    "klcd": KLCD,  # coordinate descent for KL with safeguarded Newton steps (Hsieh & Dhillon)
    "nmfsc": NMFsc,  # sparseness constraints on W and/or H (Hoyer 2004)
    "lnmf": LNMF,  # local NMF, KL (Li, Hou, Zhang & Cheng 2001)
    "gnmf": GNMF,  # graph-regularized NMF, Frobenius (Cai, He, Han & Huang 2011)
    "dnmf": DNMF,  # discriminant NMF, KL, needs labels (Zafeiriou et al. 2006)
}
