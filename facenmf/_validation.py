"""Parameter checks shared by every public entry point.

Each check raises ``TypeError`` for a value of the wrong type and ``ValueError`` for a
value of the right type but outside what is allowed, with a one-line message naming the
parameter, what was expected and what was found. Inner code trusts checked values.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "check_choice",
    "check_bool",
    "check_int",
    "check_number",
    "check_fraction",
    "check_image_shape",
    "check_fitted",
    "check_random_state",
    "check_callable",
    "check_dtype",
    "check_nonnegative_matrix",
    "check_mask",
    "check_indices",
    "check_finite_matrix",
    "check_path",
    "check_figure_path",
    "FIGURE_FORMATS",
]

#: Figure formats by file extension: what matplotlib writes (and ``facenmf.view`` saves).
FIGURE_FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg", ".jpg": "jpeg",
                  ".jpeg": "jpeg", ".eps": "eps", ".ps": "ps", ".tif": "tiff",
                  ".tiff": "tiff", ".webp": "webp"}


def _type_name(value) -> str:
    return type(value).__name__


def check_choice(name: str, value, options) -> str:
    """Return ``value`` if it is one of ``options`` (strings)."""
    if not isinstance(value, str):
        raise TypeError(
            f"{name}: expected one of {sorted(options)}, got {_type_name(value)} {value!r}"
        )
    if value not in options:
        raise ValueError(f"{name}: unknown value {value!r}; valid values are {sorted(options)}")
    return value


def check_bool(name: str, value) -> bool:
    """Return ``value`` as a ``bool`` if it is True or False (a numpy bool too)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {_type_name(value)} {value!r}")
    return bool(value)


def check_int(name: str, value, *, low=None, high=None, allow_none=False):
    """Return ``value`` as an ``int`` checked to lie in ``[low, high]``."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {_type_name(value)} {value!r}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name}: expected an integer >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name}: expected an integer <= {high}, got {value}")
    return value


def _real(name, value, what):
    """``value`` as a float if it is a real number (not a bool), else TypeError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected {what}, got {_type_name(value)} {value!r}")
    return float(value)


def _interval(low, high, low_inclusive, high_inclusive):
    return (f"{'[' if low_inclusive else '('}{low:g}, {high:g}"
            f"{']' if high_inclusive else ')'}")


def check_number(name: str, value, *, low=None, low_inclusive=True, high=None,
                 high_inclusive=True, allow_none=False, allow_inf=False):
    """Return ``value`` as a finite ``float`` checked against a lower and/or upper bound.

    With both bounds the message names the interval (``expected a number in (0, 1]``).
    ``allow_inf``: infinities pass too (still checked against the bounds; NaN never does).
    """
    if value is None and allow_none:
        return None
    value = _real(name, value, "a number")
    if np.isnan(value) or (np.isinf(value) and not allow_inf):
        raise ValueError(f"{name}: expected a finite number, got {value}")
    below = low is not None and (value < low if low_inclusive else value <= low)
    above = high is not None and (value > high if high_inclusive else value >= high)
    if (below or above) and low is not None and high is not None:
        raise ValueError(f"{name}: expected a number in "
                         f"{_interval(low, high, low_inclusive, high_inclusive)}, got {value}")
    if below:
        sign = ">=" if low_inclusive else ">"
        raise ValueError(f"{name}: expected a number {sign} {low}, got {value}")
    if above:
        sign = "<=" if high_inclusive else "<"
        raise ValueError(f"{name}: expected a number {sign} {high}, got {value}")
    return value


def check_fraction(name: str, value, *, zero=False, one=True):
    """Return ``value`` as a ``float`` fraction: in (0, 1] by default, 0 allowed with
    ``zero=True``, 1 excluded with ``one=False`` (``[0, 1)``: ``zero=True, one=False``)."""
    value = _real(name, value, "a fraction")
    if not ((0 <= value if zero else 0 < value) and (value <= 1 if one else value < 1)):
        raise ValueError(f"{name}: expected a fraction in {_interval(0, 1, zero, one)}, "
                         f"got {value}")
    return value


def check_image_shape(name: str, value, n_pixels=None, *, rows_of=None):
    """Return ``(height, width)`` as two positive ints, with ``n_pixels`` pixels if given.

    Parameters
    ----------
    name : str
        The parameter's name, used in error messages (``"image_shape"``).
    value : sequence of two integers
        The shape to check (a tuple, list or 1-D array; no bools, no floats).
    n_pixels : int, optional
        The pixel count ``height * width`` must equal (the rows of a matrix of faces).
    rows_of : str, optional
        The name of the matrix whose rows ``n_pixels`` counts; the mismatch message then
        reads ``image_shape: (11, 10) has 110 pixels but W has 120 rows``, and without it
        ``image_shape: expected (height, width) with 120 pixels, got (11, 10)``.

    Raises
    ------
    TypeError
        Not a sequence of two integers.
    ValueError
        A size below 1, or the wrong number of pixels.
    """
    if (isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2
            or not all(isinstance(s, numbers.Integral) and not isinstance(s, (bool, np.bool_))
                       for s in value)):
        raise TypeError(f"{name}: expected (height, width) as two integers, got {value!r}")
    shape = (int(value[0]), int(value[1]))
    if min(shape) < 1:
        raise ValueError(f"{name}: expected positive sizes, got {shape}")
    if n_pixels is not None and shape[0] * shape[1] != n_pixels:
        if rows_of is not None:
            raise ValueError(f"{name}: {shape} has {shape[0] * shape[1]} pixels but {rows_of} "
                             f"has {n_pixels} rows")
        raise ValueError(f"{name}: expected (height, width) with {n_pixels} pixels, "
                         f"got {shape}")
    return shape


def check_fitted(name: str, model):
    """Return ``model`` if it is fitted (its basis ``W`` is set), else ValueError."""
    if getattr(model, "W", None) is None:
        raise ValueError(f"{name}: the model is not fitted; call fit(A) or load_model(path)")
    return model


def check_random_state(name: str, value) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from None, an int seed or a Generator."""
    if value is None or isinstance(value, np.random.Generator):
        return np.random.default_rng(value)
    if isinstance(value, np.random.RandomState):
        return np.random.default_rng(value.randint(0, 2**31 - 1))
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name}: expected None, an integer seed or a numpy Generator, "
            f"got {_type_name(value)} {value!r}"
        )
    if value < 0:
        raise ValueError(f"{name}: expected a non-negative seed, got {value}")
    return np.random.default_rng(int(value))


def check_callable(name: str, value, *, allow_none=True):
    if value is None and allow_none:
        return None
    if not callable(value):
        raise TypeError(f"{name}: expected a callable, got {_type_name(value)} {value!r}")
    return value


def check_dtype(name: str, value) -> np.dtype:
    """Return ``np.float32`` or ``np.float64`` as a dtype."""
    try:
        dtype = np.dtype(value)
    except TypeError:
        raise TypeError(
            f"{name}: expected float32 or float64, got {_type_name(value)} {value!r}"
        ) from None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{name}: expected float32 or float64, got {dtype}")
    return dtype


def check_nonnegative_matrix(name: str, value, dtype, *, shape=None, copy=False,
                             sparse=False) -> np.ndarray:
    """Return ``value`` as a 2-D array of ``dtype`` with finite, non-negative entries.

    Parameters
    ----------
    name : str
        The parameter's name, used in error messages.
    value : array_like
        The matrix to check.
    dtype : numpy dtype
        float32 or float64; the array is converted (and copied only if needed).
    shape : tuple of (int or None), optional
        Expected shape; ``None`` entries are not checked.
    copy : bool
        Always return a new array (the caller will modify it in place).
    sparse : bool
        Accept a ``scipy.sparse`` matrix or array, returned as a canonical CSC matrix (or
        array) of ``dtype``, checked through its stored entries (never densified); False:
        a sparse value is refused (TypeError).
    """
    if hasattr(value, "toarray") and hasattr(value, "nnz"):
        if not sparse:
            raise TypeError(f"{name}: sparse matrices are not supported here; pass "
                            f"{name}.toarray()")
        return _check_sparse(name, value, dtype, shape)
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name}: expected a 2-D array of numbers, got {_type_name(value)}")
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a 2-D array of real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array, got {arr.ndim}-D with shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {arr.shape}")
    _check_shape(name, arr.shape, shape)
    arr = np.array(arr, dtype=dtype, copy=True) if copy else np.asarray(arr, dtype=dtype)
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if not finite.all():
            n_nan = int(np.isnan(arr).sum())
            n_inf = arr.size - int(finite.sum()) - n_nan
            raise ValueError(
                f"{name}: expected finite entries, found {n_nan} NaN and {n_inf} infinite"
            )
    low = arr.min()
    if low < 0:
        raise ValueError(
            f"{name}: expected non-negative entries, found {int((arr < 0).sum())} negative "
            f"(smallest {float(low):.4g})"
        )
    return arr


def _check_shape(name, got, shape):
    if shape is None:
        return
    for axis, (want, have) in enumerate(zip(shape, got)):
        if want is not None and want != have:
            want_text = ", ".join("*" if s is None else str(s) for s in shape)
            raise ValueError(f"{name}: expected shape ({want_text}), got {got} (axis {axis} "
                             "differs)")


def _check_sparse(name, value, dtype, shape):
    """A ``scipy.sparse`` value as canonical CSC of ``dtype``, checked by its stored entries
    (the user's matrix is never modified)."""
    got = tuple(value.shape)
    if len(got) != 2:
        raise ValueError(f"{name}: expected a 2-D sparse matrix, got {len(got)}-D with shape "
                         f"{got}")
    if 0 in got:
        raise ValueError(f"{name}: expected a non-empty matrix, got shape {got}")
    _check_shape(name, got, shape)
    if np.dtype(value.dtype).kind not in "biuf":
        raise TypeError(f"{name}: expected a sparse matrix of real numbers, got dtype "
                        f"{value.dtype}")
    A = value.tocsc()
    A = A.astype(dtype, copy=A is value and not A.has_canonical_format)
    if not A.has_canonical_format:
        A.sum_duplicates()  # on a copy: sorts the indices, adds duplicate entries
    data = A.data
    finite = np.isfinite(data)
    if not finite.all():
        n_nan = int(np.isnan(data).sum())
        raise ValueError(f"{name}: expected finite entries, found {n_nan} NaN and "
                         f"{data.size - int(finite.sum()) - n_nan} infinite")
    if data.size and data.min() < 0:
        raise ValueError(f"{name}: expected non-negative entries, found "
                         f"{int((data < 0).sum())} negative (smallest {float(data.min()):.4g})")
    return A


def check_mask(name: str, value, shape) -> np.ndarray:
    """Return a boolean mask of shape ``(shape[0],)`` or ``shape`` (True = ignore)."""
    arr = np.asarray(value)
    if arr.dtype != np.bool_:
        raise TypeError(f"{name}: expected a boolean array (True = pixel ignored), got dtype {arr.dtype}")
    if arr.shape not in ((shape[0],), tuple(shape)):
        raise ValueError(
            f"{name}: expected shape ({shape[0]},) or {tuple(shape)}, got {arr.shape}"
        )
    return arr


def check_indices(name: str, value, n, *, allow_empty=False, allow_mask=False) -> np.ndarray:
    """Return 1-D integer indices into ``range(n)`` as an ``intp`` array, negative ones
    wrapped; non-empty unless ``allow_empty``. With ``allow_mask``, a boolean mask of shape
    ``(n,)`` is accepted too and gives the indices of its True entries."""
    idx = np.asarray(value)
    if allow_mask and idx.dtype == np.bool_:
        if idx.shape != (n,):
            raise ValueError(f"{name}: expected a boolean mask of shape ({n},), got {idx.shape}")
        return np.flatnonzero(idx)
    if idx.dtype.kind not in "iu" or idx.ndim != 1:
        what = "1-D integer indices" + (" or a boolean mask" if allow_mask else "")
        raise TypeError(f"{name}: expected {what}, got dtype {idx.dtype} of shape {idx.shape}")
    if idx.size == 0:
        if not allow_empty:
            raise ValueError(f"{name}: expected at least one index, got none")
        return idx.astype(np.intp)
    if idx.min() < -n or idx.max() >= n:
        raise ValueError(f"{name}: expected indices in [0, {n}), got [{idx.min()}, {idx.max()}]")
    return np.where(idx < 0, idx + n, idx).astype(np.intp)


def check_path(name: str, value):
    """Return ``value`` as a ``pathlib.Path`` (it must be a str or os.PathLike)."""
    import os
    from pathlib import Path

    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a str or os.PathLike, got {_type_name(value)}")
    return Path(value)


def check_figure_path(name: str, value):
    """Return ``(Path, format)`` for a figure file; its extension names the format."""
    path = check_path(name, value)
    fmt = FIGURE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        found = f"'{path.suffix}'" if path.suffix else "no extension"
        raise ValueError(f"{name}: {path}: expected a figure file ending in "
                         f"{', '.join(sorted(FIGURE_FORMATS))}, got {found}")
    return path, fmt


def check_finite_matrix(name: str, value, *, shape=None) -> np.ndarray:
    """Return ``value`` as a finite, non-empty 2-D float64 array (signs allowed).

    ``shape`` is as in :func:`check_nonnegative_matrix` (``None`` entries not checked).
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name}: expected a 2-D array of numbers, got {_type_name(value)}")
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a 2-D array of real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty 2-D array, got shape {arr.shape}")
    if shape is not None:
        for axis, (want, got) in enumerate(zip(shape, arr.shape)):
            if want is not None and want != got:
                text = ", ".join("*" if s is None else str(s) for s in shape)
                raise ValueError(f"{name}: expected shape ({text}), got {arr.shape} "
                                 f"(axis {axis} differs)")
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: expected finite entries, found "
                         f"{int((~np.isfinite(arr)).sum())} NaN or infinite")
    return arr
