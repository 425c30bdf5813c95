"""segbook.viz.plot_weight_map_grid and weight_map_explorer (chapter 8)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from segbook import viz  # noqa: E402
from segbook.losses.weight_map import unet_weight_map  # noqa: E402

IDS = torch.tensor([[1, 1, 0, 2, 2, 0, 0, 0]] * 4)


def test_grid_shows_the_weight_map_of_every_setting():
    fig = viz.plot_weight_map_grid(IDS, w0s=(5.0, 10.0), sigmas=(2.0, 5.0, 8.0))
    panels = [ax for ax in fig.axes if ax.get_images()]
    assert len(panels) == 6
    shown = panels[1 * 3 + 1].get_images()[0].get_array()  # row w0 = 10, column sigma = 5
    assert torch.allclose(torch.as_tensor(shown.data), unet_weight_map(IDS, w0=10.0, sigma=5.0))
    assert panels[4].get_title() == "w0 = 10, σ = 5"
    plt.close(fig)


def test_grid_needs_values():
    with pytest.raises(ValueError, match="at least one value"):
        viz.plot_weight_map_grid(IDS, w0s=())


def test_explorer_has_w0_and_sigma_sliders():
    explorer = viz.weight_map_explorer(IDS, torch.rand(3, 4, 8))
    names = {child.description for child in explorer.children if hasattr(child, "value")}
    assert {"w0", "σ"} <= names
    plt.close("all")
