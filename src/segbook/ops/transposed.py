"""The transposed convolution, from scratch (chapter 4, slide "Tích chập chuyển vị"; chapter 7's bilinear start).

- the transposed convolution in the scatter form the slides draw (each input value weights the kernel, overlapping
  contributions are summed): :func:`conv_transpose1d`, :func:`conv_transpose2d`;
- the convolution as a matrix, so that ``conv = C @ x`` and ``transposed conv = C.T @ y``: :func:`conv_matrix`,
  :func:`conv_matrix1d`, and which output cells each input cell writes: :func:`conv_transpose_coverage`;
- the bilinear kernel that initialises a transposed convolution (FCN): :func:`bilinear_kernel`,
  :func:`bilinear_conv_transpose2d`.

Each is checked against PyTorch's own op in ``tests/test_upsampling.py``. The output-size formulas live in
:mod:`segbook.ops.shapes`. Conventions follow PyTorch: tensors are ``(N, C, H, W)`` (``(N, C, L)`` in 1D), and a
transposed convolution's weight is ``(C_in, C_out, kH, kW)``, the same tensor as the weight ``(C_out, C_in, kH,
kW)`` of the convolution it transposes.
"""

from __future__ import annotations

from functools import partial
from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F

from segbook.conventions import check_bool, check_int, check_pair, check_positive_int, check_tensor
from segbook.ops._common import IntPair
from segbook.ops.shapes import conv_output_size, conv_transpose_output_size

__all__ = [
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_matrix",
    "conv_matrix1d",
    "conv_transpose_coverage",
    "bilinear_kernel",
    "bilinear_conv_transpose2d",
]

# --------------------------------------------------------------------------- argument checks


def _check_weight(weight: object, x: torch.Tensor, ndim: int, hint: str) -> torch.Tensor:
    w = check_tensor(weight, "weight", ndim=ndim, dtype="float", shape_hint=hint)
    if w.dtype != x.dtype:
        raise TypeError(f"weight must have the same dtype as x ({x.dtype}), got {w.dtype}")
    if w.shape[0] != x.shape[1]:
        raise ValueError(
            f"weight has {w.shape[0]} input channels (its first dimension, layout {hint}) "
            f"but x has {x.shape[1]} channels"
        )
    return w


def _check_bias(bias: Optional[torch.Tensor], x: torch.Tensor, channels: int) -> None:
    if bias is None:
        return
    check_tensor(bias, "bias", ndim=1, dtype="float", shape_hint="(C_out,)")
    if bias.dtype != x.dtype:
        raise TypeError(f"bias must have the same dtype as x ({x.dtype}), got {bias.dtype}")
    if bias.shape[0] != channels:
        raise ValueError(f"bias must have C_out={channels} values (one per output channel), got {bias.shape[0]}")


# --------------------------------------------------------------------------- transposed convolution


def conv_transpose2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor] = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    dilation: IntPair = 1,
) -> torch.Tensor:
    """2-D transposed convolution in the scatter form of the slides ("Tích chập chuyển vị").

    Each input value weights the whole kernel, the weighted kernel is written into the output at ``stride``
    times the input's position, and where copies overlap they are summed:

    .. math::

        \\tilde y_{n,o,\\,i s_h + a d_h,\\,j s_w + b d_w} \\mathrel{+}= \\sum_{c} x_{n,c,i,j}\\, w_{c,o,a,b}

    Then ``padding`` crops :math:`p` rows/columns from each side of the full result :math:`\\tilde y`, and
    ``output_padding`` keeps :math:`a` more rows/columns at the bottom/right (zeros if they lie beyond it), so the
    output has :math:`H_\\text{out} = (H - 1)s - 2p + d(k - 1) + a + 1` rows (see
    :func:`segbook.ops.shapes.conv_transpose_output_size`). It equals ``F.conv_transpose2d`` with the same
    arguments, is the transpose ``C.T`` of the convolution matrix of :func:`conv_matrix`, and is the gradient of
    ``F.conv2d`` with respect to its input.

    Args:
        x: ``(N, C_in, H, W)`` floating-point tensor.
        weight: ``(C_in, C_out, k_h, k_w)``, the layout of ``nn.ConvTranspose2d.weight``; same dtype as ``x``.
        bias: optional ``(C_out,)``.
        stride, padding, output_padding, dilation: an int or ``(height, width)``; ``output_padding`` must be
            smaller than ``stride`` or ``dilation``.

    Returns:
        ``(N, C_out, H_out, W_out)``.

    Example (the slide's 3x3, stride 2, padding 1 from 2x2; ``output_padding=1`` gives its 4x4):
        >>> x, w = torch.ones(1, 1, 2, 2), torch.ones(1, 1, 3, 3)
        >>> conv_transpose2d(x, w, stride=2, padding=1).shape[-2:], conv_transpose2d(x, w, None, 2, 1, 1).shape[-2:]
        (torch.Size([3, 3]), torch.Size([4, 4]))
    """
    check_tensor(x, "x", ndim=4, dtype="float", shape_hint="(N, C_in, H, W)")
    _check_weight(weight, x, 4, "(C_in, C_out, k_h, k_w)")
    sh, sw = check_pair(stride, "stride", minimum=1)
    ph, pw = check_pair(padding, "padding", minimum=0)
    oph, opw = check_pair(output_padding, "output_padding", minimum=0)
    dh, dw = check_pair(dilation, "dilation", minimum=1)
    n, _, h, w = x.shape
    c_out, kh, kw = weight.shape[1:]
    _check_bias(bias, x, c_out)
    h_out = conv_transpose_output_size(h, kh, sh, ph, oph, dh)  # checks p and op
    w_out = conv_transpose_output_size(w, kw, sw, pw, opw, dw)
    full_h = (h - 1) * sh + dh * (kh - 1) + 1  # the full result, before cropping
    full_w = (w - 1) * sw + dw * (kw - 1) + 1

    # 1. each input value weights the kernel: one weighted copy per input pixel,
    #    summed over the input channels
    copies = torch.einsum("nchw,cokl->nohwkl", x, weight)  # (N, C_out, H, W, k_h, k_w)
    # 2. where each copy's entries land in the full output (flat: row * full_w + col)
    arange = partial(torch.arange, device=x.device)
    rows = arange(h)[:, None] * sh + arange(kh)[None, :] * dh  # (H, k_h)
    cols = arange(w)[:, None] * sw + arange(kw)[None, :] * dw  # (W, k_w)
    target = rows[:, None, :, None] * full_w + cols[None, :, None, :]  # (H, W, kh, kw)
    # 3. scatter, summing where copies overlap
    full = x.new_zeros(n, c_out, full_h * full_w)
    flat = copies.reshape(n, c_out, h * w * kh * kw)  # sizes spelled out: N may be 0
    full = full.index_add(2, target.reshape(-1), flat)
    full = full.view(n, c_out, full_h, full_w)
    # 4. padding crops p from each side; output_padding keeps a more at bottom/right
    full = F.pad(full, (0, opw, 0, oph))
    out = full[:, :, ph : ph + h_out, pw : pw + w_out]
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


def conv_transpose1d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor] = None,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> torch.Tensor:
    """1-D transposed convolution in scatter form (slide "Ví dụ tích chập chuyển vị trong 1D").

    .. math:: \\tilde y_{n,o,\\,i s + a d} \\mathrel{+}= \\sum_c x_{n,c,i}\\, w_{c,o,a}

    then crop ``padding`` from both ends and keep ``output_padding`` more at the end:
    :math:`L_\\text{out} = (L - 1)s - 2p + d(k - 1) + a + 1`. The slide's example, input :math:`[a, b]`, kernel
    :math:`[x, y, z]`, stride 2, gives :math:`[ax,\\ ay,\\ az + bx,\\ by,\\ bz]`: the middle output gets a
    contribution from both inputs and sums them.

    Args:
        x: ``(N, C_in, L)`` floating-point tensor.
        weight: ``(C_in, C_out, k)`` (``nn.ConvTranspose1d.weight``), same dtype as ``x``.
        bias: optional ``(C_out,)``.
        stride, padding, output_padding, dilation: ints; ``output_padding`` smaller than ``stride`` or
            ``dilation``.

    Returns:
        ``(N, C_out, L_out)``. Equals ``F.conv_transpose1d`` with the same arguments.

    Example (the slide's 1D example with a, b = 1, 2 and x, y, z = 1, 10, 100):
        >>> conv_transpose1d(torch.tensor([[[1., 2]]]), torch.tensor([[[1., 10, 100]]]), stride=2)[0, 0].tolist()
        [1.0, 10.0, 102.0, 20.0, 200.0]
    """
    check_tensor(x, "x", ndim=3, dtype="float", shape_hint="(N, C_in, L)")
    _check_weight(weight, x, 3, "(C_in, C_out, k)")
    stride = check_positive_int(stride, "stride")
    padding = check_int(padding, "padding", minimum=0)
    output_padding = check_int(output_padding, "output_padding", minimum=0)
    dilation = check_positive_int(dilation, "dilation")
    conv_transpose_output_size(x.shape[-1], weight.shape[-1], stride, padding, output_padding, dilation)  # checks
    # a 1-D signal is a 2-D image with one row
    out = conv_transpose2d(
        x[:, :, None, :],
        weight[:, :, None, :],
        bias,
        stride=(1, stride),
        padding=(0, padding),
        output_padding=(0, output_padding),
        dilation=(1, dilation),
    )
    return out[:, :, 0, :]


# --------------------------------------------------------------------------- convolution as a matrix


def conv_matrix(
    weight: torch.Tensor, input_size: IntPair, *, stride: IntPair = 1, padding: IntPair = 0, dilation: IntPair = 1
) -> torch.Tensor:
    """The matrix :math:`C` of a 2-D convolution, so that ``conv2d(x) = C @ x`` and ``conv_transpose2d(y) = C.T @ y``.

    A convolution is linear in its input, so for a fixed kernel and input size it is a matrix. Row
    :math:`(o, i, j)` of :math:`C` holds the kernel's weights at the input positions output :math:`(o, i, j)`
    reads:

    .. math::

        C_{(o,i,j),\\,(c,\\,i s_h - p_h + a d_h,\\,j s_w - p_w + b d_w)} = w_{o,c,a,b}

    (positions that fall into the zero padding have no column). Flattening ``x`` (one image) as ``(C_in, H, W)``
    and the output as ``(C_out, H_out, W_out)``: ``F.conv2d(x, w, stride=s, padding=p).flatten() == C @
    x.flatten()``, and multiplying by :math:`C^\\top` is the transposed convolution with the *same* weight tensor,
    ``F.conv_transpose2d(y, w, stride=s, padding=p, output_padding=...)`` (with the output padding that returns
    ``H x W``). :math:`C` is mostly zeros: it is for teaching, not for speed.

    Args:
        weight: ``(C_out, C_in, k_h, k_w)`` (``nn.Conv2d.weight``) or one kernel ``(k_h, k_w)``, floating point.
        input_size: ``H`` or ``(H, W)``.
        stride, padding, dilation: an int or ``(height, width)``.

    Returns:
        ``(C_out * H_out * W_out, C_in * H * W)`` tensor of ``weight``'s dtype.

    Example (3x3 kernel, stride 2, padding 1 on 4x4, the slide's second recap: a 4 x 16 matrix):
        >>> conv_matrix(torch.ones(3, 3), 4, stride=2, padding=1).shape
        torch.Size([4, 16])
    """
    check_tensor(weight, "weight", ndim=(2, 4), dtype="float", shape_hint="(C_out, C_in, k_h, k_w) or (k_h, k_w)")
    if weight.ndim == 2:
        weight = weight[None, None]
    h, w = check_pair(input_size, "input_size", minimum=1)
    sh, sw = check_pair(stride, "stride", minimum=1)
    ph, pw = check_pair(padding, "padding", minimum=0)
    dh, dw = check_pair(dilation, "dilation", minimum=1)
    c_out, c_in, kh, kw = weight.shape
    h_out, w_out = conv_output_size(h, kh, sh, ph, dh), conv_output_size(w, kw, sw, pw, dw)
    dev = weight.device
    o, c, i, j, a, b = torch.meshgrid(
        *(torch.arange(m, device=dev) for m in (c_out, c_in, h_out, w_out, kh, kw)), indexing="ij"
    )  # each (C_out, C_in, H_out, W_out, k_h, k_w)
    r = i * sh - ph + a * dh  # input row read by output (i, j) through kernel tap (a, b)
    q = j * sw - pw + b * dw
    inside = (r >= 0) & (r < h) & (q >= 0) & (q < w)  # taps on the zero padding contribute nothing
    rows = ((o * h_out + i) * w_out + j)[inside]
    cols = ((c * h + r) * w + q)[inside]
    values = weight[:, :, None, None].expand(c_out, c_in, h_out, w_out, kh, kw)[inside]
    matrix = weight.new_zeros(c_out * h_out * w_out, c_in * h * w)
    return matrix.index_put((rows, cols), values, accumulate=True)


def conv_matrix1d(
    weight: torch.Tensor, length: int, *, stride: int = 1, padding: int = 0, dilation: int = 1
) -> torch.Tensor:
    """The matrix :math:`C` of a 1-D convolution: ``conv1d(x) = C @ x``, ``conv_transpose1d(y) = C.T @ y``.

    Row :math:`(o, i)` holds :math:`w_{o,c,a}` in column :math:`(c, i s - p + a d)`. The slide's 1D example
    (kernel :math:`[x, y, z]`, stride 2, 5 inputs → 2 outputs) has

    .. math:: C = \\begin{pmatrix} x & y & z & 0 & 0 \\\\ 0 & 0 & x & y & z \\end{pmatrix}, \\qquad
              C^\\top \\begin{pmatrix} a \\\\ b \\end{pmatrix} = (ax,\\ ay,\\ az + bx,\\ by,\\ bz)^\\top.

    Args:
        weight: ``(C_out, C_in, k)`` (``nn.Conv1d.weight``) or one kernel ``(k,)``, floating point.
        length: ``L``, the input's length.
        stride, padding, dilation: ints.

    Returns:
        ``(C_out * L_out, C_in * L)`` tensor.

    Example:
        >>> conv_matrix1d(torch.tensor([1., 2, 3]), 5, stride=2).tolist()
        [[1.0, 2.0, 3.0, 0.0, 0.0], [0.0, 0.0, 1.0, 2.0, 3.0]]
    """
    check_tensor(weight, "weight", ndim=(1, 3), dtype="float", shape_hint="(C_out, C_in, k) or (k,)")
    if weight.ndim == 1:
        weight = weight[None, None]
    length = check_positive_int(length, "length")
    return conv_matrix(
        weight[:, :, None, :],
        (1, length),
        stride=(1, check_positive_int(stride, "stride")),
        padding=(0, check_int(padding, "padding", minimum=0)),
        dilation=(1, check_positive_int(dilation, "dilation")),
    )


def conv_transpose_coverage(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> torch.Tensor:
    """Which output cells each input cell writes in a transposed convolution, along one dimension.

    Input cell :math:`i` writes output cells :math:`i s + a d - p` for :math:`a = 0, \\dots, k - 1` (those that
    survive the cropping). Summing the columns counts how many input cells write each output cell: when the
    kernel size is not a multiple of the stride the counts alternate (e.g. 1, 2, 1, 2 for :math:`k=3, s=2`),
    the root of the checkerboard artefacts. In 2-D, cell :math:`(i, j)` writes the rows of ``coverage[i]`` times
    the columns of ``coverage[j]``, and the count map is the outer product of the 1-D counts.

    Args:
        size: the input size along this dimension.
        kernel_size, stride, padding, output_padding, dilation: as in :func:`conv_transpose2d`.

    Returns:
        ``(size, out)`` bool tensor, ``out = conv_transpose_output_size(size, kernel_size, ...)``.

    Example (the slide's 3-tap kernel, stride 2, padding 1, output_padding 1, 2 → 4):
        >>> conv_transpose_coverage(2, 3, 2, 1, 1).int().tolist()
        [[1, 1, 0, 0], [0, 1, 1, 1]]
    """
    out = conv_transpose_output_size(size, kernel_size, stride, padding, output_padding, dilation)
    where = torch.arange(size)[:, None] * stride + torch.arange(kernel_size)[None, :] * dilation - padding
    cell = torch.arange(size)[:, None].expand_as(where)
    kept = (where >= 0) & (where < out)
    coverage = torch.zeros(size, out, dtype=torch.bool)
    coverage[cell[kept], where[kept]] = True
    return coverage


# --------------------------------------------------------------------------- bilinear initialisation


def bilinear_kernel(scale_factor: int, channels: int = 1, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The transposed-convolution weight that performs bilinear upsampling by ``scale_factor`` (FCN's initialiser).

    For a factor :math:`f` the kernel has size :math:`k = 2f - (f \\bmod 2)` and centre :math:`c = (k - 1) / 2`; its
    1-D profile is a triangle and the 2-D kernel is the outer product:

    .. math:: g_t = 1 - \\frac{|t - c|}{f}, \\qquad w_{a,b} = g_a\\, g_b \\qquad (0 \\le t, a, b < k).

    Used with ``stride = f`` and ``padding = (k - f) // 2`` (see :func:`bilinear_conv_transpose2d`) it maps ``n``
    to ``f n`` pixels and equals ``F.interpolate(mode="bilinear", align_corners=False)`` everywhere except a
    border of about ``f / 2`` pixels, where the transposed convolution sees zero padding instead of repeating the
    edge. Each channel is upsampled on its own: the weight is "diagonal" in the channels.

    Args:
        scale_factor: ``f``, an integer >= 1.
        channels: the number of channels (input = output).
        dtype: a floating-point dtype.

    Returns:
        ``(channels, channels, k, k)`` weight, zero except ``weight[c, c]``.

    Example:
        >>> bilinear_kernel(2)[0, 0, 0].tolist()
        [0.0625, 0.1875, 0.1875, 0.0625]
    """
    f = check_positive_int(scale_factor, "scale_factor")
    channels = check_positive_int(channels, "channels")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    k = 2 * f - f % 2
    centre = (k - 1) / 2
    profile = 1 - (torch.arange(k, dtype=torch.float64) - centre).abs() / f  # (k,) triangle
    kernel = (profile[:, None] * profile[None, :]).to(dtype)  # (k, k)
    weight = torch.zeros(channels, channels, k, k, dtype=dtype)
    weight[torch.arange(channels), torch.arange(channels)] = kernel
    return weight


def bilinear_conv_transpose2d(
    channels: int, scale_factor: int, *, trainable: bool = True, per_channel: bool = False
) -> nn.ConvTranspose2d:
    """An ``nn.ConvTranspose2d`` that starts as bilinear upsampling by ``scale_factor`` (FCN's learnable upsampling).

    Kernel :math:`k = 2f - (f \\bmod 2)`, stride :math:`f`, padding :math:`(k - f) / 2`, no bias, weight
    :func:`bilinear_kernel`; the output is exactly ``f`` times the input's size. With ``trainable=False`` the
    weight is frozen (FCN kept its final upsampling fixed).

    ``per_channel=True`` gives the same upsampling as a depthwise layer (``groups=channels``, weight
    ``(channels, 1, k, k)``): the full weight of a bilinear upsampling is zero off its channel diagonal, so a
    *frozen* one computes the same output at ``1 / channels`` of the cost. A trainable layer should stay full
    (``per_channel=False``): training may mix the channels, as FCN's learned upsamplings do.

    Example:
        >>> bilinear_conv_transpose2d(3, 2)(torch.rand(1, 3, 5, 7)).shape
        torch.Size([1, 3, 10, 14])
        >>> x = torch.rand(1, 3, 5, 7)
        >>> fixed = bilinear_conv_transpose2d(3, 4, trainable=False, per_channel=True)
        >>> torch.allclose(fixed(x), bilinear_conv_transpose2d(3, 4)(x), atol=1e-6), tuple(fixed.weight.shape)
        (True, (3, 1, 8, 8))
    """
    check_bool(trainable, "trainable")
    check_bool(per_channel, "per_channel")
    weight = bilinear_kernel(scale_factor, channels)
    k = weight.shape[-1]
    groups = channels if per_channel else 1
    if per_channel:
        weight = weight[torch.arange(channels), torch.arange(channels)].unsqueeze(1)  # (C, 1, k, k): the diagonal
    layer = nn.ConvTranspose2d(
        channels, channels, k, stride=scale_factor, padding=(k - scale_factor) // 2, bias=False, groups=groups
    )
    with torch.no_grad():
        layer.weight.copy_(weight)
    layer.weight.requires_grad_(bool(trainable))
    return layer
