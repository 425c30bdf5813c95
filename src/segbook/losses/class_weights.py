r"""Class-weight helpers for the distribution losses (chapter 5): the usual ``pos_weight`` and per-class weights.

:func:`pos_weight_from_target` gives :func:`~segbook.losses.binary_cross_entropy`'s :math:`\beta`,
:func:`inverse_frequency_weights` :func:`~segbook.losses.cross_entropy`'s ``weight``; both count the pixels
of a target (they read its values).
"""

from __future__ import annotations

from typing import Optional

import torch

from segbook.conventions import (
    IGNORE_INDEX,
    check_class_indices,
    check_ignore_index,
    check_positive_int,
    check_tensor,
    safe_divide,
)

__all__ = ["pos_weight_from_target", "inverse_frequency_weights"]


def pos_weight_from_target(target: torch.Tensor, *, ignore_index: Optional[int] = IGNORE_INDEX) -> float:
    """The usual :math:`\\beta` for :func:`binary_cross_entropy`: #negative / #positive counted pixels.

    With this :math:`\\beta` the positive and the negative pixels weigh the same in total.

    Example:
        >>> pos_weight_from_target(torch.tensor([[[0, 0, 0, 1]]]))
        3.0
    """
    check_tensor(target, "target", shape_hint="0/1 labels")
    if target.dtype.is_floating_point or target.dtype.is_complex:
        raise TypeError(f"target must be an integer (or bool) tensor of 0/1 labels, got {target.dtype}")
    ignore = check_ignore_index(ignore_index, 2)
    target = target.long()  # compare in int64: in uint8, ignore_index=-1 would wrap to 255 and drop those pixels
    t = target[target != ignore] if ignore is not None else target.flatten()
    positives, negatives = int((t == 1).sum()), int((t == 0).sum())
    if positives + negatives != t.numel():  # another value was not counted as either: refuse it, not drop it
        stray = int(t[(t != 0) & (t != 1)][0])
        extra = f" (nor the ignore index {ignore})" if ignore is not None else ""
        raise ValueError(f"a binary target must hold 0 (background) or 1 (foreground){extra}, got the value {stray}")
    if positives == 0:
        raise ValueError("target has no positive (1) pixel: the weight #negatives / #positives is undefined")
    return float(negatives / positives)


def inverse_frequency_weights(
    target: torch.Tensor, num_classes: int, *, ignore_index: Optional[int] = IGNORE_INDEX
) -> torch.Tensor:
    """Per-class weights :math:`w_c = P / (C\\, n_c)` ("balanced"): rare classes weigh more.

    :math:`n_c` counts the pixels of class :math:`c` and :math:`P` all counted pixels, so a perfectly
    balanced data set gets all weights 1. A class with no pixel gets weight 0 (it cannot appear in the loss).

    Returns:
        A float32 tensor ``(C,)`` for :func:`cross_entropy`'s ``weight``.

    Example:
        >>> inverse_frequency_weights(torch.tensor([[0, 0, 0, 1]]), 2)
        tensor([0.6667, 2.0000])
    """
    num_classes = check_positive_int(num_classes, "num_classes")
    check_tensor(target, "target", dtype="int", shape_hint="(N, H, W) class indices")
    ignore = check_ignore_index(ignore_index, num_classes)
    check_class_indices(target, "target", num_classes, ignore)  # reads values: this function counts them anyway
    target = target.long()  # compare in int64 (as pos_weight_from_target)
    t = target[target != ignore] if ignore is not None else target.flatten()
    counts = torch.bincount(t.flatten(), minlength=num_classes).double()
    weights = safe_divide(counts.sum(), num_classes * counts, empty=0.0)
    return weights.float()
