"""Per-image averaging and multi-label scores: the conventions other libraries use beside the FCN paper's.

The FCN paper's metrics (:mod:`segbook.metrics.confusion`, the book's default) *pool* the pixels of the whole
data set into one confusion matrix, then score it. Many papers and libraries instead score **each image**
and average the images (torchmetrics' ``segmentation.mean_iou`` per sample, MONAI's ``DiceMetric``,
smp's ``"macro-imagewise"``): then a small object counts as much as a large one, and an image where a class
is missed entirely pulls the mean down by a whole image's worth. :func:`scores_per_image` and
:func:`mean_per_image` give that reading; :func:`multilabel_scores` scores one sigmoid channel per class.
"""

from __future__ import annotations

from typing import Optional

import torch

from segbook.conventions import (
    IGNORE_INDEX,
    check_bool,
    check_choice,
    check_finite,
    check_multilabel_inputs,
    check_tensor,
    safe_divide,
    values_checked,
)
from segbook.metrics.confusion import confusion_matrix

__all__ = ["scores_per_image", "mean_per_image", "multilabel_scores"]

METRICS = ("iou", "dice")


def _score(tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor, metric: str, ignore_empty: Optional[bool]):
    """IoU or Dice of counts, with the absent-class rule (``None``) or MONAI's ``ignore_empty``."""
    num, den = (tp, tp + fp + fn) if metric == "iou" else (2 * tp, 2 * tp + fp + fn)
    score = safe_divide(num, den)  # both empty: NaN (segbook's rule)
    if ignore_empty is True:  # MONAI: no target pixel -> NaN, even when something was predicted
        score = torch.where(tp + fn == 0, float("nan"), score)
    elif ignore_empty is False:  # MONAI: no target pixel -> 1 if nothing predicted, else 0
        score = torch.where(tp + fn == 0, (fp == 0).to(score.dtype), score)
    return score


def scores_per_image(
    pred: torch.Tensor,
    target: torch.Tensor,
    num_classes: int,
    *,
    metric: str = "iou",
    include_background: bool = True,
    ignore_empty: Optional[bool] = None,
    ignore_index: Optional[int] = IGNORE_INDEX,
    validate: Optional[bool] = None,
) -> torch.Tensor:
    """IoU or Dice of every image and class, ``(N, K)`` float64: each image scored on its own.

    Args:
        pred, target, num_classes, ignore_index, validate: as :func:`~segbook.metrics.confusion_matrix`
            (``pred`` class indices ``(N, H, W)`` or logits ``(N, C, H, W)``).
        metric: ``"iou"`` or ``"dice"``.
        include_background: keep class 0 (``False``: :math:`K = C - 1`, MONAI's option).
        ignore_empty: ``None`` (segbook's absent-class rule: NaN when the class is in neither the image's
            target nor its prediction), ``True`` (MONAI's default: NaN whenever the target lacks the class),
            ``False`` (MONAI: 1 when both lack it, 0 when only the target does).

    Returns:
        float64 ``(N, K)``, NaN where undefined.

    Example:
        >>> target = torch.tensor([[[0, 0, 1, 1]], [[0, 0, 0, 0]]])
        >>> pred = torch.tensor([[[0, 0, 1, 0]], [[0, 0, 0, 0]]])
        >>> scores_per_image(pred, target, 2)
        tensor([[0.6667, 0.5000],
                [1.0000,    nan]], dtype=torch.float64)
    """
    metric = str(check_choice(metric, "metric", METRICS))
    background = check_bool(include_background, "include_background")
    if ignore_empty is not None:
        check_bool(ignore_empty, "ignore_empty")
    check_tensor(target, "target", ndim=3, dtype="int", shape_hint="(N, H, W)")
    check_tensor(pred, "pred", ndim=(3, 4), shape_hint="(N, H, W) class indices or (N, C, H, W) logits")
    rows = [
        confusion_matrix(pred[i : i + 1], target[i : i + 1], num_classes, ignore_index=ignore_index, validate=validate)
        for i in range(target.shape[0])
    ]
    cm = torch.stack(rows).double() if rows else torch.zeros(0, num_classes, num_classes, dtype=torch.float64)
    tp = cm.diagonal(dim1=1, dim2=2)
    scores = _score(tp, cm.sum(1) - tp, cm.sum(2) - tp, metric, ignore_empty)
    return scores if background else scores[:, 1:]


def mean_per_image(scores: torch.Tensor) -> float:
    """The per-image mean: each image's mean over its defined classes, then the mean over the images.

    Images with no defined class are left out; NaN when none is left. With :func:`scores_per_image` this is
    torchmetrics' ``segmentation.mean_iou(...).mean()`` (``per_class=False``).

    Example:
        >>> mean_per_image(torch.tensor([[0.5, 1.0], [1.0, float("nan")]], dtype=torch.float64))
        0.875
    """
    check_tensor(scores, "scores", ndim=2, dtype="float", shape_hint="(N, K) from scores_per_image")
    per_image = scores.nanmean(dim=1)
    return float(per_image.nanmean()) if per_image.numel() else float("nan")


def multilabel_scores(
    pred: torch.Tensor,
    target: torch.Tensor,
    *,
    metric: str = "iou",
    per_image: bool = False,
    ignore_empty: Optional[bool] = None,
    ignore_index: Optional[int] = IGNORE_INDEX,
    validate: Optional[bool] = None,
) -> torch.Tensor:
    """IoU or Dice of each class of a multi-label prediction (one sigmoid channel per class).

    A pixel is predicted in class :math:`c` when its logit is :math:`> 0` (probability :math:`> 1/2`); a 0/1
    or bool ``pred`` is taken as it is. Pooled over the data set by default (torchmetrics'
    ``MultilabelJaccardIndex(average=None)``), or per image.

    Args:
        pred: ``(N, C, H, W)`` logits (float) or 0/1 predictions (integer or bool).
        target: same shape, 0/1 per class and pixel, or ``ignore_index`` (that element left out).
        metric: ``"iou"`` or ``"dice"``.
        per_image: ``False`` (pooled, ``(C,)``) or ``True`` (``(N, C)``).
        ignore_empty: as :func:`scores_per_image`.
        ignore_index, validate: as :func:`~segbook.conventions.check_multilabel_inputs`; checked logits must
            be finite (the NaN rule).

    Example:
        >>> target = torch.tensor([[[[1, 1, 0]], [[0, 1, 1]]]])             # the middle pixel is in both
        >>> multilabel_scores(torch.tensor([[[[1, 0, 0]], [[0, 1, 1]]]]), target)
        tensor([0.5000, 1.0000], dtype=torch.float64)
    """
    metric = str(check_choice(metric, "metric", METRICS))
    check_bool(per_image, "per_image")
    if ignore_empty is not None:
        check_bool(ignore_empty, "ignore_empty")
    check_tensor(pred, "pred", ndim=4, shape_hint="(N, C, H, W) logits or 0/1")
    if pred.dtype.is_floating_point:
        if values_checked(validate, pred):
            check_finite(pred, "pred (logits)", advice=": a NaN logit is neither in nor out of a class")
        hard = (pred.detach() > 0).double()
    else:
        hard = pred.detach().double()
    inputs = check_multilabel_inputs(
        hard, target, ignore_index=ignore_index, validate=validate, name="multilabel_scores", logits_name="pred"
    )
    if values_checked(validate, pred) and not pred.dtype.is_floating_point and bool(((hard != 0) & (hard != 1)).any()):
        raise ValueError("pred must hold 0 or 1 per class (or float logits)")
    p = hard if inputs.valid is None else hard * inputs.valid
    g = inputs.target
    dims = (2, 3) if per_image else (0, 2, 3)
    tp = (p * g).sum(dims)
    return _score(tp, p.sum(dims) - tp, g.sum(dims) - tp, metric, ignore_empty)
