"""Operations the chapters build from scratch, one module per topic, in the order the book teaches them.

- :mod:`~segbook.ops.shapes`: output sizes of convolution and transposed convolution (chapters 3 and 4);
- :mod:`~segbook.ops.sliding_window`: patches and the sliding-window prediction (chapter 2);
- :mod:`~segbook.ops.convolutionalization`: the same classifier as a fully convolutional network (chapter 2);
- :mod:`~segbook.ops.receptive_field`: receptive fields, FLOPs and activation memory (chapter 3);
- :mod:`~segbook.ops.unpooling`: nearest, bed-of-nails and max unpooling (chapter 4);
- :mod:`~segbook.ops.transposed`: the transposed convolution, the convolution matrix and the bilinear kernel
  (chapters 4 and 7).

Each is checked in the tests against the PyTorch operation it re-implements. Every public name is here too:
``ops.conv_transpose2d`` is ``segbook.ops.transposed.conv_transpose2d``.
"""

from segbook.ops.convolutionalization import *  # noqa: F401,F403
from segbook.ops.convolutionalization import __all__ as _convolutionalization_all
from segbook.ops.receptive_field import *  # noqa: F401,F403
from segbook.ops.receptive_field import __all__ as _receptive_field_all
from segbook.ops.shapes import *  # noqa: F401,F403
from segbook.ops.shapes import __all__ as _shapes_all
from segbook.ops.sliding_window import *  # noqa: F401,F403
from segbook.ops.sliding_window import __all__ as _sliding_window_all
from segbook.ops.transposed import *  # noqa: F401,F403
from segbook.ops.transposed import __all__ as _transposed_all
from segbook.ops.unpooling import *  # noqa: F401,F403
from segbook.ops.unpooling import __all__ as _unpooling_all

__all__ = sorted(
    set(
        _shapes_all
        + _sliding_window_all
        + _convolutionalization_all
        + _receptive_field_all
        + _unpooling_all
        + _transposed_all
    )
)
