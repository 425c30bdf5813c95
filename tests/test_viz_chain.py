"""segbook.viz.draw_unet_chain (chapter 10): the drawing has the blocks and connections of the models it depicts."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from figure_helpers import assert_fits_the_column  # noqa: E402
from figure_helpers import patch_counts_by_gid as _gids  # noqa: E402

from segbook import viz  # noqa: E402
from segbook.models import CoupledUNets, StackedUNets  # noqa: E402


@pytest.mark.parametrize("stacks, depth, order", [(1, 3, 0), (2, 3, 1), (3, 2, 1), (3, 2, 2), (4, 3, 2)])
def test_coupling_arrows_match_the_coupled_inputs_of_the_model(stacks, depth, order):
    width = 4
    model = CoupledUNets(2, width=width, depth=depth, stacks=stacks, order=order)
    fig = viz.draw_unet_chain(stacks, depth=depth, order=order)
    arrows = [p.get_label() for p in fig.axes[0].patches if p.get_gid() == "arrow-coupling"]
    for n in range(stacks):
        # extra inputs of each block beyond its own (1 for encoder blocks and the bottom, 2 for decoder blocks)
        extra = sum(b.reduce.in_channels // width - 1 for b in list(model.encoders[n]) + [model.bottoms[n]])
        extra += sum(b.reduce.in_channels // width - 2 for b in model.decoders[n])
        assert sum(label.split("-> ")[1].split(" ")[1].startswith(f"{n},") for label in arrows) == extra
    counts = _gids(fig)
    assert counts["block"] == stacks * (2 * depth + 1) and counts["head"] == stacks
    assert counts["arrow-pool"] == counts["arrow-up"] == counts["arrow-skip"] == stacks * depth
    assert counts["arrow-chain"] == stacks and "arrow-residual" not in counts
    assert fig.axes[0].get_title() and fig.axes[0].get_ylabel()
    plt.close(fig)


def test_coupling_arrows_join_same_level_blocks_of_the_order_previous_unets():
    fig = viz.draw_unet_chain(4, depth=2, order=2)
    arrows = {p.get_label() for p in fig.axes[0].patches if p.get_gid() == "arrow-coupling"}
    assert "E 1,2 -> E 3,2" in arrows and "D 2,0 -> D 3,0" in arrows and "E 0,1 -> E 2,1" in arrows
    assert "E 0,1 -> E 3,1" not in arrows  # three U-Nets back: beyond order 2
    assert not any(a.split(" ")[1].split(",")[1] != a.split(" ")[-1].split(",")[1] for a in arrows)  # same level
    plt.close(fig)


@pytest.mark.parametrize("stacks, supervised", [(1, True), (2, True), (3, False)])
def test_stacked_drawing_has_one_residual_per_module_and_the_models_heads(stacks, supervised):
    model = StackedUNets(2, width=4, stacks=stacks, intermediate_supervision=supervised)
    fig = viz.draw_unet_chain(stacks, depth=model.depth, coupled=False, intermediate_supervision=supervised)
    counts = _gids(fig)
    assert counts["arrow-residual"] == counts["add"] == len(model.unets) == stacks
    assert counts["head"] == len(model.heads) and "arrow-coupling" not in counts
    plt.close(fig)


def test_chain_errors():
    with pytest.raises(ValueError, match="order"):
        viz.draw_unet_chain(2, order=2)
    with pytest.raises(ValueError, match="stacks"):
        viz.draw_unet_chain(0)
    with pytest.raises(TypeError, match="coupled"):
        viz.draw_unet_chain(2, coupled=1)


def test_chain_heads_figure_has_one_panel_per_head_and_rejects_bad_models():
    from segbook.models import CoupledUNets as Coupled

    torch_models = {
        "one": StackedUNets(2, width=4, stacks=1, intermediate_supervision=False),
        "cu": Coupled(2, width=4, stacks=3, order=1),
    }
    import torch

    images, labels = torch.rand(2, 3, 16, 16), torch.randint(0, 2, (2, 16, 16))
    fig = viz.plot_chain_heads(torch_models, images, labels, index=1)
    titles = [ax.get_title() for ax in fig.axes]
    assert sum(t.startswith("head ") for t in titles) == 1 + 3 and "truth" in titles and "test image 1" in titles
    assert len(fig.axes) == 2 * (2 + 3)
    plt.close(fig)
    with pytest.raises(TypeError, match="models"):
        viz.plot_chain_heads({"x": 3}, images, labels)
    with pytest.raises(ValueError, match="index"):
        viz.plot_chain_heads(torch_models, images, labels, index=2)


@pytest.mark.parametrize("stacks, depth, coupled", [(2, 2, False), (2, 2, True), (3, 3, True)])
def test_chain_fits_the_text_column_with_readable_labels(stacks, depth, coupled):
    fig = viz.draw_unet_chain(stacks, depth=depth, coupled=coupled)
    assert_fits_the_column(fig)
    plt.close(fig)
