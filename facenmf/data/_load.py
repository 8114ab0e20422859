"""load_faces: images on disk (or in memory, or a registered database) -> FaceSet."""

from __future__ import annotations

import fnmatch
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validation import check_callable, check_choice, check_int
from ._detect import check_detect_options, cut_face, detect_face
from ._faceset import FaceSet
from ._fetch import fetch, locate
from ._preprocess import check_crop, check_normalize, check_size, preprocess, resize_image
from ._read import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, array_to_grey, read_image
from ._registry import DATABASES

__all__ = ["load_faces", "list_images"]

LAYOUTS = ("auto", "identity-folders", "flat")
_JUNK = {"thumbs.db", "desktop.ini", "__macosx"}


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
          4 colour channels): uint8, uint16, bool, or floats in [0, 1].
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
        Overrides of ``facenmf.data._detect.DETECT_DEFAULTS`` (``margin``, ``min_size``,
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
        ``X``; ``faces.labels`` of shape (n_faces,) or None; ``faces.image_shape``
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
    layout = check_choice("layout", layout, LAYOUTS)
    on_error = check_choice("on_error", on_error, ("raise", "skip"))
    if not isinstance(resize, (bool, np.bool_)):
        raise TypeError(f"resize: expected True or False, got {type(resize).__name__}")
    expect = None
    if like is not None:
        given = [name for name, value, default in (
            ("crop", crop, None), ("size", size, None), ("equalize", equalize, False),
            ("normalize", normalize, None), ("detect", detect, False),
            ("detect_options", detect_options, None)) if value is not default]
        if given:
            raise ValueError(f"{given[0]}: not used with like= (the images are prepared as "
                             "the model's training faces were); pass one or the other")
        expect, prep = _expectation(like, bool(resize))
        crop, size, equalize = prep.get("crop"), prep.get("size"), prep.get("equalize", False)
        normalize, detect = prep.get("normalize"), prep.get("detect", False)
        detect_options = prep.get("detect_options") if detect else None
    elif resize:
        raise ValueError("resize: only used with like= (to fit images to a model's input size)")
    size = check_size(size)
    crop = check_crop(crop)
    normalize = check_normalize(normalize)
    if not isinstance(equalize, (bool, np.bool_)):
        raise TypeError(f"equalize: expected True or False, got {type(equalize).__name__}")
    if not isinstance(detect, (bool, np.bool_)):
        raise TypeError(f"detect: expected True or False, got {type(detect).__name__}")
    detect_opts = check_detect_options(detect_options) if detect else None
    if detect_options is not None and not detect:
        raise ValueError("detect_options: given but detect=False; pass detect=True")
    max_pixels = check_int("max_pixels", max_pixels, low=1)
    progress = check_callable("progress", progress)
    pattern = _check_pattern(pattern)
    if glob is not None and not isinstance(glob, str):
        raise TypeError(f"glob: expected a str such as '*.pgm', got {type(glob).__name__}")
    if out is not None:
        out = Path(out)
        if out.exists():
            raise FileExistsError(f"out: {out} exists; facenmf does not overwrite files")
        if not out.parent.is_dir():
            raise FileNotFoundError(f"out: the folder {out.parent} does not exist")
    steps = dict(crop=crop, size=size, equalize=bool(equalize), normalize=normalize)
    prep = {"crop": _crop_as_given(crop), "size": None if size is None else list(size),
            "equalize": bool(equalize), "normalize": normalize, "detect": bool(detect),
            "detect_options": None if detect_opts is None else dict(detect_opts)}
    opts = _Options(steps, detect_opts, on_error, out, progress, prep, expect)

    if isinstance(source, np.ndarray):
        return _load_array(source, labels, opts, name="array")
    if isinstance(source, (list, tuple)):
        if not source:
            raise ValueError("source: expected at least one image file, got an empty list")
        if not all(isinstance(s, (str, os.PathLike)) for s in source):
            raise TypeError("source: expected a list of file paths (str or path-like)")
        files = [Path(s) for s in source]
        file_labels = _check_labels(labels, len(files))
        return _load_files(files, file_labels, pattern, [], opts, max_pixels,
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

            return _load_array(lfw_subset()[:100], labels, opts, name=source)
        root, looked = locate(entry, path=path, cache_dir=cache_dir)
        if root is None:
            if not download:
                raise FileNotFoundError(
                    f"database {source!r} is not on this machine (looked in "
                    f"{', '.join(looked)}) and download=False; download {entry.url} and "
                    f"unpack it into one of those folders, or pass path="
                )
            root = fetch(entry, cache_dir=cache_dir, looked=looked)
        db_layout = entry.layout if layout == "auto" else layout
        if pattern is None and entry.pattern is not None:
            pattern = re.compile(entry.pattern)
        return _load_folder(root, db_layout, glob or entry.glob, pattern, opts, max_pixels,
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
        return _load_files([folder], _check_labels(labels, 1), pattern, [], opts, max_pixels,
                           source_name=str(folder))
    if labels is not None:
        raise ValueError("labels: not used for a folder; labels come from sub-folder names or "
                         "pattern=")
    return _load_folder(folder, layout, glob, pattern, opts, max_pixels,
                        source_name=str(folder))


# -- image lists -------------------------------------------------------------------------
def list_images(items):
    """Image files from files and folders, each with a name relative to their common folder.

    Parameters
    ----------
    items : path-like or list of path-like
        Image files, and folders standing for the image files in them (recursively; hidden
        files and names without an image extension are left out).

    Returns
    -------
    list of (Path, str)
        Each file with its name: the path relative to the deepest folder holding all the
        files, without the extension, ``/``-separated (``orl/`` gives ``s1/1``, ``s1/2``,
        ..., ``s1/10``, ``s2/1``; ``a/x.png b/x.png`` give ``a/x`` and ``b/x``). A folder's
        files come in natural order (``2`` before ``10``); files keep the order given.

    Raises
    ------
    FileNotFoundError
        A path that does not exist.
    ValueError
        No items, or a folder that holds no image files.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from facenmf.data import list_images
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for rel in ("s2/1.png", "s1/10.png", "s1/2.png"):
    ...         (Path(d) / rel).parent.mkdir(exist_ok=True)
    ...         (Path(d) / rel).touch()
    ...     names = [name for _, name in list_images([d])]
    >>> names
    ['s1/2', 's1/10', 's2/1']
    """
    if isinstance(items, (str, os.PathLike)):
        items = [items]
    items = [Path(p) for p in items]
    if not items:
        raise ValueError("images: expected at least one image file or folder, got none")
    files = []
    for item in items:
        if item.is_dir():
            found = [p for p in item.rglob("*") if p.is_file() and _is_image_name(p, None)
                     and not any(part.startswith(".") for part in p.relative_to(item).parts)]
            if not found:
                raise ValueError(f"{item}: the folder holds no image files (expected "
                                 f"extensions {', '.join(sorted(IMAGE_EXTENSIONS))})")
            found.sort(key=lambda p: [_natural_key(Path(part))
                                      for part in p.relative_to(item).parts])
            files.extend(found)
        elif item.exists():
            files.append(item)
        else:
            raise FileNotFoundError(f"{item}: no such file or folder")
    base = Path(os.path.commonpath([os.path.abspath(f.parent) for f in files]))
    return [(f, Path(os.path.relpath(os.path.abspath(f), base)).with_suffix("").as_posix())
            for f in files]


# -- arguments ---------------------------------------------------------------------------
def _check_pattern(pattern):
    if pattern is None or callable(pattern):
        return pattern
    if isinstance(pattern, re.Pattern):
        return pattern
    if isinstance(pattern, str):
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"pattern: not a valid regular expression {pattern!r} ({exc})") from None
    raise TypeError(f"pattern: expected a regex string, a compiled regex or a callable, got "
                    f"{type(pattern).__name__}")


def _check_labels(labels, n):
    if labels is None:
        return None
    if isinstance(labels, (str, bytes)):
        raise TypeError("labels: expected a sequence of labels, one per face, got a str")
    arr = np.asarray(labels)
    if arr.shape != (n,):
        raise ValueError(f"labels: expected {n} labels (one per face), got shape {arr.shape}")
    return arr


def _label_from_name(pattern, file: Path):
    """Return (label, None) or (None, problem)."""
    if callable(pattern) and not isinstance(pattern, re.Pattern):
        try:
            label = pattern(file)
        except Exception as exc:  # noqa: BLE001 - a user callable; report, don't traceback
            return None, f"pattern callable failed ({type(exc).__name__}: {exc})"
        if label is None:
            return None, "pattern callable returned no label"
        return label, None
    match = pattern.search(file.name)
    if match is None:
        return None, f"file name does not match pattern {pattern.pattern!r}"
    if "label" in match.re.groupindex:
        return match.group("label"), None
    return (match.group(1) if match.re.groups else match.group(0)), None


# -- folders -----------------------------------------------------------------------------
def _natural_key(path: Path):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def _children(folder: Path):
    try:
        entries = list(folder.iterdir())
    except PermissionError:
        raise PermissionError(f"{folder}: permission denied") from None
    entries = [p for p in entries if not p.name.startswith(".") and p.name.lower() not in _JUNK]
    entries.sort(key=_natural_key)
    dirs = [p for p in entries if p.is_dir()]
    files = [p for p in entries if p.is_file()]
    return dirs, files


def _is_image_name(file: Path, glob):
    if glob is not None:
        return fnmatch.fnmatch(file.name, glob)
    return file.suffix.lower() in IMAGE_EXTENSIONS


def _no_images_message(folder, glob):
    wanted = f"files matching glob={glob!r}" if glob else (
        "files with an image extension (" + ", ".join(sorted(IMAGE_EXTENSIONS)) +
        "; pass glob='*' for files without one)")
    return f"{folder}: no images found; expected {wanted}"


def _load_folder(folder, layout, glob, pattern, opts, max_pixels, source_name):
    on_error = opts.on_error
    dirs, files = _children(folder)
    if not dirs and not files:
        raise ValueError(f"{folder}: the folder is empty")
    images = [f for f in files if _is_image_name(f, glob)]
    if layout == "auto":
        if images and not dirs:
            layout = "flat"
        elif dirs and not images:
            layout = "identity-folders"
        elif images and dirs:
            with_images = [d for d in dirs if any(_is_image_name(f, glob) for f in _children(d)[1])]
            if not with_images or pattern is not None:
                layout = "flat"
            else:
                raise ValueError(
                    f"{folder}: holds both image files ({images[0].name}, ...) and "
                    f"sub-folders of images ({with_images[0].name}, ...); pass "
                    "layout='flat' or layout='identity-folders'"
                )
        else:
            raise ValueError(_no_images_message(folder, glob))
    problems = []
    if layout == "flat":
        if not images:
            raise ValueError(_no_images_message(folder, glob))
        return _load_files(images, None, pattern, problems, opts, max_pixels, source_name)
    if not dirs:
        raise ValueError(f"{folder}: layout='identity-folders' but there are no sub-folders")
    all_files, all_labels = [], []
    for sub in dirs:
        sub_files = [f for f in _children(sub)[1] if _is_image_name(f, glob)]
        if not sub_files:
            problem = (f"{sub}: identity folder {sub.name!r} is empty"
                       if not any(sub.iterdir()) else
                       _no_images_message(sub, glob).replace("no images found",
                                                             f"identity folder {sub.name!r} has no images"))
            if on_error == "raise":
                raise ValueError(problem)
            problems.append((str(sub), problem))
            continue
        all_files.extend(sub_files)
        all_labels.extend([sub.name] * len(sub_files))
    if not all_files:
        raise ValueError(f"{folder}: none of its {len(dirs)} identity folders holds images "
                         f"({problems[0][1]})")
    return _load_files(all_files, np.array(all_labels), pattern, problems, opts, max_pixels,
                       source_name)


# -- the loop ----------------------------------------------------------------------------
class _Sink:
    """Collects faces: an in-memory (n, n_pixels) buffer, or a Fortran-ordered .npy memmap."""

    def __init__(self, n, n_pixels, out):
        self.n, self.n_pixels, self.out = n, n_pixels, out
        self.count = 0
        if out is None:
            self.buffer = np.empty((n, n_pixels), dtype=np.float32)
        else:
            self.partial = out.with_name(out.name + ".partial")
            self.buffer = np.lib.format.open_memmap(
                self.partial, mode="w+", dtype=np.float32, shape=(n_pixels, n),
                fortran_order=True)

    def add(self, face):
        if self.out is None:
            self.buffer[self.count] = face.reshape(-1)
        else:
            self.buffer[:, self.count] = face.reshape(-1)
        self.count += 1

    def finish(self):
        if self.out is None:
            rows = self.buffer if self.count == self.n else self.buffer[:self.count].copy()
            return rows.T  # (n_pixels, n_faces), Fortran-ordered view: no copy
        self.buffer.flush()
        if self.count == self.n:
            del self.buffer
            os.replace(self.partial, self.out)
        else:
            final = np.lib.format.open_memmap(self.out, mode="w+", dtype=np.float32,
                                              shape=(self.n_pixels, self.count),
                                              fortran_order=True)
            step = max(1, (64 * 1024**2) // (4 * self.n_pixels))
            for start in range(0, self.count, step):
                stop = min(self.count, start + step)
                final[:, start:stop] = self.buffer[:, start:stop]
            final.flush()
            del final, self.buffer
            os.remove(self.partial)
        return np.load(self.out, mmap_mode="r")

    def abort(self):
        if self.out is not None and hasattr(self, "buffer"):
            del self.buffer
            try:
                os.remove(self.partial)
            except OSError:
                pass


def _finish_problems(problems, n_total, on_error):
    if problems and on_error == "skip":
        listing = "; ".join(f"{where}: {msg.removeprefix(where + ': ')}" for where, msg in problems)
        warnings.warn(f"load_faces skipped {len(problems)} of {n_total} files: {listing}",
                      UserWarning, stacklevel=4)


@dataclass(frozen=True)
class _Options:
    """What every image goes through, checked once by ``load_faces`` and passed along."""

    steps: dict  # crop, size, equalize, normalize: the arguments of ``preprocess``
    detect: dict | None  # checked detector options, or None without detection
    on_error: str
    out: Path | None
    progress: object
    preparation: dict  # the steps as given, for FaceSet.preparation (JSON-ready)
    expect: "_Expectation | None"


@dataclass(frozen=True)
class _Expectation:
    """With ``like=``: the input size every image must have and the faces' final shape."""

    input_shape: tuple | None
    image_shape: tuple
    resize: bool


def _expectation(like, resize):
    image_shape = getattr(like, "image_shape", None)
    if image_shape is None or len(tuple(image_shape)) != 2:
        raise ValueError("like: expected a model or FaceSet with an image_shape (height, "
                         f"width), got {type(like).__name__} without one")
    prep = getattr(like, "preparation", None) or {}
    if not isinstance(prep, dict):
        raise TypeError(f"like: its preparation must be a dict, got {type(prep).__name__}")
    input_shape = prep.get("input_shape")
    if input_shape is None and not prep.get("detect") and prep.get("size") is None:
        # Nothing resizes: the images must be the faces' own size (after any crop of a
        # recorded input size, which is then known).
        input_shape = None if prep.get("crop") is not None else image_shape
    expect = _Expectation(None if input_shape is None else tuple(int(s) for s in input_shape),
                          tuple(int(s) for s in image_shape), resize)
    return expect, prep


def _crop_as_given(spec):
    """A ``check_crop`` spec back in the form a user passes (JSON-ready)."""
    if spec is None:
        return None
    if spec[0] == "fraction":
        return spec[1]
    return list(spec[1:])


def _cover(image, shape):
    """Scale ``image`` to cover ``shape`` keeping its aspect ratio, then centre-crop."""
    h, w = image.shape
    scale = max(shape[0] / h, shape[1] / w)
    covered = resize_image(image, (max(shape[0], int(round(h * scale))),
                                   max(shape[1], int(round(w * scale)))))
    top = (covered.shape[0] - shape[0]) // 2
    left = (covered.shape[1] - shape[1]) // 2
    return covered[top:top + shape[0], left:left + shape[1]]


def _fit_to(image, shape, what, where, expect, resized):
    """``image`` if it has ``shape``; else, with ``resize``, scaled to cover it keeping its
    aspect ratio (and listed in ``resized``); else an error naming the file."""
    if image.shape == shape:
        return image
    if not expect.resize:
        raise ValueError(
            f"{where}: {what} is {image.shape[0]}x{image.shape[1]} but the model's faces "
            f"{'came from images of' if what == 'image' else 'are'} {shape[0]}x{shape[1]} "
            "(height x width); pass resize=True to scale it keeping its aspect ratio")
    resized.append((where, list(image.shape)))
    return _cover(image, shape)


def _process(image, where, opts, resized):
    expect = opts.expect
    if expect is not None and expect.input_shape is not None:
        image = _fit_to(image, expect.input_shape, "image", where, expect, resized)
    if opts.detect is not None:
        box = detect_face(image, opts.detect)
        if box is None:
            raise ValueError(f"{where}: no face found by the frontal-face detector (detect=True)")
        image = cut_face(image, box)
    face = preprocess(image, where=where, **opts.steps)
    if expect is not None:
        face = _fit_to(face, expect.image_shape, "the prepared face", where, expect, resized)
    return face


def _run(items, n_total, opts, read, problems):
    """Read and preprocess each item; ``read(item) -> (image, where)``.

    Returns ``(A, image_shape, kept, input_shape, resized)``; ``input_shape`` is the raw
    images' shape when all were one size, else None.
    """
    sink = None
    kept, resized = [], []
    first = None
    input_shapes = set()
    progress = opts.progress
    try:
        for i, item in enumerate(items):
            try:
                image, where = read(item)
                raw_shape = image.shape
                face = _process(image, where, opts, resized)
            except (ValueError, FileNotFoundError, PermissionError) as exc:
                if opts.on_error == "raise":
                    raise
                msg = str(exc)
                problems.append((msg.split(": ", 1)[0], msg))
                if progress is not None:
                    progress(i + 1, n_total)
                continue
            if first is None:
                first = (where, face.shape)
                sink = _Sink(n_total, face.size, opts.out)
            elif face.shape != first[1]:
                raise ValueError(
                    f"mixed image sizes: {first[0]} is {first[1][0]}x{first[1][1]} but "
                    f"{where} is {face.shape[0]}x{face.shape[1]} (height x width); pass "
                    "size=(height, width) to resize every face to one size"
                )
            input_shapes.add(raw_shape)
            sink.add(face)
            kept.append(i)
            if progress is not None:
                progress(i + 1, n_total)
        if sink is None:
            shown = "; ".join(msg for _, msg in problems[:3])
            raise ValueError(f"no face could be loaded: all {n_total} were skipped ({shown}"
                             f"{' ...' if len(problems) > 3 else ''})")
        input_shape = list(input_shapes.pop()) if len(input_shapes) == 1 else None
        return sink.finish(), first[1], kept, input_shape, resized
    except BaseException:
        if sink is not None:
            sink.abort()
        raise


def _faceset(opts, A, shape, input_shape, resized, *, labels, paths, source, problems):
    prep = {"source": source, **opts.preparation, "input_shape": input_shape}
    if opts.expect is not None:  # prepared like a model: its input size, not these images'
        prep["input_shape"] = (None if opts.expect.input_shape is None
                               else list(opts.expect.input_shape))
    return FaceSet(A=A, labels=labels, image_shape=shape, paths=paths, source=source,
                   skipped=list(problems), preparation=prep, resized=resized)


def _load_files(files, labels, pattern, problems, opts, max_pixels, source_name):
    items = []
    for i, file in enumerate(files):
        label = None if labels is None else labels[i]
        if pattern is not None:
            label, problem = _label_from_name(pattern, file)
            if problem is not None:
                if opts.on_error == "raise":
                    raise ValueError(f"{file}: {problem}")
                problems.append((str(file), f"{file}: {problem}"))
                continue
        items.append((file, label))
    n_listed = len(items) + len(problems)

    def read(item):
        return read_image(item[0], max_pixels=max_pixels), str(item[0])

    A, shape, kept, input_shape, resized = _run(items, len(items), opts, read, problems)
    _finish_problems(problems, n_listed, opts.on_error)
    kept_items = [items[i] for i in kept]
    out_labels = None
    if labels is not None or pattern is not None:
        out_labels = np.asarray([lab for _, lab in kept_items])
    return _faceset(opts, A, shape, input_shape, resized, labels=out_labels,
                    paths=[str(f) for f, _ in kept_items], source=source_name,
                    problems=problems)


def _load_array(images, labels, opts, name):
    grey = array_to_grey(images, name="source")
    labels = _check_labels(labels, grey.shape[0])
    problems = []

    def read(i):
        return grey[i], f"{name}[{i}]"

    A, shape, kept, input_shape, resized = _run(range(grey.shape[0]), grey.shape[0], opts,
                                                read, problems)
    _finish_problems(problems, grey.shape[0], opts.on_error)
    return _faceset(opts, A, shape, input_shape, resized,
                    labels=None if labels is None else labels[kept], paths=None, source=name,
                    problems=problems)
