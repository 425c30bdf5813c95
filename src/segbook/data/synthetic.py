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

from segbook.conventions import (
    IGNORE_INDEX,
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
    "CELL_CLASS_NAMES",
    "CellsConfig",
    "Cells",
    "make_cells",
    "CellsDataset",
]

#: Class names, indexed by class id. Class 0 is the background.
CLASS_NAMES: Tuple[str, ...] = ("background", "disc", "box", "triangle", "wire")
NUM_CLASSES: int = len(CLASS_NAMES)
#: Label value for pixels that no loss or metric should count (PASCAL VOC's border value).
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
                raise ValueError(
                    f"class_probs must have {NUM_CLASSES - 1} entries (one per object class "
                    f"{CLASS_NAMES[1:]}), got {len(probs)}"
                )
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
        return dist2 <= half_width**2, win
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


def _sample_rng(config: object, config_type: type, seed: int, index: int) -> np.random.Generator:
    """The random generator of sample ``index``: seeded by ``(seed, index)`` alone, so samples are independent of
    the order they are made in. Checks the arguments of ``make_scene`` / ``make_cells``."""
    if not isinstance(config, config_type):
        raise TypeError(f"config must be a {config_type.__name__}, got {type(config).__name__}")
    seed = check_int(seed, "seed", minimum=0)
    index = check_int(index, "index", minimum=0)
    return np.random.default_rng((seed, index))


def make_scene(config: SceneConfig, seed: int, index: int = 0) -> Scene:
    """Generate scene number ``index`` of the data set with this ``seed`` and ``config``.

    The same (config, seed, index) always gives the same scene, whatever order scenes are made in: each scene
    has its own random generator seeded by ``(seed, index)``.

    Example:
        >>> scene = make_scene(SceneConfig(size=32), seed=0, index=3)
        >>> scene.image.shape, scene.label.shape, scene.instance_masks.shape[1:]
        (torch.Size([3, 32, 32]), torch.Size([32, 32]), torch.Size([32, 32]))
    """
    rng = _sample_rng(config, SceneConfig, seed, index)
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


class _GeneratedDataset(Dataset):
    """What :class:`SceneDataset` and :class:`CellsDataset` share: options from a config or its fields as keywords,
    deterministic samples ``make(config, seed, i)`` cached on first use, ``(tv_tensors.Image, tv_tensors.Mask)``
    items with optional transforms v2, and stacked tensors for full-batch work.

    A subclass sets ``_config_type`` (the config dataclass), ``_make`` (the generator) and ``class_names``.
    """

    _config_type: type
    _make: Callable
    class_names: Tuple[str, ...]
    num_classes: int

    def __init__(
        self,
        num_images: int,
        *,
        seed: int = 0,
        transforms: Optional[Callable] = None,
        cache: bool = True,
        config: Optional[object] = None,
        **knobs,
    ) -> None:
        kind, config_kind = type(self).__name__, self._config_type.__name__
        self.num_images = check_int(num_images, "num_images", minimum=0)
        self.seed = check_int(seed, "seed", minimum=0)
        if config is not None and knobs:
            raise ValueError(f"pass either config={config_kind}(...) or its fields as keywords, not both")
        if config is None:
            fields = [f.name for f in dataclasses.fields(self._config_type)]
            unknown = set(knobs) - set(fields)
            if unknown:
                raise TypeError(
                    f"unknown {kind} option(s) {sorted(unknown)}; the options are the {config_kind} fields {fields}"
                )
            config = self._config_type(**knobs)
        elif not isinstance(config, self._config_type):
            raise TypeError(f"config must be a {config_kind}, got {type(config).__name__}")
        if transforms is not None and not callable(transforms):
            raise TypeError(f"transforms must be callable (image, mask) -> (image, mask), got {transforms!r}")
        self.config = config
        self.transforms = transforms
        self.cache = bool(cache)
        self._cache: dict = {}

    def __len__(self) -> int:
        return self.num_images

    def _sample(self, index: int):
        index = check_int(index, "index")
        if not -self.num_images <= index < self.num_images:
            raise IndexError(f"index {index} is out of range for a {type(self).__name__} of {self.num_images} images")
        index %= max(self.num_images, 1)
        if index in self._cache:
            return self._cache[index]
        sample = type(self)._make(self.config, self.seed, index)
        if self.cache:
            self._cache[index] = sample
        return sample

    def __getitem__(self, index: int):
        from torchvision import tv_tensors  # imported here: torchvision is only needed when items are read

        sample = self._sample(index)
        image, mask = tv_tensors.Image(sample.image), tv_tensors.Mask(sample.label)
        if self.transforms is not None:
            image, mask = self.transforms(image, mask)
        return image, mask

    def tensors(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """All images (N, 3, H, W) and masks (N, H, W) stacked, without transforms (for fast full-batch work)."""
        samples = [self._sample(i) for i in range(self.num_images)]
        return torch.stack([s.image for s in samples]), torch.stack([s.label for s in samples])

    def foreground_fraction(self) -> float:
        """The fraction of pixels that are not background, over the whole data set."""
        _, masks = self.tensors()
        return float((masks != 0).float().mean())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_images={self.num_images}, seed={self.seed}, config={self.config})"


class SceneDataset(_GeneratedDataset):
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

    _config_type = SceneConfig
    _make = staticmethod(make_scene)
    class_names: Tuple[str, ...] = CLASS_NAMES
    num_classes: int = NUM_CLASSES

    def scene(self, index: int) -> Scene:
        """The full :class:`Scene` (image, label map, instance masks, classes, boxes) number ``index``."""
        return self._sample(index)


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


# ------------------------------------------------------------------------------- touching cells (chapter 8)

#: Class names of the touching-cells data: the membranes between cells are background.
CELL_CLASS_NAMES: Tuple[str, ...] = ("background", "cell")


@dataclass(frozen=True)
class CellsConfig:
    """The knobs of the touching-cells data (chapter 8, after the U-Net paper's cell images).

    Cells grow in clusters; neighbours in a cluster touch, and only a thin **membrane** of background pixels
    separates them. A network that labels the membrane as cell merges two cells into one object, which the
    U-Net paper's border weight map (:mod:`segbook.losses.weight_map`) is there to prevent.

    Args:
        size: image height and width in pixels (square images), >= 16.
        num_clusters: inclusive range ``(low, high)`` of cell clusters per image.
        cells_per_cluster: inclusive range of cells per cluster (the cluster density; 1 gives lone cells).
        cell_radius: range ``(low, high)`` of cell radii in pixels (not scaled with ``size``), low >= 2.
        membrane_width: range of the membrane's width in pixels, drawn once per image, within [1, 3]
            (default 1 to 2 pixels, like the U-Net paper's membranes).
        membrane_contrast: in [0, 1], how much darker than the cells the membranes are drawn: 1 makes them as
            dark as the background, 0 invisible (then only the cells' shapes tell where one cell ends).
        noise: standard deviation of the Gaussian pixel noise (images are in [0, 1]).
        texture: in [0, 1], the amplitude of the smooth texture inside cells (relative to a cell's brightness).
    """

    size: int = 64
    num_clusters: Tuple[int, int] = (1, 3)
    cells_per_cluster: Tuple[int, int] = (1, 6)
    cell_radius: Tuple[float, float] = (5.0, 9.0)
    membrane_width: Tuple[float, float] = (1.0, 2.0)
    membrane_contrast: float = 0.8
    noise: float = 0.04
    texture: float = 0.15

    def __post_init__(self) -> None:
        check_int(self.size, "size", minimum=16)
        for name, minimum in (("num_clusters", 0), ("cells_per_cluster", 1)):
            low, high = _check_pair(getattr(self, name), name)
            check_int(low, f"{name}[0]", minimum=minimum)
            check_int(high, f"{name}[1]", minimum=max(low, 1))
        for name, minimum, maximum in (("cell_radius", 2.0, None), ("membrane_width", 1.0, 3.0)):
            low, high = _check_pair(getattr(self, name), name)
            check_float(low, f"{name}[0]", minimum=minimum, maximum=maximum)
            check_float(high, f"{name}[1]", minimum=low, maximum=maximum)
        check_float(self.membrane_contrast, "membrane_contrast", minimum=0.0, maximum=1.0)
        check_float(self.noise, "noise", minimum=0.0, maximum=1.0)
        check_float(self.texture, "texture", minimum=0.0, maximum=1.0)


@dataclass
class Cells:
    """One touching-cells image with its labels.

    Attributes:
        image: float32 tensor (3, H, W) in [0, 1]; grey (three equal channels), so models built for RGB take it.
        label: int64 tensor (H, W): 1 = cell, 0 = background, membranes included (``label == (instances > 0)``).
        instances: int64 tensor (H, W): 0 = background, ``1..K`` one id per cell.
        membrane: bool tensor (H, W): the background pixels that separate touching cells.
    """

    image: torch.Tensor
    label: torch.Tensor
    instances: torch.Tensor
    membrane: torch.Tensor

    @property
    def num_cells(self) -> int:
        return int(self.instances.max())

    def touching_pairs(self, reach: int = 3) -> list:
        """Pairs ``(a, b)``, ``a < b``, of cells with pixels at most ``reach`` pixels apart (chessboard distance):
        with the default 3, cells across a membrane up to 2 pixels wide."""
        return sorted(_touching_pairs(self.instances.numpy(), check_positive_int(reach, "reach")))


def _touching_pairs(ids: np.ndarray, reach: int) -> set:
    """Pairs of different non-zero ids at most ``reach`` pixels apart along rows, columns or diagonals."""
    h, w = ids.shape
    pairs = set()
    for dy in range(0, reach + 1):
        for dx in range(-reach, reach + 1):
            if dy == 0 and dx <= 0:
                continue  # each offset once: (dy, dx) and (-dy, -dx) compare the same pixel pairs
            a = ids[: h - dy, max(-dx, 0) : w - max(dx, 0)]
            b = ids[dy:, max(dx, 0) : w - max(-dx, 0)]
            hit = (a != b) & (a > 0) & (b > 0)
            pairs.update(zip(np.minimum(a[hit], b[hit]).tolist(), np.maximum(a[hit], b[hit]).tolist()))
    return pairs


def _cell_seeds(rng: np.random.Generator, cfg: CellsConfig) -> Tuple[np.ndarray, np.ndarray]:
    """Cell centres (K, 2) and radii (K,): clusters grown cell by cell, each new cell overlapping a neighbour."""
    size = cfg.size
    centres, radii = [], []
    for _ in range(int(rng.integers(cfg.num_clusters[0], cfg.num_clusters[1] + 1))):
        count = int(rng.integers(cfg.cells_per_cluster[0], cfg.cells_per_cluster[1] + 1))
        first = len(centres)
        for _ in range(count):
            r = rng.uniform(*cfg.cell_radius)
            for _attempt in range(12):
                if len(centres) == first:  # the cluster's first cell: anywhere in the image
                    c = rng.uniform(0.1 * size, 0.9 * size, size=2)
                else:  # next to a cell of the cluster, close enough for the two discs to overlap
                    j = int(rng.integers(first, len(centres)))
                    angle = rng.uniform(0, 2 * math.pi)
                    c = centres[j] + (r + radii[j]) * rng.uniform(0.7, 0.9) * np.array(
                        [math.sin(angle), math.cos(angle)]
                    )
                far = all(np.hypot(*(c - o)) >= 0.65 * (r + ro) for o, ro in zip(centres, radii))
                if far and -0.5 * r < c[0] < size + 0.5 * r and -0.5 * r < c[1] < size + 0.5 * r:
                    centres.append(c)
                    radii.append(r)
                    break
    return np.array(centres, dtype=np.float32).reshape(-1, 2), np.array(radii, dtype=np.float32)


def _smooth_field(rng: np.random.Generator, size: int, waves: int = 3) -> np.ndarray:
    """A smooth random (H, W) field in about [-1, 1]: a sum of plane waves."""
    ys, xs = _grid(size)
    field = np.zeros((size, size), dtype=np.float32)
    for _ in range(waves):
        angle, freq, phase = rng.uniform(0, math.pi), rng.uniform(0.3, 0.9), rng.uniform(0, 2 * math.pi)
        field += np.sin(freq * (math.cos(angle) * xs + math.sin(angle) * ys) + phase)
    return field / waves


def make_cells(config: CellsConfig, seed: int, index: int = 0) -> Cells:
    """Generate touching-cells image number ``index`` of the data set with this ``seed`` and ``config``.

    How a cell is drawn: every cell has a centre and a slightly irregular disc around it (an ellipse with a
    three-fold wobble). A pixel belongs to the cell whose disc it is deepest in, measured by
    :math:`\\rho_k(x) = |x - c_k| / r_k(\\theta)` (a Voronoi partition weighted by size), if it is inside that disc
    (:math:`\\rho < 1`). Where two discs overlap, the two cells touch along the Voronoi edge; the pixels within
    half the membrane width of that edge are the **membrane**: background in the label, drawn darker than the
    cells (``membrane_contrast``). Finally no two different cells are left 8-neighbours, so the membrane
    separates them even diagonally, and a cell keeps only its largest connected piece.

    The same (config, seed, index) always gives the same image, whatever order images are made in.

    Example:
        >>> cells = make_cells(CellsConfig(size=32), seed=0, index=1)
        >>> cells.image.shape, cells.label.dtype, bool((cells.label == (cells.instances > 0)).all())
        (torch.Size([3, 32, 32]), torch.int64, True)
    """
    from scipy import ndimage  # imported here: only the cells need it

    rng = _sample_rng(config, CellsConfig, seed, index)
    size = config.size
    ys, xs = _grid(size)
    centres, radii = _cell_seeds(rng, config)
    width = rng.uniform(*config.membrane_width)
    # Every cell competes for the pixels within its reach (its disc and `width` pixels beyond). Of the competing
    # cells, a pixel goes to the nearest in radius units, e = |x - c| / r (a Voronoi partition weighted by size),
    # and is that cell's if it is inside its disc. e1, e2: nearest and second-nearest; q1, q2: their radii.
    far = np.float32(1e3)  # "no cell in reach" (finite, so e2 - e1 is never inf - inf)
    e1, e2 = np.full((size, size), far), np.full((size, size), far)
    q1, q2 = np.ones((size, size), dtype=np.float32), np.ones((size, size), dtype=np.float32)
    owner = np.zeros((size, size), dtype=np.int64)  # 1..K: the nearest cell in reach (0: none)
    in_disc = np.zeros((size, size), dtype=bool)  # inside the owner's disc
    for k, ((cy, cx), r) in enumerate(zip(centres.tolist(), radii.tolist()), start=1):
        win = _window(cy, cx, 1.1 * (r + width) + 1, size)
        if win[0].start >= win[0].stop or win[1].start >= win[1].stop:
            continue
        dy, dx = ys[win[0]] - cy, xs[:, win[1]] - cx
        angle = rng.uniform(0, math.pi)
        u, v = math.cos(angle) * dx + math.sin(angle) * dy, -math.sin(angle) * dx + math.cos(angle) * dy
        squash, wobble = rng.uniform(0.8, 1.0), rng.uniform(0.0, 0.1)
        dist = np.sqrt(u * u + (v / squash) ** 2) + 1e-6
        cos = u / dist
        rho = dist / (r * (1 + wobble * (4 * cos**3 - 3 * cos)))  # disc: rho < 1, r(theta) = r (1 + w cos 3theta)
        e = np.where(rho < 1 + width / r, np.sqrt(dx * dx + dy * dy) / r, far)
        w1, w2, wq1, wq2, o, d = e1[win], e2[win], q1[win], q2[win], owner[win], in_disc[win]  # views
        nearer, second = e < w1, (e >= w1) & (e < w2)
        w2[nearer], wq2[nearer] = w1[nearer], wq1[nearer]
        w2[second], wq2[second] = e[second], r
        w1[nearer], wq1[nearer], o[nearer], d[nearer] = e[nearer], r, k, rho[nearer] < 1
    # Distance to the edge between the two nearest cells, to first order: (e2 - e1) r1 r2 / (r1 + r2)
    # (exact on the line through the two centres); the membrane is the band of half its width around the edge.
    edge_distance = (e2 - e1) * q1 * q2 / (q1 + q2)
    membrane = in_disc & (e2 < far) & (edge_distance < width / 2)
    ids = np.where(in_disc & ~membrane, owner, 0)
    # No two cells 8-neighbours: of each such pair of pixels, the one of the higher id becomes membrane.
    padded = np.pad(ids, 1)
    clash = np.zeros((size, size), dtype=bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            other = padded[1 + dy : 1 + dy + size, 1 + dx : 1 + dx + size]
            clash |= (other > 0) & (other < ids)
    membrane |= clash
    ids[clash] = 0
    # A cell keeps only its largest connected piece (after the cut, cells never touch: one piece = one cell).
    pieces, count = ndimage.label(ids > 0)
    if count > len(np.unique(ids)) - 1:
        piece_size = np.bincount(pieces.ravel(), minlength=count + 1)
        piece_size[0] = 0
        biggest = np.zeros(ids.max() + 1, dtype=np.int64)
        np.maximum.at(biggest, ids.ravel(), piece_size[pieces.ravel()])
        ids[piece_size[pieces] < biggest[ids]] = 0
    present = np.unique(ids[ids > 0])
    lookup = np.zeros(max(int(ids.max()), 0) + 1, dtype=np.int64)
    lookup[present] = np.arange(1, len(present) + 1)
    ids = lookup[ids]  # consecutive ids 1..K

    # The picture: grey background, cells of varied brightness with a smooth texture, dark membranes.
    background = rng.uniform(0.1, 0.3)
    image = background + 0.05 * _smooth_field(rng, size)
    levels = np.concatenate([[0.0], rng.uniform(0.55, 0.9, size=max(len(centres), 1))]).astype(np.float32)
    texture = 1 + config.texture * _smooth_field(rng, size, waves=4)
    cell_level = levels[owner] * texture
    image = np.where(ids > 0, cell_level, image)
    membrane &= owner > 0
    c = config.membrane_contrast
    image = np.where(membrane, (1 - c) * cell_level + c * background, image).astype(np.float32)
    image += config.noise * rng.standard_normal(image.shape, dtype=np.float32)
    np.clip(image, 0.0, 1.0, out=image)
    image = torch.from_numpy(image)
    return Cells(
        image=image[None].expand(3, size, size).contiguous(),
        label=torch.from_numpy((ids > 0).astype(np.int64)),
        instances=torch.from_numpy(ids),
        membrane=torch.from_numpy(membrane & (ids == 0)),
    )


class CellsDataset(_GeneratedDataset):
    """A ``torch.utils.data.Dataset`` of touching-cells images (chapter 8): ``(image, mask)`` pairs.

    ``image`` is a ``tv_tensors.Image`` float32 (3, H, W) in [0, 1] (grey) and ``mask`` a ``tv_tensors.Mask``
    int64 (H, W) with 0 = background (membranes included) and 1 = cell; transforms v2 move both together.
    :meth:`cells` gives the full sample with the instance ids, :meth:`instances` all instance maps stacked
    (for :func:`segbook.losses.weight_map.unet_weight_map` and :func:`segbook.metrics.instance_separation`).

    Args:
        num_images: how many images the data set holds.
        seed: image ``i`` is ``make_cells(config, seed, i)``; use different seeds for train and test sets.
        transforms: optional callable ``(image, mask) -> (image, mask)``, applied on every access.
        cache: keep generated images in memory.
        config: a :class:`CellsConfig`; or pass its fields (``size=...``, ``membrane_contrast=...``) as keywords.

    Example:
        >>> ds = CellsDataset(4, size=32, seed=0)
        >>> image, mask = ds[0]
        >>> tuple(image.shape), tuple(mask.shape), ds.class_names
        ((3, 32, 32), (32, 32), ('background', 'cell'))
    """

    _config_type = CellsConfig
    _make = staticmethod(make_cells)
    class_names: Tuple[str, ...] = CELL_CLASS_NAMES
    num_classes: int = len(CELL_CLASS_NAMES)

    def cells(self, index: int) -> Cells:
        """The full :class:`Cells` sample (image, label, instances, membrane) number ``index``."""
        return self._sample(index)

    def instances(self) -> torch.Tensor:
        """All instance maps stacked: int64 (N, H, W), 0 = background, 1..K per image."""
        return torch.stack([self._sample(i).instances for i in range(self.num_images)])

    def touching_fraction(self, reach: int = 3) -> float:
        """The fraction of cells that touch another cell (see :meth:`Cells.touching_pairs`), over the data set."""
        touching, total = 0, 0
        for i in range(self.num_images):
            sample = self._sample(i)
            touching += len({k for pair in sample.touching_pairs(reach) for k in pair})
            total += sample.num_cells
        return touching / total if total else float("nan")
