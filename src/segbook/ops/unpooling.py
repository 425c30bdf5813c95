"""Unpooling: growing a feature map back without parameters (chapter 4, slides "Lớp Unpooling", "Max Unpooling").

The parameter-free ways a segmentation network upsamples, each vectorised (no loop over pixels), with batch and
channel dimensions, and checked against PyTorch's own op in ``tests/test_upsampling.py``:

- :func:`nearest_upsample` copies each value into its block, :func:`bed_of_nails` puts it in the block's corner;
- :func:`max_pool2d_with_indices` remembers where each maximum was, and :func:`max_unpool2d` puts the values back
  there (slide "Lớp Max Unpooling"; SegNet's encoder-decoder pairs).

The learnable way, the transposed convolution, is in :mod:`segbook.ops.transposed`. Conventions follow PyTorch:
tensors are ``(N, C, H, W)``, and pooling indices are flat positions ``row * W + col`` inside each ``(H, W)``
plane of the *unpadded* input.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
from torch.nn import functional as F

from segbook.conventions import check_int, check_pair, check_tensor
from segbook.ops._common import IntPair
from segbook.ops.shapes import conv_output_size, conv_transpose_output_size

__all__ = ["nearest_upsample", "bed_of_nails", "max_pool2d_with_indices", "max_unpool2d"]


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
    check_tensor(x, "x", ndim=4, shape_hint="(N, C, H, W)")
    sh, sw = check_pair(scale_factor, "scale_factor", minimum=1)
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
    check_tensor(x, "x", ndim=4, shape_hint="(N, C, H, W)")
    sh, sw = check_pair(scale_factor, "scale_factor", minimum=1)
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
    check_tensor(x, "x", ndim=4, dtype="float", shape_hint="(N, C, H, W)")
    kh, kw = check_pair(kernel_size, "kernel_size", minimum=1)
    sh, sw = check_pair(kernel_size if stride is None else stride, "stride", minimum=1)
    ph, pw = check_pair(padding, "padding", minimum=0)
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
    check_tensor(x, "x", ndim=4, dtype="float", shape_hint="(N, C, h, w)")
    check_tensor(indices, "indices", ndim=4, dtype=torch.int64, shape_hint="(N, C, h, w) of flat positions")
    if indices.shape != x.shape:
        raise ValueError(f"indices must have the same shape as x, got {tuple(indices.shape)} and {tuple(x.shape)}")
    kh, kw = check_pair(kernel_size, "kernel_size", minimum=1)
    sh, sw = check_pair(kernel_size if stride is None else stride, "stride", minimum=1)
    ph, pw = check_pair(padding, "padding", minimum=0)
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
