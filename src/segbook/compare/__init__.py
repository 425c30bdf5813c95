"""Every architecture of the book on the same data with the same training budget (chapter 11, "So sánh kết quả").

One function, :func:`compare_architectures`, trains each model from scratch with the same optimiser, schedule,
batches and number of epochs, then measures what it costs and what it buys:

- **parameters** (all, as :func:`segbook.models.model_cost` counts them, frozen ones included) and
  **trainable** parameters;
- **FLOPs** of one forward pass on one image of ``size x size`` (two per multiply-accumulate);
- **latency_ms**: the median wall time of several forward passes of one image (batch 1) on the CPU, after a
  warm-up. It depends on the machine, its load and the number of threads: compare rows of one table only;
- **miou** on held-out images, and **boundary_f1**, the mean over classes of the boundary F1 score
  (:func:`segbook.metrics.boundary_f1`, tolerance 1 pixel): how well the predicted contours match;
- **train_seconds**: the wall time of training (machine-dependent, like latency).

Models with deep or intermediate supervision (U-Net++, stacked and coupled U-Nets) train with
:class:`segbook.losses.DeepSupervisionLoss` (the same loss on every head, averaged) and are **scored on their last
head**, the network's final output, as :func:`segbook.training.evaluate` does; averaging the heads
(:class:`segbook.models.AverageHeads`) is another choice, not the one made here. Their FLOPs and latency are those
of the full network (every head computed).

The task is the data set's own classes (``target="classes"``) or **foreground against background**
(``target="foreground"``: every class but 0 becomes class 1, :func:`foreground_target`). On the embedded scenes at
32 x 32 pixels, a few epochs are not enough for most models to leave the trivial "background everywhere" answer
on the five classes, while the two-class task separates the architectures (chapter 11).

The package's modules: :mod:`~segbook.compare.architectures` (the models and their small widths),
:mod:`~segbook.compare.run` (the training and the measurements), :mod:`~segbook.compare.results` (the table,
the Pareto front and the figure) and :mod:`~segbook.compare.cli` (the command line); every public name is
importable from ``segbook.compare``.

From the command line (the table goes to stdout, progress to stderr)::

    python -m segbook.compare --size 64 --epochs 8 --out table.md --figure comparison.png
    python -m segbook.compare --target foreground --size 32 --epochs 4 --batch-size 8   # chapter 11's run
    segbook-compare --names UNet FCN-8s --dataset oxford_pet --epochs 20

Example:
    >>> result = compare_architectures(["SmallSegNet", "FCN-8s"], size=16, train_images=4, val_images=2,
    ...                                epochs=1, device="cpu")
    >>> [row.name for row in result.rows], 0.0 <= result.rows[0].miou <= 1.0
    (['SmallSegNet', 'FCN-8s'], True)
"""

from segbook.compare.architectures import ARCHITECTURES, Architecture, resolve_names
from segbook.compare.cli import main
from segbook.compare.results import (
    ACCURACY_COLUMNS,
    COST_COLUMNS,
    Comparison,
    ComparisonRow,
    pareto_front,
    plot_comparison,
)
from segbook.compare.run import LOSSES, TARGETS, compare_architectures, foreground_target

__all__ = [
    "Architecture",
    "ARCHITECTURES",
    "ComparisonRow",
    "Comparison",
    "compare_architectures",
    "pareto_front",
    "plot_comparison",
    "COST_COLUMNS",
    "ACCURACY_COLUMNS",
    "LOSSES",
    "TARGETS",
    "foreground_target",
    "resolve_names",
    "main",
]
