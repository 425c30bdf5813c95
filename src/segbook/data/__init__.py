"""Data: the procedural scenes and touching cells, the real data sets, their verified download, ``load_dataset``."""

from segbook.data.downloading import *  # noqa: F401,F403
from segbook.data.downloading import __all__ as _downloading_all
from segbook.data.real import *  # noqa: F401,F403
from segbook.data.real import __all__ as _real_all
from segbook.data.synthetic import *  # noqa: F401,F403
from segbook.data.synthetic import __all__ as _synthetic_all

__all__ = sorted(set(_synthetic_all + _real_all + _downloading_all))
