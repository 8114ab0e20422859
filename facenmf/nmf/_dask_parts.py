"""A Dask array's columns in parts on the workers of a cluster: :class:`DaskColumns`.

The client side of a fit on a Dask cluster (see :mod:`._dask`): where each part goes, the
passes over the parts (the kernels of :mod:`._blocks`, run by :mod:`._dask_worker` on the
worker that holds each part, their sums added there), and the recovery of the parts of a lost
worker.
"""

from __future__ import annotations

import math
import uuid
import warnings

import numpy as np

from ._blocks import BLOCK, Columns, block_slices, merge
from ._dask_worker import (PartMissing, drop, hold, load_part, merge_sums, rename, run_part,
                           set_weights, take)

__all__ = ["DaskColumns", "RemoteWeights", "WorkerLostWarning", "plan_parts"]

# Most blocks in one part (a bound on the memory of one task's data: 32768 faces).
_MAX_PART_BLOCKS = 16
# Seconds between looks at the cluster while waiting for a pass (a lost worker is noticed
# within about this time).
_POLL = 0.5
# Seconds to wait for a first worker to join a cluster that has none.
_JOIN = 10
# Loads in flight per worker (each holds a part's faces twice while it converts them).
_LOADS_PER_WORKER = 2


class WorkerLostWarning(UserWarning):
    """A Dask worker was lost during a fit; its faces' weights were rebuilt elsewhere."""


def plan_parts(m, workers):
    """Parts of ``m`` columns for ``workers`` ``{address: threads}``: ``[(cols, address)]``.

    Whole blocks, as many per worker as it has threads (so that every thread works), split
    into as many parts as its threads or more (at most ``_MAX_PART_BLOCKS`` blocks each), in
    column order; workers in the order of their addresses.
    """
    n_blocks = len(block_slices(m))
    addresses = sorted(workers)
    threads = [max(1, int(workers[a])) for a in addresses]
    total = sum(threads)
    bounds = [round(n_blocks * sum(threads[:i]) / total) for i in range(len(threads) + 1)]
    parts = []
    for i, address in enumerate(addresses):
        first, stop = bounds[i], bounds[i + 1]
        count = stop - first
        if count == 0:
            continue
        q = min(count, max(threads[i], math.ceil(count / _MAX_PART_BLOCKS)))
        cuts = [first + round(count * j / q) for j in range(q + 1)]
        for a, b in zip(cuts[:-1], cuts[1:]):
            parts.append((slice(a * BLOCK, min(b * BLOCK, m)), address))
    return parts


class RemoteWeights:
    """Weights (k, n_faces) that stay on the Dask workers: ``numpy.asarray`` gathers them.

    What a callback gets as ``H`` in a fit of a Dask array; it stands for the weights of that
    moment, so it is gathered only until the fit goes on (then ``numpy.asarray`` raises).
    """

    ndim = 2

    def __init__(self, cols, name, rows, dtype):
        self.cols, self.name, self.version = cols, name, cols.version
        self.shape, self.dtype = (int(rows), cols.shape[1]), np.dtype(dtype)

    def __array__(self, dtype=None, copy=None):
        if self.version != self.cols.version:
            raise ValueError("H: these weights of a Dask fit are gone (the fit has moved on); "
                             "gather them with numpy.asarray(H) in the callback that got them")
        H = self.cols.gather(self.name)
        return H if dtype is None else H.astype(dtype, copy=False)

    def __repr__(self):
        return f"RemoteWeights({self.name!r}, shape={self.shape}, dtype={self.dtype})"


class _PartInfo:
    def __init__(self, index, cols, worker):
        self.index, self.cols, self.worker = index, cols, worker


class DaskColumns(Columns):
    """A Dask array ``A`` (n_pixels, n_faces) on a Client's workers, in parts of whole blocks
    that stay on one worker each with their weights; the :class:`._blocks.Columns` passes
    (``total``, ``each``, ``apply``, ``put``, ``fetch``, ``gather``) run there.

    Nothing moves until the first pass: then the parts are loaded (their columns rechunked
    from ``A``, computed by Dask wherever it likes, and kept by the worker chosen for them).
    ``close()`` forgets them.
    """

    #: The parts stay in the workers' memory: a second pass over them reads nothing.
    held = True

    def __init__(self, A, dtype, client, name="A"):
        super().__init__(A, dtype, name)
        self.client = client
        self.key = f"facenmf-{uuid.uuid4().hex[:12]}"
        self.parts = None  # [_PartInfo], made at the first pass
        self.pieces = None  # the Dask (delayed) columns of each part
        self.pending = []  # (func, args) to apply to every part's weights before the next pass
        self.log = []  # the passes so far while no rebuild is set (the init): replayable
        self.inflight = []  # futures of a pass that did not finish (Ctrl-C)
        self.version = 0  # changes whenever the weights may change
        self.lost = []  # (workers, part indices, how) for each recovery
        self.closed = False

    # -- the parts --------------------------------------------------------------------------
    def _alive(self):
        """``{address: threads}`` of the workers the scheduler knows now. Asked directly:
        ``Client.scheduler_info()`` returns a cached copy that the client's periodic update
        may have just replaced by one without the workers, which made every worker look
        lost in the middle of a long fit."""
        info = self.client.sync(self.client.scheduler.identity, n_workers=-1)["workers"]
        return {address: w.get("nthreads", 1) for address, w in info.items()}

    def _start(self):
        workers = self._alive()
        if not workers:  # a cluster just started: its workers may still be joining
            try:
                self.client.wait_for_workers(1, timeout=_JOIN)
            except TimeoutError:
                pass
            workers = self._alive()
        if not workers:
            raise ValueError(f"{self.name}: the Dask cluster ({self.client.scheduler.address}) "
                             "has no workers; start some, or wait for them to join")
        n, m = self.shape
        plan = plan_parts(m, workers)
        self.parts = [_PartInfo(i, cols, address) for i, (cols, address) in enumerate(plan)]
        widths = tuple(cols.stop - cols.start for cols, _ in plan)
        # Pixels in one chunk, columns on the parts' block boundaries.
        self.pieces = list(self.A.rechunk(((n,), widths)).to_delayed().ravel())
        self._load(range(len(self.parts)), None)

    def part_slices(self):
        if self.parts is None:
            self._start()
        return [p.cols for p in self.parts]

    def _load(self, indices, rebuild):
        """Load the parts ``indices`` onto their workers (a few at a time per worker, each
        piece released once kept); returns ``{index: load future}``."""
        from distributed import wait

        loads, queue = {}, list(indices)
        running = []  # (index, load future, piece future)
        limit = _LOADS_PER_WORKER * max(1, len({self.parts[i].worker for i in queue}))
        while queue or running:
            while queue and len(running) < limit:
                i = queue.pop(0)
                part = self.parts[i]
                with warnings.catch_warnings():  # the faces must travel, once
                    warnings.filterwarnings("ignore", message="Sending large graph")
                    piece = self.client.compute(self.pieces[i], workers=[part.worker],
                                                allow_other_workers=True)
                fut = self.client.submit(load_part, self.key, i, part.cols.start, piece,
                                         self.dtype.str, rebuild, workers=[part.worker],
                                         allow_other_workers=False, pure=False,
                                         key=f"facenmf-load-{uuid.uuid4().hex}")
                running.append((i, fut, piece))
            try:
                wait([f for _, f, _ in running], timeout=_POLL, return_when="FIRST_COMPLETED")
            except TimeoutError:
                pass
            alive, still = None, []
            for i, fut, piece in running:
                if fut.status == "finished":
                    loads[i] = fut
                elif fut.status == "error":
                    fut.result()  # raises the worker's error (e.g. a bad chunk)
                else:
                    if alive is None:
                        alive = self._alive()
                    if self.parts[i].worker not in alive:
                        fut.cancel()
                        piece.cancel()
                        self._reassign([i], alive)
                        queue.append(i)
                    else:
                        still.append((i, fut, piece))
            running = still
        return loads

    def _reassign(self, indices, alive):
        """New workers for the parts ``indices``: each to the one with the fewest faces."""
        if not alive:
            raise RuntimeError(f"{self.name}: every worker of the Dask cluster "
                               f"({self.client.scheduler.address}) was lost during the fit")
        load = dict.fromkeys(sorted(alive), 0)
        for p in self.parts:
            if p.worker in load and p.index not in indices:
                load[p.worker] += p.cols.stop - p.cols.start
        for i in sorted(indices):
            worker = min(load, key=lambda a: (load[a], a))
            self.parts[i].worker = worker
            load[worker] += self.parts[i].cols.stop - self.parts[i].cols.start

    def _recover(self, indices):
        """Parts ``indices`` lost with their worker: new workers, faces loaded again, weights
        rebuilt (replayed during the init, else projected); returns ``{index: future}``
        after which the current pass can run on each."""
        dead = sorted({self.parts[i].worker for i in indices})
        self._reassign(indices, self._alive())
        faces = ", ".join(f"{self.parts[i].cols.start}-{self.parts[i].cols.stop - 1}"
                          for i in sorted(indices))
        how = "replayed (exact)" if self.rebuild is None else \
            "rebuilt by projecting their faces onto the current basis"
        self.lost.append((dead, sorted(indices), "replayed" if self.rebuild is None
                          else "projected"))
        last = self._load(indices, self.rebuild)
        now = ", ".join(sorted({self.parts[i].worker for i in indices}))
        warnings.warn(f"Dask worker {', '.join(dead)} lost during the fit; the weights of "
                      f"faces {faces} were {how} on {now}", WorkerLostWarning, stacklevel=2)
        if self.rebuild is None:  # the init: replay the passes so far (all but this one)
            for applies, kernel, handle, each in self.log[:-1]:
                for i in indices:
                    last[i] = self._submit_part(i, applies, kernel, handle, each, last[i])
        return last

    # -- passes -------------------------------------------------------------------------------
    def _submit_part(self, i, applies, kernel, handle, each, after=None):
        part = self.parts[i]
        extra = None if each is None else self._send(each[i], [part.worker])
        return self.client.submit(run_part, self.key, i, applies, kernel, handle, extra, after,
                                  workers=[part.worker], allow_other_workers=False,
                                  pure=False, key=f"facenmf-{getattr(kernel, '__name__', 'apply')}"
                                  f"-{uuid.uuid4().hex}")

    def _groups(self, indices, applies, kernel, handle, each, merged, after):
        """Submit the pass on the parts ``indices``: ``[(future, part futures, indices,
        worker)]``, one group per worker (its parts' sums added there) if ``merged``, else
        one per part."""
        futures = {i: self._submit_part(i, applies, kernel, handle, each, after.get(i))
                   for i in indices}
        if not merged:
            return [(futures[i], {i: futures[i]}, [i], self.parts[i].worker) for i in indices]
        groups = []
        for worker in sorted({self.parts[i].worker for i in indices}):
            mine = [i for i in indices if self.parts[i].worker == worker]
            total = self.client.submit(merge_sums, *[futures[i] for i in mine], workers=[worker],
                                       allow_other_workers=False, pure=False,
                                       key=f"facenmf-sum-{uuid.uuid4().hex}")
            groups.append((total, {i: futures[i] for i in mine}, mine, worker))
        return groups

    def _collect(self, groups):
        """Wait for the groups; returns ``(done, lost)``: ``[(indices, sums)]`` and the part
        indices whose worker was lost (or no longer holds them)."""
        from distributed import wait

        done, lost, pending = [], [], list(groups)
        while pending:
            try:
                wait([g[0] for g in pending], timeout=_POLL)
            except TimeoutError:
                pass
            finished = [g for g in pending if g[0].status == "finished"]
            if finished:  # their sums in one round trip
                sums = self.client.gather([g[0] for g in finished])
                done.extend((g[2], acc) for g, acc in zip(finished, sums))
            alive, still = None, []
            for group in pending:
                total, parts, indices, worker = group
                if any(group is g for g in finished):
                    continue
                if total.status == "finished":  # finished since: next time round
                    still.append(group)
                elif total.status == "error":
                    for i, f in parts.items():
                        if f.status == "finished":
                            done.append(([i], f.result()))
                        elif f.status == "error" and isinstance(f.exception(), PartMissing):
                            lost.append(i)
                        elif f.status == "error":
                            f.result()  # raises the kernel's error
                        else:
                            lost.append(i)  # cancelled with its worker
                else:
                    if alive is None:
                        alive = self._alive()
                    if worker not in alive:
                        self.client.cancel([total, *parts.values()])
                        lost.extend(indices)
                    else:
                        still.append(group)
            pending = still
        return done, lost

    def _finish_inflight(self):
        """Let the tasks of a pass that did not finish (Ctrl-C) end before the next one."""
        if self.inflight:
            groups, self.inflight = self.inflight, []
            self._collect(groups)

    def _send(self, value, workers=None):
        """``value`` onto a worker (of ``workers``), as a future the tasks that need it
        depend on (the other workers fetch it from there).

        Sent as a task through the scheduler, not scattered: a scatter connects to the
        workers directly and waits out the connection timeout on one that has just died,
        while the scheduler knows at once; and a task lost with its worker is recomputed
        from the spec the scheduler keeps. Its size is the data's (W, the sums: what must
        travel), so Dask's large-graph warning is not for it.
        """
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sending large graph")
            return self.client.submit(hold, value, workers=workers, pure=False,
                                      key=f"facenmf-args-{uuid.uuid4().hex}")

    def _pass(self, kernel, args, each=None, merged=True):
        if self.closed:
            raise ValueError(f"{self.name}: this fit's parts on the Dask cluster were released")
        if self.parts is None:
            self._start()
        self._finish_inflight()
        applies, self.pending = self.pending, []
        handle = self._send(args) if args else None
        if self.rebuild is None:
            self.log.append((applies, kernel, handle, each))
        else:
            self.log = []
        results, todo, after = [], list(range(len(self.parts))), {}
        while todo:
            groups = self._groups(todo, applies, kernel, handle, each, merged, after)
            self.inflight = groups
            done, lost = self._collect(groups)
            self.inflight = []
            results.extend(done)
            todo = sorted(lost)
            if todo:
                after = self._recover(todo)
        return sorted(results, key=lambda r: min(r[0]))

    def total(self, kernel, *args, each=None):
        acc = {}
        for _, sums in self._pass(kernel, args, each):
            merge(acc, sums)
        self.version += 1
        return acc

    def each(self, kernel, *args):
        out = [acc for _, acc in self._pass(kernel, args, merged=False)]
        self.version += 1
        return out

    def apply(self, func, *args):
        self.pending.append((func, args))
        self.version += 1

    def put(self, name, X):
        if isinstance(X, RemoteWeights) and X.cols is self:  # already there
            if X.name != name:
                self.apply(rename, X.name, name)
            return
        X = np.asarray(X)
        self.total(set_weights, name, each=[X[:, c] for c in self.part_slices()])

    def fetch(self, name, rows=None, dtype=None):
        return RemoteWeights(self, name, rows, dtype)

    def gather(self, name, rows=None, dtype=None):
        arrays = [acc["value"] for _, acc in self._pass(take, (name,), merged=False)]
        return np.concatenate(arrays, axis=1)

    def close(self):
        """Forget this fit's parts on the workers."""
        if not self.closed:
            self.closed = True
            self.inflight = []
            if self.parts is not None:
                holders = sorted({p.worker for p in self.parts} & set(self._alive()))
                try:
                    self.client.run(drop, self.key, workers=holders)
                except Exception:  # noqa: BLE001 - a worker gone meanwhile holds nothing
                    pass


