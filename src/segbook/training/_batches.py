"""The steps :func:`~segbook.training.fit`, :func:`~segbook.training.evaluate` and :func:`~segbook.training.predict`
share: check and unpack a batch, pick the logits a model's output stands for, compute the loss.

This is the one place that knows the kinds of output a model may return (:data:`Output`):

* a tensor of logits ``(N, C, H, W)``, as every model of the book returns;
* a list or tuple of such tensors (deep supervision, chapter 9): the last one is scored and predicted, and the
  loss function gets the whole list;
* a dict ``{"out": logits}`` or ``{"out": logits, "aux": auxiliary logits}``, as torchvision's segmentation
  models return (an ``OrderedDict``): ``"out"`` is scored and predicted, and the loss is
  ``L(out) + aux_weight * L(aux)``.

Private to :mod:`segbook.training`; the names are public so that its sibling modules can import them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Callable, Optional, Sequence, Union

import torch
from torch import nn

from segbook.conventions import check_same_shape, check_tensor

__all__ = [
    "AUX_WEIGHT",
    "Batches",
    "Output",
    "check_batches",
    "unpack",
    "main_logits",
    "logits_to_score",
    "batch_loss",
    "model_device",
]

Batches = Iterable  # of (images (N, C_in, H, W), masks (N, H, W)) pairs
# logits; a deep-supervision list of logits; or torchvision's {"out": logits, "aux": auxiliary logits}
Output = Union[torch.Tensor, Sequence[torch.Tensor], Mapping[str, torch.Tensor]]
# The weight of the auxiliary head's loss: torchvision's reference training script for its segmentation models
# (references/segmentation/train.py, criterion) returns losses["out"] + 0.5 * losses["aux"].
AUX_WEIGHT = 0.5
OUTPUT_KEYS = ("out", "aux")


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


def main_logits(output: Output) -> torch.Tensor:
    """The logits ``(N, C, H, W)`` a model's output stands for: the tensor itself, the last one of a
    deep-supervision list, or the ``"out"`` entry of a torchvision-style dict."""
    if isinstance(output, Mapping):
        check_output_keys(output)
        return check_tensor(
            output["out"], "the model's output['out']", ndim=4, dtype="float", shape_hint="(N, C, H, W)"
        )
    if isinstance(output, (list, tuple)):
        if len(output) == 0:
            raise ValueError("the model returned an empty list; expected logits (N, C, H, W) or a list of them")
        output = output[-1]
    return check_tensor(output, "the model's output", ndim=4, dtype="float", shape_hint="(N, C, H, W)")


def check_output_keys(output: Mapping) -> None:
    """Refuse a dict output whose keys are not ``{"out"}`` or ``{"out", "aux"}``, naming the keys found."""
    keys = list(output.keys())
    if "out" not in keys or any(key not in OUTPUT_KEYS for key in keys):
        raise ValueError(
            f"the model returned a dict with keys {keys}; expected {{'out': logits}} or "
            "{'out': logits, 'aux': auxiliary logits}, as torchvision's segmentation models return; "
            "wrap the model to return its logits (N, C, H, W) for another kind of dict"
        )


def logits_to_score(output: Output, masks: torch.Tensor, num_classes: int) -> torch.Tensor:
    """:func:`main_logits`, checked against the masks' shape and ``num_classes``."""
    logits = main_logits(output)
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
    *,
    aux_weight: float = AUX_WEIGHT,
) -> torch.Tensor:
    """The loss of one batch, ``loss_fn(output, masks)`` or the cross entropy; for a dict output
    ``L(out) + aux_weight * L(aux)`` (``aux_weight = 0``: ``L(out)``).

    Example:
        >>> out, masks = torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long)
        >>> round(float(batch_loss(None, {"out": out, "aux": out}, masks, 255)), 4)  # 1.5 * log 2
        1.0397
    """
    if not isinstance(output, Mapping):
        return _loss(loss_fn, output, masks, ignore_index, weights)
    logits = main_logits(output)  # checks the keys
    loss = _loss(loss_fn, logits, masks, ignore_index, weights)
    if aux_weight == 0 or "aux" not in output:
        return loss
    aux = check_tensor(
        output["aux"],
        "the model's output['aux']",
        ndim=4,
        dtype="float",
        shape_hint="(N, C, H, W)",
    )
    if aux.shape != logits.shape:
        raise ValueError(
            f"the model's output['aux'] has shape {tuple(aux.shape)} but "
            f"output['out'] has shape {tuple(logits.shape)}: the auxiliary logits "
            "must be at the same size (torchvision upsamples them)"
        )
    aux_loss = _loss(loss_fn, aux, masks, ignore_index, weights)
    return loss + aux_weight * aux_loss


def _loss(
    loss_fn: Optional[Callable],
    output: Union[torch.Tensor, Sequence[torch.Tensor]],
    masks: torch.Tensor,
    ignore_index: int,
    weights: Optional[torch.Tensor],
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
