"""Chapter 4's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import pytest
import torch
import torch.nn.functional as F
from exercise_helpers import assert_rejected, notebook_solutions, standard_exercise_tests

from segbook import ops
from segbook.exercises import ExerciseError, ch04

SOLUTIONS = notebook_solutions("04_upsampling.ipynb", 4, ops=ops, F=F)
CHECKS = [
    (ch04.check_bed_of_nails, "bed_of_nails"),
    (ch04.check_max_unpool, "max_unpool"),
    (ch04.check_transposed_output_size, "transposed_output_size"),
    (ch04.check_conv_transpose1d_scatter, "conv_transpose1d_scatter"),
    (ch04.check_conv2d_input_grad, "conv2d_input_grad"),
    (ch04.check_bilinear_weight, "bilinear_weight"),
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


# --- Exercise 4.5: the gradient of a convolution ------------------------------------------------------------


def _transposed(g, w, stride, padding, output_padding):
    return F.conv_transpose2d(g, w, stride=stride, padding=padding, output_padding=output_padding)


def _dropped(x, w, g, stride, padding):
    """The output padding per dimension that gives back x's size (the right answer's bookkeeping)."""
    sizes = [(n - 1) * stride - 2 * padding + k for n, k in zip(g.shape[-2:], w.shape[-2:])]
    return tuple(n - m for n, m in zip(x.shape[-2:], sizes))


def grad_flipped_kernel(x, w, g, stride, padding):  # the zero-insertion view's flip, in the scatter view
    return _transposed(g, w.flip(-1, -2), stride, padding, _dropped(x, w, g, stride, padding))


def grad_no_output_padding(x, w, g, stride, padding):  # the transposed convolution's own size
    return _transposed(g, w, stride, padding, 0)


def grad_output_padding_stride_minus_one(x, w, g, stride, padding):  # as if the floor always dropped s - 1 cells
    return _transposed(g, w, stride, padding, stride - 1)


def grad_output_padding_from_width(x, w, g, stride, padding):  # one output padding for both dimensions
    return _transposed(g, w, stride, padding, _dropped(x, w, g, stride, padding)[1])


def grad_stride_one_formula(x, w, g, stride, padding):  # a full convolution with the flipped kernel: stride 1 only
    k = w.shape[-1]
    return F.conv2d(g, w.flip(-1, -2).transpose(0, 1), padding=k - 1 - padding)


def grad_channels_swapped(x, w, g, stride, padding):  # the weight's two channel axes swapped
    return _transposed(g, w.transpose(0, 1), stride, padding, _dropped(x, w, g, stride, padding))


def grad_without_padding(x, w, g, stride, padding):  # forgets that padding crops: keeps the top-left corner
    return _transposed(g, w, stride, 0, 0)[..., : x.shape[-2], : x.shape[-1]]


@pytest.mark.parametrize(
    "wrong, words",
    [
        (grad_flipped_kernel, ["case 1 of 6", "not flipped"]),
        (grad_no_output_padding, ["case 2 of 6", "shape differs: expected (1, 1, 4, 4), got (1, 1, 3, 3)"]),
        (grad_output_padding_stride_minus_one, ["case 3 of 6", "a 5x5 input, stride 2"]),
        (grad_output_padding_from_width, ["case 4 of 6", "6x7", "height and width apart"]),
        (grad_stride_one_formula, ["case 2 of 6", "stride-2 recap"]),
        (grad_channels_swapped, ["case 6 of 6", "3 input and 4 output channels"]),
        (grad_without_padding, ["case 1 of 6", "transposed convolution of g"]),
    ],
)
def test_conv2d_input_grad_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch04.check_conv2d_input_grad, wrong, "Exercise 4.5 (conv2d_input_grad)", *words)


def grad_by_autograd(x, w, g, stride, padding):  # asks autograd instead of deriving
    x = x.clone().requires_grad_()
    (F.conv2d(x, w, stride=stride, padding=padding) * g).sum().backward()
    return x.grad


def test_conv2d_input_grad_check_refuses_autograd():
    with pytest.raises(ExerciseError, match="asked autograd for the gradient"):
        ch04.check_conv2d_input_grad(grad_by_autograd)


# --- Exercise 4.6: the weight of bilinear upsampling -------------------------------------------------------


def _profile(f, k=None, centre=None, slope=None):
    k = 2 * f - f % 2 if k is None else k
    centre = (k - 1) / 2 if centre is None else centre
    return 1 - (torch.arange(k) - centre).abs() / (f if slope is None else slope)


def _diagonal(channels, kernel):
    weight = torch.zeros(channels, channels, *kernel.shape)
    weight[range(channels), range(channels)] = kernel
    return weight


def bilinear_every_channel_pair(channels, fy, fx):  # the kernel in every (input, output) pair: channels mixed
    return torch.outer(_profile(fy), _profile(fx)).expand(channels, channels, -1, -1).clone()


def bilinear_normalised(channels, fy, fx):  # a blur kernel that sums to 1: the output is 1/(fy fx) too dark
    kernel = torch.outer(_profile(fy), _profile(fx))
    return _diagonal(channels, kernel / kernel.sum())


def bilinear_centre_k_over_2(channels, fy, fx):  # centre at k / 2: off by half a cell
    ky, kx = 2 * fy - fy % 2, 2 * fx - fx % 2
    return _diagonal(channels, torch.outer(_profile(fy, centre=ky / 2), _profile(fx, centre=kx / 2)).clamp(min=0))


def bilinear_slope_over_k(channels, fy, fx):  # slope 1/k instead of 1/f
    ky, kx = 2 * fy - fy % 2, 2 * fx - fx % 2
    return _diagonal(channels, torch.outer(_profile(fy, slope=ky), _profile(fx, slope=kx)))


def bilinear_k_is_2f(channels, fy, fx):  # k = 2f also for odd factors
    return _diagonal(channels, torch.outer(_profile(fy, k=2 * fy), _profile(fx, k=2 * fx)).clamp(min=0))


def bilinear_square_from_fy(channels, fy, fx):  # one factor for both axes
    return _diagonal(channels, torch.outer(_profile(fy), _profile(fy)))


def bilinear_axes_swapped(channels, fy, fx):  # the column profile along the rows
    return _diagonal(channels, torch.outer(_profile(fx), _profile(fy)))


def bilinear_float64(channels, fy, fx):
    return _diagonal(channels, torch.outer(_profile(fy), _profile(fx))).double()


@pytest.mark.parametrize(
    "wrong, words",
    [
        (bilinear_normalised, ["case 1 of 5", "add up to 1"]),
        (bilinear_centre_k_over_2, ["case 1 of 5", "centred"]),
        (bilinear_slope_over_k, ["case 1 of 5", "add up to 1"]),
        (bilinear_k_is_2f, ["case 2 of 5", "odd factor", "(1, 1, 5, 5)"]),
        (bilinear_every_channel_pair, ["case 3 of 5", "must not receive copies of the other channels"]),
        (bilinear_square_from_fy, ["case 4 of 5", "factors (2, 3)", "outer product"]),
        (bilinear_axes_swapped, ["case 4 of 5", "(2, 2, 4, 5)"]),
        (bilinear_float64, ["case 1 of 5", "float32"]),
    ],
)
def test_bilinear_weight_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch04.check_bilinear_weight, wrong, "Exercise 4.6 (bilinear_weight)", *words)


def test_bilinear_weight_check_agrees_with_the_package_kernel():
    """The check's reference is F.interpolate; the package's bilinear_kernel passes it too (square factors)."""

    def from_package(channels, fy, fx):
        if fy != fx:
            raise NotImplementedError("the package's kernel is square")
        return ops.bilinear_kernel(fy, channels)

    assert ch04.check_bilinear_weight(from_package) is False  # stops at the first rectangular case ...
    for channels, f in [(1, 2), (1, 3), (3, 2)]:  # ... and passes the square ones
        out = ch04._bilinear_output(ops.bilinear_kernel(f, channels), channels, f, f)
        x = ch04._bilinear_input(channels)
        expected = F.interpolate(x, scale_factor=f, mode="bilinear")[..., f:-f, f:-f]
        assert torch.allclose(out, expected, atol=1e-5)
