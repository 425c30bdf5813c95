"""Checks for chapter 6's exercises on contours: the boundary F1 score (6.6) and a question on the losses (6.7).

:func:`check_boundary_f1_score` compares the student's score of two hand-made masks with
:func:`segbook.metrics.boundary_f1`; each mask pair is built so that one usual mistake (a strict tolerance, the
distance to the region instead of the contour, the image frame taken for a contour, a chessboard distance)
changes the score. :func:`check_answer_6_7` is a short question (:func:`segbook.exercises.check_choice`).
(Exercises 6.1 to 6.5 are in :mod:`segbook.exercises.ch06`.)
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from segbook.exercises._core import Case, run_checks
from segbook.exercises._questions import check_choice
from segbook.metrics import boundary_f1

__all__ = ["check_boundary_f1_score", "check_answer_6_7"]


def _box(top: int, left: int, bottom: int, right: int, size: "tuple[int, int]" = (12, 12)) -> torch.Tensor:
    """A bool (H, W) mask, True on rows top..bottom-1 and columns left..right-1."""
    mask = torch.zeros(size, dtype=torch.bool)
    mask[top:bottom, left:right] = True
    return mask


def _reference(pred: torch.Tensor, target: torch.Tensor, tolerance: float) -> float:
    return boundary_f1(pred.long(), target.long(), 2, tolerance=tolerance)[1].item()


def check_boundary_f1_score(fn: Callable) -> bool:
    """Exercise 6.6: ``boundary_f1_score(pred, target, tolerance)``: two (H, W) bool masks → BF, a float."""
    square = _box(3, 3, 9, 9)  # a 6x6 square in a 12x12 image
    right = _box(3, 4, 9, 10)  # ... moved one pixel to the right
    diagonal = _box(4, 4, 10, 10)  # ... moved one pixel down and one right
    half = _box(3, 3, 9, 6)  # its left half: the right edge runs through the middle of the square
    band = _box(0, 0, 12, 4)  # the image's first four columns: only its right edge is a contour
    band_wider = _box(0, 0, 12, 6)
    empty = torch.zeros(12, 12, dtype=torch.bool)

    def case(description: str, pred: torch.Tensor, target: torch.Tensor, tolerance: float, hint: str) -> Case:
        return Case(description, (pred, target, tolerance), expected=_reference(pred, target, tolerance), hint=hint)

    cases = [
        case(
            "the same 6x6 square in both masks: BF = 1",
            square,
            square,
            1.0,
            "contour pixels are the mask's pixels with at least one of their 4 neighbours outside the mask; "
            "with identical masks every contour pixel lies on the other contour, so P = R = 1; return a float",
        ),
        case(
            "the square moved one pixel right, tolerance 1: every contour pixel is within 1 pixel of the other "
            "contour, BF = 1",
            right,
            square,
            1.0,
            "a contour pixel counts when its distance to the nearest pixel of the other contour is at most the "
            "tolerance: a distance equal to the tolerance counts",
        ),
        case(
            "the square's left half against the whole square, tolerance 1: the half's right edge runs through "
            "the middle of the true square, 3 pixels from its contour",
            half,
            square,
            1.0,
            "measure how far each predicted contour pixel is from the true CONTOUR, not from the true region: a "
            "contour drawn through the middle of the object lies inside the region but far from its contour",
        ),
        case(
            "the square moved one pixel right, tolerance 0: only coinciding contour pixels count (by hand: 10 "
            "of the 20 on each side, BF = 0.5)",
            right,
            square,
            0.0,
            "with tolerance 0 a predicted contour pixel counts only if a true contour pixel is at the same place; "
            "precision is over the predicted contour pixels, recall over the true ones, BF = 2 P R / (P + R)",
        ),
        case(
            "the square moved one pixel down and one right, tolerance 1: the corners' nearest contour pixels are "
            "diagonal neighbours, sqrt(2) away",
            diagonal,
            square,
            1.0,
            "distances are Euclidean: a diagonal neighbour is sqrt(2) ~ 1.41 pixels away, beyond a tolerance of 1 "
            "(a chessboard distance, or growing the contour with a 3x3 square, counts it as 1)",
        ),
        case(
            "the same, tolerance 1.5: the diagonal neighbours are within it, BF = 1",
            diagonal,
            square,
            1.5,
            "distances are Euclidean: a diagonal neighbour is sqrt(2) ~ 1.41 pixels away, within 1.5 (growing "
            "the contour with the 4-neighbour cross never reaches it)",
        ),
        case(
            "a band along the image's left side, predicted two columns too wide, tolerance 1: the image frame "
            "is not a contour, only the band's right edge is",
            band_wider,
            band,
            1.0,
            "a mask pixel on the image's border is not a contour pixel because of the border: treat the pixels "
            "beyond the image as inside the mask (scipy's binary_erosion counts them as outside unless told "
            "otherwise)",
        ),
        Case(
            "no object in either mask: no contour anywhere, BF is undefined (NaN)",
            (empty, empty, 1.0),
            expected=math.nan,
            hint="without a contour on either side P and R are 0 / 0: return float('nan'), as "
            "segbook.metrics.boundary_f1 does (the mean over images then skips this one)",
        ),
        Case(
            "the object missed entirely (an empty prediction): BF = 0",
            (empty, square, 1.0),
            expected=0.0,
            hint="when only one of the two masks has a contour, nothing can match: return 0.0, not NaN (the "
            "prediction is wrong, not undefined)",
        ),
    ]
    return run_checks("Exercise 6.6 (boundary_f1_score)", fn, cases)


def check_answer_6_7(answer: object) -> bool:
    """Exercise 6.7: ``answer_6_7``: good IoU, poor contours: which change of the training helps (a letter)."""
    return check_choice(
        "Exercise 6.7 (answer_6_7)",
        answer,
        options={
            "a": "train with the boundary loss alone, from the first epoch",
            "b": "keep the Dice + CE loss and add the boundary loss with a weight that grows over the epochs",
            "c": "replace Dice + CE by the Tversky loss with fp_weight=0.3, fn_weight=0.7",
            "d": "score the boundary F1 with a tolerance of 3 pixels instead of 1",
        },
        correct="b",
        why="region losses count wrong pixels, all alike: at an IoU of 0.92 the errors left are a thin rim along "
        "the contours, a small share of the area, and Dice or CE weigh a pixel three pixels off the contour no "
        "more than one next to it. The boundary loss weighs each wrong pixel by its distance to the true contour, "
        "so it keeps pulling the contour where the region losses see little left to gain. Alone it drifts "
        "towards an empty prediction (the 'empty' row of the boundary-loss table) and its gradient vanishes on "
        "confident pixels (Exercise 6.5), so it is added to the region loss that found the objects, with a "
        "weight that grows over training (Kervadec et al.'s schedule).",
        wrong={
            "a": "from a random start, where does the boundary loss alone pull? Compare the 'empty' row of the "
            "boundary-loss table with a partial prediction, and recall what its gradient does on confident pixels",
            "c": "the Tversky weights trade false positives against false negatives: they make the predicted "
            "region grow or shrink as a whole, they do not move a contour towards the true one",
            "d": "that changes the measurement, not the contours: they are as far off as before, and a 3-pixel "
            "tolerance would hide exactly the errors the application cares about",
        },
    )
