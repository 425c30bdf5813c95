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


# ---------------------------------------------------------------- plot_threshold_sweep
THRESHOLDS = [0.25, 0.5, 0.75]
ERRORS = {"plain": [0.3, 0.1, 0.2], "weight map": [0.4, 0.3, 0.05]}
SEPARATED = {"plain": [0.2, 0.5, 0.9], "weight map": [0.6, 0.95, 0.9]}


def test_threshold_sweep_draws_every_curve_and_marks_its_best():
    from figure_helpers import assert_fits_the_column

    fig = viz.plot_threshold_sweep(THRESHOLDS, ERRORS, pairs_separated=SEPARATED)
    left, right = fig.axes[:2]
    assert left.get_yscale() == "log" and right.get_yscale() == "linear"
    for ax, curves, best in ((left, ERRORS, min), (right, SEPARATED, max)):
        lines = [line for line in ax.get_lines() if line.get_label() in curves]
        assert [line.get_label() for line in lines] == list(curves)
        markers = [line for line in ax.get_lines() if line.get_marker() == "o"]
        for line, marker in zip(lines, markers):
            values = curves[line.get_label()]
            assert list(line.get_ydata()) == values
            assert marker.get_ydata()[0] == best(values)  # the dot sits on the curve's best value
            assert marker.get_xdata()[0] == THRESHOLDS[values.index(best(values))]
        assert any(list(line.get_xdata()) == [0.5, 0.5] for line in ax.get_lines())  # the argmax line
    assert_fits_the_column(fig)
    plt.close(fig)


def test_threshold_sweep_without_separation_has_one_panel_and_no_argmax_line_when_asked():
    fig = viz.plot_threshold_sweep(torch.tensor(THRESHOLDS), ERRORS, argmax=None)
    assert len(fig.axes) == 1
    assert not any(list(line.get_xdata()) == [0.5, 0.5] for line in fig.axes[0].get_lines())
    plt.close(fig)


@pytest.mark.parametrize(
    "errors, separated, message",
    [
        ({"plain": [0.1, 0.2]}, None, "'plain' has 2 values but there are 3 thresholds"),
        ({}, None, "at least one curve"),
        (ERRORS, {"plain": [0.5]}, "'plain' has 1 values"),
    ],
)
def test_threshold_sweep_refuses_curves_that_do_not_match_the_thresholds(errors, separated, message):
    with pytest.raises(ValueError, match=message):
        viz.plot_threshold_sweep(THRESHOLDS, errors, pairs_separated=separated)
