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
