"""Figures of faces, basis images, reconstructions and fits (the only module using matplotlib).

Every function returns a :class:`matplotlib.figure.Figure` built directly (not through
``pyplot``), so no display, no backend choice and no global figure registry are involved;
``path=`` also saves it as a PNG. Conventions are the package's: ``A`` of shape
``(n_pixels, n_faces)`` holds one flattened face per column (row-major,
``image.reshape(-1)``), ``W`` of shape ``(n_pixels, rank)`` holds basis images and ``H`` of
shape ``(rank, n_faces)`` the weights, ``A ≈ W @ H``; ``image_shape`` is
``(height, width)``. ``import facenmf`` does not import this module (nor matplotlib): use
``from facenmf import view``.

Examples
--------
>>> import numpy as np
>>> from facenmf import view
>>> W = np.random.default_rng(0).random((12 * 10, 9))
>>> fig = view.basis_montage(W, (12, 10))
>>> len(fig.axes), bool(fig.get_size_inches()[0] >= 3)
(1, True)
"""

from __future__ import annotations

import math
import numbers
import textwrap

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from . import _validation as v
from ._atomic import atomic_write
from .metrics import hoyer_sparseness  # re-exported: view.hoyer_sparseness still works

__all__ = [
    "accuracy_vs_rank",
    "basis_montage",
    "compare_methods",
    "convergence",
    "hoyer_sparseness",
    "method_bases",
    "nearest_faces",
    "parts",
    "rate_distortion",
    "recognition_results",
    "reconstructions",
    "usage_order",
]

#: Resolution of the figures and of the saved PNGs (pixels per inch).
DPI = 100
#: Grey map for faces and non-negative basis images; diverging map (centred on 0) for
#: residuals and bases with negative entries (red positive, blue negative).
GREY, DIVERGING = "gray", "RdBu_r"
_GAP_GREY, _GAP_SIGNED = "white", "0.65"


# -- checks ------------------------------------------------------------------------------
def _check_matrix(name, value, *, shape=None, nonnegative=False):
    """Return ``value`` as a finite 2-D float64 array (optionally non-negative, of a shape)."""
    if nonnegative:
        return v.check_nonnegative_matrix(name, value, np.float64, shape=shape)
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name}: expected a 2-D array of numbers, got {type(value).__name__}")
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a 2-D array of real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty 2-D array, got shape {arr.shape}")
    if shape is not None:
        for axis, (want, got) in enumerate(zip(shape, arr.shape)):
            if want is not None and want != got:
                text = ", ".join("*" if s is None else str(s) for s in shape)
                raise ValueError(f"{name}: expected shape ({text}), got {arr.shape} "
                                 f"(axis {axis} differs)")
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: expected finite entries, found "
                         f"{int((~np.isfinite(arr)).sum())} NaN or infinite")
    return arr


def _check_image_shape(image_shape, n_rows, rows_name):
    """Return ``(height, width)`` as ints, checked against the pixel count ``n_rows``."""
    if (isinstance(image_shape, (str, bytes)) or not hasattr(image_shape, "__len__")
            or len(image_shape) != 2
            or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                       for s in image_shape)):
        raise TypeError(f"image_shape: expected (height, width) as two integers, "
                        f"got {image_shape!r}")
    shape = (int(image_shape[0]), int(image_shape[1]))
    if min(shape) < 1:
        raise ValueError(f"image_shape: expected positive sizes, got {shape}")
    if shape[0] * shape[1] != n_rows:
        raise ValueError(f"image_shape: {shape} has {shape[0] * shape[1]} pixels but "
                         f"{rows_name} has {n_rows} rows")
    return shape


def _check_indices(name, value, n):
    """Return 1-D integer indices into ``range(n)`` (negative ones wrapped), non-empty."""
    idx = np.asarray(value)
    if idx.dtype.kind not in "iu" or idx.ndim != 1:
        raise TypeError(f"{name}: expected 1-D integer indices, got dtype {idx.dtype} "
                        f"of shape {idx.shape}")
    if idx.size == 0:
        raise ValueError(f"{name}: expected at least one index, got none")
    if idx.min() < -n or idx.max() >= n:
        raise ValueError(f"{name}: expected indices in [0, {n}), got [{idx.min()}, {idx.max()}]")
    return np.where(idx < 0, idx + n, idx).astype(np.intp)


# -- text --------------------------------------------------------------------------------
def _human(x):
    """A number as people write it: ``3,110``, ``644``, ``12.5``, ``0.25``, ``0.00012``.

    Three significant digits below 100, whole numbers with thousands separators above;
    never scientific notation (``3.11e+03``).

    Examples
    --------
    >>> [_human(x) for x in (10304 / 3.3125, 643.9, 12.53, 0.25, 1.2e-4, 0, -2.5)]
    ['3,111', '644', '12.5', '0.25', '0.00012', '0', '-2.5']
    """
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if abs(x) >= 99.95:
        return f"{x:,.0f}"
    if x == 0:
        return "0"
    digits = min(8, 2 - math.floor(math.log10(abs(x))))
    text = f"{x:.{max(digits, 0)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "0") else text


def _wrap(text, chars):
    """Lines of at most ``chars`` characters, broken after commas where possible."""
    lines = []
    for clause in text.split(", "):
        if lines and len(lines[-1]) + 2 + len(clause) <= chars:
            lines[-1] += ", " + clause
        else:
            if lines:
                lines[-1] += ","
            lines += textwrap.wrap(clause, chars, break_on_hyphens=False) or [""]
    return lines


def _suptitle(fig, text, fontsize):
    """Set ``text`` as the figure title, each line wrapped to fit the figure's width."""
    # About 0.6 em per character (DejaVu Sans, mixed text and digits); 8% margin.
    chars = max(16, int(0.92 * fig.get_figwidth() * 72 / (0.6 * fontsize)))
    lines = [part for line in text.split("\n") for part in _wrap(line, chars)]
    return fig.suptitle("\n".join(lines), fontsize=fontsize)


# -- saving ------------------------------------------------------------------------------
def _finish(fig, path):
    """Save ``fig`` at ``path`` (if given) in the format its extension names (``.png``,
    ``.pdf``, ``.svg``, ``.jpg``, ...; see ``FIGURE_FORMATS``), never leaving a partial file."""
    if path is None:
        return fig
    path, fmt = v.check_figure_path("path", path)
    # A temporary file in the same folder, then an atomic rename: a reader (or a crash)
    # sees either the old file or the new one, never half of one.
    with atomic_write(path) as f:
        fig.savefig(f, format=fmt, dpi=DPI)
    return fig


# -- montages ----------------------------------------------------------------------------
_TILE_PERCENTILE = 99.0  # each tile's white point; the brightest 1% of its pixels saturate


def _scaled_tiles(M, image_shape, signed):
    """Columns of ``M`` as images each scaled on its own: to [0, 1], or to [-1, 1] if signed.

    Returns an array of shape (n_columns, height, width).
    """
    M = np.asarray(M, dtype=np.float64)
    values = np.abs(M) if signed else np.clip(M, 0, None)
    # A robust peak: a few very bright pixels would otherwise leave the image nearly black.
    peak = np.percentile(values, _TILE_PERCENTILE, axis=0)
    peak = np.where(peak > 0, peak, values.max(axis=0))
    peak[peak == 0] = 1.0  # an all-zero column stays zero
    low = -1.0 if signed else 0.0
    tiles = np.clip((M if signed else values) / peak, low, 1.0)
    return tiles.T.reshape((M.shape[1], *image_shape))


def _montage(ax, tiles, ncols, *, signed, labels=None, fontsize=6.5):
    """Draw tiles of shape (k, height, width) as one image in a grid on ``ax``.

    The gaps are NaN, drawn in a colour of their own, so one ``imshow`` draws the whole
    grid (fast, and exact tile alignment). ``labels`` are written above each tile.
    """
    k, h, w = tiles.shape
    nrows = math.ceil(k / ncols)
    gap = max(1, round(0.03 * max(h, w)))
    # Room above each tile for a label of `fontsize` points when the tile is drawn about
    # one inch high (basis_montage's scale); smaller tiles get proportionally more room.
    top = math.ceil(1.35 * fontsize / 72 * h) if labels is not None else 0
    cell_h, cell_w = h + gap + top, w + gap
    grid = np.full((nrows * cell_h + gap, ncols * cell_w + gap), np.nan)
    for i in range(k):
        r, c = divmod(i, ncols)
        y, x = gap + top + r * cell_h, gap + c * cell_w
        grid[y:y + h, x:x + w] = tiles[i]
    cmap = colormaps[DIVERGING if signed else GREY].with_extremes(
        bad=_GAP_SIGNED if signed else _GAP_GREY)
    norm = Normalize(-1.0, 1.0) if signed else Normalize(0.0, 1.0)
    ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, interpolation="antialiased")
    ax.set_axis_off()
    if labels is not None:
        for i, text in enumerate(labels):
            r, c = divmod(i, ncols)
            ax.text(gap + c * cell_w + w / 2, gap + top + r * cell_h - 0.5 - 0.1 * gap, text,
                    ha="center", va="bottom", fontsize=fontsize)
    return grid.shape


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
    H = _check_matrix("H", H)
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
    W = _check_matrix("W", W)
    image_shape = _check_image_shape(image_shape, W.shape[0], "W")
    rank = W.shape[1]
    if H is not None:
        H = _check_matrix("H", H, shape=(rank, None))
    if isinstance(order, str):
        v.check_choice("order", order, ("usage", "none"))
        idx = usage_order(H) if (order == "usage" and H is not None) else np.arange(rank)
    else:
        idx = _check_indices("order", order, rank)
    ncols = v.check_int("ncols", ncols, low=1, allow_none=True)
    if ncols is None:
        ncols = math.ceil(math.sqrt(idx.size))
    ncols = min(ncols, idx.size)
    if not isinstance(titles, (bool, np.bool_)):
        raise TypeError(f"titles: expected True or False, got {type(titles).__name__}")

    signed = bool((W[:, idx] < 0).any())
    labels = None
    if titles:
        if H is not None:
            total = H.sum()
            share = H.sum(axis=1) / total if total > 0 else np.zeros(rank)
            labels = [f"{j}  {share[j]:.1%}" for j in idx]
        else:
            labels = [str(j) for j in idx]
    tiles = _scaled_tiles(W[:, idx], image_shape, signed)

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
    _montage(ax, tiles, ncols, signed=signed, labels=labels)
    how = ("by usage" if (isinstance(order, str) and order == "usage" and H is not None)
           else "as given")
    what = f"{idx.size} of {rank}" if idx.size != rank else f"{rank}"
    fig.suptitle(f"{what} basis images, {how}" + (" (red +, blue −)" if signed else ""),
                 fontsize=9 if grid_w * scale < 4 else 11)
    return _finish(fig, path)


# -- reconstructions ---------------------------------------------------------------------
def _bare(ax):
    """No ticks, no frame, but keep the y label (``set_axis_off`` would hide it)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _grey_limit(A_cols):
    """Upper grey limit: 1 for data in [0, 1] (the package's scale), else the data maximum."""
    top = float(A_cols.max())
    return max(1.0, top)


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
    A = _check_matrix("A", A)
    W = _check_matrix("W", W, shape=(A.shape[0], None))
    image_shape = _check_image_shape(image_shape, W.shape[0], "W")
    H = _check_matrix("H", H, shape=(W.shape[1], A.shape[1]))
    if faces is None:
        n = v.check_int("n", n, low=1)
        idx = np.arange(min(n, A.shape[1]))
    else:
        idx = _check_indices("faces", faces, A.shape[1])
    n_pixels, rank = W.shape
    a = A[:, idx]
    if ignored is None:
        kept = np.ones(a.shape, dtype=bool)
    else:  # the shown faces' columns only (a shared 1-D mask applies to each)
        ignored = v.check_mask("ignored", ignored, A.shape).reshape(n_pixels, -1)
        kept = np.broadcast_to(~(ignored if ignored.shape[1] == 1 else ignored[:, idx]),
                               a.shape)
    hi = _grey_limit(a)
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
                im = ax.imshow(img, cmap=colormaps[DIVERGING].with_extremes(bad=_GAP_SIGNED),
                               vmin=-lim, vmax=lim, interpolation="antialiased")
            _bare(ax)
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
                 f"({_human(n_pixels / rank)}× fewer numbers)\n"
                 f"mean relative error of these faces {errors.mean():.1%}"
                 + (" on the pixels kept" if ignored is not None else ""), fontsize=9)
    return _finish(fig, path)


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
    A = _check_matrix("A", A)
    W = _check_matrix("W", W, shape=(A.shape[0], None))
    image_shape = _check_image_shape(image_shape, W.shape[0], "W")
    H = _check_matrix("H", H, shape=(W.shape[1], A.shape[1]))
    if isinstance(a_index, (bool, np.bool_)) or not isinstance(a_index, numbers.Integral):
        raise TypeError(f"a_index: expected an integer, got {type(a_index).__name__}")
    j = int(_check_indices("a_index", np.asarray([a_index]), A.shape[1])[0])
    n_parts = v.check_int("n_parts", n_parts, low=1)
    rank = W.shape[1]
    n_parts = min(n_parts, rank)

    a, h = A[:, j], H[:, j]
    approx = W @ h
    err = np.linalg.norm(a - approx) / max(np.linalg.norm(a), 1e-300)
    contrib = np.abs(h) * np.linalg.norm(W, axis=0)
    top = np.argsort(-contrib, kind="stable")[:n_parts]
    pieces = [W[:, k] * h[k] for k in top]
    titles = [f"+ basis {k}\nh = {_human(h[k])}" for k in top]
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
    hi = _grey_limit(a[:, None])

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
        _bare(ax)
    share = contrib[top].sum() / contrib.sum() if contrib.sum() > 0 else 0.0
    fig.suptitle(f"face {j} as a sum of {rank} weighted basis images h_k w_k\n"
                 f"the {n_parts} largest shown ({share:.0%} of the weight), on one common scale",
                 fontsize=9)
    return _finish(fig, path)


# -- convergence -------------------------------------------------------------------------
def _history_of(item, i):
    hist = getattr(item, "history", item)
    if not (hasattr(hist, "seconds") and hasattr(hist, "error")):
        raise TypeError(f"histories: item {i} is {type(item).__name__}, expected a "
                        "Factorization or a History")
    seconds = np.asarray(hist.seconds, dtype=np.float64).ravel()
    error = np.asarray(hist.error, dtype=np.float64).ravel()
    if seconds.shape != error.shape or seconds.size == 0:
        raise ValueError(f"histories: item {i} has {seconds.size} times and {error.size} "
                         "errors; expected the same non-zero number")
    return seconds, error


def _minor_labels(mantissas):
    """Label log-axis minor ticks whose leading digit is in ``mantissas`` (0.2, 0.5, 2...)."""
    def label(y, _):
        if y <= 0:
            return ""
        lead = round(y / 10 ** math.floor(math.log10(y) + 1e-9), 6)
        return _human(y) if lead in mantissas else ""
    return FuncFormatter(label)


def convergence(histories, *, labels=None, x="seconds", path=None):
    """Plot the relative error of fits against time and/or iterations (log-scale error).

    Parameters
    ----------
    histories : Factorization, History, or list of them
        Fits from :func:`facenmf.nmf` (their ``.history`` is used) or their histories.
    labels : list of str, optional
        One legend entry per run; default the solver name (with the init, and a number if
        needed to tell runs apart), or ``"run i"`` for a bare History.
    x : {"seconds", "iteration", "both"}
        Horizontal axis: wall-clock seconds, iteration number (0 is the initialization),
        or both side by side (left seconds, right iterations).
    path : str or os.PathLike, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One line per run, error on a log scale. For ``loss="kl"`` fits the curve is the
        relative KL divergence ``D(A || WH) / sum(A)`` (as in :class:`facenmf.History`); the
        axis label says so.

    Raises
    ------
    ValueError
        No runs, ``labels`` of the wrong length, unknown ``x``.
    TypeError
        An item that is neither a Factorization nor a History.

    Examples
    --------
    >>> import numpy as np, facenmf
    >>> A = np.random.default_rng(0).random((30, 20))
    >>> fits = [facenmf.nmf(A, 3, solver=s, tol=1e-3) for s in ("hals", "mu")]
    >>> fig = convergence(fits, x="both")
    >>> [ax.get_xlabel() for ax in fig.axes]
    ['seconds', 'iteration']
    """
    if hasattr(histories, "history") or (hasattr(histories, "seconds")
                                         and hasattr(histories, "error")):
        histories = [histories]
    if isinstance(histories, (str, bytes)) or not hasattr(histories, "__iter__"):
        raise TypeError(f"histories: expected a list of Factorization or History, "
                        f"got {type(histories).__name__}")
    histories = list(histories)
    if not histories:
        raise ValueError("histories: expected at least one run, got an empty list")
    curves = [_history_of(item, i) for i, item in enumerate(histories)]
    v.check_choice("x", x, ("seconds", "iteration", "both"))
    if labels is None:
        labels = []
        for i, item in enumerate(histories):
            solver = getattr(item, "solver", None)
            labels.append(f"{solver} ({getattr(item, 'init', '?')})" if solver else f"run {i}")
        for name in set(labels):
            same = [i for i, lab in enumerate(labels) if lab == name]
            if len(same) > 1:
                for k, i in enumerate(same, 1):
                    labels[i] = f"{name} #{k}"
    else:
        if isinstance(labels, (str, bytes)):
            raise TypeError("labels: expected a list of str, got a single string")
        labels = [str(lab) for lab in labels]
        if len(labels) != len(curves):
            raise ValueError(f"labels: expected {len(curves)} labels (one per run), "
                             f"got {len(labels)}")
    losses = {getattr(item, "loss", "frobenius") for item in histories}
    ylabel = {frozenset({"frobenius"}): "relative error ‖A − WH‖ / ‖A‖",
              frozenset({"kl"}): "relative KL divergence D(A ‖ WH) / ΣA"}.get(
                  frozenset(losses), "error (relative Frobenius, or relative KL)")

    kinds = ["seconds", "iteration"] if x == "both" else [x]
    fig = Figure(figsize=(4.6 * len(kinds) + 0.4, 3.6), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(kinds), squeeze=False, sharey=True)[0]
    positive = np.concatenate([e[e > 0] for _, e in curves])
    span = positive.max() / positive.min() if positive.size else 1.0
    for i, (ax, kind) in enumerate(zip(axes, kinds)):
        for (seconds, error), label in zip(curves, labels):
            xs = seconds if kind == "seconds" else np.arange(error.size)
            keep = error > 0  # log scale: an exact fit's zero cannot be drawn
            ax.plot(xs[keep], error[keep], label=label, lw=1.5,
                    marker="." if error.size <= 40 else None, ms=4)
        ax.set_yscale("log")
        if span < 100:  # within two decades: plain numbers read better than 4×10⁻¹
            ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: _human(y)))
            ax.yaxis.set_minor_formatter(_minor_labels((2, 3, 5) if span < 10 else (2, 5)))
        ax.set_xlabel("seconds" if kind == "seconds" else "iteration")
        if i == 0:
            ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_title(f"error against {'time' if kind == 'seconds' else 'iterations'}",
                     fontsize=10)
    axes[0].legend(fontsize="small")
    return _finish(fig, path)


# -- NMF vs PCA vs VQ --------------------------------------------------------------------
def method_bases(A, rank, random_state=0):
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

    Returns
    -------
    dict of str to ndarray of shape (n_pixels, rank)
        ``"NMF"``: ``facenmf.nmf(A, rank)``'s ``W`` (unit-norm columns), most used first
        (by the row sums of ``H``); ``"PCA"``: eigenfaces, the top ``rank`` left singular
        vectors of the centred data (``A`` minus the mean face), by decreasing variance,
        each signed so its largest-magnitude entry is positive; ``"VQ"``: k-means
        prototypes of the faces (cluster means), largest cluster first.

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
    from scipy.cluster.vq import kmeans2

    from .nmf import nmf

    A = _check_matrix("A", A, nonnegative=True)
    n_pixels, n_faces = A.shape
    if n_faces < 2:
        raise ValueError(f"A: expected at least 2 faces (columns) to compare methods, "
                         f"got {n_faces}")
    rank = v.check_int("rank", rank, low=1, high=min(n_pixels, n_faces - 1))
    v.check_random_state("random_state", random_state)  # fail early, before the fits

    fit = nmf(A, rank, random_state=random_state)
    W_nmf = np.asarray(fit.W)[:, usage_order(fit.H)]

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

    centroids, assigned = kmeans2(A.T, rank, minit="++",
                                  seed=np.random.default_rng(random_state))
    sizes = np.bincount(assigned, minlength=rank)
    W_vq = centroids.T[:, np.argsort(-sizes, kind="stable")]
    return {"NMF": W_nmf, "PCA": U, "VQ": np.ascontiguousarray(W_vq)}


def compare_methods(A, image_shape, rank=49, *, random_state=0, path=None):
    """Show the NMF, PCA and VQ bases of the faces side by side (Lee & Seung 1999, Fig. 1).

    Parameters
    ----------
    A : array_like of shape (n_pixels, n_faces)
        Non-negative faces, one per column.
    image_shape : tuple of int
        ``(height, width)``, ``height * width == n_pixels``.
    rank : int
        Basis images per method (49 gives 7x7 grids as in the paper).
    random_state : int, numpy.random.Generator or None
        Seed for NMF and k-means.
    path : str or os.PathLike, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        Three montages (bases from :func:`method_bases`), each image scaled on its own;
        non-negative bases in grey, bases with negative entries (PCA) in a diverging map
        centred on 0 (red positive, blue negative). Each title gives the mean Hoyer
        sparseness of the basis images (:func:`hoyer_sparseness`): NMF's parts are sparse,
        eigenfaces and prototypes are whole faces.

    Raises
    ------
    ValueError
        ``A`` rows not matching ``image_shape``, negative ``A``, ``rank`` out of range.
    """
    A = _check_matrix("A", A, nonnegative=True)
    image_shape = _check_image_shape(image_shape, A.shape[0], "A")
    bases = method_bases(A, rank, random_state=random_state)
    rank = next(iter(bases.values())).shape[1]

    h, w = image_shape
    ncols = math.ceil(math.sqrt(rank))
    nrows = math.ceil(rank / ncols)
    gap = max(1, round(0.03 * max(h, w)))
    grid_w, grid_h = ncols * (w + gap) + gap, nrows * (h + gap) + gap
    panel = min(4.0, max(2.2, 0.5 * ncols * w / max(h, w)))  # inches per montage width
    fig = Figure(figsize=(3 * panel + 0.4, panel * grid_h / grid_w + 0.8), dpi=DPI,
                 layout="constrained")
    axes = fig.subplots(1, 3)
    notes = {"NMF": "parts, by usage", "PCA": "eigenfaces, by variance",
             "VQ": "prototypes, by cluster size"}
    for ax, (name, B) in zip(axes, bases.items()):
        signed = bool((B < 0).any())
        _montage(ax, _scaled_tiles(B, image_shape, signed), ncols, signed=signed)
        ax.set_title(f"{name}: {notes[name]}\nsparseness {hoyer_sparseness(B):.2f}"
                     + ("  (red +, blue −)" if signed else ""), fontsize=9)
    fig.suptitle(f"Rank-{rank} bases of {A.shape[1]} faces ({h}×{w}); sparseness: Hoyer "
                 "2004, 0 = all pixels equal, 1 = one pixel", fontsize=10)
    return _finish(fig, path)


# -- rate-distortion ---------------------------------------------------------------------
_RD_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
_RD_LINES = ("-", "--", ":", "-.")


def rate_distortion(rows, path=None, *, xlabel="bytes per face", title=None):
    """Plot image quality (PSNR, and SSIM) against bytes per face, one line per codec setting.

    Parameters
    ----------
    rows : iterable of dict
        One dict per measured point, with ``"method"`` (str, e.g. ``"facenmf"``,
        ``"PCA"``, ``"JPEG"``), ``"bytes_per_face"`` (> 0), ``"psnr"`` (dB, finite) and
        optionally ``"ssim"``, ``"rank"`` (int or None) and ``"label"`` (short text written
        beside the point, e.g. ``"q50"``). Points of the same method and rank are joined
        in order of bytes.
    path : str or os.PathLike, optional
        Also save the figure there as a PNG.
    xlabel : str
        Label of the (logarithmic) x axis: say which bytes are counted.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        PSNR against bytes per face, and SSIM beside it when every row has ``"ssim"``; one
        colour per method, one marker and line style per rank; the legend on the right.

    Raises
    ------
    ValueError
        No rows, a row without the required keys, non-positive bytes or a non-finite PSNR.
    TypeError
        ``rows`` not an iterable of dicts.

    Examples
    --------
    >>> rows = [{"method": "JPEG", "bytes_per_face": b, "psnr": p, "ssim": s, "label": q}
    ...         for b, p, s, q in ((900, 28.0, 0.80, "q10"), (1500, 32.0, 0.90, "q30"))]
    >>> rows += [{"method": "facenmf", "rank": 49, "bytes_per_face": b, "psnr": p, "ssim": s}
    ...          for b, p, s in ((30, 25.0, 0.70), (45, 25.5, 0.72))]
    >>> fig = rate_distortion(rows)
    >>> len(fig.axes)
    2
    """
    if isinstance(rows, (str, bytes, dict)) or not hasattr(rows, "__iter__"):
        raise TypeError(f"rows: expected an iterable of dicts, got {type(rows).__name__}")
    rows = list(rows)
    if not rows:
        raise ValueError("rows: expected at least one measured point, got none")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TypeError(f"rows[{i}]: expected a dict, got {type(row).__name__}")
        missing = [k for k in ("method", "bytes_per_face", "psnr") if k not in row]
        if missing:
            raise ValueError(f"rows[{i}]: expected keys method, bytes_per_face and psnr; "
                             f"missing {', '.join(missing)}")
        if not (np.isfinite(row["bytes_per_face"]) and row["bytes_per_face"] > 0):
            raise ValueError(f"rows[{i}]: expected bytes_per_face > 0, got "
                             f"{row['bytes_per_face']!r}")
        if not np.isfinite(row["psnr"]):
            raise ValueError(f"rows[{i}]: expected a finite psnr, got {row['psnr']!r}")
    with_ssim = all(row.get("ssim") is not None for row in rows)

    methods = list(dict.fromkeys(str(row["method"]) for row in rows))
    ranks = sorted({row.get("rank") for row in rows if row.get("rank") is not None})
    colours = colormaps["tab10"].colors
    series = {}
    for row in rows:
        series.setdefault((str(row["method"]), row.get("rank")), []).append(row)

    panels = [("psnr", "PSNR (dB)")] + ([("ssim", "SSIM")] if with_ssim else [])
    fig = Figure(figsize=(5.2 * len(panels) + 1.6, 4.4), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (key, ylabel) in zip(axes, panels):
        for (method, rank), points in series.items():
            points = sorted(points, key=lambda r: r["bytes_per_face"])
            k = ranks.index(rank) if rank is not None else None
            ax.plot([p["bytes_per_face"] for p in points], [p[key] for p in points],
                    color=colours[methods.index(method) % len(colours)],
                    marker=_RD_MARKERS[k % len(_RD_MARKERS)] if k is not None else ".",
                    ls=_RD_LINES[k % len(_RD_LINES)] if k is not None else "-",
                    lw=1.4, ms=5, label=method + (f", rank {rank}" if rank is not None else ""))
            for p in points:
                if p.get("label"):
                    ax.annotate(str(p["label"]), (p["bytes_per_face"], p[key]),
                                textcoords="offset points", xytext=(3, -9), fontsize=6.5,
                                color="0.3")
        ax.set_xscale("log")
        ax.margins(x=0.08)  # room for the point labels at the ends
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(
            lambda x, _: f"{x:,.0f}" if x > 0 and round(x / 10 ** math.floor(
                math.log10(x) + 1e-9)) in (2, 5) else ""))
        ax.tick_params(axis="x", which="minor", labelsize=7)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize="small")
    if title:
        fig.suptitle(title, fontsize=10)
    return _finish(fig, path)


# -- recognition ---------------------------------------------------------------------------
_METHOD_COLOURS = {"nmf": "tab:blue", "snmf": "tab:purple", "pca": "tab:orange",
                   "raw": "tab:green"}
#: Line style and marker of each probe condition in accuracy_vs_rank, in order.
_CONDITION_STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"),
                     ((0, (5, 1, 1, 1, 1, 1)), "v"), ((0, (1, 3)), "P"))


def _condition_text(condition, mask, sep=" "):
    return condition + (f"{sep}({mask} mask)" if mask else "")


def _protocol_text(report):
    """``"2 splits of 5 training faces per identity"`` or ``"10 leave-one-out folds"``."""
    p = report.protocol
    n = p["splits"]
    what = ("split" if p["name"] == "split" else "leave-one-out fold") + ("s" if n != 1 else "")
    return f"{n} {what}" + (f" of {p['train_per_identity']} training faces per identity"
                            if p.get("train_per_identity") else "")


def _results_of(name, report):
    results = getattr(report, "results", None)
    if not isinstance(results, list) or not results:
        raise ValueError(f"{name}: expected a RecognitionReport with results, got "
                         f"{type(report).__name__}" + (" without results" if
                                                       isinstance(results, list) else ""))
    return results


def recognition_results(report, *, path=None):
    """Accuracy of each method under each probe condition, as grouped bars with ± std.

    Parameters
    ----------
    report : facenmf.recognition.RecognitionReport
        Results of :func:`facenmf.recognition.evaluate`.
    path : str or os.PathLike, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per metric; bars per method, grouped by condition; the mean accuracy
        written on each bar. The legend (one colour per method) sits above the panels,
        outside them, so it covers no bar; the title is wrapped to the figure's width.
    """
    results = _results_of("report", report)
    metrics = list(dict.fromkeys(r["metric"] for r in results))
    methods = list(dict.fromkeys(r["method"] for r in results))
    conditions = list(dict.fromkeys((r["condition"], r["mask"]) for r in results))
    fig = Figure(figsize=(max(4.5, 1.2 * len(conditions) * len(methods) ** 0.5 + 2),
                          3.2 * len(metrics) + 0.5), layout="constrained", dpi=DPI)
    axes = fig.subplots(len(metrics), 1, squeeze=False)[:, 0]
    width = 0.8 / len(methods)
    for ax, metric in zip(axes, metrics):
        for i, method in enumerate(methods):
            means, stds = [], []
            for cond in conditions:
                r = next((r for r in results if r["metric"] == metric and r["method"] == method
                          and (r["condition"], r["mask"]) == cond), None)
                means.append(np.nan if r is None else 100 * r["mean"])
                stds.append(0 if r is None else 100 * r["std"])
            x = np.arange(len(conditions)) + (i - (len(methods) - 1) / 2) * width
            bars = ax.bar(x, means, width, yerr=stds, capsize=2, label=method.upper(),
                          color=_METHOD_COLOURS.get(method))
            ax.bar_label(bars, labels=["" if np.isnan(m) else f"{m:.1f}" for m in means],
                         fontsize=7, padding=2)
        ax.set_xticks(np.arange(len(conditions)),
                      [_condition_text(c, m, "\n") for c, m in conditions], fontsize=8)
        ax.set_ylim(0, 110)
        ax.set_ylabel(f"accuracy (%), {metric}")
        ax.grid(axis="y", alpha=0.3)
    # Above the first panel, outside it (the layout makes room): it covers no bar.
    axes[0].legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(methods),
                   fontsize=8, frameon=False, borderaxespad=0.3)
    _suptitle(fig, f"1-NN identification, rank {report.rank}, {_protocol_text(report)}", 10)
    return _finish(fig, path)


def accuracy_vs_rank(rows, *, path=None):
    """Mean accuracy (± std) against rank: a panel per metric, a line per method and condition.

    Parameters
    ----------
    rows : list of (int, RecognitionReport)
        As returned by :func:`facenmf.recognition.accuracy_vs_rank`; every metric of the
        reports is drawn.
    path : str or os.PathLike, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per metric (titled with it, a shared accuracy axis); in each, one colour
        per method and one line style and marker per probe condition, the measured ranks
        as ticks; the legend on the right, outside the panels.

    Raises
    ------
    ValueError
        No rows, or a report without results.
    """
    rows = sorted(rows, key=lambda r: r[0])
    if not rows:
        raise ValueError("rows: expected at least one (rank, report) pair, got none")
    for i, (_, rep) in enumerate(rows):
        _results_of(f"rows[{i}]", rep)
    everything = [r for _, rep in rows for r in rep.results]
    metrics = list(dict.fromkeys(r["metric"] for r in everything))
    keys = list(dict.fromkeys((r["method"], r["condition"], r["mask"]) for r in everything))
    conditions = list(dict.fromkeys((c, m) for _, c, m in keys))
    ranks = [rank for rank, _ in rows]
    fig = Figure(figsize=(4.2 * len(metrics) + 2.3, max(3.8, 0.19 * len(keys) + 1.2)),
                 layout="constrained", dpi=DPI)
    axes = fig.subplots(1, len(metrics), squeeze=False, sharey=True)[0]
    for ax, metric in zip(axes, metrics):
        for method, cond, mask in keys:
            means, stds = [], []
            for _, rep in rows:
                r = next((r for r in rep.results if (r["method"], r["condition"], r["mask"],
                                                     r["metric"]) == (method, cond, mask, metric)),
                         None)
                means.append(np.nan if r is None else 100 * r["mean"])
                stds.append(np.nan if r is None else 100 * r["std"])
            if np.isnan(means).all():
                continue
            ls, marker = _CONDITION_STYLES[conditions.index((cond, mask))
                                           % len(_CONDITION_STYLES)]
            ax.errorbar(ranks, means, yerr=stds, ls=ls, marker=marker, ms=4, capsize=2,
                        lw=1.4, color=_METHOD_COLOURS.get(method),
                        label=f"{method.upper()}, {_condition_text(cond, mask)}")
        ax.set_title(f"{metric} metric", fontsize=10)
        ax.set_xlabel("rank (basis images / eigenfaces)")
        ax.set_xticks(ranks, [str(r) for r in ranks])
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy (%), 1-NN")
    axes[0].set_ylim(0, 102)
    labelled = {}
    for ax in axes:  # every line once, even one missing from the first panel
        for handle, label in zip(*ax.get_legend_handles_labels()):
            labelled.setdefault(label, handle)
    # Beside the last panel, outside it (the layout makes room, below the title).
    axes[-1].legend(list(labelled.values()), list(labelled), loc="upper left",
                    bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=7)
    _suptitle(fig, f"Accuracy against rank, {_protocol_text(rows[0][1])}", 10)
    return _finish(fig, path)


def nearest_faces(faces, report, *, n=None, path=None):
    """Sample probes (as the recognizer saw them) and each method's nearest gallery face,
    under every probe condition of the report.

    Parameters
    ----------
    faces : FaceSet
        The faces the report was computed on.
    report : facenmf.recognition.RecognitionReport
        Its ``examples`` (from the first split) are drawn.
    n : int, optional
        Probes shown per condition, spread evenly over the split; the same probes under
        each condition. Default 6 for one condition, else 3.
    path : str or os.PathLike, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        A group of rows per probe condition, headed by its name; in each, one row per
        probe: the probe, then per method its nearest gallery face, titled right (✓) or
        wrong (✗, in red). The title names the metric the neighbours were found by.
    """
    ex = getattr(report, "examples", None) or {}
    groups = ex.get("conditions")
    if not groups:
        raise ValueError("report: expected a RecognitionReport with examples (from "
                         "facenmf.recognition.evaluate), found none")
    n = v.check_int("n", n, low=1, allow_none=True)
    if n is None:
        n = 6 if len(groups) == 1 else 3
    methods = list(groups[0]["nearest"])
    n_probes = len(ex["probe_index"])
    # Probes spread over the split (different identities), not its first n.
    picks = np.unique(np.linspace(0, n_probes - 1, min(n, n_probes)).round().astype(int))
    n = len(picks)
    shape = faces.image_shape
    A = np.asarray(faces.A)
    labels = faces.labels
    lim = _grey_limit(A[:, :1])
    size = 1.3 * max(1.0, shape[1] / shape[0])
    head = 0.3 if len(groups) > 1 else 0.0  # room for each group's heading
    fig = Figure(figsize=(max(size * (1 + len(methods)), 4.0),
                          len(groups) * (1.45 * n + head) + 0.55),
                 layout="constrained", dpi=DPI)
    panels = fig.subfigures(len(groups), 1, squeeze=False)[:, 0] if len(groups) > 1 else [fig]
    for panel, group in zip(panels, groups):
        axes = panel.subplots(n, 1 + len(methods), squeeze=False)
        for i, p in enumerate(picks):
            ax = axes[i, 0]
            ax.imshow(group["probes"][:, p].reshape(shape), cmap=GREY, vmin=0, vmax=lim)
            _bare(ax)
            ax.set_ylabel(f"probe ({labels[ex['probe_index'][p]]})", fontsize=8)
            for c, method in enumerate(methods, start=1):
                g = group["nearest"][method][p]
                ax = axes[i, c]
                ax.imshow(A[:, g].reshape(shape), cmap=GREY, vmin=0, vmax=lim)
                _bare(ax)
                ok = bool(group["correct"][method][p])
                ax.set_title(f"{method.upper()}: {labels[g]} {'✓' if ok else '✗'}",
                             fontsize=8, color="black" if ok else "tab:red")
        if len(groups) > 1:
            panel.suptitle(f"probes: {_condition_text(group['condition'], group['mask'])}",
                           fontsize=9, fontweight="bold")
    what = (f"probes {_condition_text(groups[0]['condition'], groups[0]['mask'])}, "
            if len(groups) == 1 else "")
    _suptitle(fig, f"Nearest gallery face of each method by {ex['metric']} distance, {what}"
                   f"rank {report.rank}, first split", 10)
    return _finish(fig, path)
