"""The U-Net paper's border weight map, and the per-pixel weighted cross entropy that uses it (chapter 8).

Ronneberger, Fischer and Brox (2015), *U-Net: Convolutional Networks for Biomedical Image Segmentation*, section 3:
touching cells are separated by thin gaps of background. A plain cross entropy barely notices a one-pixel gap
(it is a handful of pixels out of thousands), so the network fills it in and two cells become one object. The paper
gives every pixel a weight, large in the narrow gaps between cells (eq. 2),

.. math::

    w(x) = w_c(x) + w_0 \\cdot \\exp\\Bigl(-\\frac{(d_1(x) + d_2(x))^2}{2\\sigma^2}\\Bigr),

where :math:`w_c` balances the class frequencies and :math:`d_1, d_2` are the distances to the border of the
nearest and the second-nearest cell (the paper uses :math:`w_0 = 10`, :math:`\\sigma \\approx 5` pixels), and
trains with the weighted energy (eq. 1) :math:`E = \\sum_x w(x) \\log p_{\\ell(x)}(x)` (a loss to *maximise*;
here its negative, a loss to minimise).

Example:
    >>> import torch
    >>> instances = torch.tensor([[1, 1, 0, 2, 2]])               # two cells, one pixel apart
    >>> unet_weight_map(instances, class_weights=None)[0, 2]     # the gap: d1 = d2 = 1 -> 1 + 10 exp(-4/50)
    tensor(10.2312)
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from segbook.conventions import (
    IGNORE_INDEX,
    check_choice,
    check_float,
    check_ignore_index,
    check_same_shape,
    check_segmentation_inputs,
    check_tensor,
    values_checked,
)
from segbook.losses._common import check_reduction, class_vector, reduce_pixels
from segbook.losses.distribution import cross_entropy_kernel

__all__ = ["unet_weight_map", "weighted_pixel_cross_entropy", "WeightedPixelCrossEntropyLoss"]


def _class_weight_map(cells: np.ndarray, class_weights: Union[str, None, Sequence[float]]) -> np.ndarray:
    """w_c for one image: (H, W) float64, from the cell mask (H, W) bool."""
    if class_weights is None:
        return np.ones(cells.shape)
    if isinstance(class_weights, str):  # "balanced": total / (classes present * count of the pixel's class)
        counts = np.bincount(cells.ravel().astype(np.int64), minlength=2).astype(np.float64)
        per_class = np.where(counts > 0, cells.size / (np.count_nonzero(counts) * np.maximum(counts, 1)), 0.0)
    else:
        per_class = np.asarray(class_weights, dtype=np.float64)
    return per_class[cells.astype(np.int64)]


def _border_term(ids: np.ndarray, w0: float, sigma: float) -> np.ndarray:
    """w0 exp(-(d1 + d2)^2 / (2 sigma^2)) on the background pixels of one instance map (H, W); 0 elsewhere."""
    from scipy import ndimage

    cells = [k for k in np.unique(ids) if k != 0]
    if len(cells) < 2 or w0 == 0:  # d2 needs a second cell: no separating border to weight
        return np.zeros(ids.shape)
    # distance from every pixel to the nearest pixel of cell k, for every k: (K, H, W)
    distances = np.stack([ndimage.distance_transform_edt(ids != k) for k in cells])
    d1, d2 = np.partition(distances, 1, axis=0)[:2]  # nearest and second-nearest cell
    return np.where(ids == 0, w0 * np.exp(-((d1 + d2) ** 2) / (2 * sigma**2)), 0.0)


def unet_weight_map(
    instances: torch.Tensor,
    *,
    w0: float = 10.0,
    sigma: float = 5.0,
    class_weights: Union[str, None, Sequence[float]] = "balanced",
) -> torch.Tensor:
    """The U-Net paper's pixel weight map (Ronneberger et al. 2015, eq. 2) from an instance map of cells.

    .. math::

        w(x) = w_c(x) + w_0 \\cdot \\exp\\Bigl(-\\frac{(d_1(x) + d_2(x))^2}{2\\sigma^2}\\Bigr)

    **Conventions** (the paper leaves them open):

    * :math:`d_1(x), d_2(x)`: the Euclidean distance from pixel :math:`x`'s centre to the nearest pixel centre of
      the nearest and of the second-nearest cell (``scipy.ndimage.distance_transform_edt``), so a one-pixel gap
      between two cells has :math:`d_1 = d_2 = 1`.
    * The border term is added on **background** pixels only (label 0, membranes included): it is meant for the
      background that separates cells. Cell pixels get :math:`w_c` alone.
    * With fewer than two cells in an image :math:`d_2` is undefined; it is taken as :math:`\\infty`, so the border
      term is 0 and :math:`w = w_c`.
    * ``class_weights="balanced"``: per image, :math:`w_c = HW / (m \\cdot n_c)` for a pixel of class :math:`c`
      (:math:`n_c` pixels, :math:`m` classes present), so :math:`w_c` averages to 1 and both classes weigh the
      same in total (scikit-learn's "balanced"). ``None``: :math:`w_c = 1`. A pair ``(w_background, w_cell)``:
      those values.

    Args:
        instances: integer ``(H, W)`` or ``(N, H, W)``: 0 = background, ``1, 2, ...`` one id per cell
            (e.g. ``CellsDataset.instances()``). Each image of a batch gets its own map.
        w0: :math:`w_0 \\ge 0`, the border weight (paper: 10).
        sigma: :math:`\\sigma > 0` in pixels, how fast the border weight falls with the gap's width (paper: 5).
        class_weights: ``"balanced"``, ``None`` or two non-negative numbers (background, cell).

    Returns:
        float32 ``(H, W)`` or ``(N, H, W)``, like ``instances``, on its device.

    Example:
        >>> ids = torch.tensor([[1, 1, 0, 0, 2, 2]])                   # two-pixel gap: d1 + d2 = 1 + 2 = 3
        >>> unet_weight_map(ids, w0=10.0, sigma=5.0, class_weights=None)
        tensor([[1.0000, 1.0000, 9.3527, 9.3527, 1.0000, 1.0000]])
    """
    check_tensor(instances, "instances", ndim=(2, 3), dtype="int", shape_hint="(H, W) or (N, H, W) of cell ids")
    w0 = check_float(w0, "w0", minimum=0.0)
    sigma = check_float(sigma, "sigma", minimum=0.0, strict_minimum=True)
    if isinstance(class_weights, str):
        check_choice(class_weights, "class_weights", ("balanced",))
    elif class_weights is not None:
        class_weights = class_vector(class_weights, "class_weights", 2).tolist()
    if instances.numel() and int(instances.min()) < 0:
        raise ValueError(
            f"instances must be 0 (background) or a positive cell id, got the value {int(instances.min())}"
        )
    batch = (instances[None] if instances.ndim == 2 else instances).detach().cpu().numpy()
    maps = [_class_weight_map(ids > 0, class_weights) + _border_term(ids, w0, sigma) for ids in batch]
    out = torch.from_numpy(np.stack(maps) if maps else np.zeros(batch.shape)).to(torch.float32)
    return (out[0] if instances.ndim == 2 else out).to(instances.device)


def weighted_pixel_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    pixel_weights: torch.Tensor,
    *,
    ignore_index: Optional[int] = IGNORE_INDEX,
    reduction: str = "mean",
    validate: Optional[bool] = None,
) -> torch.Tensor:
    """Cross entropy with one weight per pixel: the U-Net paper's energy (eq. 1), negated to be minimised.

    .. math::

        L = \\frac{1}{|\\Omega|} \\sum_{x \\in \\Omega} w(x)\\, \\bigl(-\\log p_{\\ell(x)}(x)\\bigr),
        \\qquad p_c(x) = \\operatorname{softmax}_c(z(x)),

    over the counted pixels :math:`\\Omega` (target not ``ignore_index``), with :math:`w` e.g. from
    :func:`unet_weight_map`.

    **Convention.** ``"mean"`` divides by the number of counted pixels :math:`|\\Omega|`, *not* by
    :math:`\\sum w` (the paper's energy is a plain sum; dividing by the pixel count keeps the scale independent of
    the image size while a larger weight still means a larger loss). This differs from per-class ``weight`` in
    :func:`segbook.losses.cross_entropy` and PyTorch, whose mean divides by the sum of weights. ``"sum"`` is
    :math:`-E`; ``"none"`` is the weighted per-pixel map, equal to
    ``F.cross_entropy(logits, target, reduction="none") * pixel_weights`` (0 at ignored pixels).

    Args:
        logits: ``(N, C, H, W)`` float, ``C >= 2`` (the paper's two-class softmax: background, cell).
        target: ``(N, H, W)`` integer classes in ``[0, C)`` or ``ignore_index``.
        pixel_weights: ``(N, H, W)`` float, finite and >= 0.
        ignore_index: target value of pixels left out, or ``None``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        validate: read values to check them (class range, softmax outputs passed as logits, weights finite and
            >= 0): ``None`` on CPU tensors only (no GPU sync), ``True`` always, ``False`` never.

    Example:
        >>> logits = torch.zeros(1, 2, 1, 2)                           # p = 1/2 everywhere: CE = log 2
        >>> target = torch.tensor([[[0, 1]]]); weights = torch.tensor([[[1.0, 3.0]]])
        >>> weighted_pixel_cross_entropy(logits, target, weights)      # (1 + 3) log 2 / 2 pixels
        tensor(1.3863)
    """
    reduction = check_reduction(reduction)
    inputs = check_segmentation_inputs(
        logits, target, ignore_index=ignore_index, binary=False, validate=validate, name="weighted_pixel_cross_entropy"
    )
    check_tensor(pixel_weights, "pixel_weights", ndim=3, dtype="float", shape_hint="(N, H, W), one weight per pixel")
    check_same_shape(pixel_weights, "pixel_weights", target, "target")
    if pixel_weights.device != logits.device:
        raise ValueError(
            f"pixel_weights and logits must be on the same device, got {pixel_weights.device} and {logits.device}"
        )
    if values_checked(validate, pixel_weights) and pixel_weights.numel():
        counted = pixel_weights if inputs.mask is None else torch.where(inputs.mask, pixel_weights, 0.0)
        low, high = (float(v) for v in torch.aminmax(counted))  # one pass
        if not (low >= 0 and high < float("inf")):  # NaN fails both comparisons
            raise ValueError("pixel_weights must be finite and >= 0 at every counted pixel")
    ce = cross_entropy_kernel(inputs, None, "none")  # (N, H, W): -log p_t, 0 where ignored
    return reduce_pixels(pixel_weights.to(ce.dtype) * ce, inputs, reduction)


class WeightedPixelCrossEntropyLoss(nn.Module):
    """Module form of :func:`weighted_pixel_cross_entropy`: ``forward(logits, target, pixel_weights)``, the
    ``loss_fn(output, masks, pixel_weights)`` that ``segbook.training.fit`` calls for weighted batches.

    Example:
        >>> loss = WeightedPixelCrossEntropyLoss()
        >>> loss(torch.zeros(1, 2, 1, 1), torch.zeros(1, 1, 1, dtype=torch.long), torch.full((1, 1, 1), 2.0))
        tensor(1.3863)
    """

    def __init__(
        self, *, ignore_index: Optional[int] = IGNORE_INDEX, reduction: str = "mean", validate: Optional[bool] = None
    ) -> None:
        super().__init__()
        check_ignore_index(ignore_index, 2)  # fail here, not at the first batch
        self.ignore_index, self.reduction = ignore_index, check_reduction(reduction)
        self.validate = None if validate is None else values_checked(validate, torch.empty(0))

    def forward(self, logits: torch.Tensor, target: torch.Tensor, pixel_weights: torch.Tensor) -> torch.Tensor:
        return weighted_pixel_cross_entropy(
            logits,
            target,
            pixel_weights,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            validate=self.validate,
        )

    def extra_repr(self) -> str:
        return f"ignore_index={self.ignore_index!r}, reduction={self.reduction!r}"
