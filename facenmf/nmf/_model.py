"""``NMF``: a thin class over :func:`nmf`; model files as ``.npz`` with JSON metadata."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from .. import _validation as v
from .._atomic import atomic_write
from ._core import nmf
from ._project import _project

__all__ = ["NMF", "save_model", "load_model"]

FORMAT = "facenmf-model"
FORMAT_VERSION = 1


class NMF:
    """Learn a basis of faces: a thin wrapper that forwards every argument to :func:`nmf`.

    ``A`` is ``(n_pixels, n_faces)``, one face per column (the transpose of scikit-learn's
    ``X``). After :meth:`fit`, ``W`` (n_pixels, rank) holds the basis images with unit-norm
    columns, ``H`` (rank, n_faces) the training weights and ``result`` the full
    :class:`Factorization`.

    Parameters
    ----------
    rank, solver, init, loss, max_iter, tol, time_limit, random_state, callback, dtype
        As in :func:`nmf`.
    image_shape : tuple of int, optional
        ``(height, width)`` of the faces, kept with the model (and in its file) so that
        basis images can be shown.

    Examples
    --------
    >>> import numpy as np, facenmf
    >>> A = np.random.default_rng(0).random((64, 20))
    >>> model = facenmf.NMF(rank=5, random_state=0, max_iter=50, tol=0).fit(A) # doctest: +SKIP
    """

    def __init__(self, rank, *, solver="hals", init=None, loss="frobenius", max_iter=500,
                 tol=1e-4, time_limit=None, random_state=None, callback=None,
                 dtype=np.float32, image_shape=None):
        self.rank = rank
        self.solver = solver
        self.init = init
        self.loss = loss
        self.max_iter = max_iter
        self.tol = tol
        self.time_limit = time_limit
        self.random_state = random_state
        self.callback = callback
        self.dtype = dtype
        self.image_shape = None if image_shape is None else _check_shape(image_shape)
        self.W = None
        self.H = None
        self.result = None

    def _params(self):
        return {"solver": self.solver, "init": self.init, "loss": self.loss,
                "max_iter": self.max_iter, "tol": self.tol, "time_limit": self.time_limit,
                "random_state": self.random_state, "callback": self.callback,
                "dtype": self.dtype}

    def fit(self, A, W0=None, H0=None):
        """Factorize ``A`` (n_pixels, n_faces); returns ``self``."""
        self.result = nmf(A, self.rank, W0=W0, H0=H0, **self._params())
        self.W, self.H = self.result.W, self.result.H
        if self.image_shape is not None and np.prod(self.image_shape) != self.W.shape[0]:
            raise ValueError(
                f"image_shape: {self.image_shape} has {int(np.prod(self.image_shape))} pixels, "
                f"but A has {self.W.shape[0]} rows"
            )
        return self

    def fit_transform(self, A, W0=None, H0=None):
        """Fit and return the weights ``H`` (rank, n_faces) of ``A``.

        Equal to ``fit(A).transform(A)``: both are the exact projection onto the final
        basis (for ``loss="kl"``, the returned weights are ``transform(A)``).
        """
        self.fit(A, W0=W0, H0=H0)
        if self.result.loss == "frobenius":
            return self.H
        return self.transform(A)

    def _require_fit(self):
        if self.W is None:
            raise ValueError("NMF: the model is not fitted; call fit(A) or load_model(path)")

    def transform(self, A, *, mask=None):
        """Weights ``H`` (rank, n_faces) of new faces ``A`` (n_pixels, n_faces).

        The exact solution of ``min_{H >= 0} ||A - W H||_F`` (see :func:`project`);
        ``mask`` (bool, True = ignore the pixel) of shape (n_pixels,) or like ``A``.
        """
        self._require_fit()
        A = v.check_nonnegative_matrix("A", A, self.W.dtype, shape=(self.W.shape[0], None))
        if mask is not None:
            mask = v.check_mask("mask", mask, A.shape)
        return _project(A, self.W, mask)

    def reconstruct(self, H):
        """Faces ``W @ H`` (n_pixels, n_faces) from weights ``H`` (rank, n_faces)."""
        self._require_fit()
        H = v.check_nonnegative_matrix("H", H, self.W.dtype, shape=(self.W.shape[1], None))
        return self.W @ H

    def __repr__(self):
        fitted = "unfitted" if self.W is None else f"W {self.W.shape}"
        return f"NMF(rank={self.rank}, solver={self.solver!r}, loss={self.loss!r}, {fitted})"


def _check_shape(shape):
    if not (isinstance(shape, (tuple, list)) and len(shape) == 2):
        raise TypeError(f"image_shape: expected (height, width), got {shape!r}")
    return tuple(v.check_int("image_shape", s, low=1) for s in shape)


def _version(module):
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # not installed as a distribution (a source checkout)
        return "unknown"


def save_model(path, model):
    """Write a fitted :class:`NMF` to ``path`` (``.npz``: arrays + JSON metadata, no pickle).

    The file is written to a temporary file beside ``path`` and renamed into place, so an
    existing file is never left half-written.
    """
    if not isinstance(model, NMF):
        raise TypeError(f"model: expected a facenmf.NMF, got {type(model).__name__}")
    model._require_fit()
    path = Path(path)
    r = model.result
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "rank": int(model.W.shape[1]),
        "n_pixels": int(model.W.shape[0]),
        "image_shape": None if model.image_shape is None else list(model.image_shape),
        "dtype": str(model.W.dtype),
        "solver": model.solver,
        "init": r.init if r is not None else model.init,
        "loss": model.loss,
        "n_iter": None if r is None else int(r.n_iter),
        "converged": None if r is None else bool(r.converged),
        "error": None if r is None else float(r.error),
        "versions": {"facenmf": _version("facenmf"), "numpy": np.__version__},
    }
    arrays = {"W": model.W, "metadata": np.array(json.dumps(meta))}
    if model.H is not None:
        arrays["H"] = model.H
    with atomic_write(path) as fh:
        np.savez(fh, **arrays)
    return path


def load_model(path):
    """Read a model written by :func:`save_model`; returns a fitted :class:`NMF`.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a facenmf model (corrupt, foreign, or a newer format).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{path}: not a facenmf model file (unreadable as .npz: {exc})") from None
    try:
        meta = json.loads(str(arrays["metadata"]))
        if meta.get("format") != FORMAT:
            raise KeyError("format")
    except (KeyError, ValueError, TypeError):
        raise ValueError(f"{path}: not a facenmf model file (no facenmf metadata)") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: model format version {meta.get('format_version')} is not supported "
            f"(this facenmf reads version {FORMAT_VERSION})"
        )
    W = arrays.get("W")
    try:
        if W is None or W.ndim != 2 or W.shape != (meta["n_pixels"], meta["rank"]) \
                or W.dtype not in (np.float32, np.float64):
            raise ValueError("W missing or of the wrong shape")
        model = NMF(meta["rank"], solver=meta["solver"], init=meta["init"], loss=meta["loss"],
                    dtype=W.dtype, image_shape=meta["image_shape"])
    except (KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"{path}: corrupt facenmf model ({exc})") from None
    H = arrays.get("H")
    model.W = W
    model.H = H if H is not None and H.ndim == 2 and H.shape[0] == W.shape[1] else None
    model.metadata = meta
    return model
