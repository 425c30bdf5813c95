"""Tiny synthetic training tasks shared by the tests of segbook.training (CPU, milliseconds)."""

import time

import torch
from torch import nn

NUM_CLASSES = 3


def banded_task(n, seed, size=8):
    """Pixel value in [0, 1/3) -> class 0, [1/3, 2/3) -> 1, [2/3, 1] -> 2: separable pixel by pixel."""
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 1, size, size, generator=g)  # (N, 1, H, W)
    masks = (images[:, 0] * NUM_CLASSES).long().clamp(max=NUM_CLASSES - 1)  # (N, H, W)
    return images, masks


def batches(images, masks, batch_size):
    return [(images[i : i + batch_size], masks[i : i + batch_size]) for i in range(0, len(images), batch_size)]


def tiny_net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 8, 1), nn.ReLU(), nn.Conv2d(8, NUM_CLASSES, 1))


class ModeSpy(nn.Module):
    """A 1x1 conv that records whether it ran in training mode, and can sleep to make epochs slow."""

    def __init__(self, sleep=0.0):
        super().__init__()
        self.conv = nn.Conv2d(1, NUM_CLASSES, 1)
        self.sleep, self.modes = sleep, []

    def forward(self, x):
        self.modes.append(self.training)
        time.sleep(self.sleep)
        return self.conv(x)
