"""Download path of registered databases, against a local HTTP server on 127.0.0.1.

The archives are tiny ones generated here: a good checksum loads, a bad one is refused and
deleted, a member that would unpack outside its folder is refused, no network gives one
clear message.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import io
import socket
import tarfile
import threading
import zipfile
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facenmf.data import DATABASES, load_faces, safe_extract


def _pgm_bytes(seed):
    a = np.random.default_rng(seed).integers(0, 256, (4, 3)).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PPM")
    return buf.getvalue()


def _tiny_members(prefix="tiny_faces/"):
    members = {f"{prefix}README": b"tiny face database"}
    for s in (1, 2):
        for k in (1, 2, 3):
            members[f"{prefix}s{s}/{k}.pgm"] = _pgm_bytes(10 * s + k)
    return members


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _tar(path, members, link=None):
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        if link is not None:
            info = tarfile.TarInfo(link[0])
            info.type = tarfile.SYMTYPE
            info.linkname = link[1]
            tf.addfile(info)
    return path


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/www on 127.0.0.1; yields (base URL, folder, list of requested paths)."""
    www = tmp_path / "www"
    www.mkdir()
    requests = []

    class Handler(_Quiet):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(www)))
    thread = threading.Thread(target=partial(httpd.serve_forever, poll_interval=0.05), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", www, requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """An isolated cache folder and no FACENMF_DATA."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("FACENMF_CACHE", str(cache))
    monkeypatch.delenv("FACENMF_DATA", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return cache


def _register(monkeypatch, url, sha256, archive="tiny.zip", name="tiny"):
    entry = dataclasses.replace(DATABASES["orl"], name=name, url=url, sha256=sha256,
                                archive=archive, n_faces=6, n_identities=2, image_shape=(4, 3))
    monkeypatch.setitem(DATABASES, name, entry)
    return entry


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_download_good_checksum(server, env, monkeypatch, kind):
    base, www, requests = server
    archive = www / f"tiny.{kind}"
    (_zip if kind == "zip" else _tar)(archive, _tiny_members())
    _register(monkeypatch, f"{base}/tiny.{kind}", _sha256(archive), archive=f"tiny.{kind}")
    faces = load_faces("tiny")
    assert faces.A.shape == (12, 6)
    assert faces.labels.tolist() == ["s1"] * 3 + ["s2"] * 3
    assert Path(faces.paths[0]) == env / "tiny" / "tiny_faces" / "s1" / "1.pgm"
    assert len(requests) == 1
    again = load_faces("tiny")  # from the cache: no second download
    np.testing.assert_array_equal(again.A, faces.A)
    assert len(requests) == 1
    assert not [p for p in env.iterdir() if "unpacking" in p.name]


def test_bad_checksum_refused_and_deleted(server, env, monkeypatch, tmp_path):
    base, www, _ = server
    _zip(www / "tiny.zip", _tiny_members())
    _register(monkeypatch, f"{base}/tiny.zip", "0" * 64)
    env.mkdir()
    mine = env / "my-notes.txt"
    mine.write_text("keep me")
    with pytest.raises(ValueError, match="failed its checksum and was deleted") as exc:
        load_faces("tiny")
    assert "\n" not in str(exc.value)
    assert sorted(p.name for p in env.iterdir()) == ["my-notes.txt"]
    assert mine.read_text() == "keep me"


def test_unverified_checksum_warns_with_digest(server, env, monkeypatch):
    base, www, _ = server
    archive = _zip(www / "tiny.zip", _tiny_members())
    _register(monkeypatch, f"{base}/tiny.zip", None)
    with pytest.warns(UserWarning, match=f"has SHA-256 {_sha256(archive)}"):
        faces = load_faces("tiny")
    assert faces.n_faces == 6


@pytest.mark.parametrize(
    "bad_name", ["../evil.pgm", "tiny_faces/../../evil.pgm", "/tmp/evil.pgm"]
)
@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_path_traversal_member_refused(server, env, monkeypatch, tmp_path, kind, bad_name):
    base, www, _ = server
    members = _tiny_members()
    members[bad_name] = b"gotcha"
    archive = (_zip if kind == "zip" else _tar)(www / f"tiny.{kind}", members)
    _register(monkeypatch, f"{base}/tiny.{kind}", _sha256(archive), archive=f"tiny.{kind}")
    with pytest.raises(ValueError, match="would unpack outside the target folder") as exc:
        load_faces("tiny")
    assert "\n" not in str(exc.value)
    assert not (env / "tiny").exists()
    assert not (env.parent / "evil.pgm").exists() and not (tmp_path / "evil.pgm").exists()
    assert not [p for p in env.iterdir() if p.is_dir()]  # nothing unpacked


def test_symlink_member_refused(tmp_path):
    archive = _tar(tmp_path / "link.tar.gz", _tiny_members(), link=("tiny_faces/x", "/etc/passwd"))
    with pytest.raises(ValueError, match="link or special file"):
        safe_extract(archive, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_not_an_archive(tmp_path):
    bogus = tmp_path / "bogus.zip"
    bogus.write_text("hello")
    with pytest.raises(ValueError, match="not a zip or tar archive"):
        safe_extract(bogus, tmp_path / "out")


def test_archive_without_expected_layout(server, env, monkeypatch):
    base, www, _ = server
    archive = _zip(www / "tiny.zip", {"other/readme.txt": b"x"})
    _register(monkeypatch, f"{base}/tiny.zip", _sha256(archive))
    with pytest.raises(ValueError, match="does not hold database 'tiny'"):
        load_faces("tiny")
    assert not (env / "tiny").exists()


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_one_clear_message(env, monkeypatch):
    url = f"http://127.0.0.1:{_closed_port()}/tiny.zip"
    _register(monkeypatch, url, "0" * 64)
    with pytest.raises(FileNotFoundError) as exc:
        load_faces("tiny")
    text = str(exc.value)
    assert "\n" not in text
    assert "could not be downloaded" in text and url in text
    assert str(env / "tiny") in text and "FACENMF_DATA" in text
    assert exc.value.__suppress_context__


def test_download_false(env, monkeypatch):
    _register(monkeypatch, "http://127.0.0.1:9/tiny.zip", "0" * 64)
    with pytest.raises(FileNotFoundError, match="download=False"):
        load_faces("tiny", download=False)


def test_lookup_order_path_env_cache(tmp_path, env, monkeypatch):
    _register(monkeypatch, "http://127.0.0.1:9/tiny.zip", "0" * 64)

    def unpack_to(folder, seed):
        for name, data in _tiny_members(prefix="").items():
            p = folder / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data if seed == 0 else _pgm_bytes(seed))

    unpack_to(env / "tiny", seed=0)
    from_cache = load_faces("tiny", download=False)
    assert from_cache.paths[0].startswith(str(env / "tiny"))
    data_home = tmp_path / "data_home"
    unpack_to(data_home / "tiny", seed=0)
    monkeypatch.setenv("FACENMF_DATA", str(data_home))
    assert load_faces("tiny", download=False).paths[0].startswith(str(data_home))
    explicit = tmp_path / "mine" / "nested"
    unpack_to(explicit, seed=0)
    assert load_faces("tiny", path=tmp_path / "mine").paths[0].startswith(str(explicit))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_faces("tiny", path=tmp_path / "nowhere")
    (tmp_path / "other").mkdir()
    with pytest.raises(ValueError, match="no copy of database 'tiny'"):
        load_faces("tiny", path=tmp_path / "other")


def test_unknown_name_is_missing_path():
    with pytest.raises(FileNotFoundError, match="not a registered database"):
        load_faces("no-such-database")


def test_bundled_refuses_path(tmp_path):
    with pytest.raises(ValueError, match="bundled"):
        load_faces("lfw-subset", path=tmp_path)
