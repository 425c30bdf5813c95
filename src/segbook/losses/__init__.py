"""Segmentation losses from scratch: every loss on the slides "Hàm mục tiêu cho bài toán phân đoạn ảnh".

The slides (after the losses post they cite, lars76.github.io) group the losses in four families, and so does
this module:

* **distribution-based** (*dựa trên phân phối*, chapter 5): cross entropy (:func:`binary_cross_entropy`,
  :func:`cross_entropy`), weighted cross entropy (the slide's β = ``pos_weight``; per-class ``weight``) and the
  focal loss (:func:`binary_focal_loss`, :func:`focal_loss`);
* **region-based** (*dựa trên vùng*, chapter 6): Dice coefficient and IoU from TP/FP/FN
  (:func:`dice_coefficient`, :func:`iou_score`), the soft Dice loss (:func:`soft_dice_loss`), the Tversky index
  and loss (:func:`tversky_index`, :func:`tversky_loss`);
* **combined** (*kết hợp*): :func:`dice_ce_loss`, :func:`dice_focal_loss`;
* **boundary loss** (Kervadec et al.): :func:`signed_distance_map`, :func:`boundary_loss`,
  :func:`dice_boundary_loss` and the paper's weight schedule :func:`rebalance_weight`.

**Conventions, the same for every loss here.**

* Inputs are **logits** (raw network outputs, before softmax/sigmoid): ``(N, C, H, W)`` with ``C >= 2`` for
  multi-class losses (softmax over ``C``), ``(N, 1, H, W)`` or ``(N, H, W)`` for binary ones (sigmoid).
  Working on logits lets every loss use log-sum-exp / log-sigmoid forms that stay finite for logits of ±1e4.
  Passing softmax outputs where logits are expected is caught when it is detectable (every pixel's ``C``
  values in [0, 1] summing to 1).
* Targets are integer class maps ``(N, H, W)`` (values in ``[0, C)``), or ``{0, 1}`` maps for binary losses
  (``(N, H, W)`` or ``(N, 1, H, W)``). Floating-point targets are refused: soft labels are not supported.
* Pixels whose target is ``ignore_index`` (default 255, PASCAL VOC's border) count nowhere: not in the loss,
  not in its normaliser, not in a Dice sum (the *prediction* is masked there too). ``None`` disables it.
* ``reduction="mean"`` averages over the counted pixels (pixel losses) or over the (image, class) pairs
  (region losses); ``"sum"`` adds up; ``"none"`` returns the per-pixel map ``(N, H, W)`` (0 at ignored pixels)
  or the per-(image, class) values ``(N, K)``. A batch with no counted pixel gives a loss of 0, not NaN.

Example:
    >>> logits = torch.tensor([[[[2.0, -1.0]], [[0.0, 3.0]]]])    # (N=1, C=2, H=1, W=2)
    >>> target = torch.tensor([[[0, 1]]])
    >>> round(float(cross_entropy(logits, target)), 4)
    0.0725
    >>> round(float(soft_dice_loss(logits, target)), 4)
    0.0458
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from segbook.conventions import (
    check_choice,
    check_float,
    check_int,
    check_positive_int,
    check_probability,
    check_tensor,
)
from segbook.metrics import _check_ignore_index

__all__ = [
    "binary_cross_entropy",
    "cross_entropy",
    "binary_focal_loss",
    "focal_loss",
    "pos_weight_from_target",
    "inverse_frequency_weights",
    "dice_coefficient",
    "iou_score",
    "soft_counts",
    "soft_dice_loss",
    "tversky_index",
    "tversky_loss",
    "dice_ce_loss",
    "dice_focal_loss",
    "signed_distance_map",
    "boundary_loss",
    "dice_boundary_loss",
    "rebalance_weight",
    "deep_supervision_loss",
    "BinaryCrossEntropyLoss",
    "CrossEntropyLoss",
    "BinaryFocalLoss",
    "FocalLoss",
    "SoftDiceLoss",
    "TverskyLoss",
    "DiceCELoss",
    "DiceFocalLoss",
    "BoundaryLoss",
    "DiceBoundaryLoss",
    "DeepSupervisionLoss",
]

Number = Union[int, float]
_REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------------------------- input checks


def _check_reduction(reduction: object) -> str:
    return str(check_choice(reduction, "reduction", _REDUCTIONS))


def _is_binary(logits: torch.Tensor) -> bool:
    """Binary inputs: (N, H, W) or (N, 1, H, W). Multi-class: (N, C, H, W) with C >= 2."""
    return logits.ndim == 3 or (logits.ndim == 4 and logits.shape[1] == 1)


def _multiclass_inputs(
    logits: object, target: object, ignore_index: Optional[int], loss_name: str
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Check multi-class inputs; return logits (N, C, H, W), a safe int64 target and the counted-pixel mask."""
    check_tensor(logits, "logits", ndim=4, dtype="float", shape_hint="(N, C, H, W)")
    check_tensor(target, "target", ndim=3, dtype="int", shape_hint="(N, H, W) of int64 class indices")
    if logits.device != target.device:
        raise ValueError(f"logits and target must be on the same device, got {logits.device} and {target.device}")
    n, c, h, w = logits.shape
    if c < 2:
        raise ValueError(
            f"{loss_name} needs logits with C >= 2 channels, got shape {tuple(logits.shape)}; "
            f"for one foreground channel use the binary version"
        )
    if target.shape != (n, h, w):
        raise ValueError(
            f"logits {tuple(logits.shape)} and target {tuple(target.shape)} do not match: "
            f"expected target of shape {(n, h, w)} (N, H, W)"
        )
    ignore_index = _check_ignore_index(ignore_index, c)
    valid = target != ignore_index if ignore_index is not None else torch.ones_like(target, dtype=torch.bool)
    counted = target[valid]
    if counted.numel():
        low, high = int(counted.min()), int(counted.max())
        if low < 0 or high >= c:
            bad = low if low < 0 else high
            extra = f" and is not the ignore index {ignore_index}" if ignore_index is not None else ""
            raise ValueError(
                f"target has class {bad}{extra}, but logits have {c} channels (C={c}, valid classes 0..{c - 1})"
            )
    _refuse_probabilities(logits)
    safe = torch.where(valid, target.long(), torch.zeros((), dtype=torch.long, device=target.device))
    return logits, safe, valid


def _refuse_probabilities(logits: torch.Tensor) -> None:
    """Raise if ``logits`` (N, C, H, W) look like softmax outputs: all in [0, 1] and summing to 1 per pixel."""
    with torch.no_grad():
        x = logits.detach()
        if x.numel() == 0 or float(x.min()) < 0 or float(x.max()) > 1:
            return
        sums = x.sum(1).double()
        if torch.allclose(sums, torch.ones_like(sums), atol=1e-4):
            raise ValueError(
                "logits look like probabilities (every pixel's C values are in [0, 1] and sum to 1): "
                "pass the network's raw outputs, before softmax; the loss applies softmax itself"
            )


def _binary_inputs(
    logits: object, target: object, ignore_index: Optional[int], loss_name: str
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Check binary inputs; return logits (N, H, W), a float {0, 1} target (N, H, W) and the counted-pixel mask."""
    check_tensor(logits, "logits", ndim=(3, 4), dtype="float", shape_hint="(N, 1, H, W) or (N, H, W)")
    if logits.ndim == 4 and logits.shape[1] != 1:
        raise ValueError(
            f"{loss_name} takes one logit per pixel, (N, 1, H, W) or (N, H, W), got shape "
            f"{tuple(logits.shape)}; for C={logits.shape[1]} classes use the multi-class version"
        )
    check_tensor(target, "target", ndim=(3, 4), shape_hint="(N, H, W) of 0/1 labels")
    if target.dtype.is_floating_point or target.dtype.is_complex:
        raise TypeError(
            f"target must be an integer (or bool) tensor of 0/1 labels, got {target.dtype}; "
            "soft (floating-point) targets are not supported: use .long() on a 0/1 mask"
        )
    if logits.device != target.device:
        raise ValueError(f"logits and target must be on the same device, got {logits.device} and {target.device}")
    z = logits[:, 0] if logits.ndim == 4 else logits  # (N, H, W)
    t = target[:, 0] if target.ndim == 4 and target.shape[1] == 1 else target
    if t.shape != z.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} and target {tuple(target.shape)} do not match: "
            f"expected target of shape {tuple(z.shape)} (N, H, W)"
        )
    ignore_index = _check_ignore_index(ignore_index, 2)
    t = t.long()
    valid = t != ignore_index if ignore_index is not None else torch.ones_like(t, dtype=torch.bool)
    counted = t[valid]
    if counted.numel() and (int(counted.min()) < 0 or int(counted.max()) > 1):
        bad = int(counted.min()) if int(counted.min()) < 0 else int(counted.max())
        extra = f" (nor the ignore index {ignore_index})" if ignore_index is not None else ""
        raise ValueError(
            f"a binary target must hold 0 (background) or 1 (foreground){extra}, got the value {bad}; "
            f"for several classes use the multi-class version with (N, C, H, W) logits"
        )
    y = torch.where(valid, t, torch.zeros((), dtype=torch.long, device=t.device)).to(z.dtype)
    return z, y, valid


def _reduce_pixels(
    loss: torch.Tensor, valid: torch.Tensor, reduction: str, denominator: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """Reduce a per-pixel loss map (N, H, W), zero where not ``valid``."""
    loss = torch.where(valid, loss, torch.zeros((), dtype=loss.dtype, device=loss.device))
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    if denominator is None:
        denominator = valid.sum().to(loss.dtype)
    # A batch with no counted pixel: 0 (still attached to the graph), not 0/0.
    return torch.where(denominator > 0, total / denominator.clamp_min(torch.finfo(loss.dtype).tiny), total * 0)


def _class_vector(values: object, name: str, num_classes: int, like: torch.Tensor) -> torch.Tensor:
    """A per-class weight vector (C,) of non-negative numbers, on ``like``'s device and dtype."""
    if isinstance(values, torch.Tensor):
        vec = values.detach().to(device=like.device, dtype=like.dtype).flatten()
    elif isinstance(values, Sequence) and not isinstance(values, (str, bytes)):
        vec = torch.tensor(
            [check_float(v, f"{name}[{i}]") for i, v in enumerate(values)], dtype=like.dtype, device=like.device
        )
    else:
        raise TypeError(
            f"{name} must be a sequence or tensor of {num_classes} per-class numbers, got {type(values).__name__}"
        )
    if vec.numel() != num_classes:
        raise ValueError(f"{name} must have one entry per class (C={num_classes}), got {vec.numel()}")
    if bool((vec < 0).any()) or not bool(torch.isfinite(vec).all()):
        raise ValueError(f"{name} must hold finite numbers >= 0, got {vec.tolist()}")
    return vec


# --------------------------------------------------------------------------- distribution-based (chapter 5)


def binary_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    pos_weight: Optional[float] = None,
    ignore_index: Optional[int] = 255,
    reduction: str = "mean",
) -> torch.Tensor:
    """Binary cross entropy on logits; with ``pos_weight`` the slide's weighted CE (WCE).

    The slide writes, for a pixel with label :math:`p \\in \\{0, 1\\}` and predicted probability
    :math:`\\hat p = \\sigma(z)`,

    .. math::

        CE(p, \\hat p) = -\\bigl(p \\log \\hat p + (1 - p) \\log (1 - \\hat p)\\bigr), \\qquad
        WCE(p, \\hat p) = -\\bigl(\\beta\\, p \\log \\hat p + (1 - p) \\log (1 - \\hat p)\\bigr).

    Computed in log-sigmoid form, :math:`\\log \\hat p = \\log\\sigma(z)` and
    :math:`\\log(1 - \\hat p) = \\log\\sigma(-z)`, never as ``log(sigmoid(z))``, which is ``log(0) = -inf``
    once :math:`\\sigma(z)` rounds to 0 (below :math:`z \\approx -88.7` in float32).

    **Convention.** ``pos_weight`` is the slide's :math:`\\beta`: it multiplies the positive term only, exactly
    like ``pos_weight`` of ``torch.nn.functional.binary_cross_entropy_with_logits``; :math:`\\beta > 1` makes
    missed foreground (false negatives) dearer, :math:`\\beta < 1` false positives. The mean divides by the
    number of counted pixels, *not* by a sum of weights (PyTorch does the same for ``pos_weight``; contrast
    :func:`cross_entropy`'s per-class ``weight``). :func:`pos_weight_from_target` gives the common choice
    :math:`\\beta = \\#\\text{negatives} / \\#\\text{positives}`.

    Args:
        logits: ``(N, 1, H, W)`` or ``(N, H, W)`` float, one logit :math:`z` per pixel.
        target: same spatial shape, integer or bool, 0 (background) / 1 (foreground) / ``ignore_index``.
        pos_weight: :math:`\\beta \\ge 0`, or ``None`` for 1 (plain CE).
        ignore_index: target value of pixels left out (not 0 or 1), or ``None``.
        reduction: ``"mean"`` (over counted pixels), ``"sum"`` or ``"none"`` (``(N, H, W)``).

    Returns:
        A scalar, or the per-pixel loss ``(N, H, W)`` (0 at ignored pixels). Range: :math:`[0, \\infty)`.

    Example:
        >>> z = torch.tensor([[[0.0, 2.0]]]); y = torch.tensor([[[1, 0]]])
        >>> binary_cross_entropy(z, y, reduction="none")
        tensor([[[0.6931, 2.1269]]])
        >>> binary_cross_entropy(z, y, pos_weight=3.0, reduction="none")   # only the positive pixel changes
        tensor([[[2.0794, 2.1269]]])
    """
    reduction = _check_reduction(reduction)
    z, y, valid = _binary_inputs(logits, target, ignore_index, "binary_cross_entropy")
    beta = 1.0
    if pos_weight is not None:
        beta = check_float(pos_weight, "pos_weight", minimum=0.0)
    log_p = nn.functional.logsigmoid(z)  # log p̂
    log_not_p = nn.functional.logsigmoid(-z)  # log(1 - p̂)
    loss = -(beta * y * log_p + (1 - y) * log_not_p)  # (N, H, W)
    return _reduce_pixels(loss, valid, reduction)


def cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    weight: Optional[Sequence[float]] = None,
    ignore_index: Optional[int] = 255,
    reduction: str = "mean",
) -> torch.Tensor:
    """Multi-class cross entropy on logits, in log-sum-exp form; optional per-class weights.

    For a pixel of class :math:`t` with logits :math:`z_1, \\dots, z_C` and softmax probabilities
    :math:`\\hat p_c = e^{z_c} / \\sum_k e^{z_k}`,

    .. math::

        CE = -\\log \\hat p_t = \\log \\sum_{k=1}^{C} e^{z_k} - z_t ,

    the multi-class form of the slide's CE (with :math:`C = 2` and :math:`z = z_1 - z_0` it *is*
    :func:`binary_cross_entropy`). ``torch.logsumexp`` subtracts the largest logit before exponentiating, so
    the value and its gradient :math:`\\hat p - \\mathbf 1_t` stay finite for logits of any size.

    **Convention (weighted CE, per class).** With ``weight`` :math:`w`, each pixel's loss is multiplied by
    :math:`w_{t}` and ``"mean"`` is the *weighted* mean, PyTorch's convention:

    .. math:: CE_w = \\frac{\\sum_i w_{t_i}\\, CE_i}{\\sum_i w_{t_i}} .

    So scaling all weights by a constant changes nothing, and with two classes, weights ``(1, β)`` are *not*
    the slide's WCE mean (which divides by the pixel count: use :func:`binary_cross_entropy`'s
    ``pos_weight``); the ``"sum"`` reductions agree.

    Args:
        logits: ``(N, C, H, W)`` float, ``C >= 2``.
        target: ``(N, H, W)`` integer class indices in ``[0, C)`` or ``ignore_index``.
        weight: ``C`` non-negative class weights, or ``None``.
        ignore_index: target value of pixels left out (not a class index), or ``None``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (``(N, H, W)``, weighted, 0 at ignored pixels).

    Returns:
        A scalar or ``(N, H, W)``; range :math:`[0, \\infty)`. Matches
        ``torch.nn.functional.cross_entropy(logits, target, weight=..., ignore_index=...)``.

    Example:
        >>> logits = torch.tensor([[[[2.0]], [[0.0]], [[0.0]]]])       # (1, 3, 1, 1)
        >>> round(cross_entropy(logits, torch.tensor([[[0]]])).item(), 4)      # log(e^2 + 2) - 2
        0.2395
    """
    reduction = _check_reduction(reduction)
    logits, t, valid = _multiclass_inputs(logits, target, ignore_index, "cross_entropy")
    lse = torch.logsumexp(logits, dim=1)  # (N, H, W): log sum_k e^{z_k}
    z_t = logits.gather(1, t[:, None]).squeeze(1)  # (N, H, W): z of the true class
    loss = lse - z_t
    if weight is None:
        return _reduce_pixels(loss, valid, reduction)
    w = _class_vector(weight, "weight", logits.shape[1], logits)[t]  # (N, H, W): w_{t_i}
    w = torch.where(valid, w, torch.zeros((), dtype=w.dtype, device=w.device))
    return _reduce_pixels(w * loss, valid, reduction, denominator=w.sum())


def binary_focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    alpha: Optional[float] = 0.25,
    gamma: float = 2.0,
    ignore_index: Optional[int] = 255,
    reduction: str = "mean",
) -> torch.Tensor:
    """Binary focal loss (Lin et al., 2017) on logits, as the slide writes it.

    .. math::

        FL(p, \\hat p) = -\\Bigl(\\alpha (1 - \\hat p)^{\\gamma}\\, p \\log \\hat p
                       + (1 - \\alpha)\\, \\hat p^{\\gamma} (1 - p) \\log (1 - \\hat p)\\Bigr)

    i.e. :math:`-\\alpha_t (1 - p_t)^\\gamma \\log p_t` with :math:`p_t` the probability of the true label.
    The factor :math:`(1 - p_t)^\\gamma` shrinks the loss of pixels that are already right (easy examples),
    so the many easy background pixels stop dominating; :math:`\\gamma = 0` and :math:`\\alpha = 1/2` give
    half the CE. Computed as :math:`(1 - p_t)^\\gamma = \\exp(\\gamma \\log\\sigma(-s))` with
    :math:`s = \\pm z` the logit of the true label: finite, with finite gradients, for logits of ±1e4 and any
    :math:`\\gamma \\ge 0`.

    **Convention.** :math:`\\alpha` weighs the *positive* (foreground) term and :math:`1 - \\alpha` the
    negative one, as on the slide and in ``torchvision.ops.sigmoid_focal_loss``; the default 0.25 is
    RetinaNet's (it *down*-weights the rare positives: :math:`\\gamma` already mutes the easy negatives).
    ``alpha=None`` means no :math:`\\alpha` factor (torchvision: ``alpha=-1``). The mean is over counted pixels.

    Args:
        logits: ``(N, 1, H, W)`` or ``(N, H, W)`` float.
        target: same spatial shape, 0 / 1 / ``ignore_index``, integer or bool.
        alpha: :math:`\\alpha \\in [0, 1]` or ``None``.
        gamma: :math:`\\gamma \\ge 0` (focusing parameter; 2 in the paper).
        ignore_index: target value of pixels left out, or ``None``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        A scalar or ``(N, H, W)``; range :math:`[0, \\infty)`, never more than the CE (times :math:`\\alpha_t`).

    Example:
        >>> z = torch.tensor([[[3.0, 3.0]]]); y = torch.tensor([[[1, 0]]])   # an easy and a hard pixel
        >>> binary_focal_loss(z, y, alpha=None, gamma=2.0, reduction="none")
        tensor([[[1.0928e-04, 2.7663e+00]]])
    """
    reduction = _check_reduction(reduction)
    z, y, valid = _binary_inputs(logits, target, ignore_index, "binary_focal_loss")
    gamma = check_float(gamma, "gamma", minimum=0.0)
    s = torch.where(y > 0, z, -z)  # logit of the true label: p_t = σ(s)
    log_pt = nn.functional.logsigmoid(s)  # log p_t
    modulating = torch.exp(gamma * nn.functional.logsigmoid(-s))  # (1 - p_t)^gamma
    loss = -modulating * log_pt
    if alpha is not None:
        alpha = check_probability(alpha, "alpha")
        loss = torch.where(y > 0, alpha * loss, (1 - alpha) * loss)  # alpha_t
    return _reduce_pixels(loss, valid, reduction)


def focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    alpha: Optional[Sequence[float]] = None,
    gamma: float = 2.0,
    ignore_index: Optional[int] = 255,
    reduction: str = "mean",
) -> torch.Tensor:
    """Multi-class focal loss on logits: :math:`-\\alpha_t (1 - \\hat p_t)^{\\gamma} \\log \\hat p_t`.

    With :math:`\\hat p_t` the softmax probability of the true class :math:`t`. Both logarithms come from
    log-sum-exp, :math:`\\log \\hat p_t = z_t - \\operatorname{lse}(z)` and
    :math:`\\log(1 - \\hat p_t) = \\operatorname{lse}(z_{k \\ne t}) - \\operatorname{lse}(z)`, so nothing
    overflows or takes ``log(0)``. :math:`\\gamma = 0` without ``alpha`` is :func:`cross_entropy`.

    **Convention.** ``alpha`` is a per-class weight vector (the multi-class reading of the slide's
    :math:`\\alpha`; a single number would only scale the loss), and ``"mean"`` is the plain mean over
    counted pixels, as in the binary focal loss, *not* :func:`cross_entropy`'s weighted mean. With two
    classes, ``alpha=(1 - a, a)`` and logits :math:`(z_0, z_1)` give :func:`binary_focal_loss` with
    :math:`\\alpha = a` on :math:`z = z_1 - z_0`.

    Args:
        logits: ``(N, C, H, W)`` float, ``C >= 2``.
        target: ``(N, H, W)`` integer class indices or ``ignore_index``.
        alpha: ``C`` non-negative class weights, or ``None`` (all 1).
        gamma: :math:`\\gamma \\ge 0`.
        ignore_index: target value of pixels left out, or ``None``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        A scalar or ``(N, H, W)``; range :math:`[0, \\infty)`.

    Example:
        >>> logits = torch.tensor([[[[4.0]], [[0.0]]]]); t = torch.tensor([[[0]]])
        >>> bool(focal_loss(logits, t, gamma=2.0) < 1e-3 * cross_entropy(logits, t))   # easy pixel: muted
        True
    """
    reduction = _check_reduction(reduction)
    logits, t, valid = _multiclass_inputs(logits, target, ignore_index, "focal_loss")
    gamma = check_float(gamma, "gamma", minimum=0.0)
    lse = torch.logsumexp(logits, dim=1)  # (N, H, W)
    z_t = logits.gather(1, t[:, None]).squeeze(1)
    others = logits.scatter(1, t[:, None], float("-inf"))  # z with the true class removed
    log_pt = z_t - lse  # log p_t
    log_not_pt = torch.logsumexp(others, dim=1) - lse  # log(1 - p_t)
    loss = -torch.exp(gamma * log_not_pt) * log_pt
    if alpha is not None:
        loss = _class_vector(alpha, "alpha", logits.shape[1], logits)[t] * loss
    return _reduce_pixels(loss, valid, reduction)


def pos_weight_from_target(target: torch.Tensor, *, ignore_index: Optional[int] = 255) -> float:
    """The usual :math:`\\beta` for :func:`binary_cross_entropy`: #negative / #positive counted pixels.

    With this :math:`\\beta` the positive and the negative pixels weigh the same in total.

    Example:
        >>> pos_weight_from_target(torch.tensor([[[0, 0, 0, 1]]]))
        3.0
    """
    check_tensor(target, "target", shape_hint="0/1 labels")
    if target.dtype.is_floating_point or target.dtype.is_complex:
        raise TypeError(f"target must be an integer (or bool) tensor of 0/1 labels, got {target.dtype}")
    ignore_index = _check_ignore_index(ignore_index, 2)
    t = target[target != ignore_index] if ignore_index is not None else target.flatten()
    positives = int((t == 1).sum())
    if positives == 0:
        raise ValueError("target has no positive (1) pixel: the weight #negatives / #positives is undefined")
    return float(int((t == 0).sum()) / positives)


def inverse_frequency_weights(
    target: torch.Tensor, num_classes: int, *, ignore_index: Optional[int] = 255
) -> torch.Tensor:
    """Per-class weights :math:`w_c = P / (C\\, n_c)` ("balanced"): rare classes weigh more.

    :math:`n_c` counts the pixels of class :math:`c` and :math:`P` all counted pixels, so a perfectly
    balanced data set gets all weights 1. A class with no pixel gets weight 0 (it cannot appear in the loss).

    Returns:
        A float32 tensor ``(C,)`` for :func:`cross_entropy`'s ``weight``.

    Example:
        >>> inverse_frequency_weights(torch.tensor([[0, 0, 0, 1]]), 2)
        tensor([0.6667, 2.0000])
    """
    num_classes = check_positive_int(num_classes, "num_classes")
    check_tensor(target, "target", dtype="int", shape_hint="(N, H, W) class indices")
    ignore_index = _check_ignore_index(ignore_index, num_classes)
    t = target[target != ignore_index] if ignore_index is not None else target.flatten()
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= num_classes):
        raise ValueError(f"target has class {int(t.max())}, but num_classes is {num_classes}")
    counts = torch.bincount(t.long().flatten(), minlength=num_classes).double()
    weights = torch.where(counts > 0, counts.sum() / (num_classes * counts.clamp_min(1)), torch.zeros_like(counts))
    return weights.float()


# --------------------------------------------------------------------------------- region-based (chapter 6)


def _as_count(value: object, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool or value.dtype.is_complex:
            raise TypeError(f"{name} must hold counts (numbers), got {value.dtype}")
        return value if value.dtype.is_floating_point else value.double()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number or a tensor of counts, got {type(value).__name__}")
    return torch.tensor(float(value), dtype=torch.float64)


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    return torch.where(den > 0, num / den.clamp_min(torch.finfo(num.dtype).tiny), torch.full_like(num, math.nan))


def _counts_result(value: torch.Tensor, inputs: Tuple[object, ...]) -> Union[float, torch.Tensor]:
    return value if any(isinstance(x, torch.Tensor) for x in inputs) else float(value)


def dice_coefficient(
    tp: Union[Number, torch.Tensor],
    fp: Union[Number, torch.Tensor],
    fn: Union[Number, torch.Tensor],
    *,
    smooth: float = 0.0,
) -> Union[float, torch.Tensor]:
    """Dice coefficient (F1 score) from true positives, false positives and false negatives.

    .. math::

        DC = \\frac{2\\,TP}{2\\,TP + FP + FN} = \\frac{2 |X \\cap Y|}{|X| + |Y|}

    with :math:`X` the true and :math:`Y` the predicted pixel set: :math:`|X \\cap Y| = TP`,
    :math:`|X| = TP + FN`, :math:`|Y| = TP + FP`. ``smooth`` :math:`s` is added to numerator and
    denominator, :math:`(2TP + s) / (2TP + FP + FN + s)`. Counts may be soft (sums of probabilities).

    **Convention.** Two empty sets (``TP = FP = FN = 0``, no smoothing) give NaN, "undefined", as in
    :mod:`segbook.metrics` (whose ``dice_per_class`` computes the same from a confusion matrix).

    Args:
        tp, fp, fn: non-negative numbers or broadcastable tensors.
        smooth: :math:`s \\ge 0`.

    Returns:
        A float when all three are numbers, else a tensor; range :math:`[0, 1]`.

    Example:
        >>> dice_coefficient(3, 1, 2)           # 6 / 9
        0.6666666666666666
    """
    s = check_float(smooth, "smooth", minimum=0.0)
    t, p, n = _as_count(tp, "tp"), _as_count(fp, "fp"), _as_count(fn, "fn")
    return _counts_result(_ratio(2 * t + s, 2 * t + p + n + s), (tp, fp, fn))


def iou_score(
    tp: Union[Number, torch.Tensor],
    fp: Union[Number, torch.Tensor],
    fn: Union[Number, torch.Tensor],
    *,
    smooth: float = 0.0,
) -> Union[float, torch.Tensor]:
    """Intersection over union (Jaccard index) from TP, FP and FN.

    .. math::

        IoU = \\frac{TP}{TP + FP + FN} = \\frac{|X \\cap Y|}{|X| + |Y| - |X \\cap Y|}, \\qquad
        DC = \\frac{2\\, IoU}{1 + IoU} .

    Same conventions as :func:`dice_coefficient` (NaN for two empty sets without smoothing).

    Example:
        >>> iou_score(3, 1, 2)                  # 3 / 6
        0.5
    """
    s = check_float(smooth, "smooth", minimum=0.0)
    t, p, n = _as_count(tp, "tp"), _as_count(fp, "fp"), _as_count(fn, "fn")
    return _counts_result(_ratio(t + s, t + p + n + s), (tp, fp, fn))


def soft_counts(
    probs: torch.Tensor, target: torch.Tensor, valid: Optional[torch.Tensor] = None
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Soft TP, FP, FN per image and class: sums over pixels of :math:`\\hat p g`, :math:`\\hat p (1-g)`,
    :math:`(1-\\hat p) g`.

    With hard 0/1 predictions these are the usual counts; with probabilities they are differentiable, which
    is what makes the Dice and Tversky *losses* possible.

    Args:
        probs: ``(N, K, H, W)`` probabilities.
        target: ``(N, K, H, W)`` one-hot (0/1) float target.
        valid: optional ``(N, 1, H, W)`` or ``(N, H, W)`` bool mask of counted pixels.

    Returns:
        ``(tp, fp, fn)``, each ``(N, K)``.

    Example:
        >>> p = torch.tensor([[[[0.9, 0.2, 0.6]]]]); g = torch.tensor([[[[1.0, 0.0, 0.0]]]])
        >>> [round(float(x), 2) for x in soft_counts(p, g)]
        [0.9, 0.8, 0.1]
    """
    check_tensor(probs, "probs", ndim=4, dtype="float", shape_hint="(N, K, H, W)")
    check_tensor(target, "target", ndim=4, dtype="float", shape_hint="(N, K, H, W) one-hot")
    if probs.shape != target.shape:
        raise ValueError(
            f"probs and target must have the same shape, got {tuple(probs.shape)} and {tuple(target.shape)}"
        )
    if valid is not None:
        mask = (valid if valid.ndim == 4 else valid[:, None]).to(probs.dtype)
        probs, target = probs * mask, target * mask
    tp = (probs * target).sum((2, 3))
    fp = (probs * (1 - target)).sum((2, 3))
    fn = ((1 - probs) * target).sum((2, 3))
    return tp, fp, fn


def _region_inputs(
    logits: torch.Tensor, target: torch.Tensor, ignore_index: Optional[int], loss_name: str, include_background: bool
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Probabilities and one-hot target (N, K, H, W), masked at ignored pixels, and the mask (N, 1, H, W).

    Binary logits: K = 1, the foreground. Multi-class: K = C, or C - 1 without the background class 0.
    """
    if not isinstance(include_background, bool):
        raise TypeError(f"include_background must be a bool, got {type(include_background).__name__}")
    check_tensor(logits, "logits", ndim=(3, 4), dtype="float", shape_hint="(N, C, H, W), (N, 1, H, W) or (N, H, W)")
    if _is_binary(logits):
        z, y, valid = _binary_inputs(logits, target, ignore_index, loss_name)
        probs, onehot = torch.sigmoid(z)[:, None], y[:, None]  # (N, 1, H, W)
    else:
        logits, t, valid = _multiclass_inputs(logits, target, ignore_index, loss_name)
        probs = torch.softmax(logits, dim=1)  # (N, C, H, W)
        onehot = nn.functional.one_hot(t, logits.shape[1]).movedim(-1, 1).to(probs.dtype)
        if not include_background:
            probs, onehot = probs[:, 1:], onehot[:, 1:]
    mask = valid[:, None].to(probs.dtype)
    return probs * mask, onehot * mask, valid[:, None]


def _reduce_pairs(values: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "none":
        return values
    return values.sum() if reduction == "sum" else values.mean()


def _smoothed_ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """``num / den``, and 1 (a perfect score) where ``den == 0``: nothing to find and nothing predicted."""
    return torch.where(den > 0, num / den.clamp_min(torch.finfo(num.dtype).tiny), torch.ones_like(num))


def soft_dice_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    smooth: float = 1.0,
    include_background: bool = True,
    ignore_index: Optional[int] = 255,
    reduction: str = "mean",
) -> torch.Tensor:
    """Soft Dice loss, the slide's :math:`DL(p, \\hat p) = 1 - \\frac{2 p \\hat p + 1}{p + \\hat p + 1}`.

    The slide's products and sums run over pixels. Here, for each image :math:`n` and class :math:`c`,

    .. math::

        DL_{n,c} = 1 - \\frac{2 \\sum_i \\hat p_{n,c,i}\\, g_{n,c,i} + s}{\\sum_i \\hat p_{n,c,i}
                   + \\sum_i g_{n,c,i} + s}, \\qquad DL = \\frac{1}{N K} \\sum_{n,c} DL_{n,c},

    with :math:`\\hat p` the softmax (multi-class) or sigmoid (binary) probabilities, :math:`g` the one-hot
    target and :math:`s` = ``smooth``. The fraction is :func:`dice_coefficient` of the soft counts.

    **Conventions.** (1) Sums are *per image and class*, then averaged over the :math:`N K` pairs (MONAI's
    default); SMP sums over the whole batch first, which weighs large objects more. (2) The smoothing
    :math:`s = 1` is the slide's "+1": it keeps the ratio defined when a class is absent from an image and
    not predicted (then :math:`DL_{n,c} \\approx 0`, no penalty for a correct "nothing here") and stops a
    few pixels of a tiny object from swinging the loss between 0 and 1. With ``smooth=0`` an absent class
    scores :math:`0 / \\sum_i \\hat p_i = 0`, a loss of 1, however small its probabilities (softmax never
    gives exactly 0); only an exactly empty pair (denominator 0) counts as perfect. (3) Multi-class:
    ``include_background=False`` drops class 0 (:math:`K = C - 1`);
    binary logits have one channel, the foreground (:math:`K = 1`). (4) Ignored pixels are removed from
    both :math:`\\hat p` and :math:`g` sums.

    Args:
        logits: ``(N, C, H, W)`` (softmax) or ``(N, 1, H, W)`` / ``(N, H, W)`` (sigmoid) float.
        target: ``(N, H, W)`` integer class indices (0/1 for binary) or ``ignore_index``.
        smooth: :math:`s \\ge 0`.
        include_background: keep class 0 in the multi-class average.
        ignore_index: target value of pixels left out, or ``None``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (``(N, K)``).

    Returns:
        A scalar in :math:`[0, 1]` (mean), or ``(N, K)``.

    Example:
        >>> target = torch.tensor([[[0, 1], [1, 1]]])
        >>> perfect = 20.0 * (2 * torch.nn.functional.one_hot(target, 2).movedim(-1, 1).float() - 1)
        >>> soft_dice_loss(perfect, target).item() < 1e-6
        True
    """
    reduction = _check_reduction(reduction)
    smooth = check_float(smooth, "smooth", minimum=0.0)
    probs, onehot, valid = _region_inputs(logits, target, ignore_index, "soft_dice_loss", include_background)
    tp, fp, fn = soft_counts(probs, onehot)
    dice = _smoothed_ratio(2 * tp + smooth, 2 * tp + fp + fn + smooth)  # (N, K)
    return _reduce_pairs(1 - dice, reduction)


def tversky_index(
    tp: Union[Number, torch.Tensor],
    fp: Union[Number, torch.Tensor],
    fn: Union[Number, torch.Tensor],
    *,
    fp_weight: float = 0.5,
    fn_weight: float = 0.5,
    smooth: float = 0.0,
) -> Union[float, torch.Tensor]:
    """Tversky index: a Dice/IoU whose false positives and false negatives have their own weights.

    .. math:: TI = \\frac{TP + s}{TP + w_{FP}\\, FP + w_{FN}\\, FN + s}

    :math:`w_{FP} = w_{FN} = 1/2` gives Dice, :math:`w_{FP} = w_{FN} = 1` gives IoU.

    **The letters are a trap; this function names the weights by what they punish.**

    ========================================  ==================  ==================
    notation                                  weight of FP        weight of FN
    ========================================  ==================  ==================
    the slide (and the losses post it cites)  :math:`\\beta`       :math:`1 - \\beta`
    Salehi et al. 2017, MONAI, SMP, Keras     :math:`\\alpha`      :math:`\\beta`
    this function                             ``fp_weight``        ``fn_weight``
    ========================================  ==================  ==================

    On the slide, :math:`(1 - p)\\hat p` is a false positive, so *its* :math:`\\beta` weighs FPs, while
    Salehi's :math:`\\beta` weighs FNs: "β = 0.7" means opposite things in the two. To punish missed
    foreground (high recall, Salehi's recommended :math:`\\alpha = 0.3, \\beta = 0.7`) use
    ``fp_weight=0.3, fn_weight=0.7``.

    Args:
        tp, fp, fn: non-negative numbers or tensors (soft counts allowed).
        fp_weight, fn_weight: weights in :math:`[0, 1]`... or larger (>= 0); not both 0.
        smooth: :math:`s \\ge 0`. Note that with equal weights 1/2 the Tversky index with smoothing
            :math:`s` equals the Dice coefficient with smoothing :math:`2s`.

    Returns:
        A float for numbers, else a tensor; range :math:`[0, 1]`; NaN for 0/0.

    Example:
        >>> tversky_index(3, 1, 2, fp_weight=0.5, fn_weight=0.5) == dice_coefficient(3, 1, 2)
        True
    """
    a, b, s = _tversky_weights(fp_weight, fn_weight, smooth)
    t, p, n = _as_count(tp, "tp"), _as_count(fp, "fp"), _as_count(fn, "fn")
    return _counts_result(_ratio(t + s, t + a * p + b * n + s), (tp, fp, fn))


def _tversky_weights(fp_weight: object, fn_weight: object, smooth: object) -> Tuple[float, float, float]:
    a = check_float(fp_weight, "fp_weight", minimum=0.0)
    b = check_float(fn_weight, "fn_weight", minimum=0.0)
    if a == 0 and b == 0:
        raise ValueError("fp_weight and fn_weight are both 0: the index would ignore every error")
    return a, b, check_float(smooth, "smooth", minimum=0.0)


def tversky_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    fp_weight: float = 0.5,
    fn_weight: float = 0.5,
    smooth: float = 0.5,
    include_background: bool = True,
    ignore_index: Optional[int] = 255,
    reduction: str = "mean",
) -> torch.Tensor:
    """Tversky loss :math:`1 - TI` on the soft counts, per image and class, then averaged.

    The slide's form is :math:`TI(p, \\hat p) = \\frac{p \\hat p}{p \\hat p + \\beta (1 - p) \\hat p
    + (1 - \\beta) p (1 - \\hat p)}`: its :math:`\\beta` is ``fp_weight`` and :math:`1 - \\beta` is
    ``fn_weight`` (see :func:`tversky_index` for the letters of Salehi et al. / MONAI / SMP, where
    :math:`\\alpha` weighs FPs and :math:`\\beta` FNs).

    .. math::

        TL = \\frac{1}{NK}\\sum_{n,c} \\Bigl(1 - \\frac{TP_{n,c} + s}{TP_{n,c} + w_{FP} FP_{n,c}
             + w_{FN} FN_{n,c} + s}\\Bigr)

    **Conventions** as :func:`soft_dice_loss` (per image and class; ``include_background``; ignored pixels).
    The default ``smooth=0.5`` is chosen so that ``fp_weight = fn_weight = 0.5`` gives *exactly*
    :func:`soft_dice_loss` with its default +1 (the Dice fraction is the Tversky fraction with numerator and
    denominator doubled).

    Args:
        logits, target, include_background, ignore_index, reduction: as :func:`soft_dice_loss`.
        fp_weight: weight of false positives (the slide's :math:`\\beta`, Salehi's :math:`\\alpha`).
        fn_weight: weight of false negatives (the slide's :math:`1 - \\beta`, Salehi's :math:`\\beta`).
        smooth: :math:`s \\ge 0`.

    Returns:
        A scalar in :math:`[0, 1]` when both weights are positive (mean), or ``(N, K)``.

    Example:
        >>> logits = torch.randn(2, 3, 4, 4); target = torch.randint(0, 3, (2, 4, 4))
        >>> torch.allclose(tversky_loss(logits, target), soft_dice_loss(logits, target))
        True
    """
    reduction = _check_reduction(reduction)
    a, b, s = _tversky_weights(fp_weight, fn_weight, smooth)
    probs, onehot, _ = _region_inputs(logits, target, ignore_index, "tversky_loss", include_background)
    tp, fp, fn = soft_counts(probs, onehot)
    index = _smoothed_ratio(tp + s, tp + a * fp + b * fn + s)
    return _reduce_pairs(1 - index, reduction)


# -------------------------------------------------------------------------------------------------- combined


def dice_ce_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    dice_weight: float = 1.0,
    ce_weight: float = 1.0,
    smooth: float = 1.0,
    include_background: bool = True,
    class_weight: Optional[Sequence[float]] = None,
    pos_weight: Optional[float] = None,
    ignore_index: Optional[int] = 255,
) -> torch.Tensor:
    """Dice loss + cross entropy, the slide's :math:`CE(p, \\hat p) + DL(p, \\hat p)`, with weights.

    .. math:: L = \\lambda_{Dice}\\, DL + \\lambda_{CE}\\, CE

    The CE gives every pixel a well-behaved gradient from the first step; the Dice term looks at whole
    regions and is insensitive to how many background pixels there are. Binary logits use
    :func:`binary_cross_entropy` (``pos_weight``), multi-class ones :func:`cross_entropy` (``class_weight``).

    Returns:
        A scalar, :math:`\\ge 0`.

    Example:
        >>> logits = torch.randn(2, 3, 4, 4); target = torch.randint(0, 3, (2, 4, 4))
        >>> total = dice_ce_loss(logits, target)
        >>> torch.allclose(total, soft_dice_loss(logits, target) + cross_entropy(logits, target))
        True
    """
    wd = check_float(dice_weight, "dice_weight", minimum=0.0)
    wc = check_float(ce_weight, "ce_weight", minimum=0.0)
    dice = soft_dice_loss(
        logits,
        target,
        smooth=smooth,
        include_background=include_background,
        ignore_index=ignore_index,
    )  # validates the inputs
    if _is_binary(logits):
        if class_weight is not None:
            raise ValueError(
                "class_weight is for multi-class logits (N, C, H, W); for binary logits use "
                "pos_weight (the slide's beta)"
            )
        ce = binary_cross_entropy(logits, target, pos_weight=pos_weight, ignore_index=ignore_index)
    else:
        if pos_weight is not None:
            raise ValueError("pos_weight is for binary logits (N, 1, H, W); for C classes use class_weight")
        ce = cross_entropy(logits, target, weight=class_weight, ignore_index=ignore_index)
    return wd * dice + wc * ce


def dice_focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    dice_weight: float = 1.0,
    focal_weight: float = 1.0,
    gamma: float = 2.0,
    alpha: object = None,
    smooth: float = 1.0,
    include_background: bool = True,
    ignore_index: Optional[int] = 255,
) -> torch.Tensor:
    """Dice loss + focal loss, :math:`\\lambda_{Dice}\\, DL + \\lambda_{FL}\\, FL`.

    **The slide titled "Dice loss + Focal loss" prints** :math:`CE(p, \\hat p) + FL(p, \\hat p)`: a typo, the
    combination meant (and used, e.g. by Zhu et al.'s AnatomyNet and MONAI's ``DiceFocalLoss``) is Dice +
    focal, implemented here. Binary logits use :func:`binary_focal_loss` (``alpha`` a number, default
    ``None``: no :math:`\\alpha` factor), multi-class ones :func:`focal_loss` (``alpha`` per class).

    Returns:
        A scalar, :math:`\\ge 0`.

    Example:
        >>> logits = torch.randn(2, 3, 4, 4); target = torch.randint(0, 3, (2, 4, 4))
        >>> total = dice_focal_loss(logits, target, gamma=2.0)
        >>> torch.allclose(total, soft_dice_loss(logits, target) + focal_loss(logits, target, gamma=2.0))
        True
    """
    wd = check_float(dice_weight, "dice_weight", minimum=0.0)
    wf = check_float(focal_weight, "focal_weight", minimum=0.0)
    dice = soft_dice_loss(
        logits,
        target,
        smooth=smooth,
        include_background=include_background,
        ignore_index=ignore_index,
    )
    if _is_binary(logits):
        focal = binary_focal_loss(
            logits,
            target,
            alpha=alpha,
            gamma=gamma,
            ignore_index=ignore_index,
        )
    else:
        focal = focal_loss(
            logits,
            target,
            alpha=alpha,
            gamma=gamma,
            ignore_index=ignore_index,
        )
    return wd * dice + wf * focal


# ------------------------------------------------------------------------------------------------- boundary


def _signed_distances(masks: np.ndarray) -> np.ndarray:
    """The reference's signed distance of each binary mask of a stack (N, H, W): negative inside, positive outside.

    One ``distance_transform_edt`` call for the whole stack: the batch axis gets a spacing larger than any
    distance inside an image, so the nearest pixel is always found in the same image (when it has one).
    """
    from scipy.ndimage import distance_transform_edt

    n, h, w = masks.shape
    spacing = (float(h + w), 1.0, 1.0)  # > any in-image distance sqrt((h-1)^2 + (w-1)^2)
    outside = ~masks
    # outside: distance to the nearest mask pixel (>= 1); inside: distance to the nearest outside pixel
    # minus 1, so mask pixels that touch the outside are 0: the boundary, as in the reference code.
    phi = (
        distance_transform_edt(outside, sampling=spacing) * outside
        - (distance_transform_edt(masks, sampling=spacing) - 1) * masks
    )
    has_boundary = masks.any(axis=(1, 2)) & outside.any(axis=(1, 2))  # absent or whole-image class: zeros
    phi[~has_boundary] = 0.0
    return phi


def signed_distance_map(target: torch.Tensor, num_classes: int, *, ignore_index: Optional[int] = 255) -> torch.Tensor:
    """Signed distance map :math:`\\phi_G` of every class of a label map (Kervadec et al.'s level set).

    For class :math:`c` with ground-truth region :math:`G`, using ``scipy.ndimage.distance_transform_edt``
    (Euclidean distance in pixels), exactly as the authors' ``one_hot2dist``:

    .. math::

        \\phi_G(q) = \\begin{cases} d(q, G) & q \\notin G \\quad (\\text{outside: positive, } \\ge 1)\\\\
                     -\\bigl(d(q, \\Omega \\setminus G) - 1\\bigr) & q \\in G \\quad
                     (\\text{inside: } \\le 0) \\end{cases}

    so the pixels of :math:`G` that touch the outside (4-neighbours) are 0: that is the boundary
    :math:`\\partial G` in the reference's convention, and distances grow by about 1 per pixel away from it.

    **Conventions.** A class absent from the image gets all zeros (the reference leaves it blank: another
    class's map supervises those pixels). A class covering the *whole* image has no boundary inside it; it
    also gets zeros (scipy's transform is undefined there; the reference would return meaningless values).
    Ignored pixels belong to no class. Computed on the CPU with NumPy (as the reference does, in its data
    loader); the result is moved to ``target``'s device.

    Args:
        target: ``(N, H, W)`` or ``(H, W)`` integer class indices or ``ignore_index``.
        num_classes: ``C``.
        ignore_index: target value of unlabelled pixels, or ``None``.

    Returns:
        float32 ``(N, C, H, W)``, or ``(C, H, W)`` for an ``(H, W)`` target.

    Example:
        >>> mask = torch.tensor([[0, 0, 0, 0, 0], [0, 1, 1, 1, 0], [0, 1, 1, 1, 0], [0, 1, 1, 1, 0], [0, 0, 0, 0, 0]])
        >>> signed_distance_map(mask, 2)[1]
        tensor([[ 1.4142,  1.0000,  1.0000,  1.0000,  1.4142],
                [ 1.0000,  0.0000,  0.0000,  0.0000,  1.0000],
                [ 1.0000,  0.0000, -1.0000,  0.0000,  1.0000],
                [ 1.0000,  0.0000,  0.0000,  0.0000,  1.0000],
                [ 1.4142,  1.0000,  1.0000,  1.0000,  1.4142]])
    """
    num_classes = check_positive_int(num_classes, "num_classes")
    check_tensor(target, "target", ndim=(2, 3), dtype="int", shape_hint="(N, H, W) or (H, W) class indices")
    ignore_index = _check_ignore_index(ignore_index, num_classes)
    labels = target.detach().cpu().long()
    valid = labels != ignore_index if ignore_index is not None else torch.ones_like(labels, dtype=torch.bool)
    counted = labels[valid]
    if counted.numel() and (int(counted.min()) < 0 or int(counted.max()) >= num_classes):
        bad = int(counted.min()) if int(counted.min()) < 0 else int(counted.max())
        raise ValueError(f"target has class {bad}, but num_classes is {num_classes} (valid 0..{num_classes - 1})")
    single = labels.ndim == 2
    batch = (labels[None] if single else labels).numpy()  # (N, H, W)
    result = torch.from_numpy(_class_distance_maps(batch, range(num_classes))).to(target.device)
    return result[0] if single else result


def _class_distance_maps(batch: np.ndarray, classes: Sequence[int]) -> np.ndarray:
    """float32 (N, len(classes), H, W): the signed distance map of each listed class of a label stack (N, H, W)."""
    out = np.zeros((batch.shape[0], len(classes)) + batch.shape[1:], dtype=np.float32)
    for k, c in enumerate(classes):
        present = (batch == c).any(axis=(1, 2))
        if present.any():  # a class absent from the whole batch stays all zeros
            out[present, k] = _signed_distances(batch[present] == c)
    return out


def boundary_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    distance_map: Optional[torch.Tensor] = None,
    include_background: bool = False,
    ignore_index: Optional[int] = 255,
    reduction: str = "mean",
) -> torch.Tensor:
    """Boundary loss (Kervadec et al., MIDL 2019): the mean of predicted probability × signed distance.

    The distance between the predicted boundary :math:`\\partial S` and the true one :math:`\\partial G`,
    written on the slide in its *differential* form :math:`\\int_{\\partial G} \\|y_{\\partial S}(p) - p\\|^2 dp`,
    is approximated by the *integral* over the region :math:`\\Delta S` between the two boundaries,
    :math:`2 \\int_{\\Delta S} D_G(q)\\, dq`, and that integral is, up to a term without the network's
    parameters,

    .. math::

        \\tfrac12 \\operatorname{Dist}(\\partial G, \\partial S) = \\int_\\Omega \\phi_G(q)\\, s(q)\\, dq
        - \\int_\\Omega \\phi_G(q)\\, g(q)\\, dq .

    Replacing the predicted region :math:`s` by the softmax/sigmoid probabilities :math:`s_\\theta` gives the
    loss, a mean over pixels (and the selected classes):

    .. math:: L_B = \\frac{1}{|\\Omega| K} \\sum_{c} \\sum_{q \\in \\Omega} \\phi_{G_c}(q)\\, s_{\\theta,c}(q) .

    **Range and sign.** :math:`L_B` is *not* 0 at a perfect prediction: it is minimal there, at
    :math:`\\frac{1}{|\\Omega|K}\\sum \\phi_G g \\le 0` (probability 1 on the negative inside of every region),
    and :math:`L_B - L_B(g) = \\frac{1}{|\\Omega|K}\\sum \\phi_G (s - g) \\ge 0`, the slide's
    :math:`\\tfrac12\\operatorname{Dist}`. Alone, it mostly pulls towards an empty prediction (the positive
    distances cover the whole background, and an empty prediction already scores 0), so the paper pairs it with
    a region loss: see :func:`dice_boundary_loss`.

    **Conventions.** ``include_background=False`` (the reference uses the foreground classes only, ``idc=[1]``);
    binary logits use the foreground map. :math:`\\phi_G` is :func:`signed_distance_map` (or pass
    ``distance_map`` precomputed, e.g. in a data loader, shaped like the selected probabilities ``(N, K, H, W)``
    or the full ``(N, C, H, W)``). Ignored pixels are left out of the sum and the mean.

    Args:
        logits: ``(N, C, H, W)`` or ``(N, 1, H, W)`` / ``(N, H, W)`` float.
        target: ``(N, H, W)`` integer class indices (0/1 for binary) or ``ignore_index``.
        distance_map: optional precomputed :math:`\\phi_G`.
        include_background: keep class 0 (multi-class only).
        ignore_index: target value of pixels left out, or ``None``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (per-pixel ``(N, K, H, W)``).

    Returns:
        A scalar (any sign, see above), or ``(N, K, H, W)``.

    Example:
        >>> target = torch.zeros(1, 8, 8, dtype=torch.long); target[0, 2:6, 2:6] = 1
        >>> good, bad = 10.0 * (2 * target[:, None].float() - 1), torch.zeros(1, 1, 8, 8)
        >>> bool(boundary_loss(good, target) < boundary_loss(bad, target))
        True
    """
    reduction = _check_reduction(reduction)
    probs, _, valid = _region_inputs(logits, target, ignore_index, "boundary_loss", include_background)
    k = probs.shape[1]
    if distance_map is None:  # only the classes the loss uses (inputs are validated by now)
        if _is_binary(logits):
            classes: Sequence[int] = [1]
        else:
            classes = range(0 if include_background else 1, logits.shape[1])
        t = (target[:, 0] if target.ndim == 4 else target).detach().cpu().long().numpy()
        phi = torch.from_numpy(_class_distance_maps(t, classes)).to(device=probs.device, dtype=probs.dtype)
    else:
        phi = check_tensor(distance_map, "distance_map", ndim=4, dtype="float", shape_hint="(N, K, H, W)")
        phi = phi.to(device=probs.device, dtype=probs.dtype)
    if phi.shape[1] != k:  # a full (N, C, H, W) map: keep the classes the probabilities kept
        if phi.shape[1] == k + 1:
            phi = phi[:, 1:]
        else:
            raise ValueError(
                f"distance_map has {phi.shape[1]} channels but the loss uses K={k} classes: pass "
                f"(N, K, H, W) or the full (N, C, H, W) map"
            )
    if phi.shape[0] != probs.shape[0] or phi.shape[2:] != probs.shape[2:]:
        raise ValueError(f"distance_map {tuple(phi.shape)} does not match the probabilities {tuple(probs.shape)}")
    product = phi * probs * valid.to(probs.dtype)  # (N, K, H, W), 0 where ignored
    if reduction == "none":
        return product
    if reduction == "sum":
        return product.sum()
    count = valid.sum().to(probs.dtype) * k
    return torch.where(count > 0, product.sum() / count.clamp_min(1), product.sum() * 0)


def rebalance_weight(epoch: int, *, step: float = 0.01, minimum: float = 0.01) -> float:
    """Kervadec et al.'s schedule: the region loss's weight :math:`\\alpha` at ``epoch`` (0, 1, 2, ...).

    .. math:: \\alpha_e = \\max(1 - \\text{step} \\cdot e,\\ \\text{minimum}), \\qquad
              L = \\alpha_e\\, L_{region} + (1 - \\alpha_e)\\, L_B .

    Training starts with the region loss alone (the boundary loss alone tends to an empty prediction) and
    shifts weight to the boundary term by ``step`` per epoch (0.01 in the paper, over hundreds of epochs;
    the authors' code, ``StealWeight``, stops the region weight at 0.1). A short run can use a larger step.

    Example:
        >>> [rebalance_weight(e, step=0.25) for e in range(5)]
        [1.0, 0.75, 0.5, 0.25, 0.01]
    """
    epoch = check_int(epoch, "epoch", minimum=0)
    step = check_float(step, "step", minimum=0.0, maximum=1.0)
    minimum = check_float(minimum, "minimum", minimum=0.0, maximum=1.0)
    return max(1.0 - step * epoch, minimum)


def dice_boundary_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    region_weight: float = 1.0,
    smooth: float = 1.0,
    include_background: bool = True,
    ignore_index: Optional[int] = 255,
    distance_map: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """:math:`\\alpha\\, DL + (1 - \\alpha)\\, L_B`: soft Dice plus the boundary loss, as Kervadec et al. train it.

    ``region_weight`` is :math:`\\alpha` (set it each epoch from :func:`rebalance_weight`). The paper uses
    the generalised Dice loss as the region term; this uses :func:`soft_dice_loss` (its
    ``include_background`` applies to the Dice term; the boundary term uses the foreground classes).

    Example:
        >>> logits = torch.randn(2, 3, 8, 8); target = torch.randint(0, 3, (2, 8, 8))
        >>> torch.allclose(dice_boundary_loss(logits, target, region_weight=1.0), soft_dice_loss(logits, target))
        True
    """
    alpha = check_float(region_weight, "region_weight", minimum=0.0, maximum=1.0)
    dice = soft_dice_loss(
        logits, target, smooth=smooth, include_background=include_background, ignore_index=ignore_index
    )
    if alpha == 1.0:
        return dice
    boundary = boundary_loss(logits, target, distance_map=distance_map, ignore_index=ignore_index)
    return alpha * dice + (1 - alpha) * boundary


# --------------------------------------------------------------------------------------------- nn.Modules


class _Loss(nn.Module):
    """A thin module around a loss function: keyword options fixed at construction, ``forward(logits, target)``.

    A subclass sets ``_fn = staticmethod(the_loss_function)``. The options are checked once, at construction,
    by calling the function on a tiny probe input (so a bad option fails where it is written, not at the first
    batch); ``forward`` never changes them.
    """

    _fn: Callable[..., torch.Tensor]

    def __init__(self, **options: object) -> None:
        super().__init__()
        self.options = options
        # Fail at construction, not at the first batch: run the option checks on a tiny input.
        self._fn(*self._probe(), **options)

    def _probe(self) -> Tuple[torch.Tensor, torch.Tensor]:
        return torch.zeros(1, 2, 1, 1), torch.zeros(1, 1, 1, dtype=torch.long)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self._fn(logits, target, **self.options)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.options.items())


class _BinaryLoss(_Loss):
    def _probe(self) -> Tuple[torch.Tensor, torch.Tensor]:
        return torch.zeros(1, 1, 1), torch.zeros(1, 1, 1, dtype=torch.long)


class BinaryCrossEntropyLoss(_BinaryLoss):
    """Module form of :func:`binary_cross_entropy` (``pos_weight`` = the slide's β for WCE).

    Example:
        >>> BinaryCrossEntropyLoss(pos_weight=3.0)(torch.zeros(1, 1, 2, 2), torch.ones(1, 2, 2, dtype=torch.long))
        tensor(2.0794)
    """

    _fn = staticmethod(binary_cross_entropy)

    def __init__(
        self, *, pos_weight: Optional[float] = None, ignore_index: Optional[int] = 255, reduction: str = "mean"
    ) -> None:
        super().__init__(pos_weight=pos_weight, ignore_index=ignore_index, reduction=reduction)


class CrossEntropyLoss(_Loss):
    """Module form of :func:`cross_entropy` (per-class ``weight``, PyTorch's weighted mean).

    Example:
        >>> CrossEntropyLoss()(torch.zeros(1, 4, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long))   # log 4
        tensor(1.3863)
    """

    _fn = staticmethod(cross_entropy)

    def __init__(
        self, *, weight: Optional[Sequence[float]] = None, ignore_index: Optional[int] = 255, reduction: str = "mean"
    ) -> None:
        super().__init__(weight=weight, ignore_index=ignore_index, reduction=reduction)

    def _probe(self) -> Tuple[torch.Tensor, torch.Tensor]:
        weight = self.options.get("weight")
        c = 2 if weight is None else max(2, len(weight))
        return torch.zeros(1, c, 1, 1), torch.zeros(1, 1, 1, dtype=torch.long)


class BinaryFocalLoss(_BinaryLoss):
    """Module form of :func:`binary_focal_loss`.

    Example:
        >>> BinaryFocalLoss(alpha=None, gamma=0.0)(torch.zeros(1, 1, 1), torch.ones(1, 1, 1, dtype=torch.long))
        tensor(0.6931)
    """

    _fn = staticmethod(binary_focal_loss)

    def __init__(
        self,
        *,
        alpha: Optional[float] = 0.25,
        gamma: float = 2.0,
        ignore_index: Optional[int] = 255,
        reduction: str = "mean",
    ) -> None:
        super().__init__(alpha=alpha, gamma=gamma, ignore_index=ignore_index, reduction=reduction)


class FocalLoss(_Loss):
    """Module form of :func:`focal_loss` (multi-class; ``alpha`` per class).

    Example:
        >>> FocalLoss(gamma=0.0)(torch.zeros(1, 4, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long))   # = CE = log 4
        tensor(1.3863)
    """

    _fn = staticmethod(focal_loss)

    def __init__(
        self,
        *,
        alpha: Optional[Sequence[float]] = None,
        gamma: float = 2.0,
        ignore_index: Optional[int] = 255,
        reduction: str = "mean",
    ) -> None:
        super().__init__(alpha=alpha, gamma=gamma, ignore_index=ignore_index, reduction=reduction)

    def _probe(self) -> Tuple[torch.Tensor, torch.Tensor]:
        alpha = self.options.get("alpha")
        c = 2 if alpha is None else max(2, len(alpha))
        return torch.zeros(1, c, 1, 1), torch.zeros(1, 1, 1, dtype=torch.long)


class SoftDiceLoss(_Loss):
    """Module form of :func:`soft_dice_loss` (binary or multi-class, chosen by the logits' channels).

    Example:
        >>> SoftDiceLoss(smooth=1.0)(torch.full((1, 1, 2, 2), -30.0), torch.zeros(1, 2, 2, dtype=torch.long))
        tensor(0.)
    """

    _fn = staticmethod(soft_dice_loss)

    def __init__(
        self,
        *,
        smooth: float = 1.0,
        include_background: bool = True,
        ignore_index: Optional[int] = 255,
        reduction: str = "mean",
    ) -> None:
        super().__init__(
            smooth=smooth, include_background=include_background, ignore_index=ignore_index, reduction=reduction
        )


class TverskyLoss(_Loss):
    """Module form of :func:`tversky_loss`: weights named by what they punish, ``fp_weight`` and ``fn_weight``.

    Example:
        >>> TverskyLoss(fp_weight=0.3, fn_weight=0.7)
        TverskyLoss(fp_weight=0.3, fn_weight=0.7, smooth=0.5, include_background=True, ignore_index=255, reduction='mean')
    """

    _fn = staticmethod(tversky_loss)

    def __init__(
        self,
        *,
        fp_weight: float = 0.5,
        fn_weight: float = 0.5,
        smooth: float = 0.5,
        include_background: bool = True,
        ignore_index: Optional[int] = 255,
        reduction: str = "mean",
    ) -> None:
        super().__init__(
            fp_weight=fp_weight,
            fn_weight=fn_weight,
            smooth=smooth,
            include_background=include_background,
            ignore_index=ignore_index,
            reduction=reduction,
        )


class DiceCELoss(_Loss):
    """Module form of :func:`dice_ce_loss`.

    Example:
        >>> DiceCELoss(dice_weight=1.0, ce_weight=0.5)
        DiceCELoss(dice_weight=1.0, ce_weight=0.5, smooth=1.0, include_background=True, class_weight=None, pos_weight=None, ignore_index=255)
    """

    _fn = staticmethod(dice_ce_loss)

    def __init__(
        self,
        *,
        dice_weight: float = 1.0,
        ce_weight: float = 1.0,
        smooth: float = 1.0,
        include_background: bool = True,
        class_weight: Optional[Sequence[float]] = None,
        pos_weight: Optional[float] = None,
        ignore_index: Optional[int] = 255,
    ) -> None:
        super().__init__(
            dice_weight=dice_weight,
            ce_weight=ce_weight,
            smooth=smooth,
            include_background=include_background,
            class_weight=class_weight,
            pos_weight=pos_weight,
            ignore_index=ignore_index,
        )

    def _probe(self) -> Tuple[torch.Tensor, torch.Tensor]:
        if self.options.get("pos_weight") is not None:
            return torch.zeros(1, 1, 1), torch.zeros(1, 1, 1, dtype=torch.long)
        weight = self.options.get("class_weight")
        c = 2 if weight is None else max(2, len(weight))
        return torch.zeros(1, c, 1, 1), torch.zeros(1, 1, 1, dtype=torch.long)


class DiceFocalLoss(_Loss):
    """Module form of :func:`dice_focal_loss` (the slide's "Dice loss + Focal loss", printed there as CE + FL).

    Example:
        >>> DiceFocalLoss(gamma=2.0)
        DiceFocalLoss(dice_weight=1.0, focal_weight=1.0, gamma=2.0, alpha=None, smooth=1.0, include_background=True, ignore_index=255)
    """

    _fn = staticmethod(dice_focal_loss)

    def __init__(
        self,
        *,
        dice_weight: float = 1.0,
        focal_weight: float = 1.0,
        gamma: float = 2.0,
        alpha: object = None,
        smooth: float = 1.0,
        include_background: bool = True,
        ignore_index: Optional[int] = 255,
    ) -> None:
        super().__init__(
            dice_weight=dice_weight,
            focal_weight=focal_weight,
            gamma=gamma,
            alpha=alpha,
            smooth=smooth,
            include_background=include_background,
            ignore_index=ignore_index,
        )

    def _probe(self) -> Tuple[torch.Tensor, torch.Tensor]:
        alpha = self.options.get("alpha")
        if alpha is not None and not isinstance(alpha, (Sequence, torch.Tensor)):  # a number: binary
            return torch.zeros(1, 1, 1), torch.zeros(1, 1, 1, dtype=torch.long)
        c = 2 if alpha is None else max(2, len(alpha))
        return torch.zeros(1, c, 1, 1), torch.zeros(1, 1, 1, dtype=torch.long)


class BoundaryLoss(_Loss):
    """Module form of :func:`boundary_loss` (distance maps computed from the target on every call).

    Example:
        >>> BoundaryLoss()(torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long))   # no foreground
        tensor(0.)
    """

    _fn = staticmethod(boundary_loss)

    def __init__(
        self, *, include_background: bool = False, ignore_index: Optional[int] = 255, reduction: str = "mean"
    ) -> None:
        super().__init__(include_background=include_background, ignore_index=ignore_index, reduction=reduction)


class DiceBoundaryLoss(nn.Module):
    """:func:`dice_boundary_loss` with the region weight :math:`\\alpha` as an attribute set between epochs.

    The weight is *not* changed inside ``forward``: the training loop sets it, e.g.
    ``loss_fn.region_weight = rebalance_weight(epoch, step=0.1)`` before each epoch.

    Example:
        >>> loss_fn = DiceBoundaryLoss()
        >>> loss_fn.region_weight = rebalance_weight(3, step=0.1)
        >>> loss_fn
        DiceBoundaryLoss(region_weight=0.7, smooth=1.0, include_background=True, ignore_index=255)
    """

    def __init__(
        self,
        *,
        region_weight: float = 1.0,
        smooth: float = 1.0,
        include_background: bool = True,
        ignore_index: Optional[int] = 255,
    ) -> None:
        super().__init__()
        self.region_weight = check_float(region_weight, "region_weight", minimum=0.0, maximum=1.0)
        self.smooth = check_float(smooth, "smooth", minimum=0.0)
        if not isinstance(include_background, bool):
            raise TypeError(f"include_background must be a bool, got {type(include_background).__name__}")
        self.include_background = include_background
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return dice_boundary_loss(
            logits,
            target,
            region_weight=self.region_weight,
            smooth=self.smooth,
            include_background=self.include_background,
            ignore_index=self.ignore_index,
        )

    def extra_repr(self) -> str:
        return (
            f"region_weight={self.region_weight!r}, smooth={self.smooth!r}, "
            f"include_background={self.include_background}, ignore_index={self.ignore_index!r}"
        )


# --------------------------------------------------------------------------------------------- deep supervision


def deep_supervision_loss(
    outputs: Sequence[torch.Tensor],
    target: torch.Tensor,
    *,
    loss: Optional[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = None,
    weights: Optional[Sequence[float]] = None,
) -> torch.Tensor:
    r"""The loss of a model with several heads (deep or intermediate supervision): a weighted mean of one loss
    per head, every head compared with the same target.

    .. math:: \mathcal{L} = \frac{\sum_k w_k\, \ell(\text{logits}_k, y)}{\sum_k w_k}

    U-Net++ (Zhou et al., 2018) averages the losses of its heads with equal weights; stacked hourglasses and
    CU-Net do the same for their intermediate supervision. Every head gets its own gradient, so the early
    layers of a deep or stacked network are trained directly, not only through the layers after them.

    Args:
        outputs: a list or tuple of logits (N, C, H, W), one per head, all of the target's size.
        target: (N, H, W) class indices.
        loss: the per-head loss ``loss(logits, target) -> 0-dim tensor``; default :func:`cross_entropy`
            (ignore index 255).
        weights: one non-negative weight per head (not all zero); default equal weights.

    Returns:
        A 0-dim tensor.

    Example:
        >>> heads = [torch.zeros(1, 4, 2, 2), torch.zeros(1, 4, 2, 2)]
        >>> deep_supervision_loss(heads, torch.zeros(1, 2, 2, dtype=torch.long))   # log 4 for each head
        tensor(1.3863)
    """
    if not isinstance(outputs, (list, tuple)) or not outputs:
        raise TypeError(
            f"outputs must be a non-empty list of logits, one per head, got "
            f"{type(outputs).__name__ if not isinstance(outputs, (list, tuple)) else 'an empty list'}"
            + (" (a single tensor: use the loss itself)" if isinstance(outputs, torch.Tensor) else "")
        )
    if loss is None:
        loss = cross_entropy
    elif not callable(loss):
        raise TypeError(f"loss must be a callable loss(logits, target), got {type(loss).__name__}")
    if weights is None:
        weights = [1.0] * len(outputs)
    if not isinstance(weights, (list, tuple)) or len(weights) != len(outputs):
        raise ValueError(f"weights must have one value per head ({len(outputs)}), got {weights!r}")
    weights = [check_float(w, "each weight", minimum=0.0) for w in weights]
    if sum(weights) <= 0:
        raise ValueError("weights must not all be zero")
    for k, logits in enumerate(outputs):
        check_tensor(logits, f"outputs[{k}]", ndim=4, dtype="float", shape_hint="(N, C, H, W)")
    total = sum(w * loss(logits, target) for w, logits in zip(weights, outputs) if w > 0)
    return total / sum(weights)


class DeepSupervisionLoss(nn.Module):
    """Module form of :func:`deep_supervision_loss`, for ``training.fit(loss_fn=...)`` with a list-returning model.

    Example:
        >>> DeepSupervisionLoss(weights=[0.5, 1.0])
        DeepSupervisionLoss(loss=cross_entropy, weights=[0.5, 1.0])
    """

    def __init__(
        self,
        *,
        loss: Optional[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = None,
        weights: Optional[Sequence[float]] = None,
    ) -> None:
        super().__init__()
        if loss is not None and not callable(loss):
            raise TypeError(f"loss must be a callable loss(logits, target), got {type(loss).__name__}")
        if weights is not None:
            if not isinstance(weights, (list, tuple)) or not weights:
                raise ValueError(f"weights must be a non-empty list, one per head, got {weights!r}")
            weights = [check_float(w, "each weight", minimum=0.0) for w in weights]
        self.loss, self.weights = loss, weights

    def forward(self, outputs: Sequence[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        return deep_supervision_loss(outputs, target, loss=self.loss, weights=self.weights)

    def extra_repr(self) -> str:
        name = getattr(self.loss, "__name__", type(self.loss).__name__) if self.loss is not None else "cross_entropy"
        return f"loss={name}, weights={self.weights!r}"


from segbook.losses.weight_map import *  # noqa: E402,F401,F403
from segbook.losses.weight_map import __all__ as _weight_map_all  # noqa: E402

__all__ += _weight_map_all
