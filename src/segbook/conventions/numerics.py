"""Numerics: safe division, the NaN rule, and the precision sums are accumulated in.

Part of :mod:`segbook.conventions` (import the names from there): :func:`safe_divide` (the one division by a
count that may be zero), :func:`propagate_non_finite` and :func:`check_finite` (a non-finite input is never
hidden), :func:`accumulation_dtype` (half-precision sums are accumulated in float32).
"""

from __future__ import annotations

from typing import Optional

import torch

__all__ = ["safe_divide", "accumulation_dtype", "propagate_non_finite", "check_finite", "check_unit_interval"]


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


def accumulation_dtype(x: torch.Tensor) -> Optional[torch.dtype]:
    """The dtype to *add up* ``x`` in: float32 for float16 / bfloat16, ``None`` (``x``'s own) otherwise.

    A float16 sum overflows at 65504: the sum of a 256 x 256 map of losses near 1 is already ``inf``. So
    every sum over pixels in segbook is ``x.sum(..., dtype=accumulation_dtype(x))`` and the result is cast
    back to ``x``'s dtype only after dividing. float32 and float64 add up in their own precision (no change).

        >>> torch.ones(300, 300, dtype=torch.float16).sum()
        tensor(inf, dtype=torch.float16)
        >>> x = torch.ones(300, 300, dtype=torch.float16)
        >>> x.sum(dtype=accumulation_dtype(x))
        tensor(90000.)
    """
    return torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else None


def propagate_non_finite(x: torch.Tensor) -> torch.Tensor:
    """``x`` itself when every value is finite, else ``x`` with *every* value NaN: the losses' NaN rule.

    segbook's rule for a non-finite input (see :mod:`segbook.conventions`): it is never hidden. A loss computes
    on ``propagate_non_finite(logits)``, so one NaN or ±inf logit anywhere in the batch, at a counted pixel or
    at an ignored one, makes the whole loss NaN (and every counted pixel's entry of ``reduction="none"``),
    which the training loop sees, instead of a finite loss whose gradient is NaN. Reads no value (no
    device->host wait): the test is a 0-dim tensor added to ``x``, and adding 0 changes neither a finite value
    nor its gradient.

        >>> propagate_non_finite(torch.tensor([1.0, -2.0]))
        tensor([ 1., -2.])
        >>> propagate_non_finite(torch.tensor([1.0, float("inf")]))
        tensor([nan, nan])
    """
    if x.numel() == 0:
        return x
    poison = torch.where(torch.isfinite(x).all(), 0.0, float("nan")).to(x.dtype)
    return x + poison


def check_finite(x: torch.Tensor, name: str, *, advice: str = "") -> None:
    """Refuse a tensor that holds NaN or ±inf, counting them: where a NaN cannot be propagated (a count).

    Reads values (one pass, one device->host synchronisation); callers follow ``validate`` as for other
    value checks.

        >>> check_finite(torch.tensor([[0.5, float("nan")]]), "pred")
        Traceback (most recent call last):
        ...
        ValueError: pred holds 1 NaN and 0 infinite values; expected finite numbers
    """
    if x.numel() == 0 or not x.dtype.is_floating_point:
        return
    finite = torch.isfinite(x)
    if bool(finite.all()):
        return
    nan = int(torch.isnan(x).sum())
    inf = int((~finite).sum()) - nan
    raise ValueError(f"{name} holds {nan} NaN and {inf} infinite values; expected finite numbers{advice}")


def check_unit_interval(x: torch.Tensor, name: str, *, what: str = "probabilities") -> None:
    """Refuse a tensor with a value outside ``[0, 1]`` or not finite (probabilities, soft or 0/1 masks).

    Reads values (one ``aminmax``); callers follow ``validate``.

        >>> check_unit_interval(torch.tensor([0.2, 1.5]), "probs")
        Traceback (most recent call last):
        ...
        ValueError: probs must hold probabilities in [0, 1], got values in [0.2, 1.5]
    """
    if x.numel() == 0:
        return
    check_finite(x, name, advice=f" ({what} in [0, 1])")
    low, high = (float(v) for v in torch.aminmax(x.detach()))
    if low < 0 or high > 1:
        raise ValueError(f"{name} must hold {what} in [0, 1], got values in [{low:.4g}, {high:.4g}]")
