"""Figures and widgets for the notebooks, one module per topic of the book.

Every figure function draws on matplotlib axes and returns the figure, with a title and labelled axes where
axes mean something, so notebooks stay short: ``show_grid(images, masks)``, ``plot_history(history)``. Each
widget (an ``ipywidgets`` object, ``*_explorer``) sits next to its static figure, because the website has no
kernel: the page shows the widget as it was when the notebook ran, and the static figure carries the lesson.

==========================  =========================================================================
module                      what it draws (chapter)
==========================  =========================================================================
:mod:`.images`              palette, ``colorize``, ``overlay``, ``show_grid``, the four tasks,
                            ``scene_explorer`` (1)
:mod:`.results`             ``plot_history``, ``plot_confusion`` (1, then every chapter that trains),
                            ``comparison_explorer`` (11)
:mod:`.patches`             ``patch_explorer`` (2, the sliding window)
:mod:`.receptive_field`     ``receptive_field_explorer`` (3, fully convolutional networks)
:mod:`.upsampling`          ``show_matrices``, ``plot_transposed_conv_coverage``, its explorer (4)
:mod:`.losses`              distribution-based losses (5), the Tversky trade-off (6), their explorers
:mod:`.fcn`                 ``draw_fcn``, ``plot_fcn_skip_weight``, ``fcn_skip_explorer`` (7)
:mod:`.unet`                ``draw_unet``, the weight map grid and its explorer,
                            ``plot_threshold_sweep`` (8)
:mod:`.unetpp`              ``draw_unetpp_grid``, ``plot_unetpp_pruning``, its explorer (9)
:mod:`.chain`               ``draw_unet_chain``, ``plot_chain_heads``, its explorer (10)
:mod:`.practice`            ``palette_for``, ``error_colours``, ``threshold_explorer`` (12)
==========================  =========================================================================

The model computations behind the figures (feature sizes, logits with scaled skips, pruned or per-head
logits) live in :mod:`segbook.models.probes`; ``unet_feature_sizes`` and ``fcn_logits_with_skip_weight`` are
re-exported here because chapters 7 and 8 call them as ``viz.…``.
"""

from segbook.models.probes import fcn_logits_with_skip_weight, unet_feature_sizes
from segbook.viz.chain import chain_heads_explorer, draw_unet_chain, plot_chain_heads
from segbook.viz.fcn import VARIANT_SKIPS, draw_fcn, fcn_skip_explorer, plot_fcn_skip_weight
from segbook.viz.images import (
    IGNORE_COLOUR,
    PALETTE,
    colorize,
    legend_handles,
    overlay,
    scene_explorer,
    show_four_tasks,
    show_grid,
)
from segbook.viz.losses import (
    distribution_loss_explorer,
    plot_distribution_losses,
    plot_tversky_sweep,
    plot_tversky_tradeoff,
    tversky_demo_masks,
    tversky_explorer,
)
from segbook.viz.patches import patch_explorer
from segbook.viz.practice import error_colours, palette_for, threshold_explorer
from segbook.viz.receptive_field import receptive_field_explorer
from segbook.viz.results import comparison_explorer, plot_confusion, plot_history
from segbook.viz.unet import draw_unet, plot_threshold_sweep, plot_weight_map_grid, weight_map_explorer
from segbook.viz.unetpp import draw_unetpp_grid, plot_unetpp_pruning, unetpp_pruning_explorer
from segbook.viz.upsampling import plot_transposed_conv_coverage, show_matrices, transposed_conv_explorer

__all__ = [
    # images (chapter 1)
    "PALETTE",
    "IGNORE_COLOUR",
    "colorize",
    "overlay",
    "legend_handles",
    "show_grid",
    "show_four_tasks",
    "scene_explorer",
    # results
    "plot_history",
    "plot_confusion",
    "comparison_explorer",
    # sliding window (2), receptive field (3)
    "patch_explorer",
    "receptive_field_explorer",
    # upsampling (4)
    "show_matrices",
    "plot_transposed_conv_coverage",
    "transposed_conv_explorer",
    # losses (5-6)
    "plot_distribution_losses",
    "distribution_loss_explorer",
    "tversky_demo_masks",
    "plot_tversky_tradeoff",
    "plot_tversky_sweep",
    "tversky_explorer",
    # FCN (7)
    "VARIANT_SKIPS",
    "draw_fcn",
    "plot_fcn_skip_weight",
    "fcn_skip_explorer",
    "fcn_logits_with_skip_weight",
    # U-Net (8)
    "draw_unet",
    "unet_feature_sizes",
    "plot_weight_map_grid",
    "weight_map_explorer",
    "plot_threshold_sweep",
    # U-Net++ (9)
    "draw_unetpp_grid",
    "plot_unetpp_pruning",
    "unetpp_pruning_explorer",
    # stacked and coupled U-Nets (10)
    "draw_unet_chain",
    "plot_chain_heads",
    "chain_heads_explorer",
    # segmentation in practice (12)
    "error_colours",
    "palette_for",
    "threshold_explorer",
]
