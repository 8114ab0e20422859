"""Distances between feature columns, the learned ("whitened") metric, the neighbour vote."""

from __future__ import annotations

import numpy as np

from .. import _validation as v

__all__ = ["METRICS", "DEFAULT_METRICS", "nearest_neighbours", "whitened_distances",
           "whitened_many", "ledoit_wolf_shrinkage", "distances", "vote"]

METRICS = ("euclidean", "cosine", "l1", "whitened")
#: The metrics reported unless told otherwise: the classic one and the learned one.
DEFAULT_METRICS = ("cosine", "whitened")

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
    return vote(distances(gallery, probes, metric, labels), labels, k)


def ledoit_wolf_shrinkage(Z):
    """Ledoit & Wolf's estimate of the best shrinkage of the covariance ``S = Z Zᵀ / n``
    of the columns of ``Z`` (d, n), already centred, towards ``tr(S)/d I``.

    The intensity minimizing the expected squared Frobenius error of
    ``(1 - s) S + s tr(S)/d I``, estimated from the data: ``s = min(1, b² / d²)`` with
    ``d² = ||S - mu I||² / d`` and ``b² = sum_k ||z_k z_kᵀ - S||² / (n² d)``. Computed from
    the ``n x n`` Gram matrix (``||S||² = ||ZᵀZ||² / n²``,
    ``sum_k ||z_k z_kᵀ - S||² = sum_k ||z_k||⁴ - n ||S||²``): nothing of size ``d x d``.

    References
    ----------
    O. Ledoit and M. Wolf, "A well-conditioned estimator for large-dimensional covariance
    matrices", Journal of Multivariate Analysis 88(2), 365-411, 2004.
    doi:10.1016/S0047-259X(03)00096-4
    """
    d, n = Z.shape
    K = Z.T @ Z
    sq = np.diagonal(K)  # ||z_k||²
    mu = sq.sum() / (n * d)
    S2 = float(np.sum(K * K)) / n**2  # ||S||_F²
    delta2 = (S2 - 2 * mu * sq.sum() / n + mu**2 * d) / d  # ||S - mu I||² / d
    beta2 = max(0.0, float(np.sum(sq**2)) - n * S2) / (n**2 * d)
    if delta2 <= 0:
        return 1.0
    return float(min(1.0, beta2 / delta2))


def whitened_distances(gallery, labels, probes, *, shrinkage="auto"):
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
    shrinkage : float or "auto"
        In (0, 1]; ``"auto"`` (the default) estimates it from the gallery by Ledoit &
        Wolf's formula (:func:`ledoit_wolf_shrinkage`, of the within-identity deviations
        after the division by their standard deviations), at least 1e-3 so that ``R``
        stays invertible.

    Returns
    -------
    ndarray of shape (n_gallery, n_probes)
        ``1 - cos`` of the whitened features, in [0, 2].
    """
    if not (isinstance(shrinkage, str) and shrinkage == "auto"):
        shrinkage = v.check_number("shrinkage", shrinkage, low=0, low_inclusive=False, high=1)
    return whitened_many(gallery, labels, probes, (shrinkage,))[0]


def whitened_many(gallery, labels, probes, shrinkages):
    """:func:`whitened_distances` at each of ``shrinkages`` (checked by the caller), from one
    decomposition of the gallery: a list of arrays (n_gallery, n_probes)."""
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
    UG, UP = U.T @ G, U.T @ P
    GP = G.T @ P
    sqG, sqP = np.einsum("ij,ij->j", G, G), np.einsum("ij,ij->j", P, P)
    out = []
    for shrinkage in shrinkages:
        if isinstance(shrinkage, str):
            shrinkage = max(1e-3, ledoit_wolf_shrinkage(Z))
        c = shrinkage * np.sum(sv**2) / (n * d)
        if c <= 0:  # no within-identity variation (one gallery face each): plain cosine
            c = 1.0
        lam = (1 - shrinkage) * sv**2 / n + c
        # <f(a), f(b)> = aᵀb / c + (Uᵀa)ᵀ diag(1/lam - 1/c) (Uᵀb), with f = S^(-1/2).
        scale = (1 / lam - 1 / c)[:, None]
        inner = GP / c + (UG * scale).T @ UP
        norms = np.sqrt(np.maximum(sqG / c + np.einsum("ij,ij->j", UG * scale, UG), 0))[:, None] \
            * np.sqrt(np.maximum(sqP / c + np.einsum("ij,ij->j", UP * scale, UP), 0))[None, :]
        cos = inner / np.maximum(norms, np.finfo(float).tiny)
        out.append(1 - np.clip(cos, -1, 1))
    return out


def distances(gallery, probes, metric, labels, shrinkage="auto"):
    """Distances ``(n_gallery, n_probes)`` between feature columns (``shrinkage``: of the
    whitened metric)."""
    if metric == "whitened":
        return whitened_distances(gallery, labels, probes, shrinkage=shrinkage)
    from scipy.spatial.distance import cdist

    return cdist(np.asarray(gallery, dtype=np.float64).T, np.asarray(probes, dtype=np.float64).T,
                 _CDIST[metric])


def vote(d, labels, k):
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

