"""Chapter 8 runs on data that is not the embedded cells: an ISBI-like folder of membranes between cells.

Slow (the whole chapter is executed with nbclient, twice): named ``real_chapters`` so that a fast run can leave it
out with ``-k "not real_chapters"``. The folder is read by ``load_dataset("folder:<path>")``
(:class:`segbook.data.FolderDataset`): class 0 "cell interior", class 1 "membrane", as ``load_dataset("isbi2012")``
returns them; the cells, not the membranes, are the objects there (``ISBI2012Dataset.instance_classes == (0,)``).
"""

import os
from pathlib import Path

import nbformat
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
CHAPTER = REPO / "chapters" / "08_unet.ipynb"


def write_membrane_folder(root: Path, *, count: int = 10, side: int = 64, seed: int = 0) -> None:
    """``count`` grey images of cells (random Voronoi regions) separated by dark membranes one or two pixels wide,
    with class-index PNG masks (0 = cell interior, 1 = membrane) and a classes.txt, in the FolderDataset layout."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "classes.txt").write_text("cell interior\nmembrane\n")
    rows, cols = np.mgrid[0:side, 0:side]
    for k in range(count):
        seeds = rng.uniform(0, side, size=(12, 2))
        distances = np.sort(np.hypot(rows[..., None] - seeds[:, 0], cols[..., None] - seeds[:, 1]), axis=-1)
        membrane = distances[..., 1] - distances[..., 0] < 1.5  # where the two nearest seeds are about as near
        image = np.where(membrane, 60.0, 190.0) + rng.normal(0.0, 12.0, size=(side, side))
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), mode="L").save(root / "images" / f"slice_{k:02d}.png")
        Image.fromarray(membrane.astype(np.uint8), mode="L").save(root / "masks" / f"slice_{k:02d}.png")


def parameters_cell(nb) -> int:
    """The index of the chapter's one cell tagged ``parameters``."""
    found = [i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", [])]
    assert len(found) == 1, f"chapter 8 should have one parameters cell, found {found}"
    return found[0]


def test_the_membrane_folder_is_read_as_isbi2012_is(tmp_path):
    """The folder the chapter runs on below has ISBI 2012's classes, and its cells touch across the membranes."""
    from segbook import data, metrics

    write_membrane_folder(tmp_path / "em")
    train = data.load_dataset(f"folder:{tmp_path / 'em'}", split="train", size=32)
    assert train.class_names == ("cell interior", "membrane") and len(train) == 8
    masks = train.tensors()[1]
    assert 0.1 < float((masks == 1).float().mean()) < 0.5  # membranes: a minority of the pixels
    cells = data.connected_instances(masks, (0,))
    assert int(cells.amax((1, 2)).min()) >= 3  # several cells per image, even at 32 px
    assert metrics.instance_separation(masks == 0, cells)["pairs"] > 0  # neighbours across a membrane


@pytest.mark.parametrize(
    "objects",
    [
        pytest.param("(0,)", id="cells-are-the-objects-as-in-isbi2012"),
        pytest.param("None", id="objects-asked-of-the-data-set"),
    ],
)
def test_real_chapters_08_runs_to_the_end_on_a_folder_of_membranes(tmp_path, objects):
    nbclient = pytest.importorskip("nbclient")
    write_membrane_folder(tmp_path / "em")
    nb = nbformat.read(CHAPTER, as_version=4)
    index = parameters_cell(nb)
    assert "DATASET" in nb.cells[index].source and "OBJECTS" in nb.cells[index].source
    nb.cells[index].source = (
        f'DATASET = "folder:{tmp_path / "em"}"\n'
        "SIZE, N_TRAIN, N_VAL = 32, None, None\n"
        "EPOCHS = 1\n"
        "SIGMA = 2.5\n"
        f"OBJECTS = {objects}\n"
    )
    nb.cells.append(nbformat.v4.new_code_cell("print('chapter 8 ran to the end on', train.name, OBJECTS)"))
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(CHAPTER.parent)}}
    )
    client.execute(env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TQDM_DISABLE": "1"})
    last = "".join(output.get("text", "") for output in nb.cells[-1].outputs)
    assert f"chapter 8 ran to the end on folder:{tmp_path / 'em'}" in last, last
