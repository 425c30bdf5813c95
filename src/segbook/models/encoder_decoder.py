"""A plain encoder-decoder: downsample inside the network, upsample back (slide "Tích chập hoàn toàn").

The slide's answer to "convolutions at full resolution are expensive": shrink the feature maps with max pooling or
strided convolutions, compute there, and grow them back. How to grow them back is chapter 4's question, so the
upsampling is a choice here: nearest neighbour, bilinear, transposed convolution, or max unpooling with the
indices remembered by the paired max pooling (SegNet's decoder). There are no skip connections: that is FCN's and
U-Net's improvement (chapters 7 and 8).
"""

from __future__ import annotations

from typing import List

import torch
from torch import nn
from torch.nn import functional as F

from segbook.conventions import check_choice, check_int, check_positive_int
from segbook.models._blocks import check_images, conv_block

__all__ = ["EncoderDecoder", "FullResolutionFCN"]

DOWNSAMPLING = ("max_pool", "strided_conv")
UPSAMPLING = ("nearest", "bilinear", "transposed", "max_unpool")


class EncoderDecoder(nn.Module):
    """``depth`` times (conv block, downsample by 2), then ``depth`` times (upsample by 2, conv block), then 1x1.

    Args:
        num_classes: C, the output channels.
        in_channels: input channels (3 for RGB).
        width: channels at full resolution; level ``l`` has ``width * 2**l``.
        depth: how many 2x downsamplings (the input's H and W must be divisible by ``2**depth``).
        down: ``"max_pool"`` or ``"strided_conv"`` (a 3x3 convolution with stride 2).
        up: ``"nearest"``, ``"bilinear"``, ``"transposed"`` (a learnable 2x2 transposed convolution, stride 2) or
            ``"max_unpool"`` (needs ``down="max_pool"``: values go back to the remembered argmax positions).

    Shapes: (N, in_channels, H, W) → (N, C, H, W).

    Example:
        >>> EncoderDecoder(5, up="max_unpool")(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 5, 32, 32])
    """

    def __init__(
        self,
        num_classes: int,
        *,
        in_channels: int = 3,
        width: int = 16,
        depth: int = 2,
        down: str = "max_pool",
        up: str = "bilinear",
    ) -> None:
        super().__init__()
        num_classes = check_positive_int(num_classes, "num_classes")
        self.in_channels = check_positive_int(in_channels, "in_channels")
        width = check_positive_int(width, "width")
        self.depth = check_int(depth, "depth", minimum=1, maximum=6)
        check_choice(down, "down", DOWNSAMPLING)
        check_choice(up, "up", UPSAMPLING)
        self.down, self.up = down, up
        if up == "max_unpool" and down != "max_pool":
            raise ValueError(
                "up='max_unpool' needs down='max_pool': unpooling puts values back at the positions "
                "remembered by the paired max pooling"
            )
        widths = [width * 2**level for level in range(depth + 1)]  # channels at each level
        self.encoder = nn.ModuleList(
            conv_block(c_in, c_out) for c_in, c_out in zip([in_channels] + widths[:-2], widths[:-1])
        )
        self.downsamplers = nn.ModuleList(
            nn.Conv2d(c, c, 3, stride=2, padding=1) if down == "strided_conv" else nn.Identity() for c in widths[:-1]
        )
        self.bottleneck = conv_block(widths[-2], widths[-1])
        ups: List[nn.Module] = []
        decoder: List[nn.Module] = []
        for level in reversed(range(depth)):  # from the coarsest level back to full resolution
            c_in, c_out = widths[level + 1], widths[level]
            if up == "transposed":
                ups.append(nn.ConvTranspose2d(c_in, c_in, 2, stride=2))  # learnable 2x upsampling
            elif up == "max_unpool":
                # The remembered indices have c_out channels (the pooled map of this level): match them first.
                ups.append(nn.Conv2d(c_in, c_out, 1))
            else:
                ups.append(nn.Identity())
            decoder.append(conv_block(c_out if up == "max_unpool" else c_in, c_out))
        self.upsamplers, self.decoder = nn.ModuleList(ups), nn.ModuleList(decoder)
        self.head = nn.Conv2d(width, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.in_channels, multiple_of=2**self.depth, model=f"EncoderDecoder(depth={self.depth})")
        indices: List[torch.Tensor] = []
        for block, downsample in zip(self.encoder, self.downsamplers):
            x = block(x)
            if self.down == "max_pool":
                x, idx = F.max_pool2d(x, 2, return_indices=True)  # idx: where each maximum came from
                indices.append(idx)
            else:
                x = downsample(x)
        x = self.bottleneck(x)
        for upsample, block in zip(self.upsamplers, self.decoder):
            if self.up == "max_unpool":
                idx = indices.pop()  # the pooling of the same level, used symmetrically
                x = F.max_unpool2d(upsample(x), idx, (2, 2), output_size=(x.shape[-2] * 2, x.shape[-1] * 2))
            elif self.up == "transposed":
                x = upsample(x)
            else:
                x = F.interpolate(x, scale_factor=2, mode=self.up)
            x = block(x)
        return self.head(x)


class FullResolutionFCN(nn.Module):
    """The slide's first fully convolutional design: a stack of 3x3 convolutions, all at full resolution.

    Every layer keeps the input's size, so it classifies all pixels at once, but every layer also pays for every
    pixel, which is what makes it expensive at high resolution (chapter 3 measures it).

    Args:
        num_classes: C.
        in_channels: input channels.
        width: channels of every hidden layer.
        layers: number of 3x3 conv blocks (the receptive field is ``2 * layers + 1`` pixels wide).

    Shapes: (N, in_channels, H, W) → (N, C, H, W), for any H and W.
    """

    def __init__(self, num_classes: int, *, in_channels: int = 3, width: int = 32, layers: int = 6) -> None:
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        width, layers = check_positive_int(width, "width"), check_positive_int(layers, "layers")
        blocks = [conv_block(in_channels if i == 0 else width, width) for i in range(layers)]
        self.body = nn.Sequential(*blocks)
        self.head = nn.Conv2d(width, check_positive_int(num_classes, "num_classes"), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.in_channels, model="FullResolutionFCN")
        return self.head(self.body(x))
