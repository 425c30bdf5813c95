"""Figures: class palette, label maps in colour, overlays, image/mask grids, the four vision tasks, curves.

Every function draws on matplotlib axes and returns the figure, with a title and labelled axes where axes
mean something, so notebooks stay short: ``show_grid(images, masks)``, ``plot_history(history)``.
"""

from __future__ import annotations

from typing import List, Mapping, Optional, Sequence, Union

import numpy as np
import torch

from segbook.conventions import check_float, check_tensor
from segbook.data.synthetic import CLASS_NAMES, IGNORE_INDEX, Scene

__all__ = [
    "PALETTE",
    "IGNORE_COLOUR",
    "colorize",
    "overlay",
    "legend_handles",
    "show_grid",
    "show_four_tasks",
    "plot_history",
    "plot_confusion",
    "show_matrices",
    "plot_transposed_conv_coverage",
]

#: One RGB colour (0-255) per class of :data:`segbook.data.synthetic.CLASS_NAMES`: background dark grey, then
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


def _to_numpy_image(image: Union[torch.Tensor, np.ndarray]) -> np.ndarray:
    """(3, H, W) tensor or (H, W, 3) array in [0, 1] → (H, W, 3) float array for imshow."""
    if isinstance(image, torch.Tensor):
        check_tensor(image, "image", ndim=3, dtype="float", shape_hint="(3, H, W)")
        image = image.detach().cpu().permute(1, 2, 0).numpy()
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must be (3, H, W) or (H, W, 3), got shape {image.shape}")
    return np.clip(image, 0, 1)


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
    img = _to_numpy_image(image)
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
            ax.imshow(_to_numpy_image(data[c]) if r == 0 else colorize(data[c]), interpolation="nearest")
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
        raise TypeError(f"scene must be a segbook.data.synthetic.Scene, got {type(scene).__name__}")
    img = _to_numpy_image(scene.image)
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


def plot_history(history, metrics: Sequence[str] = ("train_loss", "val_loss", "val_miou"), *, title: str = ""):
    """Training curves: losses on the left axis, validation mIoU (or other [0, 1] metrics) on the right.

    ``history`` is a :class:`segbook.training.History` (anything with ``.records``, a list of dicts with an
    ``epoch`` key) or that list itself.
    """
    import matplotlib.pyplot as plt

    records = getattr(history, "records", history)
    if not isinstance(records, (list, tuple)) or not records or not all(isinstance(r, Mapping) for r in records):
        raise TypeError("history must be a History (with .records) or a non-empty list of dicts, one per epoch")
    epochs = [r["epoch"] for r in records]
    fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
    ax2 = None
    for name in metrics:
        values = [r.get(name) for r in records]
        if all(v is None for v in values):
            continue
        ys = [np.nan if v is None else float(v) for v in values]
        if "loss" in name:
            ax.plot(epochs, ys, marker="o", ms=3, label=name)
        else:
            ax2 = ax2 or ax.twinx()
            ax2.plot(epochs, ys, marker="s", ms=3, ls="--", color="tab:green", label=name)
            ax2.set_ylabel(", ".join(n for n in metrics if "loss" not in n))
            ax2.set_ylim(0, 1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title or "Training history")
    handles, names = ax.get_legend_handles_labels()
    if ax2 is not None:
        h2, n2 = ax2.get_legend_handles_labels()
        handles, names = handles + h2, names + n2
    fig.legend(handles, names, loc="outside lower center", ncol=len(names), fontsize=8, frameon=False)
    return fig


def plot_confusion(
    confusion: torch.Tensor,
    class_names: Sequence[str] = CLASS_NAMES,
    *,
    normalize: bool = True,
    title: str = "Confusion matrix",
):
    """Draw a confusion matrix (rows: true class, columns: predicted class), normalised per row by default.

    With ``normalize=True`` each row sums to 1, so the diagonal is each class's recall (accuracy).
    """
    import matplotlib.pyplot as plt

    check_tensor(confusion, "confusion", ndim=2, shape_hint="(C, C) counts, rows = true class")
    if confusion.shape[0] != confusion.shape[1] or confusion.shape[0] != len(class_names):
        raise ValueError(
            f"confusion must be (C, C) with C = len(class_names) = {len(class_names)}, got {tuple(confusion.shape)}"
        )
    cm = confusion.double().cpu()
    if normalize:
        cm = cm / cm.sum(1, keepdim=True).clamp(min=1)
    fig, ax = plt.subplots(figsize=(4.6, 4))
    im = ax.imshow(cm.numpy(), cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            value = cm[i, j].item()
            ax.text(
                j,
                i,
                f"{value:.2f}" if normalize else f"{int(value)}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if value > (0.5 if normalize else cm.max().item() / 2) else "black",
            )
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of the row" if normalize else "pixels")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- chapter 4: upsampling pictures


def show_matrices(
    matrices: Sequence,
    titles: Sequence[str],
    *,
    suptitle: Optional[str] = None,
    highlight: Optional[Sequence] = None,
    cmap: str = "Blues",
    size_per_cell: float = 0.42,
    max_width: float = 7.0,
):
    """Small matrices drawn as the slides draw them: a grid of cells with the value written in each.

    Args:
        matrices: 2-D tensors or arrays (e.g. the slides' 2x2 input and 4x4 output), shown left to right.
        titles: one title per matrix.
        suptitle: the figure's title.
        highlight: optional, per matrix, a boolean mask of the cells to outline in red (or ``None``).
        cmap: colour map for the cells' shading (by value, per matrix).
        size_per_cell: inches per cell, shrunk if needed so that the figure fits ``max_width``.
        max_width: the widest the figure may be, in inches (7: the book's text column).

    Returns:
        The figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    arrays = [np.asarray(m.detach().cpu() if isinstance(m, torch.Tensor) else m, dtype=np.float64) for m in matrices]
    if len(arrays) != len(titles):
        raise ValueError(f"got {len(arrays)} matrices but {len(titles)} titles")
    for a in arrays:
        if a.ndim != 2:
            raise ValueError(f"every matrix must be 2-D, got shape {a.shape}")
    widths = [max(a.shape[1], 2) for a in arrays]
    height = max(a.shape[0] for a in arrays)
    max_width = check_float(max_width, "max_width", minimum=3.0)
    units = sum(widths) + 1.5 * len(arrays)  # cells, plus room for the gaps between panels
    size_per_cell = min(size_per_cell, max_width / units)  # fit the text column
    fig, axes = plt.subplots(
        1,
        len(arrays),
        figsize=(min(max(size_per_cell * units, 3), max_width), size_per_cell * height + 1.3),
        gridspec_kw={"width_ratios": widths},
        squeeze=False,
    )
    for k, (ax, a, title) in enumerate(zip(axes[0], arrays, titles)):
        finite = a[np.isfinite(a)]
        top = float(np.abs(finite).max()) if finite.size else 1.0
        ax.imshow(np.abs(a), cmap=cmap, vmin=0, vmax=top * 1.6 if top > 0 else 1.0)
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                v = a[i, j]
                text = f"{int(v)}" if float(v).is_integer() else f"{v:.2f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=9)
        if highlight is not None and highlight[k] is not None:
            mask = np.asarray(highlight[k])
            for i, j in zip(*np.nonzero(mask)):
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2))
        ax.set_xticks(np.arange(-0.5, a.shape[1], 1), minor=True)
        ax.set_yticks(np.arange(-0.5, a.shape[0], 1), minor=True)
        ax.grid(which="minor", color="black", lw=0.8)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        ax.set_title(f"{title}\n{a.shape[0]} x {a.shape[1]}", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def plot_transposed_conv_coverage(
    size: int,
    kernel_size: int,
    stride: int,
    padding: int = 0,
    output_padding: int = 0,
    *,
    cell: Optional[Sequence[int]] = None,
    ax=None,
):
    """Which output cells each input cell of a 2-D transposed convolution writes, and how many write each cell.

    The grid is the *full* scatter result, :math:`(n - 1)s + k` cells a side plus ``output_padding``; the number
    in each cell counts the input cells that write it (uneven numbers are the checkerboard). The thick frame is
    the output that survives: ``padding`` crops from each side, ``output_padding`` adds at the bottom/right.
    The red cells are those written by input ``cell`` (row, column), default (0, 0).

    Returns:
        The figure (drawn on ``ax`` if given).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from segbook.ops.upsampling import conv_transpose_coverage, conv_transpose_output_size

    out = conv_transpose_output_size(size, kernel_size, stride, padding, output_padding)  # validates
    full = conv_transpose_coverage(size, kernel_size, stride)  # (size, (n-1)s + k): no cropping
    total = max(full.shape[1], padding + out)  # output padding may reach past the full result (zeros there)
    counts = np.zeros(total, dtype=np.int64)
    counts[: full.shape[1]] = full.sum(0).numpy()
    grid = counts[:, None] * counts[None, :]  # 2-D counts: rows times columns
    r, c = (0, 0) if cell is None else (int(cell[0]), int(cell[1]))
    if not (0 <= r < size and 0 <= c < size):
        raise ValueError(f"cell must be (row, column) inside the {size}x{size} input, got {cell!r}")
    if ax is None:  # at most 7 inches (the book's text column), text at 8 pt or more
        side = min(0.36, 5.8 / total)
        fig, ax = plt.subplots(figsize=(max(3.2, side * total + 1.2), max(3.4, side * total + 1.5)))
    else:
        fig = ax.figure
    ax.imshow(grid, cmap="Greys", vmin=0, vmax=max(int(grid.max()), 4) * 1.6)
    rows, cols = np.nonzero(full[r].numpy())[0], np.nonzero(full[c].numpy())[0]
    for row in rows:
        for col in cols:
            ax.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, color="tab:red", alpha=0.45, lw=0))
    for i in range(total):
        for j in range(total):
            ax.text(j, i, str(grid[i, j]), ha="center", va="center", fontsize=8)
    ax.add_patch(Rectangle((padding - 0.5, padding - 0.5), out, out, fill=False, ec="tab:blue", lw=2.5))
    ax.set_xticks(range(total), [str(j - padding) for j in range(total)], fontsize=8)
    ax.set_yticks(range(total), [str(i - padding) for i in range(total)], fontsize=8)
    ax.set_xlabel("output column (blue: kept)", fontsize=9)
    ax.set_ylabel("output row", fontsize=9)
    ax.set_title(
        f"k={kernel_size}, s={stride}, p={padding}, op={output_padding}: {size}x{size} -> {out}x{out}\n"
        f"red: what input ({r}, {c}) writes",
        fontsize=9,
    )
    return fig


# --------------------------------------------------------------------------- chapter 8: the U-Net

__all__ += ["unet_feature_sizes", "draw_unet"]


def unet_feature_sizes(model, input_size: int) -> dict:
    """Spatial sizes of a :class:`segbook.models.UNet`'s feature maps for a square input of ``input_size``.

    Measured, not re-derived: a one-channel copy of the architecture (same depth, padding and upsampling, width 1,
    so it is cheap even at the paper's 572) runs on a zero image while hooks record every block's output.

    Returns:
        ``{"contracting": [size per level 0 .. depth-1], "bottom": size, "up": [upsampled size per level, deepest
        first], "expanding": [block output size per level, deepest first], "output": size}``.

    Example:
        >>> from segbook.models import UNet
        >>> s = unet_feature_sizes(UNet(2, depth=4, padding="valid"), 572)
        >>> s["contracting"], s["bottom"], s["output"]
        ([568, 280, 136, 64], 28, 388)
    """
    from segbook.models import UNet

    if not isinstance(model, UNet):
        raise TypeError(f"model must be a segbook.models.UNet, got {type(model).__name__}")
    model.output_size(input_size)  # validates the size (and explains sizes a valid U-Net cannot take)
    proxy = UNet(1, in_channels=1, width=1, depth=model.depth, padding=model.padding, up=model.up, batch_norm=False)
    sizes: dict = {"contracting": [], "up": [], "expanding": []}
    hooks = [
        m.register_forward_hook(lambda _m, _i, out, key=key: sizes[key].append(out.shape[-1]))
        for key, modules in (("contracting", proxy.contracting), ("up", proxy.upconvs), ("expanding", proxy.expanding))
        for m in modules
    ]
    hooks.append(proxy.bottom.register_forward_hook(lambda _m, _i, out: sizes.__setitem__("bottom", out.shape[-1])))
    try:
        with torch.no_grad():
            sizes["output"] = proxy(torch.zeros(1, 1, input_size, input_size)).shape[-1]
    finally:
        for h in hooks:
            h.remove()
    return sizes


def draw_unet(model, *, input_size: Optional[int] = None, title: Optional[str] = None, ax=None):
    """Draw a :class:`segbook.models.UNet` as the paper's "U": one box per feature map, with its channels.

    Left, the contracting path (a box per level: the output of two 3x3 convolutions; red arrows: 2x2 max
    pooling); bottom, the deepest level; right, the expanding path (green arrows: 2x2 up-convolution, or bilinear
    + 1x1; each half-white box is the concatenation of the copied skip features, white, with the upsampled ones,
    blue); grey arrows: the skip connections ("copy and crop" when ``padding="valid"``); last, the 1x1
    convolution to ``C`` class scores. Channel counts are written above the boxes; with ``input_size`` the
    spatial sizes (from :func:`unet_feature_sizes`) are written below them. Box heights shrink with the level.
    Drawn for the book's text column: 7 inches wide, every label at least 8 pt, the legend under the drawing.

    Args:
        model: a ``UNet`` (its ``width``, ``depth``, ``padding``, ``up``, ``in_channels``, ``num_classes``).
        input_size: optional square input size (e.g. 572 for the paper's valid U-Net).
        title: the figure title (default: the model's settings).
        ax: axes to draw on (default: a new figure).

    Returns:
        The figure. Patches carry a ``gid``: ``"box"``, ``"arrow-conv"``, ``"arrow-pool"``, ``"arrow-up"``,
        ``"arrow-skip"``, ``"arrow-head"`` (for tests and for restyling).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, Rectangle

    from segbook.models import UNet

    if not isinstance(model, UNet):
        raise TypeError(f"model must be a segbook.models.UNet, got {type(model).__name__}")
    depth = model.depth
    widths = [model.width * 2**level for level in range(depth + 1)]
    sizes = unet_feature_sizes(model, input_size) if input_size is not None else None
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.0, 0.85 * depth + 2.5), layout="constrained")
    else:
        fig = ax.figure
    colours = {
        "arrow-conv": "tab:blue",
        "arrow-pool": "tab:red",
        "arrow-up": "tab:green",
        "arrow-skip": "grey",
        "arrow-head": "teal",
    }
    box_w, half_gap = 0.3, 0.36  # box width; concatenation box and block output sit +-half_gap from their column

    def height(level):
        return 1.1 * 0.75**level

    def box(x, y, level, channels, size, colour="#9ecae1", split=False):
        h = height(level)
        if split:  # concatenation: skip copy (white) | upsampled (blue)
            ax.add_patch(Rectangle((x - box_w / 2, y - h / 2), box_w / 2, h, fc="white", ec="black", gid="box"))
            ax.add_patch(Rectangle((x, y - h / 2), box_w / 2, h, fc=colour, ec="black", gid="box"))
        else:
            ax.add_patch(Rectangle((x - box_w / 2, y - h / 2), box_w, h, fc=colour, ec="black", gid="box"))
        behind = {"fc": "white", "ec": "none", "pad": 0.3}  # arrows pass behind the labels, not through them
        ax.text(x, y + h / 2 + 0.05, str(channels), ha="center", va="bottom", fontsize=9, bbox=behind, zorder=5)
        if size is not None:
            ax.text(
                x,
                y - h / 2 - 0.05,
                f"{size}²",
                ha="center",
                va="top",
                fontsize=8,
                color="#444444",
                bbox=behind,
                zorder=5,
            )

    def arrow(x0, y0, x1, y1, kind):
        ax.add_patch(
            FancyArrowPatch(
                (x0, y0),
                (x1, y1),
                arrowstyle="-|>",
                mutation_scale=10,
                lw=1.4,
                color=colours[kind],
                gid=kind,
                shrinkA=0,
                shrinkB=0,
            )
        )

    def y_of(level):
        return -1.5 * level

    # contracting path: input box, then one box per level
    box(-0.9, 0.0, 0, model.in_channels, input_size, colour="white")
    arrow(-0.9 + box_w / 2, 0, -box_w / 2, 0, "arrow-conv")
    for level in range(depth):
        box(level, y_of(level), level, widths[level], sizes["contracting"][level] if sizes else None)
        nxt = level + 1
        arrow(
            level + box_w / 2,
            y_of(level) - height(level) / 4,
            nxt - box_w / 2,
            y_of(nxt) + height(nxt) / 4,
            "arrow-pool",
        )  # side to side, clear of the labels above and below the boxes
    box(depth, y_of(depth), depth, widths[depth], sizes["bottom"] if sizes else None)
    # expanding path: concatenation box, then the block's output, per level (deepest first)
    prev_x = depth
    for k, level in enumerate(reversed(range(depth))):
        x_cat, x_out, y = 2 * depth - level - half_gap, 2 * depth - level + half_gap, y_of(level)
        arrow(
            prev_x + box_w / 2,
            y_of(level + 1) + height(level + 1) / 4,
            x_cat + box_w / 4,
            y - height(level) / 2,
            "arrow-up",
        )  # into the blue (upsampled) half
        box(x_cat, y, level, 2 * widths[level], sizes["up"][k] if sizes else None, split=True)
        arrow(level + box_w / 2, y, x_cat - box_w / 2, y, "arrow-skip")
        arrow(x_cat + box_w / 2, y, x_out - box_w / 2, y, "arrow-conv")
        box(x_out, y, level, widths[level], sizes["expanding"][k] if sizes else None)
        prev_x = x_out
    x_head = 2 * depth + 1.2
    arrow(prev_x + box_w / 2, 0, x_head - box_w / 2, 0, "arrow-head")
    box(x_head, 0.0, 0, model.num_classes, sizes["output"] if sizes else None, colour="#fdae6b")
    skip = "copy and crop" if model.padding == "valid" else "copy (concatenate)"
    up = "up-conv 2×2" if model.up == "transposed" else "bilinear ×2 + conv 1×1"
    conv = (
        f"2 × (conv 3×3{', BN' if any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) else ''}, "
        f"ReLU), padding '{model.padding}'"
    )
    handles = [
        Line2D([], [], color=colours[k], lw=2, label=text)
        for k, text in (
            ("arrow-conv", conv),
            ("arrow-pool", "max pool 2×2"),
            ("arrow-up", up),
            ("arrow-skip", skip),
            ("arrow-head", "conv 1×1 → C class scores"),
        )
    ]
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.1),
        ncol=2,
        fontsize=8,
        frameon=False,
        handlelength=1.5,
        columnspacing=1.2,
    )
    ax.set_xlim(-1.4, x_head + 0.5)
    ax.set_ylim(y_of(depth) - 0.8, 1.05)
    ax.set_xlabel(
        "contracting path → bottom → expanding path\nabove the boxes: channels"
        + ("; below: height = width (pixels)" if sizes else ""),
        fontsize=9,
    )
    ax.set_ylabel("resolution level (÷2 per level)", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks(
        [y_of(level) for level in range(depth + 1)], [f"level {level}" for level in range(depth + 1)], fontsize=8
    )
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(
        title or f"U-Net: width {model.width}, depth {depth}, padding '{model.padding}', up '{model.up}'", fontsize=10
    )
    return fig


# ----------------------------------------------------------------------------- chapter 9: U-Net++

__all__ += ["draw_unetpp_grid"]


def draw_unetpp_grid(depth: int, *, level: Optional[int] = None, title: Optional[str] = None, ax=None):
    """Draw U-Net++'s grid of nodes :math:`X^{i,j}` (Zhou et al., 2018, Fig. 1) and, optionally, a pruning.

    Node :math:`X^{i,j}` (resolution level ``i``, ``j``-th node of its skip pathway) sits at ``x = i + 2j``,
    ``y = -i``, so the encoder :math:`X^{0,0} \\ldots X^{D,0}` goes down to the right and each anti-diagonal
    :math:`i + j = L` is the expanding path of a U-Net of depth ``L``. Arrows: red, 2x2 max pooling
    (:math:`X^{i-1,0} \\to X^{i,0}`); green, up-sampling (:math:`X^{i+1,j-1} \\to X^{i,j}`); grey, the dense skip
    connections (every :math:`X^{i,k}, k < j \\to X^{i,j}`, concatenated); teal, the 1x1 heads on
    :math:`X^{0,1} \\ldots X^{0,D}` (deep supervision). With ``level = L`` the nodes pruning keeps
    (:math:`i + j \\le L`) and head ``L`` are coloured, the rest greyed out.

    Args:
        depth: D, the number of poolings (1 to 5); the grid has ``(D + 1)(D + 2) / 2`` nodes.
        level: optional pruning level L in ``[1, D]``.
        title: the figure title (default: says what is drawn).
        ax: axes to draw on (default: a new figure).

    Returns:
        The figure. Patches carry a ``gid``: ``"node-kept"``/``"node-pruned"`` (every node is "kept" without
        ``level``), ``"head-kept"``/``"head-pruned"``, ``"arrow-pool"``, ``"arrow-up"``, ``"arrow-skip"``,
        ``"arrow-head"``.

    Example:
        >>> fig = draw_unetpp_grid(3, level=2)
        >>> sum(p.get_gid() == "node-kept" for p in fig.axes[0].patches)   # (L + 1)(L + 2) / 2
        6
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle, FancyArrowPatch, Rectangle

    from segbook.conventions import check_int

    depth = check_int(depth, "depth", minimum=1, maximum=5)
    if level is not None:
        level = check_int(level, "level", minimum=1, maximum=depth)
    top = depth if level is None else level
    own_figure = ax is None
    if ax is None:  # at most 7 inches wide (the book's text column)
        scale = min(1.0, 7.0 / (2 * depth + 2.5))
        fig, ax = plt.subplots(figsize=(scale * (2 * depth + 2.5), scale * (depth + 2.8)))
    else:
        fig = ax.figure
    # a small panel (a widget's, beside predictions) keeps 8 pt text and drops the legend and axis labels
    panel = ax.get_position().width * fig.get_figwidth()
    small = not own_figure and panel < 5.0
    font = 8 if small else 10
    colours = {"arrow-pool": "tab:red", "arrow-up": "tab:green", "arrow-skip": "grey", "arrow-head": "teal"}
    radius = 0.36

    def xy(i, j):
        return i + 2 * j, -i

    def kept(i, j):
        return i + j <= top

    def arrow(start, end, kind, on, rad=0.0):
        ax.add_patch(
            FancyArrowPatch(
                start,
                end,
                arrowstyle="-|>",
                mutation_scale=9,
                lw=1.2 if on else 0.8,
                color=colours[kind],
                alpha=1.0 if on else 0.2,
                gid=kind,
                connectionstyle=f"arc3,rad={rad}",
                shrinkA=shrink,
                shrinkB=shrink,
            )
        )

    shrink = 11 if small else 17  # points: about the circles' radius, so that arrowheads stay visible
    for i in range(depth + 1):
        for j in range(depth + 1 - i):
            on = kept(i, j)
            ax.add_patch(
                Circle(
                    xy(i, j),
                    radius,
                    fc="#9ecae1" if on else "#eeeeee",
                    ec="black" if on else "silver",
                    ls="-" if on else "--",
                    gid="node-kept" if on else "node-pruned",
                    zorder=3,
                )
            )
            ax.text(
                *xy(i, j),
                f"$X^{{{i},{j}}}$",
                ha="center",
                va="center",
                fontsize=font,
                zorder=4,
                color="black" if on else "grey",
            )
            if j == 0 and i > 0:
                arrow(xy(i - 1, 0), xy(i, 0), "arrow-pool", on)
            if j > 0:
                arrow(xy(i + 1, j - 1), xy(i, j), "arrow-up", on)
                for k in range(j):  # the dense skips: X^{i,0} ... X^{i,j-1}, arcs above the row
                    arrow(xy(i, k), xy(i, j), "arrow-skip", on, rad=-0.12 * (j - k - 1))
    for j in range(1, depth + 1):
        on = level is None or j == level
        x, y = xy(0, j)
        arrow((x, y), (x, y + 1.0), "arrow-head", on)
        ax.add_patch(
            Rectangle(
                (x - 0.6, y + 1.0),
                1.2,
                0.5,
                fc="#fdae6b" if on else "#eeeeee",
                ec="black" if on else "silver",
                gid="head-kept" if on else "head-pruned",
                zorder=3,
            )
        )
        ax.text(
            x,
            y + 1.25,
            f"head {j}",
            ha="center",
            va="center",
            fontsize=max(8, font - 1),
            color="black" if on else "grey",
        )
    handles = [
        Line2D([], [], color=colours[k], lw=2, label=text)
        for k, text in (
            ("arrow-pool", "max pool 2×2 (encoder)"),
            ("arrow-up", "up-sampling ×2"),
            ("arrow-skip", "dense skip (concatenated)"),
            ("arrow-head", "1×1 head (deep supervision)"),
        )
    ]
    if not small:
        ax.legend(handles=handles, loc="lower right", fontsize=8, frameon=False)
    ax.set_xlim(-0.8, 2 * depth + 0.8)
    ax.set_ylim(-depth - 0.8, 1.8)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([-i for i in range(depth + 1)], [f"i = {i}" for i in range(depth + 1)], fontsize=8)
    ax.set_xlabel("" if small else "x = i + 2j: skip pathway j runs to the right", fontsize=9)
    ax.set_ylabel("" if small else "resolution level i (÷2 per level)", fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title is None:
        title = (
            f"U-Net++ of depth {depth}: {(depth + 1) * (depth + 2) // 2} nodes, {depth} heads"
            if level is None
            else f"pruned at level {level}: nodes with i + j ≤ {level} and head {level}"
        )
    ax.set_title(title, fontsize=10)
    return fig


__all__ += ["draw_fcn", "plot_fcn_skip_weight", "fcn_logits_with_skip_weight"]


def draw_fcn(model, *, title: Optional[str] = None, ax=None):
    """Draw an FCN-32s, FCN-16s or FCN-8s (:class:`segbook.models.FCN`) as Long et al.'s skip architecture.

    Drawn for the book's text column (7 inches wide, text of 8 pt or more), with fewer, larger boxes: top row,
    left to right, the image, pool1-2 (one box), pool3, pool4, pool5 (each box: its channels and stride),
    fc6-fc7 and the 1x1 ``score_fr`` giving class scores :math:`s_5` at stride 32 (blue arrows: the backbone).
    Then the path back to full size: green arrows are the upsamplings (``up×2`` learnable, initialised to
    bilinear; the last one fixed),
    grey arrows the skip connections (a 1x1 score layer on pool4 or pool3, zero-initialised), ``+`` the
    summations. FCN-32s has no skip, FCN-16s one (pool4), FCN-8s two (pool4 and pool3).

    Args:
        model: an ``FCN`` (its ``variant``, ``widths`` and ``num_classes`` are written on the drawing).
        title: the axes title (default: the variant and its equation).
        ax: axes to draw on (default: a new figure).

    Returns:
        The figure. Patches carry a ``gid``: ``"box"``, ``"sum"``, ``"arrow-backbone"``, ``"arrow-up"``,
        ``"arrow-skip"`` (for tests and restyling).

    Example:
        >>> from segbook.models import FCN
        >>> fig = draw_fcn(FCN(5, variant="8s"))
        >>> sum(p.get_gid() == "arrow-skip" for p in fig.axes[0].patches)   # pool4 → score, pool3 → score, 2 sums
        4
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

    from segbook.models import FCN

    if not isinstance(model, FCN):
        raise TypeError(f"model must be a segbook.models.FCN, got {type(model).__name__}")
    variant, c = model.variant, model.num_classes
    skips = VARIANT_SKIPS[variant]
    if ax is None:  # drawn for the book's text column: 7 inches wide, text >= 8 pt
        fig, ax = plt.subplots(figsize=(7, 0.75 * (2.6 + 1.15 * max(skips, 1))))
    else:
        fig = ax.figure
    colours = {"arrow-backbone": "tab:blue", "arrow-up": "tab:green", "arrow-skip": "dimgrey"}
    half_w, half_h = 0.43, 0.4  # half a box, in data units (one unit between neighbouring boxes)

    def box(x, y, text, colour="#c6dbef"):
        ax.add_patch(
            FancyBboxPatch(
                (x - half_w, y - half_h),
                2 * half_w,
                2 * half_h,
                boxstyle="round,pad=0.02",
                fc=colour,
                ec="black",
                lw=0.8,
                gid="box",
            )
        )
        ax.text(x, y, text, ha="center", va="center", fontsize=8, linespacing=1.1)

    def plus(x, y):
        ax.add_patch(Circle((x, y), 0.2, fc="white", ec="black", gid="sum"))
        ax.text(x, y, "+", ha="center", va="center", fontsize=11)

    def arrow(start, end, kind, label=None, offset=(0.0, 0.06), ha="center"):
        ax.add_patch(
            FancyArrowPatch(
                start,
                end,
                arrowstyle="-|>",
                mutation_scale=10,
                lw=1.3,
                color=colours[kind],
                gid=kind,
                shrinkA=0,
                shrinkB=0,
            )
        )
        if label:
            ax.text(
                (start[0] + end[0]) / 2 + offset[0],
                (start[1] + end[1]) / 2 + offset[1],
                label,
                ha=ha,
                va="bottom",
                fontsize=8,
                color=colours[kind],
            )

    # The backbone, coarsened to fewer boxes: pool1 and pool2 share one (the skips start at pool3).
    box(0, 0, f"image\n{model.in_channels} ch", "#f0f0f0")
    box(1, 0, f"pool1-2\n{model.widths[1]} ch\n/4")
    for pool in (3, 4, 5):
        box(pool - 1, 0, f"pool{pool}\n{model.widths[pool - 1]} ch\n/{2**pool}")
    box(5, 0, "fc6-7\nas\nconvs")
    box(6, 0, f"score\ns5\n{c} ch", "#fdd0a2")
    for x in range(6):
        arrow((x + half_w, 0), (x + 1 - half_w, 0), "arrow-backbone")
    last, stride = (6 + half_w, 0.0), 32
    for k, pool in enumerate((4, 3)[:skips]):
        y, x_sum = -1.15 * (k + 1), 7.1 + 0.9 * k
        box(pool - 1, y, "1×1\nscore\n0-init", "#fdd0a2")
        arrow((pool - 1, -half_h), (pool - 1, y + half_h), "arrow-skip")  # pool -> its score layer
        arrow((pool - 1 + half_w, y), (x_sum - 0.2, y), "arrow-skip", f"s{pool}: stride {stride // 2}")
        arrow(last, (x_sum, y + 0.2), "arrow-up", "up×2", offset=(0.12, 0.0), ha="left")
        plus(x_sum, y)
        last, stride = (x_sum + 0.2, y), stride // 2
    y_out = last[1] - (1.15 if skips == 0 else 0.0)
    x_out = 7.1 + 0.9 * skips + 0.75
    box(x_out, y_out, f"output\n{c} ch\n/1", "#f0f0f0")
    if skips == 0:
        last = (6, -half_h)
        arrow(last, (x_out - half_w, y_out), "arrow-up")
        ax.text(
            6.9, y_out - 0.1, f"up×{stride} (fixed)", ha="right", va="center", fontsize=8, color=colours["arrow-up"]
        )
    else:
        arrow(last, (x_out - half_w, y_out), "arrow-up")
        ax.text(
            x_out,
            y_out - half_h - 0.08,
            f"up×{stride} (fixed)",
            ha="center",
            va="top",
            fontsize=8,
            color=colours["arrow-up"],
        )
    ax.set_xlim(-0.55, x_out + 0.55)
    ax.set_ylim(y_out - 0.75, 0.55)
    ax.set_aspect("equal")
    ax.axis("off")
    equations = {"32s": "up32(s5)", "16s": "up16(up2(s5) + s4)", "8s": "up8(up2(up2(s5) + s4) + s3)"}
    ax.set_title(title if title is not None else f"FCN-{variant}: output = {equations[variant]}", fontsize=10)
    return fig


#: The number of skip connections of each FCN variant.
VARIANT_SKIPS = {"32s": 0, "16s": 1, "8s": 2}


def fcn_logits_with_skip_weight(model, images: torch.Tensor, weight: float) -> torch.Tensor:
    """Logits of an FCN whose skip scores (``score_pool4``, ``score_pool3``) are multiplied by ``weight``.

    ``weight = 1`` is the net itself, ``weight = 0`` keeps only its stride-32 path (what the skips add is removed).
    The model runs in eval mode without gradients; its mode is put back afterwards.

    Args:
        model: a :class:`segbook.models.FCN` (any variant; FCN-32s has no skip to scale).
        images: (N, C_in, H, W) float.
        weight: the factor for the skip scores.

    Returns:
        (N, C, H, W) logits.

    Example:
        >>> from segbook.models import fcn8s
        >>> net = fcn8s(3)
        >>> fcn_logits_with_skip_weight(net, torch.rand(1, 3, 32, 32), 0.0).shape
        torch.Size([1, 3, 32, 32])
    """
    from segbook.models import FCN

    if not isinstance(model, FCN):
        raise TypeError(f"model must be a segbook.models.FCN, got {type(model).__name__}")
    weight = check_float(weight, "weight")
    hooks = [
        getattr(model, name).register_forward_hook(lambda module, inputs, output: weight * output)
        for name in ("score_pool4", "score_pool3")
        if hasattr(model, name)
    ]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(images)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)


def plot_fcn_skip_weight(
    model,
    image: torch.Tensor,
    label: torch.Tensor,
    weights: Sequence[float] = (0.0, 0.5, 1.0),
    *,
    class_names: Sequence[str] = CLASS_NAMES,
    axes=None,
):
    """A trained FCN-16s/8s's prediction with its skip scores scaled by each of ``weights``, beside the truth.

    The output is :math:`\\text{up}_8(\\text{up}_2(\\text{up}_2(s_5) + w\\,s_4) + w\\,s_3)` (FCN-8s; FCN-16s
    likewise with :math:`s_4` only): :math:`w = 1` is the trained net, :math:`w = 0` removes what the skips add
    and leaves only the coarse stride-32 scores, upsampled. The static counterpart of :func:`fcn_skip_explorer
    <segbook.viz.widgets.fcn_skip_explorer>`.

    Args:
        model: a trained ``FCN`` with variant ``"16s"`` or ``"8s"``.
        image: float (3, H, W); label: int (H, W) (the truth, for the pixel accuracy in the titles).
        weights: the skip weights to show, each in [0, 2].
        axes: ``len(weights) + 2`` axes to draw on (default: a new figure).

    Returns:
        The figure.
    """
    import matplotlib.pyplot as plt

    from segbook.models import FCN

    if not isinstance(model, FCN) or model.variant == "32s":
        raise TypeError(
            "model must be a segbook.models.FCN with a skip connection (variant '16s' or '8s'), got "
            + (f"FCN-{model.variant}" if isinstance(model, FCN) else type(model).__name__)
        )
    check_tensor(image, "image", ndim=3, dtype="float", shape_hint="(3, H, W)")
    check_tensor(label, "label", ndim=2, dtype="int", shape_hint="(H, W)")
    weights = [check_float(w, "weight", minimum=0.0, maximum=2.0) for w in weights]
    if axes is None:
        fig, axes = plt.subplots(1, len(weights) + 2, figsize=(2.2 * (len(weights) + 2), 2.6))
    fig = axes[0].figure
    device = next(model.parameters()).device
    axes[0].imshow(_to_numpy_image(image))
    axes[0].set_title("image", fontsize=9)
    for ax, w in zip(axes[1:], weights):
        prediction = fcn_logits_with_skip_weight(model, image[None].to(device), w)[0].argmax(0).cpu()
        accuracy = float((prediction == label.cpu()).float().mean())
        ax.imshow(colorize(prediction), interpolation="nearest")
        ax.set_title(f"skip weight {w:g}: {accuracy:.1%} px", fontsize=9)
    axes[-1].imshow(colorize(label), interpolation="nearest")
    axes[-1].set_title("truth", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].set_ylabel(f"FCN-{model.variant}")
    fig.legend(
        handles=legend_handles(class_names), loc="lower center", ncol=len(class_names), frameon=False, fontsize=8
    )
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


# ----------------------------------------------------------------------------- chapter 10: stacked and coupled U-Nets

__all__ += ["draw_unet_chain"]


def draw_unet_chain(
    stacks: int,
    *,
    depth: int = 3,
    order: int = 1,
    coupled: bool = True,
    intermediate_supervision: bool = True,
    title: Optional[str] = None,
    ax=None,
):
    r"""Draw U-Nets in series: :class:`segbook.models.StackedUNets` or :class:`segbook.models.CoupledUNets`.

    U-Net ``n`` (0-based, left to right) is drawn as a V of blocks: encoder blocks :math:`E_n^0 \ldots E_n^{d-1}`
    going down, the bottom :math:`E_n^d`, decoder blocks :math:`D_n^{d-1} \ldots D_n^0` going up (``d`` =
    ``depth``); red arrows are poolings, green ones up-samplings, grey dashed ones U-Net's own skips
    :math:`E_n^l \to D_n^l`. Black arrows chain the U-Nets: U-Net ``n``'s output is U-Net ``n + 1``'s input.

    - ``coupled=False`` (Shah et al.'s stacked U-Nets): each U-Net's output is *added* to its input (blue arc to
      a :math:`\oplus`), as in a residual block.
    - ``coupled=True`` (Tang et al.'s CU-Net): purple arcs are the coupling connections: every block of U-Net
      ``n`` also receives the block of the same level of U-Nets ``n - 1, ..., n - order``
      (:math:`E_m^l \to E_n^l`, :math:`D_m^l \to D_n^l`).

    Teal arrows lead to the 1x1 heads: one per U-Net with ``intermediate_supervision``, else only the last.

    Args:
        stacks: number of U-Nets (1 to 6).
        depth: poolings in each U-Net (1 to 4).
        order: K, the coupling order (0 to ``stacks - 1``); ignored when ``coupled=False``.
        coupled: CU-Net (True) or stacked residual U-Nets (False).
        intermediate_supervision: a head after every U-Net (True) or after the last only.
        title: the figure title (default: says what is drawn).
        ax: axes to draw on (default: a new figure).

    Returns:
        The figure. Patches carry a ``gid``: ``"block"``, ``"head"``, ``"stem"``, ``"add"`` (the residual
        :math:`\oplus`), ``"arrow-pool"``, ``"arrow-up"``, ``"arrow-skip"``, ``"arrow-chain"``,
        ``"arrow-residual"``, ``"arrow-coupling"``, ``"arrow-head"``; a coupling arrow's label is
        ``"E m,l -> E n,l"`` (or ``D``).

    Example:
        >>> fig = draw_unet_chain(3, depth=2, order=1)
        >>> sum(p.get_gid() == "arrow-coupling" for p in fig.axes[0].patches)   # (3 - 1) x (2 * 2 + 1)
        10
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle, FancyArrowPatch, Rectangle

    from segbook.conventions import check_bool, check_int

    stacks = check_int(stacks, "stacks", minimum=1, maximum=6)
    depth = check_int(depth, "depth", minimum=1, maximum=4)
    check_bool(coupled, "coupled")
    check_bool(intermediate_supervision, "intermediate_supervision")
    order = check_int(order, "order", minimum=0, maximum=stacks - 1) if coupled else 0
    span = 2 * depth + (2.6 if coupled else 3.4)  # x distance between two U-Nets
    right = (stacks - 1) * span + 2 * depth + (0.8 if coupled else 1.8)
    bottom = -depth - 0.4 - (0.45 + 0.3 * (order - 1) if coupled and order else 0.5)
    scale = min(0.62, 6.4 / (right + 2.1))  # inches per unit: at most 7 inches wide (the text column)
    if ax is None:
        fig, ax = plt.subplots(figsize=(scale * (right + 2.1) + 0.6, scale * (1.9 - bottom) + 1.4))
    else:
        fig = ax.figure
    shrink_block = max(6.0, 0.36 * scale * 72)  # points: the blocks' radius, so that arrowheads stay visible
    colours = {
        "arrow-pool": "tab:red",
        "arrow-up": "tab:green",
        "arrow-skip": "grey",
        "arrow-chain": "black",
        "arrow-residual": "tab:blue",
        "arrow-coupling": "tab:purple",
        "arrow-head": "teal",
    }

    def base(n):
        return n * span

    def xy(kind, n, level):
        return (base(n) + level, -level) if kind == "E" else (base(n) + 2 * depth - level, -level)

    def arrow(start, end, kind, rad=0.0, label=None, shrink=None, style="-"):
        shrink = shrink_block if shrink is None else shrink
        ax.add_patch(
            FancyArrowPatch(
                start,
                end,
                arrowstyle="-|>",
                lw=1.0,
                ls=style,
                color=colours[kind],
                gid=kind,
                label=label,
                alpha=0.85,
                mutation_scale=10,
                connectionstyle=f"arc3,rad={rad}",
                shrinkA=shrink,
                shrinkB=shrink,
            )
        )

    ax.add_patch(Rectangle((-1.9, -0.25), 0.8, 0.5, fc="#dddddd", ec="black", gid="stem", zorder=3))
    ax.text(-1.5, 0, "stem", ha="center", va="center", fontsize=8)
    arrow((-1.1, 0), xy("E", 0, 0), "arrow-chain", shrink=2)
    for n in range(stacks):
        ax.text(base(n) + depth, 1.55, f"U-Net n = {n}", ha="center", fontsize=9)
        for level in range(depth + 1):
            kinds = ("E",) if level == depth else ("E", "D")
            for kind in kinds:
                ax.add_patch(
                    Circle(
                        xy(kind, n, level),
                        0.36,
                        fc="#9ecae1" if kind == "E" else "#c7e9c0",
                        ec="black",
                        gid="block",
                        zorder=3,
                    )
                )
                ax.text(
                    *xy(kind, n, level), f"${kind}_{{{n}}}^{{{level}}}$", ha="center", va="center", fontsize=8, zorder=4
                )
        for level in range(depth):
            arrow(xy("E", n, level), xy("E", n, level + 1), "arrow-pool")
            arrow(xy("E" if level == depth - 1 else "D", n, level + 1), xy("D", n, level), "arrow-up")
            arrow(xy("E", n, level), xy("D", n, level), "arrow-skip", style="--")
        out = xy("D", n, 0)
        if not coupled:  # the residual connection: the module's input is added to its output
            plus = (out[0] + 1.0, 0.0)
            ax.add_patch(Circle(plus, 0.2, fc="white", ec="tab:blue", gid="add", zorder=3))
            ax.text(*plus, "+", ha="center", va="center", fontsize=10, color="tab:blue", zorder=4)
            arrow(out, plus, "arrow-chain", shrink=5)
            start = (base(n) - 0.8, 0.0)
            arrow(start, plus, "arrow-residual", rad=-2 * 1.1 / (plus[0] - start[0]), shrink=4)
            out = plus
        if n + 1 < stacks:
            arrow(out, xy("E", n + 1, 0), "arrow-chain")
        if intermediate_supervision or n == stacks - 1:
            ax.add_patch(Rectangle((out[0] - 0.65, 0.8), 1.3, 0.5, fc="#fdae6b", ec="black", gid="head", zorder=3))
            ax.text(out[0], 1.05, f"head {n}", ha="center", va="center", fontsize=8)
            arrow(out, (out[0], 0.8), "arrow-head", shrink=4)
        for m in range(max(0, n - order), n):  # the coupling connections, same level, earlier U-Nets
            k = n - m
            for level in range(depth + 1):
                for kind in ("E",) if level == depth else ("E", "D"):
                    sag = (0.45 + 0.3 * (k - 1)) * (1 if kind == "E" else -1)  # encoder arcs below, decoder above
                    arrow(
                        xy(kind, m, level),
                        xy(kind, n, level),
                        "arrow-coupling",
                        rad=2 * sag / (k * span),
                        label=f"{kind} {m},{level} -> {kind} {n},{level}",
                    )
    names = [
        ("arrow-pool", "max pool ×2"),
        ("arrow-up", "up-sample ×2"),
        ("arrow-skip", "U-Net skip (concat.)"),
        ("arrow-chain", "output → next U-Net"),
    ]
    names += (
        [("arrow-coupling", f"coupling, order K = {order} (concat.)")]
        if coupled
        else [("arrow-residual", "residual: input added")]
    )
    names += [("arrow-head", "1×1 head")]
    handles = [Line2D([], [], color=colours[k], lw=2, label=text) for k, text in names]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=3, fontsize=8, frameon=False)
    ax.set_xlim(-2.1, right)
    ax.set_ylim(bottom, 1.9)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([-level for level in range(depth + 1)], [f"l = {level}" for level in range(depth + 1)], fontsize=8)
    ax.set_ylabel("level l (÷2 per level)", fontsize=9)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    if title is None:
        kind = f"coupled U-Nets (CU-Net), order K = {order}" if coupled else "stacked U-Nets, residual modules"
        heads = "a head after each" if intermediate_supervision else "one head, after the last"
        title = f"{stacks} {kind}; {heads}"
    ax.set_title(title, fontsize=10)
    return fig


from segbook.viz.widgets import *  # noqa: E402,F401,F403
from segbook.viz.widgets import __all__ as _widgets_all  # noqa: E402

__all__ += _widgets_all
