"""Output sizes of convolution and transposed convolution: the formulas every chapter relies on.

For an input of size :math:`n` (one spatial dimension), kernel :math:`k`, stride :math:`s`, padding :math:`p`,
dilation :math:`d` and output padding :math:`a`:

.. math::

    n_\\text{conv} = \\left\\lfloor \\frac{n + 2p - d(k - 1) - 1}{s} \\right\\rfloor + 1, \\qquad
    n_\\text{transposed} = (n - 1)s - 2p + d(k - 1) + a + 1.

These are the formulas of PyTorch's ``nn.Conv2d`` and ``nn.ConvTranspose2d`` documentation. Several input sizes
give the same convolution output (the floor), which is why a transposed convolution needs ``output_padding`` to
say which one it should return.
"""

from __future__ import annotations

from segbook.conventions import check_int

__all__ = ["conv_output_size", "conv_transpose_output_size"]


def _check_common(size: int, kernel_size: int, stride: int, padding: int, dilation: int) -> None:
    check_int(size, "size", minimum=1)
    check_int(kernel_size, "kernel_size", minimum=1)
    check_int(stride, "stride", minimum=1)
    check_int(padding, "padding", minimum=0)
    check_int(dilation, "dilation", minimum=1)


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output size of a convolution (or pooling) along one dimension.

    Example (the slides' recaps: 3x3 conv on 4x4 with stride 1 pad 1, and with stride 2 pad 1):
        >>> conv_output_size(4, 3, stride=1, padding=1), conv_output_size(4, 3, stride=2, padding=1)
        (4, 2)
    """
    _check_common(size, kernel_size, stride, padding, dilation)
    span = dilation * (kernel_size - 1) + 1  # how many input pixels one kernel application covers
    if size + 2 * padding < span:
        raise ValueError(
            f"the kernel covers {span} pixels but the padded input has only {size + 2 * padding} "
            f"(size={size}, padding={padding}): the output would be empty"
        )
    return (size + 2 * padding - span) // stride + 1


def conv_transpose_output_size(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> int:
    """Output size of a transposed convolution along one dimension.

    ``output_padding`` must be smaller than ``stride`` or ``dilation`` (PyTorch's rule): it only picks one of the
    sizes that a strided convolution maps to the same output size.

    Example (the slide: 3x3 transposed conv, stride 2, pad 1, from 2x2; the formula gives 3, and
    ``output_padding=1`` gives the 4x4 the slide draws):
        >>> conv_transpose_output_size(2, 3, stride=2, padding=1), conv_transpose_output_size(2, 3, 2, 1, 1)
        (3, 4)
    """
    _check_common(size, kernel_size, stride, padding, dilation)
    check_int(output_padding, "output_padding", minimum=0)
    if output_padding >= max(stride, dilation):
        raise ValueError(
            f"output_padding must be smaller than stride or dilation, got output_padding="
            f"{output_padding} with stride={stride} and dilation={dilation}"
        )
    out = (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1
    if out < 1:
        raise ValueError(f"padding={padding} removes the whole output (size would be {out})")
    return out
