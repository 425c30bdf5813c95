"""Multi-label losses (chapter 6's conventions as other libraries speak them): one sigmoid per class.

A pixel may belong to several classes or to none, so each class is its own binary problem: logits
``(N, C, H, W)``, a 0/1 target of the same shape (:func:`~segbook.conventions.check_multilabel_inputs`). The
region losses here also speak MONAI's options: separate numerator and denominator smoothing (``smooth_nr``,
``smooth_dr``), ``include_background=False`` (channel 0 left out), and ``activation`` (``"sigmoid"``, the
multi-label default; ``"softmax"`` for exclusive classes given as a one-hot target; ``None`` for inputs that
are already probabilities, MONAI's ``sigmoid=False, softmax=False``).
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import torch

from segbook.conventions import (
    IGNORE_INDEX,
    MultilabelInputs,
    accumulation_dtype,
    check_bool,
    check_choice,
    check_float,
    check_multilabel_inputs,
    check_probability,
    check_unit_interval,
    safe_divide,
    values_checked,
)
from segbook.losses._common import check_reduction, class_vector, per_class, reduce_pairs
from segbook.losses.distribution import binary_focal_map
from segbook.losses.region import check_tversky_weights, soft_counts_kernel

__all__ = ["ACTIVATIONS", "multilabel_dice_loss", "multilabel_tversky_loss", "multilabel_focal_loss"]

ACTIVATIONS = ("sigmoid", "softmax", None)


def _probabilities(inputs: MultilabelInputs, activation: Optional[str], validate: Optional[bool]) -> torch.Tensor:
    x = inputs.logits
    if activation == "sigmoid":
        probs = torch.sigmoid(x)
    elif activation == "softmax":
        probs = torch.softmax(x, dim=1)
    else:  # raw inputs: they must already be probabilities (a non-finite one propagates, the NaN rule)
        if values_checked(validate, x) and bool(torch.isfinite(x).all()):
            check_unit_interval(x, "inputs", what="probabilities (activation=None takes no logits)")
        probs = x
    return probs if inputs.valid is None else probs * inputs.valid.to(probs.dtype)


def _counts(
    inputs: MultilabelInputs, activation: Optional[str], include_background: bool, validate: Optional[bool]
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    tp, fp, fn = soft_counts_kernel(_probabilities(inputs, activation, validate), inputs.target)
    return (tp, fp, fn) if include_background else (tp[:, 1:], fp[:, 1:], fn[:, 1:])


def _region_options(
    activation: object, smooth_nr: object, smooth_dr: object, include_background: object, reduction: object
) -> Tuple[Optional[str], float, float, bool, str]:
    act = check_choice(activation, "activation", ACTIVATIONS)
    return (
        None if act is None else str(act),
        check_float(smooth_nr, "smooth_nr", minimum=0.0),
        check_float(smooth_dr, "smooth_dr", minimum=0.0),
        check_bool(include_background, "include_background"),
        check_reduction(reduction),
    )


def multilabel_dice_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    activation: Optional[str] = "sigmoid",
    smooth_nr: float = 1.0,
    smooth_dr: float = 1.0,
    include_background: bool = True,
    ignore_index: Optional[int] = IGNORE_INDEX,
    reduction: str = "mean",
    validate: Optional[bool] = None,
) -> torch.Tensor:
    """Soft Dice loss with one sigmoid per class (multi-label), MONAI's ``DiceLoss`` conventions.

    .. math:: DL_{n,c} = 1 - \\frac{2\\,TP_{n,c} + s_{nr}}{2\\,TP_{n,c} + FP_{n,c} + FN_{n,c} + s_{dr}}

    with soft counts over the pixels of image :math:`n` and channel :math:`c`, averaged over the :math:`N K`
    pairs (``"mean"``), as :func:`~segbook.losses.soft_dice_loss` does. ``smooth_nr = smooth_dr = s`` is
    its ``smooth``; MONAI's defaults are ``1e-5`` each. A pair with an empty denominator scores 0 (perfect).

    Args:
        logits: ``(N, C, H, W)`` float, one channel per class (or probabilities with ``activation=None``).
        target: same shape, 0/1 per class and pixel, or ``ignore_index`` (that element left out).
        activation: ``"sigmoid"`` (multi-label), ``"softmax"`` (exclusive classes, one-hot target) or
            ``None`` (the inputs are probabilities already; checked to lie in [0, 1]).
        smooth_nr, smooth_dr: :math:`s_{nr}, s_{dr} \\ge 0`, added to numerator and denominator.
        include_background: keep channel 0 (``False``: :math:`K = C - 1`, MONAI's option).
        ignore_index: target value of elements left out, or ``None``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (``(N, K)``).
        validate: read values to check them (0/1 target, probabilities): ``None`` on CPU tensors only.

    Returns:
        A scalar in :math:`[0, 1]` (mean), or ``(N, K)``.

    Example:
        >>> target = torch.tensor([[[[1, 1]], [[0, 1]]]])             # pixel 2 is in both classes
        >>> logits = 20.0 * (2 * target.float() - 1)
        >>> multilabel_dice_loss(logits, target).item() < 1e-6
        True
    """
    act, snr, sdr, background, reduction = _region_options(
        activation, smooth_nr, smooth_dr, include_background, reduction
    )
    inputs = check_multilabel_inputs(
        logits, target, ignore_index=ignore_index, validate=validate, name="multilabel_dice_loss"
    )
    tp, fp, fn = _counts(inputs, act, background, validate)
    dice = safe_divide(2 * tp + snr, 2 * tp + fp + fn + sdr, empty=1.0)
    return reduce_pairs(1 - dice, reduction)


def multilabel_tversky_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    fp_weight: float = 0.5,
    fn_weight: float = 0.5,
    activation: Optional[str] = "sigmoid",
    smooth_nr: float = 0.5,
    smooth_dr: float = 0.5,
    include_background: bool = True,
    ignore_index: Optional[int] = IGNORE_INDEX,
    reduction: str = "mean",
    validate: Optional[bool] = None,
) -> torch.Tensor:
    """Tversky loss with one sigmoid per class: :math:`1 - \\frac{TP + s_{nr}}{TP + w_{FP} FP + w_{FN} FN +
    s_{dr}}` per image and channel, then averaged (MONAI's ``TverskyLoss``: its ``alpha`` is ``fp_weight``,
    its ``beta`` ``fn_weight``; see :func:`~segbook.losses.tversky_index` for the letters).

    Options and arguments as :func:`multilabel_dice_loss`; ``fp_weight = fn_weight = 1/2`` with smoothing
    :math:`s` equals it with smoothing :math:`2s`.

    Example:
        >>> logits, target = torch.randn(2, 3, 4, 4), torch.randint(0, 2, (2, 3, 4, 4))
        >>> torch.allclose(multilabel_tversky_loss(logits, target), multilabel_dice_loss(logits, target))
        True
    """
    a, b, _ = check_tversky_weights(fp_weight, fn_weight, 0.0)
    act, snr, sdr, background, reduction = _region_options(
        activation, smooth_nr, smooth_dr, include_background, reduction
    )
    inputs = check_multilabel_inputs(
        logits, target, ignore_index=ignore_index, validate=validate, name="multilabel_tversky_loss"
    )
    tp, fp, fn = _counts(inputs, act, background, validate)
    index = safe_divide(tp + snr, tp + a * fp + b * fn + sdr, empty=1.0)
    return reduce_pairs(1 - index, reduction)


def multilabel_focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    alpha: Union[None, float, Sequence[float]] = 0.25,
    gamma: float = 2.0,
    ignore_index: Optional[int] = IGNORE_INDEX,
    reduction: str = "mean",
    validate: Optional[bool] = None,
) -> torch.Tensor:
    """Focal loss with one sigmoid per class: :func:`~segbook.losses.binary_focal_loss` of every element.

    :math:`-\\alpha_t (1 - p_t)^\\gamma \\log p_t` per pixel and class (``torchvision.ops.sigmoid_focal_loss``
    on ``(N, C, H, W)``); ``"mean"`` averages over the counted elements (pixels times classes).

    Args:
        alpha: :math:`\\alpha \\in [0, 1]` for every class, ``C`` values (one per class), or ``None``.
        gamma: :math:`\\gamma \\ge 0`.
        logits, target, ignore_index, validate: as :func:`multilabel_dice_loss`.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (``(N, C, H, W)``, 0 at ignored elements).

    Example:
        >>> z = torch.tensor([[[[3.0]], [[3.0]]]]); y = torch.tensor([[[[1]], [[0]]]])   # easy, hard
        >>> multilabel_focal_loss(z, y, alpha=None, reduction="none").flatten()
        tensor([1.0928e-04, 2.7663e+00])
    """
    a: Union[None, float, torch.Tensor] = None
    if isinstance(alpha, (Sequence, torch.Tensor)) and not isinstance(alpha, str):
        a = class_vector(alpha, "alpha")
        if bool((a > 1).any()):
            raise ValueError(f"alpha must hold one value in [0, 1] per class, got {a.tolist()}")
    elif alpha is not None:
        a = check_probability(alpha, "alpha")
    g, reduction = check_float(gamma, "gamma", minimum=0.0), check_reduction(reduction)
    inputs = check_multilabel_inputs(
        logits, target, ignore_index=ignore_index, validate=validate, name="multilabel_focal_loss"
    )
    x, y = inputs.logits, inputs.target
    if isinstance(a, torch.Tensor):  # per class: alpha_c for the positives of class c, 1 - alpha_c otherwise
        vec = per_class(a, "alpha", x.shape[1], x)[None, :, None, None]
        loss = binary_focal_map(x, y, None, g) * (vec * y + (1 - vec) * (1 - y))
    else:
        loss = binary_focal_map(x, y, a, g)
    if inputs.valid is not None:
        loss = torch.where(inputs.valid, loss, 0.0)
    if reduction == "none":
        return loss
    total = loss.sum(dtype=accumulation_dtype(x))
    if reduction == "sum":
        return total.to(x.dtype)
    count = loss.numel() if inputs.valid is None else torch.count_nonzero(inputs.valid)
    return (total / max(count, 1) if isinstance(count, int) else total / count.clamp(min=1)).to(x.dtype)
