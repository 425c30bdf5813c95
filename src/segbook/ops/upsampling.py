"""Upsampling layers from scratch (slides "Lớp tăng độ phân giải upsampling" and "Tích chập chuyển vị").

Chapter 4 builds every way a segmentation network grows its feature maps back, each one vectorised (no loop over
pixels), with batch and channel dimensions, and checked against PyTorch's own op in ``tests/test_upsampling.py``:

- parameter-free unpooling (slide "Lớp Unpooling"): :func:`nearest_upsample` and :func:`bed_of_nails`;
- max pooling that remembers where each maximum was, and max unpooling that puts values back there (slide
  "Lớp Max Unpooling"): :func:`max_pool2d_with_indices`, :func:`max_unpool2d`;
- the transposed convolution in the scatter form the slides draw (each input value weights the kernel, overlapping
  contributions are summed): :func:`conv_transpose1d`, :func:`conv_transpose2d`;
- the convolution as a matrix, so that ``conv = C @ x`` and ``transposed conv = C.T @ y``: :func:`conv_matrix`,
  :func:`conv_matrix1d`, and which output cells each input cell writes: :func:`conv_transpose_coverage`;
- the bilinear kernel that initialises a transposed convolution (FCN): :func:`bilinear_kernel`,
  :func:`bilinear_conv_transpose2d`.

The output-size formulas live in :mod:`segbook.ops.shapes` and are re-exported here. Conventions follow PyTorch:
tensors are ``(N, C, H, W)`` (``(N, C, L)`` in 1D), a transposed convolution's weight is ``(C_in, C_out, kH, kW)``
(the same tensor as the weight ``(C_out, C_in, kH, kW)`` of the convolution it transposes), and pooling indices
are flat positions ``row * W + col`` inside each ``(H, W)`` plane of the *unpadded* input.
"""

from __future__ import annotations

from functools import partial
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import nn
from torch.nn import functional as F

from segbook.conventions import check_bool, check_int, check_positive_int, check_tensor
from segbook.ops.shapes import conv_output_size, conv_transpose_output_size

__all__ = [
    "conv_output_size",
    "conv_transpose_output_size",
    "nearest_upsample",
    "bed_of_nails",
    "max_pool2d_with_indices",
    "max_unpool2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_matrix",
    "conv_matrix1d",
    "conv_transpose_coverage",
    "bilinear_kernel",
    "bilinear_conv_transpose2d",
]

IntPair = Union[int, Sequence[int]]
_NCHW = "(N, C, H, W)"


# --------------------------------------------------------------------------- argument helpers


def _pair(value: object, name: str, minimum: int) -> Tuple[int, int]:
    """An int or a pair of ints (height, width), each >= ``minimum``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (height, width), got {value!r}")
        return check_int(value[0], name, minimum=minimum), check_int(value[1], name, minimum=minimum)
    v = check_int(value, name, minimum=minimum)
    return v, v


def _check_float_input(x: object, name: str, ndim: int, hint: str) -> torch.Tensor:
    return check_tensor(x, name, ndim=ndim, dtype="float", shape_hint=hint)


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


# --------------------------------------------------------------------------- unpooling without parameters


def nearest_upsample(x: torch.Tensor, scale_factor: IntPair = 2) -> torch.Tensor:
    """Nearest-neighbour upsampling by an integer factor (slide "Lớp Unpooling": *Nearest Neighbor*).

    Every input value is copied into an ``s_h x s_w`` block of the output:

    .. math:: y_{n,c,i,j} = x_{n,c,\\lfloor i / s_h \\rfloor, \\lfloor j / s_w \\rfloor}

    The layer has no parameters. It equals ``F.interpolate(x, scale_factor=s, mode="nearest")`` for integer
    factors, and works for any dtype (label maps too), since it only copies values.

    Args:
        x: ``(N, C, H, W)`` tensor of any dtype.
        scale_factor: ``s`` or ``(s_h, s_w)``, integers >= 1.

    Returns:
        ``(N, C, s_h H, s_w W)`` tensor of ``x``'s dtype.

    Example (the slide's 2x2 → 4x4):
        >>> nearest_upsample(torch.tensor([[[[1, 2], [3, 4]]]]))[0, 0].tolist()
        [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
    """
    check_tensor(x, "x", ndim=4, shape_hint=_NCHW)
    sh, sw = _pair(scale_factor, "scale_factor", 1)
    n, c, h, w = x.shape
    blocks = x[:, :, :, None, :, None].expand(n, c, h, sh, w, sw)  # each value repeated over its block
    return blocks.reshape(n, c, h * sh, w * sw)


def bed_of_nails(x: torch.Tensor, scale_factor: IntPair = 2) -> torch.Tensor:
    """"Bed of nails" unpooling (slide "Lớp Unpooling"): each value goes to the top-left corner of its block.

    .. math::

        y_{n,c,i,j} = \\begin{cases} x_{n,c,i/s_h,\\,j/s_w} & \\text{if } s_h \\mid i \\text{ and } s_w \\mid j \\\\
        0 & \\text{otherwise} \\end{cases}

    This is max unpooling with every remembered position at the top-left of its window, and the zero-insertion
    step of a transposed convolution with stride ``s`` (the "fractionally strided" view of chapter 4).

    Args:
        x: ``(N, C, H, W)`` tensor of any dtype.
        scale_factor: ``s`` or ``(s_h, s_w)``, integers >= 1.

    Returns:
        ``(N, C, s_h H, s_w W)`` tensor of ``x``'s dtype, zero except at rows ``0, s_h, 2 s_h, ...`` and columns
        ``0, s_w, ...``.

    Example (the slide's 2x2 → 4x4):
        >>> bed_of_nails(torch.tensor([[[[1, 2], [3, 4]]]]))[0, 0].tolist()
        [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]
    """
    check_tensor(x, "x", ndim=4, shape_hint=_NCHW)
    sh, sw = _pair(scale_factor, "scale_factor", 1)
    n, c, h, w = x.shape
    zeros = x.new_zeros(n, c, h, sh, w, sw)
    # the value sits at offset (0, 0) of its (s_h, s_w) block; torch.cat keeps autograd simple
    top_left = torch.cat([x[:, :, :, None, :, None], zeros[:, :, :, :1, :, 1:]], dim=5)  # (N, C, H, 1, W, s_w)
    blocks = torch.cat([top_left, zeros[:, :, :, 1:]], dim=3)  # (N, C, H, s_h, W, s_w)
    return blocks.reshape(n, c, h * sh, w * sw)


# --------------------------------------------------------------------------- max pooling and max unpooling


def max_pool2d_with_indices(
    x: torch.Tensor, kernel_size: IntPair = 2, stride: Optional[IntPair] = None, padding: IntPair = 0
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Max pooling that remembers where each maximum was (slide "Max Pooling: Ghi nhớ vị trí phần tử lớn nhất").

    .. math::

        y_{n,c,i,j} = \\max_{0 \\le a < k_h,\\ 0 \\le b < k_w} x_{n,c,\\,i s_h - p_h + a,\\,j s_w - p_w + b},
        \\qquad \\text{index}_{n,c,i,j} = r^* W + q^*

    where :math:`(r^*, q^*)` is the (row, column) of the maximum in the unpadded input. Padding counts as
    :math:`-\\infty`; a tie goes to the first maximum in row-major order inside the window. The same convention as
    ``nn.MaxPool2d(return_indices=True)``, so the indices feed :func:`max_unpool2d` or ``nn.MaxUnpool2d``.

    Args:
        x: ``(N, C, H, W)`` floating-point tensor.
        kernel_size: window ``k`` or ``(k_h, k_w)``.
        stride: ``s`` or ``(s_h, s_w)``; default ``kernel_size``.
        padding: ``p`` or ``(p_h, p_w)``, at most half the kernel (PyTorch's rule).

    Returns:
        ``(values, indices)``: values ``(N, C, H_out, W_out)`` of ``x``'s dtype, indices of the same shape, int64,
        with :math:`H_\\text{out} = \\lfloor (H + 2p_h - k_h) / s_h \\rfloor + 1` (and likewise for W).

    Example (the slide's 4x4):
        >>> x = torch.tensor([[[[1., 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]]]])
        >>> values, indices = max_pool2d_with_indices(x, 2)
        >>> values[0, 0].tolist(), indices[0, 0].tolist()
        ([[5.0, 6.0], [7.0, 8.0]], [[5, 2], [12, 15]])
    """
    _check_float_input(x, "x", 4, _NCHW)
    kh, kw = _pair(kernel_size, "kernel_size", 1)
    sh, sw = _pair(kernel_size if stride is None else stride, "stride", 1)
    ph, pw = _pair(padding, "padding", 0)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(
            f"padding must be at most half the kernel size, got padding=({ph}, {pw}) with kernel_size=({kh}, {kw})"
        )
    n, c, h, w = x.shape
    h_out = conv_output_size(h, kh, sh, ph)  # also refuses a kernel larger than the padded input
    w_out = conv_output_size(w, kw, sw, pw)
    padded = F.pad(x, (pw, pw, ph, ph), value=float("-inf"))
    windows = padded.unfold(2, kh, sh).unfold(3, kw, sw)  # (N, C, H_out, W_out, k_h, k_w), a view
    flat = windows.reshape(n, c, h_out, w_out, kh * kw)
    where = flat.argmax(dim=-1, keepdim=True)  # first maximum in row-major order
    values = flat.gather(-1, where).squeeze(-1)  # (N, C, H_out, W_out), differentiable
    where = where.squeeze(-1)
    rows = torch.arange(h_out, device=x.device)[:, None] * sh - ph + where // kw  # row in the unpadded input
    cols = torch.arange(w_out, device=x.device)[None, :] * sw - pw + where % kw
    return values, rows * w + cols


def max_unpool2d(
    x: torch.Tensor,
    indices: torch.Tensor,
    kernel_size: IntPair = 2,
    stride: Optional[IntPair] = None,
    padding: IntPair = 0,
    output_size: Optional[Sequence[int]] = None,
) -> torch.Tensor:
    """Max unpooling (slide "Max Unpooling: Sử dụng vị trí đã ghi nhớ khi pooling").

    Each value goes back to the position its paired max pooling remembered; every other output is zero:

    .. math::

        y_{n,c}[\\text{index}_{n,c,i,j}] = x_{n,c,i,j}, \\qquad y = 0 \\text{ elsewhere}

    (the output plane seen as a flat vector of ``H_out * W_out`` values). The pooling and the unpooling are used
    as a symmetric pair: an encoder's pooling layer hands its indices to the decoder's unpooling layer at the same
    resolution (SegNet).

    Args:
        x: ``(N, C, h, w)`` floating-point tensor (the values to put back).
        indices: ``(N, C, h, w)`` int64, flat positions ``row * W_out + col`` in each output plane, as returned by
            :func:`max_pool2d_with_indices` or ``nn.MaxPool2d(return_indices=True)``.
        kernel_size, stride, padding: those of the paired max pooling.
        output_size: ``(H_out, W_out)`` (a longer sequence is allowed: its last two entries are used); default
            :math:`(h - 1)s - 2p + k`. It must be a size the paired pooling maps to ``(h, w)``: pooling rounds
            down, so several input sizes pool to the same ``h`` and this says which one to return.

    Returns:
        ``(N, C, H_out, W_out)`` tensor of ``x``'s dtype.

    Example (the slide: unpooling [[1, 2], [3, 4]] with the positions remembered above):
        >>> y = max_unpool2d(torch.tensor([[[[1., 2], [3, 4]]]]), torch.tensor([[[[5, 2], [12, 15]]]]), 2)
        >>> y[0, 0].tolist()
        [[0.0, 0.0, 2.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [3.0, 0.0, 0.0, 4.0]]
    """
    _check_float_input(x, "x", 4, "(N, C, h, w)")
    check_tensor(indices, "indices", ndim=4, dtype=torch.int64, shape_hint="(N, C, h, w) of flat positions")
    if indices.shape != x.shape:
        raise ValueError(f"indices must have the same shape as x, got {tuple(indices.shape)} and {tuple(x.shape)}")
    kh, kw = _pair(kernel_size, "kernel_size", 1)
    sh, sw = _pair(kernel_size if stride is None else stride, "stride", 1)
    ph, pw = _pair(padding, "padding", 0)
    n, c, h, w = x.shape
    if output_size is None:
        h_out = conv_transpose_output_size(h, kh, sh, ph)
        w_out = conv_transpose_output_size(w, kw, sw, pw)
    else:
        if isinstance(output_size, torch.Size):
            output_size = tuple(output_size)
        if not isinstance(output_size, (tuple, list)) or len(output_size) < 2:
            raise ValueError(f"output_size must be (H_out, W_out), got {output_size!r}")
        h_out = check_int(output_size[-2], "output_size", minimum=1)
        w_out = check_int(output_size[-1], "output_size", minimum=1)
        for size, pooled, k, s, p, axis in ((h_out, h, kh, sh, ph, "height"), (w_out, w, kw, sw, pw, "width")):
            if size + 2 * p < k or conv_output_size(size, k, s, p) != pooled:
                low = conv_transpose_output_size(pooled, k, s, p)
                raise ValueError(
                    f"output_size {axis} {size} does not fit: max pooling with kernel {k}, stride {s}, "
                    f"padding {p} maps sizes {low}..{low + s - 1} to the input's {pooled}"
                )
    if indices.numel():
        low, high = int(indices.min()), int(indices.max())
        if low < 0 or high >= h_out * w_out:
            bad = low if low < 0 else high
            raise ValueError(
                f"indices has position {bad}, out of range for an output plane of {h_out}x{w_out} "
                f"(valid positions 0..{h_out * w_out - 1})"
            )
    out = x.new_zeros(n, c, h_out * w_out).scatter(2, indices.reshape(n, c, -1), x.reshape(n, c, -1))
    return out.view(n, c, h_out, w_out)


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
    _check_float_input(x, "x", 4, "(N, C_in, H, W)")
    _check_weight(weight, x, 4, "(C_in, C_out, k_h, k_w)")
    sh, sw = _pair(stride, "stride", 1)
    ph, pw = _pair(padding, "padding", 0)
    oph, opw = _pair(output_padding, "output_padding", 0)
    dh, dw = _pair(dilation, "dilation", 1)
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
    full = full.index_add(2, target.reshape(-1), copies.reshape(n, c_out, -1))
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
    _check_float_input(x, "x", 3, "(N, C_in, L)")
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
    h, w = _pair(input_size, "input_size", 1)
    sh, sw = _pair(stride, "stride", 1)
    ph, pw = _pair(padding, "padding", 0)
    dh, dw = _pair(dilation, "dilation", 1)
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
