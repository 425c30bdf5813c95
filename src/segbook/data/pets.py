"""The Oxford-IIIT Pet data set (chapter 7 and 11's real-data option): photos of pets with trimap masks.

7,349 photos of 37 breeds of cats and dogs, each with a *trimap*: pet, background, and a border band drawn
around the pet that the annotators left unclassified. :class:`OxfordPetDataset` implements
:class:`segbook.data.base.SegmentationDataset`; its archives are downloaded and verified by
:mod:`segbook.data.downloading`. Licence :data:`PET_LICENSE`, citation :data:`PET_CITATION`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Tuple

import numpy as np

from segbook.conventions import IGNORE_INDEX, check_bool, check_choice
from segbook.data._common import PathLike, check_loading_args, choose_subset, load_rgb, mask_tensor, read_split_list
from segbook.data.base import LoadedDataset
from segbook.data.downloading import Resource, data_home, download_and_extract, load_manifest, verified_path

__all__ = ["PET_RESOURCES", "PET_LICENSE", "PET_CITATION", "OxfordPetDataset"]

# Oxford-IIIT Pet. URLs and md5s as recorded by torchvision.datasets.OxfordIIITPet (torchvision 0.29); the second
# mirror is the same VGG server under another host name.
PET_RESOURCES: Tuple[Resource, Resource] = (
    Resource(
        "images.tar.gz",
        urls=(
            "https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz",
            "https://thor.robots.ox.ac.uk/~vgg/data/pets/images.tar.gz",
        ),
        md5="5c4f3ee8e5d25df40f4fd59a7f44e54c",
        source="torchvision.datasets.OxfordIIITPet",
    ),
    Resource(
        "annotations.tar.gz",
        urls=(
            "https://www.robots.ox.ac.uk/~vgg/data/pets/data/annotations.tar.gz",
            "https://thor.robots.ox.ac.uk/~vgg/data/pets/annotations.tar.gz",
        ),
        md5="95a8c909bbe2e81eed6a22bccdf3f68f",
        source="torchvision.datasets.OxfordIIITPet",
    ),
)
PET_LICENSE = (
    "Creative Commons Attribution-ShareAlike 4.0 International (CC BY-SA 4.0); the copyright of the "
    "images remains with their original owners (https://www.robots.ox.ac.uk/~vgg/data/pets/)."
)
PET_CITATION = (
    "O. M. Parkhi, A. Vedaldi, A. Zisserman, C. V. Jawahar. Cats and Dogs. IEEE Conference on "
    "Computer Vision and Pattern Recognition (CVPR), 2012."
)


class OxfordPetDataset(LoadedDataset):
    """The Oxford-IIIT Pet data set with its trimaps as segmentation masks.

    Each trimap PNG stores 1 = pet, 2 = background, 3 = border (a band around the pet's outline that the annotators
    did not classify). Mapped to masks:

    ==========================  =========  ====  ===============================
    ``target``, ``border``      background pet   border pixels
    ==========================  =========  ====  ===============================
    ``"trimap"``, ``"class"``   0          1     2 (its own class; 3 classes)
    ``"trimap"``, ``"ignore"``  0          1     255, ignored (2 classes)
    ``"binary"``, ``"foreground"`` 0       1     1 (counted as pet)
    ``"binary"``, ``"background"`` 0       1     0
    ``"binary"``, ``"ignore"``  0          1     255, ignored
    ==========================  =========  ====  ===============================

    Ignoring the border is the honest choice when the boundary is ambiguous; keeping it as a class teaches a network
    to find outlines. Splits: the official lists, ``"train"`` = ``trainval.txt`` (3,680 images), ``"val"`` =
    ``test.txt`` (3,669 images; the data set has no separate validation list). Files:
    ``<root>/oxford_pet/{images,annotations}/``. Licence :data:`PET_LICENSE`, citation :data:`PET_CITATION`.

    Args:
        split: ``"train"``/``"trainval"`` or ``"val"``/``"test"``.
        size: images and masks are resized to ``size x size``.
        num_images: a subset of this many images, drawn by ``seed``; ``None`` = the whole split.
        seed: picks the subset (same seed, same subset).
        target: ``"trimap"`` or ``"binary"`` (pet vs background).
        border: what the border pixels become (table above); default ``"class"`` for trimaps, ``"foreground"``
            for binary masks.
        transforms: optional callable ``(image, mask) -> (image, mask)`` applied on every access.
        download: fetch the archives (about 800 MB) if they are not cached; if False, only the cache is used.
        root: cache directory; default :func:`segbook.data.downloading.data_home`.

    Example:
        >>> pets = OxfordPetDataset("train", size=64, num_images=32, target="binary")  # doctest: +SKIP
        >>> pets.class_names, pets[0][1].unique()  # doctest: +SKIP
        (('background', 'pet'), Mask([0, 1]))
    """

    name = "oxford_pet"
    license = PET_LICENSE
    citation = PET_CITATION
    instance_classes = (1,)  # one object per pet region; the border class is not an object
    _SPLIT_FILES = {"train": "trainval.txt", "trainval": "trainval.txt", "val": "test.txt", "test": "test.txt"}
    _BORDERS = {"trimap": ("class", "ignore"), "binary": ("foreground", "background", "ignore")}

    def __init__(
        self,
        split: str = "train",
        *,
        size: int = 64,
        num_images: Optional[int] = None,
        seed: int = 0,
        target: str = "trimap",
        border: Optional[str] = None,
        transforms: Optional[Callable] = None,
        download: bool = True,
        root: Optional[PathLike] = None,
    ) -> None:
        check_choice(split, "split", tuple(self._SPLIT_FILES))
        check_choice(target, "target", tuple(self._BORDERS))
        border = {"trimap": "class", "binary": "foreground"}[target] if border is None else border
        check_choice(border, f"border (with target={target!r})", self._BORDERS[target])
        size, num_images, seed = check_loading_args(size, num_images, seed, transforms)
        download = check_bool(download, "download")
        folder = data_home(root) / "oxford_pet"
        images_dir = download_and_extract(PET_RESOURCES[0], folder, subdir="images", allow_download=download)
        notes_dir = download_and_extract(PET_RESOURCES[1], folder, subdir="annotations", allow_download=download)
        image_manifest, notes_manifest = load_manifest(images_dir), load_manifest(notes_dir)
        list_file = verified_path(notes_dir, f"annotations/{self._SPLIT_FILES[split]}", notes_manifest)
        ids = choose_subset(read_split_list(list_file), num_images, seed, f"the Pet {split} split")

        border_value = {"class": 2, "ignore": IGNORE_INDEX, "foreground": 1, "background": 0}[border]
        lookup = np.full(256, -1, dtype=np.int64)
        lookup[[1, 2, 3]] = [1, 0, border_value]  # trimap value -> class id
        images, masks = [], []
        for image_id in ids:
            images.append(load_rgb(verified_path(images_dir, f"images/{image_id}.jpg", image_manifest), size))
            trimap_path = verified_path(notes_dir, f"annotations/trimaps/{image_id}.png", notes_manifest)
            masks.append(mask_tensor(self._read_trimap(trimap_path, lookup), size))
        names = ("background", "pet", "border") if border == "class" else ("background", "pet")
        super().__init__(images, masks, ids, names, transforms)
        self.split, self.target, self.border = split, target, border

    @staticmethod
    def _read_trimap(path: Path, lookup: np.ndarray) -> np.ndarray:
        from PIL import Image

        with Image.open(path) as img:
            values = np.asarray(img)  # the stored values 1, 2, 3 (mode L or P alike): never converted to RGB
        if values.ndim != 2:
            raise ValueError(f"{path}: a trimap must be a single-channel PNG, got shape {values.shape}")
        labels = lookup[values]
        if (labels < 0).any():
            raise ValueError(
                f"{path}: trimap values must be 1 (pet), 2 (background) or 3 (border), "
                f"found {sorted(set(np.unique(values).tolist()) - {1, 2, 3})}"
            )
        return labels
