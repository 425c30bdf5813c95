"""The confusion matrix and the scores read off it (chapter 1, "Measuring a segmentation").

:func:`confusion_matrix` counts :math:`n_{ij}`, the pixels of true class ``i`` predicted as ``j``; the FCN paper's
four summaries (:func:`pixel_accuracy`, :func:`mean_accuracy`, :func:`mean_iou`, :func:`frequency_weighted_iou`)
and the per-class scores (:func:`iou_per_class`, :func:`dice_per_class`, :func:`precision_per_class`,
:func:`recall_per_class`) are computed from it, with the absent-class rule of :mod:`segbook.metrics`.

**Which checks read values.** Types, shapes and devices are metadata: always checked. The class range of
``target`` and ``pred`` is a value check: it follows ``validate`` as the losses do (:func:`~segbook.conventions.
values_checked`): ``None`` (the default) checks CPU tensors only, ``True`` always, ``False`` never (a class index
outside ``[0, C)`` then gives torch's own error or a wrong count). Counting itself reads no value: it is one
``scatter_add_`` of the codes ``i * C + j`` into ``C * C`` bins, an ignored pixel adding 0, so it runs on any
device without waiting for the host (``torch.bincount`` would read the largest code first).

Example:
    >>> pred, target = torch.tensor([[0, 1, 1, 2]]), torch.tensor([[0, 0, 1, 255]])
    >>> cm = confusion_matrix(pred, target, num_classes=3)
    >>> cm
    tensor([[1, 1, 0],
            [0, 1, 0],
            [0, 0, 0]])
    >>> mean_iou(cm)   # classes 0 and 1 have IoU 1/2; class 2 is nowhere (NaN, left out)
    0.5
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch

from segbook.conventions import (
    IGNORE_INDEX,
    check_class_indices,
    check_finite,
    check_ignore_index,
    check_positive_int,
    check_tensor,
    safe_divide,
    values_checked,
)

__all__ = [
    "predicted_classes",
    "confusion_matrix",
    "pixel_accuracy",
    "mean_accuracy",
    "iou_per_class",
    "mean_iou",
    "frequency_weighted_iou",
    "dice_per_class",
    "precision_per_class",
    "recall_per_class",
]


def predicted_classes(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The class-index map of ``pred`` (argmax over ``C`` of logits), checked against ``target``'s shape.

    Reads no value: only types, shapes and devices are checked (the class range is
    :func:`confusion_matrix`'s ``validate``).

    Args:
        pred: class indices of ``target``'s shape, or logits/scores ``(N, C, H, W)`` (``(C, H, W)`` for an
            ``(H, W)`` target), argmaxed over ``C``.
        target: integer class indices ``(N, H, W)`` or ``(H, W)``.
        num_classes: ``C``, the number of classes (the logits' channel count).

    Returns:
        Integer class indices of ``target``'s shape (``pred`` itself when it already is one).

    Raises:
        TypeError: a non-tensor, a floating-point target, or floating-point ``pred`` of the target's shape.
        ValueError: mismatched shapes or devices, or logits with the wrong number of channels.

    Example:
        >>> logits = torch.tensor([[[2.0, 0.0]], [[1.0, 3.0]]])    # (C=2, H=1, W=2)
        >>> predicted_classes(logits, torch.tensor([[0, 0]]), 2)
        tensor([[0, 1]])
    """
    num_classes = check_positive_int(num_classes, "num_classes")
    check_tensor(target, "target", ndim=(2, 3), dtype="int", shape_hint="(N, H, W) or (H, W)")
    check_tensor(pred, "pred", shape_hint="(N, H, W) class indices or (N, C, H, W) logits")
    if pred.device != target.device:
        raise ValueError(f"pred and target must be on the same device, got {pred.device} and {target.device}")
    if pred.ndim == target.ndim + 1:  # logits: (N, C, H, W) -> (N, H, W)
        if pred.shape[-3] != num_classes:
            raise ValueError(
                f"pred looks like logits {tuple(pred.shape)} with {pred.shape[-3]} channels, "
                f"but num_classes is {num_classes} (C={num_classes})"
            )
        if pred.shape[:-3] + pred.shape[-2:] != target.shape:
            raise ValueError(
                f"logits {tuple(pred.shape)} do not match target {tuple(target.shape)}: "
                f"expected {tuple(target.shape[:-2])} + (C,) + {tuple(target.shape[-2:])}"
            )
        return pred.argmax(dim=-3)
    if pred.shape != target.shape:
        raise ValueError(
            f"pred must have target's shape {tuple(target.shape)} (class indices) or "
            f"one more dimension for C (logits), got {tuple(pred.shape)}"
        )
    if pred.dtype.is_floating_point or pred.dtype.is_complex or pred.dtype == torch.bool:
        raise TypeError(
            f"pred has target's shape, so it must hold integer class indices, got {pred.dtype}; "
            "pass logits with a class dimension, (N, C, H, W)"
        )
    return pred


def confusion_matrix(
    pred: torch.Tensor,
    target: torch.Tensor,
    num_classes: int,
    *,
    ignore_index: Optional[int] = IGNORE_INDEX,
    validate: Optional[bool] = None,
) -> torch.Tensor:
    """Count :math:`n_{ij}`, the pixels of true class ``i`` predicted as class ``j``.

    .. math::

        n_{ij} = \\#\\{p : \\text{target}_p = i,\\ \\text{pred}_p = j,\\ \\text{target}_p \\ne
        \\text{ignore}\\}

    The codes ``i * C + j`` are counted in one pass, as in the FCN authors' ``fast_hist``; a pixel whose target
    is ``ignore_index`` adds 0, whatever was predicted there (so ``pred`` is only checked at the counted
    pixels).

    Args:
        pred: class indices of the same shape as ``target``, e.g. ``(N, H, W)``, or logits/scores
            ``(N, C, H, W)`` (``(C, H, W)`` for a single ``(H, W)`` target), which are argmaxed
            over ``C``.
        target: integer class indices ``(N, H, W)`` or ``(H, W)``, values in ``[0, C)`` or
            ``ignore_index``.
        num_classes: ``C``, the number of classes.
        ignore_index: the target value of unlabelled pixels (VOC's border is 255), or ``None``.
            It must not be a class index.
        validate: check that every counted class index lies in ``[0, C)``: ``None`` (the default) on CPU
            tensors only, so nothing waits for a GPU; ``True`` on any device; ``False`` never. Checked
            logits must be finite (the NaN rule of :mod:`segbook.conventions`: a count cannot be NaN).

    Returns:
        An int64 tensor ``(C, C)`` on ``target``'s device; rows = true class, columns = predicted.

    Raises:
        TypeError: a non-tensor, a floating-point target, or floating-point ``pred`` that has
            the target's shape (class indices must be integers).
        ValueError: mismatched shapes or devices, logits with the wrong number of channels, or
            (values checked) a class index outside ``[0, C)``; the message names the value and ``C``.

    Example:
        >>> logits = torch.tensor([[[[2.0, 0.0]], [[1.0, 3.0]]]])   # (N=1, C=2, H=1, W=2)
        >>> confusion_matrix(logits, torch.tensor([[[0, 0]]]), num_classes=2)
        tensor([[1, 1],
                [0, 0]])
    """
    num_classes = check_positive_int(num_classes, "num_classes")
    ignore_index = check_ignore_index(ignore_index, num_classes)
    classes = predicted_classes(pred, target, num_classes)
    from_logits = classes is not pred  # an argmax: in range by construction
    check = values_checked(validate, target)
    if check and from_logits:  # the NaN rule: argmax would call a NaN pixel class 0, and a count cannot be NaN
        check_finite(pred, "pred (logits)", advice=": argmax would count a NaN pixel as class 0")
    t, p = target.long().reshape(-1), classes.long().reshape(-1)  # (P,); long: uint8 codes would overflow
    # Values checked: one aminmax of the target also says whether any pixel is ignored (the ignore index is
    # not a class). When none is, as in most batches, no mask is needed at all.
    in_range = check and _in_range(t, num_classes)
    if ignore_index is None or in_range:
        if check and not in_range:  # no ignore index: an out-of-range target is an error
            check_class_indices(t, "target", num_classes)
        if check and not from_logits:
            check_class_indices(p, "pred", num_classes)
        codes = torch.add(p, t, alpha=num_classes)  # i * C + j
        weights = torch.ones_like(codes)
    else:
        counted = t != ignore_index
        if check:  # the class range at the counted pixels only (0 elsewhere)
            t = torch.where(counted, t, 0)
            check_class_indices(t, "target", num_classes, ignore_index)
            if not from_logits:
                p = torch.where(counted, p, 0)
                check_class_indices(p, "pred", num_classes)
            codes = t.mul_(num_classes).add_(p)  # in place: t is a new tensor here
        else:
            codes = torch.where(counted, torch.add(p, t, alpha=num_classes), 0)
        weights = counted.long()  # an ignored pixel has code 0 and weight 0: it counts nowhere
    counts = torch.zeros(num_classes * num_classes, dtype=torch.long, device=codes.device)
    counts.scatter_add_(0, codes, weights)  # no value read: the output size is fixed
    return counts.reshape(num_classes, num_classes)


def _in_range(t: torch.Tensor, num_classes: int) -> bool:
    """Whether every value of ``t`` is a class index in ``[0, C)`` (one pass; reads two values)."""
    if t.numel() == 0:
        return True
    low, high = (int(v) for v in torch.aminmax(t))
    return low >= 0 and high < num_classes


def _as_matrix(cm: torch.Tensor) -> torch.Tensor:
    check_tensor(cm, "confusion matrix", ndim=2, shape_hint="(C, C)")
    if cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f"confusion matrix must be square (C, C) with C >= 1, got shape {tuple(cm.shape)}")
    if cm.dtype == torch.bool or cm.dtype.is_complex:
        raise TypeError(f"confusion matrix must hold counts (integers or floats), got {cm.dtype}")
    cm = cm.to(torch.float64)
    check_finite(cm, "confusion matrix", advice=" (counts): nanmean would drop a NaN score")
    if bool((cm < 0).any()):
        raise ValueError("confusion matrix must hold counts >= 0, got a negative entry")
    return cm


def _parts(cm: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    cm = _as_matrix(cm)
    tp = cm.diagonal()  # n_ii
    return tp, cm.sum(1) - tp, cm.sum(0) - tp  # TP, FN (rest of row i), FP (rest of column i)


def pixel_accuracy(cm: torch.Tensor) -> float:
    """Fraction of counted pixels labelled correctly (FCN paper, section 5).

    .. math:: \\text{pixel accuracy} = \\sum_i n_{ii} \\big/ \\sum_i t_i

    Args:
        cm: confusion matrix ``(C, C)``, rows = true class.

    Returns:
        A float in ``[0, 1]``; NaN when the matrix counts no pixels.

    Example:
        >>> pixel_accuracy(torch.tensor([[3, 1], [0, 4]]))
        0.875
    """
    tp, fn, _ = _parts(cm)
    return float(safe_divide(tp.sum(), tp.sum() + fn.sum()))


def recall_per_class(cm: torch.Tensor) -> torch.Tensor:
    """Per-class recall = per-class accuracy, :math:`n_{ii} / t_i = TP / (TP + FN)`.

    NaN for a class absent from the target (:math:`t_i = 0`).

    Args:
        cm: confusion matrix ``(C, C)``, rows = true class.

    Returns:
        A float64 tensor ``(C,)``.

    Example:
        >>> recall_per_class(torch.tensor([[3, 1], [0, 0]]))
        tensor([0.7500,    nan], dtype=torch.float64)
    """
    tp, fn, _ = _parts(cm)
    return safe_divide(tp, tp + fn)


def precision_per_class(cm: torch.Tensor) -> torch.Tensor:
    """Per-class precision, :math:`n_{ii} / \\sum_j n_{ji} = TP / (TP + FP)`.

    NaN for a class that is never predicted.

    Args:
        cm: confusion matrix ``(C, C)``, rows = true class.

    Returns:
        A float64 tensor ``(C,)``.

    Example:
        >>> precision_per_class(torch.tensor([[3, 1], [0, 0]]))
        tensor([1., 0.], dtype=torch.float64)
    """
    tp, _, fp = _parts(cm)
    return safe_divide(tp, tp + fp)


def mean_accuracy(cm: torch.Tensor) -> float:
    """Mean of the per-class accuracies over the classes present in the target (FCN paper).

    .. math:: \\text{mean accuracy} = \\frac{1}{n_{cl}} \\sum_i \\frac{n_{ii}}{t_i}

    with :math:`n_{cl}` counting only classes with :math:`t_i > 0` (the absent-class rule; see
    :mod:`segbook.metrics`). torchmetrics' macro ``MulticlassAccuracy`` instead counts a class that
    is predicted but absent from the target as 0.

    Args:
        cm: confusion matrix ``(C, C)``, rows = true class.

    Returns:
        A float in ``[0, 1]``; NaN when the matrix counts no pixels.

    Example:
        >>> mean_accuracy(torch.tensor([[3, 1, 0], [0, 4, 0], [0, 2, 0]]))  # class 2 never right
        0.5833333333333334
    """
    return float(recall_per_class(cm).nanmean())


def iou_per_class(cm: torch.Tensor) -> torch.Tensor:
    """Per-class intersection over union (Jaccard index).

    .. math:: IU_i = \\frac{n_{ii}}{t_i + \\sum_j n_{ji} - n_{ii}} = \\frac{TP}{TP + FP + FN}

    Absent-class rule: NaN when class ``i`` is in neither target nor prediction; 0 when it is
    predicted but not in the target.

    Args:
        cm: confusion matrix ``(C, C)``, rows = true class.

    Returns:
        A float64 tensor ``(C,)``.

    Example:
        >>> iou_per_class(torch.tensor([[3, 1, 0], [0, 4, 0], [0, 0, 0]]))
        tensor([0.7500, 0.8000,    nan], dtype=torch.float64)
    """
    tp, fn, fp = _parts(cm)
    return safe_divide(tp, tp + fp + fn)


def mean_iou(cm: torch.Tensor) -> float:
    """Mean intersection over union, the standard single-number summary (FCN paper).

    .. math:: \\text{mIoU} = \\frac{1}{n_{cl}} \\sum_i IU_i

    averaged over the classes whose IoU is defined (``nanmean``: the absent-class rule).

    Args:
        cm: confusion matrix ``(C, C)``, rows = true class.

    Returns:
        A float in ``[0, 1]``; NaN when the matrix counts no pixels.

    Example:
        >>> mean_iou(torch.tensor([[3, 1, 0], [0, 4, 0], [0, 0, 0]]))  # (0.75 + 0.8) / 2
        0.775
    """
    return float(iou_per_class(cm).nanmean())


def frequency_weighted_iou(cm: torch.Tensor) -> float:
    """IoU averaged with each class weighted by its share of the target pixels (FCN paper).

    .. math:: \\text{f.w. IU} = \\frac{1}{\\sum_k t_k} \\sum_{i:\\, t_i > 0} t_i\\, IU_i

    Classes absent from the target have weight 0. Equals torchmetrics'
    ``MulticlassJaccardIndex(average="weighted")``.

    Args:
        cm: confusion matrix ``(C, C)``, rows = true class.

    Returns:
        A float in ``[0, 1]``; NaN when the matrix counts no pixels.

    Example:
        >>> frequency_weighted_iou(torch.tensor([[3, 1], [0, 4]]))  # (4 * 0.75 + 4 * 0.8) / 8
        0.775
    """
    tp, fn, _ = _parts(cm)
    support = tp + fn  # t_i
    iou = iou_per_class(cm)
    present = support > 0
    return float(safe_divide((support[present] * iou[present]).sum(), support.sum()))


def dice_per_class(cm: torch.Tensor) -> torch.Tensor:
    """Per-class Dice coefficient = F1 score, the harmonic mean of precision and recall.

    .. math:: \\text{Dice}_i = \\frac{2\\,TP}{2\\,TP + FP + FN} = \\frac{2\\,IU_i}{1 + IU_i}

    Same absent-class rule as :func:`iou_per_class`.

    Args:
        cm: confusion matrix ``(C, C)``, rows = true class.

    Returns:
        A float64 tensor ``(C,)``.

    Example:
        >>> dice_per_class(torch.tensor([[3, 1], [0, 4]]))
        tensor([0.8571, 0.8889], dtype=torch.float64)
    """
    tp, fn, fp = _parts(cm)
    return safe_divide(2 * tp, 2 * tp + fp + fn)
