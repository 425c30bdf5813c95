"""Are the labels what the loss expects? Check the masks' dtype and values, and that a loss ignores the ignore index."""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Union

import numpy as np
import torch

from segbook.conventions import IGNORE_INDEX, check_int, check_positive_int, check_tensor
from segbook.debugging.report import CheckReport

__all__ = ["check_masks", "check_ignore_index"]

_PNG_WHITE = 255  # the largest value of an 8-bit PNG (a pixel intensity, whatever the ignore index is)


def check_masks(
    masks: Union[torch.Tensor, np.ndarray], num_classes: int, *, ignore_index: Optional[int] = IGNORE_INDEX
) -> CheckReport:
    """Check that ``masks`` are what a segmentation loss expects: integer class indices in ``[0, C)`` or
    ``ignore_index``, shaped (N, H, W) or (H, W).

    Recognises the usual mistakes and names the fix: float masks (e.g. after ``ToTensor()``, which also divides
    by 255), binary masks stored as 0/255 in a PNG, RGB colour masks (…, 3) or (3, …) that need the palette,
    negative values, and values >= C that are not the ignore index.

    Args:
        masks: a tensor or numpy array.
        num_classes: C.
        ignore_index: the label of unlabelled pixels (255), or ``None`` if the masks have none.

    Returns:
        A :class:`CheckReport`; ``details``: ``dtype``, ``shape``, ``values`` (up to 20 distinct values) and
        ``problems`` (one line each).

    Example:
        >>> r = check_masks(torch.tensor([[0, 255], [255, 0]], dtype=torch.uint8), num_classes=2, ignore_index=None)
        >>> r.passed, "0/255" in r.message
        (False, True)
    """
    if isinstance(masks, np.ndarray):
        masks = torch.from_numpy(np.ascontiguousarray(masks))
    check_tensor(masks, "masks", shape_hint="(N, H, W) or (H, W)")
    num_classes = check_positive_int(num_classes, "num_classes")
    if ignore_index is not None:
        ignore_index = check_int(ignore_index, "ignore_index")
    problems: List[str] = []
    shape = tuple(masks.shape)
    values = torch.unique(masks.detach().cpu().to(torch.float64)) if masks.numel() else torch.empty(0)
    shown = [int(v) if float(v).is_integer() else round(float(v), 4) for v in values[:20].tolist()]
    details: Dict[str, Any] = {"dtype": str(masks.dtype), "shape": shape, "values": shown}
    rgb = masks.ndim in (3, 4) and (
        shape[-1] == 3 or (masks.ndim == 4 and shape[1] == 3) or (masks.ndim == 3 and shape[0] == 3 and shape[1] > 3)
    )
    if rgb:
        problems.append(
            f"shape {shape} looks like an RGB colour image: map each colour to its class index with "
            "the data set's palette (or open a palette PNG with PIL without .convert('RGB'))"
        )
    elif masks.ndim not in (2, 3):
        problems.append(f"masks must be (N, H, W) or (H, W), got shape {shape}")
    if masks.dtype.is_floating_point:
        if values.numel() and bool((values != values.round()).any()):
            problems.append(
                f"masks are {masks.dtype} with fractional values (e.g. {shown[:4]}): they were "
                "resized with bilinear interpolation or scaled by ToTensor(); resize masks with "
                "nearest-neighbour and build them with torch.as_tensor(np.array(png), dtype=torch.long)"
            )
        else:
            problems.append(f"masks are {masks.dtype}; losses want int64 class indices: masks.long()")
    elif masks.dtype == torch.bool:
        problems.append("masks are bool; losses want int64 class indices: masks.long()")
    elif masks.dtype != torch.int64:
        problems.append(f"masks are {masks.dtype}; F.cross_entropy wants int64 class indices: masks.long()")
    if values.numel() and not rgb:
        ints = values[values == values.round()]
        valid = (ints >= 0) & (ints < num_classes)
        if ignore_index is not None:
            valid |= ints == ignore_index
        stray = [int(v) for v in ints[~valid].tolist()]
        if float(values.min()) < 0:
            problems.append(f"masks have negative values ({int(values.min())}); class indices start at 0")
        positive_stray = [v for v in stray if v >= 0]
        as_set = {int(v) for v in ints.tolist()}
        if _PNG_WHITE in as_set and as_set <= {0, _PNG_WHITE} and (num_classes == 2 or ignore_index != _PNG_WHITE):
            # No pixel of class 1 at all, only 0 and 255: a binary mask stored as an 8-bit PNG.
            problems.append(
                "values are 0/255: a binary mask saved as an 8-bit PNG; use (mask > 127).long() for classes 0/1"
            )
        elif positive_stray:
            extra = f" and are not the ignore index {ignore_index}" if ignore_index is not None else ""
            problems.append(
                f"values {positive_stray[:10]} are >= num_classes={num_classes}{extra}: wrong "
                "num_classes, a palette not mapped, or an ignore label other than "
                f"{ignore_index}"
            )
    details["problems"] = problems
    if problems:
        return CheckReport("masks", False, "; ".join(problems), details)
    return CheckReport(
        "masks",
        True,
        f"{masks.dtype} {shape}, values {shown} are classes 0..{num_classes - 1}"
        + (f" or the ignore index {ignore_index}" if ignore_index is not None else ""),
        details,
    )


def check_ignore_index(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    num_classes: int,
    *,
    ignore_index: int = IGNORE_INDEX,
    size: int = 8,
    seed: int = 0,
) -> CheckReport:
    """Check that ``loss_fn(logits, target)`` really ignores the pixels labelled ``ignore_index``.

    Three probes on random logits (2, C, size, size) and a target with a quarter of its pixels set to
    ``ignore_index``: the loss must (1) run (``F.cross_entropy`` without ``ignore_index=255`` raises "Target 255
    is out of bounds"; ``F.one_hot`` of 255 raises too), (2) give the same value when only the logits at ignored
    pixels change, and (3) send no gradient to those logits. A loss that maps 255 to a class (e.g. "border =
    background") fails (2) and (3).

    Args:
        loss_fn: ``loss_fn(logits (N, C, H, W), target (N, H, W) int64) -> scalar``.
        num_classes: C (>= 2).
        ignore_index: the label that must be ignored.
        size: H = W of the probe.
        seed: seed of the probe's own generator (the global generators are not touched).

    Returns:
        A :class:`CheckReport`; ``details``: ``loss``, ``loss_changed_logits`` and ``max_ignored_grad``
        (NaN where a probe could not run) and ``error`` (the exception text, or ``None``).

    Example:
        >>> import torch.nn.functional as F
        >>> check_ignore_index(lambda z, t: F.cross_entropy(z, t, ignore_index=255), 3).passed
        True
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    num_classes = check_int(num_classes, "num_classes", minimum=2)
    ignore_index = check_int(ignore_index, "ignore_index")
    size = check_int(size, "size", minimum=2)
    if 0 <= ignore_index < num_classes:
        raise ValueError(
            f"ignore_index={ignore_index} is a class index (C={num_classes}); use a value outside "
            f"0..{num_classes - 1}, e.g. {IGNORE_INDEX}"
        )
    gen = torch.Generator().manual_seed(seed)
    target = torch.randint(0, num_classes, (2, size, size), generator=gen)
    ignored = torch.rand(2, size, size, generator=gen) < 0.25
    ignored[0, 0, 0] = True
    target[ignored] = ignore_index
    logits = torch.randn(2, num_classes, size, size, generator=gen, requires_grad=True)
    changed = logits.detach().clone()
    changed[ignored.unsqueeze(1).expand_as(changed)] = 10 * torch.randn(int(ignored.sum()) * num_classes, generator=gen)
    details: Dict[str, Any] = {
        "loss": math.nan,
        "loss_changed_logits": math.nan,
        "max_ignored_grad": math.nan,
        "error": None,
    }
    try:
        loss = loss_fn(logits, target)
        loss.backward()
        with torch.no_grad():
            loss_changed = loss_fn(changed, target)
    except (RuntimeError, IndexError, ValueError) as error:
        details["error"] = f"{type(error).__name__}: {error}"
        return CheckReport(
            "ignore index",
            False,
            f"the loss crashed on pixels labelled {ignore_index} ({details['error'].splitlines()[0]}): "
            f"pass ignore_index={ignore_index} to F.cross_entropy, and mask the ignored pixels "
            "before one-hot encoding",
            details,
        )
    grad = logits.grad.abs().amax(1)[ignored] if logits.grad is not None else torch.zeros(1)
    details.update(
        loss=float(loss.detach()), loss_changed_logits=float(loss_changed), max_ignored_grad=float(grad.max())
    )
    if not math.isfinite(details["loss"]):
        return CheckReport(
            "ignore index", False, f"the loss is {details['loss']} on a target with ignored pixels", details
        )
    same = math.isclose(details["loss"], details["loss_changed_logits"], rel_tol=1e-5, abs_tol=1e-6)
    if same and details["max_ignored_grad"] == 0.0:
        return CheckReport(
            "ignore index",
            True,
            f"pixels labelled {ignore_index} change neither the loss ({details['loss']:.4f}) nor the gradient",
            details,
        )
    return CheckReport(
        "ignore index",
        False,
        f"the loss uses the pixels labelled {ignore_index}: changing only their logits moved it from "
        f"{details['loss']:.4f} to {details['loss_changed_logits']:.4f} and their largest gradient "
        f"is {details['max_ignored_grad']:.2g}; the loss treats {ignore_index} as a class (e.g. "
        "clamped or mapped to background): mask those pixels out of the loss",
        details,
    )
