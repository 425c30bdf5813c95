"""Building blocks shared by the models: the conv-BN-ReLU block and the input check every forward starts with."""

from __future__ import annotations

import torch
from torch import nn

from segbook._validate import check_tensor

__all__ = ["conv_block", "check_images"]


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 convolution (padding 1, size kept) → batch norm → ReLU."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


def check_images(x: object, in_channels: int, *, multiple_of: int = 1, model: str = "the model") -> torch.Tensor:
    """Check a model's input: a float (N, in_channels, H, W) tensor whose H and W are divisible by ``multiple_of``."""
    check_tensor(x, "x", ndim=4, dtype="float", shape_hint="(N, C_in, H, W)")
    if x.shape[1] != in_channels:
        raise ValueError(f"x has {x.shape[1]} channels but {model} expects in_channels={in_channels}")
    if x.shape[-2] % multiple_of or x.shape[-1] % multiple_of:
        raise ValueError(f"{model} needs H and W divisible by {multiple_of}, got {tuple(x.shape[-2:])}")
    return x
