"""The NMF engine: ``A ≈ W H`` for any non-negative matrix (no images, no plotting).

Where things are: ``_core`` (``nmf()``: the outer loop, stopping), ``_args`` (its checks),
``_solver`` (the protocol a solver follows), ``_registry`` (the solvers by name), one module
per solver (``_hals``, ``_mu``, ``_anls``, ``_klcd``), ``_init`` (initial factors), ``_loss``
(objectives), ``_beta`` (loss names, beta-divergences), ``_penalty`` (L1/L2 penalties),
``_sparse`` (the products and errors of a ``scipy.sparse`` ``A``),
``_nnls`` and ``_project`` (exact projection onto a fixed basis), ``_model`` (``NMF``,
model files), ``_result`` (what a fit returns), ``_blocks`` (blocks of columns;
``Columns`` reads memory-mapped or on-disk data block by block), ``_stream`` (HALS in one pass
per iteration over such data), ``_online`` (``nmf_online``: fits from a stream of batches),
``_dask`` (fits of Dask arrays on a cluster: ``_dask_parts`` the client side, ``_dask_worker``
what the workers run; ``to_dask``: a face matrix as a Dask array on the workers).
"""

from ._blocks import BLOCK, Columns
from ._core import nmf
from ._dask import WorkerLostWarning, to_dask
from ._init import INITS, initialize
from ._model import NMF, load_model, save_model
from ._online import OnlineFactorization, nmf_online
from ._project import project, project_unchecked
from ._rank import RankSelection, choose_rank
from ._registry import LOSSES, SOLVERS
from ._result import ConvergenceWarning, Factorization, History
from ._solver import Option, Solver

__all__ = ["nmf", "NMF", "project", "project_unchecked", "save_model", "load_model", "Factorization", "History",
           "ConvergenceWarning", "SOLVERS", "INITS", "LOSSES", "Solver", "Option", "initialize",
           "nmf_online", "OnlineFactorization", "Columns", "BLOCK", "to_dask",
           "WorkerLostWarning", "choose_rank", "RankSelection"]
