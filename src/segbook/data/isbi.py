"""The ISBI 2012 EM membranes (chapter 8's real-data option): the 30 slices the U-Net paper trained on.

30 electron-microscopy slices (512 x 512) of a fly's nerve cord; the membranes are the foreground class and the
cells the objects they separate. :class:`ISBI2012Dataset` implements :class:`segbook.data.base.SegmentationDataset`;
the zip is downloaded and verified (through the checksums of the files inside it) by
:mod:`segbook.data.downloading`. Licence and required citations: :data:`ISBI2012_LICENSE`,
:data:`ISBI2012_CITATION` -- print them where the data is used.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Callable, Dict, List, Optional

import numpy as np

from segbook.conventions import check_bool, check_choice
from segbook.data._common import PathLike, check_loading_args, choose_subset, image_tensor, mask_tensor
from segbook.data.base import LoadedDataset
from segbook.data.downloading import (
    DatasetUnavailable,
    Resource,
    data_home,
    download_and_extract,
    load_manifest,
    verified_path,
)

__all__ = ["ISBI2012_RESOURCE", "ISBI2012_LICENSE", "ISBI2012_CITATION", "ISBI2012Dataset"]

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


class ISBI2012Dataset(LoadedDataset):
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
    instance_classes = (0,)  # the objects are the cells, the regions the membranes separate
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
        root: Optional[PathLike] = None,
    ) -> None:
        check_choice(split, "split", ("train", "val", "all"))
        size, num_images, seed = check_loading_args(size, num_images, seed, transforms)
        download = check_bool(download, "download")
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
        ids = choose_subset([f"slice_{i:02d}" for i in slices], num_images, seed, f"the ISBI 2012 {split} split")
        from PIL import Image

        images, masks = [], []
        for image_id in ids:
            i = int(image_id.split("_")[1])
            images.append(image_tensor(Image.fromarray(volume[i]), size))
            masks.append(mask_tensor((labels[i] < 128).astype(np.uint8), size))  # black (membrane) -> 1
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
