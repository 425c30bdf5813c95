"""``load_dataset``: the one entry point chapters use to get their data by name (chapters 7, 8, 11).

A chapter chooses its data in a cell tagged ``parameters`` and always runs, online or not::

    DATASET = "scenes"  # or "cells", "oxford_pet", "voc", "isbi2012", or "folder:path/to/your/data"
    train_set = load_dataset(DATASET, split="train", size=64, num_images=256)
    print("data:", train_set.name)  # the data actually used: the embedded fallback when offline

Whatever it returns implements :class:`segbook.data.base.SegmentationDataset`, so the chapter goes on with
``train_set.class_names``, ``train_set.tensors()`` and ``train_set.instances()`` and never asks which data set it
was given. ``"folder:<path>"`` reads the reader's own images and masks (:class:`~segbook.data.folder.FolderDataset`;
layout and mask formats in :mod:`segbook.data.folder`).

Example:
    >>> ds = load_dataset("scenes", split="val", size=32, num_images=4)
    >>> ds.name, len(ds), ds.ignore_index
    ('scenes', 4, 255)
    >>> images, masks = ds.tensors()
    >>> tuple(images.shape), masks.dtype
    ((4, 3, 32, 32), torch.int64)
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple, Type

from segbook.conventions import check_bool, check_choice
from segbook.data._common import PathLike, check_loading_args
from segbook.data.base import GeneratedDataset, LoadedDataset, SegmentationDataset
from segbook.data.cells import CellsDataset
from segbook.data.downloading import DATA_ENV_VAR, DatasetUnavailable, data_home
from segbook.data.folder import FolderDataset
from segbook.data.isbi import ISBI2012Dataset
from segbook.data.pets import OxfordPetDataset
from segbook.data.scenes import SceneDataset
from segbook.data.voc import VOCSegmentationDataset

__all__ = ["DATASET_NAMES", "FOLDER_PREFIX", "VAL_SEED_OFFSET", "check_dataset_name", "load_dataset"]

#: The built-in data sets :func:`load_dataset` knows by name (it also takes ``FOLDER_PREFIX + path``).
DATASET_NAMES: Tuple[str, ...] = ("scenes", "cells", "oxford_pet", "voc", "isbi2012")
#: ``"folder:path/to/data"`` names a folder of the reader's own images and masks (:class:`FolderDataset`).
FOLDER_PREFIX = "folder:"


_REAL: Dict[str, Tuple[Callable[..., LoadedDataset], str, str]] = {
    "oxford_pet": (OxfordPetDataset, "the Oxford-IIIT Pet data set", "scenes"),
    "voc": (VOCSegmentationDataset, "PASCAL VOC 2012", "scenes"),
    "isbi2012": (ISBI2012Dataset, "the ISBI 2012 EM membrane data", "cells"),
}
_EMBEDDED: Dict[str, Type[GeneratedDataset]] = {"scenes": SceneDataset, "cells": CellsDataset}
_EMBEDDED_DEFAULT_SIZE = {"train": 256, "val": 64}
#: The validation scenes use ``seed + VAL_SEED_OFFSET`` so that they never repeat training scenes.
VAL_SEED_OFFSET = 1_000_000


def _embedded(name: str, split: str, size: int, num_images: Optional[int], seed: int) -> GeneratedDataset:
    """The embedded data set ``name`` ("scenes" or "cells"), generated from a seed."""
    count = _EMBEDDED_DEFAULT_SIZE[split] if num_images is None else num_images
    seed = seed + (VAL_SEED_OFFSET if split == "val" else 0)
    return _EMBEDDED[name](count, seed=seed, size=size)


def check_dataset_name(name: object, what: str = "name") -> str:
    """``name`` if it is one of :data:`DATASET_NAMES` or ``"folder:<path>"`` (the folder itself is read later).

    Example:
        >>> check_dataset_name("folder:my_data")
        'folder:my_data'
        >>> check_dataset_name("folder:")
        Traceback (most recent call last):
        ...
        ValueError: name 'folder:' names no folder: write 'folder:path/to/data'
    """
    if isinstance(name, str) and name.startswith(FOLDER_PREFIX):
        if not name[len(FOLDER_PREFIX) :].strip():
            raise ValueError(f"{what} {name!r} names no folder: write '{FOLDER_PREFIX}path/to/data'")
        return name
    if not isinstance(name, str) or name not in DATASET_NAMES:
        options = ", ".join(repr(n) for n in DATASET_NAMES)
        raise ValueError(f"{what} must be one of {options} or '{FOLDER_PREFIX}<path>'; got {name!r}")
    return name


def load_dataset(
    name: str,
    *,
    split: str = "train",
    size: int = 64,
    num_images: Optional[int] = None,
    seed: int = 0,
    download: bool = True,
    root: Optional[PathLike] = None,
) -> SegmentationDataset:
    """The one entry point chapters use: a data set by name, or the embedded fallback with a message.

    ``"scenes"`` and ``"cells"`` are generated (no download; ``num_images`` defaults to 256 for ``"train"`` and
    64 for ``"val"``; the validation set uses ``seed + VAL_SEED_OFFSET``). ``"oxford_pet"``, ``"voc"`` and
    ``"isbi2012"`` are real data: downloaded and verified on first use (``num_images=None`` = the whole split,
    ``seed`` picks the subset). When a real data set is unavailable -- no network, or ``download=False`` and not
    cached -- a message naming the data set, the cache directory and how to download it by hand is printed and the
    embedded fallback is returned (``"cells"`` for ``"isbi2012"``, ``"scenes"`` otherwise). A checksum mismatch or
    an unsafe archive is *not* silently replaced: it raises.

    ``"folder:<path>"`` is the reader's own data: :class:`~segbook.data.folder.FolderDataset` ``(path, split,
    size=, num_images=, seed=)`` (``num_images=None`` = the whole split). It has no fallback: a folder that
    cannot be read raises, naming the file.

    Every result is a :class:`~segbook.data.base.SegmentationDataset`: ``.name`` (the data actually used),
    ``num_classes``, ``class_names``, ``ignore_index``, ``.tensors()`` and ``.instances()``; items are
    ``(Image float32 (3, size, size) in [0, 1], Mask int64 (size, size))``.

    Args:
        name: one of :data:`DATASET_NAMES`, or ``"folder:<path>"``.
        split: ``"train"`` or ``"val"``.
        size: image side in pixels (square images).
        num_images: how many images; see above for the defaults.
        seed: generator seed (embedded data) or subset seed (real data).
        download: allow downloading real data.
        root: cache directory; default ``$SEGBOOK_DATA`` or ``~/.cache/segbook`` (not for a folder: its path
            follows ``"folder:"``).

    Raises:
        ValueError: unknown ``name`` (the message lists the names) or ``split``.
        FileNotFoundError, ValueError: a folder that cannot be read (see :class:`FolderDataset`).

    Example:
        >>> train = load_dataset("scenes", split="train", size=32, num_images=8)
        >>> train.name, train.num_classes, tuple(train[0][0].shape)
        ('scenes', 5, (3, 32, 32))
        >>> load_dataset("mnist")
        Traceback (most recent call last):
        ...
        ValueError: name must be one of 'scenes', 'cells', ... or 'folder:<path>'; got 'mnist'
    """
    check_dataset_name(name)
    check_choice(split, "split", ("train", "val"))
    size, num_images, seed = check_loading_args(size, num_images, seed, None)
    download = check_bool(download, "download")
    if name.startswith(FOLDER_PREFIX):
        if root is not None:
            raise ValueError(f"root is the download cache; a folder is read from the path after '{FOLDER_PREFIX}'")
        return FolderDataset(name[len(FOLDER_PREFIX) :], split, size=size, num_images=num_images, seed=seed)
    if name not in _REAL:
        return _embedded(name, split, size, num_images, seed)
    cls, title, fallback = _REAL[name]
    try:
        return cls(split, size=size, num_images=num_images, seed=seed, download=download, root=root)
    except DatasetUnavailable as err:
        reason = str(err)
    print(
        f"'{name}' ({title}) is not available here:\n  {reason}\n"
        f"Cache directory: {data_home(root)} (set ${DATA_ENV_VAR} to change it).\n"
        f"Using the embedded '{fallback}' data instead: the results below are about '{fallback}', "
        f"not {title}.",
        flush=True,
    )
    return _embedded(fallback, split, size, num_images, seed)
