"""choose_rank: the rank by cross-validation over held-out entries; facenmf rank."""

import json
import subprocess
import sys

import numpy as np
import pytest

import facenmf
from facenmf import view


def noisy_rank_6(seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((100, 6)) @ rng.random((6, 80)) + 0.05 * rng.random((100, 80))


@pytest.mark.parametrize("rule", ["min", "one-se"])
def test_the_true_rank_is_chosen(rule):
    A = noisy_rank_6()
    s = facenmf.choose_rank(A, [2, 4, 6, 8, 12, 20], rule=rule, max_iter=1000, tol=1e-7,
                            dtype=np.float64)
    assert s.rank == 6 and s.rule == rule
    assert s.errors.shape == s.train_errors.shape == (6, 3)
    # Held-out error falls to the true rank and rises past it; the seen entries' error
    # only falls.
    assert s.mean[0] > s.mean[1] > s.mean[2] and s.mean[-1] > s.mean[2]
    assert np.all(np.diff(s.train_errors.mean(axis=1)) < 0)
    d = s.to_dict()
    assert json.loads(json.dumps(d)) == d and d["rank"] == 6 and d["repeats"] == 3


def test_held_out_errors_are_the_masked_fits_predictions():
    A = noisy_rank_6(1)
    s = facenmf.choose_rank(A, [3], repeats=1, holdout=0.2, max_iter=30, tol=0,
                            random_state=5, dtype=np.float64)
    # The same draw of held-out entries and fit, by hand.
    rng = np.random.default_rng(5)
    held = rng.random(A.shape) < 0.2
    seed = int(rng.integers(2**31))
    fit = facenmf.nmf(A, 3, mask=held, max_iter=30, tol=0, random_state=seed,
                      dtype=np.float64)
    Q = fit.W @ fit.H
    expected = np.linalg.norm((A - Q)[held]) / np.linalg.norm(A[held])
    assert s.errors[0, 0] == pytest.approx(expected, rel=1e-12)
    assert s.train_errors[0, 0] == pytest.approx(fit.error, rel=1e-9)


@pytest.mark.parametrize("kw, error, match", [
    ({"ranks": [0, 3]}, ValueError, r"^ranks: expected ranks from 1 to 80"),
    ({"ranks": [3, 81]}, ValueError, r"^ranks: expected ranks from 1 to 80"),
    ({"ranks": []}, TypeError, r"^ranks: expected a non-empty sequence of integers"),
    ({"ranks": [3], "holdout": 0.8}, ValueError, r"^holdout"),
    ({"ranks": [3], "rule": "best"}, ValueError, r"^rule"),
    ({"ranks": [3], "solver": "lnmf", "loss": "kl"}, ValueError,
     r"^mask: solver 'lnmf' does not fit with a mask"),
])
def test_bad_arguments_are_one_line(kw, error, match):
    with pytest.raises(error, match=match) as info:
        facenmf.choose_rank(noisy_rank_6(), **kw)
    assert "\n" not in str(info.value)


def test_progress_and_figure(tmp_path):
    calls = []
    s = facenmf.choose_rank(noisy_rank_6(), [2, 6, 12], repeats=2, max_iter=20,
                            progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 6) for i in range(1, 7)]
    fig = view.rank_selection(s, path=tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 0
    assert fig.axes[0].get_xlabel() == "rank"
    assert any(t.get_text().startswith(f"chosen: {s.rank}") for t in fig.axes[0].texts)
    with pytest.raises(TypeError, match="selection: expected a RankSelection"):
        view.rank_selection({"ranks": [1]})


def test_the_rank_verb(tmp_path):
    out = tmp_path / "figs"
    r = subprocess.run([sys.executable, "-m", "facenmf.cli", "rank", "lfw-subset", "--ranks",
                        "4", "9", "--repeats", "2", "--max-iter", "20", "--figures", str(out),
                        "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ranks"] == [4, 9] and doc["rank"] in (4, 9) and doc["n_faces"] == 100
    assert len(doc["heldout_error"]) == 2 and len(doc["heldout_error"][0]) == 2
    assert (out / "rank-selection.png").stat().st_size > 0
    r = subprocess.run([sys.executable, "-m", "facenmf.cli", "rank", "lfw-subset", "--ranks",
                        "4", "700"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "--ranks: expected ranks up to 100 (the 100 faces of 625 pixels), got 700" in r.stderr
