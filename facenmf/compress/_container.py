"""The container format: magic, header, version, basis fingerprint, names block, CRC-32.

Building (:func:`encode`) and checking (:func:`parse`) the bytes of a container; the layout
is in the :mod:`facenmf.compress` docstring.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib

import numpy as np

from .. import _validation as v
from ._quantize import Corrupt, dequantize, pack_codes, unpack_codes

__all__ = ["MAGIC", "FORMAT_VERSION", "basis_fingerprint", "output_names", "storable_name",
           "check_names", "container_path", "encode", "parse"]

#: First 8 bytes of every container (PNG-style: a high byte, CR LF, ^Z, LF catch text-mode
#: transfers that would mangle the file).
MAGIC = b"\x89FNC\r\n\x1a\n"
#: Container format version written by this facenmf (and the newest it reads). Version 2
#: names may be relative paths (``s1/1``); version 1 (stems only) is still read.
FORMAT_VERSION = 2
_READ_VERSIONS = (1, 2)
#: Quantization scheme ids understood by this reader.
SCHEME_UNIFORM_MAX = 1
_SCHEMES = {SCHEME_UNIFORM_MAX: "per-component max scale, uniform rounding, non-zero codes"}

_HEADER = struct.Struct("<8sHBBIIIIII32s")
_CRC = struct.Struct("<I")
_FINGERPRINT_TAG = b"facenmf-basis\x00"
_MAX_NAME_BYTES = 4096  # a relative path (PATH_MAX on Linux)
_MAX_PART_BYTES = 255  # one file or folder name on common file systems
_ZLIB_MAX_RATIO = 1100  # deflate cannot expand data by more than ~1032x


def storable_name(name):
    """``name`` as the container stores it: valid UTF-8, ``/``-separated.

    A file name that is not valid UTF-8 (its undecodable bytes come from the file system as
    surrogates, ``\\udce9``) gets U+FFFD in their place, so that it can be stored, printed
    and written back under any locale; the report maps each input to its name.
    """
    return os.fsencode(name).decode("utf-8", "replace") if isinstance(name, str) else name


def _check_name(name, where):
    if not isinstance(name, str):
        raise TypeError(f"{where}: expected a str, got {type(name).__name__} {name!r}")
    parts = name.split("/")
    bad = [c for c in name if c in "\\\x00" or ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF]
    if not name or bad or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"{where}: expected a relative file name without extension "
                         "(non-empty parts separated by '/', no '.' or '..' parts, no "
                         f"backslashes or control characters), got {name!r}")
    longest = max(parts, key=lambda part: len(part.encode("utf-8")))
    if len(longest.encode("utf-8")) > _MAX_PART_BYTES:
        raise ValueError(f"{where}: expected names of at most {_MAX_PART_BYTES} bytes of UTF-8 "
                         f"per part, got {len(longest.encode('utf-8'))} ({longest[:20]!r}...)")
    if len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        raise ValueError(f"{where}: expected at most {_MAX_NAME_BYTES} bytes of UTF-8, got "
                         f"{len(name.encode('utf-8'))} ({name[:20]!r}...)")
    return name


def check_names(names, n_faces):
    """``names`` as a list of ``n_faces`` storable relative names (one per face)."""
    if isinstance(names, (str, bytes)) or not hasattr(names, "__len__"):
        raise TypeError(f"names: expected a list of {n_faces} str, got {type(names).__name__}")
    names = list(names)
    if len(names) != n_faces:
        raise ValueError(f"names: expected {n_faces} names (one per column of A), got {len(names)}")
    return [_check_name(name, f"names[{j}]") for j, name in enumerate(names)]


# -- fingerprint -------------------------------------------------------------------------
def basis_fingerprint(W):
    """SHA-256 of a basis, as 64 hex digits: what ties a container to its model.

    Parameters
    ----------
    W : ndarray of shape (n_pixels, rank)
        Basis images (``model.W``).

    Returns
    -------
    str
        The hex digest of ``b"facenmf-basis\\0"``, the dtype name (e.g. ``float32``), the
        shape as ``"<n_pixels>x<rank>"`` and the bytes of ``W`` (C order, little-endian),
        each followed by a NUL. Any change of value, shape or dtype changes it.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.ones((6, 2), np.float32)
    >>> basis_fingerprint(W) == basis_fingerprint(W.copy()), len(basis_fingerprint(W))
    (True, 64)
    >>> basis_fingerprint(W) == basis_fingerprint(W.astype(np.float64))
    False
    """
    return _fingerprint(W).hex()


def _fingerprint(W):
    W = np.asarray(W)
    if W.ndim != 2:
        raise ValueError(f"W: expected a 2-D array (n_pixels, rank), got shape {W.shape}")
    data = np.ascontiguousarray(W, dtype=W.dtype.newbyteorder("<"))
    h = hashlib.sha256(_FINGERPRINT_TAG)
    h.update(f"{W.dtype.name}\x00{W.shape[0]}x{W.shape[1]}\x00".encode())
    h.update(memoryview(data).cast("B"))
    return h.digest()


# -- names block, encode, parse ----------------------------------------------------------
def _names_block(names):
    parts = []
    for name in names:
        data = name.encode("utf-8")
        parts.append(struct.pack("<H", len(data)) + data)
    return b"".join(parts)


def _parse_names(block, n_faces):
    names, pos = [], 0
    for j in range(n_faces):
        if pos + 2 > len(block):
            raise Corrupt(f"names block ends before name {j}")
        (size,) = struct.unpack_from("<H", block, pos)
        pos += 2
        if pos + size > len(block):
            raise Corrupt(f"names block ends inside name {j}")
        try:
            name = block[pos:pos + size].decode("utf-8")
        except UnicodeDecodeError:
            raise Corrupt(f"name {j} is not UTF-8") from None
        pos += size
        try:
            names.append(_check_name(name, f"name {j}"))
        except ValueError as exc:
            raise Corrupt(str(exc)) from None
    if pos != len(block):
        raise Corrupt(f"{len(block) - pos} stray bytes after the names")
    return names


def encode(model, Q, scales, bits, names):
    """The container's bytes (see the module docstring)."""
    height, width = model.image_shape
    rank, n_faces = Q.shape
    names_block = _names_block(names)
    payload = scales.astype("<f4").tobytes() + zlib.compress(pack_codes(Q, bits), 9)
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, SCHEME_UNIFORM_MAX, bits, height, width,
                          rank, n_faces, len(names_block), len(payload),
                          _fingerprint(model.W))
    body = header + names_block + payload
    return body + _CRC.pack(zlib.crc32(body)), len(payload)


def container_path(path):
    """``path`` as a ``Path`` to an existing file (the container to read)."""
    path = v.check_path("path", path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such container file")
    return path


def parse(path, data, model):
    """``(H_hat, names, (height, width))`` from a container's bytes ``data``, after every
    check (magic, version, scheme, length, CRC, fingerprint, payload); ValueError naming
    ``path`` on any failure."""
    minimum = _HEADER.size + _CRC.size
    if not data:
        raise ValueError(f"{path}: empty file, not a facenmf compressed-faces container")
    if len(data) < len(MAGIC) or data[:len(MAGIC)] != MAGIC:
        if data and MAGIC.startswith(data[:len(MAGIC)]):
            raise ValueError(f"{path}: truncated facenmf container ({len(data)} bytes, a "
                             f"container has at least {minimum})")
        raise ValueError(f"{path}: not a facenmf compressed-faces container (magic bytes "
                         f"{data[:len(MAGIC)]!r}, expected {MAGIC!r})")
    if len(data) < len(MAGIC) + 2:
        raise ValueError(f"{path}: truncated facenmf container ({len(data)} bytes, a "
                         f"container has at least {minimum})")
    (version,) = struct.unpack_from("<H", data, len(MAGIC))
    if version > FORMAT_VERSION:
        raise ValueError(f"{path}: container format version {version} is newer than this "
                         f"facenmf reads (version {FORMAT_VERSION}); upgrade facenmf")
    if version not in _READ_VERSIONS:
        raise ValueError(f"{path}: container format version {version} is not supported "
                         f"(this facenmf reads version {FORMAT_VERSION})")
    if len(data) < minimum:
        raise ValueError(f"{path}: truncated facenmf container ({len(data)} bytes, a "
                         f"container has at least {minimum})")
    (_, _, scheme, bits, height, width, rank, n_faces, names_bytes, payload_bytes,
     fingerprint) = _HEADER.unpack_from(data)
    expected = _HEADER.size + names_bytes + payload_bytes + _CRC.size
    if len(data) < expected:
        raise ValueError(f"{path}: truncated facenmf container ({len(data)} bytes, its "
                         f"header announces {expected})")
    if len(data) > expected:
        raise ValueError(f"{path}: corrupted facenmf container ({len(data) - expected} bytes "
                         f"after the announced end at {expected})")
    (stored_crc,) = _CRC.unpack_from(data, expected - _CRC.size)
    crc = zlib.crc32(memoryview(data)[:expected - _CRC.size])
    if crc != stored_crc:
        raise ValueError(f"{path}: corrupted facenmf container (CRC-32 {crc:08x} of the "
                         f"contents, stored {stored_crc:08x})")
    if scheme not in _SCHEMES:
        raise ValueError(f"{path}: unknown quantization scheme {scheme} (this facenmf knows "
                         f"{sorted(_SCHEMES)}); upgrade facenmf")
    mine = _fingerprint(model.W)
    if fingerprint != mine:
        raise ValueError(f"{path}: written with a different basis: fingerprints differ (file "
                         f"{fingerprint.hex()[:16]}..., model {mine.hex()[:16]}..., "
                         f"rank {rank} vs {model.W.shape[1]}); decode with the model it was "
                         "compressed with")
    if height * width != model.W.shape[0] or (
            model.image_shape is not None and tuple(model.image_shape) != (height, width)):
        raise ValueError(f"{path}: image shape {height}x{width} does not match the model's "
                         f"{model.image_shape} ({model.W.shape[0]} pixels)")
    if not 2 <= bits <= 16 or rank != model.W.shape[1]:
        raise ValueError(f"{path}: corrupted facenmf container (bits {bits}, rank {rank})")
    try:
        if n_faces < 1 or 2 * n_faces > names_bytes:
            raise Corrupt(f"{n_faces} faces cannot fit in a {names_bytes}-byte names block")
        names = _parse_names(data[_HEADER.size:_HEADER.size + names_bytes], n_faces)
        start = _HEADER.size + names_bytes
        if rank * 4 > payload_bytes:
            raise Corrupt(f"a {payload_bytes}-byte payload cannot hold {rank} scales")
        scales = np.frombuffer(data, dtype="<f4", count=rank, offset=start).astype(np.float32)
        if not np.all(np.isfinite(scales)) or scales.min() < 0:
            raise Corrupt("scales not finite and non-negative")
        zdata = data[start + rank * 4:start + payload_bytes]
        limit = (rank * n_faces + 7) // 8 + (rank * n_faces * bits + 7) // 8
        if limit > _ZLIB_MAX_RATIO * len(zdata) + 64:
            raise Corrupt("payload too short for its announced size")
        inflate = zlib.decompressobj()
        raw = inflate.decompress(zdata, limit + 1)
        if not inflate.eof or inflate.unused_data or inflate.unconsumed_tail:
            raise Corrupt("the zlib stream is incomplete or followed by data")
        Q = unpack_codes(raw, (rank, n_faces), bits)
        if Q.max(initial=0) > (1 << bits) - 1:
            raise Corrupt("code out of range")
    except (Corrupt, zlib.error) as exc:
        raise ValueError(f"{path}: corrupted facenmf container ({exc})") from None
    return dequantize(scales, Q, bits), names, (height, width)


def output_names(names, suffix=".png"):
    """Output file names from stems, made unique: ``["a", "b", "a"] -> a.png, b.png, a-2.png``.

    Parameters
    ----------
    names : list of str
        File-name stems, in order.
    suffix : str
        Appended to each name.

    Returns
    -------
    list of str
        The first occurrence of a stem keeps it; each later one gets the smallest ``-k``
        (k >= 2) that no other name uses. Names are compared case-insensitively (``A`` and
        ``a`` would clash on macOS and Windows), and stems that are themselves given keep
        their name (``["a", "a", "a-2"]`` gives ``a-3`` to the second ``a``).

    Examples
    --------
    >>> output_names(["s1", "s2", "s1", "S1"])
    ['s1.png', 's2.png', 's1-2.png', 'S1-3.png']
    """
    given = {n.casefold() for n in names}
    used, out = set(), []
    for name in names:
        candidate = name
        if candidate.casefold() in used:
            k = 2
            while (f"{name}-{k}".casefold() in used) or (f"{name}-{k}".casefold() in given):
                k += 1
            candidate = f"{name}-{k}"
        used.add(candidate.casefold())
        out.append(candidate + suffix)
    return out
