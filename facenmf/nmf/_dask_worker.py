"""What a Dask worker runs for a fit (see :mod:`._dask`): the parts it keeps and the tasks.

Each worker process keeps the parts of a fit given to it (their faces, of the working dtype,
and their weights) in :data:`PARTS`, until the fit ends (:func:`drop`). A task on a part runs
the functions queued for its weights, then one kernel (:mod:`._blocks`), and returns the
kernel's sums; the sums of a worker's parts are added there (:func:`merge_sums`).
Nothing here imports dask at module level: the functions are sent to the workers by name.
"""

from __future__ import annotations

import numpy as np

from ._blocks import Weights, merge, to_working

__all__ = ["PARTS", "PartMissing", "load_part", "run_part", "hold", "merge_sums", "take",
           "set_weights", "rename", "drop", "held"]

#: On a worker: (worker address, fit key) -> {part index: _Part}.
PARTS = {}


class PartMissing(RuntimeError):
    """A worker was asked for a part it does not hold (it restarted, or the part moved)."""


class _Part:
    def __init__(self, A, w, start):
        self.A, self.w, self.start, self.ops = A, w, start, 0


def _store(fit):
    from distributed import get_worker

    return PARTS.setdefault((get_worker().address, fit), {})


def load_part(fit, index, start, piece, dtype, rebuild):
    """Keep the faces ``piece`` of part ``index`` (first column ``start``) here, of the
    working ``dtype``, with new weights: empty, or ``rebuild[0](A, *rebuild[1:])``."""
    A = to_working(piece, np.dtype(dtype))
    if A is piece or A.base is not None:
        # Kept for the whole fit: an array of its own, not a view of the buffer the piece
        # arrived in or of Dask's copy of it.
        A = A.copy()
    w = Weights(A.shape[1]) if rebuild is None else rebuild[0](A, *rebuild[1:])
    _store(fit)[index] = _Part(A, w, start)
    return A.shape[1]


def run_part(fit, index, applies, kernel, args, extra, after=None):
    """The functions ``applies`` (``(func, args)``) on part ``index``'s weights, then
    ``kernel(A, w, start, acc, *args[, extra])`` on the part; returns its sums ``acc``
    (``after``: only a dependency, to keep an order)."""
    part = _store(fit).get(index)
    if part is None:
        raise PartMissing(f"part {index} of fit {fit} is not on this worker")
    for func, fargs in applies:
        func(part.w, *fargs)
    part.ops += 1
    acc = {}
    if kernel is not None:
        kernel(part.A, part.w, part.start, acc, *(args or ()),
               *(() if extra is None else (extra,)))
    return acc


def hold(value):
    """Task: ``value`` itself (arguments sent once to a worker, fetched from there)."""
    return value


def merge_sums(*accs):
    """The sums of several parts (on the worker that holds them), added in order."""
    total = {}
    for acc in accs:
        merge(total, acc)
    return total


def take(A, w, start, acc, name):
    """Kernel: the part's weights ``name`` (to gather them)."""
    acc["value"] = getattr(w, name)


def set_weights(A, w, start, acc, name, value):
    """Kernel: the part's weights ``name`` set to ``value`` (k, width)."""
    setattr(w, name, np.array(value))


def rename(w, old, new):
    """The weights ``old`` also known as ``new``."""
    setattr(w, new, getattr(w, old))


def drop(fit, dask_worker=None):
    """Forget the parts of ``fit`` on this worker (run with ``Client.run``)."""
    PARTS.pop((dask_worker.address, fit), None)


def held(dask_worker=None):
    """What this worker holds: ``{fit key: {part index: (first column, width, tasks run)}}``
    (run with ``Client.run``, e.g. to watch a fit)."""
    return {fit: {i: (p.start, p.A.shape[1], p.ops) for i, p in parts.items()}
            for (address, fit), parts in PARTS.items() if address == dask_worker.address}
