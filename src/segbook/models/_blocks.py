"""Building blocks shared by the models: conv blocks, the input check every forward starts with, and the
pad-then-crop that lets a network with ``depth`` poolings take any input size."""

from __future__ import annotations

from typing import List, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from segbook.conventions import check_tensor

__all__ = ["conv_block", "double_conv", "check_images", "pad_to_multiple", "crop_to"]


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 convolution (padding 1, size kept) → batch norm → ReLU."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


def double_conv(c_in: int, c_out: int, *, padding: int = 1, batch_norm: bool = True) -> nn.Sequential:
    """U-Net's unit: two (3x3 convolution → [batch norm] → ReLU).

    ``padding=1`` keeps the size; ``padding=0`` is the U-Net paper's "valid" convolution, which loses one pixel
    on every side per convolution (4 pixels of height and width per block). The paper has no batch norm (it
    predates it); ``batch_norm=True`` adds it because it makes the small models of the book train in a minute.
    """
    layers: List[nn.Module] = []
    for c in (c_in, c_out):
        layers.append(nn.Conv2d(c, c_out, 3, padding=padding, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def check_images(x: object, in_channels: int, *, multiple_of: int = 1, model: str = "the model") -> torch.Tensor:
    """Check a model's input: a float (N, in_channels, H, W) tensor, H and W >= 1 and divisible by ``multiple_of``."""
    images = check_tensor(x, "x", ndim=4, dtype="float", shape_hint="(N, C_in, H, W)")
    if images.shape[1] != in_channels:
        raise ValueError(f"x has {images.shape[1]} channels but {model} expects in_channels={in_channels}")
    if not images.shape[-2] or not images.shape[-1]:  # an empty batch (N = 0) is fine; an empty image is not
        raise ValueError(f"x holds empty images (H, W) = {tuple(images.shape[-2:])}: {model} needs H >= 1 and W >= 1")
    if images.shape[-2] % multiple_of or images.shape[-1] % multiple_of:
        raise ValueError(f"{model} needs H and W divisible by {multiple_of}, got {tuple(images.shape[-2:])}")
    return images


def pad_to_multiple(x: torch.Tensor, multiple: int) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """Zero-pad the bottom and right of ``x`` (N, C, H, W) so H and W become multiples of ``multiple``.

    Returns the padded tensor and the original ``(H, W)``, for :func:`crop_to` to cut the output back. Padding at
    the bottom-right keeps pixel (0, 0) where it was, so the output's pixels line up with the input's.
    """
    h, w = x.shape[-2:]
    pad_h, pad_w = -h % multiple, -w % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h))
    return x, (h, w)


def crop_to(x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """The top-left ``size = (H, W)`` of ``x`` (..., H', W'): undoes :func:`pad_to_multiple`."""
    return x[..., : size[0], : size[1]]
