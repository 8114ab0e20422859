"""Read one image file with Pillow into a grey float32 array in [0, 1].

Every failure of Pillow (missing file, not an image, truncated data, decompression bomb) is
translated into one built-in exception whose one-line message names the file and the
problem, so that ``load_faces`` can stop with it or, with ``on_error="skip"``, list it.

Grey conversion rules (documented in ``load_faces``):

- 8-bit channels are divided by 255, 16-bit ones (and Pillow's 32-bit integer mode "I",
  which is how it opens 16-bit PPM/PGM) by 65535; 1-bit images give 0 and 1; float images
  ("F", e.g. 32-bit TIFF) are clipped to [0, 1].
- Colour becomes grey by the ITU-R BT.601 luma, ``0.299 R + 0.587 G + 0.114 B`` (the rule
  Pillow's own ``convert("L")`` uses); palette images are expanded to RGB(A) first; CMYK,
  YCbCr, LAB and HSV are converted to RGB by Pillow first.
- An alpha channel is composited over black: grey is multiplied by alpha, so transparent
  pixels become 0.
- Multi-frame files (animated GIF, TIFF stacks) give their first frame.
- The EXIF orientation tag of a photograph is applied.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["IMAGE_EXTENSIONS", "DEFAULT_MAX_PIXELS", "read_image", "array_to_grey"]

#: File name extensions taken as images when a folder is listed (case-insensitive).
IMAGE_EXTENSIONS = frozenset(
    {".pgm", ".ppm", ".pbm", ".pnm", ".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".gif",
     ".tif", ".tiff", ".bmp", ".dib", ".webp"}
)

#: Largest number of pixels an image may have (Pillow's own default limit); larger images
#: are refused as possible decompression bombs before their pixel data are read.
DEFAULT_MAX_PIXELS = 89_478_485

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _file_problem(path, problem: str) -> str:
    return f"{os.fspath(path)}: {problem}"


def read_image(path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read one image file as a grey image.

    Parameters
    ----------
    path : str or path-like
        The image file; any format Pillow reads (the extension does not matter).
    max_pixels : int
        Refuse images with more pixels than this (decompression-bomb guard).

    Returns
    -------
    image : ndarray of shape (height, width), float32
        Grey values in [0, 1].

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        ``path`` is a folder, not an image Pillow reads, truncated or corrupt, or larger
        than ``max_pixels``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(_file_problem(path, "no such file"))
    if path.is_dir():
        raise ValueError(_file_problem(path, "expected an image file, found a folder"))
    try:
        # Pillow's own bomb check warns (or raises) at open time; we apply our own limit
        # right after reading the header, so silence its warning here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise _BombError(
                        f"image of {width}x{height} = {width * height:,} pixels exceeds the "
                        f"limit of {max_pixels:,} (max_pixels); refused as a possible "
                        "decompression bomb"
                    )
                img.load()
                try:
                    img = ImageOps.exif_transpose(img)
                except Exception:  # a broken EXIF block is not worth losing the face for
                    pass
                return _image_to_grey(img)
    except _BombError as exc:
        raise ValueError(_file_problem(path, str(exc))) from None
    except Image.DecompressionBombError as exc:
        raise ValueError(_file_problem(path, f"refused as a decompression bomb ({exc})")) from None
    except UnidentifiedImageError:
        raise ValueError(
            _file_problem(path, "not an image Pillow can read (wrong or unknown format)")
        ) from None
    except PermissionError:
        raise PermissionError(_file_problem(path, "permission denied")) from None
    except MemoryError:
        raise MemoryError(_file_problem(path, "not enough memory to decode the image")) from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError...
        reason = str(exc).strip() or type(exc).__name__
        raise ValueError(
            _file_problem(path, f"truncated or corrupt image ({reason})")
        ) from None


class _BombError(Exception):
    pass


def _image_to_grey(img: Image.Image) -> np.ndarray:
    """Return a Pillow image as grey float32 in [0, 1] by the rules in the module doc."""
    mode = img.mode
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode == "PA":
        img = img.convert("RGBA")
    elif mode not in ("1", "L", "LA", "I", "F", "RGB", "RGBA", "La") and not mode.startswith("I;16"):
        img = img.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX, RGBa, ...
    mode = img.mode
    arr = np.asarray(img)
    if mode == "1":
        return arr.astype(np.float32)
    if mode.startswith("I;16") or mode == "I":
        grey = arr.astype(np.float32) / np.float32(65535)
        return np.clip(grey, 0, 1, out=grey)
    if mode == "F":
        grey = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        return np.clip(grey, 0, 1, out=grey)
    if mode == "L":
        return arr.astype(np.float32) / np.float32(255)
    if mode in ("LA", "La"):
        grey = arr[..., 0].astype(np.float32) / np.float32(255)
        return grey * (arr[..., 1].astype(np.float32) / np.float32(255))
    # RGB or RGBA, 8-bit
    grey = arr[..., :3].astype(np.float32) @ (_LUMA / np.float32(255))
    if mode == "RGBA":
        grey *= arr[..., 3].astype(np.float32) / np.float32(255)
    return np.clip(grey, 0, 1, out=grey)


def array_to_grey(images, name: str = "source") -> np.ndarray:
    """Check an array of images and return it as grey float32 in [0, 1].

    Parameters
    ----------
    images : array_like of shape (n_faces, height, width) or (n_faces, height, width, 3 or 4)
        uint8 (divided by 255), uint16 (divided by 65535), bool, or floats already in
        [0, 1]. Colour uses the BT.601 luma; a fourth channel is alpha (over black).
    name : str
        Parameter name for error messages.

    Returns
    -------
    images : ndarray of shape (n_faces, height, width), float32
    """
    arr = np.asarray(images)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected an array of numbers, got dtype {arr.dtype}")
    if arr.ndim == 4 and arr.shape[-1] in (3, 4):
        colour = True
    elif arr.ndim == 3:
        colour = False
    else:
        raise ValueError(
            f"{name}: expected an array of shape (n_faces, height, width) or "
            f"(n_faces, height, width, 3 or 4), got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0 or arr.shape[2] == 0:
        raise ValueError(f"{name}: expected a non-empty array of images, got shape {arr.shape}")
    if arr.dtype.kind == "b":
        out = arr.astype(np.float32)
    elif arr.dtype.kind in "iu":
        if arr.dtype.itemsize == 1:
            scale = 255
        elif arr.dtype.itemsize == 2:
            scale = 65535
        else:
            raise TypeError(
                f"{name}: expected uint8, uint16 or float images, got dtype {arr.dtype}"
            )
        low = arr.min()
        if low < 0:
            raise ValueError(f"{name}: expected non-negative pixel values, found {low}")
        out = arr.astype(np.float32) / np.float32(scale)
    else:
        out = np.asarray(arr, dtype=np.float32)
        if not np.isfinite(out).all():
            raise ValueError(f"{name}: expected finite pixel values, found NaN or infinity")
        low, high = float(out.min()), float(out.max())
        if low < 0 or high > 1:
            raise ValueError(
                f"{name}: expected float pixel values in [0, 1], found range "
                f"[{low:.4g}, {high:.4g}] (pass uint8 images, or divide by their maximum)"
            )
    if colour:
        grey = out[..., :3] @ _LUMA
        if arr.shape[-1] == 4:
            grey *= out[..., 3]
        out = np.clip(grey, 0, 1, out=grey)
    return np.ascontiguousarray(out, dtype=np.float32)
