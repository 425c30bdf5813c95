"""Does the model learn? Overfit one batch (the first check to run) and detect a collapse to one class."""

from __future__ import annotations

import math
from typing import Callable, Optional, Union

import torch
from torch import nn

from segbook.conventions import IGNORE_INDEX, check_float, check_positive_int, check_tensor
from segbook.debugging.report import CheckReport
from segbook.metrics import SegmentationMetrics
from segbook.training import fit

__all__ = ["overfit_one_batch", "check_collapse"]


def overfit_one_batch(
    model: nn.Module,
    images: torch.Tensor,
    masks: torch.Tensor,
    *,
    num_classes: int,
    steps: int = 60,
    lr: float = 1e-2,
    threshold: float = 0.1,
    loss_fn: Optional[Callable] = None,
    optimizer: Optional[torch.optim.Optimizer] = None,
    ignore_index: int = IGNORE_INDEX,
    device: Union[str, torch.device, None] = None,
    seed: Optional[int] = 0,
) -> CheckReport:
    """Train ``model`` on one batch for ``steps`` steps and check that the loss falls below ``threshold``.

    A model that cannot memorise 2-8 images has a bug, not a capacity problem: this is the first check to run
    (Karpathy's "overfit a single batch"). Each step is one epoch of :func:`segbook.training.fit` over the
    single batch, so the check uses the very loop the chapters train with. Besides the losses the report
    says how many trainable parameters the model has and how many of them changed: 0 trainable means frozen
    (``requires_grad_(False)``), 0 changed means the optimizer holds other parameters or the learning rate is 0.

    Args:
        model: images (N, C_in, H, W) -> logits (N, C, H, W). It is trained in place.
        images: one batch (N, C_in, H, W) float.
        masks: its labels (N, H, W) int64.
        num_classes: C.
        steps: optimisation steps (>= 1).
        lr: learning rate of the default ``Adam`` (ignored when ``optimizer`` is given).
        threshold: the loss (mean per pixel) that counts as memorised; > 0.
        loss_fn, optimizer, ignore_index, device, seed: as in :func:`segbook.training.fit`.

    Returns:
        A :class:`CheckReport`; ``details`` holds ``losses`` (one per step, before the step), ``initial_loss``,
        ``final_loss``, ``trainable`` and ``changed`` (parameter tensors).

    Example:
        >>> _ = torch.manual_seed(0); x = torch.rand(2, 1, 8, 8); y = (x[:, 0] > 0.5).long()
        >>> overfit_one_batch(nn.Conv2d(1, 2, 1), x, y, num_classes=2, steps=100, lr=0.5).passed
        True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_tensor(images, "images", ndim=4, dtype="float", shape_hint="(N, C_in, H, W)")
    check_tensor(masks, "masks", ndim=3, dtype="int", shape_hint="(N, H, W)")
    steps = check_positive_int(steps, "steps")
    lr = check_float(lr, "lr", minimum=0.0)
    threshold = check_float(threshold, "threshold", minimum=0.0, strict_minimum=True)
    params = [p for p in model.parameters() if p.requires_grad]
    total = sum(1 for _ in model.parameters())
    if not params:
        return CheckReport(
            "overfit one batch",
            False,
            f"the model has no trainable parameter ({total} tensors, all with requires_grad=False): "
            "unfreeze them (model.requires_grad_(True)) before training",
            {
                "trainable": 0,
                "changed": 0,
                "losses": [],
                "initial_loss": math.nan,
                "final_loss": math.nan,
                "threshold": threshold,
            },
        )
    before = [p.detach().clone() for p in params]
    if optimizer is None:
        optimizer = torch.optim.Adam(params, lr=lr)
    history = fit(
        model,
        [(images, masks)],
        num_classes=num_classes,
        loss_fn=loss_fn,
        optimizer=optimizer,
        epochs=steps,
        device=device,
        seed=seed,
        progress=False,
        ignore_index=ignore_index,
    )
    losses = [record["train_loss"] for record in history.records]
    changed = sum(not torch.equal(b.to(p.device), p.detach()) for b, p in zip(before, params))
    final = losses[-1]
    details = {
        "losses": losses,
        "initial_loss": losses[0],
        "final_loss": final,
        "threshold": threshold,
        "trainable": len(params),
        "changed": changed,
        "steps": steps,
    }
    if final < threshold:
        return CheckReport(
            "overfit one batch",
            True,
            f"the loss fell from {losses[0]:.3f} to {final:.4f} < {threshold} in {steps} steps",
            details,
        )
    if changed == 0:
        hint = (
            "no parameter of the model changed: is the optimizer built over this model's parameters, "
            "and is the learning rate > 0?"
        )
    elif changed < len(params):
        hint = (
            f"only {changed} of {len(params)} trainable parameter tensors changed: part of the model gets no "
            "gradient (a .detach(), torch.no_grad() or a branch that is not used in forward?)"
        )
    else:
        hint = (
            "every parameter changed but the loss stayed high: raise the learning rate or the number of "
            "steps, and check the loss function and the labels (check_masks)"
        )
    return CheckReport(
        "overfit one batch",
        False,
        f"the loss went from {losses[0]:.3f} to {final:.3f}, not below {threshold} in {steps} steps; " + hint,
        details,
    )


def check_collapse(
    pred: torch.Tensor,
    target: torch.Tensor,
    num_classes: int,
    *,
    ignore_index: Optional[int] = IGNORE_INDEX,
    max_share: float = 0.98,
) -> CheckReport:
    """Check that a model does not predict (almost) one class everywhere while the target has several.

    On an imbalanced task a model can reach a high pixel accuracy by answering "background" everywhere; the
    loss plateaus at the entropy of the class frequencies and mIoU stays near ``1 / C``. The check fails when
    one class takes more than ``max_share`` of the predicted (non-ignored) pixels although the target gives it
    less than that share.

    Args:
        pred: logits (N, C, H, W) or predicted class indices (N, H, W).
        target: class indices (N, H, W).
        num_classes: C.
        ignore_index: pixels with this label are left out.
        max_share: the largest share of the pixels one predicted class may take, in (0, 1].

    Returns:
        A :class:`CheckReport`; ``details``: ``pred_share`` and ``target_share`` per class, ``dominant`` class,
        ``pixel_accuracy`` and ``miou``.

    Example:
        >>> t = torch.zeros(1, 10, 10, dtype=torch.long); t[0, :3, :3] = 1
        >>> check_collapse(torch.zeros_like(t), t, 2).passed
        False
    """
    check_tensor(target, "target", ndim=3, dtype="int", shape_hint="(N, H, W)")
    check_tensor(pred, "pred", ndim=(3, 4), shape_hint="(N, C, H, W) logits or (N, H, W) class indices")
    num_classes = check_positive_int(num_classes, "num_classes")
    max_share = check_float(max_share, "max_share", minimum=0.0, maximum=1.0, strict_minimum=True)
    labels = pred.argmax(1) if pred.ndim == 4 else pred
    if labels.shape != target.shape:
        raise ValueError(f"pred gives labels of shape {tuple(labels.shape)} but target has shape {tuple(target.shape)}")
    metrics = SegmentationMetrics(num_classes, ignore_index=ignore_index)
    metrics.update(labels.cpu(), target.cpu())
    scores = metrics.compute()
    keep = target != ignore_index if ignore_index is not None else torch.ones_like(target, dtype=torch.bool)
    n = max(int(keep.sum()), 1)
    pred_share = torch.bincount(labels[keep].cpu().long(), minlength=num_classes)[:num_classes].double() / n
    target_share = torch.bincount(target[keep].cpu().long(), minlength=num_classes)[:num_classes].double() / n
    dominant = int(pred_share.argmax())
    details = {
        "pred_share": [round(float(s), 4) for s in pred_share],
        "target_share": [round(float(s), 4) for s in target_share],
        "dominant": dominant,
        "pixel_accuracy": float(scores["pixel_accuracy"]),
        "miou": float(scores["miou"]),
    }
    share, true_share = float(pred_share[dominant]), float(target_share[dominant])
    if share > max_share and true_share < max_share:
        return CheckReport(
            "collapse",
            False,
            f"class {dominant} is predicted on {share:.1%} of the pixels but covers only "
            f"{true_share:.1%} of the target (pixel accuracy {details['pixel_accuracy']:.3f}, "
            f"mIoU {details['miou']:.3f}): the model collapsed to one class; use a class-weighted "
            "or focal/Dice loss, train longer, or check the labels",
            details,
        )
    return CheckReport(
        "collapse",
        True,
        f"the most predicted class ({dominant}) takes {share:.1%} of the pixels "
        f"(target: {true_share:.1%}); mIoU {details['miou']:.3f}",
        details,
    )
