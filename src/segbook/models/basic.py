"""Two baselines of chapter 1: a classifier that sees one pixel, and a small CNN that sees its neighbourhood.

They differ in one thing only, the *context* each output pixel can see (its receptive field), which is why
the book's data set, where colour carries no class information, separates them so clearly.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from segbook.conventions import check_positive_int
from segbook.models._blocks import check_images, conv_block

__all__ = ["PixelClassifier", "SmallSegNet"]


class PixelClassifier(nn.Module):
    """Classify every pixel from its own colour alone: a per-pixel MLP written as 1x1 convolutions.

    Its receptive field is one pixel, so it can learn only "which colours are which class". On the book's
    data, where colours are drawn from one distribution for every class, that is almost nothing.

    Args:
        num_classes: C, the number of output channels.
        in_channels: channels of the input image (3 for RGB).
        hidden: width of the hidden layer.

    Shapes: (N, in_channels, H, W) → (N, C, H, W).

    Example:
        >>> PixelClassifier(5)(torch.rand(2, 3, 8, 8)).shape
        torch.Size([2, 5, 8, 8])
    """

    def __init__(self, num_classes: int, *, in_channels: int = 3, hidden: int = 32) -> None:
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, check_positive_int(hidden, "hidden"), 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, check_positive_int(num_classes, "num_classes"), 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.in_channels, model="PixelClassifier")
        return self.net(x)


class SmallSegNet(nn.Module):
    """A small encoder-decoder CNN: two 2x downsamplings, bilinear upsampling back, one skip connection.

    The encoder's pooling grows the receptive field (so each output pixel sees the shape it belongs to); the
    decoder brings the prediction back to full resolution, and the skip from the full-resolution features
    keeps boundaries sharp. Chapters 3-8 explain each of these parts; chapter 1 only needs a network that
    sees context.

    Args:
        num_classes: C, the number of output channels.
        in_channels: channels of the input image.
        width: channels of the first block; deeper blocks use 2x and 4x.

    Shapes: (N, in_channels, H, W) → (N, C, H, W); H and W must be divisible by 4 (two poolings).

    Example:
        >>> SmallSegNet(5)(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 5, 32, 32])
    """

    def __init__(self, num_classes: int, *, in_channels: int = 3, width: int = 16) -> None:
        super().__init__()
        w = check_positive_int(width, "width")
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.enc1 = nn.Sequential(conv_block(in_channels, w), conv_block(w, w))  # H
        self.enc2 = nn.Sequential(conv_block(w, 2 * w), conv_block(2 * w, 2 * w))  # H/2
        self.enc3 = nn.Sequential(conv_block(2 * w, 4 * w), conv_block(4 * w, 4 * w))  # H/4
        self.dec = nn.Sequential(conv_block(4 * w + w, w), conv_block(w, w))  # H, after the skip
        self.head = nn.Conv2d(w, check_positive_int(num_classes, "num_classes"), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.in_channels, multiple_of=4, model="SmallSegNet (it pools twice)")
        f1 = self.enc1(x)  # (N, w, H, W)
        f3 = self.enc3(F.max_pool2d(self.enc2(F.max_pool2d(f1, 2)), 2))  # (N, 4w, H/4, W/4)
        up = F.interpolate(f3, size=x.shape[-2:], mode="bilinear", align_corners=False)  # (N, 4w, H, W)
        return self.head(self.dec(torch.cat([up, f1], dim=1)))  # (N, C, H, W)
