"""The boundary loss of Kervadec et al. (chapter 6): signed distance maps, the loss, its pairing with Dice.

The slides' fourth family: the predicted *contour* is compared with the true one through the signed distance
map of the true region. The distance maps are computed on the CPU with scipy (as the authors do, in their data
loader); pass them precomputed (``distance_map=``) to keep a training step on the device.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

import numpy as np
import torch

from segbook.conventions import (
    IGNORE_INDEX,
    SegmentationInputs,
    check_bool,
    check_class_indices,
    check_float,
    check_ignore_index,
    check_int,
    check_positive_int,
    check_segmentation_inputs,
    check_tensor,
)
from segbook.losses._common import check_reduction
from segbook.losses.region import soft_dice_kernel

__all__ = ["signed_distance_map", "boundary_loss", "dice_boundary_loss", "rebalance_weight"]


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


def signed_distance_map(
    target: torch.Tensor, num_classes: int, *, ignore_index: Optional[int] = IGNORE_INDEX
) -> torch.Tensor:
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
    ignore = check_ignore_index(ignore_index, num_classes)
    labels = target.detach().cpu().long()
    check_class_indices(labels, "target", num_classes, ignore)  # reads values: this runs on the CPU anyway
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


class BoundaryOptions(NamedTuple):
    """:func:`boundary_loss`'s options, checked by :func:`check_boundary_options`."""

    include_background: bool
    reduction: str


def check_boundary_options(include_background: object, reduction: object) -> BoundaryOptions:
    """:func:`boundary_loss`'s options, checked once (by the function, or by :class:`BoundaryLoss`)."""
    return BoundaryOptions(check_bool(include_background, "include_background"), check_reduction(reduction))


def boundary_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    distance_map: Optional[torch.Tensor] = None,
    include_background: bool = False,
    ignore_index: Optional[int] = IGNORE_INDEX,
    reduction: str = "mean",
    validate: Optional[bool] = None,
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
        validate: read values to check them (class range, 0/1 binary target, softmax outputs passed as
            logits): ``None`` on CPU tensors only (no GPU sync), ``True`` always, ``False`` never.

    Returns:
        A scalar (any sign, see above), or ``(N, K, H, W)``.

    Example:
        >>> target = torch.zeros(1, 8, 8, dtype=torch.long); target[0, 2:6, 2:6] = 1
        >>> good, bad = 10.0 * (2 * target[:, None].float() - 1), torch.zeros(1, 1, 8, 8)
        >>> bool(boundary_loss(good, target) < boundary_loss(bad, target))
        True
    """
    options = check_boundary_options(include_background, reduction)
    inputs = check_segmentation_inputs(
        logits, target, ignore_index=ignore_index, validate=validate, name="boundary_loss"
    )
    return boundary_kernel(inputs, distance_map, options)


def boundary_kernel(
    inputs: SegmentationInputs, distance_map: Optional[torch.Tensor], options: BoundaryOptions
) -> torch.Tensor:
    """:func:`boundary_loss` of checked inputs and options; checks only ``distance_map`` (metadata).

    Without ``distance_map`` the maps are computed from the target's values on the CPU.
    """
    logits, c, mask, weight = inputs.logits, inputs.num_classes, inputs.mask, inputs.weight  # None: no ignore
    if inputs.binary:
        probs, classes = torch.sigmoid(logits)[:, None], [1]  # (N, 1, H, W): the foreground
    else:
        probs, classes = torch.softmax(logits, dim=1), list(range(c))
        if not options.include_background:
            probs, classes = probs[:, 1:], classes[1:]
    k = probs.shape[1]
    if distance_map is None:  # only the classes the loss uses; ignored pixels (-1) belong to no class
        labels = (inputs.given_target if mask is None else torch.where(mask, inputs.given_target, -1)).cpu().numpy()
        phi = torch.from_numpy(_class_distance_maps(labels, classes)).to(device=probs.device, dtype=probs.dtype)
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
    if weight is not None:  # phi times the mask (1.0 / 0.0): the product is 0 at ignored pixels, no where()
        phi = phi * weight[:, None]
    product = phi * probs
    if options.reduction == "none":
        return product
    if options.reduction == "sum":
        return product.sum()
    return product.sum() / (inputs.count() * k)  # no counted pixel: 0 / k


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


class DiceBoundaryOptions(NamedTuple):
    """:func:`dice_boundary_loss`'s options, checked by :func:`check_dice_boundary_options`."""

    region_weight: float
    smooth: float
    include_background: bool


def check_dice_boundary_options(
    region_weight: object, smooth: object, include_background: object
) -> DiceBoundaryOptions:
    """:func:`dice_boundary_loss`'s options, checked once (by the function, or by :class:`DiceBoundaryLoss`)."""
    return DiceBoundaryOptions(
        check_float(region_weight, "region_weight", minimum=0.0, maximum=1.0),
        check_float(smooth, "smooth", minimum=0.0),
        check_bool(include_background, "include_background"),
    )


def dice_boundary_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    region_weight: float = 1.0,
    smooth: float = 1.0,
    include_background: bool = True,
    ignore_index: Optional[int] = IGNORE_INDEX,
    distance_map: Optional[torch.Tensor] = None,
    validate: Optional[bool] = None,
) -> torch.Tensor:
    """:math:`\\alpha\\, DL + (1 - \\alpha)\\, L_B`: soft Dice plus the boundary loss, as Kervadec et al. train it.

    ``region_weight`` is :math:`\\alpha` (set it each epoch from :func:`rebalance_weight`). The paper uses
    the generalised Dice loss as the region term; this uses :func:`soft_dice_loss` (its
    ``include_background`` applies to the Dice term; the boundary term uses the foreground classes).

    ``validate``: as :func:`binary_cross_entropy`.

    Example:
        >>> from segbook.losses import soft_dice_loss
        >>> logits = torch.randn(2, 3, 8, 8); target = torch.randint(0, 3, (2, 8, 8))
        >>> torch.allclose(dice_boundary_loss(logits, target, region_weight=1.0), soft_dice_loss(logits, target))
        True
    """
    options = check_dice_boundary_options(region_weight, smooth, include_background)
    inputs = check_segmentation_inputs(
        logits, target, ignore_index=ignore_index, validate=validate, name="dice_boundary_loss"
    )
    return dice_boundary_kernel(inputs, distance_map, options)


def dice_boundary_kernel(
    inputs: SegmentationInputs, distance_map: Optional[torch.Tensor], options: DiceBoundaryOptions
) -> torch.Tensor:
    """:func:`dice_boundary_loss` of checked inputs and options: alpha Dice + (1 - alpha) boundary."""
    alpha = options.region_weight
    dice = soft_dice_kernel(inputs, options.smooth, options.include_background, "mean")
    if alpha == 1.0:
        return dice
    boundary = boundary_kernel(inputs, distance_map, BoundaryOptions(False, "mean"))
    return alpha * dice + (1 - alpha) * boundary
