"""Checks for the exercises of chapter 6 (region-based, combined and boundary losses).

Each ``check_*`` runs the student's function on several cases, edge cases included, and explains the first
failure. Expected values come from :mod:`segbook.losses` or are worked out by hand. Exercise 6.5 is a derivation
(:func:`segbook.exercises.check_gradient`: the boundary loss's gradient, compared with autograd and finite
differences); exercises 6.6 and 6.7 are in :mod:`segbook.exercises.ch06b`.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from segbook.exercises._core import Case, allclose, run_checks
from segbook.exercises._gradients import check_gradient
from segbook.exercises._values import exact_float
from segbook.losses import boundary_loss, signed_distance_map, soft_counts, tversky_index

__all__ = [
    "check_dice_from_counts",
    "check_soft_dice_loss",
    "check_tversky_index",
    "check_signed_distance",
    "check_boundary_loss_grad",
]

_CLOSE = allclose(rtol=1e-4, atol=1e-5)


def check_dice_from_counts(fn: Callable) -> bool:
    """Exercise 6.1: ``dice_from_counts(tp, fp, fn)``: three ints → a float (NaN when all are 0)."""
    cases = [
        Case(
            "TP = 3, FP = 1, FN = 2 (worked by hand: 6 / 9)",
            (3, 1, 2),
            expected=6 / 9,
            hint="Dice = 2 TP / (2 TP + FP + FN); TP / (TP + FP + FN) is the IoU, a different number; "
            "use true division (/), not //",
            compare=exact_float,
        ),
        Case(
            "a perfect prediction: TP = 5, FP = FN = 0",
            (5, 0, 0),
            expected=1.0,
            hint="with no errors the Dice coefficient is 1",
            compare=exact_float,
        ),
        Case(
            "nothing found: TP = 0, FP = 4, FN = 3",
            (0, 4, 3),
            expected=0.0,
            hint="with no overlap the Dice coefficient is 0",
            compare=exact_float,
        ),
        Case(
            "both sets empty: TP = FP = FN = 0 is undefined (NaN)",
            (0, 0, 0),
            expected=math.nan,
            hint="0 / 0 is undefined: return float('nan'), as segbook.metrics does, not 0 or 1 (the mean over "
            "classes then skips it)",
            compare=exact_float,
        ),
    ]
    return run_checks("Exercise 6.1 (dice_from_counts)", fn, cases)


def _expected_soft_dice(probs: torch.Tensor, target: torch.Tensor, smooth: float) -> torch.Tensor:
    tp, fp, fn = soft_counts(probs, target)  # (N, C) each
    return (1 - (2 * tp + smooth) / (2 * tp + fp + fn + smooth)).mean()


def check_soft_dice_loss(fn: Callable) -> bool:
    """Exercise 6.2: ``soft_dice_loss(probs, target, smooth=1.0)``: (N, C, H, W) probabilities and one-hot → 0-dim."""
    hand_p = torch.tensor([[[[0.9, 0.2], [0.6, 0.1]]]])  # (1, 1, 2, 2)
    hand_g = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    # By hand: sum p g = 0.9, sum p = 1.8, sum g = 1; with s = 1: 1 - (1.8 + 1) / (2.8 + 1).
    hand = torch.tensor(1 - 2.8 / 3.8)
    g = torch.Generator().manual_seed(3)
    labels = torch.zeros(2, 6, 6, dtype=torch.long)
    labels[0, 1:5, 1:5] = 1  # a big object in image 0
    labels[1, 2, 2] = 1  # a one-pixel object in image 1
    target = torch.nn.functional.one_hot(labels, 2).movedim(-1, 1).float()
    probs = torch.softmax(2 * torch.randn(2, 2, 6, 6, generator=g), dim=1)
    absent = torch.zeros(1, 2, 3, 3)
    absent[:, 0] = 1.0  # class 1 absent from the target ...
    absent_p = torch.stack([torch.full((1, 3, 3), 0.99), torch.full((1, 3, 3), 0.01)], dim=1)  # ... and predicted ~0
    cases = [
        Case(
            "one image, one class, worked by hand (smooth = 1)",
            (hand_p, hand_g),
            expected=hand,
            compare=_CLOSE,
            hint="loss = 1 - (2 sum(p g) + s) / (sum(p) + sum(g) + s), with s = smooth = 1 by default; return a "
            "0-dim tensor",
        ),
        Case(
            "the same without smoothing (smooth = 0)",
            (hand_p, hand_g),
            {"smooth": 0.0},
            expected=torch.tensor(1 - 1.8 / 2.8),
            compare=_CLOSE,
            hint="smooth is added to the numerator AND the denominator; with smooth = 0 nothing is added",
        ),
        Case(
            "two images, a big object and a one-pixel object: sums per image and class, then the mean",
            (probs, target),
            expected=_expected_soft_dice(probs, target, 1.0),
            compare=_CLOSE,
            hint="sum over the pixels of each image and class separately (dims 2 and 3), giving (N, C) Dice "
            "values, then average those N * C values; summing over the whole batch first is another loss",
        ),
        Case(
            "a class absent from the target and (almost) not predicted costs (almost) nothing",
            (absent_p, absent),
            expected=_expected_soft_dice(absent_p, absent, 1.0),
            compare=_CLOSE,
            hint="this is what the +1 is for: (0 + 1) / (sum(p) + 0 + 1) is close to 1, so the loss is close to 0",
        ),
    ]
    return run_checks("Exercise 6.2 (soft_dice_loss)", fn, cases)


def check_tversky_index(fn: Callable) -> bool:
    """Exercise 6.3: ``tversky_index(probs, target, fp_weight, fn_weight, smooth=0.0)``: (H, W) maps → 0-dim."""
    target = torch.zeros(6, 6)
    target[1:5, 1:5] = 1.0  # 16 foreground pixels
    under = torch.zeros(6, 6)
    under[2:4, 2:4] = 0.9  # finds a quarter of it: many false negatives
    under[0, 0] = 0.3  # and a little false positive
    g = torch.Generator().manual_seed(2)
    noisy = torch.rand(6, 6, generator=g)

    def expected(probs, fp_weight, fn_weight, smooth=0.0):
        tp, fp, fn = (x[0, 0] for x in soft_counts(probs[None, None], target[None, None]))
        return torch.as_tensor(
            tversky_index(tp, fp, fn, fp_weight=fp_weight, fn_weight=fn_weight, smooth=smooth)
        ).float()

    cases = [
        Case(
            "equal weights 0.5 and 0.5 give the soft Dice coefficient",
            (noisy, target, 0.5, 0.5),
            expected=expected(noisy, 0.5, 0.5),
            compare=_CLOSE,
            hint="TI = TP / (TP + fp_weight FP + fn_weight FN) with soft counts TP = sum(p g), "
            "FP = sum(p (1 - g)), FN = sum((1 - p) g); return a 0-dim tensor",
        ),
        Case(
            "fp_weight = 0.3, fn_weight = 0.7 on an under-segmentation (many false negatives)",
            (under, target, 0.3, 0.7),
            expected=expected(under, 0.3, 0.7),
            compare=_CLOSE,
            hint="fn_weight multiplies the false negatives FN = sum((1 - p) g), the missed foreground; fp_weight "
            "multiplies FP = sum(p (1 - g)). Swapping them is the slide-vs-paper letter trap",
        ),
        Case(
            "weights 1 and 1 give the soft IoU",
            (noisy, target, 1.0, 1.0),
            expected=expected(noisy, 1.0, 1.0),
            compare=_CLOSE,
            hint="with both weights 1 the denominator is TP + FP + FN",
        ),
        Case(
            "smoothing: smooth = 1 is added to the numerator and the denominator",
            (under, target, 0.3, 0.7),
            {"smooth": 1.0},
            expected=expected(under, 0.3, 0.7, 1.0),
            compare=_CLOSE,
            hint="TI = (TP + smooth) / (TP + fp_weight FP + fn_weight FN + smooth)",
        ),
    ]
    return run_checks("Exercise 6.3 (tversky_index)", fn, cases)


def check_signed_distance(fn: Callable) -> bool:
    """Exercise 6.4: ``signed_distance(mask)``: (H, W) bool → float32 (H, W), the boundary loss's convention."""
    square = torch.zeros(5, 5, dtype=torch.bool)
    square[1:4, 1:4] = True
    r2 = math.sqrt(2)
    hand = torch.tensor(
        [[r2, 1, 1, 1, r2], [1, 0, 0, 0, 1], [1, 0, -1, 0, 1], [1, 0, 0, 0, 1], [r2, 1, 1, 1, r2]], dtype=torch.float32
    )
    blob = torch.zeros(8, 9, dtype=torch.bool)
    blob[1:7, 2:8] = True
    blob[1:3, 2:4] = False  # an L-shaped region
    full = torch.ones(4, 4, dtype=torch.bool)

    def reference(mask):
        return signed_distance_map(mask.long(), 2)[1]

    cases = [
        Case(
            "a 3x3 square in a 5x5 image, worked by hand",
            (square,),
            expected=hand,
            compare=_CLOSE,
            hint="outside: + the distance to the nearest mask pixel; inside: -(the distance to the nearest "
            "outside pixel - 1), so the mask's own border pixels are 0; return float32",
        ),
        Case(
            "an L-shaped region in an 8x9 image",
            (blob,),
            expected=reference(blob),
            compare=_CLOSE,
            hint="scipy.ndimage.distance_transform_edt(x) gives each nonzero pixel its distance to the nearest "
            "zero: apply it to ~mask (outside) and to mask (inside)",
        ),
        Case(
            "an empty mask (the class is absent): all zeros",
            (torch.zeros(4, 5, dtype=torch.bool),),
            expected=torch.zeros(4, 5),
            compare=_CLOSE,
            hint="with no object there is no boundary: return zeros, as the reference does (scipy's transform "
            "of an array without zeros is not meaningful)",
        ),
        Case(
            "a mask covering the whole image: no boundary inside it, all zeros",
            (full,),
            expected=torch.zeros(4, 4),
            compare=_CLOSE,
            hint="when the mask has no outside pixel there is no boundary in the image either: return zeros",
        ),
    ]
    return run_checks("Exercise 6.4 (signed_distance)", fn, cases)


def _boundary_loss(logits: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
    """segbook's boundary loss of binary logits (N, 1, H, W) given the foreground's signed distance map."""
    unused = torch.zeros(logits.shape[0], *logits.shape[2:], dtype=torch.long)  # no pixel ignored, phi given
    return boundary_loss(logits, unused, distance_map=phi)


def check_boundary_loss_grad(fn: Callable) -> bool:
    """Exercise 6.5: ``boundary_loss_grad(logits, phi)``: (N, 1, H, W) logits and map → dL_B/dlogits, same shape."""
    square = torch.zeros(5, 5, dtype=torch.long)
    square[1:4, 1:4] = 1
    phi_square = signed_distance_map(square, 2)[1][None, None]  # (1, 1, 5, 5): Exercise 6.4's hand-worked map
    two = torch.zeros(2, 6, 6, dtype=torch.long)
    two[0, 1:5, 1:4] = 1
    two[1, 2:6, 0:6] = 1  # an object touching the image's edges
    phi_two = signed_distance_map(two, 2)[:, 1:]  # (2, 1, 6, 6)
    g = torch.Generator().manual_seed(6)
    random_logits = 2 * torch.randn(2, 1, 6, 6, generator=g)
    # A confident prediction: logits +-100 and +-3, random signs; sigma'(+-100) ~ 4e-44, exp(100) = inf in float32.
    sure = torch.where(torch.rand(2, 1, 6, 6, generator=g) < 0.5, -1.0, 1.0)
    sure = sure * torch.where(torch.rand(2, 1, 6, 6, generator=g) < 0.5, 100.0, 3.0)
    cases = [
        (
            "one 5x5 image, logits 0 everywhere, the map of Exercise 6.4's 3x3 square",
            (torch.zeros(1, 1, 5, 5), phi_square),
        ),
        ("two 6x6 images, random logits: L_B is a mean over all N x H x W pixels", (random_logits, phi_two)),
        (
            "a confident prediction, logits of +-100 and +-3 in float32: the gradient must stay finite",
            (sure, phi_two),
        ),
    ]
    return check_gradient(
        "Exercise 6.5 (boundary_loss_grad)",
        fn,
        _boundary_loss,
        cases,
        hint="L_B = mean over the N x H x W pixels of phi * sigmoid(logits): differentiate it with respect to one "
        "logit (only one term of the mean depends on it), through the sigmoid, with the sign of phi kept. "
        "exp(100) overflows in float32 (inf / inf is NaN): write the sigmoid's derivative with torch.sigmoid",
    )
