"""Checks for the exercises of chapter 3 (fully convolutional networks).

Expected values come from the package: ``segbook.ops.shapes.conv_output_size``, ``segbook.ops.receptive_field.
receptive_field`` and ``count_flops`` (PyTorch's ``FlopCounterMode`` on a real convolution), or from the slides.
Exercise 3.4 is a short question (:func:`segbook.exercises.check_choice`): a network that downsamples against its
dilated (*à trous*) version, compared by receptive field, output grid, weights and cost.
"""

from __future__ import annotations

from typing import Callable, List, Tuple

import torch
from torch import nn

from segbook.exercises._core import Case, run_checks
from segbook.exercises._questions import check_choice
from segbook.exercises._values import exact, exact_int
from segbook.ops import conv_output_size as _conv_output_size
from segbook.ops import count_flops as _count_flops
from segbook.ops import receptive_field as _receptive_field

__all__ = ["check_conv_output_size", "check_receptive_field_size", "check_conv2d_flops", "check_answer_3_4"]


def check_conv_output_size(fn: Callable) -> bool:
    """Exercise 3.1: ``conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1)`` → int."""
    cases = [
        Case(
            "the slide's recap: 3x3 conv, stride 1, pad 1 on 4x4 keeps 4",
            (4, 3, 1, 1),
            expected=_conv_output_size(4, 3, 1, 1),
            compare=exact_int,
            hint="count the positions where the whole kernel fits inside the padded input; the padding is added "
            "on both sides",
        ),
        Case(
            "the slide's recap: 3x3 conv, stride 2, pad 1 on 4x4 gives 2",
            (4, 3, 2, 1),
            expected=_conv_output_size(4, 3, 2, 1),
            compare=exact_int,
            hint="with stride 2 the kernel only visits every other position, starting with the first one: count "
            "the positions where it fits with stride 1, then keep one in two (rounding so that the first counts)",
        ),
        Case(
            "no padding: a valid 3x3 convolution on 10 gives 8",
            (10, 3),
            expected=_conv_output_size(10, 3),
            compare=exact_int,
            hint="with the defaults stride=1, padding=0, dilation=1 the map shrinks by k - 1",
        ),
        Case(
            "an odd size with stride 2 rounds down: 3x3, stride 2 on 32 gives 15",
            (32, 3, 2, 0),
            expected=_conv_output_size(32, 3, 2, 0),
            compare=exact_int,
            hint="the last window must fit inside the input: round down with //, and return an int",
        ),
        Case(
            "a dilated kernel spans d * (k - 1) + 1 pixels: 3x3, dilation 2 on 10 gives 6",
            (10, 3),
            dict(dilation=2),
            expected=_conv_output_size(10, 3, dilation=2),
            compare=exact_int,
            hint="with dilation d a k x k kernel covers d * (k - 1) + 1 pixels; use that instead of k",
        ),
        Case(
            "2x2 max pooling with stride 2 (the same formula) on 7 gives 3",
            (7, 2, 2),
            expected=_conv_output_size(7, 2, 2),
            compare=exact_int,
            hint="pooling follows the same formula; 7 // 2 rounds down",
        ),
        Case(
            "all arguments together: k=5, s=3, p=2, d=2 on 50",
            (50, 5),
            dict(stride=3, padding=2, dilation=2),
            expected=_conv_output_size(50, 5, stride=3, padding=2, dilation=2),
            compare=exact_int,
            hint="each argument alone passes: check that you use the dilated kernel's span together with the "
            "padding before dividing by the stride",
        ),
    ]
    return run_checks("Exercise 3.1 (conv_output_size)", fn, cases)


def _stack(layers: List[Tuple[int, int, int]]) -> List[nn.Module]:
    return [nn.Conv2d(1, 1, k, stride=s, dilation=d) for k, s, d in layers]


def check_receptive_field_size(fn: Callable) -> bool:
    """Exercise 3.3: ``receptive_field_size(layers)``: ``[(k, s, d), ...]`` → ``(size, jump)``."""
    specs = [
        (
            "three 3x3 convolutions, stride 1: 7 pixels",
            [(3, 1, 1)] * 3,
            "start from size 1, jump 1; each layer adds d * (k - 1) * jump to the size; "
            "return a tuple of two Python ints",
        ),
        ("no layers at all: one pixel sees itself", [], "with no layers the field is the pixel itself: (1, 1)"),
        (
            "a stride-2 3x3 convolution, then a 3x3 one",
            [(3, 2, 1), (3, 1, 1)],
            "update the size with the jump of the layer's INPUT, then multiply the jump by the stride: "
            "r = r + d * (k - 1) * j, and only afterwards j = j * s",
        ),
        (
            "three 2x2 poolings with stride 2: 8x8 blocks",
            [(2, 2, 1)] * 3,
            "after each stride-2 layer the jump doubles, so the same kernel adds twice as many input pixels",
        ),
        (
            "dilations 1, 2, 4 (no stride): 15 pixels",
            [(3, 1, 1), (3, 1, 2), (3, 1, 4)],
            "a dilated kernel spans d * (k - 1) + 1 pixels, so it adds d * (k - 1) * jump",
        ),
        (
            "an encoder: conv, pool, conv, pool, conv, conv",
            [(3, 1, 1), (2, 2, 1), (3, 1, 1), (2, 2, 1), (3, 1, 1), (3, 1, 1)],
            "apply the two updates layer by layer, in order",
        ),
        (
            "a 7x7 stride-2 stem, a 3x3 stride-2 pooling, a dilated 3x3 (ResNet-like)",
            [(7, 2, 1), (3, 2, 1), (3, 1, 2)],
            "r = r + d * (k - 1) * j with j the jump before this layer",
        ),
    ]
    cases = []
    for description, layers, hint in specs:
        with torch.random.fork_rng(devices=[]):
            rf = _receptive_field(_stack(layers))
        cases.append(Case(description, (layers,), expected=(rf.size, rf.jump), compare=exact, hint=hint))
    return run_checks("Exercise 3.3 (receptive_field_size)", fn, cases)


def check_conv2d_flops(fn: Callable) -> bool:
    """Exercise 3.2: ``conv2d_flops(c_in, c_out, kernel_size, out_h, out_w)``: FLOPs of one image's convolution."""
    cases = []
    for description, (c_in, c_out, k, out_h, out_w), hint in [
        (
            "one 1x1 convolution from 1 channel to 1 at one pixel: a multiply and an add",
            (1, 1, 1, 1, 1),
            "FlopCounterMode counts 2 FLOPs per multiply-accumulate (a multiply and an add)",
        ),
        (
            "3 -> 8 channels, 3x3 kernel, 10x10 output",
            (3, 8, 3, 10, 10),
            "each output value needs c_in * k * k multiply-accumulates; there are c_out * out_h * out_w of them",
        ),
        (
            "a non-square output, 16 -> 32 channels, 5x5 kernel, 7x9 output",
            (16, 32, 5, 7, 9),
            "multiply by out_h * out_w, the OUTPUT's pixels (a strided or unpadded convolution has fewer than the "
            "input)",
        ),
        (
            "a 1x1 convolution 64 -> 5 (a classifier head) on 32x32",
            (64, 5, 1, 32, 32),
            "the kernel contributes k * k = 1 here",
        ),
    ]:
        with torch.random.fork_rng(devices=[]):  # the weights do not matter; leave the notebook's random stream
            layer = nn.Conv2d(c_in, c_out, k, bias=False)
        flops = _count_flops(layer, torch.zeros(1, c_in, out_h + k - 1, out_w + k - 1))  # valid: out = in - k + 1
        cases.append(Case(description, (c_in, c_out, k, out_h, out_w), expected=flops, compare=exact_int, hint=hint))
    return run_checks("Exercise 3.2 (conv2d_flops)", fn, cases)


def check_answer_3_4(answer: object) -> bool:
    """Exercise 3.4: ``answer_3_4``: a downsampling network A against its dilated version B (a set of letters)."""
    label = "Exercise 3.4 (answer_3_4)"
    return check_choice(
        label,
        answer,
        options={
            "a": "A and B have receptive fields of the same size",
            "b": "B sees more of the image than A, because dilation spreads its kernels' taps",
            "c": "on a 64x64 image, A's output is 16x16, one value per 4x4 block; B's is 64x64, one value per pixel",
            "d": "B has more weights to learn than A",
            "e": "with the same weights, B's value at pixel (4u, 4v) equals A's value at (u, v)",
            "f": "on a 64x64 image, B's last convolution costs as many FLOPs as A's",
        },
        correct=frozenset({"a", "c", "e"}),
        why=(
            "layer by layer, (r, j) goes (3, 1), (5, 2), (9, 2), (13, 4), (21, 4) for A and (3, 1), (5, 1), (9, 1), "
            "(13, 1), (21, 1) for B: each of A's strides spreads every later kernel over twice as many input pixels, "
            "exactly what B's dilations do, so both see 21 pixels (a; b is false). Dilation re-spaces a kernel's taps "
            "and adds none, so the weights are the same (d is false). A's two strides leave one output per 4x4 "
            "block, 16x16; B has no stride and keeps 64x64 (c). At (4u, 4v) B's kernels read exactly the inputs A's "
            "kernels read for (u, v), so B computes every value A does plus those in between (e): chapter 2's "
            "conversion. The price: B's later layers run at full resolution; its last convolution computes 64^2 "
            "positions instead of 16^2, 16 times the FLOPs (f is false). Dilation buys the field at full "
            "resolution; downsampling buys it cheaply, at low resolution."
        ),
        wrong={
            "a": "work out r and j layer by layer for both: a stride multiplies the jump of every later layer; a "
            "dilation multiplies the step of its own layer",
            "b": "apply the recurrence to A too: after its strides, how many input pixels apart are the taps of "
            "its later kernels?",
            "c": "which of the two still has a stride? Each stride of 2 halves the side of every later map",
            "d": "dilation spreads a kernel's taps apart; does it add any?",
            "e": "compare which input pixels B's kernels read for the output at (4u, 4v) with those A's kernels "
            "read for (u, v)",
            "f": "a convolution's FLOPs grow with the number of positions it computes: on how large a map does "
            "each network's last convolution run?",
        },
    )
