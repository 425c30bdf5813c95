"""The old home of the real data sets, kept so that ``from segbook.data.real import ...`` goes on working.

The data sets now live in :mod:`segbook.data.pets`, :mod:`segbook.data.voc` and :mod:`segbook.data.isbi`,
``load_dataset`` in :mod:`segbook.data.loading`; import them from :mod:`segbook.data`.
"""

from segbook.conventions import IGNORE_INDEX
from segbook.data.isbi import ISBI2012_CITATION, ISBI2012_LICENSE, ISBI2012_RESOURCE, ISBI2012Dataset
from segbook.data.loading import DATASET_NAMES, VAL_SEED_OFFSET, load_dataset
from segbook.data.pets import PET_CITATION, PET_LICENSE, PET_RESOURCES, OxfordPetDataset
from segbook.data.voc import (
    VOC_CITATION,
    VOC_CLASS_NAMES,
    VOC_LICENSE,
    VOC_RESOURCE,
    VOCSegmentationDataset,
    read_palette_indices,
)

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
