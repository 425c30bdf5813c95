"""Helpers shared by the figure modules of :mod:`segbook.viz` (no chapter of its own)."""

from __future__ import annotations

from typing import Union

import numpy as np
import torch

from segbook.conventions import check_tensor

__all__ = ["to_numpy_image"]


def to_numpy_image(image: Union[torch.Tensor, np.ndarray]) -> np.ndarray:
    """(3, H, W) tensor or (H, W, 3) array in [0, 1] → (H, W, 3) float array for imshow."""
    if isinstance(image, torch.Tensor):
        check_tensor(image, "image", ndim=3, dtype="float", shape_hint="(3, H, W)")
        image = image.detach().cpu().permute(1, 2, 0).numpy()
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must be (3, H, W) or (H, W, 3), got shape {image.shape}")
    return np.clip(image, 0, 1)
