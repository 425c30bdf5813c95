"""Safe division: the one place segbook divides by a count that may be zero.

Part of :mod:`segbook.conventions` (import :func:`safe_divide` from there).
"""

from __future__ import annotations

import torch

__all__ = ["safe_divide"]


def safe_divide(num: torch.Tensor, den: torch.Tensor, *, empty: float = float("nan")) -> torch.Tensor:
    """``num / den`` elementwise, and ``empty`` where ``den == 0``.

    The one place segbook divides by a count that can be zero. A metric of a class that never occurs
    is undefined (``empty=nan``, the default: never a fake 0 or 1); a loss term with nothing to find and
    nothing predicted is perfect (``empty=1.0``). A NaN denominator stays NaN (it is not "empty"), so
    a NaN in the input is never hidden. The denominator is clamped away from 0 before dividing, so the
    gradient of the unused branch is finite too.

        >>> safe_divide(torch.tensor([1.0, 0.0]), torch.tensor([2.0, 0.0]))
        tensor([0.5000,    nan])
        >>> safe_divide(torch.tensor([0.0]), torch.tensor([0.0]), empty=1.0)
        tensor([1.])
    """
    empty_den = den == 0
    ratio = num / torch.where(empty_den, torch.ones_like(den), den)  # never 0/0, even in the unused branch
    return torch.where(empty_den, torch.full_like(ratio, empty), ratio)
