"""Distribution-based losses (chapter 5): cross entropy, weighted cross entropy, focal loss, class weights.

The slides' first family (*dựa trên phân phối*): each pixel's predicted distribution is compared with its
label on its own. Each loss is a public function that checks its options and inputs once, then calls the
*kernel* below it (``..._map``: checked tensors in, per-pixel loss out, no checks), which the combined losses
and the modules call too.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
from torch.nn import functional as F

from segbook.conventions import (
    IGNORE_INDEX,
    SegmentationInputs,
    accumulation_dtype,
    check_float,
    check_probability,
    check_segmentation_inputs,
)
from segbook.losses._common import check_reduction, class_vector, per_class, reduce_pixels

__all__ = ["binary_cross_entropy", "cross_entropy", "binary_focal_loss", "focal_loss"]


def check_binary_cross_entropy_options(pos_weight: object, reduction: object) -> Tuple[float, str]:
    """:func:`binary_cross_entropy`'s options, checked: ``(beta, reduction)``."""
    beta = 1.0 if pos_weight is None else check_float(pos_weight, "pos_weight", minimum=0.0)
    return beta, check_reduction(reduction)


def binary_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    pos_weight: Optional[float] = None,
    ignore_index: Optional[int] = IGNORE_INDEX,
    reduction: str = "mean",
    validate: Optional[bool] = None,
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
    The loss calls PyTorch's fused ``F.binary_cross_entropy_with_logits`` (one pass forward and backward),
    which computes exactly this formula; :func:`binary_cross_entropy_map` is the readable from-scratch version,
    and a test asserts the two are equal in values and gradients.

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
        validate: read values to check them (class range, 0/1 binary target, softmax outputs passed as
            logits): ``None`` on CPU tensors only (no GPU sync), ``True`` always, ``False`` never.

    Returns:
        A scalar, or the per-pixel loss ``(N, H, W)`` (0 at ignored pixels). Range: :math:`[0, \\infty)`.

    Example:
        >>> z = torch.tensor([[[0.0, 2.0]]]); y = torch.tensor([[[1, 0]]])
        >>> binary_cross_entropy(z, y, reduction="none")
        tensor([[[0.6931, 2.1269]]])
        >>> binary_cross_entropy(z, y, pos_weight=3.0, reduction="none")   # only the positive pixel changes
        tensor([[[2.0794, 2.1269]]])
    """
    beta, reduction = check_binary_cross_entropy_options(pos_weight, reduction)
    inputs = check_segmentation_inputs(
        logits, target, ignore_index=ignore_index, binary=True, validate=validate, name="binary_cross_entropy"
    )
    return binary_cross_entropy_kernel(inputs, beta, reduction)


def binary_cross_entropy_kernel(inputs: SegmentationInputs, beta: float, reduction: str) -> torch.Tensor:
    """:func:`binary_cross_entropy` of checked inputs; no checks.

    PyTorch's fused ``F.binary_cross_entropy_with_logits`` computes :func:`binary_cross_entropy_map`'s formula
    in one pass (forward and backward); the ignored pixels get weight 0 (the mask as ``weight``), so they
    add exactly 0 (their label, the ignore index, is finite and multiplied by 0).
    """
    z = inputs.logits
    pos_weight = None if beta == 1.0 else torch.full((), beta, dtype=z.dtype, device=z.device)
    acc = accumulation_dtype(z)  # float16: the map, added up in float32 (a float16 sum overflows at 65504)
    loss = F.binary_cross_entropy_with_logits(
        z,
        inputs.labels,
        weight=inputs.weight,
        pos_weight=pos_weight,
        reduction="none" if reduction == "none" or acc is not None else "sum",
    )  # 0 at ignored pixels; or the sum
    if acc is not None and reduction != "none":
        loss = loss.sum(dtype=acc)
    return (loss / inputs.count() if reduction == "mean" else loss).to(z.dtype)


def binary_cross_entropy_map(
    z: torch.Tensor,
    y: torch.Tensor,
    beta: float = 1.0,
) -> torch.Tensor:
    """The slide's (weighted) CE of every pixel; no checks.

    From logits ``z`` and 0/1 labels ``y``, both (N, H, W). The readable version of the formula: the loss
    itself calls PyTorch's fused op, which a test shows equal to this map in values and gradients.
    """
    y = y.to(z.dtype)
    log_p = F.logsigmoid(z)  # log p̂
    # log(1 - p̂) = log σ(-z) = log σ(z) - z: one log-sigmoid, not two
    log_not_p = log_p - z
    return -(beta * y * log_p + (1 - y) * log_not_p)


def check_cross_entropy_options(weight: object, reduction: object) -> Tuple[Optional[torch.Tensor], str]:
    """:func:`cross_entropy`'s options, checked: ``(weight or None, reduction)``."""
    vector = None if weight is None else class_vector(weight, "weight")
    return vector, check_reduction(reduction)


def cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    weight: Optional[Sequence[float]] = None,
    ignore_index: Optional[int] = IGNORE_INDEX,
    reduction: str = "mean",
    validate: Optional[bool] = None,
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
        validate: read values to check them (class range, 0/1 binary target, softmax outputs passed as
            logits): ``None`` on CPU tensors only (no GPU sync), ``True`` always, ``False`` never.

    Returns:
        A scalar or ``(N, H, W)``; range :math:`[0, \\infty)`. Matches
        ``torch.nn.functional.cross_entropy(logits, target, weight=..., ignore_index=...)``.

    Example:
        >>> logits = torch.tensor([[[[2.0]], [[0.0]], [[0.0]]]])       # (1, 3, 1, 1)
        >>> round(cross_entropy(logits, torch.tensor([[[0]]])).item(), 4)      # log(e^2 + 2) - 2
        0.2395
    """
    weight_vector, reduction = check_cross_entropy_options(weight, reduction)
    inputs = check_segmentation_inputs(
        logits, target, ignore_index=ignore_index, binary=False, validate=validate, name="cross_entropy"
    )
    w = None if weight_vector is None else per_class(weight_vector, "weight", inputs.num_classes, inputs.logits)
    return cross_entropy_kernel(inputs, w, reduction)


def cross_entropy_kernel(inputs: SegmentationInputs, w: Optional[torch.Tensor], reduction: str) -> torch.Tensor:
    """:func:`cross_entropy` of checked inputs; no checks. ``F.cross_entropy`` skips the ignored pixels itself
    (``ignore_index``, in the same pass); the mean divides by the counted pixels (or their weights) so that a
    batch with no counted pixel gives 0, not 0/0."""
    logits, target, ignore = inputs.logits, inputs.given_target, inputs.ignore_index
    acc = accumulation_dtype(logits)
    if acc is not None and reduction != "none":  # float16: the map, added up in float32, as are the counts
        total = F.cross_entropy(logits, target, weight=w, ignore_index=ignore, reduction="none").sum(dtype=acc)
        if reduction == "mean":
            if w is None:
                total = total / inputs.count()
            else:  # sum_i w_{t_i} over the counted pixels, clamped as below (a sum of 0 comes with a total of 0)
                den = torch.where(inputs.valid, w.to(acc)[inputs.target], 0).sum()
                total = total / den.clamp(min=torch.finfo(acc).tiny)
        return total.to(logits.dtype)
    if reduction == "mean" and w is not None:
        # The weighted mean divides by the counted pixels' weights sum_i w_{t_i}, which ATen's NLL pass (the
        # op behind F.cross_entropy) adds up anyway and returns beside the sum (reduction 2): no extra gather.
        log_p = F.log_softmax(logits, dim=1)
        total, weights = torch.ops.aten.nll_loss2d_forward(log_p, target, w, 2, ignore)
        # weights >= 0: a sum of 0 comes with a total of 0, so dividing by the smallest normal number gives 0
        return total / weights.clamp(min=torch.finfo(weights.dtype).tiny)
    if reduction == "mean":  # the same pass counts the counted pixels (total weight 1 each): no mask
        total, count = torch.ops.aten.nll_loss2d_forward(F.log_softmax(logits, dim=1), target, None, 2, ignore)
        return total / count.clamp(min=1)  # no counted pixel: 0 / 1
    return F.cross_entropy(
        logits, target, weight=w, ignore_index=ignore, reduction="none" if reduction == "none" else "sum"
    )  # w_t (lse(z) - z_t) per pixel, 0 where ignored; or their sum


def check_binary_focal_options(alpha: object, gamma: object, reduction: object) -> Tuple[Optional[float], float, str]:
    """:func:`binary_focal_loss`'s options, checked: ``(alpha or None, gamma, reduction)``."""
    a = None if alpha is None else check_probability(alpha, "alpha")
    return a, check_float(gamma, "gamma", minimum=0.0), check_reduction(reduction)


def binary_focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    alpha: Optional[float] = 0.25,
    gamma: float = 2.0,
    ignore_index: Optional[int] = IGNORE_INDEX,
    reduction: str = "mean",
    validate: Optional[bool] = None,
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
        validate: read values to check them (class range, 0/1 binary target, softmax outputs passed as
            logits): ``None`` on CPU tensors only (no GPU sync), ``True`` always, ``False`` never.

    Returns:
        A scalar or ``(N, H, W)``; range :math:`[0, \\infty)`, never more than the CE (times :math:`\\alpha_t`).

    Example:
        >>> z = torch.tensor([[[3.0, 3.0]]]); y = torch.tensor([[[1, 0]]])   # an easy and a hard pixel
        >>> binary_focal_loss(z, y, alpha=None, gamma=2.0, reduction="none")
        tensor([[[1.0928e-04, 2.7663e+00]]])
    """
    alpha, gamma, reduction = check_binary_focal_options(alpha, gamma, reduction)
    inputs = check_segmentation_inputs(
        logits, target, ignore_index=ignore_index, binary=True, validate=validate, name="binary_focal_loss"
    )
    loss = binary_focal_map(inputs.logits, inputs.target, alpha, gamma)  # (N, H, W)
    return reduce_pixels(loss, inputs, reduction)


def binary_focal_map(
    z: torch.Tensor,
    y: torch.Tensor,
    alpha: Optional[float],
    gamma: float,
) -> torch.Tensor:
    """The focal loss of every pixel; no checks.

    From logits ``z`` and 0/1 labels ``y``, both (N, H, W).
    """
    y = y.to(z.dtype)
    s = (2 * y - 1) * z  # logit of the true label (z or -z): p_t = σ(s)
    log_pt = F.logsigmoid(s)  # log p_t
    # (1 - p_t)^γ = exp(γ log(1 - p_t)), and log(1 - p_t) = log σ(-s) = log p_t - s
    modulating = torch.exp(gamma * (log_pt - s))
    loss = -modulating * log_pt
    if alpha is not None:  # α_t: α for foreground pixels, 1 - α for background
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return loss


def check_focal_options(alpha: object, gamma: object, reduction: object) -> Tuple[Optional[torch.Tensor], float, str]:
    """:func:`focal_loss`'s options, checked: ``(alpha (C,) or None, gamma, reduction)``."""
    vector = None if alpha is None else class_vector(alpha, "alpha")
    return vector, check_float(gamma, "gamma", minimum=0.0), check_reduction(reduction)


def focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    alpha: Optional[Sequence[float]] = None,
    gamma: float = 2.0,
    ignore_index: Optional[int] = IGNORE_INDEX,
    reduction: str = "mean",
    validate: Optional[bool] = None,
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
        validate: read values to check them (class range, 0/1 binary target, softmax outputs passed as
            logits): ``None`` on CPU tensors only (no GPU sync), ``True`` always, ``False`` never.

    Returns:
        A scalar or ``(N, H, W)``; range :math:`[0, \\infty)`.

    Example:
        >>> logits = torch.tensor([[[[4.0]], [[0.0]]]]); t = torch.tensor([[[0]]])
        >>> bool(focal_loss(logits, t, gamma=2.0) < 1e-3 * cross_entropy(logits, t))   # easy pixel: muted
        True
    """
    alpha_vector, gamma, reduction = check_focal_options(alpha, gamma, reduction)
    inputs = check_segmentation_inputs(
        logits, target, ignore_index=ignore_index, binary=False, validate=validate, name="focal_loss"
    )
    a = None if alpha_vector is None else per_class(alpha_vector, "alpha", inputs.num_classes, inputs.logits)
    return reduce_pixels(focal_map(inputs.logits, inputs.target, a, gamma), inputs, reduction)


def focal_map(logits: torch.Tensor, t: torch.Tensor, alpha: Optional[torch.Tensor], gamma: float) -> torch.Tensor:
    """The multi-class focal loss of every pixel (N, H, W), from checked logits and classes; no checks.

    :math:`(1 - \\hat p_t)^\\gamma` is ``(-expm1(log p_t)) ** gamma`` for :math:`\\gamma \\ge 1` (smooth at
    :math:`\\hat p_t = 1`) and ``exp(gamma * log(1 - p_t))`` with :math:`\\log(1 - \\hat p_t)` the log-sum-exp of
    the *other* classes for :math:`0 < \\gamma < 1`, whose power has an infinite slope at 0.
    """
    log_p = F.log_softmax(logits, dim=1)  # (N, C, H, W)
    log_pt = log_p.gather(1, t[:, None]).squeeze(1)  # (N, H, W): log p_t
    if gamma == 0:
        loss = -log_pt
    elif gamma >= 1:
        loss = -((-torch.expm1(log_pt)) ** gamma) * log_pt  # (1 - p_t)^γ, 1 - p_t = -expm1(log p_t)
    else:
        log_not_pt = log_p.scatter(1, t[:, None], float("-inf")).logsumexp(1)  # log(1 - p_t), stable
        loss = -torch.exp(gamma * log_not_pt) * log_pt
    return loss if alpha is None else alpha[t] * loss
