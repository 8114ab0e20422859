import json
import subprocess
import sys

import numpy as np
import pytest

import facenmf
from facenmf import recognition
from facenmf.data import FaceSet

from helpers import ORL
from reference import (clean_outlier_masks, nnls_columns, robust_project_all_faces,
                       whitened_cosine_distances)

SHAPE = (16, 16)
#: Eyes and mouth of the synthetic 16 x 16 "faces" (blobs without eyes): sunglasses over
#: rows 4-8, a scarf from row 10 down.
ROWS = recognition.FaceRows(eyes=6.4, mouth=12.8)


@pytest.fixture(scope="module")
def identities():
    """8 synthetic identities: each a few blobs (its parts), 10 noisy, re-lit views."""
    rng = np.random.default_rng(0)
    h, w = SHAPE
    yy, xx = np.mgrid[:h, :w]
    faces, labels = [], []
    for person in range(8):
        base = np.zeros(SHAPE)
        for _ in range(4):
            cy, cx, s = rng.uniform(2, h - 2), rng.uniform(2, w - 2), rng.uniform(1.5, 3.5)
            base += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
        base /= base.max()
        for _ in range(10):
            face = base * rng.uniform(0.8, 1.0) + 0.03 * rng.random(SHAPE)
            faces.append(np.clip(face, 0, 1).ravel())
            labels.append(f"p{person}")
    A = np.asarray(faces, dtype=np.float32).T
    return FaceSet(A=A, labels=np.array(labels), image_shape=SHAPE)


@pytest.fixture(scope="module")
def part_identities():
    """10 synthetic identities made of parts: each picks one of 3 variants of 4 parts
    (eyes, nose, mouth regions; identities may share all but one), and each face shows
    every part at its own random strength in [0.1, 1] (expression, lighting of that part)
    plus faint noise. Variants of a part overlap in pixels, so raw pixels confuse them;
    NMF learns the parts and weighs each on its own. Nobody is near perfect here."""
    rng = np.random.default_rng(0)
    h, w = SHAPE
    yy, xx = np.mgrid[:h, :w]

    def blob(cy, cx, sy, sx):
        return np.exp(-(yy - cy) ** 2 / (2 * sy * sy) - (xx - cx) ** 2 / (2 * sx * sx))

    variants = [[blob(cy + rng.uniform(-1, 1), cx + rng.uniform(-1, 1), rng.uniform(0.8, 2),
                      rng.uniform(0.8, 2.5)) for _ in range(3)]
                for cy, cx in ((4, 4.5), (4, 11.5), (8.5, 8), (12.5, 8))]
    codes = set()
    while len(codes) < 10:
        codes.add(tuple(rng.integers(0, 3, 4)))
    faces, labels = [], []
    for person, code in enumerate(sorted(codes)):
        for _ in range(10):
            face = sum(rng.uniform(0.1, 1.0) * variants[part][c] for part, c in enumerate(code))
            faces.append((face + 0.05 * rng.random(SHAPE)).ravel())
            labels.append(f"p{person}")
    A = np.asarray(faces).T
    return FaceSet(A=(A / A.max()).astype(np.float32), labels=np.array(labels),
                   image_shape=SHAPE)


def accuracy(report, method, condition="clean", metric="cosine"):
    return next(r["mean"] for r in report.results if r["method"] == method
                and r["condition"] == condition and r["metric"] == metric)


def test_parts_based_identities_are_recognized(part_identities):
    rep = recognition.evaluate(part_identities, rank=12, n_splits=3,
                               methods=recognition.METHODS, metrics=recognition.METRICS)
    acc = {(r["method"], r["metric"]): r["mean"] for r in rep.results}
    # The data set is not trivial: raw pixels are far from perfect with every metric.
    assert max(acc["raw", m] for m in recognition.METRICS) <= 0.95, acc
    assert acc["raw", "cosine"] <= 0.85, acc
    # NMF's weights tell the parts apart: well above raw pixels by the same metric.
    assert acc["nmf", "cosine"] >= 0.85, acc
    assert acc["nmf", "cosine"] >= acc["raw", "cosine"] + 0.08, acc
    assert acc["nmf", "whitened"] >= 0.85 and acc["snmf", "whitened"] >= 0.85, acc
    # The learned metric discounts each part's strength for every method, and every
    # method x metric works (chance is 10%).
    for method in recognition.METHODS:
        assert acc[method, "whitened"] >= 0.8, (method, acc)
        for metric in recognition.METRICS:
            assert acc[method, metric] >= 0.5, (method, metric, acc)
    assert {r["splits"] for r in rep.results} == {3}
    assert all(len(r["accuracies"]) == 3 for r in rep.results)


@pytest.mark.parametrize("mask", ["known", "unknown"])
def test_occluded_synthetic_probes_are_recognized(identities, mask):
    rep = recognition.evaluate(identities, rank=8, n_splits=3, conditions=("block:0.25",),
                               mask=mask, metrics=("cosine", "whitened"))
    assert accuracy(rep, "nmf", "block:0.25") >= 0.9
    assert accuracy(rep, "nmf", "block:0.25", "whitened") >= 0.9
    assert {r["method"] for r in rep.results} == set(recognition.METHODS)
    cond = [r for r in rep.results if r["condition"] == "block:0.25"]
    assert {r["mask"] for r in cond} == {mask}


def test_robust_projection_finds_the_occluder(identities):
    model = facenmf.NMF(8, random_state=0).fit(identities.A)
    clean = np.asarray(identities.A[:, :12])
    occluded, mask = recognition.occlude(clean, SHAPE, "block:0.25", random_state=1)
    H, found = facenmf.robust_project(occluded, model.W, image_shape=SHAPE)
    overlap = (found & mask).sum() / (found | mask).sum()
    assert overlap > 0.6
    H_known = model.transform(occluded, mask=mask)
    H_clean = model.transform(clean)
    # Far closer to the clean weights than a plain projection of the occluded faces.
    plain = model.transform(occluded)
    assert np.linalg.norm(H - H_clean) < 0.5 * np.linalg.norm(plain - H_clean)
    assert np.linalg.norm(H_known - H_clean) < 0.5 * np.linalg.norm(plain - H_clean)


@pytest.mark.parametrize("condition", ["block:0.25", "scarf", "noise:0.1"])
def test_robust_projection_matches_the_slow_reference(identities, condition):
    """Only the faces whose outliers still change are re-projected: same result as
    re-projecting every face until none changes."""
    model = facenmf.NMF(8, random_state=0).fit(identities.A[:, ::2])
    occluded, _ = recognition.occlude(np.asarray(identities.A[:, 1::2]), SHAPE, condition,
                                      random_state=3)
    H, found = facenmf.robust_project(occluded, model.W, image_shape=SHAPE)
    H_ref, found_ref = robust_project_all_faces(occluded, model.W, SHAPE)
    assert np.array_equal(found, found_ref)
    np.testing.assert_allclose(H, H_ref, rtol=1e-4, atol=1e-5 * float(np.abs(H_ref).max()))


@pytest.mark.parametrize("shape", [(16, 16), (7, 5), (1, 6), (2, 2)])
def test_outlier_mask_cleanup_matches_scipy(shape):
    rng = np.random.default_rng(0)
    for p in (0.1, 0.4, 0.8):
        outliers = rng.random((shape[0] * shape[1], 25)) < p
        assert np.array_equal(recognition.clean_outliers(outliers, shape),
                              clean_outlier_masks(outliers, shape))


def test_inlier_median_matches_nanmedian():
    rng = np.random.default_rng(1)
    size = rng.random((9, 6))
    mask = rng.random((9, 6)) < 0.4
    mask[:, 0], mask[:, 1] = True, False  # no inliers (NaN), no outliers
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match="All-NaN"):
        expected = np.nanmedian(np.where(mask, np.nan, size), axis=0)
    np.testing.assert_array_equal(recognition.inlier_median(size, mask), expected)


def test_robust_projection_checks_arguments():
    W = np.ones((6, 2))
    with pytest.raises(ValueError, match="keep: expected a fraction"):
        facenmf.robust_project(np.ones((6, 1)), W, keep=1.5)
    with pytest.raises(ValueError, match="image_shape: expected"):
        facenmf.robust_project(np.ones((6, 1)), W, image_shape=(2, 2))


def test_splits_are_stratified_seeded_and_disjoint(identities):
    folds = list(recognition.protocol_folds(identities, "split", 5, 4, 0))
    again = list(recognition.protocol_folds(identities, "split", 5, 4, 0))
    assert len(folds) == 4
    labels = identities.labels
    for (train, test), (train2, test2) in zip(folds, again):
        np.testing.assert_array_equal(train, train2)
        assert not set(train) & set(test) and len(train) + len(test) == len(labels)
        _, counts = np.unique(labels[train], return_counts=True)
        assert set(counts) == {5}
    assert not np.array_equal(folds[0][0], folds[1][0])
    loo = list(recognition.protocol_folds(identities, "leave-one-out", 5, 4, 0))
    assert len(loo) == 10
    for train, test in loo:
        assert len(test) == 8 and len(set(labels[test])) == 8 and len(train) == 72


def test_leave_one_out_protocol(identities):
    rep = recognition.evaluate(identities, rank=8, protocol="leave-one-out", methods=("nmf",))
    assert rep.protocol["name"] == "leave-one-out" and rep.protocol["splits"] == 10
    assert accuracy(rep, "nmf") >= 0.98


def ridge_reference(probes, W, mask, strength):
    """Slow reference of the ridge projection: scipy's NNLS on ``[a; 0]`` and
    ``[W; sqrt(mu) I]`` over each face's unmasked pixels, ``mu = strength ||W_v||² / k``."""
    k = W.shape[1]
    H = np.empty((k, probes.shape[1]))
    for j in range(probes.shape[1]):
        seen = ~mask[:, j]
        mu = strength * np.sum(W[seen] ** 2) / k
        H[:, j] = nnls_columns(np.concatenate([probes[seen, j], np.zeros(k)])[:, None],
                               np.vstack([W[seen], np.sqrt(mu) * np.eye(k)]))[:, 0]
    return H


def test_supervised_nmf_projects_with_a_ridge_penalty(identities):
    A = np.asarray(identities.A, dtype=np.float64)
    labels = np.asarray(identities.labels)
    feats = recognition.SNMFFeatures(A[:, ::2], labels[::2], 8, {"random_state": 0,
                                                                 "dtype": np.float64})
    feats.ridge = strength = 0.3
    W, k = feats.W, 8
    probes = A[:, 1::2]
    no_mask = np.zeros(probes.shape, dtype=bool)
    np.testing.assert_allclose(feats.project(probes),
                               ridge_reference(probes, W, no_mask, strength), atol=1e-8)
    # A known mask drops those pixels; the penalty shrinks with the basis energy they held.
    mask = np.zeros(A.shape[0], dtype=bool)
    mask[:50] = True
    expected = ridge_reference(probes, W, np.repeat(mask[:, None], probes.shape[1], axis=1),
                               strength)
    np.testing.assert_allclose(feats.project(probes, mask), expected, atol=1e-8)
    masks = recognition.occlude(probes, SHAPE, "block:0.3", random_state=0)[1]
    np.testing.assert_allclose(feats.project(probes, masks),
                               ridge_reference(probes, W, masks, strength), atol=1e-8)
    assert feats.gallery.shape == (k, A.shape[1] // 2) and np.all(feats.gallery >= 0)


def test_scarf_with_unknown_mask_is_helped_by_half_face_hypotheses(identities):
    def scarf_accuracy(**options):
        rep = recognition.evaluate(identities, rank=8, n_splits=3, conditions=("scarf",),
                                   methods=("nmf",), face_rows=ROWS, **options)
        return accuracy(rep, "nmf", "scarf")

    with_halves = scarf_accuracy()
    no_halves = scarf_accuracy(half_face_penalty=np.inf)  # halves never win
    assert with_halves >= 0.9 and with_halves > no_halves


@pytest.mark.parametrize("penalty,expected", [(1.5, "a"), (5.0, "b")])
def test_each_probe_keeps_the_hypothesis_nearest_to_the_gallery(penalty, expected):
    class Gallery:
        gallery = np.array([[1.0, 0.0], [0.0, 1.0]])  # faces of "a" and "b"

    labels = np.array(["a", "b"])
    main = np.array([[0.6], [0.8]])  # cosine distance 0.2 from b (0.4 from a)
    half = np.array([[0.9], [np.sqrt(1 - 0.9**2)]])  # 0.1 from a, counted as 0.1 * penalty
    d = recognition.distance_sets("nmf", Gallery, [(main, 1.0), (half, penalty)], None,
                                  "unknown", ("euclidean",), labels)["euclidean"]
    # The choice is made by cosine distance; every metric then uses the chosen weights.
    assert labels[d.argmin(axis=0)][0] == expected
    chosen = half if expected == "a" else main
    np.testing.assert_allclose(d[:, 0], np.linalg.norm(Gallery.gallery - chosen, axis=0))


@pytest.mark.parametrize("condition,fraction", [("block:0.25", 0.25), ("sunglasses", 5 / 16),
                                                ("scarf", 6 / 16), ("noise:0.1", 0.1)])
def test_occlusions_cover_what_they_say(condition, fraction):
    A = np.full((16 * 16, 50), 0.5, dtype=np.float32)
    occluded, mask = recognition.occlude(A, SHAPE, condition, random_state=0, face_rows=ROWS)
    assert occluded.shape == A.shape and mask.shape == A.shape
    assert abs(mask.mean() - fraction) < 0.05  # whole pixel rows and squares
    np.testing.assert_array_equal(occluded[~mask], 0.5)
    if condition == "noise:0.1":
        assert set(np.unique(occluded[mask])) <= {0.0, 1.0}
    else:
        assert np.all(occluded[mask] == 0)


def _face(h=60, w=50, eyes=24, mouth=44, shift=0):
    """A bright oval face with two dark eyes and a dark mouth, moved down by ``shift``."""
    yy, xx = np.mgrid[:h, :w].astype(float)
    face = 0.2 + 0.6 * (((yy - 34 - shift) / 30) ** 2 + ((xx - w / 2) / 20) ** 2 < 1)
    for x0 in (w / 2 - 9, w / 2 + 9):
        face -= 0.5 * np.exp(-((yy - eyes - shift) ** 2 / 4 + (xx - x0) ** 2 / 12))
    face -= 0.4 * np.exp(-((yy - mouth - shift) ** 2 / 4 + (xx - w / 2) ** 2 / 40))
    return np.clip(face, 0, 1)


@pytest.mark.parametrize("shift", [0, 3, 7])
def test_face_rows_follow_a_shifted_face(shift):
    rng = np.random.default_rng(shift)
    A = np.stack([(_face(shift=shift) + 0.03 * rng.random((60, 50))).ravel()
                  for _ in range(10)], axis=1)
    rows = recognition.estimate_face_rows(A, (60, 50))
    assert abs(rows.eyes - (24 + shift)) <= 1 and abs(rows.mouth - (44 + shift)) <= 1
    _, mask = recognition.occlude(A, (60, 50), "sunglasses")  # rows estimated from A
    band = np.flatnonzero(mask.reshape(60, 50, -1)[:, 0, 0])
    assert band[0] < 24 + shift - 2 and band[-1] > 24 + shift + 2  # the eyes, with margin
    assert band[-1] < 44 + shift - 2  # not the mouth
    _, mask = recognition.occlude(A, (60, 50), "scarf")
    top = np.flatnonzero(mask.reshape(60, 50, -1)[:, 0, 0])[0]
    assert 24 + shift + 2 < top < 44 + shift - 2  # below the eyes, above the mouth


def test_face_rows_come_from_the_gallery(identities, monkeypatch):
    from facenmf.recognition import _occlusions as _occ
    from facenmf.recognition import _protocol, _tuning

    seen = []
    real = _occ.estimate_face_rows

    def spy(A, image_shape):
        seen.append(np.asarray(A).copy())
        return real(A, image_shape)

    monkeypatch.setattr(_protocol, "estimate_face_rows", spy)
    monkeypatch.setattr(_tuning, "estimate_face_rows", spy)
    A = np.asarray(identities.A)
    folds = list(recognition.protocol_folds(identities, "split", 5, 1, 0))
    recognition.evaluate(identities, rank=4, n_splits=1, methods=("nmf",), metrics=("cosine",),
                         conditions=("sunglasses",), tune={"rank": [4]})
    train, test = folds[0]
    # Every estimate saw gallery faces (the split's or an inner fold's), never a probe.
    gallery = {tuple(A[:, j]) for j in train}
    assert seen and all(tuple(col) in gallery for X in seen for col in X.T)
    assert any(X.shape[1] == len(train) for X in seen)


@pytest.mark.parametrize("bad", [(30, 20), (5,), "eyes", (-1, 8), (4, 17)])
def test_bad_face_rows_are_one_line(identities, bad):
    with pytest.raises(ValueError, match=r"^face_rows: expected") as info:
        recognition.evaluate(identities, rank=4, n_splits=1, methods=("raw",),
                             conditions=("scarf",), face_rows=bad)
    assert "\n" not in str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["orl", "umist", "gt40x30"])
def test_face_rows_of_the_shared_databases_are_plausible(name):
    from helpers import DATASETS

    if not (DATASETS / name).is_dir():
        pytest.skip(f"{name} not found at {DATASETS / name}")
    faces = facenmf.load_faces(DATASETS / name)
    h = faces.image_shape[0]
    rows = recognition.estimate_face_rows(faces.A, faces.image_shape)
    # Eyes in the upper half, the mouth in the lower third, a face-sized gap between.
    assert 0.25 * h < rows.eyes < 0.55 * h and 0.6 * h < rows.mouth < 0.85 * h
    assert rows.distance > 0.2 * h


@pytest.mark.parametrize("bad", ["block", "block:2", "hat", "noise:-0.1", "block:0"])
def test_bad_conditions_are_refused(bad):
    with pytest.raises(ValueError, match="condition"):
        recognition.parse_condition(bad)


def test_nearest_neighbours_votes():
    gallery = np.array([[0.0, 0.1, 5.0, 5.1, 5.2]])
    labels = np.array(["a", "a", "b", "b", "b"])
    probe = np.array([[0.2]])
    assert recognition.nearest_neighbours(gallery, labels, probe, metric="l1", k=1)[0][0] == "a"
    assert recognition.nearest_neighbours(gallery, labels, probe, metric="l1", k=5)[0][0] == "b"
    with pytest.raises(ValueError, match="metric: unknown value"):
        recognition.nearest_neighbours(gallery, labels, probe, metric="hamming")


@pytest.mark.parametrize("d", [5, 40])  # fewer and more features than gallery faces
def test_whitened_distances_match_the_dense_reference(d):
    rng = np.random.default_rng(d)
    labels = np.repeat(np.arange(6), 4)
    G = rng.random((d, 24)) + rng.random((d, 6))[:, labels]
    P = rng.random((d, 7))
    fast = recognition.whitened_distances(G, labels, P, shrinkage=0.2)
    np.testing.assert_allclose(fast, whitened_cosine_distances(G, labels, P, 0.2),
                               rtol=1e-8, atol=1e-10)
    assert fast.shape == (24, 7) and np.all((fast >= 0) & (fast <= 2))


def test_whitened_distances_ignore_the_scale_of_each_feature():
    # NMF's W H = (W D)(D⁻¹ H): the components' scales are arbitrary, the metric must not care.
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(5), 3)
    G, P = rng.random((8, 15)), rng.random((8, 4))
    scale = np.exp(rng.normal(0, 2, size=(8, 1)))
    np.testing.assert_allclose(recognition.whitened_distances(G * scale, labels, P * scale),
                               recognition.whitened_distances(G, labels, P),
                               rtol=1e-7, atol=1e-10)


def test_whitening_discounts_what_varies_within_a_person():
    # Identity lives in features 0-3 (small differences); features 4-6 are a large nuisance
    # (like lighting) that varies within every person. Cosine is fooled by it, the
    # whitened metric is not.
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(4, 10))

    def sample(reps):
        lab = np.repeat(np.arange(10), reps)
        X = np.vstack([centres[:, lab] + 0.1 * rng.normal(size=(4, lab.size)),
                       20 * rng.normal(size=(3, lab.size))])
        return X, lab

    (G, g_lab), (P, p_lab) = sample(5), sample(3)
    right = {m: np.mean(recognition.nearest_neighbours(G, g_lab, P, metric=m)[0] == p_lab)
             for m in ("cosine", "whitened")}
    assert right["whitened"] >= 0.9 and right["cosine"] < 0.6, right


def test_whitened_distances_with_one_face_per_person_are_the_centred_cosine():
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(3)
    G, P = rng.random((6, 4)), rng.random((6, 3))
    mean = G.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(recognition.whitened_distances(G, np.arange(4), P),
                               cdist((G - mean).T, (P - mean).T, "cosine"), atol=1e-12)


def test_whitened_distances_refuse_bad_shapes_and_shrinkage():
    G, P, lab = np.ones((3, 4)), np.ones((3, 2)), np.arange(4)
    with pytest.raises(ValueError, match="shrinkage: expected a number in"):
        recognition.whitened_distances(G, lab, P, shrinkage=1.5)
    with pytest.raises(ValueError, match="whitened_distances: expected gallery"):
        recognition.whitened_distances(G, lab[:3], P)


def test_unlabelled_faces_are_refused():
    faces = FaceSet(A=np.ones((4, 3), np.float32), labels=None, image_shape=(2, 2))
    with pytest.raises(ValueError, match="needs identity labels"):
        recognition.evaluate(faces)


def _flat_folder_of_one_subfolder(root, n=10):
    from PIL import Image

    folder = root / "photos" / "holiday"  # one sub-folder: one identity, "holiday"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for j in range(n):
        Image.fromarray((rng.random(SHAPE) * 255).astype(np.uint8)).save(folder / f"{j}.png")
    return root / "photos"


def test_one_identity_is_refused_before_the_rank(identities, tmp_path):
    one = identities.select(["p3"])
    for rank in (8, 1000):  # the identities are checked first, whatever the rank
        with pytest.raises(ValueError) as excinfo:
            recognition.evaluate(one, rank=rank, n_splits=1, methods=("raw",))
        assert str(excinfo.value) == ("faces: recognition needs at least 2 identities, "
                                      "found 1 ('p3', 10 faces)")
    # A folder holding one sub-folder of images loads as one identity: refused the same way.
    faces = facenmf.load_faces(_flat_folder_of_one_subfolder(tmp_path))
    with pytest.raises(ValueError, match=r"^faces: recognition needs at least 2 identities, "
                                         r"found 1 \('holiday', 10 faces\)$"):
        recognition.evaluate(faces)


def test_recognize_cli_refuses_one_identity(tmp_path):
    folder = _flat_folder_of_one_subfolder(tmp_path)
    r = subprocess.run([sys.executable, "-m", "facenmf.cli", "recognize", str(folder)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "100.0%" not in r.stdout
    assert "at least 2 identities, found 1 ('holiday', 10 faces)" in r.stderr, r.stderr
    assert "rank" not in r.stderr


def test_identities_with_too_few_faces_are_refused_before_the_rank(identities):
    keep = np.ones(identities.n_faces, dtype=bool)
    keep[np.flatnonzero(identities.labels == "p2")[4:]] = False  # p2 keeps 4 faces
    keep[np.flatnonzero(identities.labels == "p5")[1:]] = False  # p5 keeps 1
    few = identities.subset(keep)
    with pytest.raises(ValueError) as excinfo:
        recognition.evaluate(few, rank=1000, train_per_identity=5)
    text = _one_line(excinfo)
    assert text.startswith("faces: the split protocol needs 6 faces of each identity "
                           "(train_per_identity=5 in the gallery and a probe), found 2 of 8 "
                           "identities with fewer: ('p2', 4 faces); ('p5', 1 face)"), text
    assert "select(min_faces=6)" in text
    with pytest.raises(ValueError, match=r"^faces: the leave-one-out protocol needs 2 faces "
                                         r"of each identity .* found 1 of 8 identities with "
                                         r"fewer: \('p5', 1 face\)"):
        recognition.evaluate(few, rank=1000, protocol="leave-one-out")
    # With 4 training faces per identity only p5 is short.
    with pytest.raises(ValueError, match=r"found 1 of 8 identities with fewer: \('p5'"):
        recognition.evaluate(few, rank=8, train_per_identity=3, methods=("raw",))


def _one_line(excinfo):
    text = str(excinfo.value)
    assert "\n" not in text, text
    return text


def test_examples_hold_every_condition(identities):
    rep = recognition.evaluate(identities, rank=8, n_splits=1, methods=("nmf", "raw"),
                               metrics=("whitened", "cosine"), conditions=("scarf", "block:0.25"),
                               face_rows=ROWS)
    ex = rep.examples
    assert ex["metric"] == "whitened"
    assert [(g["condition"], g["mask"]) for g in ex["conditions"]] == [
        ("clean", None), ("scarf", "unknown"), ("block:0.25", "unknown")]
    test = ex["probe_index"]
    labels = identities.labels
    clean = np.asarray(identities.A)[:, test]
    for group in ex["conditions"]:
        assert group["probes"].shape == clean.shape and set(group["nearest"]) == {"nmf", "raw"}
        for method in ("nmf", "raw"):
            # The neighbours are by the first metric: their accuracy is the reported one.
            right = labels[group["nearest"][method]] == labels[test]
            np.testing.assert_array_equal(right, group["correct"][method])
            assert right.mean() == next(r["accuracies"][0] for r in rep.results if (
                r["method"], r["condition"], r["metric"]) == (method, group["condition"],
                                                             "whitened"))
    np.testing.assert_array_equal(ex["conditions"][0]["probes"], clean)
    scarf = ex["conditions"][1]["probes"].reshape(*SHAPE, -1)
    assert not scarf[10:].any() and scarf[:10].any()


def test_rank_beyond_the_training_faces_is_refused(identities):
    with pytest.raises(ValueError, match=r"rank: expected at most 40 \(the 40 training faces "
                                         r"of a fold\), got 41"):
        recognition.evaluate(identities, rank=41, n_splits=1, methods=("pca",))


def test_recognize_cli_json_schema(tmp_path, identities):
    from PIL import Image

    for j, (label, col) in enumerate(zip(identities.labels, identities.A.T)):
        folder = tmp_path / "faces" / label
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((np.asarray(col).reshape(SHAPE) * 255).astype(np.uint8)).save(
            folder / f"{j}.png")
    r = subprocess.run([sys.executable, "-m", "facenmf.cli", "recognize", str(tmp_path / "faces"),
                        "--rank", "8", "--splits", "2", "--occlusion", "block:0.25",
                        "--metric", "cosine", "--metric", "l1", "--method", "all", "--json",
                        "--figures", str(tmp_path / "fig")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    plain = [res for res in doc["results"] if res["metric"] != "tuned"]
    tuned = [res for res in doc["results"] if res["metric"] == "tuned"]
    assert len(plain) == len(recognition.METHODS) * 2 * 2
    # Tuned by default: the NMF pipeline and each baseline, per condition.
    assert sorted((res["method"], res["condition"]) for res in tuned) == sorted(
        (m, c) for m in ("tuned", "pca", "raw") for c in ("clean", "block:0.25"))
    for res in doc["results"]:
        assert res["method"] in ("nmf", "snmf", "pca", "raw", "tuned")
        assert res["condition"] in ("clean", "block:0.25")
        assert res["mask"] == (None if res["condition"] == "clean" else "unknown")
        assert res["metric"] in ("cosine", "l1", "tuned") and 0 <= res["mean"] <= 1
        assert res["std"] >= 0 and res["splits"] == 2
    for res in tuned:
        assert len(res["chosen"]) == 2 and all(s["metric"] in ("cosine", "l1")
                                               for s in res["chosen"])
    assert doc["rank"] == 8 and doc["ranks"] == [8] and doc["protocol"]["splits"] == 2
    assert all(res["rank"] == 8 for res in doc["results"])
    for path in doc["figures"].values():
        assert (tmp_path / "fig").exists() and __import__("os").path.getsize(path) > 1000
    assert {"confusion", "identities"} <= set(doc["figures"])
    # Per identity, in the JSON: confusion counts summed over the splits, whose diagonal is
    # each identity's accuracy and whose total is the accuracy reported.
    names = doc["identities"]
    assert names == sorted({str(x) for x in identities.labels})
    for res in doc["results"]:
        C = np.zeros((len(names), len(names)), dtype=int)
        for i, j, n in res["confusion"]:  # sparse: the non-zero counts
            assert n > 0
            C[i, j] += n
        assert C.shape == (len(names), len(names)) and C.sum() == 2 * len(names) * 5
        assert np.trace(C) / C.sum() == pytest.approx(res["mean"])
        np.testing.assert_allclose(res["per_identity"], np.diag(C) / C.sum(axis=1))

    # Several ranks: every result carries its rank, plus a figure of accuracy against rank.
    r = subprocess.run([sys.executable, "-m", "facenmf.cli", "recognize", str(tmp_path / "faces"),
                        "--rank", "4", "8", "--splits", "2", "--method", "nmf", "--json",
                        "--no-tune",
                        "--figures", str(tmp_path / "fig2")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert "rank" not in doc and doc["ranks"] == [4, 8] and set(doc["seconds"]) == {"4", "8"}
    assert [res["rank"] for res in doc["results"]] == [4, 4, 8, 8]  # cosine, whitened
    assert set(doc["figures"]) == {"results", "examples", "accuracy_vs_rank", "confusion",
                                   "identities"}
    assert __import__("os").path.getsize(doc["figures"]["accuracy_vs_rank"]) > 1000


@pytest.mark.slow
def test_orl_two_splits_tuned_on_the_gallery():
    if not (ORL / "s1" / "1.pgm").is_file():
        pytest.skip(f"ORL faces not found at {ORL}")
    faces = facenmf.load_faces("orl", path=ORL, size=(56, 46))
    rep = recognition.evaluate(faces, n_splits=2, conditions=("block:0.25",),
                               methods=("nmf", "snmf", "pca"), tune=True)
    got = {(r["method"], r["condition"]): r["mean"] for r in rep.results
           if r["metric"] == "tuned"}
    clean, blocked = got["tuned", "clean"], got["tuned", "block:0.25"]
    assert clean > 0.93, got
    # A quarter of the face hidden at an unknown place costs the NMF pipeline a few points
    # only; PCA loses most of its accuracy.
    assert blocked > 0.85 and blocked >= clean - 0.07, got
    assert blocked > got["pca", "block:0.25"] + 0.3, got


def test_confusion_counts_are_sparse_and_make_the_accuracies(identities):
    rep = recognition.evaluate(identities, rank=4, n_splits=2, methods=("raw",),
                               metrics=("euclidean", "cosine"))
    n = len(rep.identities)
    for r in rep.results:
        C = rep.confusion_matrix("raw", metric=r["metric"])
        assert C.shape == (n, n) and C.sum() == sum(c for _, _, c in r["confusion"])
        assert all(c > 0 for _, _, c in r["confusion"])  # only the non-zero entries
        assert np.trace(C) / C.sum() == pytest.approx(r["mean"])
        np.testing.assert_allclose(r["per_identity"], np.diag(C) / C.sum(axis=1))
    with pytest.raises(ValueError, match="no result for 'pca'"):
        rep.confusion_matrix("pca")
