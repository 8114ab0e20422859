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
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np

from . import _validation as v
from .nmf import NMF
from .nmf._project import _project, half_faces, robust_project

__all__ = ["METHODS", "METRICS", "DEFAULT_METRICS", "CONDITIONS", "occlude", "parse_condition",
           "nearest_neighbours", "whitened_distances", "evaluate", "RecognitionReport",
           "accuracy_vs_rank"]

#: "nmf": the basis of the training faces, exact projections. "snmf": supervised NMF — the
#: basis of the training faces stacked over their one-hot identities (weight
#: :data:`IDENTITY_WEIGHT`), so that the weights must tell people apart, with ridge
#: projections (:data:`RIDGE`). "pca": eigenfaces. "raw": the pixels. :func:`evaluate` and
#: ``facenmf recognize`` run them all unless told otherwise.
METHODS = ("nmf", "snmf", "pca", "raw")
METRICS = ("euclidean", "cosine", "l1", "whitened")
#: The metrics reported unless told otherwise: the classic one and the learned one.
DEFAULT_METRICS = ("cosine", "whitened")
#: Occlusion conditions: "clean", "block:F" (a square covering fraction F of the face),
#: "sunglasses", "scarf", "noise:F" (salt and pepper on fraction F of the pixels).
CONDITIONS = ("clean", "block:F", "sunglasses", "scarf", "noise:F")

#: Unknown masks: a half-face description wins only if its nearest gallery face is this
#: many times nearer than the robust projection's. On ORL (10 splits) 1.5 lifts the scarf
#: from 43% to 69% and moves the other conditions by half a point at most; 1.2 gives
#: the scarf 74% but costs the random block 1.5 points.
HALF_FACE_PENALTY = 1.5

#: "snmf": weight of the one-hot identity rows, times the mean norm of a training face;
#: chosen on ORL splits of seeds 1-3 (scripts/recognition_variants.py).
IDENTITY_WEIGHT = 2.0
#: "snmf": ridge penalty of the projections, ``mu = RIDGE ||W_v||² / rank`` over the rows
#: of the face's unmasked pixels (``tr(WᵀW) / rank`` for a whole face). The basis images
#: of a supervised fit are correlated; the penalty steadies their weights. Clean ORL
#: probes, whitened metric: 0.3, 1 and 3 give 97.2-97.4% (mean over split seeds 1-5);
#: cosine: 94% at 0.3, 89% at 1, 96% at 0.03 (seeds 0-3), where whitened falls to 96.3%.
RIDGE = 0.3

#: Shrinkage of the within-identity covariance in the "whitened" metric.
WHITENING_SHRINKAGE = 0.1

_FRACTION = re.compile(r"^(block|noise):(0?\.\d+|1(\.0*)?|0)$")


def parse_condition(condition):
    """Check an occlusion condition string; returns ``(kind, fraction or None)``."""
    if not isinstance(condition, str):
        raise TypeError(f"condition: expected a string like 'block:0.25', got {condition!r}")
    if condition in ("clean", "sunglasses", "scarf"):
        return condition, None
    match = _FRACTION.match(condition)
    if match is None:
        raise ValueError(f"condition: unknown occlusion {condition!r}; valid forms are "
                         "clean, block:F, sunglasses, scarf, noise:F with 0 < F <= 1")
    fraction = float(condition.split(":")[1])
    if not 0 < fraction <= 1:
        raise ValueError(f"condition: the fraction in {condition!r} must be in (0, 1]")
    return match.group(1), fraction


def occlude(A, image_shape, condition, *, random_state=None):
    """Occluded copies of faces and the mask of what was covered.

    Parameters
    ----------
    A : array_like of shape (n_pixels, n_faces)
        Faces in [0, 1], one per column.
    image_shape : (int, int)
        ``(height, width)`` of the faces.
    condition : str
        ``"block:F"``: a black square covering fraction ``F`` of the face at a random place
        (each face its own); ``"sunglasses"``: a black band over the eyes (rows 25%-50% of
        the height); ``"scarf"``: a black block over the lower face (the bottom 40%);
        ``"noise:F"``: salt and pepper, fraction ``F`` of the pixels set to 0 or 1;
        ``"clean"``: no change.
    random_state : int, numpy Generator or None
        Seed for the block positions and the noise.

    Returns
    -------
    occluded : ndarray of float32, shape (n_pixels, n_faces)
    mask : ndarray of bool, shape (n_pixels, n_faces)
        True where a pixel was covered.
    """
    kind, fraction = parse_condition(condition)
    A = np.array(A, dtype=np.float32)
    h, w = image_shape
    if A.ndim != 2 or A.shape[0] != h * w:
        raise ValueError(f"A: expected shape ({h * w}, n_faces) for image_shape {image_shape}, "
                         f"got {A.shape}")
    rng = v.check_random_state("random_state", random_state)
    n = A.shape[1]
    mask = np.zeros((h, w, n), dtype=bool)
    if kind == "block":
        side_h = min(h, max(1, int(round(np.sqrt(fraction * h * w)))))
        side_w = min(w, max(1, int(round(fraction * h * w / side_h))))
        ys = rng.integers(0, h - side_h + 1, n)
        xs = rng.integers(0, w - side_w + 1, n)
        for j in range(n):
            mask[ys[j]:ys[j] + side_h, xs[j]:xs[j] + side_w, j] = True
    elif kind == "sunglasses":
        mask[int(0.25 * h):int(0.5 * h)] = True
    elif kind == "scarf":
        mask[int(0.6 * h):] = True
    elif kind == "noise":
        mask = rng.random((h, w, n)) < fraction
    mask = mask.reshape(h * w, n)
    if kind == "noise":
        A[mask] = (rng.random(int(mask.sum())) < 0.5).astype(np.float32)
    else:
        A[mask] = 0.0
    return A, mask


_CDIST = {"euclidean": "euclidean", "cosine": "cosine", "l1": "cityblock"}


def nearest_neighbours(gallery, labels, probes, *, metric="cosine", k=1):
    """Identity of each probe by a k-nearest-neighbour vote in feature space.

    Parameters
    ----------
    gallery : array_like of shape (n_features, n_gallery)
        Features of the gallery faces, one per column.
    labels : array_like of shape (n_gallery,)
        Their identities.
    probes : array_like of shape (n_features, n_probes)
        Features of the faces to identify.
    metric : {"euclidean", "cosine", "l1", "whitened"}
        ``"whitened"``: the cosine after whitening by the within-identity covariance of
        the gallery (see :func:`whitened_distances`); it learns from ``labels``.
    k : int
        Neighbours that vote; ties go to the identity with the nearest neighbour.

    Returns
    -------
    predicted : ndarray of shape (n_probes,)
        Predicted identities.
    nearest : ndarray of int, shape (n_probes,)
        Index of each probe's nearest gallery face.
    """
    v.check_choice("metric", metric, METRICS)
    gallery, probes = np.asarray(gallery), np.asarray(probes)
    labels = np.asarray(labels)
    k = v.check_int("k", k, low=1, high=gallery.shape[1])
    return _vote(_distances(gallery, probes, metric, labels), labels, k)


def whitened_distances(gallery, labels, probes, *, shrinkage=WHITENING_SHRINKAGE):
    """Cosine distances after whitening by the gallery's within-identity covariance.

    Features are centred on the gallery mean, divided by their within-identity standard
    deviations, and mapped by ``R^(-1/2)``, where ``R`` is the covariance of the gallery
    features about their identity means (after that division), shrunk towards the
    identity: ``(1 - shrinkage) R + shrinkage tr(R)/d I``. Directions in which one person's
    faces vary (lighting, expression) are shrunk and directions that tell people apart
    are stretched. Rescaling any feature first (NMF's components are only defined up to
    scale) leaves the distances unchanged. The shrinkage keeps ``R`` invertible when
    there are more features than gallery faces (raw pixels). ``d`` features and ``n``
    gallery faces cost ``O(d n min(d, n))``: nothing of size ``d x d`` is formed.

    Parameters
    ----------
    gallery : array_like of shape (n_features, n_gallery)
    labels : array_like of shape (n_gallery,)
    probes : array_like of shape (n_features, n_probes)
    shrinkage : float
        In (0, 1]; the default, 0.1, was chosen on ORL, where anything from 0.02 to 0.2
        gives the same accuracy.

    Returns
    -------
    ndarray of shape (n_gallery, n_probes)
        ``1 - cos`` of the whitened features, in [0, 2].
    """
    shrinkage = v.check_number("shrinkage", shrinkage, low=0, low_inclusive=False)
    if shrinkage > 1:
        raise ValueError(f"shrinkage: expected a number in (0, 1], got {shrinkage}")
    G = np.asarray(gallery, dtype=np.float64)
    P = np.asarray(probes, dtype=np.float64)
    labels = np.asarray(labels)
    if G.ndim != 2 or P.ndim != 2 or P.shape[0] != G.shape[0] or labels.shape != G.shape[1:]:
        raise ValueError(f"whitened_distances: expected gallery (d, n), labels (n,) and probes "
                         f"(d, m), got {G.shape}, {labels.shape} and {P.shape}")
    d, n = G.shape
    mean = G.mean(axis=1, keepdims=True)
    G, P = G - mean, P - mean
    Z = G.copy()
    for lab in np.unique(labels):
        cols = labels == lab
        Z[:, cols] -= Z[:, cols].mean(axis=1, keepdims=True)
    # Within-identity standard deviations; a feature that never varies within an identity
    # (a constant pixel, an unused component) is scaled like a typical one.
    sd = np.sqrt(np.mean(Z**2, axis=1))
    typical = sd.mean()
    sd = np.maximum(sd, 1e-3 * typical) if typical > 0 else np.ones_like(sd)
    G, P, Z = G / sd[:, None], P / sd[:, None], Z / sd[:, None]
    # S = Z Zᵀ / n = U diag(s²/n) Uᵀ; shrunk: U diag(lam) Uᵀ + c (I - U Uᵀ).
    U, sv, _ = np.linalg.svd(Z, full_matrices=False)
    c = shrinkage * np.sum(sv**2) / (n * d)
    if c <= 0:  # no within-identity variation (one gallery face each): plain cosine
        c = 1.0
    lam = (1 - shrinkage) * sv**2 / n + c
    # <f(a), f(b)> = aᵀb / c + (Uᵀa)ᵀ diag(1/lam - 1/c) (Uᵀb), with f = S^(-1/2).
    scale = 1 / lam - 1 / c
    UG, UP = U.T @ G, U.T @ P

    def gram(X, UX, Y, UY):
        return X.T @ Y / c + (UX * scale[:, None]).T @ UY

    def sq_norms(X, UX):
        return np.einsum("ij,ij->j", X, X) / c + np.einsum("ij,ij->j", UX * scale[:, None], UX)

    norms = np.sqrt(np.maximum(sq_norms(G, UG), 0))[:, None] * \
        np.sqrt(np.maximum(sq_norms(P, UP), 0))[None, :]
    cos = gram(G, UG, P, UP) / np.maximum(norms, np.finfo(float).tiny)
    return 1 - np.clip(cos, -1, 1)


def _distances(gallery, probes, metric, labels):
    """Distances ``(n_gallery, n_probes)`` between feature columns."""
    if metric == "whitened":
        return whitened_distances(gallery, labels, probes)
    from scipy.spatial.distance import cdist

    return cdist(np.asarray(gallery, dtype=np.float64).T, np.asarray(probes, dtype=np.float64).T,
                 _CDIST[metric])


def _vote(d, labels, k):
    order = np.argsort(d, axis=0, kind="stable")[:k]  # (k, n_probes), nearest first
    nearest = order[0]
    if k == 1:
        return labels[nearest], nearest
    predicted = np.empty(d.shape[1], dtype=labels.dtype)
    for j in range(d.shape[1]):
        votes = labels[order[:, j]]
        values, counts = np.unique(votes, return_counts=True)
        best = values[counts == counts.max()]
        # Ties: the tied identity whose first neighbour comes first.
        predicted[j] = next(lab for lab in votes if lab in best)
    return predicted, nearest


# -- features ------------------------------------------------------------------------------
# ``probes`` returns the hypotheses for the probes' features: ``[(features, penalty), ...]``,
# the main one first with penalty 1 (see _distance_sets).
class _BasisFeatures:
    """Features from a non-negative basis ``self.W`` (set by the subclass with
    ``self.gallery``): clean and known-mask probes by ``_project``; unknown masks by the
    robust projection plus the four half-face hypotheses."""

    image_shape = None

    def _project(self, A, mask=None):
        return _project(A, self.W, mask)

    def _robust(self, A):
        """Weights of probes with unknown occlusions: projected without the outliers."""
        return self._project(A, robust_project(A, self.W, image_shape=self.image_shape)[1])

    def probes(self, A, mask, mask_mode):
        if mask_mode == "known":
            return [(self._project(A, mask), 1.0)]
        if mask_mode == "unknown":
            return [(self._robust(A), 1.0)] + [(self._project(A, ~half), HALF_FACE_PENALTY)
                                               for half in half_faces(self.image_shape)]
        return [(self._project(A), 1.0)]


class _NMFFeatures(_BasisFeatures):
    def __init__(self, train, labels, rank, options):
        model = NMF(rank, **options).fit(train)
        self.W, self.gallery = model.W, model.H

    def _robust(self, A):
        # robust_project's weights are already the projection without its outliers.
        return robust_project(A, self.W, image_shape=self.image_shape)[0]


def _ridge_project(A, W, mask=None, strength=RIDGE):
    """Exact ``argmin_{h >= 0} ||a - W h||² + mu ||h||²`` over the unmasked pixels of each
    face, with ``mu = strength ||W_v||² / rank``, ``W_v`` the rows of ``W`` at the face's
    unmasked pixels (for a whole face, ``tr(WᵀW) / rank``): the penalty keeps its weight
    against the data term when part of the face is hidden."""
    sq = np.einsum("ij,ij->i", W, W, dtype=np.float64)  # each pixel's share of tr(WᵀW)
    if mask is None:
        energy = sq.sum()
    elif mask.ndim == 1:
        energy = sq[~mask].sum()
    else:
        energy = sq.sum() - sq @ mask
    return _project(A, W, mask, ridge=strength * energy / W.shape[1])


def _supervised_basis(train, labels, rank, options, weight=IDENTITY_WEIGHT):
    """The pixel rows of the NMF basis of the training faces stacked over their one-hot
    identities, those weighted by ``weight`` times the mean norm of a training face."""
    onehot = (labels[None, :] == np.unique(labels)[:, None]).astype(train.dtype)
    scale = weight * float(np.linalg.norm(train, axis=0).mean())
    return NMF(rank, **options).fit(np.vstack([train, scale * onehot])).W[: train.shape[0]]


class _SNMFFeatures(_BasisFeatures):
    """Supervised NMF with ridge projections (see METHODS)."""

    def __init__(self, train, labels, rank, options):
        self.W = _supervised_basis(train, labels, rank, options)
        self.gallery = self._project(train)

    def _project(self, A, mask=None):
        return _ridge_project(A, self.W, mask)


class _PCAFeatures:
    def __init__(self, train, labels, rank, options):
        self.mean = train.mean(axis=1, keepdims=True, dtype=np.float64)
        X = train - self.mean
        # Eigenfaces from the Gram matrix of the (few) training faces.
        evals, evecs = np.linalg.eigh(X.T @ X)
        top = np.argsort(evals)[::-1][:rank]
        U = X @ evecs[:, top]
        self.U = U / np.maximum(np.linalg.norm(U, axis=0), 1e-300)
        self.gallery = self.U.T @ X

    def probes(self, A, mask, mask_mode):
        X = A - self.mean
        if mask_mode != "known":
            return [(self.U.T @ X, 1.0)]
        # Least squares on the pixels that are seen: (U_kᵀU_k) c = U_kᵀ x_k, where
        # U_kᵀU_k = I - U_oᵀU_o over the covered pixels o (U has orthonormal columns).
        U = self.U
        rhs = U.T @ np.where(mask, 0.0, X)
        G = np.stack([np.eye(U.shape[1]) - U[mask[:, j]].T @ U[mask[:, j]]
                      for j in range(A.shape[1])])
        return [(np.linalg.solve(G, rhs.T[:, :, None])[:, :, 0].T, 1.0)]


class _RawFeatures:
    def __init__(self, train, labels, rank, options):
        self.gallery = train

    def probes(self, A, mask, mask_mode):
        return [(A, 1.0)]


def _distance_sets(method, features, hypotheses, mask, mask_mode, metrics, labels):
    """``{metric: distances (n_gallery, n_probes)}`` for one method and probe set.

    With several hypotheses ``[(features, penalty), ...]``, each probe is described by the
    hypothesis whose nearest gallery face by cosine distance, times its penalty, is
    nearest, whatever the metrics: the choice is made once (a whitened metric, learned on
    whole faces, would judge half faces too harshly).
    """
    X = hypotheses[0][0]
    if len(hypotheses) > 1:
        score = np.stack([pen * _distances(features.gallery, Xh, "cosine", labels).min(axis=0)
                          for Xh, pen in hypotheses])
        best = np.argmin(score, axis=0)
        X = np.stack([Xh for Xh, _ in hypotheses])[best, :, np.arange(X.shape[1])].T
    return _hypothesis_distances(method, features, X, mask, mask_mode, metrics, labels)


def _hypothesis_distances(method, features, probes, mask, mask_mode, metrics, labels):
    G, P = features.gallery, probes
    if not (method == "raw" and mask_mode == "known"):
        return {m: _distances(G, P, m, labels) for m in metrics}
    # Raw pixels with a known mask: compare only the pixels each probe shows (probes with
    # the same mask, e.g. sunglasses, in one go).
    out = {m: np.empty((G.shape[1], P.shape[1])) for m in metrics}
    keys = np.packbits(mask, axis=0)
    _, first, inverse = np.unique(keys, axis=1, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    for g, j0 in enumerate(first):
        cols = np.flatnonzero(inverse == g)
        keep = ~mask[:, j0]
        for m in metrics:
            out[m][:, cols] = _distances(G[keep], P[np.ix_(keep, cols)], m, labels)
    return out


_FEATURES = {"nmf": _NMFFeatures, "snmf": _SNMFFeatures, "pca": _PCAFeatures,
             "raw": _RawFeatures}


# -- experiments ---------------------------------------------------------------------------
@dataclass
class RecognitionReport:
    """Accuracies of every method x metric x condition over the same splits.

    Attributes
    ----------
    results : list of dict
        One per (method, condition, mask, metric): ``method``, ``condition``, ``mask``
        ("known", "unknown" or None for clean probes), ``metric``, ``k``, ``rank``,
        ``mean`` and ``std`` of the accuracy over the splits, ``splits`` and
        ``accuracies``.
    protocol : dict
        How the faces were split (name, train faces per identity, number of splits, seed).
    rank : int
    seconds : dict
        Wall time spent per method (features and classification), and in total.
    examples : dict
        From the first split, for figures: ``probe_index`` (the probes' indices into the
        FaceSet), ``metric`` (the first metric, by which the neighbours below were found)
        and ``conditions``, one dict per probe condition in order (``"clean"`` first):
        ``condition``, ``mask``, ``probes`` (the probes as the recognizer saw them, of shape
        (n_pixels, n_probes)), and per method ``nearest`` (each probe's nearest gallery
        face, an index into the FaceSet) and ``correct`` (whether it was right).
    """

    results: list
    protocol: dict
    rank: int
    seconds: dict
    examples: dict = field(default_factory=dict, repr=False)

    def table(self):
        """The results as a markdown table (method x metric x condition)."""
        lines = ["| method | condition | mask | metric | k | accuracy (mean ± std) | splits |",
                 "|---|---|---|---|---:|---:|---:|"]
        for r in self.results:
            lines.append(f"| {r['method']} | {r['condition']} | {r['mask'] or '-'} | "
                         f"{r['metric']} | {r['k']} | {100 * r['mean']:.1f}% ± "
                         f"{100 * r['std']:.1f} | {r['splits']} |")
        return "\n".join(lines)

    def to_json(self):
        """A JSON-ready dict: ``{"results": [...], "protocol": ..., "rank": ..., ...}``."""
        return {"results": [{key: val for key, val in r.items()} for r in self.results],
                "protocol": self.protocol, "rank": self.rank, "seconds": self.seconds}


def _protocol_folds(faces, protocol, train_per_identity, n_splits, random_state):
    """Yield (train indices, test indices) for each fold."""
    labels = np.asarray(faces.labels)
    if protocol == "split":
        rng = v.check_random_state("random_state", random_state)
        for _ in range(n_splits):
            train, test = faces._split_indices(train_per_identity, rng)
            yield np.asarray(train), np.asarray(test)
        return
    # Leave-one-out per identity: fold i holds out the i-th face of every identity.
    positions = np.empty(len(labels), dtype=int)
    for lab in np.unique(labels):
        idx = np.flatnonzero(labels == lab)
        positions[idx] = np.arange(idx.size)
    for i in range(positions.max() + 1):
        test = np.flatnonzero(positions == i)
        train = np.flatnonzero(positions != i)
        yield train, test


def _faces_of(name, count):
    name = name.item() if isinstance(name, np.generic) else name
    return f"{name!r}, {count} face{'s' if count != 1 else ''}"


def _check_identities(labels, protocol, train_per_identity):
    """Refuse labels with fewer than 2 identities, or identities with too few faces for the
    protocol (``train_per_identity`` gallery faces and a probe; or 2 for leave-one-out)."""
    names, counts = np.unique(np.asarray(labels), return_counts=True)
    if names.size < 2:
        found = f" ({_faces_of(names[0], counts[0])})" if names.size else ""
        raise ValueError(f"faces: recognition needs at least 2 identities, found "
                         f"{names.size}{found}")
    need = train_per_identity + 1 if protocol == "split" else 2
    short = np.flatnonzero(counts < need)
    if short.size:
        how = (f"the split protocol needs {need} faces of each identity "
               f"(train_per_identity={train_per_identity} in the gallery and a probe)"
               if protocol == "split" else "the leave-one-out protocol needs 2 faces of each "
               "identity (one held out, one in the gallery)")
        shown = "; ".join(f"({_faces_of(names[i], counts[i])})" for i in short[:3])
        raise ValueError(f"faces: {how}, found {short.size} of {names.size} identities with "
                         f"fewer: {shown}{'; ...' if short.size > 3 else ''} "
                         f"(faces.select(min_faces={need}) keeps the others)")


def evaluate(faces, *, rank=49, methods=METHODS, metrics=DEFAULT_METRICS, k=1,
             protocol="split", train_per_identity=5, n_splits=10, random_state=0,
             conditions=("clean",), mask="unknown", nmf_options=None, progress=None):
    """Identify faces by nearest neighbour with NMF, PCA and raw pixels on the same splits.

    Parameters
    ----------
    faces : FaceSet
        Faces with identity labels (``faces.labels``) and ``faces.image_shape``.
    rank : int
        Basis images for NMF and eigenfaces for PCA.
    methods : sequence of {"nmf", "snmf", "pca", "raw"}
        Default: all of them.
    metrics : sequence of {"euclidean", "cosine", "l1", "whitened"}
        Default :data:`DEFAULT_METRICS`. ``"whitened"`` learns a metric from the gallery's
        identities, the same way for every method (see :func:`whitened_distances`).
    k : int
        Neighbours that vote.
    protocol : {"split", "leave-one-out"}
        ``"split"``: ``n_splits`` seeded random splits with ``train_per_identity`` training
        faces of each identity (the gallery) and the rest as probes; ``"leave-one-out"``:
        fold ``i`` holds out the ``i``-th face of every identity (as many folds as faces
        per identity).
    conditions : sequence of str
        Probe conditions, see :func:`occlude`; "clean" is always included first.
    mask : {"unknown", "known"}
        For occluded probes: whether the recognizer is told which pixels are covered.
        Unknown: NMF describes each probe by its robust projection or, if that lies
        clearly farther from the gallery, by the projection of one half of the face (see
        the module's description); the baselines use every pixel.
    nmf_options : dict, optional
        Extra arguments of :class:`facenmf.NMF` (solver, max_iter, random_state, ...).
    progress : callable, optional
        ``progress(done, total)`` after each fold.

    Returns
    -------
    RecognitionReport

    Raises
    ------
    ValueError
        Faces without labels, of fewer than 2 identities, or with an identity of too few
        faces for the protocol (checked first); a rank above the training faces of a fold
        or the pixels of a face; unknown methods, metrics, conditions.
    """
    if faces.labels is None:
        raise ValueError("faces: recognition needs identity labels; this FaceSet has none")
    v.check_choice("protocol", protocol, ("split", "leave-one-out"))
    train_per_identity = v.check_int("train_per_identity", train_per_identity, low=1)
    # The data before any setting that depends on it (rank): one identity would score 100%.
    _check_identities(faces.labels, protocol, train_per_identity)
    methods = tuple(methods)
    for m in methods:
        v.check_choice("methods", m, METHODS)
    metrics = tuple(metrics)
    for m in metrics:
        v.check_choice("metrics", m, METRICS)
    v.check_choice("mask", mask, ("unknown", "known"))
    conditions = ("clean",) + tuple(c for c in conditions if c != "clean")
    for c in conditions:
        parse_condition(c)
    n_splits = v.check_int("n_splits", n_splits, low=1)
    k = v.check_int("k", k, low=1)
    options = {"random_state": 0, **(nmf_options or {})}
    v.check_callable("progress", progress)

    v.check_random_state("random_state", random_state)
    seed = random_state if isinstance(random_state, int) else \
        int(np.random.default_rng(random_state).integers(2**31))
    A = np.asarray(faces.A, dtype=np.float32)
    labels = np.asarray(faces.labels)
    folds = list(_protocol_folds(faces, protocol, train_per_identity, n_splits, seed))
    rank = v.check_int("rank", rank, low=1)
    n_train = min(len(t) for t, _ in folds)
    if rank > min(A.shape[0], n_train):
        raise ValueError(f"rank: expected at most {min(A.shape[0], n_train)} (the "
                         + (f"{n_train} training faces of a fold" if n_train <= A.shape[0]
                            else f"{A.shape[0]} pixels of a face") + f"), got {rank}")
    acc = {}
    seconds = {m: 0.0 for m in methods}
    examples = {}
    start = time.perf_counter()
    for f, (train, test) in enumerate(folds):
        gal_labels, probe_labels = labels[train], labels[test]
        probes = {}
        for c in conditions:
            if c == "clean":
                probes[c] = (A[:, test], None)
            else:
                # One generator per (fold, condition): the same occlusions in every method.
                occ_rng = np.random.default_rng([seed, f, conditions.index(c)])
                probes[c] = occlude(A[:, test], faces.image_shape, c, random_state=occ_rng)
        if f == 0:  # for figures: every condition's probes and neighbours (first metric)
            shown = {c: {"condition": c, "mask": None if c == "clean" else mask,
                         "probes": probes[c][0], "nearest": {}, "correct": {}}
                     for c in conditions}
            examples.update(probe_index=test, metric=metrics[0],
                            conditions=list(shown.values()))
        for method in methods:
            t = time.perf_counter()
            feats = _FEATURES[method](A[:, train], gal_labels, rank, options)
            feats.image_shape = faces.image_shape
            for c, (P, M) in probes.items():
                mode = None if c == "clean" else mask
                X = feats.probes(P, M, mode)
                dists = _distance_sets(method, feats, X, M, mode, metrics, gal_labels)
                for metric in metrics:
                    predicted, nearest = _vote(dists[metric], gal_labels, k)
                    acc.setdefault((method, c, mode, metric), []).append(
                        float(np.mean(predicted == probe_labels)))
                    if f == 0 and metric == metrics[0]:
                        ex = shown[c]
                        ex["nearest"][method] = train[nearest]
                        ex["correct"][method] = predicted == probe_labels
            seconds[method] += time.perf_counter() - t
        if progress is not None:
            progress(f + 1, len(folds))
    seconds["total"] = time.perf_counter() - start
    results = [{"method": method, "condition": c, "mask": mode, "metric": metric, "k": k,
                "rank": rank, "mean": float(np.mean(a)), "std": float(np.std(a)),
                "splits": len(a), "accuracies": a}
               for (method, c, mode, metric), a in acc.items()]
    proto = {"name": protocol, "train_per_identity": train_per_identity if protocol == "split"
             else None, "splits": len(folds), "random_state": random_state,
             "n_faces": int(A.shape[1]), "n_identities": int(np.unique(labels).size),
             "image_shape": list(faces.image_shape)}
    return RecognitionReport(results=results, protocol=proto, rank=rank,
                             seconds={m: round(s, 3) for m, s in seconds.items()},
                             examples=examples)


def accuracy_vs_rank(faces, ranks, **kwargs):
    """Run :func:`evaluate` at each rank; returns ``[(rank, RecognitionReport), ...]``."""
    return [(int(r), evaluate(faces, rank=r, **kwargs)) for r in ranks]
