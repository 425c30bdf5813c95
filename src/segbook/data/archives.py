"""Safe extraction of the real data sets' archives (rule 3 of :mod:`segbook.data.downloading`).

Every member of a tar or zip archive is checked before anything is written: absolute paths, ``..``, paths through
a symlink, symlinks or hard links pointing outside the target, and special files (devices, FIFOs) are refused with
:class:`~segbook.data.errors.UnsafeArchiveError`. Tar files are then extracted with ``filter="data"`` where Python
provides it, which checks the same things again at extraction time.
"""

from __future__ import annotations

import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

from segbook.data._common import PathLike
from segbook.data.errors import DownloadError, UnsafeArchiveError

__all__ = ["safe_extract"]


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _member_destination(name: str, target: Path, archive: Path) -> Path:
    """Where member ``name`` would be written; refuse absolute paths, ``..`` and anything outside ``target``."""
    posix = name.replace("\\", "/")
    if not posix or posix.startswith("/") or PureWindowsPath(name).drive:
        raise UnsafeArchiveError(f"{archive}: refusing member {name!r}: it has an absolute path")
    if ".." in PurePosixPath(posix).parts:
        raise UnsafeArchiveError(f"{archive}: refusing member {name!r}: its path contains '..'")
    destination = (target / posix).resolve()
    if not _is_within(destination, target):
        raise UnsafeArchiveError(f"{archive}: refusing member {name!r}: it would be written outside {target}")
    return destination


def _check_tar_members(tar: tarfile.TarFile, target: Path, archive: Path) -> None:
    symlinks = {PurePosixPath(m.name.replace("\\", "/")) for m in tar.getmembers() if m.issym()}
    for member in tar.getmembers():
        destination = _member_destination(member.name, target, archive)
        path = PurePosixPath(member.name.replace("\\", "/"))
        if any(parent in symlinks for parent in path.parents):
            raise UnsafeArchiveError(
                f"{archive}: refusing member {member.name!r}: its path goes through a symlink of the archive"
            )
        if member.issym() or member.islnk():
            kind = "symlink" if member.issym() else "hard link"
            link = member.linkname.replace("\\", "/")
            if link.startswith("/") or PureWindowsPath(member.linkname).drive:
                raise UnsafeArchiveError(
                    f"{archive}: refusing {kind} {member.name!r} -> {member.linkname!r}: it points to an absolute path"
                )
            # A symlink is relative to its own directory; a hard link names another member (archive root).
            base = destination.parent if member.issym() else target
            if not _is_within((base / link).resolve(), target):
                raise UnsafeArchiveError(
                    f"{archive}: refusing {kind} {member.name!r} -> {member.linkname!r}: it points outside {target}"
                )
        elif not (member.isfile() or member.isdir()):
            raise UnsafeArchiveError(
                f"{archive}: refusing member {member.name!r}: it is a device, FIFO or other special file"
            )


def safe_extract(archive: PathLike, target: PathLike) -> None:
    """Extract a tar (any compression) or zip archive into the directory ``target``, refusing unsafe members.

    All members are checked before anything is written (see the module docstring); tar files are then extracted
    with ``filter="data"`` when this Python has it (3.12, and 3.8-3.11 security releases), which re-checks links,
    drops set-uid bits and refuses special files at extraction time too.

    Raises:
        UnsafeArchiveError: a member is unsafe. Nothing is extracted.
        DownloadError: the file is neither a tar nor a zip archive.
    """
    archive, target = Path(archive), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    target = target.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            for info in infos:
                _member_destination(info.filename, target, archive)
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise UnsafeArchiveError(
                        f"{archive}: refusing member {info.filename!r}: symlinks in zip archives are not extracted"
                    )
            for info in infos:
                zf.extract(info, target)
        return
    if not tarfile.is_tarfile(archive):
        raise DownloadError(f"{archive} is neither a tar nor a zip archive")
    with tarfile.open(archive) as tar:
        _check_tar_members(tar, target, archive)
        try:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(target, filter="data")
            else:  # a Python without extraction filters: the checks above are all there is
                tar.extractall(target)
        except tarfile.TarError as err:  # FilterError and friends: same meaning as our own checks
            raise UnsafeArchiveError(f"{archive}: {err}") from err
