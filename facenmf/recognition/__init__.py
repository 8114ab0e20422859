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
distance) to a gallery face, a half's distances counting ``half_face_penalty`` times as
much (a parameter of :func:`evaluate`).
A large occlusion that the basis can partly "explain", such as a black scarf over a dark
chin and neck, fools the robust projection but leaves a half clean. The baselines get the same probes: raw pixels compare
the unmasked pixels (known mask) or all of them; PCA fits its coefficients by least
squares on the unmasked pixels (known mask) or on all of them — neither has a robust mode
of its own.

Every setting that depends on the data (method, metric, rank, the supervised NMF's identity
weight and ridge, the half-face penalty) is a parameter of :func:`evaluate` with a plain
default, and ``evaluate(tune=True)`` (``facenmf recognize --tune``) chooses them on each
split's gallery by inner cross-validation (:mod:`._tuning`); the whitened metric's shrinkage
is estimated from the gallery (Ledoit & Wolf).

The package: :mod:`._occlusions` (conditions, :func:`occlude`), :mod:`._distances` (metrics,
:func:`nearest_neighbours`, :func:`whitened_distances`), :mod:`._features` (the methods),
:mod:`._protocol` (splits, :func:`evaluate`, :class:`RecognitionReport`), :mod:`._tuning`
(settings chosen by inner cross-validation) and :mod:`._robust` (:func:`robust_project`). The building blocks of :func:`evaluate` are public for variants
of the experiment (``scripts/recognition_variants.py``): the folds
(:func:`protocol_folds`), the feature methods (:class:`NMFFeatures`, :class:`SNMFFeatures`
with :func:`supervised_basis` and :func:`ridge_project`, :class:`PCAFeatures`,
:class:`RawFeatures`; each built from the training faces, with ``gallery`` and
``probes(A, mask, mask_mode)``), the choice among a probe's hypotheses
(:func:`distance_sets`) and the pieces of the robust projection (:func:`half_faces`,
:func:`clean_outliers`, :func:`inlier_median`).
"""

from ._distances import DEFAULT_METRICS, METRICS, ledoit_wolf_shrinkage, nearest_neighbours
from ._distances import whitened_distances, whitened_many
from ._features import METHODS, VARIANTS
from ._features import NMFFeatures, PCAFeatures, RawFeatures, SNMFFeatures, VariantFeatures
from ._features import distance_sets, ridge_project, supervised_basis
from ._occlusions import CONDITIONS, FaceRows, estimate_face_rows, occlude, parse_condition
from ._protocol import RecognitionReport, accuracy_vs_rank, evaluate, protocol_folds
from ._robust import clean_outliers, half_faces, inlier_median, robust_project, robust_start
from ._tuning import GRID, choose_settings, inner_folds

__all__ = ["METHODS", "VARIANTS", "METRICS", "DEFAULT_METRICS", "CONDITIONS", "occlude", "parse_condition",
           "FaceRows", "estimate_face_rows",
           "nearest_neighbours", "whitened_distances", "whitened_many", "evaluate", "RecognitionReport",
           "accuracy_vs_rank", "robust_project", "robust_start",
           # the settings chosen on the gallery
           "GRID", "choose_settings", "inner_folds", "ledoit_wolf_shrinkage",
           # the building blocks of evaluate, for variants of the experiment
           "protocol_folds", "NMFFeatures", "SNMFFeatures", "PCAFeatures", "RawFeatures",
           "VariantFeatures",
           "supervised_basis", "ridge_project", "distance_sets", "half_faces",
           "clean_outliers", "inlier_median"]
