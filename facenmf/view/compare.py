"""NMF, PCA and VQ bases side by side (Lee & Seung 1999, Fig. 1); the bases are fitted by
:mod:`facenmf.baselines`.
"""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from .. import _validation as v
from ..baselines import method_bases
from ..metrics import hoyer_sparseness
from ._common import DPI, check_matrix, finish, montage, scaled_tiles

__all__ = ["compare_methods"]


def compare_methods(A, image_shape, rank=49, *, random_state=0, variants=(), labels=None,
                    variant_options=None, path=None):
    """Show the NMF, PCA and VQ bases of the faces side by side (Lee & Seung 1999, Fig. 1),
    and the face NMF variants' beside them.

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
    variants, labels, variant_options
        Face NMF variants to add (``"nmfsc"``, ``"lnmf"``, ``"gnmf"``, ``"dnmf"``), the
        identities DNMF needs, options per variant: as :func:`method_bases`.
    path : str or os.PathLike, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One montage per method (bases from :func:`method_bases`; four to a row when there
        are more than three), each image scaled on its own;
        non-negative bases in grey, bases with negative entries (PCA) in a diverging map
        centred on 0 (red positive, blue negative). Each title gives the mean Hoyer
        sparseness of the basis images (:func:`hoyer_sparseness`): NMF's parts are sparse,
        eigenfaces and prototypes are whole faces.

    Raises
    ------
    ValueError
        ``A`` rows not matching ``image_shape``, negative ``A``, ``rank`` out of range.
    """
    A = check_matrix("A", A, nonnegative=True)
    image_shape = v.check_image_shape("image_shape", image_shape, A.shape[0], rows_of="A")
    bases = method_bases(A, rank, random_state=random_state, variants=variants, labels=labels,
                         variant_options=variant_options)
    rank = next(iter(bases.values())).shape[1]

    h, w = image_shape
    ncols = math.ceil(math.sqrt(rank))
    nrows = math.ceil(rank / ncols)
    gap = max(1, round(0.03 * max(h, w)))
    grid_w, grid_h = ncols * (w + gap) + gap, nrows * (h + gap) + gap
    panel = min(4.0, max(2.2, 0.5 * ncols * w / max(h, w)))  # inches per montage width
    across = len(bases) if len(bases) <= 3 else 4
    down = math.ceil(len(bases) / across)
    fig = Figure(figsize=(across * panel + 0.4, down * panel * grid_h / grid_w + 0.3 + 0.5 * down),
                 dpi=DPI, layout="constrained")
    axes = fig.subplots(down, across, squeeze=False).ravel()
    notes = {"NMF": "parts, by usage", "PCA": "eigenfaces, by variance",
             "VQ": "prototypes, by cluster size", "NMFsc": "constrained (Hoyer)",
             "LNMF": "local NMF", "GNMF": "graph-regularized", "DNMF": "discriminant"}
    for ax in axes[len(bases):]:
        ax.set_axis_off()
    for ax, (name, B) in zip(axes, bases.items()):
        signed = bool((B < 0).any())
        montage(ax, scaled_tiles(B, image_shape, signed), ncols, signed=signed)
        ax.set_title(f"{name}: {notes[name]}\nsparseness {hoyer_sparseness(B):.2f}"
                     + ("  (red +, blue −)" if signed else ""), fontsize=9)
    fig.suptitle(f"Rank-{rank} bases of {A.shape[1]} faces ({h}×{w}); sparseness: Hoyer "
                 "2004, 0 = all pixels equal, 1 = one pixel", fontsize=10)
    return finish(fig, path)
