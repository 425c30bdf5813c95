"""Checks for the exercises of chapter 8 (U-Net).

Each ``check_*`` runs the student's function on several cases, edge cases included, and explains the first
failure. Expected values come from :mod:`segbook.models` (the U-Net itself), from
:func:`segbook.losses.unet_weight_map` (the weight map and its class-balance term) or are worked out by hand.
``check_answer_8_5`` is a short question: a number, with the reasoning printed once it is right.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from segbook.exercises._core import Case, allclose, run_checks
from segbook.exercises._questions import check_number
from segbook.exercises._values import exact
from segbook.losses import unet_weight_map
from segbook.models import UNet

__all__ = [
    "check_centre_crop",
    "check_valid_output_size",
    "check_border_weight_map",
    "check_class_balance_map",
    "check_answer_8_5",
    "check_tile_starts",
]

_CLOSE = allclose(rtol=1e-4, atol=1e-5)


def check_centre_crop(fn: Callable) -> bool:
    """Exercise 8.1: ``centre_crop(features, size)``: (N, C, H, W) and (h, w) → the centre (N, C, h, w)."""
    grid = torch.arange(16.0).reshape(1, 1, 4, 4)
    five = torch.arange(25.0).reshape(1, 1, 5, 5)
    wide = torch.arange(48.0).reshape(1, 1, 6, 8)
    g = torch.Generator().manual_seed(8)
    skip = torch.randn(2, 3, 64, 64, generator=g)  # a skip feature map of the paper's level 3 ...
    cases = [
        Case(
            "a 4x4 map cropped to 2x2, worked by hand",
            (grid, (2, 2)),
            expected=torch.tensor([[[[5.0, 6.0], [9.0, 10.0]]]]),
            hint="keep the centre: drop (H - h) // 2 rows at the top and (W - w) // 2 columns at the left; "
            "not the top-left corner features[..., :h, :w]",
        ),
        Case(
            "an odd difference: 5x5 cropped to 2x2 drops 1 row above and 2 below",
            (five, (2, 2)),
            expected=five[..., 1:3, 1:3],
            hint="top = (H - h) // 2 rounds down (the U-Net code's convention); (H - h + 1) // 2 or round() rounds up",
        ),
        Case(
            "a non-square map: 6x8 cropped to (h, w) = (2, 4)",
            (wide, (2, 4)),
            expected=wide[..., 2:4, 2:6],
            hint="size is (h, w): h applies to the rows (dim -2), w to the columns (dim -1)",
        ),
        Case(
            "row and column offsets differ: 6x8 cropped to (4, 2) drops 1 row at the top and 3 columns at the left",
            (wide, (4, 2)),
            expected=wide[..., 1:5, 3:5],
            hint="the column offset is (W - w) // 2, computed from the widths; it equals the row offset "
            "(H - h) // 2 only when both dimensions shrink by the same amount",
        ),
        Case(
            "the paper's level 3: 64x64 skip features cropped to the 56x56 upsampled map",
            (skip, (56, 56)),
            expected=skip[..., 4:60, 4:60],
            compare=_CLOSE,
            hint="crop only the last two dimensions; keep every image (N) and channel (C)",
        ),
        Case(
            "same size: nothing to crop",
            (skip, (64, 64)),
            expected=skip,
            compare=_CLOSE,
            hint="with h = H and w = W the crop must return the whole map",
        ),
    ]
    return run_checks("Exercise 8.1 (centre_crop)", fn, cases)


def _valid_output(size: int, depth: int) -> Optional[int]:
    try:
        return UNet(1, depth=depth, width=1, padding="valid").output_size(size)
    except ValueError:
        return None


def check_valid_output_size(fn: Callable) -> bool:
    """Exercise 8.2: ``valid_output_size(size, depth)``: int, int → the valid U-Net's output size, or None."""
    cases = [
        Case(
            "the paper: a 572x572 tile, depth 4",
            (572, 4),
            expected=388,
            compare=exact,
            hint="per level down: two 3x3 convolutions (-4), then pool (/2); at the bottom two convolutions "
            "(-4); per level up: up-conv (x2), two convolutions (-4); return a Python int (or None)",
        ),
        Case(
            "depth 3, size 188",
            (188, 3),
            expected=_valid_output(188, 3),
            compare=exact,
            hint="do not forget the two convolutions of the bottom level (-4 there, which is -4 * 2**depth "
            "at the output)",
        ),
        Case(
            "depth 2, size 100",
            (100, 2),
            expected=_valid_output(100, 2),
            compare=exact,
            hint="the expanding path has one up-conv (x2) and two convolutions (-4) per level",
        ),
        Case(
            "depth 4, size 570: a pooling meets an odd size",
            (570, 4),
            expected=None,
            compare=exact,
            hint="570 - 4 = 566 -> 283 -> 283 - 4 = 279 is odd: a 2x2 pooling cannot halve it without losing a "
            "row, so the valid U-Net refuses it; return None",
        ),
        Case(
            "depth 3, size 142: odd after two levels",
            (142, 3),
            expected=None,
            compare=exact,
            hint="check that the size is even before every pooling, not only the first",
        ),
        Case(
            "depth 2, size 28: too small, the bottom would have no pixel",
            (28, 2),
            expected=None,
            compare=exact,
            hint="when a size drops to 0 or below the input is too small: return None",
        ),
    ]
    return run_checks("Exercise 8.2 (valid_output_size)", fn, cases)


def _distances(ids: torch.Tensor) -> torch.Tensor:
    """(K, H, W) float32: distance from every pixel to the nearest pixel of cell k + 1."""
    from scipy import ndimage

    cells = list(range(1, int(ids.max()) + 1))
    if not cells:
        return torch.zeros(0, *ids.shape)
    return torch.stack([torch.from_numpy(ndimage.distance_transform_edt((ids != k).numpy())).float() for k in cells])


def _expected_weights(ids: torch.Tensor, w0: float = 10.0, sigma: float = 5.0) -> torch.Tensor:
    return unet_weight_map(ids, w0=w0, sigma=sigma, class_weights=None)


def check_border_weight_map(fn: Callable) -> bool:
    """Exercise 8.3: ``border_weight_map(distances, ids, w0=10.0, sigma=5.0)``: (K, H, W), (H, W) → (H, W) float."""
    gap1 = torch.tensor([[1, 1, 0, 2, 2]])  # a one-pixel gap: d1 = d2 = 1
    gap2 = torch.tensor([[1, 1, 0, 0, 2, 2, 0, 0, 0, 0]])  # a two-pixel gap, and background beyond cell 2
    cluster = torch.zeros(12, 14, dtype=torch.long)
    cluster[1:6, 1:6], cluster[1:6, 7:12], cluster[7:11, 2:9] = 1, 2, 3  # three cells, one-pixel membranes
    lone = torch.zeros(6, 6, dtype=torch.long)
    lone[2:4, 2:4] = 1
    cases = [
        Case(
            "two cells across a one-pixel gap, worked by hand: 1 + 10 exp(-4 / 50) in the gap",
            (_distances(gap1), gap1),
            expected=_expected_weights(gap1),
            compare=_CLOSE,
            hint="w = 1 + w0 * exp(-(d1 + d2)**2 / (2 * sigma**2)) on background pixels, where d1 <= d2 are the "
            "two SMALLEST distances at the pixel (here 1 and 1); 1 on cell pixels",
        ),
        Case(
            "a two-pixel gap and background beyond a cell",
            (_distances(gap2), gap2),
            expected=_expected_weights(gap2),
            compare=_CLOSE,
            hint="d2 is the distance to the second-nearest cell, not twice the nearest: at the pixel right of "
            "cell 2, d1 = 1 but d2 = 5",
        ),
        Case(
            "three cells with membranes: the two nearest cells differ from pixel to pixel",
            (_distances(cluster), cluster),
            expected=_expected_weights(cluster),
            compare=_CLOSE,
            hint="with K = 3 cells d1 and d2 are the two smallest of the K distances at each pixel, which cells "
            "they belong to changes across the image; distances[0] and distances[1] are only right for K = 2",
        ),
        Case(
            "three cells with membranes, w0 = 5 and sigma = 2",
            (_distances(cluster), cluster),
            {"w0": 5.0, "sigma": 2.0},
            expected=_expected_weights(cluster, 5.0, 2.0),
            compare=_CLOSE,
            hint="the denominator is 2 * sigma**2 (not sigma**2); the border term is added on background pixels "
            "only (ids == 0), cell pixels keep 1",
        ),
        Case(
            "a lone cell: no second cell, no border term, all ones",
            (_distances(lone), lone),
            expected=torch.ones(6, 6),
            compare=_CLOSE,
            hint="with K < 2 there is no d2: return torch.ones(ids.shape) (float32)",
        ),
    ]
    return run_checks("Exercise 8.3 (border_weight_map)", fn, cases)


def _balanced(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The balanced w_c of any number of classes: HW / (m n_c), m the classes present (the reference of 8.4)."""
    counts = torch.bincount(labels.flatten(), minlength=num_classes).double()
    per_class = torch.where(counts > 0, labels.numel() / ((counts > 0).sum() * counts.clamp_min(1)), 0.0)
    return per_class[labels].float()


def check_class_balance_map(fn: Callable) -> bool:
    """Exercise 8.4: ``class_balance_map(labels, num_classes)``: (H, W) classes → (H, W) float32 balanced w_c."""
    by_hand = torch.tensor([[0, 0, 0, 1], [0, 0, 0, 1]])  # 6 background and 2 cell pixels
    cells = torch.zeros(8, 10, dtype=torch.long)
    cells[1:5, 1:4], cells[2:7, 5:9] = 1, 1  # two cells, 32 of the 80 pixels
    three = torch.tensor([[0, 0, 0, 2], [0, 0, 0, 2], [0, 0, 0, 0], [0, 0, 0, 0]])  # class 1 absent
    four = torch.tensor([[0] * 6, [0] * 6, [0, 0, 0, 0, 1, 1], [2, 2, 2, 3, 3, 3]])  # 14, 2, 3, 3 pixels
    general = (
        "every class present carries the same total weight (its weight times its pixel count), and the "
        "weights average to 1 over the image; return a float32 (H, W) tensor"
    )
    only_present = (
        "the total is shared among the classes PRESENT in the image; with a single class present every pixel "
        "weighs 1, since the weights average to 1"
    )
    cases = [
        Case(
            "6 background and 2 cell pixels, worked by hand: background 2/3, cells 2",
            (by_hand, 2),
            expected=unet_weight_map(by_hand, w0=0.0),
            compare=_CLOSE,
            hint=general,
        ),
        Case(
            "two cells covering 32 of the 80 pixels of an image (as losses.unet_weight_map(ids, w0=0) gives)",
            (cells, 2),
            expected=unet_weight_map(cells, w0=0.0),
            compare=_CLOSE,
            hint=general,
        ),
        Case(
            "three classes, class 1 absent from the image",
            (three, 3),
            expected=_balanced(three, 3),
            compare=_CLOSE,
            hint="a class absent from the image has no pixels: it does not count among the classes that share the "
            "total, and its weight (a division by a count of 0) must not leak into the map as inf or NaN "
            "(0 * inf is NaN); num_classes is how many classes exist, not how many this image has",
        ),
        Case(
            "all background: one class present, so every weight is 1",
            (torch.zeros(3, 5, dtype=torch.long), 2),
            expected=torch.ones(3, 5),
            compare=_CLOSE,
            hint=only_present,
        ),
        Case(
            "all cell pixels: one class present again",
            (torch.ones(2, 3, dtype=torch.long), 2),
            expected=torch.ones(2, 3),
            compare=_CLOSE,
            hint=only_present,
        ),
        Case(
            "four classes, all present, with 14, 2, 3 and 3 pixels",
            (four, 4),
            expected=_balanced(four, 4),
            compare=_CLOSE,
            hint=general + "; with four classes each one carries a quarter of the total",
        ),
    ]
    return run_checks("Exercise 8.4 (class_balance_map)", fn, cases)


def check_answer_8_5(answer: object) -> bool:
    """Exercise 8.5: ``answer_8_5``: the cell fraction above which a network trained with w_c alone says cell."""
    label = "Exercise 8.5 (answer_8_5)"
    return check_number(
        label,
        answer,
        expected=0.3,
        rel_tol=0.01,
        why=(
            "w_c gives the cells 1 / (2 * 0.3) = 1.67 and the background 1 / (2 * 0.7) = 0.71, so the argmax says "
            "cell when p > w_bg / (w_bg + w_cell) = (1/0.7) / (1/0.7 + 1/0.3) = 0.3: the image's cell fraction "
            "itself, whatever the fraction (and whatever the normalisation of w_c, which cancels). A balanced network "
            "calls cell every group of pixels that is cell more often than the base rate, so at the argmax it calls "
            "too many pixels cell; thresholding its cell probability at w_cell / (w_bg + w_cell) = 0.7 instead of 0.5 "
            "undoes the shift."
        ),
        hint="work out the cell and background weights of w_c for this image (exercise 8.4), then put them into "
        "the threshold on p from the section on the decision threshold",
        near={
            0.5: "that is the threshold of the plain cross entropy; with w_c the two classes weigh differently",
            0.7: "the cells are the heavier class, so they should need a smaller fraction to win, not a larger one: "
            "check which weight goes in the numerator of the threshold",
            0.3 / 0.7: "that is the ratio of the two weights, w_bg / w_cell, not the threshold: at the threshold "
            "the cell pixels among them, weighted, count as much as the background pixels, weighted",
        },
    )


def check_tile_starts(fn: Callable) -> bool:
    """Exercise 8.6: ``tile_starts(size, step)``: int, int → list of the kept centres' starts (overlap-tile)."""
    cases = [
        Case(
            "100 pixels covered by 36-pixel centres, worked by hand",
            (100, 36),
            expected=[0, 36, 64],
            compare=exact,
            hint="start every `step` pixels; the last centre starts at size - step so that it ends exactly at "
            "the image's edge (it overlaps its neighbour instead of running past the end); "
            "return a list of Python ints",
        ),
        Case(
            "a size that is a multiple of the step: no extra tile",
            (72, 36),
            expected=[0, 36],
            compare=exact,
            hint="when the tiles already end at the edge, do not add size - step a second time",
        ),
        Case(
            "one tile exactly",
            (36, 36),
            expected=[0],
            compare=exact,
            hint="a single centre of the image's size starts at 0",
        ),
        Case(
            "small numbers: 10 pixels, step 4",
            (10, 4),
            expected=[0, 4, 6],
            compare=exact,
            hint="range(0, size - step + 1, step) gives the tiles that fit, then add size - step if the last one "
            "does not reach the end",
        ),
    ]
    return run_checks("Exercise 8.6 (tile_starts)", fn, cases)
