"""Large, realistic face sets from a small one: random shifts, flips, brightness and noise.

For benchmarks and tests of fits beyond memory: ``augment_faces(faces.A, faces.image_shape,
1_000_000)`` makes a million faces from ORL's 400. Faces come in chunks, each drawn from its
own seed (the seed and the chunk's index), so the same call gives the same faces whether it
is written to memory, to a store, or in pieces.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .._validation import (check_callable, check_image_shape, check_int, check_number,
                           check_path, check_random_state)

__all__ = ["augment_faces", "iter_augmented", "write_augmented_store"]

#: Faces per chunk of random draws (the unit of reproducibility).
CHUNK = 4096


def _chunk(A, shape, count, rng, shift, flip, brightness, noise):
    """``count`` faces (float32, n_pixels x count) from the columns of ``A``."""
    h, w = shape
    idx = rng.integers(0, A.shape[1], count)
    flips = rng.random(count) < flip
    dy, dx = rng.integers(-shift, shift + 1, (2, count))
    gain = rng.uniform(1 - brightness, 1 + brightness, count).astype(np.float32)
    rows = (np.arange(h)[:, None] - dy[None, :]) % h  # (h, count): source row of each row
    cols = (np.arange(w)[:, None] - dx[None, :]) % w
    cols = np.where(flips[None, :], w - 1 - cols, cols)  # a mirrored face reads right to left
    pixel = rows[:, None, :] * w + cols[None, :, :]  # (h, w, count): source pixel
    out = A.take(pixel.reshape(h * w, count) * A.shape[1] + idx[None, :])
    out *= gain[None, :]
    if noise > 0:
        out += np.float32(noise) * rng.standard_normal(out.shape, dtype=np.float32)
    return np.clip(out, 0, 1, out=out)


def iter_augmented(A, image_shape, n, *, random_state=0, shift=3, flip=0.5, brightness=0.2,
                   noise=0.02, chunk=CHUNK):
    """Yield ``(start, block)``: ``n`` new faces from the columns of ``A`` (n_pixels,
    n_source) in [0, 1], ``block`` float32 (n_pixels, <= chunk) holding faces
    ``start, start + 1, ...``.

    Each face is a random source face, mirrored with probability ``flip``, shifted by up
    to ``shift`` pixels each way (wrapping round), multiplied by a brightness in
    ``[1 - brightness, 1 + brightness]``, plus Gaussian noise of standard deviation
    ``noise``, clipped to [0, 1].
    """
    A, (h, w), n, params, chunk, seed = _checked(A, image_shape, n, random_state, shift,
                                                  flip, brightness, noise, chunk)
    for start in range(0, n, chunk):
        # Every chunk is drawn whole, so the first faces of a longer set are the same faces.
        rng = np.random.default_rng([seed, start // chunk])
        faces = _chunk(A, (h, w), chunk, rng, *params)
        yield start, faces if n - start >= chunk else faces[:, :n - start].copy()


def _checked(A, image_shape, n, random_state, shift, flip, brightness, noise, chunk):
    A = np.asarray(A, dtype=np.float32)
    h, w = check_image_shape("image_shape", image_shape)
    if A.ndim != 2 or A.shape[0] != h * w:
        raise ValueError(f"A: expected shape ({h * w}, n_source) for image_shape "
                         f"{(h, w)}, got {A.shape}")
    n = check_int("n", n, low=1)
    params = (check_int("shift", shift, low=0), check_number("flip", flip, low=0, high=1),
              check_number("brightness", brightness, low=0, high=1),
              check_number("noise", noise, low=0))
    chunk = check_int("chunk", chunk, low=1)
    seed = int(check_random_state("random_state", random_state).integers(2**63))
    return np.ascontiguousarray(A), (h, w), n, params, chunk, seed


class AugmentedFaces:
    """Makes the augmented faces ``start:stop`` (any range: each draw chunk from its seed)."""

    def __init__(self, A, shape, seed, chunk, params):
        self.A, self.shape, self.seed, self.chunk, self.params = A, shape, seed, chunk, params

    def make(self, start, stop):
        c = self.chunk
        out = np.empty((self.A.shape[0], stop - start), np.uint8)
        for k in range(start // c, (stop - 1) // c + 1):
            faces = _chunk(self.A, self.shape, c, np.random.default_rng([self.seed, k]),
                           *self.params)
            lo, hi = max(start, k * c), min(stop, (k + 1) * c)
            np.rint(faces[:, lo - k * c:hi - k * c] * 255, out=out[:, lo - start:hi - start],
                    casting="unsafe")
        return out, [list(self.shape)]

    def bounds(self, start, stop):
        """Tasks of one chunk cut at the draw chunks' edges: no draw is made twice in it."""
        edges = sorted({start, stop, *range((start // self.chunk + 1) * self.chunk, stop,
                                            self.chunk)})
        return list(zip(edges[:-1], edges[1:]))


def write_augmented_store(A, image_shape, n, store, *, random_state=0, shift=3, flip=0.5,
                          brightness=0.2, noise=0.02, chunk=CHUNK, preparation=None,
                          processes=None, chunk_faces=None, progress=None):
    """Write ``n`` augmented faces (:func:`iter_augmented`) straight into a face store.

    The faces are those of ``augment_faces(A, image_shape, n, ...)`` with the same
    arguments, rounded to 8 bits (within 0.5 / 255), drawn by ``processes`` worker
    processes chunk by chunk and never all in memory; the store (format and resuming as
    :func:`facenmf.data.pack_faces`: an interrupted write, run again with the same
    arguments, makes only the missing chunks) has no labels or paths.

    Parameters
    ----------
    A, image_shape, n, random_state, shift, flip, brightness, noise, chunk
        As :func:`iter_augmented`. ``random_state=None`` draws a new set each call (then
        an interrupted write cannot be resumed).
    store : path-like
        The store folder to write (``faces.zarr``), as ``pack_faces``'s ``store``.
    preparation : dict, optional
        How the source faces were prepared (e.g. ``faces.preparation``); kept in the
        store's ``preparation`` with the augmentation settings under ``"augment"``.
    processes, chunk_faces, progress
        As :func:`facenmf.data.pack_faces`.

    Returns
    -------
    PackReport
    """
    from ._pack import Target
    from ._write import Plan, check_chunk_faces, write_plan
    from ._store import require_zarr

    A, shape, n, params, chunk, seed = _checked(A, image_shape, n, random_state, shift, flip,
                                                brightness, noise, chunk)
    store = check_path("store", store).expanduser()
    target = Target(store, check_int("processes", processes, low=1, allow_none=True),
                    check_chunk_faces(chunk_faces), check_callable("progress", progress))
    if preparation is not None and not isinstance(preparation, dict):
        raise TypeError(f"preparation: expected a dict (FaceSet.preparation) or None, got "
                        f"{type(preparation).__name__}")
    require_zarr("write_augmented_store")
    settings = dict(zip(("shift", "flip", "brightness", "noise"), params), seed=seed,
                    chunk=chunk, n_source=A.shape[1])
    prep = {"crop": None, "size": None, "equalize": False, "normalize": None,
            "detect": False, "detect_options": None, **(preparation or {}),
            "source": "augmented", "augment": settings}
    prep.pop("input_shape", None)
    maker = AugmentedFaces(A, shape, seed, chunk, params)
    source = hashlib.sha256(A.tobytes()).hexdigest()  # the rest is in the preparation
    plan = Plan(maker, n, lambda a, b: b, shape, "augmented", None, None, prep,
                lambda a, b: source, bounds=maker.bounds)
    return write_plan(plan, target)


def augment_faces(A, image_shape, n, **options):
    """``n`` augmented faces as one float32 array (n_pixels, n); see :func:`iter_augmented`."""
    A = np.asarray(A, dtype=np.float32)
    out = np.empty((A.shape[0], n), np.float32)
    for start, block in iter_augmented(A, image_shape, n, **options):
        out[:, start:start + block.shape[1]] = block
    return out
