import json
import subprocess
import sys
from pathlib import Path

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
    assert set(s["figures"]) == {"basis", "reconstructions", "parts", "convergence"}
    for path in s["figures"].values():
        assert_png(path)


def assert_png(path, min_side=200):
    from PIL import Image

    with Image.open(path) as im:
        assert im.format == "PNG" and min(im.size) >= min_side
        pixels = np.asarray(im.convert("L"), dtype=float)
    assert pixels.std() > 10  # not blank


@pytest.fixture(scope="module")
def demo_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--json"]) == 0
    return out / "model.npz"


def test_show_draws_the_basis(tmp_path, demo_model):
    r = run("show", demo_model, "-o", tmp_path / "basis.png", "--titles")
    assert r.returncode == 0, r.stderr
    assert_png(tmp_path / "basis.png")


def test_reconstruct_writes_each_face_and_a_report(tmp_path, demo_model):
    from PIL import Image

    rng = np.random.default_rng(0)
    inputs = []
    for folder, name in (("a", "face.png"), ("b", "face.png"), ("c", "reconstructions.pgm")):
        (tmp_path / folder).mkdir()
        inputs.append(tmp_path / folder / name)
        Image.fromarray((rng.random((40, 30)) * 255).astype(np.uint8)).save(inputs[-1])
    out = tmp_path / "out"
    r = run("reconstruct", demo_model, *inputs, "-o", out, "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    names = [Path(f["output"]).name for f in report["faces"]]
    assert names == ["face.png", "face-2.png", "reconstructions-2.png"]
    for f in report["faces"]:
        with Image.open(f["output"]) as im:
            assert im.size == (25, 25) and im.mode == "L"
        assert 0 < f["relative_error"] < 1
    assert_png(report["figure"], min_side=100)
    r = run("reconstruct", demo_model, tmp_path / "missing.png", "-o", out)
    assert r.returncode == 2 and "missing.png" in r.stderr and "Traceback" not in r.stderr


def test_robust_reconstruct_fills_in_a_covered_face(tmp_path, demo_model):
    from PIL import Image

    face = facenmf.load_faces("lfw-subset").A[:, 0].reshape(25, 25)  # a face the model knows
    covered = face.copy()
    covered[5:14, 3:22] = 0  # black band over the eyes
    Image.fromarray(np.round(covered * 255).astype(np.uint8)).save(tmp_path / "covered.png")
    errors = {}
    for mode in ("plain", "robust"):
        out = tmp_path / mode
        r = run("reconstruct", demo_model, tmp_path / "covered.png", "-o", out, "--json",
                *(["--robust"] if mode == "robust" else []))
        assert r.returncode == 0, r.stderr
        (f,) = json.loads(r.stdout)["faces"]
        with Image.open(f["output"]) as im:
            rebuilt = np.asarray(im, dtype=float) / 255
        band = np.s_[5:14, 3:22]
        errors[mode] = np.linalg.norm(rebuilt[band] - face[band]) / np.linalg.norm(face[band])
        if mode == "robust":
            assert 0.2 < f["outlier_fraction"] < 0.6  # the band is 27% of the face
    # Without the band's black pixels the eyes come back.
    assert errors["robust"] < 0.6 * errors["plain"], errors


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


def test_compress_and_decompress(tmp_path, demo_model):
    from PIL import Image

    rng = np.random.default_rng(1)
    inputs = []
    for k in range(3):
        inputs.append(tmp_path / f"face{k}.pgm")
        Image.fromarray((rng.random((25, 25)) * 255).astype(np.uint8)).save(inputs[-1])
    container = tmp_path / "faces.fnc"
    r = run("compress", demo_model, tmp_path, "-o", container, "--json")  # a folder
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["n_faces"] == 3 and report["bytes"] == container.stat().st_size
    assert report["bytes_per_face"] < 625 and np.isfinite(report["psnr_mean"])
    r = run("decompress", demo_model, container, "-o", tmp_path / "out", "--json")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "face0.png", "face1.png", "face2.png"]
    # A truncated container: a one-line error, and nothing written.
    bad = tmp_path / "bad.fnc"
    bad.write_bytes(container.read_bytes()[:40])
    r = run("decompress", demo_model, bad, "-o", tmp_path / "out2")
    assert r.returncode == 2 and "bad.fnc" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out2").exists()
