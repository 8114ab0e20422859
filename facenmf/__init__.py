"""facenmf: parts-based features of faces with non-negative matrix factorization.

Data are ``A`` of shape ``(n_pixels, n_faces)``, one flattened face per column, factorized
as ``A ≈ W @ H`` with basis images ``W`` (n_pixels, rank) and weights ``H`` (rank, n_faces):
the Lee & Seung orientation, the transpose of scikit-learn's.
"""

from ._atomic import atomic_write
from .data import DATABASES, FaceSet, load_faces
from .nmf import (
    INITS,
    LOSSES,
    NMF,
    SOLVERS,
    ConvergenceWarning,
    RankSelection,
    Factorization,
    History,
    OnlineFactorization,
    choose_rank,
    load_model,
    nmf,
    nmf_online,
    project,
    save_model,
)
from .recognition import robust_project

__version__ = "0.1.0"

__all__ = ["load_faces", "FaceSet", "DATABASES", "nmf", "nmf_online", "NMF", "project",
           "robust_project", "save_model", "load_model", "Factorization", "OnlineFactorization",
           "History", "ConvergenceWarning", "SOLVERS", "INITS", "LOSSES", "atomic_write",
           "choose_rank", "RankSelection",
           "__version__"]
