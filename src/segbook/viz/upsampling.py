"""Chapter 4, upsampling: small matrices drawn as the slides draw them, which output cells a transposed
convolution writes (the checkerboard), and a widget over the transposed convolution's settings."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch

from segbook.conventions import check_float
from segbook.ops import conv_transpose_coverage, conv_transpose_output_size

__all__ = [
    "show_matrices",
    "plot_transposed_conv_coverage",
    "transposed_conv_explorer",
]


def show_matrices(
    matrices: Sequence,
    titles: Sequence[str],
    *,
    suptitle: Optional[str] = None,
    highlight: Optional[Sequence] = None,
    cmap: str = "Blues",
    size_per_cell: float = 0.42,
    max_width: float = 7.0,
):
    """Small matrices drawn as the slides draw them: a grid of cells with the value written in each.

    Args:
        matrices: 2-D tensors or arrays (e.g. the slides' 2x2 input and 4x4 output), shown left to right.
        titles: one title per matrix.
        suptitle: the figure's title.
        highlight: optional, per matrix, a boolean mask of the cells to outline in red (or ``None``).
        cmap: colour map for the cells' shading (by value, per matrix).
        size_per_cell: inches per cell, shrunk if needed so that the figure fits ``max_width``.
        max_width: the widest the figure may be, in inches (7: the book's text column).

    Returns:
        The figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    arrays = [np.asarray(m.detach().cpu() if isinstance(m, torch.Tensor) else m, dtype=np.float64) for m in matrices]
    if len(arrays) != len(titles):
        raise ValueError(f"got {len(arrays)} matrices but {len(titles)} titles")
    for a in arrays:
        if a.ndim != 2:
            raise ValueError(f"every matrix must be 2-D, got shape {a.shape}")
    widths = [max(a.shape[1], 2) for a in arrays]
    height = max(a.shape[0] for a in arrays)
    max_width = check_float(max_width, "max_width", minimum=3.0)
    size_per_cell = check_float(size_per_cell, "size_per_cell", minimum=0.0, strict_minimum=True)
    units = sum(widths) + 1.5 * len(arrays)  # cells, plus room for the gaps between panels
    size_per_cell = min(size_per_cell, max_width / units)  # fit the text column
    fig, axes = plt.subplots(
        1,
        len(arrays),
        figsize=(min(max(size_per_cell * units, 3), max_width), size_per_cell * height + 1.3),
        gridspec_kw={"width_ratios": widths},
        squeeze=False,
    )
    for k, (ax, a, title) in enumerate(zip(axes[0], arrays, titles)):
        finite = a[np.isfinite(a)]
        top = float(np.abs(finite).max()) if finite.size else 1.0
        ax.imshow(np.abs(a), cmap=cmap, vmin=0, vmax=top * 1.6 if top > 0 else 1.0)
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                v = a[i, j]
                text = f"{int(v)}" if float(v).is_integer() else f"{v:.2f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=9)
        if highlight is not None and highlight[k] is not None:
            mask = np.asarray(highlight[k])
            for i, j in zip(*np.nonzero(mask)):
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2))
        ax.set_xticks(np.arange(-0.5, a.shape[1], 1), minor=True)
        ax.set_yticks(np.arange(-0.5, a.shape[0], 1), minor=True)
        ax.grid(which="minor", color="black", lw=0.8)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        ax.set_title(f"{title}\n{a.shape[0]} x {a.shape[1]}", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def plot_transposed_conv_coverage(
    size: int,
    kernel_size: int,
    stride: int,
    padding: int = 0,
    output_padding: int = 0,
    *,
    cell: Optional[Sequence[int]] = None,
    ax=None,
):
    """Which output cells each input cell of a 2-D transposed convolution writes, and how many write each cell.

    The grid is the *full* scatter result, :math:`(n - 1)s + k` cells a side plus ``output_padding``; the number
    in each cell counts the input cells that write it (uneven numbers are the checkerboard). The thick frame is
    the output that survives: ``padding`` crops from each side, ``output_padding`` adds at the bottom/right.
    The red cells are those written by input ``cell`` (row, column), default (0, 0).

    Returns:
        The figure (drawn on ``ax`` if given).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    out = conv_transpose_output_size(size, kernel_size, stride, padding, output_padding)  # validates
    full = conv_transpose_coverage(size, kernel_size, stride)  # (size, (n-1)s + k): no cropping
    total = max(full.shape[1], padding + out)  # output padding may reach past the full result (zeros there)
    counts = np.zeros(total, dtype=np.int64)
    counts[: full.shape[1]] = full.sum(0).numpy()
    grid = counts[:, None] * counts[None, :]  # 2-D counts: rows times columns
    r, c = (0, 0) if cell is None else (int(cell[0]), int(cell[1]))
    if not (0 <= r < size and 0 <= c < size):
        raise ValueError(f"cell must be (row, column) inside the {size}x{size} input, got {cell!r}")
    if ax is None:  # at most 7 inches (the book's text column), text at 8 pt or more
        side = min(0.36, 5.8 / total)
        fig, ax = plt.subplots(figsize=(max(3.2, side * total + 1.2), max(3.4, side * total + 1.5)))
    else:
        fig = ax.figure
    ax.imshow(grid, cmap="Greys", vmin=0, vmax=max(int(grid.max()), 4) * 1.6)
    rows, cols = np.nonzero(full[r].numpy())[0], np.nonzero(full[c].numpy())[0]
    for row in rows:
        for col in cols:
            ax.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, color="tab:red", alpha=0.45, lw=0))
    for i in range(total):
        for j in range(total):
            ax.text(j, i, str(grid[i, j]), ha="center", va="center", fontsize=8)
    ax.add_patch(Rectangle((padding - 0.5, padding - 0.5), out, out, fill=False, ec="tab:blue", lw=2.5))
    ax.set_xticks(range(total), [str(j - padding) for j in range(total)], fontsize=8)
    ax.set_yticks(range(total), [str(i - padding) for i in range(total)], fontsize=8)
    ax.set_xlabel("output column (blue: kept)", fontsize=9)
    ax.set_ylabel("output row", fontsize=9)
    ax.set_title(
        f"k={kernel_size}, s={stride}, p={padding}, op={output_padding}: {size}x{size} -> {out}x{out}\n"
        f"red: what input ({r}, {c}) writes",
        fontsize=9,
    )
    return fig


def transposed_conv_explorer():
    """Sliders for a 2-D transposed convolution: input size, kernel, stride, padding, output padding and one input
    cell; shows the output size (the formula evaluated) and which output cells that input cell writes.

    The static counterpart is :func:`segbook.viz.plot_transposed_conv_coverage`. Returns an ``ipywidgets`` widget.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    def show(size: int, kernel_size: int, stride: int, padding: int, output_padding: int, row: int, col: int) -> None:
        try:
            out = conv_transpose_output_size(size, kernel_size, stride, padding, output_padding)
        except ValueError as error:
            print(f"not a valid setting: {error}")
            return
        print(
            f"output size = (n - 1)s - 2p + k + op = ({size} - 1)*{stride} - 2*{padding} + {kernel_size} + "
            f"{output_padding} = {out}"
        )
        fig = plot_transposed_conv_coverage(
            size, kernel_size, stride, padding, output_padding, cell=(min(row, size - 1), min(col, size - 1))
        )
        fig.tight_layout()
        plt.show()

    return w.interactive(
        show,
        size=w.IntSlider(value=2, min=1, max=6, description="input n"),
        kernel_size=w.IntSlider(value=3, min=1, max=5, description="kernel k"),
        stride=w.IntSlider(value=2, min=1, max=4, description="stride s"),
        padding=w.IntSlider(value=1, min=0, max=3, description="padding p"),
        output_padding=w.IntSlider(value=1, min=0, max=3, description="out. pad."),
        row=w.IntSlider(value=0, min=0, max=5, description="input row"),
        col=w.IntSlider(value=0, min=0, max=5, description="input col"),
    )
