"""What a comparison found: its table (:class:`Comparison`), the Pareto front and the accuracy-against-cost figure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Sequence

from segbook.conventions import check_choice

__all__ = ["COST_COLUMNS", "ACCURACY_COLUMNS", "ComparisonRow", "Comparison", "pareto_front", "plot_comparison"]

#: Columns that measure what a model costs, and what it buys (x and y of :func:`plot_comparison`).
COST_COLUMNS = ("flops", "parameters", "latency_ms")
ACCURACY_COLUMNS = ("miou", "boundary_f1")


@dataclass(frozen=True)
class ComparisonRow:
    """One architecture's line of the table (see the module docstring for what each column measures)."""

    name: str
    chapter: int
    parameters: int
    trainable: int
    flops: int
    latency_ms: float
    miou: float
    boundary_f1: float
    train_seconds: float


@dataclass
class Comparison:
    """The result of :func:`compare_architectures`: ``rows`` (one :class:`ComparisonRow` per model, in the order
    asked) and ``settings`` (data set actually used, size, image counts, epochs, ..., threads)."""

    rows: List[ComparisonRow]
    settings: dict = field(default_factory=dict)

    def column(self, name: str) -> Dict[str, float]:
        """``{architecture: value}`` for one column, e.g. ``comparison.column("miou")``."""
        check_choice(name, "column", [f for f in ComparisonRow.__dataclass_fields__ if f != "name"])
        return {row.name: getattr(row, name) for row in self.rows}

    def to_markdown(self) -> str:
        """The table in Markdown: parameters in thousands, FLOPs in millions, latency in ms, accuracies."""
        lines = [
            "| architecture | chapter | parameters (k) | trainable (k) | MFLOPs | CPU latency (ms) | mIoU "
            "| boundary F1 | training (s) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in self.rows:
            lines.append(
                f"| {r.name} | {r.chapter} | {r.parameters / 1e3:.1f} | {r.trainable / 1e3:.1f} "
                f"| {r.flops / 1e6:.1f} | {r.latency_ms:.2f} | {r.miou:.3f} | {r.boundary_f1:.3f} "
                f"| {r.train_seconds:.1f} |"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Comparison({len(self.rows)} architectures, {self.settings})"


def pareto_front(costs: Sequence[float], scores: Sequence[float]) -> List[int]:
    """Indices of the points (cost, score) that no other point dominates, sorted by cost.

    Point ``j`` dominates point ``i`` when it costs no more and scores no less, and is better in at least one:
    ``costs[j] <= costs[i]`` and ``scores[j] >= scores[i]``, one of them strict. The front is what a designer
    chooses from: every other model is beaten by one that is cheaper, better, or both. Equal points are kept
    (neither dominates the other).

    Example:
        >>> pareto_front([1, 2, 3, 4], [0.5, 0.4, 0.7, 0.7])   # 2 is beaten by 1; 4 by 3
        [0, 2]
    """
    if len(costs) != len(scores):
        raise ValueError(f"costs and scores must have the same length, got {len(costs)} and {len(scores)}")
    points = list(zip(costs, scores))
    front = [
        i for i, (c, s) in enumerate(points) if not any(c2 <= c and s2 >= s and (c2 < c or s2 > s) for c2, s2 in points)
    ]
    return sorted(front, key=lambda i: (costs[i], i))


_AXIS_LABELS = {
    "flops": "FLOPs per image (log scale)",
    "parameters": "parameters (log scale)",
    "latency_ms": "CPU latency per image, ms (log scale)",
    "miou": "mIoU on held-out images",
    "boundary_f1": "boundary F1 (tolerance 1 px)",
}


def plot_comparison(comparison: Comparison, x: str = "flops", y: str = "miou", *, ax=None, front: bool = True):
    """Accuracy against cost: one labelled point per architecture, log x axis, the Pareto front as a dashed line.

    Args:
        comparison: from :func:`compare_architectures`.
        x: a cost column, one of :data:`COST_COLUMNS`.
        y: an accuracy column, one of :data:`ACCURACY_COLUMNS`.
        ax: a matplotlib axes to draw into (default: a new figure).
        front: draw the Pareto front (:func:`pareto_front`).

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    if not isinstance(comparison, Comparison):
        raise TypeError(
            f"comparison must be a Comparison (from compare_architectures), got {type(comparison).__name__}"
        )
    check_choice(x, "x", COST_COLUMNS)
    check_choice(y, "y", ACCURACY_COLUMNS)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    xs = [float(getattr(r, x)) for r in comparison.rows]
    ys = [float(getattr(r, y)) for r in comparison.rows]
    cmap = plt.get_cmap("tab10")
    chapters = sorted({r.chapter for r in comparison.rows})
    for k, (r, xv, yv) in enumerate(zip(comparison.rows, xs, ys)):
        ax.scatter(xv, yv, s=45, color=cmap(chapters.index(r.chapter) % 10), zorder=3, label=f"chapter {r.chapter}")
        ax.annotate(
            r.name, (xv, yv), textcoords="offset points", xytext=(5, 4 if k % 2 == 0 else -11), fontsize=8
        )  # alternate above/below: models of one family often share a cost
    if front and comparison.rows:
        best = pareto_front(xs, ys)
        ax.plot([xs[i] for i in best], [ys[i] for i in best], "--", color="grey", lw=1, zorder=2, label="Pareto front")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=8, loc="best")
    ax.set_xscale("log")
    ax.set_xlabel(_AXIS_LABELS[x])
    ax.set_ylabel(_AXIS_LABELS[y])
    s = comparison.settings
    task = "" if s.get("target", "classes") == "classes" else f" ({s['target']})"
    ax.set_title(
        f"Accuracy against cost: {s.get('dataset', '?')}{task}, {s.get('size', '?')} px, {s.get('epochs', '?')} epochs",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.figure.tight_layout()
    return ax.figure
