"""Tests for the touching cells of segbook.data.cells (chapter 8): CellsConfig, make_cells, CellsDataset."""

import numpy as np
import pytest
import torch
from scipy import ndimage
from torchvision import tv_tensors
from torchvision.transforms import v2

from segbook.data import CELL_CLASS_NAMES, CellsConfig, CellsDataset, SceneDataset, connected_instances, make_cells


@pytest.mark.parametrize("size", [16, 64, 97])
@pytest.mark.parametrize("index", [0, 5])
def test_cells_shapes_and_dtypes(size, index):
    cells = make_cells(CellsConfig(size=size), seed=3, index=index)
    assert cells.image.shape == (3, size, size) and cells.image.dtype == torch.float32
    assert cells.label.shape == cells.instances.shape == cells.membrane.shape == (size, size)
    assert cells.label.dtype == cells.instances.dtype == torch.int64 and cells.membrane.dtype == torch.bool
    assert 0.0 <= cells.image.min() and cells.image.max() <= 1.0
    assert torch.equal(cells.image[0], cells.image[1]) and torch.equal(cells.image[0], cells.image[2])  # grey


def test_cells_are_deterministic_and_order_independent():
    cfg = CellsConfig()
    a = make_cells(cfg, seed=7, index=4)
    make_cells(cfg, seed=7, index=9)
    b = make_cells(cfg, seed=7, index=4)
    assert torch.equal(a.image, b.image) and torch.equal(a.instances, b.instances)
    c = make_cells(cfg, seed=8, index=4)
    assert not torch.equal(a.image, c.image)


@pytest.mark.parametrize("index", range(20))
def test_label_is_instances_above_zero_with_consecutive_connected_cells(index):
    cells = make_cells(CellsConfig(), seed=0, index=index)
    assert torch.equal(cells.label, (cells.instances > 0).long())
    ids = cells.instances.numpy()
    assert sorted(np.unique(ids[ids > 0]).tolist()) == list(range(1, cells.num_cells + 1))
    for k in range(1, cells.num_cells + 1):
        assert ndimage.label(ids == k)[1] == 1, f"cell {k} is in more than one piece"


@pytest.mark.parametrize("index", range(20))
def test_membranes_are_background_and_keep_cells_apart_even_diagonally(index):
    cells = make_cells(CellsConfig(), seed=1, index=index)
    assert (cells.label[cells.membrane] == 0).all()
    assert cells.touching_pairs(reach=1) == []  # no two different cells are 8-neighbours
    # so the connected components of the foreground are exactly the cells
    assert ndimage.label(cells.label.numpy(), structure=np.ones((3, 3)))[1] == cells.num_cells


def test_many_cells_touch_across_a_one_or_two_pixel_membrane():
    ds = CellsDataset(50, seed=0)
    assert ds.touching_fraction() > 0.7
    pairs = sum(len(ds.cells(i).touching_pairs()) for i in range(50))
    assert pairs > 100
    # some pairs are only a one-pixel membrane apart (chessboard distance 2)
    assert sum(len(ds.cells(i).touching_pairs(reach=2)) for i in range(50)) > 0.5 * pairs


def test_membranes_are_darker_than_cells_and_contrast_controls_it():
    def gap(contrast):
        ds = CellsDataset(20, seed=2, membrane_contrast=contrast, noise=0.0)
        images, masks = ds.tensors()
        membrane = torch.stack([ds.cells(i).membrane for i in range(20)])
        return float(images[:, 0][masks == 1].mean() - images[:, 0][membrane].mean())

    strong, faint = gap(1.0), gap(0.0)
    assert strong > 0.3 and abs(faint) < 0.02


def test_membrane_width_sets_how_much_membrane_there_is():
    thin = sum(int(make_cells(CellsConfig(membrane_width=(1, 1)), 0, i).membrane.sum()) for i in range(20))
    thick = sum(int(make_cells(CellsConfig(membrane_width=(2, 2)), 0, i).membrane.sum()) for i in range(20))
    assert thick > 1.4 * thin


def test_cluster_density_controls_foreground_fraction():
    sparse = CellsDataset(40, seed=0, num_clusters=(1, 1), cells_per_cluster=(1, 2)).foreground_fraction()
    dense = CellsDataset(40, seed=0, num_clusters=(2, 3), cells_per_cluster=(5, 8)).foreground_fraction()
    assert sparse < dense


def test_dataset_items_classes_and_repr():
    ds = CellsDataset(5, seed=0, size=32)
    image, mask = ds[1]
    assert isinstance(image, tv_tensors.Image) and isinstance(mask, tv_tensors.Mask)
    assert image.shape == (3, 32, 32) and mask.shape == (32, 32) and mask.dtype == torch.int64
    assert ds.num_classes == 2 and ds.class_names == CELL_CLASS_NAMES == ("background", "cell")
    assert ds.cells(1) is ds.cells(1) and torch.equal(ds[-1][1], ds[4][1])
    images, masks = ds.tensors()
    assert images.shape == (5, 3, 32, 32) and masks.shape == (5, 32, 32)
    assert ds.instances().shape == (5, 32, 32) and torch.equal(ds.instances() > 0, masks > 0)
    assert repr(ds).startswith("CellsDataset(num_images=5, seed=0, config=CellsConfig(size=32")


def test_every_dataset_has_class_attributes():
    assert SceneDataset.num_classes == 5 and SceneDataset.class_names[0] == "background"
    assert CellsDataset.num_classes == 2


def test_transforms_v2_move_image_and_mask_together():
    plain = CellsDataset(3, seed=0, size=32)
    flipped = CellsDataset(3, seed=0, size=32, transforms=v2.RandomVerticalFlip(p=1.0))
    image, mask = flipped[0]
    assert torch.equal(image, plain[0][0].flip(-2)) and torch.equal(mask, plain[0][1].flip(-2))
    image, mask = CellsDataset(3, seed=0, size=32, transforms=v2.Resize((48, 48)))[0]
    assert image.shape == (3, 48, 48) and set(mask.unique().tolist()) <= {0, 1}


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"size": 8}, ValueError, "size must be >= 16"),
        ({"num_clusters": (3, 1)}, ValueError, "num_clusters[1] must be >= 3"),
        ({"cells_per_cluster": (0, 3)}, ValueError, "cells_per_cluster[0] must be >= 1"),
        ({"cells_per_cluster": 3}, TypeError, "cells_per_cluster must be a pair"),
        ({"cell_radius": (1.0, 4.0)}, ValueError, "cell_radius[0] must be >= 2.0"),
        ({"membrane_width": (0.5, 2.0)}, ValueError, "membrane_width[0] must be >= 1.0"),
        ({"membrane_width": (1.0, 4.0)}, ValueError, "membrane_width[1] must be <= 3.0"),
        ({"membrane_contrast": 1.5}, ValueError, "membrane_contrast must be <= 1.0"),
        ({"noise": -0.1}, ValueError, "noise must be >= 0"),
        ({"radius": 3}, TypeError, "unknown CellsDataset option(s) ['radius']"),
        ({"cache": "False"}, TypeError, "cache must be True or False, got 'False'"),
    ],
)
def test_bad_options_name_what_was_expected(kwargs, error, message):
    with pytest.raises(error) as info:
        CellsDataset(4, **kwargs)
    assert message in str(info.value)


def test_bad_index_config_and_seed():
    with pytest.raises(IndexError, match="out of range for a CellsDataset"):
        CellsDataset(3)[3]
    with pytest.raises(TypeError, match="config must be a CellsConfig"):
        make_cells({"size": 64}, seed=0)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        CellsDataset(3, seed=-1)
    with pytest.raises(ValueError, match="not both"):
        CellsDataset(3, config=CellsConfig(), size=32)


def test_instances_are_the_generated_cell_ids():
    ds = CellsDataset(8, seed=4, size=48)
    ids = ds.instances()
    for i in range(8):  # exactly what chapter 8 computes its weight maps and separation scores from
        assert torch.equal(ids[i], ds.cells(i).instances)
        # and the same objects as the connected regions of the label map (the interface's default), renumbered
        regions = connected_instances(ds.cells(i).label, (1,))
        pairs = set(zip(ids[i][ids[i] > 0].tolist(), regions[ids[i] > 0].tolist()))
        assert len(pairs) == int(ids[i].max()) == int(regions.max()), i
