"""Private helpers of the figures: checks, number formatting, title wrapping, saving,
montage tiles, and the figure resolution and colour maps.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize

from .. import _validation as v
from .._atomic import atomic_write

__all__ = ["DPI", "GREY", "DIVERGING", "GAP_GREY", "GAP_SIGNED", "check_matrix", "human", "suptitle",
           "finish", "scaled_tiles", "montage", "bare", "grey_limit"]

#: Resolution of the figures and of the saved PNGs (pixels per inch).
DPI = 100
#: Grey map for faces and non-negative basis images; diverging map (centred on 0) for
#: residuals and bases with negative entries (red positive, blue negative).
GREY, DIVERGING = "gray", "RdBu_r"
GAP_GREY, GAP_SIGNED = "white", "0.65"


# -- checks ------------------------------------------------------------------------------
def check_matrix(name, value, *, shape=None, nonnegative=False):
    """Return ``value`` as a finite 2-D float64 array (optionally non-negative, of a shape)."""
    if nonnegative:
        return v.check_nonnegative_matrix(name, value, np.float64, shape=shape)
    return v.check_finite_matrix(name, value, shape=shape)


# -- text --------------------------------------------------------------------------------
def human(x):
    """A number as people write it: ``3,110``, ``644``, ``12.5``, ``0.25``, ``0.00012``.

    How every figure writes the numbers of its titles and tick labels (public as
    ``facenmf.view.human``, so that other figures can match them). Three significant
    digits below 100, whole numbers with thousands separators above;
    never scientific notation (``3.11e+03``).

    Examples
    --------
    >>> [human(x) for x in (10304 / 3.3125, 643.9, 12.53, 0.25, 1.2e-4, 0, -2.5)]
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


def suptitle(fig, text, fontsize):
    """Set ``text`` as the figure title, each line wrapped to fit the figure's width."""
    # About 0.6 em per character (DejaVu Sans, mixed text and digits); 8% margin.
    chars = max(16, int(0.92 * fig.get_figwidth() * 72 / (0.6 * fontsize)))
    lines = [part for line in text.split("\n") for part in _wrap(line, chars)]
    return fig.suptitle("\n".join(lines), fontsize=fontsize)


# -- saving ------------------------------------------------------------------------------
def finish(fig, path):
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


def scaled_tiles(M, image_shape, signed):
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


def montage(ax, tiles, ncols, *, signed, labels=None, fontsize=6.5):
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
        bad=GAP_SIGNED if signed else GAP_GREY)
    norm = Normalize(-1.0, 1.0) if signed else Normalize(0.0, 1.0)
    ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, interpolation="antialiased")
    ax.set_axis_off()
    if labels is not None:
        for i, text in enumerate(labels):
            r, c = divmod(i, ncols)
            ax.text(gap + c * cell_w + w / 2, gap + top + r * cell_h - 0.5 - 0.1 * gap, text,
                    ha="center", va="bottom", fontsize=fontsize)
    return grid.shape


def bare(ax):
    """No ticks, no frame, but keep the y label (``set_axis_off`` would hide it)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def grey_limit(A_cols):
    """Upper grey limit: 1 for data in [0, 1] (the package's scale), else the data maximum."""
    top = float(A_cols.max())
    return max(1.0, top)
