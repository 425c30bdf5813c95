"""The reader's own data: a folder of images and masks as a segbook data set (``load_dataset("folder:<path>")``).

The layout (paired by file name; the masks are always PNG, a lossless format that keeps every class id)::

    my_data/
        images/      a.jpg  b.png  ...   (.png .jpg .jpeg .bmp .tif .tiff, any mix)
        masks/       a.png  b.png  ...   (one class id per pixel)
        classes.txt                      (optional: one class name per line, line i = class i)

or, with a split of your own, ``my_data/train/{images,masks}/`` and ``my_data/val/{images,masks}/`` (and
``my_data/classes.txt``). Masks store class ids, never colours to be guessed:

============  ==================================================================================================
``"index"``   grey PNG (mode ``L``, or 16/32-bit ``I``) or palette PNG (mode ``P``: the palette index is the class
              id, as in PASCAL VOC; the palette only colours it). Value = class id; 255 = not labelled, ignored
              (``ignore_index``).
``"binary"``  black-and-white PNG (mode ``L`` or ``1``) holding only 0 and 255: 0 = class 0 (background), 255 =
              class 1 (foreground). Nothing is ignored.
``"auto"``    ``"binary"`` when every mask of the data set holds only 0 and 255 (and some 255) and the class
              names, if given, are two; ``"index"`` otherwise.
============  ==================================================================================================

:class:`FolderDataset` reads such a folder; :func:`folder_pairs` lists its files and checks the layout without
reading a pixel.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
import torch

from segbook.conventions import IGNORE_INDEX, check_choice, check_ignore_index, check_int
from segbook.data._common import PathLike, check_loading_args, choose_subset, image_tensor, mask_tensor
from segbook.data.base import LoadedDataset

__all__ = ["IMAGE_SUFFIXES", "MASK_FORMATS", "CLASSES_FILE", "VAL_FRACTION", "folder_pairs", "FolderDataset"]

#: The image files a folder data set reads (any case); masks are ``.png``.
IMAGE_SUFFIXES: Tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
#: The mask formats (table in :mod:`segbook.data.folder`).
MASK_FORMATS: Tuple[str, ...] = ("auto", "index", "binary")
#: The optional class-names file at the folder's root: one name per line; blank lines and ``#`` comments skipped.
CLASSES_FILE = "classes.txt"
#: The share of a flat folder held out as ``"val"`` (at least one image when there are two or more).
VAL_FRACTION = 0.2
#: Without class names, a class id this large or larger is refused, not guessed: anti-aliased or greyscale "masks"
#: hold every value 0..255, and would silently become a 255-class problem.
MAX_GUESSED_CLASSES = 64
_HOLDOUT_SEED = 0  # fixed: the held-out images stay the same whatever ``seed`` picks a subset with
_LAYOUT = "<root>/images/<name>.<png|jpg|...> and <root>/masks/<name>.png, or <root>/train/... and <root>/val/..."
_SPLITS = ("train", "val", "all")
_MASK_MODES = ("P", "L", "1", "I", "I;16", "I;16B", "I;16L", "I;16N")  # modes that store one number per pixel
_IMAGE_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr")  # 8 bits a channel

Pair = Tuple[str, Path, Path]  # (name, image file, mask file)


def _files(folder: Path) -> Dict[str, List[Path]]:
    """The visible files of ``folder`` by stem, each list sorted."""
    found: Dict[str, List[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            found.setdefault(path.stem, []).append(path)
    return found


def _pairs(folder: Path) -> List[Pair]:
    """Every image of ``folder/images`` with its mask ``folder/masks/<name>.png``, sorted by name."""
    images_dir, masks_dir = folder / "images", folder / "masks"
    if not masks_dir.is_dir():
        raise FileNotFoundError(f"{images_dir} has no masks folder next to it: expected {masks_dir}/<name>.png")
    images, masks = _files(images_dir), _files(masks_dir)
    image_of, mask_of = {}, {}
    for stem, paths in images.items():
        usable = [p for p in paths if p.suffix.lower() in IMAGE_SUFFIXES]
        if len(usable) > 1:
            raise ValueError(f"{usable[0]} and {usable[1]} have the same name: one mask cannot belong to both")
        if usable:
            image_of[stem] = usable[0]
    for stem, paths in masks.items():
        for path in paths:
            if path.suffix.lower() == ".png":
                mask_of[stem] = path
    for stem, image in image_of.items():
        if stem not in mask_of:
            hint = f" (found {masks[stem][0].name}: masks must be PNG)" if stem in masks else ""
            raise FileNotFoundError(f"{image} has no mask: expected {masks_dir / (stem + '.png')}{hint}")
    for stem, mask in mask_of.items():
        if stem not in image_of:
            hint = f" (found {images[stem][0].name}, not an image type segbook reads)" if stem in images else ""
            raise FileNotFoundError(
                f"{mask} has no image: expected {images_dir / stem}.<{'|'.join(s[1:] for s in IMAGE_SUFFIXES)}>{hint}"
            )
    if not image_of:
        raise ValueError(f"{images_dir} holds no images ({', '.join(IMAGE_SUFFIXES)}); expected {_LAYOUT}")
    return [(stem, image_of[stem], mask_of[stem]) for stem in sorted(image_of)]


def _layout(root: Path) -> Dict[str, List[Pair]]:
    """The pairs of each split (``"train"``, ``"val"``, ``"all"``) of the folder ``root``."""
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder; expected {_LAYOUT}")
    own = [(root / split / "images").is_dir() for split in ("train", "val")]
    if all(own):
        if (root / "images").exists():
            raise ValueError(f"{root} holds both images/ and train/images + val/images: keep one layout")
        train, val = _pairs(root / "train"), _pairs(root / "val")
        named = [(f"train/{s}", i, m) for s, i, m in train] + [(f"val/{s}", i, m) for s, i, m in val]
        return {"train": train, "val": val, "all": named}
    if not (root / "images").is_dir():
        half = f" (found {'train' if own[0] else 'val'}/images but no {'val' if own[0] else 'train'}/images)"
        raise FileNotFoundError(f"{root} has no images/ folder{half if any(own) else ''}; expected {_LAYOUT}")
    pairs = _pairs(root)
    num_val = max(1, round(VAL_FRACTION * len(pairs))) if len(pairs) >= 2 else 0
    held = set(np.random.default_rng(_HOLDOUT_SEED).permutation(len(pairs))[:num_val].tolist())
    train = [pair for k, pair in enumerate(pairs) if k not in held]
    return {"train": train, "val": [pair for k, pair in enumerate(pairs) if k in held], "all": pairs}


def _root_path(root: object) -> Path:
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a folder path (str or os.PathLike), got {type(root).__name__}")
    if not os.fspath(root):
        raise ValueError(f"root must be a folder path, got an empty string; expected {_LAYOUT}")
    return Path(root).expanduser()


def folder_pairs(root: PathLike, split: str = "all") -> List[Tuple[str, Path, Path]]:
    """The ``(name, image file, mask file)`` of every image of a split, in name order; no pixel is read.

    Splits: with ``root/train/images`` and ``root/val/images``, ``"train"`` and ``"val"`` are those folders
    (names ``train/<name>`` and ``val/<name>`` in ``"all"``). Otherwise (flat layout) the sorted images are split
    by a fixed seeded draw: :data:`VAL_FRACTION` of them (at least 1 when there are 2 or more) are ``"val"``, the
    rest ``"train"``; ``"all"`` is every image. The draw does not depend on any seed argument.

    Raises:
        FileNotFoundError: ``root`` is missing or has neither layout; an image has no mask or a mask no image
            (the message names the file).
        ValueError: no images, two images with one name, both layouts at once, or an empty split.

    Example:
        >>> import tempfile
        >>> folder_pairs(Path(tempfile.mkdtemp()) / "nowhere")
        Traceback (most recent call last):
        ...
        FileNotFoundError: .../nowhere is not a folder; expected <root>/images/<name>.<png|jpg|...> and ...
    """
    check_choice(split, "split", _SPLITS)
    root_path = _root_path(root)
    return _split(_layout(root_path), split, root_path)


def _split(splits: Dict[str, List[Pair]], split: str, root: Path) -> List[Pair]:
    if not splits[split]:
        raise ValueError(
            f"the {split} split of {root} is empty: the folder holds {len(splits['all'])} image(s); "
            "add images, or use split='all'"
        )
    return splits[split]


def _read_class_names(path: Path) -> Tuple[str, ...]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


def _check_class_names(names: object, where: str) -> Tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise TypeError(f"{where} must be a list or tuple of names, got {type(names).__name__}")
    if not all(isinstance(n, str) and n.strip() for n in names):
        raise TypeError(f"{where} must hold non-empty strings, got {list(names)!r}")
    if len(names) < 2 or len(set(names)) != len(names):
        raise ValueError(f"{where} must hold at least 2 different class names, got {list(names)!r}")
    return tuple(names)


def _with_image(path: Path, read: Callable[[Any], Any]) -> Any:
    """``read(PIL image)``, with the errors of an unreadable or corrupt file turned into one that names it."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return read(img)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ValueError(f"{path} cannot be read as an image (is it complete?): {type(err).__name__}: {err}") from err


def _read_mask(path: Path) -> np.ndarray:
    """The numbers a mask PNG stores, (H, W) uint8: palette indices (``P``, never converted to colours), grey
    values (``L``, ``I``) or 0/255 (``1``)."""

    def read(img: Any) -> Tuple[str, Optional[np.ndarray]]:
        if img.mode not in _MASK_MODES:
            return img.mode, None
        return img.mode, np.array(img.convert("L") if img.mode == "1" else img)

    mode, values = _with_image(path, read)
    if values is None:
        colour = " colour" if mode.startswith("RGB") else ""
        raise ValueError(
            f"{path} is a mode {mode!r}{colour} image; a mask must store one class id per pixel: save it as a "
            "palette PNG (mode 'P') or a class-index PNG (mode 'L'); segbook does not guess classes from colours"
        )
    if values.size and (values.min() < 0 or values.max() > 255):
        raise ValueError(f"{path} holds values up to {values.max()}: class ids (and the ignore index) must be 0..255")
    return values.astype(np.uint8)


def _load_image(path: Path, size: int, mask_path: Path, mask_shape: Tuple[int, ...]) -> torch.Tensor:
    """An image file -> float32 (3, size, size) in [0, 1], after checking it has its mask's size."""
    expected = (mask_shape[1], mask_shape[0])  # PIL sizes are (width, height)

    def read(img: Any) -> Tuple[Tuple[int, int], str, Optional[torch.Tensor]]:
        if img.size != expected or img.mode not in _IMAGE_MODES:
            return img.size, img.mode, None
        img.draft("RGB", (size, size))  # JPEG: decode at a reduced scale that is still >= size
        return expected, img.mode, image_tensor(img, size)

    found, mode, tensor = _with_image(path, read)
    if found != expected:
        turned = " (the same size turned 90 degrees: EXIF orientation?)" if found == expected[::-1] else ""
        raise ValueError(
            f"{path} is {found[0]} x {found[1]} pixels but its mask {mask_path} is {expected[0]} x "
            f"{expected[1]} (width x height){turned}: an image and its mask must have the same size"
        )
    if tensor is None:
        raise ValueError(f"{path} is a mode {mode!r} image; segbook reads 8-bit images (grey, RGB, RGBA, palette)")
    return tensor


class FolderDataset(LoadedDataset):
    """The reader's own images and masks, read from a folder (layout and mask formats: :mod:`segbook.data.folder`).

    Pairs: ``root/images/<name>.<png|jpg|jpeg|bmp|tif|tiff>`` with ``root/masks/<name>.png``. Splits: with
    ``root/train/images`` and ``root/val/images``, ``"train"`` and ``"val"`` read those; otherwise the images,
    sorted by name, are split by a fixed seeded draw: 20 % (:data:`VAL_FRACTION`, at least 1 image when there are
    2 or more) are ``"val"``, the rest ``"train"``. ``"all"`` is every image (both folders in the split layout).

    Class names: ``class_names`` if given, else ``root/classes.txt`` (one per line, line i = class i; blank lines
    and ``#`` comments skipped), else ``("background", "foreground")`` for binary masks and ``"class 0"`` ..
    ``"class K"`` for index masks, K the largest class id in any mask of the data set (all splits, so train and
    val agree). ``mask_format="auto"`` and missing class names need every mask of the data set read once; with
    both given only the chosen images are read.

    In index masks the value ``ignore_index`` (default 255) marks unlabelled pixels: kept as it is, ignored by the
    losses and metrics. In binary masks 255 is the foreground, class 1, and nothing is ignored. Images and masks
    are resized (not cropped) to ``size x size``, masks by nearest neighbour so every value stays a class id.

    Args:
        root: the folder.
        split: ``"train"``, ``"val"`` or ``"all"``.
        size, num_images, seed, transforms: as in :class:`~segbook.data.OxfordPetDataset` (``seed`` picks the
            subset of ``num_images``; it does not change which images are held out).
        class_names: one name per class id (wins over ``classes.txt``).
        ignore_index: the mask value of unlabelled pixels in index masks, 0..255 and not a class id.
        mask_format: ``"auto"``, ``"index"`` or ``"binary"``.

    Raises:
        FileNotFoundError: the folder, an image's mask or a mask's image is missing (the message names the file).
        ValueError: a file is unreadable or corrupt, a colour (RGB) mask, an image and its mask differ in size,
            a mask holds a class id with no class name; each message names the file.

    Example:
        >>> mine = FolderDataset("my_data", split="train", size=128)  # doctest: +SKIP
        >>> mine.name, mine.class_names, mine.mask_format  # doctest: +SKIP
        ('folder:my_data', ('background', 'road', 'car'), 'index')
    """

    def __init__(
        self,
        root: PathLike,
        split: str = "train",
        *,
        size: int = 64,
        num_images: Optional[int] = None,
        seed: int = 0,
        transforms: Optional[Callable] = None,
        class_names: Optional[Sequence[str]] = None,
        ignore_index: int = IGNORE_INDEX,
        mask_format: str = "auto",
    ) -> None:
        check_choice(split, "split", _SPLITS)
        size, num_images, seed = check_loading_args(size, num_images, seed, transforms)
        ignore_index = check_int(ignore_index, "ignore_index", minimum=0, maximum=255)
        check_choice(mask_format, "mask_format", MASK_FORMATS)
        root_path = _root_path(root)
        names = None if class_names is None else _check_class_names(class_names, "class_names")
        if names is None and (root_path / CLASSES_FILE).is_file():
            names = _check_class_names(_read_class_names(root_path / CLASSES_FILE), str(root_path / CLASSES_FILE))
        splits = _layout(root_path)
        pairs = _split(splits, split, root_path)
        picked = set(
            choose_subset([name for name, _, _ in pairs], num_images, seed, f"the {split} split of {root_path}")
        )
        chosen = [pair for pair in pairs if pair[0] in picked]

        # Every mask of the data set is read once when its format or its number of classes must be found out.
        if mask_format == "auto":
            scan = names is None or len(names) == 2  # the masks decide whether they are binary
        else:
            scan = mask_format == "index" and names is None  # the masks tell how many classes there are
        found = {mask: set(np.unique(_read_mask(mask)).tolist()) for _, _, mask in splits["all"]} if scan else {}
        values: Set[int] = set().union(*found.values())
        binary = mask_format == "binary" or (scan and mask_format == "auto" and values <= {0, 255} and 255 in values)
        if names is None:
            names = ("background", "foreground") if binary else self._guessed_names(found, ignore_index)
        if binary and len(names) != 2:
            raise ValueError(f"mask_format='binary' makes 2 classes, but {len(names)} class names were given: {names}")
        check_ignore_index(ignore_index, len(names))
        for mask, mask_values in found.items():
            self._check_values(mask, mask_values, binary, names, ignore_index)

        images, masks = [], []
        for _, image_path, mask_path in chosen:
            raw = _read_mask(mask_path)
            self._check_values(mask_path, set(np.unique(raw).tolist()), binary, names, ignore_index)
            images.append(_load_image(image_path, size, mask_path, raw.shape))
            masks.append(mask_tensor((raw == 255).astype(np.uint8) if binary else raw, size))
        super().__init__(images, masks, [name for name, _, _ in chosen], names, transforms)
        self.name = f"folder:{os.fspath(root)}"
        self.root, self.split, self.ignore_index = root_path, split, ignore_index
        self.mask_format = "binary" if binary else "index"
        self.image_files = tuple(image for _, image, _ in chosen)
        self.mask_files = tuple(mask for _, _, mask in chosen)

    @staticmethod
    def _guessed_names(found: Dict[Path, Set[int]], ignore_index: int) -> Tuple[str, ...]:
        """``"class 0"`` .. ``"class K"``, K the largest class id of any mask (at least 1: two classes)."""
        top, where = 1, None
        for mask, mask_values in found.items():
            ids = mask_values - {ignore_index}
            if ids and max(ids) >= top:
                top, where = max(ids), mask
        if top >= MAX_GUESSED_CLASSES:
            raise ValueError(
                f"{where} holds class id {top} and there is no {CLASSES_FILE}: segbook does not guess "
                f"{top + 1} classes. Anti-aliased or greyscale masks hold every value 0..255: save masks without "
                f"smoothing; if there really are that many classes, name them in {CLASSES_FILE}"
            )
        return tuple(f"class {k}" for k in range(top + 1))

    @staticmethod
    def _check_values(path: Path, values: Set[int], binary: bool, names: Tuple[str, ...], ignore_index: int) -> None:
        if binary:
            if not values <= {0, 255}:
                raise ValueError(
                    f"{path} holds values {sorted(values - {0, 255})[:10]}: a binary mask holds only 0 "
                    "(background) and 255 (foreground); pass mask_format='index' for class-index masks"
                )
            return
        bad = sorted(values - set(range(len(names))) - {ignore_index})
        if bad:
            raise ValueError(
                f"{path} holds class id(s) {bad[:10]} but there are {len(names)} classes {list(names)} (ids "
                f"0..{len(names) - 1}; {ignore_index} = ignored): name every class, or fix the mask"
            )
