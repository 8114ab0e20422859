"""Measures of faces and bases: PSNR, SSIM (face by face) and Hoyer sparseness.

Faces follow the package's convention: ``A`` of shape ``(n_pixels, n_faces)`` holds one
flattened face per column, values in [0, 1]. Importing this module imports neither matplotlib
nor scikit-image (:func:`ssim` imports ``skimage.metrics`` when called).

Examples
--------
>>> import numpy as np
>>> from facenmf.metrics import psnr, hoyer_sparseness
>>> round(psnr(np.zeros(4), np.full(4, 0.1)), 6), hoyer_sparseness([0, 0, 1.0])
(20.0, 1.0)
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import check_finite_matrix, check_image_shape

__all__ = ["psnr", "ssim", "hoyer_sparseness"]


def _pair(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"b: expected the shape of a, {a.shape}, got {b.shape}")
    if a.ndim not in (1, 2) or a.size == 0:
        raise ValueError(f"a: expected a face (n_pixels,) or faces (n_pixels, n_faces), "
                         f"got shape {a.shape}")
    return a, b


def psnr(a, b):
    """Peak signal-to-noise ratio in dB of faces in [0, 1] (peak 1), face by face.

    Parameters
    ----------
    a, b : array_like of shape (n_pixels,) or (n_pixels, n_faces)
        Reference and test faces, one flattened face per column, values in [0, 1].

    Returns
    -------
    float or ndarray of shape (n_faces,)
        ``10 log10(1 / mean((a - b)**2))`` per face, ``inf`` for identical faces; the same
        as ``skimage.metrics.peak_signal_noise_ratio(a, b, data_range=1)`` (which warns
        and divides by zero for identical images).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.full((4, 2), 0.5)
    >>> psnr(a, a + 0.1).round(6).tolist()  # MSE 0.01 -> 20 dB
    [20.0, 20.0]
    >>> psnr(a[:, 0], a[:, 0])
    inf
    """
    a, b = _pair(a, b)
    mse = np.mean((a - b) ** 2, axis=0)
    with np.errstate(divide="ignore"):
        out = np.where(mse > 0, 10 * np.log10(1.0 / np.where(mse > 0, mse, 1.0)), np.inf)
    return float(out) if out.ndim == 0 else out


def ssim(a, b, image_shape):
    """Structural similarity (SSIM) of faces in [0, 1], face by face.

    Parameters
    ----------
    a, b : array_like of shape (n_pixels,) or (n_pixels, n_faces)
        Reference and test faces, one flattened face per column, values in [0, 1].
    image_shape : tuple of int
        ``(height, width)`` with ``height * width == n_pixels``.

    Returns
    -------
    float or ndarray of shape (n_faces,)
        ``skimage.metrics.structural_similarity(A, B, data_range=1)`` of each pair of
        images (Gaussian-free 7x7 windows, scikit-image's defaults). Images narrower than 7
        pixels use the largest odd window that fits; below 3 pixels SSIM is undefined and
        NaN is returned.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.random.default_rng(0).random((12 * 10, 2))
    >>> ssim(a, a, (12, 10)).tolist()
    [1.0, 1.0]
    """
    from skimage.metrics import structural_similarity

    a, b = _pair(a, b)
    shape = check_image_shape("image_shape", image_shape, a.shape[0])
    win = min(7, *shape)
    win -= 1 - win % 2
    single = a.ndim == 1
    a2, b2 = (a[:, None], b[:, None]) if single else (a, b)
    if win < 3:
        out = np.full(a2.shape[1], np.nan)
    else:
        out = np.array([structural_similarity(a2[:, j].reshape(shape), b2[:, j].reshape(shape),
                                              data_range=1.0, win_size=win)
                        for j in range(a2.shape[1])])
    return float(out[0]) if single else out


def hoyer_sparseness(x):
    """Hoyer's sparseness of a vector, or its mean over the columns of a matrix.

    ``(sqrt(n) - ||x||_1 / ||x||_2) / (sqrt(n) - 1)`` for a vector of length ``n``: 1 for a
    vector with a single non-zero entry, 0 for a vector whose entries all have the same
    magnitude. Signs are ignored.

    Parameters
    ----------
    x : array_like of shape (n,) or (n, m)
        A vector, or ``m`` vectors as columns (e.g. basis images ``W``), ``n >= 2``.

    Returns
    -------
    float
        In [0, 1]; for a matrix the mean over its columns. All-zero columns (where the
        measure is undefined) are left out of the mean.

    Raises
    ------
    ValueError
        Fewer than 2 entries per vector, non-finite entries, or only zero vectors.

    References
    ----------
    P. O. Hoyer, "Non-negative matrix factorization with sparseness constraints",
    JMLR 5 (2004) 1457-1469, :doi:`10.48550/arXiv.cs/0408058`.

    Examples
    --------
    >>> hoyer_sparseness([0, 0, 3, 0])
    1.0
    >>> hoyer_sparseness([2, 2, 2, 2])
    0.0
    >>> round(hoyer_sparseness([[1, 0], [1, 0], [0, 0], [0, 5]]), 3)  # columns 0.586, 1
    0.793
    """
    arr = np.asarray(x)
    if arr.ndim == 1:
        arr = arr[:, None]
    arr = check_finite_matrix("x", arr)
    n = arr.shape[0]
    if n < 2:
        raise ValueError(f"x: expected vectors of at least 2 entries, got {n}")
    l2 = np.sqrt(np.einsum("ij,ij->j", arr, arr))
    nz = l2 > 0
    if not nz.any():
        raise ValueError("x: every vector is all zero; sparseness is undefined")
    l1 = np.abs(arr[:, nz]).sum(axis=0)
    s = (math.sqrt(n) - l1 / l2[nz]) / (math.sqrt(n) - 1)
    return float(np.clip(s, 0.0, 1.0).mean())
