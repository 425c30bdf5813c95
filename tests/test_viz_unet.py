"""viz.draw_unet and models.unet_feature_sizes (chapter 8): the drawing follows the model it is given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from figure_helpers import assert_fits_the_column  # noqa: E402
from figure_helpers import patch_counts_by_gid as _gids  # noqa: E402

from segbook import viz  # noqa: E402
from segbook.models import UNet, unet_feature_sizes  # noqa: E402


def test_feature_sizes_of_the_papers_valid_unet():
    sizes = unet_feature_sizes(UNet(2, depth=4, padding="valid"), 572)
    assert sizes == {
        "contracting": [568, 280, 136, 64],
        "bottom": 28,
        "up": [56, 104, 200, 392],
        "expanding": [52, 100, 196, 388],
        "output": 388,
    }


def test_feature_sizes_match_a_forward_pass_of_the_model_itself():
    model = UNet(3, width=4, depth=2, padding="valid")
    sizes = unet_feature_sizes(model, 60)
    assert sizes["output"] == model(torch.zeros(1, 3, 60, 60)).shape[-1] == model.output_size(60)
    same = unet_feature_sizes(UNet(3, width=4, depth=3), 64)
    assert same["contracting"] == [64, 32, 16] and same["bottom"] == 8 and same["output"] == 64


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_draw_unet_has_one_box_per_feature_map_and_one_arrow_per_operation(depth):
    fig = viz.draw_unet(UNet(5, width=8, depth=depth), input_size=64)
    # input + depth contracting + bottom + depth x (two-part concat box + block output) + output
    assert _gids(fig) == {
        "box": 3 + 4 * depth,
        "arrow-conv": 1 + depth,
        "arrow-pool": depth,
        "arrow-up": depth,
        "arrow-skip": depth,
        "arrow-head": 1,
    }
    texts = [t.get_text() for t in fig.axes[0].texts]
    for level in range(depth + 1):
        assert str(8 * 2**level) in texts
    assert "5" in texts and "64²" in texts  # the classes and the input size
    plt.close(fig)


def test_draw_unet_names_the_valid_crop_and_the_upsampling():
    fig = viz.draw_unet(UNet(2, width=4, depth=2, padding="valid", up="bilinear"), input_size=60)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "copy and crop" in legend and any("bilinear" in t for t in legend)
    assert fig.axes[0].get_title() and fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel()
    plt.close(fig)


def test_draw_unet_errors():
    with pytest.raises(TypeError, match="model must be a segbook.models.UNet"):
        viz.draw_unet(torch.nn.Conv2d(3, 2, 1))
    with pytest.raises(ValueError, match="cannot take size 570"):
        viz.draw_unet(UNet(2, depth=4, padding="valid"), input_size=570)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_draw_unet_fits_the_text_column_with_readable_labels(depth):
    """7 inches at most (the book's column at dpi 100), every text at least 8 pt, legend included."""
    fig = viz.draw_unet(UNet(2, width=64, depth=depth, padding="valid"), input_size=572 if depth == 4 else 188)
    assert_fits_the_column(fig)
    fig.canvas.draw()  # everything drawn inside the figure: the tight bbox is no wider than the figure
    width = fig.get_tightbbox(fig.canvas.get_renderer()).width
    assert width <= fig.get_size_inches()[0] + 0.05, width
    plt.close(fig)
