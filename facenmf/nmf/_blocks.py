"""Column blocks: ``A`` (n_pixels, n_faces) read a block of faces at a time.

Every fit is organised by blocks of ``BLOCK`` columns (faces). The H update of HALS is
separable by columns, so each block sweeps its own weights while they sit in cache, and
the W update needs only sums over the blocks (``A_b H_bᵀ`` and ``H_b H_bᵀ``). The block
boundaries depend on the number of faces only (never on the machine or on how the data are
stored), so an in-memory, a memory-mapped, an on-disk (zarr) and a distributed fit of the
same data make the same iterates.

:func:`as_columns` wraps what :func:`facenmf.nmf` was given: an in-memory array stays as it
is (blocks are views); a memory-mapped ``.npy`` or a zarr array (or anything with ``shape``,
``dtype`` and numpy slicing) is read block by block and never held whole. 8-bit pixels
(``uint8``) are read as ``value / 255``, the convention of ``load_faces``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BLOCK", "block_slices", "Columns", "as_columns", "is_streamed", "check_streamed"]

#: Columns per block: the weights of a block (rank x BLOCK, float32) fill half of a 1 MiB
#: L2 cache at rank 64 and all of it at rank 128 (a property of CPUs, not of any data).
BLOCK = 2048

# Columns read from storage at a time (a multiple of BLOCK): 16 MiB of float32 at 1024
# pixels, few enough reads that a zarr store's per-read overhead does not show.
_READ = 4 * BLOCK


def block_slices(m, block=BLOCK):
    """The column slices ``[0, block), [block, 2 block), ...`` of ``m`` columns."""
    return [slice(s, min(s + block, m)) for s in range(0, m, block)]


def is_streamed(A):
    """True for data read block by block: a memory map or a zarr-like array (not numpy)."""
    if isinstance(A, np.memmap):
        return True
    if isinstance(A, np.ndarray):
        return False
    return all(hasattr(A, attr) for attr in ("shape", "dtype", "__getitem__")) \
        and len(getattr(A, "shape", ())) == 2 \
        and not type(A).__module__.startswith(("dask.", "scipy.sparse"))


class Columns:
    """Read access to a streamed ``A`` (n_pixels, n_faces) by column ranges.

    ``read(cols)`` returns ``A[:, cols]`` as a C-contiguous array of the working ``dtype``
    (uint8 scaled by 1/255). ``ranges()`` yields the read ranges, each a whole number of
    blocks, with the block slices inside them (relative to the range).
    """

    def __init__(self, A, dtype, name="A"):
        self.A, self.name = A, name
        self.shape = tuple(int(s) for s in A.shape)
        self.dtype = np.dtype(dtype)
        self.source_dtype = np.dtype(A.dtype)
        self.norm_sq = None  # ||A||_F², set by check_streamed
        # A checked in-memory array of the working dtype: blocks are views.
        self.in_memory = not is_streamed(A) and self.source_dtype == self.dtype
        if self.source_dtype.kind not in "uif":
            raise TypeError(f"{name}: expected an array of real numbers, got dtype "
                            f"{self.source_dtype}")

    def read(self, cols):
        if self.in_memory:
            return self.A[:, cols]
        block = np.asarray(self.A[:, cols])
        if self.source_dtype == np.uint8:
            out = block.astype(self.dtype)
            out *= self.dtype.type(1 / 255)
            return out
        return np.ascontiguousarray(block, dtype=self.dtype)

    def ranges(self):
        m = self.shape[1]
        for start in range(0, m, _READ):
            stop = min(start + _READ, m)
            yield slice(start, stop), block_slices(stop - start)

    def blocks(self):
        """``(cols, A_b)`` for every block, reading ``_READ`` columns at a time."""
        for cols, inner in self.ranges():
            data = self.read(cols)
            for sl in inner:
                yield slice(cols.start + sl.start, cols.start + sl.stop), data[:, sl]


def check_streamed(columns):
    """One pass over a streamed ``A``: refuse NaN, inf and negative entries (naming the first
    face where one is) and an all-zero ``A``; return ``||A||_F²`` (float64)."""
    name, total, any_nonzero = columns.name, 0.0, False
    n, m = columns.shape
    if n == 0 or m == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {columns.shape}")
    for cols, block in columns.blocks():
        if columns.source_dtype.kind == "f":
            finite = np.isfinite(block)
            if not finite.all():
                face = cols.start + int(np.flatnonzero(~finite.all(axis=0))[0])
                raise ValueError(f"{name}: expected finite values, found NaN or inf in face "
                                 f"(column) {face}")
        low = block.min()
        if low < 0:
            face = cols.start + int(np.flatnonzero((block < 0).any(axis=0))[0])
            raise ValueError(f"{name}: expected non-negative values, found {float(low):g} "
                             f"in face (column) {face}")
        total += float(np.einsum("ij,ij->", block, block, dtype=np.float64))
        any_nonzero = any_nonzero or bool(block.any())
    if not any_nonzero:
        raise ValueError(f"{name}: all {n * m} entries are zero; there is nothing to "
                         "factorize")
    columns.norm_sq = total
    return total


def as_columns(A, dtype=None, name="A"):
    """``Columns`` over ``A``: a streamed array (see :func:`is_streamed`) read block by
    block, or a checked in-memory array (``dtype`` None: its own) whose blocks are views."""
    if isinstance(A, Columns):
        return A
    return Columns(A, A.dtype if dtype is None else dtype, name)
