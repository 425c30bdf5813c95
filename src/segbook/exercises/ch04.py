"""Checks for the exercises of chapter 4 (upsampling layers).

Each ``check_*`` runs the student's function on several cases, the slides' examples first, then edge cases, and
explains the first failure. Expected values come from :mod:`segbook.ops` (``unpooling`` and ``transposed``,
themselves tested against PyTorch) or are written out by hand from the slides. Exercise 4.5 is a derivation: its
gradient is compared with autograd's and with finite differences (:func:`segbook.exercises.check_gradient`).
Exercise 4.6 is checked by what its weight does: the transposed convolution it makes must agree with
``F.interpolate(mode="bilinear")`` away from the border.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from segbook.exercises._core import Case, allclose, describe, run_checks
from segbook.exercises._gradients import check_gradient
from segbook.exercises._values import exact_int
from segbook.ops import bed_of_nails as _bed_of_nails
from segbook.ops import conv_transpose1d as _conv_transpose1d
from segbook.ops import conv_transpose_output_size as _conv_transpose_output_size
from segbook.ops import max_pool2d_with_indices as _max_pool2d_with_indices
from segbook.ops import max_unpool2d as _max_unpool2d

__all__ = [
    "check_bed_of_nails",
    "check_max_unpool",
    "check_transposed_output_size",
    "check_conv_transpose1d_scatter",
    "check_conv2d_input_grad",
    "check_bilinear_weight",
]


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


def _conv_loss(x: torch.Tensor, w: torch.Tensor, g: torch.Tensor, stride: int, padding: int) -> torch.Tensor:
    """L = sum(conv2d(x, w) * g): its gradient with respect to the output y is g, so dL/dx = C^T g."""
    return (F.conv2d(x, w, stride=stride, padding=padding) * g).sum()


def check_conv2d_input_grad(fn: Callable) -> bool:
    """Exercise 4.5: ``conv2d_input_grad(x, w, g, stride, padding)``: dL/dx of L = sum(conv2d(x, w) * g), by hand."""
    gen = torch.Generator().manual_seed(45)

    def case(description: str, x_shape: tuple, w_shape: tuple, stride: int, padding: int) -> "tuple[str, tuple]":
        x = torch.randn(x_shape, generator=gen)
        w = torch.randn(w_shape, generator=gen)
        y_shape = F.conv2d(x, w, stride=stride, padding=padding).shape
        return description, (x, w, torch.randn(y_shape, generator=gen), stride, padding)

    cases = [
        case("stride 1, padding 1: a 5x5 input keeps its size", (1, 1, 5, 5), (1, 1, 3, 3), 1, 1),
        case(
            "the chapter's stride-2 recap: 4x4 input, 3x3 kernel, padding 1, 2x2 output",
            (1, 1, 4, 4),
            (1, 1, 3, 3),
            2,
            1,
        ),
        case("a 5x5 input, stride 2, padding 1: a 3x3 output, like a 6x6 input's", (1, 1, 5, 5), (1, 1, 3, 3), 2, 1),
        case("a 6x7 input, stride 2, padding 1: the floor drops a row but no column", (1, 1, 6, 7), (1, 1, 3, 3), 2, 1),
        case("stride 3, a 2x2 kernel, no padding, 7x7: some cells no window reads", (1, 1, 7, 7), (1, 1, 2, 2), 3, 0),
        case("a batch of 2, 3 input and 4 output channels, a 3x2 kernel", (2, 3, 6, 5), (4, 3, 3, 2), 2, 1),
    ]
    return check_gradient(
        "Exercise 4.5 (conv2d_input_grad)",
        fn,
        _conv_loss,
        cases,
        hint="each input cell receives the weight times g of every output whose window covered it, with the kernel "
        "as the convolution used it (not flipped): that is the transposed convolution of g; and the result has x's "
        "shape, including rows or columns that the convolution's rounding down left out (height and width apart)",
    )


def _bilinear_output(weight: object, channels: int, fy: int, fx: int) -> torch.Tensor:
    """What ``weight`` does as a transposed convolution with stride (fy, fx): the output away from the border."""
    ky, kx = 2 * fy - fy % 2, 2 * fx - fx % 2
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {describe(weight)}")
    if tuple(weight.shape) != (channels, channels, ky, kx):
        raise ValueError(
            f"the weight has shape {tuple(weight.shape)}; for channels={channels} and factors ({fy}, {fx}) "
            f"the statement asks for (channels, channels, ky, kx) = {(channels, channels, ky, kx)}"
        )
    if weight.dtype != torch.float32:
        raise TypeError(f"the weight must be float32, got {weight.dtype}")
    x = _bilinear_input(channels)
    out = F.conv_transpose2d(x, weight, stride=(fy, fx), padding=((ky - fy) // 2, (kx - fx) // 2))
    return out[..., fy:-fy, fx:-fx]


def _bilinear_input(channels: int) -> torch.Tensor:
    return torch.rand(2, channels, 6, 7, generator=torch.Generator().manual_seed(46 + channels))


def check_bilinear_weight(fn: Callable) -> bool:
    """Exercise 4.6: ``bilinear_weight(channels, fy, fx)``: the (C, C, ky, kx) weight of bilinear upsampling."""

    def case(description: str, channels: int, fy: int, fx: int, hint: str) -> Case:
        x = _bilinear_input(channels)
        interpolated = F.interpolate(x, scale_factor=(fy, fx), mode="bilinear", align_corners=False)
        return Case(
            f"{description} (your weight's upsampling against F.interpolate's, away from the border)",
            (channels, fy, fx),
            expected=interpolated[..., fy:-fy, fx:-fx],
            compare=allclose(rtol=1e-4, atol=1e-5),
            derive=lambda weight, args, kwargs: _bilinear_output(weight, *args),
            hint=hint,
        )

    cases = [
        case(
            "one channel, factor 2 (the section's kernel)",
            1,
            2,
            2,
            hint="the output is a sum of kernel copies: at every output cell the taps that land there must add "
            "up to 1 (a constant stays constant) and be centred on the cell's position",
        ),
        case(
            "one channel, factor 3: an odd factor",
            1,
            3,
            3,
            hint="for an odd factor the kernel has an odd size, and its centre is a tap, whose weight is 1",
        ),
        case(
            "three channels, factor 2: each channel is upsampled on its own",
            3,
            2,
            2,
            hint="weight[c_in, c_out] connects input channel c_in to output channel c_out: a channel must not "
            "receive copies of the other channels",
        ),
        case(
            "two channels, factors (2, 3): 2 along the rows, 3 along the columns",
            2,
            2,
            3,
            hint="the kernel is the outer product of a profile along the rows (factor fy) and a profile along the "
            "columns (factor fx), each with its own size",
        ),
        case(
            "one channel, factors (4, 1): the columns are not resized",
            1,
            4,
            1,
            hint="with fx = 1 the column profile has one tap of weight 1: the kernel is (ky, 1)",
        ),
    ]
    return run_checks("Exercise 4.6 (bilinear_weight)", fn, cases)
