"""Tests for segbook.data.scenes (the procedural scenes and their Dataset) and segbook.data.labels."""

import pytest
import torch
from torchvision import tv_tensors
from torchvision.ops import masks_to_boxes
from torchvision.transforms import v2

from segbook.data import (
    CLASS_NAMES,
    IGNORE_INDEX,
    NUM_CLASSES,
    SceneConfig,
    SceneDataset,
    connected_instances,
    make_scene,
    one_hot,
)


@pytest.mark.parametrize("size", [16, 64, 97])
@pytest.mark.parametrize("index", [0, 5])
def test_scene_shapes_and_dtypes(size, index):
    scene = make_scene(SceneConfig(size=size), seed=3, index=index)
    k = len(scene.instance_classes)
    assert scene.image.shape == (3, size, size) and scene.image.dtype == torch.float32
    assert scene.label.shape == (size, size) and scene.label.dtype == torch.int64
    assert scene.instance_masks.shape == (k, size, size) and scene.instance_masks.dtype == torch.bool
    assert scene.instance_classes.dtype == torch.int64
    assert scene.boxes.shape == (k, 4) and scene.boxes.dtype == torch.float32
    assert 0.0 <= scene.image.min() and scene.image.max() <= 1.0


def test_scene_is_deterministic_and_order_independent():
    cfg = SceneConfig()
    a = make_scene(cfg, seed=7, index=4)
    make_scene(cfg, seed=7, index=9)  # generating another scene in between changes nothing
    b = make_scene(cfg, seed=7, index=4)
    assert torch.equal(a.image, b.image) and torch.equal(a.label, b.label)
    c = make_scene(cfg, seed=8, index=4)
    assert not torch.equal(a.image, c.image)


@pytest.mark.parametrize("index", range(20))
def test_labels_agree_with_instances_and_boxes(index):
    scene = make_scene(SceneConfig(), seed=0, index=index)
    # The semantic label map is the union of the instance masks, each with its class.
    rebuilt = torch.zeros_like(scene.label)
    for mask, cls in zip(scene.instance_masks, scene.instance_classes):
        assert mask.any(), "every listed instance has visible pixels"
        rebuilt[mask] = cls
    assert torch.equal(rebuilt, scene.label)
    # Visible masks do not overlap (occlusion resolves every pixel to one object).
    assert int(scene.instance_masks.sum(0).max()) <= 1
    # Boxes follow torchvision's masks_to_boxes convention.
    if len(scene.instance_classes):
        assert torch.equal(masks_to_boxes(scene.instance_masks), scene.boxes)
    assert set(scene.label.unique().tolist()) <= set(range(NUM_CLASSES))


def test_every_class_appears_across_a_small_dataset():
    _, masks = SceneDataset(40, seed=0).tensors()
    counts = torch.bincount(masks.flatten(), minlength=NUM_CLASSES)
    assert (counts > 0).all(), f"class pixel counts {counts.tolist()}"


def test_colour_is_not_a_class_cue():
    # Mean object colour per class should be about the same for every class (colours are drawn from one
    # distribution), so that only shape and context tell classes apart.
    images, masks = SceneDataset(200, seed=1).tensors()
    means = []
    for c in range(1, NUM_CLASSES):
        pixels = images.permute(0, 2, 3, 1)[masks == c]  # (P, 3)
        means.append(pixels.mean(0))
    means = torch.stack(means)
    assert (means - means.mean(0)).abs().max() < 0.08, means


def test_wires_are_thin_structures():
    # Erosion by a 3x3 square removes (almost) every wire pixel: wires are 1-2 pixels wide.
    images, masks = SceneDataset(60, seed=2, class_probs=(0, 0, 0, 1)).tensors()
    wire = (masks == 4).float()[:, None]
    eroded = -torch.nn.functional.max_pool2d(-wire, 3, stride=1, padding=1)
    assert wire.sum() > 0
    assert eroded.sum() / wire.sum() < 0.1


def test_object_scale_controls_foreground_fraction():
    fractions = [SceneDataset(100, seed=0, object_scale=s).foreground_fraction() for s in (0.3, 0.6, 1.0)]
    assert fractions[0] < fractions[1] < fractions[2]
    assert fractions[0] < 0.05


def test_occlusion_happens():
    hidden = 0
    for i in range(100):
        scene = make_scene(SceneConfig(), seed=0, index=i)
        boxes = scene.boxes
        # some object's box contains pixels of another object: it is partly covered
        for a in range(len(boxes)):
            x0, y0, x1, y1 = boxes[a].int().tolist()
            inside = scene.instance_masks[:, y0 : y1 + 1, x0 : x1 + 1].flatten(1).sum(1)
            if (inside > 0).sum() > 1:
                hidden += 1
    assert hidden > 10


def test_no_texture_gives_flat_background_up_to_noise():
    scene = make_scene(SceneConfig(texture=False, noise=0.0, num_objects=(0, 1)), seed=0, index=0)
    background = scene.image[:, scene.label == 0]
    assert background.std(dim=1).max() < 1e-6


def test_dataset_returns_tv_tensors_and_caches():
    ds = SceneDataset(5, seed=0, size=32)
    image, mask = ds[1]
    assert isinstance(image, tv_tensors.Image) and isinstance(mask, tv_tensors.Mask)
    assert image.shape == (3, 32, 32) and mask.shape == (32, 32)
    assert ds.scene(1) is ds.scene(1)
    assert len(ds) == 5 and torch.equal(ds[-1][1], ds[4][1])


def test_transforms_v2_move_image_and_mask_together():
    plain = SceneDataset(3, seed=0, size=32)
    flipped = SceneDataset(3, seed=0, size=32, transforms=v2.RandomHorizontalFlip(p=1.0))
    image, mask = flipped[0]
    assert torch.equal(image, plain[0][0].flip(-1)) and torch.equal(mask, plain[0][1].flip(-1))
    resize = SceneDataset(3, seed=0, size=32, transforms=v2.Resize((48, 48)))
    image, mask = resize[0]
    assert image.shape == (3, 48, 48) and mask.dtype == torch.int64
    # masks are resized with nearest neighbour: no new class values appear
    assert set(mask.unique().tolist()) <= set(plain[0][1].unique().tolist())


def test_dataset_works_with_a_dataloader():
    loader = torch.utils.data.DataLoader(SceneDataset(6, seed=0, size=32), batch_size=4)
    images, masks = next(iter(loader))
    assert images.shape == (4, 3, 32, 32) and masks.shape == (4, 32, 32)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"size": 8}, ValueError, "size must be >= 16"),
        ({"size": 64.0}, TypeError, "size must be an int"),
        ({"num_objects": (3, 1)}, ValueError, "num_objects[1] must be >= 3"),
        ({"num_objects": 3}, TypeError, "num_objects must be a pair"),
        ({"object_scale": 0}, ValueError, "object_scale must be > 0"),
        ({"noise": -0.1}, ValueError, "noise must be >= 0"),
        ({"class_probs": (1, 1, 1)}, ValueError, "class_probs must have 4 entries"),
        ({"class_probs": (0, 0, 0, 0)}, ValueError, "must not all be zero"),
        ({"colour": "red"}, TypeError, "unknown SceneDataset option(s) ['colour']"),
        ({"texture": "False"}, TypeError, "texture must be True or False, got 'False'"),
        ({"cache": "False"}, TypeError, "cache must be True or False, got 'False'"),
        ({"cache": 0}, TypeError, "cache must be True or False, got 0"),
    ],
)
def test_bad_options_name_what_was_expected(kwargs, error, message):
    with pytest.raises(error) as info:
        SceneDataset(4, **kwargs)
    assert message in str(info.value)


def test_bad_index_and_seed():
    with pytest.raises(IndexError, match="out of range"):
        SceneDataset(3)[3]
    with pytest.raises(ValueError, match="seed must be >= 0"):
        SceneDataset(3, seed=-1)
    with pytest.raises(TypeError, match="config must be a SceneConfig"):
        make_scene({"size": 64}, seed=0)


def test_one_hot_matches_torch_and_zeroes_ignored_pixels():
    label = torch.randint(0, 5, (2, 7, 9))
    label[0, 0, 0] = IGNORE_INDEX
    out = one_hot(label, 5)
    assert out.shape == (2, 5, 7, 9) and out.dtype == torch.float32
    assert torch.equal(out[0, :, 0, 0], torch.zeros(5))
    valid = label != IGNORE_INDEX
    reference = torch.nn.functional.one_hot(label.clamp(max=4), 5).permute(0, 3, 1, 2).float()
    assert torch.equal(out * valid[:, None], reference * valid[:, None])
    assert torch.equal(out.argmax(1)[valid], label[valid])


def test_one_hot_errors():
    with pytest.raises(ValueError, match="label has class 5.*C=5"):
        one_hot(torch.tensor([[5]]), 5)
    with pytest.raises(TypeError, match="label must be a torch.int64 tensor"):
        one_hot(torch.zeros(2, 2), 5)
    # an ignore index inside [0, C) would silently zero a real class
    with pytest.raises(ValueError, match="ignore_index=1 is a class index .C=3"):
        one_hot(torch.tensor([[0, 1, 2]]), 3, ignore_index=1)


def test_class_names_match_num_classes():
    assert len(CLASS_NAMES) == NUM_CLASSES == 5 and CLASS_NAMES[0] == "background"


def test_instances_are_the_painted_objects():
    ds = SceneDataset(6, seed=2, size=32)
    ids = ds.instances()
    assert ids.shape == (6, 32, 32) and ids.dtype == torch.int64
    for i in range(6):
        scene = ds.scene(i)
        assert int(ids[i].max()) == len(scene.instance_classes)
        for k, mask in enumerate(scene.instance_masks, start=1):
            assert torch.equal(ids[i] == k, mask)
        assert torch.equal(ids[i] > 0, scene.label > 0)


def test_instances_keep_touching_objects_of_one_class_apart():
    # Two boxes side by side: one connected region of the label map, two painted objects.
    scenes = [make_scene(SceneConfig(size=32, num_objects=(6, 6), class_probs=(0, 1, 0, 0)), 0, i) for i in range(20)]
    merged = [s for s in scenes if connected_instances(s.label, (2,)).max() < len(s.instance_classes)]
    assert merged, "no scene with touching boxes among 20: pick another seed"
    assert all(int(s.instance_ids.max()) == len(s.instance_classes) for s in merged)


def test_connected_instances_numbers_regions_class_by_class_per_image():
    label = torch.tensor([[[1, 0, 2, 2], [1, 0, 0, 1], [255, 255, 0, 1]], [[0, 0, 0, 0], [0, 2, 2, 0], [0, 0, 0, 0]]])
    ids = connected_instances(label, classes=(1, 2))
    assert ids.tolist() == [[[1, 0, 3, 3], [1, 0, 0, 2], [0, 0, 0, 2]], [[0, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]]]
    diagonal = torch.tensor([[1, 0], [0, 1]])
    assert connected_instances(diagonal, classes=(1,)).max() == 2  # 4-connected: a diagonal step separates
    assert torch.equal(connected_instances(label[0], classes=()), torch.zeros_like(label[0]))


def test_connected_instances_errors():
    with pytest.raises(TypeError, match="label must be a torch.int64 tensor"):
        connected_instances(torch.zeros(2, 2), classes=(1,))
    with pytest.raises(TypeError, match="classes must be a sequence of class ids"):
        connected_instances(torch.zeros(2, 2, dtype=torch.int64), classes=1)
    with pytest.raises(ValueError, match=r"classes\[0\] must be >= 0"):
        connected_instances(torch.zeros(2, 2, dtype=torch.int64), classes=(-1,))
