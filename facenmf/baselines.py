"""PCA and VQ (k-means) bases of faces, and the NMF/PCA/VQ bases compared side by side.

The one implementation of the baselines every comparison uses (no matplotlib here; the
figures are in :mod:`facenmf.view`). Conventions are the package's: ``A`` of shape
``(n_pixels, n_faces)`` holds one non-negative flattened face per column, and each basis is
an array of shape ``(n_pixels, rank)``, one basis image per column.

Examples
--------
>>> import numpy as np
>>> from facenmf import baselines
>>> A = np.random.default_rng(0).random((30, 12))
>>> {name: B.shape for name, B in baselines.method_bases(A, 4).items()}
{'NMF': (30, 4), 'PCA': (30, 4), 'VQ': (30, 4)}
"""

from __future__ import annotations

import warnings

import numpy as np

from . import _validation as v

__all__ = ["method_bases", "pca_basis", "vq_basis"]


def _check(A, rank, random_state):
    """Checks shared by the bases: ``A`` non-negative with 2+ faces, ``rank`` in range."""
    A = v.check_nonnegative_matrix("A", A, np.float64)
    n_pixels, n_faces = A.shape
    if n_faces < 2:
        raise ValueError(f"A: expected at least 2 faces (columns) to compare methods, "
                         f"got {n_faces}")
    rank = v.check_int("rank", rank, low=1, high=min(n_pixels, n_faces - 1))
    v.check_random_state("random_state", random_state)  # fail early, before the fits
    return A, rank


def _pca(A, rank):
    n_pixels, n_faces = A.shape
    C = A - A.mean(axis=1, keepdims=True)
    if n_faces < n_pixels:
        evals, V = np.linalg.eigh(C.T @ C)
        top = np.argsort(evals)[::-1][:rank]
        U = C @ V[:, top]
        norms = np.linalg.norm(U, axis=0)
        U /= np.where(norms > 0, norms, 1.0)
    else:
        U = np.linalg.svd(C, full_matrices=False)[0][:, :rank]
    peak = U[np.argmax(np.abs(U), axis=0), np.arange(rank)]
    U *= np.where(peak < 0, -1.0, 1.0)
    return U


def _vq(A, rank, random_state):
    from scipy.cluster.vq import kmeans2

    centroids, assigned = kmeans2(A.T, rank, minit="++",
                                  seed=np.random.default_rng(random_state))
    sizes = np.bincount(assigned, minlength=rank)
    W_vq = centroids.T[:, np.argsort(-sizes, kind="stable")]
    return np.ascontiguousarray(W_vq)


def pca_basis(A, rank):
    """Eigenfaces: the top ``rank`` principal directions of the faces.

    Parameters
    ----------
    A : array_like of shape (n_pixels, n_faces)
        Non-negative faces, one per column (at least 2).
    rank : int
        Number of eigenfaces, ``1 <= rank <= min(n_pixels, n_faces - 1)`` (centred data
        have at most ``n_faces - 1`` principal components).

    Returns
    -------
    ndarray of shape (n_pixels, rank)
        The top ``rank`` left singular vectors of the centred data (``A`` minus the mean
        face), unit norm, by decreasing variance, each signed so its largest-magnitude
        entry is positive.

    Raises
    ------
    ValueError
        Negative or non-finite ``A``, fewer than 2 faces, ``rank`` out of range.

    Notes
    -----
    Works on the smaller side: with fewer faces than pixels it diagonalizes the
    ``(n_faces, n_faces)`` Gram matrix of the centred faces and maps its eigenvectors back
    (``U = C V / s``).

    Examples
    --------
    >>> import numpy as np
    >>> U = pca_basis(np.random.default_rng(0).random((30, 12)), 3)
    >>> U.shape, bool(np.allclose(np.linalg.norm(U, axis=0), 1))
    ((30, 3), True)
    """
    A, rank = _check(A, rank, None)
    return _pca(A, rank)


def vq_basis(A, rank, random_state=0):
    """Vector quantization: k-means prototypes of the faces, largest cluster first.

    Parameters
    ----------
    A : array_like of shape (n_pixels, n_faces)
        Non-negative faces, one per column (at least 2).
    rank : int
        Number of prototypes, ``1 <= rank <= min(n_pixels, n_faces - 1)``.
    random_state : int, numpy.random.Generator or None
        Seed for the k-means initialization.

    Returns
    -------
    ndarray of shape (n_pixels, rank)
        Cluster means, ordered by decreasing cluster size (ties keep their order).

    Raises
    ------
    ValueError
        Negative or non-finite ``A``, fewer than 2 faces, ``rank`` out of range.

    Notes
    -----
    Uses ``scipy.cluster.vq.kmeans2`` with k-means++ seeding.

    Examples
    --------
    >>> import numpy as np
    >>> vq_basis(np.random.default_rng(0).random((30, 12)), 3).shape
    (30, 3)
    """
    A, rank = _check(A, rank, random_state)
    return _vq(A, rank, random_state)


#: Names of the face NMF variants in :func:`method_bases` (solver -> title).
VARIANT_NAMES = {"nmfsc": "NMFsc", "lnmf": "LNMF", "gnmf": "GNMF", "dnmf": "DNMF"}


def method_bases(A, rank, random_state=0, *, variants=(), labels=None, variant_options=None):
    """Rank-``rank`` bases of the faces by NMF, PCA and VQ (Lee & Seung 1999, Fig. 1).

    Parameters
    ----------
    A : array_like of shape (n_pixels, n_faces)
        Non-negative faces, one per column.
    rank : int
        Number of basis images per method, ``1 <= rank <= min(n_pixels, n_faces - 1)``
        (centred data have at most ``n_faces - 1`` principal components).
    random_state : int, numpy.random.Generator or None
        Seed for NMF and for the k-means initialization.
    variants : sequence of str
        Face NMF variants to add, by solver name: ``"nmfsc"`` (Hoyer 2004), ``"lnmf"`` (Li
        et al. 2001), ``"gnmf"`` (Cai et al. 2011), ``"dnmf"`` (Zafeiriou et al. 2006,
        needs ``labels``); each is ``facenmf.nmf(A, rank, solver=name)`` with its own loss
        (KL for LNMF, Frobenius for the others) and its default options updated by
        ``variant_options[name]``, keyed ``"NMFsc"``, ``"LNMF"``, ...
    labels : sequence, optional
        One identity per face, for ``"dnmf"`` (and ``"gnmf"`` with ``graph="identity"``).
    variant_options : dict of str to dict, optional
        ``solver_options`` per variant, e.g. ``{"nmfsc": {"sparseness_W": 0.75}}``.

    Returns
    -------
    dict of str to ndarray of shape (n_pixels, rank)
        ``"NMF"``: ``facenmf.nmf(A, rank)``'s ``W`` (unit-norm columns), most used first
        (by the row sums of ``H``); ``"PCA"``: eigenfaces, the top ``rank`` left singular
        vectors of the centred data (``A`` minus the mean face), by decreasing variance,
        each signed so its largest-magnitude entry is positive (:func:`pca_basis`);
        ``"VQ"``: k-means prototypes of the faces (cluster means), largest cluster first
        (:func:`vq_basis`); then each variant's ``W`` in the order given, most used first.

    Raises
    ------
    ValueError
        Negative or non-finite ``A``, ``rank`` out of range.

    Notes
    -----
    PCA works on the smaller side: with fewer faces than pixels it diagonalizes the
    ``(n_faces, n_faces)`` Gram matrix of the centred faces and maps its eigenvectors back
    (``U = C V / s``). VQ uses ``scipy.cluster.vq.kmeans2`` with k-means++ seeding.

    References
    ----------
    D. D. Lee and H. S. Seung, "Learning the parts of objects by non-negative matrix
    factorization", Nature 401 (1999) 788-791, :doi:`10.1038/44565`.
    """
    from .nmf import SOLVERS, ConvergenceWarning, nmf

    variant_options = {} if variant_options is None else dict(variant_options)
    for name in (*variants, *variant_options):
        if name not in VARIANT_NAMES:
            raise ValueError(f"variants: unknown variant {name!r}; expected some of "
                             f"{sorted(VARIANT_NAMES)}")
    A, rank = _check(A, rank, random_state)

    def by_usage(fit):
        H = np.asarray(fit.H, dtype=np.float64)
        return np.asarray(fit.W)[:, np.argsort(-H.sum(axis=1), kind="stable")]

    bases = {"NMF": by_usage(nmf(A, rank, random_state=random_state)), "PCA": _pca(A, rank),
             "VQ": _vq(A, rank, random_state)}
    for name in variants:
        options = dict(variant_options.get(name, {}))
        if name == "dnmf" or (name == "gnmf" and options.get("graph") == "identity"):
            if labels is None:
                raise ValueError(f"labels: variant {name!r} needs one identity per face, got "
                                 "None")
            options["labels"] = labels
        with warnings.catch_warnings():  # a figure, not a converged fit: max_iter is fine
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit = nmf(A, rank, solver=name, loss=SOLVERS[name].losses[0],  # LNMF's is KL
                      random_state=random_state, solver_options=options)
        bases[VARIANT_NAMES[name]] = by_usage(fit)
    return bases
