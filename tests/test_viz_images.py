"""Chapter 1's helpers: colours of label maps, overlays, grids, and their checks on bad arguments."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from segbook import viz  # noqa: E402


def test_colorize_uses_the_palette_and_paints_ignored_pixels_white():
    out = viz.colorize(torch.tensor([[0, 1], [4, 255]]))
    assert out.dtype == np.uint8 and out.shape == (2, 2, 3)
    assert out[0, 1].tolist() == viz.PALETTE[1].tolist() and out[1, 1].tolist() == viz.IGNORE_COLOUR.tolist()
    with pytest.raises(ValueError, match="class 8 but the palette has 8 colours"):
        viz.colorize(torch.tensor([[8]]))


def test_overlay_keeps_the_background_and_blends_the_objects():
    image, label = torch.full((3, 2, 2), 0.5), torch.tensor([[0, 1], [0, 0]])
    out = viz.overlay(image, label, alpha=1.0)
    assert np.allclose(out[0, 0], 0.5) and np.allclose(out[0, 1], viz.PALETTE[1] / 255)
    with pytest.raises(ValueError, match="must match"):
        viz.overlay(image, torch.zeros(3, 3, dtype=torch.long))


def test_show_grid_draws_one_column_per_example_up_to_max_items():
    images, masks = torch.rand(5, 3, 8, 8), torch.randint(0, 5, (5, 8, 8))
    fig = viz.show_grid(images, masks, max_items=3)
    assert sum(bool(ax.images) for ax in fig.axes) == 2 * 3
    plt.close(fig)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: viz.show_grid(torch.rand(2, 3, 8, 8), max_items=0), ValueError, "max_items must be >= 1"),
        (lambda: viz.show_grid(torch.rand(2, 3, 8, 8), figsize_per=0.0), ValueError, "figsize_per must be > 0"),
        (lambda: viz.plot_confusion(torch.eye(5), normalize="False"), TypeError, "normalize must be True or False"),
        (lambda: viz.show_matrices([np.eye(2)], ["I"], size_per_cell=0), ValueError, "size_per_cell must be > 0"),
    ],
)
def test_bad_arguments_are_named(call, error, words):
    with pytest.raises(error, match=words):
        call()
    plt.close("all")
