"""viz.draw_fcn draws each FCN's skips; plot_fcn_skip_weight scales exactly the skip scores."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from figure_helpers import assert_fits_the_column  # noqa: E402

from segbook import viz  # noqa: E402
from segbook.env import seed_everything  # noqa: E402
from segbook.models import FCN, fcn_logits_with_skip_weight  # noqa: E402


@pytest.mark.parametrize("variant, skips, sums", [("32s", 0, 0), ("16s", 2, 1), ("8s", 4, 2)])
def test_draw_fcn_draws_one_skip_per_pool_and_one_sum_each(variant, skips, sums):
    fig = viz.draw_fcn(FCN(3, variant=variant))
    gids = [p.get_gid() for p in fig.axes[0].patches]
    assert gids.count("arrow-skip") == skips and gids.count("sum") == sums
    assert gids.count("arrow-up") == 1 + sums  # one up×2 per sum, then the final upsampling
    assert variant in fig.axes[0].get_title()
    plt.close(fig)


def test_draw_fcn_refuses_other_models():
    with pytest.raises(TypeError, match="segbook.models.FCN"):
        viz.draw_fcn(torch.nn.Conv2d(3, 3, 1))


def test_skip_weight_one_is_the_model_and_zero_removes_the_skip_scores():
    seed_everything(0)
    model = FCN(3, variant="8s")
    for layer in (model.score_pool4, model.score_pool3):
        torch.nn.init.normal_(layer.weight)  # make the skips matter
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        full = model.eval()(x)
        pools = [x]
        for stage in model.stages:
            pools.append(stage(pools[-1]))
        s5 = model.score_fr(model.fc(pools[5]))
        coarse = model.upscore_final(model.upscore_pool4(model.upscore2(s5)))
    assert torch.allclose(fcn_logits_with_skip_weight(model, x, 1.0), full)
    assert torch.allclose(fcn_logits_with_skip_weight(model, x, 0.0), coarse, atol=1e-6)
    assert not torch.allclose(coarse, full, atol=1e-3)
    assert not model.score_pool4._forward_hooks  # the hooks are removed afterwards


def test_plot_fcn_skip_weight_refuses_fcn32s_and_bad_weights():
    image, label = torch.rand(3, 32, 32), torch.zeros(32, 32, dtype=torch.long)
    with pytest.raises(TypeError, match="variant '16s' or '8s'"):
        viz.plot_fcn_skip_weight(FCN(3, variant="32s"), image, label)
    with pytest.raises(ValueError, match="weight"):
        viz.plot_fcn_skip_weight(FCN(3, variant="16s"), image, label, (3.0,))
    fig = viz.plot_fcn_skip_weight(FCN(3, variant="16s"), image, label, (0.0, 1.0))
    assert [ax.get_title() for ax in fig.axes][-1] == "truth"
    plt.close(fig)


@pytest.mark.parametrize("variant", ["32s", "16s", "8s"])
def test_draw_fcn_fits_the_text_column_with_readable_labels(variant):
    fig = viz.draw_fcn(FCN(5, variant=variant))
    assert_fits_the_column(fig)
    plt.close(fig)


def test_draw_fcn_boxes_do_not_overlap():
    fig = viz.draw_fcn(FCN(5, variant="8s"))
    fig.canvas.draw()
    boxes = [p.get_window_extent() for p in fig.axes[0].patches if p.get_gid() in ("box", "sum")]
    overlapping = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :] if a.overlaps(b)]
    assert not overlapping
    plt.close(fig)
