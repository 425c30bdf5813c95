"""Deep supervision (chapters 9 and 10): one loss per head of a model with several outputs, averaged.

U-Net++ supervises each of its nested decoders' heads, stacked hourglasses and coupled U-Nets each stack's
output; :func:`deep_supervision_loss` compares every head with the same target.
"""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence

import torch
from torch import nn

from segbook.conventions import check_float, check_tensor
from segbook.losses.distribution import cross_entropy

__all__ = ["deep_supervision_loss", "DeepSupervisionLoss"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def check_head_weights(weights: object, heads: Optional[int] = None) -> Optional[List[float]]:
    """One weight >= 0 per head, not all zero (``heads=None``: the count is checked later), or ``None``."""
    if weights is None:
        return None
    if not isinstance(weights, (list, tuple)) or not weights or (heads is not None and len(weights) != heads):
        want = f"one value per head ({heads})" if heads is not None else "a non-empty list, one per head"
        raise ValueError(f"weights must have {want}, got {weights!r}")
    checked = [check_float(w, "each weight", minimum=0.0) for w in weights]
    if sum(checked) <= 0:
        raise ValueError("weights must not all be zero")
    return checked


def check_loss_callable(loss: object) -> Optional[LossFn]:
    """``None`` (cross entropy) or a callable ``loss(logits, target)``."""
    if loss is not None and not callable(loss):
        raise TypeError(f"loss must be a callable loss(logits, target), got {type(loss).__name__}")
    return loss


def deep_supervision_loss(
    outputs: Sequence[torch.Tensor],
    target: torch.Tensor,
    *,
    loss: Optional[LossFn] = None,
    weights: Optional[Sequence[float]] = None,
) -> torch.Tensor:
    r"""The loss of a model with several heads (deep or intermediate supervision): a weighted mean of one loss
    per head, every head compared with the same target.

    .. math:: \mathcal{L} = \frac{\sum_k w_k\, \ell(\text{logits}_k, y)}{\sum_k w_k}

    U-Net++ (Zhou et al., 2018) averages the losses of its heads with equal weights; stacked hourglasses and
    CU-Net do the same for their intermediate supervision. Every head gets its own gradient, so the early
    layers of a deep or stacked network are trained directly, not only through the layers after them.

    Args:
        outputs: a list or tuple of logits (N, C, H, W), one per head, all of the target's size.
        target: (N, H, W) class indices.
        loss: the per-head loss ``loss(logits, target) -> 0-dim tensor``; default :func:`cross_entropy`
            (ignore index 255).
        weights: one non-negative weight per head (not all zero); default equal weights.

    Returns:
        A 0-dim tensor.

    Example:
        >>> heads = [torch.zeros(1, 4, 2, 2), torch.zeros(1, 4, 2, 2)]
        >>> deep_supervision_loss(heads, torch.zeros(1, 2, 2, dtype=torch.long))   # log 4 for each head
        tensor(1.3863)
    """
    if not isinstance(outputs, (list, tuple)) or not outputs:
        raise TypeError(
            f"outputs must be a non-empty list of logits, one per head, got "
            f"{type(outputs).__name__ if not isinstance(outputs, (list, tuple)) else 'an empty list'}"
            + (" (a single tensor: use the loss itself)" if isinstance(outputs, torch.Tensor) else "")
        )
    loss_fn = check_loss_callable(loss) or cross_entropy
    checked = check_head_weights(weights, len(outputs)) or [1.0] * len(outputs)
    for k, logits in enumerate(outputs):
        check_tensor(logits, f"outputs[{k}]", ndim=4, dtype="float", shape_hint="(N, C, H, W)")
    terms = [loss_fn(x, target) if w == 1 else w * loss_fn(x, target) for w, x in zip(checked, outputs) if w > 0]
    total = terms[0]
    for term in terms[1:]:  # no "0 +" and no "1.0 *" nodes in the graph
        total = total + term
    return total / sum(checked)


class DeepSupervisionLoss(nn.Module):
    """Module form of :func:`deep_supervision_loss`, for ``training.fit(loss_fn=...)`` with a list-returning model.

    Example:
        >>> DeepSupervisionLoss(weights=[0.5, 1.0])
        DeepSupervisionLoss(loss=cross_entropy, weights=[0.5, 1.0])
    """

    def __init__(self, *, loss: Optional[LossFn] = None, weights: Optional[Sequence[float]] = None) -> None:
        super().__init__()
        self.loss, self.weights = check_loss_callable(loss), check_head_weights(weights)

    def forward(self, outputs: Sequence[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        return deep_supervision_loss(outputs, target, loss=self.loss, weights=self.weights)

    def extra_repr(self) -> str:
        name = getattr(self.loss, "__name__", type(self.loss).__name__) if self.loss is not None else "cross_entropy"
        return f"loss={name}, weights={self.weights!r}"
