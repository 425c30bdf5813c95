"""Chapter 10, stacked and coupled U-Nets: U-Nets in series drawn with their residual or coupling
connections, and what every head of a trained chain predicts (a figure and its widget).

The heads' logits come from :func:`segbook.models.probes.head_logits`.
"""

from __future__ import annotations

from typing import Optional

from torch import nn

from segbook.conventions import check_bool, check_int, check_tensor
from segbook.models.probes import head_logits
from segbook.viz._common import to_numpy_image
from segbook.viz.images import colorize

__all__ = [
    "draw_unet_chain",
    "plot_chain_heads",
    "chain_heads_explorer",
]


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


def plot_chain_heads(models, images, labels, *, index: int = 0, axes=None):
    """Chapter 10: what every head of U-Nets in series predicts, one row per model, for test image ``index``.

    Each row: the image, the prediction of each head of the model (a list-returning model, e.g.
    :class:`segbook.models.StackedUNets` or :class:`segbook.models.CoupledUNets` with intermediate supervision,
    has one head per U-Net; a one-tensor model has one) with its pixel accuracy on this image, and the truth.

    Args:
        models: a dict ``name -> model`` (or a single model, named by its class).
        images: float ``(N, 3, H, W)``.
        labels: int ``(N, H, W)``.
        index: which image.
        axes: a 2-D array of axes, one row per model and ``2 + max heads`` columns (default: a new figure).

    Returns:
        The figure. The axes of head ``k`` of a model are titled ``"head k: ..."``.
    """
    import matplotlib.pyplot as plt

    if isinstance(models, nn.Module):
        models = {type(models).__name__: models}
    if not isinstance(models, dict) or not models or not all(isinstance(m, nn.Module) for m in models.values()):
        raise TypeError("models must be a model or a non-empty dict name -> torch.nn.Module")
    check_tensor(images, "images", ndim=4, dtype="float", shape_hint="(N, 3, H, W)")
    check_tensor(labels, "labels", ndim=3, dtype="int", shape_hint="(N, H, W)")
    index = check_int(index, "index", minimum=0, maximum=len(images) - 1)
    predictions = {}
    for name, model in models.items():
        logits = head_logits(model, images[index : index + 1])  # one (1, C, H, W) per head
        predictions[name] = [out[0].argmax(0).cpu() for out in logits]
    columns = 2 + max(len(p) for p in predictions.values())
    if axes is None:
        fig, axes = plt.subplots(len(models), columns, figsize=(1.9 * columns, 1.9 * len(models)), squeeze=False)
    fig = axes[0][0].figure
    label = labels[index].cpu()
    for row, (name, heads) in zip(axes, predictions.items()):
        row[0].imshow(to_numpy_image(images[index]))
        row[0].set_ylabel(name, fontsize=8)
        for k, prediction in enumerate(heads):
            accuracy = float((prediction == label).float().mean())
            row[1 + k].imshow(colorize(prediction), interpolation="nearest")
            row[1 + k].set_title(f"head {k}: {accuracy:.1%} px", fontsize=8)
        row[-1].imshow(colorize(label), interpolation="nearest")
        for k in range(1 + len(heads), columns - 1):
            row[k].axis("off")
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0][0].set_title(f"test image {index}", fontsize=8)
    axes[0][-1].set_title("truth", fontsize=8)
    return fig


def chain_heads_explorer(models, images, labels):
    """A dropdown over trained models and a slider over test images redrawing :func:`plot_chain_heads` (chapter 10)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    def show(name: str, index: int) -> None:
        fig = plot_chain_heads({name: models[name]}, images, labels, index=index)
        fig.tight_layout()
        plt.show()

    return w.interactive(
        show,
        name=w.Dropdown(options=list(models), description="model"),
        index=w.IntSlider(value=0, min=0, max=len(images) - 1, description="test image"),
    )
