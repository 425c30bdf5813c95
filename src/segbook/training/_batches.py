"""The steps :func:`~segbook.training.fit` and :func:`~segbook.training.evaluate` share: check and unpack a batch,
pick the logits to score, compute the loss.

Private to :mod:`segbook.training`; the names are public so that its sibling modules can import them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Callable, Optional, Sequence, Union

import torch
from torch import nn

from segbook.conventions import check_same_shape, check_tensor

__all__ = ["Batches", "Output", "check_batches", "unpack", "logits_to_score", "batch_loss", "model_device"]

Batches = Iterable  # of (images (N, C_in, H, W), masks (N, H, W)) pairs
Output = Union[torch.Tensor, Sequence[torch.Tensor]]  # logits, or a deep-supervision list of logits


def check_batches(data: object, name: str) -> None:
    if isinstance(data, torch.Tensor) or not isinstance(data, Iterable):
        raise TypeError(f"{name} must be a DataLoader or a list of (images, masks) batches, got {type(data).__name__}")
    if iter(data) is data:
        raise TypeError(
            f"{name} is an iterator, which is used up after one pass; pass a DataLoader "
            f"or a list of (images, masks) batches"
        )


def unpack(batch: object, device: torch.device, name: str) -> tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
    """(images, masks) or (images, masks, pixel_weights), checked and moved to ``device``; weights None if absent."""
    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise TypeError(
            f"each batch of {name} must be a pair (images, masks) or a triple (images, masks, "
            f"pixel_weights), got {type(batch).__name__}"
            + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
        )
    images, masks, *rest = batch
    check_tensor(images, f"images in {name}", ndim=4, dtype="float", shape_hint="(N, C_in, H, W)")
    check_tensor(masks, f"masks in {name}", ndim=3, dtype="int", shape_hint="(N, H, W)")
    weights = None
    if rest:
        weights = check_tensor(rest[0], f"pixel_weights in {name}", ndim=3, dtype="float", shape_hint="(N, H, W)")
        check_same_shape(weights, f"pixel_weights in {name}", masks, "masks")
        weights = weights.to(device)
    return images.to(device), masks.to(device, dtype=torch.long), weights  # cross entropy wants int64 targets


def logits_to_score(output: Output, masks: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The tensor to score: the output itself, or the last one of a deep-supervision list."""
    last = output[-1] if isinstance(output, (list, tuple)) else output
    logits = check_tensor(last, "the model's output", ndim=4, dtype="float", shape_hint="(N, C, H, W)")
    n, c, h, w = logits.shape
    if c != num_classes or (n, h, w) != tuple(masks.shape):
        raise ValueError(
            f"the model's output has shape {tuple(logits.shape)} but masks have shape "
            f"{tuple(masks.shape)} and num_classes={num_classes}: expected logits "
            f"{(masks.shape[0], num_classes, *masks.shape[1:])} at the input's size"
        )
    return logits


def batch_loss(
    loss_fn: Optional[Callable],
    output: Output,
    masks: torch.Tensor,
    ignore_index: int,
    weights: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    if weights is not None:
        if loss_fn is None:
            raise TypeError(
                "the batches carry pixel weights (images, masks, pixel_weights): pass a "
                "loss_fn(output, masks, pixel_weights), e.g. "
                "segbook.losses.weight_map.weighted_pixel_cross_entropy"
            )
        return loss_fn(output, masks, weights)
    if loss_fn is not None:
        return loss_fn(output, masks)
    if not isinstance(output, torch.Tensor):
        raise TypeError(
            f"the model returned a list of {len(output)} outputs (deep supervision); pass a "
            "loss_fn that takes the list, e.g. the mean of cross-entropies over the outputs"
        )
    return nn.functional.cross_entropy(output, masks, ignore_index=ignore_index)


def model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")
