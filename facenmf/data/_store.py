"""Face stores: faces as the uint8 columns of a zarr array, opened lazily.

A store is a folder (``faces.zarr``) holding a zarr (v3) group, format ``facenmf-faces``
version 1:

- ``A``: uint8 array of shape (n_pixels, n_faces), one flattened face (row-major) per
  column; ``value / 255`` is the float32 face ``load_faces`` gives. Chunks of
  (n_pixels, chunk_faces): all pixels of a face in one chunk, ``chunk_faces`` a multiple
  of 2048 faces (the engine's column block, ``facenmf.nmf._blocks.BLOCK``), so a fit's
  blocks never straddle a chunk. Codecs: bytes, zstd (level 1), crc32c: a chunk whose bytes
  changed fails its checksum when read. Every chunk is written, even an all-black one, so
  a missing chunk file is damage, never silently zeros.
- attributes of the group (JSON; data, never code): ``format``, ``format_version``,
  ``complete`` (false while a pack is unfinished), ``n_faces``, ``image_shape``,
  ``chunk_faces``, ``labels`` (a list, or null), ``paths`` (the image files, or null),
  ``source``, ``preparation`` (as ``FaceSet.preparation``), ``fingerprint`` (a SHA-256
  of all of these but ``complete``: a pack resumes only into the store of the same pack)
  and, once complete, ``chunk_digests`` (per chunk, a SHA-256 of what made its faces: the
  files' names, sizes and modification times, or the images' bytes).
- ``pack``: a sub-group present only while a pack is unfinished; its attribute ``done``
  maps each finished chunk to its faces, the raw images' shapes and its digest.

zarr is optional (``pip install 'facenmf[store]'``) and imported only here and in
``_pack``.
"""

from __future__ import annotations

import numbers
import operator
from pathlib import Path

import numpy as np

__all__ = ["FORMAT", "FORMAT_VERSION", "CHUNK_UNIT", "require_zarr", "is_store",
           "open_store", "StoreArray", "chunk_files", "store_attributes"]

FORMAT = "facenmf-faces"
FORMAT_VERSION = 1
#: Faces per chunk are a multiple of this: the engine's column block (``facenmf.nmf``'s
#: ``BLOCK``; ``data`` imports nothing of the engine, a test checks that the two agree).
CHUNK_UNIT = 2048


def require_zarr(what="a face store"):
    """Import zarr, or raise a one-line ImportError naming the extra to install."""
    try:
        import zarr
    except ImportError as exc:
        raise ImportError(f"{what} needs zarr ({exc.name or 'zarr'} is not installed): "
                          "pip install 'facenmf[store]'") from None
    return zarr


def is_store(path) -> bool:
    """True for a folder holding a zarr group or array (a ``zarr.json``): a store to open,
    never a folder of images to list. Needs no zarr."""
    path = Path(path).expanduser()
    return path.is_dir() and (path / "zarr.json").is_file()


def store_attributes(path, group=None):
    """The group attributes of a store, checked to be a facenmf store this version reads."""
    if group is None:
        zarr = require_zarr()
        try:
            group = zarr.open_group(Path(path), mode="r")
        except Exception as exc:  # noqa: BLE001 - zarr raises many kinds; say it in one line
            raise ValueError(f"{path}: not a readable zarr group ({type(exc).__name__}: "
                             f"{_first_line(exc)})") from exc
    attrs = dict(group.attrs)
    if attrs.get("format") != FORMAT:
        raise ValueError(f"{path}: a zarr store but not a facenmf face store (its 'format' "
                         f"attribute is {attrs.get('format')!r}, expected {FORMAT!r})")
    version = attrs.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise ValueError(f"{path}: face store format version {version!r}; this facenmf "
                         f"reads version {FORMAT_VERSION} (upgrade facenmf)")
    return group, attrs


def _first_line(exc):
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def chunk_files(path, zarray, n_chunks):
    """The file of each chunk of ``A`` (``path/A/c/0/<i>``), in order."""
    root = Path(path) / "A"
    return [root / zarray.metadata.encode_chunk_key((0, i)) for i in range(n_chunks)]


def _check_layout(path, attrs, zarray):
    """The array and the attributes agree; return (image_shape, n_faces, chunk_faces)."""
    from .._validation import check_image_shape

    def bad(what):
        return ValueError(f"{path}: damaged face store: {what}")

    try:
        shape = check_image_shape("image_shape", attrs.get("image_shape"))
    except (TypeError, ValueError) as exc:
        raise bad(f"attribute {exc}") from None
    n, c = attrs.get("n_faces"), attrs.get("chunk_faces")
    if not (isinstance(n, int) and n >= 1 and isinstance(c, int) and c >= 1
            and c % CHUNK_UNIT == 0):
        raise bad(f"n_faces {n!r} and chunk_faces {c!r} must be positive integers, "
                  f"chunk_faces a multiple of {CHUNK_UNIT}")
    n_pixels = shape[0] * shape[1]
    if zarray.dtype != np.uint8 or tuple(zarray.shape) != (n_pixels, n) \
            or tuple(zarray.chunks) != (n_pixels, c):
        raise bad(f"A is {zarray.dtype} of shape {tuple(zarray.shape)} in chunks "
                  f"{tuple(zarray.chunks)}, expected uint8 of shape ({n_pixels}, {n}) in "
                  f"chunks ({n_pixels}, {c})")
    for key in ("labels", "paths"):
        value = attrs.get(key)
        if value is not None and (not isinstance(value, list) or len(value) != n):
            raise bad(f"attribute {key!r} must be a list of {n} entries (one per face)")
    return shape, n, c


def open_store(path):
    """Open a face store as a ``FaceSet`` whose ``A`` is a lazy :class:`StoreArray`.

    Nothing but the metadata is read: every chunk file must exist (a listing, not a read);
    faces are decoded when ``A`` is indexed, one chunk at a time.
    """
    from ._faceset import FaceSet

    path = Path(path).expanduser()
    group, attrs = store_attributes(path)
    if attrs.get("complete") is not True:
        done = len(group["pack"].attrs.get("done", {})) if "pack" in group else 0
        c, n = attrs.get("chunk_faces") or 1, attrs.get("n_faces") or 0
        raise ValueError(f"{path}: an unfinished pack ({done} of {-(-n // c)} chunks "
                         "written); run the same pack again to finish it")
    if "A" not in group:
        raise ValueError(f"{path}: damaged face store: no array 'A'")
    A = StoreArray(path, group["A"])
    for i, file in enumerate(chunk_files(path, group["A"], A.n_chunks)):
        if not file.is_file():
            raise FileNotFoundError(A.missing_message(i))
    labels = attrs.get("labels")
    return FaceSet(A=A, labels=None if labels is None else np.asarray(labels),
                   image_shape=tuple(attrs["image_shape"]), paths=attrs.get("paths"),
                   source=str(path), preparation=dict(attrs.get("preparation") or {}))


def _all(key):
    return isinstance(key, slice) and key == slice(None)


def _reopen(path):
    zarr = require_zarr()
    path = Path(path)
    return StoreArray(path, zarr.open_group(path, mode="r")["A"])


class StoreArray:
    """The faces of a store as a lazy float32 array of shape (n_pixels, n_faces).

    Indexing (``A[:, 10:20]``, ``A[:, 5]``, ``A[:, [3, 9000]]``, a boolean mask) reads and
    decodes only the chunks that hold the faces asked for and returns a numpy float32
    array of ``value / 255``; ``numpy.asarray(A)`` reads them all (Fortran-ordered, as
    ``load_faces`` returns ``A``). ``facenmf.nmf`` streams it block by block. A missing or
    damaged chunk raises a one-line error naming the store, the chunk and its faces.

    Attributes: ``path`` (the store), ``zarr`` (the uint8 ``zarr.Array``, e.g. for
    ``dask.array.from_zarr``), ``chunk_faces``, ``n_chunks``.
    """

    dtype = np.dtype(np.float32)
    ndim = 2

    def __init__(self, path, zarray):
        self.path = Path(path)
        self.zarr = zarray
        self.shape = tuple(int(s) for s in zarray.shape)
        self.chunk_faces = int(zarray.chunks[1])
        self.n_chunks = -(-self.shape[1] // self.chunk_faces)
        self._files = chunk_files(self.path, zarray, self.n_chunks)

    def __reduce__(self):  # pickled by absolute path (Dask workers reopen the store)
        return _reopen, (str(self.path.absolute()),)

    def __repr__(self):
        return (f"StoreArray({str(self.path)!r}, shape={self.shape}, chunks of "
                f"{self.chunk_faces} faces, uint8 read as float32 / 255)")

    def __len__(self):
        return self.shape[0]

    # -- messages ------------------------------------------------------------------------
    def _chunk_words(self, i):
        start = i * self.chunk_faces
        stop = min(self.shape[1], start + self.chunk_faces)
        key = self._files[i].relative_to(self.path).as_posix()
        return f"chunk {key} (faces {start} to {stop - 1})"

    def missing_message(self, i):
        return (f"{self.path}: {self._chunk_words(i)} is missing; the store is incomplete or "
                "damaged: delete it and pack the faces again")

    # -- reading -------------------------------------------------------------------------
    def _raw(self, start, stop):
        """uint8 faces ``start:stop``, all in chunk ``start // chunk_faces``."""
        i = start // self.chunk_faces
        if not self._files[i].is_file():
            raise FileNotFoundError(self.missing_message(i))
        try:
            return self.zarr[:, start:stop]
        except Exception as exc:  # noqa: BLE001 - a codec, checksum or I/O failure
            reason = _first_line(exc)
            if "checksum" in reason.lower():
                reason = "its crc32c checksum does not match: the bytes changed on disk"
            raise ValueError(f"{self.path}: {self._chunk_words(i)} cannot be read ("
                             f"{reason}); the store is damaged: delete it and pack the "
                             "faces again") from exc

    def _columns(self, start, stop, order="C"):
        """float32 faces ``start:stop`` (n_pixels, stop - start), chunk by chunk."""
        c = self.chunk_faces
        if stop <= start:
            return np.empty((self.shape[0], 0), self.dtype, order=order)
        if start // c == (stop - 1) // c and order == "C":
            out = self._raw(start, stop).astype(np.float32)
            out /= np.float32(255)  # == float32(v) / float32(255), as load_faces reads 8 bits
            return out
        out = np.empty((self.shape[0], stop - start), self.dtype, order=order)
        s = start
        while s < stop:
            e = min(stop, (s // c + 1) * c)
            np.divide(self._raw(s, e), np.float32(255), out=out[:, s - start:e - start],
                      dtype=np.float32)
            s = e
        return out

    def __getitem__(self, key):
        if not isinstance(key, tuple):
            key = (key,)
        if len(key) > 2:
            raise IndexError(f"too many indices for a 2-D array: {len(key)}")
        rows = key[0] if key else slice(None)
        cols = key[1] if len(key) == 2 else slice(None)
        m = self.shape[1]
        if isinstance(cols, slice):
            start, stop, step = cols.indices(m)
            if step == 1:
                out = self._columns(start, max(start, stop))
                return out if _all(rows) else out[rows]
            idx = np.arange(start, stop, step)
        elif isinstance(cols, numbers.Integral) and not isinstance(cols, (bool, np.bool_)):
            j = operator.index(cols)
            if not -m <= j < m:
                raise IndexError(f"index {j} is out of bounds for axis 1 with size {m}")
            j %= m
            return self._columns(j, j + 1)[rows, 0]
        else:
            idx = np.arange(m)[cols]
            if idx.ndim != 1:
                raise IndexError("faces: expected a slice, an integer, a 1-D array of "
                                 "integers or a boolean mask")
        out = np.empty((self.shape[0], idx.size), self.dtype)
        chunk = idx // self.chunk_faces
        for i in np.unique(chunk):
            where = np.flatnonzero(chunk == i)
            local = idx[where]
            lo = int(local.min())
            out[:, where] = self._columns(lo, int(local.max()) + 1)[:, local - lo]
        return out if _all(rows) else out[rows]

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("a face store cannot be viewed as a numpy array without a copy")
        out = self._columns(0, self.shape[1], order="F")
        return out if dtype is None else out.astype(dtype, copy=False)
