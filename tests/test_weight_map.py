"""Tests for segbook.losses.weight_map: the U-Net paper's border weight map and the per-pixel weighted cross entropy."""

import math

import numpy as np
import pytest
import torch

from segbook.losses.weight_map import WeightedPixelCrossEntropyLoss, unet_weight_map, weighted_pixel_cross_entropy


def reference_weight_map(ids, w0, sigma, class_weights):
    """Eq. 2 by brute force: for every background pixel, loop over every pixel of every cell."""
    h, w = ids.shape
    cells = [k for k in sorted(set(ids.ravel().tolist())) if k != 0]
    out = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            out[y, x] = class_weights[int(ids[y, x] > 0)]
            if ids[y, x] != 0 or len(cells) < 2:
                continue
            dists = sorted(min(math.hypot(y - py, x - px) for py, px in zip(*np.nonzero(ids == k))) for k in cells)
            out[y, x] += w0 * math.exp(-((dists[0] + dists[1]) ** 2) / (2 * sigma**2))
    return out


def test_gap_between_two_squares_has_d1_equal_d2_equal_one():
    ids = torch.zeros(7, 9, dtype=torch.long)
    ids[2:5, 1:4] = 1
    ids[2:5, 5:8] = 2  # column 4 is a one-pixel gap between the two squares
    w = unet_weight_map(ids, w0=10.0, sigma=5.0, class_weights=None)
    expected = 1 + 10.0 * math.exp(-4 / (2 * 5.0**2))
    assert torch.allclose(w[2:5, 4], torch.full((3,), expected))
    assert torch.all(w[3, 1:4] == 1) and torch.all(w[3, 5:8] == 1)  # cell pixels: w_c only
    assert w[3, 4] == w.max()  # the gap is where the weight is largest


def test_balanced_class_weights_average_to_one_and_equalise_classes():
    ids = torch.zeros(6, 6, dtype=torch.long)
    ids[1:3, 1:3] = 1  # 4 cell pixels, 32 background pixels
    w = unet_weight_map(ids, class_weights="balanced")  # one cell: no border term
    assert torch.allclose(w[ids > 0], torch.full((4,), 36 / (2 * 4)))
    assert torch.allclose(w[ids == 0], torch.full((32,), 36 / (2 * 32)))
    assert torch.isclose(w.mean(), torch.tensor(1.0))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("w0, sigma, class_weights", [(10.0, 5.0, (1.0, 1.0)), (3.0, 1.5, (0.5, 2.0))])
def test_matches_a_brute_force_loop(seed, w0, sigma, class_weights):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 4, size=(9, 11)) * (rng.random((9, 11)) < 0.4)  # scattered cells 1..3
    w = unet_weight_map(torch.from_numpy(ids), w0=w0, sigma=sigma, class_weights=class_weights)
    assert w.dtype == torch.float32
    np.testing.assert_allclose(w.numpy(), reference_weight_map(ids, w0, sigma, class_weights), rtol=1e-5)


def test_w0_zero_gives_just_the_class_weights():
    rng = np.random.default_rng(3)
    ids = torch.from_numpy(rng.integers(0, 5, size=(12, 12)))
    w = unet_weight_map(ids, w0=0.0, class_weights=(0.3, 2.0))
    assert torch.equal(w, torch.where(ids > 0, 2.0, 0.3).float())


def test_one_cell_has_no_border_term_and_no_cells_gives_ones():
    one = torch.zeros(8, 8, dtype=torch.long)
    one[2:5, 2:5] = 7
    assert torch.equal(unet_weight_map(one, class_weights=None), torch.ones(8, 8))  # d2 undefined -> term 0
    empty = torch.zeros(5, 6, dtype=torch.long)
    assert torch.equal(unet_weight_map(empty), torch.ones(5, 6))  # balanced with one class present: all 1
    assert torch.equal(unet_weight_map(empty, class_weights=(0.5, 2.0)), torch.full((5, 6), 0.5))


def test_batch_is_each_image_on_its_own():
    rng = np.random.default_rng(4)
    batch = torch.from_numpy(rng.integers(0, 3, size=(3, 10, 10)) * (rng.random((3, 10, 10)) < 0.5))
    w = unet_weight_map(batch, w0=5.0, sigma=2.0)
    assert w.shape == (3, 10, 10)
    for i in range(3):
        assert torch.equal(w[i], unet_weight_map(batch[i], w0=5.0, sigma=2.0))


def test_cells_dataset_weights_are_largest_on_membranes():
    from segbook.data import CellsDataset

    ds = CellsDataset(4, seed=0, size=48)
    w = unet_weight_map(ds.instances(), class_weights=None)
    membranes = torch.stack([ds.cells(i).membrane for i in range(4)])
    far_background = (ds.tensors()[1] == 0) & ~membranes
    assert w[membranes].mean() > 2 * w[far_background].mean()


@pytest.mark.parametrize(
    "instances, kwargs, error, message",
    [
        (torch.zeros(4, 4), {}, TypeError, "instances must be an integer tensor"),
        (torch.zeros(4, dtype=torch.long), {}, ValueError, "instances must be 2-D or 3-D"),
        (torch.tensor([[0, -1]]), {}, ValueError, "positive cell id, got the value -1"),
        (torch.zeros(2, 2, dtype=torch.long), {"w0": -1.0}, ValueError, "w0 must be >= 0"),
        (torch.zeros(2, 2, dtype=torch.long), {"sigma": 0.0}, ValueError, "sigma must be > 0"),
        (
            torch.zeros(2, 2, dtype=torch.long),
            {"class_weights": "inverse"},
            ValueError,
            "class_weights must be one of 'balanced'",
        ),
        (
            torch.zeros(2, 2, dtype=torch.long),
            {"class_weights": (1.0, 2.0, 3.0)},
            ValueError,
            "one entry per class \\(C=2\\)",
        ),
        (torch.zeros(2, 2, dtype=torch.long), {"class_weights": (1.0, -2.0)}, ValueError, "finite numbers >= 0"),
    ],
)
def test_weight_map_bad_inputs_say_what_was_expected(instances, kwargs, error, message):
    with pytest.raises(error, match=message):
        unet_weight_map(instances, **kwargs)


# ------------------------------------------------------------------------------ weighted pixel cross entropy


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_weighted_ce_equals_torch_ce_times_weights(reduction):
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 5, 6)
    target = torch.randint(0, 3, (2, 5, 6))
    target[0, 0, :3] = 255
    weights = torch.rand(2, 5, 6) * 4
    per_pixel = torch.nn.functional.cross_entropy(logits, target, ignore_index=255, reduction="none") * weights
    expected = {"none": per_pixel, "sum": per_pixel.sum(), "mean": per_pixel.sum() / (target != 255).sum()}
    out = weighted_pixel_cross_entropy(logits, target, weights, reduction=reduction)
    assert torch.allclose(out, expected[reduction], atol=1e-6)


def test_unit_weights_give_plain_cross_entropy_and_weights_scale_the_mean():
    torch.manual_seed(1)
    logits, target = torch.randn(2, 2, 4, 4), torch.randint(0, 2, (2, 4, 4))
    ones = torch.ones(2, 4, 4)
    plain = torch.nn.functional.cross_entropy(logits, target)
    assert torch.allclose(weighted_pixel_cross_entropy(logits, target, ones), plain)
    # the mean divides by the pixel count, not by the sum of weights: doubling every weight doubles the loss
    assert torch.allclose(weighted_pixel_cross_entropy(logits, target, 2 * ones), 2 * plain)


def test_weighted_ce_gradient_float64():
    torch.manual_seed(2)
    logits = torch.randn(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    target, weights = torch.randint(0, 2, (1, 3, 3)), torch.rand(1, 3, 3, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda z: weighted_pixel_cross_entropy(z, target, weights), (logits,))


def test_module_matches_function_and_checks_options_at_construction():
    torch.manual_seed(3)
    logits, target, weights = torch.randn(2, 2, 4, 4), torch.randint(0, 2, (2, 4, 4)), torch.rand(2, 4, 4)
    loss = WeightedPixelCrossEntropyLoss(reduction="sum")
    assert torch.equal(
        loss(logits, target, weights), weighted_pixel_cross_entropy(logits, target, weights, reduction="sum")
    )
    with pytest.raises(ValueError, match="reduction must be one of"):
        WeightedPixelCrossEntropyLoss(reduction="average")


@pytest.mark.parametrize(
    "weights, error, message",
    [
        (torch.ones(1, 4, 4, dtype=torch.long), TypeError, "pixel_weights must be a floating-point tensor"),
        (torch.ones(1, 4, 5), ValueError, "pixel_weights and target must have the same shape"),
        (torch.ones(4, 4), ValueError, "pixel_weights must be 3-D"),
        (-torch.ones(1, 4, 4), ValueError, "finite and >= 0"),
        (torch.full((1, 4, 4), float("nan")), ValueError, "finite and >= 0"),
    ],
)
def test_weighted_ce_bad_weights_say_what_was_expected(weights, error, message):
    with pytest.raises(error, match=message):
        weighted_pixel_cross_entropy(torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long), weights)


def test_weighted_ce_bad_target_names_the_class():
    with pytest.raises(ValueError, match="target has class 2"):
        weighted_pixel_cross_entropy(torch.zeros(1, 2, 1, 1), torch.full((1, 1, 1), 2), torch.ones(1, 1, 1))
