"""Combined losses (chapter 6): Dice + cross entropy and Dice + focal loss, weighted sums of two families.

The slides' third family (*kết hợp*). Each loss checks its options and inputs once, then adds the kernels of
its two parts (:mod:`segbook.losses.region`, :mod:`segbook.losses.distribution`), which do not check again.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence, Union

import torch

from segbook.conventions import (
    IGNORE_INDEX,
    SegmentationInputs,
    check_bool,
    check_float,
    check_probability,
    check_segmentation_inputs,
)
from segbook.losses._common import class_vector, per_class, reduce_pixels
from segbook.losses.distribution import (
    binary_cross_entropy_kernel,
    binary_focal_map,
    cross_entropy_kernel,
    focal_map,
)
from segbook.losses.region import soft_dice_kernel

__all__ = ["dice_ce_loss", "dice_focal_loss"]


class DiceCEOptions(NamedTuple):
    """:func:`dice_ce_loss`'s options, checked by :func:`check_dice_ce_options`."""

    dice_weight: float
    ce_weight: float
    smooth: float
    include_background: bool
    class_weight: Optional[torch.Tensor]
    pos_weight: Optional[float]


def check_dice_ce_options(
    dice_weight: object,
    ce_weight: object,
    smooth: object,
    include_background: object,
    class_weight: object,
    pos_weight: object,
) -> DiceCEOptions:
    """:func:`dice_ce_loss`'s options, checked once (by the function, or by :class:`DiceCELoss`)."""
    return DiceCEOptions(
        check_float(dice_weight, "dice_weight", minimum=0.0),
        check_float(ce_weight, "ce_weight", minimum=0.0),
        check_float(smooth, "smooth", minimum=0.0),
        check_bool(include_background, "include_background"),
        None if class_weight is None else class_vector(class_weight, "class_weight"),
        None if pos_weight is None else check_float(pos_weight, "pos_weight", minimum=0.0),
    )


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
    ignore_index: Optional[int] = IGNORE_INDEX,
    validate: Optional[bool] = None,
) -> torch.Tensor:
    """Dice loss + cross entropy, the slide's :math:`CE(p, \\hat p) + DL(p, \\hat p)`, with weights.

    .. math:: L = \\lambda_{Dice}\\, DL + \\lambda_{CE}\\, CE

    The CE gives every pixel a well-behaved gradient from the first step; the Dice term looks at whole
    regions and is insensitive to how many background pixels there are. Binary logits use
    :func:`binary_cross_entropy` (``pos_weight``), multi-class ones :func:`cross_entropy` (``class_weight``).

    Returns:
        A scalar, :math:`\\ge 0`.

    ``validate``: as :func:`binary_cross_entropy`.

    Example:
        >>> from segbook.losses import soft_dice_loss, cross_entropy
        >>> logits = torch.randn(2, 3, 4, 4); target = torch.randint(0, 3, (2, 4, 4))
        >>> total = dice_ce_loss(logits, target)
        >>> torch.allclose(total, soft_dice_loss(logits, target) + cross_entropy(logits, target))
        True
    """
    options = check_dice_ce_options(dice_weight, ce_weight, smooth, include_background, class_weight, pos_weight)
    inputs = check_segmentation_inputs(
        logits, target, ignore_index=ignore_index, validate=validate, name="dice_ce_loss"
    )
    return dice_ce_kernel(inputs, options)


def dice_ce_kernel(inputs: SegmentationInputs, options: DiceCEOptions) -> torch.Tensor:
    """:func:`dice_ce_loss` of checked inputs and options; only the weight kind is checked against the logits."""
    dice = soft_dice_kernel(inputs, options.smooth, options.include_background, "mean")
    logits, c = inputs.logits, inputs.num_classes
    if inputs.binary:
        if options.class_weight is not None:
            raise ValueError(
                "class_weight is for multi-class logits (N, C, H, W); for binary logits use "
                "pos_weight (the slide's beta)"
            )
        beta = 1.0 if options.pos_weight is None else options.pos_weight
        ce = binary_cross_entropy_kernel(inputs, beta, "mean")
    else:
        if options.pos_weight is not None:
            raise ValueError("pos_weight is for binary logits (N, 1, H, W); for C classes use class_weight")
        w = None if options.class_weight is None else per_class(options.class_weight, "class_weight", c, logits)
        ce = cross_entropy_kernel(inputs, w, "mean")
    return options.dice_weight * dice + options.ce_weight * ce


class DiceFocalOptions(NamedTuple):
    """:func:`dice_focal_loss`'s options, checked by :func:`check_dice_focal_options`."""

    dice_weight: float
    focal_weight: float
    gamma: float
    alpha: Union[None, float, torch.Tensor]
    smooth: float
    include_background: bool


def check_dice_focal_options(
    dice_weight: object,
    focal_weight: object,
    gamma: object,
    alpha: object,
    smooth: object,
    include_background: object,
) -> DiceFocalOptions:
    """:func:`dice_focal_loss`'s options, checked once: ``alpha`` a number (binary) or one per class."""
    a: Union[None, float, torch.Tensor] = None
    if isinstance(alpha, (Sequence, torch.Tensor)) and not isinstance(alpha, str):
        a = class_vector(alpha, "alpha")
    elif alpha is not None:
        a = check_probability(alpha, "alpha")
    return DiceFocalOptions(
        check_float(dice_weight, "dice_weight", minimum=0.0),
        check_float(focal_weight, "focal_weight", minimum=0.0),
        check_float(gamma, "gamma", minimum=0.0),
        a,
        check_float(smooth, "smooth", minimum=0.0),
        check_bool(include_background, "include_background"),
    )


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
    ignore_index: Optional[int] = IGNORE_INDEX,
    validate: Optional[bool] = None,
) -> torch.Tensor:
    """Dice loss + focal loss, :math:`\\lambda_{Dice}\\, DL + \\lambda_{FL}\\, FL`.

    **The slide titled "Dice loss + Focal loss" prints** :math:`CE(p, \\hat p) + FL(p, \\hat p)`: a typo, the
    combination meant (and used, e.g. by Zhu et al.'s AnatomyNet and MONAI's ``DiceFocalLoss``) is Dice +
    focal, implemented here. Binary logits use :func:`binary_focal_loss` (``alpha`` a number, default
    ``None``: no :math:`\\alpha` factor), multi-class ones :func:`focal_loss` (``alpha`` per class).

    Returns:
        A scalar, :math:`\\ge 0`.

    ``validate``: as :func:`binary_cross_entropy`.

    Example:
        >>> from segbook.losses import soft_dice_loss, focal_loss
        >>> logits = torch.randn(2, 3, 4, 4); target = torch.randint(0, 3, (2, 4, 4))
        >>> total = dice_focal_loss(logits, target, gamma=2.0)
        >>> torch.allclose(total, soft_dice_loss(logits, target) + focal_loss(logits, target, gamma=2.0))
        True
    """
    options = check_dice_focal_options(
        dice_weight,
        focal_weight,
        gamma,
        alpha,
        smooth,
        include_background,
    )
    inputs = check_segmentation_inputs(
        logits,
        target,
        ignore_index=ignore_index,
        validate=validate,
        name="dice_focal_loss",
    )
    return dice_focal_kernel(inputs, options)


def dice_focal_kernel(
    inputs: SegmentationInputs,
    options: DiceFocalOptions,
) -> torch.Tensor:
    """:func:`dice_focal_loss` of checked inputs and options.

    The two terms, weighted and added.
    """
    o = options
    dice = soft_dice_kernel(inputs, o.smooth, o.include_background, "mean")
    focal = reduce_pixels(focal_term(inputs, o.alpha, o.gamma), inputs, "mean")
    return o.dice_weight * dice + o.focal_weight * focal


def focal_term(
    inputs: SegmentationInputs,
    alpha: Union[None, float, torch.Tensor],
    gamma: float,
) -> torch.Tensor:
    """The per-pixel focal loss (N, H, W) of checked inputs: binary or multi-class."""
    logits, t, c = inputs.logits, inputs.target, inputs.num_classes
    if inputs.binary:
        if isinstance(alpha, torch.Tensor):
            raise TypeError("alpha must be a number for binary logits (N, 1, H, W), got one value per class")
        return binary_focal_map(logits, t, alpha, gamma)
    if alpha is not None and not isinstance(alpha, torch.Tensor):
        raise TypeError(f"alpha must be one weight per class for C={c} classes, got the number {alpha!r}")
    a = None if alpha is None else per_class(alpha, "alpha", c, logits)
    return focal_map(logits, t, a, gamma)
