"""One small training loop that every chapter uses: :func:`fit`, :func:`evaluate`, :func:`predict`.

The loop is the textbook one (forward, loss, backward, step), written out so that a student can
read all of it; what the chapters vary is the model and the loss. Data come as any re-iterable
collection of ``(images, masks)`` batches: a ``DataLoader``, or simply a list of pairs. A batch may
also be a triple ``(images, masks, pixel_weights)`` (the U-Net paper's weight map, chapter 8); the
loss is then ``loss_fn(output, masks, pixel_weights)``.
Shapes: images ``(N, C_in, H, W)`` float, masks ``(N, H, W)`` int64 with values in ``[0, C)`` or
the ignore index, pixel weights ``(N, H, W)`` float, model outputs (logits) ``(N, C, H, W)``.

Example:
    >>> import torch
    >>> from torch import nn
    >>> x = torch.rand(4, 1, 8, 8); y = (x[:, 0] > 0.5).long()          # threshold task
    >>> model = nn.Conv2d(1, 2, kernel_size=1)
    >>> history = fit(model, [(x, y)], num_classes=2, epochs=3, progress=False)
    >>> len(history), sorted(history.last())[:3]
    (3, ['epoch', 'lr', 'seconds'])
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, Union

import torch
from torch import nn
from tqdm.auto import tqdm

from segbook.conventions import check_choice, check_float, check_int, check_positive_int, check_same_shape, check_tensor
from segbook.env import pick_device, seed_everything
from segbook.metrics import SegmentationMetrics

__all__ = ["History", "fit", "evaluate", "predict"]

Batches = Iterable  # of (images (N, C_in, H, W), masks (N, H, W)) pairs
Output = Union[torch.Tensor, Sequence[torch.Tensor]]  # logits, or a deep-supervision list of logits
_HIGHER_IS_BETTER = ("miou", "accuracy", "dice")


@dataclass
class History:
    """What happened in each epoch of :func:`fit`.

    ``records`` is a list with one dict per epoch, with keys ``epoch`` (1, 2, ...),
    ``train_loss`` (mean of the batch losses, weighted by batch size), ``train_miou`` (of the
    predictions made while training), ``val_loss``, ``val_miou``, ``val_pixel_accuracy`` (NaN
    without validation data), ``seconds`` (the epoch's wall time, validation included) and
    ``lr`` (the first parameter group's learning rate during the epoch). ``stop_reason`` is
    ``"epochs"``, ``"time_budget"`` or
    ``"callback"`` (``on_epoch_end`` asked to stop). ``segbook.viz.plot_history`` draws it.

    Example:
        >>> h = History([{"epoch": 1, "val_miou": 0.5}, {"epoch": 2, "val_miou": 0.7}])
        >>> h.best("val_miou")["epoch"], h.as_dict()["val_miou"]
        (2, [0.5, 0.7])
    """

    records: list = field(default_factory=list)
    stop_reason: str = ""

    def __len__(self) -> int:
        return len(self.records)

    def as_dict(self) -> dict:
        """Column view: ``{"train_loss": [epoch 1, epoch 2, ...], ...}``."""
        keys = list(dict.fromkeys(k for r in self.records for k in r))
        return {k: [r.get(k, math.nan) for r in self.records] for k in keys}

    def to_rows(self) -> list:
        """Row view: a copy of ``records``, one dict per epoch (e.g. for ``pandas.DataFrame``)."""
        return [dict(r) for r in self.records]

    def last(self) -> dict:
        """The record of the final epoch."""
        if not self.records:
            raise ValueError("History is empty: no epoch has been recorded")
        return dict(self.records[-1])

    def best(self, metric: str = "val_miou", mode: Optional[str] = None) -> dict:
        """The record of the epoch with the best ``metric`` (NaN values are skipped).

        ``mode`` is ``"max"`` or ``"min"``; by default ``"max"`` for names containing
        ``miou``/``accuracy``/``dice`` and ``"min"`` otherwise (losses).
        """
        if mode is None:
            mode = "max" if any(word in metric for word in _HIGHER_IS_BETTER) else "min"
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        known = sorted({k for r in self.records for k in r})
        if metric not in known:
            raise ValueError(f"metric must be one of {', '.join(known) or '(none: History is empty)'}; got {metric!r}")
        scored = [r for r in self.records if r.get(metric) is not None and not math.isnan(r[metric])]
        if not scored:
            raise ValueError(f"no epoch has a value for {metric!r} (was val_data given to fit?)")
        pick = max if mode == "max" else min
        return dict(pick(scored, key=lambda r: r[metric]))

    def __repr__(self) -> str:
        if not self.records:
            return "History(0 epochs)"
        shown = ", ".join(
            f"{k}={v:.4g}"
            for k, v in self.records[-1].items()
            if k != "epoch" and isinstance(v, float) and not math.isnan(v)
        )
        return f"History({len(self)} epochs, stopped by {self.stop_reason or '?'}; last: {shown})"


def _check_batches(data: object, name: str) -> None:
    if isinstance(data, torch.Tensor) or not isinstance(data, Iterable):
        raise TypeError(f"{name} must be a DataLoader or a list of (images, masks) batches, got {type(data).__name__}")
    if iter(data) is data:  # type: ignore[call-overload]
        raise TypeError(
            f"{name} is an iterator, which is used up after one pass; pass a DataLoader "
            f"or a list of (images, masks) batches"
        )


def _unpack(
    batch: object, device: torch.device, name: str
) -> tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
    """(images, masks) or (images, masks, pixel_weights), checked and moved to ``device``; weights None if absent."""
    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise TypeError(
            f"each batch of {name} must be a pair (images, masks) or a triple (images, masks, "
            f"pixel_weights), got {type(batch).__name__}"
            + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
        )
    images, masks, *rest = batch
    check_tensor(images, f"images in {name}", ndim=4, dtype="float", shape_hint="(N, C_in, H, W)")
    check_tensor(masks, f"masks in {name}", ndim=3, dtype="int", shape_hint="(N, H, W)")
    weights = None
    if rest:
        weights = check_tensor(rest[0], f"pixel_weights in {name}", ndim=3, dtype="float", shape_hint="(N, H, W)")
        check_same_shape(weights, f"pixel_weights in {name}", masks, "masks")
        weights = weights.to(device)
    return images.to(device), masks.to(device, dtype=torch.long), weights  # cross entropy wants int64 targets


def _logits(output: Output, masks: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The tensor to score: the output itself, or the last one of a deep-supervision list."""
    last = output[-1] if isinstance(output, (list, tuple)) else output
    logits = check_tensor(last, "the model's output", ndim=4, dtype="float", shape_hint="(N, C, H, W)")
    n, c, h, w = logits.shape
    if c != num_classes or (n, h, w) != tuple(masks.shape):
        raise ValueError(
            f"the model's output has shape {tuple(logits.shape)} but masks have shape "
            f"{tuple(masks.shape)} and num_classes={num_classes}: expected logits "
            f"{(masks.shape[0], num_classes, *masks.shape[1:])} at the input's size"
        )
    return logits


def _loss(
    loss_fn: Optional[Callable],
    output: Output,
    masks: torch.Tensor,
    ignore_index: int,
    weights: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    if weights is not None:
        if loss_fn is None:
            raise TypeError(
                "the batches carry pixel weights (images, masks, pixel_weights): pass a "
                "loss_fn(output, masks, pixel_weights), e.g. "
                "segbook.losses.weight_map.weighted_pixel_cross_entropy"
            )
        return loss_fn(output, masks, weights)
    if loss_fn is not None:
        return loss_fn(output, masks)
    if not isinstance(output, torch.Tensor):
        raise TypeError(
            f"the model returned a list of {len(output)} outputs (deep supervision); pass a "
            "loss_fn that takes the list, e.g. the mean of cross-entropies over the outputs"
        )
    return nn.functional.cross_entropy(output, masks, ignore_index=ignore_index)


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def fit(
    model: nn.Module,
    train_data: Batches,
    *,
    num_classes: int,
    loss_fn: Optional[Callable] = None,
    optimizer: Optional[torch.optim.Optimizer] = None,
    lr: Optional[float] = None,
    schedule: Optional[str] = None,
    epochs: Optional[int] = None,
    time_budget: Optional[float] = None,
    val_data: Optional[Batches] = None,
    device: Union[str, torch.device, None] = None,
    seed: Optional[int] = 0,
    progress: bool = True,
    scheduler: Optional[Any] = None,
    scheduler_step: str = "epoch",
    ignore_index: int = 255,
    on_epoch_start: Optional[Callable[[int], None]] = None,
    on_epoch_end: Optional[Callable[[dict], Optional[bool]]] = None,
) -> History:
    """Train ``model`` by mini-batch gradient descent and return its :class:`History`.

    Each step minimises the mean per-pixel loss of a batch, by default the cross entropy

    .. math:: L = -\\frac{1}{|P|} \\sum_{p \\in P} \\log \\operatorname{softmax}(z_p)_{y_p}

    over the pixels :math:`P` whose label is not ``ignore_index``. After each epoch the model is
    scored on ``val_data`` with :func:`evaluate`, and ``scheduler.step()`` is called (with the
    validation loss, or the training loss, for ``ReduceLROnPlateau``).

    Stopping: after ``epochs`` epochs, or after the epoch during which ``time_budget`` seconds
    have passed since the start, whichever comes first. A time budget makes the result depend
    on the machine (a GPU does more epochs in the same time), so the book's notebooks give
    ``epochs``; the budget is for comparing models fairly on one machine (chapter 11).

    Learning rate: ``lr`` is the learning rate of the default Adam optimizer, and the peak of the
    schedule. ``schedule="one-cycle"`` is :class:`torch.optim.lr_scheduler.OneCycleLR` stepped after
    every batch (warm up to ``lr`` over the first 30 % of the steps, then anneal to about
    ``lr / 10**4``), ``"cosine"`` is :class:`~torch.optim.lr_scheduler.CosineAnnealingLR` from ``lr``
    to 0 over all the steps, ``None`` or ``"constant"`` keeps ``lr``. Both schedules need ``epochs``
    and a ``train_data`` with a length (they must know the number of steps in advance). For any
    other schedule, build it yourself and pass it as ``scheduler``.

    Callbacks: ``on_epoch_start(epoch)`` runs before each epoch (``epoch`` = 1, 2, ...), e.g. to
    change a loss's weights as training goes; ``on_epoch_end(record)`` runs after each epoch with that
    epoch's record (see :class:`History`) and stops training when it returns ``True`` (early
    stopping; ``stop_reason`` is then ``"callback"``).

    Reproducibility: ``seed`` reseeds every generator (:func:`segbook.env.seed_everything`) just
    before the first epoch, which fixes shuffling, dropout and augmentation; seed again *before
    building the model* to fix its initial weights too.

    Args:
        model: maps images ``(N, C_in, H, W)`` to logits ``(N, C, H, W)``; a list of such tensors
            (deep supervision) is scored on its last entry and needs a ``loss_fn`` taking the list.
        train_data: a ``DataLoader`` or a list of ``(images, masks)`` batches, reused every epoch;
            or of ``(images, masks, pixel_weights)`` triples, for a per-pixel weighted loss.
        num_classes: ``C``.
        loss_fn: ``loss_fn(output, masks) -> scalar``; default cross entropy ignoring
            ``ignore_index``. With triples it is required and called as
            ``loss_fn(output, masks, pixel_weights)``.
        optimizer: default ``torch.optim.Adam(model.parameters(), lr=lr)``.
        lr: learning rate (> 0) of the default optimizer, default ``1e-3``; with your own
            ``optimizer``, set its learning rate there instead (giving both is an error).
        schedule: ``None``/``"constant"``, ``"one-cycle"`` or ``"cosine"`` (see Learning rate).
        epochs: number of epochs (>= 1).
        time_budget: seconds (> 0); at least one of ``epochs`` and ``time_budget`` is required.
        val_data: batches for validation after each epoch, or ``None``.
        device: ``None`` for :func:`segbook.env.pick_device`; the model is moved there and stays.
        seed: see Reproducibility; ``None`` to leave the generators alone.
        progress: show one ``tqdm`` bar over epochs with the latest loss and mIoU.
        scheduler: a ``torch.optim.lr_scheduler`` object, stepped once per epoch, or once per batch with
            ``scheduler_step="batch"`` (what ``OneCycleLR`` expects: give it
            ``total_steps=epochs * len(train_data)``).
        scheduler_step: ``"epoch"`` (default) or ``"batch"``.
        ignore_index: mask value of unlabelled pixels, skipped by the default loss and the metrics.
        on_epoch_start: called as ``on_epoch_start(epoch)`` before each epoch, or ``None``.
        on_epoch_end: called as ``on_epoch_end(record)`` after each epoch; returning ``True`` stops.

    Returns:
        A :class:`History`; the model is left on ``device`` in eval mode, ready for :func:`predict`.

    Raises:
        TypeError, ValueError: bad arguments or batches (the message says which).
        FloatingPointError: the loss became NaN or infinite (lower the learning rate).

    Example:
        >>> x = torch.rand(4, 1, 8, 8); y = (x[:, 0] > 0.5).long()
        >>> h = fit(nn.Conv2d(1, 2, 1), [(x, y)], num_classes=2, epochs=2, val_data=[(x, y)],
        ...         progress=False)
        >>> [r["epoch"] for r in h.records], 0.0 <= h.last()["val_miou"] <= 1.0
        ([1, 2], True)
        >>> h = fit(nn.Conv2d(1, 2, 1), [(x, y)] * 4, num_classes=2, epochs=3, lr=1e-2,
        ...         schedule="one-cycle", on_epoch_end=lambda record: record["epoch"] == 2,
        ...         progress=False)
        >>> len(h), h.stop_reason
        (2, 'callback')
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_batches(train_data, "train_data")
    if val_data is not None:
        _check_batches(val_data, "val_data")
    num_classes = check_positive_int(num_classes, "num_classes")
    if epochs is None and time_budget is None:
        raise ValueError("give epochs (e.g. epochs=5) or time_budget (seconds), or both, to say when to stop")
    epochs = None if epochs is None else check_positive_int(epochs, "epochs")
    time_budget = (
        None if time_budget is None else check_float(time_budget, "time_budget", minimum=0, strict_minimum=True)
    )
    check_choice(scheduler_step, "scheduler_step", ("epoch", "batch"))
    if scheduler_step == "batch" and isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        raise ValueError("ReduceLROnPlateau watches a loss once per epoch: use scheduler_step='epoch' with it")
    if optimizer is not None and lr is not None:
        raise ValueError(
            "lr sets the learning rate of the default Adam optimizer; you passed your own "
            "optimizer: set the learning rate when you build it and leave lr out"
        )
    lr = 1e-3 if lr is None else check_float(lr, "lr", minimum=0, strict_minimum=True)
    for hook, hook_name in ((on_epoch_start, "on_epoch_start"), (on_epoch_end, "on_epoch_end")):
        if hook is not None and not callable(hook):
            raise TypeError(f"{hook_name} must be a function (or None), got {type(hook).__name__}")
    steps = _check_schedule(schedule, scheduler, epochs, train_data)
    device = pick_device(device)
    if seed is not None:
        seed_everything(seed)
    model.to(device)
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    if steps:
        scheduler, scheduler_step = _named_scheduler(schedule, optimizer, steps), "batch"
    history, start = History(), time.perf_counter()
    with tqdm(total=epochs, desc="fit", unit="epoch", disable=not progress) as bar:
        while not history.stop_reason:
            epoch, epoch_start = len(history) + 1, time.perf_counter()
            if on_epoch_start is not None:
                on_epoch_start(epoch)
            lr = float(optimizer.param_groups[0]["lr"])
            batch_scheduler = scheduler if scheduler_step == "batch" else None
            train_loss, train_miou = _train_one_epoch(
                model, train_data, optimizer, loss_fn, num_classes, ignore_index, device, epoch, batch_scheduler
            )
            record = {
                "epoch": epoch,
                "train_loss": train_loss,
                "train_miou": train_miou,
                "val_loss": math.nan,
                "val_miou": math.nan,
                "val_pixel_accuracy": math.nan,
            }
            if val_data is not None:
                val = evaluate(
                    model, val_data, num_classes=num_classes, device=device, loss_fn=loss_fn, ignore_index=ignore_index
                )
                record.update(val_loss=val["loss"], val_miou=val["miou"], val_pixel_accuracy=val["pixel_accuracy"])
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(train_loss if val_data is None else record["val_loss"])
            elif scheduler is not None and scheduler_step == "epoch":
                scheduler.step()
            record.update(seconds=time.perf_counter() - epoch_start, lr=lr)
            history.records.append(record)
            shown = "train" if val_data is None else "val"
            bar.set_postfix(
                {"loss": f"{train_loss:.3f}", f"{shown}_mIoU": f"{record[shown + '_miou']:.3f}"}, refresh=False
            )
            bar.update(1)
            if on_epoch_end is not None and on_epoch_end(dict(record)) is True:
                history.stop_reason = "callback"
            elif epochs is not None and epoch >= epochs:
                history.stop_reason = "epochs"
            elif time_budget is not None and time.perf_counter() - start >= time_budget:
                history.stop_reason = "time_budget"
    model.eval()
    return history


SCHEDULES = ("constant", "one-cycle", "cosine")


def _check_schedule(
    schedule: Optional[str], scheduler: Optional[Any], epochs: Optional[int], train_data: Batches
) -> int:
    """The number of optimizer steps a named schedule spans (0 for none), after checking it can be built."""
    if schedule is None:
        return 0
    check_choice(schedule, "schedule", SCHEDULES)
    if schedule == "constant":
        return 0
    if scheduler is not None:
        raise ValueError(f"give schedule={schedule!r} or your own scheduler, not both")
    if epochs is None:
        raise ValueError(
            f"schedule={schedule!r} must know the number of steps in advance: give epochs "
            "(a time_budget alone does not say how many steps there will be)"
        )
    try:
        batches = len(train_data)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"schedule={schedule!r} needs the number of batches per epoch, but train_data "
            f"({type(train_data).__name__}) has no len(); pass a DataLoader or a list"
        ) from None
    if batches == 0:
        raise ValueError("train_data yielded no batches")
    return epochs * batches


def _named_scheduler(schedule: Optional[str], optimizer: torch.optim.Optimizer, steps: int) -> Any:
    """The scheduler called ``schedule``, peaking at the optimizer's learning rate, over ``steps`` batches."""
    peak = [float(group["lr"]) for group in optimizer.param_groups]
    if schedule == "one-cycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peak, total_steps=steps)
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)


def _train_one_epoch(
    model: nn.Module,
    data: Batches,
    optimizer: torch.optim.Optimizer,
    loss_fn: Optional[Callable],
    num_classes: int,
    ignore_index: int,
    device: torch.device,
    epoch: int,
    batch_scheduler: Optional[object] = None,
) -> tuple[float, float]:
    """One pass over ``data``; returns the mean training loss and the mIoU of the predictions made."""
    model.train()
    metrics = SegmentationMetrics(num_classes, ignore_index=ignore_index)
    total, count = 0.0, 0
    for step, batch in enumerate(data):
        images, masks, weights = _unpack(batch, device, "train_data")
        optimizer.zero_grad(set_to_none=True)
        output = model(images)
        metrics.update(_logits(output, masks, num_classes), masks)  # also checks the mask values
        loss = _loss(loss_fn, output, masks, ignore_index, weights)
        value = loss.item()
        if not math.isfinite(value):
            raise FloatingPointError(
                f"the training loss became {value} at epoch {epoch}, batch {step + 1}; "
                "lower the learning rate or check the loss function"
            )
        loss.backward()
        optimizer.step()
        if batch_scheduler is not None:
            batch_scheduler.step()
        total += value * images.shape[0]
        count += images.shape[0]
    if count == 0:
        raise ValueError("train_data yielded no batches")
    return total / count, _safe_miou(metrics)


def _safe_miou(metrics: SegmentationMetrics) -> float:
    return metrics.compute()["miou"] if int(metrics.confusion.sum()) > 0 else math.nan


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data: Batches,
    *,
    num_classes: int,
    device: Union[str, torch.device, None] = None,
    loss_fn: Optional[Callable] = None,
    ignore_index: int = 255,
) -> dict:
    """Score ``model`` on ``data``: the metrics of :class:`segbook.metrics.SegmentationMetrics` and the loss.

    The model runs in eval mode (batch norm uses its running statistics, dropout is off) without
    gradients; its previous mode is restored afterwards. The confusion matrix is summed over all
    batches before any metric is computed, so the result is the data set's mIoU, not a mean of
    per-batch mIoUs.

    Args:
        model: maps images ``(N, C_in, H, W)`` to logits ``(N, C, H, W)`` (or a list, last scored).
        data: a ``DataLoader`` or a list of ``(images, masks)`` batches.
        num_classes: ``C``.
        device: where to run (the model is moved there); ``None`` keeps the model where it is.
        loss_fn: ``loss_fn(output, masks) -> scalar``; default cross entropy ignoring ``ignore_index``.
        ignore_index: mask value of unlabelled pixels.

    Returns:
        The dict of :meth:`SegmentationMetrics.compute` plus ``loss``, the mean batch loss weighted by
        batch size.

    Example:
        >>> x = torch.rand(2, 1, 4, 4); y = (x[:, 0] > 0.5).long()
        >>> sorted(evaluate(nn.Conv2d(1, 2, 1), [(x, y)], num_classes=2))[:3]
        ['confusion_matrix', 'dice', 'fwiou']
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_batches(data, "data")
    num_classes = check_positive_int(num_classes, "num_classes")
    device = _model_device(model) if device is None else pick_device(device)
    model.to(device)
    metrics = SegmentationMetrics(num_classes, ignore_index=ignore_index)
    total, count = 0.0, 0
    was_training = model.training
    model.eval()
    try:
        for batch in data:
            images, masks, weights = _unpack(batch, device, "data")
            output = model(images)
            metrics.update(_logits(output, masks, num_classes), masks)
            total += float(_loss(loss_fn, output, masks, ignore_index, weights)) * images.shape[0]
            count += images.shape[0]
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("data yielded no batches")
    return {**metrics.compute(), "loss": total / count}


@torch.no_grad()
def predict(
    model: nn.Module, images: torch.Tensor, *, device: Union[str, torch.device, None] = None, batch_size: int = 16
) -> torch.Tensor:
    """Label maps predicted by ``model``: the argmax over classes of its logits, per pixel.

    .. math:: \\hat y_p = \\arg\\max_c z_{p,c}

    Runs in eval mode without gradients, ``batch_size`` images at a time; the model's previous mode
    is restored afterwards.

    Args:
        model: maps images ``(N, C_in, H, W)`` to logits ``(N, C, H, W)`` (or a list, last used).
        images: float ``(N, C_in, H, W)``, or one image ``(C_in, H, W)``.
        device: where to run (the model is moved there); ``None`` keeps the model where it is.
        batch_size: images per forward pass (>= 1).

    Returns:
        int64 label maps on the CPU: ``(N, H, W)``, or ``(H, W)`` for a single image.

    Example:
        >>> predict(nn.Conv2d(3, 5, 1), torch.rand(3, 8, 8)).shape
        torch.Size([8, 8])
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_tensor(images, "images", ndim=(3, 4), dtype="float", shape_hint="(N, C_in, H, W) or (C_in, H, W)")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    single = images.ndim == 3
    batch = images.unsqueeze(0) if single else images  # (N, C_in, H, W)
    device = _model_device(model) if device is None else pick_device(device)
    model.to(device)
    was_training = model.training
    model.eval()
    try:
        labels = []
        for chunk in batch.split(batch_size):
            output = model(chunk.to(device))
            output = output[-1] if isinstance(output, (list, tuple)) else output
            check_tensor(output, "the model's output", ndim=4, shape_hint="(N, C, H, W)")
            labels.append(output.argmax(dim=1).cpu())  # (n, H, W)
    finally:
        model.train(was_training)
    out = torch.cat(labels)
    return out[0] if single else out
