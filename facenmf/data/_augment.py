"""Large, realistic face sets from a small one: random shifts, flips, brightness and noise.

For benchmarks and tests of fits beyond memory: ``augment_faces(faces.A, faces.image_shape,
1_000_000)`` makes a million faces from ORL's 400. Faces come in chunks, each drawn from its
own seed (the seed and the chunk's index), so the same call gives the same faces whether it
is written to memory, to a store, or in pieces.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int, check_number, check_random_state

__all__ = ["augment_faces", "iter_augmented"]

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
    A = np.asarray(A, dtype=np.float32)
    h, w = image_shape
    if A.ndim != 2 or A.shape[0] != h * w:
        raise ValueError(f"A: expected shape ({h * w}, n_source) for image_shape "
                         f"{tuple(image_shape)}, got {A.shape}")
    n = check_int("n", n, low=1)
    shift = check_int("shift", shift, low=0)
    flip = check_number("flip", flip, low=0, high=1)
    brightness = check_number("brightness", brightness, low=0, high=1)
    noise = check_number("noise", noise, low=0)
    chunk = check_int("chunk", chunk, low=1)
    seed = int(check_random_state("random_state", random_state).integers(2**63))
    A = np.ascontiguousarray(A)
    for start in range(0, n, chunk):
        # Every chunk is drawn whole, so the first faces of a longer set are the same faces.
        rng = np.random.default_rng([seed, start // chunk])
        faces = _chunk(A, (h, w), chunk, rng, shift, flip, brightness, noise)
        yield start, faces if n - start >= chunk else faces[:, :n - start].copy()


def augment_faces(A, image_shape, n, **options):
    """``n`` augmented faces as one float32 array (n_pixels, n); see :func:`iter_augmented`."""
    A = np.asarray(A, dtype=np.float32)
    out = np.empty((A.shape[0], n), np.float32)
    for start, block in iter_augmented(A, image_shape, n, **options):
        out[:, start:start + block.shape[1]] = block
    return out
