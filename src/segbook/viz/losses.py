"""Chapters 5-6, losses: the distribution-based losses against the predicted probability (chapter 5), and
the Tversky index's trade-off between false positives and false negatives (chapter 6), each with its widget.

The curves are computed with :mod:`segbook.losses`, the functions the chapters train with.
"""

from __future__ import annotations

import numpy as np
import torch

from segbook.losses import binary_cross_entropy, binary_focal_loss, tversky_index

__all__ = [
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
