"""What a killed download leaves behind, and when it is safe to delete it.

:mod:`segbook.data.downloading` writes a download to ``.<file>.<random>.part`` and an extraction to
``.<subdir>.<random>.partial`` in the cache directory, and deletes them when an attempt fails or is interrupted.
A process that is *killed* (``kill -9``, an out-of-memory kill, a Colab runtime reset) cannot: its temporary file
stays, possibly gigabytes of it. The next download of the same resource removes such leftovers, but only those
untouched for :data:`STALE_AFTER` seconds, so that a download still running in another process (which writes to
its file every second) is never pulled from under it.

Example:
    >>> import os, tempfile, time
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> old, fresh = folder / ".a.bin.x1.part", folder / ".a.bin.x2.part"
    >>> _ = old.write_bytes(b"half"), fresh.write_bytes(b"half")
    >>> os.utime(old, (time.time() - 3600, time.time() - 3600))
    >>> [p.name for p in remove_leftovers(folder, ".a.bin.", ".part")]
    ['.a.bin.x1.part']
    >>> sorted(p.name for p in folder.iterdir())
    ['.a.bin.x2.part']
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import List

__all__ = ["STALE_AFTER", "remove_leftovers"]

#: Seconds without a write after which a temporary download or extraction counts as abandoned.
STALE_AFTER = 600.0


def remove_leftovers(directory: Path, prefix: str, suffix: str, *, older_than: float = STALE_AFTER) -> List[Path]:
    """Delete the files or folders ``directory/<prefix>*<suffix>`` not modified for ``older_than`` seconds.

    Args:
        directory: the cache directory (nothing happens if it does not exist).
        prefix, suffix: the temporary names' fixed parts, e.g. ``".a.bin."`` and ``".part"``.
        older_than: the age (seconds since the last modification) from which a leftover is deleted.

    Returns:
        The paths deleted, sorted. A leftover that disappears meanwhile (another process cleaned it) is skipped.
    """
    if not prefix.startswith(".") or not suffix:
        raise ValueError(f"leftovers are hidden temporary names: prefix must start with '.', got {prefix!r}")
    if not directory.is_dir():
        return []
    now, removed = time.time(), []
    for path in sorted(directory.glob(f"{prefix}*{suffix}")):
        try:
            if now - path.stat().st_mtime < older_than:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    return removed
