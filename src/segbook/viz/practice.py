"""Chapter 12, segmentation in practice: a palette for many classes, and a widget that moves the decision
threshold of a binary model."""

from __future__ import annotations

import numpy as np
import torch

from segbook.conventions import IGNORE_INDEX, check_int, check_same_shape, check_tensor
from segbook.metrics import threshold_sweep
from segbook.viz.images import PALETTE

__all__ = ["threshold_explorer", "error_colours", "palette_for"]


def palette_for(num_classes: int) -> np.ndarray:
    """A palette of ``num_classes`` distinct colours, uint8 ``(num_classes, 3)``, for label maps with more classes
    than the book's :data:`segbook.viz.PALETTE` (e.g. the 21 PASCAL VOC classes of torchvision's models).

    The book's colours first, then matplotlib's ``tab20``, then evenly spaced hues.

    Example:
        >>> palette_for(21).shape, bool((palette_for(3) == PALETTE[:3]).all())
        ((21, 3), True)
    """
    import matplotlib

    num_classes = check_int(num_classes, "num_classes", minimum=1)
    tab20 = (np.asarray(matplotlib.colormaps["tab20"].colors) * 255).round().astype(np.uint8)
    colours = np.concatenate([PALETTE, tab20])
    if num_classes > len(colours):
        hues = matplotlib.colormaps["hsv"](np.linspace(0, 1, num_classes - len(colours), endpoint=False))
        colours = np.concatenate([colours, (hues[:, :3] * 255).round().astype(np.uint8)])
    return colours[:num_classes]


def error_colours(decision: torch.Tensor, target: torch.Tensor, *, ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """An RGB picture of a binary decision against the truth: hits white/black, misses coloured.

    True foreground found is white, background kept is black, a false positive (foreground called where there is
    none) is orange, a false negative (foreground missed) is blue, and an ignored pixel is grey.

    Args:
        decision: bool or 0/1 ``(H, W)``: foreground called.
        target: int ``(H, W)``: 1 foreground, 0 background, or ``ignore_index``.
        ignore_index: the target value of pixels not counted.

    Returns:
        float ``(H, W, 3)`` in [0, 1].

    Example:
        >>> error_colours(torch.tensor([[1, 0]]), torch.tensor([[0, 1]]))[0].tolist()
        [[1.0, 0.6, 0.1], [0.1, 0.4, 1.0]]
    """
    check_tensor(decision, "decision", ndim=2)
    check_tensor(target, "target", ndim=2, dtype="int")
    check_same_shape(decision, "decision", target, "target")
    called, truth = decision.bool().numpy(), (target == 1).numpy()
    rgb = np.zeros((*called.shape, 3))
    rgb[called & truth] = (1.0, 1.0, 1.0)
    rgb[called & ~truth] = (1.0, 0.6, 0.1)
    rgb[~called & truth] = (0.1, 0.4, 1.0)
    rgb[(target == ignore_index).numpy()] = (0.5, 0.5, 0.5)
    return rgb


def threshold_explorer(images, probabilities, masks, *, ignore_index: int = IGNORE_INDEX):
    """Chapter 12: move the decision threshold of a binary model and watch its errors on validation images.

    A slider sets the threshold ``t`` (a pixel is foreground when its probability is above ``t``; ``t = 0.5`` is
    the argmax), another picks the image. The figure shows the image, the decision coloured by
    :func:`error_colours` (orange: false positives, blue: false negatives) and the pixel error of every
    threshold over all the images (:func:`segbook.metrics.threshold_sweep`), with the chosen ``t`` marked. The
    static counterpart is :func:`segbook.viz.plot_threshold_sweep`.

    Args:
        images: float ``(N, 3, H, W)`` in [0, 1].
        probabilities: float ``(N, H, W)``, the foreground probability of each pixel.
        masks: int ``(N, H, W)``: 1 foreground, 0 background, or ``ignore_index``.
        ignore_index: the mask value of pixels not counted.

    Returns an ``ipywidgets`` widget; display it as the last expression of a cell.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    check_tensor(images, "images", ndim=4, dtype="float", shape_hint="(N, 3, H, W)")
    check_same_shape(probabilities, "probabilities", masks, "masks")
    if images.shape[0] != masks.shape[0] or images.shape[-2:] != masks.shape[-2:]:
        raise ValueError(
            f"images {tuple(images.shape)} and masks {tuple(masks.shape)} must hold the same number of images "
            "of the same size"
        )
    grid = [round(0.05 * k, 2) for k in range(1, 20)]
    errors = threshold_sweep(probabilities, masks, grid, ignore_index=ignore_index)["pixel_error"].tolist()

    def show(threshold: float, image: int) -> None:
        fig, axes = plt.subplots(1, 3, figsize=(9, 3), gridspec_kw={"width_ratios": [1, 1, 1.3]})
        axes[0].imshow(images[image].permute(1, 2, 0).clamp(0, 1).numpy())
        axes[0].set_title(f"image {image}")
        decision = probabilities[image] > threshold
        axes[1].imshow(error_colours(decision, masks[image], ignore_index=ignore_index), interpolation="nearest")
        axes[1].set_title(f"t = {threshold:.2f}: orange FP, blue FN", fontsize=9)
        for ax in axes[:2]:
            ax.set_xticks([])
            ax.set_yticks([])
        axes[2].plot(grid, errors, "o-", markersize=3)
        axes[2].axvline(threshold, color="tab:red", linestyle="--")
        axes[2].set_xlabel("threshold t")
        axes[2].set_ylabel("pixel error (all images)")
        fig.tight_layout()
        plt.show()

    return w.interactive(
        show,
        threshold=w.FloatSlider(value=0.5, min=0.05, max=0.95, step=0.05, description="threshold"),
        image=w.IntSlider(value=0, min=0, max=images.shape[0] - 1, description="image"),
    )
