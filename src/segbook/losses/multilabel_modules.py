"""The multi-label losses as ``nn.Module``\\ s: options checked at construction, as in :mod:`segbook.losses.modules`.

Each module checks its options once, in ``__init__`` (by calling its function on an empty batch, which runs
every option check and computes nothing), and ``forward(logits, target)`` calls the function.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from segbook.losses.multilabel import multilabel_dice_loss, multilabel_focal_loss, multilabel_tversky_loss

__all__ = ["MultilabelDiceLoss", "MultilabelTverskyLoss", "MultilabelFocalLoss"]


class _MultilabelLoss(nn.Module):
    function: Callable[..., torch.Tensor]

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self.options = options
        alpha = options.get("alpha")
        channels = len(alpha) if isinstance(alpha, (list, tuple, torch.Tensor)) else 2  # per-class alpha: C
        empty = torch.zeros(0, max(channels, 1), 1, 1)
        type(self).function(empty, empty.long(), **options)  # checks every option now, not at the first batch

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return type(self).function(logits, target, **self.options)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.options.items())


class MultilabelDiceLoss(_MultilabelLoss):
    """Module form of :func:`~segbook.losses.multilabel_dice_loss` (keyword options as the function's).

    Example:
        >>> loss_fn = MultilabelDiceLoss(smooth_nr=1e-5, smooth_dr=1e-5)
        >>> float(loss_fn(torch.full((1, 2, 2, 2), 30.0), torch.ones(1, 2, 2, 2))) < 1e-6
        True
    """

    function = staticmethod(multilabel_dice_loss)


class MultilabelTverskyLoss(_MultilabelLoss):
    """Module form of :func:`~segbook.losses.multilabel_tversky_loss`.

    Example:
        >>> MultilabelTverskyLoss(fp_weight=0.3, fn_weight=0.7)
        MultilabelTverskyLoss(fp_weight=0.3, fn_weight=0.7)
    """

    function = staticmethod(multilabel_tversky_loss)


class MultilabelFocalLoss(_MultilabelLoss):
    """Module form of :func:`~segbook.losses.multilabel_focal_loss`.

    Example:
        >>> MultilabelFocalLoss(alpha=None, gamma=0.0)(torch.zeros(1, 2, 1, 1), torch.ones(1, 2, 1, 1))   # log 2
        tensor(0.6931)
    """

    function = staticmethod(multilabel_focal_loss)
