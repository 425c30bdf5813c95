"""Chapter 2, the sliding window: a widget that moves a patch over an image and changes its size."""

from __future__ import annotations

from segbook.data import CLASS_NAMES
from segbook.ops import pad_for_patches
from segbook.viz.images import colorize

__all__ = [
    "patch_explorer",
]


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
