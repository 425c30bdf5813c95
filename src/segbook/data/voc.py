"""PASCAL VOC 2012 semantic segmentation (chapter 7 and 11's real-data option): 20 object classes + background.

Masks are palette PNGs whose pixel values *are* the class indices; the thin band around every object is 255
and stays 255 (ignored), never mapped to background. :class:`VOCSegmentationDataset` implements
:class:`segbook.data.base.SegmentationDataset`; the archive is downloaded and verified by
:mod:`segbook.data.downloading`. Licence :data:`VOC_LICENSE`, citation :data:`VOC_CITATION`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Tuple

import numpy as np

from segbook.conventions import IGNORE_INDEX, check_bool, check_choice
from segbook.data._common import PathLike, check_loading_args, choose_subset, load_rgb, mask_tensor, read_split_list
from segbook.data.base import LoadedDataset
from segbook.data.downloading import Resource, data_home, download_and_extract, load_manifest, verified_path

__all__ = [
    "VOC_RESOURCE",
    "VOC_CLASS_NAMES",
    "VOC_LICENSE",
    "VOC_CITATION",
    "VOCSegmentationDataset",
    "read_palette_indices",
]

# PASCAL VOC 2012 trainval. md5 as recorded by torchvision.datasets.VOCSegmentation (torchvision 0.29), which
# downloads from thor.robots.ox.ac.uk; host.robots.ox.ac.uk is the address on the official VOC2012 page and
# pjreddie.com a widely used copy. The md5 decides whichever answers.
VOC_RESOURCE = Resource(
    "VOCtrainval_11-May-2012.tar",
    urls=(
        "https://thor.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar",
        "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar",
        "https://pjreddie.com/media/files/VOCtrainval_11-May-2012.tar",
    ),
    md5="6cd6e144f989b92b3379bac3b3de84fd",
    source="torchvision.datasets.VOCSegmentation",
)
#: Class names of VOC 2012, indexed by the palette index stored in the masks.
VOC_CLASS_NAMES: Tuple[str, ...] = (
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)
VOC_LICENSE = (
    "The VOC2012 data includes images obtained from the flickr website; use of these images must "
    "respect flickr's terms of use (http://host.robots.ox.ac.uk/pascal/VOC/voc2012/)."
)
VOC_CITATION = (
    "M. Everingham, L. Van Gool, C. K. I. Williams, J. Winn, A. Zisserman. The PASCAL Visual Object "
    "Classes (VOC) Challenge. International Journal of Computer Vision 88(2):303-338, 2010."
)


class VOCSegmentationDataset(LoadedDataset):
    """PASCAL VOC 2012 semantic segmentation: 21 classes (:data:`VOC_CLASS_NAMES`), border 255 ignored.

    The masks in ``SegmentationClass/`` are palette PNGs (PIL mode ``"P"``): each pixel *stores the class index*,
    and the palette only says how to colour it. They are read as indices, never by guessing classes from RGB
    colours. Value 255 marks the band around each object and the "difficult" regions: it stays 255, the ignore
    index (d2l maps it to background, which teaches the network that object borders are background).

    Splits: ``"train"`` (1,464 images), ``"val"`` (1,449), ``"trainval"``, from ``ImageSets/Segmentation``. Files:
    ``<root>/voc2012/VOCtrainval_11-May-2012/VOCdevkit/VOC2012/``. The archive is about 2 GB. Licence
    :data:`VOC_LICENSE`, citation :data:`VOC_CITATION`.

    Args:
        split, size, num_images, seed, transforms, download, root: as in :class:`OxfordPetDataset`.

    Example:
        >>> voc = VOCSegmentationDataset("val", size=128, num_images=16)  # doctest: +SKIP
        >>> voc.num_classes, int(voc.tensors()[1].max())  # doctest: +SKIP
        (21, 255)
    """

    name = "voc"
    license = VOC_LICENSE
    citation = VOC_CITATION
    _DEVKIT = "VOCdevkit/VOC2012"

    def __init__(
        self,
        split: str = "train",
        *,
        size: int = 64,
        num_images: Optional[int] = None,
        seed: int = 0,
        transforms: Optional[Callable] = None,
        download: bool = True,
        root: Optional[PathLike] = None,
    ) -> None:
        check_choice(split, "split", ("train", "val", "trainval"))
        size, num_images, seed = check_loading_args(size, num_images, seed, transforms)
        download = check_bool(download, "download")
        base = download_and_extract(
            VOC_RESOURCE, data_home(root) / "voc2012", subdir="VOCtrainval_11-May-2012", allow_download=download
        )
        manifest = load_manifest(base)
        list_file = verified_path(base, f"{self._DEVKIT}/ImageSets/Segmentation/{split}.txt", manifest)
        ids = choose_subset(read_split_list(list_file), num_images, seed, f"the VOC {split} split")
        images, masks = [], []
        for image_id in ids:
            images.append(load_rgb(verified_path(base, f"{self._DEVKIT}/JPEGImages/{image_id}.jpg", manifest), size))
            mask_path = verified_path(base, f"{self._DEVKIT}/SegmentationClass/{image_id}.png", manifest)
            masks.append(mask_tensor(read_palette_indices(mask_path, len(VOC_CLASS_NAMES)), size))
        super().__init__(images, masks, ids, VOC_CLASS_NAMES, transforms)
        self.split = split


def read_palette_indices(path: Path, num_classes: int) -> np.ndarray:
    """The class indices stored in a palette PNG: (H, W) uint8 with values in ``[0, num_classes)`` or 255."""
    from PIL import Image

    with Image.open(path) as img:
        if img.mode != "P":
            raise ValueError(
                f"{path} is a mode {img.mode!r} image; VOC masks are palette PNGs (mode 'P') whose "
                "pixel values are class indices (segbook does not guess classes from colours)"
            )
        indices = np.array(img)  # mode P -> the stored indices, not the palette colours
    bad = sorted(set(np.unique(indices).tolist()) - set(range(num_classes)) - {IGNORE_INDEX})
    if bad:
        raise ValueError(f"{path} holds indices {bad}: expected 0..{num_classes - 1} or {IGNORE_INDEX} (ignore)")
    return indices
