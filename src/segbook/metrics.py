"""Segmentation metrics, computed from a confusion matrix as in the FCN paper.

Long, Shelhamer and Darrell, "Fully Convolutional Networks for Semantic Segmentation"
(CVPR 2015), section 5, define four numbers from :math:`n_{ij}`, the number of pixels of
true class :math:`i` predicted as class :math:`j`, with :math:`t_i = \\sum_j n_{ij}` pixels of
class :math:`i` and :math:`n_{cl}` classes:

.. math::

    \\text{pixel accuracy} = \\frac{\\sum_i n_{ii}}{\\sum_i t_i}, \\qquad
    \\text{mean accuracy} = \\frac{1}{n_{cl}} \\sum_i \\frac{n_{ii}}{t_i},

    \\text{mean IU} = \\frac{1}{n_{cl}} \\sum_i \\frac{n_{ii}}{t_i + \\sum_j n_{ji} - n_{ii}}, \\qquad
    \\text{f.w. IU} = \\frac{1}{\\sum_k t_k} \\sum_i \\frac{t_i\\, n_{ii}}{t_i + \\sum_j n_{ji} - n_{ii}}.

Here the confusion matrix ``cm`` holds :math:`n_{ij}` at ``cm[i, j]``: **rows are the true class,
columns the predicted class**. For class :math:`c`, TP = ``cm[c, c]``, FN = the rest of row
:math:`c`, FP = the rest of column :math:`c`, so IoU = TP / (TP + FP + FN) and
Dice = F1 = 2TP / (2TP + FP + FN).

**The absent-class rule.** A class that appears in neither the target nor the prediction has
IoU = Dice = 0/0: undefined. It is reported as NaN per class and left out of the means
(``nanmean``), so that a batch without, say, bicycles is not punished for that. A class that is
absent from the target but predicted somewhere gets IoU 0 and counts against the mean: those
pixels are false positives. Likewise accuracy (= recall) is NaN for a class absent from the
target, so the mean accuracy averages only the classes present in the target, and precision is
NaN for a class never predicted. The frequency-weighted IU weights classes by :math:`t_i`, so
target-absent classes drop out of it on their own.

This is what the FCN authors' evaluation code does (``np.nanmean`` in ``score.py`` of
fcn.berkeleyvision.org) and what MMSegmentation's ``IoUMetric`` does. torchmetrics agrees on
every *mean* IoU/Dice (``MulticlassJaccardIndex``/``MulticlassF1Score`` with
``average="macro"`` drop classes with TP + FP + FN = 0) and on the frequency-weighted IU
(``average="weighted"``), but differs in two places: per class (``average=None``) it reports
0 instead of NaN for undefined values, and its macro accuracy (``MulticlassAccuracy``) counts a
class that is predicted but absent from the target as recall 0 instead of leaving it out.

Example:
    >>> import torch
    >>> target = torch.tensor([[0, 0, 1, 255]])
    >>> pred = torch.tensor([[0, 1, 1, 2]])
    >>> confusion_matrix(pred, target, num_classes=3)
    tensor([[1, 1, 0],
            [0, 1, 0],
            [0, 0, 0]])
    >>> iou_per_class(confusion_matrix(pred, target, num_classes=3))
    tensor([0.5000, 0.5000,    nan], dtype=torch.float64)
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch

from segbook.conventions import (
    check_class_indices,
    check_ignore_index,
    check_int,
    check_positive_int,
    check_tensor,
    safe_divide,
)

__all__ = [
    "confusion_matrix",
    "pixel_accuracy",
    "mean_accuracy",
    "iou_per_class",
    "mean_iou",
    "frequency_weighted_iou",
    "dice_per_class",
    "precision_per_class",
    "recall_per_class",
    "SegmentationMetrics",
]


def confusion_matrix(
    pred: torch.Tensor, target: torch.Tensor, num_classes: int, *, ignore_index: Optional[int] = 255
) -> torch.Tensor:
    """Count :math:`n_{ij}`, the pixels of true class ``i`` predicted as class ``j``.

    .. math::

        n_{ij} = \\#\\{p : \\text{target}_p = i,\\ \\text{pred}_p = j,\\ \\text{target}_p \\ne
        \\text{ignore}\\}

    Computed in one ``torch.bincount`` over the codes ``i * C + j``, as in the FCN authors'
    ``fast_hist``. Pixels whose target is ``ignore_index`` are left out, whatever was predicted
    there (so ``pred`` is only checked at the counted pixels).

    Args:
        pred: class indices of the same shape as ``target``, e.g. ``(N, H, W)``, or logits/scores
            ``(N, C, H, W)`` (``(C, H, W)`` for a single ``(H, W)`` target), which are argmaxed
            over ``C``.
        target: integer class indices ``(N, H, W)`` or ``(H, W)``, values in ``[0, C)`` or
            ``ignore_index``.
        num_classes: ``C``, the number of classes.
        ignore_index: the target value of unlabelled pixels (VOC's border is 255), or ``None``.
            It must not be a class index.

    Returns:
        An int64 tensor ``(C, C)`` on ``target``'s device; rows = true class, columns = predicted.

    Raises:
        TypeError: a non-tensor, a floating-point target, or floating-point ``pred`` that has
            the target's shape (class indices must be integers).
        ValueError: mismatched shapes or devices, logits with the wrong number of channels, or
            a class index outside ``[0, C)``; the message names the value and ``C``.

    Example:
        >>> logits = torch.tensor([[[[2.0, 0.0]], [[1.0, 3.0]]]])   # (N=1, C=2, H=1, W=2)
        >>> confusion_matrix(logits, torch.tensor([[[0, 0]]]), num_classes=2)
        tensor([[1, 1],
                [0, 0]])
    """
    num_classes = check_positive_int(num_classes, "num_classes")
    ignore_index = check_ignore_index(ignore_index, num_classes)
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
        pred = pred.argmax(dim=-3)
    elif pred.shape != target.shape:
        raise ValueError(
            f"pred must have target's shape {tuple(target.shape)} (class indices) or "
            f"one more dimension for C (logits), got {tuple(pred.shape)}"
        )
    elif pred.dtype.is_floating_point or pred.dtype == torch.bool:
        raise TypeError(
            f"pred has target's shape, so it must hold integer class indices, got {pred.dtype}; "
            "pass logits with a class dimension, (N, C, H, W)"
        )
    keep = target != ignore_index if ignore_index is not None else torch.ones_like(target, dtype=torch.bool)
    t, p = target[keep].long(), pred[keep].long()  # (P,) the counted pixels; long: uint8 would overflow
    check_class_indices(t, "target", num_classes, ignore_index)
    check_class_indices(p, "pred", num_classes)
    counts = torch.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def _as_matrix(cm: torch.Tensor) -> torch.Tensor:
    check_tensor(cm, "confusion matrix", ndim=2, shape_hint="(C, C)")
    if cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f"confusion matrix must be square (C, C) with C >= 1, got shape {tuple(cm.shape)}")
    if cm.dtype == torch.bool or cm.dtype.is_complex:
        raise TypeError(f"confusion matrix must hold counts (integers or floats), got {cm.dtype}")
    cm = cm.to(torch.float64)
    if bool((cm < 0).any()):
        raise ValueError("confusion matrix must hold counts >= 0, got a negative entry")
    return cm


def _parts(cm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
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
    the module docstring). torchmetrics' macro ``MulticlassAccuracy`` instead counts a class that
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


class SegmentationMetrics:
    """Accumulates a confusion matrix over batches and reports the FCN paper's metrics.

    Summing confusion matrices and computing the metrics once at the end gives the metrics of
    the whole data set, which is **not** the mean of per-batch mIoUs (a batch that lacks a class
    would weigh as much as one that is full of it).

    Args:
        num_classes: ``C``.
        ignore_index: target value of unlabelled pixels, left out of every count (or ``None``).
        class_names: ``C`` names for :meth:`table`; defaults to ``"class 0"``, ``"class 1"``, ...

    Example:
        >>> m = SegmentationMetrics(2, class_names=["background", "cat"])
        >>> m.update(torch.tensor([[0, 1, 1]]), torch.tensor([[0, 1, 0]]))
        >>> m.compute()["miou"]
        0.5
        >>> m.reset(); int(m.confusion.sum())
        0
    """

    def __init__(
        self, num_classes: int, *, ignore_index: Optional[int] = 255, class_names: Optional[Sequence[str]] = None
    ) -> None:
        self.num_classes = check_positive_int(num_classes, "num_classes")
        self.ignore_index = check_ignore_index(ignore_index, self.num_classes)
        if class_names is None:
            class_names = [f"class {c}" for c in range(self.num_classes)]
        if isinstance(class_names, str) or not all(isinstance(n, str) for n in class_names):
            raise TypeError(f"class_names must be a sequence of strings, got {class_names!r}")
        if len(class_names) != self.num_classes:
            raise ValueError(f"class_names has {len(class_names)} names but num_classes is {self.num_classes}")
        self.class_names = list(class_names)
        self.confusion = torch.zeros(self.num_classes, self.num_classes, dtype=torch.long)  # (C, C), CPU

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """Add one batch: ``pred`` class indices ``(N, H, W)`` or logits ``(N, C, H, W)``, ``target`` ``(N, H, W)``."""
        cm = confusion_matrix(pred, target, self.num_classes, ignore_index=self.ignore_index)
        self.confusion += cm.cpu()

    def reset(self) -> None:
        """Forget everything counted so far."""
        self.confusion.zero_()

    def compute(self) -> dict:
        """Return the metrics of everything counted since the last :meth:`reset`.

        Returns:
            ``pixel_accuracy``, ``mean_accuracy``, ``miou``, ``fwiou``, ``mean_dice`` (floats) and
            ``iou``, ``dice``, ``precision``, ``recall`` (float64 tensors ``(C,)``, NaN where
            undefined), and ``confusion_matrix`` (a copy, int64 ``(C, C)``).

        Raises:
            ValueError: no pixel has been counted yet.
        """
        cm = self.confusion
        if int(cm.sum()) == 0:
            raise ValueError(
                "SegmentationMetrics.compute() has counted no pixels: call update(pred, target) "
                f"first (pixels whose target is the ignore index {self.ignore_index} are not counted)"
            )
        dice = dice_per_class(cm)
        return {
            "pixel_accuracy": pixel_accuracy(cm),
            "mean_accuracy": mean_accuracy(cm),
            "miou": mean_iou(cm),
            "fwiou": frequency_weighted_iou(cm),
            "mean_dice": float(dice.nanmean()),
            "iou": iou_per_class(cm),
            "dice": dice,
            "precision": precision_per_class(cm),
            "recall": recall_per_class(cm),
            "confusion_matrix": cm.clone(),
        }

    def table(self, digits: int = 3) -> str:
        """Per-class IoU, Dice, precision, recall and pixel counts, then the four FCN summaries."""
        digits = check_int(digits, "digits", minimum=0, maximum=10)
        if int(self.confusion.sum()) == 0:
            return "(no pixels counted yet)"
        r = self.compute()
        width = max(len("class"), *(len(n) for n in self.class_names))
        cols = ["IoU", "Dice", "precision", "recall", "pixels"]
        lines = [f"{'class':<{width}}  " + "  ".join(f"{c:>9}" for c in cols)]
        support = self.confusion.sum(1)
        for c, name in enumerate(self.class_names):
            values = [f"{float(r[k][c]):>9.{digits}f}" for k in ("iou", "dice", "precision", "recall")]
            lines.append(f"{name:<{width}}  " + "  ".join(values) + f"  {int(support[c]):>9d}")
        lines.append(
            f"pixel accuracy {r['pixel_accuracy']:.{digits}f} | mean accuracy "
            f"{r['mean_accuracy']:.{digits}f} | mIoU {r['miou']:.{digits}f} | "
            f"f.w. IoU {r['fwiou']:.{digits}f}"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        header = (
            f"SegmentationMetrics(num_classes={self.num_classes}, ignore_index={self.ignore_index}, "
            f"pixels={int(self.confusion.sum())})"
        )
        return header + "\n" + self.table()


# ----------------------------------------------------------------------------- boundary F1 (chapter 6)

__all__.append("boundary_f1")


def _mask_boundary(mask):
    """Pixels of a numpy bool mask (H, W) with a 4-neighbour outside it; the image edge is not a boundary."""
    import numpy as np

    padded = np.pad(mask, 1, mode="edge")  # replicate: the frame of the image is not an edge
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~interior


def boundary_f1(
    pred: torch.Tensor,
    target: torch.Tensor,
    num_classes: int,
    *,
    tolerance: float = 2.0,
    ignore_index: Optional[int] = 255,
) -> torch.Tensor:
    """Boundary F1 (BF) score per class (Csurka et al., BMVC 2013): how well the predicted *contours* match.

    For one image and class :math:`c`, let :math:`B_p` and :math:`B_g` be the boundary pixels of the predicted
    and the true region (pixels of the region with a 4-neighbour outside it). With :math:`d(x, B)` the
    Euclidean distance from pixel :math:`x` to the nearest pixel of :math:`B` and :math:`\\theta` the tolerance,

    .. math::

        P = \\frac{|\\{x \\in B_p : d(x, B_g) \\le \\theta\\}|}{|B_p|}, \\quad
        R = \\frac{|\\{x \\in B_g : d(x, B_p) \\le \\theta\\}|}{|B_g|}, \\quad
        BF = \\frac{2PR}{P + R},

    and a class's score is the mean of its BF over the images. Region metrics (IoU, Dice) barely notice a
    ragged or shifted contour on a large object; BF does.

    **Conventions.** An image where the class has a boundary in neither prediction nor target does not count
    for that class (undefined); one where only one of them has a boundary scores 0. A class undefined in every
    image is NaN (the absent-class rule of this module: use ``nanmean`` to average classes). Boundary pixels
    whose target is ``ignore_index`` are dropped from both sets. Csurka et al. set :math:`\\theta` to 0.75 % of
    the image diagonal, under one pixel at the book's image sizes, so the tolerance here is in pixels.

    Args:
        pred: class indices of the target's shape (``(N, H, W)`` or ``(H, W)``), or logits ``(N, C, H, W)``
            (``(C, H, W)`` for one image), argmaxed over ``C``.
        target: integer class indices ``(N, H, W)`` or ``(H, W)``, values in ``[0, C)`` or ``ignore_index``.
        num_classes: ``C``.
        tolerance: :math:`\\theta \\ge 0`, in pixels (1 accepts 4-neighbours, 1.5 also diagonal ones).
        ignore_index: target value of unlabelled pixels (not a class index), or ``None``.

    Returns:
        float64 ``(C,)``: per-class BF in ``[0, 1]``, NaN where undefined.

    Raises:
        TypeError, ValueError: as :func:`confusion_matrix` (bad shapes, dtypes or class values).

    Example:
        >>> target = torch.zeros(1, 8, 8, dtype=torch.long); target[0, 2:6, 2:6] = 1
        >>> shifted = torch.zeros(1, 8, 8, dtype=torch.long); shifted[0, 2:6, 3:7] = 1   # one pixel right
        >>> boundary_f1(target, target, 2)[1].item(), boundary_f1(shifted, target, 2, tolerance=0)[1].item()
        (1.0, 0.5)
        >>> boundary_f1(shifted, target, 2, tolerance=1)[1].item()
        1.0
    """
    import numpy as np
    from scipy.ndimage import distance_transform_edt

    from segbook.conventions import check_float

    tolerance = check_float(tolerance, "tolerance", minimum=0.0)
    # confusion_matrix validates shapes, dtypes, devices and class values (and argmaxes logits) for us.
    confusion_matrix(pred, target, num_classes, ignore_index=ignore_index)
    num_classes = check_positive_int(num_classes, "num_classes")
    if pred.ndim == target.ndim + 1:
        pred = pred.argmax(dim=-3)
    labels_p = (pred[None] if pred.ndim == 2 else pred).detach().cpu().long().numpy()  # (N, H, W)
    labels_t = (target[None] if target.ndim == 2 else target).detach().cpu().long().numpy()
    counted = labels_t != ignore_index if ignore_index is not None else np.ones_like(labels_t, dtype=bool)
    totals, images = np.zeros(num_classes), np.zeros(num_classes)
    for p_img, t_img, keep in zip(labels_p, labels_t, counted):
        for c in range(num_classes):
            b_p = _mask_boundary(p_img == c) & keep
            b_g = _mask_boundary(t_img == c) & keep
            if not b_p.any() and not b_g.any():
                continue  # undefined for this image: not counted
            images[c] += 1
            if not b_p.any() or not b_g.any():
                continue  # only one has a contour: BF = 0
            precision = (distance_transform_edt(~b_g)[b_p] <= tolerance).mean()
            recall = (distance_transform_edt(~b_p)[b_g] <= tolerance).mean()
            if precision + recall > 0:
                totals[c] += 2 * precision * recall / (precision + recall)
    scores = np.where(images > 0, totals / np.maximum(images, 1), np.nan)
    return torch.from_numpy(scores)


# ----------------------------------------------------------------------------- touching objects (chapter 8)

__all__.append("instance_separation")


def instance_separation(
    foreground: torch.Tensor, instances: torch.Tensor, *, iou_threshold: float = 0.5, touch_distance: float = 2.0
) -> dict:
    """How well a *semantic* foreground mask keeps touching objects apart (the U-Net paper's touching cells).

    A semantic segmentation has no instances; the instances a user gets are the **connected components** of the
    predicted foreground (4-connectivity, ``scipy.ndimage.label``). Two cells that the prediction joins by even one
    pixel of foreground become one component. Two scores, over all images:

    - ``recovered``: the fraction of true objects matched by a component with IoU > ``iou_threshold`` (with a
      threshold >= 0.5 a component can match at most one object, and an object at most one component);
    - ``pairs_separated``: of the pairs of *touching* true objects (some pixels of the two within
      ``touch_distance`` pixels of each other: 1 = 4-neighbours, 2 = across a one-pixel membrane), the fraction
      whose objects are both found and fall in different components. An object's component is the one covering
      most of its pixels; an object with no foreground pixel predicted is not found.

    mIoU barely moves when a one-pixel membrane is filled in; both scores drop.

    Args:
        foreground: predicted foreground ``(N, H, W)`` or ``(H, W)``, bool or integer (non-zero = foreground).
        instances: true objects, integer ``(N, H, W)`` or ``(H, W)``: 0 background, 1, 2, ... one id per object.
        iou_threshold: in ``[0.5, 1)``.
        touch_distance: > 0, in pixels.

    Returns:
        ``{"recovered", "pairs_separated"}`` (floats, NaN when there are no objects / no touching pairs) and the
        counts ``{"objects", "matched", "pairs", "separated", "components"}``.

    Example:
        >>> truth = torch.tensor([[1, 1, 0, 2, 2, 0, 0, 3]])       # objects 1 and 2 across a membrane
        >>> r = instance_separation(truth > 0, truth)
        >>> r["recovered"], r["pairs"], r["pairs_separated"]
        (1.0, 1, 1.0)
        >>> merged = torch.tensor([[1, 1, 1, 1, 1, 0, 0, 1]])      # the membrane predicted as cell
        >>> r = instance_separation(merged, truth)
        >>> r["matched"], r["pairs_separated"]
        (1, 0.0)
    """
    import numpy as np
    from scipy import ndimage

    from segbook.conventions import check_float, check_same_shape

    check_tensor(foreground, "foreground", ndim=(2, 3), shape_hint="(N, H, W) or (H, W)")
    if foreground.dtype.is_floating_point or foreground.dtype.is_complex:
        raise TypeError(
            f"foreground must be a bool or integer mask (non-zero = foreground), got {foreground.dtype}: "
            "threshold probabilities first, e.g. probs > 0.5"
        )
    check_tensor(instances, "instances", ndim=(2, 3), dtype="int", shape_hint="(N, H, W) or (H, W)")
    check_same_shape(foreground, "foreground", instances, "instances")
    iou_threshold = check_float(iou_threshold, "iou_threshold", minimum=0.5)
    if iou_threshold >= 1:
        raise ValueError(f"iou_threshold must be < 1 (IoU > 1 is impossible), got {iou_threshold}")
    touch_distance = check_float(touch_distance, "touch_distance", minimum=0.0, strict_minimum=True)
    if (instances < 0).any():
        raise ValueError("instances must be 0 (background) or a positive object id, got negative values")
    fg_all = (foreground[None] if foreground.ndim == 2 else foreground).detach().cpu().numpy() != 0
    ids_all = (instances[None] if instances.ndim == 2 else instances).detach().cpu().long().numpy()
    counts = {"objects": 0, "matched": 0, "pairs": 0, "separated": 0, "components": 0}
    for fg, ids in zip(fg_all, ids_all):
        components, n_comp = ndimage.label(fg)  # (H, W): 0 = background, 1..n_comp
        counts["components"] += n_comp
        objects = [k for k in np.unique(ids) if k != 0]
        dominant = {}
        for k in objects:
            obj = ids == k
            hits = np.bincount(components[obj], minlength=n_comp + 1)  # pixels of obj in each component
            hits[0] = 0
            dominant[k] = int(hits.argmax()) if hits.any() else None
            if dominant[k] is not None:
                comp = components == dominant[k]
                iou = hits[dominant[k]] / float(np.logical_or(obj, comp).sum())
                counts["matched"] += int(iou > iou_threshold)
        counts["objects"] += len(objects)
        for a_i, a in enumerate(objects):
            near_a = ndimage.distance_transform_edt(ids != a) <= touch_distance  # pixels within reach of a
            for b in objects[a_i + 1 :]:
                if (near_a & (ids == b)).any():
                    counts["pairs"] += 1
                    counts["separated"] += int(
                        dominant[a] is not None and dominant[b] is not None and dominant[a] != dominant[b]
                    )
    return {
        "recovered": counts["matched"] / counts["objects"] if counts["objects"] else float("nan"),
        "pairs_separated": counts["separated"] / counts["pairs"] if counts["pairs"] else float("nan"),
        **counts,
    }
