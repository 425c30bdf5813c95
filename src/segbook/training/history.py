"""What :func:`~segbook.training.fit` records: one row per epoch, and the best epoch (chapter 1 onwards).

Every chapter that trains a model plots or tabulates a :class:`History`; ``segbook.viz.plot_history`` draws it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

__all__ = ["History"]

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
