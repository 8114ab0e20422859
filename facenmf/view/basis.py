"""Basis images in a grid (:func:`basis_montage`) and their order by usage."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from .. import _validation as v
from ._common import (
    DPI,
    check_matrix,
    finish,
    montage,
    scaled_tiles,
)

__all__ = ["basis_montage", "usage_order"]


def usage_order(H):
    """Order of the basis images by how much the faces use them, most used first.

    Parameters
    ----------
    H : array_like of shape (rank, n_faces)
        Weights of each basis image in each face.

    Returns
    -------
    ndarray of shape (rank,)
        Indices of the rows of ``H`` sorted by decreasing row sum ``H.sum(axis=1)``
        (ties keep their order).

    Examples
    --------
    >>> usage_order([[1, 1], [5, 0], [0, 0.5]]).tolist()
    [1, 0, 2]
    """
    H = check_matrix("H", H)
    return np.argsort(-H.sum(axis=1), kind="stable")


def basis_montage(W, image_shape, *, H=None, order="usage", ncols=None, titles=False,
                  path=None):
    """Show the basis images (columns of ``W``) in a grid, like Lee & Seung's Fig. 1.

    Parameters
    ----------
    W : array_like of shape (n_pixels, rank)
        Basis images, one flattened image per column, ``n_pixels = height * width``.
    image_shape : tuple of int
        ``(height, width)`` of one image.
    H : array_like of shape (rank, n_faces), optional
        Weights; used to order the images by usage and for the usage shares in titles.
    order : {"usage", "none"} or array_like of int
        ``"usage"``: most used basis image first (by :func:`usage_order` of ``H``; without
        ``H`` the given order is kept); ``"none"``: the order of ``W``'s columns; an array
        of column indices: those images in that order (a subset is fine).
    ncols : int, optional
        Images per row; default ``ceil(sqrt(k))`` for ``k`` images shown (7 for rank 49).
    titles : bool
        Write each image's column index (and with ``H`` its share of the total weight)
        small above it.
    path : str or os.PathLike, optional
        Also save the figure there as a PNG (replacing an existing file atomically).

    Returns
    -------
    matplotlib.figure.Figure
        About one inch per image (at least 3 inches wide). Each image is scaled on its own,
        from 0 (black) to its 99th percentile (white; the brightest 1% saturate), in grey;
        if ``W`` has negative entries (e.g. eigenfaces) a diverging map centred on 0 is used
        instead (red positive, blue negative, scaled by the 99th percentile of the absolute
        values).

    Raises
    ------
    ValueError
        ``W`` rows not matching ``image_shape``, ``H`` rows not matching ``W`` columns,
        unknown ``order``, indices out of range, ``ncols < 1``.
    TypeError
        Arguments of the wrong type.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W, H = rng.random((30, 4)), rng.random((4, 8))
    >>> fig = basis_montage(W, (6, 5), H=H, titles=True)
    >>> len(fig.axes)
    1
    """
    W = check_matrix("W", W)
    image_shape = v.check_image_shape("image_shape", image_shape, W.shape[0], rows_of="W")
    rank = W.shape[1]
    if H is not None:
        H = check_matrix("H", H, shape=(rank, None))
    if isinstance(order, str):
        v.check_choice("order", order, ("usage", "none"))
        idx = usage_order(H) if (order == "usage" and H is not None) else np.arange(rank)
    else:
        idx = v.check_indices("order", order, rank)
    ncols = v.check_int("ncols", ncols, low=1, allow_none=True)
    if ncols is None:
        ncols = math.ceil(math.sqrt(idx.size))
    ncols = min(ncols, idx.size)
    titles = v.check_bool("titles", titles)

    signed = bool((W[:, idx] < 0).any())
    labels = None
    if titles:
        if H is not None:
            total = H.sum()
            share = H.sum(axis=1) / total if total > 0 else np.zeros(rank)
            labels = [f"{j}  {share[j]:.1%}" for j in idx]
        else:
            labels = [str(j) for j in idx]
    tiles = scaled_tiles(W[:, idx], image_shape, signed)

    # Size: about an inch per tile, at least 3 inches wide, at most 16.
    h, w = image_shape
    nrows = math.ceil(idx.size / ncols)
    gap = max(1, round(0.03 * max(h, w)))
    top = math.ceil(1.35 * 6.5 / 72 * h) if titles else 0
    grid_h, grid_w = nrows * (h + gap + top) + gap, ncols * (w + gap) + gap
    scale = 1.0 / max(h, w)  # inches per image pixel
    scale = min(max(scale, 3.0 / grid_w), 16.0 / grid_w)
    fig = Figure(figsize=(grid_w * scale + 0.1, grid_h * scale + 0.45), dpi=DPI,
                 layout="constrained")
    ax = fig.add_subplot()
    montage(ax, tiles, ncols, signed=signed, labels=labels)
    how = ("by usage" if (isinstance(order, str) and order == "usage" and H is not None)
           else "as given")
    what = f"{idx.size} of {rank}" if idx.size != rank else f"{rank}"
    fig.suptitle(f"{what} basis images, {how}" + (" (red +, blue −)" if signed else ""),
                 fontsize=9 if grid_w * scale < 4 else 11)
    return finish(fig, path)
