"""Settings chosen by inner cross-validation on the gallery (recognition/_tuning.py)."""

from __future__ import annotations

import numpy as np
import pytest

from facenmf import FaceSet, recognition
from facenmf.recognition import GRID, choose_settings, inner_folds, ledoit_wolf_shrinkage

SHAPE = (12, 10)


@pytest.fixture(scope="module")
def people():
    """6 synthetic identities of 6 faces: each a few blobs, re-lit, faintly noisy."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:SHAPE[0], :SHAPE[1]]
    faces, labels = [], []
    for person in range(6):
        base = sum(np.exp(-((yy - rng.uniform(1, 11)) ** 2 + (xx - rng.uniform(1, 9)) ** 2)
                          / (2 * rng.uniform(1.5, 3) ** 2)) for _ in range(3))
        for _ in range(6):
            face = base / base.max() * rng.uniform(0.7, 1.0) + 0.08 * rng.random(SHAPE)
            faces.append(face.ravel())
            labels.append(f"p{person}")
    A = np.clip(np.asarray(faces).T, 0, None).astype(np.float32)
    return FaceSet(A=A, labels=np.array(labels), image_shape=SHAPE)


SMALL = {"identity_weight": (1.0, 2.0), "ridge": (0.0, 1.0), "shrinkage": ("auto", 0.1),
         "half_face_penalty": (1.0, 2.0)}


def tuned(report, condition="clean", method="tuned"):
    return next(r for r in report.results if r["method"] == method
                and r["condition"] == condition and r["metric"] == "tuned")


def test_inner_folds_leave_one_face_of_each_identity_out():
    labels = np.array(["a", "b", "a", "b", "a", "c", "c"])
    folds = inner_folds(labels)
    assert len(folds) == 3
    held = np.concatenate([test for _, test in folds])
    assert sorted(held.tolist()) == list(range(7))  # every face held out exactly once
    for train, test in folds:
        assert np.intersect1d(train, test).size == 0 and len(train) + len(test) == 7
        assert len(set(labels[test])) == len(test)  # one face per identity at most
        assert set(labels[train]) == {"a", "b", "c"}  # everyone stays in the gallery
    with pytest.raises(ValueError, match="at least 2 gallery faces of each identity"):
        inner_folds(np.array(["a", "a", "b"]))


def test_the_probes_labels_do_not_change_the_chosen_settings(people):
    """Inner cross-validation sees the gallery only: swapping the probes' labels changes the
    accuracy, never what was chosen."""
    labels = np.asarray(people.labels)
    folds = [people.split_indices(3, random_state=s) for s in (0, 1)]
    swapped = labels.copy()
    for _, test in folds[:1]:
        swapped[test] = np.roll(labels[test], 3)  # every probe now says someone else
    folds_b = [folds[0]]
    common = dict(rank=4, methods=("nmf", "snmf", "pca"), metrics=("cosine", "whitened"),
                  tune=SMALL, conditions=("block:0.25",))
    a = recognition.evaluate(people, folds=folds_b, **common)
    b = recognition.evaluate(FaceSet(A=people.A, labels=swapped, image_shape=SHAPE),
                             folds=folds_b, **common)
    for cond in ("clean", "block:0.25"):
        for method in ("tuned", "pca"):
            ra, rb = tuned(a, cond, method), tuned(b, cond, method)
            assert ra["chosen"] == rb["chosen"], (cond, method)
    assert tuned(a)["mean"] > 0.5 and tuned(b)["mean"] < 0.3  # the swap was felt


def test_tuned_results_report_the_chosen_settings_per_split(people):
    rep = recognition.evaluate(people, rank=4, train_per_identity=3, n_splits=2,
                               methods=("nmf", "snmf", "raw"), metrics=("cosine", "whitened"),
                               tune=SMALL)
    r = tuned(rep)
    assert r["splits"] == 2 and len(r["chosen"]) == 2 and 0 <= r["mean"] <= 1
    for setting in r["chosen"]:
        assert setting["method"] in ("nmf", "snmf") and setting["rank"] == 4
        assert setting["metric"] in ("cosine", "whitened")
        if setting["metric"] == "whitened":
            assert setting["shrinkage"] in SMALL["shrinkage"]
        if setting["method"] == "snmf":
            assert setting["identity_weight"] in SMALL["identity_weight"]
            assert setting["ridge"] in SMALL["ridge"]
        assert 0 <= setting["inner_accuracy"] <= 1
    raw = tuned(rep, method="raw")
    assert all(s["method"] == "raw" and "rank" not in s for s in raw["chosen"])
    # The plain results are still there, with the given settings.
    plain = {(x["method"], x["metric"]) for x in rep.results if x["metric"] != "tuned"}
    assert plain == {(m, d) for m in ("nmf", "snmf", "raw") for d in ("cosine", "whitened")}


def test_the_chosen_setting_is_the_best_on_the_inner_folds(people):
    """choose_settings keeps the setting with the most inner hits: recomputed here by brute
    force over the same grid and folds."""
    A, labels = np.asarray(people.A), np.asarray(people.labels)
    train, _ = people.split_indices(4, random_state=3)
    G, GL = A[:, train], labels[train]
    grid = {**GRID, **SMALL, "rank": (3, 5), "metric": ("cosine", "euclidean")}
    chosen = choose_settings(G, GL, SHAPE, methods=("nmf", "snmf"), conditions=("clean",),
                             mask="unknown", k=1, grid=grid, options={"random_state": 0},
                             robust_keep=0.7, seed=0)
    (setting, inner), = chosen.values()
    best = -1.0
    for method in ("nmf", "snmf"):
        for rank in (3, 5):
            for weight in ((1.0, 2.0) if method == "snmf" else (None,)):
                for ridge in ((0.0, 1.0) if method == "snmf" else (None,)):
                    for metric in ("cosine", "euclidean"):
                        hits = 0
                        for itr, ite in inner_folds(GL):
                            kw = {"identity_weight": weight} if weight else {}
                            feats = recognition._features.FEATURES[method](
                                G[:, itr], GL[itr], rank, {"random_state": 0}, **kw)
                            if ridge is not None:
                                feats.ridge = ridge
                            X = feats.probes(G[:, ite], None, None)[0][0]
                            pred = recognition.nearest_neighbours(feats.gallery, GL[itr], X,
                                                                  metric=metric)[0]
                            hits += int(np.sum(pred == GL[ite]))
                        best = max(best, hits / len(GL))
    assert inner == pytest.approx(best)


def test_bad_tuning_grids_are_one_line_errors(people):
    for tune, message in [({"colour": (1,)}, "tune: unknown setting 'colour'"),
                          ({"ridge": ()}, "tune: 'ridge' needs at least one value"),
                          ({"ridge": (-1.0,)}, "tune ridge: expected a number >= 0"),
                          ({"rank": (100,)}, "tune rank: expected at most"),
                          ("yes", "tune: expected True, False or a dict")]:
        with pytest.raises((ValueError, TypeError), match=message) as info:
            recognition.evaluate(people, rank=4, train_per_identity=3, n_splits=1,
                                 methods=("nmf",), tune=tune)
        assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="at least 2 gallery faces"):
        recognition.evaluate(people, rank=2, train_per_identity=1, n_splits=1,
                             methods=("nmf",), tune=True)


def test_custom_folds_are_checked(people):
    n = people.A.shape[1]
    for folds, message in [([], "folds: expected at least one"),
                           ([(np.arange(3), np.arange(2, 5))], "both in the gallery and a probe"),
                           ([(np.arange(3), np.array([n]))], r"folds\[0\] test: expected indices"),
                           ([(np.arange(3),)], r"folds\[0\]: expected a \(train, test\) pair")]:
        with pytest.raises(ValueError, match=message):
            recognition.evaluate(people, rank=2, methods=("raw",), folds=folds)


@pytest.mark.parametrize("d,n", [(40, 200), (500, 30), (6, 6)])
def test_ledoit_wolf_shrinkage_matches_the_formula_on_the_covariance(d, n):
    """The Gram-matrix computation against the d x d definition (Ledoit & Wolf 2004, Lemma
    3.2-3.4 estimators), with the columns as centred observations."""
    rng = np.random.default_rng(d)
    Z = rng.standard_normal((d, n)) * rng.uniform(0.2, 3, d)[:, None]
    S = Z @ Z.T / n
    mu = np.trace(S) / d
    delta2 = np.sum((S - mu * np.eye(d)) ** 2) / d
    beta2 = sum(np.sum((np.outer(z, z) - S) ** 2) for z in Z.T) / (n**2 * d)
    expected = min(1.0, min(beta2, delta2) / delta2)
    assert ledoit_wolf_shrinkage(Z) == pytest.approx(expected, rel=1e-10)


def test_infinite_ridge_is_the_limit_of_large_ridges(people):
    A = np.asarray(people.A, dtype=np.float64)
    W = recognition.supervised_basis(A[:, ::2], np.asarray(people.labels)[::2], 5,
                                     {"random_state": 0, "dtype": np.float64})
    probes = A[:, 1::2]
    for mask in (None, recognition.occlude(probes, SHAPE, "block:0.3", random_state=0)[1]):
        limit = recognition.ridge_project(probes, W, mask, np.inf)
        big = recognition.ridge_project(probes, W, mask, 1e9) * 1e9
        np.testing.assert_allclose(big, limit, rtol=1e-6, atol=1e-9)


def test_whitened_distances_at_many_shrinkages_at_once(people):
    A, labels = np.asarray(people.A, dtype=np.float64), np.asarray(people.labels)
    G, GL, P = A[:, ::2], labels[::2], A[:, 1::2]
    shrinkages = ("auto", 0.01, 0.5, 1.0)
    many = recognition.whitened_many(G, GL, P, shrinkages)
    for s, d in zip(shrinkages, many):
        np.testing.assert_allclose(d, recognition.whitened_distances(G, GL, P, shrinkage=s),
                                   atol=1e-12)
