"""Chapter 6's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import numpy as np
import pytest
import torch
from exercise_helpers import assert_rejected, notebook_solutions, standard_exercise_tests
from scipy import ndimage

from segbook.exercises import ch06

SOLUTIONS = notebook_solutions("06_region_boundary_losses.ipynb", 6, np=np, ndimage=ndimage)
CHECKS = [
    (ch06.check_dice_from_counts, "dice_from_counts"),
    (ch06.check_soft_dice_loss, "soft_dice_loss"),
    (ch06.check_tversky_index, "tversky_index"),
    (ch06.check_signed_distance, "signed_distance"),
]


test_check_accepts_the_notebook_solution, test_unattempted_exercise_is_reported_not_raised = standard_exercise_tests(
    CHECKS, SOLUTIONS
)


# --- Exercise 6.1 ------------------------------------------------------------------------------------------


def dice_is_iou(tp, fp, fn):
    return tp / (tp + fp + fn) if tp + fp + fn else float("nan")


def dice_empty_is_zero(tp, fp, fn):
    return 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0


def dice_integer_division(tp, fp, fn):
    return float(2 * tp // (2 * tp + fp + fn)) if 2 * tp + fp + fn else float("nan")


@pytest.mark.parametrize(
    "wrong, words",
    [
        (dice_is_iou, ["worked by hand", "is the IoU"]),
        (dice_empty_is_zero, ["undefined (NaN)"]),
        (dice_integer_division, ["worked by hand", "//"]),
    ],
)
def test_dice_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch06.check_dice_from_counts, wrong, "Exercise 6.1 (dice_from_counts)", *words)


# --- Exercise 6.2 ------------------------------------------------------------------------------------------


def dice_batch_sums(probs, target, smooth=1.0):
    dims = (0, 2, 3)
    dice = (2 * (probs * target).sum(dims) + smooth) / (probs.sum(dims) + target.sum(dims) + smooth)
    return (1 - dice).mean()


def dice_smooth_ignored(probs, target, smooth=1.0):
    dice = (2 * (probs * target).sum((2, 3)) + 1) / (probs.sum((2, 3)) + target.sum((2, 3)) + 1)
    return (1 - dice).mean()


def dice_not_one_minus(probs, target, smooth=1.0):
    return ((2 * (probs * target).sum((2, 3)) + smooth) / (probs.sum((2, 3)) + target.sum((2, 3)) + smooth)).mean()


@pytest.mark.parametrize(
    "wrong, words",
    [
        (dice_batch_sums, ["sums per image and class", "dims 2 and 3"]),
        (dice_smooth_ignored, ["smooth = 0", "numerator AND the denominator"]),
        (dice_not_one_minus, ["worked by hand"]),
    ],
)
def test_soft_dice_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch06.check_soft_dice_loss, wrong, "Exercise 6.2 (soft_dice_loss)", *words)


# --- Exercise 6.3 ------------------------------------------------------------------------------------------


def tversky_swapped(probs, target, fp_weight, fn_weight, smooth=0.0):
    tp, fp, fn = (probs * target).sum(), (probs * (1 - target)).sum(), ((1 - probs) * target).sum()
    return (tp + smooth) / (tp + fn_weight * fp + fp_weight * fn + smooth)


def tversky_smooth_numerator_only(probs, target, fp_weight, fn_weight, smooth=0.0):
    tp, fp, fn = (probs * target).sum(), (probs * (1 - target)).sum(), ((1 - probs) * target).sum()
    return (tp + smooth) / (tp + fp_weight * fp + fn_weight * fn)


def tversky_hard_counts(probs, target, fp_weight, fn_weight, smooth=0.0):
    pred = (probs > 0.5).float()
    tp, fp, fn = (pred * target).sum(), (pred * (1 - target)).sum(), ((1 - pred) * target).sum()
    return (tp + smooth) / (tp + fp_weight * fp + fn_weight * fn + smooth)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (tversky_swapped, ["under-segmentation", "letter trap"]),
        (tversky_smooth_numerator_only, ["smoothing"]),
        (tversky_hard_counts, ["soft Dice coefficient", "soft counts"]),
    ],
)
def test_tversky_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch06.check_tversky_index, wrong, "Exercise 6.3 (tversky_index)", *words)


# --- Exercise 6.4 ------------------------------------------------------------------------------------------


def _sdm(mask, sign=1.0, minus_one=True, special_cases=True):
    m = mask.numpy()
    if special_cases and (not m.any() or m.all()):
        return torch.zeros(mask.shape, dtype=torch.float32)
    inside = ndimage.distance_transform_edt(m) - (1 if minus_one else 0)
    phi = ndimage.distance_transform_edt(~m) * ~m - inside * m
    return torch.from_numpy(sign * phi).float()


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda mask: _sdm(mask, sign=-1.0), ["worked by hand", "outside: + the distance"]),
        (lambda mask: _sdm(mask, minus_one=False), ["worked by hand", "- 1"]),
        (lambda mask: _sdm(mask, special_cases=False), ["empty mask", "zeros"]),
        (lambda mask: _sdm(mask).double(), ["dtype", "float32"]),
    ],
)
def test_signed_distance_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch06.check_signed_distance, wrong, "Exercise 6.4 (signed_distance)", *words)
