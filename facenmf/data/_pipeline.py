"""The loading pipeline: each image read, checked, prepared and collected into ``A``.

``load_faces`` checks its arguments once into an :class:`Options`; every source (files,
folders, arrays) then runs :func:`run` over its items.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._detect import cut_face, detect_face
from ._faceset import FaceSet
from ._labels import check_labels, label_from_name
from ._preprocess import preprocess, resize_image
from ._read import array_to_grey, read_image

__all__ = ["Options", "Expectation", "expectation", "crop_as_given", "prepare_face", "run",
           "load_files", "load_array"]


class _Sink:
    """Collects faces: an in-memory (n, n_pixels) buffer, or a Fortran-ordered .npy memmap."""

    def __init__(self, n, n_pixels, out):
        self.n, self.n_pixels, self.out = n, n_pixels, out
        self.count = 0
        if out is None:
            self.buffer = np.empty((n, n_pixels), dtype=np.float32)
        else:
            self.partial = out.with_name(out.name + ".partial")
            self.buffer = np.lib.format.open_memmap(
                self.partial, mode="w+", dtype=np.float32, shape=(n_pixels, n),
                fortran_order=True)

    def add(self, face):
        if self.out is None:
            self.buffer[self.count] = face.reshape(-1)
        else:
            self.buffer[:, self.count] = face.reshape(-1)
        self.count += 1

    def finish(self):
        if self.out is None:
            rows = self.buffer if self.count == self.n else self.buffer[:self.count].copy()
            return rows.T  # (n_pixels, n_faces), Fortran-ordered view: no copy
        self.buffer.flush()
        if self.count == self.n:
            del self.buffer
            os.replace(self.partial, self.out)
        else:
            final = np.lib.format.open_memmap(self.out, mode="w+", dtype=np.float32,
                                              shape=(self.n_pixels, self.count),
                                              fortran_order=True)
            step = max(1, (64 * 1024**2) // (4 * self.n_pixels))
            for start in range(0, self.count, step):
                stop = min(self.count, start + step)
                final[:, start:stop] = self.buffer[:, start:stop]
            final.flush()
            del final, self.buffer
            os.remove(self.partial)
        return np.load(self.out, mmap_mode="r")

    def abort(self):
        if self.out is not None and hasattr(self, "buffer"):
            del self.buffer
            try:
                os.remove(self.partial)
            except OSError:
                pass


def _finish_problems(problems, n_total, on_error):
    if problems and on_error == "skip":
        listing = "; ".join(f"{where}: {msg.removeprefix(where + ': ')}" for where, msg in problems)
        warnings.warn(f"load_faces skipped {len(problems)} of {n_total} files: {listing}",
                      UserWarning, stacklevel=4)


@dataclass(frozen=True)
class Options:
    """What every image goes through, checked once by ``load_faces`` and passed along."""

    steps: dict  # crop, size, equalize, normalize: the arguments of ``preprocess``
    detect: dict | None  # checked detector options, or None without detection
    on_error: str
    out: Path | None
    progress: object
    preparation: dict  # the steps as given, for FaceSet.preparation (JSON-ready)
    expect: "Expectation | None"
    pack: object = None  # a ``_pack.Target``: the faces go to a store, decoded there


@dataclass(frozen=True)
class Expectation:
    """With ``like=``: the input size every image must have and the faces' final shape."""

    input_shape: tuple | None
    image_shape: tuple
    resize: bool


def expectation(like, resize):
    image_shape = getattr(like, "image_shape", None)
    if image_shape is None or len(tuple(image_shape)) != 2:
        raise ValueError("like: expected a model or FaceSet with an image_shape (height, "
                         f"width), got {type(like).__name__} without one")
    prep = getattr(like, "preparation", None) or {}
    if not isinstance(prep, dict):
        raise TypeError(f"like: its preparation must be a dict, got {type(prep).__name__}")
    input_shape = prep.get("input_shape")
    if input_shape is None and not prep.get("detect") and prep.get("size") is None:
        # Nothing resizes: the images must be the faces' own size (after any crop of a
        # recorded input size, which is then known).
        input_shape = None if prep.get("crop") is not None else image_shape
    expect = Expectation(None if input_shape is None else tuple(int(s) for s in input_shape),
                          tuple(int(s) for s in image_shape), resize)
    return expect, prep


def crop_as_given(spec):
    """A ``check_crop`` spec back in the form a user passes (JSON-ready)."""
    if spec is None:
        return None
    if spec[0] == "fraction":
        return spec[1]
    return list(spec[1:])


def _cover(image, shape):
    """Scale ``image`` to cover ``shape`` keeping its aspect ratio, then centre-crop."""
    h, w = image.shape
    scale = max(shape[0] / h, shape[1] / w)
    covered = resize_image(image, (max(shape[0], int(round(h * scale))),
                                   max(shape[1], int(round(w * scale)))))
    top = (covered.shape[0] - shape[0]) // 2
    left = (covered.shape[1] - shape[1]) // 2
    return covered[top:top + shape[0], left:left + shape[1]]


def _fit_to(image, shape, what, where, expect, resized):
    """``image`` if it has ``shape``; else, with ``resize``, scaled to cover it keeping its
    aspect ratio (and listed in ``resized``); else an error naming the file."""
    if image.shape == shape:
        return image
    if not expect.resize:
        raise ValueError(
            f"{where}: {what} is {image.shape[0]}x{image.shape[1]} but the model's faces "
            f"{'came from images of' if what == 'image' else 'are'} {shape[0]}x{shape[1]} "
            "(height x width); pass resize=True to scale it keeping its aspect ratio")
    resized.append((where, list(image.shape)))
    return _cover(image, shape)


def prepare_face(image, where, opts, resized):
    """One grey image -> its face: fitted to ``like``, detected, steps 2-5 (``opts``)."""
    expect = opts.expect
    if expect is not None and expect.input_shape is not None:
        image = _fit_to(image, expect.input_shape, "image", where, expect, resized)
    if opts.detect is not None:
        box = detect_face(image, opts.detect)
        if box is None:
            raise ValueError(f"{where}: no face found by the frontal-face detector (detect=True)")
        image = cut_face(image, box)
    face = preprocess(image, where=where, **opts.steps)
    if expect is not None:
        face = _fit_to(face, expect.image_shape, "the prepared face", where, expect, resized)
    return face


def run(items, n_total, opts, read, problems):
    """Read and preprocess each item; ``read(item) -> (image, where)``.

    Returns ``(A, image_shape, kept, input_shape, resized)``; ``input_shape`` is the raw
    images' shape when all were one size, else None.
    """
    sink = None
    kept, resized = [], []
    first = None
    input_shapes = set()
    progress = opts.progress
    try:
        for i, item in enumerate(items):
            try:
                image, where = read(item)
                raw_shape = image.shape
                face = prepare_face(image, where, opts, resized)
            except (ValueError, FileNotFoundError, PermissionError) as exc:
                if opts.on_error == "raise":
                    raise
                msg = str(exc)
                problems.append((msg.split(": ", 1)[0], msg))
                if progress is not None:
                    progress(i + 1, n_total)
                continue
            if first is None:
                first = (where, face.shape)
                sink = _Sink(n_total, face.size, opts.out)
            elif face.shape != first[1]:
                raise ValueError(
                    f"mixed image sizes: {first[0]} is {first[1][0]}x{first[1][1]} but "
                    f"{where} is {face.shape[0]}x{face.shape[1]} (height x width); pass "
                    "size=(height, width) to resize every face to one size"
                )
            input_shapes.add(raw_shape)
            sink.add(face)
            kept.append(i)
            if progress is not None:
                progress(i + 1, n_total)
        if sink is None:
            shown = "; ".join(msg for _, msg in problems[:3])
            raise ValueError(f"no face could be loaded: all {n_total} were skipped ({shown}"
                             f"{' ...' if len(problems) > 3 else ''})")
        input_shape = list(input_shapes.pop()) if len(input_shapes) == 1 else None
        return sink.finish(), first[1], kept, input_shape, resized
    except BaseException:
        if sink is not None:
            sink.abort()
        raise


def _faceset(opts, A, shape, input_shape, resized, *, labels, paths, source, problems):
    prep = {"source": source, **opts.preparation, "input_shape": input_shape}
    if opts.expect is not None:  # prepared like a model: its input size, not these images'
        prep["input_shape"] = (None if opts.expect.input_shape is None
                               else list(opts.expect.input_shape))
    return FaceSet(A=A, labels=labels, image_shape=shape, paths=paths, source=source,
                   skipped=list(problems), preparation=prep, resized=resized)


def load_files(files, labels, pattern, problems, opts, max_pixels, source_name):
    items = []
    for i, file in enumerate(files):
        label = None if labels is None else labels[i]
        if pattern is not None:
            label, problem = label_from_name(pattern, file)
            if problem is not None:
                if opts.on_error == "raise":
                    raise ValueError(f"{file}: {problem}")
                problems.append((str(file), f"{file}: {problem}"))
                continue
        items.append((file, label))
    n_listed = len(items) + len(problems)
    if opts.pack is not None:
        return opts.pack.files(items, labels is not None or pattern is not None, max_pixels,
                               source_name, opts)

    def read(item):
        return read_image(item[0], max_pixels=max_pixels), str(item[0])

    A, shape, kept, input_shape, resized = run(items, len(items), opts, read, problems)
    _finish_problems(problems, n_listed, opts.on_error)
    kept_items = [items[i] for i in kept]
    out_labels = None
    if labels is not None or pattern is not None:
        out_labels = np.asarray([lab for _, lab in kept_items])
    return _faceset(opts, A, shape, input_shape, resized, labels=out_labels,
                    paths=[str(f) for f, _ in kept_items], source=source_name,
                    problems=problems)


def load_array(images, labels, opts, name):
    grey = array_to_grey(images, name="source")
    labels = check_labels(labels, grey.shape[0])
    if opts.pack is not None:
        return opts.pack.array(grey, labels, name, opts)
    problems = []

    def read(i):
        return grey[i], f"{name}[{i}]"

    A, shape, kept, input_shape, resized = run(range(grey.shape[0]), grey.shape[0], opts,
                                                read, problems)
    _finish_problems(problems, grey.shape[0], opts.on_error)
    return _faceset(opts, A, shape, input_shape, resized,
                    labels=None if labels is None else labels[kept], paths=None, source=name,
                    problems=problems)
