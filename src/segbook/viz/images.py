"""Chapter 1, the segmentation task: the class palette, label maps in colour, overlays, image/mask grids, the
four vision tasks on one scene, and a widget over the data set's knobs.

``show_grid(images, masks)`` is the figure every later chapter uses to show predictions.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Union

import numpy as np
import torch

from segbook.conventions import IGNORE_INDEX, check_float, check_int, check_tensor
from segbook.data import CLASS_NAMES, Scene, SceneConfig, make_scene
from segbook.viz._common import to_numpy_image

__all__ = [
    "PALETTE",
    "IGNORE_COLOUR",
    "colorize",
    "overlay",
    "legend_handles",
    "show_grid",
    "show_four_tasks",
    "scene_explorer",
]


#: One RGB colour (0-255) per class of :data:`segbook.data.CLASS_NAMES`: background dark grey, then
#: colour-blind-friendly hues (Okabe-Ito).
PALETTE: np.ndarray = np.array(
    [
        [40, 40, 40],  # background
        [230, 159, 0],  # disc: orange
        [86, 180, 233],  # box: sky blue
        [0, 158, 115],  # triangle: green
        [240, 228, 66],  # wire: yellow
        [204, 121, 167],  # spare colours for data sets with more classes
        [213, 94, 0],
        [0, 114, 178],
    ],
    dtype=np.uint8,
)


#: Bright colours, one per object, for instance masks (they must stand out on any background).
_INSTANCE_COLOURS = np.array(
    [
        [1.0, 0.5, 0.05],
        [1.0, 1.0, 1.0],
        [0.85, 0.1, 0.9],
        [0.2, 1.0, 0.2],
        [1.0, 0.1, 0.1],
        [0.1, 0.9, 1.0],
        [1.0, 0.95, 0.2],
        [0.6, 0.4, 1.0],
    ]
)


#: Colour of pixels equal to the ignore index (255): white.
IGNORE_COLOUR = np.array([255, 255, 255], dtype=np.uint8)


def colorize(label: Union[torch.Tensor, np.ndarray], palette: Optional[np.ndarray] = None) -> np.ndarray:
    """Turn a label map (H, W) of class ids into an RGB image (H, W, 3) uint8 using the class palette.

    Pixels equal to the ignore index (255) are white.

    Example:
        >>> colorize(torch.tensor([[0, 1], [4, 255]]))[1, 1].tolist()
        [255, 255, 255]
    """
    palette = PALETTE if palette is None else np.asarray(palette, dtype=np.uint8)
    if isinstance(label, torch.Tensor):
        check_tensor(label, "label", ndim=2, dtype="int", shape_hint="(H, W) of class ids")
        label = label.detach().cpu().numpy()
    label = np.asarray(label)
    if label.ndim != 2 or not np.issubdtype(label.dtype, np.integer):
        raise ValueError(f"label must be an integer (H, W) map, got {label.dtype} with shape {label.shape}")
    ignored = label == IGNORE_INDEX
    valid = label[~ignored]
    if valid.size and (valid.min() < 0 or valid.max() >= len(palette)):
        raise ValueError(f"label has class {int(valid.max())} but the palette has {len(palette)} colours")
    out = palette[np.where(ignored, 0, label)]
    out[ignored] = IGNORE_COLOUR
    return out


def overlay(image, label, alpha: float = 0.5, palette: Optional[np.ndarray] = None) -> np.ndarray:
    """Blend the coloured label map over the image: ``(1 - alpha) * image + alpha * colour`` on foreground.

    Background pixels (class 0) keep the image, so objects stand out. Returns (H, W, 3) float in [0, 1].
    """
    alpha = check_float(alpha, "alpha", minimum=0.0, maximum=1.0)
    img = to_numpy_image(image)
    colour = colorize(label, palette).astype(np.float32) / 255.0
    if colour.shape[:2] != img.shape[:2]:
        raise ValueError(f"image is {img.shape[:2]} but label is {colour.shape[:2]}: they must match")
    lab = label.cpu().numpy() if isinstance(label, torch.Tensor) else np.asarray(label)
    fg = (lab != 0)[..., None]
    return np.where(fg, (1 - alpha) * img + alpha * colour, img)


def legend_handles(class_names: Sequence[str] = CLASS_NAMES, palette: Optional[np.ndarray] = None) -> List:
    """Matplotlib patches, one per class, for ``ax.legend(handles=...)`` or ``fig.legend(handles=...)``."""
    from matplotlib.patches import Patch

    palette = PALETTE if palette is None else palette
    return [Patch(color=np.asarray(palette[i]) / 255.0, label=name) for i, name in enumerate(class_names)]


def show_grid(
    images,
    masks=None,
    predictions=None,
    *,
    titles: Optional[Sequence[str]] = None,
    class_names: Sequence[str] = CLASS_NAMES,
    max_items: int = 8,
    figsize_per: float = 2.0,
    suptitle: Optional[str] = None,
):
    """A grid with one column per example: the image, its mask and (optionally) the prediction, one per row.

    Args:
        images: (N, 3, H, W) float tensor in [0, 1] (or a list of (3, H, W) tensors).
        masks: optional (N, H, W) int label maps (ground truth).
        predictions: optional (N, H, W) int label maps (model output).
        titles: optional title for each column.
        max_items: at most this many columns are drawn.
    """
    import matplotlib.pyplot as plt

    images = torch.stack(list(images)) if not isinstance(images, torch.Tensor) else images
    check_tensor(images, "images", ndim=4, dtype="float", shape_hint="(N, 3, H, W)")
    max_items = check_int(max_items, "max_items", minimum=1)
    figsize_per = check_float(figsize_per, "figsize_per", minimum=0.0, strict_minimum=True)
    rows = [("image", images)]
    if masks is not None:
        rows.append(("ground truth", masks))
    if predictions is not None:
        rows.append(("prediction", predictions))
    n = min(len(images), max_items)
    fig, axes = plt.subplots(len(rows), n, figsize=(figsize_per * n, figsize_per * len(rows)), squeeze=False)
    for r, (name, data) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(to_numpy_image(data[c]) if r == 0 else colorize(data[c]), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name)
            if r == 0 and titles is not None:
                ax.set_title(titles[c], fontsize=9)
    if len(rows) > 1:
        fig.legend(handles=legend_handles(class_names), loc="lower center", ncol=len(class_names), frameon=False)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout(rect=(0, 0.08 if len(rows) > 1 else 0, 1, 1))
    return fig


def show_four_tasks(scene: Scene, class_names: Sequence[str] = CLASS_NAMES):
    """The slide "Các bài toán thị giác máy" on one image: the four tasks side by side.

    1. semantic segmentation (a class per pixel: no objects, just pixels),
    2. classification + localization (the single largest object: its class and box),
    3. object detection (every object: class and box),
    4. instance segmentation (every object: class and its own mask).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a segbook.data.Scene, got {type(scene).__name__}")
    img = to_numpy_image(scene.image)
    # 2 x 2 panels, 6.4 in wide: legible in the book's text column (about 7 in at dpi 100).
    fig, grid = plt.subplots(2, 2, figsize=(6.4, 7.2), layout="constrained")
    axes = grid.flatten()
    titles = ["Semantic segmentation", "Classification + localization", "Object detection", "Instance segmentation"]

    def box(ax, k, colour):
        x0, y0, x1, y1 = scene.boxes[k].tolist()
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0 + 1, y1 - y0 + 1, fill=False, lw=2, ec=colour))
        above = k % 2 == 0  # alternate above / below the box so that neighbouring tags do not overlap
        ax.text(
            x0,
            y0 - 1 if above else y1 + 1,
            class_names[int(scene.instance_classes[k])],
            color=colour,
            fontsize=8,
            va="bottom" if above else "top",
            bbox=dict(fc="black", alpha=0.6, pad=1, lw=0),
        )

    for ax, title in zip(axes, titles):
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].imshow(overlay(scene.image, scene.label, alpha=1.0), interpolation="nearest")
    axes[0].set_xlabel("one class per pixel; same-class\nobjects are not told apart", fontsize=9)
    axes[1].imshow(img, interpolation="nearest")
    if len(scene.instance_classes):
        k = scene.main_object
        box(axes[1], k, np.asarray(PALETTE[int(scene.instance_classes[k])]) / 255)
    axes[1].set_xlabel("one object: its class and box", fontsize=9)
    axes[2].imshow(img, interpolation="nearest")
    for k in range(len(scene.instance_classes)):
        box(axes[2], k, np.asarray(PALETTE[int(scene.instance_classes[k])]) / 255)
    axes[2].set_xlabel("every object: class and box", fontsize=9)
    # Instance segmentation: each object its own colour, whatever its class.
    inst = img.copy()
    for k, m in enumerate(scene.instance_masks.numpy()):
        inst[m] = 0.2 * inst[m] + 0.8 * _INSTANCE_COLOURS[k % len(_INSTANCE_COLOURS)]
    axes[3].imshow(inst, interpolation="nearest")
    for k in range(len(scene.instance_classes)):
        box(axes[3], k, _INSTANCE_COLOURS[k % len(_INSTANCE_COLOURS)])
    axes[3].set_xlabel("every object: class and its own mask\n(colours: one per object, not per class)", fontsize=9)
    fig.legend(handles=legend_handles(class_names), loc="outside lower center", ncol=len(class_names), frameon=False)
    return fig


def scene_explorer(*, size: int = 64):
    """Sliders for the data set's knobs (object scale, noise, texture, seed) showing a scene and its label map.

    Returns an ``ipywidgets`` widget; display it as the last expression of a cell.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    def show(object_scale: float, noise: float, texture: bool, seed: int) -> None:
        config = SceneConfig(size=size, object_scale=object_scale, noise=noise, texture=texture)
        scene = make_scene(config, seed=seed)
        fig, (a, b) = plt.subplots(1, 2, figsize=(6, 3.2))
        a.imshow(scene.image.permute(1, 2, 0).numpy())
        a.set_title("image")
        b.imshow(colorize(scene.label), interpolation="nearest")
        fraction = float((scene.label != 0).float().mean())
        b.set_title(f"label map ({fraction:.0%} foreground)")
        for ax in (a, b):
            ax.set_xticks([])
            ax.set_yticks([])
        fig.legend(handles=legend_handles(), loc="lower center", ncol=5, frameon=False, fontsize=8)
        fig.tight_layout(rect=(0, 0.1, 1, 1))
        plt.show()

    return w.interactive(
        show,
        object_scale=w.FloatSlider(value=1.0, min=0.3, max=1.6, step=0.1, description="object scale"),
        noise=w.FloatSlider(value=0.04, min=0.0, max=0.3, step=0.02, description="noise"),
        texture=w.Checkbox(value=True, description="textured background"),
        seed=w.IntSlider(value=0, min=0, max=50, description="seed"),
    )
