"""Figures of faces, basis images, reconstructions and fits (the only module using matplotlib).

Every function returns a :class:`matplotlib.figure.Figure` built directly (not through
``pyplot``), so no display, no backend choice and no global figure registry are involved;
``path=`` also saves it as a PNG. Conventions are the package's: ``A`` of shape
``(n_pixels, n_faces)`` holds one flattened face per column (row-major,
``image.reshape(-1)``), ``W`` of shape ``(n_pixels, rank)`` holds basis images and ``H`` of
shape ``(rank, n_faces)`` the weights, ``A ≈ W @ H``; ``image_shape`` is
``(height, width)``. ``import facenmf`` does not import this module (nor matplotlib): use
``from facenmf import view``. One module per subject (basis, faces, convergence, compare,
experiments, databases, rate_distortion); the bases compared are fitted by :mod:`facenmf.baselines`.

Examples
--------
>>> import numpy as np
>>> from facenmf import view
>>> W = np.random.default_rng(0).random((12 * 10, 9))
>>> fig = view.basis_montage(W, (12, 10))
>>> len(fig.axes), bool(fig.get_size_inches()[0] >= 3)
(1, True)
"""

from .basis import basis_montage, usage_order
from .compare import compare_methods
from .convergence import convergence
from .rank import rank_selection
from .identities import confusion_matrix, identity_accuracy
from .databases import database_results
from .experiments import accuracy_vs_rank, nearest_faces, recognition_results
from .faces import parts, reconstructions
from .rate_distortion import rate_distortion
from ._common import DIVERGING as DIVERGING  # public constants, as before the split
from ._common import DPI as DPI
from ._common import GREY as GREY
from ._common import human
from ..baselines import method_bases  # re-exported: view.method_bases still works
from ..metrics import hoyer_sparseness  # re-exported: view.hoyer_sparseness still works

__all__ = [
    "accuracy_vs_rank",
    "basis_montage",
    "compare_methods",
    "convergence",
    "rank_selection",
    "confusion_matrix",
    "identity_accuracy",
    "database_results",
    "hoyer_sparseness",
    "human",
    "method_bases",
    "nearest_faces",
    "parts",
    "rate_distortion",
    "recognition_results",
    "reconstructions",
    "usage_order",
]
