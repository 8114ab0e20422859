"""Folder layouts: which files are images, identity folders or flat folders, image lists."""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path

import numpy as np

from ._pipeline import load_files
from ._read import IMAGE_EXTENSIONS

__all__ = ["list_images", "relative_names", "load_folder", "natural_key", "is_image_name", "JUNK"]

JUNK = {"thumbs.db", "desktop.ini", "__macosx"}


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
            found = [p for p in item.rglob("*") if p.is_file() and is_image_name(p, None)
                     and not any(part.startswith(".") for part in p.relative_to(item).parts)]
            if not found:
                raise ValueError(f"{item}: the folder holds no image files (expected "
                                 f"extensions {', '.join(sorted(IMAGE_EXTENSIONS))})")
            found.sort(key=lambda p: [natural_key(Path(part))
                                      for part in p.relative_to(item).parts])
            files.extend(found)
        elif item.exists():
            files.append(item)
        else:
            raise FileNotFoundError(f"{item}: no such file or folder")
    return list(zip(files, relative_names(files)))


def relative_names(files):
    """Each file's path relative to the deepest folder holding all of them, without its
    extension, ``/``-separated (the names :func:`list_images` gives)."""
    files = [Path(f) for f in files]
    base = Path(os.path.commonpath([os.path.abspath(f.parent) for f in files]))
    return [Path(os.path.relpath(os.path.abspath(f), base)).with_suffix("").as_posix()
            for f in files]


def natural_key(path: Path):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def _children(folder: Path):
    try:
        entries = list(folder.iterdir())
    except PermissionError:
        raise PermissionError(f"{folder}: permission denied") from None
    entries = [p for p in entries if not p.name.startswith(".") and p.name.lower() not in JUNK]
    entries.sort(key=natural_key)
    dirs = [p for p in entries if p.is_dir()]
    files = [p for p in entries if p.is_file()]
    return dirs, files


def is_image_name(file: Path, glob):
    if glob is not None:
        return fnmatch.fnmatch(file.name, glob)
    return file.suffix.lower() in IMAGE_EXTENSIONS


def _no_images_message(folder, glob):
    wanted = f"files matching glob={glob!r}" if glob else (
        "files with an image extension (" + ", ".join(sorted(IMAGE_EXTENSIONS)) +
        "; pass glob='*' for files without one)")
    return f"{folder}: no images found; expected {wanted}"


def load_folder(folder, layout, glob, pattern, opts, max_pixels, source_name):
    on_error = opts.on_error
    dirs, files = _children(folder)
    if not dirs and not files:
        raise ValueError(f"{folder}: the folder is empty")
    images = [f for f in files if is_image_name(f, glob)]
    if layout == "auto":
        if images and not dirs:
            layout = "flat"
        elif dirs and not images:
            layout = "identity-folders"
        elif images and dirs:
            with_images = [d for d in dirs if any(is_image_name(f, glob) for f in _children(d)[1])]
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
        return load_files(images, None, pattern, problems, opts, max_pixels, source_name)
    if not dirs:
        raise ValueError(f"{folder}: layout='identity-folders' but there are no sub-folders")
    all_files, all_labels = [], []
    for sub in dirs:
        sub_files = [f for f in _children(sub)[1] if is_image_name(f, glob)]
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
    return load_files(all_files, np.array(all_labels), pattern, problems, opts, max_pixels,
                       source_name)
