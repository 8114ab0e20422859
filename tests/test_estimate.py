"""recognize says how long it will take when that is long, and suggests a --size."""

import re

import numpy as np
import pytest

from facenmf import recognition
from facenmf.cli._estimate import SLOW_RUN_SECONDS, fits_per_split, warn_if_slow
from facenmf.data import FaceSet


@pytest.fixture(scope="module")
def faces():
    rng = np.random.default_rng(0)
    A = rng.random((64 * 48, 4 * 4)).astype(np.float32)
    return FaceSet(A=A, labels=np.repeat([f"p{i}" for i in range(4)], 4), image_shape=(64, 48))


OPTIONS = dict(ranks=[3], methods=recognition.METHODS, tune=False, n_tune_ranks=1,
               protocol="split", train_per_identity=2, n_splits=10, seed=0)


def test_a_slow_run_is_announced_with_a_smaller_size(faces, capsys):
    message = warn_if_slow(faces, threshold=0.0, **OPTIONS)  # any run is "slow"
    err = capsys.readouterr().err
    assert err == f"facenmf: {message}\n"
    # "about 9 s for 10 splits at 64x48; --size 32 24 would take about 2 s": halved while
    # both sides stay 16 pixels or more (nothing is quick enough for threshold 0).
    assert re.fullmatch(r"about \d+(\.\d)? (s|min|h) for 10 splits at 64x48; --size 32 24 "
                        r"would take about \d+(\.\d)? (s|min|h)", message), message


def test_a_quick_run_says_nothing(faces, capsys):
    assert SLOW_RUN_SECONDS == 120.0
    assert warn_if_slow(faces, **OPTIONS) is None  # a tiny run is far below 2 minutes
    assert capsys.readouterr().err == ""


def test_leave_one_out_counts_its_folds(faces, capsys):
    message = warn_if_slow(faces, threshold=0.0, **{**OPTIONS, "protocol": "leave-one-out"})
    assert " for 4 folds at 64x48" in message


def test_fits_are_counted_per_method_and_tuning():
    assert fits_per_split(("pca", "raw"), True, 1, 5) == 0
    assert fits_per_split(("nmf", "pca"), False, 1, 5) == 1
    # nmf: its fit, the chosen setting's, 5 inner galleries x 2 ranks; snmf: x 3 weights.
    assert fits_per_split(("nmf", "snmf"), True, 2, 5) == (1 + 1 + 10) + (1 + 1 + 30)
