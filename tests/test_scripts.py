"""Every command in scripts/ runs: ``--help`` for each, and the cheap ones at their smallest
setting. Each runs in a fresh process with tmp_path as its working folder; nothing here
writes into the checkout (no ``--output``; bench_load's faces go to ``--workdir tmp_path``).
"""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
# Commands: every scripts/*.py except the private helper modules (_report.py).
COMMANDS = sorted(p.name for p in SCRIPTS.glob("*.py") if not p.name.startswith("_"))


def run(script, *args, cwd, timeout=120):
    return subprocess.run([sys.executable, str(SCRIPTS / script), *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_the_commands_are_found():
    assert {"bench_demo.py", "bench_load.py", "bench_online.py", "bench_pack.py",
            "benchmark.py"} <= set(COMMANDS)


@pytest.mark.parametrize("script", COMMANDS)
def test_help(script, tmp_path):
    r = run(script, "--help", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage:") and script in r.stdout
    assert list(tmp_path.iterdir()) == []


def test_report_helper_imports_and_replaces_its_section(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    report = importlib.import_module("_report")
    path = tmp_path / "BENCHMARKS.md"
    report.write_section(path, "a.py", "first")
    report.write_section(path, "b.py", "other")
    report.write_section(path, "a.py", "second")
    text = path.read_text()
    assert "second" in text and "first" not in text and "other" in text
    assert text.count("<!-- BEGIN a.py -->") == 1


def test_bench_demo_one_run(tmp_path):
    r = run("bench_demo.py", "--repeat", 1, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "## `facenmf demo`" in r.stdout
    assert "over 1 runs" in r.stdout
    assert list(tmp_path.iterdir()) == []


def test_bench_load_tiny(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    r = run("bench_load.py", "--n", 20, "--size", 8, 8, "--workdir", work, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "| mode | seconds | heap peak MB | max RSS MB |" in r.stdout
    assert "| in memory |" in r.stdout and "| out= memmap |" in r.stdout
    assert list(work.iterdir()) == [] and [p.name for p in tmp_path.iterdir()] == ["work"]


def test_bench_online_tiny(tmp_path):
    from helpers import ORL

    if not (ORL / "s1" / "1.pgm").is_file():
        pytest.skip(f"ORL faces not found at {ORL}")
    r = run("bench_online.py", "--faces", 500, "--rank", 4, "--batch-size", 250, "--repeat", 1,
            "--blas-threads", 1, "--shared", ORL.parent, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "## Online fits: facenmf `nmf_online` vs scikit-learn `MiniBatchNMF`" in r.stdout
    assert "| 1 | scikit-learn `MiniBatchNMF` (defaults) |" in r.stdout
    for coding in ("hals", "nnls"):
        assert f"| facenmf `nmf_online`, coding '{coding}', one pass | " in r.stdout
        assert f"- coding '{coding}': scikit-learn's error" in r.stdout
    assert list(tmp_path.iterdir()) == []


def test_bench_pack_tiny(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    r = run("bench_pack.py", "--faces", 300, "--processes", 1, 2, "--workdir", work,
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "## Packing PNG faces into a store: `facenmf pack`" in r.stdout
    assert "Command: `python scripts/bench_pack.py --faces 300 --processes 1 2 --repeat 1 " \
           "--output BENCHMARKS.md`" in r.stdout
    assert "| processes | wall seconds | faces per second |" in r.stdout
    assert "\n| 1 | " in r.stdout and "\n| 2 | " in r.stdout
    assert "faces per second with 2 processes: " in r.stdout
    assert list(work.iterdir()) == [] and [p.name for p in tmp_path.iterdir()] == ["work"]


def test_bench_dask_tiny(tmp_path):
    from helpers import ORL

    if not (ORL / "s1" / "1.pgm").is_file():
        pytest.skip(f"ORL faces not found at {ORL}")
    r = run("bench_dask.py", "--faces", 4096, "--rank", 8, "--iterations", 3, "--shared",
            ORL.parent, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "## Dask: a local cluster against the in-memory fit" in r.stdout
    assert "| in memory (this process) | " in r.stdout and "| Dask, 2 workers | " in r.stdout
    # The same iterates on the cluster: W to rounding after the 3 iterations.
    w = re.search(r"`\|\|W_dask - W_mem\|\|_F / \|\|W_mem\|\|_F` = \*\*(\S+)\*\* after 3 iter",
                  r.stdout)
    assert w and float(w.group(1)) < 1e-10, r.stdout
    assert list(tmp_path.iterdir()) == []


def test_recognition_databases_on_a_tiny_folder(tmp_path):
    """The cross-database benchmark at its smallest: one folder of 5 people x 4 faces, one
    split, one occlusion; the table, the targets and the JSON of every result."""
    import json

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:12, :10]
    for person in range(5):
        base = sum(np.exp(-((yy - rng.uniform(2, 10)) ** 2 + (xx - rng.uniform(2, 8)) ** 2)
                          / 6.0) for _ in range(3))
        (tmp_path / "faces" / f"s{person}").mkdir(parents=True)
        for i in range(4):
            face = base / base.max() * rng.uniform(0.7, 1) + 0.05 * rng.random((12, 10))
            Image.fromarray(np.uint8(255 * np.clip(face, 0, 1))).save(
                tmp_path / "faces" / f"s{person}" / f"{i}.png")
    r = run("recognition_databases.py", "--only", "tiny", "--database",
            f"tiny={tmp_path / 'faces'}:train=2,rank=3,splits=1", "--conditions", "block:0.25",
            "--pca-ranks", "2", "--json", "all.json", cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "| tiny | clean | **" in r.stdout and "| tiny | block:0.25 | **" in r.stdout
    assert "- tiny, clean: tuned NMF" in r.stdout and "- tiny, block:0.25: tuned NMF" in r.stdout
    (db,) = json.loads((tmp_path / "all.json").read_text())
    tuned = [x for x in db["results"] if x["method"] == "tuned"]
    assert len(tuned) == 2 and all(len(x["chosen"]) == 1 for x in tuned)
    assert set(db["pca_ranks"]) == {"2"}
    # The face NMF variants ran beside the tuned pipeline, with every metric.
    assert {"nmfsc", "lnmf", "gnmf", "dnmf"} <= {x["method"] for x in db["results"]}
    assert "| best variant |" in r.stdout


def test_bench_sklearn_tiny(tmp_path):
    from helpers import ORL

    if not (ORL / "s1" / "1.pgm").is_file():
        pytest.skip(f"ORL faces not found at {ORL}")
    r = run("bench_sklearn.py", "--rank", 4, "--faces", 40, "--repeat", 1,
            "--shared", ORL.parent, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "## The scikit-learn estimator: `facenmf.sklearn.NMF` vs scikit-learn's `NMF`" \
        in r.stdout
    for solver in ("cd", "mu"):
        assert f"| {solver} | facenmf.sklearn.NMF |" in r.stdout
        assert f"| {solver} | sklearn NMF |" in r.stdout
    assert "| 0.0e+00 |" in r.stdout  # facenmf's fit_transform is its transform
    assert list(tmp_path.iterdir()) == []
