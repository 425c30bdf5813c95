"""Chapter 7, FCN: Long et al.'s skip architecture drawn for FCN-32s, 16s and 8s, and what a trained
FCN's skips add to its prediction (a figure over skip weights and its widget).

The logits with scaled skips come from :func:`segbook.models.probes.fcn_logits_with_skip_weight`.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch

from segbook.conventions import check_float, check_tensor
from segbook.data import CLASS_NAMES
from segbook.models import FCN
from segbook.models.probes import fcn_logits_with_skip_weight
from segbook.viz._common import to_numpy_image
from segbook.viz.images import colorize, legend_handles

__all__ = [
    "VARIANT_SKIPS",
    "draw_fcn",
    "plot_fcn_skip_weight",
    "fcn_skip_explorer",
]


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
    <segbook.viz.fcn_skip_explorer>`.

    Args:
        model: a trained ``FCN`` with variant ``"16s"`` or ``"8s"``.
        image: float (3, H, W); label: int (H, W) (the truth, for the pixel accuracy in the titles).
        weights: the skip weights to show, each in [0, 2].
        axes: ``len(weights) + 2`` axes to draw on (default: a new figure).

    Returns:
        The figure.
    """
    import matplotlib.pyplot as plt

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
    axes[0].imshow(to_numpy_image(image))
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


def fcn_skip_explorer(model, images, labels):
    """Sliders over a test image and the weight of a trained FCN-16s/8s's skip scores (chapter 7).

    Redraws :func:`segbook.viz.plot_fcn_skip_weight` for one weight: at 0 the skips add nothing and the coarse
    stride-32 scores remain; at 1 the trained net. Returns an ``ipywidgets`` widget.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    def show(index: int, weight: float) -> None:
        plot_fcn_skip_weight(model, images[index], labels[index], (weight,))
        plt.show()

    return w.interactive(
        show,
        index=w.IntSlider(value=0, min=0, max=len(images) - 1, description="test image"),
        weight=w.FloatSlider(value=1.0, min=0.0, max=1.5, step=0.1, description="skip weight"),
    )
