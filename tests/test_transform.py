"""facenmf transform: a model's weights of images, exported with their paths and labels."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import facenmf
from facenmf.cli import main


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """3 identities of 3 faces, 12 x 10 (one sub-folder each)."""
    root = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(0)
    for person in range(3):
        (root / f"p{person}").mkdir()
        base = rng.integers(30, 220, (12, 10))
        for i in range(3):
            img = np.clip(base + rng.integers(-20, 20, base.shape), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / f"p{person}" / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def model(folder, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.npz"
    assert main(["fit", str(folder), "-o", str(path), "--rank", "3", "--max-iter", "20",
                 "--json"]) == 0
    return path


def expected_weights(model, files):
    m = facenmf.load_model(model)
    return m.transform(facenmf.load_faces([str(f) for f in files], like=m).A).T


@pytest.mark.parametrize("ext", ["npz", "csv", "npy"])
def test_transform_exports_the_models_weights(folder, model, tmp_path, capsys, ext):
    capsys.readouterr()
    out = tmp_path / "sub" / f"features.{ext}"  # missing folders are created
    assert main(["transform", str(model), str(folder), "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_faces"] == 9 and report["rank"] == 3 and report["format"] == ext
    files = [folder / f"p{p}" / f"{i}.png" for p in range(3) for i in range(3)]
    want = expected_weights(model, files)
    if ext == "npz":
        with np.load(out, allow_pickle=False) as d:
            np.testing.assert_array_equal(d["features"], want)
            assert [str(p) for p in d["paths"]] == [str(f) for f in files]
            assert list(d["labels"]) == [f"p{p}" for p in range(3) for _ in range(3)]
    elif ext == "csv":
        with open(out, newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == ["path", "label", "h0", "h1", "h2"]
        assert [r[:2] for r in rows[1:]] == [[str(f), f"p{p}"] for p in range(3)
                                             for f in files[3 * p:3 * p + 3]]
        # The float32 weights written exactly (shortest round-trip digits).
        got = np.array([[np.float32(x) for x in r[2:]] for r in rows[1:]])
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_array_equal(np.load(out, allow_pickle=False), want)


def test_transform_of_files_keeps_their_order_and_has_no_labels(folder, model, tmp_path,
                                                                 capsys):
    files = [folder / "p2" / "1.png", folder / "p0" / "0.png"]
    out = tmp_path / "f.npz"
    assert main(["transform", str(model), *map(str, files), "-o", str(out)]) == 0
    assert "2 faces" in capsys.readouterr().out
    with np.load(out, allow_pickle=False) as d:
        np.testing.assert_array_equal(d["features"], expected_weights(model, files))
        assert [str(p) for p in d["paths"]] == [str(f) for f in files]
        assert list(d["labels"]) == ["", ""]


def test_transform_of_a_registered_database(tmp_path, capsys):
    model = tmp_path / "lfw.npz"
    assert main(["fit", "lfw-subset", "-o", str(model), "--rank", "4", "--max-iter", "10",
                 "--json"]) == 0
    assert main(["transform", str(model), "lfw-subset", "-o", str(tmp_path / "f.npy")]) == 0
    m = facenmf.load_model(model)
    np.testing.assert_array_equal(np.load(tmp_path / "f.npy"),
                                  m.transform(facenmf.load_faces("lfw-subset").A).T)


@pytest.mark.parametrize("argv,message", [
    (["-o", "{tmp}/f.txt"], "-o/--output: expected a .npz, .csv or .npy file name, got"),
    (["-o", "{model}"], "-o/--output: writing"),
    (["-o", "{folder}/p0/0.png"], "-o/--output: expected a .npz, .csv or .npy"),
])
def test_transform_output_errors_are_one_line_before_the_work(folder, model, tmp_path, argv,
                                                              message):
    words = {"tmp": tmp_path, "model": model, "folder": folder}
    before = model.read_bytes()
    r = subprocess.run([sys.executable, "-m", "facenmf.cli", "transform", str(model),
                        str(folder), *(a.format(**words) for a in argv)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert model.read_bytes() == before and not (tmp_path / "f.txt").exists()


def test_transform_refuses_images_of_another_size_naming_them(model, tmp_path, capsys):
    Image.fromarray(np.zeros((20, 20), dtype=np.uint8)).save(tmp_path / "big.png")
    with pytest.raises(ValueError, match="big.png"):
        facenmf.load_faces([str(tmp_path / "big.png")], like=facenmf.load_model(model))
    assert main(["transform", str(model), str(tmp_path / "big.png"), "-o",
                 str(tmp_path / "f.npz")]) == 2
    err = capsys.readouterr().err
    assert "big.png" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "f.npz").exists()
    # --resize fits it to the model's input, as reconstruct and compress do.
    assert main(["transform", str(model), str(tmp_path / "big.png"), "-o",
                 str(tmp_path / "f.npz"), "--resize"]) == 0
    with np.load(tmp_path / "f.npz") as d:
        assert d["features"].shape == (1, 3)


def test_transform_of_a_matrix_of_faces(folder, model, tmp_path):
    # A .npy matrix (n_pixels, n_faces), as fit takes it: its faces already prepared.
    files = [folder / f"p{p}" / f"{i}.png" for p in range(3) for i in range(3)]
    m = facenmf.load_model(model)
    A = facenmf.load_faces([str(f) for f in files], like=m).A
    np.save(tmp_path / "faces.npy", np.asarray(A))
    out = tmp_path / "f.npz"
    assert main(["transform", str(model), str(tmp_path / "faces.npy"), "-o", str(out)]) == 0
    with np.load(out, allow_pickle=False) as d:
        np.testing.assert_array_equal(d["features"], m.transform(A).T)
        assert d["paths"][4] == f"{tmp_path / 'faces.npy'}[4]"
        assert list(d["labels"]) == [""] * 9


@pytest.mark.parametrize("argv,message", [
    (["{tmp}/m.npy", "-o", "{tmp}/m.npy"], r"-o/--output: writing .*m\.npy would replace the "
     r"input .*m\.npy"),
    (["{tmp}/bad.npy", "-o", "{tmp}/f.npz"], r"bad\.npy: expected a matrix of faces \(120, "
     r"n_faces\) for the model's 12x10 faces, got an array of shape \(7, 2\)$"),
    (["{tmp}/m.npy", "--pattern", "x", "-o", "{tmp}/f.npz"],
     r"--pattern: not used with a \.npy matrix of faces"),
    (["{tmp}/m.npy", "{folder}", "-o", "{tmp}/f.npz"], r"images: .*m\.npy is a face store, "
     r"a registered database or a \.npy matrix of faces; transform one on its own"),
    (["{folder}", "--path", "{tmp}", "-o", "{tmp}/f.npz"],
     r"--path: only used with a registered database name$"),
])
def test_transform_input_errors_are_one_line_and_write_nothing(folder, model, tmp_path,
                                                               capsys, argv, message):
    import re

    np.save(tmp_path / "m.npy", np.zeros((120, 2), dtype=np.float32))
    np.save(tmp_path / "bad.npy", np.zeros((7, 2), dtype=np.float32))
    before = sorted(p.name for p in tmp_path.iterdir())
    words = [a.format(tmp=tmp_path, folder=folder) for a in argv]
    assert main(["transform", str(model), *words]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(message, err[0]), err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_transform_never_writes_into_a_face_store(folder, model, tmp_path, capsys):
    pytest.importorskip("zarr")
    store = tmp_path / "faces.zarr"
    assert main(["pack", str(folder), "-o", str(store), "--processes", "1", "--json"]) == 0
    capsys.readouterr()
    assert main(["transform", str(model), str(store), "-o", str(store / "f.npz")]) == 2
    assert "is inside the face store" in capsys.readouterr().err
    assert not (store / "f.npz").exists()
    out = tmp_path / "f.npz"  # outside it: the store's faces, as they are
    assert main(["transform", str(model), str(store), "-o", str(out)]) == 0
    with np.load(out, allow_pickle=False) as d:
        m = facenmf.load_model(model)
        np.testing.assert_allclose(d["features"], m.transform(facenmf.load_faces(store).A).T,
                                   rtol=1e-6, atol=1e-7)
        assert list(d["labels"]) == [f"p{p}" for p in range(3) for _ in range(3)]
