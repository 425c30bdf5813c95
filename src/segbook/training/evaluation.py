"""Scoring a trained model and using it: :func:`evaluate` (loss and metrics on a data set) and :func:`predict`
(label maps), the two calls every chapter makes after :func:`~segbook.training.fit`.
"""

from __future__ import annotations

from typing import Callable, Optional, Union

import torch
from torch import nn

from segbook.conventions import IGNORE_INDEX, check_float, check_int, check_positive_int, check_tensor, evaluating
from segbook.env import pick_device
from segbook.metrics import SegmentationMetrics
from segbook.training._batches import (
    AUX_WEIGHT,
    Batches,
    batch_loss,
    check_batches,
    logits_to_score,
    main_logits,
    model_device,
    unpack,
)

__all__ = ["evaluate", "predict"]


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data: Batches,
    *,
    num_classes: int,
    device: Union[str, torch.device, None] = None,
    loss_fn: Optional[Callable] = None,
    ignore_index: int = IGNORE_INDEX,
    aux_weight: float = AUX_WEIGHT,
) -> dict:
    """Score ``model`` on ``data``: the metrics of :class:`segbook.metrics.SegmentationMetrics` and the loss.

    The model runs in eval mode (batch norm uses its running statistics, dropout is off) without
    gradients; its previous mode is restored afterwards. The confusion matrix is summed over all
    batches before any metric is computed, so the result is the data set's mIoU, not a mean of
    per-batch mIoUs.

    Args:
        model: maps images ``(N, C_in, H, W)`` to logits ``(N, C, H, W)``; or to a list of them (deep
            supervision: the last is scored, ``loss_fn`` gets the list); or to a dict ``{"out": logits}`` or
            ``{"out": logits, "aux": aux_logits}`` as torchvision's segmentation models return (``"out"`` is
            scored; the loss is ``L(out) + aux_weight * L(aux)``, so it is the loss :func:`fit` trains on: a
            torchvision model computes its auxiliary head in eval mode too).
        data: a ``DataLoader`` or a list of ``(images, masks)`` batches.
        num_classes: ``C``.
        device: where to run (the model is moved there); ``None`` keeps the model where it is.
        loss_fn: ``loss_fn(output, masks) -> scalar``; default cross entropy ignoring ``ignore_index``.
        ignore_index: mask value of unlabelled pixels.
        aux_weight: weight (>= 0) of the auxiliary loss of a dict output with ``"aux"``; default 0.5, the weight
            of torchvision's reference training script for its segmentation models; 0 ignores the auxiliary head.

    Returns:
        The dict of :meth:`SegmentationMetrics.compute` plus ``loss``, the mean batch loss weighted by
        batch size.

    Example:
        >>> x = torch.rand(2, 1, 4, 4); y = (x[:, 0] > 0.5).long()
        >>> sorted(evaluate(nn.Conv2d(1, 2, 1), [(x, y)], num_classes=2))[:3]
        ['confusion_matrix', 'dice', 'fwiou']
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_batches(data, "data")
    num_classes = check_positive_int(num_classes, "num_classes")
    aux_weight = check_float(aux_weight, "aux_weight", minimum=0)
    device = model_device(model) if device is None else pick_device(device)
    model.to(device)
    metrics = SegmentationMetrics(num_classes, ignore_index=ignore_index)
    total, count = 0.0, 0
    with evaluating(model):
        for batch in data:
            images, masks, weights = unpack(batch, device, "data")
            output = model(images)
            metrics.update(logits_to_score(output, masks, num_classes), masks)
            loss = batch_loss(loss_fn, output, masks, ignore_index, weights, aux_weight=aux_weight)
            total += float(loss) * images.shape[0]
            count += images.shape[0]
    if count == 0:
        raise ValueError("data yielded no batches")
    return {**metrics.compute(), "loss": total / count}


@torch.no_grad()
def predict(
    model: nn.Module, images: torch.Tensor, *, device: Union[str, torch.device, None] = None, batch_size: int = 16
) -> torch.Tensor:
    """Label maps predicted by ``model``: the argmax over classes of its logits, per pixel.

    .. math:: \\hat y_p = \\arg\\max_c z_{p,c}

    Runs in eval mode without gradients, ``batch_size`` images at a time; the model's previous mode
    is restored afterwards.

    Args:
        model: maps images ``(N, C_in, H, W)`` to logits ``(N, C, H, W)``, or to a list of them (the last is
            used), or to a dict with the logits under ``"out"`` (torchvision's segmentation models).
        images: float ``(N, C_in, H, W)``, or one image ``(C_in, H, W)``.
        device: where to run (the model is moved there); ``None`` keeps the model where it is.
        batch_size: images per forward pass (>= 1).

    Returns:
        int64 label maps on the CPU: ``(N, H, W)``, or ``(H, W)`` for a single image.

    Example:
        >>> predict(nn.Conv2d(3, 5, 1), torch.rand(3, 8, 8)).shape
        torch.Size([8, 8])
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_tensor(images, "images", ndim=(3, 4), dtype="float", shape_hint="(N, C_in, H, W) or (C_in, H, W)")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    single = images.ndim == 3
    batch = images.unsqueeze(0) if single else images  # (N, C_in, H, W)
    device = model_device(model) if device is None else pick_device(device)
    model.to(device)
    labels = []
    with evaluating(model):
        for chunk in batch.split(batch_size):
            logits = main_logits(model(chunk.to(device)))  # (n, C, H, W)
            labels.append(logits.argmax(dim=1).cpu())  # (n, H, W)
    out = torch.cat(labels)
    return out[0] if single else out
