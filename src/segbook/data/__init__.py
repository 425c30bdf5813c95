"""Data: every data set the book trains on, behind one interface, and how the real ones are fetched safely.

=====================  ===========================================================================  ========
module                 what it holds                                                                chapters
=====================  ===========================================================================  ========
:mod:`.base`           :class:`SegmentationDataset`, the interface every data set implements        all
                       (``name``, ``class_names``, ``num_classes``, ``ignore_index``, ``tensors()``,
                       ``instances()``), and the generated / loaded-from-disk bases
:mod:`.scenes`         the procedural scenes: :class:`SceneConfig`, :func:`make_scene`,            1-7, 9-11
                       :class:`SceneDataset`, :data:`CLASS_NAMES`
:mod:`.cells`          the touching cells: :class:`CellsConfig`, :func:`make_cells`,                8
                       :class:`CellsDataset`
:mod:`.labels`         :func:`one_hot`, :func:`connected_instances`                                 1, 5-8
:mod:`.pets`           Oxford-IIIT Pet (:class:`OxfordPetDataset`)                                  7, 11
:mod:`.voc`            PASCAL VOC 2012 (:class:`VOCSegmentationDataset`)                            7, 11
:mod:`.isbi`           ISBI 2012 EM membranes (:class:`ISBI2012Dataset`)                            8
:mod:`.folder`         the reader's own images and masks: :class:`FolderDataset`,                  11, 12
                       ``load_dataset("folder:<path>")``
:mod:`.loading`        :func:`load_dataset`: a data set by name, or the embedded fallback offline   7, 8, 11
:mod:`.downloading`    verified downloads of the real data, their cache and manifests               7, 8, 11
:mod:`.archives`       safe extraction of the downloaded archives                                   7, 8, 11
:mod:`.errors`         what can go wrong when obtaining data (``DatasetUnavailable``, ...)          7, 8, 11
=====================  ===========================================================================  ========

Everything public is importable from here: ``from segbook import data; data.SceneDataset(...)``.
:data:`IGNORE_INDEX` lives in :mod:`segbook.conventions` and is re-exported.
"""

from segbook.conventions import IGNORE_INDEX
from segbook.data.base import GeneratedDataset, LoadedDataset, SegmentationDataset
from segbook.data.cells import CELL_CLASS_NAMES, Cells, CellsConfig, CellsDataset, make_cells
from segbook.data.downloading import (
    DATA_ENV_VAR,
    MANIFEST_NAME,
    ChecksumError,
    DatasetUnavailable,
    DownloadError,
    Resource,
    UnsafeArchiveError,
    data_home,
    download,
    download_and_extract,
    fetch_url,
    file_digest,
    load_manifest,
    safe_extract,
    verified_path,
    verify_file,
)
from segbook.data.folder import CLASSES_FILE, IMAGE_SUFFIXES, MASK_FORMATS, VAL_FRACTION, FolderDataset, folder_pairs
from segbook.data.isbi import ISBI2012_CITATION, ISBI2012_LICENSE, ISBI2012_RESOURCE, ISBI2012Dataset
from segbook.data.labels import connected_instances, one_hot
from segbook.data.loading import DATASET_NAMES, FOLDER_PREFIX, VAL_SEED_OFFSET, check_dataset_name, load_dataset
from segbook.data.pets import PET_CITATION, PET_LICENSE, PET_RESOURCES, OxfordPetDataset
from segbook.data.scenes import CLASS_NAMES, NUM_CLASSES, Scene, SceneConfig, SceneDataset, make_scene
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
    # base
    "SegmentationDataset",
    "GeneratedDataset",
    "LoadedDataset",
    # scenes
    "CLASS_NAMES",
    "NUM_CLASSES",
    "SceneConfig",
    "Scene",
    "make_scene",
    "SceneDataset",
    # cells
    "CELL_CLASS_NAMES",
    "CellsConfig",
    "Cells",
    "make_cells",
    "CellsDataset",
    # labels
    "one_hot",
    "connected_instances",
    # pets, voc, isbi
    "PET_RESOURCES",
    "PET_LICENSE",
    "PET_CITATION",
    "OxfordPetDataset",
    "VOC_RESOURCE",
    "VOC_CLASS_NAMES",
    "VOC_LICENSE",
    "VOC_CITATION",
    "VOCSegmentationDataset",
    "read_palette_indices",
    "ISBI2012_RESOURCE",
    "ISBI2012_LICENSE",
    "ISBI2012_CITATION",
    "ISBI2012Dataset",
    # the reader's own folder
    "IMAGE_SUFFIXES",
    "MASK_FORMATS",
    "CLASSES_FILE",
    "VAL_FRACTION",
    "folder_pairs",
    "FolderDataset",
    # loading
    "DATASET_NAMES",
    "FOLDER_PREFIX",
    "VAL_SEED_OFFSET",
    "check_dataset_name",
    "load_dataset",
    # downloading
    "DATA_ENV_VAR",
    "MANIFEST_NAME",
    "Resource",
    "DownloadError",
    "DatasetUnavailable",
    "ChecksumError",
    "UnsafeArchiveError",
    "data_home",
    "file_digest",
    "verify_file",
    "fetch_url",
    "download",
    "safe_extract",
    "download_and_extract",
    "load_manifest",
    "verified_path",
]
