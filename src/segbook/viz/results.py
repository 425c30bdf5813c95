"""Results of a training run: its curves and its confusion matrix (chapter 1, then every chapter that trains),
and the widget over chapter 11's accuracy-against-cost comparison.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from segbook.conventions import check_bool, check_tensor
from segbook.data import CLASS_NAMES

__all__ = [
    "plot_history",
    "plot_confusion",
    "comparison_explorer",
]


def plot_history(history, metrics: Sequence[str] = ("train_loss", "val_loss", "val_miou"), *, title: str = ""):
    """Training curves: losses on the left axis, validation mIoU (or other [0, 1] metrics) on the right.

    ``history`` is a :class:`segbook.training.History` (anything with ``.records``, a list of dicts with an
    ``epoch`` key) or that list itself.
    """
    import matplotlib.pyplot as plt

    records = getattr(history, "records", history)
    if not isinstance(records, (list, tuple)) or not records or not all(isinstance(r, Mapping) for r in records):
        raise TypeError("history must be a History (with .records) or a non-empty list of dicts, one per epoch")
    epochs = [r["epoch"] for r in records]
    fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
    ax2 = None
    for name in metrics:
        values = [r.get(name) for r in records]
        if all(v is None for v in values):
            continue
        ys = [np.nan if v is None else float(v) for v in values]
        if "loss" in name:
            ax.plot(epochs, ys, marker="o", ms=3, label=name)
        else:
            ax2 = ax2 or ax.twinx()
            ax2.plot(epochs, ys, marker="s", ms=3, ls="--", color="tab:green", label=name)
            ax2.set_ylabel(", ".join(n for n in metrics if "loss" not in n))
            ax2.set_ylim(0, 1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title or "Training history")
    handles, names = ax.get_legend_handles_labels()
    if ax2 is not None:
        h2, n2 = ax2.get_legend_handles_labels()
        handles, names = handles + h2, names + n2
    fig.legend(handles, names, loc="outside lower center", ncol=len(names), fontsize=8, frameon=False)
    return fig


def plot_confusion(
    confusion: torch.Tensor,
    class_names: Sequence[str] = CLASS_NAMES,
    *,
    normalize: bool = True,
    title: str = "Confusion matrix",
):
    """Draw a confusion matrix (rows: true class, columns: predicted class), normalised per row by default.

    With ``normalize=True`` each row sums to 1, so the diagonal is each class's recall (accuracy).
    """
    import matplotlib.pyplot as plt

    check_tensor(confusion, "confusion", ndim=2, shape_hint="(C, C) counts, rows = true class")
    normalize = check_bool(normalize, "normalize")
    if confusion.shape[0] != confusion.shape[1] or confusion.shape[0] != len(class_names):
        raise ValueError(
            f"confusion must be (C, C) with C = len(class_names) = {len(class_names)}, got {tuple(confusion.shape)}"
        )
    cm = confusion.double().cpu()
    if normalize:
        cm = cm / cm.sum(1, keepdim=True).clamp(min=1)
    fig, ax = plt.subplots(figsize=(4.6, 4))
    im = ax.imshow(cm.numpy(), cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            value = cm[i, j].item()
            ax.text(
                j,
                i,
                f"{value:.2f}" if normalize else f"{int(value)}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if value > (0.5 if normalize else cm.max().item() / 2) else "black",
            )
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of the row" if normalize else "pixels")
    fig.tight_layout()
    return fig


def comparison_explorer(comparison):
    """Choose the cost axis (FLOPs, parameters, CPU latency) and the accuracy axis (mIoU, boundary F1) of chapter
    11's accuracy-against-cost figure. ``comparison`` comes from :func:`segbook.compare.compare_architectures`;
    the static counterpart is :func:`segbook.compare.plot_comparison`."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from segbook.compare import ACCURACY_COLUMNS, COST_COLUMNS, plot_comparison

    def show(x: str, y: str) -> None:
        plot_comparison(comparison, x=x, y=y)
        plt.show()

    return w.interactive(
        show,
        x=w.Dropdown(options=list(COST_COLUMNS), value="flops", description="cost"),
        y=w.Dropdown(options=list(ACCURACY_COLUMNS), value="miou", description="accuracy"),
    )
