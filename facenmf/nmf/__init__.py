"""The NMF engine: ``A ≈ W H`` for any non-negative matrix (no images, no plotting)."""

from ._core import LOSSES, SOLVERS, ConvergenceWarning, Factorization, History, nmf
from ._init import INITS
from ._model import NMF, load_model, save_model
from ._project import project, project_unchecked

__all__ = ["nmf", "NMF", "project", "project_unchecked", "save_model", "load_model", "Factorization", "History",
           "ConvergenceWarning", "SOLVERS", "INITS", "LOSSES"]
