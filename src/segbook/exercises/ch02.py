"""Checks for the exercises of chapter 2 (sliding window).

Each ``check_*`` runs the student's function on several cases, simple ones first, and explains the first
failure. Expected values come from the package (``segbook.ops.sliding_window.extract_patches`` and
``linear_to_conv``) or are worked out by hand. Exercises 2.4 and 2.5 are short questions
(:func:`segbook.exercises.check_number`, :func:`segbook.exercises.check_choice`): how much work the sliding window
repeats, and why strides become dilations.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from segbook.exercises._core import Case, default_compare, describe, run_checks
from segbook.exercises._questions import check_choice, check_number
from segbook.ops import extract_patches as _extract_patches

__all__ = [
    "check_extract_patches",
    "check_shared_fraction",
    "check_linear_to_conv",
    "check_answer_2_4",
    "check_answer_2_5",
]


def check_extract_patches(fn: Callable) -> bool:
    """Exercise 2.1: ``extract_patches(images, patch_size)``: (N, C, H, W) → (N*H*W, C, P, P), zero padding."""
    g = torch.Generator().manual_seed(21)
    tiny = torch.arange(9.0).reshape(1, 1, 3, 3)
    corner = torch.tensor([[[[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 3.0, 4.0]]]])  # worked by hand
    rgb = torch.rand(2, 3, 4, 5, generator=g)
    small = torch.rand(1, 2, 2, 3, generator=g)
    cases = [
        Case(
            "a 3x3 image, P = 3: the centre pixel's patch is the whole image",
            (tiny, 3),
            expected=_extract_patches(tiny, 3),
            hint="pad by r = P // 2 zeros on every side (F.pad(images, (r, r, r, r))), then take the P x P "
            "window starting at (i, j) of the padded image for pixel (i, j); there are H * W patches",
        ),
        Case(
            "the same image: the top-left pixel's patch, worked by hand, is patch 0",
            (tiny, 3),
            expected=corner,
            compare=lambda e, got: default_compare(e, got[:1] if isinstance(got, torch.Tensor) else got),
            hint="beyond the border the patch holds zeros: pad with zeros before cutting the windows",
        ),
        Case(
            "two RGB images of 4x5, P = 3: patch n*H*W + i*W + j belongs to pixel (i, j) of image n",
            (rgb, 3),
            expected=_extract_patches(rgb, 3),
            hint="order the patches image by image, then row by row: F.unfold returns (N, C*P*P, H*W), so "
            "permute it to (N, H*W, C*P*P) before reshaping to (N*H*W, C, P, P); without the permute "
            "the numbers are scrambled across patches",
        ),
        Case(
            "a patch larger than the image (P = 5 on 2x3): mostly zeros",
            (small, 5),
            expected=_extract_patches(small, 5),
            hint="pad by r = P // 2 even when r is larger than the image; F.pad with zeros allows it",
        ),
        Case(
            "P = 1: every patch is one pixel",
            (rgb, 1),
            expected=_extract_patches(rgb, 1),
            hint="with P = 1 there is no padding (r = 0) and the patches are the pixels, shape (N*H*W, C, 1, 1)",
        ),
        Case(
            "an even patch size has no centre pixel: raise ValueError",
            (rgb, 4),
            raises=ValueError,
            hint="check patch_size % 2 == 1 first and raise ValueError otherwise",
        ),
    ]
    return run_checks("Exercise 2.1 (extract_patches)", fn, cases)


def check_shared_fraction(fn: Callable) -> bool:
    """Exercise 2.2: ``shared_fraction(patch_size, dy, dx)``: share of a P x P patch inside its shifted copy."""
    cases = [
        Case(
            "P = 15, the right-hand neighbour (dy=0, dx=1)",
            (15, 0, 1),
            expected=14 / 15,
            hint="the two windows share P - |dx| columns and P - |dy| rows; divide by the P * P pixels of a patch",
        ),
        Case(
            "the same patch (no shift) shares everything",
            (7, 0, 0),
            expected=1.0,
            hint="with dy = dx = 0 the answer is 1.0",
        ),
        Case(
            "P = 3, the diagonal neighbour (dy=1, dx=1): 2 x 2 of 3 x 3",
            (3, 1, 1),
            expected=4 / 9,
            hint="rows and columns both shrink: (P - |dy|) * (P - |dx|) / P**2",
        ),
        Case(
            "negative shifts are as far as positive ones",
            (5, -2, 1),
            expected=12 / 25,
            hint="use the absolute value of each shift: a neighbour above overlaps as much as one below",
        ),
        Case(
            "patches far apart share nothing (P = 15, dy = dx = 20)",
            (15, 20, 20),
            expected=0.0,
            hint="clamp each factor at 0, max(0, P - |d|): two negative factors would multiply into a positive "
            "'overlap'",
        ),
        Case(
            "apart in one direction only (P = 5, dy = 7, dx = 0)",
            (5, 7, 0),
            expected=0.0,
            hint="clamp each factor at 0 before multiplying: max(0, P - |dy|) * max(0, P - |dx|)",
        ),
    ]
    return run_checks("Exercise 2.2 (shared_fraction)", fn, cases)


class _Wanted:
    """What a case expects, in words, for results checked by their behaviour (shown as ``expected:``)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _conv_equivalent(linear: nn.Linear, in_shape: tuple, probe: torch.Tensor, wide: torch.Tensor) -> Callable:
    """A compare function: ``got`` must be an nn.Conv2d computing ``linear`` on ``probe`` and sliding on ``wide``."""
    c, h, w = in_shape

    def compare(expected: object, got: object):
        if not isinstance(got, nn.Conv2d):
            return False, f"expected an nn.Conv2d, got {type(got).__name__} {describe(got)}"
        if (got.in_channels, tuple(got.kernel_size)) != (c, (h, w)):
            return False, (
                f"expected Conv2d(in_channels={c}, kernel_size={(h, w)}), got "
                f"Conv2d(in_channels={got.in_channels}, kernel_size={tuple(got.kernel_size)})"
            )
        if got.out_channels != linear.out_features:
            return False, f"expected out_channels={linear.out_features} (the Linear's outputs), got {got.out_channels}"
        if (got.bias is None) != (linear.bias is None):
            return False, "the bias differs: keep a bias exactly when the Linear layer has one"
        with torch.no_grad():
            want, out = linear(probe.flatten(1)), got(probe)  # (B, O) and (B, O, 1, 1)
            if out.shape != (probe.shape[0], linear.out_features, 1, 1):
                return False, f"on a ({c}, {h}, {w}) input the output should be 1x1, got shape {tuple(out.shape)}"
            gap = (out.flatten(1) - want).abs().max().item()
            if gap > 1e-5:
                return False, (
                    f"on a ({c}, {h}, {w}) input the convolution's output differs from the Linear "
                    f"layer's by up to {gap:.3g}"
                )
            slid = got(wide)  # the Linear layer at every h x w window of a larger map
            window = wide[:, :, 1 : 1 + h, 2 : 2 + w].flatten(1)
            gap = (slid[:, :, 1, 2] - linear(window)).abs().max().item()
            if gap > 1e-5:
                return False, (
                    f"on a larger input, output (1, 2) differs from the Linear layer applied to its window by {gap:.3g}"
                )
        return True, ""

    return compare


def check_linear_to_conv(fn: Callable) -> bool:
    """Exercise 2.3: ``linear_to_conv(linear, in_shape)``: an ``nn.Conv2d`` equal to ``linear`` on (C, h, w) maps."""
    g = torch.Generator().manual_seed(23)  # a private generator: the notebook's random state is left alone
    cases = []
    for description, in_shape, out, bias, hint in [
        (
            "a Linear layer on a flattened (1, 1, 1) map is a 1x1 convolution",
            (1, 1, 1),
            3,
            True,
            "build nn.Conv2d(C, linear.out_features, (h, w)) and copy the weights reshaped to (O, C, h, w), "
            "and the bias",
        ),
        (
            "a (2, 3, 3) map: the kernel is 3x3 with 2 input channels",
            (2, 3, 3),
            4,
            True,
            "reshape linear.weight (O, C*h*w) to (O, C, h, w): Flatten orders the features channel first, then row, "
            "then column, exactly the layout of a Conv2d weight; do not permute",
        ),
        ("a non-square (3, 2, 4) map", (3, 2, 4), 5, True, "the kernel size is (h, w) = in_shape[1:], not a square"),
        ("a Linear layer without bias", (4, 2, 2), 2, False, "pass bias=linear.bias is not None to nn.Conv2d"),
    ]:
        with torch.random.fork_rng(devices=[]):
            linear = nn.Linear(in_shape[0] * in_shape[1] * in_shape[2], out, bias=bias)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(linear.weight.shape, generator=g))
            if bias:
                linear.bias.copy_(torch.randn(out, generator=g))
        probe = torch.randn(3, *in_shape, generator=g)
        wide = torch.randn(2, in_shape[0], in_shape[1] + 3, in_shape[2] + 4, generator=g)
        cases.append(
            Case(
                description,
                (linear, in_shape),
                expected=_Wanted(
                    f"an nn.Conv2d({in_shape[0]}, {out}, kernel_size={in_shape[1:]}, bias={bias}) that computes "
                    "the Linear layer"
                ),
                compare=_conv_equivalent(linear, in_shape, probe, wide),
                hint=hint,
            )
        )
    with torch.random.fork_rng(devices=[]):  # building layers draws random weights: keep the notebook's stream
        return run_checks("Exercise 2.3 (linear_to_conv)", fn, cases)


# Exercise 2.4, for a 64x64 image and the chapter's classifier (P = 15, three valid 3x3 convolutions):
_SIDE, _P = 64, 15
_PATCHES = _SIDE * _SIDE  # one forward pass per pixel
_PER_PATCH = (_P - 2) ** 2  # the first valid 3x3 convolution's map on one patch: 13 x 13
_DENSE = (_SIDE + 2 * (_P // 2) - 2) ** 2  # its map on the image padded by r = 7 (78 x 78): 76 x 76
_PADDED = (_SIDE + 2 * (_P // 2)) ** 2  # the padded image itself, 78 x 78


def check_answer_2_4(answer: object) -> bool:
    """Exercise 2.4: ``answer_2_4``: first-layer positions, sliding window / convolutionalized, 64x64, P = 15."""
    label = "Exercise 2.4 (answer_2_4)"
    window = _PATCHES * _PER_PATCH
    return check_number(
        label,
        answer,
        expected=window / _DENSE,
        rel_tol=5e-3,
        why=(
            f"the sliding window runs the first convolution on {_SIDE} x {_SIDE} = {_PATCHES:,} patches, and on "
            f"each {_P}x{_P} patch a valid 3x3 convolution gives {_P - 2} x {_P - 2} = {_PER_PATCH} positions: "
            f"{window:,} in all. The convolutionalized network pads the image by r = {_P // 2} once "
            f"({_SIDE + _P - 1} x {_SIDE + _P - 1}) and its first convolution gives {_SIDE + _P - 3} x "
            f"{_SIDE + _P - 3} = {_DENSE:,} positions. The ratio, {window / _DENSE:.1f}, is a little below "
            f"{_PER_PATCH}, how often one feature inside the image is computed, because the dense map also covers "
            f"the border of padding; it approaches {_PER_PATCH} as the image grows. Deeper layers repeat less "
            f"({_P - 4}^2, then {_P - 6}^2 times), and only the head's work is needed once per pixel."
        ),
        hint="count each side on its own: positions per patch times the number of patches, and the size of the "
        "first convolution's map when it runs once over the padded image",
        near={
            float(_PER_PATCH): "that is how often one feature inside the image is computed; the convolutionalized "
            "network's first map is larger than the image: it runs over the padded image, border included",
            _PATCHES * _PER_PATCH / _PADDED: "the first convolution is valid: its map is smaller than the padded "
            "image it reads",
            _PATCHES * _PER_PATCH / (_SIDE - 2) ** 2: "the convolutionalized network runs over the image padded "
            "by r on every side, not over the bare image",
            _PATCHES * _P**2 / _DENSE: "on a patch, count the first convolution's outputs, not the patch's pixels",
            _PATCHES * _P**2 / _PADDED: "count the first convolution's outputs, not pixels: a valid 3x3 convolution "
            "shrinks the map, on a patch and on the padded image",
            float(_P**2): "that is how many patches each pixel is copied into; the question counts the first "
            "convolution's output positions",
            float(_PATCHES): "that is the number of forward passes; the question counts the first convolution's "
            "output positions",
            float(window): "that is the sliding window's count alone; divide it by the convolutionalized network's",
            float(_DENSE): "that is the convolutionalized network's count alone; the question asks for the "
            "sliding window's count divided by it",
            _DENSE / window: "the ratio is upside down: the sliding window's count divided by the "
            "convolutionalized network's",
        },
    )


def check_answer_2_5(answer: object) -> bool:
    """Exercise 2.5: ``answer_2_5``: what keeping the stride, or dropping it without dilation, gives (a letter)."""
    label = "Exercise 2.5 (answer_2_5)"
    return check_choice(
        label,
        answer,
        options={
            "a": "both give the sliding window's logits at every pixel; dilation only makes the network faster",
            "b": "A gives the sliding window's logits, but only at every second row and column; B gives a value "
            "at every pixel, but not the sliding window's",
            "c": "A gives a value at every pixel, but not the sliding window's; B gives the sliding window's "
            "logits at every second row and column",
            "d": "both give the sliding window's logits at every second row and column; only the dilated network "
            "gives every pixel",
        },
        correct="b",
        why=(
            "in the patch, the layers after the pooling combine pooled positions that lie 2 input pixels apart. "
            "A keeps the stride 2, so its later kernels combine exactly those positions and its values are the "
            "classifier's; but the pooling computes only every second position, so A answers only for the pixels at "
            "even rows and columns, a quarter of them. B computes every position, but its undilated kernels combine "
            "neighbouring positions, 1 pixel apart, which the patch never combined: each of its values is a "
            "different function of the image, with a smaller receptive field. Stride 1 with dilation 2 in every "
            "later layer gives both: every position, each reading what its patch read."
        ),
        wrong={
            "a": "follow one kernel after the pooling: in the patch it combines positions 2 input pixels apart. "
            "Which positions does it combine in A, and in B, and how many positions does each compute?",
            "c": "look again at which network still has a stride of 2 somewhere: that is the one that computes "
            "fewer positions",
            "d": "B has no stride left anywhere: a network of stride-1 layers computes a position for every "
            "pixel; the question is what those values are",
        },
    )
