"""What can go wrong when segbook obtains a real data set (chapters 7, 8, 11): one exception per failure.

:func:`segbook.data.load_dataset` replaces a data set that is merely :class:`DatasetUnavailable` (offline, or
downloading off) by the embedded data, and lets every other error through: a wrong checksum or an unsafe archive
is never silently replaced.
"""

__all__ = ["DownloadError", "DatasetUnavailable", "ChecksumError", "UnsafeArchiveError"]


class DownloadError(RuntimeError):
    """Something went wrong while obtaining a data set."""


class DatasetUnavailable(DownloadError):
    """The data cannot be obtained here: no network, or ``download=False`` and nothing cached.

    The message says which file, where it was expected, and how to download it by hand.
    """


class ChecksumError(DownloadError):
    """A file's checksum differs from the recorded one: it is corrupted, incomplete or not the expected file."""


class UnsafeArchiveError(DownloadError):
    """An archive member would be written outside the target directory, or is a special file."""
