"""Probes: run a model to measure it, without training it (chapters 7-10's figures are drawn from these).

- :func:`unet_feature_sizes` (chapter 8): the spatial size of every feature map of a U-Net, from hooks.
- :func:`fcn_logits_with_skip_weight` (chapter 7): an FCN's logits with its skip scores scaled.
- :func:`unetpp_pruned_logits` (chapter 9): a U-Net++'s logits when pruned at a level.
- :func:`head_logits` (chapters 9-10): the logits of every head of a model, as a list.

Each runs the model in evaluation mode without gradients and restores the model's mode afterwards
(:func:`segbook.conventions.evaluating`). :mod:`segbook.viz` draws their results.
"""

from __future__ import annotations

from typing import Dict, List, Union

import torch
from torch import nn

from segbook.conventions import check_float, check_tensor, evaluating
from segbook.models.fcn import FCN
from segbook.models.unet import UNet
from segbook.models.unet_plus_plus import UNetPlusPlus

__all__ = ["unet_feature_sizes", "fcn_logits_with_skip_weight", "unetpp_pruned_logits", "head_logits"]


def unet_feature_sizes(model: UNet, input_size: int) -> Dict[str, Union[int, List[int]]]:
    """Spatial sizes of a :class:`segbook.models.UNet`'s feature maps for a square input of ``input_size``.

    Measured, not re-derived: a one-channel copy of the architecture (same depth, padding and upsampling, width 1,
    so it is cheap even at the paper's 572) runs on a zero image while hooks record every block's output.

    Returns:
        ``{"contracting": [size per level 0 .. depth-1], "bottom": size, "up": [upsampled size per level, deepest
        first], "expanding": [block output size per level, deepest first], "output": size}``.

    Example:
        >>> s = unet_feature_sizes(UNet(2, depth=4, padding="valid"), 572)
        >>> s["contracting"], s["bottom"], s["output"]
        ([568, 280, 136, 64], 28, 388)
    """
    if not isinstance(model, UNet):
        raise TypeError(f"model must be a segbook.models.UNet, got {type(model).__name__}")
    model.output_size(input_size)  # validates the size (and explains sizes a valid U-Net cannot take)
    proxy = UNet(1, in_channels=1, width=1, depth=model.depth, padding=model.padding, up=model.up, batch_norm=False)
    lists: Dict[str, List[int]] = {"contracting": [], "up": [], "expanding": []}
    bottom: List[int] = []

    def record(into: List[int]):
        return lambda _module, _inputs, output: into.append(output.shape[-1])

    hooks = [
        module.register_forward_hook(record(lists[key]))
        for key, modules in (("contracting", proxy.contracting), ("up", proxy.upconvs), ("expanding", proxy.expanding))
        for module in modules
    ]
    hooks.append(proxy.bottom.register_forward_hook(record(bottom)))
    try:
        with torch.no_grad():
            output = proxy(torch.zeros(1, 1, input_size, input_size)).shape[-1]
    finally:
        for hook in hooks:
            hook.remove()
    return {
        "contracting": lists["contracting"],
        "up": lists["up"],
        "expanding": lists["expanding"],
        "bottom": bottom[0],
        "output": output,
    }


def fcn_logits_with_skip_weight(model: FCN, images: torch.Tensor, weight: float) -> torch.Tensor:
    """Logits of an FCN whose skip scores (``score_pool4``, ``score_pool3``) are multiplied by ``weight``.

    ``weight = 1`` is the net itself, ``weight = 0`` keeps only its stride-32 path (what the skips add is removed).
    The model runs in eval mode without gradients; its mode is put back afterwards.

    Args:
        model: a :class:`segbook.models.FCN` (any variant; FCN-32s has no skip to scale).
        images: (N, C_in, H, W) float.
        weight: the factor for the skip scores.

    Returns:
        (N, C, H, W) logits.

    Example:
        >>> from segbook.models import fcn8s
        >>> net = fcn8s(3)
        >>> fcn_logits_with_skip_weight(net, torch.rand(1, 3, 32, 32), 0.0).shape
        torch.Size([1, 3, 32, 32])
    """
    if not isinstance(model, FCN):
        raise TypeError(f"model must be a segbook.models.FCN, got {type(model).__name__}")
    weight = check_float(weight, "weight")
    hooks = [
        getattr(model, name).register_forward_hook(lambda module, inputs, output: weight * output)
        for name in ("score_pool4", "score_pool3")
        if hasattr(model, name)
    ]
    try:
        with evaluating(model), torch.no_grad():
            return model(images)
    finally:
        for hook in hooks:
            hook.remove()


def _device(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return torch.device("cpu") if parameter is None else parameter.device


def unetpp_pruned_logits(model: UNetPlusPlus, images: torch.Tensor, level: int) -> torch.Tensor:
    """Logits of :class:`segbook.models.UNetPlusPlus` pruned at ``level`` (head ``level``, nodes with i + j ≤ L).

    The model runs in eval mode without gradients; its mode is put back afterwards.

    Args:
        model: a ``UNetPlusPlus`` built with ``deep_supervision=True`` (or ``level = model.depth``).
        images: float (N, C_in, H, W); moved to the model's device.
        level: L in ``[1, model.depth]``.

    Returns:
        (N, C, H, W) logits on the model's device.

    Example:
        >>> net = UNetPlusPlus(3, width=2, depth=2, deep_supervision=True)
        >>> unetpp_pruned_logits(net, torch.rand(1, 3, 8, 8), 1).shape
        torch.Size([1, 3, 8, 8])
    """
    if not isinstance(model, UNetPlusPlus):
        raise TypeError(f"model must be a segbook.models.UNetPlusPlus, got {type(model).__name__}")
    check_tensor(images, "images", ndim=4, dtype="float", shape_hint="(N, C_in, H, W)")
    pruned = model.pruned(level)  # validates the level
    # The full model's mode, not the fresh wrapper's: `pruned` shares the model's layers.
    with evaluating(model), torch.no_grad():
        return pruned(images.to(_device(model)))


def head_logits(model: nn.Module, images: torch.Tensor) -> List[torch.Tensor]:
    """The logits of every head of ``model`` on ``images``, as a list (one element for a one-tensor model).

    Models with deep or intermediate supervision (``UNetPlusPlus``, ``StackedUNets``, ``CoupledUNets``) return
    one logits tensor per head, last head last; other models one tensor. The model runs in eval mode without
    gradients; its mode is put back afterwards.

    Args:
        model: maps images (N, C_in, H, W) to logits (N, C, H, W) or a list of them.
        images: float (N, C_in, H, W); moved to the model's device.

    Returns:
        A list of (N, C, H, W) logits on the model's device.

    Example:
        >>> [out.shape for out in head_logits(nn.Conv2d(3, 5, 1), torch.rand(2, 3, 4, 4))]
        [torch.Size([2, 5, 4, 4])]
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_tensor(images, "images", ndim=4, dtype="float", shape_hint="(N, C_in, H, W)")
    with evaluating(model), torch.no_grad():
        output = model(images.to(_device(model)))
    return list(output) if isinstance(output, (list, tuple)) else [output]
