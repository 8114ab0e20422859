"""The generator of large face sets: reproducible, prefix-stable, faithful to its sources."""

import numpy as np
import pytest

from facenmf.data import augment_faces, iter_augmented


@pytest.fixture
def source():
    rng = np.random.default_rng(0)
    return rng.random((6 * 5, 7)).astype(np.float32), (6, 5)


def test_without_changes_every_face_is_a_source_face(source):
    A, shape = source
    X = augment_faces(A, shape, 50, shift=0, flip=0, brightness=0, noise=0, random_state=1)
    for face in X.T:
        assert np.any(np.all(A == face[:, None], axis=0))


def test_flips_and_shifts_move_pixels_only(source):
    A, shape = source
    X = augment_faces(A, shape, 200, shift=2, flip=0.5, brightness=0, noise=0, random_state=2)
    h, w = shape
    images = A.T.reshape(-1, h, w)
    candidates = [np.roll(im[:, ::f], (dy, dx), axis=(0, 1)).ravel()
                  for im in images for f in (1, -1)
                  for dy in range(-2, 3) for dx in range(-2, 3)]
    C = np.array(candidates)
    for face in X.T:
        assert np.any(np.all(C == face, axis=1))
    # Both orientations occur.
    assert 0 < np.mean([np.any(np.all(A == f[:, None], axis=0)) for f in X.T]) < 1


def test_reproducible_and_the_same_faces_first(source):
    A, shape = source
    a = augment_faces(A, shape, 300, random_state=3, chunk=64)
    b = augment_faces(A, shape, 300, random_state=3, chunk=64)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(augment_faces(A, shape, 100, random_state=3, chunk=64),
                                  a[:, :100])
    assert not np.array_equal(augment_faces(A, shape, 300, random_state=4, chunk=64), a)
    blocks = list(iter_augmented(A, shape, 300, random_state=3, chunk=64))
    assert [s for s, _ in blocks] == [0, 64, 128, 192, 256]
    np.testing.assert_array_equal(np.hstack([b for _, b in blocks]), a)
    assert a.dtype == np.float32 and a.min() >= 0 and a.max() <= 1


def test_bad_arguments_are_named(source):
    A, shape = source
    with pytest.raises(ValueError, match=r"A: expected shape \(20, n_source\) for image_shape "
                       r"\(4, 5\), got \(30, 7\)"):
        augment_faces(A, (4, 5), 3)
    with pytest.raises(ValueError, match="flip: expected a number in"):
        augment_faces(A, shape, 3, flip=2)
    with pytest.raises(ValueError, match="n: expected an integer >= 1"):
        augment_faces(A, shape, 0)
