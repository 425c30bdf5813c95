"""Checks for the exercises of chapter 7 (FCN-32s, FCN-16s and FCN-8s).

Each ``check_*`` runs the student's function on several cases and explains the first failure. Expected values
come from :class:`segbook.models.FCN`, :mod:`segbook.ops` or are worked out by hand.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from segbook.exercises._core import Case, allclose, default_compare, run_checks
from segbook.exercises._values import exact
from segbook.ops import bilinear_kernel

__all__ = ["check_score_map_size", "check_fuse_skip", "check_zero_score_layer"]

_CLOSE = allclose(rtol=1e-5, atol=1e-6)


def check_score_map_size(fn: Callable) -> bool:
    """Exercise 7.1: ``score_map_size(height, width, variant)`` → ``(h, w)`` of the finest scores of FCN-variant."""
    cases = [
        Case(
            "a 64x64 image, FCN-32s (worked by hand: 64 / 32)",
            (64, 64, "32s"),
            expected=(2, 2),
            compare=exact,
            hint="the finest scores of FCN-32s are the stride-32 scores of fc7: divide by the output stride "
            "32 and return a tuple (h, w) of ints",
        ),
        Case(
            "a 64x64 image, FCN-8s (worked by hand: 64 / 8)",
            (64, 64, "8s"),
            expected=(8, 8),
            compare=exact,
            hint="the output stride is the number in the variant's name: 32, 16 or 8",
        ),
        Case(
            "a 96x128 image, FCN-16s",
            (96, 128, "16s"),
            expected=(6, 8),
            compare=exact,
            hint="height and width are divided separately: (H / stride, W / stride)",
        ),
        Case(
            "a 70x50 image, FCN-8s: first padded to 96x64, a multiple of 32",
            (70, 50, "8s"),
            expected=(12, 8),
            compare=exact,
            hint="the input is padded (bottom and right) to the next multiple of 32, not of the stride, because "
            "the five poolings run in every variant: pool5 needs H and W divisible by 32. Round up, then "
            "divide: ceil(70 / 32) * 32 / 8 = 12",
        ),
        Case(
            "a 33x31 image, FCN-32s: padded to 64x32",
            (33, 31, "32s"),
            expected=(2, 1),
            compare=exact,
            hint="pad up to the next multiple of 32 (33 → 64), do not round down (33 // 32 = 1 loses the last "
            "row of pixels)",
        ),
    ]
    return run_checks("Exercise 7.1 (score_map_size)", fn, cases)


def _reference_fuse(coarse: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    weight = bilinear_kernel(2, coarse.shape[1], dtype=coarse.dtype)  # (C, C, 4, 4), diagonal
    return F.conv_transpose2d(coarse, weight, stride=2, padding=1) + skip  # (N, C, 2h, 2w)


def check_fuse_skip(fn: Callable) -> bool:
    """Exercise 7.2: ``fuse_skip(coarse, skip)``: (N, C, h, w) and (N, C, 2h, 2w) scores → (N, C, 2h, 2w)."""
    g = torch.Generator().manual_seed(7)
    one = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])  # (1, 1, 2, 2)
    zeros4 = torch.zeros(1, 1, 4, 4)
    # By hand: the bilinear 4x4 kernel is outer([.25, .75, .75, .25]); input (0, 0) lands on output rows and
    # columns -1 ... 2, and the padding of 1 crops row/column -1.
    row = torch.tensor([0.75, 0.75, 0.25, 0.0])
    hand = (row[:, None] * row[None, :])[None, None]
    coarse = torch.randn(2, 3, 3, 5, generator=g)
    skip = torch.randn(2, 3, 6, 10, generator=g)
    flat, flat_skip = torch.full((1, 2, 3, 3), 2.0), torch.zeros(1, 2, 6, 6)
    cases = [
        Case(
            "one score of 1 in a 2x2 map, a zero skip (worked by hand)",
            (one, zeros4),
            expected=hand,
            compare=_CLOSE,
            hint="upsample with F.conv_transpose2d(coarse, segbook.ops.bilinear_kernel(2, C), stride=2, "
            "padding=1): each input score spreads over a 4x4 patch with weights 0.25/0.75 per axis; "
            "nearest-neighbour copying would give a block of ones",
        ),
        Case(
            "a zero skip: the result is the upsampled coarse scores (what a zero-initialised score layer gives)",
            (coarse, torch.zeros(2, 3, 6, 10)),
            expected=_reference_fuse(coarse, torch.zeros(2, 3, 6, 10)),
            compare=_CLOSE,
            hint="the kernel of bilinear_kernel(2, C) is (C, C, 4, 4) and diagonal: class c's scores are upsampled "
            "on their own; use stride=2 and padding=1 so that the output is exactly twice the input",
        ),
        Case(
            "random scores, 2 images and 3 classes: upsample x2, then ADD the skip scores",
            (coarse, skip),
            expected=_reference_fuse(coarse, skip),
            compare=_CLOSE,
            hint="FCN fuses by summation: up2(coarse) + skip, the same shape (N, C, 2h, 2w) as the skip. "
            "Concatenating the two along the channels is U-Net's fusion, not FCN's",
        ),
        Case(
            "constant scores 2: the transposed convolution sees zeros outside the map, so the border is lower",
            (flat, flat_skip),
            expected=_reference_fuse(flat, flat_skip),
            compare=_CLOSE,
            hint="F.interpolate(..., mode='bilinear') repeats the edge value (2 everywhere), but the transposed "
            "convolution of FCN treats outside scores as 0: its first and last rows and columns get "
            "0.75 * 2 = 1.5. Use the transposed convolution, as the model does",
        ),
    ]
    return run_checks("Exercise 7.2 (fuse_skip)", fn, cases)


def _describe_layer(layer: object, in_channels: int) -> dict:
    """The properties of a 1x1 score layer that the exercise asks for, as a dict (compared key by key)."""
    if not isinstance(layer, nn.Conv2d):
        return {"type": type(layer).__name__}
    shape = {
        "type": "Conv2d",
        "kernel_size": tuple(layer.kernel_size),
        "in_channels, out_channels": (layer.in_channels, layer.out_channels),
    }
    if layer.in_channels != in_channels:  # it cannot run on these features
        return {
            **shape,
            **dict.fromkeys(
                (
                    "has a bias",
                    "output on random features is all zero",
                    "weights trainable (requires_grad)",
                    "weights get a non-zero gradient",
                ),
                "not measured",
            ),
        }
    x = torch.randn(2, in_channels, 5, 5, generator=torch.Generator().manual_seed(0))
    layer.zero_grad(set_to_none=True)
    out = layer(x)
    if out.requires_grad:
        out.sum().backward()
    grad = layer.weight.grad
    return {
        **shape,
        "has a bias": layer.bias is not None,
        "output on random features is all zero": bool(out.detach().abs().max() == 0),
        "weights trainable (requires_grad)": bool(layer.weight.requires_grad),
        "weights get a non-zero gradient": grad is not None and bool(grad.abs().max() > 0),
    }


def _layer_compare(in_channels: int) -> Callable:
    def compare(expected: object, got: object) -> "tuple[bool, str]":
        return default_compare(expected, _describe_layer(got, in_channels))

    return compare


def check_zero_score_layer(fn: Callable) -> bool:
    """Exercise 7.3: ``zero_score_layer(in_channels, num_classes)`` → a zero-initialised, trainable 1x1 conv."""

    def expected(c_in: int, c_out: int) -> dict:
        return {
            "type": "Conv2d",
            "kernel_size": (1, 1),
            "in_channels, out_channels": (c_in, c_out),
            "has a bias": True,
            "output on random features is all zero": True,
            "weights trainable (requires_grad)": True,
            "weights get a non-zero gradient": True,
        }

    cases = [
        Case(
            "score_pool4 of the book's FCN: 96 channels in, 5 classes out",
            (96, 5),
            expected=expected(96, 5),
            compare=_layer_compare(96),
            hint="the problem line names the property that differs. The layer scores each position from that "
            "position's features only (which kernel size is that?); zero BOTH of its parameters, and keep them "
            "trainable: zero is where the layer starts, not where it stays",
        ),
        Case(
            "score_pool3: 64 channels in, 21 classes out (PASCAL VOC)",
            (64, 21),
            expected=expected(64, 21),
            compare=_layer_compare(64),
            hint="in_channels is the number of channels of the pooled features, num_classes the number of "
            "output channels",
        ),
    ]
    return run_checks("Exercise 7.3 (zero_score_layer)", fn, cases)
