"""What the op modules share: the size-argument type, a stack's layers in order, one side of a square layer.

Private to :mod:`segbook.ops`: chapters and users import the operations from their modules. The names here are
public so that the sibling modules (:mod:`~segbook.ops.receptive_field`, :mod:`~segbook.ops.convolutionalization`,
:mod:`~segbook.ops.unpooling`, :mod:`~segbook.ops.transposed`) can import them.
"""

from __future__ import annotations

from typing import Iterable, List, Sequence, Union

import torch
from torch import nn

from segbook.conventions import check_int

__all__ = ["IntPair", "Layers", "leaf_layers", "square_size", "check_patch_size"]

IntPair = Union[int, Sequence[int]]
"""A size as ``torch.nn.Conv2d`` takes it: one int for both axes, or ``(height, width)``."""

Layers = Union[nn.Module, Iterable[nn.Module]]
"""A stack of layers: one module, an ``nn.Sequential`` (nested ones too) or a list of modules."""


def leaf_layers(layers: Layers) -> List[nn.Module]:
    """The layers of a stack in the order they run, nested ``nn.Sequential`` containers flattened."""
    if isinstance(layers, nn.Sequential):
        return [leaf for child in layers for leaf in leaf_layers(child)]
    if isinstance(layers, nn.Module):
        return [layers]
    if isinstance(layers, (str, bytes, torch.Tensor)) or not isinstance(layers, Iterable):
        raise TypeError(
            f"layers must be an nn.Module, an nn.Sequential or a list of modules, got {type(layers).__name__}"
        )
    out: List[nn.Module] = []
    for item in layers:
        if not isinstance(item, nn.Module):
            raise TypeError(f"layers must contain only nn.Module objects, got {type(item).__name__}")
        out += leaf_layers(item)
    return out


def square_size(value: object, what: str, layer: str, *, tool: str) -> int:
    """One int from a layer's kernel size, stride, dilation or padding, which must be the same on both axes.

    ``what`` names the setting, ``layer`` the layer (``"layer 2 (Conv2d)"``) and ``tool`` the function that can
    only handle square layers; all three appear in the error.
    """
    if isinstance(value, (tuple, list)):
        if len(set(value)) != 1:
            raise ValueError(
                f"{layer}: {what}={tuple(value)} is not square (not the same on both axes); {tool} handles "
                f"square kernels, strides, dilations and paddings only"
            )
        value = value[0]
    return check_int(value, f"{layer}: {what}")


def check_patch_size(patch_size: object) -> int:
    """A patch size ``P``: an odd int >= 1, so that the patch has a centre pixel."""
    patch_size = check_int(patch_size, "patch_size", minimum=1)
    if patch_size % 2 == 0:
        raise ValueError(
            f"patch_size must be odd so that the patch has a centre pixel, got {patch_size} "
            f"(use {patch_size - 1} or {patch_size + 1})"
        )
    return patch_size
