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

import numpy as np

from .. import _validation as v
from .._atomic import atomic_write, check_not_input
from ..metrics import psnr, ssim  # re-exported: facenmf.compress.psnr / ssim still work
from ..nmf import NMF, project_unchecked
from ._container import (
    FORMAT_VERSION,
    MAGIC,
    check_names,
    container_path,
    encode,
    parse,
    basis_fingerprint,
    output_names,
    storable_name,
)
from ._quantize import dequantize, pack_codes, quantize

__all__ = [
    "compress_faces",
    "compress_files",
    "read_container",
    "decompress_file",
    "basis_fingerprint",
    "output_names",
    "storable_name",
    "pack_codes",
    "psnr",
    "ssim",
    "MAGIC",
    "FORMAT_VERSION",
]


# -- checks ------------------------------------------------------------------------------
def _check_model(model, *, need_shape=True):
    if not isinstance(model, NMF):
        raise TypeError(f"model: expected a fitted facenmf.NMF, got {type(model).__name__}")
    v.check_fitted("NMF", model)
    if need_shape and model.image_shape is None:
        raise ValueError("model: has no image_shape; fit it with NMF(..., image_shape=(height, "
                         "width)) or set model.image_shape")
    return model


def _check_bits(bits):
    return v.check_int("bits", bits, low=2, high=16)


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
    names = check_names(names, A.shape[1])
    if A.shape[1] >= 2 ** 32:
        raise ValueError(f"A: at most {2 ** 32 - 1} faces per container, got {A.shape[1]}")

    H = project_unchecked(A, W)
    scales, Q = quantize(H, bits)
    data, payload_bytes = encode(model, Q, scales, bits, names)
    with atomic_write(path) as fh:
        fh.write(data)

    faces = _decoded(W, dequantize(scales, Q, bits)).astype(np.float64) / 255
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
    from ..data import list_images, load_faces

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
    path = container_path(path)
    H_hat, names, _ = parse(path, path.read_bytes(), model)
    return H_hat, names


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
    path = container_path(path)
    out_dir = v.check_path("out_dir", out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out_dir: {out_dir} exists and is not a folder")
    H_hat, names, shape = parse(path, path.read_bytes(), model)
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
