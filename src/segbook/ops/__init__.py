"""Operations the chapters build from scratch: output sizes, sliding windows, receptive fields, upsampling.

Each is checked in the tests against the PyTorch operation it re-implements.
"""

from segbook.ops.receptive_field import *  # noqa: F401,F403
from segbook.ops.receptive_field import __all__ as _receptive_field_all
from segbook.ops.shapes import *  # noqa: F401,F403
from segbook.ops.shapes import __all__ as _shapes_all
from segbook.ops.sliding_window import *  # noqa: F401,F403
from segbook.ops.sliding_window import __all__ as _sliding_window_all
from segbook.ops.upsampling import *  # noqa: F401,F403
from segbook.ops.upsampling import __all__ as _upsampling_all

__all__ = sorted(set(_shapes_all + _sliding_window_all + _receptive_field_all + _upsampling_all))
