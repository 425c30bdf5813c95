"""Checks for the exercises of chapter 1 (the segmentation task).

Each ``check_*`` runs the student's function on several cases, edge cases included, and explains the first
failure. The expected values come from the package's own implementations (``segbook.data.one_hot``,
``segbook.metrics.iou_per_class``, ``segbook.metrics.confusion_matrix``) or are written out by hand. Exercise 1.5
is a short question (:func:`segbook.exercises.check_choice`): what the ignore index does to the scores.
"""

from __future__ import annotations

from typing import Callable

import torch

from segbook.conventions import IGNORE_INDEX
from segbook.data import one_hot as _one_hot
from segbook.exercises._core import Case, run_checks
from segbook.exercises._questions import check_choice
from segbook.metrics import confusion_matrix as _confusion_matrix
from segbook.metrics import iou_per_class as _iou_per_class

__all__ = [
    "check_one_hot",
    "check_semantic_from_instances",
    "check_iou_from_confusion",
    "check_confusion_matrix",
    "check_answer_1_5",
]


def check_one_hot(fn: Callable) -> bool:
    """Exercise 1.2: ``one_hot(label, num_classes)``: (H, W) int64 → (C, H, W) float32, ignored pixels all 0."""
    g = torch.Generator().manual_seed(11)
    random_map = torch.randint(0, 4, (5, 6), generator=g)
    with_ignore = random_map.clone()
    with_ignore[0, :3] = IGNORE_INDEX
    cases = [
        Case(
            "the 2x2 map [[0, 1], [2, 1]] with 3 classes",
            (torch.tensor([[0, 1], [2, 1]]), 3),
            expected=_one_hot(torch.tensor([[0, 1], [2, 1]]), 3),
            hint="the result is float32 (C, H, W): out[c, i, j] = 1.0 where label[i, j] == c; "
            "torch.nn.functional.one_hot returns int64 with the class axis last, so convert with .float() "
            "and move the class axis to the front",
        ),
        Case(
            "a random 5x6 map with 4 classes",
            (random_map, 4),
            expected=_one_hot(random_map, 4),
            hint="return float32 (losses multiply it with probabilities): use .float() or .to(torch.float32)",
        ),
        Case(
            "a map where class 3 never occurs (C=5 channels still expected)",
            (random_map.clamp(max=2), 5),
            expected=_one_hot(random_map.clamp(max=2), 5),
            hint="the number of channels is num_classes, not the largest class present plus one",
        ),
        Case(
            f"pixels equal to the ignore index {IGNORE_INDEX} belong to no class",
            (with_ignore, 4),
            expected=_one_hot(with_ignore, 4),
            hint=f"give ignored pixels ({IGNORE_INDEX}) all zeros: one-hot the map with them replaced by 0, "
            f"then multiply by the mask (label != {IGNORE_INDEX})",
        ),
    ]
    return run_checks("Exercise 1.2 (one_hot)", fn, cases)


def check_semantic_from_instances(fn: Callable) -> bool:
    """Exercise 1.1: ``semantic_from_instances(masks, classes)``: (K, H, W) bool, (K,) → (H, W) int64."""
    two = torch.zeros(2, 3, 4, dtype=torch.bool)
    two[0, 0, :2] = True
    two[1, 2, 1:] = True
    overlap = torch.zeros(2, 4, 4, dtype=torch.bool)
    overlap[0, :3, :3] = True
    overlap[1, 2:, 2:] = True
    cases = [
        Case(
            "two objects of classes 3 and 1",
            (two, torch.tensor([3, 1])),
            expected=torch.tensor([[3, 3, 0, 0], [0, 0, 0, 0], [0, 1, 1, 1]]),
            hint="start from zeros (background) of shape (H, W) and write each object's class into its mask: "
            "classes[k], not the object's number k + 1",
        ),
        Case(
            "two objects of the SAME class become one region: no objects, just pixels",
            (two, torch.tensor([2, 2])),
            expected=torch.tensor([[2, 2, 0, 0], [0, 0, 0, 0], [0, 2, 2, 2]]),
            hint="the label map stores classes, not object numbers: write classes[k], not k + 1",
        ),
        Case(
            "overlapping masks: the later object is in front",
            (overlap, torch.tensor([1, 4])),
            expected=torch.tensor([[1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 4, 4], [0, 0, 4, 4]]),
            hint="paint the objects in order, k = 0, 1, ..., so that later ones overwrite earlier ones",
        ),
        Case(
            "overlapping masks where the front object has the LOWER class: order decides, not the class",
            (overlap, torch.tensor([4, 1])),
            expected=torch.tensor([[4, 4, 4, 0], [4, 4, 4, 0], [4, 4, 1, 1], [0, 0, 1, 1]]),
            hint="the object painted last is in front whatever its class; a maximum (or sum) over the objects "
            "lets the larger class win",
        ),
        Case(
            "no objects at all: everything is background",
            (torch.zeros(0, 2, 3, dtype=torch.bool), torch.zeros(0, dtype=torch.int64)),
            expected=torch.zeros(2, 3, dtype=torch.int64),
            hint="with K = 0 the map is all background; take H and W from masks.shape[1:], and return int64",
        ),
    ]
    return run_checks("Exercise 1.1 (semantic_from_instances)", fn, cases)


def check_iou_from_confusion(fn: Callable) -> bool:
    """Exercise 1.3: ``iou_from_confusion(cm)``: (C, C) counts (rows true, columns predicted) → (C,) IoU."""
    hand = torch.tensor([[50, 2, 3], [4, 20, 1], [6, 0, 14]])
    # Worked by hand: IoU_c = n_cc / (row_c + col_c - n_cc)
    hand_iou = torch.tensor([50 / (55 + 60 - 50), 20 / (25 + 22 - 20), 14 / (20 + 18 - 14)], dtype=torch.float64)
    absent = torch.tensor([[30, 0, 5], [0, 0, 0], [5, 0, 10]])  # class 1 neither in target nor predicted
    false_alarm = torch.tensor([[30, 4, 5], [0, 0, 0], [5, 0, 10]])  # class 1 predicted but never present
    cases = [
        Case(
            "the hand-worked 3-class example",
            (hand,),
            expected=hand_iou,
            compare=_float_compare,
            hint="IoU_c = TP / (TP + FP + FN) with TP = cm[c, c], FN = row sum - TP, FP = column sum - TP",
        ),
        Case(
            "a perfect prediction (diagonal matrix)",
            (torch.diag(torch.tensor([7, 3, 9])),),
            expected=torch.ones(3, dtype=torch.float64),
            compare=_float_compare,
            hint="a perfect prediction has IoU 1 for every class",
        ),
        Case(
            "a class absent from both target and prediction has undefined IoU (NaN)",
            (absent,),
            expected=_iou_per_class(absent).to(torch.float64),
            compare=_float_compare,
            hint="0 / 0 is undefined: return NaN for that class (torch division gives NaN; don't replace it "
            "with 0, or the mean IoU would be punished for a class that was never there)",
        ),
        Case(
            "a class predicted but absent from the target has IoU 0",
            (false_alarm,),
            expected=_iou_per_class(false_alarm).to(torch.float64),
            compare=_float_compare,
            hint="false positives count in the union: a class predicted where it does not exist scores 0",
        ),
    ]
    return run_checks("Exercise 1.3 (iou_from_confusion)", fn, cases)


def check_confusion_matrix(fn: Callable) -> bool:
    """Exercise 1.4: ``confusion_matrix(pred, target, num_classes)``: int64 (C, C), target 255 counted nowhere."""
    # Worked by hand (rows = true class, columns = predicted): the pairs (0, 0), (0, 1), (1, 1) twice, (2, 0) and
    # (2, 2). The matrix is not symmetric, so swapped rows and columns cannot pass; and the largest code,
    # 2 * 3 + 2, occurs, so a bincount without minlength passes here and is caught by the case meant for it.
    hand_target = torch.tensor([[0, 0, 1], [2, 1, 2]])
    hand_pred = torch.tensor([[0, 1, 1], [0, 1, 2]])
    hand = torch.tensor([[1, 1, 0], [0, 2, 0], [1, 0, 1]])
    g = torch.Generator().manual_seed(14)
    target = torch.randint(0, 4, (2, 4, 5), generator=g)
    pred = torch.randint(0, 4, (2, 4, 5), generator=g)
    banded = target.clone()
    banded[:, 1, :] = IGNORE_INDEX  # a band of ignored pixels, with predictions of every class under it
    banded[0, :, 0] = IGNORE_INDEX
    few = torch.tensor([[0, 2, 2], [1, 0, 2]])  # C = 5: classes 3 and 4 occur nowhere
    few_pred = torch.tensor([[0, 2, 1], [1, 1, 2]])
    cases = [
        Case(
            "the hand-worked 2x3 map with 3 classes (rows: true class, columns: predicted)",
            (hand_pred, hand_target, 3),
            expected=hand,
            hint="cm[i, j] counts the pixels whose TARGET is i and whose PREDICTION is j: rows are the truth; "
            "return int64 counts",
        ),
        Case(
            "a random (2, 4, 5) batch with 4 classes: every pixel is counted once",
            (pred, target, 4),
            expected=_confusion_matrix(pred, target, 4),
            hint="count over all the pixels of all the images; the entries must add up to the number of pixels",
        ),
        Case(
            f"pixels whose target is {IGNORE_INDEX} count nowhere, whatever was predicted there",
            (pred, banded, 4),
            expected=_confusion_matrix(pred, banded, 4),
            hint=f"an ignored pixel (target {IGNORE_INDEX}) belongs to no row, so it adds to no column either; "
            "counting it as background (class 0) puts it in row 0",
        ),
        Case(
            "C = 5 but classes 3 and 4 occur nowhere: their rows and columns are zeros",
            (few_pred, few, 5),
            expected=_confusion_matrix(few_pred, few, 5),
            hint="the matrix is num_classes x num_classes whatever classes occur; torch.bincount's result is only "
            "as long as the largest code it sees unless you say how long it must be",
        ),
        Case(
            "every pixel ignored: a 3x3 matrix of zeros",
            (torch.tensor([[1, 2]]), torch.full((1, 2), IGNORE_INDEX), 3),
            expected=torch.zeros(3, 3, dtype=torch.int64),
            hint="with nothing counted the result is still (C, C) int64, all zeros",
        ),
    ]
    return run_checks("Exercise 1.4 (confusion_matrix)", fn, cases)


def check_answer_1_5(answer: object) -> bool:
    """Exercise 1.5: ``answer_1_5``: which statements about the ignore index and the scores are true (a set)."""
    label = "Exercise 1.5 (answer_1_5)"
    return check_choice(
        label,
        answer,
        options={
            "a": f"changing the prediction at a pixel whose target is {IGNORE_INDEX} never changes any score",
            "b": f"a class predicted only at pixels whose target is {IGNORE_INDEX}, and absent from the target, "
            "gets IoU 0 and lowers the mIoU",
            "c": f"replacing {IGNORE_INDEX} by 0 (background) before scoring can lower an object class's IoU, "
            "not only the background's",
            "d": "ignored pixels leave the rows of the confusion matrix (the truth) but still count in its "
            "columns (the predictions)",
        },
        correct=frozenset({"a", "c"}),
        why=(
            f"a pixel enters the confusion matrix as one (true, predicted) pair or not at all. A target of "
            f"{IGNORE_INDEX} gives it no row, so it is in no column either (d is false) and what the model predicts "
            "there changes no count and no score (a). A class predicted only there has an empty row and an empty "
            "column: its IoU is 0/0, NaN, and the mean IoU leaves it out instead of counting a 0 (b is false). "
            f"Replacing {IGNORE_INDEX} by 0 puts the band into row 0: where the model predicted the object, those "
            "pixels become the object's false positives (and the background's false negatives), so the object's "
            "IoU drops as well (c)."
        ),
        wrong={
            "a": f"can a pixel whose target is {IGNORE_INDEX} enter any row, or any column, of the matrix?",
            "b": "find where those pixels are counted in the confusion matrix, then recall what the mean IoU "
            "does with a class whose IoU is 0/0",
            "c": "once the band's target is 0, where are the pixels counted at which the model predicted the "
            "object class?",
            "d": "a pixel enters the matrix as one (row, column) pair, or not at all",
        },
    )


def _float_compare(expected: object, got: object) -> "tuple[bool, str]":
    """Accept any floating dtype; compare values with NaN equal to NaN."""
    assert isinstance(expected, torch.Tensor)  # the check's own value
    if not isinstance(got, torch.Tensor):
        return False, f"expected a tensor, got {type(got).__name__}"
    if not got.dtype.is_floating_point:
        return False, f"expected a floating-point tensor (IoU is a fraction), got {got.dtype}"
    if got.shape != expected.shape:
        return False, f"shape differs: expected {tuple(expected.shape)}, got {tuple(got.shape)}"
    if torch.allclose(got.to(torch.float64), expected, rtol=1e-5, atol=1e-6, equal_nan=True):
        return True, ""
    return False, f"values differ: expected {expected.tolist()}, got {got.tolist()}"
