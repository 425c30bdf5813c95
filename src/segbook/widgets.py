"""Interactive widgets (ipywidgets) for the notebooks.

Each widget has a static counterpart in :mod:`segbook.viz`, because the website has no kernel: the page shows
the widget as it was when the notebook ran, and the static figure beside it carries the lesson.
"""

from __future__ import annotations

from segbook.data import SceneConfig, make_scene

__all__ = ["scene_explorer"]


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
