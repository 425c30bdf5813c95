"""Checks for the exercises of chapter 4 (upsampling layers).

Each ``check_*`` runs the student's function on several cases, the slides' examples first, then edge cases, and
explains the first failure. Expected values come from :mod:`segbook.ops` (``unpooling`` and ``transposed``,
themselves tested against PyTorch) or are written out by hand from the slides.
"""

from __future__ import annotations

from typing import Callable

import torch

from segbook.exercises._core import Case, run_checks
from segbook.exercises._values import exact_int
from segbook.ops import bed_of_nails as _bed_of_nails
from segbook.ops import conv_transpose1d as _conv_transpose1d
from segbook.ops import conv_transpose_output_size as _conv_transpose_output_size
from segbook.ops import max_pool2d_with_indices as _max_pool2d_with_indices
from segbook.ops import max_unpool2d as _max_unpool2d

__all__ = ["check_bed_of_nails", "check_max_unpool", "check_transposed_output_size", "check_conv_transpose1d_scatter"]


def check_bed_of_nails(fn: Callable) -> bool:
    """Exercise 4.1: ``bed_of_nails(x, s)``: (N, C, H, W) → (N, C, sH, sW), value at the top-left of each block."""
    g = torch.Generator().manual_seed(41)
    slide = torch.tensor([[[[1, 2], [3, 4]]]])
    wide = torch.arange(1, 7).view(1, 1, 2, 3)
    batch = torch.rand(2, 3, 2, 2, generator=g)
    double = torch.rand(1, 2, 3, 2, generator=g, dtype=torch.float64)
    cases = [
        Case(
            "the slide's 2x2 -> 4x4 example",
            (slide, 2),
            expected=torch.tensor([[[[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]]]),
            hint="start from zeros of shape (N, C, s*H, s*W) and put each value at the TOP-LEFT corner of its "
            "s x s block: out[..., ::s, ::s] = x (copying it into the whole block is nearest neighbour)",
        ),
        Case(
            "a 2x3 input with s = 3 (not square, not 2)",
            (wide, 3),
            expected=_bed_of_nails(wide, 3),
            hint="the output is (N, C, s*H, s*W): use s for both dimensions and keep rows and columns apart",
        ),
        Case(
            "a batch of 2 images with 3 channels",
            (batch, 2),
            expected=_bed_of_nails(batch, 2),
            hint="keep the batch and channel dimensions: build zeros of shape (N, C, s*H, s*W) and write into "
            "out[..., ::s, ::s] (or out[:, :, ::s, ::s])",
        ),
        Case(
            "a float64 input keeps its dtype",
            (double, 2),
            expected=_bed_of_nails(double, 2),
            hint="make the zeros with x's dtype: x.new_zeros(...) or torch.zeros(..., dtype=x.dtype)",
        ),
        Case(
            "s = 1 changes nothing",
            (slide, 1),
            expected=slide.clone(),
            hint="with s = 1 every block is one pixel, so the output equals the input",
        ),
    ]
    return run_checks("Exercise 4.1 (bed_of_nails)", fn, cases)


def _pooled(x: torch.Tensor):
    """Values and indices of a 2x2 max pooling of ``x`` (the package's, equal to nn.MaxPool2d's)."""
    return _max_pool2d_with_indices(x, 2)


def check_max_unpool(fn: Callable) -> bool:
    """Exercise 4.2: ``max_unpool(values, indices, output_size)`` puts each value back at its remembered position."""
    g = torch.Generator().manual_seed(42)
    slide_in = torch.tensor([[[[1.0, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]]]])
    _, slide_idx = _pooled(slide_in)
    slide_values = torch.tensor([[[[1.0, 2], [3, 4]]]])
    wide_in = torch.rand(1, 1, 4, 6, generator=g)
    wide_values, wide_idx = _pooled(wide_in)
    batch_in = torch.rand(2, 3, 4, 4, generator=g)
    batch_values, batch_idx = _pooled(batch_in)
    odd_in = torch.rand(1, 2, 5, 5, generator=g)
    odd_values, odd_idx = _pooled(odd_in)
    double_in = torch.rand(1, 1, 4, 4, generator=g, dtype=torch.float64)
    double_values, double_idx = _pooled(double_in)
    cases = [
        Case(
            "the slide's example: unpooling [[1, 2], [3, 4]] with the positions remembered from its 4x4",
            (slide_values, slide_idx, (4, 4)),
            expected=torch.tensor([[[[0.0, 0, 2, 0], [0, 1, 0, 0], [0, 0, 0, 0], [3, 0, 0, 4]]]]),
            hint="index k means row k // W, column k % W of the (H, W) output plane; every other output is 0",
        ),
        Case(
            "a 4x6 output (wider than tall)",
            (wide_values, wide_idx, (4, 6)),
            expected=_max_unpool2d(wide_values, wide_idx, 2, output_size=(4, 6)),
            hint="a flat index is row * W + col: divide by the width W (here 6), not by the height H",
        ),
        Case(
            "a batch of 2 with 3 channels: every (H, W) plane has its own indices",
            (batch_values, batch_idx, (4, 4)),
            expected=_max_unpool2d(batch_values, batch_idx, 2, output_size=(4, 4)),
            hint="the indices count inside each (H, W) plane, not in the whole tensor: flatten only the last two "
            "dimensions, e.g. out.view(N, C, H * W).scatter(2, indices.view(N, C, -1), values.view(N, C, -1))",
        ),
        Case(
            "a 5x5 output: the pooling dropped the last row and column",
            (odd_values, odd_idx, (5, 5)),
            expected=_max_unpool2d(odd_values, odd_idx, 2, output_size=(5, 5)),
            hint="take H and W from output_size, not 2 * h: pooling rounds down, so the original size must be given",
        ),
        Case(
            "a float64 input keeps its dtype",
            (double_values, double_idx, (4, 4)),
            expected=_max_unpool2d(double_values, double_idx, 2, output_size=(4, 4)),
            hint="make the zeros with the values' dtype: values.new_zeros(...)",
        ),
    ]
    return run_checks("Exercise 4.2 (max_unpool)", fn, cases)


def check_transposed_output_size(fn: Callable) -> bool:
    """Exercise 4.3: ``transposed_output_size(size, kernel_size, stride=1, padding=0, output_padding=0)``."""

    def case(description: str, args: tuple, hint: str) -> Case:
        return Case(description, args, expected=_conv_transpose_output_size(*args), compare=exact_int, hint=hint)

    cases = [
        case(
            "the slide: 3x3 kernel, stride 2, padding 1, from 2 (no output padding)",
            (2, 3, 2, 1, 0),
            hint="the full scatter result has (n - 1) * s + k cells; padding crops p from EACH side: "
            "(n - 1) * s - 2 * p + k + output_padding",
        ),
        case(
            "the slide's 4x4: the same with output_padding 1",
            (2, 3, 2, 1, 1),
            hint="output_padding adds that many cells at the end: + output_padding",
        ),
        case(
            "3x3 kernel, stride 1, padding 1 keeps the size (4 -> 4)",
            (4, 3, 1, 1, 0),
            hint="with stride 1 the formula is n - 2p + k - 1",
        ),
        case(
            "4x4 kernel, stride 2, padding 1 doubles the size (5 -> 10)",
            (5, 4, 2, 1, 0),
            hint="(n - 1) * s - 2 * p + k: the kernel size enters the formula, not only the stride",
        ),
        case(
            "2x2 kernel, stride 2, no padding doubles the size (7 -> 14)",
            (7, 2, 2, 0, 0),
            hint="(n - 1) * s + k with p = 0",
        ),
        Case(
            "output_padding must be smaller than the stride",
            (2, 3, 2, 1, 2),
            raises=ValueError,
            hint="raise ValueError when output_padding >= stride: output_padding only chooses among the sizes "
            "a stride-s convolution maps to the same size, and there are s of them",
        ),
    ]
    return run_checks("Exercise 4.3 (transposed_output_size)", fn, cases)


def check_conv_transpose1d_scatter(fn: Callable) -> bool:
    """Exercise 4.4: ``conv_transpose1d_scatter(x, w, stride)``: 1-D, no padding, (L,) and (k,) → ((L-1)s + k,)."""

    def expected(x: torch.Tensor, w: torch.Tensor, stride: int) -> torch.Tensor:
        return _conv_transpose1d(x[None, None], w[None, None], stride=stride)[0, 0]

    g = torch.Generator().manual_seed(44)
    slide_x, slide_w = torch.tensor([1.0, 2.0]), torch.tensor([1.0, 10.0, 100.0])
    ones3 = torch.ones(3)
    x4, w2 = torch.rand(4, generator=g), torch.rand(2, generator=g)
    x3d = torch.rand(3, generator=g, dtype=torch.float64)
    w3d = torch.rand(3, generator=g, dtype=torch.float64)
    cases = [
        Case(
            "the slide's 1D example: [a, b] = [1, 2], [x, y, z] = [1, 10, 100], stride 2",
            (slide_x, slide_w, 2),
            expected=torch.tensor([1.0, 10.0, 102.0, 20.0, 200.0]),
            hint="out[i * stride : i * stride + k] += x[i] * w; the middle cell gets az + bx: where copies "
            "overlap they are SUMMED, not overwritten",
        ),
        Case(
            "stride 1: every output cell sums several copies",
            (ones3, ones3, 1),
            expected=expected(ones3, ones3, 1),
            hint="the output has (L - 1) * stride + k cells; each input value adds a weighted copy of w",
        ),
        Case(
            "stride 3 with a 2-tap kernel leaves gaps of zeros",
            (x4, w2, 3),
            expected=expected(x4, w2, 3),
            hint="the output length is (L - 1) * stride + k, not L * stride: cells no copy reaches stay 0",
        ),
        Case(
            "one input value: the kernel times that value",
            (torch.tensor([3.0]), slide_w, 2),
            expected=3 * slide_w,
            hint="with L = 1 the output is x[0] * w, of length k",
        ),
        Case(
            "float64 inputs keep their dtype",
            (x3d, w3d, 2),
            expected=expected(x3d, w3d, 2),
            hint="create the output with x's dtype: x.new_zeros(length)",
        ),
    ]
    return run_checks("Exercise 4.4 (conv_transpose1d_scatter)", fn, cases)
