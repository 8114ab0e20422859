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
