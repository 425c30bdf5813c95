"""Region-based losses (chapter 6): Dice coefficient and IoU, soft counts, the soft Dice and Tversky losses.

The slides' second family (*dựa trên vùng*): the predicted region is compared with the true one as a set,
through TP, FP and FN, which probabilities make differentiable (:func:`soft_counts`). Public functions check
once and call the kernels below them, which the combined losses and the modules call too.
"""

from __future__ import annotations

from typing import Optional, Tuple, Union

import torch

from segbook.conventions import (
    IGNORE_INDEX,
    SegmentationInputs,
    accumulation_dtype,
    check_bool,
    check_float,
    check_segmentation_inputs,
    check_tensor,
    check_unit_interval,
    safe_divide,
    values_checked,
)
from segbook.losses._common import Number, as_count, check_reduction, counts_result, reduce_pairs

__all__ = ["dice_coefficient", "iou_score", "soft_counts", "soft_dice_loss", "tversky_index", "tversky_loss"]


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
    t, p, n = as_count(tp, "tp"), as_count(fp, "fp"), as_count(fn, "fn")
    return counts_result(safe_divide(2 * t + s, 2 * t + p + n + s), (tp, fp, fn))


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
    t, p, n = as_count(tp, "tp"), as_count(fp, "fp"), as_count(fn, "fn")
    return counts_result(safe_divide(t + s, t + p + n + s), (tp, fp, fn))


def soft_counts(
    probs: torch.Tensor,
    target: torch.Tensor,
    valid: Optional[torch.Tensor] = None,
    *,
    validate: Optional[bool] = None,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Soft TP, FP, FN per image and class: sums over pixels of :math:`\\hat p g`, :math:`\\hat p (1-g)`,
    :math:`(1-\\hat p) g`.

    With hard 0/1 predictions these are the usual counts; with probabilities they are differentiable, which
    is what makes the Dice and Tversky *losses* possible.

    Args:
        probs: ``(N, K, H, W)`` probabilities.
        target: ``(N, K, H, W)`` one-hot (0/1) float target.
        valid: optional ``(N, 1, H, W)`` or ``(N, H, W)`` bool mask of counted pixels.
        validate: read values to check them (``probs`` finite in [0, 1], ``target`` 0/1): ``None`` on CPU
            tensors only (no GPU sync), ``True`` always, ``False`` never. Sums of float16 inputs are
            accumulated in float32 (the counts come back in float32).

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
    if probs.device != target.device:
        raise ValueError(f"probs and target must be on the same device, got {probs.device} and {target.device}")
    if valid is not None:
        n, _, h, w = probs.shape
        check_tensor(valid, "valid", ndim=(3, 4), dtype="bool", shape_hint="(N, H, W) or (N, 1, H, W)")
        if tuple(valid.shape) not in ((n, h, w), (n, 1, h, w)) or valid.device != probs.device:
            raise ValueError(f"valid must be (N, H, W) = {(n, h, w)} on {probs.device}, got {tuple(valid.shape)}")
    if values_checked(validate, probs):
        check_unit_interval(probs, "probs")
        if bool(((target != 0) & (target != 1)).any()):
            raise ValueError("target must be one-hot: every value 0 or 1")
    if valid is not None:
        mask = (valid if valid.ndim == 4 else valid[:, None]).to(probs.dtype)
        probs, target = probs * mask, target * mask
    return soft_counts_kernel(probs, target)


def soft_counts_kernel(probs: torch.Tensor, target: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Soft TP, FP, FN (N, K) of checked, masked ``probs`` and one-hot ``target`` (N, K, H, W); no checks."""
    acc = accumulation_dtype(probs)  # float16 sums in float32: 65504 is a 256 x 256 image
    tp = (probs * target).sum((2, 3), dtype=acc)  # sum p g
    fp = probs.sum((2, 3), dtype=acc) - tp  # sum p (1 - g) = |Y| - TP
    fn = target.sum((2, 3), dtype=acc) - tp  # sum (1 - p) g = |X| - TP
    return tp, fp, fn


def region_probabilities(inputs: SegmentationInputs) -> Tuple[torch.Tensor, torch.Tensor]:
    """Probabilities and one-hot target (N, K, H, W), both 0 at ignored pixels, of checked inputs.

    Binary logits: K = 1, the foreground (sigmoid). Multi-class: K = C (softmax).
    """
    logits, weight = inputs.logits, inputs.weight  # weight: the mask as 1.0 / 0.0, None without an ignore index
    if inputs.binary:  # the 0/1 labels, times the mask: 0 at ignored pixels
        probs = torch.sigmoid(logits)[:, None]
        if weight is None:
            return probs, inputs.labels[:, None]
        mask = weight[:, None]  # (N, 1, H, W)
        return probs * mask, (inputs.labels * weight)[:, None]
    probs, t = torch.softmax(logits, dim=1), inputs.target
    if weight is None:
        return probs, torch.zeros_like(probs).scatter_(1, t[:, None], 1.0)
    mask = weight[:, None]
    onehot = torch.zeros_like(probs).scatter_(1, t[:, None], mask)  # 1 at (n, t, h, w) where counted
    return probs * mask, onehot


def region_counts(
    inputs: SegmentationInputs, include_background: bool
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Soft TP, FP, FN (N, K) of checked inputs; multi-class without the background: K = C - 1."""
    tp, fp, fn = soft_counts_kernel(*region_probabilities(inputs))
    if inputs.binary or include_background:
        return tp, fp, fn
    return tp[:, 1:], fp[:, 1:], fn[:, 1:]


def check_soft_dice_options(smooth: object, include_background: object, reduction: object) -> Tuple[float, bool, str]:
    """:func:`soft_dice_loss`'s options, checked: ``(smooth, include_background, reduction)``."""
    return (
        check_float(smooth, "smooth", minimum=0.0),
        check_bool(include_background, "include_background"),
        check_reduction(reduction),
    )


def soft_dice_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    smooth: float = 1.0,
    include_background: bool = True,
    ignore_index: Optional[int] = IGNORE_INDEX,
    reduction: str = "mean",
    validate: Optional[bool] = None,
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
        validate: read values to check them (class range, 0/1 binary target, softmax outputs passed as
            logits): ``None`` on CPU tensors only (no GPU sync), ``True`` always, ``False`` never.

    Returns:
        A scalar in :math:`[0, 1]` (mean), or ``(N, K)``.

    Example:
        >>> target = torch.tensor([[[0, 1], [1, 1]]])
        >>> perfect = 20.0 * (2 * torch.nn.functional.one_hot(target, 2).movedim(-1, 1).float() - 1)
        >>> soft_dice_loss(perfect, target).item() < 1e-6
        True
    """
    smooth, include_background, reduction = check_soft_dice_options(smooth, include_background, reduction)
    inputs = check_segmentation_inputs(
        logits, target, ignore_index=ignore_index, validate=validate, name="soft_dice_loss"
    )
    return soft_dice_kernel(inputs, smooth, include_background, reduction)


def soft_dice_kernel(
    inputs: SegmentationInputs, smooth: float, include_background: bool, reduction: str
) -> torch.Tensor:
    """:func:`soft_dice_loss` of checked inputs and options; no checks."""
    tp, fp, fn = region_counts(inputs, include_background)
    dice = safe_divide(2 * tp + smooth, 2 * tp + fp + fn + smooth, empty=1.0)  # (N, K); empty: perfect
    return reduce_pairs(1 - dice, reduction)


def check_tversky_weights(fp_weight: object, fn_weight: object, smooth: object) -> Tuple[float, float, float]:
    """The Tversky weights and smoothing, checked: ``(fp_weight, fn_weight, smooth)``."""
    a = check_float(fp_weight, "fp_weight", minimum=0.0)
    b = check_float(fn_weight, "fn_weight", minimum=0.0)
    if a == 0 and b == 0:
        raise ValueError("fp_weight and fn_weight are both 0: the index would ignore every error")
    return a, b, check_float(smooth, "smooth", minimum=0.0)


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
    a, b, s = check_tversky_weights(fp_weight, fn_weight, smooth)
    t, p, n = as_count(tp, "tp"), as_count(fp, "fp"), as_count(fn, "fn")
    return counts_result(safe_divide(t + s, t + a * p + b * n + s), (tp, fp, fn))


def check_tversky_options(
    fp_weight: object, fn_weight: object, smooth: object, include_background: object, reduction: object
) -> Tuple[float, float, float, bool, str]:
    """:func:`tversky_loss`'s options, checked, in that order."""
    a, b, s = check_tversky_weights(fp_weight, fn_weight, smooth)
    return a, b, s, check_bool(include_background, "include_background"), check_reduction(reduction)


def tversky_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    fp_weight: float = 0.5,
    fn_weight: float = 0.5,
    smooth: float = 0.5,
    include_background: bool = True,
    ignore_index: Optional[int] = IGNORE_INDEX,
    reduction: str = "mean",
    validate: Optional[bool] = None,
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
        validate: read values to check them (class range, 0/1 binary target, softmax outputs passed as
            logits): ``None`` on CPU tensors only (no GPU sync), ``True`` always, ``False`` never.

    Returns:
        A scalar in :math:`[0, 1]` when both weights are positive (mean), or ``(N, K)``.

    Example:
        >>> logits = torch.randn(2, 3, 4, 4); target = torch.randint(0, 3, (2, 4, 4))
        >>> torch.allclose(tversky_loss(logits, target), soft_dice_loss(logits, target))
        True
    """
    options = check_tversky_options(fp_weight, fn_weight, smooth, include_background, reduction)
    inputs = check_segmentation_inputs(
        logits, target, ignore_index=ignore_index, validate=validate, name="tversky_loss"
    )
    return tversky_kernel(inputs, *options)


def tversky_kernel(
    inputs: SegmentationInputs, a: float, b: float, s: float, include_background: bool, reduction: str
) -> torch.Tensor:
    """:func:`tversky_loss` of checked inputs and options; no checks."""
    tp, fp, fn = region_counts(inputs, include_background)
    index = safe_divide(tp + s, tp + a * fp + b * fn + s, empty=1.0)  # (N, K); empty: perfect
    return reduce_pairs(1 - index, reduction)
