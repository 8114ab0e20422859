"""Faces next to their reconstructions, and one face as a weighted sum of parts."""

from __future__ import annotations

import math

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from .. import _validation as v
from ._common import (
    GAP_SIGNED,
    DIVERGING,
    DPI,
    GREY,
    bare,
    check_matrix,
    finish,
    grey_limit,
    human,
)

__all__ = ["parts", "reconstructions"]


def reconstructions(A, W, H, image_shape, *, faces=None, n=6, ignored=None, path=None):
    """Show faces next to their reconstructions ``W @ h`` and the residuals.

    Parameters
    ----------
    A : array_like of shape (n_pixels, n_faces)
        The faces, one flattened image per column.
    W : array_like of shape (n_pixels, rank)
        Basis images.
    H : array_like of shape (rank, n_faces)
        Weights of the faces in ``A``.
    image_shape : tuple of int
        ``(height, width)``, ``height * width == n_pixels``.
    faces : array_like of int, optional
        Columns of ``A`` to show; default the first ``n``.
    n : int
        Number of faces shown when ``faces`` is None.
    ignored : ndarray of bool, shape (n_pixels,) or (n_pixels, n_faces), optional
        Pixels left out of the fit, e.g. the outliers of :func:`facenmf.robust_project`:
        grey in the residual and left out of the errors.
    path : str or os.PathLike, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One row per face: original | reconstruction (clipped to [0, 1], or to [0, max(A)]
        for data beyond 1) | residual ``a - W h`` (diverging map centred on 0, one scale
        for all rows, with a colour bar). Originals and reconstructions share one grey
        scale, so they compare directly. Each row is labelled with the relative error
        ``||a - W h|| / ||a||``; the title gives the compression of the representation,
        ``n_pixels / rank`` (numbers per face before and after).

    Raises
    ------
    ValueError
        Shapes that do not match (``W`` rows vs ``image_shape`` or ``A``, ``H`` vs ``W``
        and ``A``), indices out of range, ``n < 1``.
    TypeError
        Arguments of the wrong type.
    """
    A = check_matrix("A", A)
    W = check_matrix("W", W, shape=(A.shape[0], None))
    image_shape = v.check_image_shape("image_shape", image_shape, W.shape[0], rows_of="W")
    H = check_matrix("H", H, shape=(W.shape[1], A.shape[1]))
    if faces is None:
        n = v.check_int("n", n, low=1)
        idx = np.arange(min(n, A.shape[1]))
    else:
        idx = v.check_indices("faces", faces, A.shape[1])
    n_pixels, rank = W.shape
    a = A[:, idx]
    if ignored is None:
        kept = np.ones(a.shape, dtype=bool)
    else:  # the shown faces' columns only (a shared 1-D mask applies to each)
        ignored = v.check_mask("ignored", ignored, A.shape).reshape(n_pixels, -1)
        kept = np.broadcast_to(~(ignored if ignored.shape[1] == 1 else ignored[:, idx]),
                               a.shape)
    hi = grey_limit(a)
    approx = W @ H[:, idx]
    resid = np.where(kept, a - approx, np.nan)
    errors = (np.linalg.norm(np.where(kept, resid, 0), axis=0)
              / np.maximum(np.linalg.norm(np.where(kept, a, 0), axis=0), 1e-300))
    lim = float(np.nanmax(np.abs(resid), initial=0)) or 1.0

    h, w = image_shape
    tile = min(1.3, max(0.6, 9.0 / idx.size))  # inches per image height
    tile_w = tile * w / h
    fig = Figure(figsize=(3 * tile_w + 1.5, idx.size * tile + 1.0), dpi=DPI,
                 layout="constrained")
    axes = fig.subplots(idx.size, 3, squeeze=False)
    shown = (a, np.clip(approx, 0, hi), resid)
    for row, j in enumerate(idx):
        for col in range(3):
            ax = axes[row, col]
            img = shown[col][:, row].reshape(image_shape)
            if col < 2:
                im = ax.imshow(img, cmap=GREY, vmin=0, vmax=hi, interpolation="antialiased")
            else:
                # Ignored pixels (NaN) in grey, apart from the white of a zero residual.
                im = ax.imshow(img, cmap=colormaps[DIVERGING].with_extremes(bad=GAP_SIGNED),
                               vmin=-lim, vmax=lim, interpolation="antialiased")
            bare(ax)
        label = f"face {j}\nerror {errors[row]:.1%}"
        if ignored is not None:
            label += f"\n({1 - kept[:, row].mean():.0%} ignored)"
        axes[row, 0].set_ylabel(label, fontsize=8)
    residual = "residual a − Wh" + ("\n(grey: ignored)" if ignored is not None else "")
    for ax, title in zip(axes[0], ("original a", "reconstruction Wh", residual)):
        ax.set_title(title, fontsize=9)
    cbar = fig.colorbar(im, ax=axes[:, 2], shrink=min(1.0, 3.0 / idx.size + 0.3),
                        aspect=25 if idx.size > 2 else 12)
    cbar.ax.tick_params(labelsize=7)
    fig.suptitle(f"rank {rank}: {n_pixels:,} pixels → {rank:,} weights per face "
                 f"({human(n_pixels / rank)}× fewer numbers)\n"
                 f"mean relative error of these faces {errors.mean():.1%}"
                 + (" on the pixels kept" if ignored is not None else ""), fontsize=9)
    return finish(fig, path)


# -- one face as a sum of parts ----------------------------------------------------------
def parts(a_index, A, W, H, image_shape, *, n_parts=8, path=None):
    """Show one face as a weighted sum of basis images: ``a ≈ W h = Σ_k h_k w_k``.

    Parameters
    ----------
    a_index : int
        Column of ``A`` (the face) to show.
    A : array_like of shape (n_pixels, n_faces)
        Faces, one flattened image per column.
    W : array_like of shape (n_pixels, rank)
        Basis images.
    H : array_like of shape (rank, n_faces)
        Weights.
    image_shape : tuple of int
        ``(height, width)``.
    n_parts : int
        Number of parts shown (at most ``rank``): those with the largest contribution
        ``h_k ||w_k||``, i.e. the largest weights for unit-norm ``W`` as :func:`nmf`
        returns.
    path : str or os.PathLike, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        The face, its reconstruction, then the parts ``h_k w_k`` largest first, each titled
        with its basis index and weight, all parts on one common scale (so a part's
        brightness shows its weight; at most the brightest 0.5% of their pixels saturate).
        When the rank exceeds ``n_parts`` a last tile shows the sum of the other parts, on
        the face's grey scale. One row, or two for more than 8 tiles.

    Raises
    ------
    ValueError
        Shapes that do not match, ``a_index`` out of range, ``n_parts < 1``.
    TypeError
        Arguments of the wrong type.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W, H = rng.random((30, 5)), rng.random((5, 3))
    >>> fig = parts(1, W @ H, W, H, (6, 5), n_parts=3)
    >>> len(fig.axes)
    6
    """
    A = check_matrix("A", A)
    W = check_matrix("W", W, shape=(A.shape[0], None))
    image_shape = v.check_image_shape("image_shape", image_shape, W.shape[0], rows_of="W")
    H = check_matrix("H", H, shape=(W.shape[1], A.shape[1]))
    a_index = v.check_int("a_index", a_index)
    j = int(v.check_indices("a_index", np.asarray([a_index]), A.shape[1])[0])
    n_parts = v.check_int("n_parts", n_parts, low=1)
    rank = W.shape[1]
    n_parts = min(n_parts, rank)

    a, h = A[:, j], H[:, j]
    approx = W @ h
    err = np.linalg.norm(a - approx) / max(np.linalg.norm(a), 1e-300)
    contrib = np.abs(h) * np.linalg.norm(W, axis=0)
    top = np.argsort(-contrib, kind="stable")[:n_parts]
    pieces = [W[:, k] * h[k] for k in top]
    titles = [f"+ basis {k}\nh = {human(h[k])}" for k in top]
    rest = np.setdiff1d(np.arange(rank), top)
    if rest.size:
        pieces.append(W[:, rest] @ h[rest])
        titles.append(f"+ {rest.size} other{'s' if rest.size != 1 else ''}\n(face's scale)")
    pieces = np.stack(pieces, axis=1)
    signed = bool((pieces < -1e-12 * max(np.abs(pieces).max(), 1e-300)).any())
    # One scale for the parts, from their largest value, lowered to the 99.5th percentile
    # (at most halved) so that a few peak pixels do not leave every part nearly black.
    mags = np.abs(pieces[:, :n_parts])
    lim = max(float(np.quantile(mags, 0.995)), 0.5 * float(mags.max())) or 1.0
    hi = grey_limit(a[:, None])

    n_tiles = 2 + pieces.shape[1]
    nrows = 1 if n_tiles <= 8 else 2
    ncols = math.ceil(n_tiles / nrows)
    hh, ww = image_shape
    tile = 1.15 if ncols <= 8 else max(0.7, 9.0 / ncols)
    fig = Figure(figsize=(max(3.0, ncols * tile * ww / hh + 0.3), nrows * (tile + 0.45) + 0.5),
                 dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    images = [a, np.clip(approx, 0, hi)] + list(pieces.T)
    labels = [f"face {j}", f"= Wh\nerror {err:.1%}"] + titles
    for i, ax in enumerate(axes):
        if i >= n_tiles:
            ax.set_axis_off()
            continue
        img = images[i].reshape(image_shape)
        if i < 2:
            ax.imshow(img, cmap=GREY, vmin=0, vmax=hi, interpolation="antialiased")
        elif i - 2 < n_parts:
            if signed:
                ax.imshow(img, cmap=DIVERGING, vmin=-lim, vmax=lim, interpolation="antialiased")
            else:
                ax.imshow(img, cmap=GREY, vmin=0, vmax=lim, interpolation="antialiased")
        else:  # the sum of the other parts: a whole face's worth, on the face's scale
            ax.imshow(np.clip(img, 0, hi) if not signed else img, cmap=GREY, vmin=0, vmax=hi,
                      interpolation="antialiased")
        ax.set_title(labels[i], fontsize=8)
        bare(ax)
    share = contrib[top].sum() / contrib.sum() if contrib.sum() > 0 else 0.0
    fig.suptitle(f"face {j} as a sum of {rank} weighted basis images h_k w_k\n"
                 f"the {n_parts} largest shown ({share:.0%} of the weight), on one common scale",
                 fontsize=9)
    return finish(fig, path)
