import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import facenmf
from facenmf.cli import main

from helpers import TerminalReader


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
    assert r.returncode == 2 and "is 40x30 but the model's faces came from images of 25x25" \
        in r.stderr and "--resize" in r.stderr and not out.exists()
    r = run("reconstruct", demo_model, *inputs, "-o", out, "--json", "--resize")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    names = [Path(f["output"]).relative_to(out).as_posix() for f in report["faces"]]
    assert names == ["a/face.png", "b/face.png", "c/reconstructions.png"]
    assert [f["input"] for f in report["faces"]] == [str(p) for p in inputs]
    assert [r["from"] for r in report["resized"]] == [[40, 30]] * 3
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
            # Both errors are reported: over the pixels kept, and over all of them.
            assert f["relative_error_kept"] < f["relative_error"]
            assert "warning" not in r.stderr
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
    assert f"faces: from {tmp_path / 'faces'}: images of 12x10" in r.stdout


@pytest.mark.parametrize("argv,message", [
    (["info", "missing.npz"], "missing.npz: no such model file"),
    (["fit", "no-such-folder", "-o", "m.npz"], "no-such-folder"),
    (["fit", "lfw-subset", "--rank", "101", "-o", "m.npz"],
     "--rank: expected at most 100 (the 100 faces of 625 pixels), got 101"),
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
    import os
    import pty
    import signal
    import time

    model = tmp_path / "m.npz"
    # stderr on a pseudo-terminal, as in a shell: the progress bar shows there (and only
    # there), which tells when the fit is iterating.
    leader, follower = pty.openpty()
    import fcntl
    import struct
    import termios

    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # 80 columns
    proc = subprocess.Popen(
        [sys.executable, "-m", "facenmf.cli", "fit", "lfw-subset", "--rank", "10", "--tol", "0",
         "--max-iter", "100000000", "-o", str(model)],
        stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    terminal = TerminalReader(leader)
    try:
        # Waits are generous and end as soon as the event happens: a loaded machine is slow.
        assert terminal.wait_for(rb"NMF rank 10", proc, timeout=600), terminal.text()
        time.sleep(0.5)
        assert proc.poll() is None, terminal.text()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=600)
    finally:
        proc.kill()
        err = terminal.close()
        os.close(leader)
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


# -- outputs: never an input, checked before the work, one rule for folders ---------------
def save_png(path, pixels):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def photos(tmp_path):
    """Three 25x25 faces from the bundled set in photos/, as files a user would have."""
    A = facenmf.load_faces("lfw-subset").A
    return [save_png(tmp_path / "photos" / f"{j}.png", A[:, j].reshape(25, 25))
            for j in range(3)]


@pytest.mark.parametrize("verb", ["reconstruct-into-inputs", "compress-over-model",
                                  "compress-over-image", "show-over-model",
                                  "decompress-over-container", "decompress-over-model",
                                  "fit-over-image"])
def test_no_command_writes_over_one_of_its_inputs(tmp_path, demo_model, photos, verb):
    import shutil

    model = tmp_path / "m.npz"
    shutil.copy(demo_model, model)
    container = tmp_path / "c.fnc"
    assert main(["compress", str(model), str(photos[0]), "-o", str(container)]) == 0
    argv, victim = {
        "reconstruct-into-inputs": (["reconstruct", model, photos[0], "-o", photos[0].parent],
                                    photos[0]),
        "compress-over-model": (["compress", model, photos[0], "-o", model], model),
        "compress-over-image": (["compress", model, photos[0], "-o", photos[0]], photos[0]),
        "show-over-model": (["show", tmp_path / "m.png", "-o", tmp_path / "m.png"], None),
        "decompress-over-container": (["decompress", model, container, "-o", tmp_path],
                                      container),
        "decompress-over-model": (["decompress", model, container, "-o", tmp_path], model),
        "fit-over-image": (["fit", photos[0].parent, "--rank", "2", "-o", photos[1]],
                           photos[1]),
    }[verb]
    if verb == "show-over-model":  # a model file that happens to have a figure's name
        shutil.copy(model, tmp_path / "m.png")
        victim = tmp_path / "m.png"
    if verb == "decompress-over-container":  # the container is named like a face it holds
        container.rename(tmp_path / "0.png")
        argv[2] = victim = tmp_path / "0.png"
    if verb == "decompress-over-model":  # the model is named like a face the container holds
        model.rename(tmp_path / "0.png")
        container.rename(tmp_path / "c2.fnc")
        argv[1] = victim = tmp_path / "0.png"
        argv[2] = tmp_path / "c2.fnc"
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    r = run(*argv)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"would replace the input {victim}" in r.stderr, r.stderr
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # nothing written, nothing replaced


def test_a_hard_link_to_an_input_is_an_input(tmp_path, demo_model, photos):
    link = tmp_path / "link.png"
    link.hardlink_to(photos[0])
    before = photos[0].read_bytes()
    r = run("compress", demo_model, photos[0], "-o", link)
    assert r.returncode == 2 and "would replace the input" in r.stderr
    assert photos[0].read_bytes() == before


@pytest.mark.parametrize("argv,message", [
    (["fit", "no-such-source", "-o", "blocker/m.npz"], "blocker is a file, not a folder"),
    (["fit", "no-such-source", "-o", "adir"], "adir is a folder; expected a file name"),
    (["show", "MODEL", "-o", "adir"], "expected a figure file ending in"),
    (["show", "MODEL", "-o", "b.gif"], "got '.gif'"),
    (["compress", "MODEL", "PHOTO", "-o", "adir"], "adir is a folder; expected a file name"),
    (["recognize", "no-such-source", "--figures", "blocker"], "blocker exists and is not a "
                                                              "folder"),
    (["reconstruct", "MODEL", "PHOTO", "-o", "blocker"], "blocker exists and is not a folder"),
    (["decompress", "MODEL", "no-such.fnc", "-o", "blocker/x"], "blocker"),
    (["demo", "--out", "blocker"], "blocker exists and is not a folder"),
])
def test_outputs_are_checked_before_the_work(tmp_path, demo_model, photos, argv, message):
    (tmp_path / "blocker").write_text("a file")
    (tmp_path / "adir").mkdir()
    argv = [{"MODEL": str(demo_model), "PHOTO": str(photos[0])}.get(a, a) for a in argv]
    r = run(*argv, cwd=tmp_path)
    # The output is refused first: a missing source or container would otherwise be named.
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert "no-such" not in r.stderr and ".tmp" not in r.stderr and "Errno" not in r.stderr
    assert r.stderr.count("\n") == 1


def test_an_unwritable_place_is_refused_before_the_work(tmp_path, demo_model, photos):
    import os

    if os.geteuid() == 0:  # root writes through permissions: /proc refuses even root
        target = Path("/proc/facenmf-test/m.npz")
    else:
        (tmp_path / "ro").mkdir()
        (tmp_path / "ro").chmod(0o500)
        target = tmp_path / "ro" / "m.npz"
    r = run("fit", "no-such-source", "-o", target)
    assert r.returncode == 2 and f"cannot write {target}" in r.stderr, r.stderr
    assert "no-such-source" not in r.stderr


def test_every_verb_creates_missing_output_folders(tmp_path, demo_model, photos):
    deep = tmp_path / "new" / "deeper"
    assert main(["fit", str(photos[0].parent), "--rank", "2", "--max-iter", "5",
                 "-o", str(deep / "fit" / "m.npz")]) == 0
    assert main(["show", str(demo_model), "-o", str(deep / "show" / "b.png")]) == 0
    assert main(["compress", str(demo_model), str(photos[0]),
                 "-o", str(deep / "compress" / "c.fnc")]) == 0
    assert main(["decompress", str(demo_model), str(deep / "compress" / "c.fnc"),
                 "-o", str(deep / "decompress")]) == 0
    assert main(["reconstruct", str(demo_model), str(photos[0]),
                 "-o", str(deep / "reconstruct")]) == 0
    assert main(["demo", "--out", str(deep / "demo"), "--max-iter", "5", "--json"]) == 0
    for path in ("fit/m.npz", "show/b.png", "compress/c.fnc", "decompress/0.png",
                 "reconstruct/0.png", "demo/model.npz"):
        assert (deep / path).is_file(), path


@pytest.mark.parametrize("suffix,magic", [(".pdf", b"%PDF"), (".svg", b"<?xml"),
                                          (".jpg", b"\xff\xd8\xff"), (".png", b"\x89PNG")])
def test_show_writes_the_format_its_extension_names(tmp_path, demo_model, suffix, magic):
    out = tmp_path / f"basis{suffix}"
    r = run("show", demo_model, "-o", out)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes().startswith(magic)


# -- models are checked data -------------------------------------------------------------
def test_a_resaved_model_keeps_its_metadata(tmp_path, demo_model):
    model = facenmf.load_model(demo_model)
    facenmf.save_model(tmp_path / "again.npz", model)
    again = facenmf.load_model(tmp_path / "again.npz")
    for key in ("solver", "init", "loss", "n_iter", "converged", "error", "preparation"):
        assert again.metadata[key] == model.metadata[key], key
    r = run("info", tmp_path / "again.npz")
    assert r.returncode == 0, r.stderr
    assert f"{model.metadata['n_iter']} iterations" in r.stdout


def rewrite_model(src, dst, **changes):
    with np.load(src, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["metadata"]))
    for key, value in changes.items():
        if key in ("W", "H"):
            arrays[key] = value(arrays[key])
        else:
            meta[key] = value
    arrays["metadata"] = np.array(json.dumps(meta))
    np.savez(dst, **arrays)
    return dst


def nan_first(W):
    W = W.copy()
    W[0, 0] = np.nan
    return W


@pytest.mark.parametrize("changes,message", [
    ({"image_shape": [20, 20]}, "image shape 20x20 has 400 pixels, but the basis W has 625"),
    ({"W": nan_first}, "W holds 1 NaN and 0 infinite values"),
    ({"W": lambda W: np.where(W > 0, np.inf, W)}, "infinite values"),
    ({"W": lambda W: -W}, "W holds"),
])
def test_a_model_that_no_computation_could_use_is_refused_at_load(tmp_path, demo_model,
                                                                   changes, message):
    bad = rewrite_model(demo_model, tmp_path / "bad.npz", **changes)
    with pytest.raises(ValueError, match=re.escape(f"{bad}: ") + ".*" + re.escape(message)):
        facenmf.load_model(bad)
    for argv in (["info", bad], ["compress", bad, demo_model.parent / "basis.png", "-o",
                                 tmp_path / "c.fnc"]):
        r = run(*argv)
        assert r.returncode == 2 and message in r.stderr
    assert not (tmp_path / "c.fnc").exists()


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n" + b"\0" * 64, b"hello",
                                     "pickle-in-npz"])
def test_a_file_that_is_not_a_model_never_gets_unsafe_advice(tmp_path, content):
    bad = tmp_path / "bad.npz"
    if content == "pickle-in-npz":
        np.savez(bad, metadata=np.array([{"format": "facenmf-model"}], dtype=object))
    else:
        bad.write_bytes(content)
    r = run("info", bad)
    assert r.returncode == 2 and f"{bad}: not a facenmf model file" in r.stderr
    assert "pickle" not in r.stderr.lower()


def test_the_model_records_the_preparation_and_new_images_get_it(tmp_path):
    # Faces of 24x20 images, resized to 12x10 for the fit: new 24x20 images are resized the
    # same way; images of another size are refused unless --resize (aspect ratio kept).
    rng = np.random.default_rng(0)
    for person in range(2):
        for k in range(4):
            save_png(tmp_path / "faces" / f"p{person}" / f"{k}.png", rng.random((24, 20)))
    model = tmp_path / "m.npz"
    assert main(["fit", str(tmp_path / "faces"), "--size", "12", "10", "--equalize",
                 "--rank", "3", "-o", str(model)]) == 0
    prep = facenmf.load_model(model).metadata["preparation"]
    assert prep["size"] == [12, 10] and prep["equalize"] and prep["input_shape"] == [24, 20]
    r = run("info", model)
    assert "images of 24x20, resized to 12x10, equalized" in r.stdout
    same = save_png(tmp_path / "new" / "same.png", rng.random((24, 20)))
    other = save_png(tmp_path / "new" / "wide.png", rng.random((24, 40)))
    r = run("reconstruct", model, same, "-o", tmp_path / "out1", "--json")
    assert r.returncode == 0, r.stderr
    r = run("compress", model, other, "-o", tmp_path / "c.fnc")
    assert r.returncode == 2 and "wide.png: image is 24x40" in r.stderr
    assert "24x20" in r.stderr and "--resize" in r.stderr and not (tmp_path / "c.fnc").exists()
    r = run("compress", model, other, "-o", tmp_path / "c.fnc", "--resize", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["resized"] == [{"input": str(other), "from": [24, 40]}]
    assert "resized from 24x40" in r.stderr
    # The Python API: the same preparation through load_faces(like=model).
    m = facenmf.load_model(model)
    faces = facenmf.load_faces([same], like=m)
    expected = facenmf.load_faces([same], size=(12, 10), equalize=True)
    np.testing.assert_array_equal(faces.A, expected.A)
    assert m.transform(faces.A).shape == (3, 1)


# -- the command line's words --------------------------------------------------------------
@pytest.mark.parametrize("argv,line", [
    (["fit", "lfw-subset", "--rank", "many", "-o", "m.npz"],
     "facenmf fit: --rank: expected an integer, got 'many' (see 'facenmf fit --help')"),
    (["fit", "lfw-subset"], "facenmf fit: missing -o/--output (required)"),
    (["recognize", "x", "--splits", "0"], "facenmf recognize: --splits: expected an integer >= 1"),
    (["compress", "m", "x", "-o", "c", "--bits", "20"],
     "facenmf compress: --bits: expected an integer <= 16, got 20"),
    (["fit", "x", "-o", "m.npz", "--tol", "-1"], "--tol: expected a number >= 0, got -1"),
    (["fitt"], "facenmf: unknown verb 'fitt'; choose from demo, fit"),
])
def test_a_bad_option_is_one_line_naming_it(tmp_path, argv, line):
    r = run(*argv, cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and line in r.stderr, r.stderr
    assert "usage:" not in r.stderr


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_works_before_and_after_the_verb(tmp_path, where):
    argv = ["info", "missing.npz"]
    argv = ["--debug", *argv] if where == "before" else [*argv, "--debug"]
    r = run(*argv, cwd=tmp_path)
    assert r.returncode != 0 and "Traceback" in r.stderr and "FileNotFoundError" in r.stderr


PYTHONISMS = re.compile(r"\b[a-z]+_[a-z_]+\b|\b[a-z_]+=|select\(|\(height, width\)")


def test_errors_name_options_not_python_parameters(tmp_path, demo_model):
    rng = np.random.default_rng(0)
    mixed = tmp_path / "mixed"
    save_png(mixed / "a.png", rng.random((12, 10)))
    save_png(mixed / "b.png", rng.random((14, 10)))
    both = tmp_path / "both"
    save_png(both / "a.png", rng.random((12, 10)))
    save_png(both / "p" / "b.png", rng.random((12, 10)))
    few = tmp_path / "few"
    for person, n in (("p1", 6), ("p2", 3)):
        for k in range(n):
            save_png(few / person / f"{k}.png", rng.random((12, 10)))
    noext = tmp_path / "noext"
    noext.mkdir()
    (noext / "subject01").write_bytes(b"P5 2 2 255\n\0\0\0\0")
    cases = [
        (["fit", mixed, "-o", tmp_path / "m.npz"], "--size H W"),
        (["fit", both, "-o", tmp_path / "m.npz"], "--layout flat or --layout identity-folders"),
        (["recognize", few, "--rank", "2"], "--min-faces 6"),
        (["recognize", few, "--rank", "2", "--train-per-identity", "2", "--splits", "1",
          "--min-faces", "9"], "--min-faces: no identity"),
        (["fit", noext, "-o", tmp_path / "m.npz"], "--glob '*'"),
        (["fit", "lfw-subset", "--path", tmp_path, "-o", tmp_path / "m.npz"], "--path:"),
    ]
    for argv, words in cases:
        r = run(*argv, cwd=tmp_path)
        assert r.returncode == 2, (argv, r.stderr)
        assert words in r.stderr, (argv, r.stderr)
        text = r.stderr.replace(str(tmp_path), "")
        assert not PYTHONISMS.search(text), (argv, r.stderr)
    # And the advice works: the options it names exist and do what it says.
    r = run("recognize", few, "--rank", "2", "--splits", "1", "--min-faces", "6", cwd=tmp_path)
    assert "needs at least 2 identities" in r.stderr or r.returncode == 0 or \
        "identit" in r.stderr, r.stderr
    r = run("fit", both, "--layout", "flat", "--rank", "1", "-o", tmp_path / "m.npz",
            "--max-iter", "3")
    assert r.returncode == 0, r.stderr


def test_file_names_that_are_not_utf8_work_under_a_strict_utf8_locale(tmp_path, demo_model):
    import os

    A = facenmf.load_faces("lfw-subset").A
    folder = tmp_path / "in"
    folder.mkdir()
    name = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes: not valid UTF-8
    save_png(folder / name, A[:, 0].reshape(25, 25))
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONUTF8": "0"}
    env.pop("PYTHONIOENCODING", None)
    for argv in (["reconstruct", demo_model, folder, "-o", tmp_path / "out"],
                 ["compress", demo_model, folder, "-o", tmp_path / "c.fnc", "--json"],
                 ["decompress", demo_model, tmp_path / "c.fnc", "-o", tmp_path / "dec"]):
        r = subprocess.run([sys.executable, "-m", "facenmf.cli", *map(str, argv)],
                           capture_output=True, timeout=300, env=env)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        assert b"Traceback" not in r.stderr
    assert len(list((tmp_path / "out").glob("caf*.png"))) == 1
    assert [p.name for p in (tmp_path / "dec").iterdir()] == ["caf\ufffd.png"]


def test_progress_bars_stay_out_of_redirected_logs(tmp_path):
    r = run("fit", "lfw-subset", "--rank", "5", "--max-iter", "50", "--tol", "0",
            "-o", tmp_path / "m.npz")
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr and "it/s" not in r.stderr


def test_a_robust_reconstruction_that_ignores_most_of_the_image_says_so(tmp_path, demo_model):
    # A whole "photo": a small face in a textured frame, as a model of cropped faces sees it.
    from skimage.transform import resize

    A = facenmf.load_faces("lfw-subset").A
    frame = np.random.default_rng(0).random((25, 25)) * 0.6 + 0.2
    frame[9:16, 9:16] = resize(A[:, 0].reshape(25, 25), (7, 7))
    photo = save_png(tmp_path / "photo.png", frame)
    r = run("reconstruct", demo_model, photo, "-o", tmp_path / "out", "--robust", "--json")
    assert r.returncode == 0, r.stderr
    (f,) = json.loads(r.stdout)["faces"]
    assert f["outlier_fraction"] > 0.5
    assert f"photo.png: {f['outlier_fraction']:.0%} of its pixels were ignored" in r.stderr
    assert "relative_error" in f and "relative_error_kept" in f


def test_compressed_faces_keep_their_folders_and_order(tmp_path, demo_model):
    A = facenmf.load_faces("lfw-subset").A
    src = tmp_path / "orl"
    rels = ["s1/1.pgm", "s1/10.pgm", "s1/2.pgm", "s2/1.pgm"]
    for j, rel in enumerate(rels):
        save_png(src / rel, A[:, j].reshape(25, 25))
    r = run("compress", demo_model, src, "-o", tmp_path / "c.fnc", "--json")
    assert r.returncode == 0, r.stderr
    faces = json.loads(r.stdout)["faces"]
    assert [(f["name"], Path(f["input"]).relative_to(src).as_posix()) for f in faces] == [
        ("s1/1", "s1/1.pgm"), ("s1/2", "s1/2.pgm"), ("s1/10", "s1/10.pgm"),
        ("s2/1", "s2/1.pgm")]
    r = run("decompress", demo_model, tmp_path / "c.fnc", "-o", tmp_path / "dec", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [Path(p).relative_to(tmp_path / "dec").as_posix() for p in out["files"]] == [
        "s1/1.png", "s1/2.png", "s1/10.png", "s2/1.png"]


def test_fit_messages_speak_options_and_kl_is_relative(tmp_path):
    r = run("fit", "lfw-subset", "--rank", "5", "--max-iter", "3", "-o", tmp_path / "a.npz")
    assert r.returncode == 0, r.stderr
    assert "--max-iter 3 before converging" in r.stderr and "max_iter=" not in r.stderr
    # Rank 25 reaches its float32 fixed point (where --tol 1e-12 is met) after about 1900
    # iterations, far more than 0.2 s allow: the time limit stops it.
    r = run("fit", "lfw-subset", "--rank", "25", "--max-iter", "10000000", "--time-limit",
            "0.2", "--tol", "1e-12", "-o", tmp_path / "b.npz")
    assert r.returncode == 0, r.stderr
    assert "stopped at --time-limit 0.2 s" in r.stderr and "increase" not in r.stderr
    assert "warning" not in r.stderr  # a time limit is the user's choice, not a problem
    r = run("fit", "lfw-subset", "--rank", "5", "--solver", "mu", "--loss", "kl",
            "-o", tmp_path / "c.npz", "--max-iter", "50", "--tol", "0")
    assert r.returncode == 0, r.stderr
    (value,) = re.findall(r"relative KL divergence (\d+\.\d+)", r.stdout)
    assert 0 < float(value) < 1  # D(A || WH) / sum(A), not the raw sum
    r = run("fit", "lfw-subset", "--rank", "5", "--max-iter", "3", "--tol", "0",
            "-o", tmp_path / "d.npz")
    assert r.returncode == 0 and r.stderr == ""  # --tol 0 asks for exactly 3 iterations


def test_recognize_refuses_a_single_identity(tmp_path):
    rng = np.random.default_rng(0)
    for k in range(10):  # a folder holding one sub-folder of faces: one identity
        save_png(tmp_path / "faces" / "s1" / f"{k}.png", rng.random((12, 10)))
    r = run("recognize", tmp_path / "faces", "--rank", "2", "--splits", "1")
    assert r.returncode == 2 and "identit" in r.stderr and "rank" not in r.stderr, r.stderr
    assert "100" not in r.stdout


@pytest.mark.parametrize("options, kw", [
    (["--alpha-W", "0.002", "--alpha-H", "0.001", "--l1-ratio", "0.5"],
     {"alpha_W": 0.002, "alpha_H": 0.001, "l1_ratio": 0.5}),
    (["--loss", "kl", "--solver", "mu", "--alpha-W", "0.001"],
     {"loss": "kl", "solver": "mu", "alpha_W": 0.001}),
    (["--loss", "1.5", "--solver", "mu"], {"loss": 1.5, "solver": "mu"}),
])
def test_fit_with_penalties_and_losses_is_the_apis_fit(tmp_path, options, kw):
    out = tmp_path / "m.npz"
    assert main(["fit", "lfw-subset", "--rank", "8", "--max-iter", "30", "--tol", "0",
                 "-o", str(out), *options]) == 0
    got = facenmf.load_model(out)
    faces = facenmf.load_faces("lfw-subset")
    ref = facenmf.NMF(8, max_iter=30, tol=0, random_state=0, **kw).fit(faces.A)
    np.testing.assert_allclose(got.W, ref.W, rtol=1e-5, atol=1e-7)
    assert (got.alpha_W, got.alpha_H, got.l1_ratio) == (ref.alpha_W, ref.alpha_H, ref.l1_ratio)
    assert got.loss == ref.loss


@pytest.mark.parametrize("options, message", [
    (["--l1-ratio", "1.5"], "--l1-ratio: expected a number <= 1, got 1.5"),
    (["--alpha-W", "-0.1"], "--alpha-W: expected a number >= 0, got -0.1"),
    (["--alpha-H", "lots"], "--alpha-H: expected a number >= 0 or 'same', got 'lots'"),
    (["--loss", "cosine"], "--loss: expected frobenius, itakura-saito, kl, kullback-leibler "
     "or a number"),
])
def test_bad_penalty_and_loss_options_are_one_line(tmp_path, options, message):
    r = run("fit", "lfw-subset", "-o", tmp_path / "m.npz", *options)
    assert r.returncode == 2 and message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "m.npz").exists()


def test_recognize_face_rows_in_cli_words(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for person in range(2):
        (tmp_path / f"p{person}").mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (12, 10), dtype=np.uint8)).save(
                tmp_path / f"p{person}" / f"{i}.png")
    r = run("recognize", tmp_path, "--face-rows", "8", "4", "--occlusion", "scarf",
            "--splits", "1", "--train-per-identity", "2", "--rank", "2")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().endswith("--face-rows: expected 0 <= eyes < mouth <= 12 (the image "
                                     "height), got eyes=8, mouth=4")


def test_fit_with_a_mask_dir_is_the_masked_fit(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for person in ("s1", "s2"):
        (tmp_path / "faces" / person).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 255, (20, 16), dtype=np.uint8)).save(
                tmp_path / "faces" / person / f"{i}.pgm")
    (tmp_path / "masks" / "s1").mkdir(parents=True)
    cover = np.zeros((20, 16), dtype=np.uint8)
    cover[5:10, 3:9] = 255
    Image.fromarray(cover).save(tmp_path / "masks" / "s1" / "0.png")  # s1/0.pgm's mask
    out = tmp_path / "m.npz"
    assert main(["fit", str(tmp_path / "faces"), "--mask-dir", str(tmp_path / "masks"),
                 "--rank", "3", "--max-iter", "25", "--tol", "0", "-o", str(out)]) == 0
    faces = facenmf.load_faces(tmp_path / "faces")
    mask = np.zeros(faces.A.shape, dtype=bool)
    j = [str(p).endswith("s1/0.pgm") for p in faces.paths].index(True)
    mask[:, j] = cover.ravel() > 0
    ref = facenmf.NMF(3, max_iter=25, tol=0, random_state=0).fit(faces.A, mask=mask)
    np.testing.assert_allclose(facenmf.load_model(out).W, ref.W, rtol=1e-5, atol=1e-7)
    r = run("fit", tmp_path / "faces", "--mask-dir", tmp_path / "none", "-o", tmp_path / "x.npz")
    assert r.returncode == 2 and "--mask-dir: expected a folder of mask images" in r.stderr
    r = run("fit", tmp_path / "faces", "--mask-dir", tmp_path, "-o", tmp_path / "x.npz")
    assert r.returncode == 2 and "--mask-dir: no mask image in" in r.stderr
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.parametrize("content, message", [
    (b"not an image", "masks/s1/0.png: not an image Pillow can read"),
    ("small", "--mask-dir: {masks}/s1/0.png: expected a 20x16 mask after --crop/--size, like "
     "its face, got 10x8"),
])
def test_a_bad_mask_file_is_one_line_naming_it(tmp_path, content, message):
    from PIL import Image

    (tmp_path / "faces" / "s1").mkdir(parents=True)
    (tmp_path / "masks" / "s1").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (20, 16), dtype=np.uint8)).save(
            tmp_path / "faces" / "s1" / f"{i}.pgm")
    if content == "small":
        Image.fromarray(np.zeros((10, 8), dtype=np.uint8)).save(tmp_path / "masks" / "s1" / "0.png")
    else:
        (tmp_path / "masks" / "s1" / "0.png").write_bytes(content)
    r = run("fit", tmp_path / "faces", "--mask-dir", tmp_path / "masks", "--rank", "2", "-o",
            tmp_path / "m.npz")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert message.format(masks=tmp_path / "masks") in r.stderr
    assert not (tmp_path / "m.npz").exists()
