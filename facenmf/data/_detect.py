"""Find the face in a photograph with scikit-image's LBP frontal-face cascade.

The cascade (``lbpcascade_frontalface_opencv.xml``) ships with scikit-image, so detection
needs no download. The largest detection is taken as the face; its box is widened by
``margin`` on every side (clipped at the image border) and cut out.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .._validation import check_fraction

__all__ = ["DETECT_DEFAULTS", "check_detect_options", "detect_face", "cut_face"]

#: Options of the detector; ``load_faces(detect_options=...)`` may override any of them.
DETECT_DEFAULTS = {
    "scale_factor": 1.2,       # ratio between successive window sizes
    "step_ratio": 1,           # window step, in units of the scaled window's cell
    "min_size": None,          # smallest face (height, width); None: max(24, 1/10 of the photo)
    "max_size": None,          # largest face; None: the whole photo
    "min_neighbor_number": 4,  # overlapping detections needed to accept a face
    "intersection_score_threshold": 0.5,
    "margin": 0.0,             # widen the box by this fraction of its side on every side
}


@lru_cache(maxsize=1)
def _cascade():
    from skimage.data import lbp_frontal_face_cascade_filename
    from skimage.feature import Cascade

    return Cascade(lbp_frontal_face_cascade_filename())


def check_detect_options(options) -> dict:
    """Merge ``options`` (a dict or None) into ``DETECT_DEFAULTS``; unknown keys are errors."""
    merged = dict(DETECT_DEFAULTS)
    if options is None:
        return merged
    if not isinstance(options, dict):
        raise TypeError(f"detect_options: expected a dict or None, got {type(options).__name__}")
    unknown = sorted(set(options) - set(DETECT_DEFAULTS))
    if unknown:
        raise ValueError(
            f"detect_options: unknown keys {unknown}; valid keys are {sorted(DETECT_DEFAULTS)}"
        )
    merged.update(options)
    check_fraction("detect_options: margin", merged["margin"], zero=True)
    if float(merged["scale_factor"]) <= 1:
        raise ValueError(
            f"detect_options: expected scale_factor > 1, got {merged['scale_factor']!r}"
        )
    return merged


def detect_face(image: np.ndarray, options: dict):
    """Return the box ``(top, left, bottom, right)`` of the largest face, or None.

    Parameters
    ----------
    image : ndarray of shape (height, width), float32 in [0, 1]
    options : dict
        As returned by ``check_detect_options``.
    """
    height, width = image.shape
    side = min(height, width)
    min_size = options["min_size"] or (max(24, side // 10),) * 2
    max_size = options["max_size"] or (height, width)
    if side < 24:
        return None
    found = _cascade().detect_multi_scale(
        img=np.ascontiguousarray(image, dtype=np.float32),
        scale_factor=float(options["scale_factor"]),
        step_ratio=float(options["step_ratio"]),
        min_size=tuple(min_size),
        max_size=tuple(max_size),
        min_neighbor_number=int(options["min_neighbor_number"]),
        intersection_score_threshold=float(options["intersection_score_threshold"]),
    )
    if not found:
        return None
    best = max(found, key=lambda d: d["width"] * d["height"])
    pad_r = int(round(best["height"] * float(options["margin"])))
    pad_c = int(round(best["width"] * float(options["margin"])))
    top = max(0, best["r"] - pad_r)
    left = max(0, best["c"] - pad_c)
    bottom = min(height, best["r"] + best["height"] + pad_r)
    right = min(width, best["c"] + best["width"] + pad_c)
    return top, left, bottom, right


def cut_face(image: np.ndarray, box) -> np.ndarray:
    """Return ``image[top:bottom, left:right]`` for ``box=(top, left, bottom, right)``."""
    top, left, bottom, right = box
    return image[top:bottom, left:right]
