"""The book's embedded data set (chapters 1-7, 9-11): procedural scenes, generated from a seed, no download.

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

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import torch

from segbook.conventions import check_bool, check_float, check_int
from segbook.data._common import check_range_pair, pixel_grid, sample_rng, window
from segbook.data.base import GeneratedDataset

__all__ = [
    "CLASS_NAMES",
    "NUM_CLASSES",
    "SceneConfig",
    "Scene",
    "make_scene",
    "SceneDataset",
]


#: Class names, indexed by class id. Class 0 is the background.
CLASS_NAMES: Tuple[str, ...] = ("background", "disc", "box", "triangle", "wire")
NUM_CLASSES: int = len(CLASS_NAMES)
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
        low, high = check_range_pair(self.num_objects, "num_objects")
        check_int(low, "num_objects[0]", minimum=0)
        check_int(high, "num_objects[1]", minimum=max(low, 1))
        check_float(self.object_scale, "object_scale", minimum=0.0, strict_minimum=True)
        check_float(self.noise, "noise", minimum=0.0, maximum=1.0)
        check_bool(self.texture, "texture")
        if self.class_probs is not None:
            probs = tuple(self.class_probs)
            if len(probs) != NUM_CLASSES - 1:
                raise ValueError(
                    f"class_probs must have {NUM_CLASSES - 1} entries (one per object class "
                    f"{CLASS_NAMES[1:]}), got {len(probs)}"
                )
            for name, p in zip(CLASS_NAMES[1:], probs):
                check_float(p, f"class_probs[{name}]", minimum=0.0)
            if sum(probs) <= 0:
                raise ValueError("class_probs must not all be zero")
        w_low, w_high = check_range_pair(self.wire_width, "wire_width")
        check_float(w_low, "wire_width[0]", minimum=0.0, strict_minimum=True)
        check_float(w_high, "wire_width[1]", minimum=w_low)


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
    def instance_ids(self) -> torch.Tensor:
        """int64 (H, W) instance map: 0 = background, ``k + 1`` on the visible pixels of object ``k``."""
        ids = torch.arange(1, len(self.instance_masks) + 1).view(-1, 1, 1)
        return (self.instance_masks * ids).sum(0) if len(ids) else torch.zeros_like(self.label)

    @property
    def main_object(self) -> int:
        """Index of the largest visible object: the single object of classification + localization."""
        if len(self.instance_classes) == 0:
            raise ValueError("this scene has no objects")
        return int(self.instance_masks.flatten(1).sum(1).argmax())


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    # Objects and backgrounds share this distribution: colour carries no class information.
    return rng.uniform(0.05, 0.95, size=3).astype(np.float32)


def _background(rng: np.random.Generator, cfg: SceneConfig) -> np.ndarray:
    """A (H, W, 3) background: two random colours mixed by smooth stripes and a blob."""
    ys, xs = pixel_grid(cfg.size)
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


def _shape_mask(kind: int, rng: np.random.Generator, cfg: SceneConfig) -> Tuple[np.ndarray, Tuple[slice, slice]]:
    """Draw one object's mask inside its window. Returns (mask of the window, window)."""
    size = cfg.size
    base = size / 64.0 * cfg.object_scale  # object sizes are set for 64x64 and scale with the image
    ys, xs = pixel_grid(size)
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
        win = window((ymin + ymax) / 2, (xmin + xmax) / 2, radius, size)
        wy, wx = ys[win[0]], xs[:, win[1]]
        dist2 = np.full((wy.shape[0], wx.shape[1]), np.inf, dtype=np.float32)
        for (ay, ax), (by, bx) in zip(pts[:-1], pts[1:]):
            dy, dx = by - ay, bx - ax
            t = np.clip(((wy - ay) * dy + (wx - ax) * dx) / (dy * dy + dx * dx + 1e-9), 0.0, 1.0)
            dist2 = np.minimum(dist2, (wy - ay - t * dy) ** 2 + (wx - ax - t * dx) ** 2)
        return dist2 <= half_width**2, win
    radius = rng.uniform(6.5, 12.0) * base
    win = window(cy, cx, radius * 1.5, size)
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
    rng = sample_rng(config, SceneConfig, seed, index)
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
    boxes = np.stack(
        [cols.argmax(1), rows.argmax(1), size - 1 - cols[:, ::-1].argmax(1), size - 1 - rows[:, ::-1].argmax(1)], axis=1
    )
    return Scene(
        image=torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)),
        label=torch.from_numpy(label),
        instance_masks=torch.from_numpy(masks),
        instance_classes=torch.from_numpy(classes),
        boxes=torch.from_numpy(boxes.astype(np.float32)),
    )


class SceneDataset(GeneratedDataset):
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
        >>> type(mask).__name__, ds.num_classes
        ('Mask', 5)
    """

    name = "scenes"
    class_names: Tuple[str, ...] = CLASS_NAMES
    num_classes: int = NUM_CLASSES
    config_type = SceneConfig
    generate = staticmethod(make_scene)

    def scene(self, index: int) -> Scene:
        """The full :class:`Scene` (image, label map, instance masks, classes, boxes) number ``index``."""
        return self.sample(index)

    def instances(self) -> torch.Tensor:
        """The painted objects' ids, int64 (N, H, W): ``Scene.instance_ids`` of every scene (two touching
        objects of one class stay two objects, which connected regions of the label map could not tell)."""
        return torch.stack([self.scene(i).instance_ids for i in range(self.num_images)])
