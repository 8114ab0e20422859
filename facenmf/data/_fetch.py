"""Find a registered database on disk, or download it (pooch, SHA-256 checked) and unpack it.

Where ``load_faces(name)`` looks, in order: an explicit ``path=``; ``$FACENMF_DATA/<name>``;
``<cache>/<name>``, where ``<cache>`` is ``cache_dir=`` or ``$FACENMF_CACHE`` or the
operating system's cache folder for facenmf (``pooch.os_cache("facenmf")``). If the
database is nowhere, its archive is downloaded into ``<cache>``, checked against the
registry's SHA-256 (a mismatch deletes the download and unpacks nothing), unpacked into a
temporary folder inside ``<cache>`` with every member checked first (no absolute paths, no
``..``, no links, no devices; anything else refuses the whole archive), and only then
renamed to ``<cache>/<name>``. Without a network the download fails with one message that
says what to download and where to put it.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tarfile
import tempfile
import warnings
import zipfile
from pathlib import Path, PurePosixPath

__all__ = ["default_cache_dir", "find_root", "locate", "fetch", "safe_extract"]

#: Refuse archives that would unpack to more than this many bytes (zip bombs).
MAX_UNPACKED_BYTES = 20 * 1024**3


def default_cache_dir() -> Path:
    """Return ``$FACENMF_CACHE`` if set, else the OS cache folder for facenmf."""
    env = os.environ.get("FACENMF_CACHE")
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("facenmf"))


def find_root(folder: Path, marker: str, max_depth: int = 3) -> Path | None:
    """Return the folder under ``folder`` (itself included) that holds ``marker``, or None.

    Searched breadth-first to ``max_depth`` levels, in sorted order, so that an archive
    that unpacks into an extra top folder (``orl_faces/s1/1.pgm``) is found as well.
    """
    level = [folder]
    for _ in range(max_depth + 1):
        nxt = []
        for candidate in level:
            if (candidate / marker).exists():
                return candidate
            try:
                nxt.extend(sorted(p for p in candidate.iterdir() if p.is_dir()))
            except OSError:
                continue
        level = nxt
    return None


def locate(entry, path=None, cache_dir=None) -> tuple[Path | None, list[str]]:
    """Return (root folder of ``entry`` on disk or None, the places looked in).

    Raises
    ------
    FileNotFoundError
        ``path`` is given and does not exist.
    ValueError
        ``path`` is given but holds no copy of the database.
    """
    if path is not None:
        path = Path(path).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"path: {path} does not exist (database {entry.name!r})")
        if not path.is_dir():
            raise ValueError(f"path: expected the folder holding database {entry.name!r}, "
                             f"got the file {path}")
        root = find_root(path, entry.marker)
        if root is None:
            raise ValueError(
                f"path: no copy of database {entry.name!r} under {path} (looked for "
                f"{entry.marker!r} up to 3 folders deep); see {entry.homepage}"
            )
        return root, [str(path)]
    looked = []
    env = os.environ.get("FACENMF_DATA")
    places = []
    if env:
        places.append(Path(env).expanduser() / entry.name)
    places.append(Path(cache_dir if cache_dir is not None else default_cache_dir()) / entry.name)
    for place in places:
        looked.append(str(place))
        if place.is_dir():
            root = find_root(place, entry.marker)
            if root is not None:
                return root, looked
    return None, looked


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def fetch(entry, cache_dir=None, looked=()) -> Path:
    """Download, verify and unpack ``entry`` into ``<cache>/<name>``; return its root folder.

    Raises
    ------
    FileNotFoundError
        The download failed (no network, server error): the message says what to download
        and where to put it.
    ValueError
        The archive's SHA-256 differs from the registry's (the download is deleted), the
        archive holds a member that would unpack outside its folder, or it does not hold
        the expected layout.
    """
    import pooch

    cache = Path(cache_dir if cache_dir is not None else default_cache_dir()).expanduser()
    target = cache / entry.name
    where = ", ".join(looked) if looked else str(target)
    manual = (
        f"download {entry.url} yourself and unpack it into {target} (or anywhere, then pass "
        f"path= or set FACENMF_DATA to the folder that holds '{entry.name}/')"
    )
    known_hash = f"sha256:{entry.sha256}" if entry.sha256 else None
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.ERROR)  # pooch logs each download; the caller reports progress
    try:
        cache.mkdir(parents=True, exist_ok=True)
        archive = Path(pooch.retrieve(entry.url, known_hash=known_hash, fname=entry.archive,
                                      path=cache, progressbar=False))
    except ValueError as exc:
        if "hash" not in str(exc).lower():
            raise
        raise ValueError(
            f"database {entry.name!r}: the archive downloaded from {entry.url} failed its "
            f"checksum and was deleted; nothing was unpacked ({_one_line(exc)}). If the "
            f"server changed the file, {manual}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - requests/ftp/OS errors all mean "no download"
        reason = _one_line(exc) or type(exc).__name__
        if len(reason) > 200:
            reason = reason[:200] + "..."
        raise FileNotFoundError(
            f"database {entry.name!r} is not on this machine (looked in {where}) and could "
            f"not be downloaded ({type(exc).__name__}: {reason}); {manual}"
        ) from None
    finally:
        logger.setLevel(level)
    if known_hash is None:
        digest = pooch.file_hash(str(archive), alg="sha256")
        warnings.warn(
            f"database {entry.name!r}: facenmf has no verified SHA-256 for {entry.url}; the "
            f"downloaded {archive} has SHA-256 {digest}. Compare it with a trusted source.",
            UserWarning,
            stacklevel=3,
        )
    return unpack(archive, target, entry)


def unpack(archive: Path, target: Path, entry) -> Path:
    """Unpack ``archive`` safely to ``target`` (via a temporary folder); return the root."""
    if target.exists():
        raise FileExistsError(
            f"{target} exists but holds no copy of database {entry.name!r} (no "
            f"{entry.marker!r}); move it away or fix it, then load again"
        )
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}-unpacking-", dir=target.parent))
    try:
        safe_extract(archive, tmp)
        if find_root(tmp, entry.marker) is None:
            raise ValueError(
                f"{archive}: the archive does not hold database {entry.name!r} as expected "
                f"(no {entry.marker!r} inside); nothing was kept"
            )
        # mkdtemp makes a private (0700) folder; the database gets ordinary permissions.
        mask = os.umask(0)
        os.umask(mask)
        tmp.chmod(0o777 & ~mask)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return find_root(target, entry.marker)


def _check_member_name(name: str, archive: Path, target: Path) -> None:
    posix = PurePosixPath(name.replace("\\", "/"))
    bad = (
        posix.is_absolute()
        or ".." in posix.parts
        or (posix.parts and ":" in posix.parts[0])
    )
    if not bad:
        resolved = (target / posix).resolve()
        bad = not resolved.is_relative_to(target.resolve())
    if bad:
        raise ValueError(
            f"{archive}: archive member {name!r} would unpack outside the target folder "
            f"{target}; the archive was refused and nothing was unpacked"
        )


def safe_extract(archive, target) -> None:
    """Unpack a zip or tar archive into ``target`` after checking every member.

    Members with absolute paths, ``..`` components, links, devices or FIFOs, and archives
    that would unpack to more than ``MAX_UNPACKED_BYTES``, refuse the whole archive before
    anything is written.

    Raises
    ------
    ValueError
        The archive is refused, or is neither zip nor tar.
    """
    archive, target = Path(archive), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            total = 0
            for info in zf.infolist():
                _check_member_name(info.filename, archive, target)
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise ValueError(f"{archive}: archive member {info.filename!r} is a "
                                     "symbolic link; the archive was refused")
                total += info.file_size
            _check_total(total, archive)
            zf.extractall(target)
        return
    try:
        is_tar = tarfile.is_tarfile(archive)
    except OSError:
        is_tar = False
    if not is_tar:
        raise ValueError(f"{archive}: not a zip or tar archive")
    try:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            total = 0
            for member in members:
                _check_member_name(member.name, archive, target)
                if not (member.isfile() or member.isdir()):
                    raise ValueError(
                        f"{archive}: archive member {member.name!r} is a link or special "
                        "file; the archive was refused and nothing was unpacked"
                    )
                total += member.size
            _check_total(total, archive)
            # Members are checked above; the "data" filter (Python >= 3.10.12) re-checks.
            extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tf.extractall(target, members=members, **extra)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ValueError(f"{archive}: corrupt archive ({_one_line(exc)})") from None


def _check_total(total: int, archive: Path) -> None:
    if total > MAX_UNPACKED_BYTES:
        raise ValueError(
            f"{archive}: would unpack to {total:,} bytes, more than the limit of "
            f"{MAX_UNPACKED_BYTES:,}; the archive was refused"
        )
