"""Checks for the five bugs that most often break a segmentation pipeline (appendix "Debugging").

Each check looks at one thing and returns a :class:`CheckReport` (``passed``, a one-line ``message`` that says
what to do, and the numbers behind it in ``details``); ``report.raise_if_failed()`` turns a failed check into a
``ValueError`` for scripts. Bad *arguments* (a mask that is not a tensor, a size that is not an int) raise
``TypeError``/``ValueError`` at once, as everywhere in ``segbook``.

- :func:`overfit_one_batch`: can the model + loss + optimizer drive the loss of ONE batch near zero? If not,
  nothing downstream matters (frozen or detached parameters, an optimizer over other parameters, a learning rate
  of zero or far too small).
- :func:`check_masks`: are the masks int64 class indices in ``[0, C)`` or the ignore index? Catches float masks,
  0/255 masks read from PNGs, RGB colour masks and stray values.
- :func:`check_collapse`: does the model predict (almost) one class everywhere? High pixel accuracy and a low
  mIoU on an imbalanced task is the signature.
- :func:`check_input_size` / :func:`probe_input_sizes`: which image sizes an encoder-decoder of depth ``d``
  accepts (H, W divisible by ``2**d``), and how much to pad or crop otherwise.
- :func:`check_ignore_index`: does a loss really ignore the pixels labelled 255 (no crash, no change when their
  logits change, no gradient)?

Example:
    >>> import torch
    >>> check_masks(torch.tensor([[0, 1], [255, 1]]), num_classes=2).passed
    True
    >>> check_input_size((100, 96), depth=3).details["pad_to"]
    (104, 96)
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from segbook.conventions import check_float, check_int, check_positive_int, check_tensor
from segbook.metrics import SegmentationMetrics
from segbook.training import fit

__all__ = [
    "CheckReport",
    "overfit_one_batch",
    "check_masks",
    "check_collapse",
    "check_input_size",
    "probe_input_sizes",
    "check_ignore_index",
]


@dataclass
class CheckReport:
    """The result of one check: ``passed``, a ``message`` a student can act on, and the numbers in ``details``."""

    check: str
    passed: bool
    message: str
    details: Dict[str, Any] = field(default_factory=dict)

    def raise_if_failed(self) -> "CheckReport":
        """Raise ``ValueError(message)`` if the check failed; return the report otherwise (for chaining)."""
        if not self.passed:
            raise ValueError(f"{self.check} failed: {self.message}")
        return self

    def __str__(self) -> str:
        """``[PASS] check: message`` (or ``[FAIL]``), wrapped at 88 columns like the book's code."""
        line = f"[{'PASS' if self.passed else 'FAIL'}] {self.check}: {self.message}"
        return textwrap.fill(
            line,
            width=88,
            subsequent_indent="    ",
            break_on_hyphens=False,
        )


# ---------------------------------------------------------------------------------------------- overfit one batch


def overfit_one_batch(
    model: nn.Module,
    images: torch.Tensor,
    masks: torch.Tensor,
    *,
    num_classes: int,
    steps: int = 60,
    lr: float = 1e-2,
    threshold: float = 0.1,
    loss_fn: Optional[Callable] = None,
    optimizer: Optional[torch.optim.Optimizer] = None,
    ignore_index: int = 255,
    device: Union[str, torch.device, None] = None,
    seed: Optional[int] = 0,
) -> CheckReport:
    """Train ``model`` on one batch for ``steps`` steps and check that the loss falls below ``threshold``.

    A model that cannot memorise 2-8 images has a bug, not a capacity problem: this is the first check to run
    (Karpathy's "overfit a single batch"). Each step is one epoch of :func:`segbook.training.fit` over the
    single batch, so the check uses the very loop the chapters train with. Besides the losses the report
    says how many trainable parameters the model has and how many of them changed: 0 trainable means frozen
    (``requires_grad_(False)``), 0 changed means the optimizer holds other parameters or the learning rate is 0.

    Args:
        model: images (N, C_in, H, W) -> logits (N, C, H, W). It is trained in place.
        images: one batch (N, C_in, H, W) float.
        masks: its labels (N, H, W) int64.
        num_classes: C.
        steps: optimisation steps (>= 1).
        lr: learning rate of the default ``Adam`` (ignored when ``optimizer`` is given).
        threshold: the loss (mean per pixel) that counts as memorised; > 0.
        loss_fn, optimizer, ignore_index, device, seed: as in :func:`segbook.training.fit`.

    Returns:
        A :class:`CheckReport`; ``details`` holds ``losses`` (one per step, before the step), ``initial_loss``,
        ``final_loss``, ``trainable`` and ``changed`` (parameter tensors).

    Example:
        >>> _ = torch.manual_seed(0); x = torch.rand(2, 1, 8, 8); y = (x[:, 0] > 0.5).long()
        >>> overfit_one_batch(nn.Conv2d(1, 2, 1), x, y, num_classes=2, steps=100, lr=0.5).passed
        True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_tensor(images, "images", ndim=4, dtype="float", shape_hint="(N, C_in, H, W)")
    check_tensor(masks, "masks", ndim=3, dtype="int", shape_hint="(N, H, W)")
    steps = check_positive_int(steps, "steps")
    lr = check_float(lr, "lr", minimum=0.0)
    threshold = check_float(threshold, "threshold", minimum=0.0, strict_minimum=True)
    params = [p for p in model.parameters() if p.requires_grad]
    total = sum(1 for _ in model.parameters())
    if not params:
        return CheckReport(
            "overfit one batch",
            False,
            f"the model has no trainable parameter ({total} tensors, all with requires_grad=False): "
            "unfreeze them (model.requires_grad_(True)) before training",
            {
                "trainable": 0,
                "changed": 0,
                "losses": [],
                "initial_loss": math.nan,
                "final_loss": math.nan,
                "threshold": threshold,
            },
        )
    before = [p.detach().clone() for p in params]
    if optimizer is None:
        optimizer = torch.optim.Adam(params, lr=lr)
    history = fit(
        model,
        [(images, masks)],
        num_classes=num_classes,
        loss_fn=loss_fn,
        optimizer=optimizer,
        epochs=steps,
        device=device,
        seed=seed,
        progress=False,
        ignore_index=ignore_index,
    )
    losses = [record["train_loss"] for record in history.records]
    changed = sum(not torch.equal(b.to(p.device), p.detach()) for b, p in zip(before, params))
    final = losses[-1]
    details = {
        "losses": losses,
        "initial_loss": losses[0],
        "final_loss": final,
        "threshold": threshold,
        "trainable": len(params),
        "changed": changed,
        "steps": steps,
    }
    if final < threshold:
        return CheckReport(
            "overfit one batch",
            True,
            f"the loss fell from {losses[0]:.3f} to {final:.4f} < {threshold} in {steps} steps",
            details,
        )
    if changed == 0:
        hint = (
            "no parameter of the model changed: is the optimizer built over this model's parameters, "
            "and is the learning rate > 0?"
        )
    elif changed < len(params):
        hint = (
            f"only {changed} of {len(params)} trainable parameter tensors changed: part of the model gets no "
            "gradient (a .detach(), torch.no_grad() or a branch that is not used in forward?)"
        )
    else:
        hint = (
            "every parameter changed but the loss stayed high: raise the learning rate or the number of "
            "steps, and check the loss function and the labels (check_masks)"
        )
    return CheckReport(
        "overfit one batch",
        False,
        f"the loss went from {losses[0]:.3f} to {final:.3f}, not below {threshold} in {steps} steps; " + hint,
        details,
    )


# ---------------------------------------------------------------------------------------------------- masks


def check_masks(
    masks: Union[torch.Tensor, np.ndarray], num_classes: int, *, ignore_index: Optional[int] = 255
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
        if 255 in as_set and as_set <= {0, 255} and (num_classes == 2 or ignore_index != 255):
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


# ------------------------------------------------------------------------------------------------- collapse


def check_collapse(
    pred: torch.Tensor,
    target: torch.Tensor,
    num_classes: int,
    *,
    ignore_index: Optional[int] = 255,
    max_share: float = 0.98,
) -> CheckReport:
    """Check that a model does not predict (almost) one class everywhere while the target has several.

    On an imbalanced task a model can reach a high pixel accuracy by answering "background" everywhere; the
    loss plateaus at the entropy of the class frequencies and mIoU stays near ``1 / C``. The check fails when
    one class takes more than ``max_share`` of the predicted (non-ignored) pixels although the target gives it
    less than that share.

    Args:
        pred: logits (N, C, H, W) or predicted class indices (N, H, W).
        target: class indices (N, H, W).
        num_classes: C.
        ignore_index: pixels with this label are left out.
        max_share: the largest share of the pixels one predicted class may take, in (0, 1].

    Returns:
        A :class:`CheckReport`; ``details``: ``pred_share`` and ``target_share`` per class, ``dominant`` class,
        ``pixel_accuracy`` and ``miou``.

    Example:
        >>> t = torch.zeros(1, 10, 10, dtype=torch.long); t[0, :3, :3] = 1
        >>> check_collapse(torch.zeros_like(t), t, 2).passed
        False
    """
    check_tensor(target, "target", ndim=3, dtype="int", shape_hint="(N, H, W)")
    check_tensor(pred, "pred", ndim=(3, 4), shape_hint="(N, C, H, W) logits or (N, H, W) class indices")
    num_classes = check_positive_int(num_classes, "num_classes")
    max_share = check_float(max_share, "max_share", minimum=0.0, maximum=1.0, strict_minimum=True)
    labels = pred.argmax(1) if pred.ndim == 4 else pred
    if labels.shape != target.shape:
        raise ValueError(f"pred gives labels of shape {tuple(labels.shape)} but target has shape {tuple(target.shape)}")
    metrics = SegmentationMetrics(num_classes, ignore_index=ignore_index)
    metrics.update(labels.cpu(), target.cpu())
    scores = metrics.compute()
    keep = target != ignore_index if ignore_index is not None else torch.ones_like(target, dtype=torch.bool)
    n = max(int(keep.sum()), 1)
    pred_share = torch.bincount(labels[keep].cpu().long(), minlength=num_classes)[:num_classes].double() / n
    target_share = torch.bincount(target[keep].cpu().long(), minlength=num_classes)[:num_classes].double() / n
    dominant = int(pred_share.argmax())
    details = {
        "pred_share": [round(float(s), 4) for s in pred_share],
        "target_share": [round(float(s), 4) for s in target_share],
        "dominant": dominant,
        "pixel_accuracy": float(scores["pixel_accuracy"]),
        "miou": float(scores["miou"]),
    }
    share, true_share = float(pred_share[dominant]), float(target_share[dominant])
    if share > max_share and true_share < max_share:
        return CheckReport(
            "collapse",
            False,
            f"class {dominant} is predicted on {share:.1%} of the pixels but covers only "
            f"{true_share:.1%} of the target (pixel accuracy {details['pixel_accuracy']:.3f}, "
            f"mIoU {details['miou']:.3f}): the model collapsed to one class; use a class-weighted "
            "or focal/Dice loss, train longer, or check the labels",
            details,
        )
    return CheckReport(
        "collapse",
        True,
        f"the most predicted class ({dominant}) takes {share:.1%} of the pixels "
        f"(target: {true_share:.1%}); mIoU {details['miou']:.3f}",
        details,
    )


# ---------------------------------------------------------------------------------------------------- sizes


def check_input_size(size: Sequence[int], depth: int) -> CheckReport:
    """Check that an image size (H, W) suits an encoder-decoder with ``depth`` 2x downsamplings.

    Each max pooling halves H and W (rounding down), so after ``depth`` of them the decoder's ``depth``
    doublings only give back the input size when H and W are divisible by :math:`2^{depth}`. Otherwise the
    report gives the nearest sizes that work: pad (bottom/right, then crop the output back) or crop.

    Args:
        size: (H, W) in pixels.
        depth: number of 2x downsamplings (>= 0).

    Returns:
        A :class:`CheckReport`; ``details``: ``multiple`` (2**depth), ``pad_to``, ``pad`` ((bottom, right)
        pixels to add), ``crop_to``.

    Example:
        >>> check_input_size((64, 48), depth=4).passed
        True
    """
    if isinstance(size, (str, bytes)) or not isinstance(size, Sequence) or len(size) != 2:
        raise TypeError(f"size must be a pair (H, W), got {size!r}")
    h, w = (check_positive_int(s, name) for s, name in zip(size, ("size[0] (H)", "size[1] (W)")))
    depth = check_int(depth, "depth", minimum=0)
    multiple = 2**depth
    pad_to = (h + (-h % multiple), w + (-w % multiple))
    crop_to = (h - h % multiple, w - w % multiple)
    details = {
        "size": (h, w),
        "multiple": multiple,
        "pad_to": pad_to,
        "pad": (pad_to[0] - h, pad_to[1] - w),
        "crop_to": crop_to,
    }
    if pad_to == (h, w):
        return CheckReport("input size", True, f"{h}x{w} is divisible by 2**{depth} = {multiple}", details)
    crop = f"or crop to {crop_to[0]}x{crop_to[1]}" if min(crop_to) > 0 else "(cropping would leave nothing)"
    return CheckReport(
        "input size",
        False,
        f"{h}x{w} is not divisible by 2**{depth} = {multiple}: pad to {pad_to[0]}x{pad_to[1]} "
        f"(add {details['pad'][0]} rows at the bottom, {details['pad'][1]} columns at the right, "
        f"then crop the output back to {h}x{w}) {crop}",
        details,
    )


def probe_input_sizes(
    model: nn.Module,
    sizes: Sequence[Sequence[int]],
    *,
    in_channels: int = 3,
    device: Union[str, torch.device, None] = None,
) -> Dict[Tuple[int, int], str]:
    """Run ``model`` on a zero image of each size and return ``{(H, W): "ok" or the error message}``.

    Shows which sizes a model really accepts, e.g. to confirm :func:`check_input_size` on an
    :class:`segbook.models.EncoderDecoder` (which refuses the others with a ``ValueError``). An output of another
    size than the input is reported too.

    Example:
        >>> from segbook.models import EncoderDecoder
        >>> probe_input_sizes(EncoderDecoder(2, depth=2), [(32, 32)])
        {(32, 32): 'ok'}
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    in_channels = check_positive_int(in_channels, "in_channels")
    if device is None:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
    results: Dict[Tuple[int, int], str] = {}
    was_training = model.training
    model.eval()
    try:
        for size in sizes:
            h, w = (check_positive_int(s, "size") for s in size)
            try:
                with torch.no_grad():
                    out = model(torch.zeros(1, in_channels, h, w, device=device))
                out = out[-1] if isinstance(out, (list, tuple)) else out
                got = tuple(out.shape[-2:])
                results[(h, w)] = "ok" if got == (h, w) else f"output is {got[0]}x{got[1]}, not {h}x{w}"
            except (ValueError, RuntimeError) as error:
                results[(h, w)] = f"{type(error).__name__}: {error}"
    finally:
        model.train(was_training)
    return results


# ---------------------------------------------------------------------------------------------- ignore index


def check_ignore_index(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    num_classes: int,
    *,
    ignore_index: int = 255,
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
            f"0..{num_classes - 1}, e.g. 255"
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
