"""FCN-32s, FCN-16s and FCN-8s (Long, Shelhamer & Darrell, 2015; slide "FCN với 2 kết nối tắt").

A classification backbone of five stages, each ending in a 2x2 max pooling (pool1 ... pool5, strides 2 ... 32),
is made fully convolutional: its fully connected layers fc6 and fc7 become convolutions, and a 1x1 convolution,
``score_fr``, turns the stride-32 features into class scores. What the three variants differ in is how those
coarse scores get back to the input's size:

- **FCN-32s** upsamples the stride-32 scores by 32 in one step: coarse, blobby masks.
- **FCN-16s** upsamples them by 2, adds scores computed by a 1x1 convolution from pool4 (stride 16), then
  upsamples by 16. That sum is the first skip connection ("kết nối tắt").
- **FCN-8s** does the same once more with pool3 (stride 8), then upsamples by 8.

As in the paper, the skip scoring layers ``score_pool4`` and ``score_pool3`` start at zero, so that a net
initialised from the coarser one starts out predicting what the coarser one predicted (see
:meth:`FCN.from_coarser`); every upsampling is a transposed convolution initialised to bilinear interpolation,
the 2x ones learnable, the final one frozen ("fixed to bilinear interpolation" in the paper). The frozen one is
applied per class (a depthwise transposed convolution): the paper's C x C kernel is zero off its diagonal, so the
output is the same and costs 1/C as much; its frozen parameters are C k x k kernels, not C^2.

Deviations from the paper, for a model that trains on a laptop CPU in a minute: the default backbone is a small
VGG-like net with batch norm (VGG16 has 13 convolutions and 4096-wide fc layers; ``backbone="vgg16"`` gives the
real torchvision VGG16 features); fc6 is a 3x3 convolution instead of 7x7; the paper's input padding of 100
pixels and its crop layers are replaced by padding the input to a multiple of 32 and cropping the output back.
Note that torchvision's ``fcn_resnet50`` is a different design: a dilated ResNet with no skip connections.
"""

from __future__ import annotations

import warnings
from typing import Any, List, Sequence, Tuple

import torch
from torch import nn

from segbook.conventions import check_bool, check_choice, check_float, check_int, check_positive_int
from segbook.models._blocks import check_images, conv_block, crop_to, pad_to_multiple
from segbook.ops.transposed import bilinear_conv_transpose2d

__all__ = ["FCN", "fcn32s", "fcn16s", "fcn8s", "VARIANTS"]

VARIANTS = ("32s", "16s", "8s")
BACKBONES = ("small", "vgg16")
_VGG16_POOLS = (4, 9, 16, 23, 30)  # indices of the max poolings in torchvision's vgg16().features


def _small_vgg(in_channels: int, widths: Sequence[int], convs_per_stage: int) -> nn.ModuleList:
    """Five stages of ``convs_per_stage`` conv blocks, each stage ending in a 2x2 max pooling."""
    stages, c_in = [], in_channels
    for c_out in widths:
        blocks = [conv_block(c_in if i == 0 else c_out, c_out) for i in range(convs_per_stage)]
        stages.append(nn.Sequential(*blocks, nn.MaxPool2d(2)))
        c_in = c_out
    return nn.ModuleList(stages)


def _vgg16(pretrained: bool) -> nn.ModuleList:
    """torchvision's VGG16 convolutional layers, cut after each max pooling into the five stages."""
    from torchvision.models import VGG16_Weights, vgg16

    features = None
    if pretrained:
        try:
            features = vgg16(weights=VGG16_Weights.IMAGENET1K_V1).features
        except Exception as error:  # no network, or a corrupted download: say so and go on untrained
            warnings.warn(
                f"could not load the ImageNet weights of VGG16 ({type(error).__name__}: {error}); the "
                "backbone starts from random weights instead. Online, torchvision downloads them once "
                "into $TORCH_HOME.",
                RuntimeWarning,
                stacklevel=3,
            )
    if features is None:
        features = vgg16(weights=None).features
    starts = (0,) + tuple(i + 1 for i in _VGG16_POOLS[:-1])
    return nn.ModuleList(features[a : b + 1] for a, b in zip(starts, _VGG16_POOLS))


class FCN(nn.Module):
    """FCN-32s, FCN-16s or FCN-8s: a fully convolutional classifier with 0, 1 or 2 skip connections.

    .. math::

        \\text{32s:}\\ \\ \\text{up}_{32}(s_5), \\qquad
        \\text{16s:}\\ \\ \\text{up}_{16}(\\text{up}_2(s_5) + s_4), \\qquad
        \\text{8s:}\\ \\ \\text{up}_8(\\text{up}_2(\\text{up}_2(s_5) + s_4) + s_3),

    where :math:`s_5` are the class scores from fc7 (stride 32) and :math:`s_4, s_3` the scores of 1x1
    convolutions on pool4 (stride 16) and pool3 (stride 8).

    Args:
        num_classes: C.
        variant: ``"32s"``, ``"16s"`` or ``"8s"``.
        in_channels: input channels (3; ``backbone="vgg16"`` needs 3).
        widths: channels of the five backbone stages (small backbone only).
        convs_per_stage: conv blocks per stage (small backbone only; VGG16 has 2, 2, 3, 3, 3).
        head_width: channels of fc6 and fc7 (4096 in the paper).
        dropout: dropout after fc6 and fc7 (0.5 in the paper; 0 by default for short CPU runs).
        backbone: ``"small"`` (default) or ``"vgg16"`` (torchvision's VGG16 features; widths 64 ... 512).
        pretrained: with ``backbone="vgg16"``, start from ImageNet weights (downloaded once; offline, a warning
            and random weights). Pretrained weights expect images normalised with the ImageNet mean and std.

    Shapes: (N, in_channels, H, W) → (N, C, H, W) for any H and W (the input is padded to a multiple of 32 at
    the bottom and right and the output cropped back).

    Example:
        >>> FCN(5, variant="8s")(torch.rand(2, 3, 40, 50)).shape
        torch.Size([2, 5, 40, 50])
    """

    def __init__(
        self,
        num_classes: int,
        *,
        variant: str = "8s",
        in_channels: int = 3,
        widths: Sequence[int] = (16, 32, 64, 96, 128),
        convs_per_stage: int = 1,
        head_width: int = 128,
        dropout: float = 0.0,
        backbone: str = "small",
        pretrained: bool = False,
    ) -> None:
        super().__init__()
        self.num_classes = check_positive_int(num_classes, "num_classes")
        check_choice(variant, "variant", VARIANTS)
        check_choice(backbone, "backbone", BACKBONES)
        self.variant, self.backbone = variant, backbone
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.head_width = check_positive_int(head_width, "head_width")
        self.dropout = check_float(dropout, "dropout", minimum=0.0, maximum=1.0)
        check_bool(pretrained, "pretrained")
        if backbone == "vgg16":
            if in_channels != 3:
                raise ValueError(f"backbone='vgg16' takes RGB images (in_channels=3), got in_channels={in_channels}")
            self.stages, widths = _vgg16(pretrained), (64, 128, 256, 512, 512)
            self.convs_per_stage = 0  # VGG16's stages have 2, 2, 3, 3, 3 convolutions
        else:
            if pretrained:
                raise ValueError("pretrained=True needs backbone='vgg16': the small backbone has no pretrained weights")
            if not isinstance(widths, (tuple, list)) or len(widths) != 5:
                raise ValueError(f"widths must be 5 positive ints, one per backbone stage, got {widths!r}")
            widths = tuple(check_positive_int(w, f"widths[{stage}]") for stage, w in enumerate(widths))
            self.convs_per_stage = check_int(convs_per_stage, "convs_per_stage", minimum=1, maximum=4)
            self.stages = _small_vgg(in_channels, widths, self.convs_per_stage)
        self.widths: Tuple[int, ...] = tuple(widths)
        # fc6 and fc7, "convolutionalised": they see every stride-32 position instead of one 7x7 crop.
        self.fc = nn.Sequential(
            nn.Conv2d(widths[4], head_width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Dropout2d(dropout),
            nn.Conv2d(head_width, head_width, 1),
            nn.ReLU(inplace=True),
            nn.Dropout2d(dropout),
        )
        self.score_fr = nn.Conv2d(head_width, num_classes, 1)  # class scores at stride 32
        c = num_classes
        if variant in ("16s", "8s"):
            self.score_pool4 = self._zero_score(widths[3])
            self.upscore2 = bilinear_conv_transpose2d(c, 2)  # stride 32 → 16, learnable
        if variant == "8s":
            self.score_pool3 = self._zero_score(widths[2])
            self.upscore_pool4 = bilinear_conv_transpose2d(c, 2)  # stride 16 → 8, learnable
        final = {"32s": 32, "16s": 16, "8s": 8}[variant]
        # fixed, as in the paper; per class (depthwise): the same output as the paper's C x C kernel, which is
        # zero off its diagonal, at 1/C of the cost
        self.upscore_final = bilinear_conv_transpose2d(c, final, trainable=False, per_channel=True)

    def _zero_score(self, channels: int) -> nn.Conv2d:
        # A skip's scores start at zero, so the finer net starts out with the coarser net's prediction.
        layer = nn.Conv2d(channels, self.num_classes, 1)
        for parameter in layer.parameters():  # weight and bias
            nn.init.zeros_(parameter)
        return layer

    @property
    def output_stride(self) -> int:
        """The stride of the finest scores that reach the output: 32, 16 or 8."""
        return int(self.variant[:-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.in_channels, model=f"FCN-{self.variant}")
        x, size = pad_to_multiple(x, 32)
        pools: List[torch.Tensor] = []
        for stage in self.stages:  # pool1 ... pool5: strides 2, 4, 8, 16, 32
            x = stage(x)
            pools.append(x)
        score = self.score_fr(self.fc(pools[4]))  # (N, C, H/32, W/32)
        if self.variant != "32s":  # (N, C, H/16, W/16)
            score = self.upscore2(score) + self.score_pool4(pools[3])
        if self.variant == "8s":  # (N, C, H/8, W/8)
            score = self.upscore_pool4(score) + self.score_pool3(pools[2])
        return crop_to(self.upscore_final(score), size)  # (N, C, H, W)

    @classmethod
    def from_coarser(cls, coarser: "FCN", variant: str) -> "FCN":
        """The paper's staged training: a finer FCN that starts from a trained coarser one (32s → 16s → 8s).

        Every layer the two share (backbone, fc6/fc7, ``score_fr``, the skips and 2x upsamplings the coarser one
        has) is copied; the new skip scoring layer stays at zero. The new net therefore starts out with the
        coarser net's class scores, only upsampled in steps (2x then 16x instead of 32x at once: bilinear
        interpolations through different points, so the two outputs agree closely but not to the last digit).
        """
        if not isinstance(coarser, FCN):
            raise TypeError(f"coarser must be an FCN, got {type(coarser).__name__}")
        check_choice(variant, "variant", VARIANTS)
        if VARIANTS.index(variant) <= VARIANTS.index(coarser.variant):
            finer_variants = VARIANTS[VARIANTS.index(coarser.variant) + 1 :]
            choices = " or ".join("FCN-" + v for v in finer_variants) or "nothing finer"
            raise ValueError(
                f"from_coarser builds a finer net: FCN-{coarser.variant} can become {choices}, not FCN-{variant}"
            )
        if coarser.backbone != "small":
            finer = cls(
                coarser.num_classes,
                variant=variant,
                backbone="vgg16",
                head_width=coarser.head_width,
                dropout=coarser.dropout,
            )
        else:
            finer = cls(
                coarser.num_classes,
                variant=variant,
                in_channels=coarser.in_channels,
                widths=coarser.widths,
                convs_per_stage=coarser.convs_per_stage,
                head_width=coarser.head_width,
                dropout=coarser.dropout,
            )
        state = {k: v for k, v in coarser.state_dict().items() if not k.startswith("upscore_final")}
        finer.load_state_dict(state, strict=False)
        return finer


def fcn32s(num_classes: int, **options: Any) -> FCN:
    """FCN-32s: no skip connection. Options as for :class:`FCN`."""
    return FCN(num_classes, variant="32s", **options)


def fcn16s(num_classes: int, **options: Any) -> FCN:
    """FCN-16s: one skip connection, from pool4. Options as for :class:`FCN`."""
    return FCN(num_classes, variant="16s", **options)


def fcn8s(num_classes: int, **options: Any) -> FCN:
    """FCN-8s: two skip connections, from pool4 and pool3. Options as for :class:`FCN`."""
    return FCN(num_classes, variant="8s", **options)
