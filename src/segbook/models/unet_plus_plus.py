"""U-Net++ (Zhou, Rahman Siddiquee, Tajbakhsh & Liang, 2018; slide "U-Net++").

U-Net joins an encoder level straight to the decoder level of the same size. U-Net++ fills the gap between them
with a grid of convolution nodes :math:`X^{i,j}` (level ``i``, ``j`` nodes along the skip pathway):

.. math::

    X^{i,j} = \\begin{cases} H\\big(\\text{pool}(X^{i-1,j})\\big) & j = 0 \\ \\text{(the encoder)} \\\\
    H\\big([X^{i,0}, X^{i,1}, \\ldots, X^{i,j-1}, \\ \\text{up}(X^{i+1,j-1})]\\big) & j > 0 \\end{cases}

where :math:`H` is two 3x3 conv-BN-ReLU and :math:`[\\cdot]` concatenation: the **nested dense skip
pathways**. The top row :math:`X^{0,1}, \\ldots, X^{0,D}` holds full-resolution features of U-Nets of depth
1 ... D that share their encoder; a 1x1 head on each gives **deep supervision** (one loss per head), and at
inference either the heads are averaged (:class:`AverageHeads`) or the network is **pruned** at a depth
``L``: only the nodes with :math:`i + j \\le L` are computed (:meth:`UNetPlusPlus.pruned`), which is faster and,
because no pruned node feeds a kept one, gives exactly the output of head ``L``.

Deviations from the paper: batch norm in :math:`H`, small widths, and a 2x2 transposed convolution that halves
the channels as "up" (the paper's code keeps them).
"""

from __future__ import annotations

from typing import Dict, List, Tuple, Union

import torch
from torch import nn
from torch.nn import functional as F

from segbook.conventions import check_bool, check_int, check_positive_int
from segbook.models._blocks import check_images, crop_to, double_conv, pad_to_multiple

__all__ = ["UNetPlusPlus", "PrunedUNetPlusPlus", "AverageHeads"]


class UNetPlusPlus(nn.Module):
    """U-Net++ with nested dense skip pathways and, optionally, deep supervision.

    Args:
        num_classes: C.
        in_channels: input channels.
        width: channels of level 0; level ``i`` has ``width * 2**i``.
        depth: D, the number of poolings (1 to 5); there are ``(D + 1)(D + 2) / 2`` nodes.
        deep_supervision: one 1x1 head per top-row node :math:`X^{0,1} \\ldots X^{0,D}`. When True, the
            forward returns the list of the D heads' logits (shallowest first); when False, only the deepest
            head exists and the forward returns one tensor.

    Shapes: (N, in_channels, H, W) → (N, C, H, W), or a list of D of them; any H and W (padded to a multiple of
    ``2**depth`` and cropped back).

    Example:
        >>> outputs = UNetPlusPlus(3, depth=3)(torch.rand(1, 3, 32, 32))
        >>> len(outputs), outputs[-1].shape
        (3, torch.Size([1, 3, 32, 32]))
    """

    def __init__(
        self, num_classes: int, *, in_channels: int = 3, width: int = 16, depth: int = 3, deep_supervision: bool = True
    ) -> None:
        super().__init__()
        self.num_classes = check_positive_int(num_classes, "num_classes")
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.width = check_positive_int(width, "width")
        self.depth = check_int(depth, "depth", minimum=1, maximum=5)
        self.deep_supervision = check_bool(deep_supervision, "deep_supervision")
        widths = [width * 2**i for i in range(depth + 1)]
        nodes: Dict[str, nn.Module] = {}
        ups: Dict[str, nn.Module] = {}
        for i in range(depth + 1):
            nodes[f"{i}_0"] = double_conv(in_channels if i == 0 else widths[i - 1], widths[i])
        for j in range(1, depth + 1):
            for i in range(depth + 1 - j):
                ups[f"{i}_{j}"] = nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)  # up(X^{i+1,j-1})
                nodes[f"{i}_{j}"] = double_conv((j + 1) * widths[i], widths[i])  # j same-level inputs + the up
        self.nodes, self.ups = nn.ModuleDict(nodes), nn.ModuleDict(ups)
        levels = range(1, depth + 1) if deep_supervision else [depth]
        self.heads = nn.ModuleDict({str(j): nn.Conv2d(width, num_classes, 1) for j in levels})

    def _features(self, x: torch.Tensor, depth: int) -> Dict[Tuple[int, int], torch.Tensor]:
        """Every node :math:`X^{i,j}` with :math:`i + j \\le` ``depth``, computed one anti-diagonal at a time."""
        X: Dict[Tuple[int, int], torch.Tensor] = {(0, 0): self.nodes["0_0"](x)}
        for level in range(1, depth + 1):  # anti-diagonal i + j = level
            X[level, 0] = self.nodes[f"{level}_0"](F.max_pool2d(X[level - 1, 0], 2))
            for j in range(1, level + 1):
                i = level - j
                same_level = [X[i, k] for k in range(j)]  # the dense skips
                up = self.ups[f"{i}_{j}"](X[i + 1, j - 1])  # X^{i+1,j-1}, up-sampled
                X[i, j] = self.nodes[f"{i}_{j}"](torch.cat(same_level + [up], 1))
        return X

    def forward(self, x: torch.Tensor) -> Union[torch.Tensor, List[torch.Tensor]]:
        check_images(x, self.in_channels, model=f"UNetPlusPlus(depth={self.depth})")
        x, size = pad_to_multiple(x, 2**self.depth)
        X = self._features(x, self.depth)
        outputs = [crop_to(head(X[0, int(j)]), size) for j, head in self.heads.items()]  # shallowest first
        return outputs if self.deep_supervision else outputs[0]

    def pruned(self, level: int) -> "PrunedUNetPlusPlus":
        """The network pruned at depth ``level`` for inference: it shares this model's weights, computes only the
        nodes with :math:`i + j \\le` ``level`` and returns head ``level``'s logits (one tensor)."""
        level = check_int(level, "level", minimum=1, maximum=self.depth)
        if str(level) not in self.heads:
            raise ValueError(
                f"pruning at level {level} needs a head there: build the model with "
                f"deep_supervision=True (without it only level {self.depth} has a head)"
            )
        return PrunedUNetPlusPlus(self, level)


class PrunedUNetPlusPlus(nn.Module):
    """A :class:`UNetPlusPlus` cut at depth ``level`` (made by :meth:`UNetPlusPlus.pruned`); weights are shared.

    Shapes: (N, in_channels, H, W) → (N, C, H, W); H and W are padded to a multiple of ``2**level`` only.
    """

    def __init__(self, model: UNetPlusPlus, level: int) -> None:
        super().__init__()
        self.model, self.level = model, level

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.model.in_channels, model=f"UNetPlusPlus pruned at level {self.level}")
        x, size = pad_to_multiple(x, 2**self.model.depth)  # the full model's padding: identical outputs
        X = self.model._features(x, self.level)
        return crop_to(self.model.heads[str(self.level)](X[0, self.level]), size)


class AverageHeads(nn.Module):
    """Inference from a deep-supervision model: the mean of its heads' class probabilities.

    Returns the log of the averaged softmax probabilities. Those are valid logits (their softmax is the
    average, their argmax the class with the highest average probability), so the result drops into
    ``training.evaluate`` or ``predict`` like any model's output. UNet++'s "accurate mode" averages the heads
    like this; it works for any model that returns a list of logits (stacked U-Nets too).

    Example:
        >>> averaged = AverageHeads(UNetPlusPlus(3, depth=2))
        >>> averaged(torch.rand(1, 3, 16, 16)).exp().sum(1).allclose(torch.ones(1, 16, 16))
        True
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = self.model(x)
        if not isinstance(outputs, (list, tuple)):
            raise TypeError(
                f"AverageHeads needs a model that returns a list of logits (deep supervision on), "
                f"but {type(self.model).__name__} returned a {type(outputs).__name__}"
            )
        probs = torch.stack([torch.softmax(o, dim=1) for o in outputs]).mean(0)  # (N, C, H, W)
        return probs.clamp_min(torch.finfo(probs.dtype).tiny).log()
