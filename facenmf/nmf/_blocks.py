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

Passes. The work of a fit on ``A`` is written as *kernels*, functions of one read range (a
run of whole blocks) and its weights that add their sums into a dict
(``kernel(A_r, w, start, acc, *args)``, see :meth:`Columns.total`). A :class:`Columns` runs
them here, range after range; :class:`facenmf.nmf._dask.DaskColumns` runs the same kernels on
the Dask workers that hold the faces (and their weights) and sums the dicts there. The inits
(:mod:`._init`) and the block-wise HALS (:mod:`._stream`) are written once, as kernels.
"""

from __future__ import annotations

import numpy as np

from ._sparse import is_sparse

__all__ = ["BLOCK", "block_slices", "Columns", "Weights", "as_columns", "is_streamed",
           "is_dask", "check_streamed", "to_working", "add", "merge"]

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


def is_dask(A):
    """True for a Dask array (told by its type's module: dask need not be imported)."""
    return type(A).__module__.startswith("dask.") and hasattr(A, "__dask_graph__")


def to_working(block, dtype):
    """``block`` as a C-contiguous array of ``dtype``; 8-bit pixels scaled by 1/255."""
    block = np.asarray(block)
    if block.dtype == np.uint8:
        out = block.astype(dtype)
        out *= dtype.type(1 / 255)
        return out
    return np.ascontiguousarray(block, dtype=dtype)


def add(acc, key, value):
    """``acc[key] += value`` (``value`` itself if the key is new: ``0 + x`` is ``x`` exactly,
    so a kernel that adds its parts in order makes the sums of a sequential loop)."""
    acc[key] = value if key not in acc else acc[key] + value


def merge(acc, other):
    """Add the dict ``other`` into ``acc`` (in place, returned): sums, except keys starting
    with ``max_`` (the elementwise largest) and ``min_`` (the smallest value, e.g. a tuple
    that starts with a column index: the first one)."""
    for key, value in other.items():
        if key not in acc:
            acc[key] = value
        elif key.startswith("max_"):
            acc[key] = np.maximum(acc[key], value)
        elif key.startswith("min_"):
            acc[key] = min(acc[key], value)
        else:
            acc[key] = acc[key] + value
    return acc


class Weights:
    """The weights of a run of ``width`` columns through a fit: arrays of shape (k, width)
    by name (``H``, and for HALS ``prev``, ``E``, ``best``, ``out``; None when absent).

    Kernels change the arrays in place (they may get a :meth:`view` of some columns);
    replacing an array is for functions run on whole weights (:meth:`Columns.apply`).
    """

    def __init__(self, width):
        self.width = int(width)
        self.H = self.prev = self.E = self.best = self.out = None

    def view(self, cols):
        """The same weights for the columns ``cols`` (a slice): views of every array."""
        v = Weights(cols.stop - cols.start)
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray):
                setattr(v, name, value[:, cols])
        return v


def allocate(w, name, rows, dtype, fill=None):
    """``w.<name>``: a new (rows, width) array of ``dtype`` (zeros, or uninitialized with
    ``fill="empty"``)."""
    make = np.empty if fill == "empty" else np.zeros
    setattr(w, name, make((rows, w.width), dtype))


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
        # A checked in-memory array of the working dtype: blocks are views (of a checked
        # sparse A, CSC: slices of its columns, still sparse).
        self.in_memory = (isinstance(A, np.ndarray) and not isinstance(A, np.memmap)
                          or is_sparse(A)) and self.source_dtype == self.dtype
        if self.source_dtype.kind not in "uif":
            raise TypeError(f"{name}: expected an array of real numbers, got dtype "
                            f"{self.source_dtype}")
        self.weights = Weights(self.shape[1])
        # How a part's weights are remade if they are lost (a Dask worker gone), as
        # (function(A_part, *args) -> Weights, *args); set by the solver, unused here.
        self.rebuild = None

    def read(self, cols):
        if self.in_memory:
            if cols == slice(0, self.shape[1]) and is_sparse(self.A):
                return self.A  # not a copy of every stored entry
            return self.A[:, cols]
        return to_working(self.A[:, cols], self.dtype)

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

    # -- passes: kernels run on every read range, here, in order --------------------------
    def part_slices(self):
        """The column slices the kernels run on (here: the read ranges), in order."""
        return [cols for cols, _ in self.ranges()]

    def total(self, kernel, *args, each=None):
        """One pass: ``kernel(A_r, w, start, acc, *args)`` on every read range, in order.

        ``A_r`` is the range's data (n_pixels, width) of the working dtype, ``w`` a
        :meth:`Weights.view` of its weights, ``start`` its first column and ``acc`` the
        dict the kernel adds its sums to (with :func:`add`; here one dict through every
        range, so the sums are those of a sequential loop; on a cluster one per part,
        merged with :func:`merge`). ``each``: a list of one more argument per part
        (:meth:`part_slices`). A kernel may return True to end the pass here (a cluster
        runs every part). Returns ``acc``.
        """
        acc = {}
        for i, (cols, _) in enumerate(self.ranges()):
            extra = () if each is None else (each[i],)
            if kernel(self.read(cols), self.weights.view(cols), cols.start, acc, *args,
                      *extra):
                break
        return acc

    def each(self, kernel, *args):
        """As :meth:`total`, with a dict per part: the list of them, in order."""
        out = []
        for cols, _ in self.ranges():
            acc = {}
            out.append(acc)
            if kernel(self.read(cols), self.weights.view(cols), cols.start, acc, *args):
                break
        return out

    def apply(self, func, *args):
        """``func(w, *args)`` on the whole weights (it may replace their arrays)."""
        func(self.weights, *args)

    def put(self, name, X):
        """Weights ``name`` set to ``X`` (k, n_faces) (not copied here)."""
        setattr(self.weights, name, X)

    def fetch(self, name, rows=None, dtype=None):
        """Weights ``name`` (k, n_faces) as an array (here: the array itself)."""
        return getattr(self.weights, name)

    gather = fetch  # the weights in this process, as a numpy array

    def close(self):
        """Release what the passes hold (nothing here; a cluster's parts)."""


def _check_kernel(A_r, w, start, acc, floats):
    """The checks of :func:`check_streamed` on a read range, block by block: the first
    problem (``min_problem``: column, kind, value), ``norm_sq``, ``nonzero``."""
    for sl in block_slices(A_r.shape[1]):
        block = A_r[:, sl]
        if floats:
            finite = np.isfinite(block)
            if not finite.all():
                face = start + sl.start + int(np.flatnonzero(~finite.all(axis=0))[0])
                acc["min_problem"] = (face, "nan", 0.0)
                return True
        low = block.min()
        if low < 0:
            face = start + sl.start + int(np.flatnonzero((block < 0).any(axis=0))[0])
            acc["min_problem"] = (face, "negative", float(low))
            return True
        add(acc, "norm_sq", float(np.einsum("ij,ij->", block, block, dtype=np.float64)))
        acc["nonzero"] = acc.get("nonzero", False) or bool(block.any())
    return False


def check_streamed(columns, allow_zero=False):
    """One pass over a streamed ``A``: refuse NaN, inf and negative entries (naming the first
    face where one is) and an all-zero ``A`` (unless ``allow_zero``); return ``||A||_F²``
    (float64)."""
    name = columns.name
    n, m = columns.shape
    if n == 0 or m == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {columns.shape}")
    acc = columns.total(_check_kernel, columns.source_dtype.kind == "f")
    if "min_problem" in acc:
        face, kind, low = acc["min_problem"]
        if kind == "nan":
            raise ValueError(f"{name}: expected finite values, found NaN or inf in face "
                             f"(column) {face}")
        raise ValueError(f"{name}: expected non-negative values, found {low:g} "
                         f"in face (column) {face}")
    total, any_nonzero = acc.get("norm_sq", 0.0), acc.get("nonzero", False)
    if not any_nonzero and not allow_zero:
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
