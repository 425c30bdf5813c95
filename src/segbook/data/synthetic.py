"""The old home of the generated data, kept so that ``from segbook.data.synthetic import ...`` goes on working.

The scenes now live in :mod:`segbook.data.scenes`, the touching cells in :mod:`segbook.data.cells` and
``one_hot`` in :mod:`segbook.data.labels`; import them from :mod:`segbook.data`.
"""

from segbook.conventions import IGNORE_INDEX
from segbook.data.cells import CELL_CLASS_NAMES, Cells, CellsConfig, CellsDataset, make_cells
from segbook.data.labels import one_hot
from segbook.data.scenes import CLASS_NAMES, NUM_CLASSES, Scene, SceneConfig, SceneDataset, make_scene

__all__ = [
    "CLASS_NAMES",
    "NUM_CLASSES",
    "IGNORE_INDEX",
    "SceneConfig",
    "Scene",
    "make_scene",
    "SceneDataset",
    "one_hot",
    "CELL_CLASS_NAMES",
    "CellsConfig",
    "Cells",
    "make_cells",
    "CellsDataset",
]
