"""Chapter 2's patch classifier: a small CNN that classifies the centre pixel of a ``P x P`` patch.

The slide "Trượt cửa sổ" (sliding window) runs such a CNN on the patch around every pixel. The classifier is
built so that :func:`segbook.ops.sliding_window.convolutionalize` can rewrite it *exactly* as a fully convolutional
network: its convolutions are unpadded ("valid"), so each one shrinks the map by ``k - 1`` and never sees
padding inside the patch, and its head is ``Flatten`` + ``Linear`` layers, which become convolutions.
"""

from __future__ import annotations

from typing import List, Optional, Union, overload

import torch
from torch import nn

from segbook.conventions import check_bool, check_int, check_positive_int, check_tensor

__all__ = ["PatchClassifier"]


class PatchClassifier(nn.Sequential):
    """Classify the centre pixel of a ``P x P`` patch: valid 3x3 convolutions, then a fully connected head.

    Layers, for ``convs`` = :math:`L` (default: as many as fit, at most 3) and :math:`P` = ``patch_size``::

        L x [Conv2d 3x3, padding 0 -> BatchNorm2d -> ReLU]     # (B, 3, P, P) -> (B, width, P - 2L, P - 2L)
        Flatten -> Linear(width * (P - 2L)**2, hidden) -> ReLU -> Linear(hidden, K)   # -> (B, K)

    Each valid 3x3 convolution shrinks the map by 2, so the features that reach the head still come from the
    whole patch; the first Linear layer sees all of them at once, which is what
    :func:`~segbook.ops.sliding_window.convolutionalize` turns into a ``(P - 2L) x (P - 2L)`` convolution. With
    ``pool=True`` a 2x2 max pooling follows the first block (the converted network then needs dilation).

    Args:
        num_classes: K.
        patch_size: P, odd, >= 3.
        in_channels: channels of the image.
        width: channels of every convolution.
        hidden: units of the hidden fully connected layer.
        convs: number of 3x3 conv blocks; default as many as fit in the patch, at most 3.
        pool: add a 2x2 max pooling after the first block.

    Shapes: ``(B, in_channels, P, P) -> (B, K)`` logits.

    Example:
        >>> clf = PatchClassifier(5, patch_size=15)
        >>> clf(torch.rand(4, 3, 15, 15)).shape
        torch.Size([4, 5])
    """

    def __init__(
        self,
        num_classes: int,
        *,
        patch_size: int = 15,
        in_channels: int = 3,
        width: int = 16,
        hidden: int = 64,
        convs: Optional[int] = None,
        pool: bool = False,
    ) -> None:
        patch_size = check_int(patch_size, "patch_size", minimum=3)
        pool = check_bool(pool, "pool")
        if patch_size % 2 == 0:
            raise ValueError(f"patch_size must be odd (the patch is centred on its pixel), got {patch_size}")
        if convs is None:  # as many blocks as fit, at most 3
            convs, size = 0, patch_size
            while convs < 3 and size >= 3:
                convs, size = convs + 1, (size - 2) // 2 if (pool and convs == 0) else size - 2
        convs = check_int(convs, "convs", minimum=1)
        width, hidden = check_positive_int(width, "width"), check_positive_int(hidden, "hidden")
        in_channels = check_positive_int(in_channels, "in_channels")
        layers: List[nn.Module] = []
        size = patch_size
        for i in range(convs):
            if size < 3:
                raise ValueError(
                    f"{convs} valid 3x3 convolutions{' and a 2x2 pooling' if pool else ''} do not fit "
                    f"in a {patch_size}x{patch_size} patch; use fewer convs or a larger patch"
                )
            layers += [
                nn.Conv2d(in_channels if i == 0 else width, width, 3, bias=False),  # valid: size - 2
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
            size -= 2
            if pool and i == 0:
                layers.append(nn.MaxPool2d(2))
                size //= 2
        if size < 1:
            raise ValueError(f"the layers leave nothing of a {patch_size}x{patch_size} patch; use a larger patch")
        layers += [
            nn.Flatten(),
            nn.Linear(width * size * size, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, check_positive_int(num_classes, "num_classes")),
        ]
        super().__init__(*layers)
        self.patch_size, self.in_channels = patch_size, in_channels
        self.feature_size = size  # side of the map the head flattens: P - 2L (halved once with pool)

    @overload
    def __getitem__(self, index: slice) -> nn.Sequential: ...

    @overload
    def __getitem__(self, index: int) -> nn.Module: ...

    def __getitem__(self, index: Union[int, slice]) -> nn.Module:
        if isinstance(index, slice):  # a slice is a plain stack of layers, not a patch classifier
            return nn.Sequential(*list(self)[index])
        return super().__getitem__(index)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        check_tensor(patches, "patches", ndim=4, dtype="float", shape_hint="(B, C, P, P)")
        expected = (self.in_channels, self.patch_size, self.patch_size)
        if tuple(patches.shape[1:]) != expected:
            raise ValueError(
                f"patches must have shape (B, {self.in_channels}, {self.patch_size}, "
                f"{self.patch_size}), got {tuple(patches.shape)}"
            )
        return super().forward(patches)
