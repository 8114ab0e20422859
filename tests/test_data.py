"""Tests of facenmf.data: layouts, formats, preprocessing, bad input, FaceSet splits.

Every image is generated in tmp_path; the real ORL/CBCL copies in ../shared/datasets are
used by the tests marked slow, skipped when absent.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facenmf.data import DATABASES, FaceSet, load_faces

from helpers import CBCL, ORL

RNG = np.random.default_rng(12345)


def _img(h=6, w=5, seed=0, dtype=np.uint8):
    rng = np.random.default_rng(seed)
    high = 256 if dtype == np.uint8 else 65536
    return rng.integers(0, high, size=(h, w)).astype(dtype)


def _save(path, array, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kw)
    return path


def _one_line(exc_info):
    text = str(exc_info.value)
    assert "\n" not in text, text
    return text


# -- the bundled default ------------------------------------------------------------------
def test_lfw_subset_default():
    faces = load_faces()
    assert faces.A.shape == (625, 100)
    assert faces.A.dtype == np.float32
    assert faces.image_shape == (25, 25)
    assert faces.labels is None and faces.paths is None
    assert 0 <= faces.A.min() and faces.A.max() <= 1
    from skimage.data import lfw_subset

    np.testing.assert_allclose(faces.A[:, 3], lfw_subset()[3].reshape(-1), atol=1e-6)
    assert faces.images().shape == (100, 25, 25)


def test_lfw_subset_preprocessed():
    faces = load_faces("lfw-subset", size=(10, 12), normalize="lee-seung")
    assert faces.A.shape == (120, 100)


# -- layouts ---------------------------------------------------------------------------
@pytest.fixture
def orl_like(tmp_path):
    """Folder per identity like ORL: s1..s12/1..3.pgm, 6x5 8-bit."""
    root = tmp_path / "orl"
    images = {}
    for s in range(1, 13):
        for k in range(1, 4):
            a = _img(seed=100 * s + k)
            images[(s, k)] = a
            _save(root / f"s{s}" / f"{k}.pgm", a)
    (root / "README").write_text("not an image")
    return root, images


def test_identity_folders(orl_like):
    root, images = orl_like
    faces = load_faces(root)
    assert faces.A.shape == (30, 36)
    assert faces.image_shape == (6, 5)
    # natural order: s1, s2, ..., s10 (not s1, s10, s11, s2)
    assert faces.labels[:3].tolist() == ["s1"] * 3
    assert faces.labels[3] == "s2" and faces.labels[-1] == "s12"
    assert len(faces.identities) == 12
    assert faces.paths[0].endswith("s1/1.pgm")
    # one flattened face per column, row-major, exactly pixel / 255
    np.testing.assert_array_equal(faces.A[:, 4], images[(2, 2)].reshape(-1) / np.float32(255))
    assert faces.A.flags.f_contiguous


def test_lfw_like_jpeg_identity_folders(tmp_path):
    for name in ["Aaron_Eckhart", "Zoe_Ball"]:
        for k in (1, 2):
            rgb = RNG.integers(0, 256, (8, 8, 3)).astype(np.uint8)
            _save(tmp_path / name / f"{name}_{k:04d}.jpg", rgb, quality=95)
    faces = load_faces(tmp_path, layout="identity-folders")
    assert faces.A.shape == (64, 4)
    assert faces.labels.tolist() == ["Aaron_Eckhart"] * 2 + ["Zoe_Ball"] * 2


def test_flat_yale_like_no_extension_gif(tmp_path):
    for s in (1, 2, 3):
        for cond in ("happy", "sad"):
            a = _img(seed=s * 10 + len(cond))
            Image.fromarray(a).save(tmp_path / f"subject{s:02d}.{cond}", format="GIF")
    (tmp_path / "Readme.txt").write_text("Yale faces")
    faces = load_faces(tmp_path, glob="subject*", pattern=r"subject(\d+)")
    assert faces.A.shape == (30, 6)
    assert faces.labels.tolist() == ["01", "01", "02", "02", "03", "03"]
    # GIF is palette-based; a grey palette round-trips exactly
    with Image.open(tmp_path / "subject01.happy") as first:
        assert first.format == "GIF"


def test_flat_named_group_callable_and_no_labels(tmp_path):
    for i in range(1, 5):
        _save(tmp_path / f"face{i:05d}.pgm", _img(seed=i))
    plain = load_faces(tmp_path)
    assert plain.labels is None and plain.A.shape == (30, 4)
    named = load_faces(tmp_path, pattern=r"face0+(?P<label>\d)")
    assert named.labels.tolist() == ["1", "2", "3", "4"]
    odd = load_faces(tmp_path, pattern=lambda p: int(p.stem[-1]) % 2)
    assert odd.labels.tolist() == [1, 0, 1, 0]


def test_file_list_and_labels(tmp_path):
    files = [_save(tmp_path / f"{i}.png", _img(seed=i)) for i in range(3)]
    faces = load_faces(files, labels=["a", "b", "a"])
    assert faces.labels.tolist() == ["a", "b", "a"]
    assert faces.paths == [str(f) for f in files]
    single = load_faces(files[1])
    assert single.A.shape == (30, 1)
    with pytest.raises(ValueError, match="labels: expected 3 labels"):
        load_faces(files, labels=["a"])
    with pytest.raises(ValueError, match="empty list"):
        load_faces([])


@pytest.mark.parametrize(
    "images, expected",
    [
        (np.array([[[0, 255], [51, 102]]], np.uint8), [[0, 1], [0.2, 0.4]]),
        (np.array([[[0, 65535], [13107, 0]]], np.uint16), [[0, 1], [0.2, 0]]),
        (np.array([[[0.0, 1.0], [0.5, 0.25]]]), [[0, 1], [0.5, 0.25]]),
        (np.array([[[True, False], [False, True]]]), [[1, 0], [0, 1]]),
        (np.full((1, 2, 2, 3), 255, np.uint8), [[1, 1], [1, 1]]),
    ],
)
def test_array_source(images, expected):
    faces = load_faces(images)
    np.testing.assert_allclose(faces.images()[0], expected, atol=1e-6)


def test_array_source_errors():
    with pytest.raises(ValueError, match=r"float pixel values in \[0, 1\]"):
        load_faces(np.full((2, 3, 3), 2.0))
    with pytest.raises(ValueError, match="shape"):
        load_faces(np.zeros((3, 3)))
    with pytest.raises(TypeError, match="source"):
        load_faces(42)


# -- formats -----------------------------------------------------------------------------
def _rgb_to_grey(rgb):
    return (rgb[..., :3].astype(np.float64) @ [0.299, 0.587, 0.114]) / 255


@pytest.mark.parametrize(
    "name, make",
    [
        ("grey8.pgm", lambda a8, a16, rgb: (Image.fromarray(a8), a8 / 255)),
        ("grey8.png", lambda a8, a16, rgb: (Image.fromarray(a8), a8 / 255)),
        ("grey8.bmp", lambda a8, a16, rgb: (Image.fromarray(a8), a8 / 255)),
        ("grey8.tif", lambda a8, a16, rgb: (Image.fromarray(a8), a8 / 255)),
        ("grey8.gif", lambda a8, a16, rgb: (Image.fromarray(a8), a8 / 255)),
        ("grey16.png", lambda a8, a16, rgb: (Image.fromarray(a16), a16 / 65535)),
        ("grey16.tif", lambda a8, a16, rgb: (Image.fromarray(a16), a16 / 65535)),
        ("grey16.pgm", lambda a8, a16, rgb: (Image.fromarray(a16), a16 / 65535)),
        ("rgb.png", lambda a8, a16, rgb: (Image.fromarray(rgb), _rgb_to_grey(rgb))),
        ("rgb.ppm", lambda a8, a16, rgb: (Image.fromarray(rgb), _rgb_to_grey(rgb))),
        ("rgb.bmp", lambda a8, a16, rgb: (Image.fromarray(rgb), _rgb_to_grey(rgb))),
        ("rgb.tiff", lambda a8, a16, rgb: (Image.fromarray(rgb), _rgb_to_grey(rgb))),
        ("rgba.png", lambda a8, a16, rgb: (
            Image.fromarray(np.dstack([rgb, a8])), _rgb_to_grey(rgb) * a8 / 255)),
        ("la.png", lambda a8, a16, rgb: (
            Image.fromarray(np.dstack([a8, a8[::-1]])).convert("LA")
            if False else Image.merge("LA", [Image.fromarray(a8), Image.fromarray(a8[::-1])]),
            (a8 / 255) * (a8[::-1] / 255))),
        ("palette.png", lambda a8, a16, rgb: (
            Image.fromarray(rgb).quantize(colors=256),
            _rgb_to_grey(np.asarray(Image.fromarray(rgb).quantize(colors=256).convert("RGB"))))),
        ("bilevel.png", lambda a8, a16, rgb: (
            Image.fromarray(a8 > 127), (a8 > 127).astype(float))),
        ("cmyk.tif", lambda a8, a16, rgb: (
            Image.fromarray(rgb).convert("CMYK"),
            _rgb_to_grey(np.asarray(Image.fromarray(rgb).convert("CMYK").convert("RGB"))))),
        ("float.tif", lambda a8, a16, rgb: (
            Image.fromarray((a8 / 255).astype(np.float32)), a8 / 255)),
    ],
)
def test_formats_to_grey(tmp_path, name, make):
    a8 = _img(7, 9, seed=1)
    a16 = _img(7, 9, seed=2, dtype=np.uint16)
    rgb = RNG.integers(0, 256, (7, 9, 3)).astype(np.uint8)
    image, expected = make(a8, a16, rgb)
    image.save(tmp_path / name)
    faces = load_faces([tmp_path / name])
    assert faces.A.dtype == np.float32 and faces.image_shape == (7, 9)
    np.testing.assert_allclose(faces.images()[0], expected, atol=1e-5)


def test_jpeg_rgb_close_to_luma(tmp_path):
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[..., 0] = 200
    rgb[..., 1] = 100
    _save(tmp_path / "photo.jpeg", rgb, quality=100)
    faces = load_faces([tmp_path / "photo.jpeg"])
    np.testing.assert_allclose(faces.A, (0.299 * 200 + 0.587 * 100) / 255, atol=0.02)


def test_palette_with_transparency_over_black(tmp_path):
    img = Image.new("P", (4, 4), 1)
    img.putpalette([0, 0, 0, 255, 255, 255] + [0] * (3 * 254))
    img.info["transparency"] = 1
    img.save(tmp_path / "t.png", transparency=1)
    faces = load_faces([tmp_path / "t.png"])
    np.testing.assert_allclose(faces.A, 0.0)


def test_first_frame_of_animation(tmp_path):
    frames = [Image.fromarray(np.full((4, 4), v, np.uint8)) for v in (0, 255)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    faces = load_faces([tmp_path / "anim.gif"])
    np.testing.assert_allclose(faces.A, 0.0)


def test_exif_orientation_applied(tmp_path):
    a = np.zeros((4, 8, 3), np.uint8)
    img = Image.fromarray(a)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees: a 4x8 photo is shown 8x4
    img.save(tmp_path / "rot.jpg", exif=exif)
    assert load_faces([tmp_path / "rot.jpg"]).image_shape == (8, 4)


# -- preprocessing -----------------------------------------------------------------------
@pytest.fixture
def one_face(tmp_path):
    a = np.arange(100, dtype=np.uint8).reshape(10, 10)
    return _save(tmp_path / "f.png", a), a / np.float32(255)


def test_crops(one_face):
    path, a = one_face
    np.testing.assert_allclose(load_faces([path], crop=(4, 6)).images()[0], a[3:7, 2:8])
    np.testing.assert_allclose(load_faces([path], crop=(1, 2, 5, 9)).images()[0], a[1:5, 2:9])
    assert load_faces([path], crop=0.5).image_shape == (5, 5)
    with pytest.raises(ValueError, match=r"f.png: centre crop 20x4 \(crop\) is larger") as exc:
        load_faces([path], crop=(20, 4))
    _one_line(exc)
    with pytest.raises(ValueError, match="falls outside"):
        load_faces([path], crop=(0, 0, 11, 5))
    with pytest.raises(ValueError, match="crop: expected a box"):
        load_faces([path], crop=(5, 0, 2, 5))
    with pytest.raises(TypeError, match="crop"):
        load_faces([path], crop="centre")


def test_resize_equalize_normalize(one_face):
    path, a = one_face
    small = load_faces([path], size=(5, 4))
    assert small.image_shape == (5, 4) and small.A.dtype == np.float32
    assert 0 <= small.A.min() and small.A.max() <= 1
    assert load_faces([path], size=7).image_shape == (7, 7)
    # crop happens before resize: crop the left half, then resize
    left = load_faces([path], crop=(0, 0, 10, 5), size=(10, 5))
    np.testing.assert_allclose(left.images()[0], a[:, :5], atol=1e-6)
    eq = load_faces([path], equalize=True)
    assert eq.A.max() == pytest.approx(1.0) and eq.A.min() < 0.05
    norm = load_faces([path], normalize="lee-seung")
    assert norm.A.min() == 0 and norm.A.max() <= 1  # clipped
    two_valued = np.tile([[0.2, 0.6]], (4, 2))[None]  # mean 0.4, std 0.2 -> 0 and 0.5
    norm = load_faces(two_valued, normalize="lee-seung")
    assert norm.A.mean() == pytest.approx(0.25, abs=1e-6)
    assert norm.A.std() == pytest.approx(0.25, abs=1e-6)
    np.testing.assert_allclose(np.unique(norm.A), [0, 0.5], atol=1e-6)
    with pytest.raises(ValueError, match="normalize: unknown value"):
        load_faces([path], normalize="zscore")
    with pytest.raises(ValueError, match="size: expected positive"):
        load_faces([path], size=(0, 3))


def test_normalize_clips_and_constant():
    def normalize_image(image):  # one image through the public loader, as a face column
        return load_faces(image[None], normalize="lee-seung").A[:, 0]

    spiky = np.zeros((10, 10), np.float32)
    spiky[0, 0] = 1
    out = normalize_image(spiky)
    assert out.min() >= 0 and out.max() <= 1
    np.testing.assert_allclose(normalize_image(np.full((3, 3), 0.7, np.float32)), 0.25)


def test_mixed_sizes_names_two_files(tmp_path):
    _save(tmp_path / "a.png", _img(6, 5))
    _save(tmp_path / "b.png", _img(6, 5))
    _save(tmp_path / "c.png", _img(4, 4))
    for on_error in ("raise", "skip"):
        with pytest.raises(ValueError, match=r"a\.png is 6x5 but .*c\.png is 4x4.*size=") as exc:
            load_faces(tmp_path, on_error=on_error)
        _one_line(exc)
    assert load_faces(tmp_path, size=(4, 4)).A.shape == (16, 3)


# -- bad input ---------------------------------------------------------------------------
def _bomb_png(path, width=60000, height=60000):
    """A valid-looking PNG whose header claims width x height pixels."""
    _save(path, np.zeros((2, 2), np.uint8))
    data = bytearray(path.read_bytes())
    ihdr = 8  # after the signature: length(4) type(4) data(13) crc(4)
    body = bytearray(data[ihdr + 8: ihdr + 8 + 13])
    body[0:8] = struct.pack(">II", width, height)
    crc = zlib.crc32(b"IHDR" + bytes(body)) & 0xFFFFFFFF
    data[ihdr + 8: ihdr + 8 + 13] = body
    data[ihdr + 21: ihdr + 25] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))
    return path


@pytest.fixture
def bad_files(tmp_path):
    good = [_save(tmp_path / f"good{i}.png", _img(seed=i)) for i in range(2)]
    text = tmp_path / "notes.png"
    text.write_text("this is a text file, not a PNG")
    full = _save(tmp_path / "trunc.png", _img(40, 40, seed=3)).read_bytes()
    trunc = tmp_path / "trunc.png"
    trunc.write_bytes(full[: len(full) // 2])
    corrupt = tmp_path / "corrupt.pgm"
    corrupt.write_bytes(b"P5 6 5 255\n" + b"\x00" * 7)
    bomb = _bomb_png(tmp_path / "bomb.png")
    return tmp_path, good, {"text": text, "trunc": trunc, "corrupt": corrupt, "bomb": bomb}


@pytest.mark.parametrize(
    "kind, message",
    [
        ("text", "not an image Pillow can read"),
        ("trunc", "truncated or corrupt image"),
        ("corrupt", "truncated or corrupt image"),
        ("bomb", "decompression bomb"),
    ],
)
def test_bad_file_one_clear_message(bad_files, kind, message):
    _, good, bad = bad_files
    with pytest.raises(ValueError) as exc:
        load_faces([good[0], bad[kind], good[1]])
    text = _one_line(exc)
    assert text.startswith(str(bad[kind]) + ": ")
    assert message in text
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


def test_max_pixels_guard(one_face):
    path, _ = one_face
    with pytest.raises(ValueError, match=r"10x10 = 100 pixels exceeds the limit of 99"):
        load_faces([path], max_pixels=99)
    assert load_faces([path], max_pixels=100).n_faces == 1


def test_skip_lists_every_bad_file(bad_files):
    folder, good, bad = bad_files
    with pytest.warns(UserWarning, match=r"skipped 4 of 6 files") as rec:
        faces = load_faces(folder, on_error="skip")
    assert len(rec) == 1
    text = str(rec[0].message)
    for path in bad.values():
        assert str(path) in text
    assert faces.n_faces == 2
    assert sorted(Path(p).name for p in faces.paths) == ["good0.png", "good1.png"]
    assert {Path(p).name for p, _ in faces.skipped} == {p.name for p in bad.values()}


def test_missing_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist") as exc:
        load_faces(tmp_path / "nowhere")
    _one_line(exc)
    good = _save(tmp_path / "g.png", _img())
    with pytest.raises(FileNotFoundError, match=r"gone\.png: no such file"):
        load_faces([good, tmp_path / "gone.png"])
    with pytest.warns(UserWarning, match="skipped 1 of 2"):
        assert load_faces([good, tmp_path / "gone.png"], on_error="skip").n_faces == 1


def test_empty_and_imageless_folders(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="the folder is empty"):
        load_faces(empty)
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "a.txt").write_text("x")
    with pytest.raises(ValueError, match="no images found.*glob='\\*'") as exc:
        load_faces(texts)
    _one_line(exc)


def test_empty_identity_folder(orl_like):
    root, _ = orl_like
    (root / "s13").mkdir()
    with pytest.raises(ValueError, match=r"s13: identity folder 's13' is empty") as exc:
        load_faces(root)
    _one_line(exc)
    with pytest.warns(UserWarning, match=r"skipped 1 of 37 .*s13"):
        faces = load_faces(root, on_error="skip")
    assert faces.n_faces == 36


def test_pattern_mismatch(tmp_path):
    _save(tmp_path / "subject01.png", _img())
    _save(tmp_path / "other.png", _img())
    with pytest.raises(ValueError, match=r"other\.png: file name does not match pattern"):
        load_faces(tmp_path, pattern=r"subject(\d+)")
    with pytest.warns(UserWarning, match="skipped 1 of 2"):
        faces = load_faces(tmp_path, pattern=r"subject(\d+)", on_error="skip")
    assert faces.labels.tolist() == ["01"]


def test_everything_skipped_is_an_error(bad_files):
    _, _, bad = bad_files
    with pytest.raises(ValueError, match="no face could be loaded"):
        load_faces([bad["text"], bad["trunc"]], on_error="skip")


def test_ambiguous_folder_needs_layout(orl_like):
    root, _ = orl_like
    _save(root / "stray.png", _img())
    with pytest.raises(ValueError, match="layout="):
        load_faces(root)
    assert load_faces(root, layout="identity-folders").n_faces == 36
    assert load_faces(root, layout="flat").n_faces == 1


def test_argument_checks(one_face):
    path, _ = one_face
    with pytest.raises(ValueError, match="on_error: unknown value"):
        load_faces([path], on_error="ignore")
    with pytest.raises(TypeError, match="progress"):
        load_faces([path], progress=3)
    with pytest.raises(ValueError, match="pattern: not a valid regular expression"):
        load_faces([path], pattern="(")
    with pytest.raises(ValueError, match="detect_options: given but detect=False"):
        load_faces([path], detect_options={"margin": 0.1})
    with pytest.raises(ValueError, match="path: only used with a registered"):
        load_faces(path.parent, path=path.parent)


# -- memory map and progress -------------------------------------------------------------
def test_out_memmap_and_progress(orl_like, tmp_path):
    root, _ = orl_like
    calls = []
    mm = load_faces(root, out=tmp_path / "A.npy", progress=lambda d, t: calls.append((d, t)))
    ref = load_faces(root)
    assert isinstance(mm.A, np.memmap) and mm.A.shape == (30, 36)
    assert mm.A.flags.f_contiguous and not mm.A.flags.writeable
    np.testing.assert_array_equal(mm.A, ref.A)
    np.testing.assert_array_equal(np.load(tmp_path / "A.npy"), ref.A)
    assert calls == [(i, 36) for i in range(1, 37)]
    with pytest.raises(FileExistsError, match="does not overwrite"):
        load_faces(root, out=tmp_path / "A.npy")


def test_out_memmap_with_skips_and_failure(bad_files, tmp_path):
    folder, good, bad = bad_files
    target = tmp_path / "sub"
    target.mkdir()
    with pytest.warns(UserWarning, match="skipped 4"):
        faces = load_faces(folder, out=target / "A.npy", on_error="skip")
    assert faces.A.shape == (30, 2)
    np.testing.assert_array_equal(faces.A, load_faces(good).A)
    assert sorted(p.name for p in target.iterdir()) == ["A.npy"]
    with pytest.raises(ValueError):
        load_faces([good[0], bad["text"]], out=target / "B.npy")
    assert sorted(p.name for p in target.iterdir()) == ["A.npy"]  # nothing left behind


# -- face detection ----------------------------------------------------------------------
def test_detect_finds_the_astronaut_face(tmp_path):
    from skimage.data import astronaut

    photo = _save(tmp_path / "photos" / "astronaut.png", astronaut())
    blank = _save(tmp_path / "photos" / "wall.png", np.full((120, 120), 128, np.uint8))
    faces = load_faces([photo], detect=True, size=(32, 32))
    assert faces.A.shape == (32 * 32, 1)
    with pytest.raises(ValueError, match=r"wall\.png: no face found") as exc:
        load_faces([photo, blank], detect=True, size=(32, 32))
    _one_line(exc)
    with pytest.warns(UserWarning, match=r"skipped 1 of 2 .*wall\.png"):
        kept = load_faces(tmp_path / "photos", detect=True, size=(32, 32), on_error="skip")
    assert kept.paths == [str(photo)]
    wide = load_faces([photo], detect=True, size=(32, 32), detect_options={"margin": 0.2})
    assert wide.n_faces == 1
    with pytest.raises(ValueError, match="unknown keys"):
        load_faces([photo], detect=True, detect_options={"colour": 1})


# -- FaceSet -----------------------------------------------------------------------------
@pytest.fixture
def labelled():
    n_id, per = 6, 7
    A = np.arange(4 * n_id * per, dtype=np.float32).reshape(4, -1) / (4 * n_id * per)
    labels = np.repeat([f"p{i}" for i in range(n_id)], per)
    return FaceSet(A, labels, (2, 2), paths=[f"f{i}" for i in range(n_id * per)])


def test_split_stratified_and_seeded(labelled):
    train, test = labelled.split(train_per_identity=5, random_state=0)
    assert train.n_faces == 30 and test.n_faces == 12
    for name in labelled.identities:
        assert (train.labels == name).sum() == 5 and (test.labels == name).sum() == 2
    assert set(train.paths).isdisjoint(test.paths)
    assert sorted(train.paths + test.paths) == sorted(labelled.paths)
    # each column still matches its path
    for fs in (train, test):
        for j, p in enumerate(fs.paths):
            np.testing.assert_array_equal(fs.A[:, j], labelled.A[:, labelled.paths.index(p)])
    again, _ = labelled.split(train_per_identity=5, random_state=0)
    assert again.paths == train.paths
    other, _ = labelled.split(train_per_identity=5, random_state=1)
    assert other.paths != train.paths


def test_repeated_splits(labelled):
    runs = list(labelled.splits(n_splits=4, train_per_identity=3, random_state=7))
    assert len(runs) == 4
    assert len({tuple(tr.paths) for tr, _ in runs}) == 4
    same = [tr.paths for tr, _ in labelled.splits(n_splits=4, train_per_identity=3, random_state=7)]
    assert same == [tr.paths for tr, _ in runs]


def test_split_errors(labelled):
    with pytest.raises(ValueError, match="identity 'p0' has 7 faces"):
        labelled.split(train_per_identity=7)
    with pytest.raises(ValueError, match="identity 'p0' has 7 faces"):
        labelled.splits(train_per_identity=7)
    with pytest.raises(TypeError, match="train_per_identity"):
        labelled.split(train_per_identity=2.5)
    with pytest.raises(ValueError, match="no identity labels"):
        load_faces().split()


def test_select_and_subset(labelled):
    two = labelled.select(["p1", "p4"])
    assert two.n_faces == 14 and set(two.labels) == {"p1", "p4"}
    assert labelled.select("p2").n_faces == 7
    with pytest.raises(ValueError, match="unknown identities 'nobody'"):
        labelled.select(["nobody"])
    uneven = labelled.subset(np.r_[0:7, 7:9])
    assert uneven.select(min_faces=3).identities.tolist() == ["p0"]
    assert labelled.subset(labelled.labels == "p3").n_faces == 7
    with pytest.raises(ValueError, match="boolean mask"):
        labelled.subset(np.ones(3, bool))
    with pytest.raises(ValueError, match="image_shape"):
        FaceSet(np.zeros((5, 2), np.float32), None, (2, 2))
    assert "42 faces of 2x2, 6 identities" in repr(labelled)


# -- registry and datasets/README.md -----------------------------------------------------
def test_registry_entries_complete():
    assert {"lfw-subset", "orl", "yale", "extyaleb", "cbcl", "lfw"} <= set(DATABASES)
    for name, entry in DATABASES.items():
        assert entry.name == name
        assert entry.licence and entry.citation and entry.homepage
        assert entry.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", entry.sha256)
        if entry.layout != "bundled":
            assert entry.url.startswith(("http://", "https://"))
            assert entry.marker and entry.archive


def test_datasets_readme_covers_every_database():
    folder = Path(__file__).resolve().parents[1] / "datasets"
    text = (folder / "README.md").read_text(encoding="utf-8")
    for name, entry in DATABASES.items():
        assert f"`{name}`" in text, name
        if entry.url:
            assert entry.url in text
    images = [p for p in folder.rglob("*") if p.suffix.lower() in
              {".pgm", ".png", ".jpg", ".gif", ".tif", ".bmp", ".ppm", ".zip", ".tgz"}]
    assert images == []


# -- real data ---------------------------------------------------------------------------
@pytest.mark.slow
def test_real_orl():
    orl = ORL
    if not (orl / "s1" / "1.pgm").exists():
        pytest.skip(f"ORL faces not found at {orl}")
    faces = load_faces("orl", path=orl)
    assert faces.A.shape == (10304, 400) and faces.A.dtype == np.float32
    assert faces.image_shape == (112, 92)
    assert len(faces.identities) == 40
    assert all((faces.labels == s).sum() == 10 for s in faces.identities)
    train, test = faces.split(train_per_identity=5, random_state=0)
    assert train.n_faces == test.n_faces == 200


@pytest.mark.slow
def test_real_cbcl():
    cbcl = CBCL
    if not (cbcl / "face" / "face00001.pgm").exists():
        pytest.skip(f"CBCL faces not found at {cbcl}")
    faces = load_faces("cbcl", path=cbcl, normalize="lee-seung")
    assert faces.A.shape == (361, 2429)
    assert faces.labels is None
