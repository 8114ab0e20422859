"""Per-image preprocessing, applied by ``load_faces`` in this fixed order.

1. grey conversion (done when the image is read, see ``_read.py``);
2. crop: a centre crop or a crop box (after face detection, when ``detect=True``);
3. resize to ``size=(height, width)`` with anti-aliasing;
4. histogram equalization;
5. per-image normalisation (Lee & Seung 1999: mean and standard deviation 0.25, clipped).

Each step takes and returns a 2-D float32 array in [0, 1].
"""

from __future__ import annotations

import numbers

import numpy as np
from skimage import exposure
from skimage.transform import resize

from .._validation import check_choice, check_fraction

__all__ = ["check_crop", "check_size", "crop_image", "resize_image", "equalize_image",
           "normalize_image", "NORMALIZATIONS", "preprocess"]

#: Names accepted by ``normalize=``.
NORMALIZATIONS = ("lee-seung",)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_size(size):
    """Return ``size`` as ``(height, width)`` of positive ints, or None."""
    if size is None:
        return None
    if _is_int(size):
        size = (size, size)
    if not isinstance(size, (tuple, list)) or len(size) != 2 or not all(_is_int(s) for s in size):
        raise TypeError(f"size: expected None, an int or a (height, width) pair of ints, got {size!r}")
    if min(size) < 1:
        raise ValueError(f"size: expected positive height and width, got {tuple(size)}")
    return (int(size[0]), int(size[1]))


def check_crop(crop):
    """Return a normalised crop specification.

    ``None``; a float in (0, 1] (keep that central fraction of height and width); a pair
    ``(height, width)`` of ints (centre crop of that size); or a box ``(top, left, bottom,
    right)`` of ints in array coordinates, rows ``top:bottom`` and columns ``left:right``.
    """
    if crop is None:
        return None
    if isinstance(crop, numbers.Real) and not isinstance(crop, (bool, np.bool_)) and not _is_int(crop):
        return ("fraction", check_fraction("crop", crop))
    if isinstance(crop, (tuple, list)) and all(_is_int(c) for c in crop):
        if len(crop) == 2:
            if min(crop) < 1:
                raise ValueError(f"crop: expected a positive (height, width), got {tuple(crop)}")
            return ("centre", int(crop[0]), int(crop[1]))
        if len(crop) == 4:
            top, left, bottom, right = (int(c) for c in crop)
            if top < 0 or left < 0 or bottom <= top or right <= left:
                raise ValueError(
                    "crop: expected a box (top, left, bottom, right) with 0 <= top < bottom "
                    f"and 0 <= left < right, got {tuple(crop)}"
                )
            return ("box", top, left, bottom, right)
    raise TypeError(
        "crop: expected None, a fraction in (0, 1], a (height, width) pair of ints or a "
        f"(top, left, bottom, right) box of ints, got {crop!r}"
    )


def crop_image(image: np.ndarray, spec, where: str) -> np.ndarray:
    """Apply a crop made by ``check_crop`` to ``image`` of shape (height, width)."""
    if spec is None:
        return image
    height, width = image.shape
    kind = spec[0]
    if kind == "fraction":
        h = max(1, int(round(height * spec[1])))
        w = max(1, int(round(width * spec[1])))
    elif kind == "centre":
        h, w = spec[1], spec[2]
        if h > height or w > width:
            raise ValueError(
                f"{where}: centre crop {h}x{w} (crop) is larger than the image, {height}x{width}"
            )
    else:
        top, left, bottom, right = spec[1:]
        if bottom > height or right > width:
            raise ValueError(
                f"{where}: crop box (top, left, bottom, right)={spec[1:]} falls outside the "
                f"image of {height}x{width}"
            )
        return image[top:bottom, left:right]
    top = (height - h) // 2
    left = (width - w) // 2
    return image[top:top + h, left:left + w]


def resize_image(image: np.ndarray, size) -> np.ndarray:
    """Resize to ``size=(height, width)`` (bilinear, Gaussian anti-aliasing when shrinking)."""
    if size is None or image.shape == tuple(size):
        return image
    out = resize(image, size, order=1, mode="reflect", anti_aliasing=True, preserve_range=True)
    out = np.asarray(out, dtype=np.float32)
    return np.clip(out, 0, 1, out=out)


def equalize_image(image: np.ndarray) -> np.ndarray:
    """Histogram equalization (256 bins) of one image; a constant image becomes 0.5."""
    return np.asarray(exposure.equalize_hist(image, nbins=256), dtype=np.float32)


def normalize_image(image: np.ndarray, method: str = "lee-seung") -> np.ndarray:
    """Lee & Seung (1999) per-image normalisation.

    The image is shifted and scaled so that its pixel mean and standard deviation are both
    0.25, then clipped to [0, 1]. A constant image becomes 0.25 everywhere.
    """
    image = image.astype(np.float32, copy=True)
    mean = float(image.mean(dtype=np.float64))
    std = float(image.std(dtype=np.float64))
    if std == 0.0:
        image.fill(0.25)
        return image
    image -= np.float32(mean)
    image *= np.float32(0.25 / std)
    image += np.float32(0.25)
    return np.clip(image, 0, 1, out=image)


def check_normalize(normalize):
    """Return ``normalize`` as None or a name from ``NORMALIZATIONS``."""
    if normalize is None or normalize is False:
        return None
    if normalize is True:
        return "lee-seung"
    return check_choice("normalize", normalize, NORMALIZATIONS)


def preprocess(image, *, crop=None, size=None, equalize=False, normalize=None, where=""):
    """Steps 2-5 on one grey image of shape (height, width); arguments already checked."""
    image = crop_image(image, crop, where)
    image = resize_image(image, size)
    if equalize:
        image = equalize_image(image)
    if normalize is not None:
        image = normalize_image(image, normalize)
    return image
