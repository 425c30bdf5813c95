"""Train every architecture on the same data with the same budget and measure cost and accuracy (chapter 11).

:func:`compare_architectures` is the comparison itself; :func:`foreground_target` turns a data set's classes
into chapter 11's two-class task.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from typing import Callable, Dict, Optional, Sequence, Union

import torch
from torch import nn

from segbook.compare.architectures import ARCHITECTURES, resolve_names
from segbook.compare.results import Comparison, ComparisonRow
from segbook.conventions import (
    IGNORE_INDEX,
    check_choice,
    check_float,
    check_int,
    check_positive_int,
    check_tensor,
    evaluating,
)
from segbook.data import check_dataset_name, load_dataset
from segbook.env import pick_device, seed_everything
from segbook.losses import CrossEntropyLoss, DeepSupervisionLoss, DiceCELoss
from segbook.metrics import SegmentationMetrics, boundary_f1
from segbook.models import model_cost
from segbook.training import fit, predict

__all__ = ["LOSSES", "TARGETS", "foreground_target", "latency_ms_of", "compare_architectures"]

#: The losses every model can be trained with: ``"ce"`` (cross entropy) or ``"dice_ce"`` (Dice + CE, chapter 6).
LOSSES: Dict[str, Callable[[int], nn.Module]] = {
    "ce": lambda ignore: CrossEntropyLoss(ignore_index=ignore),
    "dice_ce": lambda ignore: DiceCELoss(ignore_index=ignore),
}
#: What the models learn to predict: the data set's own classes, or ``"foreground"``: every class but class 0
#: (the background of every data set of the book) merged into one, a two-class task (chapter 6's foreground
#: against background; chapter 9 trains U-Net++ on it).
TARGETS = ("classes", "foreground")


def foreground_target(
    masks: torch.Tensor,
    ignore_index: Optional[int] = IGNORE_INDEX,
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


def latency_ms_of(model: nn.Module, image: torch.Tensor, repeats: int, warmup: int = 2) -> float:
    """Median wall time (ms) of ``repeats`` forward passes of one image on the CPU, after ``warmup`` passes.

    The model is moved to the CPU and timed in evaluation mode (the mode it had is restored).
    """
    model = model.to("cpu")
    times = []
    with torch.no_grad(), evaluating(model):
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
        dataset: a name for :func:`segbook.data.load_dataset` (offline, real data falls back to the embedded
            data with a message; ``settings["dataset"]`` says which was used), or ``"folder:<path>"``: the
            reader's own images and masks (:class:`segbook.data.FolderDataset`; no fallback, a bad folder raises).
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
        ValueError: an unknown architecture name (the message lists the names) or data set name, or a bad budget;
            more images asked for than a folder's split holds.
        FileNotFoundError: a ``"folder:"`` data set that is missing or lacks a file (the message names it).
    """
    chosen = resolve_names(names)
    check_dataset_name(dataset, "dataset")
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
        with torch.no_grad(), evaluating(model):
            supervised_heads = isinstance(model(train_x[:1]), (list, tuple))  # a list: one loss per head
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
            latency_ms=latency_ms_of(model, val_x[:1].cpu(), latency_repeats),
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
