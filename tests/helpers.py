"""Helper functions and constants the tests import (``from helpers import ...``).

Fixtures live in conftest.py; pyproject puts tests/ on sys.path (pythonpath = ["tests"]).
"""

import os
from pathlib import Path

import numpy as np
import pytest

# The folder that holds orl/ and cbcl/: $FACENMF_DATA (as for load_faces) or the shared
# datasets beside the checkout.
DATASETS = Path(os.environ.get("FACENMF_DATA",
                               Path(__file__).resolve().parents[2] / "shared" / "datasets"))
ORL = DATASETS / "orl"
CBCL = DATASETS / "cbcl"


def low_rank(n=60, m=40, rank=5, seed=0, dtype=np.float64):
    """An exactly rank-`rank` non-negative matrix with known factors."""
    rng = np.random.default_rng(seed)
    W = rng.random((n, rank))
    H = rng.random((rank, m))
    return (W @ H).astype(dtype), W, H


def orl_matrix():
    """ORL as A (10304, 400) float32 in [0, 1], or skip."""
    if not (ORL / "s1" / "1.pgm").is_file():
        pytest.skip(f"ORL faces not found at {ORL} (set FACENMF_DATA to the folder that holds orl/)")
    from PIL import Image

    files = [ORL / f"s{i}" / f"{j}.pgm" for i in range(1, 41) for j in range(1, 11)]
    return np.stack([np.asarray(Image.open(f), dtype=np.float32).ravel() / 255 for f in files],
                    axis=1)


def eight_bit_faces(m, n=96, rank=6, seed=0):
    """Non-negative 8-bit data (n, m) and the same as floats in [0, 1]."""
    A, _, _ = low_rank(n, m, rank, seed=seed)
    A = A + 0.05 * np.random.default_rng(seed).random(A.shape)
    A8 = np.round(A / A.max() * 255).astype(np.uint8)
    return A8, A8.astype(np.float64) / 255


def short_fit(A, **kw):
    """facenmf.nmf for 12 iterations in float64 (rank 5, seed 0), the options overridable."""
    import facenmf

    kw = {"max_iter": 12, "tol": 0, "random_state": 0, "dtype": np.float64, **kw}
    return facenmf.nmf(A, kw.pop("rank", 5), **kw)


def swimmer(size=20, torso=True):
    """A "swimmer" data set (Donoho & Stodden, NIPS 2003): a torso with four limbs, each in
    one of four positions; all 256 combinations.

    Returns ``(A, parts, image_shape)``: ``A`` (size², 256) in {0, 1}, one figure per
    column; ``parts`` (size², 17) the true parts — the torso and the 16 limb positions,
    disjoint, each appearing in the figures exactly as drawn (A = parts @ H_true with 0/1
    weights) — and ``(size, size)``.
    """
    c = size // 2
    body = [(r, c) for r in range(c - 4, c + 5)]
    # Each limb is a 3-pixel stroke from its joint (shoulders at the top of the torso, hips
    # at the bottom, left and right of it), pointing up (away from the torso's middle),
    # diagonally up, out, or diagonally down (towards the middle).
    limbs = []
    for r0, side in ((c - 4, -1), (c - 4, 1), (c + 4, -1), (c + 4, 1)):
        away = -1 if r0 < c else 1  # up for the shoulders, down for the hips
        c0 = c + side
        steps = [(away, 0), (away, side), (0, side), (-away, side)]
        limbs.append([[(r0 + dr * t, c0 + dc * t) for t in range(1, 4)] for dr, dc in steps])
    parts = np.zeros((size * size, 17))
    for r, cc in body:
        parts[r * size + cc, 0] = 1
    for limb in range(4):
        for pos in range(4):
            for r, cc in limbs[limb][pos]:
                parts[r * size + cc, 1 + 4 * limb + pos] = 1
    assert parts.sum(axis=1).max() == 1, "parts overlap"
    H = np.zeros((17, 256))
    H[0] = 1
    for j in range(256):
        for limb in range(4):
            H[1 + 4 * limb + (j >> (2 * limb)) % 4, j] = 1
    if not torso:  # the limbs alone: 16 parts
        parts, H = parts[:, 1:], H[1:]
    return parts @ H, parts, (size, size)


def matched_parts(W, parts):
    """Cosine similarity of each true part (column of ``parts``) with the basis image (column
    of ``W``) the Hungarian assignment gives it, as an array (n_parts,)."""
    from scipy.optimize import linear_sum_assignment

    W = np.asarray(W, dtype=np.float64)
    Wn = W / np.maximum(np.linalg.norm(W, axis=0), 1e-300)
    Pn = parts / np.linalg.norm(parts, axis=0)
    cos = Pn.T @ Wn
    rows, cols = linear_sum_assignment(-cos)
    return cos[rows, cols]


class TerminalReader:
    """Everything a process writes to a pseudo-terminal, read as it comes.

    A process whose terminal is not read blocks once the terminal's buffer is full (a progress
    bar fills it within seconds), so a test that waits for the process without reading would
    wait for ever under load: the reader drains the terminal in a thread until it closes.
    """

    def __init__(self, leader):
        import threading

        self._fd, self._chunks = leader, []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        while True:
            try:
                chunk = os.read(self._fd, 65536)
            except OSError:  # the terminal closed with the process
                return
            if not chunk:
                return
            self._chunks.append(chunk)

    def text(self):
        return b"".join(self._chunks)

    def wait_for(self, pattern, proc, timeout):
        """Until ``pattern`` (bytes regex) was written, the process ended or ``timeout`` s."""
        import re
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if re.search(pattern, self.text()):
                return True
            time.sleep(0.05)
        return re.search(pattern, self.text()) is not None

    def close(self, timeout=30):
        """After the process ended: the rest of what it wrote."""
        self._thread.join(timeout)
        return self.text().decode(errors="replace")
