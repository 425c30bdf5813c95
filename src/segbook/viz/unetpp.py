"""Chapter 9, U-Net++: the grid of nodes X^{i,j} with its dense skips and deep-supervision heads, and what
pruning a trained network at a level keeps, predicts and costs (a figure and its widget).

The pruned network's logits come from :func:`segbook.models.probes.unetpp_pruned_logits`.
"""

from __future__ import annotations

from typing import Optional

from segbook.conventions import check_int
from segbook.models import UNetPlusPlus, model_cost
from segbook.models.probes import unetpp_pruned_logits
from segbook.viz.images import colorize

__all__ = [
    "draw_unetpp_grid",
    "plot_unetpp_pruning",
    "unetpp_pruning_explorer",
]


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


def plot_unetpp_pruning(model, image, label, level: int, *, axes=None):
    """Chapter 9: what pruning a trained :class:`segbook.models.UNetPlusPlus` at ``level`` keeps, predicts and costs.

    Three panels: the grid with the kept nodes (:func:`segbook.viz.draw_unetpp_grid`), the prediction of
    ``model.pruned(level)`` on ``image`` with its pixel accuracy, and the true label map. The FLOPs of the pruned
    network on this image size (:func:`segbook.models.model_cost`) are in the first title.

    Args:
        model: a ``UNetPlusPlus`` built with ``deep_supervision=True``.
        image: float ``(3, H, W)``.
        label: int ``(H, W)`` class indices.
        level: L in ``[1, model.depth]``.
        axes: three matplotlib axes (default: a new figure).

    Returns:
        The figure.
    """
    import matplotlib.pyplot as plt

    if not isinstance(model, UNetPlusPlus):
        raise TypeError(f"model must be a segbook.models.UNetPlusPlus, got {type(model).__name__}")
    prediction = unetpp_pruned_logits(model, image[None], level).argmax(1)[0].cpu()  # validates the level
    flops = model_cost(model.pruned(level), tuple(image.shape)).flops
    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(7, 3.2), gridspec_kw={"width_ratios": [2.6, 1, 1]})
    fig = axes[0].figure
    draw_unetpp_grid(
        model.depth,
        level=level,
        ax=axes[0],
        title=f"L = {level}: {(level + 1) * (level + 2) // 2} nodes, {flops / 1e6:.1f} MFLOPs",
    )
    accuracy = float((prediction == label).float().mean())
    axes[1].imshow(colorize(prediction), interpolation="nearest")
    axes[1].set_title(f"head {level}\npixel accuracy {accuracy:.1%}", fontsize=9)
    axes[2].imshow(colorize(label), interpolation="nearest")
    axes[2].set_title("truth", fontsize=9)
    for ax in axes[1:]:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def unetpp_pruning_explorer(model, image, label):
    """A slider over the pruning level L of a trained U-Net++ redrawing :func:`plot_unetpp_pruning` (chapter 9)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    def show(level: int) -> None:
        fig = plot_unetpp_pruning(model, image, label, level)
        fig.tight_layout()
        plt.show()

    return w.interactive(show, level=w.IntSlider(value=model.depth, min=1, max=model.depth, description="prune at L"))
