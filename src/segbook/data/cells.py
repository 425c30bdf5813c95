"""The touching cells of chapter 8 (U-Net): clusters of cells that only a thin membrane keeps apart.

After the cell images of the U-Net paper: cells grow in clusters, neighbours touch, and one or two pixels of
background **membrane** separate them. Labelling the membrane as cell merges two cells into one object, which the
paper's border weight map (:func:`segbook.losses.unet_weight_map`) is there to prevent. Every image carries its
instance ids (one per cell), so the chapter can count how many touching pairs a network keeps apart.

Example:
    >>> ds = CellsDataset(4, size=32, seed=0)
    >>> image, mask = ds[0]
    >>> tuple(image.shape), tuple(ds.instances().shape), ds.class_names
    ((3, 32, 32), (4, 32, 32), ('background', 'cell'))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Set, Tuple

import numpy as np
import torch

from segbook.conventions import check_float, check_int, check_positive_int
from segbook.data._common import check_range_pair, pixel_grid, sample_rng, window
from segbook.data.base import GeneratedDataset

__all__ = ["CELL_CLASS_NAMES", "CellsConfig", "Cells", "make_cells", "CellsDataset"]

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
            low, high = check_range_pair(getattr(self, name), name)
            check_int(low, f"{name}[0]", minimum=minimum)
            check_int(high, f"{name}[1]", minimum=max(low, 1))
        for name, least, most in (("cell_radius", 2.0, None), ("membrane_width", 1.0, 3.0)):
            low, high = check_range_pair(getattr(self, name), name)
            check_float(low, f"{name}[0]", minimum=least, maximum=most)
            check_float(high, f"{name}[1]", minimum=low, maximum=most)
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

    def touching_pairs(self, reach: int = 3) -> List[Tuple[int, int]]:
        """Pairs ``(a, b)``, ``a < b``, of cells with pixels at most ``reach`` pixels apart (chessboard distance):
        with the default 3, cells across a membrane up to 2 pixels wide."""
        return sorted(_touching_pairs(self.instances.numpy(), check_positive_int(reach, "reach")))


def _touching_pairs(ids: np.ndarray, reach: int) -> Set[Tuple[int, int]]:
    """Pairs of different non-zero ids at most ``reach`` pixels apart along rows, columns or diagonals."""
    h, w = ids.shape
    pairs: Set[Tuple[int, int]] = set()
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
    centres: List[np.ndarray] = []
    radii: List[float] = []
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
    ys, xs = pixel_grid(size)
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

    rng = sample_rng(config, CellsConfig, seed, index)
    size = config.size
    ys, xs = pixel_grid(size)
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
        win = window(cy, cx, 1.1 * (r + width) + 1, size)
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
    grey = torch.from_numpy(image)
    return Cells(
        image=grey[None].expand(3, size, size).contiguous(),
        label=torch.from_numpy((ids > 0).astype(np.int64)),
        instances=torch.from_numpy(ids),
        membrane=torch.from_numpy(membrane & (ids == 0)),
    )


class CellsDataset(GeneratedDataset):
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

    name = "cells"
    class_names: Tuple[str, ...] = CELL_CLASS_NAMES
    num_classes: int = len(CELL_CLASS_NAMES)
    config_type = CellsConfig
    generate = staticmethod(make_cells)

    def cells(self, index: int) -> Cells:
        """The full :class:`Cells` sample (image, label, instances, membrane) number ``index``."""
        return self.sample(index)

    def instances(self) -> torch.Tensor:
        """All instance maps stacked: int64 (N, H, W), 0 = background, 1..K per image."""
        return torch.stack([self.sample(i).instances for i in range(self.num_images)])

    def touching_fraction(self, reach: int = 3) -> float:
        """The fraction of cells that touch another cell (see :meth:`Cells.touching_pairs`), over the data set."""
        touching, total = 0, 0
        for i in range(self.num_images):
            sample = self.sample(i)
            touching += len({k for pair in sample.touching_pairs(reach) for k in pair})
            total += sample.num_cells
        return touching / total if total else float("nan")
