"""The output-size formulas agree with PyTorch's layers."""

import itertools

import pytest
import torch

from segbook.ops.shapes import conv_output_size, conv_transpose_output_size


@pytest.mark.parametrize(
    "size, kernel, stride, padding, dilation",
    [
        c
        for c in itertools.product([1, 4, 7, 16], [1, 2, 3, 5], [1, 2, 3], [0, 1, 2], [1, 2])
        if c[0] + 2 * c[3] >= c[4] * (c[1] - 1) + 1
    ],
)
def test_conv_output_size_matches_conv2d(size, kernel, stride, padding, dilation):
    conv = torch.nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation)
    expected = conv(torch.zeros(1, 1, size, size)).shape[-1]
    assert conv_output_size(size, kernel, stride, padding, dilation) == expected


@pytest.mark.parametrize(
    "size, kernel, stride, padding, output_padding",
    [
        c
        for c in itertools.product([1, 2, 5], [1, 2, 3, 4], [1, 2, 3], [0, 1], [0, 1, 2])
        if c[4] < c[2] and (c[0] - 1) * c[2] - 2 * c[3] + c[1] + c[4] >= 1
    ],
)
def test_conv_transpose_output_size_matches_conv_transpose2d(size, kernel, stride, padding, output_padding):
    layer = torch.nn.ConvTranspose2d(1, 1, kernel, stride=stride, padding=padding, output_padding=output_padding)
    expected = layer(torch.zeros(1, 1, size, size)).shape[-1]
    assert conv_transpose_output_size(size, kernel, stride, padding, output_padding) == expected


def test_slide_examples():
    assert conv_output_size(4, 3, stride=1, padding=1) == 4
    assert conv_output_size(4, 3, stride=2, padding=1) == 2
    assert conv_transpose_output_size(2, 3, stride=2, padding=1) == 3
    assert conv_transpose_output_size(2, 3, stride=2, padding=1, output_padding=1) == 4


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: conv_output_size(2, 5), ValueError, "output would be empty"),
        (lambda: conv_output_size(0, 3), ValueError, "size must be >= 1"),
        (lambda: conv_output_size(4, 3, stride=0), ValueError, "stride must be >= 1"),
        (lambda: conv_output_size(4.0, 3), TypeError, "size must be an int"),
        (
            lambda: conv_transpose_output_size(2, 3, stride=2, output_padding=2),
            ValueError,
            "output_padding must be smaller than stride",
        ),
        (lambda: conv_transpose_output_size(1, 1, padding=1), ValueError, "removes the whole output"),
    ],
)
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error, match=words):
        call()
