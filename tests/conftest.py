"""Fixtures only; the helpers and constants the tests import are in helpers.py."""

import numpy as np
import pytest

from helpers import low_rank


@pytest.fixture
def exact():
    return low_rank()


@pytest.fixture
def faces_like():
    """Non-negative data that is not exactly low rank (noise on a low-rank part)."""
    rng = np.random.default_rng(1)
    A, _, _ = low_rank(120, 50, 8, seed=1)
    return A + 0.05 * rng.random(A.shape)
