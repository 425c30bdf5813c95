"""U-Net (Ronneberger, Fischer & Brox, 2015; slide "U-Net: được sử dụng rộng rãi trong y tế").

A **contracting path** (two 3x3 convolutions, then a 2x2 max pooling that halves the size and a doubling of the
channels, ``depth`` times) captures context; an **expanding path** (a 2x2 "up-convolution" that doubles the size
and halves the channels, a concatenation with the contracting path's features of the same level, two 3x3
convolutions) recovers where things are. The concatenated skips are what separates U-Net from an
encoder-decoder: fine detail does not have to survive the bottleneck.

Two ways to handle borders:

- ``padding="same"`` (the default, what most code does today): padded convolutions keep the size; inputs of any
  size are padded to a multiple of ``2**depth`` and the output is cropped back to the input's size.
- ``padding="valid"`` (the paper): unpadded convolutions lose 2 pixels per convolution, so the output is smaller
  than the input (the paper's 572x572 tile gives a 388x388 map) and skip features are centre-cropped before the
  concatenation. Each output pixel then sees only real image context, which is what makes the paper's
  **overlap-tile** strategy (:func:`overlap_tile_predict`) seamless.

Deviations from the paper: batch norm after each convolution (``batch_norm=True``; the paper predates it),
a small width and depth by default, and the choice of bilinear upsampling + 1x1 convolution instead of the
up-convolution (``up="bilinear"``).
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from segbook.conventions import check_bool, check_choice, check_int, check_positive_int, check_tensor, evaluating
from segbook.models._blocks import check_images, crop_to, double_conv, pad_to_multiple

__all__ = ["UNet", "overlap_tile_predict"]

PADDINGS = ("same", "valid")
UPSAMPLINGS = ("transposed", "bilinear")


def _centre_crop(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """The centre ``size`` of ``x`` (..., H, W): the paper's crop of the skip features."""
    top, left = (x.shape[-2] - size[0]) // 2, (x.shape[-1] - size[1]) // 2
    return x[..., top : top + size[0], left : left + size[1]]


class _UpConv(nn.Module):
    """2x upsampling that halves the channels: a 2x2 transposed convolution ("up-convolution"), or bilinear
    interpolation followed by a 1x1 convolution."""

    def __init__(self, c_in: int, c_out: int, mode: str) -> None:
        super().__init__()
        self.mode = mode
        self.conv = nn.ConvTranspose2d(c_in, c_out, 2, stride=2) if mode == "transposed" else nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "transposed":
            return self.conv(x)
        return self.conv(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))


class UNet(nn.Module):
    """The U-Net: contracting path, expanding path, concatenated skip connections.

    Level ``l`` (0 = full resolution) has ``width * 2**l`` channels; the bottom level is ``depth``
    (the paper: width 64, depth 4, so 64 ... 1024 channels).

    Args:
        num_classes: C.
        in_channels: input channels.
        width: channels at full resolution.
        depth: number of 2x2 poolings (1 to 6).
        padding: ``"same"`` (any input size; output at the input's size) or ``"valid"`` (the paper: output
            smaller by :attr:`border` pixels on each side; see :meth:`output_size`).
        up: ``"transposed"`` (the paper's 2x2 up-convolution) or ``"bilinear"`` (interpolation + 1x1 conv).
        batch_norm: batch norm after every convolution.

    Shapes: (N, in_channels, H, W) → (N, C, H, W) with ``padding="same"``;
    (N, C, H - 2·border, W - 2·border) with ``padding="valid"``.

    Example:
        >>> UNet(2)(torch.rand(1, 3, 50, 70)).shape
        torch.Size([1, 2, 50, 70])
        >>> UNet(2, depth=4, width=4, padding="valid").output_size(572)  # the paper's tile
        388
    """

    def __init__(
        self,
        num_classes: int,
        *,
        in_channels: int = 3,
        width: int = 16,
        depth: int = 3,
        padding: str = "same",
        up: str = "transposed",
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        self.num_classes = check_positive_int(num_classes, "num_classes")
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.width = check_positive_int(width, "width")
        self.depth = check_int(depth, "depth", minimum=1, maximum=6)
        check_choice(padding, "padding", PADDINGS)
        check_choice(up, "up", UPSAMPLINGS)
        self.padding, self.up = padding, up
        check_bool(batch_norm, "batch_norm")
        pad = 1 if padding == "same" else 0
        widths = [width * 2**level for level in range(depth + 1)]
        self.contracting = nn.ModuleList(
            double_conv(c_in, c_out, padding=pad, batch_norm=batch_norm)
            for c_in, c_out in zip([in_channels] + widths[:-2], widths[:-1])
        )
        self.bottom = double_conv(widths[-2], widths[-1], padding=pad, batch_norm=batch_norm)
        self.upconvs = nn.ModuleList(_UpConv(widths[level + 1], widths[level], up) for level in reversed(range(depth)))
        self.expanding = nn.ModuleList(
            double_conv(2 * widths[level], widths[level], padding=pad, batch_norm=batch_norm)
            for level in reversed(range(depth))
        )
        self.head = nn.Conv2d(width, num_classes, 1)

    # ---------------------------------------------------------------- sizes of the paper's unpadded variant

    @property
    def border(self) -> int:
        """Pixels lost on each side: 0 for ``"same"``; for ``"valid"``, 2 per convolution, counted at the input's
        resolution: :math:`6 \\cdot 2^{depth} - 4` (92 for the paper's depth 4: 572 → 388)."""
        return 0 if self.padding == "same" else 6 * 2**self.depth - 4

    def output_size(self, size: int) -> int:
        """The output's height (or width) for an input ``size``; raises ValueError naming the nearest sizes that
        work when a ``"valid"`` U-Net cannot take it (every pooling needs an even size)."""
        size = check_positive_int(size, "size")
        if self.padding == "same":
            return size
        out = self._valid_output(size)
        if out is None:
            below = next((s for s in range(size - 1, 0, -1) if self._valid_output(s)), None)
            above = next(
                s for s in range(size + 1, size + 2 ** (self.depth + 1) + 8 * 2**self.depth) if self._valid_output(s)
            )
            raise ValueError(
                f"a U-Net with padding='valid' and depth={self.depth} cannot take size {size}: "
                f"every 2x2 pooling needs an even size and the bottom must keep at least 1 pixel; "
                f"the nearest sizes that work are {below} and {above} (they differ by "
                f"{2**self.depth})"
                if below
                else f"a U-Net with padding='valid' and depth={self.depth} needs size >= {above}, got {size}"
            )
        return out

    def _valid_output(self, size: int) -> Optional[int]:
        for _ in range(self.depth):  # contracting path: two convolutions (-4), then pool (/2, needs even)
            size -= 4
            if size <= 0 or size % 2:
                return None
            size //= 2
        size -= 4  # the bottom level's two convolutions
        if size <= 0:
            return None
        for _ in range(self.depth):  # expanding path: up (x2), two convolutions (-4)
            size = 2 * size - 4
            if size <= 0:
                return None
        return size

    # ---------------------------------------------------------------- forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.in_channels, model=f"UNet(depth={self.depth})")
        if self.padding == "same":
            x, size = pad_to_multiple(x, 2**self.depth)
        else:
            size = (self.output_size(x.shape[-2]), self.output_size(x.shape[-1]))
        skips: List[torch.Tensor] = []
        for block in self.contracting:
            x = block(x)
            skips.append(x)  # (N, width * 2**l, H_l, W_l)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for upconv, block in zip(self.upconvs, self.expanding):
            x = upconv(x)  # 2x the size, half the channels
            # a no-op with padding="same"
            skip = _centre_crop(skips.pop(), x.shape[-2:])
            # (N, 2 * width_l, ...) → (N, width_l, ...)
            x = block(torch.cat([skip, x], dim=1))
        return crop_to(self.head(x), size)


# -------------------------------------------------------------------- overlap-tile inference


@torch.no_grad()
def overlap_tile_predict(
    model: nn.Module, images: torch.Tensor, *, tile_size: int, margin: Optional[int] = None, batch_size: int = 8
) -> torch.Tensor:
    """Predict an image larger than the training tiles, tile by tile, with the U-Net paper's overlap-tile strategy.

    The image is extended by ``margin`` pixels on every side by mirroring (the paper's "missing context is
    extrapolated by mirroring the input image"). Tiles of ``tile_size`` pixels are cut so that the centres of the
    tiles, each ``tile_size - 2 * margin`` pixels wide, cover the image without gaps; each tile is predicted and
    only its centre is kept, so every kept pixel had ``margin`` pixels of context on every side.

    - For a ``UNet(padding="valid")`` the margin is the net's own :attr:`UNet.border` (its output *is* the
      centre). When the kept centres are a multiple of ``2**depth`` pixels wide and H, W are multiples of it,
      the stitched result equals running the net on the whole mirrored image: the seams are invisible.
    - For any other model (padded convolutions) pass ``margin``: the pixels near a tile's edge, which saw zero
      padding instead of image, are thrown away. Default: ``tile_size // 4``.

    Args:
        model: a segmentation model (put in eval mode here and restored after).
        images: (N, C_in, H, W) float.
        tile_size: the height and width of the tiles the model sees.
        margin: context kept around each tile's centre (ignored for a valid U-Net, which fixes it).
        batch_size: tiles per forward pass.

    Returns:
        (N, C, H, W) logits.

    Example:
        >>> net = UNet(2, depth=2, width=4, padding="valid")
        >>> overlap_tile_predict(net, torch.rand(1, 3, 100, 90), tile_size=76).shape  # kept centres: 36x36
        torch.Size([1, 2, 100, 90])
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_tensor(images, "images", ndim=4, dtype="float", shape_hint="(N, C_in, H, W)")
    tile_size = check_positive_int(tile_size, "tile_size")
    batch_size = check_positive_int(batch_size, "batch_size")
    valid_unet = model if isinstance(model, UNet) and model.padding == "valid" else None
    if valid_unet is not None:
        out_tile = valid_unet.output_size(tile_size)
        margin = valid_unet.border
    else:
        margin = tile_size // 4 if margin is None else check_int(margin, "margin", minimum=0)
        out_tile = tile_size - 2 * margin
        if out_tile <= 0:
            raise ValueError(f"margin={margin} leaves nothing of a {tile_size}-pixel tile: need 2 * margin < tile_size")
    n, _, h, w = images.shape
    if n == 0:
        raise ValueError("images must hold at least one image (N >= 1), got shape " + str(tuple(images.shape)))
    if h < out_tile or w < out_tile:
        raise ValueError(
            f"the image ({h}x{w}) is smaller than one tile's kept centre ({out_tile}x{out_tile}): "
            f"predict it directly, or use a smaller tile_size"
        )
    if margin >= min(h, w):
        raise ValueError(
            f"mirroring needs margin < image size, got margin={margin} for a {h}x{w} image: "
            f"use a smaller margin (or tile_size)"
        )
    padded = F.pad(images, (margin, margin, margin, margin), mode="reflect") if margin else images
    ys = _tile_starts(h, out_tile)
    xs = _tile_starts(w, out_tile)
    corners = [(y, x) for y in ys for x in xs]
    result: Optional[torch.Tensor] = None
    with evaluating(model):
        for image in range(n):
            for start in range(0, len(corners), batch_size):
                chunk = corners[start : start + batch_size]
                tiles = torch.stack([padded[image, :, y : y + tile_size, x : x + tile_size] for y, x in chunk])
                logits = model(tiles)
                if valid_unet is None:
                    logits = logits[..., margin : margin + out_tile, margin : margin + out_tile]
                if result is None:
                    result = logits.new_zeros(n, logits.shape[1], h, w)
                for (y, x), tile_logits in zip(chunk, logits):
                    result[image, :, y : y + out_tile, x : x + out_tile] = tile_logits
    assert result is not None  # N >= 1 was checked above, so the loop ran
    return result


def _tile_starts(size: int, step: int) -> List[int]:
    """Where the kept centres start: every ``step`` pixels, the last one flush with the end."""
    starts = list(range(0, size - step + 1, step))
    if starts[-1] + step < size:
        starts.append(size - step)
    return starts
