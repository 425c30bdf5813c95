"""Interactive widgets (ipywidgets) for the notebooks.

Each widget has a static counterpart in :mod:`segbook.viz`, because the website has no kernel: the page shows
the widget as it was when the notebook ran, and the static figure beside it carries the lesson.
"""

from __future__ import annotations

from segbook.data.synthetic import SceneConfig, make_scene

__all__ = ["scene_explorer", "transposed_conv_explorer"]


def scene_explorer(*, size: int = 64):
    """Sliders for the data set's knobs (object scale, noise, texture, seed) showing a scene and its label map.

    Returns an ``ipywidgets`` widget; display it as the last expression of a cell.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from segbook.viz import colorize, legend_handles

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


def transposed_conv_explorer():
    """Sliders for a 2-D transposed convolution: input size, kernel, stride, padding, output padding and one input
    cell; shows the output size (the formula evaluated) and which output cells that input cell writes.

    The static counterpart is :func:`segbook.viz.plot_transposed_conv_coverage`. Returns an ``ipywidgets`` widget.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from segbook.ops.upsampling import conv_transpose_output_size
    from segbook.viz import plot_transposed_conv_coverage

    def show(size: int, kernel_size: int, stride: int, padding: int, output_padding: int, row: int, col: int) -> None:
        try:
            out = conv_transpose_output_size(size, kernel_size, stride, padding, output_padding)
        except ValueError as error:
            print(f"not a valid setting: {error}")
            return
        print(
            f"output size = (n - 1)s - 2p + k + op = ({size} - 1)*{stride} - 2*{padding} + {kernel_size} + "
            f"{output_padding} = {out}"
        )
        fig = plot_transposed_conv_coverage(
            size, kernel_size, stride, padding, output_padding, cell=(min(row, size - 1), min(col, size - 1))
        )
        fig.tight_layout()
        plt.show()

    return w.interactive(
        show,
        size=w.IntSlider(value=2, min=1, max=6, description="input n"),
        kernel_size=w.IntSlider(value=3, min=1, max=5, description="kernel k"),
        stride=w.IntSlider(value=2, min=1, max=4, description="stride s"),
        padding=w.IntSlider(value=1, min=0, max=3, description="padding p"),
        output_padding=w.IntSlider(value=1, min=0, max=3, description="out. pad."),
        row=w.IntSlider(value=0, min=0, max=5, description="input row"),
        col=w.IntSlider(value=0, min=0, max=5, description="input col"),
    )


# ----------------------------------------------------------------------------- chapters 5-6: losses

__all__ += [
    "plot_distribution_losses",
    "distribution_loss_explorer",
    "tversky_demo_masks",
    "plot_tversky_tradeoff",
    "plot_tversky_sweep",
    "tversky_explorer",
]


def plot_distribution_losses(*, gamma: float = 2.0, alpha: float = 0.25, beta: float = 3.0, axes=None):
    """CE, the slide's weighted CE (β) and focal loss (α, γ) against the predicted foreground probability p̂.

    Two panels: a foreground pixel (p = 1) and a background pixel (p = 0). The curves are computed with
    :mod:`segbook.losses` on the logits ``z = logit(p̂)``, the same functions the chapters train with.
    Returns the figure.
    """
    import matplotlib.pyplot as plt
    import torch

    from segbook.losses import binary_cross_entropy, binary_focal_loss

    p_hat = torch.linspace(0.002, 0.998, 400, dtype=torch.float64)
    z = torch.logit(p_hat)[None, None]  # (1, 1, 400): one row of pixels
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(7, 3.4), sharey=True)
    else:
        fig = axes[0].figure
    for label, ax in zip((1, 0), axes):
        t = torch.full(z.shape, label, dtype=torch.long)
        curves = {
            "CE": binary_cross_entropy(z, t, reduction="none"),
            f"WCE (β = {beta:g})": binary_cross_entropy(z, t, pos_weight=beta, reduction="none"),
            f"FL (γ = {gamma:g}, no α)": binary_focal_loss(z, t, alpha=None, gamma=gamma, reduction="none"),
            f"FL (γ = {gamma:g}, α = {alpha:g})": binary_focal_loss(z, t, alpha=alpha, gamma=gamma, reduction="none"),
        }
        for (name, values), style in zip(curves.items(), ("-", "--", "-.", ":")):
            ax.plot(p_hat, values[0, 0], style, lw=2, label=name)
        ax.set_xlabel("predicted foreground probability p̂")
        ax.set_title(f"a {'foreground' if label else 'background'} pixel (p = {label})")
        ax.set_ylim(0, 5)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("loss")
    axes[0].legend(loc="upper right", fontsize=8)
    fig.suptitle("Distribution-based losses against the predicted probability")
    fig.tight_layout()
    return fig


def distribution_loss_explorer():
    """Sliders for γ, α and β redrawing :func:`plot_distribution_losses` (chapter 5)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    def show(gamma: float, alpha: float, beta: float) -> None:
        plot_distribution_losses(gamma=gamma, alpha=alpha, beta=beta)
        plt.show()

    return w.interactive(
        show,
        gamma=w.FloatSlider(value=2.0, min=0.0, max=5.0, step=0.5, description="γ (focal)"),
        alpha=w.FloatSlider(value=0.25, min=0.0, max=1.0, step=0.05, description="α (focal)"),
        beta=w.FloatSlider(value=3.0, min=0.25, max=10.0, step=0.25, description="β (WCE)"),
    )


def tversky_demo_masks(size: int = 32) -> dict:
    """A disc (the truth) and two predictions of about the same Dice: one too large (false positives only),
    one too small (false negatives only). Returns bool (H, W) masks ``target``, ``over``, ``under``."""
    import torch

    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    r = ((yy - (size - 1) / 2) ** 2 + (xx - (size - 1) / 2) ** 2).sqrt()
    target, over = r <= size / 4, r <= size / 4 + size / 16

    def dice(pred):
        return 2 * float((pred & target).sum()) / float(pred.sum() + target.sum())

    # the smaller disc whose Dice is closest to the larger one's
    radii = [size / 4 - k * 0.05 for k in range(1, int(size / 0.2))]
    under = min((r <= rad for rad in radii), key=lambda m: abs(dice(m) - dice(over)))
    return {"target": target, "over": over, "under": under}


def _counts(pred, target) -> tuple:
    return (float((pred & target).sum()), float((pred & ~target).sum()), float((~pred & target).sum()))


def plot_tversky_tradeoff(fp_weight: float = 0.5, fn_weight: float = 0.5, *, size: int = 32):
    """The two predictions of :func:`tversky_demo_masks` (TP grey, FP red, FN blue) and their Tversky index."""
    import matplotlib.pyplot as plt
    import numpy as np

    from segbook.losses import tversky_index

    m = tversky_demo_masks(size)
    fig, axes = plt.subplots(1, 3, figsize=(7, 3.2), gridspec_kw={"width_ratios": [1, 1, 1.3]})
    scores = {}
    for ax, name in zip(axes[:2], ("over", "under")):
        pred, target = m[name], m["target"]
        rgb = np.ones((size, size, 3))
        rgb[(pred & target).numpy()] = (0.6, 0.6, 0.6)
        rgb[(pred & ~target).numpy()] = (0.85, 0.2, 0.2)
        rgb[(~pred & target).numpy()] = (0.2, 0.4, 0.85)
        ax.imshow(rgb, interpolation="nearest")
        tp, fp, fn = _counts(pred, target)
        scores[name] = tversky_index(tp, fp, fn, fp_weight=fp_weight, fn_weight=fn_weight)
        label = "too large: FP only (red)" if name == "over" else "too small: FN only (blue)"
        ax.set_title(f"{label}\nTP={tp:.0f} FP={fp:.0f} FN={fn:.0f}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    bars = axes[2].bar(
        ["too large (FP)", "too small (FN)"], [scores["over"], scores["under"]], color=["tab:red", "tab:blue"]
    )
    axes[2].bar_label(bars, fmt="%.3f")
    axes[2].set_ylim(0, 1.05)
    axes[2].set_ylabel("Tversky index (higher = preferred)")
    axes[2].set_title(f"fp_weight = {fp_weight:g}, fn_weight = {fn_weight:g}", fontsize=9)
    fig.suptitle("Which error does the Tversky index punish more?")
    fig.tight_layout()
    return fig


def plot_tversky_sweep(*, size: int = 32):
    """Tversky index of the two predictions of :func:`tversky_demo_masks` against the slide's β.

    On the slide, β weighs false positives and 1 − β false negatives (``fp_weight = β``, ``fn_weight = 1 − β``).
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from segbook.losses import tversky_index

    m = tversky_demo_masks(size)
    betas = np.linspace(0, 1, 101)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, colour, label in (
        ("over", "tab:red", "too large (FP only)"),
        ("under", "tab:blue", "too small (FN only)"),
    ):
        tp, fp, fn = _counts(m[name], m["target"])
        ax.plot(
            betas,
            [tversky_index(tp, fp, fn, fp_weight=b, fn_weight=1 - b) for b in betas],
            color=colour,
            lw=2,
            label=label,
        )
    ax.axvline(0.5, color="grey", ls=":", lw=1)
    ax.text(0.51, 0.95, "β = 0.5: Dice", color="grey", fontsize=8, transform=ax.get_xaxis_transform())
    ax.set_xlabel("the slide's β = fp_weight   (fn_weight = 1 − β)")
    ax.set_ylabel("Tversky index")
    ax.set_title("Tversky index of two predictions with about the same Dice")
    ax.legend(loc="center left", fontsize=8)
    fig.tight_layout()
    return fig


def tversky_explorer(*, size: int = 32):
    """Sliders for ``fp_weight`` and ``fn_weight`` redrawing :func:`plot_tversky_tradeoff` (chapter 6)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    def show(fp_weight: float, fn_weight: float) -> None:
        plot_tversky_tradeoff(fp_weight, fn_weight, size=size)
        plt.show()

    return w.interactive(
        show,
        fp_weight=w.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="fp_weight"),
        fn_weight=w.FloatSlider(value=0.5, min=0.05, max=1.0, step=0.05, description="fn_weight"),
    )


def patch_explorer(image, label, *, sizes=(3, 7, 11, 15, 19)):
    """Chapter 2: move a window over an image and change its size: how much context does a patch hold?

    Sliders pick the pixel (row, column) and the patch size P; the figure shows the image with the window, the
    patch the classifier would see (zero-padded at the border, as in ``segbook.ops.sliding_window``), and the label
    map. Inside a large object a small patch is flat colour: it cannot say *which* object it is in.

    Args:
        image: float ``(3, H, W)``.
        label: int ``(H, W)`` label map.
        sizes: the patch sizes offered (odd).

    Returns an ``ipywidgets`` widget; display it as the last expression of a cell.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from segbook.data.synthetic import CLASS_NAMES
    from segbook.ops.sliding_window import pad_for_patches
    from segbook.viz import colorize

    height, width = image.shape[-2:]

    def show(row: int, column: int, patch_size: int) -> None:
        r = patch_size // 2
        padded = pad_for_patches(image[None], patch_size)[0]  # (3, H + 2r, W + 2r)
        patch = padded[:, row : row + patch_size, column : column + patch_size]
        fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
        axes[0].imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
        axes[0].add_patch(
            Rectangle(
                (column - r - 0.5, row - r - 0.5), patch_size, patch_size, fill=False, edgecolor="red", linewidth=2
            )
        )
        axes[0].set_title(f"image, window around ({row}, {column})")
        axes[1].imshow(patch.permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
        axes[1].set_title(f"the {patch_size}x{patch_size} patch")
        axes[2].imshow(colorize(label), interpolation="nearest")
        axes[2].plot([column], [row], "r+", markersize=12)
        axes[2].set_title(f"true class: {CLASS_NAMES[int(label[row, column])]}")
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        fig.tight_layout()
        plt.show()

    return w.interactive(
        show,
        row=w.IntSlider(value=height // 2, min=0, max=height - 1, description="row"),
        column=w.IntSlider(value=width // 2, min=0, max=width - 1, description="column"),
        patch_size=w.SelectionSlider(options=list(sizes), value=sizes[len(sizes) // 2], description="patch P"),
    )


def receptive_field_explorer(image=None, *, size: int = 64):
    """Chapter 3: build a stack of 3x3 layers with sliders and see the receptive field of its centre pixel.

    Sliders: number of 3x3 convolutions, how many of them are followed by a 2x2 max pooling, and the dilation of
    the convolutions. The figure shows the field from the arithmetic (``segbook.ops.receptive_field.receptive_field``,
    the red box) and the pixels that back-propagation reaches (``empirical_receptive_field``, white), on top of
    ``image`` (a scene from the book's data set by default).

    Returns an ``ipywidgets`` widget; display it as the last expression of a cell.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt
    import torch
    from matplotlib.patches import Rectangle
    from torch import nn

    from segbook.data.synthetic import SceneConfig, make_scene
    from segbook.ops.receptive_field import empirical_receptive_field, receptive_field

    if image is None:
        image = make_scene(SceneConfig(size=size), seed=0, index=2).image
    size = image.shape[-1]

    def show(convs: int, poolings: int, dilation: int) -> None:
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(0)  # the same weights every time the sliders move
        layers = []
        for i in range(convs):
            layers += [nn.Conv2d(3 if i == 0 else 8, 8, 3, padding=dilation, dilation=dilation), nn.ReLU()]
            if i < poolings:
                layers.append(nn.MaxPool2d(2))
        stack = nn.Sequential(*layers)
        torch.random.set_rng_state(generator_state)
        rf = receptive_field(stack)
        measured = empirical_receptive_field(stack, (size, size), trials=4)
        top, left, bottom, right = measured.box
        fig, ax = plt.subplots(figsize=(4.2, 4.2))
        ax.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy() * 0.5)
        ax.imshow(measured.mask.numpy(), cmap="gray", alpha=0.55 * measured.mask.numpy(), vmin=0, vmax=1)
        centre_y, centre_x = (top + bottom) / 2, (left + right) / 2
        ax.add_patch(
            Rectangle(
                (centre_x - rf.size / 2, centre_y - rf.size / 2),
                rf.size,
                rf.size,
                fill=False,
                edgecolor="red",
                linewidth=2,
            )
        )
        ax.set_title(
            f"arithmetic: {rf.size} px (jump {rf.jump}); measured: {measured.size[0]} px"
            + (" (clipped)" if measured.clipped else ""),
            fontsize=9,
        )
        ax.set_xticks([])
        ax.set_yticks([])
        plt.show()

    return w.interactive(
        show,
        convs=w.IntSlider(value=4, min=1, max=8, description="3x3 convs"),
        poolings=w.IntSlider(value=0, min=0, max=4, description="poolings"),
        dilation=w.IntSlider(value=1, min=1, max=4, description="dilation"),
    )


__all__ += ["patch_explorer", "receptive_field_explorer"]


# ----------------------------------------------------------------------------- chapter 9: U-Net++ pruning

__all__ += ["plot_unetpp_pruning", "unetpp_pruning_explorer"]


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
    import torch

    from segbook.models import UNetPlusPlus, model_cost
    from segbook.viz import colorize, draw_unetpp_grid

    if not isinstance(model, UNetPlusPlus):
        raise TypeError(f"model must be a segbook.models.UNetPlusPlus, got {type(model).__name__}")
    pruned = model.pruned(level)  # validates the level
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        prediction = pruned(image[None].to(device)).argmax(1)[0].cpu()
    model.train(was_training)
    flops = model_cost(pruned, tuple(image.shape)).flops
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


__all__ += ["fcn_skip_explorer"]


def fcn_skip_explorer(model, images, labels):
    """Sliders over a test image and the weight of a trained FCN-16s/8s's skip scores (chapter 7).

    Redraws :func:`segbook.viz.plot_fcn_skip_weight` for one weight: at 0 the skips add nothing and the coarse
    stride-32 scores remain; at 1 the trained net. Returns an ``ipywidgets`` widget.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from segbook.viz import plot_fcn_skip_weight

    def show(index: int, weight: float) -> None:
        plot_fcn_skip_weight(model, images[index], labels[index], (weight,))
        plt.show()

    return w.interactive(
        show,
        index=w.IntSlider(value=0, min=0, max=len(images) - 1, description="test image"),
        weight=w.FloatSlider(value=1.0, min=0.0, max=1.5, step=0.1, description="skip weight"),
    )


# --------------------------------------------------------------------------- chapter 8: the U-Net weight map

__all__ += ["plot_weight_map_grid", "weight_map_explorer"]


def plot_weight_map_grid(instances, *, w0s=(5.0, 10.0, 20.0), sigmas=(2.0, 5.0, 10.0), axes=None):
    """The U-Net paper's weight map of one instance map for every ``w0`` (rows) and ``sigma`` (columns).

    Uses :func:`segbook.losses.weight_map.unet_weight_map` (with its class balancing); one colour scale for all panels,
    so the panels can be compared. Returns the figure.
    """
    import matplotlib.pyplot as plt

    from segbook.losses.weight_map import unet_weight_map

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

    from segbook.losses.weight_map import unet_weight_map

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


__all__ += ["comparison_explorer"]


def comparison_explorer(comparison):
    """Choose the cost axis (FLOPs, parameters, CPU latency) and the accuracy axis (mIoU, boundary F1) of chapter
    11's accuracy-against-cost figure. ``comparison`` comes from :func:`segbook.compare.compare_architectures`;
    the static counterpart is :func:`segbook.compare.plot_comparison`."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from segbook.compare import ACCURACY_COLUMNS, COST_COLUMNS, plot_comparison

    def show(x: str, y: str) -> None:
        plot_comparison(comparison, x=x, y=y)
        plt.show()

    return w.interactive(
        show,
        x=w.Dropdown(options=list(COST_COLUMNS), value="flops", description="cost"),
        y=w.Dropdown(options=list(ACCURACY_COLUMNS), value="miou", description="accuracy"),
    )


__all__ += ["plot_chain_heads", "chain_heads_explorer"]


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
    import torch
    from torch import nn

    from segbook.conventions import check_int, check_tensor
    from segbook.viz import _to_numpy_image, colorize

    if isinstance(models, nn.Module):
        models = {type(models).__name__: models}
    if not isinstance(models, dict) or not models or not all(isinstance(m, nn.Module) for m in models.values()):
        raise TypeError("models must be a model or a non-empty dict name -> torch.nn.Module")
    check_tensor(images, "images", ndim=4, dtype="float", shape_hint="(N, 3, H, W)")
    check_tensor(labels, "labels", ndim=3, dtype="int", shape_hint="(N, H, W)")
    index = check_int(index, "index", minimum=0, maximum=len(images) - 1)
    predictions = {}
    for name, model in models.items():
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        with torch.no_grad():
            out = model(images[index : index + 1].to(device))
        model.train(was_training)
        predictions[name] = [o[0].argmax(0).cpu() for o in (out if isinstance(out, (list, tuple)) else [out])]
    columns = 2 + max(len(p) for p in predictions.values())
    if axes is None:
        fig, axes = plt.subplots(len(models), columns, figsize=(1.9 * columns, 1.9 * len(models)), squeeze=False)
    fig = axes[0][0].figure
    label = labels[index].cpu()
    for row, (name, heads) in zip(axes, predictions.items()):
        row[0].imshow(_to_numpy_image(images[index]))
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
