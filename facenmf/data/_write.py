"""Writing a face store chunk by chunk: worker processes, records of finished chunks, resuming.

A :class:`Plan` says what to pack (how many faces, how a worker makes them, what the store
records about them). :func:`write_plan` creates the store (format in :mod:`._store`), or
reopens the store of the same pack, cuts the unfinished chunks into tasks of at most
``BATCH`` faces, has worker processes make them, assembles and writes each chunk in this
process and records it as finished in the store. An interrupted pack (Ctrl-C, an exception,
a killed process) leaves its finished chunks; the same pack run again makes only the
others, and gives the same store as one uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validation import check_int
from ._store import (CHUNK_UNIT, FORMAT, FORMAT_VERSION, chunk_files, open_store,
                     require_zarr, store_attributes)

__all__ = ["PackReport", "Plan", "write_plan", "check_chunk_faces", "default_chunk_faces",
           "digest", "BATCH", "CHUNK_BYTES"]

#: Faces per task given to a worker: small enough for a smooth progress bar and little
#: memory in flight, large enough that passing the task costs little beside decoding it.
BATCH = 512
#: Largest chunk (bytes of uint8 faces) the default chunking makes.
CHUNK_BYTES = 32 * 2**20


@dataclass(frozen=True)
class PackReport:
    """What a pack did: ``written`` (chunk indices decoded and written by this call) and
    ``kept`` (chunks an earlier, interrupted run of the same pack had finished)."""

    path: Path
    n_faces: int
    image_shape: tuple
    chunk_faces: int
    written: tuple
    kept: tuple
    processes: int
    seconds: float

    @property
    def n_chunks(self) -> int:
        return len(self.written) + len(self.kept)

    @property
    def faces_written(self) -> int:
        return sum(min(self.n_faces, (i + 1) * self.chunk_faces) - i * self.chunk_faces
                   for i in self.written)

    def to_json(self) -> dict:
        return {"store": str(self.path), "n_faces": self.n_faces,
                "image_shape": list(self.image_shape), "chunk_faces": self.chunk_faces,
                "n_chunks": self.n_chunks, "chunks_written": len(self.written),
                "chunks_kept": len(self.kept), "faces_written": self.faces_written,
                "processes": self.processes, "seconds": round(self.seconds, 3)}


@dataclass
class Plan:
    """Everything a pack needs, made before any face is decoded.

    ``maker`` (picklable, sent once to each worker) turns a task into faces:
    ``maker.make(start, payload) -> (uint8 array (n_pixels, count), raw image shapes)``;
    ``payload(start, stop)`` is what the task carries (its files, its images); ``bounds``
    cuts a chunk's faces ``(start, stop)`` into tasks. ``digest(start, stop)`` is a digest
    of what makes those faces (the files' names, sizes and times; the images' bytes; a
    generator's source): a finished chunk whose digest changed is made again by an
    unfinished pack, and refused by a finished one.
    """

    maker: object
    n: int
    payload: object
    image_shape: tuple
    source: str
    labels: list | None
    paths: list | None
    preparation: dict
    digest: object
    bounds: object = None


def default_chunk_faces(n_pixels):
    """8192 faces a chunk (the engine reads 4 blocks of 2048 at a time), halved down to
    2048 while a chunk would exceed ``CHUNK_BYTES``."""
    c = 4 * CHUNK_UNIT
    while c > CHUNK_UNIT and n_pixels * c > CHUNK_BYTES:
        c //= 2
    return c


def check_chunk_faces(value):
    value = check_int("chunk_faces", value, low=CHUNK_UNIT, allow_none=True)
    if value is not None and value % CHUNK_UNIT:
        raise ValueError(f"chunk_faces: expected a multiple of {CHUNK_UNIT} (the engine's "
                         f"block of faces), got {value}")
    return value


def _cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else json.dumps(part, sort_keys=True).encode())
    return h.hexdigest()


# -- the store ------------------------------------------------------------------------------
_DIFFERENCES = (("n_faces", "another number of faces"), ("source", "another source"),
                ("paths", "other files"), ("labels", "other labels"),
                ("image_shape", "another face size"), ("preparation", "other preparation"),
                ("chunk_faces", "other chunks"),
                ("chunk_digests", "other images (files changed since, or other pixels)"))


def _refuse(path, attrs, new, digests):
    old_prep = dict(attrs.get("preparation") or {}, input_shape=None)
    new = dict(new, chunk_digests=digests)
    for key, words in _DIFFERENCES:
        if (old_prep if key == "preparation" else attrs.get(key)) != new[key]:
            break
    else:
        words = "another pack"
    state = "a finished" if attrs.get("complete") else "an unfinished"
    return FileExistsError(f"store: {path} holds {state} pack of {words}; a pack resumes only "
                           "the same pack and never overwrites a store: choose another path, "
                           "or delete it")


def _open_or_create(zarr, path, attrs, digests):
    """``(group, A, done)`` of the store at ``path``: the same pack's, or a new one."""
    from zarr.codecs import Crc32cCodec, ZstdCodec

    if path.exists():
        group, old = store_attributes(path, zarr.open_group(path, mode="r+"))
        if old.get("fingerprint") != attrs["fingerprint"] or (
                old.get("complete") and old.get("chunk_digests") != digests):
            raise _refuse(path, old, attrs, digests)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        group = zarr.create_group(path, attributes=attrs)
    n_pixels = attrs["image_shape"][0] * attrs["image_shape"][1]
    if "A" not in group:
        group.create_array("A", shape=(n_pixels, attrs["n_faces"]),
                           chunks=(n_pixels, attrs["chunk_faces"]), dtype="uint8",
                           fill_value=0, compressors=[ZstdCodec(level=1), Crc32cCodec()])
    if "pack" not in group and not group.attrs.get("complete"):
        group.create_group("pack", attributes={"done": {}})
    # Every chunk is written, even an all-zero one: a missing chunk is then always damage.
    A = group["A"].with_config({"write_empty_chunks": True})
    done = dict(group["pack"].attrs.get("done", {})) if "pack" in group else {}
    return group, A, done


def write_plan(plan, target):
    """Pack ``plan`` into ``target.path``; return a :class:`PackReport`."""
    zarr = require_zarr("pack_faces")
    t0 = time.perf_counter()
    path, n, shape = Path(target.path), plan.n, tuple(plan.image_shape)
    chunk = target.chunk_faces or default_chunk_faces(shape[0] * shape[1])
    n_chunks = -(-n // chunk)
    attrs = {"format": FORMAT, "format_version": FORMAT_VERSION, "complete": False,
             "n_faces": n, "image_shape": list(shape), "chunk_faces": chunk,
             "labels": plan.labels, "paths": plan.paths, "source": plan.source,
             "preparation": {**plan.preparation, "input_shape": None}}
    attrs["fingerprint"] = digest({k: v for k, v in attrs.items() if k != "complete"})
    digests = [plan.digest(i * chunk, min(n, (i + 1) * chunk)) for i in range(n_chunks)]
    group, A, done = _open_or_create(zarr, path, attrs, digests)
    processes = target.processes or _cpus()
    if group.attrs.get("complete"):
        open_store(path)  # every chunk still there
        return PackReport(path, n, shape, chunk, (), tuple(range(n_chunks)), 0,
                          time.perf_counter() - t0)
    files = chunk_files(path, A, n_chunks)
    todo = [i for i in range(n_chunks) if str(i) not in done or not files[i].is_file()
            or done[str(i)].get("digest") != digests[i]]
    kept = tuple(i for i in range(n_chunks) if i not in set(todo))
    written = _write_chunks(plan, A, group["pack"], done, todo, chunk, processes,
                            target.progress, digests)
    shapes = {tuple(s) for record in done.values() for s in record["input_shapes"]}
    prep = {**attrs["preparation"], "input_shape": list(shapes.pop()) if len(shapes) == 1
            else None}
    # Finished first, then the record of finished chunks goes: a pack killed in between is
    # a finished store with a leftover record, never an unfinished one without it.
    group.attrs.update({"preparation": prep, "chunk_digests": digests, "complete": True})
    del group["pack"]
    return PackReport(path, n, shape, chunk, tuple(sorted(written)), kept,
                      processes if written else 0, time.perf_counter() - t0)


# -- decoding and writing chunks --------------------------------------------------------------
_MAKER = None


def _start_worker(maker):
    global _MAKER
    # Ctrl-C reaches every process of the terminal: the pack (this process's parent) stops
    # the workers itself, after the tasks they are on, so that nothing half-done is lost.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _MAKER = maker
    # A pack killed outright (SIGKILL, a crash) cannot stop its workers: each one leaves
    # when it sees its parent gone (it is then re-parented), instead of waiting forever.
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="facenmf-parent-watch").start()


def _work(start, payload):
    return _MAKER.make(start, payload)


def _tasks(plan, todo, chunk):
    cut = plan.bounds or (lambda a, b: [(s, min(b, s + BATCH)) for s in range(a, b, BATCH)])
    return [(i, a, b) for i in todo for a, b in cut(i * chunk, min(plan.n, (i + 1) * chunk))]


def _write_chunks(plan, A, record, done, todo, chunk, processes, progress, digests):
    """Decode and write the chunks ``todo``; return them as written (in order)."""
    n_pixels, n = A.shape[0], plan.n
    open_chunks, written = {}, []
    finished = [n - sum(min(n, (i + 1) * chunk) - i * chunk for i in todo)]
    if progress is not None:
        progress(finished[0], n)

    def accept(task, faces, shapes):
        i, a, b = task
        start, stop = i * chunk, min(n, (i + 1) * chunk)
        buf = open_chunks.setdefault(i, [np.empty((n_pixels, stop - start), np.uint8), 0,
                                         set()])
        buf[0][:, a - start:b - start] = faces
        buf[1] += b - a
        buf[2].update(tuple(s) for s in shapes)
        if buf[1] == stop - start:
            A[:, start:stop] = buf[0]
            done[str(i)] = {"faces": [start, stop], "input_shapes": sorted(buf[2]),
                            "digest": digests[i]}
            record.attrs["done"] = done  # after the chunk: recorded means written
            del open_chunks[i]
            written.append(i)
        finished[0] += b - a
        if progress is not None:
            progress(finished[0], n)

    tasks = _tasks(plan, todo, chunk)
    processes = min(processes, len(tasks))
    if processes <= 1:
        for task in tasks:
            accept(task, *plan.maker.make(task[1], plan.payload(task[1], task[2])))
        return written
    _run_pool(plan, tasks, processes, accept)
    return written


def _run_pool(plan, tasks, processes, accept):
    import multiprocessing

    # spawn, not fork: this process runs zarr's I/O thread, and a forked copy of a process
    # with threads can deadlock.
    pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(plan.maker,))
    pending = iter(tasks)
    running = {}

    def submit():
        for task in pending:
            running[pool.submit(_work, task[1], plan.payload(task[1], task[2]))] = task
            return

    try:
        for _ in range(2 * processes + 2):  # a few tasks queued per worker, no more
            submit()
        while running:
            ready, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(ready, key=lambda f: running[f]):
                task = running.pop(future)
                accept(task, *future.result())
                submit()
    except BrokenProcessPool:
        raise ChildProcessError("a decoding process stopped unexpectedly (out of memory, or "
                                "killed); the finished chunks are kept: run the same pack "
                                "again to resume") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
