"""facenmf.compress: round trip within the quantization bound, a checked container format,
PSNR/SSIM against scikit-image, unique output names, atomic writes."""

import contextlib
import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

import facenmf
from facenmf import compress as fc
from facenmf import metrics
from facenmf import atomic_write as real_atomic_write

SHAPE = (12, 10)
N_PIXELS = SHAPE[0] * SHAPE[1]


@pytest.fixture(scope="module")
def faces():
    rng = np.random.default_rng(0)
    A = rng.random((N_PIXELS, 12)).astype(np.float32)
    A[:, 3] = 0  # an all-black face: every weight 0
    return A


@pytest.fixture(scope="module")
def model(faces):
    return facenmf.NMF(5, random_state=0, image_shape=SHAPE).fit(faces)


def names_for(n):
    return [f"face{j}" for j in range(n)]


@pytest.fixture
def container(tmp_path, model, faces):
    path = tmp_path / "faces.fnc"
    fc.compress_faces(model, faces, names_for(faces.shape[1]), path, bits=6)
    return path


def read_png(path):
    with Image.open(path) as im:
        assert im.mode == "L"
        return np.asarray(im, dtype=np.float64).reshape(-1) / 255


def rewrite(path, data, *, fix_crc=True):
    """Write `data` to `path`, with a valid CRC-32 for its contents when fix_crc."""
    data = bytes(data)
    if fix_crc:
        data = data[:-4] + struct.pack("<I", zlib.crc32(data[:-4]))
    path.write_bytes(data)


# -- round trip --------------------------------------------------------------------------
@pytest.mark.parametrize("bits", [2, 4, 8, 12, 16])
def test_round_trip_within_the_quantization_bound(tmp_path, model, faces, bits):
    path = tmp_path / "faces.fnc"
    report = fc.compress_faces(model, faces, names_for(faces.shape[1]), path, bits=bits)
    H = model.transform(faces).astype(np.float64)
    H_hat, names = fc.read_container(path, model)
    assert H_hat.dtype == np.float32 and H_hat.shape == H.shape
    assert names == names_for(faces.shape[1])

    # Weights: the step of component k is s_k / (2**bits - 1) with s_k = max_j H[k, j];
    # rounding to the nearest level errs by at most half a step (plus float32 rounding).
    step = H.max(axis=1) / (2 ** bits - 1)
    err = np.abs(H_hat - H)
    assert np.all(err <= step[:, None] / 2 * (1 + 1e-5) + 1e-6 * H.max())
    assert np.all(H_hat[H == 0] == 0)
    assert np.all(H_hat[:, 3] == 0)

    # Pixels: |W (h_hat - h)|_i <= sum_k W_ik step_k / 2; clipping to [0, 1] is 1-Lipschitz;
    # the 8-bit PNG adds at most half a grey level.
    out = fc.decompress_file(model, path, tmp_path / "out")
    W = model.W.astype(np.float64)
    exact = np.clip(W @ H, 0, 1)
    bound = W @ (step / 2) * (1 + 1e-5) + 0.5 / 255 + 1e-5
    decoded = np.stack([read_png(p) for p in out["files"]], axis=1)
    assert np.all(np.abs(decoded - exact) <= bound[:, None])
    assert out["n_faces"] == faces.shape[1] and out["image_shape"] == SHAPE

    # The report measures exactly what the decoder writes.
    assert report["psnr_mean"] == pytest.approx(np.mean(metrics.psnr(faces, decoded)), rel=1e-9)
    assert report["ssim_mean"] == pytest.approx(np.mean(metrics.ssim(faces, decoded, SHAPE)),
                                                rel=1e-9)


def test_more_bits_never_reconstruct_worse(tmp_path, model, faces):
    errors = []
    for bits in (2, 4, 8, 16):
        path = tmp_path / f"{bits}.fnc"
        fc.compress_faces(model, faces, names_for(faces.shape[1]), path, bits=bits)
        H_hat, _ = fc.read_container(path, model)
        errors.append(np.linalg.norm(model.reconstruct(H_hat) - model.reconstruct(
            model.transform(faces))))
    assert errors == sorted(errors, reverse=True)
    assert errors[-1] < 1e-3


def test_report(tmp_path, model, faces):
    path = tmp_path / "faces.fnc"
    r = fc.compress_faces(model, faces, names_for(faces.shape[1]), path, bits=8)
    size = path.stat().st_size
    n = faces.shape[1]
    assert r["bytes"] == size and r["n_faces"] == n and r["rank"] == 5 and r["bits"] == 8
    assert r["bytes_per_face"] == pytest.approx(size / n)
    assert r["ratio"] == pytest.approx(N_PIXELS / (size / n))
    assert r["payload_bytes"] < size and r["payload_bytes_per_face"] == r["payload_bytes"] / n
    assert 0 < r["nonzero_fraction"] <= 1
    assert [f["name"] for f in r["faces"]] == names_for(n)
    assert np.isinf(r["faces"][3]["psnr"])  # the black face is decoded exactly
    assert r["psnr_mean"] == np.mean([f["psnr"] for f in r["faces"]])
    # Header 68 bytes + names (2 + 5 or 6 bytes each) + scales + codes + CRC.
    names_bytes = sum(2 + len(s) for s in names_for(n))
    assert size == 68 + names_bytes + r["payload_bytes"] + 4


def test_compress_files_keeps_relative_paths_and_decodes_to_png(tmp_path, model, faces):
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    (src / "b").mkdir()
    files = []
    for j, rel in enumerate(["a/s1.pgm", "b/s1.pgm", "a/s2.png"]):
        img = np.rint(faces[:, j].reshape(SHAPE) * 255).astype(np.uint8)
        Image.fromarray(img).save(src / rel)
        files.append(src / rel)
    report = fc.compress_files(model, files, tmp_path / "c.fnc", bits=8)
    assert [f["name"] for f in report["faces"]] == ["a/s1", "b/s1", "a/s2"]
    assert [f["input"] for f in report["faces"]] == [str(f) for f in files]
    out = fc.decompress_file(model, tmp_path / "c.fnc", tmp_path / "out")
    assert out["files"] == [str(tmp_path / "out" / n) for n in ("a/s1.png", "b/s1.png",
                                                                  "a/s2.png")]
    assert sorted(p.relative_to(tmp_path / "out").as_posix()
                  for p in (tmp_path / "out").rglob("*.png")) == ["a/s1.png", "a/s2.png",
                                                                  "b/s1.png"]
    assert report["psnr_mean"] > 10


def test_compress_files_takes_folders_in_natural_order(tmp_path, model, faces):
    src = tmp_path / "orl"
    for j, rel in enumerate(["s1/1.pgm", "s1/10.pgm", "s1/2.pgm", "s2/1.pgm"]):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.rint(faces[:, j].reshape(SHAPE) * 255).astype(np.uint8)).save(
            src / rel)
    report = fc.compress_files(model, [src], tmp_path / "c.fnc")
    assert [f["name"] for f in report["faces"]] == ["s1/1", "s1/2", "s1/10", "s2/1"]
    out = fc.decompress_file(model, tmp_path / "c.fnc", tmp_path / "out")
    assert [f["name"] for f in out["faces"]] == ["s1/1", "s1/2", "s1/10", "s2/1"]
    assert (tmp_path / "out" / "s1" / "10.png").is_file()


def test_compress_files_refuses_another_image_size_unless_asked(tmp_path, model, faces):
    big = tmp_path / "big.png"
    Image.fromarray((np.random.default_rng(0).random((SHAPE[0] * 3, SHAPE[1] * 2)) * 255)
                    .astype(np.uint8)).save(big)
    with pytest.raises(ValueError, match=r"big\.png: image is .* resize=True"):
        fc.compress_files(model, [big], tmp_path / "c.fnc")
    assert not (tmp_path / "c.fnc").exists()
    report = fc.compress_files(model, [big], tmp_path / "c.fnc", resize=True)
    assert report["resized"] == [{"input": str(big), "from": [SHAPE[0] * 3, SHAPE[1] * 2]}]


def test_compress_files_never_writes_over_an_image(tmp_path, model, faces):
    img = tmp_path / "in0.png"
    Image.fromarray(np.rint(faces[:, 0].reshape(SHAPE) * 255).astype(np.uint8)).save(img)
    before = img.read_bytes()
    with pytest.raises(ValueError, match=r"writing .*in0.png would replace the input .*in0.png"):
        fc.compress_files(model, [img], img)
    assert img.read_bytes() == before


def test_decompress_never_writes_over_its_container(tmp_path, model, faces):
    path = tmp_path / "face0.png"  # a container whose name is that of a face it holds
    fc.compress_faces(model, faces[:, :2], ["face0", "face1"], path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"writing .*face0.png would replace the input .*face0.png"):
        fc.decompress_file(model, path, tmp_path)
    assert path.read_bytes() == before and not (tmp_path / "face1.png").exists()


# -- the container format ----------------------------------------------------------------
def test_header_layout(container, model):
    data = container.read_bytes()
    magic, version, scheme, bits, h, w, rank, n, names_bytes, payload_bytes, fp = \
        struct.unpack_from("<8sHBBIIIIII32s", data)
    assert magic == fc.MAGIC and version == fc.FORMAT_VERSION == 2 and scheme == 1
    assert (bits, h, w, rank, n) == (6, 12, 10, 5, 12)
    assert fp.hex() == fc.basis_fingerprint(model.W)
    assert len(data) == 68 + names_bytes + payload_bytes + 4
    assert struct.unpack("<I", data[-4:])[0] == zlib.crc32(data[:-4])


@pytest.mark.parametrize("fix_crc", [True, False])
def test_newer_format_version_is_refused(container, model, fix_crc):
    data = bytearray(container.read_bytes())
    data[8:10] = struct.pack("<H", 3)
    rewrite(container, data, fix_crc=fix_crc)
    with pytest.raises(ValueError, match=r"faces\.fnc: container format version 3 is newer "
                                         r"than this facenmf reads \(version 2\)"):
        fc.read_container(container, model)


def test_unknown_version_and_scheme_are_refused(container, model):
    good = container.read_bytes()
    data = bytearray(good)
    data[8:10] = struct.pack("<H", 0)
    rewrite(container, data)
    with pytest.raises(ValueError, match="version 0 is not supported"):
        fc.read_container(container, model)
    data = bytearray(good)
    data[10] = 9
    rewrite(container, data)
    with pytest.raises(ValueError, match="unknown quantization scheme 9"):
        fc.read_container(container, model)


def test_wrong_model_is_refused(tmp_path, container, model, faces):
    other = facenmf.NMF(5, random_state=1, init="random", image_shape=SHAPE).fit(faces)
    assert fc.basis_fingerprint(other.W) != fc.basis_fingerprint(model.W)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"faces\.fnc: written with a different basis: "
                                         r"fingerprints differ"):
        fc.decompress_file(other, container, out)
    assert not out.exists()
    bigger = facenmf.NMF(6, random_state=0, image_shape=SHAPE).fit(faces)
    with pytest.raises(ValueError, match="fingerprints differ"):
        fc.read_container(container, bigger)
    same_values = facenmf.NMF(5, image_shape=SHAPE)
    same_values.W = model.W.astype(np.float64)  # another dtype is another basis
    with pytest.raises(ValueError, match="fingerprints differ"):
        fc.read_container(container, same_values)


def cut_points(n):
    return [0, 3, 8, 9, 40, 67, 68, 75, n - 30, n - 5, n - 1]


def test_truncated_files_are_refused_and_nothing_is_written(tmp_path, container, model):
    good = container.read_bytes()
    out = tmp_path / "out"
    for cut in cut_points(len(good)):
        container.write_bytes(good[:cut])
        with pytest.raises(ValueError, match=r"faces\.fnc: (truncated|empty file)"):
            fc.decompress_file(model, container, out)
        assert not out.exists(), cut
    container.write_bytes(good + b"\0")
    with pytest.raises(ValueError, match=r"faces\.fnc: corrupted .*1 bytes after"):
        fc.read_container(container, model)


def test_bit_flips_are_refused_and_nothing_is_written(tmp_path, container, model):
    good = container.read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    rng = np.random.default_rng(0)
    positions = sorted({0, 8, 11, 20, 36, 70, len(good) - 1, len(good) - 6,
                        *rng.integers(0, len(good), 40).tolist()})
    for pos in positions:
        for bit in (0, 7):
            data = bytearray(good)
            data[pos] ^= 1 << bit
            container.write_bytes(bytes(data))
            with pytest.raises(ValueError, match=r"faces\.fnc: "):
                fc.decompress_file(model, container, out)
    assert list(out.iterdir()) == []


def test_crafted_payload_with_a_valid_crc_is_refused(container, model):
    """Even with a valid checksum (a buggy or hostile writer), the payload is checked."""
    good = container.read_bytes()
    (names_bytes,) = struct.unpack_from("<I", good, 28)
    start = 68 + names_bytes
    for payload in (b"", b"\0" * 20, good[start:start + 20] + zlib.compress(b"\xff" * 3)):
        data = (good[:32] + struct.pack("<I", len(payload)) + good[36:start] + payload
                + b"\0\0\0\0")
        rewrite(container, data)
        with pytest.raises(ValueError, match=r"faces\.fnc: corrupted"):
            fc.read_container(container, model)
    # A name with a '..' part, or an absolute one, could write outside out_dir: refused.
    for bad in (b"../f0", b"/tmp0", b"a/../"):
        data = bytearray(good)
        first = data.index(b"face0")
        data[first:first + 5] = bad
        rewrite(container, data)
        with pytest.raises(ValueError, match=r"corrupted .*relative file name"):
            fc.read_container(container, model)


def test_foreign_and_missing_files(tmp_path, model):
    png = tmp_path / "face.png"
    Image.fromarray(np.zeros(SHAPE, np.uint8)).save(png)
    with pytest.raises(ValueError, match=r"face\.png: not a facenmf compressed-faces container"):
        fc.read_container(png, model)
    with pytest.raises(FileNotFoundError, match=r"nothing\.fnc: no such container file"):
        fc.decompress_file(model, tmp_path / "nothing.fnc", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# -- arguments ---------------------------------------------------------------------------
def test_bad_arguments(tmp_path, model, faces):
    path = tmp_path / "x.fnc"
    names = names_for(faces.shape[1])
    for bits, exc in ((1, ValueError), (17, ValueError), (8.0, TypeError), (True, TypeError)):
        with pytest.raises(exc, match="bits: expected"):
            fc.compress_faces(model, faces, names, path, bits=bits)
    with pytest.raises(ValueError, match=r"names: expected 12 names .* got 2"):
        fc.compress_faces(model, faces, ["a", "b"], path)
    for bad in ("../b", "/abs", "a//b", "", "..", "a/./b", "x\x00", "a\\b"):
        with pytest.raises(ValueError, match=r"names\[0\]: expected a relative file name"):
            fc.compress_faces(model, faces, [bad] + names[1:], path)
    with pytest.raises(TypeError, match=r"names: expected a list"):
        fc.compress_faces(model, faces, "abc", path)
    with pytest.raises(ValueError, match=r"A: expected values in \[0, 1\]"):
        fc.compress_faces(model, faces * 2 + 0.1, names, path)
    with pytest.raises(ValueError, match=r"A: expected shape \(120, \*\)"):
        fc.compress_faces(model, faces[:-1], names, path)
    with pytest.raises(TypeError, match="model: expected a fitted facenmf.NMF"):
        fc.compress_faces(model.W, faces, names, path)
    no_shape = facenmf.NMF(5, random_state=0).fit(faces)
    with pytest.raises(ValueError, match="model: has no image_shape"):
        fc.compress_faces(no_shape, faces, names, path)
    assert not path.exists()
    fc.compress_faces(model, faces, names, path)
    with pytest.raises(ValueError, match="out_dir: .* is not a folder"):
        fc.decompress_file(model, path, path)


# -- measures ----------------------------------------------------------------------------
def known_images():
    from skimage import data

    a = data.camera()[::8, ::8].astype(np.float64) / 255  # 64 x 64
    rng = np.random.default_rng(0)
    b = np.clip(a + rng.normal(0, 0.05, a.shape), 0, 1)
    c = np.clip(a * 0.8 + 0.1, 0, 1)
    return a, b, c


def test_psnr_and_ssim_agree_with_skimage():
    a, b, c = known_images()
    A = np.stack([a.ravel(), a.ravel()], axis=1)
    B = np.stack([b.ravel(), c.ravel()], axis=1)
    p = metrics.psnr(A, B)
    s = metrics.ssim(A, B, a.shape)
    for j, other in enumerate((b, c)):
        assert p[j] == pytest.approx(peak_signal_noise_ratio(a, other, data_range=1), rel=1e-12)
        assert s[j] == pytest.approx(structural_similarity(a, other, data_range=1), rel=1e-12)
        assert metrics.psnr(a.ravel(), other.ravel()) == pytest.approx(p[j], rel=1e-12)
        assert metrics.ssim(a.ravel(), other.ravel(), a.shape) == pytest.approx(s[j], rel=1e-12)
    # Known values: a uniform error of 0.1 is an MSE of 0.01, 20 dB; identical images.
    assert metrics.psnr(np.full(10, 0.3), np.full(10, 0.4)) == pytest.approx(20.0, rel=1e-12)
    assert metrics.psnr(a.ravel(), a.ravel()) == np.inf
    assert metrics.ssim(a.ravel(), a.ravel(), a.shape) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="b: expected the shape of a"):
        metrics.psnr(A, B[:, :1])
    with pytest.raises(ValueError, match="image_shape: expected"):
        metrics.ssim(A, B, (3, 3))


# -- names and atomic writes -------------------------------------------------------------
@pytest.mark.parametrize("names, expected", [
    (["a", "b"], ["a.png", "b.png"]),
    (["a", "a", "a"], ["a.png", "a-2.png", "a-3.png"]),
    (["a", "a", "a-2"], ["a.png", "a-3.png", "a-2.png"]),
    (["a-2", "a", "a"], ["a-2.png", "a.png", "a-3.png"]),
    (["Face", "face"], ["Face.png", "face-2.png"]),
])
def test_output_names_are_unique(names, expected):
    out = fc.output_names(names)
    assert out == expected
    assert len({n.casefold() for n in out}) == len(out)


def test_decoded_files_are_named_after_names_with_clashes_made_unique(tmp_path, model, faces):
    path = tmp_path / "c.fnc"
    names = ["s1", "s1", "S1", "s2"]
    fc.compress_faces(model, faces[:, :4], names, path)
    out = fc.decompress_file(model, path, tmp_path / "new" / "dir")
    assert [f["name"] for f in out["faces"]] == names
    assert [p.rsplit("/", 1)[-1] for p in out["files"]] == ["s1.png", "s1-2.png", "S1-3.png",
                                                            "s2.png"]


@contextlib.contextmanager
def failing_atomic_write(path, mode="wb", **options):
    """atomic_write whose writer dies after writing part of the file."""
    with real_atomic_write(path, mode, **options) as fh:
        fh.write(b"partial")
        raise OSError("disk full")
        yield fh  # pragma: no cover


def test_existing_files_are_never_left_half_written(tmp_path, model, faces, monkeypatch):
    path = tmp_path / "c.fnc"
    fc.compress_faces(model, faces, names_for(faces.shape[1]), path)
    before = path.read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    (out / "face0.png").write_bytes(b"old image")
    monkeypatch.setattr(fc, "atomic_write", failing_atomic_write)
    with pytest.raises(OSError, match="disk full"):
        fc.compress_faces(model, faces, names_for(faces.shape[1]), path, bits=4)
    with pytest.raises(OSError, match="disk full"):
        fc.decompress_file(model, path, out)
    assert path.read_bytes() == before
    assert (out / "face0.png").read_bytes() == b"old image"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["c.fnc", "face0.png", "out"]
