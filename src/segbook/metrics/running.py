"""Metrics of a whole data set, accumulated batch by batch (chapter 1; every training loop of the book).

:class:`SegmentationMetrics` sums the confusion matrices of the batches (:func:`~segbook.metrics.confusion_matrix`,
the same fast path) and computes the scores once at the end.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import torch

from segbook.conventions import IGNORE_INDEX, check_bool, check_ignore_index, check_int, check_positive_int
from segbook.metrics.confusion import (
    confusion_matrix,
    dice_per_class,
    frequency_weighted_iou,
    iou_per_class,
    mean_accuracy,
    mean_iou,
    pixel_accuracy,
    precision_per_class,
    recall_per_class,
)

__all__ = ["SegmentationMetrics"]


class SegmentationMetrics:
    """Accumulates a confusion matrix over batches and reports the FCN paper's metrics.

    Summing confusion matrices and computing the metrics once at the end gives the metrics of
    the whole data set, which is **not** the mean of per-batch mIoUs (a batch that lacks a class
    would weigh as much as one that is full of it).

    Args:
        num_classes: ``C``.
        ignore_index: target value of unlabelled pixels, left out of every count (or ``None``).
        class_names: ``C`` names for :meth:`table`; defaults to ``"class 0"``, ``"class 1"``, ...
        validate: check the class range of every batch, as :func:`~segbook.metrics.confusion_matrix` does:
            ``None`` (the default) for CPU tensors only, ``True`` on any device, ``False`` never.

    Example:
        >>> m = SegmentationMetrics(2, class_names=["background", "cat"])
        >>> m.update(torch.tensor([[0, 1, 1]]), torch.tensor([[0, 1, 0]]))
        >>> m.compute()["miou"]
        0.5
        >>> m.reset(); int(m.confusion.sum())
        0
    """

    def __init__(
        self,
        num_classes: int,
        *,
        ignore_index: Optional[int] = IGNORE_INDEX,
        class_names: Optional[Sequence[str]] = None,
        validate: Optional[bool] = None,
    ) -> None:
        self.num_classes = check_positive_int(num_classes, "num_classes")
        self.ignore_index = check_ignore_index(ignore_index, self.num_classes)
        self.validate = None if validate is None else check_bool(validate, "validate")
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
        cm = confusion_matrix(pred, target, self.num_classes, ignore_index=self.ignore_index, validate=self.validate)
        self.confusion += cm.cpu()

    def reset(self) -> None:
        """Forget everything counted so far."""
        self.confusion.zero_()

    def compute(self) -> Dict[str, Any]:
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
