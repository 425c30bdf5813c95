"""The losses as ``nn.Module``\\ s (chapters 5-11): options fixed and checked at construction, then a kernel.

Each module checks its options once, in ``__init__``, with the same ``check_..._options`` function as its loss
function (so a bad option fails where it is written, not at the first batch), and in ``forward`` checks the
inputs (:func:`~segbook.conventions.check_segmentation_inputs`) and calls the loss's kernel. ``validate`` is the
functions' (value checks on CPU tensors only by default). The repr shows the options as given.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
from torch import nn

from segbook.conventions import (
    IGNORE_INDEX,
    SegmentationInputs,
    check_bool,
    check_ignore_index,
    check_segmentation_inputs,
)
from segbook.losses._common import per_class, reduce_pixels
from segbook.losses.boundary import (
    BoundaryOptions,
    boundary_kernel,
    check_boundary_options,
    check_dice_boundary_options,
    dice_boundary_kernel,
)
from segbook.losses.combined import check_dice_ce_options, check_dice_focal_options, dice_ce_kernel, dice_focal_kernel
from segbook.losses.distribution import (
    binary_cross_entropy_kernel,
    binary_focal_map,
    check_binary_cross_entropy_options,
    check_binary_focal_options,
    check_cross_entropy_options,
    check_focal_options,
    cross_entropy_kernel,
    focal_map,
)
from segbook.losses.region import check_soft_dice_options, check_tversky_options, soft_dice_kernel, tversky_kernel

__all__ = ["BinaryCrossEntropyLoss", "CrossEntropyLoss", "BinaryFocalLoss", "FocalLoss", "SoftDiceLoss"]
__all__ += ["TverskyLoss", "DiceCELoss", "DiceFocalLoss", "BoundaryLoss", "DiceBoundaryLoss"]


class _Loss(nn.Module):
    """A thin module around a loss: ``forward(logits, target)`` = the input check, then the loss's kernel.

    A subclass checks its options in ``__init__`` and implements ``kernel(inputs)``; ``binary`` says which
    logits it takes (``None``: both, by their shape).
    """

    binary: Optional[bool] = None

    def __init__(self, ignore_index: Optional[int], validate: Optional[bool], **options: Any) -> None:
        super().__init__()
        check_ignore_index(ignore_index, 2 if self.binary else 0)  # the class range is checked in forward
        if validate is not None:
            check_bool(validate, "validate")
        self.ignore_index, self.validate = ignore_index, validate
        self.options = dict(options, ignore_index=ignore_index)
        if validate is not None:
            self.options["validate"] = validate

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        inputs = check_segmentation_inputs(
            logits,
            target,
            ignore_index=self.ignore_index,
            binary=self.binary,
            validate=self.validate,
            name=type(self).__name__,
        )
        return self.kernel(inputs)

    def kernel(self, inputs: SegmentationInputs) -> torch.Tensor:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.options.items())


class BinaryCrossEntropyLoss(_Loss):
    """Module form of :func:`~segbook.losses.binary_cross_entropy` (``pos_weight`` = the slide's β for WCE).

    Example:
        >>> loss_fn = BinaryCrossEntropyLoss(pos_weight=3.0)
        >>> loss_fn(torch.zeros(1, 1, 2, 2), torch.ones(1, 2, 2, dtype=torch.long))
        tensor(2.0794)
    """

    binary = True

    def __init__(
        self,
        *,
        pos_weight: Optional[float] = None,
        ignore_index: Optional[int] = IGNORE_INDEX,
        reduction: str = "mean",
        validate: Optional[bool] = None,
    ) -> None:
        super().__init__(ignore_index, validate, pos_weight=pos_weight, reduction=reduction)
        self.beta, self.reduction = check_binary_cross_entropy_options(pos_weight, reduction)

    def kernel(self, inputs: SegmentationInputs) -> torch.Tensor:
        return binary_cross_entropy_kernel(inputs, self.beta, self.reduction)


class CrossEntropyLoss(_Loss):
    """Module form of :func:`~segbook.losses.cross_entropy` (per-class ``weight``, PyTorch's weighted mean).

    Example:
        >>> CrossEntropyLoss()(torch.zeros(1, 4, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long))   # log 4
        tensor(1.3863)
    """

    binary = False

    def __init__(
        self,
        *,
        weight: Optional[Sequence[float]] = None,
        ignore_index: Optional[int] = IGNORE_INDEX,
        reduction: str = "mean",
        validate: Optional[bool] = None,
    ) -> None:
        super().__init__(ignore_index, validate, weight=weight, reduction=reduction)
        self.weight, self.reduction = check_cross_entropy_options(weight, reduction)

    def kernel(self, inputs: SegmentationInputs) -> torch.Tensor:
        w = None if self.weight is None else per_class(self.weight, "weight", inputs.num_classes, inputs.logits)
        return cross_entropy_kernel(inputs, w, self.reduction)


class BinaryFocalLoss(_Loss):
    """Module form of :func:`~segbook.losses.binary_focal_loss`.

    Example:
        >>> loss_fn = BinaryFocalLoss(alpha=None, gamma=0.0)
        >>> loss_fn(torch.zeros(1, 1, 1), torch.ones(1, 1, 1, dtype=torch.long))
        tensor(0.6931)
    """

    binary = True

    def __init__(
        self,
        *,
        alpha: Optional[float] = 0.25,
        gamma: float = 2.0,
        ignore_index: Optional[int] = IGNORE_INDEX,
        reduction: str = "mean",
        validate: Optional[bool] = None,
    ) -> None:
        super().__init__(ignore_index, validate, alpha=alpha, gamma=gamma, reduction=reduction)
        self.alpha, self.gamma, self.reduction = check_binary_focal_options(alpha, gamma, reduction)

    def kernel(self, inputs: SegmentationInputs) -> torch.Tensor:
        loss = binary_focal_map(inputs.logits, inputs.target, self.alpha, self.gamma)
        return reduce_pixels(loss, inputs, self.reduction)


class FocalLoss(_Loss):
    """Module form of :func:`~segbook.losses.focal_loss` (multi-class; ``alpha`` per class).

    Example:
        >>> FocalLoss(gamma=0.0)(torch.zeros(1, 4, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long))   # = CE = log 4
        tensor(1.3863)
    """

    binary = False

    def __init__(
        self,
        *,
        alpha: Optional[Sequence[float]] = None,
        gamma: float = 2.0,
        ignore_index: Optional[int] = IGNORE_INDEX,
        reduction: str = "mean",
        validate: Optional[bool] = None,
    ) -> None:
        super().__init__(ignore_index, validate, alpha=alpha, gamma=gamma, reduction=reduction)
        self.alpha, self.gamma, self.reduction = check_focal_options(alpha, gamma, reduction)

    def kernel(self, inputs: SegmentationInputs) -> torch.Tensor:
        a = None if self.alpha is None else per_class(self.alpha, "alpha", inputs.num_classes, inputs.logits)
        return reduce_pixels(focal_map(inputs.logits, inputs.target, a, self.gamma), inputs, self.reduction)


class SoftDiceLoss(_Loss):
    """Module form of :func:`~segbook.losses.soft_dice_loss` (binary or multi-class, by the logits' channels).

    Example:
        >>> SoftDiceLoss(smooth=1.0)(torch.full((1, 1, 2, 2), -30.0), torch.zeros(1, 2, 2, dtype=torch.long))
        tensor(0.)
    """

    def __init__(
        self,
        *,
        smooth: float = 1.0,
        include_background: bool = True,
        ignore_index: Optional[int] = IGNORE_INDEX,
        reduction: str = "mean",
        validate: Optional[bool] = None,
    ) -> None:
        options = {"smooth": smooth, "include_background": include_background, "reduction": reduction}
        super().__init__(ignore_index, validate, **options)
        self.checked = check_soft_dice_options(smooth, include_background, reduction)

    def kernel(self, inputs: SegmentationInputs) -> torch.Tensor:
        return soft_dice_kernel(inputs, *self.checked)


class TverskyLoss(_Loss):
    """Module form of :func:`~segbook.losses.tversky_loss`: weights named by what they punish.

    Example:
        >>> TverskyLoss(fp_weight=0.3, fn_weight=0.7)   # doctest: +ELLIPSIS
        TverskyLoss(fp_weight=0.3, fn_weight=0.7, smooth=0.5, ...)
    """

    def __init__(
        self,
        *,
        fp_weight: float = 0.5,
        fn_weight: float = 0.5,
        smooth: float = 0.5,
        include_background: bool = True,
        ignore_index: Optional[int] = IGNORE_INDEX,
        reduction: str = "mean",
        validate: Optional[bool] = None,
    ) -> None:
        super().__init__(
            ignore_index,
            validate,
            fp_weight=fp_weight,
            fn_weight=fn_weight,
            smooth=smooth,
            include_background=include_background,
            reduction=reduction,
        )
        self.checked = check_tversky_options(fp_weight, fn_weight, smooth, include_background, reduction)

    def kernel(self, inputs: SegmentationInputs) -> torch.Tensor:
        return tversky_kernel(inputs, *self.checked)


class DiceCELoss(_Loss):
    """Module form of :func:`~segbook.losses.dice_ce_loss`.

    Example:
        >>> DiceCELoss(dice_weight=1.0, ce_weight=0.5)   # doctest: +ELLIPSIS
        DiceCELoss(dice_weight=1.0, ce_weight=0.5, smooth=1.0, ...)
    """

    def __init__(
        self,
        *,
        dice_weight: float = 1.0,
        ce_weight: float = 1.0,
        smooth: float = 1.0,
        include_background: bool = True,
        class_weight: Optional[Sequence[float]] = None,
        pos_weight: Optional[float] = None,
        ignore_index: Optional[int] = IGNORE_INDEX,
        validate: Optional[bool] = None,
    ) -> None:
        super().__init__(
            ignore_index,
            validate,
            dice_weight=dice_weight,
            ce_weight=ce_weight,
            smooth=smooth,
            include_background=include_background,
            class_weight=class_weight,
            pos_weight=pos_weight,
        )
        self.checked = check_dice_ce_options(
            dice_weight, ce_weight, smooth, include_background, class_weight, pos_weight
        )

    def kernel(self, inputs: SegmentationInputs) -> torch.Tensor:
        return dice_ce_kernel(inputs, self.checked)


class DiceFocalLoss(_Loss):
    """Module form of :func:`~segbook.losses.dice_focal_loss` (the slide's "Dice loss + Focal loss").

    Example:
        >>> DiceFocalLoss(gamma=2.0)   # doctest: +ELLIPSIS
        DiceFocalLoss(dice_weight=1.0, focal_weight=1.0, gamma=2.0, alpha=None, ...)
    """

    def __init__(
        self,
        *,
        dice_weight: float = 1.0,
        focal_weight: float = 1.0,
        gamma: float = 2.0,
        alpha: object = None,
        smooth: float = 1.0,
        include_background: bool = True,
        ignore_index: Optional[int] = IGNORE_INDEX,
        validate: Optional[bool] = None,
    ) -> None:
        super().__init__(
            ignore_index,
            validate,
            dice_weight=dice_weight,
            focal_weight=focal_weight,
            gamma=gamma,
            alpha=alpha,
            smooth=smooth,
            include_background=include_background,
        )
        self.checked = check_dice_focal_options(dice_weight, focal_weight, gamma, alpha, smooth, include_background)

    def kernel(self, inputs: SegmentationInputs) -> torch.Tensor:
        return dice_focal_kernel(inputs, self.checked)


class BoundaryLoss(_Loss):
    """Module form of :func:`~segbook.losses.boundary_loss` (distance maps computed from the target each call).

    Example:
        >>> BoundaryLoss()(torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long))   # no foreground
        tensor(0.)
    """

    def __init__(
        self,
        *,
        include_background: bool = False,
        ignore_index: Optional[int] = IGNORE_INDEX,
        reduction: str = "mean",
        validate: Optional[bool] = None,
    ) -> None:
        super().__init__(ignore_index, validate, include_background=include_background, reduction=reduction)
        self.checked: BoundaryOptions = check_boundary_options(include_background, reduction)

    def kernel(self, inputs: SegmentationInputs) -> torch.Tensor:
        return boundary_kernel(inputs, None, self.checked)


class DiceBoundaryLoss(_Loss):
    """:func:`~segbook.losses.dice_boundary_loss` with the region weight α as an attribute set between epochs.

    The weight is *not* changed inside ``forward``: the training loop sets it, e.g.
    ``loss_fn.region_weight = rebalance_weight(epoch, step=0.1)`` before each epoch (it is checked then).

    Example:
        >>> from segbook.losses import rebalance_weight
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
        ignore_index: Optional[int] = IGNORE_INDEX,
        validate: Optional[bool] = None,
    ) -> None:
        super().__init__(ignore_index, validate)
        self.checked = check_dice_boundary_options(region_weight, smooth, include_background)
        self.smooth, self.include_background = self.checked.smooth, self.checked.include_background

    @property
    def region_weight(self) -> float:
        return self.checked.region_weight

    @region_weight.setter
    def region_weight(self, value: float) -> None:
        self.checked = check_dice_boundary_options(value, self.checked.smooth, self.checked.include_background)

    def kernel(self, inputs: SegmentationInputs) -> torch.Tensor:
        return dice_boundary_kernel(inputs, None, self.checked)

    def extra_repr(self) -> str:
        c = self.checked
        text = f"region_weight={c.region_weight!r}, smooth={c.smooth!r}, include_background={c.include_background}"
        return (
            text
            + f", ignore_index={self.ignore_index!r}"
            + ("" if self.validate is None else f", validate={self.validate}")
        )
