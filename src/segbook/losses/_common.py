"""What the loss families share (chapters 5, 6 and 8): reductions, per-class weight vectors, count arguments.

Input checks live in :mod:`segbook.conventions` (:func:`~segbook.conventions.check_segmentation_inputs`);
this module holds the pieces of the losses' arithmetic that more than one family uses. Nothing here reads a
tensor's values unless it says so, so nothing here makes a GPU wait for the host.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch

from segbook.conventions import (
    SegmentationInputs,
    accumulation_dtype,
    check_choice,
    check_float,
    safe_divide,
    values_checked,
)

__all__ = [
    "REDUCTIONS",
    "Number",
    "check_reduction",
    "reduce_pixels",
    "reduce_pairs",
    "class_vector",
    "per_class",
    "as_count",
    "counts_result",
]

Number = Union[int, float]
REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: object) -> str:
    """``"mean"``, ``"sum"`` or ``"none"``."""
    return str(check_choice(reduction, "reduction", REDUCTIONS))


def reduce_pixels(
    loss: torch.Tensor, inputs: SegmentationInputs, reduction: str, denominator: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """Reduce a per-pixel loss map (N, H, W) of ``inputs``: 0 at ignored pixels; the mean divides by the
    counted pixels (or by ``denominator``, e.g. a sum of weights).

    A batch with no counted pixel has a mean of 0 (still attached to the graph), not 0/0: its sum is 0, and
    the count is divided as at least 1 (a count is an integer, so this changes no other batch). Without an
    ignore index every pixel counts: no mask, no pass to count.
    """
    mask = inputs.mask
    if mask is not None:
        loss = torch.where(mask, loss, 0.0)
    if reduction == "none":
        return loss
    total = loss.sum(dtype=accumulation_dtype(loss))  # float16 losses add up in float32 (no overflow)
    if reduction == "sum":
        return total.to(loss.dtype)
    if denominator is None:
        return (total / inputs.count()).to(loss.dtype)  # no counted pixel: 0 / 1
    return safe_divide(total, denominator.to(total.dtype), empty=0.0).to(loss.dtype)


def reduce_pairs(values: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce per-(image, class) values (N, K): their mean, their sum, or themselves.

    An empty batch (N = 0, no pair) has a mean of 0 like its sum (still attached to the graph), not the
    0/0 of ``Tensor.mean``: the losses' rule for a batch with no counted pixel. ``numel`` is metadata.
    """
    if reduction == "none":
        return values
    acc = accumulation_dtype(values)  # float16 values add up in float32
    total = values.sum(dtype=acc) if reduction == "sum" or values.numel() == 0 else values.mean(dtype=acc)
    return total.to(values.dtype)


def class_vector(values: object, name: str, num_classes: Optional[int] = None) -> torch.Tensor:
    """A per-class weight vector of finite numbers >= 0, checked once: float64 ``(C,)`` on the CPU.

    Reads the values it is given (they are options, not batch data). ``num_classes=None`` leaves the length
    to :func:`per_class`, which checks it against the logits' ``C`` (metadata only).
    """
    if isinstance(values, torch.Tensor):
        if values.device.type == "meta":
            raise ValueError(f"{name} must hold numbers, got a tensor on the meta device")
        vec = values.detach().to(dtype=torch.float64).flatten().cpu()
    elif isinstance(values, Sequence) and not isinstance(values, (str, bytes)):
        numbers = [check_float(v, f"{name}[{i}]") for i, v in enumerate(values)]  # finite (check_float)
        vec = torch.tensor(numbers, dtype=torch.float64)
    else:
        raise TypeError(f"{name} must be a sequence or tensor of per-class numbers, got {type(values).__name__}")
    numbers = vec.tolist()  # one read of a few option values, on the CPU
    if any(not (0 <= v < float("inf")) for v in numbers):  # NaN fails the comparison too
        raise ValueError(f"{name} must hold finite numbers >= 0, got {numbers}")
    if num_classes is not None:
        per_class(vec, name, num_classes, vec)
    return vec


def per_class(vec: torch.Tensor, name: str, num_classes: int, like: torch.Tensor) -> torch.Tensor:
    """A checked :func:`class_vector` for ``C = num_classes`` classes, on ``like``'s device and dtype."""
    if vec.numel() != num_classes:
        raise ValueError(f"{name} must have one entry per class (C={num_classes}), got {vec.numel()}")
    return vec.to(device=like.device, dtype=like.dtype)


def as_count(value: object, name: str) -> torch.Tensor:
    """A count argument (TP, FP or FN) as a floating-point tensor; refuses strings, bools and bool tensors,
    and negative counts: always for numbers, for tensors where :func:`~segbook.conventions.values_checked`
    says so (on the CPU: no GPU sync)."""
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool or value.dtype.is_complex:
            raise TypeError(f"{name} must hold counts (numbers), got {value.dtype}")
        if values_checked(None, value) and value.numel() and bool((value < 0).any()):
            raise ValueError(f"{name} must hold counts >= 0, got {value.min().item()}")
        return value if value.dtype.is_floating_point else value.double()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number or a tensor of counts, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be a count >= 0, got {value}")
    return torch.tensor(float(value), dtype=torch.float64)


def counts_result(value: torch.Tensor, inputs: Tuple[object, ...]) -> Union[float, torch.Tensor]:
    """A float when every count was a number, else the tensor."""
    return value if any(isinstance(x, torch.Tensor) for x in inputs) else float(value)
