"""segbook.metrics.instance_separation: touching objects kept apart by a foreground mask, on hand-worked maps."""

import math

import pytest
import torch

from segbook.metrics import instance_separation

# Objects 1 and 2 (3x3 each) across a one-pixel membrane (column 3); object 3 (2 pixels) far from both.
TRUTH = torch.tensor(
    [
        [1, 1, 1, 0, 2, 2, 2, 0, 0],
        [1, 1, 1, 0, 2, 2, 2, 0, 0],
        [1, 1, 1, 0, 2, 2, 2, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 3, 3],
    ]
)


def _with(changes, value):
    fg = TRUTH > 0
    for r, c in changes:
        fg[r, c] = value
    return fg


def test_a_perfect_mask_recovers_every_object_and_separates_the_touching_pair():
    r = instance_separation(TRUTH > 0, TRUTH)
    assert r == {
        "recovered": 1.0,
        "pairs_separated": 1.0,
        "objects": 3,
        "matched": 3,
        "pairs": 1,
        "separated": 1,
        "components": 3,
    }


def test_filling_the_membrane_merges_the_pair():
    # one component of 21 pixels: IoU 9/21 with each of objects 1 and 2, below 0.5; object 3 still matched
    r = instance_separation(_with([(0, 3), (1, 3), (2, 3)], True), TRUTH)
    assert (r["matched"], r["recovered"], r["pairs_separated"], r["components"]) == (1, 1 / 3, 0.0, 2)


def test_a_single_bridging_pixel_is_enough_to_merge():
    r = instance_separation(_with([(1, 3)], True), TRUTH)  # IoU 9/19 = 0.47 for object 1
    assert r["matched"] == 1 and r["pairs_separated"] == 0.0


def test_a_missed_object_leaves_its_pair_not_separated():
    r = instance_separation(_with([(i, j) for i in range(3) for j in (4, 5, 6)], False), TRUTH)
    assert (r["matched"], r["pairs_separated"]) == (2, 0.0)


def test_an_object_found_too_small_is_not_recovered_but_stays_apart():
    fg = _with([(0, 0), (0, 1), (0, 2), (1, 0), (2, 0)], False)  # object 1: 4 of 9 pixels, IoU 4/9
    r = instance_separation(fg, TRUTH)
    assert (r["matched"], r["pairs_separated"]) == (2, 1.0)


def test_counts_add_up_over_a_batch():
    batch = torch.stack([TRUTH > 0, _with([(1, 3)], True)])
    r = instance_separation(batch, torch.stack([TRUTH, TRUTH]))
    assert (r["objects"], r["matched"], r["pairs"], r["separated"]) == (6, 4, 2, 1)
    assert r["recovered"] == pytest.approx(4 / 6) and r["pairs_separated"] == 0.5


def test_touch_distance_decides_which_pairs_touch():
    assert instance_separation(TRUTH > 0, TRUTH, touch_distance=1.0)["pairs"] == 0  # the membrane is 1 px
    assert math.isnan(instance_separation(TRUTH > 0, TRUTH, touch_distance=1.0)["pairs_separated"])
    assert instance_separation(TRUTH > 0, TRUTH, touch_distance=3.0)["pairs"] == 2  # object 3 at sqrt(5)


def test_no_objects_gives_nan_scores():
    r = instance_separation(torch.zeros(4, 4, dtype=torch.bool), torch.zeros(4, 4, dtype=torch.long))
    assert math.isnan(r["recovered"]) and r["objects"] == 0


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(foreground=(TRUTH > 0).float()), TypeError, "threshold probabilities first"),
        (dict(foreground=(TRUTH > 0)[:, :4]), ValueError, "must have the same shape"),
        (dict(iou_threshold=0.3), ValueError, "iou_threshold must be >= 0.5"),
        (dict(iou_threshold=1.0), ValueError, "must be < 1"),
        (dict(touch_distance=0.0), ValueError, "touch_distance must be > 0"),
        (dict(instances=-TRUTH), ValueError, "negative values"),
    ],
)
def test_errors_say_what_is_wrong(kwargs, error, message):
    args = {"foreground": TRUTH > 0, "instances": TRUTH, **kwargs}
    with pytest.raises(error, match=message):
        instance_separation(args.pop("foreground"), args.pop("instances"), **args)
