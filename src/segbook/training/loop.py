"""The training loop every chapter uses: :func:`fit` (chapter 1 onwards).

The loop is the textbook one (forward, loss, backward, step), written out so that a student can read all of it;
what the chapters vary is the model and the loss.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Optional, Union

import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler
from tqdm.auto import tqdm

from segbook.conventions import IGNORE_INDEX, check_bool, check_choice, check_float, check_positive_int
from segbook.env import bars_hidden, pick_device, seed_everything
from segbook.metrics import SegmentationMetrics
from segbook.training._batches import AUX_WEIGHT, Batches, batch_loss, check_batches, logits_to_score, unpack
from segbook.training.evaluation import evaluate
from segbook.training.history import History
from segbook.training.schedules import check_schedule, named_scheduler

__all__ = ["fit"]


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
    ignore_index: int = IGNORE_INDEX,
    aux_weight: float = AUX_WEIGHT,
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

    Progress: a bar over the batches of all epochs (``epochs * len(train_data)``; one epoch at a time
    with only a ``time_budget``, and no total for data without a length), showing the epoch, the epoch's
    mean training loss so far and the last finished epoch's mIoU (validation, else training). It is
    ``tqdm.auto``'s: a widget in Jupyter and Colab, text on a terminal. ``progress=False`` hides it; so
    does the environment variable ``TQDM_DISABLE=1`` (any value but empty, ``0`` or ``false``), read at
    each call, which is how the book's site build and tests run every chapter without bars.

    Args:
        model: maps images ``(N, C_in, H, W)`` to logits ``(N, C, H, W)``. Two other outputs are
            understood: a list of such tensors (deep supervision) is scored on its last entry and needs a
            ``loss_fn`` taking the list; a dict ``{"out": logits}`` or ``{"out": logits, "aux": aux_logits}``,
            what torchvision's segmentation models return, is scored on ``"out"`` and trained on
            ``L(out) + aux_weight * L(aux)``, with ``L`` the ``loss_fn`` (given one tensor) or the default
            cross entropy. A dict with other keys is refused.
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
        progress: show the progress bar (see Progress); ``True`` or ``False``.
        scheduler: a ``torch.optim.lr_scheduler`` object, stepped once per epoch, or once per batch with
            ``scheduler_step="batch"`` (what ``OneCycleLR`` expects: give it
            ``total_steps=epochs * len(train_data)``).
        scheduler_step: ``"epoch"`` (default) or ``"batch"``.
        ignore_index: mask value of unlabelled pixels, skipped by the default loss and the metrics.
        aux_weight: weight (>= 0) of the auxiliary loss of a dict output with ``"aux"``; default 0.5, the
            weight of torchvision's reference training script for its segmentation models
            (``references/segmentation/train.py``); 0 ignores the auxiliary head.
        on_epoch_start: called as ``on_epoch_start(epoch)`` before each epoch, or ``None``.
        on_epoch_end: called as ``on_epoch_end(record)`` after each epoch; returning ``True`` stops.

    Returns:
        A :class:`History`; the model is left on ``device`` in eval mode, ready for :func:`predict`.

    Raises:
        TypeError, ValueError: bad arguments or batches (the message says which).
        FloatingPointError: the loss became NaN or infinite (lower the learning rate; or a batch had no
            counted pixel, which the message then says), or a gradient did while the loss stayed finite (the
            message names the parameter); checked before the optimizer's step, so the weights stay finite.

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
    check_batches(train_data, "train_data")
    if val_data is not None:
        check_batches(val_data, "val_data")
    num_classes = check_positive_int(num_classes, "num_classes")
    if epochs is None and time_budget is None:
        raise ValueError("give epochs (e.g. epochs=5) or time_budget (seconds), or both, to say when to stop")
    epochs = None if epochs is None else check_positive_int(epochs, "epochs")
    time_budget = (
        None if time_budget is None else check_float(time_budget, "time_budget", minimum=0, strict_minimum=True)
    )
    check_bool(progress, "progress")
    aux_weight = check_float(aux_weight, "aux_weight", minimum=0)
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
    steps = check_schedule(schedule, scheduler, epochs, train_data)
    _check_callables(loss_fn, optimizer, scheduler)
    device = pick_device(device)
    if seed is not None:
        seed_everything(seed)
    model.to(device)
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    if steps:
        scheduler, scheduler_step = named_scheduler(schedule, optimizer, steps), "batch"
    history, start = History(), time.perf_counter()
    per_epoch = _length(train_data)  # batches per epoch, None if train_data has no length
    total = per_epoch if epochs is None or per_epoch is None else epochs * per_epoch
    shown = "train" if val_data is None else "val"
    postfix: dict[str, str] = {}
    with tqdm(total=total, desc="fit", unit="batch", disable=not progress or bars_hidden()) as bar:
        while not history.stop_reason:
            epoch, epoch_start = len(history) + 1, time.perf_counter()
            if epochs is None and per_epoch is not None and epoch > 1:
                bar.reset(total=per_epoch)  # time budget: the bar shows one epoch at a time
            postfix["epoch"] = f"{epoch}" if epochs is None else f"{epoch}/{epochs}"
            if on_epoch_start is not None:
                on_epoch_start(epoch)
            lr = float(optimizer.param_groups[0]["lr"])
            batch_scheduler = scheduler if scheduler_step == "batch" else None
            train_loss, train_miou = _train_one_epoch(
                model,
                train_data,
                optimizer,
                loss_fn,
                num_classes,
                ignore_index,
                aux_weight,
                device,
                epoch,
                batch_scheduler,
                bar,
                postfix,
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
                    model,
                    val_data,
                    num_classes=num_classes,
                    device=device,
                    loss_fn=loss_fn,
                    ignore_index=ignore_index,
                    aux_weight=aux_weight,
                )
                record.update(val_loss=val["loss"], val_miou=val["miou"], val_pixel_accuracy=val["pixel_accuracy"])
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(train_loss if val_data is None else record["val_loss"])
            elif scheduler is not None and scheduler_step == "epoch":
                scheduler.step()
            record.update(seconds=time.perf_counter() - epoch_start, lr=lr)
            history.records.append(record)
            postfix.update({"loss": f"{train_loss:.3f}", f"{shown}_mIoU": f"{record[shown + '_miou']:.3f}"})
            bar.set_postfix(postfix)
            if on_epoch_end is not None and on_epoch_end(dict(record)) is True:
                history.stop_reason = "callback"
            elif epochs is not None and epoch >= epochs:
                history.stop_reason = "epochs"
            elif time_budget is not None and time.perf_counter() - start >= time_budget:
                history.stop_reason = "time_budget"
    model.eval()
    return history


def _train_one_epoch(
    model: nn.Module,
    data: Batches,
    optimizer: torch.optim.Optimizer,
    loss_fn: Optional[Callable],
    num_classes: int,
    ignore_index: int,
    aux_weight: float,
    device: torch.device,
    epoch: int,
    batch_scheduler: Optional[LRScheduler],
    bar: tqdm,
    postfix: dict[str, str],
) -> tuple[float, float]:
    """One pass over ``data``; returns the mean training loss and the mIoU of the predictions made.

    The bar advances after every batch, its postfix showing the epoch's mean loss so far.
    """
    model.train()
    metrics = SegmentationMetrics(num_classes, ignore_index=ignore_index)
    total, count = 0.0, 0
    for step, batch in enumerate(data):
        images, masks, weights = unpack(batch, device, "train_data")
        optimizer.zero_grad(set_to_none=True)
        output = model(images)
        score = logits_to_score(output, masks, num_classes)  # checks the output's shape
        try:
            metrics.update(score, masks)  # checks the mask values, and refuses NaN logits, on the CPU
        except ValueError:
            if bool(score.isfinite().all()):  # a bad mask: the metrics' message says what is wrong
                raise
            raise FloatingPointError(  # elsewhere the loss check below stops training (the NaN rule)
                f"the model's output became NaN or infinite at epoch {epoch}, batch {step + 1}; lower the "
                "learning rate, or check the images for NaN or infinite values"
            ) from None
        loss = batch_loss(loss_fn, output, masks, ignore_index, weights, aux_weight=aux_weight)
        value = loss.item()
        if not math.isfinite(value):
            raise FloatingPointError(_non_finite_loss_message(value, epoch, step, masks, ignore_index))
        loss.backward()
        _check_gradients(model, value, epoch, step)
        optimizer.step()
        if batch_scheduler is not None:
            batch_scheduler.step()
        total += value * images.shape[0]
        count += images.shape[0]
        postfix["loss"] = f"{total / count:.3f}"
        bar.set_postfix(postfix, refresh=False)
        bar.update(1)
    if count == 0:
        raise ValueError("train_data yielded no batches")
    return total / count, _safe_miou(metrics)


def _length(data: Batches) -> Optional[int]:
    """``len(data)``, or ``None`` for data without a length (e.g. a DataLoader over an IterableDataset)."""
    try:
        return len(data)  # type: ignore[arg-type]
    except TypeError:
        return None


def _check_callables(loss_fn: object, optimizer: object, scheduler: object) -> None:
    """Refuse a ``loss_fn``, ``optimizer`` or ``scheduler`` of the wrong kind before training starts."""

    def shown(value: object) -> str:
        name = type(value).__name__
        return f"{name} {value!r}" if isinstance(value, (str, bytes, int, float)) else name

    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(
            f"loss_fn must be a function loss_fn(output, masks) -> scalar tensor, e.g. "
            f"segbook.losses.soft_dice_loss (or None for cross entropy), got {shown(loss_fn)}"
        )
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            "optimizer must be a torch.optim.Optimizer built on the model's parameters, e.g. "
            f"torch.optim.SGD(model.parameters(), lr=0.1) (or None for Adam), got {shown(optimizer)}"
        )
    if scheduler is not None and not callable(getattr(scheduler, "step", None)):
        hint = f"; for a named schedule pass schedule={scheduler!r}" if isinstance(scheduler, str) else ""
        raise TypeError(
            "scheduler must be a learning-rate scheduler with a .step() method, e.g. "
            f"torch.optim.lr_scheduler.StepLR(optimizer, 10) (or None), got {shown(scheduler)}{hint}"
        )


def _non_finite_loss_message(value: float, epoch: int, step: int, masks: torch.Tensor, ignore_index: int) -> str:
    """Why the loss is not finite: a batch with no counted pixel (a mean of 0/0), else the usual advice.

    Reads the masks, but only on this error path.
    """
    where = f"the training loss became {value} at epoch {epoch}, batch {step + 1}"
    if masks.numel() == 0 or bool((masks == ignore_index).all()):
        return (
            f"{where}: the batch has no counted pixel (every mask value is the ignore index {ignore_index}, "
            "or the batch is empty), so the mean over its pixels is 0/0; drop such batches (e.g. crops of "
            "unlabelled border only) or check the masks and ignore_index"
        )
    return f"{where}; lower the learning rate or check the loss function"


def _check_gradients(model: nn.Module, value: float, epoch: int, step: int) -> None:
    """Stop before ``optimizer.step()`` spreads a NaN or infinite gradient into every weight (one sync per step)."""
    named = [(n, p.grad) for n, p in model.named_parameters() if p.grad is not None]
    if not named or bool(torch.stack([g.isfinite().all() for _, g in named]).all()):
        return
    name = next(n for n, g in named if not bool(g.isfinite().all()))
    raise FloatingPointError(
        f"the gradient of {name} became NaN or infinite at epoch {epoch}, batch {step + 1}, although the loss was "
        f"finite ({value:.4g}): a NaN or infinite input value, or a loss whose derivative is infinite somewhere "
        "(a square root or a power below 1 at 0, a log of 0); the weights were not updated"
    )


def _safe_miou(metrics: SegmentationMetrics) -> float:
    return metrics.compute()["miou"] if int(metrics.confusion.sum()) > 0 else math.nan
