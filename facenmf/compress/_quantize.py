"""Scheme-1 quantization of NMF weights and the bit packing of their codes.

See the :mod:`facenmf.compress` docstring for the scheme and the payload layout.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pack_codes", "quantize", "dequantize", "unpack_codes", "Corrupt"]


class Corrupt(Exception):
    """A payload inconsistency; re-raised as ValueError naming the file."""


def quantize(H, bits):
    """Scheme 1: scales (rank,) float32 and codes (rank, n_faces) uint32 in [0, 2**bits - 1]."""
    levels = (1 << bits) - 1
    scales = H.max(axis=1).astype(np.float32)
    safe = np.where(scales > 0, scales, 1).astype(np.float64)
    Q = np.rint(H.astype(np.float64) / safe[:, None] * levels)
    return scales, np.clip(Q, 0, levels).astype(np.uint32)


def dequantize(scales, Q, bits):
    """Weights (rank, n_faces) float32 from scheme-1 codes: ``q * s_k / (2**bits - 1)``."""
    step = scales.astype(np.float64) / ((1 << bits) - 1)
    return (Q * step[:, None]).astype(np.float32)


def pack_codes(Q, bits):
    """The bytes the container compresses: a bitmask of the non-zero codes, then those codes.

    Parameters
    ----------
    Q : array_like of shape (rank, n_faces), unsigned integers
        Codes, each in ``[0, 2**bits - 1]``; component-major (C order) as stored.
    bits : int
        Bits per stored code.

    Returns
    -------
    bytes
        ``numpy.packbits`` of the mask ``Q != 0`` (1 bit per code, padded to a byte), then
        the non-zero codes at ``bits`` bits each, most significant bit first, padded to a
        byte: the payload's codes before zlib (see the :mod:`facenmf.compress` docstring).
        ``zlib.compress(pack_codes(Q, bits), 9)`` is what a container stores after the
        scales; other coders (e.g. signed codes mapped to unsigned) can measure their size
        in the same format.

    Examples
    --------
    >>> import numpy as np
    >>> pack_codes(np.array([[0, 3], [1, 0]], np.uint32), 2).hex()  # mask 0110, codes 11 01
    '60d0'
    """
    flat = np.ascontiguousarray(Q).ravel()
    nonzero = flat != 0
    codes = flat[nonzero].astype(np.uint32)
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint32)
    planes = ((codes[:, None] >> shifts) & 1).astype(np.uint8)
    return np.packbits(nonzero).tobytes() + np.packbits(planes.ravel()).tobytes()


def unpack_codes(raw, shape, bits):
    """Inverse of :func:`pack_codes`; raises :class:`Corrupt` on any inconsistency."""
    count = shape[0] * shape[1]
    mask_len = (count + 7) // 8
    if len(raw) < mask_len:
        raise Corrupt(f"payload holds {len(raw)} bytes, fewer than the {mask_len}-byte mask")
    buf = np.frombuffer(raw, dtype=np.uint8)
    nonzero = np.unpackbits(buf[:mask_len], count=count).astype(bool)
    n_codes = int(nonzero.sum())
    if len(raw) != mask_len + (n_codes * bits + 7) // 8:
        raise Corrupt(f"payload holds {len(raw)} bytes, expected "
                       f"{mask_len + (n_codes * bits + 7) // 8} for {n_codes} codes")
    planes = np.unpackbits(buf[mask_len:], count=n_codes * bits).reshape(n_codes, bits)
    codes = planes.astype(np.uint32) @ (np.uint32(1) << np.arange(bits - 1, -1, -1,
                                                                  dtype=np.uint32))
    if n_codes and codes.min() == 0:
        raise Corrupt("a code marked non-zero is zero")
    Q = np.zeros(count, dtype=np.uint32)
    Q[nonzero] = codes
    return Q.reshape(shape)
