"""Label conversions: a class map to one-hot channels (chapters 1, 5-7) and to instance ids (chapter 8).

Example:
    >>> label = torch.tensor([[1, 1, 0, 1], [0, 0, 0, 1]])
    >>> connected_instances(label, classes=(1,))
    tensor([[1, 1, 0, 2],
            [0, 0, 0, 2]])
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch

from segbook.conventions import (
    IGNORE_INDEX,
    check_class_indices,
    check_ignore_index,
    check_int,
    check_positive_int,
    check_tensor,
)

__all__ = ["one_hot", "connected_instances"]


def one_hot(label: torch.Tensor, num_classes: int, *, ignore_index: Optional[int] = IGNORE_INDEX) -> torch.Tensor:
    """One-hot encode a label map: (N, H, W) or (H, W) int64 → (N, C, H, W) or (C, H, W) float32.

    ``out[..., c, i, j] = 1`` where ``label[..., i, j] == c``. Pixels equal to ``ignore_index`` get all zeros
    (they belong to no class). A loss that takes one-hot targets must still mask its *prediction* at those
    pixels (a soft Dice loss sums the prediction over all pixels), e.g. with ``label != ignore_index``.

    Example:
        >>> one_hot(torch.tensor([[0, 2], [1, 255]]), 3)[:, 1, 1]
        tensor([0., 0., 0.])
    """
    check_tensor(label, "label", ndim=(2, 3), dtype=torch.int64, shape_hint="(N, H, W) or (H, W) of class ids")
    num_classes = check_positive_int(num_classes, "num_classes")
    ignore_index = check_ignore_index(ignore_index, num_classes)  # not a class index: it would zero a real class
    check_class_indices(label, "label", num_classes, ignore_index)
    valid = label != ignore_index if ignore_index is not None else torch.ones_like(label, dtype=torch.bool)
    safe = torch.where(valid, label, torch.zeros_like(label))
    out = torch.nn.functional.one_hot(safe, num_classes).to(torch.float32) * valid[..., None]
    return out.movedim(-1, -3)  # (..., H, W, C) -> (..., C, H, W)


def connected_instances(label: torch.Tensor, classes: Sequence[int]) -> torch.Tensor:
    """Instance ids from a class map: every connected region of one of ``classes`` is one object.

    Regions are 4-connected (pixels sharing an edge, ``scipy.ndimage.label``'s default), so two objects of
    the same class that touch become one: this is the best a semantic label map can tell, and why chapter 8's
    data sets keep their objects apart with a background membrane. Each image is numbered on its own:
    ``1..K`` class by class in the order of ``classes``, each class's regions in row-major order of their first
    pixel; every other pixel (other classes, the ignore index) is 0.

    Args:
        label: int64 (N, H, W) or (H, W) class map.
        classes: the classes whose regions are objects (e.g. every class but the background).

    Returns:
        int64 tensor of ``label``'s shape: 0 = no object, ``1..K`` one id per object of the image.

    Example:
        >>> connected_instances(torch.tensor([[2, 0, 2], [1, 1, 0]]), classes=(1, 2))
        tensor([[2, 0, 3],
                [1, 1, 0]])
    """
    from scipy import ndimage  # imported here: only instance maps need it

    check_tensor(label, "label", ndim=(2, 3), dtype=torch.int64, shape_hint="(N, H, W) or (H, W) of class ids")
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence):
        raise TypeError(f"classes must be a sequence of class ids, got {classes!r}")
    wanted = [check_int(c, f"classes[{i}]", minimum=0) for i, c in enumerate(classes)]
    maps = label.detach().cpu().reshape(-1, *label.shape[-2:]).numpy()
    out = np.zeros(maps.shape, dtype=np.int64)
    for image, ids in zip(maps, out):
        count = 0
        for c in wanted:
            regions, found = ndimage.label(image == c)
            ids[regions > 0] = regions[regions > 0] + count
            count += found
    return torch.from_numpy(out).reshape(label.shape)
