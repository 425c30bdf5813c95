"""Boundary F1: how well the predicted contours match the true ones (chapter 6, region and boundary losses).

Region scores (IoU, Dice) barely notice a ragged or shifted contour on a large object; the boundary F1 score of
Csurka et al. (BMVC 2013), :func:`boundary_f1`, does. It works on the host (numpy, scipy's distance transform),
so it reads every value and always checks the class range.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from segbook.conventions import IGNORE_INDEX, check_float, check_positive_int
from segbook.metrics.confusion import confusion_matrix, predicted_classes

__all__ = ["boundary_f1"]


def _mask_boundary(mask: np.ndarray) -> np.ndarray:
    """Pixels of a numpy bool mask (H, W) with a 4-neighbour outside it; the image edge is not a boundary."""
    padded = np.pad(mask, 1, mode="edge")  # replicate: the frame of the image is not an edge
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~interior


def boundary_f1(
    pred: torch.Tensor,
    target: torch.Tensor,
    num_classes: int,
    *,
    tolerance: float = 2.0,
    ignore_index: Optional[int] = IGNORE_INDEX,
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
    from scipy.ndimage import distance_transform_edt  # imported here: only this metric needs scipy

    tolerance = check_float(tolerance, "tolerance", minimum=0.0)
    num_classes = check_positive_int(num_classes, "num_classes")
    # confusion_matrix checks shapes, dtypes, devices and class values (validate=True: everything is read here anyway)
    confusion_matrix(pred, target, num_classes, ignore_index=ignore_index, validate=True)
    pred = predicted_classes(pred, target, num_classes)
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
