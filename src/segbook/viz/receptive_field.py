"""Chapter 3, fully convolutional networks: a widget that stacks 3x3 layers and shows the receptive field of
the centre pixel, from the arithmetic and from back-propagation."""

from __future__ import annotations

import torch
from torch import nn

from segbook.data import SceneConfig, make_scene
from segbook.ops import empirical_receptive_field, receptive_field

__all__ = [
    "receptive_field_explorer",
]


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
    from matplotlib.patches import Rectangle

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
