"""Chapter 4's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import pytest
import torch
from exercise_helpers import notebook_solutions, standard_exercise_tests

from segbook.exercises import ExerciseError, ch04

SOLUTIONS = notebook_solutions("04_upsampling.ipynb", 4)
CHECKS = [
    (ch04.check_bed_of_nails, "bed_of_nails"),
    (ch04.check_max_unpool, "max_unpool"),
    (ch04.check_transposed_output_size, "transposed_output_size"),
    (ch04.check_conv_transpose1d_scatter, "conv_transpose1d_scatter"),
]


test_check_accepts_the_notebook_solution, test_unattempted_exercise_is_reported_not_raised = standard_exercise_tests(
    CHECKS, SOLUTIONS
)


def _rejects(check, wrong, *words):
    with pytest.raises(ExerciseError) as info:
        check(wrong)
    message = str(info.value)
    assert "hint" in message
    for word in words:
        assert word in message, message


# --- Exercise 4.1: bed of nails -----------------------------------------------------------------------------


def nails_nearest(x, s):  # copies into the whole block: nearest neighbour
    return x.repeat_interleave(s, -2).repeat_interleave(s, -1)


def nails_bottom_right(x, s):  # the value in the wrong corner
    n, c, h, w = x.shape
    out = x.new_zeros(n, c, s * h, s * w)
    out[:, :, s - 1 :: s, s - 1 :: s] = x
    return out


def nails_float32(x, s):  # zeros of the default dtype
    n, c, h, w = x.shape
    out = torch.zeros(n, c, s * h, s * w)
    out[:, :, ::s, ::s] = x
    return out


def nails_first_image_only(x, s):  # forgets the batch and channel dimensions
    h, w = x.shape[-2:]
    out = x.new_zeros(1, 1, s * h, s * w)
    out[0, 0, ::s, ::s] = x[0, 0]
    return out


def nails_factor_two(x, s):  # hard-codes s = 2
    n, c, h, w = x.shape
    out = x.new_zeros(n, c, 2 * h, 2 * w)
    out[:, :, ::2, ::2] = x
    return out


@pytest.mark.parametrize(
    "wrong, words",
    [
        (nails_nearest, ["slide's 2x2 -> 4x4", "TOP-LEFT"]),
        (nails_bottom_right, ["slide's 2x2 -> 4x4", "TOP-LEFT"]),
        (nails_float32, ["dtype"]),
        (nails_first_image_only, ["batch of 2", "shape"]),
        (nails_factor_two, ["s = 3", "shape"]),
    ],
)
def test_bed_of_nails_check_rejects_wrong_answers(wrong, words):
    _rejects(ch04.check_bed_of_nails, wrong, "Exercise 4.1 (bed_of_nails)", *words)


# --- Exercise 4.2: max unpooling ----------------------------------------------------------------------------


def unpool_divides_by_height(values, indices, output_size):
    n, c = values.shape[:2]
    h, w = output_size
    out = values.new_zeros(n, c, h, w)
    rows, cols = indices // h, indices % h  # wrong: the row length is W
    ok = (rows < h) & (cols < w)
    nn_, cc = torch.meshgrid(torch.arange(n), torch.arange(c), indexing="ij")
    nn_, cc = nn_[..., None, None].expand_as(indices), cc[..., None, None].expand_as(indices)
    out[nn_[ok], cc[ok], rows[ok], cols[ok]] = values[ok]
    return out


def unpool_whole_tensor(values, indices, output_size):
    n, c = values.shape[:2]
    h, w = output_size
    out = values.new_zeros(n * c * h * w)  # flattens everything: plane-local indices all land in plane 0
    return out.scatter(0, indices.reshape(-1), values.reshape(-1)).view(n, c, h, w)


def unpool_doubles_the_size(values, indices, output_size):
    n, c, h, w = values.shape
    out = values.new_zeros(n, c, 4 * h * w)  # ignores output_size
    return out.scatter(2, indices.reshape(n, c, -1), values.reshape(n, c, -1)).view(n, c, 2 * h, 2 * w)


def unpool_float32(values, indices, output_size):
    n, c = values.shape[:2]
    h, w = output_size
    out = torch.zeros(n, c, h * w)
    return out.scatter(2, indices.reshape(n, c, -1), values.reshape(n, c, -1).float()).view(n, c, h, w)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (unpool_divides_by_height, ["4x6 output", "width W"]),
        (unpool_whole_tensor, ["batch of 2", "each (H, W) plane"]),
        (unpool_doubles_the_size, ["5x5 output", "output_size"]),
        (unpool_float32, ["float64", "dtype"]),
    ],
)
def test_max_unpool_check_rejects_wrong_answers(wrong, words):
    _rejects(ch04.check_max_unpool, wrong, "Exercise 4.2 (max_unpool)", *words)


# --- Exercise 4.3: transposed-convolution output size -------------------------------------------------------


def size_times_stride(size, kernel_size, stride=1, padding=0, output_padding=0):
    if output_padding >= stride:
        raise ValueError("output_padding")
    return size * stride + output_padding


def size_pads_once(size, kernel_size, stride=1, padding=0, output_padding=0):
    if output_padding >= stride:
        raise ValueError("output_padding")
    return (size - 1) * stride - padding + kernel_size + output_padding


def size_no_output_padding(size, kernel_size, stride=1, padding=0, output_padding=0):
    if output_padding >= stride:
        raise ValueError("output_padding")
    return (size - 1) * stride - 2 * padding + kernel_size


def size_never_raises(size, kernel_size, stride=1, padding=0, output_padding=0):
    return (size - 1) * stride - 2 * padding + kernel_size + output_padding


def size_float(size, kernel_size, stride=1, padding=0, output_padding=0):
    if output_padding >= stride:
        raise ValueError("output_padding")
    return float((size - 1) * stride - 2 * padding + kernel_size + output_padding)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (size_times_stride, ["the slide: 3x3 kernel", "EACH side"]),
        (size_pads_once, ["the slide: 3x3 kernel", "EACH side"]),
        (size_no_output_padding, ["output_padding 1", "+ output_padding"]),
        (size_never_raises, ["smaller than the stride", "ValueError"]),
        (size_float, ["expected an int", "a true division /"]),
    ],
)
def test_transposed_size_check_rejects_wrong_answers(wrong, words):
    _rejects(ch04.check_transposed_output_size, wrong, "Exercise 4.3 (transposed_output_size)", *words)


# --- Exercise 4.4: 1-D transposed convolution by scatter ----------------------------------------------------


def scatter_overwrites(x, w, stride):
    k = len(w)
    out = x.new_zeros((len(x) - 1) * stride + k)
    for i in range(len(x)):
        out[i * stride : i * stride + k] = x[i] * w  # overlaps overwritten, not summed
    return out


def scatter_length_l_times_s(x, w, stride):
    k = len(w)
    out = x.new_zeros(len(x) * stride + k)
    for i in range(len(x)):
        out[i * stride : i * stride + k] += x[i] * w
    return out[: len(x) * stride]


def scatter_is_a_convolution(x, w, stride):  # slides the kernel over the input instead of scattering
    return torch.nn.functional.conv1d(x[None, None], w.flip(0)[None, None], padding=len(w) - 1)[0, 0]


def scatter_float32(x, w, stride):
    k = len(w)
    out = torch.zeros((len(x) - 1) * stride + k)
    for i in range(len(x)):
        out[i * stride : i * stride + k] += (x[i] * w).float()
    return out


@pytest.mark.parametrize(
    "wrong, words",
    [
        (scatter_overwrites, ["slide's 1D example", "SUMMED"]),
        (scatter_length_l_times_s, ["slide's 1D example", "shape"]),
        (scatter_is_a_convolution, ["slide's 1D example"]),
        (scatter_float32, ["float64", "dtype"]),
    ],
)
def test_scatter_check_rejects_wrong_answers(wrong, words):
    _rejects(ch04.check_conv_transpose1d_scatter, wrong, "Exercise 4.4 (conv_transpose1d_scatter)", *words)
