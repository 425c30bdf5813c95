"""Helpers the data modules share (not part of segbook's public interface; import from the modules that use them).

:data:`PathLike` for path arguments. Drawing (chapters 1 and 8): :func:`check_range_pair` for ``(low, high)``
options, :func:`pixel_grid` and :func:`window` for painting shapes, :func:`sample_rng` for one generator per
sample. Reading files (the real data sets): :func:`check_loading_args`, :func:`choose_subset`,
:func:`read_split_list`, :func:`image_tensor`, :func:`load_rgb` and :func:`mask_tensor`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from segbook.conventions import check_int

__all__ = [
    "PathLike",
    "check_range_pair",
    "pixel_grid",
    "window",
    "sample_rng",
    "check_loading_args",
    "choose_subset",
    "read_split_list",
    "image_tensor",
    "load_rgb",
    "mask_tensor",
]

#: A file system path as the public functions take it.
PathLike = Union[str, os.PathLike]


# ------------------------------------------------------------------------------------------- generated data
def check_range_pair(value: object, name: str) -> Tuple[Any, Any]:
    """A ``(low, high)`` pair as a tuple; the caller checks the two numbers."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (low, high), got {value!r}")
    return value[0], value[1]


@lru_cache(maxsize=8)
def pixel_grid(size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates: ys (H, 1) and xs (1, W), broadcast together when used."""
    coords = np.arange(size, dtype=np.float32)
    return coords[:, None], coords[None, :]


def window(cy: float, cx: float, radius: float, size: int) -> Tuple[slice, slice]:
    """The rows and columns an object of this radius can touch (clipped to the image)."""
    y0, y1 = max(int(cy - radius) - 1, 0), min(int(cy + radius) + 2, size)
    x0, x1 = max(int(cx - radius) - 1, 0), min(int(cx + radius) + 2, size)
    return slice(y0, y1), slice(x0, x1)


def sample_rng(config: object, config_type: type, seed: int, index: int) -> np.random.Generator:
    """The random generator of sample ``index``: seeded by ``(seed, index)`` alone, so samples are independent of
    the order they are made in. Checks the arguments of ``make_scene`` / ``make_cells``."""
    if not isinstance(config, config_type):
        raise TypeError(f"config must be a {config_type.__name__}, got {type(config).__name__}")
    seed = check_int(seed, "seed", minimum=0)
    index = check_int(index, "index", minimum=0)
    return np.random.default_rng((seed, index))


# ------------------------------------------------------------------------------------------------ real data
def check_loading_args(
    size: object, num_images: object, seed: object, transforms: object
) -> Tuple[int, Optional[int], int]:
    """The arguments every real data set (and :func:`segbook.data.load_dataset`) takes, checked."""
    size = check_int(size, "size", minimum=8)
    if num_images is not None:
        num_images = check_int(num_images, "num_images", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    if transforms is not None and not callable(transforms):
        raise TypeError(f"transforms must be callable (image, mask) -> (image, mask), got {transforms!r}")
    return size, num_images, seed


def choose_subset(ids: Sequence[str], num_images: Optional[int], seed: int, what: str) -> List[str]:
    """All ``ids``, or ``num_images`` of them drawn without replacement by ``seed`` (kept in list order)."""
    if num_images is None:
        return list(ids)
    if num_images > len(ids):
        raise ValueError(f"num_images={num_images} but {what} has only {len(ids)} images")
    picked = np.random.default_rng(seed).choice(len(ids), size=num_images, replace=False)
    return [ids[i] for i in sorted(picked.tolist())]


def read_split_list(path: Path) -> List[str]:
    """Image ids of a split list: the first word of each line; blank lines and ``#`` comments skipped."""
    ids = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            ids.append(line.split()[0])
    return ids


def image_tensor(img: Any, size: int) -> torch.Tensor:
    """A PIL image -> float32 (3, size, size) in [0, 1]: RGB, bilinear resize (antialiased when shrinking)."""
    from PIL import Image

    img = img.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()


def load_rgb(path: Path, size: int) -> torch.Tensor:
    """An image file -> float32 (3, size, size) in [0, 1] (see :func:`image_tensor`)."""
    from PIL import Image

    with Image.open(path) as img:
        img.draft("RGB", (size, size))  # JPEG: decode at a reduced scale that is still >= size (much faster)
        return image_tensor(img, size)


def mask_tensor(labels: np.ndarray, size: int) -> torch.Tensor:
    """A (H, W) uint8 class map -> int64 (size, size), nearest neighbour so every value stays a class id."""
    from PIL import Image

    resized = Image.fromarray(np.ascontiguousarray(labels, dtype=np.uint8), mode="L").resize(
        (size, size), Image.Resampling.NEAREST
    )
    return torch.from_numpy(np.asarray(resized).astype(np.int64))
