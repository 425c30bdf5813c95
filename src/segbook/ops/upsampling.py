"""Upsampling layers from scratch (chapter 4, slides "Lớp tăng độ phân giải upsampling", "Tích chập chuyển vị").

Chapter 4 builds every way a segmentation network grows its feature maps back. The code lives in two modules,
as the chapter teaches it:

- :mod:`segbook.ops.unpooling`: without parameters, :func:`nearest_upsample`, :func:`bed_of_nails`,
  :func:`max_pool2d_with_indices` and :func:`max_unpool2d`;
- :mod:`segbook.ops.transposed`: the transposed convolution, :func:`conv_transpose1d`, :func:`conv_transpose2d`,
  the convolution as a matrix (:func:`conv_matrix`, :func:`conv_matrix1d`, :func:`conv_transpose_coverage`) and
  the bilinear initialisation (:func:`bilinear_kernel`, :func:`bilinear_conv_transpose2d`).

This module gathers them, with the output-size formulas of :mod:`segbook.ops.shapes`, so that
``from segbook.ops.upsampling import ...`` finds every chapter 4 operation in one place.
"""

from segbook.ops.shapes import conv_output_size, conv_transpose_output_size
from segbook.ops.transposed import (
    bilinear_conv_transpose2d,
    bilinear_kernel,
    conv_matrix,
    conv_matrix1d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose_coverage,
)
from segbook.ops.unpooling import bed_of_nails, max_pool2d_with_indices, max_unpool2d, nearest_upsample

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
