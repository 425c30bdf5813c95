"""Real data sets behind the same interface as the embedded scenes, and one entry point for chapters.

Every data set here yields what :class:`segbook.data.synthetic.SceneDataset` yields: ``(image, mask)`` with ``image`` a
``tv_tensors.Image`` float32 (3, H, W) in [0, 1] and ``mask`` a ``tv_tensors.Mask`` int64 (H, W) of class ids,
``255`` (:data:`IGNORE_INDEX`) where no loss or metric should look. Each has ``num_classes``, ``class_names``,
``ignore_index``, ``name``, ``license``, ``citation`` and ``.tensors()`` (all images (N, 3, H, W) and masks
(N, H, W) stacked). Images are resized to ``size x size`` (bilinear, antialiased when shrinking: PIL's resize),
masks with nearest neighbour so class ids stay class ids; the aspect ratio is not kept.

* **Oxford-IIIT Pet** (:class:`OxfordPetDataset`): 7,349 photos of 37 breeds of cats and dogs, each with a
  *trimap*: pet, background, and a border band drawn around the pet that the annotators left unclassified.
* **PASCAL VOC 2012** (:class:`VOCSegmentationDataset`): 20 object classes + background. Masks are palette PNGs
  whose pixel values *are* the class indices; the thin band around every object is 255 and stays 255 (ignored),
  never mapped to background.
* **ISBI 2012 EM membranes** (:class:`ISBI2012Dataset`): the 30 electron-microscopy slices (512 x 512) that the
  U-Net paper trained on; the membranes are the foreground class. Licence and required citations:
  :data:`ISBI2012_LICENSE`, :data:`ISBI2012_CITATION` -- print them where the data is used.

All downloads go through :mod:`segbook.data.downloading` (checksums after every fetch, atomic renames, safe extraction).

A chapter chooses its data in a cell tagged ``parameters`` and always runs, online or not::

    DATASET = "scenes"  # or "cells", "oxford_pet", "voc", "isbi2012"
    train_set = load_dataset(DATASET, split="train", size=64, num_images=256)
    print("data:", train_set.name)  # the data actually used: the embedded fallback when offline

Example:
    >>> ds = load_dataset("scenes", split="val", size=32, num_images=4)
    >>> ds.name, len(ds), ds.ignore_index
    ('scenes', 4, 255)
    >>> images, masks = ds.tensors()
    >>> tuple(images.shape), masks.dtype
    ((4, 3, 32, 32), torch.int64)
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from segbook.conventions import check_choice, check_int
from segbook.data.downloading import (
    DATA_ENV_VAR,
    DatasetUnavailable,
    Resource,
    data_home,
    download_and_extract,
    load_manifest,
    verified_path,
)
from segbook.data.synthetic import IGNORE_INDEX, SceneDataset

__all__ = [
    "IGNORE_INDEX",
    "DATASET_NAMES",
    "PET_RESOURCES",
    "PET_LICENSE",
    "PET_CITATION",
    "VOC_RESOURCE",
    "VOC_CLASS_NAMES",
    "VOC_LICENSE",
    "VOC_CITATION",
    "ISBI2012_RESOURCE",
    "ISBI2012_LICENSE",
    "ISBI2012_CITATION",
    "OxfordPetDataset",
    "VOCSegmentationDataset",
    "ISBI2012Dataset",
    "read_palette_indices",
    "VAL_SEED_OFFSET",
    "load_dataset",
]

#: The names :func:`load_dataset` accepts.
DATASET_NAMES: Tuple[str, ...] = ("scenes", "cells", "oxford_pet", "voc", "isbi2012")

# ---------------------------------------------------------------------------------------------------------------
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

# ---------------------------------------------------------------------------------------------------------------
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

# ---------------------------------------------------------------------------------------------------------------
# ISBI 2012. The challenge server (brainiac2.mit.edu) is gone; imagej.net's page for the challenge links this zip.
# No checksum of the zip is published. The md5s of the two training TIFFs as served by the original challenge
# server were recorded in a torchvision pull request (class ssTEM); the zip is accepted only if the TIFFs inside
# it have exactly these md5s.
ISBI2012_RESOURCE = Resource(
    "ISBI-2012-challenge.zip",
    urls=("https://downloads.imagej.net/ISBI-2012-challenge.zip",),
    members=(
        ("train-volume.tif", "md5", "465461edbe0254630c4ec5577f1e7764"),
        ("train-labels.tif", "md5", "657fe6b728c6dd0152e295c6d800001d"),
    ),
    source="member md5s: torchvision pull request 'ssTEM' (files of brainiac2.mit.edu/isbi_challenge)",
)
#: The terms of use stated by the ISBI 2012 challenge organisers.
ISBI2012_LICENSE = (
    "You are free to use this data set for the purpose of generating or testing non-commercial image "
    "segmentation software. If any scientific publications derive from the usage of this data set, you must "
    "cite TrakEM2 and the following publication: Cardona et al. (2010), PLoS Biol 8(10): e1000502."
)
#: Cite these where the ISBI 2012 data is used: the challenge, the data, and TrakEM2 (as the licence asks).
ISBI2012_CITATION = (
    "I. Arganda-Carreras, S. C. Turaga, D. R. Berger, D. Ciresan, A. Giusti, L. M. Gambardella, J. Schmidhuber, "
    "D. Laptev, S. Dwivedi, J. M. Buhmann, et al. Crowdsourcing the creation of image segmentation algorithms "
    "for connectomics. Frontiers in Neuroanatomy 9:142, 2015. doi:10.3389/fnana.2015.00142\n"
    "A. Cardona, S. Saalfeld, S. Preibisch, B. Schmid, A. Cheng, J. Pulokas, P. Tomancak, V. Hartenstein. An "
    "integrated micro- and macroarchitectural analysis of the Drosophila brain by computer-assisted serial "
    "section electron microscopy. PLoS Biology 8(10):e1000502, 2010. doi:10.1371/journal.pbio.1000502\n"
    "A. Cardona, S. Saalfeld, J. Schindelin, et al. TrakEM2 software for neural circuit reconstruction. "
    "PLoS ONE 7(6):e38011, 2012. doi:10.1371/journal.pone.0038011"
)


# ---------------------------------------------------------------------------------------------------------------
class _LoadedDataset(Dataset):
    """Shared behaviour: images and masks loaded once at ``size x size``, served as tv_tensors."""

    name = ""
    license = ""
    citation = ""
    ignore_index = IGNORE_INDEX

    def __init__(
        self,
        images: List[torch.Tensor],
        masks: List[torch.Tensor],
        ids: Sequence[str],
        class_names: Sequence[str],
        transforms: Optional[Callable],
    ) -> None:
        self.ids = tuple(ids)
        self.class_names = tuple(class_names)
        self.num_classes = len(self.class_names)
        self.transforms = transforms
        self._images = torch.stack(images) if images else torch.zeros(0, 3, 0, 0)
        self._masks = torch.stack(masks) if masks else torch.zeros(0, 0, 0, dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int):
        from torchvision import tv_tensors  # imported here, as in segbook.data.synthetic

        index = check_int(index, "index")
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for a {type(self).__name__} of {len(self)} images")
        image, mask = tv_tensors.Image(self._images[index]), tv_tensors.Mask(self._masks[index])
        if self.transforms is not None:
            image, mask = self.transforms(image, mask)
        return image, mask

    def tensors(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """All images (N, 3, H, W) float32 and masks (N, H, W) int64, without transforms."""
        return self._images.clone(), self._masks.clone()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, num_images={len(self)}, "
            f"size={tuple(self._masks.shape[1:])}, num_classes={self.num_classes})"
        )


def _check_common(size: object, num_images: object, seed: object, transforms: object) -> Tuple[int, Optional[int], int]:
    size = check_int(size, "size", minimum=8)
    if num_images is not None:
        num_images = check_int(num_images, "num_images", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    if transforms is not None and not callable(transforms):
        raise TypeError(f"transforms must be callable (image, mask) -> (image, mask), got {transforms!r}")
    return size, num_images, seed


def _choose(ids: Sequence[str], num_images: Optional[int], seed: int, what: str) -> List[str]:
    """All ``ids``, or ``num_images`` of them drawn without replacement by ``seed`` (kept in list order)."""
    if num_images is None:
        return list(ids)
    if num_images > len(ids):
        raise ValueError(f"num_images={num_images} but {what} has only {len(ids)} images")
    picked = np.random.default_rng(seed).choice(len(ids), size=num_images, replace=False)
    return [ids[i] for i in sorted(picked.tolist())]


def _read_list(path: Path) -> List[str]:
    """Image ids of a split list: the first word of each line; blank lines and ``#`` comments skipped."""
    ids = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            ids.append(line.split()[0])
    return ids


def _image_tensor(img, size: int) -> torch.Tensor:
    """A PIL image -> float32 (3, size, size) in [0, 1]: RGB, bilinear resize (antialiased when shrinking)."""
    from PIL import Image

    img = img.convert("RGB").resize((size, size), Image.BILINEAR)
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()


def _load_rgb(path: Path, size: int) -> torch.Tensor:
    from PIL import Image

    with Image.open(path) as img:
        img.draft("RGB", (size, size))  # JPEG: decode at a reduced scale that is still >= size (much faster)
        return _image_tensor(img, size)


def _mask_tensor(labels: np.ndarray, size: int) -> torch.Tensor:
    """A (H, W) uint8 class map -> int64 (size, size), nearest neighbour so every value stays a class id."""
    from PIL import Image

    resized = Image.fromarray(np.ascontiguousarray(labels, dtype=np.uint8), mode="L").resize(
        (size, size), Image.NEAREST
    )
    return torch.from_numpy(np.asarray(resized).astype(np.int64))


# ---------------------------------------------------------------------------------------------------------------
class OxfordPetDataset(_LoadedDataset):
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
        root=None,
    ) -> None:
        check_choice(split, "split", tuple(self._SPLIT_FILES))
        check_choice(target, "target", tuple(self._BORDERS))
        border = {"trimap": "class", "binary": "foreground"}[target] if border is None else border
        check_choice(border, f"border (with target={target!r})", self._BORDERS[target])
        size, num_images, seed = _check_common(size, num_images, seed, transforms)
        folder = data_home(root) / "oxford_pet"
        images_dir = download_and_extract(PET_RESOURCES[0], folder, subdir="images", allow_download=download)
        notes_dir = download_and_extract(PET_RESOURCES[1], folder, subdir="annotations", allow_download=download)
        image_manifest, notes_manifest = load_manifest(images_dir), load_manifest(notes_dir)
        list_file = verified_path(notes_dir, f"annotations/{self._SPLIT_FILES[split]}", notes_manifest)
        ids = _choose(_read_list(list_file), num_images, seed, f"the Pet {split} split")

        border_value = {"class": 2, "ignore": IGNORE_INDEX, "foreground": 1, "background": 0}[border]
        lookup = np.full(256, -1, dtype=np.int64)
        lookup[[1, 2, 3]] = [1, 0, border_value]  # trimap value -> class id
        images, masks = [], []
        for image_id in ids:
            images.append(_load_rgb(verified_path(images_dir, f"images/{image_id}.jpg", image_manifest), size))
            trimap_path = verified_path(notes_dir, f"annotations/trimaps/{image_id}.png", notes_manifest)
            masks.append(_mask_tensor(self._read_trimap(trimap_path, lookup), size))
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


# ---------------------------------------------------------------------------------------------------------------
class VOCSegmentationDataset(_LoadedDataset):
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
        root=None,
    ) -> None:
        check_choice(split, "split", ("train", "val", "trainval"))
        size, num_images, seed = _check_common(size, num_images, seed, transforms)
        base = download_and_extract(
            VOC_RESOURCE, data_home(root) / "voc2012", subdir="VOCtrainval_11-May-2012", allow_download=download
        )
        manifest = load_manifest(base)
        list_file = verified_path(base, f"{self._DEVKIT}/ImageSets/Segmentation/{split}.txt", manifest)
        ids = _choose(_read_list(list_file), num_images, seed, f"the VOC {split} split")
        images, masks = [], []
        for image_id in ids:
            images.append(_load_rgb(verified_path(base, f"{self._DEVKIT}/JPEGImages/{image_id}.jpg", manifest), size))
            mask_path = verified_path(base, f"{self._DEVKIT}/SegmentationClass/{image_id}.png", manifest)
            masks.append(_mask_tensor(read_palette_indices(mask_path, len(VOC_CLASS_NAMES)), size))
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


# ---------------------------------------------------------------------------------------------------------------
class ISBI2012Dataset(_LoadedDataset):
    """The ISBI 2012 EM segmentation challenge training data, the data set of the U-Net paper.

    30 serial-section TEM slices (512 x 512, 4 x 4 nm pixels, 50 nm sections) of the Drosophila first instar
    larva ventral nerve cord, stored as two multi-page TIFFs: ``train-volume.tif`` (8-bit grey) and
    ``train-labels.tif`` (white = inside a cell, black = membrane). Here **membrane is the foreground**: class 1
    ``"membrane"``, class 0 ``"cell interior"``. Grey images are repeated to 3 channels to match the interface.

    The test labels were never part of the challenge's training data, so the book splits the 30 training slices:
    ``"train"`` = slices 0-24, ``"val"`` = slices 25-29 (adjacent slices look alike, so a contiguous block is held
    out rather than a random one); ``"all"`` = all 30, as in the U-Net paper. Files:
    ``<root>/isbi2012/ISBI-2012-challenge/``.

    Terms of use (:data:`ISBI2012_LICENSE`): non-commercial segmentation software only; publications must cite
    :data:`ISBI2012_CITATION` (Arganda-Carreras et al. 2015, Cardona et al. 2010, TrakEM2). Print both where the
    data is used.

    Args:
        split: ``"train"``, ``"val"`` or ``"all"``.
        size, num_images, seed, transforms, download, root: as in :class:`OxfordPetDataset`.

    Example:
        >>> em = ISBI2012Dataset("train", size=128)  # doctest: +SKIP
        >>> len(em), em.class_names  # doctest: +SKIP
        (25, ('cell interior', 'membrane'))
    """

    name = "isbi2012"
    license = ISBI2012_LICENSE
    citation = ISBI2012_CITATION
    NUM_VAL_SLICES = 5

    def __init__(
        self,
        split: str = "train",
        *,
        size: int = 64,
        num_images: Optional[int] = None,
        seed: int = 0,
        transforms: Optional[Callable] = None,
        download: bool = True,
        root=None,
    ) -> None:
        check_choice(split, "split", ("train", "val", "all"))
        size, num_images, seed = _check_common(size, num_images, seed, transforms)
        base = download_and_extract(
            ISBI2012_RESOURCE, data_home(root) / "isbi2012", subdir="ISBI-2012-challenge", allow_download=download
        )
        manifest = load_manifest(base)
        volume = self._read_frames(self._find(base, manifest, "train-volume.tif"))
        labels = self._read_frames(self._find(base, manifest, "train-labels.tif"))
        if len(volume) != len(labels) or any(v.shape != lab.shape for v, lab in zip(volume, labels)):
            raise ValueError(
                f"train-volume.tif and train-labels.tif in {base} do not match: {len(volume)} and {len(labels)} slices"
            )
        count = len(volume)
        first_val = max(count - self.NUM_VAL_SLICES, 0)
        slices = {"train": range(first_val), "val": range(first_val, count), "all": range(count)}[split]
        ids = _choose([f"slice_{i:02d}" for i in slices], num_images, seed, f"the ISBI 2012 {split} split")
        from PIL import Image

        images, masks = [], []
        for image_id in ids:
            i = int(image_id.split("_")[1])
            images.append(_image_tensor(Image.fromarray(volume[i]), size))
            masks.append(_mask_tensor((labels[i] < 128).astype(np.uint8), size))  # black (membrane) -> 1
        super().__init__(images, masks, ids, ("cell interior", "membrane"), transforms)
        self.split = split

    @staticmethod
    def _find(base: Path, manifest: Dict[str, str], filename: str) -> Path:
        matches = [key for key in manifest if PurePosixPath(key).name == filename]
        if len(matches) != 1:
            raise DatasetUnavailable(f"{base} should hold exactly one {filename}, found {len(matches)}")
        return verified_path(base, matches[0], manifest)

    @staticmethod
    def _read_frames(path: Path) -> List[np.ndarray]:
        """Every page of a multi-page TIFF as an 8-bit (H, W) array."""
        from PIL import Image, ImageSequence

        with Image.open(path) as tif:
            return [np.asarray(page.convert("L")).copy() for page in ImageSequence.Iterator(tif)]


# ---------------------------------------------------------------------------------------------------------------
_REAL = {
    "oxford_pet": (OxfordPetDataset, "the Oxford-IIIT Pet data set", "scenes"),
    "voc": (VOCSegmentationDataset, "PASCAL VOC 2012", "scenes"),
    "isbi2012": (ISBI2012Dataset, "the ISBI 2012 EM membrane data", "cells"),
}
_EMBEDDED_DEFAULT_SIZE = {"train": 256, "val": 64}
#: The validation scenes use ``seed + VAL_SEED_OFFSET`` so that they never repeat training scenes.
VAL_SEED_OFFSET = 1_000_000


def _embedded(name: str, split: str, size: int, num_images: Optional[int], seed: int) -> Dataset:
    """The embedded data set ``name`` ("scenes" or "cells"), generated from a seed, with ``name``/``ignore_index``."""
    count = _EMBEDDED_DEFAULT_SIZE[split] if num_images is None else num_images
    seed = seed + (VAL_SEED_OFFSET if split == "val" else 0)
    if name == "cells":
        from segbook.data.synthetic import CellsDataset  # imported here: added to segbook.data.synthetic separately

        dataset = CellsDataset(count, seed=seed, size=size)
    else:
        dataset = SceneDataset(count, seed=seed, size=size)
    dataset.name = name
    if not hasattr(dataset, "ignore_index"):
        dataset.ignore_index = IGNORE_INDEX
    return dataset


def _cells_available() -> bool:
    import segbook.data.synthetic

    return hasattr(segbook.data.synthetic, "CellsDataset")


def load_dataset(
    name: str,
    *,
    split: str = "train",
    size: int = 64,
    num_images: Optional[int] = None,
    seed: int = 0,
    download: bool = True,
    root=None,
) -> Dataset:
    """The one entry point chapters use: a data set by name, or the embedded fallback with a message.

    ``"scenes"`` and ``"cells"`` are generated (no download; ``num_images`` defaults to 256 for ``"train"`` and
    64 for ``"val"``; the validation set uses ``seed + VAL_SEED_OFFSET``). ``"oxford_pet"``, ``"voc"`` and
    ``"isbi2012"`` are real data: downloaded and verified on first use (``num_images=None`` = the whole split,
    ``seed`` picks the subset). When a real data set is unavailable -- no network, or ``download=False`` and not
    cached -- a message naming the data set, the cache directory and how to download it by hand is printed and the
    embedded fallback is returned (``"cells"`` for ``"isbi2012"``, ``"scenes"`` otherwise). A checksum mismatch or
    an unsafe archive is *not* silently replaced: it raises.

    Every result has ``.name`` (the data actually used), ``num_classes``, ``class_names``, ``ignore_index`` and
    ``.tensors()``; items are ``(Image float32 (3, size, size) in [0, 1], Mask int64 (size, size))``.

    Args:
        name: one of :data:`DATASET_NAMES`.
        split: ``"train"`` or ``"val"``.
        size: image side in pixels (square images).
        num_images: how many images; see above for the defaults.
        seed: generator seed (embedded data) or subset seed (real data).
        download: allow downloading real data.
        root: cache directory; default ``$SEGBOOK_DATA`` or ``~/.cache/segbook``.

    Raises:
        ValueError: unknown ``name`` (the message lists the names) or ``split``.

    Example:
        >>> train = load_dataset("scenes", split="train", size=32, num_images=8)
        >>> train.name, train.num_classes, tuple(train[0][0].shape)
        ('scenes', 5, (3, 32, 32))
        >>> load_dataset("mnist")
        Traceback (most recent call last):
        ...
        ValueError: name must be one of 'scenes', 'cells', 'oxford_pet', 'voc', 'isbi2012'; got 'mnist'
    """
    check_choice(name, "name", DATASET_NAMES)
    check_choice(split, "split", ("train", "val"))
    size, num_images, seed = _check_common(size, num_images, seed, None)
    if not isinstance(download, bool):
        raise TypeError(f"download must be a bool, got {type(download).__name__}")
    if name not in _REAL:
        return _embedded(name, split, size, num_images, seed)
    cls, title, fallback = _REAL[name]
    try:
        return cls(split, size=size, num_images=num_images, seed=seed, download=download, root=root)
    except DatasetUnavailable as err:
        reason = str(err)
    note = ""
    if fallback == "cells" and not _cells_available():
        fallback, note = "scenes", " (the embedded cells are not in this version of segbook)"
    print(
        f"'{name}' ({title}) is not available here:\n  {reason}\n"
        f"Cache directory: {data_home(root)} (set ${DATA_ENV_VAR} to change it).\n"
        f"Using the embedded '{fallback}' data instead{note}: the results below are about '{fallback}', "
        f"not {title}.",
        flush=True,
    )
    return _embedded(fallback, split, size, num_images, seed)
