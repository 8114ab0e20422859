"""Occluded probes: the condition strings and the occlusions they name."""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .. import _validation as v

__all__ = ["CONDITIONS", "FaceRows", "estimate_face_rows", "face_rows_of", "parse_condition",
           "occlude"]

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


class FaceRows(NamedTuple):
    """Rows of the eyes and of the mouth in a face image (pixels from the top, may be
    fractional): where ``occlude`` puts sunglasses and a scarf.

    Notes
    -----
    The band and the scarf are proportions of the eye-to-mouth distance ``d`` taken from
    the anatomy of adult faces, not chosen by any accuracy: in the anthropometric norms
    of [1]_ the nose (nasion to subnasale) is about 50-55 mm high and the upper lip
    (subnasale to stomion, the mouth line) about 20-25 mm, the eye line lying about 10 mm
    below the nasion, so ``d`` is about 65 mm (the eye-mouth distance is about 36% of the
    face's length, hairline to chin, in [2]_). The brows are about a quarter of ``d`` above
    the eye line: a band of ``±0.4 d`` (about 50 mm, the height of a sunglasses lens and
    frame) covers eyes and brows and ends above the subnasale (about ``0.65 d`` below the
    eyes). Half-way up from the mouth is above the subnasale (about ``0.35 d`` up) and below
    the eyes: the scarf covers the mouth, the chin and the lower nose.

    References
    ----------
    .. [1] L. G. Farkas, *Anthropometry of the Head and Face*, 2nd ed., Raven Press, New
       York, 1994.
    .. [2] P. M. Pallett, S. Link and K. Lee, "New 'golden' ratios for facial beauty",
       Vision Research 50(2), 149-154, 2010. doi:10.1016/j.visres.2009.11.003
    """

    eyes: float
    mouth: float

    @property
    def distance(self):
        """The eye-to-mouth distance in rows."""
        return self.mouth - self.eyes

    def sunglasses(self):
        """Rows ``[top, bottom)`` of the sunglasses band: centred on the eyes, ``0.8 d``
        high (``d`` the eye-to-mouth distance): a lens over each eye and the brows."""
        half = 0.4 * self.distance
        return self.eyes - half, self.eyes + half

    def scarf_top(self):
        """First row of the scarf: half-way up from the mouth to the eyes (the nose tip), so
        that the scarf covers the mouth, chin and the lower nose."""
        return self.mouth - 0.5 * self.distance


def estimate_face_rows(A, image_shape):
    """The rows of the eyes and of the mouth, from the mean of the faces ``A``.

    Eyes and mouth are the darkest horizontal bands of a face against the skin around them.
    The mean face's row profile over the central half of its columns (no background, no
    hair at the sides) is smoothed a little (Gaussian, sigma ``height / 60``) and its
    slow trend removed (minus the same profile smoothed by ``height / 10``: illumination,
    hair and background change over a larger scale than the features). The deepest local
    minimum of what is left, away from the top and bottom tenth of the image (where the
    trend is ill-defined), is the eyes; the deepest below the eyes is the mouth. A minimum's
    depth is measured against the highest point within a fifth of the height on each side,
    the lower of the two: a dark band between brighter skin is deep, the dark side of an edge
    (background or hair above the forehead) is not. Where there is none below the eyes (a
    crop that ends above the mouth), the mouth is put 0.4 of the way from the eyes to the
    bottom (and with no minimum at all, the eyes at 0.4 of the height). Fractions of the image size, not of one
    database's framing: the rows follow the faces (a face shifted down gives rows shifted
    down).

    Parameters
    ----------
    A : array_like of shape (n_pixels, n_faces)
        Faces, one per column (e.g. a split's gallery: never its probes).
    image_shape : (int, int)

    Returns
    -------
    FaceRows
    """
    h, w = v.check_image_shape("image_shape", image_shape)
    A = np.asarray(A)
    if A.ndim != 2 or A.shape[0] != h * w or A.shape[1] < 1:
        raise ValueError(f"A: expected shape ({h * w}, n_faces) with n_faces >= 1 for "
                         f"image_shape {(h, w)}, got {A.shape}")
    mean = A.mean(axis=1, dtype=np.float64).reshape(h, w)
    profile = mean[:, w // 4:w - w // 4].mean(axis=1) if w >= 4 else mean.mean(axis=1)
    profile = gaussian_filter1d(profile, max(h / 60, 0.5), mode="nearest")
    detail = profile - gaussian_filter1d(profile, max(h / 10, 1.0), mode="nearest")
    margin = max(1, int(np.ceil(h / 10)))
    reach = max(2, int(np.ceil(h / 5)))
    # A valley: lower than the highest point within a fifth of the height on each side (a
    # dark band between brighter skin); its depth, the lower of the two rises.
    depth = {}
    for y in range(margin, h - margin):
        if detail[y] <= detail[y - 1] and detail[y] < detail[y + 1]:
            rise = min(detail[max(0, y - reach):y].max(), detail[y + 1:y + 1 + reach].max())
            depth[y] = rise - detail[y]
    eyes = max(depth, key=depth.get) if depth else 0.4 * h
    below = [y for y in depth if y > eyes]  # none: see above
    mouth = max(below, key=depth.get) if below else eyes + 0.4 * (h - eyes)
    return FaceRows(float(eyes), float(mouth))


def face_rows_of(face_rows, image_shape):
    """``face_rows`` checked: None, a :class:`FaceRows` or a pair ``(eyes, mouth)`` of rows
    in pixels, ``0 <= eyes < mouth <= height``."""
    if face_rows is None:
        return None
    h, _ = image_shape
    try:
        eyes, mouth = (float(x) for x in face_rows)
    except (TypeError, ValueError):
        raise ValueError(f"face_rows: expected (eyes, mouth) rows in pixels, got "
                         f"{face_rows!r}") from None
    if not 0 <= eyes < mouth <= h:
        raise ValueError(f"face_rows: expected 0 <= eyes < mouth <= {h} (the image height), "
                         f"got eyes={eyes:g}, mouth={mouth:g}")
    return FaceRows(eyes, mouth)


def occlude(A, image_shape, condition, *, random_state=None, face_rows=None):
    """Occluded copies of faces and the mask of what was covered.

    Parameters
    ----------
    A : array_like of shape (n_pixels, n_faces)
        Faces in [0, 1], one per column.
    image_shape : (int, int)
        ``(height, width)`` of the faces.
    condition : str
        ``"block:F"``: a black square covering fraction ``F`` of the face at a random place
        (each face its own); ``"sunglasses"``: a black band over the eyes
        (:meth:`FaceRows.sunglasses`); ``"scarf"``: a black block over the lower face, from
        half-way between mouth and eyes down (:meth:`FaceRows.scarf_top`);
        ``"noise:F"``: salt and pepper, fraction ``F`` of the pixels set to 0 or 1;
        ``"clean"``: no change.
    random_state : int, numpy Generator or None
        Seed for the block positions and the noise.
    face_rows : FaceRows or (float, float), optional
        Rows of the eyes and the mouth for sunglasses and scarf; None: estimated from ``A``
        itself (:func:`estimate_face_rows`). :func:`evaluate` estimates them on the
        gallery and passes them for its probes.

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
    elif kind in ("sunglasses", "scarf"):
        rows = face_rows_of(face_rows, image_shape)
        rows = estimate_face_rows(A, image_shape) if rows is None else rows
        if kind == "sunglasses":
            top, bottom = rows.sunglasses()
            mask[max(0, int(round(top))):max(0, int(round(bottom)))] = True
        else:
            mask[max(0, int(round(rows.scarf_top()))):] = True
    elif kind == "noise":
        mask = rng.random((h, w, n)) < fraction
    mask = mask.reshape(h * w, n)
    if kind == "noise":
        A[mask] = (rng.random(int(mask.sum())) < 0.5).astype(np.float32)
    else:
        A[mask] = 0.0
    return A, mask
