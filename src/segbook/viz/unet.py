"""Chapter 8, U-Net: the network drawn as the paper's "U" (channels above the boxes, sizes below), the
paper's pixel weight map for touching objects over its ``w0`` and ``sigma`` (a grid and its widget), and what
the weighted loss does to the decision threshold (:func:`plot_threshold_sweep`).

The feature sizes come from :func:`segbook.models.probes.unet_feature_sizes`.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence, Union

import torch

from segbook.losses import unet_weight_map
from segbook.models import UNet
from segbook.models.probes import unet_feature_sizes

__all__ = [
    "draw_unet",
    "plot_weight_map_grid",
    "weight_map_explorer",
    "plot_threshold_sweep",
]


def draw_unet(model, *, input_size: Optional[int] = None, title: Optional[str] = None, ax=None):
    """Draw a :class:`segbook.models.UNet` as the paper's "U": one box per feature map, with its channels.

    Left, the contracting path (a box per level: the output of two 3x3 convolutions; red arrows: 2x2 max
    pooling); bottom, the deepest level; right, the expanding path (green arrows: 2x2 up-convolution, or bilinear
    + 1x1; each half-white box is the concatenation of the copied skip features, white, with the upsampled ones,
    blue); grey arrows: the skip connections ("copy and crop" when ``padding="valid"``); last, the 1x1
    convolution to ``C`` class scores. Channel counts are written above the boxes; with ``input_size`` the
    spatial sizes (from :func:`segbook.models.unet_feature_sizes`) are written below them. Box heights shrink
    with the level. Drawn for the book's text column: 7 inches wide, every label at least 8 pt, the legend
    under the drawing.

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


def plot_weight_map_grid(instances, *, w0s=(5.0, 10.0, 20.0), sigmas=(2.0, 5.0, 10.0), axes=None):
    """The U-Net paper's weight map of one instance map for every ``w0`` (rows) and ``sigma`` (columns).

    Uses :func:`segbook.losses.unet_weight_map` (with its class balancing); one colour scale for all panels,
    so the panels can be compared. Returns the figure.
    """
    import matplotlib.pyplot as plt

    w0s, sigmas = list(w0s), list(sigmas)
    if not w0s or not sigmas:
        raise ValueError("w0s and sigmas must each hold at least one value")
    maps = [[unet_weight_map(instances, w0=w0, sigma=s).cpu().numpy() for s in sigmas] for w0 in w0s]
    top = max(float(m.max()) for row in maps for m in row)
    if axes is None:
        side = min(2.0, 6.2 / len(sigmas))  # panels side by side in the 7-inch text column
        fig, axes = plt.subplots(
            len(w0s),
            len(sigmas),
            figsize=(side * len(sigmas) + 0.8, side * len(w0s) + 0.5),
            squeeze=False,
            layout="constrained",
        )
    else:
        fig = axes[0][0].figure
    for r, w0 in enumerate(w0s):
        for c, sigma in enumerate(sigmas):
            im = axes[r][c].imshow(maps[r][c], cmap="viridis", vmin=0, vmax=top, interpolation="nearest")
            axes[r][c].set_title(f"w0 = {w0:g}, σ = {sigma:g}", fontsize=9)
            axes[r][c].set_xticks([])
            axes[r][c].set_yticks([])
        axes[r][0].set_ylabel("row")
    for c in range(len(sigmas)):
        axes[-1][c].set_xlabel("column")
    fig.colorbar(im, ax=axes, label="pixel weight w(x)", shrink=0.8)
    fig.suptitle("Weight map w = w_c + w0 exp(-(d1 + d2)² / 2σ²): rows w0, columns σ", fontsize=10)
    return fig


def weight_map_explorer(instances, image=None):
    """Sliders for ``w0`` and ``sigma`` redrawing the weight map of ``instances`` (H, W) beside ``image`` (3, H, W)
    (chapter 8); :func:`plot_weight_map_grid` is its static counterpart. Returns an ``ipywidgets`` widget."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    def show(w0: float, sigma: float) -> None:
        weights = unet_weight_map(instances, w0=w0, sigma=sigma).cpu().numpy()
        fig, axes = plt.subplots(
            1,
            2 if image is not None else 1,
            figsize=(7 if image is not None else 4.5, 3.4),
            squeeze=False,
            layout="constrained",
        )
        if image is not None:
            axes[0][0].imshow(image.permute(1, 2, 0).cpu().numpy())
            axes[0][0].set_title("image")
        ax = axes[0][-1]
        im = ax.imshow(weights, cmap="viridis", interpolation="nearest")
        ax.set_title(f"w0 = {w0:g}, σ = {sigma:g}: max {float(weights.max()):.1f}", fontsize=10)
        fig.colorbar(im, ax=ax, label="pixel weight w(x)")
        for a in axes[0]:
            a.set_xlabel("column")
            a.set_ylabel("row")
        plt.show()

    return w.interactive(
        show,
        w0=w.FloatSlider(value=10.0, min=0.0, max=30.0, step=1.0, description="w0"),
        sigma=w.FloatSlider(value=5.0, min=0.5, max=15.0, step=0.5, description="σ"),
    )


_Curve = Union[torch.Tensor, Sequence[float]]


def plot_threshold_sweep(
    thresholds: _Curve,
    pixel_error: Mapping[str, _Curve],
    *,
    pairs_separated: Optional[Mapping[str, _Curve]] = None,
    argmax: Optional[float] = 0.5,
    xlabel: str = "threshold t on the object probability",
):
    """Pixel error, and optionally touching pairs separated, of several networks against the decision threshold.

    One curve per network (the same colour in both panels); a marker on each curve's best value (lowest error,
    most pairs separated) and a dotted line at ``argmax``, where the argmax decides for two classes. The pixel
    error is drawn on a log scale, so the low errors near the best threshold stay readable next to the
    errors of a threshold far off. Chapter 8 draws the U-Nets trained with and without the weight map.

    Args:
        thresholds: ``(T,)`` thresholds, increasing (e.g. ``segbook.metrics.threshold_sweep``'s ``"threshold"``).
        pixel_error: ``{label: (T,) values}``, one curve per network (``threshold_sweep``'s ``"pixel_error"``).
        pairs_separated: optional ``{label: (T,) values}`` (``segbook.metrics.instance_separation``'s
            ``"pairs_separated"`` at every threshold): a second panel.
        argmax: the threshold of the argmax decision (``None``: no line).
        xlabel: the label of the threshold axis.

    Returns:
        The figure (7 inches wide: the book's text column).
    """
    import matplotlib.pyplot as plt
    import numpy as np

    x = np.asarray(torch.as_tensor(thresholds, dtype=torch.float64))
    panels = [("pixel error (log scale)", pixel_error, np.nanargmin)]
    if pairs_separated is not None:
        panels.append(("touching pairs separated", pairs_separated, np.nanargmax))
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(f"thresholds must be a non-empty 1-D sequence, got shape {x.shape}")
    for _, curves, _ in panels:
        if not curves:
            raise ValueError("pixel_error (and pairs_separated, if given) must hold at least one curve")
        for label, values in curves.items():
            if len(values) != len(x):
                raise ValueError(f"the curve {label!r} has {len(values)} values but there are {len(x)} thresholds")
    fig, axes = plt.subplots(1, len(panels), figsize=(7.0, 3.4), squeeze=False, layout="constrained")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (ylabel, curves, best) in zip(axes[0], panels):
        for k, (label, values) in enumerate(curves.items()):
            y = np.asarray(torch.as_tensor(values, dtype=torch.float64))
            colour = colours[k % len(colours)]
            ax.plot(x, y, "-", color=colour, lw=1.6, label=label)
            if np.isfinite(y).any():
                i = int(best(y))
                ax.plot(x[i], y[i], "o", color=colour, ms=6, mec="black", mew=0.6)
        if argmax is not None:
            ax.axvline(argmax, color="grey", ls=":", lw=1.2)
            ax.annotate(
                "argmax",
                (argmax, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8,
                color="#444444",
            )
        if ylabel.startswith("pixel error"):
            ax.set_yscale("log")
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3, which="both")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.suptitle("The decision threshold on the validation images (dots: each network's best)", fontsize=10)
    return fig
