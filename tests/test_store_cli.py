"""facenmf pack, and fit / recognize / compress of a face store, from the command line."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import facenmf
from facenmf.cli import main
from facenmf.data import load_faces

zarr = pytest.importorskip("zarr")

IDS, PER_ID, SHAPE = 4, 2100, (8, 8)  # 8400 faces: 5 chunks of 2048


def pack_cmd(*argv):
    return [sys.executable, "-m", "facenmf.cli", "pack", *map(str, argv)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from PIL import Image

    root = tmp_path_factory.mktemp("cli") / "people"
    rng = np.random.default_rng(0)
    for person in range(IDS):
        (root / f"p{person}").mkdir(parents=True)
        base = rng.integers(0, 200, SHAPE)
        for i in range(PER_ID):
            pixels = (base + rng.integers(0, 56, SHAPE)).astype(np.uint8)
            Image.fromarray(pixels).save(root / f"p{person}" / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def store(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("packed") / "faces.zarr"
    assert main(["pack", str(folder), "-o", str(out), "--chunk-faces", "2048", "--json"]) == 0
    return out


def raw(path):
    return zarr.open_group(path, mode="r")["A"][:]


def test_pack_writes_the_faces_of_the_folder(store, folder, capsys):
    faces, ref = load_faces(store), load_faces(folder)
    np.testing.assert_array_equal(np.asarray(faces.A), ref.A)  # 8-bit images: exact
    np.testing.assert_array_equal(faces.labels, ref.labels)
    assert faces.paths == ref.paths and faces.image_shape == SHAPE
    # The same pack again: nothing to do, said in one line.
    assert main(["pack", str(folder), "-o", str(store), "--chunk-faces", "2048"]) == 0
    out = capsys.readouterr().out
    assert out == f"{store}: already packed (8400 faces of 8x8, 5 chunks); nothing to do\n"


def test_pack_reports_what_it_did(folder, tmp_path):
    r = subprocess.run(pack_cmd(folder, "-o", tmp_path / "s.zarr", "--size", 4, 4,
                                "--processes", 2), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no progress bar in a redirected log
    assert r.stdout.startswith(f"8400 faces of 4x4 -> {tmp_path / 's.zarr'}: 2 chunks of 8192 "
                               "faces (2 written) by 2 processes in ")
    assert r.stdout.rstrip().endswith("faces/s")
    assert load_faces(tmp_path / "s.zarr").preparation["size"] == [4, 4]


def test_fit_recognize_and_compress_take_a_store(store, tmp_path, capsys):
    assert main(["fit", str(store), "-o", str(tmp_path / "m.npz"), "--rank", "6",
                 "--max-iter", "5", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["n_faces"] == 8400 and s["source"] == str(store)
    model = facenmf.load_model(tmp_path / "m.npz")
    assert model.image_shape == SHAPE and model.preparation["source"].endswith("people")
    ref = facenmf.nmf(np.asarray(load_faces(store).A), 6, max_iter=5, tol=0, random_state=0)
    np.testing.assert_allclose(model.W, ref.W, atol=2e-4)

    assert main(["recognize", str(store), "--rank", "6", "--splits", "1", "--method", "nmf",
                 "--no-tune", "--train-per-identity", "20", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["protocol"]["n_faces"] == 8400 and doc["protocol"]["n_identities"] == IDS

    container = tmp_path / "faces.fnc"
    assert main(["compress", str(tmp_path / "m.npz"), str(store), "-o", str(container),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_faces"] == 8400 and report["faces"][0]["name"] == "p0/0"
    assert report["faces"][0]["input"].endswith(os.path.join("p0", "0.png"))
    assert main(["decompress", str(tmp_path / "m.npz"), str(container), "-o",
                 str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "p3" / f"{PER_ID - 1}.png").is_file()


@pytest.mark.parametrize("argv,message", [
    (["pack", "{folder}", "-o", "{tmp}/s.zarr", "--chunk-faces", "3000"],
     "--chunk-faces: expected a multiple of 2048 (the engine's block of faces), got 3000"),
    (["pack", "{folder}", "-o", "{tmp}/keep"],
     "-o/--output: {tmp}/keep exists and is not a face store; a pack never overwrites it"),
    (["pack", "{folder}", "-o", "{folder}/p0/s.zarr"],
     "-o/--output: {folder}/p0/s.zarr is inside the source folder {folder}"),
    (["pack", "{folder}", "-o", "{store}", "--size", "4", "4"],
     "-o/--output: {store} holds a finished pack of another face size; a pack resumes only "
     "the same pack"),
    (["pack", "{store}", "-o", "{tmp}/s.zarr"], "source: {store} is already a face store"),
    (["pack", "{folder}", "-o", "{tmp}/afile/s.zarr"],
     "-o/--output: cannot create {tmp}/afile/s.zarr: {tmp}/afile is a file, not a folder"),
    (["fit", "{store}", "-o", "{tmp}/m.npz", "--size", "4", "4"],
     "--size: not used with a face store ({store} holds faces prepared when it was packed)"),
    (["fit", "{store}", "-o", "{store}/m.npz"],
     "-o/--output: {store}/m.npz is inside the face store {store}, an input"),
    (["compress", "{tmp}/m.npz", "{store}", "{folder}/p0/0.png", "-o", "{tmp}/c.fnc"],
     "images: {store} is a face store; compress a store on its own"),
    (["compress", "{tmp}/m.npz", "{store}", "--resize", "-o", "{tmp}/c.fnc"],
     "--resize: not used with a face store"),
])
def test_errors_are_one_line_naming_the_option(store, folder, tmp_path, capsys, argv,
                                                message):
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "mine.txt").write_text("mine")
    (tmp_path / "afile").write_text("")
    facenmf.save_model(tmp_path / "m.npz", facenmf.NMF(2, image_shape=SHAPE).fit(
        np.random.default_rng(0).random((64, 10))))
    fill = {"folder": folder, "tmp": tmp_path, "store": store}
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main([a.format(**fill) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("facenmf: error: " + message.format(**fill))
    assert err.count("\n") == 1 and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
    assert (tmp_path / "keep" / "mine.txt").read_text() == "mine"


def test_pack_help_says_the_rule_for_an_existing_store(capsys):
    with pytest.raises(SystemExit):
        main(["pack", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "If it exists it must be the store of this same pack" in text
    assert "an unfinished one is resumed, its finished chunks kept" in text
    assert "Anything else there is refused, never overwritten" in text


def test_without_zarr_the_cli_says_which_extra(store, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "zarr", None)
    assert main(["fit", str(store), "-o", str(tmp_path / "m.npz")]) == 2
    assert capsys.readouterr().err == ("facenmf: error: a face store needs zarr (zarr is not "
                                       "installed): pip install 'facenmf[store]'\n")


def finished_chunks(store):
    """Chunks the store's pack record lists as finished (read as plain JSON)."""
    try:
        return len(json.loads((store / "pack" / "zarr.json").read_text())["attributes"]["done"])
    except (OSError, ValueError, KeyError):
        return 0


def interrupt(cmd, store, how):
    """Start ``cmd`` in its own process group; stop it with ``how`` once a chunk is done."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    deadline = time.monotonic() + 120
    while finished_chunks(store) == 0 and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    how(p)
    out, err = p.communicate(timeout=60)
    return p, err


def group_ends(pgid, seconds=20):
    """True once no process of the group is left (the pack's workers exit too)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    os.killpg(pgid, signal.SIGKILL)
    return False


@pytest.mark.parametrize("how", ["kill", "ctrl-c"])
def test_an_interrupted_pack_resumes_to_the_same_store(store, folder, tmp_path, how):
    out = tmp_path / "s.zarr"
    cmd = pack_cmd(folder, "-o", out, "--chunk-faces", 2048, "--processes", 2)
    if how == "kill":  # the pack killed outright: its worker processes go too
        p, err = interrupt(cmd, out, lambda p: os.kill(p.pid, signal.SIGKILL))
        assert p.returncode == -signal.SIGKILL
        assert group_ends(p.pid)
    else:  # Ctrl-C reaches every process of the terminal's group
        p, err = interrupt(cmd, out, lambda p: os.killpg(p.pid, signal.SIGINT))
        assert p.returncode == 130, err
        assert err == (f"facenmf: interrupted: the finished chunks of {out} are kept; run the "
                       "same command again to resume\n")
        assert group_ends(p.pid)
    kept = finished_chunks(out)
    assert 1 <= kept < 5, "the pack was not interrupted mid-way"
    chunk0 = out / "A" / "c" / "0" / "0"
    before = chunk0.stat().st_mtime_ns
    r = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["chunks_kept"] == kept and report["chunks_written"] == 5 - kept
    assert report["faces_written"] == 8400 - 2048 * kept
    assert chunk0.stat().st_mtime_ns == before
    np.testing.assert_array_equal(raw(out), raw(store))
    assert dict(zarr.open_group(out).attrs) == dict(zarr.open_group(store).attrs)


def test_a_damaged_store_stops_the_fit_with_one_line(store, tmp_path):
    import shutil

    copy = tmp_path / "copy.zarr"
    shutil.copytree(store, copy)
    (copy / "A" / "c" / "0" / "2").write_bytes(b"\0" * 100)
    r = subprocess.run([sys.executable, "-m", "facenmf.cli", "fit", str(copy), "-o",
                        str(tmp_path / "m.npz"), "--rank", "3"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert r.stderr == (f"facenmf: error: {copy}: chunk A/c/0/2 (faces 4096 to 6143) cannot "
                        "be read (its crc32c checksum does not match: the bytes changed on "
                        "disk); the store is damaged: delete it and pack the faces again\n")
    assert not (tmp_path / "m.npz").exists()
