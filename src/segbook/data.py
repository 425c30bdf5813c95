"""The book's embedded data set: procedural scenes, generated from a seed, no download.

Every chapter trains on these scenes, so they are built to make the lessons real:

* **Shape, not colour.** Objects and backgrounds draw their colours from the *same* distribution, so a pixel's
  colour says nothing about its class. A disc, a box and a triangle can only be told apart by looking at the
  shape around a pixel: that is *context*, and it is what a segmentation network must learn to use
  (chapter 1 measures a per-pixel colour classifier against a small CNN).
* **Texture and noise.** Backgrounds are smooth random stripes and blobs; every pixel gets Gaussian noise.
* **Thin structures.** Wires are about one pixel wide: boundary precision and skip connections matter for them.
* **Occlusion.** Objects are painted in order, later ones hiding earlier ones; instance masks hold what is visible.
* **Imbalance.** ``object_scale`` and ``num_objects`` set how much of the image is foreground.

Each scene carries the four kinds of label of the slide "Các bài toán thị giác máy" (computer-vision tasks):
the semantic label map, the instance masks with their class ids, and the boxes (from which the single-object
classification + localization label follows).

Example:
    >>> ds = SceneDataset(8, size=64, seed=0)
    >>> image, mask = ds[0]
    >>> tuple(image.shape), image.dtype, tuple(mask.shape), mask.dtype
    ((3, 64, 64), torch.float32, (64, 64), torch.int64)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Optional, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from segbook._validate import (
    check_class_indices,
    check_float,
    check_int,
    check_positive_int,
    check_tensor,
)

__all__ = [
    "CLASS_NAMES",
    "NUM_CLASSES",
    "IGNORE_INDEX",
    "SceneConfig",
    "Scene",
    "make_scene",
    "SceneDataset",
    "one_hot",
]

#: Class names, indexed by class id. Class 0 is the background.
CLASS_NAMES: Tuple[str, ...] = ("background", "disc", "box", "triangle", "wire")
NUM_CLASSES: int = len(CLASS_NAMES)
#: Label value for pixels that no loss or metric should count (PASCAL VOC's border value).
IGNORE_INDEX: int = 255

_DISC, _BOX, _TRIANGLE, _WIRE = 1, 2, 3, 4


@dataclass(frozen=True)
class SceneConfig:
    """The knobs of the procedural data set.

    Args:
        size: image height and width in pixels (square images), >= 16.
        num_objects: inclusive range ``(low, high)`` of objects painted per image.
        object_scale: multiplies every object's size: the class-imbalance knob. At 1.0 about 15% of the
            pixels are foreground; at 0.4 about 3% (``SceneDataset.foreground_fraction`` measures it).
        noise: standard deviation of the Gaussian pixel noise (images are in [0, 1]).
        texture: whether backgrounds are textured (stripes and blobs) rather than flat.
        class_probs: probability of each object class (disc, box, triangle, wire); ``None`` means equal.
        wire_width: inclusive range of a wire's half-width in pixels; below 1 gives 1-2 pixel wide wires.
    """

    size: int = 64
    num_objects: Tuple[int, int] = (2, 6)
    object_scale: float = 1.0
    noise: float = 0.04
    texture: bool = True
    class_probs: Optional[Tuple[float, float, float, float]] = None
    wire_width: Tuple[float, float] = (0.5, 0.9)

    def __post_init__(self) -> None:
        check_int(self.size, "size", minimum=16)
        low, high = _check_pair(self.num_objects, "num_objects")
        check_int(low, "num_objects[0]", minimum=0)
        check_int(high, "num_objects[1]", minimum=max(low, 1))
        check_float(self.object_scale, "object_scale", minimum=0.0, strict_minimum=True)
        check_float(self.noise, "noise", minimum=0.0, maximum=1.0)
        if not isinstance(self.texture, bool):
            raise TypeError(f"texture must be a bool, got {type(self.texture).__name__}")
        if self.class_probs is not None:
            probs = tuple(self.class_probs)
            if len(probs) != NUM_CLASSES - 1:
                raise ValueError(f"class_probs must have {NUM_CLASSES - 1} entries (one per object class "
                                 f"{CLASS_NAMES[1:]}), got {len(probs)}")
            for name, p in zip(CLASS_NAMES[1:], probs):
                check_float(p, f"class_probs[{name}]", minimum=0.0)
            if sum(probs) <= 0:
                raise ValueError("class_probs must not all be zero")
        w_low, w_high = _check_pair(self.wire_width, "wire_width")
        check_float(w_low, "wire_width[0]", minimum=0.0, strict_minimum=True)
        check_float(w_high, "wire_width[1]", minimum=w_low)


def _check_pair(value: object, name: str) -> Tuple:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (low, high), got {value!r}")
    return tuple(value)


@dataclass
class Scene:
    """One generated image with all four kinds of label.

    Attributes:
        image: float32 tensor (3, H, W), values in [0, 1].
        label: int64 tensor (H, W): the semantic label map (class id per pixel).
        instance_masks: bool tensor (K, H, W): the visible part of each of the K objects.
        instance_classes: int64 tensor (K,): the class id of each object.
        boxes: float32 tensor (K, 4): each object's box ``(x0, y0, x1, y1)`` around its visible pixels, with
            inclusive pixel coordinates (the convention of ``torchvision.ops.masks_to_boxes``).
    """

    image: torch.Tensor
    label: torch.Tensor
    instance_masks: torch.Tensor
    instance_classes: torch.Tensor
    boxes: torch.Tensor

    @property
    def main_object(self) -> int:
        """Index of the largest visible object: the single object of classification + localization."""
        if len(self.instance_classes) == 0:
            raise ValueError("this scene has no objects")
        return int(self.instance_masks.flatten(1).sum(1).argmax())


@lru_cache(maxsize=8)
def _grid(size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates: ys (H, 1) and xs (1, W), broadcast together when used."""
    coords = np.arange(size, dtype=np.float32)
    return coords[:, None], coords[None, :]


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    # Objects and backgrounds share this distribution: colour carries no class information.
    return rng.uniform(0.05, 0.95, size=3).astype(np.float32)


def _background(rng: np.random.Generator, cfg: SceneConfig) -> np.ndarray:
    """A (H, W, 3) background: two random colours mixed by smooth stripes and a blob."""
    ys, xs = _grid(cfg.size)
    c0, c1 = _random_colour(rng), _random_colour(rng)
    if not cfg.texture:
        return np.broadcast_to(c0, (cfg.size, cfg.size, 3)).copy()
    angle = rng.uniform(0, math.pi)
    freq = rng.uniform(0.08, 0.3)
    stripes = np.sin(freq * (np.cos(angle) * xs + np.sin(angle) * ys) + rng.uniform(0, 2 * math.pi))
    by, bx = rng.uniform(0, cfg.size, size=2)
    blob = np.exp(-((ys - by) ** 2 + (xs - bx) ** 2) / (2 * (0.3 * cfg.size) ** 2))
    t = (0.25 * stripes + 0.75 * blob)[..., None]  # (H, W, 1) mixing weight, about [-0.25, 1]
    return c0 + (c1 - c0) * t


def _window(cy: float, cx: float, radius: float, size: int) -> Tuple[slice, slice]:
    """The rows and columns an object of this radius can touch (clipped to the image)."""
    y0, y1 = max(int(cy - radius) - 1, 0), min(int(cy + radius) + 2, size)
    x0, x1 = max(int(cx - radius) - 1, 0), min(int(cx + radius) + 2, size)
    return slice(y0, y1), slice(x0, x1)


def _shape_mask(kind: int, rng: np.random.Generator, cfg: SceneConfig) -> Tuple[np.ndarray, Tuple[slice, slice]]:
    """Draw one object's mask inside its window. Returns (mask of the window, window)."""
    size = cfg.size
    base = size / 64.0 * cfg.object_scale  # object sizes are set for 64x64 and scale with the image
    ys, xs = _grid(size)
    cy, cx = rng.uniform(0.1 * size, 0.9 * size, size=2)
    angle = rng.uniform(0, 2 * math.pi)
    cos, sin = math.cos(angle), math.sin(angle)
    if kind == _WIRE:
        # A thin polyline of three segments: pixels within `half_width` of it.
        length = rng.uniform(22, 40) * base
        half_width = rng.uniform(*cfg.wire_width)
        turns = angle + np.cumsum(rng.uniform(-0.9, 0.9, size=3))
        seg = length / 3
        points = [(cy, cx)]
        for t in turns:
            py, px = points[-1]
            points.append((py + seg * math.sin(t), px + seg * math.cos(t)))
        pts = np.array(points, dtype=np.float32)
        (ymin, xmin), (ymax, xmax) = pts.min(0), pts.max(0)
        radius = max(ymax - ymin, xmax - xmin) / 2 + half_width + 1
        win = _window((ymin + ymax) / 2, (xmin + xmax) / 2, radius, size)
        wy, wx = ys[win[0]], xs[:, win[1]]
        dist2 = np.full((wy.shape[0], wx.shape[1]), np.inf, dtype=np.float32)
        for (ay, ax), (by, bx) in zip(pts[:-1], pts[1:]):
            dy, dx = by - ay, bx - ax
            t = np.clip(((wy - ay) * dy + (wx - ax) * dx) / (dy * dy + dx * dx + 1e-9), 0.0, 1.0)
            dist2 = np.minimum(dist2, (wy - ay - t * dy) ** 2 + (wx - ax - t * dx) ** 2)
        return dist2 <= half_width ** 2, win
    radius = rng.uniform(6.5, 12.0) * base
    win = _window(cy, cx, radius * 1.5, size)
    wy, wx = ys[win[0]] - cy, xs[:, win[1]] - cx
    u, v = cos * wx + sin * wy, -sin * wx + cos * wy  # coordinates in the object's own rotated frame
    if kind == _DISC:
        squash = rng.uniform(0.75, 1.0)
        return (u / radius) ** 2 + (v / (radius * squash)) ** 2 <= 1.0, win
    if kind == _BOX:
        aspect = rng.uniform(0.55, 1.0)
        return (np.abs(u) <= radius * 0.9) & (np.abs(v) <= radius * 0.9 * aspect), win
    # _TRIANGLE: inside three half-planes whose edges are at distance r/2 from the centre (equilateral).
    inside = np.ones(u.shape, dtype=bool)
    for k in range(3):
        a = 2 * math.pi * k / 3
        inside &= (math.cos(a) * u + math.sin(a) * v) <= radius * 0.6
    return inside, win


def make_scene(config: SceneConfig, seed: int, index: int = 0) -> Scene:
    """Generate scene number ``index`` of the data set with this ``seed`` and ``config``.

    The same (config, seed, index) always gives the same scene, whatever order scenes are made in: each scene
    has its own random generator seeded by ``(seed, index)``.

    Example:
        >>> scene = make_scene(SceneConfig(size=32), seed=0, index=3)
        >>> scene.image.shape, scene.label.shape, scene.instance_masks.shape[1:]
        (torch.Size([3, 32, 32]), torch.Size([32, 32]), torch.Size([32, 32]))
    """
    if not isinstance(config, SceneConfig):
        raise TypeError(f"config must be a SceneConfig, got {type(config).__name__}")
    seed = check_int(seed, "seed", minimum=0)
    index = check_int(index, "index", minimum=0)
    rng = np.random.default_rng((seed, index))
    size = config.size
    image = _background(rng, config).astype(np.float32)  # (H, W, 3)
    owner = np.full((size, size), -1, dtype=np.int64)  # which object each pixel shows (-1: background)
    probs = None
    if config.class_probs is not None:
        probs = np.asarray(config.class_probs, dtype=np.float64) / sum(config.class_probs)
    count = int(rng.integers(config.num_objects[0], config.num_objects[1] + 1))
    kinds = rng.choice(np.arange(1, NUM_CLASSES), size=count, p=probs).astype(np.int64)
    for k, kind in enumerate(kinds.tolist()):
        mask, win = _shape_mask(kind, rng, config)
        colour = _random_colour(rng)
        # Soft shading across the object so that its colour is not one flat value either.
        ramp = (np.arange(mask.shape[1], dtype=np.float32) / max(mask.shape[1] - 1, 1) - 0.5)[None, :, None]
        fill = np.clip(colour * (1.0 + rng.uniform(-0.3, 0.3) * ramp), 0, 1)  # (1, w, 3): broadcast down rows
        patch = image[win]  # a view: writing into it paints the image
        patch[mask] = np.broadcast_to(fill, patch.shape)[mask]
        owner[win][mask] = k  # later objects overwrite (occlude) earlier ones
    image += config.noise * rng.standard_normal(image.shape, dtype=np.float32)
    np.clip(image, 0.0, 1.0, out=image)

    ids = np.arange(count)
    masks = owner[None] == ids[:, None, None]  # (K, H, W): each object's visible pixels
    keep = masks.any(axis=(1, 2))  # objects hidden entirely by later ones are dropped
    masks, classes = masks[keep], kinds[keep].astype(np.int64)
    lookup = np.concatenate([[0], kinds]).astype(np.int64)  # owner -1 -> background, k -> class of object k
    label = lookup[owner + 1]
    rows, cols = masks.any(axis=2), masks.any(axis=1)  # (K, H), (K, W): which rows / columns each object touches
    boxes = np.stack([cols.argmax(1), rows.argmax(1),
                      size - 1 - cols[:, ::-1].argmax(1), size - 1 - rows[:, ::-1].argmax(1)], axis=1)
    return Scene(
        image=torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)),
        label=torch.from_numpy(label),
        instance_masks=torch.from_numpy(masks),
        instance_classes=torch.from_numpy(classes),
        boxes=torch.from_numpy(boxes.astype(np.float32)),
    )


class SceneDataset(Dataset):
    """A ``torch.utils.data.Dataset`` of procedural scenes: ``(image, mask)`` pairs.

    ``image`` is a ``tv_tensors.Image`` float32 (3, H, W) in [0, 1] and ``mask`` a ``tv_tensors.Mask`` int64
    (H, W) of class ids (see :data:`CLASS_NAMES`), so torchvision's transforms v2 transform both together
    (a flip flips both; a resize uses nearest-neighbour for the mask).

    Args:
        num_images: how many scenes the data set holds.
        seed: scene ``i`` is ``make_scene(config, seed, i)``; use different seeds for train and test sets.
        transforms: optional callable ``(image, mask) -> (image, mask)``, e.g. a ``torchvision.transforms.v2``
            pipeline, applied on every access.
        cache: keep generated scenes in memory (they are deterministic, so this only saves time).
        config: a :class:`SceneConfig`; or pass its fields (``size=...``, ``object_scale=...``) as keywords.

    Example:
        >>> from torchvision.transforms import v2
        >>> ds = SceneDataset(4, size=32, seed=1, transforms=v2.RandomHorizontalFlip(p=1.0))
        >>> image, mask = ds[0]
        >>> type(mask).__name__
        'Mask'
    """

    def __init__(self, num_images: int, *, seed: int = 0, transforms: Optional[Callable] = None,
                 cache: bool = True, config: Optional[SceneConfig] = None, **knobs) -> None:
        self.num_images = check_int(num_images, "num_images", minimum=0)
        self.seed = check_int(seed, "seed", minimum=0)
        if config is not None and knobs:
            raise ValueError("pass either config=SceneConfig(...) or its fields as keywords, not both")
        if config is None:
            unknown = set(knobs) - {f.name for f in dataclasses.fields(SceneConfig)}
            if unknown:
                raise TypeError(f"unknown SceneDataset option(s) {sorted(unknown)}; the options are the "
                                f"SceneConfig fields {[f.name for f in dataclasses.fields(SceneConfig)]}")
            config = SceneConfig(**knobs)
        elif not isinstance(config, SceneConfig):
            raise TypeError(f"config must be a SceneConfig, got {type(config).__name__}")
        if transforms is not None and not callable(transforms):
            raise TypeError(f"transforms must be callable (image, mask) -> (image, mask), got {transforms!r}")
        self.config = config
        self.transforms = transforms
        self.cache = bool(cache)
        self._cache: dict = {}
        self.class_names = CLASS_NAMES
        self.num_classes = NUM_CLASSES

    def __len__(self) -> int:
        return self.num_images

    def scene(self, index: int) -> Scene:
        """The full :class:`Scene` (image, label map, instance masks, classes, boxes) number ``index``."""
        index = check_int(index, "index")
        if not -self.num_images <= index < self.num_images:
            raise IndexError(f"index {index} is out of range for a SceneDataset of {self.num_images} images")
        index %= max(self.num_images, 1)
        if index in self._cache:
            return self._cache[index]
        scene = make_scene(self.config, self.seed, index)
        if self.cache:
            self._cache[index] = scene
        return scene

    def __getitem__(self, index: int):
        from torchvision import tv_tensors  # imported here: torchvision is only needed when items are read

        scene = self.scene(index)
        image, mask = tv_tensors.Image(scene.image), tv_tensors.Mask(scene.label)
        if self.transforms is not None:
            image, mask = self.transforms(image, mask)
        return image, mask

    def tensors(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """All images (N, 3, H, W) and masks (N, H, W) stacked, without transforms (for fast full-batch work)."""
        scenes = [self.scene(i) for i in range(self.num_images)]
        return torch.stack([s.image for s in scenes]), torch.stack([s.label for s in scenes])

    def foreground_fraction(self) -> float:
        """The fraction of pixels that are not background, over the whole data set."""
        _, masks = self.tensors()
        return float((masks != 0).float().mean())

    def __repr__(self) -> str:
        return f"SceneDataset(num_images={self.num_images}, seed={self.seed}, config={self.config})"


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
    check_class_indices(label, "label", num_classes, ignore_index)
    valid = label != ignore_index if ignore_index is not None else torch.ones_like(label, dtype=torch.bool)
    safe = torch.where(valid, label, torch.zeros_like(label))
    out = torch.nn.functional.one_hot(safe, num_classes).to(torch.float32) * valid[..., None]
    return out.movedim(-1, -3)  # (..., H, W, C) -> (..., C, H, W)
