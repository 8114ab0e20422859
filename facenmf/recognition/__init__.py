"""Nearest-neighbour face identification on NMF weights, with raw-pixel and PCA baselines.

The pipeline: learn the basis ``W`` on the training faces only; describe every gallery
(training) and probe face by its weights, the exact non-negative projection onto ``W``;
give each probe the identity of its nearest gallery face(s) in weight space. Because facenmf
keeps ``W``'s columns at unit norm, weights are comparable between faces — the scale
ambiguity of ``W H`` that ruins naive NMF features is gone.

Probes can be occluded (:func:`occlude`). With a **known** mask the projection ignores the
masked pixels; with an **unknown** mask :func:`facenmf.robust_project` finds and ignores
them, and each probe is also described by the projections of each half of the face alone
(top, bottom, left, right): the probe keeps whichever description lies nearest (by cosine
distance) to a gallery face, a half's distances counting :data:`HALF_FACE_PENALTY` times
as much, since a half has fewer pixels to be wrong on. A large occlusion that the basis
can partly "explain", such as a black scarf over a dark chin and neck, fools the robust
projection but leaves a half clean. The baselines get the same probes: raw pixels compare
the unmasked pixels (known mask) or all of them; PCA fits its coefficients by least
squares on the unmasked pixels (known mask) or on all of them — neither has a robust mode
of its own.

The package: :mod:`._occlusions` (conditions, :func:`occlude`), :mod:`._distances` (metrics,
:func:`nearest_neighbours`, :func:`whitened_distances`), :mod:`._features` (the methods),
:mod:`._protocol` (splits, :func:`evaluate`, :class:`RecognitionReport`) and :mod:`._robust`
(:func:`robust_project`).
"""

from ._distances import DEFAULT_METRICS, METRICS, nearest_neighbours, whitened_distances
from ._distances import WHITENING_SHRINKAGE  # noqa: F401
from ._features import METHODS
from ._features import HALF_FACE_PENALTY, IDENTITY_WEIGHT, RIDGE  # noqa: F401
from ._occlusions import CONDITIONS, occlude, parse_condition
from ._protocol import RecognitionReport, accuracy_vs_rank, evaluate
from ._robust import half_faces, robust_project  # noqa: F401

# Private names that scripts/ and the tests use, as before the split into modules.
from ._features import PCAFeatures as _PCAFeatures  # noqa: F401
from ._features import SNMFFeatures as _SNMFFeatures  # noqa: F401
from ._features import distance_sets as _distance_sets  # noqa: F401
from ._features import ridge_project as _ridge_project  # noqa: F401
from ._features import supervised_basis as _supervised_basis  # noqa: F401
from ._protocol import protocol_folds as _protocol_folds  # noqa: F401

__all__ = ["METHODS", "METRICS", "DEFAULT_METRICS", "CONDITIONS", "occlude", "parse_condition",
           "nearest_neighbours", "whitened_distances", "evaluate", "RecognitionReport",
           "accuracy_vs_rank", "robust_project"]
