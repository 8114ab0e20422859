"""``NMF``: a thin class over :func:`nmf`; model files as ``.npz`` with JSON metadata."""

from __future__ import annotations

import json
import zipfile

import numpy as np

from .. import _validation as v
from .._atomic import atomic_write
from ._blocks import is_dask, is_streamed
from ._core import nmf, project_columns
from ._penalty import Penalty, check_regularization
from ._project import project_unchecked
from ._registry import SOLVERS

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
    rank, solver, init, loss, alpha_W, alpha_H, l1_ratio, max_iter, tol, time_limit, \
random_state, callback, dtype, solver_options
        As in :func:`nmf`. ``alpha_W`` penalizes OUR basis ``W`` and ``alpha_H`` our
        weights ``H`` (the transpose of scikit-learn's naming, see :func:`nmf`); the
        penalty on ``H`` also applies in :meth:`transform`, and both are kept in the model
        file.
    image_shape : tuple of int, optional
        ``(height, width)`` of the faces, kept with the model (and in its file) so that
        basis images can be shown.
    preparation : dict, optional
        How the training faces were prepared (``FaceSet.preparation``: source, crop, size,
        equalize, normalize, detect, the images' input shape), kept in the model file so that
        new images get the same preparation (``load_faces(files, like=model)``).

    Examples
    --------
    >>> import numpy as np, facenmf
    >>> A = np.random.default_rng(0).random((64, 20))
    >>> model = facenmf.NMF(rank=5, random_state=0, max_iter=50, tol=0).fit(A)
    >>> model.W.shape, model.transform(A[:, :3]).shape
    ((64, 5), (5, 3))
    """

    def __init__(self, rank, *, solver="hals", init=None, loss="frobenius", alpha_W=0.0,
                 alpha_H="same", l1_ratio=0.0, max_iter=500, tol=1e-4, time_limit=None,
                 random_state=None, callback=None, dtype=np.float32, image_shape=None,
                 preparation=None, solver_options=None):
        self.rank = rank
        self.solver = solver
        self.init = init
        self.loss = loss
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.max_iter = max_iter
        self.tol = tol
        self.time_limit = time_limit
        self.random_state = random_state
        self.callback = callback
        self.dtype = dtype
        self.solver_options = solver_options
        self.image_shape = None if image_shape is None else v.check_image_shape(
            "image_shape", image_shape)
        self.preparation = _check_preparation(preparation)
        self.W = None
        self.H = None
        self.result = None
        #: What the model file said of the fit (solver, n_iter, error, ...), for a loaded
        #: model whose ``result`` is gone; :func:`save_model` writes it back unchanged.
        self.metadata = {}

    def _params(self):
        return {"solver": self.solver, "init": self.init, "loss": self.loss,
                "alpha_W": self.alpha_W, "alpha_H": self.alpha_H, "l1_ratio": self.l1_ratio,
                "max_iter": self.max_iter, "tol": self.tol, "time_limit": self.time_limit,
                "random_state": self.random_state, "callback": self.callback,
                "dtype": self.dtype, "solver_options": self.solver_options}

    def fit(self, A, W0=None, H0=None, *, mask=None):
        """Factorize ``A`` (n_pixels, n_faces); returns ``self``. ``mask`` (bool, True =
        unknown entry): fit the known entries only (see :func:`nmf`)."""
        self.result = nmf(A, self.rank, W0=W0, H0=H0, mask=mask, **self._params())
        self.W, self.H = self.result.W, self.result.H
        if self.image_shape is not None:
            v.check_image_shape("image_shape", self.image_shape, self.W.shape[0], rows_of="A")
        return self

    def fit_transform(self, A, W0=None, H0=None, *, mask=None):
        """Fit and return the weights ``H`` (rank, n_faces) of ``A``.

        Equal to ``fit(A).transform(A)`` (with ``mask``: ``transform(A, mask=mask)``):
        both are the exact projection onto the final basis (for ``loss="kl"``, the
        returned weights are ``transform(A)``).
        """
        self.fit(A, W0=W0, H0=H0, mask=mask)
        if mask is not None and self.result.loss != "frobenius":
            return self.transform(A, mask=mask)
        if self.result.loss == "frobenius" and not getattr(SOLVERS.get(self.solver), "keeps_H",
                                                           False):
            return self.H
        return self.transform(A)

    def partial_fit(self, A_batch, *, forget=1.0, coding="hals"):
        """Update the basis with one batch of faces ``A_batch`` (n_pixels, m); returns ``self``.

        Online NMF as in :func:`nmf_online` (Mairal et al. 2010): the batch is coded on the
        current basis, its statistics ``H A_batchᵀ`` and ``H Hᵀ`` join running sums kept on
        the model, and ``W`` is updated by HALS sweeps; after each call ``W`` has unit-norm
        columns and :meth:`transform` uses it. The first call starts from the fitted or
        loaded basis if there is one (with empty sums), else from ``init`` (None means
        ``"random"``) computed on the batch with ``random_state``; a later :meth:`fit` (or
        a new ``W``) starts the sums afresh at the next call. ``rank``, ``init``,
        ``random_state`` and ``dtype`` are the model's; ``forget`` and ``coding`` are
        :func:`nmf_online`'s, applied to this batch; the other settings are :meth:`fit`'s.
        Afterwards ``H`` is None (the batch's weights: ``transform(A_batch)``) and
        ``result`` an :class:`OnlineFactorization` of the calls so far.

        The same batches, arguments and seed give the same basis as :func:`nmf_online`.
        """
        from ._online import CODINGS, OnlineState, check_batch, check_start

        if self._penalty(1, 1) is not None:
            raise ValueError("alpha_W, alpha_H: partial_fit (online NMF) does not support "
                             "regularization; use a model with alpha_W=0 and alpha_H=0")
        state = getattr(self, "_online", None)
        if state is not None and self.W is not getattr(self, "_online_W", None):
            state = None  # refitted, loaded or replaced since: start from the new basis
        forget = v.check_number("forget", forget, low=0)
        v.check_choice("coding", coding, CODINGS)
        if state is None:
            start = self.W is not None
            rank, init, W0, dtype = check_start(self.rank, None if start else self.init,
                                                self.W if start else None, self.dtype)
            A = check_batch("A_batch", A_batch, None if W0 is None else W0.shape[0], rank,
                            dtype)
            if self.image_shape is not None and np.prod(self.image_shape) != A.shape[0]:
                raise ValueError(f"image_shape: {self.image_shape} has "
                                 f"{int(np.prod(self.image_shape))} pixels, but A_batch has "
                                 f"{A.shape[0]} rows")
            rng = v.check_random_state("random_state", self.random_state)
            state = OnlineState.start(A, rank, init, W0, rng, dtype)
        else:
            A = check_batch("A_batch", A_batch, state.n_pixels, self.rank, state.dtype)
        state.update(A, forget, coding)
        self._online = state
        self.W = self._online_W = state.basis()
        self.H = None
        self.result = state.result("partial_fit", 1, W=self.W)
        return self

    def _penalty(self, n_pixels, n_faces):
        """The model's :class:`._penalty.Penalty` for data of that shape, or None."""
        return Penalty.of(*check_regularization(self.alpha_W, self.alpha_H, self.l1_ratio),
                          n_pixels, n_faces)

    def transform(self, A, *, mask=None):
        """Weights ``H`` (rank, n_faces) of new faces ``A`` (n_pixels, n_faces).

        The exact solution of ``min_{H >= 0} ||A - W H||_F`` (see :func:`project`), or
        for a solver with its own (``SOLVERS[solver].transform``: ``"lnmf"``, ``"dnmf"``)
        the exact minimizer of that solver's objective with ``W`` fixed;
        ``mask`` (bool, True = ignore the pixel) of shape (n_pixels,) or like ``A``.
        Faces read block by block (a memory-mapped ``.npy``, a zarr array or face store, a
        Dask array) are projected block by block, a Dask array's on the workers of the
        active ``distributed`` Client (without ``mask``; only ``H`` comes back). A model
        with a penalty on ``H`` (``alpha_H``, ``l1_ratio``) projects with it, exactly (the
        same objective per face as in the fit), for faces in memory.
        """
        v.check_fitted("NMF", self)
        penalty = self._penalty(self.W.shape[0], 1)
        if penalty is not None and penalty.l1_H + penalty.l2_H > 0:
            if is_streamed(A) or is_dask(A):
                raise ValueError("A: the projection with the model's penalty on H needs A in "
                                 "memory; pass numpy.asarray(A)")
            A = v.check_nonnegative_matrix("A", A, self.W.dtype,
                                           shape=(self.W.shape[0], None), sparse=True)
            if mask is not None:
                mask = v.check_mask("mask", mask, A.shape)
            return project_unchecked(A, self.W, mask, ridge=penalty.l2_H or None,
                                     l1=penalty.l1_H or None)
        # A solver's own weights of new faces for its objective (lnmf, dnmf), else NNLS.
        own = getattr(SOLVERS.get(self.solver), "transform", None)
        if mask is None and own is None:
            H = project_columns(A, self.W)
            if H is not None:
                return H
        A = v.check_nonnegative_matrix("A", A, self.W.dtype, shape=(self.W.shape[0], None),
                                       sparse=True)
        if mask is not None:
            mask = v.check_mask("mask", mask, A.shape)
        if own is not None:
            return own(A, self.W, mask)
        return project_unchecked(A, self.W, mask)

    def reconstruct(self, H):
        """Faces ``W @ H`` (n_pixels, n_faces) from weights ``H`` (rank, n_faces)."""
        v.check_fitted("NMF", self)
        H = v.check_nonnegative_matrix("H", H, self.W.dtype, shape=(self.W.shape[1], None))
        return self.W @ H

    def __repr__(self):
        fitted = "unfitted" if self.W is None else f"W {self.W.shape}"
        return f"NMF(rank={self.rank}, solver={self.solver!r}, loss={self.loss!r}, {fitted})"


def _check_preparation(preparation):
    if preparation is None:
        return None
    if not isinstance(preparation, dict):
        raise TypeError(f"preparation: expected a dict (FaceSet.preparation) or None, got "
                        f"{type(preparation).__name__}")
    try:  # it goes into the model file's JSON metadata
        return json.loads(json.dumps(preparation))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"preparation: expected JSON-serializable values ({exc})") from None


def _version(module):
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # not installed as a distribution (a source checkout)
        return "unknown"


#: What a model file says of how it was fitted; None when unknown.
_FIT_KEYS = ("solver", "init", "loss", "n_iter", "converged", "stop_reason", "error")


def _fit_info(model):
    r = model.result
    if r is not None:
        return {"solver": r.solver, "init": r.init, "loss": r.loss, "n_iter": int(r.n_iter),
                "converged": bool(r.converged), "stop_reason": r.stop_reason,
                "error": float(r.error)}
    # A loaded model: what its file said, unchanged (a re-saved model keeps its history).
    info = {key: model.metadata.get(key) for key in _FIT_KEYS}
    for key, value in (("solver", model.solver), ("init", model.init), ("loss", model.loss)):
        if info[key] is None:
            info[key] = value
    return info


def save_model(path, model):
    """Write a fitted :class:`NMF` to ``path`` (``.npz``: arrays + JSON metadata, no pickle).

    The file is written to a temporary file beside ``path`` and renamed into place, so an
    existing file is never left half-written. A model read by :func:`load_model` and saved
    again keeps what its file said of the fit and of the faces' preparation.
    """
    if not isinstance(model, NMF):
        raise TypeError(f"model: expected a facenmf.NMF, got {type(model).__name__}")
    v.check_fitted("NMF", model)
    path = v.check_path("path", path)
    _check_factors(model.W, model.H, model.image_shape, "model")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "rank": int(model.W.shape[1]),
        "n_pixels": int(model.W.shape[0]),
        "image_shape": None if model.image_shape is None else list(model.image_shape),
        "dtype": str(model.W.dtype),
        **_fit_info(model),
        # The model's regularization: its penalty on H applies in transform.
        "alpha_W": model.alpha_W, "alpha_H": model.alpha_H, "l1_ratio": model.l1_ratio,
        "preparation": model.preparation,
        "versions": {"facenmf": _version("facenmf"), "numpy": np.__version__},
    }
    arrays = {"W": model.W, "metadata": np.array(json.dumps(meta))}
    if model.H is not None:
        arrays["H"] = model.H
    with atomic_write(path) as fh:
        np.savez(fh, **arrays)
    return path


def _check_factors(W, H, image_shape, where):
    """Refuse a basis (or weights) that no computation could use: NaN, inf, negative,
    or an image shape that does not match the basis's pixel count."""
    for name, X in (("W", W), ("H", H)):
        if X is None:
            continue
        finite = np.isfinite(X)
        if not finite.all():
            n_nan = int(np.isnan(X).sum())
            n_inf = X.size - int(finite.sum()) - n_nan
            raise ValueError(f"{where}: {name} holds {n_nan} NaN and {n_inf} infinite values")
        if X.size and X.min() < 0:
            raise ValueError(f"{where}: {name} holds {int((X < 0).sum())} negative values")
    if image_shape is not None and int(np.prod(image_shape)) != W.shape[0]:
        raise ValueError(f"{where}: image shape {image_shape[0]}x{image_shape[1]} has "
                         f"{int(np.prod(image_shape))} pixels, but the basis W has "
                         f"{W.shape[0]}")


_ZIP_MAGIC = b"PK\x03\x04"


def load_model(path):
    """Read a model written by :func:`save_model`; returns a fitted :class:`NMF`.

    The file is data, never code: arrays are read with ``allow_pickle=False`` and checked
    (shapes against the metadata, finite non-negative values, the image shape against the
    number of pixels) before the model is returned.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a facenmf model (another kind of file, a corrupt one, a newer
        format), or holds a basis no computation could use (NaN, infinite or negative
        values, an image shape that disagrees with the basis).
    """
    path = v.check_path("path", path)
    if not path.is_file():
        if path.is_dir():
            raise IsADirectoryError(f"{path}: is a folder, not a facenmf model file")
        raise FileNotFoundError(f"{path}: no such model file")
    not_model = f"{path}: not a facenmf model file (expected a .npz written by facenmf fit"
    with open(path, "rb") as fh:
        head = fh.read(len(_ZIP_MAGIC))
    if head != _ZIP_MAGIC:
        raise ValueError(f"{not_model}; this file is not a zip archive)")
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError):
        # numpy's own message may advise unsafe loading (allow_pickle): never repeat it.
        raise ValueError(f"{not_model}; it is corrupt or holds objects, not plain arrays)") \
            from None
    try:
        meta = json.loads(str(arrays["metadata"]))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise KeyError("format")
    except (KeyError, ValueError, TypeError):
        raise ValueError(f"{not_model}; it has no facenmf metadata)") from None
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
        regularization = {key: meta.get(key, default) for key, default in
                          (("alpha_W", 0.0), ("alpha_H", "same"), ("l1_ratio", 0.0))}
        check_regularization(**regularization)
        model = NMF(meta["rank"], solver=meta["solver"], init=meta["init"], loss=meta["loss"],
                    dtype=W.dtype, image_shape=meta["image_shape"],
                    preparation=meta.get("preparation"), **regularization)
    except (KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"{path}: corrupt facenmf model ({exc})") from None
    H = arrays.get("H")
    H = H if H is not None and H.ndim == 2 and H.shape[0] == W.shape[1] \
        and H.dtype == W.dtype else None
    _check_factors(W, H, model.image_shape, str(path))
    model.W = W
    model.H = H
    model.metadata = meta
    return model
