"""Projection of faces onto a fixed basis: exact non-negative least squares."""

from __future__ import annotations

import numpy as np

from .. import _validation as v
from ._nnls import nnls_bpp
from ._sparse import is_sparse

__all__ = ["project", "project_unchecked"]

# Faces projected at a time by project_unchecked (8 blocks of 2048).
_CHUNK = 16384


def _warm_start(G, C):
    """Positive set of the unconstrained least-squares solution: a good first guess."""
    try:
        Z = np.linalg.solve(G, C) if G.ndim == 2 else np.linalg.solve(G, C.T[:, :, None])[:, :, 0].T
    except np.linalg.LinAlgError:
        return None
    return Z > 0


def project_unchecked(A, W, mask=None, *, H0=None, ridge=None, l1=None):
    """:func:`project` without the checks of its inputs, with a first guess and a ridge.

    For callers that project many times with inputs they have already checked (e.g.
    :func:`facenmf.recognition.robust_project`): ``A`` (n_pixels, n_faces) and ``W``
    (n_pixels, rank) non-negative, finite and of the same float dtype; ``mask`` None or a
    boolean array of shape (n_pixels,) or (n_pixels, n_faces), True where a pixel is ignored.

    Parameters
    ----------
    H0 : ndarray of shape (rank, n_faces), optional
        E.g. the weights of a previous projection: only guides the first guess of the
        positive entries; the solution is the same exact one without it.
    ridge : float or ndarray of shape (n_faces,), optional
        Adds ``ridge ||h||²`` to each face's objective ``||a - W h||²``.
    l1 : float, optional
        Adds ``2 l1 ||h||_1`` to it (``l1 ||h||_1`` to ``0.5 ||a - W h||²``; with ``ridge``
        the penalty of :func:`facenmf.nmf`'s ``H``, see :func:`project`).

    Returns
    -------
    H : ndarray of shape (rank, n_faces)
        Non-negative weights, in ``W``'s dtype.
    """
    k, m = W.shape[1], A.shape[1]
    if m > _CHUNK and (mask is None or mask.ndim == 1) and np.ndim(ridge) == 0:
        # Faces are independent: many at once in chunks, so that the float64 work arrays of
        # the solver stay a few times (rank, _CHUNK), not (rank, n_faces).
        H = np.empty((k, m), dtype=W.dtype)
        for s in range(0, m, _CHUNK):
            c = slice(s, s + _CHUNK)
            H[:, c] = project_unchecked(A[:, c], W, mask, H0=None if H0 is None else H0[:, c],
                                        ridge=ridge, l1=l1)
        return H
    active = np.flatnonzero(np.einsum("ij,ij->j", W, W) > 0)
    H = np.zeros((k, m), dtype=W.dtype)
    if mask is None:
        WtW = (W.T @ W).astype(np.float64)
        WtA = (W.T @ A).astype(np.float64)
        G, C = WtW[np.ix_(active, active)], WtA[active]
    else:
        Wa = W[:, active]
        if mask.ndim == 1:
            Wk = Wa[~mask]
            G = (Wk.T @ Wk).astype(np.float64)
            C = (Wk.T @ A[~mask]).astype(np.float64)
        else:
            known = A.multiply(~mask) if is_sparse(A) else np.where(mask, 0, A)
            C = (Wa.T @ known).astype(np.float64)
            G = _masked_grams(Wa, mask)
    if ridge is not None:
        ridge = np.asarray(ridge, dtype=np.float64)
        eye = np.eye(active.size)
        G = G + ridge * eye if ridge.ndim == 0 else G + ridge[:, None, None] * eye
    if l1:
        C = C - float(l1)
    if active.size:
        passive = H0[active] > 0 if H0 is not None else _warm_start(G, C)
        H[active] = nnls_bpp(G, C, passive=passive)
    return H


def _masked_grams(W, mask):
    """``Wᵀ diag(~mask_j) W`` for each face j (shared by faces with the same mask):
    ``WᵀW - W_oᵀ W_o`` over the ignored pixels ``o``."""
    G_all = (W.T @ W).astype(np.float64)
    keys = np.packbits(mask, axis=0)
    uniq, inverse = np.unique(keys, axis=1, return_inverse=True)
    inverse = inverse.reshape(-1)
    Gs = np.empty((uniq.shape[1], W.shape[1], W.shape[1]))
    for g in range(uniq.shape[1]):
        Wo = W[mask[:, np.flatnonzero(inverse == g)[0]]]
        Gs[g] = G_all - (Wo.T @ Wo).astype(np.float64)
    return Gs[0] if uniq.shape[1] == 1 else Gs[inverse]


def project(A, W, *, mask=None, alpha_H=0.0, l1_ratio=0.0):
    """Weights of faces on a fixed basis: ``argmin_{H >= 0} ||A - W H||_F``, exactly.

    Each column of ``H`` is the exact solution of a non-negative least-squares problem
    (block principal pivoting), so the result is deterministic and satisfies the KKT
    conditions to rounding; projecting the training faces onto a fitted basis reproduces
    the ``H`` of the fit.

    Parameters
    ----------
    A : array_like or scipy.sparse matrix of shape (n_pixels, n_faces)
        Faces, one flattened face per column, entries >= 0. A sparse ``A`` is used through
        ``Wᵀ A`` only (never densified).
    W : array_like of shape (n_pixels, rank)
        Basis images, entries >= 0. The computation runs in ``W``'s dtype (float32 or
        float64).
    mask : ndarray of bool, shape (n_pixels,) or (n_pixels, n_faces), optional
        True where a pixel is missing or occluded and must be ignored: the fit uses only
        the other pixels (one mask for every face, or one per face).
    alpha_H, l1_ratio : float
        The penalty on ``H`` of :func:`facenmf.nmf` (0: none): each face's weights ``h``
        minimize ``0.5 ||a - W h||² + alpha_H n_pixels (l1_ratio ||h||_1 + 0.5 (1 -
        l1_ratio) ||h||²)``, ``n_pixels`` being ``W``'s rows (as in a fit, where the
        penalty on ``H`` is scaled by the number of pixels; scikit-learn's ``transform``
        does the same with its ``alpha_W``). Still exact: an NNLS problem with a ridge and a
        shifted linear term.

    Returns
    -------
    H : ndarray of shape (rank, n_faces)
        Non-negative weights, in ``W``'s dtype.

    Raises
    ------
    ValueError
        If shapes disagree or entries are negative or not finite.
    TypeError
        If an argument has the wrong type.
    """
    W = np.asarray(W)
    dtype = W.dtype if W.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    W = v.check_nonnegative_matrix("W", W, dtype)
    A = v.check_nonnegative_matrix("A", A, dtype, shape=(W.shape[0], None), sparse=True)
    if mask is not None:
        mask = v.check_mask("mask", mask, A.shape)
    alpha_H = v.check_number("alpha_H", alpha_H, low=0)
    l1_ratio = v.check_number("l1_ratio", l1_ratio, low=0, high=1)
    n = W.shape[0]
    return project_unchecked(A, W, mask, ridge=alpha_H * (1 - l1_ratio) * n or None,
                             l1=alpha_H * l1_ratio * n or None)
