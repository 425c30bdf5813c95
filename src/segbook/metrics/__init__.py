"""Segmentation metrics, computed from a confusion matrix as in the FCN paper (chapter 1).

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

**The modules.** :mod:`~segbook.metrics.confusion` (chapter 1): :func:`confusion_matrix` and the scores read
off it; :mod:`~segbook.metrics.running`: :class:`SegmentationMetrics`, the data-set metrics accumulated batch
by batch; :mod:`~segbook.metrics.boundary` (chapter 6): :func:`boundary_f1`, how well contours match;
:mod:`~segbook.metrics.instances` (chapter 8): :func:`instance_separation`, touching objects kept apart;
:mod:`~segbook.metrics.thresholds` (chapter 8): :func:`threshold_sweep`, the pixel error at every decision threshold;
:mod:`~segbook.metrics.averaging`: per-image averaging (:func:`scores_per_image`, :func:`mean_per_image`; the
pooled FCN definition stays the default) and multi-label scores (:func:`multilabel_scores`).

**Which checks read values.** Shapes, dtypes and devices are always checked. The class range of ``pred``
and ``target`` follows ``validate`` (of :func:`confusion_matrix` and :class:`SegmentationMetrics`), as in
the losses: ``None`` (the default) checks CPU tensors only, so counting a batch on a GPU never waits for the
host; ``True`` always, ``False`` never.

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

from segbook.metrics.averaging import mean_per_image, multilabel_scores, scores_per_image
from segbook.metrics.boundary import boundary_f1
from segbook.metrics.confusion import (
    confusion_matrix,
    dice_per_class,
    frequency_weighted_iou,
    iou_per_class,
    mean_accuracy,
    mean_iou,
    pixel_accuracy,
    precision_per_class,
    predicted_classes,
    recall_per_class,
)
from segbook.metrics.instances import instance_separation
from segbook.metrics.running import SegmentationMetrics
from segbook.metrics.thresholds import threshold_sweep

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
    "predicted_classes",
    "SegmentationMetrics",
    "boundary_f1",
    "instance_separation",
    "threshold_sweep",
    "scores_per_image",
    "mean_per_image",
    "multilabel_scores",
]
