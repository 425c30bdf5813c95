"""Pixel error of a probability map at every decision threshold (chapter 8, what a weighted loss costs).

A network trained with a weighted cross entropy (the U-Net paper's weight map, class balancing) does not learn
the probability of each class but a reweighted one, so its argmax sits at a different place than the plain
network's. :func:`threshold_sweep` scores ``probabilities > t`` for many thresholds ``t`` at once, so the
threshold can be chosen on validation data instead of being left at the argmax (``t = 0.5`` for two classes).
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Union

import torch

from segbook.conventions import IGNORE_INDEX, check_float, check_int, check_same_shape, check_tensor

__all__ = ["threshold_sweep"]


def _threshold_vector(thresholds: Union[torch.Tensor, Sequence[float]]) -> torch.Tensor:
    """The thresholds as a float64 1-D tensor on the CPU, each checked to be a number in [0, 1]."""
    if isinstance(thresholds, torch.Tensor):
        if thresholds.ndim != 1 or not thresholds.dtype.is_floating_point:
            raise ValueError(
                f"thresholds must be a 1-D float tensor or a sequence of numbers, got a {thresholds.ndim}-D "
                f"{thresholds.dtype} tensor"
            )
        values = thresholds.detach().cpu().tolist()
    elif isinstance(thresholds, (str, bytes)) or not isinstance(thresholds, Sequence):
        raise TypeError(f"thresholds must be a 1-D float tensor or a sequence of numbers, got {thresholds!r}")
    else:
        values = list(thresholds)
    if not values:
        raise ValueError("thresholds must hold at least one value")
    checked = [check_float(t, f"thresholds[{i}]", minimum=0.0, maximum=1.0) for i, t in enumerate(values)]
    return torch.tensor(checked, dtype=torch.float64)


def threshold_sweep(
    probabilities: torch.Tensor,
    target: torch.Tensor,
    thresholds: Union[torch.Tensor, Sequence[float]],
    *,
    ignore_index: Optional[int] = IGNORE_INDEX,
) -> Dict[str, torch.Tensor]:
    """Pixel error of the decision ``probabilities > t``, for every threshold ``t``, against a binary target.

    For a threshold :math:`t`, pixel :math:`x` is called foreground when :math:`p(x) > t`; over the set
    :math:`\\Omega` of counted pixels (the target is not ``ignore_index``),

    .. math::

        \\text{FP}(t) = \\frac{|\\{x : p(x) > t,\\ y(x) = 0\\}|}{|\\Omega|}, \\qquad
        \\text{FN}(t) = \\frac{|\\{x : p(x) \\le t,\\ y(x) = 1\\}|}{|\\Omega|}, \\qquad
        \\text{pixel error}(t) = \\text{FP}(t) + \\text{FN}(t) = 1 - \\text{pixel accuracy}.

    Raising :math:`t` trades false positives for false negatives. For two classes, ``p`` the softmax
    probability of class 1 and :math:`t = 0.5`, the decision is the argmax (a tie, :math:`p = 0.5`, goes to
    class 0, as ``argmax`` does). The pixel error is that of the ISBI 2012 challenge
    (Arganda-Carreras et al. 2015), which also reports it at the best threshold.

    Args:
        probabilities: foreground probability, float ``(N, H, W)`` or ``(H, W)``, values in ``[0, 1]``.
        target: the true classes, integer, same shape: 1 = foreground, 0 = not, or ``ignore_index``.
        thresholds: a 1-D float tensor or a sequence of numbers in ``[0, 1]`` (any order, repeats allowed).
        ignore_index: target value of pixels left out (``None``: every pixel counts).

    Returns:
        float64 tensors of shape ``(T,)``, one value per threshold in the order given: ``"threshold"``,
        ``"pixel_error"``, ``"false_positive"``, ``"false_negative"`` (fractions of the counted pixels; NaN when
        no pixel counts).

    Raises:
        TypeError: ``probabilities`` is not a float tensor, ``target`` not an integer tensor, ``thresholds`` not
            a tensor or a sequence.
        ValueError: the shapes differ, a probability lies outside ``[0, 1]``, the target holds a value other
            than 0, 1 and ``ignore_index``, a threshold lies outside ``[0, 1]`` or there is none.

    Example:
        >>> p = torch.tensor([[0.2, 0.4, 0.6, 0.9]])
        >>> y = torch.tensor([[0, 1, 1, 255]])                # the last pixel is not counted
        >>> sweep = threshold_sweep(p, y, [0.3, 0.5])
        >>> sweep["pixel_error"]                              # t = 0.3: none wrong; t = 0.5: 0.4 is missed
        tensor([0.0000, 0.3333], dtype=torch.float64)
        >>> sweep["false_negative"]
        tensor([0.0000, 0.3333], dtype=torch.float64)
    """
    check_tensor(probabilities, "probabilities", ndim=(2, 3), dtype="float", shape_hint="(N, H, W) or (H, W)")
    check_tensor(target, "target", ndim=(2, 3), dtype="int", shape_hint="(N, H, W) or (H, W) of 0/1")
    check_same_shape(probabilities, "probabilities", target, "target")
    if ignore_index is not None:
        ignore_index = check_int(ignore_index, "ignore_index")
        if ignore_index in (0, 1):
            raise ValueError(f"ignore_index={ignore_index} is a class of the binary target (0 or 1); use 255 or None")
    steps = _threshold_vector(thresholds)
    p, y = probabilities.detach().flatten(), target.detach().flatten().long()
    if p.numel() and (torch.isnan(p).any() or p.min() < 0 or p.max() > 1):
        raise ValueError(
            "probabilities must lie in [0, 1] (softmax or sigmoid outputs, not logits), got values in "
            f"[{float(p.min()):.4g}, {float(p.max()):.4g}]"
        )
    counted = y != ignore_index if ignore_index is not None else torch.ones_like(y, dtype=torch.bool)
    p, y = p[counted], y[counted]
    if y.numel() and ((y != 0) & (y != 1)).any():
        bad = int(y[(y != 0) & (y != 1)][0])
        also = f" or the ignore index {ignore_index}" if ignore_index is not None else ""
        raise ValueError(f"target must be 0 (not foreground) or 1 (foreground){also}, got the value {bad}")
    total = y.numel()
    positive = y == 1
    p = p.to(torch.float64)
    fp = torch.stack([((p > t) & ~positive).sum() for t in steps]).to(torch.float64)
    fn = torch.stack([((p <= t) & positive).sum() for t in steps]).to(torch.float64)
    if total == 0:
        fp, fn = fp.fill_(float("nan")), fn.fill_(float("nan"))
    else:
        fp, fn = fp / total, fn / total
    return {"threshold": steps, "pixel_error": fp + fn, "false_positive": fp, "false_negative": fn}
