"""Packing images into a face store: ``pack_faces``, the pipeline of ``load_faces`` to a store.

``pack_faces(source, "faces.zarr")`` runs ``load_faces``'s checks, listing and labels, and
hands the files (or the array) to a :class:`Target` instead of decoding them here: each
face is decoded by the same per-image steps in worker processes, rounded to 8 bits and
written chunk by chunk (:mod:`._write`), resumably. A pack of another source or with other
options never writes into an existing store.
"""

from __future__ import annotations

import inspect
import json
import os
from dataclasses import replace

import numpy as np

from .._validation import check_callable, check_int, check_path
from ._pipeline import prepare_face
from ._read import read_image
from ._store import is_store, require_zarr, store_attributes
from ._write import Plan, check_chunk_faces, digest, write_plan

__all__ = ["pack_faces", "Target", "FileFaces", "ArrayFaces", "PACK_OPTIONS"]

#: ``load_faces`` arguments that ``pack_faces`` passes on (the others do not apply).
PACK_OPTIONS = ("path", "layout", "pattern", "glob", "labels", "crop", "size", "equalize",
                "normalize", "detect", "detect_options", "on_error", "max_pixels", "download",
                "cache_dir")


def _json_labels(labels):
    if labels is None:
        return None
    values = np.asarray(labels).tolist()
    try:
        json.dumps(values)
    except (TypeError, ValueError):
        raise ValueError("labels: a face store keeps labels as JSON: expected str or number "
                         f"labels, got {type(values[0]).__name__}") from None
    return values


# -- the faces of a task ------------------------------------------------------------------
def _quantized(faces, shape, first, get):
    """uint8 (n_pixels, count) of ``get(k) -> (face, where, raw shape)`` for each face."""
    out = np.empty((faces, shape[0] * shape[1]), np.uint8)
    shapes = set()
    for k in range(faces):
        face, where, raw = get(k)
        if face.shape != shape:
            raise ValueError(
                f"mixed image sizes: {first} is {shape[0]}x{shape[1]} but {where} is "
                f"{face.shape[0]}x{face.shape[1]} (height x width); pass size=(height, "
                "width) to resize every face to one size")
        np.rint(np.clip(face.reshape(-1), 0, 1) * 255, out=out[k], casting="unsafe")
        shapes.add(tuple(raw))
    return out.T, sorted(shapes)


class FileFaces:
    """Decodes image files as ``load_faces`` does (``opts`` without pack or output)."""

    def __init__(self, opts, max_pixels, shape, first):
        self.opts, self.max_pixels, self.shape, self.first = opts, max_pixels, shape, first

    def face(self, file):
        image = read_image(file, max_pixels=self.max_pixels)
        return prepare_face(image, str(file), self.opts, []), str(file), image.shape

    def make(self, start, files):
        return _quantized(len(files), self.shape, self.first, lambda k: self.face(files[k]))


class ArrayFaces:
    """Prepares grey images given in memory (``load_faces`` of an array)."""

    def __init__(self, opts, shape, first, name):
        self.opts, self.shape, self.first, self.name = opts, shape, first, name

    def face(self, image, i):
        where = f"{self.name}[{i}]"
        return prepare_face(image, where, self.opts, []), where, image.shape

    def make(self, start, images):
        return _quantized(len(images), self.shape, self.first,
                          lambda k: self.face(images[k], start + k))


# -- what pack_faces hands load_faces ------------------------------------------------------
class Target:
    """The store a ``load_faces`` pipeline packs into (``Options.pack``)."""

    def __init__(self, path, processes, chunk_faces, progress):
        self.path, self.processes = path, processes
        self.chunk_faces, self.progress = chunk_faces, progress

    def check_outside(self, folder):
        """Refuse a store inside the source folder (an input, never written into)."""
        store, folder = os.path.realpath(self.path), os.path.realpath(folder)
        if os.path.commonpath([store, folder]) == folder:
            raise ValueError(f"store: {self.path} is inside the source folder {folder}; put "
                             "the store outside it (facenmf never writes into its inputs)")

    def files(self, items, has_labels, max_pixels, source_name, opts):
        files = [f for f, _ in items]
        stats = []
        for f in files:
            try:
                st = os.stat(f)
            except FileNotFoundError:
                raise FileNotFoundError(f"{f}: no such file") from None
            stats.append([str(f), st.st_size, st.st_mtime_ns])
        opts = replace(opts, pack=None, progress=None, out=None)
        face, where, _ = FileFaces(opts, max_pixels, None, None).face(files[0])
        maker = FileFaces(opts, max_pixels, face.shape, where)
        plan = Plan(maker, len(files), lambda a, b: files[a:b], face.shape, source_name,
                    _json_labels([lab for _, lab in items]) if has_labels else None,
                    [str(f) for f in files], {"source": source_name, **opts.preparation},
                    lambda a, b: digest(stats[a:b]))
        return write_plan(plan, self)

    def array(self, grey, labels, name, opts):
        opts = replace(opts, pack=None, progress=None, out=None)
        face, where, _ = ArrayFaces(opts, None, None, name).face(grey[0], 0)
        maker = ArrayFaces(opts, face.shape, where, name)
        plan = Plan(maker, grey.shape[0], lambda a, b: grey[a:b], face.shape, name,
                    _json_labels(labels), None, {"source": name, **opts.preparation},
                    lambda a, b: digest(np.ascontiguousarray(grey[a:b]).tobytes()))
        return write_plan(plan, self)


# -- the public function --------------------------------------------------------------------
def pack_faces(source, store, *, processes=None, chunk_faces=None, progress=None, **options):
    """Decode faces into a store: uint8 columns of a zarr array, with labels and paths.

    Parameters
    ----------
    source : str, path-like or ndarray
        Anything :func:`facenmf.load_faces` reads (a folder, image files, a registered
        database, an array of images), but not a store.
    store : path-like
        The store to write, a folder (``faces.zarr``; missing parent folders are created).
        If it exists it must hold the same pack (same source files, unchanged, and the
        same options): an unfinished one is resumed, keeping its finished chunks; a
        finished one is left as it is. Anything else there is refused, never overwritten.
        It must not be inside the source folder.
    processes : int, optional
        Worker processes that decode the images (default: the CPUs this process may use).
        1 decodes in this process.
    chunk_faces : int, optional
        Faces per chunk, a multiple of 2048 (default 8192, or fewer for large faces so
        that a chunk stays within 32 MiB).
    progress : callable, optional
        Called as ``progress(done, total)`` (faces) as tasks finish; an exception it
        raises stops the pack (the finished chunks are kept).
    **options
        ``load_faces`` options: ``path``, ``layout``, ``pattern``, ``glob``, ``labels``,
        ``crop``, ``size``, ``equalize``, ``normalize``, ``detect``, ``detect_options``,
        ``max_pixels``, ``download``, ``cache_dir`` (``on_error`` only ``"raise"``).

    Returns
    -------
    PackReport
        ``path``, ``n_faces``, ``image_shape``, ``chunk_faces``, ``written`` and ``kept``
        (chunk indices), ``processes``, ``seconds``. Open the store with
        ``facenmf.load_faces(store)``.

    Raises
    ------
    FileExistsError
        ``store`` exists and is not the store of this pack.
    ImportError
        zarr is not installed (``pip install 'facenmf[store]'``).
    ValueError, FileNotFoundError, TypeError
        As ``load_faces`` (naming the file), and for bad arguments.

    Notes
    -----
    Each face is stored as ``round(255 * face)``: within half a grey level (0.5 / 255) of
    the float32 face ``load_faces`` gives, and exactly it for 8-bit images without
    resizing.

    Examples
    --------
    >>> from facenmf.data import load_faces, pack_faces
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     report = pack_faces("lfw-subset", os.path.join(d, "faces.zarr"), processes=1)
    ...     faces = load_faces(os.path.join(d, "faces.zarr"))
    ...     print(report.n_faces, faces.A.shape, faces.A[:, 0].dtype)
    100 (625, 100) float32
    """
    from ._load import load_faces, load_or_pack

    unknown = sorted(set(options) - set(PACK_OPTIONS))
    if unknown:
        raise TypeError(f"{unknown[0]}: not an option of pack_faces; expected "
                        f"{', '.join(PACK_OPTIONS)}")
    store = check_path("store", store).expanduser()
    processes = check_int("processes", processes, low=1, allow_none=True)
    chunk_faces = check_chunk_faces(chunk_faces)
    progress = check_callable("progress", progress)
    require_zarr("pack_faces")
    if store.exists():  # refused now, before listing a single image, if it is no store
        if not is_store(store):
            raise FileExistsError(f"store: {store} exists and is not a face store; a pack "
                                  "never overwrites it: choose another path")
        store_attributes(store)
    if options.get("on_error", "raise") != "raise":
        raise ValueError(f"on_error: a pack stops at the first unusable file; expected "
                         f"'raise', got {options['on_error']!r}")
    args = {name: p.default for name, p in inspect.signature(load_faces).parameters.items()
            if name in PACK_OPTIONS}
    args.update(options)
    return load_or_pack(source, pack=Target(store, processes, chunk_faces, progress),
                        out=None, progress=None, like=None, resize=False, **args)
