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

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Union

import torch
from torch import nn

from segbook.conventions import check_choice, check_float, check_int, check_positive_int, check_tensor
from segbook.data.real import DATASET_NAMES, load_dataset
from segbook.env import pick_device, seed_everything
from segbook.losses import CrossEntropyLoss, DeepSupervisionLoss, DiceCELoss
from segbook.metrics import SegmentationMetrics, boundary_f1
from segbook.models import (
    CoupledUNets,
    EncoderDecoder,
    FullResolutionFCN,
    SmallSegNet,
    StackedUNets,
    UNet,
    UNetPlusPlus,
    fcn8s,
    fcn16s,
    fcn32s,
    model_cost,
)
from segbook.training import fit, predict

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
    "main",
]

#: Columns that measure what a model costs, and what it buys (x and y of :func:`plot_comparison`).
COST_COLUMNS = ("flops", "parameters", "latency_ms")
ACCURACY_COLUMNS = ("miou", "boundary_f1")
#: The losses every model can be trained with: ``"ce"`` (cross entropy) or ``"dice_ce"`` (Dice + CE, chapter 6).
LOSSES: Dict[str, Callable[[int], nn.Module]] = {
    "ce": lambda ignore: CrossEntropyLoss(ignore_index=ignore),
    "dice_ce": lambda ignore: DiceCELoss(ignore_index=ignore),
}
#: What the models learn to predict: the data set's own classes, or ``"foreground"``: every class but class 0
#: (the background of every data set of the book) merged into one, a two-class task (chapter 6's foreground
#: against background; chapter 9 trains U-Net++ on it).
TARGETS = ("classes", "foreground")
_FCN_WIDTHS = dict(widths=(8, 16, 32, 48, 64), head_width=64)  # the small backbone at half its default widths


@dataclass(frozen=True)
class Architecture:
    """One model of the book: ``Architecture(...)(num_classes)`` builds it with the comparison's small widths."""

    name: str
    chapter: int
    build: Callable[[int], nn.Module]
    description: str

    def __call__(self, num_classes: int) -> nn.Module:
        return self.build(check_positive_int(num_classes, "num_classes"))


_LIST = [
    Architecture(
        "SmallSegNet",
        1,
        lambda c: SmallSegNet(c, width=8),
        "two poolings, bilinear upsampling, one full-resolution skip",
    ),
    Architecture(
        "FullResolutionFCN",
        3,
        lambda c: FullResolutionFCN(c, width=16, layers=4),
        "four 3x3 convolutions at full resolution, no downsampling",
    ),
    Architecture(
        "EncoderDecoder",
        3,
        lambda c: EncoderDecoder(c, width=8, depth=2, up="bilinear"),
        "down twice, bilinear up twice, no skips",
    ),
    Architecture(
        "EncoderDecoder-unpool",
        4,
        lambda c: EncoderDecoder(c, width=8, depth=2, up="max_unpool"),
        "SegNet-style: max unpooling at the remembered argmax positions, no skips",
    ),
    Architecture("FCN-32s", 7, lambda c: fcn32s(c, **_FCN_WIDTHS), "stride-32 scores upsampled 32x at once"),
    Architecture("FCN-16s", 7, lambda c: fcn16s(c, **_FCN_WIDTHS), "+ a skip from pool4"),
    Architecture("FCN-8s", 7, lambda c: fcn8s(c, **_FCN_WIDTHS), "+ skips from pool4 and pool3"),
    Architecture("UNet", 8, lambda c: UNet(c, width=8, depth=3), "concatenation skips at every level"),
    Architecture(
        "UNet++",
        9,
        lambda c: UNetPlusPlus(c, width=8, depth=3),
        "nested dense skips, deep supervision (scored on the last head)",
    ),
    Architecture(
        "StackedUNets",
        10,
        lambda c: StackedUNets(c, width=8, depth=3, stacks=2),
        "two residual U-Nets in series, intermediate supervision",
    ),
    Architecture(
        "CoupledUNets",
        10,
        lambda c: CoupledUNets(c, width=8, depth=3, stacks=2),
        "two U-Nets coupled level by level, intermediate supervision",
    ),
]
#: name → :class:`Architecture`, in the book's order.
ARCHITECTURES: Dict[str, Architecture] = {a.name: a for a in _LIST}


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


def _resolve_names(names: Optional[Sequence[str]]) -> List[str]:
    if names is None:
        return list(ARCHITECTURES)
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise TypeError(f"names must be a list of architecture names, got {type(names).__name__}")
    unknown = [n for n in names if n not in ARCHITECTURES]
    if unknown or not names:
        raise ValueError(
            f"unknown architecture name(s) {unknown}: choose from {', '.join(ARCHITECTURES)}"
            if unknown
            else f"names is empty: choose from {', '.join(ARCHITECTURES)}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"names has duplicates: {list(names)}")
    return list(names)


def foreground_target(
    masks: torch.Tensor,
    ignore_index: Optional[int] = 255,
) -> torch.Tensor:
    """Class masks → foreground masks: 0 stays 0 (background), every other class becomes 1, ``ignore_index``
    stays ``ignore_index`` (still ignored by the loss and the metrics).

    Args:
        masks: int64 (N, H, W) or (H, W) of class ids.
        ignore_index: the id of unlabelled pixels, or ``None``.

    Returns:
        int64 tensor of the same shape with values 0, 1 (and ``ignore_index``).

    Example:
        >>> foreground_target(torch.tensor([[0, 3], [1, 255]])).tolist()
        [[0, 1], [1, 255]]
    """
    check_tensor(
        masks,
        "masks",
        ndim=(2, 3),
        dtype=torch.int64,
        shape_hint="(N, H, W) or (H, W) of class ids",
    )
    binary = (masks != 0).long()
    if ignore_index is not None:
        binary = torch.where(masks == ignore_index, masks, binary)
    return binary


def _latency_ms(model: nn.Module, image: torch.Tensor, repeats: int, warmup: int = 2) -> float:
    """Median wall time (ms) of ``repeats`` forward passes of one image on the CPU, after ``warmup`` passes."""
    model = model.to("cpu").eval()
    times = []
    with torch.no_grad():
        for k in range(warmup + repeats):
            start = time.perf_counter()
            model(image)
            if k >= warmup:
                times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times)


def compare_architectures(
    names: Optional[Sequence[str]] = None,
    *,
    dataset: str = "scenes",
    target: str = "classes",
    size: int = 64,
    train_images: int = 256,
    val_images: int = 64,
    epochs: int = 8,
    batch_size: int = 16,
    lr: float = 1e-2,
    loss: str = "dice_ce",
    seed: int = 0,
    latency_repeats: int = 10,
    device: Union[str, torch.device, None] = None,
    progress: bool = False,
) -> Comparison:
    """Train every architecture in ``names`` on the same data with the same budget and tabulate cost and accuracy.

    The budget: one loss, Adam with a one-cycle schedule (peak learning rate ``lr``, stepped every batch), ``epochs``
    passes over the same ``train_images`` images in the same shuffled order, batches of ``batch_size``; every model
    starts from weights seeded with ``seed``. Accuracy is measured on ``val_images`` other images (``split="val"``).

    Args:
        names: keys of :data:`ARCHITECTURES`; ``None`` for all of them, in the book's order.
        dataset: a name for :func:`segbook.data.real.load_dataset` (offline, real data falls back to the embedded
            data with a message; ``settings["dataset"]`` says which was used).
        target: ``"classes"`` (the data set's classes) or ``"foreground"`` (every class but 0 merged into one:
            two classes, background and foreground; :func:`foreground_target`). See :data:`TARGETS`.
        size: image side in pixels.
        train_images, val_images: how many images to train on and to score on.
        epochs, batch_size, lr: the training budget, the same for every model.
        loss: ``"dice_ce"`` (default: Dice + CE, which gets a rare class off the ground in a short budget better
            than CE alone, chapter 6) or ``"ce"``; see :data:`LOSSES`.
        seed: seeds the data subset, the weights and the shuffling: the accuracy columns repeat exactly on one
            machine with the same number of threads.
        latency_repeats: timed forward passes per model (the median is reported).
        device: where to train (``None``: :func:`segbook.env.pick_device`); latency is always measured on the CPU.
        progress: print one line per model to stderr.

    Returns:
        A :class:`Comparison`.

    Raises:
        ValueError: an unknown architecture name (the message lists the names) or a bad budget.
    """
    chosen = _resolve_names(names)
    check_choice(dataset, "dataset", DATASET_NAMES)
    check_choice(target, "target", TARGETS)
    size = check_int(size, "size", minimum=8)
    train_images, val_images = (
        check_positive_int(train_images, "train_images"),
        check_positive_int(val_images, "val_images"),
    )
    epochs, batch_size = check_positive_int(epochs, "epochs"), check_positive_int(batch_size, "batch_size")
    lr = check_float(lr, "lr", minimum=0.0, strict_minimum=True)
    check_choice(loss, "loss", LOSSES)
    seed = check_int(seed, "seed", minimum=0)
    latency_repeats = check_positive_int(latency_repeats, "latency_repeats")
    device = pick_device(device)

    train_set = load_dataset(dataset, split="train", size=size, num_images=train_images, seed=seed)
    val_set = load_dataset(dataset, split="val", size=size, num_images=val_images, seed=seed)
    num_classes, ignore = train_set.num_classes, train_set.ignore_index
    train_x, train_y = train_set.tensors()
    val_x, val_y = val_set.tensors()
    if target == "foreground":
        num_classes, train_y, val_y = 2, foreground_target(train_y, ignore), foreground_target(val_y, ignore)
    steps = epochs * math.ceil(len(train_x) / batch_size)
    rows = []
    for k, name in enumerate(chosen):
        seed_everything(seed)  # the same initial weights for each
        model = ARCHITECTURES[name](num_classes)
        cost = model_cost(model, (train_x.shape[1], size, size))
        with torch.no_grad():
            supervised_heads = isinstance(model.eval()(train_x[:1]), (list, tuple))  # a list: one loss per head
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(train_x, train_y),
            batch_size=batch_size,
            shuffle=True,
            generator=torch.Generator().manual_seed(seed),
        )  # the same batches
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
        start = time.perf_counter()
        loss_fn = LOSSES[loss](ignore)
        if supervised_heads:
            loss_fn = DeepSupervisionLoss(loss=loss_fn)  # the same loss on every head, averaged
        fit(
            model,
            loader,
            num_classes=num_classes,
            loss_fn=loss_fn,
            optimizer=optimizer,
            scheduler=schedule,
            scheduler_step="batch",
            epochs=epochs,
            device=device,
            seed=seed,
            progress=False,
            ignore_index=ignore,
        )
        train_seconds = time.perf_counter() - start
        predicted = predict(model, val_x)  # the last head of a list, (N, H, W)
        scores = SegmentationMetrics(num_classes, ignore_index=ignore)
        scores.update(predicted, val_y)
        bf = boundary_f1(predicted, val_y, num_classes, tolerance=1.0, ignore_index=ignore)
        row = ComparisonRow(
            name=name,
            chapter=ARCHITECTURES[name].chapter,
            parameters=cost.parameters,
            trainable=cost.trainable,
            flops=cost.flops,
            latency_ms=_latency_ms(model, val_x[:1].cpu(), latency_repeats),
            miou=float(scores.compute()["miou"]),
            boundary_f1=float(torch.nanmean(bf)),
            train_seconds=train_seconds,
        )
        rows.append(row)
        if progress:
            print(
                f"[{k + 1}/{len(chosen)}] {name}: mIoU {row.miou:.3f}, boundary F1 {row.boundary_f1:.3f}, "
                f"{row.flops / 1e6:.1f} MFLOPs, trained in {train_seconds:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    settings = dict(
        dataset=train_set.name,
        target=target,
        size=size,
        train_images=len(train_x),
        val_images=len(val_x),
        num_classes=num_classes,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        loss=loss,
        seed=seed,
        device=str(device),
        threads=torch.get_num_threads(),
    )
    return Comparison(rows, settings)


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


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m segbook.compare`` / ``segbook-compare``: print the Markdown table; optionally save it and the
    figure."""
    parser = argparse.ArgumentParser(
        prog="segbook-compare",
        description=(
            "Train every architecture of the book on the same data with the same budget and print a table of "
            "parameters, FLOPs, CPU latency, mIoU and boundary F1."
        ),
    )
    parser.add_argument(
        "--names", nargs="+", metavar="NAME", help=f"architectures (default: all): {', '.join(ARCHITECTURES)}"
    )
    parser.add_argument("--dataset", default="scenes", choices=DATASET_NAMES)
    parser.add_argument(
        "--target",
        default="classes",
        choices=TARGETS,
        help="the data set's classes, or foreground (every class but 0) against background",
    )
    parser.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--train-images", type=int, default=256)
    parser.add_argument("--val-images", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-2, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--loss", default="dice_ce", choices=list(LOSSES), help="the loss of every model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: the best available)")
    parser.add_argument("--out", metavar="TABLE.md", help="also write the table to this file")
    parser.add_argument("--figure", metavar="FIG.png", help="save the accuracy-against-cost figure")
    parser.add_argument("--x", default="flops", choices=COST_COLUMNS, help="cost axis of the figure")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    for option in ("size", "epochs", "train_images", "val_images", "batch_size"):
        if getattr(args, option) < (8 if option == "size" else 1):
            parser.error(
                f"--{option.replace('_', '-')} must be >= {8 if option == 'size' else 1}, got {getattr(args, option)}"
            )
    if not args.lr > 0:
        parser.error(f"--lr must be > 0, got {args.lr}")
    if args.names:
        try:
            _resolve_names(args.names)
        except ValueError as error:
            parser.error(str(error))
    comparison = compare_architectures(
        args.names,
        dataset=args.dataset,
        target=args.target,
        size=args.size,
        epochs=args.epochs,
        train_images=args.train_images,
        val_images=args.val_images,
        batch_size=args.batch_size,
        lr=args.lr,
        loss=args.loss,
        seed=args.seed,
        device=args.device,
        progress=not args.quiet,
    )
    table = comparison.to_markdown()
    s = comparison.settings
    caption = (
        f"Data: {s['dataset']}, target {s['target']} ({s['num_classes']} classes; {s['train_images']} "
        f"training and {s['val_images']} validation images, {s['size']} px); {s['epochs']} epochs, "
        f"batch {s['batch_size']}, Adam one-cycle lr {s['lr']}, loss {s['loss']}, seed {s['seed']}; "
        f"latency on the CPU with {s['threads']} thread(s)."
    )
    print(table + "\n\n" + caption)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(table + "\n\n" + caption + "\n")
    if args.figure:
        import matplotlib.pyplot as plt

        fig = plot_comparison(comparison, x=args.x)
        fig.savefig(args.figure, dpi=120)
        plt.close(fig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
