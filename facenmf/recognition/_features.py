"""Feature methods: NMF, supervised NMF, PCA and raw pixels, and the choice among a probe's
hypotheses (robust projection or one half of the face).

Every method is a class built as ``Method(train, labels, rank, options)`` from the training
faces (n_pixels, n_gallery), their labels (n_gallery,), the rank and the keyword arguments
of :class:`facenmf.NMF`. It holds ``gallery``, the gallery's features (n_features,
n_gallery), and ``probes(A, mask, mask_mode)`` returns the hypotheses for the features of
probes ``A`` (n_pixels, n_probes): ``[(features, penalty), ...]``, the main one first with
penalty 1 (see :func:`distance_sets`). :data:`FEATURES` maps each of :data:`METHODS` to its
class.
"""

from __future__ import annotations

import numpy as np

from ..nmf import NMF, SOLVERS, project_unchecked
from ._distances import distances
from ._robust import half_faces, robust_project

__all__ = ["METHODS", "FEATURES", "VARIANTS", "ridge_project", "supervised_basis",
           "distance_sets", "chosen_hypotheses", "BasisFeatures", "NMFFeatures",
           "SNMFFeatures", "PCAFeatures", "RawFeatures", "VariantFeatures"]

#: "nmf": the basis of the training faces, exact projections. "snmf": supervised NMF — the
#: basis of the training faces stacked over their one-hot identities (weight
#: ``identity_weight``), so that the weights must tell people apart, with ridge projections
#: (strength ``ridge``). "pca": eigenfaces. "raw": the pixels. :func:`evaluate` and
#: ``facenmf recognize`` run them all unless told otherwise.
METHODS = ("nmf", "snmf", "pca", "raw")

#: The face NMF variants, each a solver of :data:`facenmf.SOLVERS` (:class:`VariantFeatures`):
#: method name -> whether it needs the gallery's labels. Run when asked for by name
#: (``methods=`` / ``--method``).
VARIANTS = {"nmfsc": False, "lnmf": False, "gnmf": False, "dnmf": True}


class BasisFeatures:
    """Features from a non-negative basis ``self.W`` (n_pixels, rank), set by the subclass
    with ``self.gallery``: clean and known-mask probes by :meth:`project`; unknown masks by
    the robust projection plus the four half-face hypotheses, each counted
    ``half_face_penalty`` times (set by :func:`evaluate`, like ``image_shape`` and
    ``robust_keep``, the fraction of pixels the robust projection's first stage keeps)."""

    image_shape = None
    half_face_penalty = 1.0
    robust_keep = 0.7
    #: Options of the basis (constructor arguments) and of the projections (attributes)
    #: that inner cross-validation may choose (see :mod:`._tuning`).
    basis_settings = ("rank",)
    settings = ("half_face_penalty",)

    def outliers(self, A):
        """The robust projection's outlier masks of faces ``A`` on ``W``, remembered for
        the last ``A`` (the settings that do not change ``W`` reuse them)."""
        last = getattr(self, "_outliers", None)
        if last is None or last[0] is not A or last[1] != self.robust_keep:
            self._outliers = A, self.robust_keep, robust_project(
                A, self.W, image_shape=self.image_shape, keep=self.robust_keep)
        return self._outliers[2]

    def project(self, A, mask=None):
        """Weights (rank, n_faces) of faces ``A`` (n_pixels, n_faces) on ``W``, ignoring
        the pixels where ``mask`` (n_pixels,) or (n_pixels, n_faces) is True."""
        return project_unchecked(A, self.W, mask)

    def _robust(self, A):
        """Weights of probes with unknown occlusions: projected without the outliers."""
        return self.project(A, self.outliers(A)[1])

    def probes(self, A, mask, mask_mode):
        """The hypotheses ``[(features, penalty), ...]`` for probes ``A`` (n_pixels,
        n_probes): ``mask_mode`` None (clean), ``"known"`` (``mask`` ignored pixels) or
        ``"unknown"`` (the robust projection, then one hypothesis per half face)."""
        if mask_mode == "known":
            return [(self.project(A, mask), 1.0)]
        if mask_mode == "unknown":
            return [(self._robust(A), 1.0)] + [(self.project(A, ~half), self.half_face_penalty)
                                               for half in half_faces(self.image_shape)]
        return [(self.project(A), 1.0)]


class NMFFeatures(BasisFeatures):
    """Method "nmf": the NMF basis of the training faces (:class:`facenmf.NMF` with ``options``),
    exact projections; the gallery is the fit's ``H``."""

    def __init__(self, train, labels, rank, options):
        model = NMF(rank, **options).fit(train)
        self.W, self.gallery = model.W, model.H

    def _robust(self, A):
        # robust_project's weights are already the projection without its outliers.
        return self.outliers(A)[0]


def ridge_project(A, W, mask=None, strength=0.0):
    """Exact ``argmin_{h >= 0} ||a - W h||² + mu ||h||²`` over the unmasked pixels of each
    face, with ``mu = strength ||W_v||² / rank``, ``W_v`` the rows of ``W`` at the face's
    unmasked pixels (for a whole face, ``tr(WᵀW) / rank``): the penalty keeps its weight
    against the data term when part of the face is hidden.

    ``A`` (n_pixels, n_faces) and ``W`` (n_pixels, rank) are non-negative, finite and of
    one float dtype (not checked); ``mask`` is None or boolean of shape (n_pixels,) or
    (n_pixels, n_faces), True where a pixel is ignored. Returns ``H`` (rank, n_faces).
    ``strength=inf`` gives the limit, rescaled: ``max(0, W_vᵀ a_v) rank / ||W_v||²``
    (as ``mu`` grows the weights decouple; the scale of ``h`` only, not its direction,
    depends on ``strength`` then).
    """
    sq = np.einsum("ij,ij->i", W, W, dtype=np.float64)  # each pixel's share of tr(WᵀW)
    if mask is None:
        energy = sq.sum()
    elif mask.ndim == 1:
        energy = sq[~mask].sum()
    else:
        energy = sq.sum() - sq @ mask
    if np.isinf(strength):
        seen = A if mask is None else np.where(mask if mask.ndim == 2 else mask[:, None], 0, A)
        scale = (W.shape[1] / np.maximum(energy, np.finfo(np.float64).tiny)).astype(W.dtype)
        return np.maximum(W.T @ seen, 0) * scale
    return project_unchecked(A, W, mask, ridge=strength * energy / W.shape[1])


def supervised_basis(train, labels, rank, options, weight=1.0):
    """The pixel rows of the NMF basis of the training faces stacked over their one-hot
    identities, those weighted by ``weight`` times the mean norm of a training face (so
    that at ``weight=1`` a face's identity row weighs as much as its pixels).

    ``train`` (n_pixels, n_faces), ``labels`` (n_faces,), ``options`` the keyword arguments
    of :class:`facenmf.NMF`. Returns ``W`` of shape (n_pixels, rank).
    """
    onehot = (labels[None, :] == np.unique(labels)[:, None]).astype(train.dtype)
    scale = weight * float(np.linalg.norm(train, axis=0).mean())
    return NMF(rank, **options).fit(np.vstack([train, scale * onehot])).W[: train.shape[0]]


class SNMFFeatures(BasisFeatures):
    """Method "snmf": supervised NMF (:func:`supervised_basis` with ``identity_weight``) with
    ridge projections of strength ``ridge`` (an attribute: changing it re-projects the
    gallery, not the basis)."""

    ridge = 0.0
    basis_settings = ("rank", "identity_weight")
    settings = ("half_face_penalty", "ridge")

    def __init__(self, train, labels, rank, options, identity_weight=1.0):
        self.W = supervised_basis(train, labels, rank, options, weight=identity_weight)
        self.train, self._galleries = train, {}

    @property
    def gallery(self):
        if self.ridge not in self._galleries:
            self._galleries[self.ridge] = self.project(self.train)
        return self._galleries[self.ridge]

    def project(self, A, mask=None):
        """Ridge projections (:func:`ridge_project`, strength ``ridge``) on ``W``."""
        return ridge_project(A, self.W, mask, self.ridge)


class PCAFeatures:
    """Method "pca": eigenfaces of the training faces, ``rank`` of them (``U``, about the mean
    face); probes with a known mask are fitted by least squares on their seen pixels."""

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


class RawFeatures:
    """Method "raw": the pixels themselves."""

    basis_settings = ()

    def __init__(self, train, labels, rank, options):
        self.gallery = train

    def probes(self, A, mask, mask_mode):
        return [(A, 1.0)]


def distance_sets(method, features, hypotheses, mask, mask_mode, metrics, labels,
                  shrinkage="auto"):
    """``{metric: distances (n_gallery, n_probes)}`` for one method and probe set
    (``shrinkage``: of the whitened metric, see :func:`whitened_distances`).

    With several hypotheses ``[(features, penalty), ...]``, each probe is described by the
    hypothesis whose nearest gallery face by cosine distance, times its penalty, is
    nearest, whatever the metrics: the choice is made once (a whitened metric, learned on
    whole faces, would judge half faces too harshly).
    """
    X = chosen_hypotheses(features, hypotheses, labels)
    return _hypothesis_distances(method, features, X, mask, mask_mode, metrics, labels,
                                 shrinkage)


def chosen_hypotheses(features, hypotheses, labels):
    """Each probe's features from the hypothesis whose nearest gallery face by cosine
    distance, times its penalty, is nearest (see :func:`distance_sets`)."""
    X = hypotheses[0][0]
    if len(hypotheses) > 1:
        score = np.stack([pen * distances(features.gallery, Xh, "cosine", labels).min(axis=0)
                          for Xh, pen in hypotheses])
        best = np.argmin(score, axis=0)
        X = np.stack([Xh for Xh, _ in hypotheses])[best, :, np.arange(X.shape[1])].T
    return X


def _hypothesis_distances(method, features, probes, mask, mask_mode, metrics, labels,
                          shrinkage):
    G, P = features.gallery, probes
    if not (method == "raw" and mask_mode == "known"):
        return {m: distances(G, P, m, labels, shrinkage) for m in metrics}
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
            out[m][:, cols] = distances(G[keep], P[np.ix_(keep, cols)], m, labels,
                                        shrinkage)
    return out


class VariantFeatures(BasisFeatures):
    """A face NMF variant (``solver``, a name of :data:`facenmf.SOLVERS`; ``supervised``:
    fitted with the gallery's ``labels``) as a recognition method: its basis of the
    training faces with its default options and loss, the gallery and the probes described
    by the variant's own transform (exact for its objective with the basis fixed: NNLS for
    "nmfsc" and "gnmf", the LNMF and KL projections for "lnmf" and "dnmf"), masks passed to
    it; unknown masks through the robust projection's outliers, like "nmf".
    :func:`variant` makes the class of one variant."""

    solver = None
    supervised = False

    def __init__(self, train, labels, rank, options):
        kept = {k: x for k, x in options.items() if k not in ("solver", "loss", "solver_options")}
        self.model = NMF(rank, solver=self.solver, loss=SOLVERS[self.solver].losses[0],
                         solver_options={"labels": labels} if self.supervised else None,
                         **kept).fit(train)
        self.W = self.model.W
        self.gallery = self.project(train)

    def project(self, A, mask=None):
        return self.model.transform(A, mask=mask)


def variant(solver, supervised):
    """The :class:`VariantFeatures` of one solver."""
    return type(f"{solver.upper()}Features", (VariantFeatures,),
                {"solver": solver, "supervised": supervised, "__doc__":
                 f"Method {solver!r}: the {solver!r} solver (see :class:`VariantFeatures`)."})


FEATURES = {"nmf": NMFFeatures, "snmf": SNMFFeatures, "pca": PCAFeatures,
            "raw": RawFeatures, **{name: variant(name, sup) for name, sup in VARIANTS.items()}}
