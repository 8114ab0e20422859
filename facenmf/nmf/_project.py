"""Projection of faces onto a fixed basis: exact non-negative least squares."""

from __future__ import annotations

import numpy as np

from .. import _validation as v
from ._nnls import nnls_bpp

__all__ = ["project", "robust_project"]


def _warm_start(G, C):
    """Positive set of the unconstrained least-squares solution: a good first guess."""
    try:
        Z = np.linalg.solve(G, C) if G.ndim == 2 else np.linalg.solve(G, C.T[:, :, None])[:, :, 0].T
    except np.linalg.LinAlgError:
        return None
    return Z > 0


def _project(A, W, mask=None, H0=None, return_products=False, ridge=None):
    """Trusting core of :func:`project` (inputs already checked).

    ``H0`` (rank, n_faces), e.g. the weights of a fit, only guides the first guess of the
    positive entries; the solution is the same exact one without it. With
    ``return_products`` (no mask), also return ``WᵀA`` and ``WᵀW`` in float64, so that a
    caller can compute the error without forming them again. ``ridge`` (a number, or one
    per face) adds ``ridge ||h||²`` to each face's objective.
    """
    k, m = W.shape[1], A.shape[1]
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
            C = (Wa.T @ np.where(mask, 0, A)).astype(np.float64)
            G = _masked_grams(Wa, mask)
    if ridge is not None:
        ridge = np.asarray(ridge, dtype=np.float64)
        eye = np.eye(active.size)
        G = G + ridge * eye if ridge.ndim == 0 else G + ridge[:, None, None] * eye
    if active.size:
        passive = H0[active] > 0 if H0 is not None else _warm_start(G, C)
        H[active] = nnls_bpp(G, C, passive=passive)
    return (H, WtA, WtW) if return_products else H


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


def project(A, W, *, mask=None):
    """Weights of faces on a fixed basis: ``argmin_{H >= 0} ||A - W H||_F``, exactly.

    Each column of ``H`` is the exact solution of a non-negative least-squares problem
    (block principal pivoting), so the result is deterministic and satisfies the KKT
    conditions to rounding; projecting the training faces onto a fitted basis reproduces
    the ``H`` of the fit.

    Parameters
    ----------
    A : array_like of shape (n_pixels, n_faces)
        Faces, one flattened face per column, entries >= 0.
    W : array_like of shape (n_pixels, rank)
        Basis images, entries >= 0. The computation runs in ``W``'s dtype (float32 or
        float64).
    mask : ndarray of bool, shape (n_pixels,) or (n_pixels, n_faces), optional
        True where a pixel is missing or occluded and must be ignored: the fit uses only
        the other pixels (one mask for every face, or one per face).

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
    A = v.check_nonnegative_matrix("A", A, dtype, shape=(W.shape[0], None))
    if mask is not None:
        mask = v.check_mask("mask", mask, A.shape)
    return _project(A, W, mask)


def robust_project(A, W, *, image_shape=None, keep=0.7, threshold=3.0, max_iter=10):
    """Weights of faces whose occluded pixels are unknown: outliers found and ignored.

    Occlusions (sunglasses, a scarf, a hand) are pixels the basis cannot explain. Starting
    from a typical face in the span of ``W`` (``W @ 1``, scaled to each face by the median
    pixel ratio), the method alternates two steps: mark as outliers the pixels with the
    largest residuals (the ``1 - keep`` fraction), project exactly with those pixels
    masked, until the outlier set stops changing; then, the same way, it marks the pixels
    whose residual exceeds ``threshold`` robust standard deviations (1.4826 x the median
    absolute residual of the current inliers) to those found so far, which lets the
    outliers grow past ``1 - keep`` when the occlusion is larger. A plain least-squares start would not
    do: a dark occlusion is "explained" by shrinking every weight, and the unoccluded
    pixels would look like the outliers. With ``image_shape`` known, each face may also
    start from the projection of one half of it (top, bottom, left or right), whichever
    fits its best-fitting pixels best: a scarf or sunglasses leave one half clean.

    Parameters
    ----------
    A : array_like of shape (n_pixels, n_faces)
        Faces, entries >= 0.
    W : array_like of shape (n_pixels, rank)
        Basis images, entries >= 0.
    image_shape : (int, int), optional
        ``(height, width)``: when given, each outlier mask is cleaned up as an image
        (morphological closing then opening), since real occlusions are contiguous.
    keep : float
        Fraction of pixels kept in the trimming steps, in (0, 1].
    threshold : float
        Final outlier threshold in robust standard deviations, > 0.
    max_iter : int
        Maximum steps of each of the two stages.

    Returns
    -------
    H : ndarray of shape (rank, n_faces)
        Weights, in ``W``'s dtype.
    outliers : ndarray of bool, shape (n_pixels, n_faces)
        The pixels found to be occluded (ignored by the last projection).
    """
    W = np.asarray(W)
    dtype = W.dtype if W.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    W = v.check_nonnegative_matrix("W", W, dtype)
    A = v.check_nonnegative_matrix("A", A, dtype, shape=(W.shape[0], None))
    keep = v.check_number("keep", keep, low=0, low_inclusive=False)
    if keep > 1:
        raise ValueError(f"keep: expected a fraction in (0, 1], got {keep}")
    threshold = v.check_number("threshold", threshold, low=0, low_inclusive=False)
    max_iter = v.check_int("max_iter", max_iter, low=1)
    if image_shape is not None:
        image_shape = tuple(v.check_int("image_shape", s, low=1) for s in image_shape)
        if len(image_shape) != 2 or image_shape[0] * image_shape[1] != W.shape[0]:
            raise ValueError(f"image_shape: expected (height, width) with {W.shape[0]} pixels, "
                             f"got {image_shape}")

    residual, H = _robust_start(A, W, image_shape, keep)

    def trimmed(size, mask):
        return size > np.quantile(size, keep, axis=0)

    def thresholded(size, mask):
        # Robust scale from the pixels currently taken as inliers.
        sigma = 1.4826 * _inlier_median(size, mask)
        return size > threshold * np.maximum(sigma, np.finfo(np.float32).eps)

    mask = np.zeros(A.shape, dtype=bool)
    for rule in (trimmed, thresholded):
        base = mask.copy()  # the threshold stage only adds to what trimming found
        # Faces whose outliers stopped changing are at a fixed point (the projection is
        # exact, so the same mask gives the same weights): only the others go on.
        todo = np.arange(A.shape[1])
        for it in range(max_iter):
            outliers = base[:, todo] | _clean(rule(np.abs(residual[:, todo]), mask[:, todo]),
                                              image_shape)
            if it > 0:
                changed = np.any(outliers != mask[:, todo], axis=0)
                todo, outliers = todo[changed], outliers[:, changed]
                if todo.size == 0:
                    break
            mask[:, todo] = outliers
            if H is None:  # no start from _robust_start: a first guess of its own
                H = _project(A, W, outliers)
            else:
                H[:, todo] = _project(A[:, todo], W, outliers, H0=H[:, todo])
            residual[:, todo] = A[:, todo] - W @ H[:, todo]
    return H, mask


def _inlier_median(size, mask):
    """Per column, the median of ``size`` over the entries where ``mask`` is False (NaN
    for a column with none), as ``np.nanmedian`` of the masked array but sorted once."""
    counts = size.shape[0] - mask.sum(axis=0)
    ordered = np.sort(np.where(mask, np.inf, size), axis=0)
    cols = np.arange(size.shape[1])
    lo = ordered[np.maximum((counts - 1) // 2, 0), cols]
    hi = ordered[np.maximum(counts // 2, 0), cols]
    return np.where(counts > 0, (lo + hi) / 2, np.nan)


def _trimmed_cost(residual, keep):
    """Per face: the mean of the ``keep`` fraction of smallest absolute residuals."""
    size = np.sort(np.abs(residual), axis=0)
    return size[: max(1, int(keep * size.shape[0]))].mean(axis=0)


def _robust_start(A, W, image_shape, keep):
    """A first fit that an occlusion cannot have pulled off: ``(residual, H or None)``.

    Candidates: a typical face (``W @ 1``, scaled to each face by the median pixel ratio)
    and, when the image shape is known, the exact projections of each half of the face
    (top, bottom, left, right) alone. Each face starts from the candidate whose
    ``keep`` fraction of best-fitting pixels fits best.
    """
    typical = W.sum(axis=1, dtype=np.float64)
    scale = np.median(A / np.maximum(typical, np.finfo(np.float32).tiny)[:, None], axis=0)
    best_res = A - typical[:, None] * scale[None, :]
    best_H = None
    if image_shape is None:
        return best_res, best_H
    best_cost = _trimmed_cost(best_res, keep)
    for half in half_faces(image_shape):
        H = _project(A, W, ~half)
        res = A - W @ H
        cost = _trimmed_cost(res, keep)
        better = cost < best_cost
        if better.any():
            best_res[:, better] = res[:, better]
            if best_H is None:
                best_H = np.zeros_like(H)
            best_H[:, better] = H[:, better]
            best_cost = np.where(better, cost, best_cost)
    return best_res, best_H


def half_faces(image_shape):
    """The top, bottom, left and right halves of a face, as flat boolean pixel masks."""
    h, w = image_shape
    rows, cols = np.indices(image_shape)
    return [half.reshape(-1) for half in
            (rows < h // 2, rows >= h // 2, cols < w // 2, cols >= w // 2)]


def _clean(outliers, image_shape):
    """Close small gaps in, then remove specks from, each face's outlier mask.

    The same as ``scipy.ndimage.binary_closing(img, iterations=2)`` then
    ``binary_opening(img, iterations=1)`` on each face's image (4-connected cross, pixels
    outside the image count as False), for all faces at once: on a stack of masks, scipy
    spends most of its time on the faces axis, where nothing happens.
    """
    if image_shape is None:
        return outliers
    stack = outliers.reshape(*image_shape, outliers.shape[1])
    stack = _erode(_erode(_dilate(_dilate(stack))))
    return _dilate(_erode(stack)).reshape(outliers.shape)


def _dilate(x):
    """Binary dilation of each ``x[:, :, j]`` by the 4-connected cross."""
    out = x.copy()
    out[1:] |= x[:-1]
    out[:-1] |= x[1:]
    out[:, 1:] |= x[:, :-1]
    out[:, :-1] |= x[:, 1:]
    return out


def _erode(x):
    """Binary erosion of each ``x[:, :, j]`` by the 4-connected cross, False outside."""
    out = x.copy()
    out[1:] &= x[:-1]
    out[:-1] &= x[1:]
    out[:, 1:] &= x[:, :-1]
    out[:, :-1] &= x[:, 1:]
    out[[0, -1]] = False
    out[:, [0, -1]] = False
    return out
