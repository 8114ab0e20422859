"""load_faces: images on disk (or in memory, or a registered database) -> FaceSet.

Dispatch only: the arguments are checked once into one ``Options``; folder layouts live in
``_folders``, labels in ``_labels``, the per-image pipeline in ``_pipeline``.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np

from .._validation import check_bool, check_callable, check_choice, check_int, check_path
from ._detect import check_detect_options
from ._faceset import FaceSet
from ._fetch import fetch, locate
from ._folders import list_images, load_folder
from ._labels import check_labels, check_pattern
from ._pipeline import Options, crop_as_given, expectation, load_array, load_files
from ._preprocess import check_crop, check_normalize, check_size
from ._read import DEFAULT_MAX_PIXELS
from ._registry import DATABASES
from ._store import is_store, open_store

__all__ = ["load_faces", "list_images", "load_or_pack"]

LAYOUTS = ("auto", "identity-folders", "flat")


def load_faces(
    source="lfw-subset",
    *,
    path=None,
    layout="auto",
    pattern=None,
    glob=None,
    labels=None,
    crop=None,
    size=None,
    equalize=False,
    normalize=None,
    detect=False,
    detect_options=None,
    on_error="raise",
    max_pixels=DEFAULT_MAX_PIXELS,
    out=None,
    progress=None,
    download=True,
    cache_dir=None,
    like=None,
    resize=False,
) -> FaceSet:
    """Load face images as the columns of a matrix ``A`` of shape (n_pixels, n_faces).

    Parameters
    ----------
    source : str, path-like, list of path-like, or ndarray
        What to load:

        - a registered name (see ``facenmf.data.DATABASES``): ``"lfw-subset"`` (the
          default: 100 LFW faces of 25x25 bundled with scikit-image, no network needed),
          ``"orl"``, ``"yale"``, ``"extyaleb"``, ``"cbcl"``, ``"lfw"``;
        - a folder: one sub-folder per identity (``s1/1.pgm``; the folder name is the
          label) or a flat folder of images (labels from ``pattern``, or none), see
          ``layout``;
        - a list of image files;
        - an array of images of shape (n_faces, height, width) (or with a last axis of 3 or
          4 colour channels): uint8, uint16, bool, or floats in [0, 1];
        - a face store (a folder ``faces.zarr`` written by :func:`facenmf.data.pack_faces`
          or ``facenmf pack``; needs ``pip install 'facenmf[store]'``): opened lazily, its
          ``A`` a :class:`facenmf.data.StoreArray` that reads a chunk of faces when
          indexed and that ``facenmf.nmf`` streams block by block. Its faces were prepared
          when it was packed: the preparation options (``crop``, ``size``, ...) and
          ``out``, ``like`` are refused with a store.
    path : path-like, optional
        For a registered name: the folder holding your copy of it (searched up to 3
        folders deep for the database's layout). Without it, facenmf looks in
        ``$FACENMF_DATA/<name>``, then ``<cache>/<name>``, then downloads the archive
        (SHA-256 checked) into the cache and unpacks it.
    layout : {"auto", "identity-folders", "flat"}
        How a folder is organised. ``"auto"``: sub-folders and no images at the top mean
        one folder per identity; images at the top mean a flat folder.
    pattern : str, compiled regex or callable, optional
        Identity label from a file name. A regex is searched in the file name; the label is
        its group ``label``, else its first group, else the whole match (Yale:
        ``r"subject(\\d+)"``). A callable gets the file's ``Path`` and returns the label.
        A file the pattern does not match is an error (or skipped).
    glob : str, optional
        Which files in a folder are images (``fnmatch`` on the file name, e.g.
        ``"subject*"`` for Yale's extension-less files, or ``"*"``). Default: files whose
        extension is one of ``facenmf.data.IMAGE_EXTENSIONS``. Hidden files are ignored.
    labels : sequence of length n_faces, optional
        Identity labels for a list of files or an array of images.
    crop : float, (int, int) or (int, int, int, int), optional
        Step 2. A float in (0, 1] keeps that central fraction of height and width;
        ``(height, width)`` is a centre crop of that size; ``(top, left, bottom, right)``
        keeps rows ``top:bottom`` and columns ``left:right``. With ``detect=True`` it
        applies to the detected face.
    size : int or (int, int), optional
        Step 3: resize every face to ``(height, width)`` (bilinear, with Gaussian
        anti-aliasing when shrinking). Without it all faces must already be one size.
    equalize : bool
        Step 4: histogram equalization of each face.
    normalize : None or "lee-seung"
        Step 5: Lee & Seung (1999): each face shifted and scaled to pixel mean and
        standard deviation 0.25, then clipped to [0, 1].
    detect : bool
        Find the face in each image with scikit-image's LBP frontal-face cascade (the
        largest one) and cut it out before step 2. An image with no face is an error (or
        skipped, with ``on_error="skip"``). Use with ``size``.
    detect_options : dict, optional
        Overrides of ``facenmf.data.DETECT_DEFAULTS`` (``margin``, ``min_size``,
        ``scale_factor``, ...).
    on_error : {"raise", "skip"}
        A file that cannot be used (missing, not an image, truncated, too large, no face,
        pattern mismatch, empty identity folder) stops loading with one message naming it
        (``"raise"``), or is left out and listed, with the count, in one ``UserWarning``
        (``"skip"``). Mixed sizes without ``size`` are always an error.
    max_pixels : int
        Images with more pixels are refused as possible decompression bombs.
    out : path-like, optional
        Write ``A`` to this ``.npy`` file, float32 and Fortran-ordered, and return it as a
        read-only ``numpy.memmap``: faces are written one by one, so a large set is never
        held in memory. The file must not exist yet.
    progress : callable, optional
        Called as ``progress(done, total)`` after each image.
    download : bool
        For a registered name not found on disk: download it (True) or fail (False).
    cache_dir : path-like, optional
        Where downloads go (default ``$FACENMF_CACHE`` or the OS cache folder).
    like : facenmf.NMF or FaceSet, optional
        Prepare the images as this model's (or face set's) training faces were: its
        ``preparation`` (crop, size, equalize, normalize, detect) replaces those arguments
        (passing them too is an error), every image must have the training images' size
        (``preparation["input_shape"]``, or without one the model's ``image_shape``), and
        the faces come out of the model's ``image_shape``. An image of another size is
        refused, naming it, unless ``resize=True``.
    resize : bool
        With ``like``: scale an image of another size to the expected one keeping its
        aspect ratio (scaled to cover it, then centre-cropped), instead of refusing it;
        ``faces.resized`` lists the images that were.

    Returns
    -------
    faces : FaceSet
        ``faces.A`` of shape (n_pixels, n_faces), float32 in [0, 1], one flattened face
        (row-major, ``image.reshape(-1)``) per column -- the transpose of scikit-learn's
        ``X`` (for a store, a lazy ``StoreArray`` of float32 ``value / 255`` when read);
        ``faces.labels`` of shape (n_faces,) or None; ``faces.image_shape``
        ``(height, width)``; ``faces.paths`` (list of n_faces files, or None).

    Raises
    ------
    FileNotFoundError
        A missing path, or a registered database that is not on disk and cannot be
        downloaded (the message says what to download and where to put it).
    ValueError
        A bad value, an unusable file, an empty folder, mixed sizes, a refused archive.
    TypeError
        An argument of the wrong type.

    Notes
    -----
    Grey conversion (step 1): 8-bit values are divided by 255, 16-bit ones by 65535;
    colour becomes ``0.299 R + 0.587 G + 0.114 B``; alpha is composited over black;
    palette images are expanded first; animated files give their first frame; EXIF
    orientation is applied.

    References
    ----------
    .. [1] D. D. Lee and H. S. Seung, "Learning the parts of objects by non-negative
       matrix factorization", Nature 401:788-791, 1999. doi:10.1038/44565

    Examples
    --------
    >>> from facenmf.data import load_faces
    >>> faces = load_faces("lfw-subset")
    >>> faces.A.shape, faces.A.dtype, faces.image_shape
    ((625, 100), dtype('float32'), (25, 25))
    >>> orl = load_faces("orl", path="../shared/datasets/orl")  # doctest: +SKIP
    >>> orl.A.shape, len(orl.identities)  # doctest: +SKIP
    ((10304, 400), 40)
    """
    return load_or_pack(source, pack=None, path=path, layout=layout, pattern=pattern,
                        glob=glob, labels=labels, crop=crop, size=size, equalize=equalize,
                        normalize=normalize, detect=detect, detect_options=detect_options,
                        on_error=on_error, max_pixels=max_pixels, out=out, progress=progress,
                        download=download, cache_dir=cache_dir, like=like, resize=resize)


def _store_source(source, pack, given):
    """A face store as ``source``: opened (lazily), or refused for a pack or with options."""
    if pack is not None:
        raise ValueError(f"source: {source} is already a face store; pack reads images (a "
                         "folder, image files, a registered database or an array)")
    used = [name for name, value in given if value]
    if used:
        raise ValueError(f"{used[0]}: not used with a face store ({source} holds faces "
                         f"prepared when it was packed); load it without {used[0]}=")
    return open_store(source)


def load_or_pack(source, *, pack, path, layout, pattern, glob, labels, crop, size, equalize,
                 normalize, detect, detect_options, on_error, max_pixels, out, progress,
                 download, cache_dir, like, resize):
    """load_faces (every argument given), and with ``pack`` (a ``_pack.Target``) the same
    sources packed into a store instead of loaded."""
    if isinstance(source, (str, os.PathLike)) and not (isinstance(source, str)
                                                       and source in DATABASES) \
            and is_store(source):
        return _store_source(source, pack, [
            ("path", path is not None), ("layout", layout != "auto"),
            ("pattern", pattern is not None), ("glob", glob is not None),
            ("labels", labels is not None), ("crop", crop is not None),
            ("size", size is not None), ("equalize", equalize is not False),
            ("normalize", normalize is not None), ("detect", detect is not False),
            ("detect_options", detect_options is not None), ("out", out is not None),
            ("like", like is not None), ("resize", resize is not False)])
    layout = check_choice("layout", layout, LAYOUTS)
    on_error = check_choice("on_error", on_error, ("raise", "skip"))
    resize = check_bool("resize", resize)
    expect = None
    if like is not None:
        given = [name for name, value, default in (
            ("crop", crop, None), ("size", size, None), ("equalize", equalize, False),
            ("normalize", normalize, None), ("detect", detect, False),
            ("detect_options", detect_options, None)) if value is not default]
        if given:
            raise ValueError(f"{given[0]}: not used with like= (the images are prepared as "
                             "the model's training faces were); pass one or the other")
        expect, prep = expectation(like, bool(resize))
        crop, size, equalize = prep.get("crop"), prep.get("size"), prep.get("equalize", False)
        normalize, detect = prep.get("normalize"), prep.get("detect", False)
        detect_options = prep.get("detect_options") if detect else None
    elif resize:
        raise ValueError("resize: only used with like= (to fit images to a model's input size)")
    size = check_size(size)
    crop = check_crop(crop)
    normalize = check_normalize(normalize)
    equalize = check_bool("equalize", equalize)
    detect = check_bool("detect", detect)
    detect_opts = check_detect_options(detect_options) if detect else None
    if detect_options is not None and not detect:
        raise ValueError("detect_options: given but detect=False; pass detect=True")
    max_pixels = check_int("max_pixels", max_pixels, low=1)
    progress = check_callable("progress", progress)
    pattern = check_pattern(pattern)
    if glob is not None and not isinstance(glob, str):
        raise TypeError(f"glob: expected a str such as '*.pgm', got {type(glob).__name__}")
    if out is not None:
        out = check_path("out", out)
        if out.exists():
            raise FileExistsError(f"out: {out} exists; facenmf does not overwrite files")
        if not out.parent.is_dir():
            raise FileNotFoundError(f"out: the folder {out.parent} does not exist")
    steps = dict(crop=crop, size=size, equalize=bool(equalize), normalize=normalize)
    prep = {"crop": crop_as_given(crop), "size": None if size is None else list(size),
            "equalize": bool(equalize), "normalize": normalize, "detect": bool(detect),
            "detect_options": None if detect_opts is None else dict(detect_opts)}
    opts = Options(steps, detect_opts, on_error, out, progress, prep, expect, pack)

    if isinstance(source, np.ndarray):
        return load_array(source, labels, opts, name="array")
    if isinstance(source, (list, tuple)):
        if not source:
            raise ValueError("source: expected at least one image file, got an empty list")
        if not all(isinstance(s, (str, os.PathLike)) for s in source):
            raise TypeError("source: expected a list of file paths (str or path-like)")
        files = [Path(s) for s in source]
        file_labels = check_labels(labels, len(files))
        return load_files(files, file_labels, pattern, [], opts, max_pixels,
                           source_name="file list")
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "source: expected a registered name, a folder, a list of files or an array of "
            f"images, got {type(source).__name__}"
        )
    if isinstance(source, str) and source in DATABASES:
        entry = DATABASES[source]
        if entry.layout == "bundled":
            if path is not None:
                raise ValueError(f"path: {source!r} is bundled with scikit-image; path= is "
                                 "not used")
            with warnings.catch_warnings():
                # scikit-image's data module imports pooch, which imports tqdm.auto: in a
                # notebook without ipywidgets that warns about IProgress (no bar is shown).
                warnings.filterwarnings("ignore", message="IProgress not found")
                from skimage.data import lfw_subset

            return load_array(lfw_subset()[:100], labels, opts, name=source)
        root, looked = locate(entry, path=path, cache_dir=cache_dir)
        if root is None:
            if not download:
                raise FileNotFoundError(
                    f"database {source!r} is not on this machine (looked in "
                    f"{', '.join(looked)}) and download=False; download {entry.url} and "
                    f"unpack it into one of those folders, or pass path="
                )
            root = fetch(entry, cache_dir=cache_dir, looked=looked)
        if pack is not None:
            pack.check_outside(root)
        db_layout = entry.layout if layout == "auto" else layout
        if pattern is None and entry.pattern is not None:
            pattern = re.compile(entry.pattern)
        return load_folder(root, db_layout, glob or entry.glob, pattern, opts, max_pixels,
                            source_name=source)
    if path is not None:
        raise ValueError("path: only used with a registered database name; pass the folder "
                         "as source")
    folder = Path(source).expanduser()
    if not folder.exists():
        names = ", ".join(repr(n) for n in DATABASES)
        raise FileNotFoundError(
            f"source: {folder} does not exist (and {str(source)!r} is not a registered "
            f"database: {names})"
        )
    if folder.is_file():
        return load_files([folder], check_labels(labels, 1), pattern, [], opts, max_pixels,
                           source_name=str(folder))
    if labels is not None:
        raise ValueError("labels: not used for a folder; labels come from sub-folder names or "
                         "pattern=")
    if pack is not None:
        pack.check_outside(folder)
    return load_folder(folder, layout, glob, pattern, opts, max_pixels,
                        source_name=str(folder))
