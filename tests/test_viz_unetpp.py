"""segbook.viz.draw_unetpp_grid and plot_unetpp_pruning (chapter 9): the drawing follows the grid's rules."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from figure_helpers import assert_fits_the_column  # noqa: E402
from figure_helpers import patch_counts_by_gid as _gids  # noqa: E402

from segbook import viz  # noqa: E402
from segbook.models import UNet, UNetPlusPlus  # noqa: E402


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_grid_has_one_circle_per_node_and_one_arrow_per_connection(depth):
    fig = viz.draw_unetpp_grid(depth)
    # skips: node X^{i,j} (j > 0) receives X^{i,0} ... X^{i,j-1}; there are D + 1 - j nodes in column j
    skips = sum(j * (depth + 1 - j) for j in range(1, depth + 1))
    assert _gids(fig) == {
        "node-kept": (depth + 1) * (depth + 2) // 2,
        "arrow-pool": depth,
        "arrow-up": depth * (depth + 1) // 2,
        "arrow-skip": skips,
        "head-kept": depth,
        "arrow-head": depth,
    }
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert f"$X^{{{depth},0}}$" in texts and f"$X^{{0,{depth}}}$" in texts and f"head {depth}" in texts
    assert fig.axes[0].get_title() and fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel()
    plt.close(fig)


@pytest.mark.parametrize("depth, level", [(3, 1), (3, 2), (3, 3), (4, 2)])
def test_pruning_keeps_the_nodes_of_the_model_pruned_at_that_level(depth, level):
    fig = viz.draw_unetpp_grid(depth, level=level)
    kept = {t.get_text() for t in fig.axes[0].texts if t.get_color() == "black" and t.get_text().startswith("$X")}
    model = UNetPlusPlus(2, width=2, depth=depth).eval()
    computed = model._features(torch.zeros(1, 3, 2**depth, 2**depth), level)  # what pruned(level) computes
    assert kept == {f"$X^{{{i},{j}}}$" for i, j in computed}
    counts = _gids(fig)
    assert counts["node-kept"] == (level + 1) * (level + 2) // 2
    assert counts["head-kept"] == 1 and counts["head-pruned"] == depth - 1
    plt.close(fig)


def test_grid_errors():
    with pytest.raises(ValueError, match="depth"):
        viz.draw_unetpp_grid(0)
    with pytest.raises(ValueError, match="level"):
        viz.draw_unetpp_grid(3, level=4)


def test_pruning_figure_shows_the_pruned_prediction():
    torch.manual_seed(0)
    model = UNetPlusPlus(2, width=2, depth=2)
    image, label = torch.rand(3, 8, 8), torch.zeros(8, 8, dtype=torch.long)
    fig = viz.plot_unetpp_pruning(model, image, label, 1)
    assert len(fig.axes) == 3 and "L = 1" in fig.axes[0].get_title() and "MFLOPs" in fig.axes[0].get_title()
    assert model.training is True  # left as it was
    with torch.no_grad():
        expected = model.eval()(image[None])[0].argmax(1)[0]
    shown = fig.axes[1].images[0].get_array()
    assert (torch.from_numpy(shown[..., :3].astype("int64")) == torch.from_numpy(viz.colorize(expected)).long()).all()
    plt.close(fig)
    with pytest.raises(TypeError, match="UNetPlusPlus"):
        viz.plot_unetpp_pruning(UNet(2, width=2, depth=1), image, label, 1)


@pytest.mark.parametrize("depth, level", [(3, None), (3, 2), (4, None)])
def test_grid_fits_the_text_column_with_readable_labels(depth, level):
    fig = viz.draw_unetpp_grid(depth, level=level)
    assert_fits_the_column(fig)
    plt.close(fig)
    fig = viz.plot_unetpp_pruning(
        UNetPlusPlus(2, width=2, depth=depth), torch.rand(3, 16, 16), torch.zeros(16, 16, dtype=torch.long), 1
    )
    assert_fits_the_column(fig)
    assert all(ax.has_data() for ax in fig.axes)
    plt.close(fig)
