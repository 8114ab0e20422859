"""Occluded probes: the condition strings and the occlusions they name."""

from __future__ import annotations

import re

import numpy as np

from .. import _validation as v

__all__ = ["CONDITIONS", "parse_condition", "occlude"]

#: Occlusion conditions: "clean", "block:F" (a square covering fraction F of the face),
#: "sunglasses", "scarf", "noise:F" (salt and pepper on fraction F of the pixels).
CONDITIONS = ("clean", "block:F", "sunglasses", "scarf", "noise:F")

_FRACTION = re.compile(r"^(block|noise):(0?\.\d+|1(\.0*)?|0)$")


def parse_condition(condition):
    """Check an occlusion condition string; returns ``(kind, fraction or None)``."""
    if not isinstance(condition, str):
        raise TypeError(f"condition: expected a string like 'block:0.25', got {condition!r}")
    if condition in ("clean", "sunglasses", "scarf"):
        return condition, None
    match = _FRACTION.match(condition)
    if match is None:
        raise ValueError(f"condition: unknown occlusion {condition!r}; valid forms are "
                         "clean, block:F, sunglasses, scarf, noise:F with 0 < F <= 1")
    fraction = float(condition.split(":")[1])
    if not 0 < fraction <= 1:
        raise ValueError(f"condition: the fraction in {condition!r} must be in (0, 1]")
    return match.group(1), fraction


def occlude(A, image_shape, condition, *, random_state=None):
    """Occluded copies of faces and the mask of what was covered.

    Parameters
    ----------
    A : array_like of shape (n_pixels, n_faces)
        Faces in [0, 1], one per column.
    image_shape : (int, int)
        ``(height, width)`` of the faces.
    condition : str
        ``"block:F"``: a black square covering fraction ``F`` of the face at a random place
        (each face its own); ``"sunglasses"``: a black band over the eyes (rows 25%-50% of
        the height); ``"scarf"``: a black block over the lower face (the bottom 40%);
        ``"noise:F"``: salt and pepper, fraction ``F`` of the pixels set to 0 or 1;
        ``"clean"``: no change.
    random_state : int, numpy Generator or None
        Seed for the block positions and the noise.

    Returns
    -------
    occluded : ndarray of float32, shape (n_pixels, n_faces)
    mask : ndarray of bool, shape (n_pixels, n_faces)
        True where a pixel was covered.
    """
    kind, fraction = parse_condition(condition)
    A = np.array(A, dtype=np.float32)
    image_shape = v.check_image_shape("image_shape", image_shape)
    h, w = image_shape
    if A.ndim != 2 or A.shape[0] != h * w:
        raise ValueError(f"A: expected shape ({h * w}, n_faces) for image_shape {image_shape}, "
                         f"got {A.shape}")
    rng = v.check_random_state("random_state", random_state)
    n = A.shape[1]
    mask = np.zeros((h, w, n), dtype=bool)
    if kind == "block":
        side_h = min(h, max(1, int(round(np.sqrt(fraction * h * w)))))
        side_w = min(w, max(1, int(round(fraction * h * w / side_h))))
        ys = rng.integers(0, h - side_h + 1, n)
        xs = rng.integers(0, w - side_w + 1, n)
        for j in range(n):
            mask[ys[j]:ys[j] + side_h, xs[j]:xs[j] + side_w, j] = True
    elif kind == "sunglasses":
        mask[int(0.25 * h):int(0.5 * h)] = True
    elif kind == "scarf":
        mask[int(0.6 * h):] = True
    elif kind == "noise":
        mask = rng.random((h, w, n)) < fraction
    mask = mask.reshape(h * w, n)
    if kind == "noise":
        A[mask] = (rng.random(int(mask.sum())) < 0.5).astype(np.float32)
    else:
        A[mask] = 0.0
    return A, mask
