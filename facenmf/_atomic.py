"""Writing files so that nothing the user had is ever left half-written or overwritten.

:func:`atomic_write` writes through a temporary file renamed into place. :func:`check_output`
and :func:`check_not_input` are the checks every writer runs *before* its work starts, so
that a job never runs for minutes and then fails on its output; their messages name the
user's path, never the temporary one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "check_output", "check_not_input", "same_file"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _nearest_existing(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_output(path, name="path", *, folder=False, make_parents=False):
    """Check, before any work, that ``path`` can be written; return it as a ``Path``.

    Parameters
    ----------
    path : path-like
        The output: a file, or with ``folder=True`` a folder to write files into.
    name : str
        How the caller's interface names it (``"path"``, ``"-o/--output"``), for messages.
    folder : bool
        ``path`` is a folder (it may exist already, or be created).
    make_parents : bool
        Missing parent folders will be created by the writer (the command line's rule);
        without it the parent folder must exist (as for ``open()``).

    Raises
    ------
    IsADirectoryError
        A file output that is an existing folder.
    NotADirectoryError
        A folder output (or a parent) that is an existing file.
    FileNotFoundError
        A missing parent folder when ``make_parents`` is False.
    PermissionError
        A place where no file can be created (read-only, no permission): tried for real
        with a temporary file, so it holds for root and read-only file systems too.
    """
    path = Path(path)
    if folder:
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(f"{name}: {path} exists and is not a folder")
        parent = path if path.is_dir() else path.parent
    else:
        if path.is_dir():
            raise IsADirectoryError(f"{name}: {path} is a folder; expected a file name")
        parent = path.parent
    parent = parent if str(parent) else Path(".")
    if not parent.exists() and not (make_parents or folder):
        raise FileNotFoundError(f"{name}: the folder {parent} does not exist (for {path})")
    existing = _nearest_existing(parent)
    if not existing.is_dir():
        raise NotADirectoryError(f"{name}: cannot create {path}: {existing} is a file, not a "
                                 "folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".facenmf-probe.", dir=existing)
    except OSError as exc:
        raise PermissionError(f"{name}: cannot write {path}: {existing} is not writable "
                              f"({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)
    return path


def same_file(a, b) -> bool:
    """True when ``a`` and ``b`` name one file (same path after resolving links, or the same
    inode, as for hard links)."""
    a, b = Path(a), Path(b)
    try:
        if os.path.realpath(a) == os.path.realpath(b):
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_not_input(outputs, inputs, name="path"):
    """Refuse, before any work, an output that is one of the inputs (naming both paths).

    ``outputs`` and ``inputs`` are iterables of paths; a file that is an input is never
    written over, whatever its name or the links to it.
    """
    inputs = [Path(p) for p in inputs]
    by_real = {os.path.realpath(p): p for p in inputs}
    for out in map(Path, outputs):
        hit = by_real.get(os.path.realpath(out))
        if hit is None and out.exists():
            hit = next((p for p in inputs if same_file(out, p)), None)
        if hit is not None:
            raise ValueError(f"{name}: writing {out} would replace the input {hit}; facenmf "
                             "never writes over its inputs: choose another output")


@contextlib.contextmanager
def atomic_write(path, mode="wb", *, make_parents=False):
    """Open a temporary file beside ``path``; on success rename it over ``path``.

    A reader (or a crash) sees the old file or the new one, never half of one; on an error
    the temporary file is removed and ``path`` is untouched. The new file gets the usual
    permissions (0666 less the umask), not ``mkstemp``'s private 0600. ``make_parents``
    creates missing parent folders first. Errors name ``path``, not the temporary file.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder; expected a file name")
    if make_parents:
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise type(exc)(f"{path}: cannot create the folder {parent} ({exc.strerror})") \
                from None
    elif not parent.is_dir():
        raise FileNotFoundError(f"{path}: the folder {parent} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise type(exc)(f"{path}: cannot write in {parent} ({exc.strerror})") from None
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
        os.chmod(tmp, 0o666 & ~_umask())
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise type(exc)(f"{path}: cannot replace it ({exc.strerror})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
