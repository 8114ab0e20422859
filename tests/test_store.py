"""Face stores: pack_faces gives load_faces' faces in uint8, opens lazily, fits as in memory,
resumes an interrupted pack exactly, and names a damaged chunk. Real zarr stores in tmp_path."""

import json
import shutil
import sys

import numpy as np
import pytest

import facenmf
from facenmf.data import (StoreArray, augment_faces, load_faces, pack_faces,
                          write_augmented_store)

zarr = pytest.importorskip("zarr")

UNIT = 2048  # faces per chunk in these tests: the smallest chunk, so that stores have several
N_PER_ID = (2100, 1400, 800)  # 4300 faces: chunks 0, 1 whole and a short chunk 2
SHAPE = (6, 5)


def save(path, pixels, mode=None):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels, mode).save(path)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Identity folders of small PNGs: 8-bit grey, and a few 16-bit and RGB ones (whose grey
    values are not multiples of 1/255, so that rounding to 8 bits shows)."""
    root = tmp_path_factory.mktemp("faces") / "people"
    rng = np.random.default_rng(0)
    for person, count in enumerate(N_PER_ID):
        for i in range(count):
            file = root / f"p{person}" / f"{i}.png"
            if i % 500 == 7:
                save(file, rng.integers(0, 65536, SHAPE, dtype=np.uint16))
            elif i % 500 == 8:
                save(file, rng.integers(0, 256, (*SHAPE, 3), dtype=np.uint8))
            else:
                save(file, rng.integers(0, 256, SHAPE, dtype=np.uint8))
    return root


@pytest.fixture(scope="module")
def packed(folder, tmp_path_factory):
    """The folder packed by 2 worker processes, and load_faces of the folder."""
    store = tmp_path_factory.mktemp("store") / "faces.zarr"
    report = pack_faces(folder, store, processes=2, chunk_faces=UNIT)
    return store, report, load_faces(folder)


def copy(store, tmp_path):
    shutil.copytree(store, tmp_path / "copy.zarr")
    return tmp_path / "copy.zarr"


def raw(store):
    return zarr.open_group(store, mode="r")["A"][:]


def within_half_a_level(store_A, A):
    assert store_A.shape == A.shape
    assert np.abs(np.asarray(store_A, dtype=np.float64) - A).max() <= 0.5 / 255 + 1e-7


def test_a_packed_folder_is_load_faces_of_it(packed):
    store, report, ref = packed
    assert report.n_faces == sum(N_PER_ID) and report.written == (0, 1, 2)
    assert report.kept == () and report.processes == 2
    faces = load_faces(store)
    within_half_a_level(faces.A, ref.A)
    exact = np.array([i % 500 not in (7, 8) for c in N_PER_ID for i in range(c)])
    np.testing.assert_array_equal(np.asarray(faces.A)[:, exact], ref.A[:, exact])
    assert not np.array_equal(np.asarray(faces.A), ref.A)  # the 16-bit faces were rounded
    np.testing.assert_array_equal(faces.labels, ref.labels)
    assert faces.labels.dtype == ref.labels.dtype
    assert faces.paths == ref.paths and faces.image_shape == ref.image_shape == SHAPE
    assert faces.preparation == ref.preparation
    assert faces.source == str(store)
    # FaceSet's own methods on a store: the picked faces only (any order), images, splits.
    idx = np.array([4299, 0, 2050, 7])
    np.testing.assert_array_equal(faces.subset(idx).A, np.asarray(faces.A)[:, idx])
    assert faces.select(["p2"]).n_faces == N_PER_ID[2]
    assert faces.images().shape == (sum(N_PER_ID), *SHAPE)
    train, test = faces.split(train_per_identity=3, random_state=0)
    ref_train, _ = ref.split(train_per_identity=3, random_state=0)
    assert train.paths == ref_train.paths and isinstance(train.A, np.ndarray)


@pytest.mark.parametrize("processes", [1, 2])
def test_a_packed_array_is_load_faces_of_it(tmp_path, processes):
    rng = np.random.default_rng(1)
    images = rng.random((UNIT + 10, 9, 8))
    labels = rng.integers(0, 5, len(images))
    kw = {"labels": labels, "size": (6, 4), "equalize": True}
    report = pack_faces(images, tmp_path / "a.zarr", processes=processes, **kw)
    ref = load_faces(images, **kw)
    faces = load_faces(tmp_path / "a.zarr")
    assert report.chunk_faces == 4 * UNIT and report.written == (0,)
    within_half_a_level(faces.A, ref.A)
    np.testing.assert_array_equal(faces.labels, labels)
    assert faces.paths is None and faces.image_shape == (6, 4)
    assert faces.preparation == ref.preparation


def test_the_store_format(packed):
    store, _, _ = packed
    attrs = json.loads((store / "zarr.json").read_text())["attributes"]  # plain JSON
    assert attrs["format"] == "facenmf-faces" and attrs["format_version"] == 1
    assert attrs["complete"] is True and attrs["n_faces"] == sum(N_PER_ID)
    assert attrs["image_shape"] == list(SHAPE) and attrs["chunk_faces"] == UNIT
    assert len(attrs["labels"]) == len(attrs["paths"]) == sum(N_PER_ID)
    A = zarr.open_group(store, mode="r")["A"]
    assert A.dtype == np.uint8 and A.shape == (30, sum(N_PER_ID)) and A.chunks == (30, UNIT)
    codecs = [c["name"] for c in json.loads((store / "A" / "zarr.json").read_text())["codecs"]]
    assert codecs == ["bytes", "zstd", "crc32c"]
    assert sorted(p.name for p in store.iterdir()) == ["A", "zarr.json"]  # no pack record


def test_chunks_are_whole_engine_blocks():
    from facenmf.data import _store, _write
    from facenmf.nmf import _blocks

    assert _store.CHUNK_UNIT == _blocks.BLOCK
    for n_pixels in (30, 1024, 4096, 10304, 10**6):
        c = _write.default_chunk_faces(n_pixels)
        assert c % _blocks.BLOCK == 0 and (n_pixels * c <= _write.CHUNK_BYTES or c == UNIT)


def test_a_store_opens_lazily_and_a_face_reads_its_chunk(packed, tmp_path):
    store = copy(packed[0], tmp_path)
    ref = load_faces(packed[0])
    faces = load_faces(store)
    assert isinstance(faces.A, StoreArray) and not isinstance(faces.A, np.ndarray)
    # Opening read no chunk: every chunk made unreadable after it, faces need the chunks.
    chunks = sorted((store / "A" / "c" / "0").iterdir(), key=lambda p: int(p.name))
    assert len(chunks) == 3
    chunks[1].unlink()
    chunks[2].write_bytes(b"garbage")
    assert np.array_equal(faces.A[:, 5], np.asarray(ref.A[:, 5]))  # chunk 0 only
    assert np.array_equal(faces.A[:, [3, 2047]], np.asarray(ref.A[:, [3, 2047]]))
    assert faces.A[2, 7:9].shape == (2,)
    with pytest.raises(FileNotFoundError, match=r"chunk A/c/0/1 \(faces 2048 to 4095\) is "
                       "missing"):
        faces.A[:, 2048]
    with pytest.raises(ValueError, match=r"chunk A/c/0/2 \(faces 4096 to 4299\) cannot be "
                       "read"):
        faces.A[:, 4100]


def test_nmf_of_a_store_is_the_fit_of_its_faces_in_memory(packed):
    store = packed[0]
    faces = load_faces(store)
    # The same uint8 faces / 255, in memory: float32, as FaceSet faces are (and as the store
    # gives them), then cast to the fit's dtype.
    A = raw(store).astype(np.float32) / np.float32(255)
    for dtype, tol in ((np.float64, 1e-8), (np.float32, 2e-4)):
        kw = {"max_iter": 8, "tol": 0, "random_state": 0, "dtype": dtype}
        got = facenmf.nmf(faces.A, 4, **kw)
        ref = facenmf.nmf(A.astype(dtype), 4, **kw)
        assert got.n_iter == ref.n_iter == 8
        np.testing.assert_allclose(got.W, ref.W, rtol=tol, atol=tol)
        np.testing.assert_allclose(got.H, ref.H, rtol=tol, atol=tol)
        np.testing.assert_allclose(got.history.error, ref.history.error, rtol=tol)


class Stop(Exception):
    pass


def stop_after(faces):
    def progress(done, total):
        if done >= faces:
            raise Stop
    return progress


@pytest.mark.parametrize("processes", [1, 2])
def test_an_interrupted_pack_resumes_to_the_same_store(folder, packed, tmp_path, processes,
                                                      monkeypatch):
    store = tmp_path / "faces.zarr"
    with pytest.raises(Stop):
        pack_faces(folder, store, processes=processes, chunk_faces=UNIT,
                   progress=stop_after(UNIT + 1))
    with pytest.raises(ValueError, match=r"an unfinished pack \(1 of 3 chunks written\); run "
                       "the same pack again"):
        load_faces(store)
    first = store / "A" / "c" / "0" / "0"
    before = first.stat().st_mtime_ns, first.stat().st_ino
    # Count the images decoded by the resumed pack (in this process with processes=1).
    from facenmf.data import _pack

    reads = []
    real = _pack.read_image
    monkeypatch.setattr(_pack, "read_image", lambda f, **kw: reads.append(f) or real(f, **kw))
    seen = []
    report = pack_faces(folder, store, processes=processes, chunk_faces=UNIT,
                        progress=lambda done, total: seen.append(done))
    assert report.kept == (0,) and report.written == (1, 2)
    assert report.faces_written == sum(N_PER_ID) - UNIT and seen[0] == UNIT
    assert (first.stat().st_mtime_ns, first.stat().st_ino) == before  # not rewritten
    if processes == 1:  # the first image (for the faces' size) and the unfinished chunks
        assert len(reads) == 1 + sum(N_PER_ID) - UNIT
    np.testing.assert_array_equal(raw(store), raw(packed[0]))
    assert dict(zarr.open_group(store).attrs) == dict(zarr.open_group(packed[0]).attrs)
    again = pack_faces(folder, store, processes=processes, chunk_faces=UNIT)
    assert again.written == () and again.kept == (0, 1, 2)


def test_a_damaged_chunk_is_named_by_the_fit(packed, tmp_path):
    store = copy(packed[0], tmp_path)
    chunk = store / "A" / "c" / "0" / "1"
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0xFF
    chunk.write_bytes(bytes(data))
    faces = load_faces(store)  # opens: the damage is found when the chunk is read
    with pytest.raises(ValueError) as info:
        facenmf.nmf(faces.A, 3, max_iter=2)
    message = str(info.value)
    assert message.startswith(f"{store}: chunk A/c/0/1 (faces 2048 to 4095) cannot be read "
                              "(its crc32c checksum does not match")
    assert "\n" not in message
    chunk.unlink()
    with pytest.raises(FileNotFoundError, match=r"copy.zarr: chunk A/c/0/1 \(faces 2048 to "
                       r"4095\) is missing; the store is incomplete or damaged") as info:
        load_faces(store)
    assert "\n" not in str(info.value)


def test_an_existing_path_is_refused_unless_it_is_this_pack(folder, packed, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="other exists and is not a face store; a pack "
                       "never overwrites it"):
        pack_faces(folder, other)
    assert [p.name for p in other.iterdir()] == ["keep.txt"]
    store = copy(packed[0], tmp_path)
    for kw, what in (({"size": (4, 4)}, "another face size"),
                     ({"equalize": True}, "other preparation"),
                     ({"chunk_faces": 2 * UNIT}, "other chunks")):
        with pytest.raises(FileExistsError, match=f"holds a finished pack of {what}; a pack "
                           "resumes only the same pack and never overwrites a store"):
            pack_faces(folder, store, **{"chunk_faces": UNIT, **kw})
    with pytest.raises(FileExistsError, match="of another number of faces"):
        pack_faces(np.zeros((3, 6, 5)), store)
    np.testing.assert_array_equal(raw(store), raw(packed[0]))


def test_a_changed_source_file_is_packed_again_or_refused(tmp_path):
    src = tmp_path / "src"
    for i in range(UNIT + 5):
        save(src / f"{i}.png", np.full(SHAPE, i % 200, np.uint8))
    store = tmp_path / "s.zarr"
    with pytest.raises(Stop):
        pack_faces(src, store, processes=1, chunk_faces=UNIT, progress=stop_after(UNIT))
    save(src / "3.png", np.full(SHAPE, 250, np.uint8))  # in the finished chunk 0
    report = pack_faces(src, store, processes=1, chunk_faces=UNIT)
    assert report.written == (0, 1) and report.kept == ()  # chunk 0 was made again
    np.testing.assert_array_equal(raw(store), raw(pack_faces(src, tmp_path / "fresh.zarr",
                                                             processes=1).path))
    save(src / "1.png", np.full(SHAPE, 99, np.uint8))  # a finished store is not rewritten
    with pytest.raises(FileExistsError, match=r"holds a finished pack of other images "
                       r"\(files changed since"):
        pack_faces(src, store, processes=1, chunk_faces=UNIT)


def test_the_store_stays_out_of_its_source_and_a_store_is_no_source(packed, folder, tmp_path):
    with pytest.raises(ValueError, match=r"store: .*inside the source folder"):
        pack_faces(folder, folder / "faces.zarr")
    assert not (folder / "faces.zarr").exists()
    with pytest.raises(ValueError, match="source: .* is already a face store"):
        pack_faces(packed[0], tmp_path / "x.zarr")
    with pytest.raises(ValueError, match="size: not used with a face store"):
        load_faces(packed[0], size=(3, 3))


@pytest.mark.parametrize("kwargs,error,message", [
    ({"chunk_faces": 1000}, ValueError, "chunk_faces: expected an integer >= 2048, got 1000"),
    ({"chunk_faces": 3000}, ValueError, "chunk_faces: expected a multiple of 2048"),
    ({"processes": 0}, ValueError, "processes: expected an integer >= 1"),
    ({"on_error": "skip"}, ValueError, "on_error: a pack stops at the first unusable file"),
    ({"out": "x.npy"}, TypeError, "out: not an option of pack_faces"),
    ({"progress": 3}, TypeError, "progress: expected a callable"),
])
def test_bad_arguments_are_named(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        pack_faces(np.zeros((2, 3, 3)), tmp_path / "s.zarr", **kwargs)
    assert not (tmp_path / "s.zarr").exists()


def test_a_worker_process_error_names_the_image(tmp_path):
    src = tmp_path / "src"
    for i in range(1100):  # three tasks of at most 512 faces
        save(src / f"{i}.png", np.full(SHAPE, i % 256, np.uint8))
    (src / "700.png").write_bytes(b"\x89PNG truncated")
    with pytest.raises(ValueError, match=r"700.png: (truncated or corrupt|not an image)") as info:
        pack_faces(src, tmp_path / "s.zarr", processes=2)
    assert "\n" not in str(info.value)


def test_a_bad_image_stops_the_pack_naming_it(tmp_path):
    processes = 1  # in this process: which chunks finish before the error is certain
    src = tmp_path / "src"
    for i in range(UNIT + 600):
        save(src / f"{i}.png", np.full(SHAPE, i % 256, np.uint8))
    save(src / f"{UNIT + 300}.png", np.zeros((7, 5), np.uint8))
    (src / f"{UNIT + 400}.png").write_bytes(b"not a png")  # after the size problem
    store = tmp_path / "s.zarr"
    with pytest.raises(ValueError, match=rf"mixed image sizes: .*0.png is 6x5 but "
                       rf".*{UNIT + 300}.png is 7x5"):
        pack_faces(src, store, processes=processes, chunk_faces=UNIT)
    # The image fixed in place (chunk 1): the same pack goes on from there.
    save(src / f"{UNIT + 300}.png", np.zeros(SHAPE, np.uint8))
    seen = []
    with pytest.raises(ValueError, match=rf"{UNIT + 400}.png: not an image Pillow can read"):
        pack_faces(src, store, processes=processes, chunk_faces=UNIT,
                   progress=lambda done, total: seen.append(done))
    assert seen[0] == UNIT  # chunk 0, finished before the first error, was kept
    # A file taken out: other files, another pack (refused here; a new store packs them).
    (src / f"{UNIT + 400}.png").unlink()
    with pytest.raises(FileExistsError, match="holds an unfinished pack of another number"):
        pack_faces(src, store, processes=processes, chunk_faces=UNIT)
    report = pack_faces(src, tmp_path / "t.zarr", processes=processes, chunk_faces=UNIT)
    assert report.n_faces == UNIT + 599


def test_augmented_faces_go_straight_to_a_store(tmp_path):
    rng = np.random.default_rng(2)
    A, shape = rng.random((30, 7)).astype(np.float32), SHAPE
    kw = {"random_state": 3, "chunk": 1500}
    ref = augment_faces(A, shape, 5000, **kw)
    with pytest.raises(Stop):
        write_augmented_store(A, shape, 5000, tmp_path / "a.zarr", chunk_faces=UNIT,
                              processes=2, progress=stop_after(UNIT), **kw)
    report = write_augmented_store(A, shape, 5000, tmp_path / "a.zarr", chunk_faces=UNIT,
                                   processes=2, **kw)
    # Chunk 0 was finished before the stop; the other process may have finished chunk 1 too
    # by the time the stop reached it (how far it got depends on the machine's load).
    assert report.kept in ((0,), (0, 1)) and report.kept + report.written == (0, 1, 2)
    faces = load_faces(tmp_path / "a.zarr")
    within_half_a_level(faces.A, ref)
    assert faces.labels is None and faces.paths is None
    assert faces.preparation["augment"]["chunk"] == 1500
    one = write_augmented_store(A, shape, 5000, tmp_path / "b.zarr", processes=1,
                                preparation={"size": [6, 5], "input_shape": [9, 9]}, **kw)
    assert one.chunk_faces == 4 * UNIT
    prep = load_faces(tmp_path / "b.zarr").preparation
    assert prep["size"] == [6, 5] and prep["input_shape"] == [6, 5]
    np.testing.assert_array_equal(np.asarray(load_faces(tmp_path / "b.zarr").A),
                                  np.asarray(faces.A))
    with pytest.raises(ValueError, match=r"image_shape: expected positive sizes"):
        write_augmented_store(A, (0, 30), 10, tmp_path / "c.zarr")


def test_without_zarr_the_message_names_the_extra(packed, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "zarr", None)  # import zarr now raises ImportError
    with pytest.raises(ImportError, match=r"needs zarr .*: pip install 'facenmf\[store\]'"):
        load_faces(packed[0])
    with pytest.raises(ImportError, match=r"pack_faces needs zarr"):
        pack_faces(np.zeros((2, 3, 3)), tmp_path / "s.zarr")


def test_a_store_array_pickles_by_its_path(packed, tmp_path, monkeypatch):
    import pickle

    store = packed[0]
    monkeypatch.chdir(store.parent)
    A = load_faces(store.name).A  # a relative path
    data = pickle.dumps(A)
    assert len(data) < 1000  # the path, not the faces
    monkeypatch.chdir(tmp_path)  # elsewhere, as a Dask worker may be
    B = pickle.loads(data)
    assert B.shape == A.shape
    np.testing.assert_array_equal(B[:, 4000:4010], load_faces(store).A[:, 4000:4010])
