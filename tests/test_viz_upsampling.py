"""Chapter 4's figures fit the book's text column (7 in at dpi 100) with text of 8 pt or more."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from figure_helpers import MIN_POINTS, assert_fits_the_column  # noqa: E402

from segbook import viz  # noqa: E402


@pytest.mark.parametrize("count, side", [(1, 4), (3, 4), (4, 5), (6, 5)])
def test_show_matrices_fits_the_column(count, side):
    fig = viz.show_matrices(
        [torch.arange(side * side).view(side, side)] * count, [f"m{k}" for k in range(count)], suptitle="a title"
    )
    assert_fits_the_column(fig)
    assert all(ax.images for ax in fig.axes)  # no empty panel
    plt.close(fig)


def test_show_matrices_keeps_small_figures_and_checks_max_width():
    fig = viz.show_matrices([torch.ones(2, 2)], ["one"])
    assert fig.get_figwidth() == pytest.approx(3.0)  # the minimum width, unchanged
    plt.close(fig)
    with pytest.raises(ValueError, match="max_width"):
        viz.show_matrices([torch.ones(2, 2)], ["one"], max_width=1.0)


@pytest.mark.parametrize("setting", [(2, 3, 2, 1, 1), (3, 4, 2, 1, 0), (6, 5, 4, 3, 3)])
def test_coverage_figure_fits_the_column_with_readable_text(setting):
    fig = viz.plot_transposed_conv_coverage(*setting, cell=(1, 1))
    assert_fits_the_column(fig)
    ax = fig.axes[0]  # tick labels too, drawn or not yet
    assert min(label.get_fontsize() for label in ax.get_xticklabels() + ax.get_yticklabels()) >= MIN_POINTS
    plt.close(fig)


def test_coverage_grid_of_four_at_column_width():
    fig, axes = plt.subplots(2, 2, figsize=(7, 7.4), layout="constrained")
    for ax, setting in zip(axes.flat, [(2, 3, 2, 1, 1), (3, 4, 2, 1, 0), (3, 2, 2, 0, 0), (3, 3, 1, 1, 0)]):
        viz.plot_transposed_conv_coverage(*setting, cell=(1, 1), ax=ax)
    assert all(ax.images for ax in fig.axes)
    plt.close(fig)
