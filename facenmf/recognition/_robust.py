"""Robust projection of faces with unknown occlusions: outliers found and ignored.

Image-aware (half faces, morphological clean-up of the outlier masks), so it lives here and
not in the engine; the projections themselves are the engine's
(:func:`facenmf.nmf.project_unchecked`).
"""

from __future__ import annotations

import numpy as np

from .. import _validation as v
from ..nmf import project_unchecked

__all__ = ["robust_project", "robust_start", "half_faces", "clean_outliers", "inlier_median"]


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
    keep = v.check_fraction("keep", keep)
    threshold = v.check_number("threshold", threshold, low=0, low_inclusive=False)
    max_iter = v.check_int("max_iter", max_iter, low=1)
    if image_shape is not None:
        image_shape = v.check_image_shape("image_shape", image_shape, W.shape[0])

    residual, H = robust_start(A, W, image_shape, keep)

    def trimmed(size, mask):
        return size > np.quantile(size, keep, axis=0)

    def thresholded(size, mask):
        # Robust scale from the pixels currently taken as inliers.
        sigma = 1.4826 * inlier_median(size, mask)
        return size > threshold * np.maximum(sigma, np.finfo(np.float32).eps)

    mask = np.zeros(A.shape, dtype=bool)
    for rule in (trimmed, thresholded):
        base = mask.copy()  # the threshold stage only adds to what trimming found
        # Faces whose outliers stopped changing are at a fixed point (the projection is
        # exact, so the same mask gives the same weights): only the others go on.
        todo = np.arange(A.shape[1])
        for it in range(max_iter):
            found = rule(np.abs(residual[:, todo]), mask[:, todo])
            outliers = base[:, todo] | clean_outliers(found, image_shape)
            if it > 0:
                changed = np.any(outliers != mask[:, todo], axis=0)
                todo, outliers = todo[changed], outliers[:, changed]
                if todo.size == 0:
                    break
            mask[:, todo] = outliers
            if H is None:  # no start from robust_start: a first guess of its own
                H = project_unchecked(A, W, outliers)
            else:
                H[:, todo] = project_unchecked(A[:, todo], W, outliers, H0=H[:, todo])
            residual[:, todo] = A[:, todo] - W @ H[:, todo]
    return H, mask


def inlier_median(size, mask):
    """Per column, the median of ``size`` over the entries where ``mask`` is False (NaN
    for a column with none), as ``np.nanmedian`` of the masked array but sorted once.

    ``size`` and ``mask`` (bool) are of one shape (n_pixels, n_faces); returns
    (n_faces,). :func:`robust_project` takes its robust scale from it (1.4826 x the median
    absolute residual of the inliers).
    """
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


def robust_start(A, W, image_shape, keep):
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
        H = project_unchecked(A, W, ~half)
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


def clean_outliers(outliers, image_shape):
    """Close small gaps in, then remove specks from, each face's outlier mask.

    ``outliers`` is boolean of shape (n_pixels, n_faces), one flattened mask per column of
    faces of ``image_shape`` ``(height, width)``; with ``image_shape`` None it is returned
    as it is. :func:`robust_project` cleans its masks so, since real occlusions are
    contiguous.

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
