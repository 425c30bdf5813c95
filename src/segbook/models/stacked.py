"""U-Nets in series: stacked U-Nets and coupled U-Nets (slide "Stacked UNets và CUNets").

The slide: "Stacked UNets: several U-Nets joined one after another; CUNets: also several U-Nets in series, but
with extra skip connections between the U-Nets". Both come with **intermediate supervision**: a head after every
U-Net and a loss on each, so that the early U-Nets get a gradient of their own instead of one that has travelled
through all the later ones.

- :class:`StackedUNets` follows Shah et al. (2018), "Stacked U-Nets: a no-frills approach to natural image
  segmentation": each module is a small U-Net of pre-activation blocks (batch norm → ReLU → convolution) whose
  output is *added* to its input, like a residual block, so a stack of them is a deep net with many paths.
  (SUNets themselves are ImageNet backbones with strided and dilated modules; the book keeps the idea, U-Net
  modules in series with residual connections, at full resolution.)
- :class:`CoupledUNets` follows Tang et al. (2018), CU-Net: the block at level ``l`` of U-Net ``n`` also
  receives the outputs of the blocks at the same level of the ``order`` previous U-Nets (concatenated, then
  reduced by a 1x1 convolution), so features flow between U-Nets at every scale, not only through the
  full-resolution output. CU-Net was designed for landmark localisation (heatmaps of face and body keypoints);
  the book adapts it to segmentation by putting a class-score head after each U-Net.
"""

from __future__ import annotations

from typing import List, Union, cast

import torch
from torch import nn
from torch.nn import functional as F

from segbook.conventions import check_bool, check_int, check_positive_int
from segbook.models._blocks import check_images, conv_block, crop_to, double_conv, pad_to_multiple

__all__ = ["StackedUNets", "CoupledUNets"]


def _preact_conv(c_in: int, c_out: int) -> nn.Sequential:
    """Pre-activation unit: batch norm → ReLU → 3x3 convolution (He et al.'s ordering, used by SUNets)."""
    return nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, c_out, 3, padding=1, bias=False))


class _ResidualUNet(nn.Module):
    """One stacked module: a pre-activation U-Net that keeps ``channels`` at every level, added to its input.

    Like an hourglass module it keeps one width at every level, which keeps a stack of them light.
    Input H and W must be multiples of ``2**depth`` (the stack pads once for all modules).
    """

    def __init__(self, channels: int, depth: int) -> None:
        super().__init__()
        c = channels
        self.down = nn.ModuleList(nn.Sequential(_preact_conv(c, c), _preact_conv(c, c)) for _ in range(depth))
        self.bottom = nn.Sequential(_preact_conv(c, c), _preact_conv(c, c))
        self.up = nn.ModuleList(nn.Sequential(_preact_conv(2 * c, c), _preact_conv(c, c)) for _ in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips, h = [], x
        for block in self.down:
            h = block(h)
            skips.append(h)  # (N, c, H_l, W_l)
            h = F.max_pool2d(h, 2)
        h = self.bottom(h)
        for block in self.up:
            h = F.interpolate(h, scale_factor=2, mode="nearest")  # 2x, no parameters
            h = block(torch.cat([skips.pop(), h], dim=1))  # concatenated skip, as in U-Net
        return x + h  # the residual connection: the module learns a correction


class StackedUNets(nn.Module):
    """``stacks`` U-Net modules in series, each added to its input, with a class-score head after each.

    A 3x3 conv block (the stem) maps the image to ``width`` channels; every module maps ``width`` channels to
    ``width`` channels at the image's size; head ``k`` (a 1x1 convolution, after batch norm and ReLU since the
    modules are pre-activation) scores the features after module ``k``.

    Args:
        num_classes: C.
        in_channels: input channels.
        width: channels of the stem and of every level of every module.
        depth: poolings inside each module (1 to 5).
        stacks: number of U-Net modules (1 to 8).
        intermediate_supervision: when True there is a head after every module and the forward returns the
            list of their logits (first module first); when False only the last head exists and the forward
            returns one tensor.

    Shapes: (N, in_channels, H, W) → (N, C, H, W), or a list of ``stacks`` of them; any H and W (padded to a
    multiple of ``2**depth`` and cropped back).

    Example:
        >>> [o.shape[1:] for o in StackedUNets(4, stacks=2)(torch.rand(1, 3, 20, 20))]
        [torch.Size([4, 20, 20]), torch.Size([4, 20, 20])]
    """

    def __init__(
        self,
        num_classes: int,
        *,
        in_channels: int = 3,
        width: int = 16,
        depth: int = 3,
        stacks: int = 2,
        intermediate_supervision: bool = True,
    ) -> None:
        super().__init__()
        self.num_classes = check_positive_int(num_classes, "num_classes")
        self.in_channels = check_positive_int(in_channels, "in_channels")
        width = check_positive_int(width, "width")
        self.depth = check_int(depth, "depth", minimum=1, maximum=5)
        self.stacks = check_int(stacks, "stacks", minimum=1, maximum=8)
        self.intermediate_supervision = check_bool(intermediate_supervision, "intermediate_supervision")
        self.stem = conv_block(in_channels, width)
        self.unets = nn.ModuleList(_ResidualUNet(width, depth) for _ in range(stacks))
        kept = range(stacks) if intermediate_supervision else [stacks - 1]
        self.heads = nn.ModuleDict({str(k): _head(width, num_classes) for k in kept})

    def forward(self, x: torch.Tensor) -> Union[torch.Tensor, List[torch.Tensor]]:
        check_images(x, self.in_channels, model=f"StackedUNets(depth={self.depth})")
        x, size = pad_to_multiple(x, 2**self.depth)
        h = self.stem(x)
        outputs = []
        for k, module in enumerate(self.unets):
            h = module(h)
            if str(k) in self.heads:
                outputs.append(crop_to(self.heads[str(k)](h), size))
        return outputs if self.intermediate_supervision else outputs[0]


def _head(channels: int, num_classes: int) -> nn.Sequential:
    return nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(), nn.Conv2d(channels, num_classes, 1))


class _CoupledBlock(nn.Module):
    """A U-Net block that also takes the same-level outputs of earlier U-Nets: concatenate, reduce by a 1x1
    convolution to ``channels`` (CU-Net's bottleneck that keeps the concatenation affordable), then two
    3x3 conv blocks."""

    def __init__(self, c_in: int, channels: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(c_in, channels, 1, bias=False)
        self.body = double_conv(channels, channels)

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        return self.body(self.reduce(torch.cat(inputs, dim=1)))


class CoupledUNets(nn.Module):
    r"""CU-Net: U-Nets in series whose same-level blocks are connected across the stack (order ``K``).

    U-Net ``n`` has encoder blocks :math:`E_n^l` and decoder blocks :math:`D_n^l` (level ``l``, 0 = full
    resolution; every level has ``width`` channels, as in CU-Net). With order :math:`K`,

    .. math::

        E_n^l = B\big([\text{pool}(E_n^{l-1}),\ E_{n-1}^l, \ldots, E_{n-K}^l]\big), \qquad
        D_n^l = B\big([\text{up}(D_n^{l+1}),\ E_n^l,\ D_{n-1}^l, \ldots, D_{n-K}^l]\big),

    where :math:`B` is a 1x1 reduction followed by two 3x3 conv blocks and U-Nets before the first do not
    exist (fewer inputs). :math:`E_n^0` takes U-Net ``n - 1``'s output features (the stem's for ``n = 0``).
    A head after each U-Net scores its output :math:`D_n^0` (intermediate supervision).

    Args:
        num_classes: C.
        in_channels: input channels.
        width: channels of every block.
        depth: poolings in each U-Net (1 to 5).
        stacks: number of U-Nets (1 to 8).
        order: K, how many previous U-Nets each block is coupled to (0 = no coupling: plain U-Nets in
            series; Tang et al. found small orders, 1 or 2, enough).
        intermediate_supervision: a head after every U-Net, the forward returning the list of their logits
            (first U-Net first); when False only the last head exists and the forward returns one tensor.

    Shapes: (N, in_channels, H, W) → (N, C, H, W), or a list of ``stacks`` of them; any H and W (padded to a
    multiple of ``2**depth`` and cropped back).

    Example:
        >>> CoupledUNets(4, stacks=3, order=2, intermediate_supervision=False)(torch.rand(1, 3, 16, 16)).shape
        torch.Size([1, 4, 16, 16])
    """

    def __init__(
        self,
        num_classes: int,
        *,
        in_channels: int = 3,
        width: int = 16,
        depth: int = 3,
        stacks: int = 2,
        order: int = 1,
        intermediate_supervision: bool = True,
    ) -> None:
        super().__init__()
        self.num_classes = check_positive_int(num_classes, "num_classes")
        self.in_channels = check_positive_int(in_channels, "in_channels")
        c = check_positive_int(width, "width")
        self.depth = check_int(depth, "depth", minimum=1, maximum=5)
        self.stacks = check_int(stacks, "stacks", minimum=1, maximum=8)
        self.order = check_int(order, "order", minimum=0, maximum=self.stacks - 1 if self.stacks > 1 else 0)
        self.intermediate_supervision = check_bool(intermediate_supervision, "intermediate_supervision")
        self.stem = conv_block(in_channels, c)
        self.encoders, self.bottoms, self.decoders = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for n in range(stacks):
            coupled = min(n, self.order)  # how many earlier U-Nets feed this one's blocks
            self.encoders.append(nn.ModuleList(_CoupledBlock(c * (1 + coupled), c) for _ in range(depth)))
            self.bottoms.append(_CoupledBlock(c * (1 + coupled), c))
            self.decoders.append(nn.ModuleList(_CoupledBlock(c * (2 + coupled), c) for _ in range(depth)))
        kept = range(stacks) if intermediate_supervision else [stacks - 1]
        self.heads = nn.ModuleDict({str(n): nn.Conv2d(c, num_classes, 1) for n in kept})

    def forward(self, x: torch.Tensor) -> Union[torch.Tensor, List[torch.Tensor]]:
        check_images(x, self.in_channels, model=f"CoupledUNets(depth={self.depth})")
        x, size = pad_to_multiple(x, 2**self.depth)
        h = self.stem(x)
        # enc[n][l], dec[n][l]: outputs of U-Net n's blocks at level l (the bottom is stored as enc[n][depth]).
        enc: List[List[torch.Tensor]] = []
        dec: List[List[torch.Tensor]] = []
        outputs = []
        for n in range(self.stacks):
            earlier = range(max(0, n - self.order), n)  # the K U-Nets this one is coupled to
            # ModuleList indexing is typed as returning any Module: say what these hold
            encoders = cast(nn.ModuleList, self.encoders[n])
            decoders = cast(nn.ModuleList, self.decoders[n])
            e: List[torch.Tensor] = []
            for level, block in enumerate(list(encoders) + [self.bottoms[n]]):
                own = h if level == 0 else F.max_pool2d(e[-1], 2)
                e.append(block([own] + [enc[m][level] for m in earlier]))
            d: List[torch.Tensor] = [torch.empty(0)] * self.depth + [e[-1]]
            for level in reversed(range(self.depth)):
                up = F.interpolate(d[level + 1], scale_factor=2, mode="nearest")
                d[level] = decoders[level]([up, e[level]] + [dec[m][level] for m in earlier])
            enc.append(e)
            dec.append(d)
            h = d[0]  # U-Net n's output features are U-Net n + 1's input
            if str(n) in self.heads:
                outputs.append(crop_to(self.heads[str(n)](h), size))
        return outputs if self.intermediate_supervision else outputs[0]
