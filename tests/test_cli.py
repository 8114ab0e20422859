import json
import subprocess
import sys

import numpy as np
import pytest

import facenmf
from facenmf.cli import main


def run(*argv, cwd=None):
    return subprocess.run([sys.executable, "-m", "facenmf.cli", *map(str, argv)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def test_demo_writes_model_and_summary(tmp_path):
    out = tmp_path / "demo"
    r = run("demo", "--out", out, "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["rank"] == 25 and s["n_faces"] == 100 and 0 < s["error"] < 0.2
    model = facenmf.load_model(out / "model.npz")
    assert model.W.shape == (625, 25) and model.image_shape == (25, 25)
    assert "Traceback" not in r.stderr


def test_fit_and_info_on_a_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for person in range(3):
        d = tmp_path / "faces" / f"p{person}"
        d.mkdir(parents=True)
        for k in range(4):
            Image.fromarray((rng.random((12, 10)) * 255).astype(np.uint8)).save(d / f"{k}.png")
    model = tmp_path / "m.npz"
    assert main(["fit", str(tmp_path / "faces"), "--rank", "4", "-o", str(model), "--json"]) == 0
    r = run("info", model, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["rank"] == 4
    r = run("info", model)
    assert "rank 4" in r.stdout and "(12x10)" in r.stdout


@pytest.mark.parametrize("argv,message", [
    (["info", "missing.npz"], "missing.npz: no such model file"),
    (["fit", "no-such-folder", "-o", "m.npz"], "no-such-folder"),
    (["fit", "lfw-subset", "--rank", "0", "-o", "m.npz"], "rank: expected an integer >= 1, got 0"),
])
def test_errors_are_one_line_without_traceback(tmp_path, argv, message):
    r = run(*argv, cwd=tmp_path)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.startswith("facenmf: error:") and r.stderr.count("\n") == 1
    assert not (tmp_path / "m.npz").exists()


def test_unreadable_model(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_text("hello")
    r = run("info", bad)
    assert r.returncode == 2 and "not a facenmf model file" in r.stderr


def test_ctrl_c_during_fit_saves_the_best_model(tmp_path):
    import signal
    import time

    model = tmp_path / "m.npz"
    proc = subprocess.Popen(
        [sys.executable, "-m", "facenmf.cli", "fit", "lfw-subset", "--rank", "10", "--tol", "0",
         "--max-iter", "100000000", "-o", str(model)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Wait until the fit is iterating (the progress bar has started; a failure would end the
    # process and fail the next assert), then press Ctrl-C.
    assert proc.stderr.read(1), "no progress output"
    time.sleep(0.5)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "saved the best model so far" in err and "Traceback" not in err
    assert "(interrupted)" in out
    loaded = facenmf.load_model(model)
    assert loaded.W.shape == (625, 10) and loaded.metadata["converged"] is False
