"""The learning-rate schedules :func:`~segbook.training.fit` builds by name: ``"one-cycle"`` and ``"cosine"``.

Both are stepped after every batch and must know the number of steps in advance (``epochs`` times the number of
batches); :func:`check_schedule` says so, before any training, when they cannot.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional

import torch

from segbook.conventions import check_choice

__all__ = ["SCHEDULES", "check_schedule", "named_scheduler"]

SCHEDULES = ("constant", "one-cycle", "cosine")


def check_schedule(
    schedule: Optional[str], scheduler: Optional[Any], epochs: Optional[int], train_data: Iterable
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


def named_scheduler(schedule: Optional[str], optimizer: torch.optim.Optimizer, steps: int) -> Any:
    """The scheduler called ``schedule``, peaking at the optimizer's learning rate, over ``steps`` batches."""
    peak = [float(group["lr"]) for group in optimizer.param_groups]
    if schedule == "one-cycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peak, total_steps=steps)
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
