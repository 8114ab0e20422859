"""Compress faces with a learned basis: quantized NMF weights in a checked container file.

A face ``a`` (n_pixels,) is stored as its weights ``h`` (rank,) on a shared basis ``W``
(n_pixels, rank): the exact non-negative least-squares projection (:func:`facenmf.project`),
quantized to ``bits`` bits per non-zero weight. The basis is not in the file: encoder and
decoder share the model, and the file carries a fingerprint of ``W`` so that it is never
decoded with the wrong one. Decoding rebuilds ``W @ h_hat``, clipped to [0, 1], and saves
8-bit grey PNGs.

Quantization (scheme 1)
-----------------------
For each component ``k`` the scale is ``s_k = max_j H[k, j]`` over the faces in the file
(stored as float32; 0 for a component no face uses). With ``L = 2**bits - 1`` levels, the
code of a weight is ``q = round(h / s_k * L)`` (0 <= q <= L) and it decodes to
``h_hat = q * s_k / L``, so ``|h_hat - h| <= s_k / (2 L)``: half a step. NMF weights are
non-negative and often exactly 0 (30% of them at rank 49 on ORL, 55% at rank 100), so only
non-zero codes are stored.

Container layout (format version 2, all integers little-endian)
--------------------------------------------------------------
==========  =====================  ==========================================================
offset      size (bytes)           content
==========  =====================  ==========================================================
0           8                      magic ``b"\\x89FNC\\r\\n\\x1a\\n"``
8           2                      format version (uint16) = 2 (1 is read too)
10          1                      quantization scheme id (uint8) = 1 (above)
11          1                      bits per code (uint8), 2..16
12          4 + 4                  image height, width (uint32)
20          4                      rank (uint32)
24          4                      n_faces (uint32)
28          4                      ``names_bytes``: size of the names block (uint32)
32          4                      ``payload_bytes``: size of the payload (uint32)
36          32                     fingerprint of the basis: SHA-256 of
                                   ``b"facenmf-basis\\0" + dtype + shape + W`` (see
                                   :func:`basis_fingerprint`)
68          names_bytes            per face: uint16 length + the UTF-8 name: the original
                                   file's path relative to the inputs' common folder,
                                   without extension, ``/``-separated (``s1/1``); version
                                   1 stored stems only
68 + n      payload_bytes          ``rank`` float32 scales ``s_k``, then one zlib stream
                                   (level 9) of: a bitmask of the non-zero codes (1 bit per
                                   weight, component-major: all faces of component 0 first,
                                   ``numpy.packbits`` order, padded to a byte), then the
                                   non-zero codes in the same order, ``bits`` bits each,
                                   most significant bit first, padded to a byte
end - 4     4                      CRC-32 (``zlib.crc32``, uint32) of every byte before it
==========  =====================  ==========================================================

A reader refuses, naming the file: a foreign file (magic), a newer or unknown format
version or scheme, a file of the wrong length (truncated, or data after the end), a wrong
checksum (bit flips), a file made with another basis (fingerprints differ), and any
inconsistency in the payload. It checks the whole file before any image is written.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> import numpy as np, facenmf
>>> from facenmf.compress import compress_faces, decompress_file
>>> A = np.random.default_rng(0).random((12 * 10, 8)).astype(np.float32)
>>> model = facenmf.NMF(5, random_state=0, image_shape=(12, 10)).fit(A)
>>> with tempfile.TemporaryDirectory() as d:
...     report = compress_faces(model, A, [f"face{j}" for j in range(8)],
...                             Path(d) / "faces.fnc", bits=8)
...     out = decompress_file(model, Path(d) / "faces.fnc", Path(d) / "png")
...     written = sorted(Path(p).name for p in out["files"])
>>> report["n_faces"], report["bits"], written[:2]
(8, 8, ['face0.png', 'face1.png'])
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib

import numpy as np

from . import _validation as v
from ._atomic import atomic_write, check_not_input
from .nmf import NMF
from .nmf._project import _project

__all__ = [
    "compress_faces",
    "compress_files",
    "read_container",
    "decompress_file",
    "basis_fingerprint",
    "output_names",
    "storable_name",
    "psnr",
    "ssim",
    "MAGIC",
    "FORMAT_VERSION",
]

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


class _Corrupt(Exception):
    """A payload inconsistency; re-raised as ValueError naming the file."""


# -- checks ------------------------------------------------------------------------------
def _check_model(model, *, need_shape=True):
    if not isinstance(model, NMF):
        raise TypeError(f"model: expected a fitted facenmf.NMF, got {type(model).__name__}")
    model._require_fit()
    if need_shape and model.image_shape is None:
        raise ValueError("model: has no image_shape; fit it with NMF(..., image_shape=(height, "
                         "width)) or set model.image_shape")
    return model


def _check_bits(bits):
    return v.check_int("bits", bits, low=2, high=16)


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


def _check_names(names, n_faces):
    if isinstance(names, (str, bytes)) or not hasattr(names, "__len__"):
        raise TypeError(f"names: expected a list of {n_faces} str, got {type(names).__name__}")
    names = list(names)
    if len(names) != n_faces:
        raise ValueError(f"names: expected {n_faces} names (one per column of A), got {len(names)}")
    return [_check_name(name, f"names[{j}]") for j, name in enumerate(names)]


# -- fingerprint, quantization, packing --------------------------------------------------
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


def _quantize(H, bits):
    """Scheme 1: scales (rank,) float32 and codes (rank, n_faces) uint32 in [0, 2**bits - 1]."""
    levels = (1 << bits) - 1
    scales = H.max(axis=1).astype(np.float32)
    safe = np.where(scales > 0, scales, 1).astype(np.float64)
    Q = np.rint(H.astype(np.float64) / safe[:, None] * levels)
    return scales, np.clip(Q, 0, levels).astype(np.uint32)


def _dequantize(scales, Q, bits):
    """Weights (rank, n_faces) float32 from scheme-1 codes: ``q * s_k / (2**bits - 1)``."""
    step = scales.astype(np.float64) / ((1 << bits) - 1)
    return (Q * step[:, None]).astype(np.float32)


def _pack_codes(Q, bits):
    """Bitmask of the non-zero codes, then those codes at ``bits`` bits (bytes)."""
    flat = np.ascontiguousarray(Q).ravel()
    nonzero = flat != 0
    codes = flat[nonzero].astype(np.uint32)
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint32)
    planes = ((codes[:, None] >> shifts) & 1).astype(np.uint8)
    return np.packbits(nonzero).tobytes() + np.packbits(planes.ravel()).tobytes()


def _unpack_codes(raw, shape, bits):
    """Inverse of :func:`_pack_codes`; raises :class:`_Corrupt` on any inconsistency."""
    count = shape[0] * shape[1]
    mask_len = (count + 7) // 8
    if len(raw) < mask_len:
        raise _Corrupt(f"payload holds {len(raw)} bytes, fewer than the {mask_len}-byte mask")
    buf = np.frombuffer(raw, dtype=np.uint8)
    nonzero = np.unpackbits(buf[:mask_len], count=count).astype(bool)
    n_codes = int(nonzero.sum())
    if len(raw) != mask_len + (n_codes * bits + 7) // 8:
        raise _Corrupt(f"payload holds {len(raw)} bytes, expected "
                       f"{mask_len + (n_codes * bits + 7) // 8} for {n_codes} codes")
    planes = np.unpackbits(buf[mask_len:], count=n_codes * bits).reshape(n_codes, bits)
    codes = planes.astype(np.uint32) @ (np.uint32(1) << np.arange(bits - 1, -1, -1,
                                                                  dtype=np.uint32))
    if n_codes and codes.min() == 0:
        raise _Corrupt("a code marked non-zero is zero")
    Q = np.zeros(count, dtype=np.uint32)
    Q[nonzero] = codes
    return Q.reshape(shape)


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
            raise _Corrupt(f"names block ends before name {j}")
        (size,) = struct.unpack_from("<H", block, pos)
        pos += 2
        if pos + size > len(block):
            raise _Corrupt(f"names block ends inside name {j}")
        try:
            name = block[pos:pos + size].decode("utf-8")
        except UnicodeDecodeError:
            raise _Corrupt(f"name {j} is not UTF-8") from None
        pos += size
        try:
            names.append(_check_name(name, f"name {j}"))
        except ValueError as exc:
            raise _Corrupt(str(exc)) from None
    if pos != len(block):
        raise _Corrupt(f"{len(block) - pos} stray bytes after the names")
    return names


def _encode(model, Q, scales, bits, names):
    """The container's bytes (see the module docstring)."""
    height, width = model.image_shape
    rank, n_faces = Q.shape
    names_block = _names_block(names)
    payload = scales.astype("<f4").tobytes() + zlib.compress(_pack_codes(Q, bits), 9)
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, SCHEME_UNIFORM_MAX, bits, height, width,
                          rank, n_faces, len(names_block), len(payload),
                          _fingerprint(model.W))
    body = header + names_block + payload
    return body + _CRC.pack(zlib.crc32(body)), len(payload)


# -- measures ----------------------------------------------------------------------------
def _pair(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"b: expected the shape of a, {a.shape}, got {b.shape}")
    if a.ndim not in (1, 2) or a.size == 0:
        raise ValueError(f"a: expected a face (n_pixels,) or faces (n_pixels, n_faces), "
                         f"got shape {a.shape}")
    return a, b


def psnr(a, b):
    """Peak signal-to-noise ratio in dB of faces in [0, 1] (peak 1), face by face.

    Parameters
    ----------
    a, b : array_like of shape (n_pixels,) or (n_pixels, n_faces)
        Reference and test faces, one flattened face per column, values in [0, 1].

    Returns
    -------
    float or ndarray of shape (n_faces,)
        ``10 log10(1 / mean((a - b)**2))`` per face, ``inf`` for identical faces; the same
        as ``skimage.metrics.peak_signal_noise_ratio(a, b, data_range=1)`` (which warns
        and divides by zero for identical images).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.full((4, 2), 0.5)
    >>> psnr(a, a + 0.1).round(6).tolist()  # MSE 0.01 -> 20 dB
    [20.0, 20.0]
    >>> psnr(a[:, 0], a[:, 0])
    inf
    """
    a, b = _pair(a, b)
    mse = np.mean((a - b) ** 2, axis=0)
    with np.errstate(divide="ignore"):
        out = np.where(mse > 0, 10 * np.log10(1.0 / np.where(mse > 0, mse, 1.0)), np.inf)
    return float(out) if out.ndim == 0 else out


def ssim(a, b, image_shape):
    """Structural similarity (SSIM) of faces in [0, 1], face by face.

    Parameters
    ----------
    a, b : array_like of shape (n_pixels,) or (n_pixels, n_faces)
        Reference and test faces, one flattened face per column, values in [0, 1].
    image_shape : tuple of int
        ``(height, width)`` with ``height * width == n_pixels``.

    Returns
    -------
    float or ndarray of shape (n_faces,)
        ``skimage.metrics.structural_similarity(A, B, data_range=1)`` of each pair of
        images (Gaussian-free 7x7 windows, scikit-image's defaults). Images narrower than 7
        pixels use the largest odd window that fits; below 3 pixels SSIM is undefined and
        NaN is returned.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.random.default_rng(0).random((12 * 10, 2))
    >>> ssim(a, a, (12, 10)).tolist()
    [1.0, 1.0]
    """
    from skimage.metrics import structural_similarity

    a, b = _pair(a, b)
    if (not isinstance(image_shape, (tuple, list)) or len(image_shape) != 2
            or int(image_shape[0]) * int(image_shape[1]) != a.shape[0]):
        raise ValueError(f"image_shape: expected (height, width) with height * width == "
                         f"{a.shape[0]}, got {image_shape!r}")
    shape = (int(image_shape[0]), int(image_shape[1]))
    win = min(7, *shape)
    win -= 1 - win % 2
    single = a.ndim == 1
    a2, b2 = (a[:, None], b[:, None]) if single else (a, b)
    if win < 3:
        out = np.full(a2.shape[1], np.nan)
    else:
        out = np.array([structural_similarity(a2[:, j].reshape(shape), b2[:, j].reshape(shape),
                                              data_range=1.0, win_size=win)
                        for j in range(a2.shape[1])])
    return float(out[0]) if single else out


# -- encode ------------------------------------------------------------------------------
def _decoded(W, H_hat):
    """What a decoder writes: ``W @ H_hat`` clipped to [0, 1] and rounded to 8 bits."""
    faces = np.clip(W @ H_hat, 0.0, 1.0)
    return np.rint(faces * 255).astype(np.uint8)


def compress_faces(model, A, names, path, *, bits=8):
    """Encode faces as quantized weights on ``model``'s basis and write a container file.

    Parameters
    ----------
    model : facenmf.NMF
        A fitted model with ``image_shape``; its ``W`` (n_pixels, rank) is the shared basis.
    A : array_like of shape (n_pixels, n_faces)
        Faces, one flattened face per column, values in [0, 1].
    names : list of str of length n_faces
        The name of each face: a file name without extension (``"1"`` for ``1.pgm``) or a
        ``/``-separated relative path (``"s1/1"``); the decoder writes ``<name>.png``
        below its output folder. No ``.`` or ``..`` parts, no backslashes.
    path : str or os.PathLike
        The container to write (replaced atomically if it exists).
    bits : int
        Bits per non-zero weight, 2 to 16 (see the module docstring for the scheme).

    Returns
    -------
    dict
        ``path``, ``n_faces``, ``rank``, ``bits``, ``n_pixels``; ``bytes`` (file size),
        ``bytes_per_face`` (file size / n_faces), ``payload_bytes`` and
        ``payload_bytes_per_face`` (scales and codes only); ``ratio`` (the 8-bit grey
        image, ``n_pixels`` bytes, over ``bytes_per_face``) and ``payload_ratio``;
        ``psnr_mean`` (dB) and ``ssim_mean`` over the faces; ``nonzero_fraction`` of the
        codes; ``faces``: a list of ``{"name", "psnr", "ssim"}`` per face. PSNR and SSIM
        compare ``A`` with exactly what :func:`decompress_file` writes (``W @ H_hat``
        clipped to [0, 1], 8-bit).

    Raises
    ------
    ValueError
        ``A`` of the wrong shape or outside [0, 1], names of the wrong number or with path
        separators, ``bits`` out of range, a model without ``image_shape``.
    TypeError
        Arguments of the wrong type.
    """
    model = _check_model(model)
    bits = _check_bits(bits)
    path = v.check_path("path", path)
    W = model.W
    A = v.check_nonnegative_matrix("A", A, W.dtype, shape=(W.shape[0], None))
    if A.max() > 1:
        raise ValueError(f"A: expected values in [0, 1] (8-bit images / 255), found maximum "
                         f"{float(A.max()):.4g}")
    names = _check_names(names, A.shape[1])
    if A.shape[1] >= 2 ** 32:
        raise ValueError(f"A: at most {2 ** 32 - 1} faces per container, got {A.shape[1]}")

    H = _project(A, W)
    scales, Q = _quantize(H, bits)
    data, payload_bytes = _encode(model, Q, scales, bits, names)
    with atomic_write(path) as fh:
        fh.write(data)

    faces = _decoded(W, _dequantize(scales, Q, bits)).astype(np.float64) / 255
    p = psnr(A, faces)
    s = ssim(A, faces, model.image_shape)
    n_pixels, n_faces = A.shape
    per_face = len(data) / n_faces
    return {
        "path": str(path),
        "n_faces": n_faces,
        "rank": W.shape[1],
        "bits": bits,
        "n_pixels": n_pixels,
        "bytes": len(data),
        "bytes_per_face": per_face,
        "payload_bytes": payload_bytes,
        "payload_bytes_per_face": payload_bytes / n_faces,
        "ratio": n_pixels / per_face,
        "payload_ratio": n_pixels * n_faces / payload_bytes,
        "psnr_mean": float(np.mean(p)),
        "ssim_mean": float(np.mean(s)),
        "nonzero_fraction": float(np.count_nonzero(Q)) / Q.size,
        "faces": [{"name": n, "psnr": float(pj), "ssim": float(sj)}
                  for n, pj, sj in zip(names, p, s)],
    }


def compress_files(model, image_paths, path, *, bits=8, resize=False):
    """Read image files, prepare them as the model's faces were, and compress them.

    Parameters
    ----------
    model : facenmf.NMF
        A fitted model with ``image_shape``.
    image_paths : path-like or list of path-like
        Image files (any format :func:`facenmf.load_faces` reads) and folders of them. Each
        face is stored under its path relative to the inputs' common folder, without
        extension (:func:`facenmf.data.list_images`: ``orl/`` gives ``s1/1``, ...), and
        restored as ``<name>.png``.
    path : str or os.PathLike
        The container to write; never one of the images.
    bits : int
        Bits per non-zero weight, 2 to 16.
    resize : bool
        Scale images of another size than the model's training images, keeping their
        aspect ratio, instead of refusing them (see ``load_faces(like=, resize=)``).

    Returns
    -------
    dict
        As :func:`compress_faces`; each of ``faces`` also has its ``input`` file, and
        ``resized`` lists ``{"input", "from"}`` for the images that were scaled.

    Raises
    ------
    FileNotFoundError, ValueError, TypeError
        As :func:`facenmf.load_faces` (naming the file; an image of another size without
        ``resize``) and :func:`compress_faces`; ``path`` one of the images.
    """
    from .data import list_images, load_faces

    model = _check_model(model)
    bits = _check_bits(bits)
    path = v.check_path("path", path)
    listed = list_images(image_paths)
    files = [f for f, _ in listed]
    check_not_input([path], files, "path")
    faces = load_faces(files, like=model, resize=resize)
    names = [storable_name(name) for _, name in listed]
    report = compress_faces(model, faces.A, names, path, bits=bits)
    for face, file in zip(report["faces"], files):
        face["input"] = str(file)
    report["resized"] = [{"input": where, "from": shape} for where, shape in faces.resized]
    return report


# -- decode ------------------------------------------------------------------------------
def _container_path(path):
    path = v.check_path("path", path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such container file")
    return path


def read_container(path, model):
    """Read and check a container: the dequantized weights and the names of the faces.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`compress_faces`.
    model : facenmf.NMF
        The model it was written with (its basis fingerprint must match the file's).

    Returns
    -------
    H_hat : ndarray of shape (rank, n_faces), float32
        Dequantized weights; ``model.reconstruct(H_hat)`` gives the faces.
    names : list of str of length n_faces
        The stored file-name stems.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming the file: not a container, a newer or unknown format version or scheme,
        truncated or with trailing data, a checksum mismatch (corrupted), a different basis
        (fingerprints differ) or image shape, an inconsistent payload.
    """
    model = _check_model(model, need_shape=False)
    path = _container_path(path)
    H_hat, names, _ = _parse(path, path.read_bytes(), model)
    return H_hat, names


def _parse(path, data, model):
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
            raise _Corrupt(f"{n_faces} faces cannot fit in a {names_bytes}-byte names block")
        names = _parse_names(data[_HEADER.size:_HEADER.size + names_bytes], n_faces)
        start = _HEADER.size + names_bytes
        if rank * 4 > payload_bytes:
            raise _Corrupt(f"a {payload_bytes}-byte payload cannot hold {rank} scales")
        scales = np.frombuffer(data, dtype="<f4", count=rank, offset=start).astype(np.float32)
        if not np.all(np.isfinite(scales)) or scales.min() < 0:
            raise _Corrupt("scales not finite and non-negative")
        zdata = data[start + rank * 4:start + payload_bytes]
        limit = (rank * n_faces + 7) // 8 + (rank * n_faces * bits + 7) // 8
        if limit > _ZLIB_MAX_RATIO * len(zdata) + 64:
            raise _Corrupt("payload too short for its announced size")
        inflate = zlib.decompressobj()
        raw = inflate.decompress(zdata, limit + 1)
        if not inflate.eof or inflate.unused_data or inflate.unconsumed_tail:
            raise _Corrupt("the zlib stream is incomplete or followed by data")
        Q = _unpack_codes(raw, (rank, n_faces), bits)
        if Q.max(initial=0) > (1 << bits) - 1:
            raise _Corrupt("code out of range")
    except (_Corrupt, zlib.error) as exc:
        raise ValueError(f"{path}: corrupted facenmf container ({exc})") from None
    return _dequantize(scales, Q, bits), names, (height, width)


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


def decompress_file(model, path, out_dir):
    """Decode a container into one 8-bit grey PNG per face in ``out_dir``.

    The whole container is read and checked (:func:`read_container`) before any image is
    written, so a truncated, corrupted or foreign file, or the wrong model, writes nothing.
    Each image is written to a temporary file and renamed into place.

    Parameters
    ----------
    model : facenmf.NMF
        The model the container was written with.
    path : str or os.PathLike
        The container.
    out_dir : str or os.PathLike
        Folder for the images (created if missing, with the sub-folders of the names).
        Face ``j`` is saved as ``<name>.png``, with clashing names made unique
        (:func:`output_names`); existing files of those names are replaced, except the
        container itself, which is refused.

    Returns
    -------
    dict
        ``path``, ``out_dir``, ``n_faces``, ``image_shape``, ``files`` (the written paths,
        in the container's order) and ``faces``: a list of ``{"name", "path"}``.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`read_container`; ``out_dir`` an existing file.
    """
    from PIL import Image

    model = _check_model(model, need_shape=False)
    path = _container_path(path)
    out_dir = v.check_path("out_dir", out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out_dir: {out_dir} exists and is not a folder")
    H_hat, names, shape = _parse(path, path.read_bytes(), model)
    files = [out_dir / name for name in output_names(names)]
    check_not_input(files, [path], "out_dir")
    out_dir.mkdir(parents=True, exist_ok=True)
    for j, file in enumerate(files):
        # One face at a time: the container is already checked, and memory stays small.
        image = _decoded(model.W, H_hat[:, j:j + 1]).reshape(shape)
        with atomic_write(file, make_parents=True) as fh:
            Image.fromarray(image).save(fh, format="PNG")  # uint8 2-D: mode "L"
    return {
        "path": str(path),
        "out_dir": str(out_dir),
        "n_faces": len(names),
        "image_shape": shape,
        "files": [str(f) for f in files],
        "faces": [{"name": n, "path": str(f)} for n, f in zip(names, files)],
    }
