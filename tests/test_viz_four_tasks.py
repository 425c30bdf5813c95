"""Chapter 1's figures fit the book's text column: at most 7 in wide, no label under 8 pt."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from figure_helpers import assert_fits_the_column  # noqa: E402

from segbook import data, viz  # noqa: E402


def test_four_tasks_fits_the_column_with_every_panel_drawn():
    fig = viz.show_four_tasks(data.make_scene(data.SceneConfig(), seed=0, index=2))
    try:
        assert_fits_the_column(fig)
        panels = [ax for ax in fig.axes if ax.images]
        assert len(panels) == 4 and all(ax.get_title() for ax in panels)
    finally:
        plt.close(fig)


def test_confusion_matrix_fits_the_column_with_readable_cells():
    fig = viz.plot_confusion(
        torch.tensor([[5, 1, 0, 0, 0], [2, 7, 0, 0, 1], [0, 0, 3, 0, 0], [0, 1, 0, 4, 0], [1, 0, 0, 0, 2]])
    )
    try:
        assert_fits_the_column(fig)
    finally:
        plt.close(fig)
