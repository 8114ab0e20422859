"""Fits on a Dask cluster: the faces and their weights stay on the workers.

:func:`facenmf.nmf` of a Dask array with an active ``dask.distributed`` Client runs here. The
columns are split into *parts* of whole blocks (``BLOCK`` faces; the block boundaries of
every other path, so the iterates are the same), each loaded once onto one worker, where it
stays with its weights ``H`` in that worker's memory. A fit is the same
:class:`._stream.StreamHALS` as on disk, and the same kernels (:mod:`._init`,
:mod:`._stream`): each pass runs the kernel of every part on its worker, the sums of a worker's
parts are added there, and only those sums (``n_pixels x rank`` and ``rank x rank``) and
``W`` travel. Communication per iteration does not grow with the number of faces.

A worker lost during the fit does not lose the fit. Its parts go to the other workers, which
load their faces again (Dask recomputes them from the array's graph: a zarr store is read
again), and their weights are rebuilt: during the init by replaying the few passes done so
far (exact), afterwards by projecting the faces onto the current basis (an exact NNLS, see
:func:`._stream.rebuild_weights`); a :class:`WorkerLostWarning` says which faces. The fit
then goes on (its iterates from there differ from an uninterrupted fit's).

Without an active Client, a Dask array is read range by range in this process (Dask's local
scheduler computes each range, as a zarr store is read): the same iterates, no cluster.

dask and distributed are optional (``pip install 'facenmf[dask]'``); they are imported only
here (and in :mod:`._dask_parts`, :mod:`._dask_worker`), inside the functions that use them.
"""

from __future__ import annotations

import uuid

import numpy as np

from ._blocks import BLOCK, Columns, is_dask
from ._dask_parts import DaskColumns, RemoteWeights, WorkerLostWarning, plan_parts
from ._dask_worker import PartMissing, held

__all__ = ["DaskColumns", "RemoteWeights", "WorkerLostWarning", "PartMissing", "to_dask",
           "dask_columns", "active_client", "require", "plan_parts", "held"]


def require(what="a Dask fit"):
    """Import dask.array and distributed, or raise a one-line ImportError naming the extra."""
    try:
        import dask.array  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"{what} needs dask and distributed ({exc.name} is not installed): "
                          "pip install 'facenmf[dask]'") from None


def active_client():
    """The active ``distributed.Client`` (the default one), or None."""
    try:
        from distributed import default_client
    except ImportError:  # dask without distributed: no cluster
        return None
    try:
        return default_client()
    except ValueError:  # no Client started
        return None


def dask_columns(A, dtype, name="A"):
    """``A`` (a Dask array) as :class:`DaskColumns` on the active Client, or without one as
    :class:`._blocks.Columns` read range by range here (Dask's local scheduler)."""
    if len(A.shape) != 2:
        raise ValueError(f"{name}: expected a 2-D array (n_pixels, n_faces), got shape "
                         f"{tuple(A.shape)}")
    client = active_client()
    if client is None:
        return Columns(A, dtype, name)
    return DaskColumns(A, dtype, client, name)


# -- Dask arrays of face matrices -------------------------------------------------------------
def _read_memmap(filename, offset, shape, dtype, order, cols):
    mm = np.memmap(filename, dtype=dtype, mode="r", offset=offset, shape=shape, order=order)
    return np.array(mm[:, cols])


def to_dask(A, *, chunk=4 * BLOCK):
    """A face matrix ``A`` (n_pixels, n_faces) as a Dask array whose chunks the workers of a
    Dask cluster read (or get), and get again if a worker is lost.

    Parameters
    ----------
    A : array of shape (n_pixels, n_faces)
        A Dask array (returned as it is); a memory-mapped ``.npy``
        (``numpy.load(path, mmap_mode="r")``: each chunk is read from the file by the worker
        that computes it, so the file must be where the workers can read it); a zarr array
        (``dask.array.from_zarr``) or another array-like that pickles by reference, such as
        a face store's ``StoreArray`` (read by the workers); an in-memory array (each chunk
        goes to a worker through the scheduler when a fit needs it, and again if its worker
        is lost: the array stays here).
    chunk : int
        Faces per chunk (columns); a multiple of 2048 keeps the chunks on the blocks of a
        fit.

    Returns
    -------
    dask.array.Array of shape (n_pixels, n_faces)
    """
    require("to_dask")
    import dask
    import dask.array as da

    if is_dask(A):
        return A
    if len(getattr(A, "shape", ())) != 2:
        raise ValueError(f"A: expected a 2-D array (n_pixels, n_faces), got shape "
                         f"{getattr(A, 'shape', None)}")
    n, m = (int(s) for s in A.shape)
    slices = [slice(s, min(s + chunk, m)) for s in range(0, m, chunk)]
    if isinstance(A, np.memmap) and A.filename is not None:
        order = "F" if A.flags.f_contiguous and not A.flags.c_contiguous else "C"
        read = dask.delayed(_read_memmap, pure=True)
        blocks = [da.from_delayed(read(A.filename, A.offset, A.shape, A.dtype.str, order, c),
                                  (n, c.stop - c.start), dtype=A.dtype) for c in slices]
        return da.concatenate(blocks, axis=1)
    if type(A).__module__.startswith("zarr"):
        return da.from_zarr(A, chunks=(n, chunk))
    if isinstance(A, np.ndarray):
        # Each chunk a literal of its own in the graph (a view here): computing a part
        # sends only its chunks, and a lost part's faces can be sent again. Scattered
        # chunks would live only on the workers: lost with a worker, for good.
        name = f"faces-{uuid.uuid4().hex[:12]}"
        blocks = [da.from_delayed(dask.delayed(A[:, c], name=f"{name}-{i}"),
                                  (n, c.stop - c.start), dtype=A.dtype)
                  for i, c in enumerate(slices)]
        return da.concatenate(blocks, axis=1)
    return da.from_array(A, chunks=(n, chunk))
