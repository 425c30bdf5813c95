"""The from-scratch upsampling layers of chapter 4 agree with PyTorch's own ops, gradients included."""

import itertools

import pytest
import torch
from torch import nn
from torch.autograd import gradcheck
from torch.nn import functional as F

from segbook import ops as up
from segbook.ops.shapes import conv_transpose_output_size


def _rand(*shape, seed=0, dtype=torch.float64, requires_grad=False):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype).requires_grad_(requires_grad)


# --------------------------------------------------------------------------- the slides' examples

SLIDE_2X2 = torch.tensor([[1, 2], [3, 4]])
SLIDE_POOL_IN = torch.tensor([[1.0, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]])


def test_slide_nearest_neighbour():
    expected = torch.tensor([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    assert torch.equal(up.nearest_upsample(SLIDE_2X2[None, None], 2)[0, 0], expected)


def test_slide_bed_of_nails():
    expected = torch.tensor([[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]])
    assert torch.equal(up.bed_of_nails(SLIDE_2X2[None, None], 2)[0, 0], expected)


def test_slide_max_pooling_and_unpooling():
    values, indices = up.max_pool2d_with_indices(SLIDE_POOL_IN[None, None], 2)
    assert torch.equal(values[0, 0], torch.tensor([[5.0, 6], [7, 8]]))
    unpooled = up.max_unpool2d(SLIDE_2X2[None, None].float(), indices, 2)
    expected = torch.tensor([[0.0, 0, 2, 0], [0, 1, 0, 0], [0, 0, 0, 0], [3, 0, 0, 4]])
    assert torch.equal(unpooled[0, 0], expected)


def test_slide_transposed_convolution_sizes():
    x, w = torch.rand(1, 1, 2, 2), torch.rand(1, 1, 3, 3)
    assert up.conv_transpose2d(x, w, stride=2, padding=1).shape[-2:] == (3, 3)  # the exact formula
    assert up.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1).shape[-2:] == (4, 4)  # the slide's 4x4
    assert up.conv_output_size(4, 3, 1, 1) == 4 and up.conv_output_size(4, 3, 2, 1) == 2  # the two recaps


def test_slide_1d_example_sums_the_overlap():
    a, b, x, y, z = 2.0, 3.0, 5.0, 7.0, 11.0
    out = up.conv_transpose1d(torch.tensor([[[a, b]]]), torch.tensor([[[x, y, z]]]), stride=2)[0, 0]
    assert out.tolist() == [a * x, a * y, a * z + b * x, b * y, b * z]
    c = up.conv_matrix1d(torch.tensor([x, y, z]), 5, stride=2)
    assert c.tolist() == [[x, y, z, 0, 0], [0, 0, x, y, z]]
    assert torch.equal(c.T @ torch.tensor([a, b]), out)


# --------------------------------------------------------------------------- unpooling without parameters

SHAPES = [(1, 1, 1, 1), (2, 3, 2, 3), (1, 2, 5, 4)]
SCALES = [1, 2, 3, (2, 3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", SCALES)
def test_nearest_equals_interpolate(shape, scale):
    x = _rand(*shape)
    expected = F.interpolate(x, scale_factor=scale, mode="nearest")
    assert torch.equal(up.nearest_upsample(x, scale), expected)


def test_nearest_keeps_integer_label_maps():
    labels = torch.randint(0, 5, (2, 1, 3, 4))
    out = up.nearest_upsample(labels, 2)
    assert out.dtype == torch.int64
    assert torch.equal(out, F.interpolate(labels.float(), scale_factor=2, mode="nearest").long())


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", SCALES)
def test_bed_of_nails_equals_unpooling_at_the_top_left(shape, scale):
    x = _rand(*shape)
    sh, sw = (scale, scale) if isinstance(scale, int) else scale
    n, c, h, w = shape
    # PyTorch 1: a per-channel transposed convolution with a one-hot kernel at (0, 0), stride s
    kernel = torch.zeros(c, 1, sh, sw, dtype=x.dtype)
    kernel[:, :, 0, 0] = 1
    expected = F.conv_transpose2d(x, kernel, stride=(sh, sw), groups=c)
    assert torch.equal(up.bed_of_nails(x, scale), expected)
    # PyTorch 2: max unpooling with every remembered position at the window's top-left
    top_left = (torch.arange(h)[:, None] * sh * (w * sw) + torch.arange(w)[None, :] * sw).expand(n, c, h, w)
    assert torch.equal(up.bed_of_nails(x, scale), nn.MaxUnpool2d((sh, sw))(x, top_left))


@pytest.mark.parametrize("fn", [up.nearest_upsample, up.bed_of_nails])
def test_unpooling_gradients(fn):
    x = _rand(2, 2, 3, 2, requires_grad=True)
    assert gradcheck(lambda t: fn(t, (2, 3)), (x,))


# --------------------------------------------------------------------------- max pooling and unpooling

POOLS = [
    (k, s, p)
    for k, s, p in itertools.product([1, 2, 3, (2, 3)], [None, 1, 2, (1, 2)], [0, 1])
    if p <= min((k, k) if isinstance(k, int) else k) // 2
]


@pytest.mark.parametrize("kernel, stride, padding", POOLS)
@pytest.mark.parametrize("shape", [(1, 1, 4, 4), (2, 3, 5, 7)])
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_with_indices_equals_maxpool2d(shape, kernel, stride, padding, ties):
    x = torch.randint(0, 3, shape).double() if ties else _rand(*shape)  # ties: the first maximum wins
    pool = nn.MaxPool2d(kernel, stride, padding, return_indices=True)
    values, indices = up.max_pool2d_with_indices(x, kernel, stride, padding)
    expected_values, expected_indices = pool(x)
    assert torch.equal(values, expected_values)
    assert torch.equal(indices, expected_indices)


@pytest.mark.parametrize("kernel, stride, padding", POOLS)
@pytest.mark.parametrize("shape", [(1, 1, 4, 4), (2, 3, 5, 7)])
def test_max_unpool_equals_maxunpool2d(shape, kernel, stride, padding):
    x = _rand(*shape)
    values, indices = nn.MaxPool2d(kernel, stride, padding, return_indices=True)(x)
    unpool = nn.MaxUnpool2d(kernel, stride, padding)
    pairs = [(v, v) if isinstance(v, int) else v for v in (kernel, kernel if stride is None else stride, padding)]
    default = tuple(conv_transpose_output_size(m, k, s, p) for m, k, s, p in zip(values.shape[-2:], *pairs))
    if default == tuple(x.shape[-2:]):  # the default size is the original one: indices are valid there
        assert torch.equal(up.max_unpool2d(values, indices, kernel, stride, padding), unpool(values, indices))
    else:  # flat indices into a wider plane than the default one: PyTorch and segbook agree, or both refuse
        try:
            expected = unpool(values, indices)
        except RuntimeError as error:
            assert "invalid max index" in str(error)
            with pytest.raises(ValueError, match="out of range"):
                up.max_unpool2d(values, indices, kernel, stride, padding)
        else:
            assert torch.equal(up.max_unpool2d(values, indices, kernel, stride, padding), expected)
    # given the original size (odd sizes round down when pooling): the values land where they came from
    out = up.max_unpool2d(values, indices, kernel, stride, padding, output_size=x.shape[-2:])
    assert out.shape == x.shape
    assert torch.equal(out, unpool(values, indices, output_size=x.shape[-2:]))


def test_unpool_puts_maxima_back_where_they_were():
    x = _rand(3, 2, 6, 8)
    values, indices = up.max_pool2d_with_indices(x, 2)
    out = up.max_unpool2d(values, indices, 2)
    kept = out != 0
    assert int(kept.sum()) == values.numel()
    assert torch.equal(out[kept], x[kept])


def test_max_pool_and_unpool_gradients():
    x = _rand(2, 2, 5, 6, requires_grad=True)
    assert gradcheck(lambda t: up.max_pool2d_with_indices(t, 2, 2, 1)[0], (x,))
    values, indices = nn.MaxPool2d(2, return_indices=True)(x.detach())
    v = values.clone().requires_grad_(True)
    assert gradcheck(lambda t: up.max_unpool2d(t, indices, 2, output_size=(5, 6)), (v,))
    # same gradient as PyTorch's pooling, overlapping windows included
    x1, x2 = x.detach().clone().requires_grad_(True), x.detach().clone().requires_grad_(True)
    up.max_pool2d_with_indices(x1, 3, 1, 1)[0].sum().backward()
    F.max_pool2d(x2, 3, 1, 1).sum().backward()
    assert torch.equal(x1.grad, x2.grad)


# --------------------------------------------------------------------------- transposed convolution

CONFIGS_2D = [
    c
    for c in itertools.product([1, 2, 3, (2, 3)], [1, 2, 3, (2, 1)], [0, 1, (1, 0)], [0, 1], [1, 2])
    if all(op < max(s, d) for s, op, d in zip(*(((v, v) if isinstance(v, int) else v) for v in (c[1], c[3], c[4]))))
]


def _valid(size, kernel, stride, padding, output_padding, dilation):
    pairs = [(v, v) if isinstance(v, int) else v for v in (kernel, stride, padding, output_padding, dilation)]
    try:
        for k, s, p, op, d in zip(*pairs):
            conv_transpose_output_size(size, k, s, p, op, d)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("kernel, stride, padding, output_padding, dilation", CONFIGS_2D)
def test_conv_transpose2d_equals_pytorch(kernel, stride, padding, output_padding, dilation):
    for size, (n, c_in, c_out), bias in [(2, (1, 1, 1), False), (3, (2, 3, 2), True)]:
        if not _valid(size, kernel, stride, padding, output_padding, dilation):
            continue
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        x, w = _rand(n, c_in, size, size + 1, seed=1), _rand(c_in, c_out, kh, kw, seed=2)
        b = _rand(c_out, seed=3) if bias else None
        args = {"stride": stride, "padding": padding, "output_padding": output_padding, "dilation": dilation}
        expected = F.conv_transpose2d(x, w, b, **args)
        got = up.conv_transpose2d(x, w, b, **args)
        assert got.shape == expected.shape
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "kernel, stride, padding, output_padding, dilation",
    [c for c in itertools.product([1, 2, 3, 4], [1, 2, 3], [0, 1, 2], [0, 1, 2], [1, 2]) if c[3] < max(c[1], c[4])],
)
def test_conv_transpose1d_equals_pytorch(kernel, stride, padding, output_padding, dilation):
    for length in (1, 2, 5):
        try:
            conv_transpose_output_size(length, kernel, stride, padding, output_padding, dilation)
        except ValueError:
            continue
        x, w, b = _rand(2, 3, length, seed=4), _rand(3, 2, kernel, seed=5), _rand(2, seed=6)
        args = {"stride": stride, "padding": padding, "output_padding": output_padding, "dilation": dilation}
        torch.testing.assert_close(
            up.conv_transpose1d(x, w, b, **args), F.conv_transpose1d(x, w, b, **args), rtol=1e-10, atol=1e-10
        )


def test_conv_transpose_float32_matches_too():
    x, w = torch.rand(2, 3, 5, 4), torch.rand(3, 4, 3, 3)
    torch.testing.assert_close(
        up.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
        F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
    )


def test_conv_transpose2d_of_an_empty_batch_is_an_empty_batch_as_in_pytorch():
    x, w = torch.rand(0, 3, 5, 4), torch.rand(3, 4, 3, 3)
    out = up.conv_transpose2d(x, w, stride=2, padding=1)
    assert out.shape == F.conv_transpose2d(x, w, stride=2, padding=1).shape == (0, 4, 9, 7)


@pytest.mark.parametrize("stride, padding, output_padding", [(1, 0, 0), (2, 1, 1), (3, 2, 2)])
def test_conv_transpose_gradients(stride, padding, output_padding):
    x = _rand(2, 2, 3, 2, seed=7, requires_grad=True)
    w = _rand(2, 3, 3, 4, seed=8, requires_grad=True)
    b = _rand(3, seed=9, requires_grad=True)

    def fn(x_, w_, b_):
        return up.conv_transpose2d(x_, w_, b_, stride, padding, output_padding)

    assert gradcheck(fn, (x, w, b))
    x1 = _rand(2, 2, 4, seed=10, requires_grad=True)
    w1 = _rand(2, 1, 3, seed=11, requires_grad=True)
    assert gradcheck(lambda x_, w_: up.conv_transpose1d(x_, w_, None, stride, padding, output_padding), (x1, w1))


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 1), (2, 1), (2, 0), (3, 1)])
def test_conv_transpose_is_the_gradient_of_conv(stride, padding):
    w = _rand(3, 2, 3, 3, seed=12)  # conv2d weight (C_out=3, C_in=2): also the transposed conv's (C_in=3, C_out=2)
    x = _rand(2, 2, 7, 6, seed=13, requires_grad=True)
    y = F.conv2d(x, w, stride=stride, padding=padding)
    g = _rand(*y.shape, seed=14)
    y.backward(g)
    op = tuple(n - conv_transpose_output_size(m, 3, stride, padding) for n, m in zip(x.shape[-2:], y.shape[-2:]))
    torch.testing.assert_close(up.conv_transpose2d(g, w, stride=stride, padding=padding, output_padding=op), x.grad)


# --------------------------------------------------------------------------- convolution as a matrix

MATRIX_CONFIGS = list(itertools.product([(4, 4), (5, 3)], [1, 2, 3, (2, 3)], [1, 2, (2, 1)], [0, 1], [1, 2]))


def _fits(size, kernel, stride, padding, dilation):
    pairs = [(v, v) if isinstance(v, int) else v for v in (kernel, stride, padding, dilation)]
    return all(n + 2 * p >= d * (k - 1) + 1 for n, (k, s, p, d) in zip(size, zip(*pairs)))


@pytest.mark.parametrize("size, kernel, stride, padding, dilation", [c for c in MATRIX_CONFIGS if _fits(*c)])
def test_conv_matrix_is_conv2d_and_its_transpose_is_conv_transpose2d(size, kernel, stride, padding, dilation):
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    w = _rand(3, 2, kh, kw, seed=15)  # (C_out, C_in, k_h, k_w)
    x = _rand(4, 2, *size, seed=16)
    c = up.conv_matrix(w, size, stride=stride, padding=padding, dilation=dilation)
    y = F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation)
    assert c.shape == (y[0].numel(), x[0].numel())
    torch.testing.assert_close((x.flatten(1) @ c.T).view_as(y), y)  # conv = C x
    g = _rand(*y.shape, seed=17)
    pairs = [(v, v) if isinstance(v, int) else v for v in (kernel, stride, padding, dilation)]
    op = tuple(n - conv_transpose_output_size(m, k, s, p, 0, d) for n, m, k, s, p, d in zip(size, y.shape[-2:], *pairs))
    expected = F.conv_transpose2d(g, w, stride=stride, padding=padding, output_padding=op, dilation=dilation)
    torch.testing.assert_close((g.flatten(1) @ c).view_as(x), expected)  # transposed conv = C^T y


@pytest.mark.parametrize("kernel, stride, padding", list(itertools.product([1, 2, 3], [1, 2, 3], [0, 1])))
def test_conv_matrix1d_is_conv1d(kernel, stride, padding):
    w, x = _rand(2, 3, kernel, seed=18), _rand(2, 3, 7, seed=19)
    c = up.conv_matrix1d(w, 7, stride=stride, padding=padding)
    y = F.conv1d(x, w, stride=stride, padding=padding)
    torch.testing.assert_close((x.flatten(1) @ c.T).view_as(y), y)
    g = _rand(*y.shape, seed=20)
    op = 7 - conv_transpose_output_size(y.shape[-1], kernel, stride, padding)
    torch.testing.assert_close(
        (g.flatten(1) @ c).view_as(x), F.conv_transpose1d(g, w, stride=stride, padding=padding, output_padding=op)
    )


def test_conv_matrix_single_kernel_and_transpose_is_not_inverse():
    w = _rand(3, 3, seed=21)
    c = up.conv_matrix(w, 4, stride=1, padding=1)  # square 16 x 16
    assert c.shape == (16, 16)
    assert not torch.allclose(c.T @ c, torch.eye(16, dtype=c.dtype))  # C^T undoes nothing: "deconvolution" misleads


@pytest.mark.parametrize(
    "size, kernel, stride, padding, output_padding",
    [
        c
        for c in itertools.product([1, 2, 4], [1, 2, 3, 4], [1, 2, 3], [0, 1], [0, 1, 2])
        if c[4] < c[2] and (c[0] - 1) * c[2] - 2 * c[3] + c[1] + c[4] >= 1
    ],
)
def test_coverage_counts_equal_conv_transpose_of_ones(size, kernel, stride, padding, output_padding):
    cover = up.conv_transpose_coverage(size, kernel, stride, padding, output_padding)
    ones = F.conv_transpose1d(
        torch.ones(1, 1, size), torch.ones(1, 1, kernel), stride=stride, padding=padding, output_padding=output_padding
    )[0, 0]
    assert torch.equal(cover.sum(0).float(), ones)
    # cell i writes exactly what a one-hot input at i writes
    for i in range(size):
        hot = torch.zeros(1, 1, size)
        hot[0, 0, i] = 1
        wrote = (
            F.conv_transpose1d(
                hot, torch.ones(1, 1, kernel), stride=stride, padding=padding, output_padding=output_padding
            )[0, 0]
            > 0
        )
        assert torch.equal(cover[i], wrote)


def test_checkerboard_counts_for_kernel_not_divisible_by_stride():
    interior = up.conv_transpose_coverage(8, 3, 2, 1, 1).sum(0)[2:-2]
    assert set(interior.tolist()) == {1, 2}  # uneven overlap: k=3 is not a multiple of s=2
    assert set(up.conv_transpose_coverage(8, 4, 2, 1).sum(0)[2:-2].tolist()) == {2}  # even overlap


# --------------------------------------------------------------------------- bilinear initialisation


@pytest.mark.parametrize("factor", [1, 2, 3, 4])
def test_bilinear_transposed_conv_equals_interpolate_inside(factor):
    x = _rand(2, 3, 6, 5, seed=22).float()
    layer = up.bilinear_conv_transpose2d(3, factor)
    got = layer(x)
    expected = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
    assert got.shape == expected.shape
    border = factor  # zero padding instead of edge replication changes only the border
    torch.testing.assert_close(
        got[..., border:-border, border:-border] if factor > 1 else got,
        expected[..., border:-border, border:-border] if factor > 1 else expected,
    )
    # the package's own scatter implementation gives the same result
    torch.testing.assert_close(up.conv_transpose2d(x, layer.weight.detach(), stride=factor, padding=layer.padding), got)


def test_bilinear_kernel_layout_and_trainable_flag():
    w = up.bilinear_kernel(2, channels=3, dtype=torch.float64)
    assert w.shape == (3, 3, 4, 4) and w.dtype == torch.float64
    assert torch.count_nonzero(w[0, 1]) == 0 and torch.isclose(w[1, 1].sum(), torch.tensor(4.0, dtype=torch.float64))
    assert up.bilinear_conv_transpose2d(2, 2, trainable=False).weight.requires_grad is False
    assert up.bilinear_kernel(3)[0, 0].shape == (5, 5)


@pytest.mark.parametrize("factor", [2, 3, 8, 32])
def test_per_channel_bilinear_upsampling_equals_the_full_one(factor):
    """The depthwise layer (groups=C, weight the full kernel's diagonal) computes the full layer's output."""
    x = _rand(2, 5, 3, 4, seed=23).float().requires_grad_(True)
    full = up.bilinear_conv_transpose2d(5, factor, trainable=False)
    depthwise = up.bilinear_conv_transpose2d(5, factor, trainable=False, per_channel=True)
    assert depthwise.groups == 5 and depthwise.weight.shape == (5, 1) + full.weight.shape[2:]
    assert not depthwise.weight.requires_grad
    got, expected = depthwise(x), full(x)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    (grad_got,) = torch.autograd.grad(got.square().sum(), x)
    (grad_expected,) = torch.autograd.grad(expected.square().sum(), x)
    torch.testing.assert_close(grad_got, grad_expected, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("name", ["trainable", "per_channel"])
@pytest.mark.parametrize("value", ["False", 0, None])
def test_bilinear_conv_transpose2d_flags_must_be_bool(name, value):
    with pytest.raises(TypeError, match=f"{name} must be True or False"):
        up.bilinear_conv_transpose2d(2, 2, **{name: value})


# --------------------------------------------------------------------------- bad input

X4 = torch.rand(1, 1, 4, 4)
IDX = nn.MaxPool2d(2, return_indices=True)(X4)[1]


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: up.nearest_upsample(torch.rand(4, 4)), ValueError, "x must be 4-D"),
        (lambda: up.nearest_upsample(X4, 0), ValueError, "scale_factor must be >= 1"),
        (lambda: up.nearest_upsample(X4, 1.5), TypeError, "scale_factor must be an int"),
        (lambda: up.bed_of_nails(X4, (2, 2, 2)), ValueError, "scale_factor must be an int or a pair"),
        (lambda: up.bed_of_nails([[1, 2]], 2), TypeError, "x must be a torch.Tensor"),
        (
            lambda: up.max_pool2d_with_indices(torch.ones(1, 1, 4, 4, dtype=torch.int64), 2),
            TypeError,
            "x must be a floating-point tensor",
        ),
        (lambda: up.max_pool2d_with_indices(X4, 2, padding=2), ValueError, "padding must be at most half"),
        (lambda: up.max_pool2d_with_indices(X4, 5), ValueError, "output would be empty"),
        (lambda: up.max_unpool2d(torch.rand(1, 1, 2, 2), IDX.int(), 2), TypeError, "indices must be a torch.int64"),
        (lambda: up.max_unpool2d(torch.rand(1, 1, 2, 3), IDX, 2), ValueError, "indices must have the same shape"),
        (lambda: up.max_unpool2d(torch.rand(1, 1, 2, 2), IDX + 16, 2), ValueError, "out of range"),
        (lambda: up.max_unpool2d(torch.rand(1, 1, 2, 2), IDX - 16, 2), ValueError, "out of range"),
        (
            lambda: up.max_unpool2d(torch.rand(1, 1, 2, 2), IDX, 2, output_size=(6, 4)),
            ValueError,
            "output_size height 6 does not fit",
        ),
        (lambda: up.max_unpool2d(torch.rand(1, 1, 2, 2), IDX, 2, output_size=(4,)), ValueError, "output_size must be"),
        (lambda: up.max_unpool2d(torch.rand(1, 1, 2, 2).long(), IDX, 2), TypeError, "x must be a floating-point"),
        (
            lambda: up.conv_transpose2d(X4, torch.rand(1, 1, 3, 3), stride=2, output_padding=2),
            ValueError,
            "output_padding must be smaller than stride",
        ),
        (
            lambda: up.conv_transpose2d(X4, torch.rand(1, 1, 3, 3), output_padding=1),
            ValueError,
            "output_padding must be smaller than stride",
        ),
        (lambda: up.conv_transpose2d(X4, torch.rand(2, 1, 3, 3)), ValueError, "weight has 2 input channels"),
        (
            lambda: up.conv_transpose2d(X4, torch.rand(1, 1, 3, 3, dtype=torch.float64)),
            TypeError,
            "weight must have the same dtype as x",
        ),
        (lambda: up.conv_transpose2d(X4.long(), torch.rand(1, 1, 3, 3)), TypeError, "x must be a floating-point"),
        (lambda: up.conv_transpose2d(X4, torch.rand(1, 3, 3, 3), torch.rand(2)), ValueError, "C_out=3"),
        (lambda: up.conv_transpose2d(X4, torch.rand(1, 1, 1, 1), padding=2), ValueError, "removes the whole output"),
        (lambda: up.conv_transpose2d(X4, torch.rand(1, 1, 3)), ValueError, "weight must be 4-D"),
        (
            lambda: up.conv_transpose1d(torch.rand(1, 1, 4), torch.rand(1, 1, 3), stride=2, output_padding=3),
            ValueError,
            "output_padding must be smaller than stride",
        ),
        (
            lambda: up.conv_transpose1d(torch.rand(1, 1, 4), torch.rand(1, 1, 3), stride=0),
            ValueError,
            "stride must be >= 1",
        ),
        (lambda: up.conv_transpose1d(X4, torch.rand(1, 1, 3)), ValueError, "x must be 3-D"),
        (lambda: up.conv_matrix(torch.rand(5, 5), 2), ValueError, "output would be empty"),
        (lambda: up.conv_matrix(torch.rand(1, 3, 3), 4), ValueError, "weight must be 2-D or 4-D"),
        (lambda: up.conv_matrix(torch.ones(3, 3, dtype=torch.int64), 4), TypeError, "weight must be a floating-point"),
        (lambda: up.conv_matrix1d(torch.rand(3), 0), ValueError, "length must be >= 1"),
        (lambda: up.conv_transpose_coverage(2, 3, 2, 1, 2), ValueError, "output_padding must be smaller"),
        (lambda: up.bilinear_kernel(0), ValueError, "scale_factor must be >= 1"),
        (lambda: up.bilinear_kernel(2, dtype=torch.int64), TypeError, "dtype must be a floating-point"),
    ],
)
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error, match=words):
        call()


# --------------------------------------------------------------------------- the chapter's pictures and widget


def test_pictures_draw_and_refuse_bad_input():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from segbook import viz

    fig = viz.show_matrices(
        [SLIDE_2X2, up.bed_of_nails(SLIDE_2X2[None, None], 2)[0, 0]],
        ["input", "bed of nails"],
        highlight=[None, up.bed_of_nails(SLIDE_2X2[None, None], 2)[0, 0] != 0],
    )
    assert len(fig.axes) == 2 and "4 x 4" in fig.axes[1].get_title()
    with pytest.raises(ValueError, match="2 matrices but 1 titles"):
        viz.show_matrices([SLIDE_2X2, SLIDE_2X2], ["one"])
    fig = viz.plot_transposed_conv_coverage(2, 3, 2, 1, 1, cell=(1, 0))
    assert "2x2 -> 4x4" in fig.axes[0].get_title()
    red = [p for p in fig.axes[0].patches if p.get_fill() and p.get_facecolor()[0] > 0.5]
    assert len(red) == 9  # a 3x3 kernel's footprint, all inside the full 5x5 result
    with pytest.raises(ValueError, match="output_padding must be smaller"):
        viz.plot_transposed_conv_coverage(2, 3, 2, 1, 2)
    with pytest.raises(ValueError, match="cell must be"):
        viz.plot_transposed_conv_coverage(2, 3, 2, 1, 1, cell=(2, 0))
    widget = viz.transposed_conv_explorer()
    assert {"size", "kernel_size", "stride", "padding", "output_padding", "row", "col"} <= set(widget.kwargs)
    plt.close("all")
