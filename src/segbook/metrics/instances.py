"""Touching objects kept apart, or not, by a semantic mask (chapter 8, the U-Net paper's touching cells).

A semantic segmentation has no instances; :func:`instance_separation` scores the connected components of the
predicted foreground against the true objects. It works on the host (numpy, scipy).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np
import torch

from segbook.conventions import check_float, check_same_shape, check_tensor

__all__ = ["instance_separation"]


def instance_separation(
    foreground: torch.Tensor, instances: torch.Tensor, *, iou_threshold: float = 0.5, touch_distance: float = 2.0
) -> Dict[str, Any]:
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
    from scipy import ndimage  # imported here: only this metric needs scipy

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
        dominant: Dict[int, Optional[int]] = {}
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
