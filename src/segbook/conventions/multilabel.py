"""Multi-label inputs: one sigmoid channel per class, a pixel in several classes or in none.

Part of :mod:`segbook.conventions` (import the names from there). The convention of MONAI
(``DiceLoss(sigmoid=True)``), segmentation_models.pytorch (``mode="multilabel"``) and torchmetrics
(``multilabel``): logits ``(N, C, H, W)`` with one independent channel per class, a target of the same shape
holding 0/1 per class and pixel (integer, bool or float), or ``ignore_index`` for an element left out
(segmentation_models.pytorch's rule: each (pixel, class) element is ignored on its own).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch

from segbook.conventions.checks import check_int, check_tensor
from segbook.conventions.numerics import propagate_non_finite
from segbook.conventions.segmentation import values_checked

__all__ = ["MultilabelInputs", "check_multilabel_inputs"]


class MultilabelInputs(NamedTuple):
    """What :func:`check_multilabel_inputs` returns: all ``(N, C, H, W)``."""

    logits: torch.Tensor
    """The logits, through :func:`~segbook.conventions.propagate_non_finite` (the NaN rule)."""
    target: torch.Tensor
    """0/1 in the logits' dtype, 0 at ignored elements."""
    valid: Optional[torch.Tensor]
    """bool, the counted elements; ``None`` when every element counts."""


def check_multilabel_inputs(
    logits: object,
    target: object,
    *,
    ignore_index: Optional[int] = None,
    validate: Optional[bool] = None,
    name: str = "the loss",
    logits_name: str = "logits",
) -> MultilabelInputs:
    """Check a multi-label ``(logits, target)`` pair: same shape ``(N, C, H, W)``, a 0/1 target.

    ``ignore_index`` (an int that is not 0 or 1) marks target elements left out; it needs an integer target.
    The 0/1 values are checked when :func:`~segbook.conventions.values_checked` says so.

    Example:
        >>> out = check_multilabel_inputs(torch.zeros(1, 2, 1, 2), torch.tensor([[[[1, 0]], [[1, 255]]]]),
        ...                               ignore_index=255)
        >>> out.target.tolist(), out.valid.tolist()
        ([[[[1.0, 0.0]], [[1.0, 0.0]]]], [[[[True, True]], [[True, False]]]])
    """
    hint = "(N, C, H, W), one channel per class"
    x = check_tensor(logits, logits_name, ndim=4, dtype="float", shape_hint=hint)
    t = check_tensor(target, "target", ndim=4, shape_hint=f"{hint}, 0/1 per class")
    if t.shape != x.shape:
        raise ValueError(
            f"{name} (multi-label) needs a target of the {logits_name}' shape {tuple(x.shape)} (N, C, H, W) with "
            f"0/1 per class, got {tuple(t.shape)}; for class indices (N, H, W) use the multi-class version"
        )
    if x.device != t.device:
        raise ValueError(f"{logits_name} and target must be on the same device, got {x.device} and {t.device}")
    if t.dtype.is_complex:
        raise TypeError(f"target must hold 0/1 (integer, bool or float), got {t.dtype}")
    valid = None
    if ignore_index is not None:
        ignore = check_int(ignore_index, "ignore_index")
        if ignore in (0, 1):
            raise ValueError(f"ignore_index={ignore} is a label of the multi-label target (0 or 1); use 255 or None")
        if t.dtype.is_floating_point:
            valid = t != float(ignore)
        else:
            valid = t.long() != ignore  # in int64: a uint8 target must not wrap ignore_index=-1 to 255
    labels = t.to(x.dtype) if valid is None else torch.where(valid, t, 0).to(x.dtype)
    if values_checked(validate, t) and t.numel() and bool(((labels != 0) & (labels != 1)).any()):
        bad = labels[(labels != 0) & (labels != 1)][0].item()
        also = f" or the ignore index {ignore_index}" if ignore_index is not None else ""
        raise ValueError(f"a multi-label target must hold 0 or 1 per class{also}, got the value {bad}")
    return MultilabelInputs(propagate_non_finite(x), labels, valid)
