"""Tests for segbook.data.downloading: verified, atomic downloads and safe extraction.

No network: fetch_url is replaced.
"""

import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

import segbook.data.downloading as dl
from segbook.data.downloading import (
    ChecksumError,
    DatasetUnavailable,
    Resource,
    UnsafeArchiveError,
    data_home,
    download,
    download_and_extract,
    safe_extract,
    verified_path,
)


class FakeNetwork:
    """Stands in for segbook.data.downloading.fetch_url: serves bytes by URL; unknown URLs fail like a dead network."""

    def __init__(self):
        self.files = {}  # url -> bytes, or an exception to raise after writing half of `partial`
        self.calls = []

    def serve(self, url, data):
        self.files[url] = data
        return url

    def __call__(self, url, out, *, timeout=60.0):
        self.calls.append(url)
        if url not in self.files:
            raise OSError(f"[Errno -3] Temporary failure in name resolution: {url}")
        data = self.files[url]
        if isinstance(data, tuple):  # (bytes, exception): write half the bytes, then fail mid-transfer
            payload, error = data
            out.write(payload[: len(payload) // 2])
            raise error
        out.write(data)


@pytest.fixture
def network(monkeypatch):
    fake = FakeNetwork()
    monkeypatch.setattr(dl, "fetch_url", fake)
    return fake


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def leftovers(folder: Path):
    """Every file or directory in ``folder`` (recursively), as sorted relative paths."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def make_tar(entries, mode="w:gz") -> bytes:
    """A tar archive from ``(name, bytes)`` files and ``(name, TarInfo type, linkname)`` links."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for entry in entries:
            if len(entry) == 2:
                name, data = entry
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                name, kind, link = entry
                info = tarfile.TarInfo(name)
                info.type, info.linkname = kind, link
                tar.addfile(info)
    return buffer.getvalue()


def make_zip(entries) -> bytes:
    """A zip archive from ``(name, bytes)``; names are stored as given (even ``../x`` or ``/x``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries:
            zf.writestr(zipfile.ZipInfo(name), data)
    return buffer.getvalue()


# --- downloads -----------------------------------------------------------------------------------------------------
def test_download_installs_verified_file(network, tmp_path):
    url = network.serve("https://mirror.test/a.bin", b"payload")
    path = download(Resource("a.bin", urls=(url,), md5=md5(b"payload")), tmp_path)
    assert path == tmp_path / "a.bin" and path.read_bytes() == b"payload"
    assert leftovers(tmp_path) == ["a.bin"]


def test_checksum_mismatch_raises_and_leaves_no_file(network, tmp_path):
    url = network.serve("https://mirror.test/a.bin", b"tampered")
    with pytest.raises(
        ChecksumError,
        match=r"(?s)no mirror of a.bin served the expected bytes.*a.bin from https://mirror.test/a.bin: md5 is",
    ):
        download(Resource("a.bin", urls=(url,), md5=md5(b"payload")), tmp_path)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [ConnectionResetError("connection reset by peer"), TimeoutError("timed out")])
def test_partial_download_is_never_used(network, tmp_path, error):
    url = network.serve("https://mirror.test/a.bin", (b"0123456789", error))
    with pytest.raises(DatasetUnavailable, match=r"(?s)could not download a.bin from any mirror.*by hand"):
        download(Resource("a.bin", urls=(url,), md5=md5(b"0123456789")), tmp_path)
    assert leftovers(tmp_path) == []


def test_interrupted_download_cleans_temporary_file_and_reraises(network, tmp_path):
    url = network.serve("https://mirror.test/a.bin", (b"0123456789", KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        download(Resource("a.bin", urls=(url,), md5=md5(b"0123456789")), tmp_path)
    assert leftovers(tmp_path) == []


def _age(path: Path, seconds: float) -> Path:
    stamp = path.stat().st_mtime - seconds
    os.utime(path, (stamp, stamp))
    return path


def test_a_killed_downloads_leftovers_are_removed_by_the_next_attempt(network, tmp_path):
    # a process killed mid-download (kill -9, out of memory) cannot delete its temporary file or staging folder
    stale, running, other = (tmp_path / name for name in (".a.bin.k1ll3d.part", ".a.bin.ru9n1n.part", ".b.bin.k.part"))
    for path in (stale, running, other):
        path.write_bytes(b"half a download")
    _age(stale, 3600)
    _age(other, 3600)
    (tmp_path / ".x.k1ll3d.partial").mkdir()
    (tmp_path / ".x.k1ll3d.partial" / "half.txt").write_bytes(b"half")
    _age(tmp_path / ".x.k1ll3d.partial", 3600)
    data = make_tar([("a.txt", b"alpha")])
    url = network.serve("https://mirror.test/a.bin", data)
    download_and_extract(Resource("a.bin", urls=(url,), md5=md5(data)), tmp_path, subdir="x")
    assert not stale.exists() and not (tmp_path / ".x.k1ll3d.partial").exists()
    assert running.exists() and other.exists()  # a download in progress, and another resource's file, are kept


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "a\\b"])
def test_file_and_folder_names_that_leave_the_cache_are_refused(network, tmp_path, name):
    with pytest.raises(ValueError, match="filename must be a plain file name"):
        Resource(name, urls=("https://mirror.test/a.bin",), md5="0" * 32)
    resource = Resource("a.bin", urls=("https://mirror.test/a.bin",), md5="0" * 32)
    with pytest.raises(ValueError, match="subdir must be a plain file name"):
        download_and_extract(resource, tmp_path / "cache", subdir=name)
    assert network.calls == []


def test_next_mirror_is_tried_after_a_bad_one(network, tmp_path):
    bad = network.serve("https://bad.test/a.bin", b"wrong bytes")
    good = network.serve("https://good.test/a.bin", b"payload")
    path = download(Resource("a.bin", urls=("https://dead.test/a.bin", bad, good), md5=md5(b"payload")), tmp_path)
    assert path.read_bytes() == b"payload" and network.calls[-1] == good
    assert leftovers(tmp_path) == ["a.bin"]


def test_cached_file_is_reused_without_fetching(network, tmp_path):
    resource = Resource(
        "a.bin",
        urls=(network.serve("https://mirror.test/a.bin", b"payload"),),
        sha256=hashlib.sha256(b"payload").hexdigest(),
    )
    download(resource, tmp_path)
    download(resource, tmp_path, allow_download=False)
    assert network.calls == ["https://mirror.test/a.bin"]


def test_corrupted_cache_is_detected_and_downloaded_again(network, tmp_path):
    resource = Resource("a.bin", urls=(network.serve("https://mirror.test/a.bin", b"payload"),), md5=md5(b"payload"))
    download(resource, tmp_path)
    (tmp_path / "a.bin").write_bytes(b"payl")  # truncated later, e.g. by a full disk
    assert download(resource, tmp_path).read_bytes() == b"payload"
    assert len(network.calls) == 2


def test_corrupted_cache_is_refused_when_downloading_is_off(network, tmp_path):
    resource = Resource("a.bin", urls=("https://mirror.test/a.bin",), md5=md5(b"payload"))
    (tmp_path / "a.bin").write_bytes(b"garbage")
    with pytest.raises(ChecksumError, match="cached .*a.bin: md5 is"):
        download(resource, tmp_path, allow_download=False)
    assert network.calls == []


def test_missing_file_with_downloading_off_is_unavailable_and_says_how_to_get_it(network, tmp_path):
    resource = Resource("a.bin", urls=("https://mirror.test/a.bin",), md5="0" * 32)
    with pytest.raises(DatasetUnavailable, match=r"(?s)not in the cache.*save https://mirror.test/a.bin as"):
        download(resource, tmp_path, allow_download=False)
    assert network.calls == []


def test_resource_without_checksum_is_never_installed(network, tmp_path):
    network.serve("https://mirror.test/a.bin", b"payload")
    with pytest.raises(ValueError, match="no recorded checksum"):
        download(Resource("a.bin", urls=("https://mirror.test/a.bin",)), tmp_path)
    with pytest.raises(ValueError, match="records no checksum"):
        download_and_extract(Resource("a.bin", urls=("https://mirror.test/a.bin",)), tmp_path, subdir="a")
    assert network.calls == [] and leftovers(tmp_path) == []


def test_string_flags_are_refused_before_anything_is_fetched(network, tmp_path):
    data = make_tar([("top/a.txt", b"alpha")])
    resource = Resource("x.tar.gz", urls=(network.serve("https://mirror.test/x.tar.gz", data),), md5=md5(data))
    with pytest.raises(TypeError, match="allow_download must be True or False, got 'False'"):
        download(resource, tmp_path, allow_download="False")  # a string is true: it would download
    with pytest.raises(TypeError, match="allow_download must be True or False, got 'False'"):
        download_and_extract(resource, tmp_path, subdir="x", allow_download="False")
    with pytest.raises(TypeError, match="keep_archive must be True or False, got 'no'"):
        download_and_extract(resource, tmp_path, subdir="x", keep_archive="no")
    assert network.calls == [] and leftovers(tmp_path) == []


def test_fetch_url_timeout_must_be_a_positive_number(tmp_path):
    with open(tmp_path / "out", "wb") as out:
        for timeout, error in (("60", TypeError), (0, ValueError), (float("nan"), ValueError)):
            with pytest.raises(error, match="timeout must be"):
                dl.fetch_url("https://mirror.test/never-contacted", out, timeout=timeout)


class FakeResponse(io.BytesIO):
    """What urllib.request.urlopen returns: a readable body with headers (and a context manager)."""

    def __init__(self, data, headers):
        super().__init__(data)
        self.headers = headers


class FakeBar:
    """Stands in for tqdm: records its options and every update."""

    def __init__(self, **kwargs):
        self.kwargs, self.updates = kwargs, []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        self.updates.append(n)


def serve_once(monkeypatch, payload, headers):
    """Replace urlopen by a server of ``payload``; returns the list of (url, timeout) it was asked for."""
    asked = []

    def urlopen(request, timeout):
        asked.append((request.full_url, timeout))
        return FakeResponse(payload, headers)

    monkeypatch.setattr(dl.urllib.request, "urlopen", urlopen)
    return asked


PAYLOAD = bytes(range(256)) * 11_719  # 3,000,064 bytes: three reads of at most 1 MiB


@pytest.mark.parametrize("headers, total", [({"Content-Length": str(len(PAYLOAD))}, len(PAYLOAD)), ({}, None)])
def test_fetch_url_shows_a_byte_progress_bar_that_reaches_the_byte_count(monkeypatch, tmp_path, headers, total):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    asked = serve_once(monkeypatch, PAYLOAD, headers)
    bars = []
    monkeypatch.setattr(dl, "tqdm", lambda **kwargs: bars.append(FakeBar(**kwargs)) or bars[-1])
    with open(tmp_path / "out", "wb") as out:
        dl.fetch_url("https://mirror.test/data/big.tar", out, timeout=5.0)
    assert (tmp_path / "out").read_bytes() == PAYLOAD and asked == [("https://mirror.test/data/big.tar", 5.0)]
    (bar,) = bars
    assert bar.kwargs == dict(total=total, desc="big.tar", unit="B", unit_scale=True, disable=False)
    assert bar.updates == [1 << 20, 1 << 20, len(PAYLOAD) - 2 * (1 << 20)] and sum(bar.updates) == len(PAYLOAD)


@pytest.mark.parametrize("disable, shown", [(None, True), ("0", True), ("1", False), ("true", False)])
def test_the_real_bar_prints_the_bytes_unless_tqdm_disable_is_set(monkeypatch, tmp_path, capsys, disable, shown):
    if disable is None:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    else:
        monkeypatch.setenv("TQDM_DISABLE", disable)  # read at each call: the site build and the tests set it
    serve_once(monkeypatch, PAYLOAD, {"Content-Length": str(len(PAYLOAD))})
    with open(tmp_path / "out", "wb") as out:
        dl.fetch_url("https://mirror.test/big.tar", out)
    printed = capsys.readouterr().err
    assert ("big.tar: 100%" in printed and "3.00M/3.00M" in printed) if shown else printed == ""
    assert (tmp_path / "out").read_bytes() == PAYLOAD


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(filename="dir/a.bin", urls=("u",)), "plain file name"),
        (dict(filename="a.bin", urls=["u"]), "tuple of strings"),
        (dict(filename="a.bin", urls=("u",), md5="xyz"), "md5 must be 32 lower-case hex"),
        (dict(filename="a.bin", urls=("u",), members=(("x", "sha1", "0" * 40),)), "each member"),
    ],
)
def test_resource_rejects_bad_fields(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Resource(**kwargs)


def test_data_home_follows_argument_then_environment_then_default(monkeypatch, tmp_path):
    monkeypatch.setenv("SEGBOOK_DATA", str(tmp_path / "env"))
    assert data_home() == tmp_path / "env"
    assert data_home(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("SEGBOOK_DATA")
    assert data_home() == Path.home() / ".cache" / "segbook"
    with pytest.raises(TypeError, match="root must be a path"):
        data_home(3)


# --- safe extraction ------------------------------------------------------------------------------------------------
MALICIOUS_TARS = {
    "dotdot": ([("ok.txt", b"ok"), ("../evil.txt", b"evil")], "contains '..'"),
    "absolute": ([("/tmp/segbook-evil.txt", b"evil")], "absolute path"),
    "symlink escaping": ([("link", tarfile.SYMTYPE, "../../outside")], "symlink 'link'.*points outside"),
    "absolute symlink": ([("link", tarfile.SYMTYPE, "/etc/passwd")], "absolute path"),
    "hardlink escaping": ([("hard", tarfile.LNKTYPE, "../evil.txt")], "hard link 'hard'.*points outside"),
    "through symlink": ([("d", tarfile.SYMTYPE, "."), ("d/x.txt", b"x")], "goes through a symlink"),
    "device": ([("dev", tarfile.CHRTYPE, "")], "device, FIFO"),
}


@pytest.mark.parametrize("case", sorted(MALICIOUS_TARS))
def test_malicious_tar_is_refused_and_writes_nothing(tmp_path, case):
    entries, message = MALICIOUS_TARS[case]
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(make_tar(entries))
    target = tmp_path / "work" / "target"
    with pytest.raises(UnsafeArchiveError, match=message):
        safe_extract(archive, target)
    assert leftovers(target) == []
    assert leftovers(tmp_path) == ["bad.tar.gz", "work", "work/target"]
    assert not Path("/tmp/segbook-evil.txt").exists()


@pytest.mark.parametrize(
    "name, message",
    [("../evil.txt", "contains '..'"), ("/abs/evil.txt", "absolute path"), ("C:/evil.txt", "absolute path")],
)
def test_malicious_zip_is_refused_and_writes_nothing(tmp_path, name, message):
    archive = tmp_path / "bad.zip"
    archive.write_bytes(make_zip([("fine.txt", b"ok"), (name, b"evil")]))
    target = tmp_path / "work" / "target"
    with pytest.raises(UnsafeArchiveError, match=message):
        safe_extract(archive, target)
    assert leftovers(target) == [] and not (tmp_path / "work" / "evil.txt").exists()


def test_zip_symlink_entry_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = 0o120777 << 16  # S_IFLNK: a symlink as zip tools store it
        zf.writestr(info, "../../outside")
    (tmp_path / "bad.zip").write_bytes(buffer.getvalue())
    with pytest.raises(UnsafeArchiveError, match="symlinks in zip"):
        safe_extract(tmp_path / "bad.zip", tmp_path / "target")


def test_safe_links_inside_the_archive_are_extracted(tmp_path):
    archive = tmp_path / "good.tar"
    archive.write_bytes(make_tar([("a/data.txt", b"data"), ("a/link", tarfile.SYMTYPE, "data.txt")], mode="w"))
    safe_extract(archive, tmp_path / "t")
    assert (tmp_path / "t" / "a" / "link").read_bytes() == b"data"


def test_not_an_archive_is_refused(tmp_path):
    (tmp_path / "x.tar").write_bytes(b"plain text, not an archive" * 30)
    with pytest.raises(dl.DownloadError, match="neither a tar nor a zip"):
        safe_extract(tmp_path / "x.tar", tmp_path / "t")


# --- download_and_extract ------------------------------------------------------------------------------------------
def test_extraction_writes_manifest_and_verified_path_detects_later_changes(network, tmp_path):
    data = make_tar([("top/a.txt", b"alpha"), ("top/b.txt", b"beta")])
    resource = Resource("x.tar.gz", urls=(network.serve("https://mirror.test/x.tar.gz", data),), md5=md5(data))
    target = download_and_extract(resource, tmp_path, subdir="x")
    assert verified_path(target, "top/a.txt").read_bytes() == b"alpha"
    assert sorted(p for p in leftovers(tmp_path) if not p.startswith("x/")) == ["x", "x.tar.gz"]
    (target / "top" / "a.txt").write_bytes(b"alphA")
    with pytest.raises(ChecksumError, match="changed after extraction"):
        verified_path(target, "top/a.txt")
    with pytest.raises(dl.DownloadError, match="not part of the verified extraction"):
        verified_path(target, "top/c.txt")
    download_and_extract(resource, tmp_path, subdir="x", allow_download=False)  # finished: reused, not fetched
    assert len(network.calls) == 1


def test_unsafe_archive_leaves_no_extraction(network, tmp_path):
    data = make_tar([("../evil.txt", b"evil")])
    resource = Resource("x.tar.gz", urls=(network.serve("https://mirror.test/x.tar.gz", data),), md5=md5(data))
    with pytest.raises(UnsafeArchiveError):
        download_and_extract(resource, tmp_path / "cache", subdir="x")
    assert leftovers(tmp_path / "cache") == ["x.tar.gz"] and not (tmp_path / "evil.txt").exists()


def test_archive_known_by_members_is_verified_before_install(network, tmp_path):
    good = make_zip([("pack/inner.tif", b"tiff bytes")])
    bad = make_zip([("pack/inner.tif", b"other bytes")])
    members = (("inner.tif", "md5", md5(b"tiff bytes")),)
    url = network.serve("https://mirror.test/pack.zip", bad)
    resource = Resource("pack.zip", urls=(url,), members=members)
    with pytest.raises(ChecksumError, match="inner.tif: md5 is"):
        download_and_extract(resource, tmp_path, subdir="pack")
    assert leftovers(tmp_path) == []  # neither the unverifiable zip nor a partial extraction is kept
    network.serve(url, good)
    target = download_and_extract(resource, tmp_path, subdir="pack")
    assert verified_path(target, "pack/inner.tif").read_bytes() == b"tiff bytes"
    assert leftovers(tmp_path) == ["pack", "pack/.segbook-manifest.json", "pack/pack", "pack/pack/inner.tif"]


def test_interrupted_extraction_is_not_used(network, tmp_path, monkeypatch):
    data = make_tar([("top/a.txt", b"alpha")])
    resource = Resource("x.tar.gz", urls=(network.serve("https://mirror.test/x.tar.gz", data),), md5=md5(data))

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(dl, "_verify_members", crash)
    with pytest.raises(KeyboardInterrupt):
        download_and_extract(resource, tmp_path, subdir="x")
    assert leftovers(tmp_path) == ["x.tar.gz"]  # the verified archive only; no half extraction
    monkeypatch.undo()
    monkeypatch.setattr(dl, "fetch_url", network)
    assert (download_and_extract(resource, tmp_path, subdir="x") / "top" / "a.txt").read_bytes() == b"alpha"
    assert len(network.calls) == 1 and os.path.isfile(tmp_path / "x" / dl.MANIFEST_NAME)


def test_downloads_name_this_project_in_their_user_agent_not_the_unrelated_pypi_segbook(monkeypatch, tmp_path):
    import segbook

    agents = []

    def urlopen(request, timeout):
        agents.append(request.get_header("User-agent"))
        return FakeResponse(b"x", {})

    monkeypatch.setattr(dl.urllib.request, "urlopen", urlopen)
    with open(tmp_path / "out", "wb") as out:
        dl.fetch_url("https://mirror.test/one", out)
    (agent,) = agents
    assert agent.startswith(f"{segbook.DISTRIBUTION}/") and segbook.HOMEPAGE in agent
    assert "pypi.org/project/segbook" not in agent
