"""Verified downloads: how segbook fetches the real data sets, and why nothing half-written is ever used.

Four rules, each a failure of the usual "download, extract, hope" code (d2l's among them):

1. **A checksum is verified after every fetch**, and again whenever a cached file is reused. A file without a
   recorded checksum is never installed (a :class:`Resource` may instead record checksums of the files *inside* its
   archive: then those are verified before anything is installed).
2. **Nothing half-written is ever used.** A download goes to a temporary name in the cache directory, is verified,
   then renamed with ``os.replace`` (atomic on one file system). Extraction goes to a temporary directory that is
   renamed into place only once everything in it has been checked. Interrupted or failed attempts leave no file
   under the final name; what a killed process left is removed by the next attempt (:mod:`.leftovers`).
3. **Archives are extracted safely** (:func:`segbook.data.archives.safe_extract`): every member is checked first,
   and anything that would land outside the target or is not a plain file, directory or internal link is refused
   with :class:`UnsafeArchiveError`.
4. **Extracted files are verified when read.** Extraction writes a manifest of the sha256 of every file;
   :func:`verified_path` checks a file against it before a data set reads the file.

The errors live in :mod:`segbook.data.errors` and ``safe_extract`` in :mod:`segbook.data.archives`; both are
re-exported here. The cache directory is ``$SEGBOOK_DATA`` if set, else ``~/.cache/segbook`` (see :func:`data_home`).

Example:
    >>> import tempfile, hashlib
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "hello.txt").write_bytes(b"hello")
    >>> verify_file(folder / "hello.txt", "sha256", hashlib.sha256(b"hello").hexdigest())
    >>> verify_file(folder / "hello.txt", "md5", "0" * 32)
    Traceback (most recent call last):
    ...
    segbook.data.errors.ChecksumError: ...hello.txt: md5 is 5d41402abc4b2a76b9719d911017c592, expected 000...
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Dict, List, Optional, Tuple

from tqdm.auto import tqdm

from segbook.conventions import check_bool, check_float
from segbook.data._common import PathLike
from segbook.data.archives import safe_extract
from segbook.data.errors import ChecksumError, DatasetUnavailable, DownloadError, UnsafeArchiveError
from segbook.data.leftovers import remove_leftovers
from segbook.env import bars_hidden, user_agent

__all__ = ["DATA_ENV_VAR", "MANIFEST_NAME", "Resource", "DownloadError", "DatasetUnavailable"]
__all__ += ["ChecksumError", "UnsafeArchiveError", "data_home", "file_digest", "verify_file"]
__all__ += ["fetch_url", "download", "safe_extract", "download_and_extract", "load_manifest", "verified_path"]

#: Environment variable naming the cache directory.
DATA_ENV_VAR = "SEGBOOK_DATA"
#: Written inside every extracted directory once its contents are verified: ``{relative path: sha256}``.
MANIFEST_NAME = ".segbook-manifest.json"

_HEX_LENGTHS = {"md5": 32, "sha256": 64}


@dataclass(frozen=True)
class Resource:
    """One downloadable file, its mirrors and its recorded checksum.

    Args:
        filename: the name it is saved under in the cache directory (no directory part).
        urls: mirrors tried in order; every one must serve the same bytes (the checksum decides).
        md5, sha256: the recorded checksum (hex). At least one of these or ``members`` is required.
        members: for an archive without a published checksum: ``(file name, algorithm, hex digest)`` of files
            inside it; each must occur exactly once in the archive and match, or nothing is installed.
        source: where the checksum comes from, for the record.

    Example:
        >>> Resource("a.tar", urls=("https://example.org/a.tar",), md5="0" * 32).checksum
        ('md5', '00000000000000000000000000000000')
    """

    filename: str
    urls: Tuple[str, ...]
    md5: Optional[str] = None
    sha256: Optional[str] = None
    members: Tuple[Tuple[str, str, str], ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        _check_plain_name(self.filename, "filename")
        if not isinstance(self.urls, tuple) or not self.urls or not all(isinstance(u, str) for u in self.urls):
            raise TypeError(f"urls must be a non-empty tuple of strings, got {self.urls!r}")
        _check_hex(self.md5, "md5")
        _check_hex(self.sha256, "sha256")
        for member in self.members:
            if not (isinstance(member, tuple) and len(member) == 3 and member[1] in _HEX_LENGTHS):
                raise ValueError(f"each member must be (file name, 'md5' or 'sha256', hex digest), got {member!r}")
            _check_hex(member[2], member[1])

    @property
    def checksum(self) -> Optional[Tuple[str, str]]:
        """``(algorithm, hex digest)`` of the file itself, or ``None`` when only its members are recorded."""
        if self.sha256 is not None:
            return ("sha256", self.sha256)
        if self.md5 is not None:
            return ("md5", self.md5)
        return None


def _check_plain_name(name: object, what: str) -> None:
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"{what} must be a plain file name (no folder, not '.' or '..'), got {name!r}")


def _check_hex(value: Optional[str], algorithm: str) -> None:
    if value is None:
        return
    length = _HEX_LENGTHS[algorithm]
    if not isinstance(value, str) or len(value) != length or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"{algorithm} must be {length} lower-case hex digits, got {value!r}")


def data_home(root: Optional[PathLike] = None) -> Path:
    """The cache directory: ``root`` if given, else ``$SEGBOOK_DATA``, else ``~/.cache/segbook``.

    Example:
        >>> data_home("/tmp/segbook-data")
        PosixPath('/tmp/segbook-data')
    """
    if root is not None:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root must be a path (str or os.PathLike), got {type(root).__name__}")
        return Path(root).expanduser()
    env = os.environ.get(DATA_ENV_VAR, "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "segbook"


def file_digest(path: PathLike, algorithm: str = "sha256") -> str:
    """The hex digest (``"md5"`` or ``"sha256"``) of a file, read in 1 MiB chunks."""
    if algorithm not in _HEX_LENGTHS:
        raise ValueError(f"algorithm must be 'md5' or 'sha256', got {algorithm!r}")
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: PathLike, algorithm: str, expected: str, *, label: Optional[str] = None) -> None:
    """Raise :class:`ChecksumError` unless the file's ``algorithm`` digest equals ``expected``.

    ``label`` names the file in the message (default: its path).
    """
    actual = file_digest(path, algorithm)
    if actual != expected:
        raise ChecksumError(
            f"{label or path}: {algorithm} is {actual}, expected {expected} "
            "(the file is corrupted, incomplete or not the expected file)"
        )


def fetch_url(url: str, out: BinaryIO, *, timeout: float = 60.0) -> None:
    """Copy the bytes at ``url`` into the open binary file ``out``. The only function here that uses the network.

    A ``tqdm.auto`` bar counts the bytes (of the ``Content-Length`` the server announces, if any): a 2 GB download
    is not silent. ``TQDM_DISABLE=1`` hides it, read at each call as :func:`segbook.training.fit` does (tqdm reads it
    only when imported, and its Jupyter bar not at all). Network failures raise ``OSError``
    (``urllib.error.URLError`` is one). Tests replace this function.
    """
    timeout = check_float(timeout, "timeout", minimum=0.0, strict_minimum=True)
    request = urllib.request.Request(url, headers={"User-Agent": user_agent()})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (URLs are our constants)
        length = str(response.headers.get("Content-Length", "")).strip()
        name = url.rstrip("/").rsplit("/", 1)[-1]
        total = int(length) if length.isdigit() else None
        with tqdm(total=total, desc=name, unit="B", unit_scale=True, disable=bars_hidden()) as bar:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
                bar.update(len(chunk))


def _fetch_verified_temp(resource: Resource, directory: Path) -> Path:
    """Try each mirror: fetch into a temporary file in ``directory``, verify it; return the temporary path.

    A failed or interrupted attempt deletes its temporary file before the next mirror is tried.
    """
    problems: List[str] = []
    mismatch = False
    remove_leftovers(directory, f".{resource.filename}.", ".part")  # what a killed attempt left
    for url in resource.urls:
        fd, name = tempfile.mkstemp(prefix=f".{resource.filename}.", suffix=".part", dir=directory)
        tmp = Path(name)
        try:
            print(f"Downloading {url} ...", flush=True)
            with os.fdopen(fd, "wb") as out:
                fetch_url(url, out)
            if resource.checksum is not None:
                verify_file(tmp, *resource.checksum, label=f"{resource.filename} from {url}")
        except ChecksumError as err:
            tmp.unlink(missing_ok=True)
            mismatch = True
            problems.append(str(err))
            continue
        except (OSError, http.client.HTTPException) as err:  # no network, HTTP error, connection reset, disk full
            tmp.unlink(missing_ok=True)
            problems.append(f"{url}: {type(err).__name__}: {err}")
            continue
        except BaseException:  # anything else (including Ctrl-C): leave nothing behind, then re-raise
            tmp.unlink(missing_ok=True)
            raise
        return tmp
    details = "\n  ".join(problems)
    if mismatch:
        raise ChecksumError(
            f"no mirror of {resource.filename} served the expected bytes; nothing was installed:\n  {details}"
        )
    raise DatasetUnavailable(
        f"could not download {resource.filename} from any mirror:\n  {details}\n" + _by_hand(resource, directory)
    )


def _by_hand(resource: Resource, directory: Path) -> str:
    check = (
        f"its {resource.checksum[0]} must be {resource.checksum[1]}"
        if resource.checksum is not None
        else "segbook verifies the files inside it"
    )
    return f"To download it by hand, save {' or '.join(resource.urls)} as {directory / resource.filename} ({check})."


def download(resource: Resource, directory: PathLike, *, allow_download: bool = True) -> Path:
    """Return the path of ``resource`` in ``directory``, verified; download it first if it is missing or corrupted.

    A cached copy is re-verified on every call: if it no longer matches (a truncated copy, a bit flip), it is
    deleted and downloaded again (or, with ``allow_download=False``, refused with :class:`ChecksumError`).

    Raises:
        ValueError: the resource has no checksum of its own (segbook never installs a file it cannot verify).
        DatasetUnavailable: not cached and ``allow_download=False``, or no mirror could be reached.
        ChecksumError: the downloaded bytes do not match on any mirror (nothing is installed).
    """
    if not isinstance(resource, Resource):
        raise TypeError(f"resource must be a Resource, got {type(resource).__name__}")
    allow_download = check_bool(allow_download, "allow_download")
    if resource.checksum is None:
        raise ValueError(
            f"{resource.filename} has no recorded checksum: segbook does not install a file it "
            "cannot verify (use download_and_extract, which verifies the recorded members)"
        )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / resource.filename
    if final.exists():
        try:
            verify_file(final, *resource.checksum)
            return final
        except ChecksumError as err:
            if not allow_download:
                raise ChecksumError(f"cached {err}; delete it, or allow downloading to fetch a fresh copy") from None
            print(f"The cached {final} does not match its checksum: downloading it again.", flush=True)
            final.unlink()
    if not allow_download:
        raise DatasetUnavailable(
            f"{resource.filename} is not in the cache ({final}) and downloading is off. "
            + _by_hand(resource, directory)
        )
    os.replace(_fetch_verified_temp(resource, directory), final)
    return final


def _verify_members(resource: Resource, root: Path) -> None:
    for filename, algorithm, expected in resource.members:
        found = [p for p in root.rglob(filename) if p.is_file()]
        if len(found) != 1:
            raise ChecksumError(
                f"{resource.filename} should hold exactly one file named {filename}, "
                f"found {len(found)}: it is not the expected archive; nothing was installed"
            )
        verify_file(found[0], algorithm, expected)


def download_and_extract(
    resource: Resource, directory: PathLike, *, subdir: str, allow_download: bool = True, keep_archive: bool = True
) -> Path:
    """Return ``directory / subdir`` holding the verified contents of the archive ``resource``.

    If the directory already holds a manifest (a finished extraction) it is returned as is; its files are verified
    when read (:func:`verified_path`). Otherwise the archive is obtained (:func:`download`, or for an archive known
    only by its members' checksums, a verified-by-members temporary fetch; a copy placed by hand at
    ``directory / resource.filename`` is used too), extracted with :func:`safe_extract` into a temporary directory,
    its recorded members verified, a manifest of every file's sha256 written, and only then renamed into place.

    Args:
        resource: the archive.
        directory: where the archive is saved; the extraction goes to its ``subdir``.
        subdir: name of the extracted directory.
        allow_download: if False, only a cached copy is used (else :class:`DatasetUnavailable`).
        keep_archive: keep the verified archive after extraction (a later re-extraction needs no download).

    Raises:
        ValueError: the resource records neither its own checksum nor its members'.
        DatasetUnavailable, ChecksumError, UnsafeArchiveError: see :func:`download` and :func:`safe_extract`.
    """
    if not isinstance(resource, Resource):
        raise TypeError(f"resource must be a Resource, got {type(resource).__name__}")
    allow_download = check_bool(allow_download, "allow_download")
    keep_archive = check_bool(keep_archive, "keep_archive")
    _check_plain_name(subdir, "subdir")
    if resource.checksum is None and not resource.members:
        raise ValueError(
            f"{resource.filename} records no checksum, neither its own nor its members': segbook "
            "does not install data it cannot verify"
        )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / subdir
    if (target / MANIFEST_NAME).is_file():
        return target
    final = directory / resource.filename
    temporary_archive = None
    if resource.checksum is not None:
        archive = download(resource, directory, allow_download=allow_download)
    elif final.exists():
        archive = final  # placed by hand: verified through its members below
    elif not allow_download:
        raise DatasetUnavailable(
            f"{resource.filename} is not in the cache ({target}) and downloading is off. "
            + _by_hand(resource, directory)
        )
    else:
        archive = temporary_archive = _fetch_verified_temp(resource, directory)
    remove_leftovers(directory, f".{subdir}.", ".partial")
    staging = Path(tempfile.mkdtemp(prefix=f".{subdir}.", suffix=".partial", dir=directory))
    try:
        print(f"Extracting {archive.name} ...", flush=True)
        safe_extract(archive, staging)
        _verify_members(resource, staging)
        manifest = {
            p.relative_to(staging).as_posix(): file_digest(p, "sha256")
            for p in sorted(staging.rglob("*"))
            if p.is_file() and not p.is_symlink()
        }
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=0, sort_keys=True))
        if target.exists():
            shutil.rmtree(target)  # an earlier extraction without a manifest: unfinished, never used
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if temporary_archive is not None:
            temporary_archive.unlink(missing_ok=True)
    if not keep_archive and archive == final:
        final.unlink(missing_ok=True)
    return target


def load_manifest(directory: PathLike) -> Dict[str, str]:
    """The ``{relative path: sha256}`` manifest written when ``directory`` was extracted."""
    path = Path(directory) / MANIFEST_NAME
    if not path.is_file():
        raise DatasetUnavailable(
            f"{directory} has no {MANIFEST_NAME}: it was not extracted by segbook, or the extraction did not finish"
        )
    return json.loads(path.read_text())


def verified_path(directory: PathLike, relative: str, manifest: Optional[Dict[str, str]] = None) -> Path:
    """``directory / relative`` after checking the file's sha256 against the extraction manifest.

    Raises:
        DownloadError: the file is not part of the verified extraction.
        ChecksumError: the file changed since it was extracted (delete ``directory`` to extract it again).
    """
    manifest = load_manifest(directory) if manifest is None else manifest
    if relative not in manifest:
        raise DownloadError(f"{relative} is not part of the verified extraction in {directory}")
    path = Path(directory) / relative
    try:
        verify_file(path, "sha256", manifest[relative])
    except FileNotFoundError:
        raise ChecksumError(
            f"{path} is missing from the verified extraction; delete {directory} to extract the archive again"
        ) from None
    except ChecksumError as err:
        raise ChecksumError(
            f"{err}; it changed after extraction: delete {directory} to extract the archive again"
        ) from None
    return path
